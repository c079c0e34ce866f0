"""No input gets a 500: malformed JSON bodies (signed in or not) are a 4xx ApiError, and no query
string, path or form value breaks a web page."""
import json

import pytest

from app.extensions import db
from app.models import OrgUnit, User
from app.roles import ROLES
from helpers import accept_and_dispatch, csrf_token, raise_call, web_login

DEEP = 100_000
MALFORMED = {   # name: (body bytes, content type)
    "5000-digit integer": (b'{"username": ' + b"9" * 5000 + b', "password": "demo"}', "application/json"),
    "20-digit integer": (b'{"username": "town_a", "password": 99999999999999999999}', "application/json"),
    "100,000 nested arrays": (b"[" * DEEP + b"]" * DEEP, "application/json"),
    "100,000 nested objects": (b'{"a":' * DEEP + b"1" + b"}" * DEEP, "application/json"),
    "33 nested arrays": (b'{"username": ' + b"[" * 33 + b"]" * 33 + b"}", "application/json"),
    "invalid UTF-8": (b'{"username": "\xff\xfe\xc0", "password": "demo"}', "application/json"),
    "UTF-16": ('{"username": "town_a", "password": "demo"}'.encode("utf-16"), "application/json"),
    "huge float": (b'{"username": "town_a", "password": 1e999}', "application/json"),
    "long float": (b'{"username": "town_a", "password": 0.' + b"1" * 5000 + b"}", "application/json"),
    "NaN": (b'{"username": NaN, "password": "demo"}', "application/json"),
    "Infinity": (b'{"username": "town_a", "password": -Infinity}', "application/json"),
    "duplicate keys": (b'{"username": "town_a", "username": "admin", "password": "demo"}', "application/json"),
    "lone surrogate": (b'{"username": "\\ud800", "password": "demo"}', "application/json"),
    "NUL in a key": (b'{"user\\u0000name": "town_a", "password": "demo"}', "application/json"),
    "truncated": (b'{"username": "town_a", "pass', "application/json"),
    "not JSON at all": (b"username=town_a&password=demo", "application/json"),
    "an array": (b'["town_a", "demo"]', "application/json"),
    "a string": (b'"town_a"', "application/json"),
    "null": (b"null", "application/json"),
    "a number": (b"42", "application/json"),
    "form-encoded": (b"username=town_a&password=demo", "application/x-www-form-urlencoded"),
    "text/plain JSON": (b'{"username": "town_a", "password": "demo"}', "text/plain"),
    "no content type": (b'{"username": "town_a", "password": "demo"}', None),
    "empty": (b"", "application/json"),
}


def _api_error(r):
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.is_json, r.get_data(as_text=True)[:300]
    body = r.get_json()
    assert set(body) <= {"error", "message", "errors"} and isinstance(body["error"], str) \
        and isinstance(body["message"], str), body
    return body


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_body_on_the_token_exchange_is_a_4xx_api_error(client, name):
    data, content_type = MALFORMED[name]
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/api/v1/auth/token", data=data, headers=headers)
    _api_error(r)
    assert r.status_code != 200


@pytest.mark.parametrize("name", ["5000-digit integer", "100,000 nested arrays", "NaN", "duplicate keys",
                                  "invalid UTF-8", "lone surrogate", "text/plain JSON"])
def test_a_malformed_body_is_refused_alike_by_a_signed_in_caller(users, name):
    """webargs' bodies (POST /cases) and the raw JSON the admin's settings take (request.get_json)."""
    data, content_type = MALFORMED[name]
    for user, method, path in (("town_a", "POST", "/cases"), ("admin", "PUT", "/reports/weights"),
                               ("admin", "PUT", "/settings/supervision")):
        who = users[user]
        r = who.client.open("/api/v1" + path, method=method, data=data, headers=dict(
            who.headers, **({"Content-Type": content_type} if content_type else {})))
        _api_error(r)


