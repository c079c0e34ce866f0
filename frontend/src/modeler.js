// Process modeller for analysts (built into app/static/dist/modeler.js, an IIFE with no globals).
//
// Markup (app/templates/modeller.html):
//   <div id="modeler"
//        data-bpmn-url="/processes/p/versions/3.bpmn"   same-origin URL of the BPMN XML to open
//        data-deploy-url="/processes/p/deploy"          POST {"bpmn": xml} (JSON, X-CSRFToken header)
//        data-versions-url="/processes#p-p"             the versions page, linked after a deploy
//        data-process-id="p"                            the download's file name
//        data-forms='[["a.schema.json", "受理"], ...]'   form files a user task / start event may use, with their titles
//        data-options='{"roles": [[code, name]], "caseStatus": [[code, label]], "escalation": [[code, label]]}'>
//     <div class="md-toolbar"><button data-action="deploy">部署</button><button data-action="download">…</button>
//       <span class="md-status"></span></div>
//     <div class="md-messages"></div>
//     <div class="md-body"><div class="md-canvas"></div><aside class="md-panel"></aside></div>
//   </div>
// A new process (app/templates/modeller.html without a process): data-new="1", data-blank-url (POST
// {process_id, name, lanes, starter} -> {bpmn}) and a <dialog class="md-new"> asking them first; the
// deploy URL then takes {"bpmn": xml, "files": {name: text}} and answers {deploy_url, ...} once deployed.
// Any page opens a .bpmn or .zip from the analyst's disk (input[data-action=open], or dropped on the
// canvas): a .zip's .bpmn is drawn, its other files (forms, decision tables) go with the deploy.
// The deploy's refusals are listed beside the canvas and marked on their elements (a red outline and
// a numbered badge); bpmnlint (lint.js, Huying's rules) marks problems while the analyst draws.
// The CSRF token is read from <meta name="csrf-token">. Needs dist/diagram-js.css, dist/bpmn-js.css,
// dist/bpmn-font/css/bpmn.css (palette icons) and the .md-* / .huying-* rules of style.css.
import Modeler from 'bpmn-js/lib/Modeler';
import lintModule from 'bpmn-js-bpmnlint';
import { unzipSync, strFromU8 } from 'fflate';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import translateZh, { chineseChrome } from './translate-zh';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';
import huyingProperties, { processOf, timerOf } from './huying-properties';
import spiffworkflow from './spiffworkflow.json';
import { linterConfig } from './lint';

const TYPE_LABELS = {
  'bpmn:UserTask': '用户任务', 'bpmn:ScriptTask': '脚本任务', 'bpmn:ServiceTask': '服务任务',
  'bpmn:ManualTask': '人工任务', 'bpmn:SendTask': '发送任务', 'bpmn:ReceiveTask': '接收任务',
  'bpmn:BusinessRuleTask': '业务规则任务', 'bpmn:Task': '任务', 'bpmn:SubProcess': '子流程',
  'bpmn:CallActivity': '调用活动', 'bpmn:StartEvent': '开始事件', 'bpmn:EndEvent': '结束事件',
  'bpmn:BoundaryEvent': '边界事件', 'bpmn:IntermediateCatchEvent': '中间事件（捕获）',
  'bpmn:IntermediateThrowEvent': '中间事件（抛出）', 'bpmn:ExclusiveGateway': '排他网关',
  'bpmn:ParallelGateway': '并行网关', 'bpmn:InclusiveGateway': '包容网关', 'bpmn:EventBasedGateway': '事件网关',
  'bpmn:ComplexGateway': '复杂网关', 'bpmn:SequenceFlow': '顺序流', 'bpmn:Lane': '泳道',
  'bpmn:Participant': '池（参与者）', 'bpmn:TextAnnotation': '文字注释', 'bpmn:Association': '关联',
  'bpmn:DataObjectReference': '数据对象', 'bpmn:DataStoreReference': '数据存储', 'bpmn:Group': '分组',
  'bpmn:Process': '流程', 'bpmn:Collaboration': '协作图',
};
const INVALID = 'huying-invalid';
// the properties panel's groups shown open (the others a click away)
const OPEN_GROUPS = Object.fromEntries(['general', 'huying', 'huying-script', 'huying-conditions', 'timer']
  .map((id) => [id, { open: true }]));
