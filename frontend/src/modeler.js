// Process modeller for analysts (built into app/static/dist/modeler.js, an IIFE with no globals).
//
// Markup (app/templates/modeller.html):
//   <div id="modeler"
//        data-bpmn-url="/processes/p/versions/3.bpmn"   same-origin URL of the BPMN XML to open
//        data-deploy-url="/processes/p/deploy"          POST {"bpmn": xml} (JSON, X-CSRFToken header)
//        data-versions-url="/processes#p-p"             the versions page, linked after a deploy
//        data-process-id="p"                            the download's file name
//        data-forms='["a.schema.json", ...]'            form files a user task / start event may use
//        data-options='{"roles": [[code, name]], "caseStatus": [[code, label]], "escalation": [[code, label]]}'>
//     <div class="md-toolbar"><button data-action="deploy">部署</button><button data-action="download">…</button>
//       <span class="md-status"></span></div>
//     <div class="md-messages"></div>
//     <div class="md-body"><div class="md-canvas"></div><aside class="md-panel"></aside></div>
//   </div>
// The CSRF token is read from <meta name="csrf-token">. Needs dist/diagram-js.css, dist/bpmn-js.css,
// dist/bpmn-font/css/bpmn.css (palette icons) and the .md-* / .huying-* rules of style.css.
import Modeler from 'bpmn-js/lib/Modeler';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';
import spiffworkflow from './spiffworkflow.json';

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
const TIMER_KINDS = [['timeDate', '时间点（timeDate）'], ['timeDuration', '时长（timeDuration）'],
  ['timeCycle', '周期（timeCycle）']];
const INVALID = 'huying-invalid';
const COMMIT_DELAY_MS = 350;
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

function timerOf(bo) {
  return (bo.get && bo.$instanceOf('bpmn:Event') && (bo.get('eventDefinitions') || [])
    .find((d) => is(d, 'bpmn:TimerEventDefinition'))) || null;
}

// --- the spiffworkflow extension elements ---------------------------------------------------------------
function extensionValues(bo) {
  const ext = bo.get('extensionElements');
  return ext ? ext.get('values') || [] : [];
}

function spiffProperties(bo) {
  return extensionValues(bo).find((v) => is(v, 'spiffworkflow:Properties')) || null;
}

function spiffProperty(bo, name) {
  const props = spiffProperties(bo);
  const found = props && props.get('properties').find((p) => p.get('name') === name);
  return found ? found.get('value') || '' : '';
}

function instructions(bo) {
  const found = extensionValues(bo).find((v) => is(v, 'spiffworkflow:InstructionsForEndUser'));
  return found ? found.get('value') || '' : '';
}

// --- the modeller page ----------------------------------------------------------------------------------
class ModellerPage {
  constructor(root) {
    this.root = root;
    this.canvasEl = root.querySelector('.md-canvas') || root.appendChild(h('div', { class: 'md-canvas' }));
    this.panel = root.querySelector('.md-panel') || root.appendChild(h('aside', { class: 'md-panel' }));
    this.messages = root.querySelector('.md-messages') || root.insertBefore(h('div', { class: 'md-messages' }), root.firstChild);
    this.statusEl = root.querySelector('.md-status');
    this.deployButton = root.querySelector('[data-action=deploy]');
    this.downloadButton = root.querySelector('[data-action=download]');
    this.forms = json(root.dataset.forms, []).filter((f) => typeof f === 'string');
    this.options = json(root.dataset.options, {});
    this.pending = new Set();          // edits typed in the panel, not yet applied to the model
    this.fromPanel = false;            // the model is being changed by the panel: do not redraw it
    this.dirty = false;
    this.invalid = [];
    this.current = null;
    this.nextRender = null;
    this.renderQueued = false;
    this.shownSignature = null;
    this.modeler = new Modeler({
      container: this.canvasEl,
      moddleExtensions: { spiffworkflow },
    });
  }

  get(service) {
    return this.modeler.get(service);
  }

