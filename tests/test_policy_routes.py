"""Every route of the app answers every demo role, and anonymous callers, as app/policy.py says.

Generated from the route table (app.url_map): each endpoint and method is tried as each demo
role, on cases and tasks of the caller's own org and of others, and the answer is held against
`policy.refusal` for the route's rule (policy.ROUTES): allowed is never 401, 403 or 404 and
leaves no refusal on record; refused is on record and answered 403 or 404 as the policy says
(the forms of a task page may instead send the user back to it with the reason); anonymous
callers are sent to the login page (browser) or get 401 (API); nothing answers 500. A route
without a rule fails the suite.

The cases are built once for the module; each role's test reuses one API token and one browser
session. A route that changes the caller's own sign-in is tried on a sign-in of its own
(FRESH_SIGN_IN). A route whose request needs a body or a query gets one from SAMPLES, so that the
policy, not the input's validation, decides a refusal."""
import io
import shutil
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import func, select

from app import policy, processes
from app.extensions import db
from app.models import Attachment, AuditEvent, Case, ExternalTask, Notification, OutboxMessage, Task, User
from conftest import BACKENDS, ApiUser, _fill, _make_app, _truncate_all
from evidence_files import attach, photo
from helpers import accept_and_dispatch, csrf_token, raise_call, upload, web_login

# one demo user per role (app/demo/org.json)
DEMO_USERS = {"township": "town_a", "center": "center", "department": "dept_zf", "supervisor": "supervisor",
              "staffing_office": "staffing", "legal": "legal", "leader": "leader", "analyst": "analyst",
              "admin": "admin", "integration": "worker", "grid_worker": "grid_a", "platform": "platform_a",
              "stationed": "stationed_a"}
ANONYMOUS = "anonymous"
SMS = Path(__file__).resolve().parent / "bpmn" / "events" / "camunda7_sms_external_task.bpmn"
FRESH_SIGN_IN = {"web.login", "web.logout", "api.logout"}
ANSWERED_ON_THE_TASK_PAGE = {"web.task_page", "web.claim", "web.unclaim", "web.request_extension"}
GONE_AFTER_THE_FIRST = {"api.remove_calendar_day"}     # the browser's 删除 removed the day before
SKIPPED_METHODS = {"HEAD", "OPTIONS"}

SINKING = {"duty": "河道保洁的日常巡查", "item_code": "HB-01", "townships": ["T02"], "legal_basis": "《水污染防治法》",
           "reason": "乡镇（街道）就近发现、及时处置", "funding": "每年每街道工作经费5万元", "staff": 1}
