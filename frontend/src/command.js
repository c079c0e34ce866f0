// The command view's map (综合指挥): township and grid outlines from the page's GeoJSON, no tile
// server; the open events and calls as dots coloured by lateness. On the 大屏 (#cmd-refresh) the
// figures, points and warnings are fetched again every 60 s, without reloading the page.
import L from "leaflet";

const COLOURS = { on_time: "#16a34a", warning: "#d97706", overdue: "#dc2626" };
const STYLE = {
  township: { color: "#1d4ed8", weight: 2, fillOpacity: 0.04 },
  grid: { color: "#64748b", weight: 1, dashArray: "4 3", fillOpacity: 0.02 },
};

function json(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

function drawPoints(layer, points) {
  layer.clearLayers();
  for (const p of points) {
    L.circleMarker([p.lat, p.lng], { radius: 6, color: "#fff", weight: 1, fillColor: COLOURS[p.lateness] || "#64748b", fillOpacity: 0.9 })
      .bindPopup(`${p.openable ? `<a href="/cases/${p.case_id}">#${p.case_id}</a>` : `#${p.case_id}`} ${p.title.replace(/[<&]/g, (c) => (c === "<" ? "&lt;" : "&amp;"))}`)
      .addTo(layer);
  }
}

function node(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
}

// the warnings list, built from elements (no markup from data)
function renderWarnings(list, warnings) {
  list.replaceChildren();
  if (!warnings.length) {
    list.append(node("li", "muted", "暂无预警"));
    return;
  }
  for (const w of warnings) {
    const li = node("li", "cmd-warning");
    li.dataset.kind = w.kind;
    li.append(node("span", "cmd-wtext", w.text));
    const links = node("span", "cmd-wcases");
    for (const id of w.case_ids.slice(0, 12)) {
      if (w.openable.includes(id)) {
        const a = node("a", null, `#${id}`);
        a.href = `/cases/${id}`;
        links.append(a);
      } else {
        links.append(node("span", "cmd-nolink", `#${id}`));
      }
    }
    if (w.case_ids.length > 12) links.append(` 等 ${w.case_ids.length} 件`);
    li.append(links);
    list.append(li);
  }
}

function start() {
  const el = document.getElementById("cmd-map");
  if (!el) return;
  const map = L.map(el, { attributionControl: false, zoomControl: false, zoomSnap: 0.25 });
  L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
  map.setView([36.22, 117.13], 12);
  const outlines = json("cmd-outlines") || { type: "FeatureCollection", features: [] };
  const shapes = L.geoJSON(outlines, { style: (f) => STYLE[f.properties.kind] || STYLE.grid });
  shapes.eachLayer((l) => l.bindTooltip(l.feature.properties.name, { sticky: true }));
  shapes.addTo(map);
  if (outlines.features.length) map.fitBounds(shapes.getBounds(), { padding: [8, 8] });
  const dots = L.layerGroup().addTo(map);
  drawPoints(dots, json("cmd-points") || []);

  const refresh = document.getElementById("cmd-refresh");
  if (!refresh || !refresh.dataset.url) return;
  setInterval(() => {
    fetch(refresh.dataset.url, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((view) => {
        drawPoints(dots, view.points);
        document.querySelectorAll("[data-total]").forEach((n) => { n.textContent = view.totals[n.dataset.total]; });
        renderWarnings(document.getElementById("warnings"), view.warnings);
        document.getElementById("cmd-refreshed").textContent = view.generated_at.slice(11, 19);
      })
      .catch(() => { document.getElementById("cmd-refreshed").textContent += "（刷新失败，稍后重试）"; });
  }, 60000);
}

document.addEventListener("DOMContentLoaded", start);
