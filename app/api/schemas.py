"""marshmallow schemas of the JSON API: they validate input and describe the OpenAPI document."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, fields, validate


MAX_ID = 2 ** 31 - 1


def IdArg():
    """An integer id as a query argument: positive and within the database's integer range."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class Base(Schema):
    class Meta:
        unknown = EXCLUDE
        ordered = True


FIELD_ERRORS = {"type": "object", "additionalProperties": {"type": "string"},
                "description": "a form's or the request's invalid fields: {field: message} (nested as a.b)"}
DEPLOY_ERRORS = {"type": "array", "description": "what stops a deploy: [{element_id?, message, line?}]",
                 "items": {"type": "object", "required": ["message"], "properties": {
                     "element_id": {"type": "string", "nullable": True}, "message": {"type": "string"},
                     "name": {"type": "string", "description": "the element's name"},
                     "line": {"type": "integer", "nullable": True},
                     "detail": {"type": "string", "description": "the library's own words, for developers"},
                     "file": {"type": "string", "description": "the form file the problem is in"}}}}


class ApiError(Schema):
    """Every error the API answers: 4xx for the request, 503 while the database is unreachable."""
    class Meta:
        ordered = True

    error = fields.String(required=True, metadata={"description": "machine-readable code, e.g. not_found, invalid"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for people (Chinese)"})
    errors = fields.Raw(metadata={"oneOf": [FIELD_ERRORS, DEPLOY_ERRORS]})


TEXT = {"type": "string"}                       # the body of a text/csv or XML download
BINARY = {"type": "string", "format": "binary"}  # an XLSX download
TOTAL_COUNT = {"X-Total-Count": {"description": "how many items the download holds", "schema": {"type": "integer"}}}

NO_NUL = validate.Regexp(r"^[^\x00]*$", error="含有不允许的字符")


class TokenRequest(Base):
    username = fields.String(required=True, validate=[validate.Length(min=1, max=50), NO_NUL])
    password = fields.String(required=True, validate=[validate.Length(max=200), NO_NUL])


class Token(Base):
    token = fields.String(required=True)


class Org(Base):
    code = fields.String()
    name = fields.String()


class Me(Base):
    username = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    org = fields.Nested(Org, allow_none=True)


class Process(Base):
    process_id = fields.String()
    version = fields.Integer()
    name = fields.String()
    start_role = fields.String(allow_none=True)
    deployed_at = fields.String()
    deployed_by = fields.String()


class ProcessDetail(Process):
    start_form = fields.Dict(allow_none=True, metadata={"description": "JSON Schema of the data POST /cases takes"})
    tasks = fields.List(fields.Dict())


class PageArgs(Base):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CaseQuery(PageArgs):
    process_id = fields.String(validate=[validate.Length(max=100), NO_NUL])
    status = fields.String(validate=validate.OneOf(["open", "closed", "rejected", "refused", "errored", "withdrawn", "merged"]))
    stuck = fields.Boolean()
    q = fields.String(validate=[validate.Length(max=500), NO_NUL], metadata={
        "description": "words to search for: case number, title, description, replies, remarks, units, list "
                       "item, dates; the cases matching all of them, best first"})


class TaskQuery(PageArgs):
    process_id = fields.String(validate=[validate.Length(max=100), NO_NUL])
    case_id = IdArg()


class Task(Base):
    id = fields.String()
    case_id = fields.Integer()
    case_title = fields.String()
    process_id = fields.String()
    element_id = fields.String()
    name = fields.String()
    role = fields.String(allow_none=True)
    org = fields.String(allow_none=True)
    org_name = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.String()
    due_at = fields.String(allow_none=True)


class TaskDetail(Task):
    form = fields.Dict(allow_none=True, metadata={"description": "JSON Schema of the task's form"})
    data = fields.Dict()
    instructions = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.String(allow_none=True)
    context = fields.Dict(metadata={"description": "what the task's decision rests on, from its case's record: "
                                                   "{sections: [{key, title, note, entries, earlier}], call}; "
                                                   "entries are {title, text, fields, by, by_name, org, org_name, "
                                                   "at, files, tone, part, part_label, diff, answers, pending}"})


class Case(Base):
    id = fields.Integer()
    process_id = fields.String()
    process_version = fields.Integer()
    title = fields.String()
    status = fields.String()
    urgency = fields.String(allow_none=True)
    initiator = fields.String()
    initiator_org = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()
    closed_at = fields.String(allow_none=True)
    merged_into = fields.Integer(allow_none=True, metadata={"description": "a `merged` case: the case it was merged into"})


class Highlight(Base):
    title = fields.String(metadata={"description": "the title, HTML-escaped, the words found in <mark>"})
    label = fields.String(allow_none=True, metadata={"description": "where the snippet is from"})
    snippet = fields.String(allow_none=True, metadata={"description": "text around the first word found, HTML-escaped, "
                                                                      "the words in <mark>"})


class CaseFound(Case):
    highlight = fields.Nested(Highlight, metadata={"description": "with q only"})


class CaseDetail(Case):
    data = fields.Dict()
    current_tasks = fields.List(fields.Nested(Task))
    error = fields.Dict(allow_none=True)
    waiting = fields.List(fields.Nested("Waiting"), metadata={
        "description": "what the case waits for from outside: messages, signals, external tasks"})


class CaseCreate(Base):
    process_id = fields.String(required=True, validate=[validate.Length(min=1, max=100), NO_NUL])
    data = fields.Dict(load_default=dict)


class Complete(Base):
    data = fields.Dict(load_default=dict)


class CompleteResult(Base):
    case = fields.Nested(CaseDetail)
    next_tasks = fields.List(fields.Nested(Task))


def page_of(item_schema):
    return type(f"{item_schema.__name__}Page", (Base,), {
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(), "page": fields.Integer(), "per_page": fields.Integer()})


CasePage = type("CaseFoundPage", (Base,), {
    "items": fields.List(fields.Nested(CaseFound)),
    "total": fields.Integer(), "page": fields.Integer(), "per_page": fields.Integer(),
    "total_capped": fields.Boolean(metadata={
    "description": "present (true) when a search matched more than 1,000 cases: `total` is then 1,000 and the rest "
                   "were not counted"})})
TaskPage = page_of(Task)


class AuditEvent(Base):
    id = fields.Integer()
    at = fields.String()
    actor = fields.String()
    action = fields.String()
    case_id = fields.Integer(allow_none=True)
    task = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    org = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    detail = fields.String(allow_none=True)
    seq = fields.Integer(allow_none=True)
    hash = fields.String(allow_none=True)


# times the database converts to UTC without overflowing
AUDIT_TIMES = validate.Range(min=datetime(1900, 1, 1, tzinfo=timezone.utc), max=datetime(9000, 1, 1, tzinfo=timezone.utc),
                             error="时间超出范围")


class AuditQuery(Base):
    format = fields.String(load_default="jsonl", validate=validate.OneOf(["csv", "jsonl", "xlsx"]))
    case_id = IdArg()
    from_ = fields.AwareDateTime(data_key="from", default_timezone=ZoneInfo("Asia/Shanghai"), validate=AUDIT_TIMES)
    to = fields.AwareDateTime(default_timezone=ZoneInfo("Asia/Shanghai"), validate=AUDIT_TIMES)


class ListItem(Base):
    code = fields.String()
    domain = fields.String()
    name = fields.String()
    primary_org = fields.String()
    supporting = fields.List(fields.String())
    primary_duty = fields.String(allow_none=True)
    supporting_duty = fields.String(allow_none=True)
    legal_basis = fields.String(allow_none=True)
    instructions = fields.String(allow_none=True)
    limits = fields.Dict()


class ResponsibilityList(Base):
    version = fields.Integer()
    title = fields.String()
    published_at = fields.String()
    effective_date = fields.String(allow_none=True)
    items = fields.List(fields.Nested(ListItem))


class ListQuery(Base):
    version = IdArg()


class Stuck(Base):
    case_id = fields.Integer()
    case_title = fields.String()
    task = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    org = fields.String(allow_none=True)
    waiting_since = fields.String()
    due_at = fields.String(allow_none=True)
    reason = fields.String()


PERIOD = validate.Regexp(r"^(19|20)\d{2}(-(0[1-9]|1[0-2]))?$", error="统计期应为年份（如 2026）或年月（如 2026-11）")


class StatsQuery(Base):
    period = fields.String(validate=PERIOD, metadata={"description": "2026 or 2026-11 (county time); the current year if absent"})


class CountyReportQuery(Base):
    period = fields.String(validate=PERIOD, metadata={"description": "2026 or 2026-11; the current month if absent (the 考核报表 page opens on last month during a month's first days)"})


class Period(Base):
    key = fields.String()
    label = fields.String()
    start = fields.String(data_key="from", attribute="from")
    to = fields.String()
    basis = fields.String()


class Rates(Base):
    """Rates are fractions in [0, 1], null when there is nothing to measure (formulas: app/metrics.py)."""
    orders = fields.Integer(metadata={"description": "工单: calls dispatched to departments, one per department"})
    response_rate = fields.Float(allow_none=True, metadata={"description": "响应率"})
    resolution_rate = fields.Float(allow_none=True, metadata={"description": "解决率"})
    satisfaction_rate = fields.Float(allow_none=True, metadata={"description": "满意率"})
    timely_sign_rate = fields.Float(allow_none=True, metadata={"description": "及时签收率"})
    on_time_completion_rate = fields.Float(allow_none=True, metadata={"description": "按时办结率"})
    return_rate = fields.Float(allow_none=True, metadata={"description": "回退率"})
    rework_rate = fields.Float(allow_none=True, metadata={"description": "重办率"})
    reminder_rate = fields.Float(allow_none=True, metadata={"description": "催办率: the deadline timers' reminders "
                                                                           "and the townships' urges"})
    urges = fields.Integer(metadata={"description": "被催办次数: the calling townships' urges the orders received"})
    supervision_rate = fields.Float(allow_none=True, metadata={"description": "督办率"})
    overdue = fields.Integer(metadata={"description": "超期件数 (red cards)"})
    warnings = fields.Integer(metadata={"description": "yellow cards"})
    avg_sign_hours = fields.Float(allow_none=True)
    avg_completion_hours = fields.Float(allow_none=True)
    township_rating = fields.Float(allow_none=True, metadata={"description": "the townships' average rating, 1–5"})


class Stats(Rates):
    scope = fields.String()
    period = fields.Nested(Period)
    cases = fields.Dict(metadata={"description": "the caller's cases of every process by status, and their total (all time)"})
    calls = fields.Integer()


HIDDEN = "null in the row of another unit shown to a township or department (its rank alone)"


class DepartmentRow(Rates):
    org = fields.String(allow_none=True, metadata={"description": HIDDEN})
    name = fields.String()
    orders = fields.Integer(allow_none=True, metadata={"description": "工单; " + HIDDEN})
    urges = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    overdue = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    warnings = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    flags = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    supervision_orders = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    stationed_rating = fields.Float(allow_none=True, metadata={
        "description": "派驻机构评价: the townships' ratings (1–5) of its stationed agencies; " + HIDDEN})
    stationed_ratings = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    platform_score = fields.Float(allow_none=True)
    score = fields.Float(allow_none=True)
    rank = fields.Integer(allow_none=True)
    list = fields.String(allow_none=True, metadata={"description": "red (红榜), black (黑榜) or null"})


class TownshipRow(Base):
    org = fields.String(allow_none=True, metadata={"description": HIDDEN})
    name = fields.String()
    calls = fields.Integer(allow_none=True, metadata={"description": "calls raised, those withdrawn aside; " + HIDDEN})
    withdrawn = fields.Integer(allow_none=True, metadata={"description": "calls withdrawn by the township before "
                                                                          "acceptance; " + HIDDEN})
    closed = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    rejected = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    invalid_call_rate = fields.Float(allow_none=True, metadata={"description": "无效呼叫率"})
    orders = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    resolution_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)
    rating_received = fields.Float(allow_none=True, metadata={"description": "the departments' rating (一呼一评)"})
    flags = fields.Integer(allow_none=True, metadata={"description": HIDDEN})
    score = fields.Float(allow_none=True)
    rank = fields.Integer(allow_none=True)
    list = fields.String(allow_none=True)


class TrendPoint(Base):
    month = fields.String()
    calls = fields.Integer()
    orders = fields.Integer()
    response_rate = fields.Float(allow_none=True)
    resolution_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)