WRONG_ANSWERS = {"returned": 7, "accepted": 7, "approved": 7, "consent": 7}    # wrong in every form's field
FLAG = {"org": "T01", "kind": "improper_call", "evidence": "所呼事项属乡镇主体责任"}
REVIEW = {"item_code": "ZF-01", "township": "T01", "incident_date": "2026-01-05"}
VERSIONS = {"from": 1, "to": 2}
ROBOT = {"platform": "wecom", "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=policy-test"}
SAMPLES = {
    ("api.token", "POST"): {"json": {"username": "town_a", "password": "demo"}},
    ("web.login", "POST"): {"data": {"username": "town_a", "password": "demo"}},
    ("api.create_case", "POST"): {"json": {"process_id": "call_response", "data": {}},
                                  "target": {"process": "call_response"}},
    ("web.new_case", "POST"): {"data": {}},
    ("api.complete", "POST"): {"json": {"data": WRONG_ANSWERS}},
    ("web.task_page", "POST"): {"data": {k: str(v) for k, v in WRONG_ANSWERS.items()}},
    ("api.request_extension", "POST"): {"json": {"days": 1, "reason": "需协调相关单位"}},
    ("web.request_extension", "POST"): {"data": {"days": "1", "reason": "需协调相关单位"}},
    ("api.decide_extension", "POST"): {"json": {"approved": False, "opinion": "不同意"}},
    ("api.comments", "POST"): {"json": {"text": "请尽快到场"}},
    ("web.add_comment", "POST"): {"data": {"text": "请尽快到场"}},
    ("api.urge_case", "POST"): {"json": {"text": "摊点仍在，请尽快处置"}},
    ("web.urge_case", "POST"): {"data": {"text": "摊点仍在，请尽快处置"}},
    ("api.withdraw_case", "POST"): {"json": {"reason": "已自行解决"}},
    ("web.withdraw_case", "POST"): {"data": {"reason": "已自行解决"}},
    ("api.redispatch_case", "POST"): {"json": {"lead_department": "D03", "co_departments": [], "reason": "改派"}},
    ("web.redispatch_case", "POST"): {"data": {"lead_department": "D03", "reason": "改派"}},
    ("api.merge_case", "POST"): {"json": {"into": 1}},
    ("web.merge_case", "POST"): {"data": {"into": "1"}},
    ("api.dismiss_duplicate", "POST"): {"json": {"other": 1}},
    ("web.dismiss_duplicate", "POST"): {"data": {"other": "1"}},
    ("supervision.decide", "POST"): {"data": {"decision": "refuse"}},
    ("api.raise_flag", "POST"): {"json": FLAG},
    ("supervision.flag_page", "POST"): {"data": FLAG},
    ("api.set_calendar_day", "PUT"): {"json": {"kind": "holiday", "name": "测试假日"}},
    ("supervision.calendar", "POST"): {"data": {"day": "2030-01-02", "kind": "holiday", "name": "测试假日"}},
    ("api.put_settings", "PUT"): {"json": {}},
    ("api.save_report_weights", "PUT"): {"json": {}},
    ("api.accountability_report", "GET"): {"query": REVIEW},
    ("api.record_review", "POST"): {"json": dict(REVIEW, description="", decision="exempt", reason="")},
    ("duty_list.accountability", "POST"): {"data": dict(REVIEW, description="", decision="exempt", reason="")},
    ("api.audit_export", "GET"): {"query": {"format": "csv"}},
    ("audit.export", "GET"): {"query": {"format": "csv"}},
    ("api.process_diff", "GET"): {"query": VERSIONS},
    ("modeller.diff", "GET"): {"query": VERSIONS},
    ("api.migration_preview", "GET"): {"query": VERSIONS},
    ("modeller.migration", "GET"): {"query": VERSIONS},
    ("modeller.migration", "POST"): {"query": VERSIONS, "data": {}},
    ("api.migrate", "POST"): {"json": dict(VERSIONS, case_ids=[])},
    ("api.upload_process", "POST"): {"file": ("x.bpmn", b"<x/>")},
    ("api.attachments", "POST"): {"file": ("现场.png", photo(size=(40, 30), fmt="PNG"))},
    ("modeller.deploy", "POST"): {"json": {"bpmn": "<x/>"}},
    ("api.list_diff", "GET"): {"query": {"from": 1}},
    ("duty_list.diff", "GET"): {"query": {"from": 1, "to": 1}},
    ("api.put_notification_preferences", "PUT"): {"json": {}},
    ("notifications.preferences", "POST"): {"data": {"email": "", "task_ready.app": "on"}},
    ("api.put_unit_robot", "PUT"): {"json": ROBOT},
    ("notifications.admin", "POST"): {"data": dict(ROBOT, org="D01", kinds="task_ready", enabled="on")},
    ("admin.units", "POST"): {"data": {"kind": "township", "name": "山口镇", "code": "T09"}},
    ("admin.rename_unit", "POST"): {"data": {"name": "综合行政执法局"}},
    ("account.password", "POST"): {"data": {"current": "wrong", "password": "Taishan#2027", "confirm": "Taishan#2027"}},
    # a message anyone may send, refused for its data (nothing it names could be delivered otherwise)
    ("api.send_message", "POST"): {"json": {"name": "policy_test", "data": {"initiator": "admin"}}},
    ("api.fetch_and_lock", "POST"): {"json": {"worker_id": "policy-test",
                                              "topics": [{"name": "none", "lock_seconds": 1}]}},
    ("api.complete_external_task", "POST"): {"json": {"worker_id": "policy-test", "variables": {}}},   # not locked: 409
    ("api.fail_external_task", "POST"): {"json": {"worker_id": "policy-test", "message": "网关超时", "retries": 1}},
}


