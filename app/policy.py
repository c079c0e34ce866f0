"""Who may do what: the one place that decides, for the browser and the API alike.

- CAPABILITIES, role × capability: each capability is named by what it allows and is held by some
  roles, or by every signed-in user (ANYONE).
- The org scope: which cases and tasks a user may see or act on (the SQL is app/scope.py's). A
  case or task the user may not know exists is not found (404); a task of a case they may see,
  but not theirs to act on, is forbidden (403). Roles come first: a refusal by role says nothing
  of the target.
- ROUTES: the rule of every route, by endpoint (and method). tests/test_policy_routes.py tries
  every route as every demo role, so a new route fails the suite until it has its rule here.

Domain functions ask `require(user, capability, case=…, task=…, process=…)` with the user they
already receive, before they look at their input; pages and templates (`can(…)`) ask `allows`
what to offer. A page that reads its query or form before any domain function is asked asks
`require` first, so that a refusal never depends on the input. Every refusal `require` raises is
noted for the audit trail (audit.record_refusals), whether the answer is a 403, a 404 or a
message on the page the user came from.
"""
from flask import g, has_request_context
from sqlalchemy import true

from . import scope
from .errors import Forbidden, NotFound
from .roles import ROLES

ANYONE = "*"   # every signed-in user, whatever their roles

# capability: (the roles holding it, what it allows — a refusal says 只有…可以<that>). What ANYONE
# may read of the reference data (processes, the list, the calendar, settings, weights) needs
# nothing beyond signing in; narrowing one of those means asking `require` where it is read.
CAPABILITIES = {
    "inbox.read": (ANYONE, "查看待办"),
    "case.read": (ANYONE, "查看案件"),                    # a case of one's scope, else not found
    "case.read_all": (("center", "supervisor", "analyst", "admin"), "查看全部案件"),
    "case.start": (ANYONE, "发起案件"),                   # and only the roles the process's start names
    "case.retry": (("supervisor", "admin"), "重试异常案件"),
    "case.take_part": (ANYONE, "参与案件"),               # remarks, files: one's unit takes part, or centre/supervisor
    "case.urge": (("township",), "催办"),                 # only the township that raised the call
    "case.withdraw": (("township",), "撤回呼叫"),         # likewise, and only before the centre accepts it
    "case.redispatch": (("center",), "改派"),             # and only before any department signed for it
    "task.read": (ANYONE, "查看任务"),                    # addressed to one, or of a case one may see
    "task.complete": (ANYONE, "办理任务"),                # addressed to one's role (and unit)
    "task.claim": (ANYONE, "认领任务"),                   # likewise
    "extension.request": (ANYONE, "申请延期"),            # on one's own task of a process step
    "extension.read": (ANYONE, "查看延期申请"),           # those of one's own unit
    "extension.read_all": (("center", "supervisor"), "查看全部延期申请"),
    "extension.decide": (("center",), "审批延期"),
    "process.read": (ANYONE, "查看已部署的流程"),
    "process.manage": (("analyst", "admin"), "进入流程管理"),
    "process.deploy": (("analyst",), "部署流程"),
    "process.diff": (("analyst", "admin"), "比较流程版本"),
    "process.preview_migration": (("analyst", "admin"), "预览案件迁移"),
    "process.migrate": (("analyst",), "迁移案件"),
    "supervision.read": (("supervisor",), "查看督办看板和问题标记"),
    "flag.raise": (("supervisor",), "标记问题单位"),
    "list.read": (ANYONE, "查看责任清单"),
    "accountability.read": (("supervisor",), "查看问责审查"),
    "accountability.decide": (("supervisor",), "作出问责认定"),
    "audit.export": (("supervisor", "admin"), "查询和导出留痕"),
    "audit.verify": (("supervisor", "admin"), "校验留痕哈希链"),
    "report.read": (("supervisor", "leader", "center", "admin", "township", "department"), "查看考核报表"),
    "report.read_all": (("supervisor", "leader", "center", "admin"), "查看全部单位的考核"),   # else one's own unit
    "stats.read": (ANYONE, "查看统计"),                   # of one's own scope
    "stats.county": (("center", "supervisor", "analyst", "admin", "leader"), "查看全县统计"),
    "weights.read": (ANYONE, "查看考核权重"),
    "weights.edit": (("admin",), "修改考核权重"),
    "calendar.read": (ANYONE, "查看工作日历"),
    "calendar.edit": (("admin",), "修改工作日历"),
    "settings.read": (ANYONE, "查看督办设置"),
    "settings.edit": (("admin",), "修改督办设置"),
    "user.revoke": (("admin",), "撤销他人的登录"),
    "users.manage": (("admin",), "管理用户"),              # create, change, disable, reset passwords
    "orgs.manage": (("admin",), "管理单位"),               # create, rename, deactivate org units
    "account.password": (ANYONE, "修改自己的密码"),
    "notification.read": (ANYONE, "查看通知"),             # one's own; anyone else's is not found
    "notification.settings": (ANYONE, "设置自己的通知"),
    "robot.manage": (("admin",), "设置单位的群机器人"),
    "outbox.read": (("admin",), "查看通知发送情况"),
    "outbox.retry": (("admin",), "重新发送通知"),
    "case.merge": (("platform", "center"), "合并重复的事件或呼叫"),
    "case.raise_call": (("platform",), "把网格事件呼叫到县级"),        # the platforms of the event's township   # the platform its township's events, the centre calls
    "command.read": (("leader", "center", "supervisor", "township"), "查看综合指挥"),   # a township its own
    "command.county": (("leader", "center", "supervisor"), "查看全县综合指挥"),
    "geo.read": (ANYONE, "查看网格地图"),                 # one's own township's outlines; county roles all
    "message.send": (ANYONE, "发送消息"),                 # to a case one acts on, or to start a process one may
    "external_task.work": (("integration",), "领取和办理外部任务"),
}
# an account that holds only the integration role is a program: of what every signed-in user may,
# it may only send messages and read the reference data (which needs nothing beyond signing in)
INTEGRATION_MAY = {"message.send", "process.read", "list.read", "weights.read", "calendar.read", "settings.read"}


