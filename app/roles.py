"""Roles of the county organisation and the lane names that stand for them in BPMN files.

A lane's name is the role's code or its Chinese name (CONTRACT.md §3). This is the one place
that maps the two, so renaming a lane in the modeller re-routes nothing by surprise.
"""
ROLES = {
    "township": "乡镇",
    "center": "响应中心",
    "department": "县级部门",
    "supervisor": "督查室",
    "staffing_office": "编办",
    "legal": "司法局",
    "leader": "县委县政府",
    "analyst": "流程分析员",
    "admin": "管理员",
    "integration": "系统集成",      # programs, not people: messages and external tasks only (policy.py)
    "grid_worker": "网格员",        # one grid of one township: reports what they see, verifies on the spot
    "platform": "乡镇平台",         # one of a township's four platforms: triages the grid's events
    "stationed": "派驻机构",        # a county department's unit stationed in a township, under its management
}

# the four platforms of a township (基层治理四平台): platform_kind -> name
PLATFORM_KINDS = {"zhzl": "综合治理", "scjg": "市场监管", "zhzf": "综合执法", "bmfw": "便民服务"}

# other spellings analysts use for the same lanes
_ALIASES = {"县委/县政府": "leader", "督查": "supervisor", "响应平台": "center", "部门": "department",
            "平台": "platform", "网格": "grid_worker"}

# misconduct a supervisor (or a process's end event, `flagKind`) may flag: kind -> (role flagged, label)
FLAG_KINDS = {
    "improper_call": ("township", "乱呼叫"),
    "failed_to_call": ("township", "应呼未呼"),
    "no_response": ("department", "呼叫不响应"),
    "inaction": ("department", "响应不作为"),
}

# what an end event's `listAction` asks when a case closes there: action -> what it publishes
LIST_ACTIONS = {
    "sink_duty": "职责下沉：发布事项由乡镇承担的新版清单",
    "change_list": "清单动态调整：发布按提议修改的新版清单",
}


def role_of_lane(lane_name):
    """The role code a lane name stands for, or None when it names no role."""
    if lane_name is None:
        return None
    name = lane_name.strip()
    if name in ROLES:
        return name
    for code, chinese in ROLES.items():
        if chinese == name:
            return code
    return _ALIASES.get(name)