class StationedRow(Base):
    org = fields.String()
    name = fields.String()
    township = fields.String(allow_none=True)
    township_name = fields.String(allow_none=True)
    home = fields.String(allow_none=True)
    home_name = fields.String(allow_none=True)
    events = fields.Integer(metadata={"description": "events handled (completed 'handle' tasks) in the period"})
    ratings = fields.Integer()
    rating = fields.Float(allow_none=True)
    satisfied_share = fields.Float(allow_none=True)


class OwnRank(Base):
    rows = fields.String(metadata={"description": "departments or townships: the list the unit is ranked in"})
    org = fields.String()
    rank = fields.Integer(allow_none=True)
    ranked = fields.Integer(metadata={"description": "how many units of its kind are ranked"})


class Report(Base):
    period = fields.Nested(Period)
    weights = fields.Dict()
    totals = fields.Dict()
    own = fields.Nested(OwnRank, metadata={"description": "only for a township or department: its own rank; "
                                                           "the other units' rows then carry their rank alone"})
    departments = fields.List(fields.Nested(DepartmentRow))
    townships = fields.List(fields.Nested(TownshipRow))
    trend = fields.List(fields.Nested(TrendPoint))
    stationed = fields.List(fields.Nested(StationedRow), metadata={
        "description": "the stationed agencies (派驻机构) and their townships' ratings (一事一评); a department "
                       "sees its own agencies, a township those stationed with it"})