# --- deciding ---------------------------------------------------------------------------------------
def _holds(user, capability):
    roles = CAPABILITIES[capability][0]
    if roles == ANYONE and capability not in INTEGRATION_MAY and set(user.roles or ()) == {"integration"}:
        return False
    return roles == ANYONE or user.has_role(*roles)


def _only(capability):
    roles, label = CAPABILITIES[capability]
    return Forbidden(f"只有{'、'.join(ROLES.get(r, r) for r in roles)}可以{label}")


def sees_case(user, case_id):
    """Whether `user` may see the case: every case, or one their unit (or role) takes part in."""
    return _holds(user, "case.read_all") or scope.took_part(user, case_id)


def _case_in_scope(user, case=None, **_):
    if case is not None and not sees_case(user, case.id):
        return NotFound("案件不存在或无权查看")
    return None


# who takes part in every case they see, besides the units (and roles) recorded as participants
PARTAKING_ROLES = ("center", "supervisor")


def takes_part(user, case_id):
    """Whether `user` takes part in the case: their unit (or role) is one of its participants, or
    they are the response centre or the supervisor, who take part in every call."""
    return user.has_role(*PARTAKING_ROLES) or scope.took_part(user, case_id)


def _taking_part(user, case=None, **_):
    """Acting on a case (a remark, a file) needs taking part in it; a case one may see without
    taking part (an analyst, a leader) is forbidden, one out of sight not found."""
    if case is None or takes_part(user, case.id):
        return None
    return Forbidden("只有参与此案件的单位可以这样做") if sees_case(user, case.id) else NotFound("案件不存在或无权查看")


def _calling_township(label):
    """Urging and withdrawing a call are the calling township's: another unit that sees the case is
    forbidden, one that does not is not told it exists."""
    def rule(user, case=None, **_):
        if case is None or (user.org_code and case.initiator_org == user.org_code):
            return None
        return Forbidden(f"只有发起呼叫的乡镇可以{label}") if sees_case(user, case.id) else NotFound("案件不存在或无权查看")
    return rule


def _task_in_sight(user, task=None, **_):
    if task is not None and not (scope.addressed_to(user, task) or sees_case(user, task.case_id)):
        return NotFound("任务不存在或无权查看")
    return None


def _own_task(message, engine_only=False):
    """A task one acts on is addressed to one's role and unit; one that is not is forbidden when
    its case is in sight, else not found."""
    def rule(user, task=None, **_):
        if task is None or (scope.addressed_to(user, task) and (task.kind == "engine" or not engine_only)):
            return None
        return Forbidden(message) if sees_case(user, task.case_id) else NotFound("任务不存在或无权查看")
    return rule


