"""The auditors' page lists the audit trail a page at a time, newest first, filtered by case, actor,
action, unit, date and kind; refused requests are kept out of a case's own history but stay on the
trail, in the export and on this page under their own filter."""
import json
import re

from helpers import accept_and_dispatch, raise_call, web_login


def event_ids(html):
    return [int(i) for i in re.findall(r'<tr data-event-id="(\d+)"', html)]


def test_the_audit_page_lists_events_newest_first_and_pages_through_them(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    trail = [e for e in users["supervisor"].get(f"/cases/{case_id}/audit").json]
    client = web_login(app, "supervisor")
    first = client.get(f"/audit?case_id={case_id}").get_data(as_text=True)
    assert event_ids(first) == sorted((e["id"] for e in trail), reverse=True)[:50]
    assert "<th>操作人</th>" in first and "研判派单" in first and "岱庙街道" in first

    from app import audit_export
    audit_export.BROWSE_PAGE, saved = 3, audit_export.BROWSE_PAGE
    try:
        page1 = client.get(f"/audit?case_id={case_id}").get_data(as_text=True)
        ids = sorted((e["id"] for e in trail), reverse=True)
        assert event_ids(page1) == ids[:3] and 'id="events-newer"' not in page1
        older = re.search(r'id="events-older" href="([^"]+)"', page1).group(1).replace("&amp;", "&")
        page2 = client.get(older).get_data(as_text=True)
        assert event_ids(page2) == ids[3:6] and 'id="events-newer"' in page2
        newer = re.search(r'id="events-newer" href="([^"]+)"', page2).group(1).replace("&amp;", "&")
        assert event_ids(client.get(newer).get_data(as_text=True)) == ids[:3]
    finally:
        audit_export.BROWSE_PAGE = saved


def test_the_audit_page_filters_by_actor_action_unit_and_date(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    client = web_login(app, "supervisor")
    by_center = client.get(f"/audit?case_id={case_id}&actor=center&action=task_completed").get_data(as_text=True)
    assert len(event_ids(by_center)) == 2 and "受理" in by_center and "研判派单" in by_center
    assert "发起" not in re.search(r'<tbody>(.*?)</tbody>', by_center, re.S).group(1)
    by_unit = client.get(f"/audit?case_id={case_id}&org=D02&action=task_ready").get_data(as_text=True)
    assert len(event_ids(by_unit)) == 1 and "自然资源和规划局" in by_unit
    none = client.get("/audit?from=2001-01-01&to=2001-01-31").get_data(as_text=True)
    assert event_ids(none) == [] and "没有符合条件的留痕事件" in none
    bad = client.get("/audit?action=nonsense&org=X99&to=2001-01-01&from=2002-01-01")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "没有这种事件" in html and "没有这个单位" in html
    assert "截止日期不能早于起始日期" in html


def test_refusals_stay_off_the_case_history_but_are_listed_under_their_filter(app, users):
    case_id = raise_call(users)
    assert web_login(app, "town_b").get(f"/cases/{case_id}").status_code == 404
    supervisor = web_login(app, "supervisor")
    case_page = supervisor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "无权访问" not in re.search(r'<table class="audit" id="audit">(.*?)</table>', case_page, re.S).group(1)
    assert f"GET /cases/{case_id}" not in case_page
    assert "1 次无权访问的请求" in case_page          # an auditor is pointed to them
    assert "无权访问的请求" not in web_login(app, "town_a").get(f"/cases/{case_id}").get_data(as_text=True)
    dossier = supervisor.get(f"/cases/{case_id}/dossier").get_data(as_text=True)
    assert f"GET /cases/{case_id}" not in dossier

    history = supervisor.get(f"/audit?case_id={case_id}").get_data(as_text=True)
    assert "无权访问" not in re.search(r'<tbody>(.*?)</tbody>', history, re.S).group(1)
    refused = supervisor.get(f"/audit?case_id={case_id}&kind=refused").get_data(as_text=True)
    assert len(event_ids(refused)) == 1 and f"GET /cases/{case_id}" in refused and "无权访问" in refused
    everything = supervisor.get(f"/audit?case_id={case_id}&kind=all").get_data(as_text=True)
    assert len(event_ids(everything)) == len(event_ids(history)) + 1

    # still on the trail: the API's case trail and the export hold it
    assert any(e["action"] == "permission_refused" for e in users["supervisor"].get(f"/cases/{case_id}/audit").json)
    export = users["supervisor"].get(f"/audit/export?format=jsonl&case_id={case_id}").get_data(as_text=True)
    assert "permission_refused" in [json.loads(line)["action"] for line in export.splitlines()]
    assert supervisor.get(f"/audit/count?case_id={case_id}&kind=refused").json == {"count": 1}
    page_export = supervisor.get(f"/audit/export?format=jsonl&case_id={case_id}&kind=refused").get_data(as_text=True)
    assert page_export.count("\n") == 1 and "permission_refused" in page_export
