"""The audit trail is tamper-evident: a change made directly in the database is found and named."""
from sqlalchemy import text

from app import audit
from app.extensions import db
from helpers import accept_and_dispatch, raise_call, sign_and_handle


def lifecycle(users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id)
    sign_and_handle(users, case_id)
    return case_id


def middle_event(app, case_id):
    with app.app_context():
        return db.session.execute(text("SELECT id, seq FROM audit_events WHERE case_id = :c AND action = 'task_completed' "
                                       "ORDER BY seq LIMIT 1 OFFSET 2"), {"c": case_id}).one()


def test_the_chain_is_intact_after_a_lifecycle_with_parallel_work(app, users):
    lifecycle(users)
    result = users["supervisor"].get("/audit/verify").json
    with app.app_context():
        total = db.session.execute(text("SELECT count(*) FROM audit_events")).scalar()
    assert result == {"ok": True, "events_checked": total, "from_seq": 1, "to_seq": total, "incremental": False}
    assert users["town_a"].get("/audit/verify").status_code == 403
    out = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert out.exit_code == 0 and "the hash chain is intact" in out.output


def test_an_altered_event_is_named(app, users):
    case_id = lifecycle(users)
    event_id, _seq = middle_event(app, case_id)
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET detail = '已篡改' WHERE id = :i"), {"i": event_id})
        db.session.commit()
    result = users["admin"].get("/audit/verify").json
    assert result["ok"] is False and result["first_bad_event"]["id"] == event_id
    assert "被修改" in result["first_bad_event"]["reason"]
    out = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert out.exit_code == 1 and f"id={event_id}" in out.output


def test_a_removed_event_is_found(app, users):
    case_id = lifecycle(users)
    event_id, seq = middle_event(app, case_id)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": event_id})
        db.session.commit()
    bad = users["admin"].get("/audit/verify").json["first_bad_event"]
    assert bad["seq"] == seq + 1 and "被删除" in bad["reason"]


def test_an_inserted_event_is_found(app, users):
    lifecycle(users)
    with app.app_context():
        db.session.execute(text("INSERT INTO audit_events (at, actor, action, detail) "
                                "VALUES (CURRENT_TIMESTAMP, 'center', 'task_completed', '补记')"))
        db.session.commit()
    result = users["admin"].get("/audit/verify").json
    assert result["ok"] is False and "直接插入" in result["first_bad_event"]["reason"]


def test_the_last_event_removed_is_found(app, users):
    lifecycle(users)
    users["admin"]        # signed in before the tampering, so that no event follows it
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)"))
        db.session.commit()
    assert "链尾" in users["admin"].get("/audit/verify").json["first_bad_event"]["reason"]


def test_a_cases_events_are_checked_against_the_chain(app, users):
    case_id = lifecycle(users)
    raise_call(users, township="town_b")
    with app.app_context():
        n = db.session.execute(text("SELECT count(*) FROM audit_events WHERE case_id = :c"), {"c": case_id}).scalar()
        assert audit.verify_case(case_id) == {"ok": True, "events_checked": n}
        assert audit.verify_case(999999) == {"ok": True, "events_checked": 0}


def test_verify_case_names_an_event_altered_in_the_database(app, users):
    case_id = lifecycle(users)
    other = raise_call(users, township="town_b")
    event_id, seq = middle_event(app, case_id)
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET after = '{\"returned\": true}' WHERE id = :i"), {"i": event_id})
        db.session.commit()
        result = audit.verify_case(case_id)
        assert result["ok"] is False and result["first_bad_event"]["id"] == event_id
        assert result["first_bad_event"]["seq"] == seq and "被修改" in result["first_bad_event"]["reason"]
        assert audit.verify_case(other)["ok"] is True          # another case's file is not affected


def test_verify_case_finds_a_relinked_event_and_one_outside_the_chain(app, users):
    case_id = lifecycle(users)
    event_id, seq = middle_event(app, case_id)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": seq - 1})
        db.session.commit()
        bad = audit.verify_case(case_id)["first_bad_event"]
        assert bad["id"] == event_id and "被删除" in bad["reason"]
    case_id = raise_call(users, township="town_b")
    with app.app_context():
        db.session.execute(text("INSERT INTO audit_events (at, actor, action, case_id, detail) "
                                "VALUES (CURRENT_TIMESTAMP, 'center', 'task_completed', :c, '补记')"), {"c": case_id})
        db.session.commit()
        assert "直接插入" in audit.verify_case(case_id)["first_bad_event"]["reason"]
    case_id = raise_call(users, township="town_c")
    with app.app_context():
        db.session.execute(text("INSERT INTO audit_events (at, actor, action, case_id, seq, prev_hash, hash) VALUES "
                                "(CURRENT_TIMESTAMP, 'center', 'task_completed', :c, 0, :h, :h)"), {"c": case_id, "h": "0" * 64})
        db.session.commit()
        assert "直接插入" in audit.verify_case(case_id)["first_bad_event"]["reason"]