class Weights(Base):
    response = fields.Float()
    resolution = fields.Float()
    satisfaction = fields.Float()
    township_weight = fields.Float()
    stationed_weight = fields.Float()
    flag_deduction = fields.Float()
    order_deduction = fields.Float()
    invalid_call_deduction = fields.Float()
    list_size = fields.Integer()
    min_volume = fields.Integer()


class WeightsIn(Schema):
    """PUT /reports/weights: the weights to change, each within its range (the three rates' sum above 0)."""
    class Meta:
        ordered = True

    response = fields.Float(validate=validate.Range(min=0, max=1))
    resolution = fields.Float(validate=validate.Range(min=0, max=1))
    satisfaction = fields.Float(validate=validate.Range(min=0, max=1))
    township_weight = fields.Float(validate=validate.Range(min=0, max=1))
    stationed_weight = fields.Float(validate=validate.Range(min=0, max=1))
    flag_deduction = fields.Float(validate=validate.Range(min=0, max=100))
    order_deduction = fields.Float(validate=validate.Range(min=0, max=100))
    invalid_call_deduction = fields.Float(validate=validate.Range(min=0, max=100))
    list_size = fields.Integer(strict=True, validate=validate.Range(min=1, max=50))
    min_volume = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))


DURATION = validate.Regexp(r"^P(?!T?$)(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$",
                           error="应为 ISO 8601 时长，如 PT2H 或 P5D")      # deadlines.parse_limit


