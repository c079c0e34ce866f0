"""The audit trail (全程留痕): appended in the transaction of the change it records, and chained.

Each event gets the next sequence number and a SHA-256 over the previous event's hash and its own
canonical content, so that an event altered, removed or slipped in directly in the database
breaks the chain at that point (`verify`, or `verify_case` for one case's events). Writers take
the chain's head row with SELECT ... FOR UPDATE when they flush their events (SQLite's BEGIN
IMMEDIATE already serialises), so concurrent transactions extend one chain.

Refused requests go on record too (`record_refusals`)."""
import hashlib
import itertools
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import orjson

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import String, Text, cast, event, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from . import policy
from .database import write_transaction
from .extensions import db
from .models import AuditCheckpoint, AuditEvent, AuditHead, Case
from .models.types import utcnow
from .timefmt import iso

GENESIS = "0" * 64
_order = itertools.count()


def record(action, actor, case_id=None, task=None, before=None, after=None, detail=None, org_code=None):
    """Append one event; `actor` is a username or `system`."""
    ip = request.remote_addr if has_request_context() else None
    e = AuditEvent(action=action, actor=actor, case_id=case_id, at=utcnow(),
                   task_id=getattr(task, "id", None), task_name=getattr(task, "name", None),
                   org_code=org_code, ip=ip, before=before, after=after, detail=detail)
    e.order = next(_order)
    db.session.info.setdefault("audit_pending", []).append(e)   # added and chained together at commit
    return e


def canonical(e):
    """The bytes an event's hash covers."""
    return json.dumps(_content(e.seq, e.at, e.actor, e.action, e.case_id, e.task_id, e.task_name, e.org_code, e.ip,
                               e.before, e.after, e.detail),
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def _content(seq, at, actor, action, case_id, task_id, task_name, org_code, ip, before, after, detail):
    """What an event's hash covers, as the object `canonical` writes."""
    return {"seq": seq, "at": _utc_iso(at), "actor": actor, "action": action, "case_id": case_id, "task_id": task_id,
            "task_name": task_name, "org_code": org_code, "ip": ip, "before": before, "after": after, "detail": detail}


def chain_hash(prev_hash, e):
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(e)).hexdigest()


@event.listens_for(Session, "before_flush")
def _seal(session, _flush_context, _instances):
    """Chain the new events of this flush onto the head, in the order they were recorded."""
    new = [o for o in session.new if isinstance(o, AuditEvent) and o.hash is None]
    if not new:
        return
    head = session.info.get("audit_head")      # locked once per transaction, then kept till its end
    if head is None:
        with session.no_autoflush:
            head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()
                                   .execution_options(populate_existing=True)).scalar_one_or_none()
        if head is None:
            head = AuditHead(id=1, seq=0, hash=GENESIS)
            session.add(head)
        session.info["audit_head"] = head
    with session.no_autoflush:
        for e in sorted(new, key=lambda o: getattr(o, "order", 0)):
            head.seq += 1
            e.seq, e.prev_hash = head.seq, head.hash
            e.hash = chain_hash(head.hash, e)
            head.hash = e.hash


@event.listens_for(Session, "before_commit")
def _add_pending(session):
    """A transaction's events go in at its commit: one batch, one move of the chain's head."""
    pending = session.info.pop("audit_pending", None)
    if pending:
        session.add_all(pending)


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session, transaction):
    if transaction.parent is None:
        session.info.pop("audit_head", None)
        session.info.pop("audit_pending", None)


# what `canonical`, `_link_problem` and `_bad` read of an event; before and after as their stored JSON text
CHAINED_COLUMNS = (AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.case_id,
                   AuditEvent.task_id, AuditEvent.task_name, AuditEvent.org_code, AuditEvent.ip,
                   cast(AuditEvent.before, Text).label("before"), cast(AuditEvent.after, Text).label("after"),
                   AuditEvent.detail, AuditEvent.prev_hash, AuditEvent.hash)
UNCHAINED = or_(AuditEvent.seq.is_(None), AuditEvent.seq < 1)   # events slipped in beside the chain


def stored_at(dialect):
    """An event's `at` to select: on SQLite the text it stores (UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'),
    which datetime.fromisoformat reads many times faster than the type's own parsing."""
    return type_coerce(AuditEvent.at, String).label("at") if dialect == "sqlite" else AuditEvent.at


def _chained_columns(dialect):
    """CHAINED_COLUMNS, with `at` as stored (`stored_at`): `_utc_iso` reads it."""
    return CHAINED_COLUMNS[:2] + (stored_at(dialect),) + CHAINED_COLUMNS[3:]


def _utc_iso(at):
    """`canonical`'s time: a datetime, or SQLite's stored text 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)."""
    if isinstance(at, str):
        if len(at) == 26 and at[10] == " ":
            return f"{at[:10]}T{at[11:]}+00:00"
        at = _utc(datetime.fromisoformat(at))
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _utc(at):
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


def _loads(text):
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:      # what orjson refuses and Python's json writes (NaN, say)
        return json.loads(text)