  async open() {
    let xml;
    try {
      const response = await fetch(this.root.dataset.bpmnUrl, {
        mode: 'same-origin', credentials: 'same-origin', headers: { Accept: 'application/xml, text/xml, */*' },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      xml = await response.text();
      const { warnings } = await this.modeler.importXML(xml);
      if (warnings && warnings.length) {
        this.say('warn', `导入时有 ${warnings.length} 条警告：保存后这些内容可能丢失，部署前请核对。`,
          warnings.slice(0, 10).map((w) => h('li', { text: w.message || String(w) })));
      }
    } catch (err) {
      console.warn('huying modeller: cannot open', this.root.dataset.bpmnUrl, err);
      this.canvasEl.textContent = '';
      this.canvasEl.append(h('p', { class: 'diagram-error', role: 'status', text: '流程图加载失败' }));
      this.setStatus('');
      return;
    }
    this.frame();
    this.wire();
    this.render(null);
    this.root.classList.add('md-ready');
    if (this.deployButton) this.deployButton.disabled = false;
    if (this.downloadButton) this.downloadButton.disabled = false;
    this.setStatus('');
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
    const eventBus = this.get('eventBus');
    // the panel's edits of one element run as one command: one step to undo
    this.get('commandStack').register('huying.batch', { preExecute: (context) => context.run() });
    eventBus.on('selection.changed', ({ newSelection }) => {
      const one = newSelection.length === 1 ? newSelection[0] : null;
      this.scheduleRender(one && one.labelTarget ? one.labelTarget : one);
    });
    eventBus.on('elements.changed', () => {
      if (this.fromPanel || this.renderQueued) return;
      // redraw only when what the panel shows changed (an undo, a label typed on the canvas), not
      // for every move: a redraw under the analyst's cursor would swallow what is being typed
      const shown = this.current && this.get('elementRegistry').get(this.current.id) === this.current ? this.current : null;
      if (shown !== this.current || this.signature(shown) !== this.shownSignature) this.scheduleRender(shown);
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

  // Selections and changes may come in the middle of a command (a deletion, say): the panel is
  // redrawn (and its pending edits applied) once the command is over.
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
    this.messages.textContent = '';
    if (!text) return;
    const box = h('div', { class: `flash ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', { text }), extra);
    if (items && items.length) box.append(h('ul', { class: 'md-errors' }, items));
    this.messages.append(box);
  }

  // --- applying the panel's edits ---
  apply(run) {
    this.fromPanel = true;
    try {
      this.get('commandStack').execute('huying.batch', { run });
    } catch (err) {
      console.warn('huying modeller: edit not applied', err);
      this.say('error', `修改未生效：${err.message || err}`);
    } finally {
      this.fromPanel = false;
    }
  }

  flush() {
    for (const edit of [...this.pending]) edit();
  }

  modeling() {
    return this.get('modeling');
  }

  create(type, props) {
    return this.get('moddle').create(type, props);
  }

  extensionElements(element) {
    const bo = getBusinessObject(element);
    let ext = bo.get('extensionElements');
    if (!ext) {
      ext = this.create('bpmn:ExtensionElements', { values: [] });
      ext.$parent = bo;
      this.modeling().updateModdleProperties(element, bo, { extensionElements: ext });
    }
    return ext;
  }

  dropIfEmpty(element, ext, child, list) {
    if (child && !child.get(list).length) {
      this.modeling().updateModdleProperties(element, ext, { values: ext.get('values').filter((v) => v !== child) });
    }
    if (!ext.get('values').length) {
      this.modeling().updateModdleProperties(element, getBusinessObject(element), { extensionElements: undefined });
    }
  }

  setSpiffProperty(element, name, raw) {
    const value = (raw || '').trim();
    const bo = getBusinessObject(element);
    const modeling = this.modeling();
    let props = spiffProperties(bo);
    const existing = props && props.get('properties').find((p) => p.get('name') === name);
    if (!value) {
      if (!existing) return;
      modeling.updateModdleProperties(element, props, { properties: props.get('properties').filter((p) => p !== existing) });
      this.dropIfEmpty(element, bo.get('extensionElements'), props, 'properties');
      return;
    }
    if (existing) {
      modeling.updateModdleProperties(element, existing, { value });
      return;
    }
    const ext = this.extensionElements(element);
    if (!props) {
      props = this.create('spiffworkflow:Properties', { properties: [] });
      props.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: [...ext.get('values'), props] });
    }
    const property = this.create('spiffworkflow:Property', { name, value });
    property.$parent = props;
    modeling.updateModdleProperties(element, props, { properties: [...props.get('properties'), property] });
  }

  setInstructions(element, raw) {
    const value = (raw || '').trim();
    const bo = getBusinessObject(element);
    const found = extensionValues(bo).find((v) => is(v, 'spiffworkflow:InstructionsForEndUser'));
    if (found && value) {
      this.modeling().updateModdleProperties(element, found, { value });
    } else if (found) {
      const ext = bo.get('extensionElements');
      this.modeling().updateModdleProperties(element, ext, { values: ext.get('values').filter((v) => v !== found) });
      this.dropIfEmpty(element, ext, null);
    } else if (value) {
      const ext = this.extensionElements(element);
      const created = this.create('spiffworkflow:InstructionsForEndUser', { value });
      created.$parent = ext;
      // SpiffArena writes the instructions before the properties
      this.modeling().updateModdleProperties(element, ext, { values: [created, ...ext.get('values')] });
    }
  }

  setExpression(element, owner, key, raw) {
    const body = (raw || '').trim();
    const current = owner.get(key);
    if (!body) {
      if (current) this.modeling().updateModdleProperties(element, owner, { [key]: undefined });
    } else if (current) {
      this.modeling().updateModdleProperties(element, current, { body });
    } else {
      const created = this.create('bpmn:FormalExpression', { body });
      created.$parent = owner;
      this.modeling().updateModdleProperties(element, owner, { [key]: created });
    }
  }

  // --- panel controls ---
  field(label, control, help, extraClass) {
    if (!control.id) control.id = `md-f-${++uid}`;
    return h('div', { class: `field${extraClass ? ` ${extraClass}` : ''}` },
      h('label', { class: 'label', for: control.id, text: label }), control,
      help ? h('div', { class: 'help', text: help }) : null);
  }

  text(value, onCommit, { multiline = false, rows = 3, placeholder, mono = false, list, onInput } = {}) {
    const control = multiline
      ? h('textarea', { rows, placeholder, class: mono ? 'mono' : null, spellcheck: mono ? 'false' : null })
      : h('input', { type: 'text', placeholder, list, autocomplete: 'off', class: mono ? 'mono' : null,
        spellcheck: mono ? 'false' : null });
    control.value = value || '';
    let last = control.value;
    let timer = null;
    const commit = () => {
      clearTimeout(timer);
      this.pending.delete(commit);
      if (control.value === last) return;
      last = control.value;
      this.apply(() => onCommit(control.value));
    };
    control.addEventListener('input', () => {
      if (onInput) onInput(control.value);
      this.pending.add(commit);
      clearTimeout(timer);
      timer = setTimeout(commit, COMMIT_DELAY_MS);
    });
    control.addEventListener('change', commit);
    control.addEventListener('blur', commit);
    return control;
  }

  select(value, choices, onCommit, { blank } = {}) {
    const options = [];
    if (blank !== undefined) options.push(h('option', { value: '', text: blank }));
    for (const [code, label] of choices) options.push(h('option', { value: code, text: label }));
    if (value && !choices.some(([code]) => code === value)) {
      options.push(h('option', { value, text: `${value}（不在可选列表中）` }));
    }
    const control = h('select', {}, options);
    control.value = value || '';
    control.addEventListener('change', () => this.apply(() => onCommit(control.value)));
    return control;
  }

  readonly(label, value, extraClass) {
    return h('div', { class: `field md-readonly${extraClass ? ` ${extraClass}` : ''}` },
      h('div', { class: 'label', text: label }), h('div', { class: 'md-value', text: value || '—' }));
  }

  // --- the panel ---
  // What the panel shows of an element, to tell whether it must be redrawn.
  signature(element) {
    const root = this.get('canvas').getRootElement();
    const target = element || root;
    const bo = getBusinessObject(target);
    const body = (e) => (e ? e.get('body') : null);
    const timer = timerOf(bo);
    const lane = is(bo, 'bpmn:FlowNode') ? this.laneOf(bo) : null;
    const proc = is(bo, 'bpmn:Participant') ? bo.get('processRef') : (target === root ? this.processOf(root) : null);
    const source = element && element.source ? getBusinessObject(element.source) : null;
    return JSON.stringify([
      bo.$type, bo.id, bo.name ?? null, bo.text ?? null,
      extensionValues(bo).map((v) => (is(v, 'spiffworkflow:Properties')
        ? (v.properties || []).map((p) => [p.name, p.value]) : [v.$type, v.value ?? null])),
      is(bo, 'bpmn:SequenceFlow') ? [body(bo.get('conditionExpression')), Boolean(source && source.get('default') === bo)] : null,
      timer ? TIMER_KINDS.map(([k]) => body(timer.get(k))) : null,
      is(bo, 'bpmn:ScriptTask') ? bo.get('script') ?? null : null,
      lane ? lane.name ?? null : null, proc ? proc.name ?? null : null,
    ]);
  }

  processOf(root) {
    const bo = getBusinessObject(root);
    return is(bo, 'bpmn:Process') ? bo
      : ((bo.get('participants') || []).map((p) => p.get('processRef')).find((p) => p && p.get('isExecutable')) || null);
  }

  render(element) {
    this.flush();
    this.current = element;
    this.shownSignature = this.signature(element);
    const panel = this.panel;
    panel.textContent = '';
    const root = this.get('canvas').getRootElement();
    if (!element || element === root) {
      panel.append(...this.processFields(root));
      return;
    }
    const bo = getBusinessObject(element);
    panel.append(h('div', { class: 'md-kind' }, h('span', { class: 'md-type', text: typeLabel(bo) })));
    panel.append(this.readonly('ID', bo.id, 'md-id'));
    panel.append(...this.fieldsFor(element, bo));
  }

  processFields(root) {
    const out = [h('div', { class: 'md-hint' },
      h('p', { text: '点击图中的元素，在这里查看和修改它的属性。从左侧工具栏拖入新元素；选中元素后，旁边的快捷菜单可以连线、追加或删除。' }),
      h('p', { text: '部署时服务器先校验（泳道角色、表单、表达式等），有问题的元素标红；通过后生成新版本：新案件按新版本办理，已有案件仍按原版本，可在“案件迁移”中迁移。' }))];
    const proc = this.processOf(root);
    if (proc) {
      out.push(h('div', { class: 'md-kind' }, h('span', { class: 'md-type', text: '流程' })));
      out.push(this.readonly('流程 ID', proc.id, 'md-id'));
      out.push(this.field('流程名称', this.text(proc.get('name'), (v) => {
        this.modeling().updateModdleProperties(root, proc, { name: v.trim() || undefined });
      }), '部署后显示在发起案件和待办列表中'));
    }
    return out;
  }

  fieldsFor(element, bo) {
    const out = [];
    const modeling = this.modeling();
    if (is(bo, 'bpmn:TextAnnotation')) {
      out.push(this.field('注释', this.text(bo.get('text'), (v) => modeling.updateProperties(element, { text: v }),
        { multiline: true, rows: 4 })));
      return out;
    }
    if (is(bo, 'bpmn:Lane')) {
      out.push(this.laneName(element, bo));
      return out;
    }
    out.push(this.field('名称', this.text(bo.get('name'), (v) => modeling.updateProperties(element, { name: v.trim() ? v : undefined }))));

    if (is(bo, 'bpmn:Participant') && bo.get('processRef')) {
      const proc = bo.get('processRef');
      out.push(this.readonly('流程 ID', proc.id));
      out.push(this.field('流程名称', this.text(proc.get('name'), (v) => {
        modeling.updateModdleProperties(element, proc, { name: v.trim() || undefined });
      })));
    }
    if (is(bo, 'bpmn:FlowNode')) {
      const lane = this.laneOf(bo);
      if (lane) out.push(this.readonly('所在泳道', lane.get('name') || lane.id));
    }
    if (is(bo, 'bpmn:UserTask')) {
      out.push(this.formField(element, bo));
      out.push(this.field('承办单位（orgUnit）', this.text(spiffProperty(bo, 'orgUnit'),
        (v) => this.setSpiffProperty(element, 'orgUnit', v), { mono: true, placeholder: '如 initiator_org' }),
      '表达式，结果为承办单位代码；留空则由泳道对应角色的单位办理'));
      out.push(this.field('办理说明', this.text(instructions(bo), (v) => this.setInstructions(element, v),
        { multiline: true, rows: 5 }), '显示在任务页面上，告诉办理人做什么'));
    }
    if (is(bo, 'bpmn:StartEvent') && !timerOf(bo) && is(bo.$parent, 'bpmn:Process')) {
      out.push(this.formField(element, bo));
    }
    if (is(bo, 'bpmn:ScriptTask')) {
      out.push(this.field('脚本', this.text(bo.get('script'), (v) => {
        const props = { script: v.trim() ? v : undefined };
        if (!bo.get('scriptFormat')) props.scriptFormat = 'python';
        modeling.updateProperties(element, props);
      }, { multiline: true, rows: 8, mono: true }), '受限的表达式语言（类似 Python），部署时校验'));
    }
    const timer = timerOf(bo);
    if (timer) out.push(...this.timerFields(element, timer));
    if (timer || is(bo, 'bpmn:BoundaryEvent')) {
      out.push(this.field('督办动作（escalation）', this.select(spiffProperty(bo, 'escalation'), this.options.escalation || [],
        (v) => this.setSpiffProperty(element, 'escalation', v), { blank: '无' })));
    }
    if (is(bo, 'bpmn:EndEvent') && is(bo.$parent, 'bpmn:Process')) {
      out.push(this.field('案件结果（caseStatus）', this.select(spiffProperty(bo, 'caseStatus'), this.options.caseStatus || [],
        (v) => this.setSpiffProperty(element, 'caseStatus', v), { blank: '默认（办结）' }), '流程走到这个结束事件时案件的状态'));
    }
    if (is(bo, 'bpmn:SequenceFlow')) out.push(...this.flowFields(element, bo));
    return out;
  }

  formField(element, bo) {
    const choices = this.forms.map((f) => [f, f]);
    return this.field('表单（formJsonSchemaFilename）', this.select(spiffProperty(bo, 'formJsonSchemaFilename'), choices,
      (v) => this.setSpiffProperty(element, 'formJsonSchemaFilename', v), { blank: '（无表单）' }),
    '表单文件在 forms/ 目录中；新表单需先随 .zip 上传');
  }

  laneOf(bo) {
    const lanes = this.get('elementRegistry').filter((e) => is(e, 'bpmn:Lane')).map((e) => e.businessObject);
    // the innermost lane holding the node
    return lanes.filter((l) => (l.get('flowNodeRef') || []).includes(bo))
      .sort((a, b) => (b.get('childLaneSet') ? 0 : 1) - (a.get('childLaneSet') ? 0 : 1))[0] || null;
  }

  laneName(element, bo) {
    const roles = this.options.roles || [];
    const known = new Set(roles.flatMap(([code, name]) => [code, name]));
    const listId = `md-roles-${++uid}`;
    const warning = h('div', { class: 'error md-lane-warning' });
    const check = (v) => {
      const name = (v || '').trim();
      warning.textContent = !name || known.has(name) || !roles.length ? ''
        : `“${name}”不是已知角色：泳道中的用户任务将无法部署`;
    };
    const control = this.text(bo.get('name'), (v) => this.modeling().updateProperties(element, { name: v.trim() ? v : undefined }),
      { list: listId, onInput: check });
    check(bo.get('name'));
    const field = this.field('泳道名称（角色）', control, '泳道名称决定由哪个角色办理其中的任务，应为角色名称，如 乡镇、响应中心、县级部门');
    field.append(warning, h('datalist', { id: listId }, roles.map(([, name]) => h('option', { value: name }))));
    return field;
  }

  timerFields(element, timer) {
    const kindOf = () => TIMER_KINDS.map(([k]) => k).find((k) => timer.get(k)) || 'timeDate';
    const kind = kindOf();
    const expression = timer.get(kind);
    return [
      this.field('定时类型', this.select(kind, TIMER_KINDS, (next) => {
        const before = kindOf();
        const current = timer.get(before);
        if (next === before || !next) return;
        const created = this.create('bpmn:FormalExpression', { body: current ? current.get('body') : '' });
        created.$parent = timer;
        this.modeling().updateModdleProperties(element, timer, { [before]: undefined, [next]: created });
      })),
      this.field('定时表达式', this.text(expression ? expression.get('body') : '', (v) => this.setExpression(element, timer, kindOf(), v),
        { mono: true, placeholder: '如 due_date("sign", urgency, list_item) 或 "P3D"' }),
      '时间点、时长（ISO 8601，如 "PT2H"）或返回它们的表达式'),
    ];
  }

  flowFields(element, bo) {
    const source = element.source;
    const sourceBo = source ? getBusinessObject(source) : null;
    if (!sourceBo || is(sourceBo, 'bpmn:ParallelGateway') || is(sourceBo, 'bpmn:EventBasedGateway') || is(sourceBo, 'bpmn:Event')) {
      return [];
    }
    const out = [];
    const isDefault = sourceBo.get('default') === bo;
    if (is(sourceBo, 'bpmn:ExclusiveGateway') || is(sourceBo, 'bpmn:InclusiveGateway')) {
      const box = h('input', { type: 'checkbox', id: `md-f-${++uid}` });
      box.checked = isDefault;
      box.addEventListener('change', () => this.apply(() => {
        this.modeling().updateProperties(source, { default: box.checked ? bo : undefined });
        if (box.checked && bo.get('conditionExpression')) {
          this.modeling().updateProperties(element, { conditionExpression: undefined });
        }
      }));
      out.push(h('div', { class: 'field' }, h('label', { class: 'choice', for: box.id }, box, '默认流向（其他条件都不成立时走这里）')));
    }
    if (!isDefault) {
      const condition = bo.get('conditionExpression');
      out.push(this.field('条件表达式', this.text(condition ? condition.get('body') : '',
        (v) => this.setExpression(element, bo, 'conditionExpression', v),
        { multiline: true, rows: 3, mono: true, placeholder: '如 accepted 或 not approved' }),
      '用表单字段写条件；结果为真时走这条线'));
    }
    return out;
  }

  // --- deploy and download ---
  markInvalid(ids) {
    const canvas = this.get('canvas');
    for (const id of this.invalid) {
      if (this.get('elementRegistry').get(id)) canvas.removeMarker(id, INVALID);
    }
    this.invalid = ids.filter((id) => this.get('elementRegistry').get(id));
    for (const id of this.invalid) canvas.addMarker(id, INVALID);
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
      const response = await fetch(this.root.dataset.deployUrl, {
        method: 'POST',
        mode: 'same-origin',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
        body: JSON.stringify({ bpmn: xml }),
      });
      let body = null;
      try { body = await response.json(); } catch (ignored) { /* an HTML error page */ }
      if (response.ok && body && body.version) {
        this.deployed(body);
      } else if (response.status === 422 && body && Array.isArray(body.errors)) {
        this.refused(body.errors);
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
    const link = this.root.dataset.versionsUrl
      ? h('a', { href: this.root.dataset.versionsUrl, text: '查看版本' }) : null;
    const text = body.created ? `已部署为第 ${body.version} 版` : `内容与第 ${body.version} 版相同，未生成新版本`;
    this.messages.textContent = '';
    this.setStatus(text, 'ok', link ? [' · ', link] : null);
    for (const el of document.querySelectorAll('.md-base')) el.textContent = `第 ${body.version} 版`;
  }

  refused(errors) {
    const registry = this.get('elementRegistry');
    const items = errors.map((e) => {
      const id = e.element_id || '';
      const element = id ? registry.get(id) : null;
      const name = element ? getBusinessObject(element).get('name') : '';
      const where = id ? (element
        ? h('button', { type: 'button', class: 'link', 'data-element-id': id, onclick: () => this.reveal(id),
          text: name ? `${name}（${id}）` : id })
        : h('code', { text: id })) : null;
      return h('li', { 'data-element-id': id || null }, where, where ? '：' : null, e.message || '');
    });
    this.say('error', `校验未通过，未部署（${errors.length} 个问题）：`, items);
    const ids = [...new Set(errors.map((e) => e.element_id).filter(Boolean))];
    this.markInvalid(ids);
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
  const root = document.querySelector('#modeler[data-bpmn-url][data-deploy-url]');
  if (!root) return;
  const page = new ModellerPage(root);
  page.open();
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
