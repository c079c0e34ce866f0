// bpmn-js in Chinese: a `translate` service replacing diagram-js's default (the palette, the context
// pad, the replace and align menus, search, error tooltips), for the modeller and the viewer alike:
//   new Modeler({ additionalModules: [translateZh] })
// Plus `chineseChrome(container)`: the few words diagram-js writes without asking `translate` (the
// popup menu's "N results found", its "Back" and "Search" labels), rewritten as they appear.
// The bpmn.io watermark (a logo linking to bpmn.io, title "Powered by bpmn.io") is left exactly as
// bpmn-js draws it: its licence forbids changing it.

export const ZH = {
  // palette
  'Activate hand tool': '抓手工具：拖动画布',
  'Activate lasso tool': '套索工具：框选多个元素',
  'Activate create/remove space tool': '空间工具：插入或删除空白',
  'Activate global connect tool': '连线工具：连接任意两个元素',
  'Create start event': '新建开始事件',
  'Create intermediate/boundary event': '新建中间事件或边界事件',
  'Create end event': '新建结束事件',
  'Create gateway': '新建网关',
  'Create task': '新建任务',
  'Create data object reference': '新建数据对象',
  'Create data store reference': '新建数据存储',
  'Create expanded sub-process': '新建展开的子流程',
  'Create pool/participant': '新建池（参与者）',
  'Create group': '新建分组',
  // context pad
  'Append task': '追加任务',
  'Append end event': '追加结束事件',
  'Append gateway': '追加网关',
  'Append intermediate/boundary event': '追加中间事件或边界事件',
  'Append receive task': '追加接收任务',
  'Append message intermediate catch event': '追加消息中间捕获事件',
  'Append timer intermediate catch event': '追加定时中间捕获事件',
  'Append conditional intermediate catch event': '追加条件中间捕获事件',
  'Append signal intermediate catch event': '追加信号中间捕获事件',
  'Append compensation activity': '追加补偿活动',
  'Add text annotation': '添加文字注释',
  'Connect to other element': '连线到其他元素',
  'Connect using association': '用关联连线',
  'Connect using data input association': '用数据输入关联连线',
  'Change element': '更改元素类型',
  'Delete': '删除',
  'Add lane above': '在上方添加泳道',
  'Add lane below': '在下方添加泳道',
  'Divide into two lanes': '拆分为两条泳道',
  'Divide into three lanes': '拆分为三条泳道',
  'Align elements': '对齐元素',
  'Align elements left': '左对齐',
  'Align elements center': '水平居中对齐',
  'Align elements right': '右对齐',
  'Align elements top': '顶端对齐',
  'Align elements middle': '垂直居中对齐',
  'Align elements bottom': '底端对齐',
  'Distribute elements horizontally': '水平等距分布',
  'Distribute elements vertically': '垂直等距分布',
  // replace menu: its header and its entries
  'Parallel multi-instance': '并行多实例',
  'Sequential multi-instance': '串行多实例',
  'Loop': '循环',
  'Collection': '集合',
  'Participant multiplicity': '多个参与者',
  'Toggle non-interrupting': '切换为非中断',
  'Task': '任务',
  'User task': '用户任务',
  'Service task': '服务任务',
  'Send task': '发送任务',
  'Receive task': '接收任务',
  'Manual task': '人工任务',
  'Business rule task': '业务规则任务',
  'Script task': '脚本任务',
  'Call activity': '调用活动',
  'Sub-process': '子流程',
  'Sub-process (collapsed)': '子流程（折叠）',
  'Sub-process (expanded)': '子流程（展开）',
  'Ad-hoc sub-process': '自由子流程',
  'Ad-hoc sub-process (collapsed)': '自由子流程（折叠）',
  'Ad-hoc sub-process (expanded)': '自由子流程（展开）',
  'Event sub-process': '事件子流程',
  'Transaction': '事务',
  'Start event': '开始事件',
  'End event': '结束事件',
  'Intermediate throw event': '中间抛出事件',
  'Boundary event': '边界事件',
  'Message start event': '消息开始事件',
  'Timer start event': '定时开始事件',
  'Conditional start event': '条件开始事件',
  'Signal start event': '信号开始事件',
  'Error start event': '错误开始事件',
  'Escalation start event': '升级开始事件',
  'Compensation start event': '补偿开始事件',
  'Message start event (non-interrupting)': '消息开始事件（非中断）',
  'Timer start event (non-interrupting)': '定时开始事件（非中断）',
  'Conditional start event (non-interrupting)': '条件开始事件（非中断）',
  'Signal start event (non-interrupting)': '信号开始事件（非中断）',
  'Escalation start event (non-interrupting)': '升级开始事件（非中断）',
  'Message intermediate catch event': '消息中间捕获事件',
  'Message intermediate throw event': '消息中间抛出事件',
  'Timer intermediate catch event': '定时中间捕获事件',
  'Escalation intermediate throw event': '升级中间抛出事件',
  'Conditional intermediate catch event': '条件中间捕获事件',
  'Link intermediate catch event': '链接中间捕获事件',
  'Link intermediate throw event': '链接中间抛出事件',
  'Compensation intermediate throw event': '补偿中间抛出事件',
  'Signal intermediate catch event': '信号中间捕获事件',
  'Signal intermediate throw event': '信号中间抛出事件',
  'Message end event': '消息结束事件',
  'Escalation end event': '升级结束事件',
  'Error end event': '错误结束事件',
  'Cancel end event': '取消结束事件',
  'Compensation end event': '补偿结束事件',
  'Signal end event': '信号结束事件',
  'Terminate end event': '终止结束事件',
  'Message boundary event': '消息边界事件',
  'Timer boundary event': '定时边界事件',
  'Escalation boundary event': '升级边界事件',
  'Conditional boundary event': '条件边界事件',
  'Error boundary event': '错误边界事件',
  'Cancel boundary event': '取消边界事件',
  'Signal boundary event': '信号边界事件',
  'Compensation boundary event': '补偿边界事件',
  'Message boundary event (non-interrupting)': '消息边界事件（非中断）',
  'Timer boundary event (non-interrupting)': '定时边界事件（非中断）',
  'Escalation boundary event (non-interrupting)': '升级边界事件（非中断）',
  'Conditional boundary event (non-interrupting)': '条件边界事件（非中断）',
  'Signal boundary event (non-interrupting)': '信号边界事件（非中断）',
  'Exclusive gateway': '排他网关',
  'Parallel gateway': '并行网关',
  'Inclusive gateway': '包容网关',
  'Complex gateway': '复杂网关',
  'Event-based gateway': '事件网关',
  'Event based instantiating Gateway': '实例化事件网关',
  'Parallel Event based instantiating Gateway': '并行实例化事件网关',
  'Sequence flow': '顺序流',
  'Default flow': '默认流',
  'Conditional flow': '条件流',
  'Expanded pool/participant': '展开的池（参与者）',
  'Empty pool/participant': '空池（参与者）',
  'Data object reference': '数据对象',
  'Data store reference': '数据存储',
  // bpmn-js-properties-panel (its standard BPMN groups) and @bpmn-io/properties-panel's own controls
  'General': '常规',
  'Name': '名称',
  'ID': '标识',
  'Participant ID': '参与者标识',
  'Participant Name': '参与者名称',
  'Process ID': '流程标识',
  'Process name': '流程名称',
  'Executable': '可执行',
  'ID must be a valid QName.': '标识只能用英文字母、数字、下划线、点和连字符，并以字母或下划线开头。',
  'ID must be unique.': '标识已被其他元素使用，请换一个。',
  'ID must not be empty.': '标识不能为空。',
  'ID must not contain prefix.': '标识中不能有冒号前缀。',
  'ID must not contain spaces.': '标识中不能有空格。',
  'Documentation': '说明',
  'Element documentation': '元素说明',
  'Process documentation': '流程说明',
  'Compensation': '补偿',
  'Wait for completion': '等待补偿完成',
  'Activity reference': '补偿的活动',
  'Error': '错误',
  'Global error reference': '引用的错误',
  'Code': '代码',
  'Escalation': '升级',
  'Global escalation reference': '引用的升级',
  'Link': '链接',
  'Message': '消息',
  'Global message reference': '引用的消息',
  'Signal': '信号',
  'Global signal reference': '引用的信号',
  'Create new ...': '新建…',
  '<none>': '（无）',
  'Multi-instance': '多实例',
  'Loop cardinality': '循环次数',
  'Completion condition': '完成条件',
  'Completion': '完成',
  'Cancel remaining instances': '取消其余实例',
  'Timer': '定时',
  'Type': '定时类型',
  'Value': '定时表达式',
  'Date': '时间点',
  'Duration': '时长',
  'Cycle': '周期',
  'A specific point in time defined as ISO 8601 combined date and time representation.':
    '按 ISO 8601 书写的时间点（带引号），或返回时间点的表达式（如按紧急程度计算时限的函数）。',
  'A time duration defined as ISO 8601 durations format.': '按 ISO 8601 书写的时长（带引号），或返回时长的表达式。',
  'A cycle defined as ISO 8601 repeating intervals format.': '按 ISO 8601 书写的重复周期（带引号）。',
  'UTC time': '协调世界时',
  'UTC plus 2 hours zone offset': '东二区时间',
  '15 seconds': '15 秒',
  '1 hour and 30 minutes': '1 小时 30 分钟',
  '14 days': '14 天',
  'every 10 seconds, up to 5 times': '每 10 秒一次，共 5 次',
  'every day, infinitely': '每天一次，不限次数',
  'Documentation: Timer events': '参考：定时事件的写法',
  'Select an element to edit its properties.': '选中一个元素以修改它的属性。',
  'Multiple elements are selected. Select a single element to edit its properties.': '选中了多个元素：只选一个才能修改属性。',
  '<empty>': '（空）',
  'Create new list item': '新增一项',
  'Create': '新增',
  'Delete item': '删除这一项',
  'Toggle list item': '展开或收起这一项',
  'Toggle section': '展开或收起',
  'Section contains edits': '这一组有填写的内容',
  'Section contains an error': '这一组有错误',
  'Open documentation': '打开说明',
  'Open pop-up editor': '在弹出窗口中编辑',
  'Opened in editor': '已在编辑窗口中打开',
  'JSON contains errors': 'JSON 有错误',
  'FEEL expression is mandatory': '必须填写表达式',
  'Unparsable FEEL expression.': '表达式无法解析。',
  // search, drill-down, modelling rules
  'Search in diagram': '在流程图中搜索',
  'Open {element}': '打开 {element}',
  'flow elements must be children of pools/participants': '流程元素必须放在池（参与者）中',
  'Data object must be placed within a pool/participant.': '数据对象必须放在池（参与者）中。',
  // bpmn-js-bpmnlint's button and overlays, and the messages of the bpmnlint rules the modeller uses (lint.js)
  '{errors} Errors, {warnings} Warnings': '{errors} 个错误，{warnings} 个警告',
  'No Issues': '没有发现问题',
  'Toggle linting overlays': '显示或隐藏检查结果',
  'Issues for child elements': '子元素的问题',
  'Process is missing start event': '流程没有开始事件：请从工具栏拖入一个开始事件',
  'Sub process is missing start event': '子流程没有开始事件：请在子流程中放一个开始事件',
  'Process is missing end event': '流程没有结束事件：请在流程的最后放一个结束事件',
  'Sub process is missing end event': '子流程没有结束事件：请在子流程的最后放一个结束事件',
  'Element is not connected': '元素没有连线：请把它连入流程，或删除它',
  'Duplicate incoming sequence flows': '有重复的流入顺序流：请删除多余的一条',
  'Duplicate outgoing sequence flows': '有重复的流出顺序流：请删除多余的一条',
  'SequenceFlow is a duplicate': '这条顺序流与另一条重复：请删除它',
  'Incoming flows do not join': '多条顺序流直接流入：请先用网关汇合',
  'Flow splits implicitly': '从这里直接分出多条顺序流：请改用网关分支，并写明条件',
  'Process has multiple blank start events': '流程有多个普通开始事件：只保留一个',
  'Sub process has multiple blank start events': '子流程有多个普通开始事件：只保留一个',
};