class _Row(SimpleNamespace):
    """An event read as a row (CHAINED_COLUMNS), its before and after decoded."""

    @classmethod
    def of(cls, r):
        at = _utc(datetime.fromisoformat(r.at)) if isinstance(r.at, str) else r.at
        return cls(id=r.id, seq=r.seq, at=at, actor=r.actor, action=r.action, case_id=r.case_id, task_id=r.task_id,
                   task_name=r.task_name, org_code=r.org_code, ip=r.ip, before=_loads(r.before),
                   after=_loads(r.after), detail=r.detail, prev_hash=r.prev_hash, hash=r.hash)


def _holds_hash(e):
    """Whether an event's hash is the one over its previous hash and its `canonical` content."""
    return _fast_holds(e.seq, e.at, e.actor, e.action, e.case_id, e.task_id, e.task_name, e.org_code, e.ip,
                       e.before, e.after, e.detail, e.prev_hash, e.hash) or chain_hash(e.prev_hash or "", e) == e.hash


def _fast_holds(seq, at, actor, action, case_id, task_id, task_name, org_code, ip, before, after, detail, prev_hash,
                hash_):
    """`canonical`'s bytes written by orjson (4× faster): True when the hash matches them. Where they
    are not `canonical`'s (a float in exponent form, say) it does not match, and `canonical` decides."""
    fast = orjson.dumps(_content(seq, at, actor, action, case_id, task_id, task_name, org_code, ip, before, after,
                                 detail), option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256((prev_hash or "").encode("ascii") + fast).hexdigest() == hash_


def _link_problem(e, expected_prev):
    """Why an event does not hold its place after a hash `expected_prev`, or None when it does."""
    if e.prev_hash != expected_prev:
        return "与前一事件的链接不符（前一事件被删除或替换）"
    if not _holds_hash(e):
        return "内容与其哈希不符（被修改）"
    return None


def verify_chain(user, since_checkpoint=False):
    """`verify` as an auditor asks for it (supervisor, admin)."""
    policy.require(user, "audit.verify")
    return verify(since_checkpoint=since_checkpoint, actor=user.username)


def last_checkpoint():
    return db.session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar()


def verify(batch=5000, since_checkpoint=False, actor="system"):
    """{ok, events_checked, from_seq, to_seq, incremental, first_bad_event?}: walk the chain in order,
    recomputing every hash, up to the head as it was when the walk began (events written meanwhile
    are for the next walk). With `since_checkpoint`, from the last point a walk found intact (its
    event must still have the hash it had then): milliseconds where the whole walk takes minutes,
    but blind to a change before that point, which the whole walk (the default) finds. A walk that
    finds the chain intact leaves a checkpoint where it ended."""
    head = db.session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    expected_prev, expected_seq, checked, incremental = GENESIS, 1, 0, False
    cp = last_checkpoint() if since_checkpoint else None
    if cp is not None and head is not None and cp.seq <= head.seq:
        at_cp = db.session.execute(select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.seq == cp.seq)).first()
        if at_cp is None or at_cp.hash != cp.hash:
            return {"ok": False, "events_checked": 0, "from_seq": cp.seq, "to_seq": cp.seq, "incremental": True,
                    "first_bad_event": {"id": at_cp.id if at_cp else None, "seq": cp.seq,
                                        "reason": "上次校验点的事件已不是校验时的内容（被修改或删除）"}}
        expected_prev, expected_seq, incremental = cp.hash, cp.seq + 1, True
    from_seq, upto = expected_seq, head.seq if head is not None else 0
    span = {"from_seq": from_seq, "to_seq": upto, "incremental": incremental}
    unchained = db.session.execute(select(AuditEvent.id).where(UNCHAINED)
                                   .order_by(AuditEvent.id).limit(1)).scalar()
    conn, last = db.session.connection(), expected_seq - 1
    columns = _chained_columns(conn.dialect.name)
    while last < upto:
        rows = conn.execute(select(*columns).where(AuditEvent.seq > last, AuditEvent.seq <= upto)
                            .order_by(AuditEvent.seq).limit(batch)).all()     # rows, not objects
        for r in rows:
            checked += 1
            _id, seq, at, by, action, case_id, task_id, task_name, org_code, ip, before, after, detail, \
                prev_hash, hash_ = r
            if seq == expected_seq and prev_hash == expected_prev and _fast_holds(
                    seq, at, by, action, case_id, task_id, task_name, org_code, ip, _loads(before), _loads(after),
                    detail, prev_hash, hash_):
                expected_prev, expected_seq = hash_, seq + 1
                continue
            e = _Row.of(r)
            problem = f"缺少序号 {expected_seq}–{e.seq - 1} 的事件（被删除）" if e.seq != expected_seq \
                else _link_problem(e, expected_prev)
            if problem:
                return {**_bad(checked, e, problem), **span}
            expected_prev, expected_seq = e.hash, e.seq + 1
        if len(rows) < batch:
            break
        last = rows[-1].seq
    if head is not None and (expected_seq - 1 != head.seq or expected_prev != head.hash):
        return {"ok": False, "events_checked": checked, **span,
                "first_bad_event": {"id": None, "seq": expected_seq, "reason": f"链尾缺少事件（应到序号 {head.seq}）"}}
    if unchained is not None:
        return {"ok": False, "events_checked": checked, **span,
                "first_bad_event": {"id": unchained, "seq": None, "reason": "不在哈希链中的事件（被直接插入）"}}
    if head is not None and not (incremental and cp.seq == head.seq):     # a walk over nothing new leaves none
        with write_transaction():
            db.session.add(AuditCheckpoint(seq=head.seq, hash=head.hash, events_checked=checked,
                                           incremental=incremental, actor=actor, verified_at=utcnow()))
    return {"ok": True, "events_checked": checked, **span}