def _starter(user, process=None, **_):
    """A process may be started by the roles its start event names (anyone when it names none)."""
    roles = [r for r in ((process.start_role or "") if process is not None else "").split(",") if r]
    if roles and not user.has_role(*roles):
        return Forbidden(f"只有{'、'.join(ROLES.get(r, r) for r in roles)}可以发起此流程")
    return None


def _message_target(user, case=None, process=None, **_):
    """A message goes to a case one acts on (one's unit or role takes part in it, or the centre and the
    supervisor, or an integration program), or starts a process one may start."""
    if case is not None:
        if user.has_role("integration") or takes_part(user, case.id):
            return None
        return Forbidden("只有参与此案件的单位或系统集成可以向它发送消息") if sees_case(user, case.id) \
            else NotFound("案件不存在或无权查看")
    if process is not None and not user.has_role("integration"):
        return _starter(user, process=process)
    return None


def _own_notification(user, notification=None, **_):
    if notification is not None and notification.user_id != user.id:
        return NotFound("通知不存在")
    return None


def _platform_of_its_township(user, case):
    """Whether `user` belongs to a platform of the township the case arose in."""
    org = getattr(user, "org", None)
    return org is not None and org.kind == "platform" and bool(case.township_code) \
        and org.parent_code == case.township_code


def _merging(user, case=None, **_):
    """Merging duplicates (and keeping them apart): the township's platform its grid events, the centre
    calls; a case out of sight is not found."""
    if case is None:
        return None
    if not sees_case(user, case.id):
        return NotFound("案件不存在或无权查看")
    if user.has_role("platform") and case.process_id == "grid_event" and _platform_of_its_township(user, case):
        return None
    if user.has_role("center") and case.process_id == "call_response":
        return None
    return Forbidden("只有本乡镇的平台可以合并事件，只有县级响应中心可以合并呼叫")


def _township_platform(user, case=None, **_):
    """Raising a call from a grid event: a platform of the event's township."""
    if case is None or _platform_of_its_township(user, case):
        return None
    return Forbidden("只有事件所属乡镇的平台可以把事件呼叫到县级")


_TARGET_RULES = {
    "notification.read": _own_notification,
    "case.read": _case_in_scope,
    "case.redispatch": _case_in_scope,
    "case.start": _starter,
    "case.take_part": _taking_part,
    "case.urge": _calling_township("催办"),
    "case.withdraw": _calling_township("撤回呼叫"),
    "task.read": _task_in_sight,
    "task.complete": _own_task("此任务不属于您的岗位或单位"),
    "task.claim": _own_task("此任务不属于您的岗位或单位"),
    "extension.request": _own_task("只能为本单位的待办任务申请延期", engine_only=True),
    "message.send": _message_target,
    "case.merge": _merging,
    "case.raise_call": _township_platform,
}


def refusal(user, capability, case=None, task=None, process=None, notification=None):
    """The error refusing `user` the capability (on the case, task or process given), or None
    when it is allowed. The role comes first, so a refusal by role says nothing of the target."""
    if not getattr(user, "is_authenticated", False):
        return Forbidden("请先登录")
    if not _holds(user, capability):
        return _only(capability)
    rule = _TARGET_RULES.get(capability)
    return rule(user, case=case, task=task, process=process, notification=notification) if rule is not None \
        else None


def allows(user, capability, **target):
    return refusal(user, capability, **target) is None


def require(user, capability, **target):
    """Raise the refusal (Forbidden or NotFound) when `user` may not; note it for the audit trail."""
    error = refusal(user, capability, **target)
    if error is None:
        return
    if has_request_context():
        task, case = target.get("task"), target.get("case")
        g.refused = {"case_id": case.id if case is not None else getattr(task, "case_id", None),
                     "task_id": getattr(task, "id", None), "task_name": getattr(task, "name", None)}
    raise error


# --- the org scope as SQL ------------------------------------------------------------------------------
def case_filter(user):
    """A WHERE clause on Case selecting the cases `user` may see."""
    return true() if _holds(user, "case.read_all") else scope.cases_taken_part_in(user)


