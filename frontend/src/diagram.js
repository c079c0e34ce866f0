// Process-diagram viewer for Huying pages (built into app/static/dist/diagram.js, an IIFE with no globals).
//
// Markup:
//   <div class="diagram"
//        data-bpmn-url="/.../process.bpmn"        same-origin URL of the BPMN XML (sent with cookies)
//        data-highlight="sign,handle"             element ids marked `huying-stuck` (red)
//        data-counts='{"sign": 3, "handle": 1}'   badge with the count at the top right of highlighted ids
//        data-done="start_call,accept"            element ids marked `huying-done` (green)
//        data-changed="review"                    element ids marked `huying-changed` (amber; version differences)
//        data-focus="review,flow_x">              frame these ids instead of the highlighted ones ("none": show all)
//   </div>
// Needs dist/diagram-js.css, dist/bpmn-js.css and the .huying-* / .diagram rules of style.css.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import translateZh from './translate-zh';

const FAILURE_TEXT = '流程图加载失败';
// an analyst's file without diagram interchange (bpmndi) has nothing to draw: bpmn-js says "no diagram to display"
const NO_DIAGRAM_TEXT = '此流程文件没有图形信息（BPMN DI），无法绘制流程图；卡住的环节见下方列表';

function ids(value) {
  return (value || '').split(',').map((id) => id.trim()).filter(Boolean);
}

