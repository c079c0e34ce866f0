"""What a person reads for each code the app keeps: statuses, urgencies, audit actions, kinds of org
unit, the supervision settings' keys and the assessment's weights.

One place for every Chinese label of a code, asked by the pages, the exports and the reports alike;
JSON (the API, JSON Lines) keeps the codes themselves."""

STATUS_LABELS = {"open": "办理中", "closed": "已办结", "rejected": "不予受理", "refused": "未获同意", "errored": "异常",
                 "withdrawn": "已撤回", "merged": "已合并"}
URGENCY_LABELS = {"normal": "一般", "urgent": "紧急", "emergency": "特急"}
ACTION_LABELS = {
    "case_started": "发起", "task_ready": "待办生成", "task_completed": "办理", "task_claimed": "认领",
    "task_unclaimed": "取消认领", "task_cancelled": "任务撤销", "case_closed": "办结", "case_rejected": "不予受理",
    "case_refused": "未获同意", "case_errored": "流程异常", "timer_fired": "定时器触发",
    "reminder": "催办", "overdue": "超时督办", "case_listed": "挂牌督办", "problem_order": "问题工单",
    "extension_requested": "申请延期", "extension_approved": "同意延期", "extension_refused": "不同意延期",
    "flag_raised": "督查标记", "flag_not_raised": "未能标记", "case_retried": "重试", "case_migrated": "迁移版本",
    "case_repaired": "核查修复", "list_not_published": "未发布清单",
    "process_deployed": "部署流程", "list_published": "发布清单", "accountability_decided": "问责认定",
    "calendar_changed": "修改日历", "settings_changed": "修改设置", "user_created": "新建用户",
    "demo_loaded": "载入演示数据", "login": "登录", "login_failed": "登录失败", "logout": "退出登录",
    "login_throttled": "登录受限", "sessions_revoked": "撤销登录",
    "permission_refused": "无权访问", "demo_history_loaded": "载入演示历史", "audit_exported": "导出留痕",
    "robot_changed": "设置群机器人", "robot_removed": "删除群机器人", "notification_preferences_changed": "修改通知设置",
    "outbox_retried": "重新发送通知",
    "attachment_added": "添加文件",
    "comment_added": "留言", "case_urged": "乡镇催办", "case_withdrawn": "撤回呼叫",
    "user_changed": "修改用户", "user_disabled": "停用用户", "user_enabled": "启用用户",
    "password_reset": "重置密码", "password_changed": "修改密码",
    "org_unit_created": "新建单位", "org_unit_renamed": "单位更名", "org_unit_deactivated": "停用单位",
    "org_unit_activated": "启用单位",
    "case_redispatched": "改派",
    "case_merged": "合并重复事件", "case_merged_in": "合并重复事件（并入本件）", "duplicate_dismissed": "保持独立",
}

# what an audit event's before/after keys mean, where no form names them (a form's own fields take the
# form's titles): for the CSV and XLSX exports, which show each change as "标签：值"
FIELD_LABELS = {
    "status": "状态", "role": "角色", "org": "单位", "kind": "类别", "next_timer_at": "下次定时", "due_at": "时限",
    "listed": "挂牌督办", "problem": "问题工单", "version": "版本", "process_id": "流程", "checksum": "校验值",
    "attachment_id": "文件编号", "name": "名称", "sha256": "SHA-256", "size": "大小（字节）", "content_type": "文件类型",
    "uploaded_by": "上传人", "uploaded_at": "上传时间", "list_version": "清单版本", "calls": "呼叫数", "closed": "办结数",
    "rejected": "不予受理数", "tasks": "任务数", "flags": "督查标记数", "by_month": "按月", "by_department": "按部门",
    "seed": "随机种子", "days": "天数", "comment_id": "留言编号", "text": "内容", "items": "事项数", "review": "认定编号",
    "decision": "认定", "proposal": "建议认定", "label": "类别", "evidence": "事实和证据", "reason": "理由",
    "element": "流程元素", "format": "格式", "case_id": "案件编号", "from": "起", "to": "止", "events": "条数",
    "title": "标题", "urgency": "紧急程度", "list_item": "清单事项", "township": "乡镇", "opinion": "意见",
    "username": "用户名", "roles": "角色", "org_code": "单位", "effective_date": "生效日期", "note": "说明",
    "task": "环节", "task_id": "任务编号", "ip": "IP 地址",
}
DECISION_LABELS = {"exempt": "免责", "accountable": "问责"}
TASK_STATUS_LABELS = {"ready": "待办", "completed": "已办", "cancelled": "已撤销", "suspended": "暂停"}
TASK_KIND_LABELS = {"engine": "流程环节", "order": "督办单"}
# the kinds of org unit, in the order the admin's tree shows them
ORG_KIND_LABELS = {"center": "响应中心", "township": "乡镇（街道）", "department": "县级部门", "supervisor": "督查室",
                   "staffing_office": "编办", "legal": "司法局", "leader": "县委县政府", "analyst": "流程管理",
                   "grid": "网格", "platform": "乡镇平台", "stationed": "派驻机构", "office": "其他机关"}
# the supervision settings: each kind of deadline by the step it times, and the other settings
LIMIT_KIND_LABELS = {"sign": "签收", "handle": "办理反馈", "event_triage": "事件受理分拨", "event_handle": "事件处置",
                     "event_verify": "事件核查"}
LIMIT_KIND_HELP = {"sign": "部门收到派单后签收（或退回）的时限", "handle": "部门签收后办理并反馈结果的时限",
                   "event_triage": "乡镇平台收到网格员上报后受理分拨的时限",
                   "event_handle": "平台工作人员或派驻机构处置事件的默认时限（分拨时未定时限时）",
                   "event_verify": "网格员到现场核查处置结果的时限"}
LIMIT_UNIT_LABELS = {"M": "分钟", "H": "小时", "D": "工作日"}
SETTING_LABELS = {"listing_after": "超时后挂牌督办", "max_reworks": "返工次数上限", "max_extension_days": "延期最多",
                  "idle_hours": "无进展视为滞留"}
# the assessment's weights (考核报表)
WEIGHT_LABELS = {"response": "响应率权重", "resolution": "解决率权重", "satisfaction": "满意率权重",
                 "township_weight": "乡镇评价占部门得分",
                 "stationed_weight": "派驻机构评价占部门得分", "flag_deduction": "每个督查标记扣分",
                 "order_deduction": "每张督办单扣分", "invalid_call_deduction": "每件不予受理的呼叫扣乡镇",
                 "list_size": "红黑榜各取", "min_volume": "参与排名的最少件数"}