def test_an_incremental_verification_walks_only_what_came_after_the_last_intact_walk(app, users):
    lifecycle(users)
    first = users["supervisor"].get("/audit/verify").json
    assert first["ok"] and not first["incremental"]
    case_id = lifecycle(users)
    with app.app_context():
        head = db.session.execute(text("SELECT seq FROM audit_head")).scalar()
    again = users["supervisor"].get("/audit/verify?since=checkpoint").json
    assert again["ok"] and again["incremental"]
    assert again["from_seq"] > first["to_seq"] and again["to_seq"] <= head
    assert again["events_checked"] == again["to_seq"] - again["from_seq"] + 1
    out = app.test_cli_runner().invoke(args=["audit", "verify", "--since-checkpoint"])
    assert out.exit_code == 0 and "intact" in out.output
    with app.app_context():      # a checkpoint per walk that found the chain intact, the newest where the last one ended
        cp = audit.last_checkpoint()
        assert cp.incremental and cp.seq >= again["to_seq"] and cp.actor == "supervisor"   # the CLI found nothing new

    # altered after the last checkpoint: the incremental walk finds it
    lifecycle(users)
    event_id, _seq = middle_event(app, lifecycle(users))
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET detail = '已篡改' WHERE id = :i"), {"i": event_id})
        db.session.commit()
    bad = users["supervisor"].get("/audit/verify?since=checkpoint").json
    assert bad["ok"] is False and bad["incremental"] and bad["first_bad_event"]["id"] == event_id
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET detail = NULL WHERE id = :i"), {"i": event_id})
        db.session.commit()
    assert users["supervisor"].get("/audit/verify").json["ok"] is True   # restored as it was: intact again

    # altered before the checkpoint: only the whole walk finds it
    event_id, _seq = middle_event(app, case_id)
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET detail = '已篡改' WHERE id = :i"), {"i": event_id})
        db.session.commit()
    assert users["supervisor"].get("/audit/verify?since=checkpoint").json["ok"] is True
    whole = users["supervisor"].get("/audit/verify").json
    assert whole["ok"] is False and whole["first_bad_event"]["id"] == event_id


def test_the_checkpoints_own_event_altered_is_found_by_the_incremental_walk(app, users):
    lifecycle(users)
    assert users["admin"].get("/audit/verify").json["ok"]
    with app.app_context():
        seq = audit.last_checkpoint().seq
        db.session.execute(text("UPDATE audit_events SET hash = :h WHERE seq = :s"), {"h": "f" * 64, "s": seq})
        db.session.commit()
    bad = users["admin"].get("/audit/verify?since=checkpoint").json
    assert bad["ok"] is False and bad["first_bad_event"]["seq"] == seq and "校验点" in bad["first_bad_event"]["reason"]
    assert users["admin"].get("/audit/verify?since=yesterday").status_code in (400, 422)


def test_an_event_whose_canonical_bytes_orjson_writes_differently_still_verifies(app, users, backend):
    """NaN is "NaN" to Python's json and null to orjson (which will not read it either): the fast check
    misses, `canonical` decides."""
    import json
    import pytest
    if backend != "sqlite":
        pytest.skip("PostgreSQL's json refuses NaN, so such an event cannot be stored there")
    assert json.dumps(float("nan")) != __import__("orjson").dumps(float("nan")).decode()
    case_id = raise_call(users)
    with app.app_context():
        from app.database import write_transaction
        with write_transaction():
            audit.record("case_updated", "center", case_id, after={"area_m2": float("nan"), "note": "面积"})
        assert audit.verify()["ok"] is True
        db.session.execute(text("UPDATE audit_events SET after = :a WHERE action = 'case_updated'"),
                           {"a": json.dumps({"area_m2": 1e15, "note": "面积"})})   # altered: found
        db.session.commit()
        assert audit.verify()["first_bad_event"]["reason"].startswith("内容")