function counts(value) {
  if (!value) return {};
  try {
    const parsed = JSON.parse(value);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch (err) {
    console.warn('huying diagram: data-counts is not a JSON object', err);
    return {};
  }
}

function showFailure(container, err) {
  const undrawable = /no diagram to display/i.test((err && err.message) || '');
  container.textContent = '';
  container.classList.add('diagram-failed');
  const message = document.createElement('p');
  message.className = 'diagram-error';
  message.setAttribute('role', 'status');
  message.textContent = undrawable ? NO_DIAGRAM_TEXT : FAILURE_TEXT;
  container.appendChild(message);
}

async function fetchXml(url) {
  // this site's URLs only; credentials 'same-origin' sends the session cookie. Mode 'cors' (for a
  // same-origin URL the same request as 'same-origin') and no headers of its own: the request the
  // page's <link rel="preload" as="fetch" crossorigin> made, whose answer is then used.
  const target = new URL(url, window.location.href);
  if (target.origin !== window.location.origin) throw new Error(`not a URL of this site: ${url}`);
  const response = await fetch(target, { mode: 'cors', credentials: 'same-origin' });
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  return response.text();
}

function decorate(viewer, container) {
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const overlays = viewer.get('overlays');
  const known = (id) => Boolean(registry.get(id));

  for (const id of ids(container.dataset.done).filter(known)) {
    canvas.addMarker(id, 'huying-done');
  }
  for (const id of ids(container.dataset.changed).filter(known)) {
    canvas.addMarker(id, 'huying-changed');
  }
  const badgeCounts = counts(container.dataset.counts);
  for (const id of ids(container.dataset.highlight).filter(known)) {
    canvas.addMarker(id, 'huying-stuck');
    const count = badgeCounts[id];
    if (count === undefined || count === null || count === '') continue;
    const badge = document.createElement('span');
    badge.className = 'huying-badge';
    badge.textContent = String(count);
    overlays.add(id, 'huying-badge', { position: { top: -10, right: 10 }, html: badge });
  }
}

function bounds(el) {
  if (el.waypoints) {
    const xs = el.waypoints.map((p) => p.x);
    const ys = el.waypoints.map((p) => p.y);
    return { x: Math.min(...xs), y: Math.min(...ys), right: Math.max(...xs), bottom: Math.max(...ys) };
  }
  return el.width ? { x: el.x, y: el.y, right: el.x + el.width, bottom: el.y + el.height } : null;
}

// A wide process fitted whole is too small to read: when steps are highlighted, frame them
// (with their neighbourhood) at a readable scale; panning and zooming show the rest.
function focus(viewer, container) {
  const wanted = container.dataset.focus;
  if (wanted === 'none') return;
  const registry = viewer.get('elementRegistry');
  const boxes = ids(wanted || container.dataset.highlight).map((id) => registry.get(id))
    .filter(Boolean).map(bounds).filter(Boolean);
  if (!boxes.length) return;
  const canvas = viewer.get('canvas');
  const { width, height } = canvas.viewbox().outer;
  const minX = Math.min(...boxes.map((b) => b.x));
  const minY = Math.min(...boxes.map((b) => b.y));
  const maxX = Math.max(...boxes.map((b) => b.right));
  const maxY = Math.max(...boxes.map((b) => b.bottom));
  const scale = Math.min(1, Math.max(0.6, Math.min(width / (maxX - minX + 600), height / (maxY - minY + 300))));
  if (scale <= canvas.zoom()) return;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  canvas.viewbox({ x: cx - width / scale / 2, y: cy - height / scale / 2, width: width / scale, height: height / scale });
}

// On a phone a process fitted into the box is too small to read, and one finger cannot drag the
// canvas: there the diagram is drawn at a readable scale on a sheet as large as the drawing, in a
// box that scrolls natively (swipe sideways, the page still scrolls up and down), with buttons
// above it to zoom out, in and to the whole process; the highlighted steps are scrolled into view.
const NARROW = window.matchMedia('(max-width: 760px)');
const PHONE_SCALE = 0.8;
const SHEET_MARGIN = 16;

function drawOnSheet(viewer, container, scale) {
  const canvas = viewer.get('canvas');
  const sheet = container.querySelector('.bjs-container');
  const inner = viewer.drawing || (viewer.drawing = canvas.viewbox().inner);
  const fit = (container.clientWidth - 2 * SHEET_MARGIN) / inner.width;
  const s = scale === 'fit' ? Math.min(fit, 1) : scale;
  const width = Math.max(Math.ceil(inner.width * s) + 2 * SHEET_MARGIN, container.clientWidth);
  const height = Math.ceil(inner.height * s) + 2 * SHEET_MARGIN;
  sheet.style.width = `${width}px`;
  sheet.style.height = `${height}px`;
  canvas.resized();
  canvas.viewbox({ x: inner.x - SHEET_MARGIN / s, y: inner.y - SHEET_MARGIN / s, width: width / s, height: height / s });
  viewer.sheetScale = s;
  return s;
}

function scrollToHighlight(viewer, container) {
  const registry = viewer.get('elementRegistry');
  const boxes = ids(container.dataset.focus || container.dataset.highlight).map((id) => registry.get(id))
    .filter(Boolean).map(bounds).filter(Boolean);
  if (!boxes.length) return;
  const { x, y } = viewer.get('canvas').viewbox();
  const s = viewer.sheetScale;
  const cx = (Math.min(...boxes.map((b) => b.x)) + Math.max(...boxes.map((b) => b.right))) / 2;
  const cy = (Math.min(...boxes.map((b) => b.y)) + Math.max(...boxes.map((b) => b.bottom))) / 2;
  container.scrollLeft = (cx - x) * s - container.clientWidth / 2;
  container.scrollTop = (cy - y) * s - container.clientHeight / 2;
}

function scrollable(viewer, container) {
  container.classList.add('diagram-scroll');
  drawOnSheet(viewer, container, PHONE_SCALE);
  scrollToHighlight(viewer, container);
  const tools = document.createElement('div');
  tools.className = 'diagram-tools';
  const zoom = (label, scale) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.addEventListener('click', () => {
      const s = drawOnSheet(viewer, container, scale(viewer.sheetScale));
      zoomOut.disabled = s <= 0.3;
      zoomIn.disabled = s >= 1.6;
      scrollToHighlight(viewer, container);
    });
    tools.appendChild(button);
    return button;
  };
  const zoomOut = zoom('缩小', (s) => Math.max(0.3, s / 1.25));
  const zoomIn = zoom('放大', (s) => Math.min(1.6, s * 1.25));
  zoom('全图', () => 'fit');
  container.before(tools);
}

async function render(container) {
  let viewer = null;
  try {
    const xml = await fetchXml(container.dataset.bpmnUrl);
    viewer = new NavigatedViewer({ container, additionalModules: [translateZh] });
    await viewer.importXML(xml);
    decorate(viewer, container);
    if (NARROW.matches) {
      scrollable(viewer, container);
    } else {
      viewer.get('canvas').zoom('fit-viewport', 'auto');
      focus(viewer, container);
    }
  } catch (err) {
    console.warn('huying diagram: cannot show', container.dataset.bpmnUrl, err);
    if (viewer) {
      try { viewer.destroy(); } catch (ignored) { /* already half torn down */ }
    }
    showFailure(container, err);
  }
}

function renderAll() {
  document.querySelectorAll('[data-bpmn-url]').forEach((container) => { render(container); });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', renderAll);
} else {
  renderAll();
}