def participation_filter(user):
    """A WHERE clause on CaseParticipant: the participations that make cases visible to `user`, or
    None when `user` sees every case."""
    return None if _holds(user, "case.read_all") else scope.participant_filter(user)


def participation_keys(user):
    """participation_filter(user) as the search index's keys (scope.participation_keys), or None."""
    return None if _holds(user, "case.read_all") else scope.participation_keys(user)


def stats_scope(user):
    """(cases, department) that `user`'s own figures count: cases None for the whole county, else a
    WHERE clause on Case; department the unit whose work orders alone count (a department's own
    orders, not those of the departments it shares calls with), else None."""
    if _holds(user, "stats.county"):
        return None, None
    department = user.org_code if user.has_role("department") and not user.has_role("township") else None
    return case_filter(user), department


def report_view(user):
    """Whose figures `user` sees on the assessment report: None for every unit (supervisor,
    leaders, centre, admin); else (rows, org code, cases, department) — a township or department
    sees its own row of `rows` ("townships" or "departments") in full and only the rank of the
    others, and county figures (the three rates, the trend) of its own scope, as stats_scope."""
    if _holds(user, "report.read_all"):
        return None
    cases, department = stats_scope(user)
    rows = "departments" if department else "townships"
    return rows, user.org_code, cases, department


# --- the rule of every route ------------------------------------------------------------------------
PUBLIC = "public"          # no sign-in needed
SIGNED_IN = "signed_in"    # any signed-in user, about themself

