"""Demo grid events (`make run`): reports of the demo grid workers inside their grids, carried through
the same domain functions a user's clicks call — some handled by a stationed agency, verified and
rated, some raised to the county, some waiting for triage, and one street market reported four
times — so the map, the duplicates and the warnings have something to show. They are raised now
(not spread over past months like the demo calls): the command view's trends start from today."""
import json
import random
from pathlib import Path

from sqlalchemy import select

from . import cases
from .extensions import db
from .models import Task, User

GEO = Path(__file__).resolve().parent / "demo" / "geo.json"
# (grid worker, category, description, urgency, what happens next)
REPORTS = [
    ("grid_a", "street_market", "明珠东路路口早市摊贩占道经营，堵塞非机动车道", "normal", "stationed"),
    ("grid_a", "street_market", "明珠东路早市又有流动摊贩占道，群众投诉", "normal", "open"),
    ("grid_a2", "street_market", "明珠东路路口摊点占道，早高峰通行困难", "urgent", "open"),
    ("grid_a", "street_market", "明珠东路口马路市场反复出现", "normal", "open"),
    ("grid_a", "dumping", "灵山大街北侧空地有人倾倒建筑垃圾", "normal", "stationed"),
    ("grid_a2", "noise", "岱宗大街工地夜间施工噪声扰民", "urgent", "call"),
    ("grid_a2", "public_facility", "东岳大街路灯连续三晚不亮", "normal", "platform"),
    ("grid_a2", "unlicensed_food", "社区门口无证小吃摊点", "normal", "open"),
    ("grid_a", "outdoor_ads", "商铺门头广告牌松动，有坠落风险", "emergency", "open"),
    ("grid_a2", "burning", "城郊结合部露天焚烧垃圾", "urgent", "call"),
    ("grid_b", "street_market", "泰前菜市场外占道经营", "normal", "stationed"),
    ("grid_b", "pollution", "餐馆油烟直排居民楼", "normal", "call"),
    ("grid_b", "dispute", "两户居民因停车位发生争执", "normal", "platform"),
    ("grid_b", "special_equipment", "老旧小区电梯频繁困人", "urgent", "open"),
]


def _centres():
    """{grid code: (lat, lng)} of the demo grids' outlines, read once."""
    with open(GEO, encoding="utf-8") as f:
        features = json.load(f)["features"]
    out = {}
    for x in features:
        ring = x["geometry"]["coordinates"][0][:-1]
        out[x["properties"]["code"]] = (sum(p[1] for p in ring) / len(ring), sum(p[0] for p in ring) / len(ring))
    return out


def _near(centre, rng):
    return round(centre[0] + rng.uniform(-0.003, 0.003), 6), round(centre[1] + rng.uniform(-0.003, 0.003), 6)


def _user(name):
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _task(case_id, element_id):
    return db.session.execute(select(Task).where(Task.case_id == case_id, Task.element_id == element_id,
                                                 Task.status == "ready")).scalars().first()


def _do(case_id, element_id, username, data):
    task = _task(case_id, element_id)
    if task is not None:
        cases.complete_task(_user(username), task.id, data)


def load_events(seed=2026):
    """Raise the demo events; returns how many."""
    rng = random.Random(seed)
    centres = _centres()
    by_org = {u.org_code: u.username for u in db.session.execute(select(User).where(User.org_id.is_not(None))).scalars()}
    market = None
    made = 0
    for who, category, text, urgency, then in REPORTS:
        worker = _user(who)
        if category == "street_market" and who.startswith("grid_a"):
            market = market or _near(centres[worker.org_code], rng)
            lat, lng = market[0] + rng.uniform(-0.0002, 0.0002), market[1] + rng.uniform(-0.0002, 0.0002)
        else:
            lat, lng = _near(centres[worker.org_code], rng)
        case = cases.start_case(worker, "grid_event", {"category": category, "description": text, "urgency": urgency,
                                                       "location": {"lat": round(lat, 6), "lng": round(lng, 6)}})
        made += 1
        township = case.township_code
        platform = _task(case.id, "triage")
        if platform is None or then == "open":
            continue
        triager = by_org.get(platform.org_code)
        if triager is None:
            continue
        if then == "call":
            _do(case.id, "triage", triager, {"route": "call", "opinion": "乡镇已多次处置无效，需县级部门执法"})
        elif then == "platform":
            _do(case.id, "triage", triager, {"route": "handle", "handler": platform.org_code, "opinion": "请平台工作人员处理"})
            _do(case.id, "handle_platform", triager, {"result": "已联系相关单位处理完毕"})
        elif then == "stationed":
            agency = f"{township}-ZFZD" if category != "unlicensed_food" else f"{township}-SJS"
            _do(case.id, "triage", triager, {"route": "handle", "handler": agency, "opinion": "请派驻机构按时限处置"})
            if agency in by_org:
                _do(case.id, "handle", by_org[agency], {"result": "已到场处置，现场恢复正常"})
                _do(case.id, "verify", who, {"verified": True, "note": "现场核查已解决"})
                town = by_org.get(township)
                if town:
                    _do(case.id, "rate_stationed", town, {"satisfied": True, "rating": rng.choice([4, 5]),
                                                          "comment": "处置及时"})
    return made