class SettingsIn(Base):
    """PUT /settings/supervision: limits per kind and urgency (PT2H on the clock, P5D in working days),
    each at most 366 working days or 366 days of clock time (deadlines.MAX_LIMIT_DAYS)."""
    limits = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String(
        validate=DURATION)))
    listing_after = fields.String(validate=DURATION)
    max_reworks = fields.Integer(strict=True, validate=validate.Range(min=1, max=100))         # deadlines.MAX_COUNTS
    max_extension_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=366))
    idle_hours = fields.Integer(strict=True, validate=validate.Range(min=1, max=24 * 366))


class StuckQuery(Base):
    department = fields.String(validate=[validate.Length(max=20), NO_NUL])
    township = fields.String(validate=[validate.Length(max=20), NO_NUL])
    urgency = fields.String(validate=validate.OneOf(["normal", "urgent", "emergency"]))
    min_age_hours = fields.Integer(validate=validate.Range(min=1, max=24 * 3650))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class StuckRow(Stuck):
    element_id = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)
    process_id = fields.String()
    process_version = fields.Integer()
    urgency = fields.String(allow_none=True)
    township = fields.String(allow_none=True)


class FlagIn(Base):
    org = fields.String(required=True, validate=[validate.Length(min=1, max=20), NO_NUL])
    kind = fields.String(required=True, validate=validate.OneOf(
                             ["improper_call", "failed_to_call", "no_response", "inaction"],
                             error="应为 improper_call、failed_to_call、no_response 或 inaction"),
                         metadata={"description": "乱呼叫, 应呼未呼 (a township); 呼叫不响应, 响应不作为 (a department)"})
    evidence = fields.String(required=True, validate=[validate.Length(max=5000), NO_NUL])
    case_id = IdArg()