class Users(dict):
    def __init__(self, client):
        super().__init__()
        self.client = client

    def __missing__(self, name):
        self[name] = ApiUser(self.client, name)
        return self[name]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    """The app with three open cases and a pending extension: a call of T01 dispatched to D01 and
    D02 (at 签收), a call of T02 at the centre's 受理, a duty sinking of D03 at 编办审核; and a
    second version of call_response and of duty_sinking."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("policy") / "huying.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        app = _make_app(f"sqlite:///{path}")
    else:
        app = _make_app(request.getfixturevalue("pg_migrated"))
        _truncate_all(app)
        _fill(app)
    users = Users(app.test_client())
    assert users["admin"].put("/units/D01/robot", json=ROBOT).status_code == 200     # an outbox message at dispatch
    own_call = raise_call(users)
    accept_and_dispatch(users, own_call, lead="D01", co=("D02",))
    co_task = users["dept_zr"].task(own_call, "签收")
    r = users["dept_zr"].post(f"/tasks/{co_task['id']}/extension", json={"days": 1, "reason": "需协调省级部门"})
    assert r.status_code == 201, r.json
    extension = r.json["id"]
    other_call = raise_call(users, township="town_b", title="泰前路违建侵占绿地", list_item="ZR-01")
    r = users["dept_hb"].post("/cases", json={"process_id": "duty_sinking", "data": SINKING})
    assert r.status_code == 201, r.json
    sinking = r.json["id"]
    users["town_b"].complete(users["town_b"].task(sinking), {"consent": True})
    attachment = attach(users["town_a"], own_call, "现场.jpg", photo())["id"]
    assert users["admin"].put("/calendar/2030-01-01", json={"kind": "holiday", "name": "测试假日"}).status_code == 200
    assert upload(users["analyst"], SMS.name, SMS.read_bytes()).status_code == 201
    sms_case = users["center"].post("/cases", json={"process_id": "sms_notice", "data": {}}).json["id"]
    with app.app_context():
        for process_id, old, new in (("call_response", 'name="受理"', 'name="受理登记"'),
                                     ("duty_sinking", 'name="编办审核"', 'name="编办审查"')):
            bpmn = processes.latest_version(process_id).bpmn.replace(old, new, 1)
            assert processes.deploy_files({"new.bpmn": bpmn.encode("utf-8")}, "analyst")[0].version == 2
    world = {
        "app": app,
        "case_id": [own_call, other_call, sinking],
        "task_id": [users["dept_zf"].task(own_call, "签收")["id"], users["center"].task(other_call, "受理")["id"],
                    users["staffing"].task(sinking, "编办审核")["id"]],
        "process_id": ["call_response", "duty_sinking"],
        "ext_id": [extension],
        "attachment_id": [attachment],
        "number": [1],
        "day": ["2030-01-01"],
        "code": ["ZF-01"],
        "filename": ["style.css"],
        "username": ["center2"],
        "notification_id": [_first(app, Notification, Notification.user_id == _user_id(app, "dept_zf"))],
        "org_code": ["D01"],
        "message_id": [_first(app, OutboxMessage, OutboxMessage.channel == "robot")],
        "external_task_id": [_first(app, ExternalTask, ExternalTask.case_id == sms_case)],
    }
    yield world
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _user_id(app, username):
    with app.app_context():
        return db.session.execute(select(User.id).where(User.username == username)).scalar_one()


def _first(app, model, where):
    with app.app_context():
        return db.session.execute(select(model.id).where(where).order_by(model.id)).scalars().first()


def routes(app):
    """(rule, method) of every route, in a steady order."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield rule, method


def test_every_route_has_a_rule_in_the_policy(world):
    app = world["app"]
    missing = [f"{method} {rule.rule} ({rule.endpoint})" for rule, method in routes(app)
               if policy.rule_of(rule.endpoint, method) is None]
    assert not missing, "routes without a rule in app/policy.py ROUTES: " + ", ".join(missing)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert not set(policy.ROUTES) - endpoints, "rules for routes that do not exist"
    named = {r for rule in policy.ROUTES.values() for r in (rule.values() if isinstance(rule, dict) else [rule])}
    assert named - {policy.PUBLIC, policy.SIGNED_IN} <= set(policy.CAPABILITIES)


def _requests(world, rule, method):
    """(path, sample, target) of each request to try on a route: one per value of its parameters."""
    sample = SAMPLES.get((rule.endpoint, method), {})
    combos = [({}, dict(sample.get("target", {})))]
    for name in sorted(rule.arguments):
        assert name in world, f"{rule.rule}: no values to try for <{name}>; add them to the `world` fixture"
        kind = {"case_id": "case", "task_id": "task", "process_id": "process",
                "notification_id": "notification", "attachment_id": "attachment"}.get(name)
        combos = [(dict(values, **{name: v}), dict(target, **({kind: v} if kind else {})))
                  for values, target in combos for v in world[name]]
    with world["app"].test_request_context():
        return [(url_for(rule.endpoint, **values, **sample.get("query", {})), sample, target)
                for values, target in combos]


def _refusals(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "permission_refused")).scalar()


def _expected(app, username, capability, target):
    """The policy's refusal of `username` for the route's capability on its target, or None."""
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        found = {}
        if "case" in target:
            found["case"] = db.session.get(Case, target["case"])
        if "task" in target:
            found["task"] = db.session.get(Task, target["task"])
        if "process" in target:
            found["process"] = processes.latest_version(target["process"])
        if "notification" in target:
            found["notification"] = db.session.get(Notification, target["notification"])
        if "attachment" in target:        # a file is seen by who sees its case
            found["case"] = db.session.get(Case, db.session.get(Attachment, target["attachment"]).case_id)
        error = policy.refusal(user, capability, **found)
        db.session.remove()
        return error