const ERROR_OVERLAY = 'huying-error';
const CARRIED = /\.(?:bpmn|json|form|dmn)$/i;
const MAX_OPEN_BYTES = 8 * 1024 * 1024;
const MIN_INITIAL_ZOOM = 0.5;      // below it Chinese labels cannot be read

// --- small DOM helpers -----------------------------------------------------------------------------
let uid = 0;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [key, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (key === 'class') el.className = v;
    else if (key === 'text') el.textContent = v;
    else if (key === 'value') value = v;
    else if (key.startsWith('on') && typeof v === 'function') el.addEventListener(key.slice(2), v);
    else el.setAttribute(key, v === true ? '' : String(v));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  if (value !== undefined) el.value = value;
  return el;
}

// bpmn-js's import warnings, in Chinese where they are known (the element id kept)
function chineseWarning(w) {
  const text = (w && (w.message || String(w))) || '';
  let m = /unparsable content <([^>]+)> detected/.exec(text);
  if (m) return `无法识别的内容 <${m[1]}>`;
  m = /unresolved reference <([^>]+)>/.exec(text);
  if (m) return `引用的元素 ${m[1]} 不存在`;
  m = /unknown type <([^>]+)>/.exec(text);
  if (m) return `未知的元素类型 ${m[1]}`;
  if (/no diagram to display|failed to import/i.test(text)) return '文件中没有可显示的流程图';
  if (/unparsable content|non-whitespace before first tag|unexpected end|missing start tag|unclosed/i.test(text)) {
    return '文件不是有效的 XML';
  }
  return '文件内容无法识别';
}