class FlagOut(Base):
    id = fields.Integer()
    org = fields.String()
    kind = fields.String()
    label = fields.String()
    case_id = fields.Integer(allow_none=True)
    evidence = fields.String()
    created_by = fields.String()
    created_at = fields.String()


class ExtensionIn(Base):
    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=365))
    reason = fields.String(required=True, validate=[validate.Length(max=2000), NO_NUL])


class ExtensionDecision(Base):
    approved = fields.Boolean(required=True, truthy={True}, falsy={False})
    opinion = fields.String(load_default="", validate=[validate.Length(max=2000), NO_NUL])


class ExtensionOut(Base):
    id = fields.Integer()
    task_id = fields.String()
    case_id = fields.Integer()
    org = fields.String(allow_none=True)
    requested_by = fields.String()
    days = fields.Integer()
    reason = fields.String()
    status = fields.String()
    old_due_at = fields.String(allow_none=True)
    new_due_at = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    opinion = fields.String(allow_none=True)
    created_at = fields.String()


class CalendarDayIn(Base):
    kind = fields.String(required=True, validate=validate.OneOf(["holiday", "workday"]))
    name = fields.String(load_default="", validate=[validate.Length(max=100), NO_NUL])


class CalendarDayOut(Base):
    day = fields.String()
    kind = fields.String()
    name = fields.String()


class CalendarQuery(Base):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class ListVersionOut(Base):
    version = fields.Integer()
    title = fields.String()
    published_at = fields.String()
    published_by = fields.String()
    effective_date = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class DiffQuery(Base):
    from_ = fields.Integer(data_key="from", required=True, validate=validate.Range(min=1, max=MAX_ID))
    to = IdArg()


class VersionQuery(Base):
    version = IdArg()


class ReportQuery(Base):
    item_code = fields.String(required=True, validate=[validate.Length(max=20), NO_NUL])
    township = fields.String(required=True, validate=[validate.Length(max=20), NO_NUL])
    incident_date = fields.String(required=True, validate=[validate.Length(max=10), NO_NUL])


class ReviewIn(ReportQuery):
    description = fields.String(required=True, validate=[validate.Length(max=5000), NO_NUL])
    decision = fields.String(required=True, validate=validate.OneOf(["exempt", "accountable"],
                                                                     error="应为 exempt（免责）或 accountable（问责）"),
                             metadata={"description": "exempt (免责) | accountable (问责)"})
    reason = fields.String(required=True, validate=[validate.Length(max=5000), NO_NUL])


