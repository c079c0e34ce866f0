"""A county in full swing, for the tests that look at every page: months of finished calls (the demo
history) and, today, a call waiting at each step of its way, a supervision order, a flag, an
extension request, a duty sinking and list changes under review, a second list version, a second
process version, an accountability review, files and remarks — so each page a user reaches has
rows to show. Everything is played through the API (or the domain functions) as users would."""
import time
from datetime import datetime
from pathlib import Path

from app import cases, deadlines, demo_history, duty_list
from app.models import User
from app.timefmt import local_zone
from evidence_files import attach, pdf, photo
from helpers import CALL, accept_and_dispatch, raise_call, upload

SINKING = {"duty": "背街小巷占道经营的日常巡查和劝导", "item_code": "ZF-01", "townships": ["T01", "T02"],
           "legal_basis": "《山东省城市管理综合执法条例》", "reason": "乡镇（街道）就近发现、及时处置",
           "funding": "每年每街道工作经费5万元", "staff": 2}
CHANGE = {"change_type": "modify", "item_code": "ZF-01", "reason": "马路市场治理以市场监管为主更有效",
          "basis": "县政府常务会议纪要", "item": {"domain": "综合执法", "name": "马路市场、占道经营的治理",
                                            "primary_org": "D05", "supporting": ["D01"]}}
NEW_ITEM = {"change_type": "add", "reason": "新出台的电动自行车管理规定", "item": {
    "domain": "应急管理", "name": "电动自行车违规停放充电的巡查处置", "primary_org": "D06", "supporting": []}}


def _start(user, process_id, data):
    r = user.post("/cases", json={"process_id": process_id, "data": data})
    assert r.status_code == 201, r.json
    return r.json["id"]


def _call(users, title, township="town_a", **data):
    return raise_call(users, township=township, title=title, **data)


UNITS = {"dept_zf": "综合行政执法局", "dept_zr": "自然资源和规划局"}


def sign_and_handle(users, case_id, departments=("dept_zf", "dept_zr")):
    for d in departments:
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    for d in departments:
        users[d].complete(users[d].task(case_id, "办理反馈"), {"result": f"{UNITS[d]}已联合执法，设立临时便民市场"})


def _second_process_version(app, users):
    """The analyst deploys call_response again with 受理's instructions reworded: two versions to compare."""
    xml = (Path(__file__).resolve().parent.parent / "processes" / "call_response.bpmn").read_text(encoding="utf-8")
    changed = xml.replace('name="受理">', 'name="受理">\n      <bpmn:documentation>核实呼叫事项是否属于县级部门职责，'
                                         '必要时电话联系乡镇。</bpmn:documentation>', 1)
    assert changed != xml
    r = upload(users["analyst"], "call_response.bpmn", changed.encode("utf-8"))
    assert r.status_code == 201, r.get_data(as_text=True)


