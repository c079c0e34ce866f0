// Huying's properties in bpmn-js-properties-panel: a provider (after the standard BPMN one) adding
// what SpiffWorkflow and Huying read from a drawing, stored as SpiffArena writes them:
//   <bpmn:extensionElements>
//     <spiffworkflow:instructionsForEndUser>…</spiffworkflow:instructionsForEndUser>
//     <spiffworkflow:properties><spiffworkflow:property name="orgUnit" value="…"/></spiffworkflow:properties>
//   </bpmn:extensionElements>
// plus a script task's script, a sequence flow's condition and default flag, a lane's name checked
// against the roles. The page's choices (roles, case statuses, escalations, flag kinds, list actions,
// form files) come from the config `huying` ({options, forms}); every label is Chinese.
//   new Modeler({ additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, huyingProperties],
//                 huying: { options, forms } })
import {
  CheckboxEntry, SelectEntry, TextAreaEntry, TextFieldEntry,
  isCheckboxEntryEdited, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { h } from '@bpmn-io/properties-panel/preact';
import { useEffect } from '@bpmn-io/properties-panel/preact/hooks';
import { useService } from 'bpmn-js-properties-panel';
import { debounce } from 'min-dash';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

const DEBOUNCE_MS = 300;
const BATCH = 'huying.batch';

// --- the spiffworkflow extension elements ---------------------------------------------------------------
function extensionValues(bo) {
  const ext = bo.get('extensionElements');
  return ext ? ext.get('values') || [] : [];
}

export function spiffProperties(bo) {
  return extensionValues(bo).find((v) => is(v, 'spiffworkflow:Properties')) || null;
}

export function spiffProperty(bo, name) {
  const props = spiffProperties(bo);
  const found = props && props.get('properties').find((p) => p.get('name') === name);
  return found ? found.get('value') || '' : '';
}

function instructions(bo) {
  const found = extensionValues(bo).find((v) => is(v, 'spiffworkflow:InstructionsForEndUser'));
  return found ? found.get('value') || '' : '';
}

export function timerOf(bo) {
  return (bo.get && bo.$instanceOf('bpmn:Event') && (bo.get('eventDefinitions') || [])
    .find((d) => is(d, 'bpmn:TimerEventDefinition'))) || null;
}

export function processOf(root) {
  const bo = getBusinessObject(root);
  return is(bo, 'bpmn:Process') ? bo
    : ((bo.get('participants') || []).map((p) => p.get('processRef')).find((p) => p && p.get('isExecutable')) || null);
}

// --- edits: each one command (one step to undo), however many moddle changes it makes -------------------
class Edits {
  constructor(injector) {
    this.modeling = injector.get('modeling');
    this.moddle = injector.get('moddle');
    this.commandStack = injector.get('commandStack');
    this.injector = injector;
  }

  run(fn) {
    // what is being typed in a text field (debounced) lands first: a select or checkbox changed right
    // after typing must not re-render the field from the element and lose the typing
    if (!this.flushing) {
      this.flushing = true;
      try {
        this.injector.get('debounceInput').flushAll();
      } finally {
        this.flushing = false;
      }
    }
    this.commandStack.execute(BATCH, { run: fn });
  }

  create(type, props, parent) {
    const created = this.moddle.create(type, props);
    created.$parent = parent;
    return created;
  }

  extensionElements(element, bo) {
    let ext = bo.get('extensionElements');
    if (!ext) {
      ext = this.create('bpmn:ExtensionElements', { values: [] }, bo);
      this.modeling.updateModdleProperties(element, bo, { extensionElements: ext });
    }
    return ext;
  }

  dropIfEmpty(element, bo, child, list) {
    const ext = bo.get('extensionElements');
    if (!ext) return;
    if (child && !child.get(list).length) {
      this.modeling.updateModdleProperties(element, ext, { values: ext.get('values').filter((v) => v !== child) });
    }
    if (!ext.get('values').length) this.modeling.updateModdleProperties(element, bo, { extensionElements: undefined });
  }

  // `bo` defaults to the element's; a participant's process is another
  setProperty(element, name, raw, bo = getBusinessObject(element)) {
    const value = (raw || '').trim();
    this.run(() => {
      const { modeling } = this;
      let props = spiffProperties(bo);
      const existing = props && props.get('properties').find((p) => p.get('name') === name);
      if (!value) {
        if (!existing) return;
        modeling.updateModdleProperties(element, props, { properties: props.get('properties').filter((p) => p !== existing) });
        this.dropIfEmpty(element, bo, props, 'properties');
      } else if (existing) {
        modeling.updateModdleProperties(element, existing, { value });
      } else {
        const ext = this.extensionElements(element, bo);
        if (!props) {
          props = this.create('spiffworkflow:Properties', { properties: [] }, ext);
          modeling.updateModdleProperties(element, ext, { values: [...ext.get('values'), props] });
        }
        const property = this.create('spiffworkflow:Property', { name, value }, props);
        modeling.updateModdleProperties(element, props, { properties: [...props.get('properties'), property] });
      }
    });
  }

  setInstructions(element, raw) {
    const value = (raw || '').trim();
    const bo = getBusinessObject(element);
    this.run(() => {
      const found = extensionValues(bo).find((v) => is(v, 'spiffworkflow:InstructionsForEndUser'));
      if (found && value) {
        this.modeling.updateModdleProperties(element, found, { value });
      } else if (found) {
        const ext = bo.get('extensionElements');
        this.modeling.updateModdleProperties(element, ext, { values: ext.get('values').filter((v) => v !== found) });
        this.dropIfEmpty(element, bo, null);
      } else if (value) {
        const ext = this.extensionElements(element, bo);
        const created = this.create('spiffworkflow:InstructionsForEndUser', { value }, ext);
        // SpiffArena writes the instructions before the properties
        this.modeling.updateModdleProperties(element, ext, { values: [created, ...ext.get('values')] });
      }
    });
  }

  setExpression(element, owner, key, raw) {
    const body = (raw || '').trim();
    this.run(() => {
      const current = owner.get(key);
      if (!body) {
        if (current) this.modeling.updateModdleProperties(element, owner, { [key]: undefined });
      } else if (current) {
        this.modeling.updateModdleProperties(element, current, { body });
      } else {
        this.modeling.updateModdleProperties(element, owner, { [key]: this.create('bpmn:FormalExpression', { body }, owner) });
      }
    });
  }
}

Edits.$inject = ['injector'];

// --- entries ---------------------------------------------------------------------------------------------

function choices(list, value, blank) {
  const out = blank === undefined ? [] : [{ value: '', label: blank }];
  for (const [code, label] of list) out.push({ value: code, label });
  if (value && !list.some(([code]) => code === value)) out.push({ value, label: `${value}（不在可选列表中）` });
  return out;
}

// A text property of the spiffworkflow properties (or of a participant's process: `target`).
function PropertyText(props) {
  const { element, id, name, label, description, multiline, mono, target, placeholder } = props;
  const debounced = useService('debounceInput');
  const edits = useService('huyingEdits');
  const bo = target || getBusinessObject(element);
  useDecor(id, mono, placeholder);
  const Entry = multiline ? TextAreaEntry : TextFieldEntry;
  return Entry({
    element, id, label, description, debounce: debounced, tooltip: codeTip(name),
    monospace: mono, rows: multiline ? 3 : undefined, autoResize: multiline,
    getValue: () => spiffProperty(bo, name),
    setValue: (v) => edits.setProperty(element, name, v, bo),
  });
}

function PropertySelect(props) {
  const { element, id, name, label, description, list, blank } = props;
  const edits = useService('huyingEdits');
  const bo = getBusinessObject(element);
    return SelectEntry({
    element, id, label, description, tooltip: codeTip(name),
    getValue: () => spiffProperty(bo, name),
    setValue: (v) => edits.setProperty(element, name, v),
    getOptions: () => choices(list, spiffProperty(bo, name), blank),
  });
}

// the property's name in the file, for the analyst who reads the XML: the label's tooltip
function codeTip(code) {
  return h('span', null, '文件中的属性名：', h('code', { translate: 'no' }, code));
}

// monospace and spellcheck off for code; a placeholder, a list of suggestions (the entries take none)
function useDecor(id, mono, placeholder, list) {
  useEffect(() => {
    const input = document.getElementById(`bio-properties-panel-${id}`);
    if (!input) return;
    if (mono) {
      input.classList.add('mono');
      input.setAttribute('spellcheck', 'false');
    }
    if (placeholder) input.setAttribute('placeholder', placeholder);
    if (list) input.setAttribute('list', list);
  });
}

function Instructions({ element, id }) {
  const debounced = useService('debounceInput');
  const edits = useService('huyingEdits');
  return TextAreaEntry({
    element, id, label: '办理说明', description: '显示在任务页面上，告诉办理人做什么', debounce: debounced, rows: 5,
    tooltip: codeTip('instructionsForEndUser'),
    getValue: () => instructions(getBusinessObject(element)),
    setValue: (v) => edits.setInstructions(element, v),
  });
}

function ProcessName({ element, id, process }) {
  const debounced = useService('debounceInput');
  const modeling = useService('modeling');
  return TextFieldEntry({
    element, id, label: '流程名称', description: '部署后显示在发起案件和待办列表中', debounce: debounced,
    getValue: () => process.get('name') || '',
    setValue: (v) => modeling.updateModdleProperties(element, process, { name: (v || '').trim() || undefined }),
  });
}

function LaneName({ element, id }) {
  const debounced = useService('debounceInput');
  const modeling = useService('modeling');
  const config = useService('config.huying');
  const roles = (config && config.options && config.options.roles) || [];
  const known = new Set(roles.flatMap(([code, name]) => [code, name]));
  const listId = `md-roles-${id}`;
  useDecor(id, false, null, listId);
  const bo = getBusinessObject(element);
  const name = (bo.get('name') || '').trim();
  const warning = !name || known.has(name) || !roles.length ? '' : `“${name}”不是已知角色：泳道中的用户任务将无法部署`;
  return h('div', null,
    TextFieldEntry({
      element, id, label: '泳道名称（角色）', debounce: debounced,
      description: '泳道名称决定由哪个角色办理其中的任务，应为角色名称，如 乡镇、响应中心、县级部门',
      getValue: () => bo.get('name') || '',
      setValue: (v) => modeling.updateProperties(element, { name: (v || '').trim() ? v : undefined }),
    }),
    h('div', { class: 'error md-lane-warning', role: 'status' }, warning),
    h('datalist', { id: listId }, roles.map(([, label]) => h('option', { value: label }))));
}

function AnnotationText({ element, id }) {
  const debounced = useService('debounceInput');
  const modeling = useService('modeling');
  return TextAreaEntry({
    element, id, label: '注释', debounce: debounced, rows: 4,
    getValue: () => getBusinessObject(element).get('text') || '',
    setValue: (v) => modeling.updateProperties(element, { text: v }),
  });
}

function FormSelect({ element, id }) {
  const config = useService('config.huying');
  const forms = (config && config.forms) || [];
  // by title; a title two forms share also names its file
  const count = new Map();
  for (const [, title] of forms) count.set(title, (count.get(title) || 0) + 1);
  const list = forms.map(([file, title]) => [file, count.get(title) > 1 ? `${title}（${file}）` : title]);
  return PropertySelect({ element, id, name: 'formJsonSchemaFilename', label: '表单', list, blank: '（无表单）',
    description: '办理人填写的表单；新表单需先随流程压缩包上传部署' });
}

function Script({ element, id }) {
  const debounced = useService('debounceInput');
  const modeling = useService('modeling');
  useDecor(id, true);
  const bo = getBusinessObject(element);
  return TextAreaEntry({
    element, id, label: '脚本', description: '受限的表达式语言（类似 Python），部署时校验', debounce: debounced,
    rows: 8, monospace: true, tooltip: codeTip('script'),
    getValue: () => bo.get('script') || '',
    setValue: (v) => {
      const props = { script: (v || '').trim() ? v : undefined };
      if (!bo.get('scriptFormat')) props.scriptFormat = 'python';
      modeling.updateProperties(element, props);
    },
  });
}

function DefaultFlow({ element, id }) {
  const edits = useService('huyingEdits');
  const modeling = useService('modeling');
  const bo = getBusinessObject(element);
  return CheckboxEntry({
    element, id, label: '默认流向（其他条件都不成立时走这里）',
    getValue: () => getBusinessObject(element.source).get('default') === bo,
    setValue: (checked) => edits.run(() => {
      modeling.updateProperties(element.source, { default: checked ? bo : undefined });
      if (checked && bo.get('conditionExpression')) modeling.updateProperties(element, { conditionExpression: undefined });
    }),
  });
}

function Condition({ element, id }) {
  const debounced = useService('debounceInput');
  const edits = useService('huyingEdits');
  useDecor(id, true, '用表单字段写的条件');
  const bo = getBusinessObject(element);
  return TextAreaEntry({
    element, id, label: '条件表达式', description: '结果为真时走这条线；如“同意受理”字段为真、“满意”字段为假',
    debounce: debounced, rows: 3, monospace: true, tooltip: codeTip('conditionExpression'),
    getValue: () => { const c = bo.get('conditionExpression'); return c ? c.get('body') || '' : ''; },
    setValue: (v) => edits.setExpression(element, bo, 'conditionExpression', v),
  });
}

// The standard timer type select empties the expression on a change of type: this one keeps it (a
// deadline function written for a date is as often wanted as a duration).
const TIMER_KINDS = [['', '<none>'], ['timeDate', 'Date'], ['timeDuration', 'Duration'], ['timeCycle', 'Cycle']];

function TimerKind(props) {
  const { element, id, timerEventDefinition: timer, timerEventDefinitionType: kind } = props;
  const commandStack = useService('commandStack');
  const bpmnFactory = useService('bpmnFactory');
  const translate = useService('translate');
  return SelectEntry({
    element, id, label: translate('Type'),
    getValue: () => kind || '',
    setValue: (next) => {
      if (next === (kind || '')) return;
      const current = kind ? timer.get(kind) : null;
      const properties = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      if (next) {
        const expression = bpmnFactory.create('bpmn:FormalExpression', { body: current ? current.get('body') : undefined });
        expression.$parent = timer;
        properties[next] = expression;
      }
      commandStack.execute('element.updateModdleProperties', { element, moddleElement: timer, properties });
    },
    getOptions: () => TIMER_KINDS.map(([value, label]) => ({ value, label: translate(label) })),
  });
}

// --- which entries an element gets ---------------------------------------------------------------------
function huyingEntries(element, config) {
  const options = (config && config.options) || {};
  const bo = getBusinessObject(element);
  const out = [];
  const text = (id, name, label, description, extra) => out.push({
    id, name, label, description, component: PropertyText, isEdited: isTextFieldEntryEdited, ...extra });
  const select = (id, name, label, list, blank, description) => out.push({
    id, name, label, list, blank, description, component: PropertySelect, isEdited: isSelectEntryEdited });
  const caseTitle = (target) => text('huying-caseTitle', 'caseTitle', '案件标题表达式',
    '用表单字段写的表达式，结果为案件在列表中显示的标题；留空则用表单的“标题”字段', { mono: true, target });

  if (is(bo, 'bpmn:Collaboration') || is(bo, 'bpmn:Process') || is(bo, 'bpmn:Participant')) {
    const proc = is(bo, 'bpmn:Participant') ? bo.get('processRef') : processOf(element);
    if (proc && is(bo, 'bpmn:Collaboration')) {
      out.push({ id: 'huying-processName', process: proc, component: ProcessName, isEdited: isTextFieldEntryEdited });
    }
    if (proc) caseTitle(proc);
    return out;
  }
  if (is(bo, 'bpmn:UserTask')) {
    out.push({ id: 'huying-form', component: FormSelect, isEdited: isSelectEntryEdited });
    text('huying-formUi', 'formUiSchemaFilename', '表单界面文件', '可选：表单的界面设置文件（随流程压缩包上传）', { mono: true });
    text('huying-orgUnit', 'orgUnit', '承办单位',
      '表达式，结果为承办单位代码（如发起单位、主办部门的表单字段）；留空则由泳道对应角色的单位办理',
      { mono: true, placeholder: '留空：由泳道角色的单位办理' });
    out.push({ id: 'huying-instructions', component: Instructions, isEdited: isTextAreaEntryEdited });
  }
  const timer = timerOf(bo);
  if (is(bo, 'bpmn:StartEvent') && !timer && is(bo.$parent, 'bpmn:Process')) {
    out.push({ id: 'huying-form', component: FormSelect, isEdited: isSelectEntryEdited });
    text('huying-formUi', 'formUiSchemaFilename', '表单界面文件', '可选：表单的界面设置文件（随流程压缩包上传）', { mono: true });
    const roles = (options.roles || []).map(([code, name]) => `${name}（${code}）`).join('、');
    text('huying-startRoles', 'startRoles', '可发起角色',
      `留空：开始事件所在泳道的角色发起；或写多个角色代码，用英文逗号分隔。角色：${roles}`, { mono: true });
  }
  if (timer || is(bo, 'bpmn:BoundaryEvent')) {
    select('huying-escalation', 'escalation', '督办动作', options.escalation || [], '无');
  }
  if (is(bo, 'bpmn:EndEvent') && is(bo.$parent, 'bpmn:Process')) {
    select('huying-caseStatus', 'caseStatus', '案件结果', options.caseStatus || [], '默认（办结）',
      '流程走到这个结束事件时案件的状态');
    select('huying-flagKind', 'flagKind', '标记类别', options.flagKind || [], '不标记',
      '案件在这里结束时，给责任方记一次这一类标记');
    text('huying-flagWhen', 'flagWhen', '标记条件', '用表单字段写的条件，结果为真时才记标记；留空则总是记', { mono: true });
    select('huying-listAction', 'listAction', '清单操作', options.listAction || [], '无',
      '案件在这里结束时对职责清单做的操作');
  }
  return out;
}

function flowEntries(element) {
  const bo = getBusinessObject(element);
  const source = element.source ? getBusinessObject(element.source) : null;
  if (!is(bo, 'bpmn:SequenceFlow') || !source || is(source, 'bpmn:ParallelGateway')
      || is(source, 'bpmn:EventBasedGateway') || is(source, 'bpmn:Event')) return [];
  const out = [];
  if (is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway')) {
    out.push({ id: 'huying-default', component: DefaultFlow, isEdited: isCheckboxEntryEdited });
  }
  if (source.get('default') !== bo) out.push({ id: 'huying-condition', component: Condition, isEdited: isTextAreaEntryEdited });
  return out;
}

class HuyingPropertiesProvider {
  constructor(propertiesPanel, config, translate) {
    this.config = config || {};
    this.translate = translate;
    propertiesPanel.registerProvider(400, this);     // after the standard provider (1000)
  }

  getGroups(element) {
    return (groups) => {
      const bo = getBusinessObject(element);
      const general = groups.find((g) => g.id === 'general');
      if (general) {
        const replace = (component) => {
          general.entries = general.entries.map((e) => (e.id === 'name' ? { ...e, component } : e));
        };
        if (is(bo, 'bpmn:Lane')) replace(LaneName);
        if (is(bo, 'bpmn:TextAnnotation')) replace(AnnotationText);
        if (is(bo, 'bpmn:Process')) {
          general.entries = general.entries.map((e) => (e.id === 'name'
            ? { ...e, component: ProcessName, process: bo } : e));
        }
      }
      const timerGroup = groups.find((g) => g.id === 'timer');
      if (timerGroup) {
        timerGroup.entries = timerGroup.entries.map((e) => (e.id === 'timerEventDefinitionType'
          ? { ...e, component: TimerKind } : e));
      }
      const extra = [];
      const huying = huyingEntries(element, this.config);
      if (huying.length) extra.push({ id: 'huying', label: '办理设置', entries: huying, component: groups[0].component });
      if (is(bo, 'bpmn:ScriptTask')) {
        extra.push({ id: 'huying-script', label: '脚本', entries: [{ id: 'huying-scriptBody', component: Script,
          isEdited: isTextAreaEntryEdited }], component: groups[0].component });
      }
      const flow = flowEntries(element);
      if (flow.length) extra.push({ id: 'huying-conditions', label: '条件', entries: flow, component: groups[0].component });
      // Huying's groups right below the general one: what an analyst changes most
      const at = general ? groups.indexOf(general) + 1 : 0;
      groups.splice(at, 0, ...extra);
      // the groups' own buttons ("Toggle section", "Section contains edits") in Chinese too
      for (const group of groups) group.translate = this.translate;
      return groups;
    };
  }
}
HuyingPropertiesProvider.$inject = ['propertiesPanel', 'config.huying', 'translate'];

// The panel's typed edits wait DEBOUNCE_MS; the page flushes them before it saves (deploy, download).
function debounceInput() {
  const pending = new Set();
  const make = (fn) => {
    const d = debounce((...args) => {
      pending.delete(d);
      fn(...args);
    }, DEBOUNCE_MS);
    const call = (...args) => {
      pending.add(d);
      d(...args);
    };
    call.flush = () => d.flush();
    call.cancel = () => d.cancel();
    return call;
  };
  make.flushAll = () => {
    for (const d of [...pending]) {
      pending.delete(d);
      d.flush();
    }
  };
  return make;
}

function BatchCommand(commandStack) {
  commandStack.register(BATCH, { preExecute: (context) => context.run() });
}
BatchCommand.$inject = ['commandStack'];

export default {
  __init__: ['huyingPropertiesProvider', 'huyingBatchCommand'],
  huyingPropertiesProvider: ['type', HuyingPropertiesProvider],
  huyingBatchCommand: ['type', BatchCommand],
  huyingEdits: ['type', Edits],
  debounceInput: ['factory', debounceInput],
};
