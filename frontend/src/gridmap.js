// The grid worker's and the platform's map (Leaflet, no tile server: the township's and grids'
// outlines from /geo/outlines.json). On a form: `.location-field` — 使用当前位置 (the phone's
// position) or a tap on the map fills the latitude and longitude inputs. On a page: `.loc-view`
// (data-lat, data-lng, data-geo) shows where a report was made.
import L from "leaflet";

const STYLE = {
  township: { color: "#1d4ed8", weight: 2, fillOpacity: 0.03 },
  grid: { color: "#64748b", weight: 1, dashArray: "4 3", fillOpacity: 0.06 },
};

function baseMap(el) {
  const map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
  map.setView([36.2, 117.13], 12);
  return fetch(el.dataset.geo, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : { type: "FeatureCollection", features: [] }))
    .then((fc) => {
      const layer = L.geoJSON(fc, { style: (f) => STYLE[f.properties.kind] || STYLE.grid });
      layer.eachLayer((l) => l.bindTooltip(l.feature.properties.name, { sticky: true }));
      layer.addTo(map);
      if (fc.features.length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      return map;
    })
    .catch(() => map);
}

function pointMarker(latlng) {
  return L.circleMarker(latlng, { radius: 9, color: "#b91c1c", weight: 3, fillColor: "#ef4444", fillOpacity: 0.8 });
}

function picker(field) {
  const lat = field.querySelector('input[name$=".lat"]');
  const lng = field.querySelector('input[name$=".lng"]');
  const status = field.querySelector(".loc-status");
  const here = field.querySelector(".loc-here");
  let marker = null;
  baseMap(field.querySelector(".loc-map")).then((map) => {
    const put = (la, ln, zoom) => {
      lat.value = la.toFixed(6);
      lng.value = ln.toFixed(6);
      if (marker) marker.setLatLng([la, ln]);
      else marker = pointMarker([la, ln]).addTo(map);
      if (zoom) map.setView([la, ln], Math.max(map.getZoom(), 15));
    };
    map.on("click", (e) => {
      put(e.latlng.lat, e.latlng.lng, false);
      status.textContent = "已在地图上选定位置";
    });
    const typed = () => {
      const la = parseFloat(lat.value), ln = parseFloat(lng.value);
      if (Number.isFinite(la) && Number.isFinite(ln)) put(la, ln, true);
    };
    lat.addEventListener("change", typed);
    lng.addEventListener("change", typed);
    typed();
    here.addEventListener("click", () => {
      if (!navigator.geolocation) {
        status.textContent = "此设备不支持定位，请在地图上点选";
        return;
      }
      status.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(
        (p) => {
          put(p.coords.latitude, p.coords.longitude, true);
          status.textContent = `已定位（精度约 ${Math.round(p.coords.accuracy)} 米）`;
        },
        (err) => {
          status.textContent = err.code === 1 ? "未允许定位：请在地图上点选位置" : "暂时无法定位：请在地图上点选位置";
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
      );
    });
  });
}

function viewer(el) {
  const la = parseFloat(el.dataset.lat), ln = parseFloat(el.dataset.lng);
  baseMap(el).then((map) => {
    if (Number.isFinite(la) && Number.isFinite(ln)) {
      pointMarker([la, ln]).addTo(map);
      map.setView([la, ln], 15);
    }
  });
}

document.querySelectorAll(".location-field").forEach(picker);
document.querySelectorAll(".loc-view").forEach(viewer);
