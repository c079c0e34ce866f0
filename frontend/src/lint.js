// The bpmnlint configuration of the modeller, packed at build time (esbuild bundles the rules): a
// few of bpmnlint's own rules, their messages in Chinese (translate-zh.js), and Huying's plugin
// (bpmnlint-plugin-huying/). linterConfig(options) gives the rules the page's roles and statuses.
import StaticResolver from 'bpmnlint/lib/resolver/static-resolver';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import fakeJoin from 'bpmnlint/rules/fake-join';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import { rules as huying } from './bpmnlint-plugin-huying/index';

const BUILT_IN = {
  'start-event-required': startEventRequired,
  'end-event-required': endEventRequired,
  'no-disconnected': noDisconnected,
  'no-duplicate-sequence-flows': noDuplicateSequenceFlows,
  'fake-join': fakeJoin,
  'no-implicit-split': noImplicitSplit,
  'single-blank-start-event': singleBlankStartEvent,
};

const cache = {};
for (const [name, rule] of Object.entries(BUILT_IN)) cache[`rule:bpmnlint/${name}`] = rule;
for (const [name, rule] of Object.entries(huying)) cache[`rule:bpmnlint-plugin-huying/${name}`] = rule;

export const RULE_NAMES = {
  'start-event-required': '开始事件', 'end-event-required': '结束事件', 'no-disconnected': '连线',
  'no-duplicate-sequence-flows': '重复连线', 'fake-join': '汇合', 'no-implicit-split': '分支',
  'single-blank-start-event': '开始事件',
  'huying/user-task-lane': '泳道', 'huying/gateway-conditions': '条件', 'huying/gateway-default': '默认流向',
  'huying/reserved-id': '标识', 'huying/timer-quoted': '定时', 'huying/end-status-known': '案件结果',
};

export function linterConfig(options) {
  const roles = (options.roles || []).flatMap(([code, name]) => [code, name]);
  const caseStatus = (options.caseStatus || []).map(([code]) => code);
  return {
    resolver: new StaticResolver(cache),
    config: {
      rules: {
        'start-event-required': 'error',
        'end-event-required': 'error',
        'no-disconnected': 'error',
        'no-duplicate-sequence-flows': 'error',
        'fake-join': 'warn',
        'no-implicit-split': 'warn',
        'single-blank-start-event': 'error',
        'huying/user-task-lane': ['error', { roles }],
        'huying/gateway-conditions': 'error',
        'huying/gateway-default': 'warn',
        'huying/reserved-id': 'error',
        'huying/timer-quoted': 'warn',
        'huying/end-status-known': ['error', { caseStatus }],
      },
    },
  };
}