def test_json_refusals_say_what_is_wrong_in_chinese(client):
    cases = {"5000-digit integer": "整数超出范围", "100,000 nested arrays": "嵌套超过", "NaN": "不允许 NaN",
             "duplicate keys": "键重复", "invalid UTF-8": "UTF-8", "truncated": "不是有效的 JSON",
             "text/plain JSON": "Content-Type"}
    for name, words in cases.items():
        data, content_type = MALFORMED[name]
        body = _api_error(client.post("/api/v1/auth/token", data=data, headers={"Content-Type": content_type}))
        assert words in body["message"], (name, body)


def test_webargs_validation_errors_are_api_errors_per_field(client):
    r = client.post("/api/v1/auth/token", json={"username": ["town_a"]})
    assert r.status_code == 422
    assert _api_error(r) == {"error": "unprocessable_entity", "message": "请求参数有误",
                             "errors": {"username": "Not a valid string.",
                                        "password": "Missing data for required field."}}


def test_an_unknown_method_is_a_405_api_error_with_allow(users):
    r = users["town_a"].client.delete("/api/v1/me", headers=users["town_a"].headers)
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert _api_error(r)["error"] == "method_not_allowed"


def test_a_missing_token_is_a_401_naming_the_bearer_scheme(client):
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert _api_error(r)["error"] == "unauthorized"


def test_the_modellers_json_deploy_refuses_malformed_bodies(app, client):
    analyst = web_login(app, "analyst")
    token = csrf_token(analyst.get("/processes/call_response/model").get_data(as_text=True))
    for name in ("100,000 nested arrays", "5000-digit integer", "invalid UTF-8", "NaN"):
        data, content_type = MALFORMED[name]
        r = analyst.post("/processes/call_response/deploy", data=data,
                         headers={"Content-Type": content_type, "X-CSRFToken": token})
        assert 400 <= r.status_code < 500, (name, r.status_code)


# --- the browser's pages ----------------------------------------------------------------------------
ODD = ["9" * 5000, "99999999999999999999999", "-1", "0", "1e999", "NaN", "\x00", "a\x00b", "𝟘𝟙", "２０２６",
       "２０２６-１１", "0001", "9999-12", "2026-13", "2026-02-30", "<script>", "%", "' OR 1=1 --", "é" * 300]
QUERY_NAMES = ["page", "status", "next", "q", "domain", "version", "from", "to", "period", "year", "edit", "case_id",
               "format", "department", "township", "urgency", "min_age_hours", "item_code", "incident_date", "report",
               "kind", "action", "process_id", "number"]


@pytest.fixture
def everyone(app):
    """A signed-in browser of a user holding every role, so every page is served rather than refused."""
    with app.app_context():
        user = User(username="every_role", name="全部角色", roles=sorted(ROLES), password_hash=User.query.filter_by(
            username="admin").one().password_hash, org_id=OrgUnit.query.filter_by(code="D01").one().id)
        db.session.add(user)
        db.session.commit()
    return web_login(app, "every_role")


def _pages(app, case_id, task_id):
    """Every GET page of the browser with its path filled in (ids of a real case and task)."""
    values = {"case_id": case_id, "task_id": task_id, "process_id": "call_response", "number": 1,
              "code": "ZF-01", "day": "2026-10-01", "username": "town_a", "org_code": "D01"}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static")):
            continue
        if not set(rule.arguments) <= set(values):
            continue
        with app.test_request_context():
            from flask import url_for
            yield url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})


def test_no_query_value_breaks_a_page(app, users, everyone):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    task_id = users["dept_zf"].task(case_id, "签收")["id"]
    pages = list(_pages(app, case_id, task_id))
    assert len(pages) >= 25
    for page in pages:
        for value in ODD:
            r = everyone.get(page, query_string={name: value for name in QUERY_NAMES})
            r.get_data()        # a download streams: all of it must come out
            assert r.status_code < 500, (page, value[:20], r.status_code)


