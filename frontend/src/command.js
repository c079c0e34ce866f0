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

function warningsHtml(warnings) {
  const esc = (s) => String(s).replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]);
  if (!warnings.length) return '<li class="muted">暂无预警</li>';
  return warnings.map((w) => `<li class="cmd-warning" data-kind="${esc(w.kind)}"><span class="cmd-wtext">${esc(w.text)}</span>
    <span class="cmd-wcases">${w.case_ids.slice(0, 12).map((id) => (w.openable.includes(id) ? `<a href="/cases/${id}">#${id}</a>` : `<span class="cmd-nolink">#${id}</span>`)).join("")}${w.case_ids.length > 12 ? ` 等 ${w.case_ids.length} 件` : ""}</span></li>`).join("");
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
        document.getElementById("warnings").innerHTML = warningsHtml(view.warnings);
        document.getElementById("cmd-refreshed").textContent = view.generated_at.slice(11, 19);
      })
      .catch(() => { document.getElementById("cmd-refreshed").textContent += "（刷新失败，稍后重试）"; });
  }, 60000);
}

document.addEventListener("DOMContentLoaded", start);
