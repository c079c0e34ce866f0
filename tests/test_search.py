"""Search: GET /cases?q= and the search box find calls by their words, ranked, highlighted and within
the caller's scope, on SQLite and PostgreSQL alike."""
from datetime import datetime

import pytest

from app import search
from app.extensions import db
from app.models import SearchDocument
from app.timefmt import local_zone
from helpers import accept_and_dispatch, raise_call, web_login

REPLY = "已会同街道完成雨污分流改造，封堵私设排污管3处"


def found(user, q, **params):
    r = user.get("/cases", query_string=dict(params, q=q))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.json


def ids(page):
    return [c["id"] for c in page["items"]]


def handled_call(users, reply=REPLY, **call):
    case_id = raise_call(users, **call)
    accept_and_dispatch(users, case_id, lead="D01", co=())
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "办理反馈"), {"result": reply})
    return case_id


def test_a_word_of_a_departments_reply_finds_the_call_for_the_centre_and_not_for_another_township(users):
    case_id = handled_call(users)
    raise_call(users, title="另一个呼叫")

    page = found(users["center"], "雨污分流")
    assert ids(page) == [case_id] and page["total"] == 1
    mark = page["items"][0]["highlight"]
    assert mark["label"] == "办理反馈（综合行政执法局）·办理结果"
    assert "<mark>雨污分流</mark>" in mark["snippet"]
    assert ids(found(users["town_a"], "雨污分流")) == [case_id]        # its own call
    assert ids(found(users["dept_zf"], "雨污分流")) == [case_id]       # the department that replied
    assert found(users["town_b"], "雨污分流") == {"items": [], "total": 0, "page": 1, "per_page": 50}
    assert found(users["dept_hb"], "雨污分流")["total"] == 0          # a department it was not dispatched to


def test_a_case_is_found_by_its_number_as_shown_and_by_two_characters_and_its_month(users):
    case_id = raise_call(users)
    raise_call(users, title=f"路灯不亮 {case_id}0 号杆", description="村口路灯损坏，夜间无照明。", list_item="CJ-01")
    assert ids(found(users["center"], f"#{case_id}"))[0] == case_id
    assert ids(found(users["center"], str(case_id)))[0] == case_id
    assert ids(found(users["center"], "摊点")) == [case_id]           # two characters of the description
    assert ids(found(users["center"], "治理 ZF-01")) == [case_id]  # the list item's code and name
    assert ids(found(users["center"], "岱庙街道"))[0] >= case_id       # the township that called
    month = datetime.now(local_zone())
    assert case_id in ids(found(users["center"], f"{month.month}月"))
    assert case_id in ids(found(users["center"], f"{month:%Y-%m}"))


def test_a_word_in_the_title_ranks_above_the_same_word_in_a_reply(users):
    in_title = raise_call(users, title="夜间施工噪声扰民", description="工地夜间作业，居民无法休息。")
    in_reply = handled_call(users, reply="已责令施工单位夜间停工，噪声问题已解决")   # the newer one
    page = found(users["center"], "噪声")
    assert ids(page) == [in_title, in_reply]
    assert page["items"][0]["highlight"]["title"] == "夜间施工<mark>噪声</mark>扰民"


def test_filters_and_pages_hold_with_a_query(users):
    first, second = raise_call(users, title="河道漂浮垃圾一"), raise_call(users, title="河道漂浮垃圾二")
    users["center"].complete(users["center"].task(first, "受理"), {"accepted": False, "reason": "不予受理"})
    assert ids(found(users["center"], "漂浮垃圾", status="rejected")) == [first]
    assert ids(found(users["center"], "漂浮垃圾", status="open")) == [second]
    page2 = found(users["center"], "漂浮垃圾", per_page=1, page=2)
    assert page2["total"] == 2 and len(page2["items"]) == 1
    assert found(users["center"], "漂浮垃圾", per_page=1, page=3) == {"items": [], "total": 2, "page": 3, "per_page": 1}


def test_markup_in_the_text_is_shown_escaped_with_only_the_words_marked(app, users):
    case_id = raise_call(users, title="<script>alert(1)</script>油烟直排",
                         description='餐馆<img src=x onerror="alert(2)">油烟直排居民楼')
    mark = found(users["center"], "油烟")["items"][0]["highlight"]
    assert mark["title"] == "&lt;script&gt;alert(1)&lt;/script&gt;<mark>油烟</mark>直排"
    assert mark["snippet"].endswith("onerror=&#34;alert(2)&#34;&gt;<mark>油烟</mark>直排居民楼")   # cut before: …
    assert mark["snippet"].startswith("…") and "<img" not in mark["snippet"]
    html = web_login(app, "center").get("/cases?q=油烟").get_data(as_text=True)
    assert f"#{case_id}" in html and "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>油烟</mark>直排" in html