class ReviewOut(Base):
    id = fields.Integer()
    item_code = fields.String()
    township = fields.String()
    incident_date = fields.String()
    description = fields.String()
    report = fields.Dict()
    proposal = fields.String()
    decision = fields.String()
    reason = fields.String()
    decided_by = fields.String()
    decided_at = fields.String()


class DeployedProcess(Base):
    process_id = fields.String()
    version = fields.Integer()
    created = fields.Boolean()


class ReportLine(Base):
    element_id = fields.String(allow_none=True)
    message = fields.String()


class DeployOut(Base):
    process_id = fields.String()
    version = fields.Integer()
    created = fields.Boolean()
    deployed_at = fields.String()
    processes = fields.List(fields.Nested(DeployedProcess),
                            metadata={"description": "every process of the upload, the main one first"})
    report = fields.List(fields.Nested(ReportLine), metadata={
        "description": "what was mapped from Camunda/Zeebe extensions, read loosely or ignored, and why"})


class VersionOut(Base):
    version = fields.Integer()
    deployed_at = fields.String()
    deployed_by = fields.String()
    checksum = fields.String()
    open_cases = fields.Integer()
    cases = fields.Integer()


class VersionPair(Base):
    from_ = fields.Integer(data_key="from", required=True, validate=validate.Range(min=1, max=MAX_ID))
    to = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))


class MigrationIn(VersionPair):
    case_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=MAX_ID)), validate=validate.Length(max=10000))


class AuditVerifyQuery(Base):
    since = fields.String(validate=validate.OneOf(["checkpoint"]), metadata={
        "description": "checkpoint: only the events after the last point a verification found intact"})


class AuditVerify(Base):
    ok = fields.Boolean()
    events_checked = fields.Integer()
    from_seq = fields.Integer(metadata={"description": "the first sequence number walked"})
    to_seq = fields.Integer(metadata={"description": "the chain's head when the walk began: the last one walked"})
    incremental = fields.Boolean(metadata={"description": "whether the walk began at the last checkpoint"})
    first_bad_event = fields.Dict(metadata={"description": "{id, seq, at, action, reason} of the first broken link"})


# --- sessions and tokens (app.auth) ------------------------------------------------------------
class IssuedToken(Token):
    expires_at = fields.String(metadata={"description": "when the token stops working (ISO 8601), unless revoked"})


class Revoked(Base):
    username = fields.String()
    sessions = fields.Integer(metadata={"description": "browser sessions ended"})
    tokens = fields.Integer(metadata={"description": "API tokens revoked"})


# --- notifications ----------------------------------------------------------------------------
NOTIFICATION_KINDS = ["task_ready", "deadline_warning", "deadline_passed", "supervision_order", "comment", "urge",
                      "case_closed", "case_rejected", "case_withdrawn", "dispatch_changed"]   # app/notifications.py KINDS


class NotificationQuery(PageArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "true: only the unread ones"})


class NotificationOut(Base):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": NOTIFICATION_KINDS})
    case_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    text = fields.String()
    at = fields.String()
    read = fields.Boolean()
    link = fields.String(allow_none=True, metadata={"description": "the path of the task (or case) in the web app"})


class NotificationPage(Base):
    items = fields.List(fields.Nested(NotificationOut))
    total = fields.Integer()
    unread = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ReadAll(Base):
    marked = fields.Integer(metadata={"description": "how many were unread"})
    unread = fields.Integer()


class ChannelChoice(Base):
    app = fields.Boolean()
    email = fields.Boolean()


class Preferences(Base):
    email = fields.String(allow_none=True)
    email_enabled = fields.Boolean(metadata={"description": "whether the server sends e-mail at all (SMTP set up)"})
    kinds = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFICATION_KINDS)),
                        values=fields.Nested(ChannelChoice))


class PreferencesIn(Base):
    email = fields.String(allow_none=True, validate=[validate.Length(max=200), NO_NUL],
                          metadata={"description": "\"\" or null: no e-mail"})
    kinds = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFICATION_KINDS)),
                        values=fields.Nested(ChannelChoice))