ROUTES = {
    "static": PUBLIC,
    "web.healthz": PUBLIC,
    "web.login": PUBLIC,
    "web.logout": PUBLIC,
    "api.token": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    "api.me": SIGNED_IN,
    "api.logout": SIGNED_IN,
    "api.revoke_user": "user.revoke",
    # cases and tasks
    "web.inbox": "inbox.read",
    "api.inbox": "inbox.read",
    "web.case_list": "case.read",
    "api.list_cases": "case.read",
    "web.case_page": "case.read",
    "api.get_case": "case.read",
    "api.case_audit": "case.read",
    "audit.dossier": "case.read",
    # evidence: who may see a case sees its files; who takes part in it adds them
    "api.attachments": {"GET": "case.read", "POST": "case.take_part"},
    "web.add_attachments": "case.take_part",
    "api.download_attachment": "case.read",
    "api.attachment_thumbnail": "case.read",
    "web.attachment_file": "case.read",
    "web.attachment_thumbnail": "case.read",
    "web.new_case": "case.start",
    "api.create_case": "case.start",
    "web.task_page": {"GET": "task.read", "POST": "task.complete"},
    "api.get_task": "task.read",
    "api.complete": "task.complete",
    "web.claim": "task.claim",
    "web.unclaim": "task.claim",
    "api.claim": "task.claim",
    "api.unclaim": "task.claim",
    "supervision.retry": "case.retry",
    # the conversation on a case: remarks, urges, withdrawal
    "api.comments": {"GET": "case.read", "POST": "case.take_part"},
    "web.add_comment": "case.take_part",
    "api.list_urges": "case.read",
    "api.urge_case": "case.urge",
    "web.urge_case": "case.urge",
    "api.withdraw_case": "case.withdraw",
    "web.withdraw_case": "case.withdraw",
    "api.redispatch_case": "case.redispatch",
    "web.redispatch_case": "case.redispatch",
    "api.retry": "case.retry",
    # extensions
    "web.request_extension": "extension.request",
    "api.request_extension": "extension.request",
    "api.list_extensions": "extension.read",
    "supervision.extensions": "extension.read_all",
    "supervision.decide": "extension.decide",
    "api.decide_extension": "extension.decide",
    # processes
    "api.list_processes": "process.read",
    "api.get_process": "process.read",
    "api.process_versions": "process.read",
    "api.process_bpmn": "process.read",
    "supervision.process_xml": "process.read",
    "modeller.index": "process.manage",
    "modeller.model": "process.deploy",
    "modeller.deploy": "process.deploy",
    "modeller.new": "process.deploy",
    "modeller.new_blank": "process.deploy",
    "modeller.deploy_new": "process.deploy",
    "modeller.upload": "process.deploy",
    "api.upload_process": "process.deploy",
    "modeller.diff": "process.diff",
    "api.process_diff": "process.diff",
    "modeller.migration": {"GET": "process.preview_migration", "POST": "process.migrate"},
    "api.migration_preview": "process.preview_migration",
    "api.migrate": "process.migrate",
    # supervision
    "supervision.dashboard": "supervision.read",
    "supervision.export_csv": "supervision.read",
    "api.stuck": "supervision.read",
    "api.list_flags": "supervision.read",
    "supervision.flag_page": {"GET": "supervision.read", "POST": "flag.raise"},
    "api.raise_flag": "flag.raise",
    # the responsibility list and accountability
    "duty_list.index": "list.read",
    "duty_list.item": "list.read",
    "duty_list.versions": "list.read",
    "duty_list.diff": "list.read",
    "duty_list.export_xlsx": "list.read",
    "api.responsibility_list": "list.read",
    "api.list_versions": "list.read",
    "api.list_diff": "list.read",
    "api.list_xlsx": "list.read",
    "duty_list.accountability": {"GET": "accountability.read", "POST": "accountability.decide"},
    "api.accountability_report": "accountability.read",
    "api.list_reviews": "accountability.read",
    "api.record_review": "accountability.decide",
    # the audit trail
    "audit.page": "audit.export",
    "audit.count": "audit.export",
    "audit.export": "audit.export",
    "api.audit_export": "audit.export",
    "audit.verify": "audit.verify",
    "api.audit_verify": "audit.verify",
    # reports
    "reports.page": "report.read",
    "reports.export_xlsx": "report.read",
    "api.county_report": "report.read",
    "api.stats": "stats.read",
    "api.report_weights": "weights.read",
    "api.save_report_weights": "weights.edit",
    # the command view (CONTRACT §8)
    "api.command_overview": "command.read",
    "command.page": "command.read",
    "command.screen": "command.read",
    "command.overview_json": "command.read",
    # the calendar and the settings
    "api.calendar": "calendar.read",
    "supervision.calendar": "calendar.edit",
    "supervision.remove_day": "calendar.edit",
    "api.set_calendar_day": "calendar.edit",
    "api.remove_calendar_day": "calendar.edit",
    "api.get_settings": "settings.read",
    "api.put_settings": "settings.edit",
    # notifications
    "api.list_notifications": "notification.read",
    "api.read_notification": "notification.read",
    "api.read_all_notifications": "notification.read",
    "api.get_notification_preferences": "notification.settings",
    "api.put_notification_preferences": "notification.settings",
    "api.get_unit_robot": "robot.manage",
    "api.put_unit_robot": "robot.manage",
    "api.list_outbox": "outbox.read",
    "api.retry_outbox_message": "outbox.retry",
    "notifications.index": "notification.read",
    "notifications.read": "notification.read",
    "notifications.read_all": "notification.read",
    "notifications.preferences": "notification.settings",
    "notifications.admin": {"GET": "outbox.read", "POST": "robot.manage"},
    "notifications.retry": "outbox.retry",
    # the admin's pages and one's own account
    "admin.index": "users.manage",
    "admin.users": "users.manage",
    "admin.new_user": "users.manage",
    "admin.user": "users.manage",
    "admin.reset_password": "users.manage",
    "admin.disable_user": "users.manage",
    "admin.enable_user": "users.manage",
    "admin.units": "orgs.manage",
    "admin.rename_unit": "orgs.manage",
    "admin.deactivate_unit": "orgs.manage",
    "admin.activate_unit": "orgs.manage",
    "admin.settings": "settings.edit",
    "admin.weights": "weights.edit",
    "account.password": "account.password",
    # messages and external tasks (CONTRACT §7)
    "api.send_message": "message.send",
    "api.fetch_and_lock": "external_task.work",
    "api.complete_external_task": "external_task.work",
    "api.fail_external_task": "external_task.work",
    # duplicates (CONTRACT §8)
    "api.similar_cases": "case.read",
    "api.merge_case": "case.merge",
    "api.dismiss_duplicate": "case.merge",
    "web.merge_case": "case.merge",
    "web.dismiss_duplicate": "case.merge",
    # grid outlines for the report form's and the task pages' maps (one's own township; the county all)
    "web.grid_outlines": "geo.read",
}


def rule_of(endpoint, method):
    """What a route needs: PUBLIC, SIGNED_IN or a capability; None when the policy has no rule for it."""
    rule = ROUTES.get(endpoint)
    return rule.get(method) if isinstance(rule, dict) else rule