function json(value, fallback) {
  if (!value) return fallback;
  try {
    const parsed = JSON.parse(value);
    return parsed === null || typeof parsed !== typeof fallback ? fallback : parsed;
  } catch (err) {
    console.warn('huying modeller: not JSON', value, err);
    return fallback;
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

function typeLabel(bo) {
  const label = TYPE_LABELS[bo.$type] || bo.$type.replace(/^bpmn:/, '');
  return timerOf(bo) ? `定时${label.replace(/（.*）$/, '')}` : label;
}

// --- the modeller page ----------------------------------------------------------------------------------
class ModellerPage {
  constructor(root) {
    this.root = root;
    this.canvasEl = root.querySelector('.md-canvas') || root.appendChild(h('div', { class: 'md-canvas' }));
    this.panel = root.querySelector('.md-panel') || root.appendChild(h('aside', { class: 'md-panel' }));
    this.head = this.panel.appendChild(h('div', { class: 'md-head' }));
    this.props = this.panel.appendChild(h('div', { class: 'md-props' }));
    this.messages = root.querySelector('.md-messages') || root.insertBefore(h('div', { class: 'md-messages' }), root.firstChild);
    this.statusEl = root.querySelector('.md-status');
    this.deployButton = root.querySelector('[data-action=deploy]');
    this.downloadButton = root.querySelector('[data-action=download]');
    this.forms = json(root.dataset.forms, []).filter((f) => Array.isArray(f) && typeof f[0] === 'string')
      .map(([file, title]) => [file, title || file]);
    this.options = json(root.dataset.options, {});
    this.dirty = false;
    this.invalid = [];
    this.current = null;
    this.nextRender = null;
    this.renderQueued = false;
    this.isNew = root.dataset.new === '1';
    this.carried = {};                 // the other files of an opened .zip, deployed with the drawing
    this.modeler = new Modeler({
      container: this.canvasEl,
      moddleExtensions: { spiffworkflow },
      additionalModules: [translateZh, lintModule, BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
        huyingProperties],
      linting: { bpmnlint: linterConfig(this.options), active: true },
      huying: { options: this.options, forms: this.forms },
      propertiesPanel: { parent: this.props, layout: { groups: OPEN_GROUPS } },
    });
    chineseChrome(root);
  }

  get(service) {
    return this.modeler.get(service);
  }

  async open() {
    this.wireFiles();
    if (this.isNew) {
      this.askNew();
      return;
    }
    let xml;
    try {
      const response = await fetch(this.root.dataset.bpmnUrl, {
        mode: 'same-origin', credentials: 'same-origin', headers: { Accept: 'application/xml, text/xml, */*' },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      xml = await response.text();
    } catch (err) {
      console.warn('huying modeller: cannot open', this.root.dataset.bpmnUrl, err);
      this.canvasEl.textContent = '';
      this.canvasEl.append(h('p', { class: 'diagram-error', role: 'status', text: '流程图加载失败' }));
      this.setStatus('');
      return;
    }
    await this.show(xml, null);
  }

  // Draw `xml` (the server's, the blank template, or a file of the analyst's); false when it cannot be read.
  async show(xml, source) {
    try {
      const { warnings } = await this.modeler.importXML(xml);
      this.say('', '');
      if (warnings && warnings.length) {
        this.say('warn', `导入时有 ${warnings.length} 条警告：保存后这些内容可能丢失，部署前请核对。`,
          warnings.slice(0, 10).map((w) => h('li', { text: chineseWarning(w) })));
      }
    } catch (err) {
      console.warn('huying modeller: cannot import', source, err);
      this.say('error', source ? `无法打开 ${source}：不是有效的 BPMN 文件（${chineseWarning(err)}）`
        : '流程图加载失败');
      return false;
    }
    const proc = this.processOf(this.get('canvas').getRootElement());
    if (proc) this.root.dataset.processId = this.isNew ? proc.id : (this.root.dataset.processId || proc.id);
    this.invalid = [];
    this.frame();
    if (!this.wired) this.wire();
    this.render(null);
    this.root.classList.add('md-ready');
    if (this.deployButton) this.deployButton.disabled = false;
    if (this.downloadButton) this.downloadButton.disabled = false;
    this.setStatus(source ? `已打开 ${source}` : '');
    return true;
  }

  // --- a new process: the dialog asking its id, name and lanes --------------------------------------
  askNew() {
    const dialog = this.root.querySelector('dialog.md-new');
    if (!dialog) return;
    this.dialog = dialog;
    const form = dialog.querySelector('form');
    const starter = form.elements.starter;
    const lanes = () => [...form.querySelectorAll('input[name=lanes]')];
    const syncStarter = () => {       // the starter is one of the chosen lanes
      const chosen = lanes().filter((i) => i.checked).map((i) => i.value);
      for (const option of starter.options) option.disabled = !chosen.includes(option.value);
      if (!chosen.includes(starter.value) && chosen.length) [starter.value] = chosen;
    };
    for (const box of lanes()) box.addEventListener('change', syncStarter);
    syncStarter();
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.createBlank(form);
    });
    dialog.addEventListener('cancel', (event) => event.preventDefault());   // a new process starts from here
    dialog.showModal();
    form.elements.process_id.focus();
  }

  async createBlank(form) {
    for (const el of form.querySelectorAll('.error[data-field]')) el.textContent = '';
    const body = {
      process_id: form.elements.process_id.value.trim(),
      name: form.elements.name.value.trim(),
      lanes: [...form.querySelectorAll('input[name=lanes]:checked')].map((i) => i.value),
      starter: form.elements.starter.value,
    };
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const response = await fetch(this.root.dataset.blankUrl, {
        method: 'POST', mode: 'same-origin', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
        body: JSON.stringify(body),
      });
      let answer = null;
      try { answer = await response.json(); } catch (ignored) { /* an HTML error page */ }
      if (response.ok && answer && answer.bpmn) {
        if (await this.show(answer.bpmn, null)) {
          this.dialog.close();
          this.setStatus(`新流程 ${body.name}：在泳道中画出办理步骤后部署`);
          this.dirty = true;
        }
        return;
      }
      const problems = (answer && Array.isArray(answer.errors)) ? answer.errors : [];
      for (const p of problems) {
        const el = form.querySelector(`.error[data-field="${p.field}"]`);
        if (el) el.textContent = p.message;
      }
      if (!problems.length) {
        const el = form.querySelector('.error[data-field="process_id"]');
        el.textContent = (answer && answer.message) || `创建失败（HTTP ${response.status}），请刷新页面后重试`;
      }
    } catch (err) {
      form.querySelector('.error[data-field="process_id"]').textContent = `创建失败：${err.message || err}`;
    } finally {
      button.disabled = false;
    }
  }

  // --- files from the analyst's disk ---------------------------------------------------------------------
  wireFiles() {
    for (const input of this.root.querySelectorAll('input[type=file][data-action=open]')) {
      input.addEventListener('change', () => {
        const [file] = input.files || [];
        if (file) this.openFile(file);
        input.value = '';
      });
    }
    this.canvasEl.addEventListener('dragover', (event) => {
      if ([...(event.dataTransfer ? event.dataTransfer.types : [])].includes('Files')) {
        event.preventDefault();
        this.canvasEl.classList.add('md-drop');
      }
    });
    this.canvasEl.addEventListener('dragleave', () => this.canvasEl.classList.remove('md-drop'));
    this.canvasEl.addEventListener('drop', (event) => {
      const [file] = event.dataTransfer ? event.dataTransfer.files : [];
      if (!file) return;
      event.preventDefault();
      this.canvasEl.classList.remove('md-drop');
      this.openFile(file);
    });
  }

  async openFile(file) {
    if (this.dirty && this.root.classList.contains('md-ready')
        && !window.confirm(`打开 ${file.name} 会替换当前未部署的修改，继续吗？`)) return;
    if (file.size > MAX_OPEN_BYTES) {
      this.say('error', `${file.name} 过大（上限 ${MAX_OPEN_BYTES / 1024 / 1024} MB）`);
      return;
    }
    const name = file.name || '';
    let xml;
    let carried = {};
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (/\.zip$/i.test(name)) {
        const members = unzipSync(bytes, { filter: (m) => CARRIED.test(m.name) && !m.name.endsWith('/') });
        const texts = {};
        for (const [path, data] of Object.entries(members)) {
          const base = path.replace(/\\/g, '/').split('/').pop();
          if (!base.startsWith('.') && !path.split('/').includes('__MACOSX')) texts[base] = strFromU8(data);
        }
        const bpmns = Object.keys(texts).filter((n) => /\.bpmn$/i.test(n)).sort();
        if (!bpmns.length) {
          this.say('error', `${name} 中没有 .bpmn 文件`);
          return;
        }
        const main = bpmns.length === 1 ? bpmns[0] : await this.choose(name, bpmns, texts);
        if (!main) return;
        xml = texts[main];
        delete texts[main];
        carried = texts;
      } else if (/\.(?:bpmn|xml)$/i.test(name)) {
        xml = strFromU8(bytes);
      } else {
        this.say('error', `只能打开 .bpmn 或 .zip 文件（${name} 不是）`);
        return;
      }
    } catch (err) {
      console.warn('huying modeller: cannot read', name, err);
      this.say('error', `无法读取 ${name}：文件已损坏或不是有效的 .zip`);
      return;
    }
    if (!(await this.show(xml, name))) return;
    if (this.dialog && this.dialog.open) this.dialog.close();
    this.carried = carried;
    this.dirty = true;
    this.showCarried();
    const proc = this.processOf(this.get('canvas').getRootElement());
    if (!this.isNew && proc && proc.id !== this.root.dataset.processId) {
      this.say('warn', `文件中的流程标识为 ${proc.id}，与本流程（${this.root.dataset.processId}）不同：部署会被拒绝；新流程请在“新建流程”中打开`);
    }
  }

  // Which .bpmn of a .zip to draw (the others go with the deploy, as called processes).
  choose(zipName, bpmns, texts) {
    return new Promise((resolve) => {
      const select = h('select', { id: `md-f-${++uid}` }, bpmns.map((n) => h('option', { value: n, text: n, translate: 'no' })));
      const open = h('button', { type: 'button', class: 'primary', text: '打开', onclick: () => resolve(select.value) });
      const cancel = h('button', { type: 'button', text: '取消', onclick: () => { this.say('', ''); resolve(null); } });
      this.say('warn', `${zipName} 中有 ${bpmns.length} 个流程文件，请选择在建模器中打开的一个（其余的随同部署）：`, null,
        h('div', { class: 'md-choose' }, h('label', { class: 'label', for: select.id, text: '流程文件' }), select, open, cancel));
      void texts;
      select.focus();
    });
  }

  showCarried() {
    const box = this.root.querySelector('.md-carried');
    if (!box) return;
    const names = Object.keys(this.carried).sort();
    box.hidden = !names.length;
    box.textContent = '';
    if (names.length) {
      box.append(h('span', { text: `随同部署的文件（${names.length} 个）：` }),
        ...names.flatMap((n, i) => [i ? '、' : '', h('code', { translate: 'no', text: n })]));
    }
  }

  // The whole process, right of the palette; a wide one at a still readable scale, from its start.
  frame() {
    const canvas = this.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
    const { inner, outer } = canvas.viewbox();
    if (!inner.width || !inner.height) return;
    const palette = this.canvasEl.querySelector('.djs-palette');
    const left = (palette ? palette.offsetLeft + palette.offsetWidth : 0) + 24;
    const margin = 24;
    const fitWidth = (outer.width - left - margin) / inner.width;
    const fitHeight = (outer.height - 2 * margin) / inner.height;
    const fit = Math.min(fitWidth, fitHeight);
    // too wide to read whole: as tall as the canvas allows, from the start, the rest a scroll away
    const scale = Math.min(1, fit >= MIN_INITIAL_ZOOM ? fit : Math.max(MIN_INITIAL_ZOOM, Math.min(fitHeight, 0.8)));
    const top = Math.max(margin, (outer.height - inner.height * scale) / 2);
    canvas.viewbox({ x: inner.x - left / scale, y: inner.y - top / scale,
      width: outer.width / scale, height: outer.height / scale });
  }

  wire() {
    this.wired = true;
    const eventBus = this.get('eventBus');
    eventBus.on('selection.changed', ({ newSelection }) => {
      const one = newSelection.length === 1 ? newSelection[0] : null;
      this.scheduleRender(one && one.labelTarget ? one.labelTarget : one);
    });
    // the head shows the id and the lane: redrawn after any change (an id edited below, an undo, a move)
    eventBus.on('elements.changed', () => {
      if (!this.renderQueued) this.scheduleRender(this.current);
    });
    eventBus.on('commandStack.changed', () => {
      this.dirty = true;
      this.setStatus('有未部署的修改');
    });
    if (this.deployButton) this.deployButton.addEventListener('click', () => this.deploy());
    if (this.downloadButton) this.downloadButton.addEventListener('click', () => this.download());
    window.addEventListener('beforeunload', (event) => {
      this.flush();
      if (this.dirty) {
        event.preventDefault();
        event.returnValue = '';
      }
    });
  }

  // Selections and changes may come in the middle of a command (a deletion, say): the head is
  // redrawn once the command is over.
  scheduleRender(element) {
    this.nextRender = element;
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      const next = this.nextRender;
      this.render(next && this.get('elementRegistry').get(next.id) === next ? next : null);
    });
  }

  setStatus(text, kind, extra) {
    if (!this.statusEl) return;
    this.statusEl.textContent = text;
    this.statusEl.className = `md-status${kind ? ` md-${kind}` : ' muted'}`;
    if (extra) this.statusEl.append(...extra);
  }

  say(kind, text, items, extra) {
    if (!this.messages) return;
    this.messages.textContent = '';
    if (!text) return;
    const box = h('div', { class: `flash ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', { text }), extra);
    if (items && items.length) box.append(h('ul', { class: 'md-errors' }, items));
    this.messages.append(box);
  }

  flush() {
    this.get('debounceInput').flushAll();
  }

  // --- the panel's head: the element's kind and id (the properties panel below edits the rest) ---
  // an id: the analyst's handle on the element in the file and in the deploy's messages
  code(label, value, title) {
    return h('div', { class: 'field md-readonly md-id' },
      h('div', { class: 'label', text: label, title }), h('code', { class: 'md-value', translate: 'no', text: value || '—' }));
  }

  readonly(label, value) {
    return h('div', { class: 'field md-readonly' }, h('div', { class: 'label', text: label }),
      h('div', { class: 'md-value', text: value || '—' }));
  }

  laneOf(bo) {
    const lanes = this.get('elementRegistry').filter((e) => is(e, 'bpmn:Lane')).map((e) => e.businessObject);
    // the innermost lane holding the node
    return lanes.filter((l) => (l.get('flowNodeRef') || []).includes(bo))
      .sort((a, b) => (b.get('childLaneSet') ? 0 : 1) - (a.get('childLaneSet') ? 0 : 1))[0] || null;
  }

  processOf(root) {
    return processOf(root);
  }

  render(element) {
    this.current = element;
    const head = this.head;
    head.textContent = '';
    const root = this.get('canvas').getRootElement();
    if (!element || element === root) {
      head.append(h('div', { class: 'md-hint' },
        h('p', { text: '点击图中的元素，在这里查看和修改它的属性。从左侧工具栏拖入新元素；选中元素后，旁边的快捷菜单可以连线、追加或删除。' }),
        h('p', { text: '部署时服务器先校验（泳道角色、表单、表达式等），有问题的元素标红；通过后生成新版本：新案件按新版本办理，已有案件仍按原版本，可在“案件迁移”中迁移。' })));
      const proc = this.processOf(root);
      if (proc) {
        head.append(h('div', { class: 'md-kind' }, h('span', { class: 'md-type', text: '流程' })),
          this.code('流程标识', proc.id, '流程在文件中的标识，不可修改'));
      }
      return;
    }
    const bo = getBusinessObject(element);
    head.append(h('div', { class: 'md-kind' }, h('span', { class: 'md-type', text: typeLabel(bo) })),
      this.code('标识', bo.id, '元素在流程文件中的标识，部署校验的提示也用它；在下方“常规”中修改'));
    if (is(bo, 'bpmn:FlowNode')) {
      const lane = this.laneOf(bo);
      if (lane) head.append(this.readonly('所在泳道', lane.get('name') || lane.id));
    }
  }

  // --- deploy and download ---
  // Each refused element outlined in red with a badge: the numbers of its problems in the list.
  markInvalid(numbered) {
    const canvas = this.get('canvas');
    const registry = this.get('elementRegistry');
    for (const id of this.invalid) {
      if (registry.get(id)) canvas.removeMarker(id, INVALID);
    }
    this.get('overlays').remove({ type: ERROR_OVERLAY });
    const byId = new Map();
    for (const [id, n, message] of numbered) {
      if (!registry.get(id)) continue;
      if (!byId.has(id)) byId.set(id, []);
      byId.get(id).push([n, message]);
    }
    this.invalid = [...byId.keys()];
    for (const [id, problems] of byId) {
      canvas.addMarker(id, INVALID);
      const element = registry.get(id);
      const badge = h('button', { type: 'button', class: 'md-error-badge', 'data-element-id': id,
        title: problems.map(([n, m]) => `${n}. ${m}`).join('\n'),
        'aria-label': `问题 ${problems.map(([n]) => n).join('、')}`,
        onclick: () => this.reveal(id) }, `！${problems.map(([n]) => n).join(',')}`);
      const position = element.waypoints ? { top: -10, left: -10 } : { top: -12, right: 12 };
      try {
        this.get('overlays').add(element.waypoints ? element.source || element : element, ERROR_OVERLAY,
          { position: element.waypoints ? this.flowBadgePosition(element) : position, html: badge });
      } catch (err) { /* an element off every plane */ }
    }
  }

  // a flow's badge at the middle of its line, relative to its source
  flowBadgePosition(flow) {
    const points = flow.waypoints;
    const mid = points[Math.floor((points.length - 1) / 2)];
    const next = points[Math.floor((points.length - 1) / 2) + 1] || mid;
    const source = flow.source || { x: mid.x, y: mid.y };
    return { left: Math.round((mid.x + next.x) / 2 - source.x - 10), top: Math.round((mid.y + next.y) / 2 - source.y - 22) };
  }

  reveal(id) {
    const element = this.get('elementRegistry').get(id);
    if (!element) return;
    this.get('selection').select(element);
    try {
      this.get('canvas').scrollToElement(element);
    } catch (err) { /* an element off every plane */ }
  }

  async deploy() {
    this.flush();
    const button = this.deployButton;
    if (button) button.disabled = true;
    this.setStatus('正在校验并部署…');
    this.markInvalid([]);
    try {
      const { xml } = await this.modeler.saveXML({ format: true });
      const files = Object.keys(this.carried).length ? this.carried : undefined;
      const response = await fetch(this.root.dataset.deployUrl, {
        method: 'POST',
        mode: 'same-origin',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
        body: JSON.stringify({ bpmn: xml, files }),
      });
      let body = null;
      try { body = await response.json(); } catch (ignored) { /* an HTML error page */ }
      if (response.ok && body && body.version) {
        this.deployed(body);
      } else if ([409, 422].includes(response.status) && body && Array.isArray(body.errors) && body.errors.length) {
        this.refused(body.errors, response.status === 409 ? body.message : null);
      } else {
        const reasons = { 400: '请求被拒绝：页面可能已过期，请先下载 .bpmn 保存修改，再刷新页面后重试',
          403: '您无权部署流程（需要流程分析员角色），或登录已过期', 404: '流程不存在',
          413: '流程文件过大' };
        this.say('error', (body && body.message) || reasons[response.status] || `部署失败（HTTP ${response.status}），请稍后重试`);
        this.setStatus(this.dirty ? '有未部署的修改' : '');
      }
    } catch (err) {
      console.warn('huying modeller: deploy failed', err);
      this.say('error', `部署失败：${err.message || err}`);
      this.setStatus(this.dirty ? '有未部署的修改' : '');
    } finally {
      if (button) button.disabled = false;
    }
  }

  deployed(body) {
    this.dirty = false;
    if (body.versions_url) this.root.dataset.versionsUrl = body.versions_url;
    const link = this.root.dataset.versionsUrl
      ? h('a', { href: this.root.dataset.versionsUrl, text: '查看版本' }) : null;
    const text = body.created ? `已部署为第 ${body.version} 版` : `内容与第 ${body.version} 版相同，未生成新版本`;
    this.messages.textContent = '';
    if (this.isNew && body.deploy_url) {
      // deployed: from now on this page deploys new versions of that process
      this.isNew = false;
      this.root.dataset.deployUrl = body.deploy_url;
      this.root.dataset.processId = body.process_id;
      this.carried = {};
      this.showCarried();
    }
    this.markInvalid([]);
    this.setStatus(text, 'ok', link ? [' · ', link] : null);
    for (const el of document.querySelectorAll('.md-base')) el.textContent = `第 ${body.version} 版`;
    if (Array.isArray(body.report) && body.report.length) {
      this.say('ok', `转换说明（${body.report.length} 条）：`,
        body.report.map((r) => h('li', { 'data-element-id': r.element_id || null },
          r.element_id ? h('code', { translate: 'no', text: r.element_id }) : null, r.element_id ? '：' : null,
          r.message || '')));
    }
  }

  refused(errors, heading) {
    const registry = this.get('elementRegistry');
    const numbered = [];
    const items = errors.map((e, i) => {
      const n = i + 1;
      const id = e.element_id || '';
      const element = id ? registry.get(id) : null;
      const name = element ? getBusinessObject(element).get('name') : (e.name || '');
      const label = element ? (name || typeLabel(getBusinessObject(element))) : name;
      if (element) numbered.push([id, n, e.message || '']);
      const where = id ? (element
        ? h('button', { type: 'button', class: 'link', 'data-element-id': id, title: `标识：${id}`,
          onclick: () => this.reveal(id), text: label })
        : h('span', {}, label ? `${label} ` : '', h('code', { translate: 'no', text: id }))) : null;
      const line = e.line ? h('span', { class: 'muted', text: `（第 ${e.line} 行）` }) : null;
      return h('li', { 'data-element-id': id || null, 'data-n': n }, h('span', { class: 'md-n', text: `${n}.` }), ' ',
        where, line, where || line ? '：' : null, e.message || '');
    });
    this.say('error', heading || `校验未通过，未部署（${errors.length} 个问题）：`, items);
    this.markInvalid(numbered);
    if (this.invalid.length) this.reveal(this.invalid[0]);
    this.setStatus('有未部署的修改');
  }

  async download() {
    this.flush();
    try {
      const { xml } = await this.modeler.saveXML({ format: true });
      const blob = new Blob([xml], { type: 'application/xml' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `${this.root.dataset.processId || 'process'}.bpmn` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      this.say('error', `无法导出：${err.message || err}`);
    }
  }
}

function start() {
  const root = document.querySelector('#modeler[data-deploy-url]');
  if (!root) return;
  const page = new ModellerPage(root);
  page.open();
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