class RobotOut(Base):
    org = fields.String()
    org_name = fields.String(allow_none=True)
    configured = fields.Boolean()
    platform = fields.String(allow_none=True, metadata={"enum": ["wecom", "dingtalk"]})
    webhook_url = fields.String(allow_none=True, metadata={"description": "its key masked"})
    has_secret = fields.Boolean()
    secret = fields.String(allow_none=True, metadata={"description": "masked: its last characters only"})
    kinds = fields.List(fields.String())
    enabled = fields.Boolean()


class RobotIn(Base):
    platform = fields.String(required=True, allow_none=True, validate=validate.OneOf(["wecom", "dingtalk"]),
                             metadata={"description": "null removes the unit's robot"})
    webhook_url = fields.String(validate=[validate.Length(min=1, max=500), NO_NUL],
                                metadata={"description": "https to the platform's host; omitted: the stored one"})
    secret = fields.String(validate=[validate.Length(max=200), NO_NUL],
                           metadata={"description": "钉钉's signing secret (SEC…); omitted: kept, \"\": removed"})
    kinds = fields.List(fields.String(validate=validate.OneOf(NOTIFICATION_KINDS)))
    enabled = fields.Boolean(load_default=True)


class OutboxQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(["pending", "sending", "sent", "failed"]))


class OutboxMessageOut(Base):
    id = fields.Integer()
    channel = fields.String(metadata={"enum": ["email", "robot"]})
    recipient = fields.String()
    kind = fields.String()
    case_id = fields.Integer(allow_none=True)
    subject = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String()
    sent_at = fields.String(allow_none=True)


class OutboxPage(Base):
    items = fields.List(fields.Nested(OutboxMessageOut))
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    page = fields.Integer()
    per_page = fields.Integer()


class AttachmentOut(Base):
    """A file on a case (CONTRACT §6); its bytes at GET /attachments/{id}."""
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    task_id = fields.String(allow_none=True, metadata={"description": "the step it is about, if any"})
    name = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    content_type = fields.String(required=True, metadata={"description": "as found in the file's bytes"})
    sha256 = fields.String(required=True, metadata={"description": "SHA-256 of the bytes, hex; on the audit trail"})
    note = fields.String(allow_none=True)
    uploaded_by = fields.String(required=True)
    uploaded_org = fields.String(allow_none=True)
    uploaded_at = fields.String(required=True, metadata={"format": "date-time"})
    thumbnail = fields.Boolean(metadata={"description": "an image: a JPEG thumbnail at /attachments/{id}/thumbnail"})


class AttachmentPage(Base):
    items = fields.List(fields.Nested(AttachmentOut), required=True)
    total = fields.Integer(required=True)


UPLOAD_FORM = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "a photo (JPEG, PNG, WebP, HEIC), PDF, Office or WPS document, MP4 or "
                                           "MOV video; its type is checked by its bytes"},
                   "task_id": {"type": "string", "maxLength": 36, "description": "the step of the case it is about"},
                   "note": {"type": "string", "maxLength": 2000}}}}}}


# --- the conversation on a case: remarks, urges, withdrawal ------------------------------------------
TEXT_2000 = [validate.Length(min=1, max=2000), NO_NUL]


class CommentIn(Base):
    text = fields.String(required=True, validate=TEXT_2000,
                         metadata={"description": "the remark, at most 2000 characters"})
    task_id = fields.String(allow_none=True, validate=validate.Length(max=36),
                            metadata={"description": "the step of the case the remark is about"})


class Comment(Base):
    id = fields.Integer()
    case_id = fields.Integer()
    author = fields.String(metadata={"description": "username"})
    author_name = fields.String()
    author_org = fields.String(allow_none=True)
    author_org_name = fields.String(allow_none=True)
    text = fields.String()
    at = fields.String()
    task_id = fields.String(allow_none=True)
    task_name = fields.String(allow_none=True)


CommentPage = page_of(Comment)


class UrgeIn(Base):
    text = fields.String(required=True, validate=TEXT_2000,
                         metadata={"description": "what the township asks, at most 2000 characters"})