def fill(app, users, history_months=3):
    """Fill the test's database; returns {what: case id} of the cases the pages are about."""
    with app.app_context():
        demo_history.load_history(months=history_months, seed=7)
    ids = {}
    # a call whose sign-for step goes overdue: the supervisor gets a supervision order
    app.config.update(SUPERVISION={"limits": {"sign": {"normal": "PT1S", "urgent": "PT1S"}}})
    deadlines.invalidate()
    ids["overdue"] = _call(users, "岱宗大街夜间施工噪声扰民", urgency="urgent")
    accept_and_dispatch(users, ids["overdue"], lead="D01", co=("D02",))
    app.config.pop("SUPERVISION")
    deadlines.invalidate()

    ids["accept"] = _call(users, "学校门口流动摊贩占道", township="town_b")
    ids["dispatch"] = _call(users, "村内道路照明设施损坏")
    users["center"].complete(users["center"].task(ids["dispatch"], "受理"), {"accepted": True})
    ids["sign"] = _call(users, CALL["title"])
    accept_and_dispatch(users, ids["sign"])
    ids["supplement"] = _call(users, "河道垃圾堆积和排污口", list_item="HB-01")
    users["center"].complete(users["center"].task(ids["supplement"], "受理"),
                             {"accepted": False, "more_info_requested": True, "reason": "请补充现场照片和具体位置"})
    ids["redispatch"] = _call(users, "泰前路违建侵占绿地", township="town_b", list_item="ZR-01")
    accept_and_dispatch(users, ids["redispatch"], lead="D02", co=())
    users["dept_zr"].complete(users["dept_zr"].task(ids["redispatch"], "签收"),
                              {"returned": True, "reason": "施工噪声不属自然资源职责"})
    ids["handle"] = _call(users, "农贸市场周边占道经营反复")
    accept_and_dispatch(users, ids["handle"])
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(ids["handle"], "签收"), {"returned": False})
    task = users["dept_zf"].task(ids["handle"], "办理反馈")
    r = users["dept_zf"].post(f"/tasks/{task['id']}/extension", json={"days": 3, "reason": "需协调省级部门会商"})
    assert r.status_code == 201, r.json
    ids["review"] = _call(users, "老旧小区违规搭建彩钢棚")
    accept_and_dispatch(users, ids["review"])
    sign_and_handle(users, ids["review"])
    ids["evaluate"] = _call(users, "背街小巷油烟扰民")
    accept_and_dispatch(users, ids["evaluate"])
    sign_and_handle(users, ids["evaluate"])
    users["center"].complete(users["center"].task(ids["evaluate"], "审核办结"), {"approved": True})
    ids["rework"] = _call(users, "主干道两侧店外经营")
    accept_and_dispatch(users, ids["rework"])
    sign_and_handle(users, ids["rework"])
    users["center"].complete(users["center"].task(ids["rework"], "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(ids["rework"], "评价"),
                             {"satisfied": False, "rating": 2, "comment": "摊点清理后又回来了，问题仍未解决"})
    ids["rate"] = _call(users, "小区门口共享单车乱停放")
    accept_and_dispatch(users, ids["rate"], co=())
    sign_and_handle(users, ids["rate"], departments=("dept_zf",))
    users["center"].complete(users["center"].task(ids["rate"], "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(ids["rate"], "评价"),
                             {"satisfied": True, "rating": 5, "comment": "处置及时"})
    # files and remarks on a call
    attach(users["town_a"], ids["sign"], "现场照片.jpg", photo(), note="早市时段拍摄")
    attach(users["dept_zf"], ids["sign"], "情况说明.pdf", pdf())
    assert users["town_a"].post(f"/cases/{ids['sign']}/comments", json={"text": "早上六点到八点最严重"}).status_code == 201

    # the overdue sign-for step fires its supervision order
    time.sleep(1.2)
    with app.app_context():
        cases.fire_due_timers()
    r = users["supervisor"].post("/supervision/flags", json={"org": "T01", "kind": "improper_call",
                                                             "case_id": ids["accept"],
                                                             "evidence": "所呼事项属乡镇主体责任（清单ZF-03）"})
    assert r.status_code == 201, r.json

    # the responsibility list: a duty sinking awaiting the townships, list changes under review, one published
    ids["sinking"] = _start(users["dept_zf"], "duty_sinking", SINKING)
    ids["change"] = _start(users["town_a"], "list_change", CHANGE)
    ids["leader"] = _start(users["dept_zf"], "list_change", dict(CHANGE, reason="市场监管局已设专门执法队伍"))
    users["staffing"].complete(users["staffing"].task(ids["leader"], "编办审核"), {"approved": True})
    for d in ("dept_zf", "dept_sj"):
        users[d].complete(users[d].task(ids["leader"], "提出意见"), {"agree": True})
    users["legal"].complete(users["legal"].task(ids["leader"], "合法性审查"), {"approved": True, "opinion": "合法"})
    ids["published"] = _start(users["dept_zf"], "list_change", NEW_ITEM)
    users["staffing"].complete(users["staffing"].task(ids["published"]), {"approved": True})
    users["dept_yj"].complete(users["dept_yj"].task(ids["published"]), {"agree": True})
    users["legal"].complete(users["legal"].task(ids["published"]), {"approved": True})
    users["leader"].complete(users["leader"].task(ids["published"]), {"approved": True, "opinion": "同意"})
    with app.app_context():
        supervisor = User.query.filter_by(username="supervisor").one()
        duty_list.record_review(supervisor, "ZF-01", "T01", datetime.now(local_zone()).date().isoformat(),
                                "背街小巷占道经营未及时劝导",
                                "exempt", "已按清单履行巡查职责")

    _second_process_version(app, users)
    return ids