ODD = ['"', '""', "'", '油烟"', "油烟 AND", "AND", "OR NOT", "NEAR(油烟 直排)", "油烟*", "*", "^油烟", "-油烟",
       "title:油烟", "a:*|b & !c", "(", ")", "\\", "%", "_", "；。，！", "!!!", "😀", "油" * 500, "1e9999",
       "2147483648", "<mark>", "　"]


def test_odd_queries_are_answered_never_a_500(app, users):
    raise_call(users)
    browser = web_login(app, "town_a")
    for q in ODD:
        r = users["town_a"].get("/cases", query_string={"q": q})
        assert r.status_code == 200, (q, r.status_code, r.get_data(as_text=True)[:300])
        assert browser.get("/cases", query_string={"q": q}).status_code == 200, q
    assert users["town_a"].get("/cases", query_string={"q": "油" * 501}).status_code == 422
    assert found(users["town_a"], "！！！")["total"] == 0
    assert found(users["town_a"], '"马路市场"* (占道)')["total"] == 1     # the words; no operators


def test_the_index_is_rebuilt_and_checked_by_the_command(app, users):
    case_id = handled_call(users)
    with app.app_context():
        assert search.check() == []
        db.session.query(SearchDocument).filter_by(case_id=case_id).delete()
        db.session.commit()
        assert "missing" in [kind for kind, _ in search.check()]
    runner = app.test_cli_runner()
    broken = runner.invoke(args=["huying", "reindex", "--check"])
    assert broken.exit_code == 1 and "没有检索文档" in broken.output
    rebuilt = runner.invoke(args=["huying", "reindex"])
    assert rebuilt.exit_code == 0 and "search index ok" in rebuilt.output, rebuilt.output
    assert ids(found(users["center"], "雨污分流")) == [case_id]


@pytest.mark.parametrize("text, terms", [
    ("马路市场", ["马路", "路市", "市场", "场"]),
    ("ZF-01 #290", ["zf", "01", "290"]),
    ("２０２６年１１月", ["2026", "年", "11", "月"]),
])
def test_text_is_cut_into_bigrams_words_and_numbers(text, terms):
    assert search.terms_of(text) == terms


def test_a_units_name_finds_the_calls_it_takes_part_in_within_scope(users):
    dispatched = handled_call(users)                       # town_a's call, handled by 综合行政执法局 (D01)
    other = raise_call(users, title="另一个呼叫")           # town_a's call, not dispatched yet
    assert ids(found(users["center"], "综合行政执法局")) == [dispatched]
    assert ids(found(users["center"], "岱庙街道 雨污分流")) == [dispatched]   # a unit and words together
    assert ids(found(users["town_a"], "岱庙街道")) == [other, dispatched]       # its own calls, newest first
    assert found(users["town_b"], "岱庙街道")["total"] == 0                    # another township's calls: none
    assert found(users["center"], "泰前街道")["total"] == 0


def test_a_month_finds_the_calls_made_in_it(users):
    case_id = raise_call(users)
    now = datetime.now(local_zone())
    for q in (f"{now.month}月", f"{now.year}年{now.month}月", f"{now:%Y-%m}", f"{now.year}-{now.month}"):
        assert ids(found(users["center"], q)) == [case_id], q
    other_month = now.month % 12 + 1
    assert found(users["center"], f"{now.year - 1}年{other_month}月")["total"] == 0
    assert ids(found(users["center"], f"{now.month}月 摊点")) == [case_id]      # a month and a word


def test_a_count_past_the_bound_is_capped_and_says_so(app, users, monkeypatch):
    made = [raise_call(users, title=f"井盖缺失{i}") for i in range(3)]
    monkeypatch.setattr(search, "COUNT_BOUND", 2)
    page = found(users["center"], "井盖", per_page=2)
    assert page["total"] == 2 and page["total_capped"] is True and len(page["items"]) == 2
    assert ids(found(users["center"], "井盖", per_page=2, page=2)) == [made[0]]   # the pages go on past it
    assert "total_capped" not in found(users["center"], "井盖缺失2")
    assert '<span class="count" title="超过 2 件，只计到 2">2+</span>' in web_login(app, "center").get(
        "/cases?q=井盖").get_data(as_text=True)
