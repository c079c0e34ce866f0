"""New processes from the browser: the blank drawing an analyst starts from (a pool with the lanes
of Huying's roles and a start event in the starter's lane), and deploying a process that does not
exist yet, from the modeller or from an uploaded file, through the same deploy as the API's upload.

The process id is asked first and checked here once (the pattern of processes._PROCESS_ID, and no
deployed process of that id), so that an upload under an existing id never silently becomes a new
version of an unrelated process."""
from xml.sax.saxutils import quoteattr

from . import policy, processes
from .engine import DefinitionError
from .errors import Conflict, Invalid
from .roles import ROLES

# the lanes offered first: the roles a case goes through (the others may be added)
DEFAULT_LANES = ("township", "center", "department", "supervisor")
LANE_ROLES = tuple(code for code in ROLES if code not in ("analyst", "admin"))
# files a deploy from the browser may carry beside its .bpmn (forms, decision tables, called processes)
CARRIED_SUFFIXES = (".bpmn", ".json", ".form", ".dmn")
MAX_CARRIED_FILES = processes.MAX_UPLOAD_FILES

POOL_X, POOL_Y, POOL_WIDTH, LANE_HEIGHT, LANE_HEADER = 160, 80, 900, 160, 30


def id_problems(process_id, name=None):
    """[{field, message}] of a new process's id and name (empty when they may be used)."""
    out = []
    pid = (process_id or "").strip() if isinstance(process_id, str) else ""
    if not pid:
        out.append({"field": "process_id", "message": "请填写流程标识"})
    elif not processes._PROCESS_ID.fullmatch(pid):
        out.append({"field": "process_id", "message": "流程标识只能用英文字母、数字、下划线、点和连字符，以字母或下划线开头，"
                                                      "不超过 100 个字符（如 road_repair）"})
    elif processes.latest_version(pid) is not None:
        out.append({"field": "process_id", "message": f"已有流程标识为 {pid} 的流程：请换一个标识，"
                                                      "或在该流程的“建模”页部署新版本"})
    if name is not None and not (isinstance(name, str) and name.strip()):
        out.append({"field": "name", "message": "请填写流程名称"})
    elif isinstance(name, str) and len(name.strip()) > 200:
        out.append({"field": "name", "message": "流程名称不超过 200 个字"})
    return out


def blank_bpmn(user, process_id, name, lanes, starter):
    """The BPMN XML an analyst starts a new process from; raises Invalid with the fields' problems."""
    policy.require(user, "process.deploy")
    problems = id_problems(process_id, name)
    lanes = [code for code in dict.fromkeys(lanes or ()) if isinstance(code, str)]
    unknown = [code for code in lanes if code not in LANE_ROLES]
    if unknown:
        problems.append({"field": "lanes", "message": f"未知的泳道角色：{'、'.join(unknown)}"})
    elif not lanes:
        problems.append({"field": "lanes", "message": "请至少选择一个泳道（角色）"})
    if starter not in lanes and not unknown and lanes:
        problems.append({"field": "starter", "message": "发起案件的角色应是所选泳道之一"})
    if problems:
        raise Invalid("新流程的信息有误", problems)
    return _drawing(process_id.strip(), name.strip(), lanes, starter)


def _drawing(pid, name, lanes, starter):
    q = quoteattr
    row = lanes.index(starter)
    start_x, start_y = POOL_X + LANE_HEADER + 80, POOL_Y + row * LANE_HEIGHT + LANE_HEIGHT // 2
    end_x = start_x + 400
    lane_xml = "\n".join(
        f'      <bpmn:lane id="lane_{code}" name={q(ROLES[code])}>'
        + (f"\n        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>\n      "
           if code == starter else "") + "</bpmn:lane>" for code in lanes)
    lane_di = "\n".join(
        f'      <bpmndi:BPMNShape id="lane_{code}_di" bpmnElement="lane_{code}" isHorizontal="true">\n'
        f'        <dc:Bounds x="{POOL_X + LANE_HEADER}" y="{POOL_Y + i * LANE_HEIGHT}" '
        f'width="{POOL_WIDTH - LANE_HEADER}" height="{LANE_HEIGHT}" />\n      </bpmndi:BPMNShape>'
        for i, code in enumerate(lanes))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="definitions_{pid}" targetNamespace="http://huying.example/bpmn">
  <bpmn:collaboration id="collab_{pid}">
    <bpmn:participant id="participant_{pid}" name={q(name)} processRef="{pid}" />
  </bpmn:collaboration>
  <bpmn:process id="{pid}" name={q(name)} isExecutable="true">
    <bpmn:laneSet id="laneset_{pid}">
{lane_xml}
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="发起">
      <bpmn:outgoing>flow_start_end</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:endEvent id="end" name="办结">
      <bpmn:incoming>flow_start_end</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_start_end" sourceRef="start" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_{pid}">
    <bpmndi:BPMNPlane id="plane_{pid}" bpmnElement="collab_{pid}">
      <bpmndi:BPMNShape id="participant_{pid}_di" bpmnElement="participant_{pid}" isHorizontal="true">
        <dc:Bounds x="{POOL_X}" y="{POOL_Y}" width="{POOL_WIDTH}" height="{LANE_HEIGHT * len(lanes)}" />
      </bpmndi:BPMNShape>
{lane_di}
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="{start_x - 18}" y="{start_y - 18}" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="{start_x - 14}" y="{start_y + 25}" width="28" height="14" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="{end_x - 18}" y="{start_y - 18}" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="{end_x - 14}" y="{start_y + 25}" width="28" height="14" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_start_end_di" bpmnElement="flow_start_end">
        <di:waypoint x="{start_x + 18}" y="{start_y}" />
        <di:waypoint x="{end_x - 18}" y="{start_y}" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def carried_files(files):
    """{name: bytes} of the files a browser deploy carries ({name: text}), only the kinds a deploy reads."""
    if files is None:
        return {}
    if not isinstance(files, dict):
        raise DefinitionError([{"message": "随同部署的文件格式有误（应为 {文件名: 内容}）"}])
    if len(files) > MAX_CARRIED_FILES:
        raise DefinitionError([{"message": f"随同部署的文件过多（上限 {MAX_CARRIED_FILES} 个）"}])
    out = {}
    for name, text in files.items():
        base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
        if not base.lower().endswith(CARRIED_SUFFIXES):
            continue
        if not isinstance(text, str):
            raise DefinitionError([{"message": f"文件 {base[:80]} 的内容应为文本"}])
        out[base] = text.encode("utf-8")
    return out


def deploy_new(user, xml, files=None):
    """Deploy the modeller's drawing of a process that does not exist yet, with the files opened with
    it (forms, decision tables...). Returns (ProcessVersion, created); raises DefinitionError with
    element-level errors, Conflict when the process id is taken."""
    policy.require(user, "process.deploy")
    if not isinstance(xml, str) or not xml.strip():
        raise DefinitionError([{"message": "请求中没有流程图（应为 JSON {\"bpmn\": \"<XML>\"}）"}])
    data = xml.encode("utf-8")
    process_id = processes.process_id_of(data)
    if process_id is not None:
        taken = [p for p in id_problems(process_id) if p["field"] == "process_id"]
        if taken and processes.latest_version(process_id) is not None:
            raise Conflict(taken[0]["message"], [{"element_id": process_id, "message": taken[0]["message"]}])
    carried = carried_files(files)
    main = f"{process_id or 'model'}.bpmn"
    carried.pop(main, None)
    return processes.deploy_files({main: data, **carried}, user.username)