class Caller:
    """One demo user (or nobody), signed in to the browser and the API on first use of each."""

    def __init__(self, app, username):
        self.app, self.username = app, username
        self.api = app.test_client()      # no cookies: the API knows the caller by the token alone
        self._browser = self._headers = None

    def _signed_in_browser(self):
        if self._browser is None:
            if self.username == ANONYMOUS:
                self._browser = self.app.test_client()
                page = self._browser.get("/login")
            else:
                self._browser = web_login(self.app, self.username)
                page = self._browser.get("/")
            self.csrf = csrf_token(page.get_data(as_text=True))
        return self._browser

    def _api_headers(self):
        if self._headers is None:
            self._headers = {} if self.username == ANONYMOUS else ApiUser(self.app.test_client(),
                                                                          self.username).headers
        return dict(self._headers)

    def send(self, method, path, sample):
        api = path.startswith("/api/")
        client = self.api if api else self._signed_in_browser()
        kw = {"headers": self._api_headers() if api else {}}
        if "json" in sample:
            kw["json"] = sample["json"]
        if "data" in sample:
            kw["data"] = dict(sample["data"])
        if "file" in sample:
            name, content = sample["file"]
            kw["data"], kw["content_type"] = {"file": (io.BytesIO(content), name)}, "multipart/form-data"
        if not api and method != "GET":
            if "json" in kw:
                kw["headers"]["X-CSRFToken"] = self.csrf
            else:
                kw.setdefault("data", {})["csrf_token"] = self.csrf
        return client.open(path, method=method, **kw)


def _judge(caller, rule, method, path, sample, target):
    """What is wrong with the answer to one request (None when it is what the policy says)."""
    app, who = caller.app, caller.username
    needs = policy.rule_of(rule.endpoint, method)
    api = path.startswith("/api/")
    error = None
    if who != ANONYMOUS and needs not in (policy.PUBLIC, policy.SIGNED_IN):
        error = _expected(app, who, needs, target)
    if rule.endpoint in FRESH_SIGN_IN:
        caller = Caller(app, who)
    before = _refusals(app)
    try:
        r = caller.send(method, path, sample)
    except Exception as e:  # noqa: BLE001 - a crash is a finding like any other
        return f"raised {type(e).__name__}: {e}"
    recorded = _refusals(app) - before
    to_login = r.status_code == 302 and "/login" in r.headers.get("Location", "")
    if r.status_code >= 500:
        return f"answered {r.status_code}"
    if needs == policy.PUBLIC:
        return f"a public route answered {r.status_code}" if r.status_code in (401, 403) else None
    if who == ANONYMOUS:
        if api:
            return None if r.status_code == 401 else f"anonymous: {r.status_code}, not 401"
        return None if to_login else f"anonymous: {r.status_code}, not sent to the login page"
    if error is None:
        gone = r.status_code == 404 and rule.endpoint in GONE_AFTER_THE_FIRST
        if (r.status_code in (401, 403, 404) and not gone) or to_login or recorded:
            return f"allowed ({needs}) but answered {r.status_code}{' and refused on record' if recorded else ''}"
        return None
    back_to_the_task = rule.endpoint in ANSWERED_ON_THE_TASK_PAGE and method == "POST" and r.status_code == 302 \
        and "/tasks/" in r.headers.get("Location", "")
    if r.status_code != error.status and not back_to_the_task:
        return f"refused ({needs}: {error.status}) but answered {r.status_code}"
    return None if recorded else f"refused ({needs}) with {r.status_code} but not on record"


@pytest.mark.parametrize("who", [*DEMO_USERS.values(), ANONYMOUS])
def test_every_route_answers_as_the_policy_says(world, who):
    caller = Caller(world["app"], who)
    wrong, tried = [], set()
    for rule, method in routes(world["app"]):
        if policy.rule_of(rule.endpoint, method) is None:
            continue                      # test_every_route_has_a_rule_in_the_policy names it
        for path, sample, target in _requests(world, rule, method):
            tried.add((rule.endpoint, method))
            problem = _judge(caller, rule, method, path, sample, target)
            if problem:
                wrong.append(f"{method} {path} ({rule.endpoint}) as {who}: {problem}")
    assert not wrong, "\n".join(wrong)
    assert tried == {(rule.endpoint, method) for rule, method in routes(world["app"])
                     if policy.rule_of(rule.endpoint, method) is not None}
