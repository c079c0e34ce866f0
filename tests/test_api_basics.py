"""The API's outer shell: tokens, errors as JSON, pagination, the OpenAPI document."""
import pytest

from helpers import raise_call


def test_wrong_credentials_get_401(client):
    r = client.post("/api/v1/auth/token", json={"username": "town_a", "password": "wrong"})
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    r = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "demo"})
    assert r.status_code == 401


def test_no_or_forged_token_gets_401(client):
    assert client.get("/api/v1/me").status_code == 401
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer eyJ1aWQiOjF9.forged.sig"})
    assert r.status_code == 401 and r.json["error"] == "unauthorized"


def test_me_names_role_and_org(users):
    me = users["town_a"].get("/me").json
    assert me == {"username": "town_a", "name": me["name"], "roles": ["township"],
                  "org": {"code": "T01", "name": "岱庙街道"}}


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"process_id": 5}', b'{"data": {}}', b"\xff\xfe"])
def test_malformed_requests_get_json_4xx(users, body):
    r = users["town_a"].client.post("/api/v1/cases", data=body, headers=dict(users["town_a"].headers, **{
        "Content-Type": "application/json"}))
    assert 400 <= r.status_code < 500
    assert r.is_json and "error" in r.json and "message" in r.json


def test_unknown_things_get_404_json(users):
    for path in ("/cases/999999", "/tasks/not-a-task", "/processes/nope", "/processes/call_response/versions/9/bpmn",
                 "/no/such/route"):
        r = users["center"].get(path)
        assert r.status_code == 404 and r.is_json, path


def test_lists_are_paginated(users):
    for _ in range(3):
        raise_call(users)
    page = users["center"].get("/cases?per_page=2&page=2").json
    assert page["total"] == 3 and page["page"] == 2 and page["per_page"] == 2 and len(page["items"]) == 1
    seen = [t["id"] for p in (1, 2) for t in users["center"].get(f"/tasks?per_page=2&page={p}").json["items"]]
    assert len(seen) == len(set(seen)) == 3
    assert users["center"].get("/tasks?per_page=2").json["total"] == 3
    assert users["center"].get("/cases?per_page=500").status_code == 422
    assert users["center"].get("/tasks?page=0").status_code == 422


def test_openapi_document_describes_the_contract(client):
    doc = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/auth/token", "/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/tasks",
                 "/api/v1/tasks/{task_id}/complete", "/api/v1/responsibility-list"):
        assert path in doc["paths"], path
    assert "CaseDetail" in doc["components"]["schemas"]


def test_process_and_its_bpmn(users):
    procs = users["town_a"].get("/processes").json
    assert [p["process_id"] for p in procs] == ["call_response", "duty_sinking", "grid_event", "list_change"]
    detail = users["town_a"].get("/processes/call_response").json
    assert set(detail["start_form"]["required"]) == {"title", "description", "urgency"}
    xml = users["town_a"].get("/processes/call_response/versions/1/bpmn")
    assert xml.status_code == 200 and b"bpmndi:BPMNDiagram" in xml.data


def test_responsibility_list_has_seven_domains_and_fifty_two_items(users):
    lst = users["town_a"].get("/responsibility-list").json
    assert lst["version"] == 1 and len(lst["items"]) == 52
    assert len({i["domain"] for i in lst["items"]}) == 7
    assert sum(1 for i in lst["items"] if i["primary_org"] == "TOWNSHIP") == 2
    assert users["town_a"].get("/responsibility-list?version=7").status_code == 404


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_stats_follow_the_callers_scope(users):
    raise_call(users)
    raise_call(users, township="town_b")
    assert users["town_a"].get("/stats").json["cases"]["total"] == 1
    assert users["center"].get("/stats").json["cases"]["total"] == 2


@pytest.mark.parametrize("method,path,body", [  # as a supervisor, and (for POST /cases) as a township
    ("GET", "/cases/99999999999999999999999", None),
    ("GET", "/tasks?case_id=99999999999999999999", None),
    ("GET", "/tasks/%00abc", None),
    ("GET", "/tasks/" + "a" * 500, None),
    ("GET", "/processes/%00", None),
    ("GET", "/responsibility-list?version=99999999999999", None),
    ("GET", "/audit/export?format=csv&from=2026-01-01T00:00:00", None),
    ("POST", "/cases", {"process_id": "call_response", "data": {"title": "bad\u0000title", "description": "描述内容足够长",
                                                                "urgency": "normal"}}),
    ("POST", "/cases", {"process_id": "call\u0000response", "data": {}}),
    ("POST", "/tasks/not-a-task/complete", {"data": {"x": 1}}),
])
def test_odd_input_never_gets_a_500(users, method, path, body):
    who = users["town_a"] if path == "/cases" else users["supervisor"]
    r = who.client.open("/api/v1" + path, method=method, json=body, headers=who.headers)
    assert r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.is_json or r.mimetype == "text/csv"


def test_nul_in_credentials_is_refused(client):
    r = client.post("/api/v1/auth/token", json={"username": "town\u0000a", "password": "demo"})
    assert r.status_code in (400, 401, 422)