function translate(template, replacements) {
  const values = replacements || {};
  const text = Object.prototype.hasOwnProperty.call(ZH, template) ? ZH[template] : template;
  return text.replace(/{([^}]+)}/g, (_, key) => (values[key] !== undefined ? values[key] : `{${key}}`));
}

export default { translate: ['value', translate] };

// --- what diagram-js writes without `translate` ---------------------------------------------------
const LABELS = { Back: '返回', Search: '搜索', Results: '结果', 'Open entry documentation': '打开说明文档' };
const FOUND = /^\s*(\d+)\s+results?\s+found\s*$/;

function rewrite(root) {
  // bpmn-js-bpmnlint's overlays name the rule (an English code) and the element's id: ids are kept, marked as such
  for (const el of root.querySelectorAll ? root.querySelectorAll('.bjsl-overlay .rule, .bjsl-id-hint') : []) {
    if (el.getAttribute('translate') !== 'no') el.setAttribute('translate', 'no');
  }
  for (const el of root.querySelectorAll ? root.querySelectorAll('.djs-popup-search-count') : []) {
    const m = FOUND.exec(el.textContent);
    if (m) el.textContent = `找到 ${m[1]} 项`;
  }
  for (const attr of ['title', 'aria-label']) {
    for (const el of root.querySelectorAll ? root.querySelectorAll(`.djs-popup [${attr}]`) : []) {
      const value = el.getAttribute(attr);
      if (Object.prototype.hasOwnProperty.call(LABELS, value)) el.setAttribute(attr, LABELS[value]);
    }
    // the properties panel's entries that take no `translate` (a text area's pop-up button)
    for (const el of root.querySelectorAll ? root.querySelectorAll(`.bio-properties-panel [${attr}]`) : []) {
      const value = el.getAttribute(attr);
      if (Object.prototype.hasOwnProperty.call(ZH, value)) el.setAttribute(attr, ZH[value]);
    }
  }
  for (const el of root.querySelectorAll ? root.querySelectorAll('.bio-properties-panel-textarea__open-popup-placeholder, .bio-properties-panel-feel-editor__open-popup-placeholder') : []) {
    if (Object.prototype.hasOwnProperty.call(ZH, el.textContent)) el.textContent = ZH[el.textContent];
  }
}

// The popup menu is drawn into document.body (or the container): watch both while the page lives.
export function chineseChrome(container) {
  const roots = [container, document.body].filter(Boolean);
  let queued = false;
  const observer = new MutationObserver(() => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      roots.forEach(rewrite);
    });
  });
  for (const root of roots) {
    observer.observe(root, { childList: true, subtree: true, characterData: true, attributes: true,
      attributeFilter: ['title', 'aria-label'] });
  }
  return observer;
}