def verify_case(case_id, batch=500):
    """{ok, events_checked, first_bad_event?} for one case's events, in chain order: each one's hash
    recomputed over its content, and its link checked against the hash of the event before it in
    the chain (whichever case that one belongs to). An event of the case removed is found when the
    case's next event is the one after it; `verify` walks the whole chain."""
    checked, last = 0, 0
    while True:
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.seq > last)
                                  .order_by(AuditEvent.seq).limit(batch)).scalars().all()
        before = {e.seq - 1 for e in rows if e.seq > 1}
        hashes = dict(db.session.execute(select(AuditEvent.seq, AuditEvent.hash)
                                         .where(AuditEvent.seq.in_(before))).all()) if before else {}
        hashes[0] = GENESIS
        for e in rows:
            checked += 1
            expected_prev = hashes.get(e.seq - 1)
            problem = f"链中前一事件（序号 {e.seq - 1}）缺失（被删除）" if expected_prev is None \
                else _link_problem(e, expected_prev)
            if problem:
                return _bad(checked, e, problem)
        if len(rows) < batch:
            break
        last = rows[-1].seq
    unchained = db.session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id, UNCHAINED)
                                   .order_by(AuditEvent.id).limit(1)).scalar()
    if unchained is not None:
        return _bad(checked, unchained, "不在哈希链中的事件（被直接插入）")
    return {"ok": True, "events_checked": checked}


def _bad(checked, e, reason):
    return {"ok": False, "events_checked": checked,
            "first_bad_event": {"id": e.id, "seq": e.seq, "at": iso(e.at), "action": e.action, "reason": reason}}


REFUSAL = "permission_refused"


def events_of(case_id, actions=None, without=()):
    """A case's audit events, oldest first: only those of `actions` when given, none of `without`."""
    stmt = select(AuditEvent).where(AuditEvent.case_id == case_id)
    if actions is not None:
        stmt = stmt.where(AuditEvent.action.in_(list(actions)))
    if without:
        stmt = stmt.where(AuditEvent.action.not_in(list(without)))
    return db.session.execute(stmt.order_by(AuditEvent.id)).scalars().all()


def refusals_of(case_id):
    """How many refused requests name a case (kept out of its own history, on the trail still)."""
    return db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.case_id == case_id, AuditEvent.action == REFUSAL)).scalar()


def event_to_dict(e):
    return {"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action, "case_id": e.case_id,
            "task": e.task_name, "task_id": e.task_id, "org": e.org_code, "ip": e.ip,
            "before": e.before, "after": e.after, "detail": e.detail, "seq": e.seq, "hash": e.hash}


# --- refused requests -------------------------------------------------------------------------
def record_refusals(app):
    """Put every refused request on record as `permission_refused`: each 403 the web or the API
    answers, and each request the policy refused (`policy.require`) however it is answered — a 404
    as if the case or task did not exist, or, on a browser form, a message and a redirect."""
    app.after_request(_record_refusal)


def _record_refusal(response):
    refused = g.get("refused")
    if response.status_code != 403 and not (refused and response.status_code >= 300):
        return response
    try:
        actor = _requester()
        db.session.rollback()       # whatever the refused request left uncommitted is dropped
        refused = refused or {}
        case_id = refused.get("case_id") or _case_of_url()
        task = SimpleNamespace(id=refused["task_id"], name=refused["task_name"]) if refused.get("task_id") else None
        with write_transaction():
            record(REFUSAL, actor, case_id, task=task,
                   detail=f"{request.method} {request.full_path.rstrip('?')}"[:1000],
                   after={"status": response.status_code})
    except Exception:  # noqa: BLE001 - the refusal stands even when its record cannot be written
        current_app.logger.exception("could not record a refused request")
    return response


def _requester():
    """The username of the API's bearer or the browser's session, else `-`."""
    user = g.get("user")
    if user is None and current_user.is_authenticated:
        user = current_user
    return user.username if user is not None else "-"


def _case_of_url():
    """The case a refused URL names, when it exists."""
    case_id = (request.view_args or {}).get("case_id")
    if isinstance(case_id, int) and db.session.get(Case, case_id) is not None:
        return case_id
    return None