@pytest.mark.parametrize("path", ["/cases/99999999999999999999999", "/tasks/%00", "/tasks/" + "x" * 5000,
                                  "/processes/call_response/versions/99999999999999999999.bpmn",
                                  "/processes/%00/model", "/list/items/%00", "/cases/new/%ED%A0%80",
                                  "/list?q=%ED%A0%80", "/cases?page=%FF%FE"])
def test_no_path_breaks_a_page(everyone, path):
    assert everyone.get(path).status_code < 500


def test_no_form_value_breaks_a_form(app, users, everyone):
    case_id = raise_call(users)
    page = "/cases/new/call_response"
    for value in ["9" * 5000, "1e999", "NaN", "-Infinity", "a\x00b", "𝟘" * 3000, ""]:
        form = {"title": value, "description": value, "urgency": value, "list_item": value}
        r = everyone.post(page, data=dict(form, csrf_token=csrf_token(everyone.get(page).get_data(as_text=True))))
        assert r.status_code < 500, (value[:20], r.status_code)
    accept_and_dispatch(users, case_id)
    task_id = users["dept_zf"].task(case_id, "签收")["id"]
    clerk = web_login(app, "dept_zf")
    for value in ["9" * 5000, "1e999", "NaN", "a\x00b", "-1"]:
        token = csrf_token(clerk.get(f"/tasks/{task_id}").get_data(as_text=True))
        for data in ({"returned": value, "reason": value, "_shortcut": value},
                     {"days": value, "reason": value}):
            action = f"/tasks/{task_id}" if "returned" in data else f"/tasks/{task_id}/extension"
            r = clerk.post(action, data=dict(data, csrf_token=token))
            assert r.status_code < 500, (action, value[:20], r.status_code)


def test_no_form_value_breaks_an_admin_form(everyone):
    forms = {"/admin/users/new": ("username", "name", "org", "roles", "email", "password", "confirm"),
             "/admin/users/town_a": ("name", "org", "roles", "email"),
             "/admin/users/town_a/password": ("password", "confirm"),
             "/admin/units": ("code", "name", "kind"), "/admin/units/D01/rename": ("name",),
             "/admin/settings": ("limits.sign.normal.n", "limits.sign.normal.unit", "listing_after.n", "max_reworks"),
             "/admin/weights": ("response", "list_size", "township_weight"),
             "/account/password": ("current", "password", "confirm")}
    for value in ["9" * 5000, "²", "1e999", "NaN", "-1", "a\x00b", "𝟘" * 3000, "", "٣"]:
        for action, names in forms.items():
            token = csrf_token(everyone.get("/admin/users").get_data(as_text=True))
            r = everyone.post(action, data={**{n: value for n in names}, "csrf_token": token})
            assert r.status_code < 500, (action, value[:20], r.status_code)


def test_a_number_field_refuses_infinity_and_nan_instead_of_storing_them(app, users):
    """A number field of a form gets 1e999 or NaN as text it refuses, never a float JSON cannot carry."""
    from app.web.forms import parse_form
    schema = {"properties": {"n": {"type": "number"}, "i": {"type": "integer"}}}
    with app.test_request_context():
        for raw in ("1e999", "-1e999", "NaN", "inf"):
            parsed = parse_form(schema, {"n": raw, "i": raw})
            assert parsed == {"n": raw, "i": raw}
            json.dumps(parsed, allow_nan=False)


def test_a_body_over_the_size_limit_is_a_413_api_error(app, client):
    too_big = b'{"username": "' + b"a" * app.config["MAX_CONTENT_LENGTH"] + b'"}'
    r = client.post("/api/v1/auth/token", data=too_big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and _api_error(r)["error"] == "request_entity_too_large"


def test_a_nul_character_in_a_page_url_is_a_400(everyone):
    for url in ("/cases?status=%00", "/admin/calendar?edit=a%00b", "/tasks/%00", "/list?%00=1"):
        r = everyone.get(url)
        assert r.status_code == 400 and "请求有误" in r.get_data(as_text=True), url
