// Huying's own bpmnlint rules (a bpmnlint plugin, packed into modeler.js at build time by lint.js):
// what the deploy would refuse or run otherwise than the analyst expects, said while the analyst
// draws. The server's validation stays the authority; these rules only tell it earlier. Each
// message is Chinese and says what to change.
import { is, isAny } from 'bpmnlint-utils';

function lanesOf(container) {
  const out = [];
  const walk = (laneSets) => {
    for (const set of laneSets || []) {
      for (const lane of set.lanes || []) {
        out.push(lane);
        if (lane.childLaneSet) walk([lane.childLaneSet]);
      }
    }
  };
  walk(container.laneSets || (container.laneSet ? [container.laneSet] : []));
  return out;
}

function processOf(node) {
  let p = node.$parent;
  while (p && !is(p, 'bpmn:Process')) p = p.$parent;
  return p;
}

// the innermost lane holding the node, or the lane of the sub-process around it
function laneOf(node) {
  const proc = processOf(node);
  if (!proc) return null;
  const lanes = lanesOf(proc);
  for (let n = node; n && n !== proc; n = n.$parent) {
    const holding = lanes.filter((l) => (l.flowNodeRef || []).includes(n));
    if (holding.length) return holding.find((l) => !l.childLaneSet) || holding[0];
  }
  return null;
}

export function userTaskLane(config) {
  const known = new Set((config && config.roles) || []);
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:UserTask') && !is(node, 'bpmn:ManualTask')) return;
      const lane = laneOf(node);
      const proc = processOf(node);
      // a process drawn without any lane: its tasks are the starter's own (as in SpiffArena), said at deploy
      if (!lane && proc && !lanesOf(proc).length) return;
      if (!lane) {
        reporter.report(node.id, '任务不在任何泳道中：请把它拖进办理角色的泳道（如 乡镇、响应中心、县级部门）');
      } else if (known.size && !known.has((lane.name || '').trim())) {
        reporter.report(node.id, `泳道“${lane.name || lane.id}”不是已知角色：请把泳道名称改为角色名称，如 乡镇、响应中心、县级部门`);
      }
    },
  };
}

export function gatewayConditions() {
  return {
    check(node, reporter) {
      if (!isAny(node, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway'])) return;
      const outgoing = node.outgoing || [];
      if (outgoing.length < 2) return;
      for (const flow of outgoing) {
        if (flow !== node.default && !(flow.conditionExpression && (flow.conditionExpression.body || '').trim())) {
          reporter.report(flow.id, '网关分出的这条顺序流没有条件：请写条件表达式，或把它设为网关的默认流向');
        }
      }
    },
  };
}

export function gatewayDefault() {
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:ExclusiveGateway') || (node.outgoing || []).length < 2 || node.default) return;
      reporter.report(node.id, '排他网关没有默认流向：条件都不成立时案件会停住；请把一条顺序流设为默认流向');
    },
  };
}

const RESERVED = new Set(['Start', 'End']);

export function reservedId() {
  return {
    check(node, reporter) {
      if (node.id && RESERVED.has(node.id) && is(node, 'bpmn:FlowElement')) {
        reporter.report(node.id, `标识“${node.id}”是流程引擎保留的：请改为其他标识（如 start_call）`);
      }
    },
  };
}

const ISO = /^R?\d*\/?P(?:\d+[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?$|^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function timerQuoted() {
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:TimerEventDefinition')) return;
      for (const key of ['timeDate', 'timeDuration', 'timeCycle']) {
        const body = node[key] && (node[key].body || '').trim();
        const event = node.$parent;
        if (!body) continue;
        if (ISO.test(body) && body !== 'P' && body !== 'PT') {
          reporter.report(event.id, `定时值 ${body} 没有加引号：定时值是表达式，请写成 "${body}"`);
        }
      }
      if (!['timeDate', 'timeDuration', 'timeCycle'].some((k) => node[k] && (node[k].body || '').trim())) {
        reporter.report(node.$parent.id, '定时事件没有定时值：请填写时间点、时长或周期');
      }
    },
  };
}

export function endStatusKnown(config) {
  const known = new Set((config && config.caseStatus) || []);
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:EndEvent') || !known.size) return;
      const values = (node.extensionElements && node.extensionElements.values) || [];
      const props = values.find((v) => is(v, 'spiffworkflow:Properties'));
      const status = props && (props.properties || []).find((p) => p.name === 'caseStatus');
      if (status && status.value && !known.has(status.value)) {
        reporter.report(node.id, `案件结果“${status.value}”不是已知的状态：请在属性中重新选择`);
      }
    },
  };
}

export const rules = {
  'user-task-lane': userTaskLane,
  'gateway-conditions': gatewayConditions,
  'gateway-default': gatewayDefault,
  'reserved-id': reservedId,
  'timer-quoted': timerQuoted,
  'end-status-known': endStatusKnown,
};