class UrgedUnit(Base):
    unit = fields.String(metadata={"description": "org code, or the role of a step open to the whole role"})
    org = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    name = fields.String()
    task_id = fields.String(allow_none=True)
    task_name = fields.String(allow_none=True)


class Urge(Base):
    id = fields.Integer()
    case_id = fields.Integer()
    text = fields.String()
    urged_by = fields.String()
    urged_by_name = fields.String()
    urged_org = fields.String(allow_none=True)
    at = fields.String()
    working_day = fields.String(metadata={"description": "the working day it counts for (YYYY-MM-DD, county time)"})
    units = fields.List(fields.Nested(UrgedUnit))


class UrgeList(Base):
    items = fields.List(fields.Nested(Urge))
    total = fields.Integer()


class RedispatchIn(Base):
    lead_department = fields.String(required=True, validate=validate.Length(min=1, max=20),
                                    metadata={"description": "the new lead department (org code)"})
    co_departments = fields.List(fields.String(validate=validate.Length(min=1, max=20)), load_default=list,
                                 validate=validate.Length(max=200),
                                 metadata={"description": "the new cooperating departments (org codes); not the lead"})
    reason = fields.String(required=True, validate=TEXT_2000, metadata={"description": "why the dispatch is corrected"})


class WithdrawIn(Base):
    reason = fields.String(required=True, validate=TEXT_2000,
                           metadata={"description": "why the township withdraws its call"})


# --- messages and external tasks (CONTRACT §7) ---------------------------------------------------
class Waiting(Base):
    kind = fields.String(metadata={"description": "message, signal or external (an external task; name is its topic)"})
    name = fields.String()
    element_id = fields.String(allow_none=True)
    since = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "of an external task: open or incident"})
    error = fields.String(allow_none=True)


class MessageIn(Base):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), NO_NUL],
                         metadata={"description": "the message's (or signal's) name, as in the BPMN file"})
    case_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID),
                             metadata={"description": "the case to deliver to; without it, starts the processes "
                                                      "whose message start event has that name"})
    data = fields.Dict(load_default=dict, metadata={"description": "variables the message carries into the case"})


class MessageResult(Base):
    delivered = fields.Integer(required=True)
    case_ids = fields.List(fields.Integer(), required=True)


class FetchTopic(Base):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), NO_NUL])
    lock_seconds = fields.Integer(required=True, validate=validate.Range(min=1, max=24 * 3600))


WORKER_ID = dict(required=True, validate=[validate.Length(min=1, max=200), NO_NUL],
                 metadata={"description": "the worker's own name; a task locked by one worker is refused to another"})


class FetchAndLock(Base):
    worker_id = fields.String(**WORKER_ID)
    topics = fields.List(fields.Nested(FetchTopic), required=True, validate=validate.Length(min=1, max=50))
    max_tasks = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class ExternalTaskOut(Base):
    id = fields.String(required=True)
    case_id = fields.Integer(required=True)
    topic = fields.String(required=True)
    variables = fields.Dict(required=True, metadata={"description": "the case's variables when the task became ready"})
    process_id = fields.String()
    element_id = fields.String()
    name = fields.String()
    status = fields.String()
    worker_id = fields.String(allow_none=True)
    lock_expires_at = fields.String(allow_none=True)
    retries = fields.Integer(allow_none=True)
    error_message = fields.String(allow_none=True)


class ExternalComplete(Base):
    worker_id = fields.String(**WORKER_ID)
    variables = fields.Dict(load_default=dict, metadata={"description": "variables that land in the case"})


class ExternalFailure(Base):
    worker_id = fields.String(**WORKER_ID)
    message = fields.String(required=True, validate=[validate.Length(min=1, max=2000), NO_NUL])
    retries = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100),
                             metadata={"description": "retries left; 0 makes it an incident on the stuck board"})
    retry_seconds = fields.Integer(load_default=0, validate=validate.Range(min=0, max=7 * 24 * 3600))
