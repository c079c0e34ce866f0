"""Cases, the inbox projection of their ready tasks, and who takes part in them.

Inboxes, case lists and supervision read these indexed columns; only the engine reads `state`.
"""
from sqlalchemy import ForeignKey, Index, JSON, LargeBinary, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

CASE_STATUSES = ("open", "closed", "rejected", "refused", "errored", "withdrawn", "merged")


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_created", "status", "created_at"),
        Index("ix_cases_initiator_org_status", "initiator_org", "status"),
        Index("ix_cases_status_due", "status", "due_at"),
        Index("ix_cases_status_updated", "status", "updated_at"),
        Index("ix_cases_item_org", "list_item", "initiator_org", "created_at"),
        Index("ix_cases_process_created", "process_id", "created_at"),   # the reports: one period's calls
        Index("ix_cases_created", "created_at", "id"),                    # a search for a month, newest first
        Index("ix_cases_category_place", "category", "lat", "lng"),       # duplicates: a category, a box, then the distance
        Index("ix_cases_township_created", "township_code", "created_at"),  # the command view by place
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    process_version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    urgency: Mapped[str | None] = mapped_column(String(20))
    list_item: Mapped[str | None] = mapped_column(String(20))     # the responsibility-list item it is about
    list_version: Mapped[int | None]                               # the list version in force when it was raised
    initiator: Mapped[str] = mapped_column(String(50))
    initiator_org: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[bytes | None] = mapped_column(LargeBinary)
    row_version: Mapped[int] = mapped_column(default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow)
    closed_at = mapped_column(UTCDateTime)
    next_timer_at = mapped_column(UTCDateTime, index=True)
    due_at = mapped_column(UTCDateTime)          # the earliest deadline of its ready tasks
    listed: Mapped[bool] = mapped_column(default=False, server_default=false())    # 挂牌督办
    problem: Mapped[bool] = mapped_column(default=False, server_default=false())   # 问题工单 (reworked too often)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_element: Mapped[str | None] = mapped_column(String(100))
    # where and what a matter is (grid events and calls raised from them; a call with a location):
    # indexed columns the duplicate check and the command view read, never the state blob
    category: Mapped[str | None] = mapped_column(String(40))
    township_code: Mapped[str | None] = mapped_column(String(20))
    grid_code: Mapped[str | None] = mapped_column(String(20))
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    merged_into: Mapped[int | None]              # a `merged` case: the open case it was merged into

    __mapper_args__ = {"version_id_col": row_version}

    definition_row = relationship("ProcessVersion", lazy="joined", innerjoin=True)


class Task(db.Model):
    """One user task of a case, from the moment it becomes ready; kept after completion."""
    __tablename__ = "tasks"
    __table_args__ = (
        # the inbox: ready tasks of one queue, oldest first, with the claim filter inside the index
        Index("ix_tasks_ready_queue", "queue", "created_at", "id", "assignee",
              sqlite_where=text("status = 'ready'"), postgresql_where=text("status = 'ready'")),
        Index("ix_tasks_case_status", "case_id", "status"),
        Index("ix_tasks_status_due", "status", "due_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)   # the engine's task id
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    process_id: Mapped[str] = mapped_column(String(100))
    case_title: Mapped[str] = mapped_column(String(200), default="")
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(30))
    org_code: Mapped[str | None] = mapped_column(String(20))
    queue: Mapped[str] = mapped_column(String(60))   # "role@ORG", or "role@*" for a task open to the whole role
    form: Mapped[str | None] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(50), index=True)
    status: Mapped[str] = mapped_column(String(20), default="ready")   # ready, completed, cancelled, suspended
    kind: Mapped[str] = mapped_column(String(20), default="engine", server_default="engine")  # or order: 督办单
    subject_task_id: Mapped[str | None] = mapped_column(String(36))    # for an order: the task it is about
    created_at = mapped_column(UTCDateTime, default=utcnow)
    warn_at = mapped_column(UTCDateTime)       # yellow card from here on
    due_at = mapped_column(UTCDateTime)        # red card after this
    reminded_at = mapped_column(UTCDateTime)   # 催办 sent
    completed_at = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(50))
    result: Mapped[dict | None] = mapped_column(JSON)   # the form data the task was completed with


def queue_of(role, org_code):
    return f"{role}@{org_code or '*'}"


def queues_of(user):
    """The queues whose tasks reach `user`: per role, the user's own unit and the whole role."""
    out = []
    for role in user.roles:
        if user.org_code:
            out.append(queue_of(role, user.org_code))
        out.append(queue_of(role, None))
    return out


class CaseParticipant(db.Model):
    """An org unit (or, for tasks open to a whole role, the role) that takes part in a case."""
    __tablename__ = "case_participants"
    __table_args__ = (
        Index("ix_participants_org_case", "org_code", "case_id"),
        Index("ix_participants_role_case", "role", "case_id"),
        Index("ix_participants_case_org_role", "case_id", "org_code", "role"),   # a search's scope, probed per match
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    org_code: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(30))
