"""The duplicate check at 100,000 open grid events, on SQLite and (with BENCH_PG_URL) PostgreSQL:
`python -m bench.duplicates` alone, or as part of `make bench`.

The events are written in bulk as the engine leaves a reported event (the case row with its
category, township, grid, location and time; the grid and township taking part), spread over the
demo townships' outlines (app/demo/geo.json), the 16 categories of the catalogue and the last 30
days — about 12,500 per township, some 15 of them within 200 m and the same category of any one.
Then a real server answers GET /cases/{id}/similar as the township's platform (platform_a, 岱庙街道)
for events of that township. Nothing here asserts a time.
"""
import json
import os
import random
import statistics
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_EVENTS = int(os.environ.get("BENCH_OPEN_EVENTS", os.environ.get("BENCH_OPEN_CASES", "100000")))
REPEATS = int(os.environ.get("BENCH_QUERY_REPEATS", "60"))


def _boxes():
    """{township: (min lat, max lat, min lng, max lng, [grid codes])} from the demo outlines."""
    features = json.loads((ROOT / "app" / "demo" / "geo.json").read_text(encoding="utf-8"))["features"]
    out = {}
    for f in features:
        if f["properties"]["kind"] != "township":
            continue
        ring = f["geometry"]["coordinates"][0]
        out[f["properties"]["code"]] = (min(p[1] for p in ring), max(p[1] for p in ring),
                                        min(p[0] for p in ring), max(p[0] for p in ring),
                                        [g["properties"]["code"] for g in features
                                         if g["properties"]["kind"] == "grid"
                                         and g["properties"]["code"].startswith(f["properties"]["code"] + "-")])
    return out


def fill(app, n, seed=7):
    """n open grid events written in bulk; returns the ids of 岱庙街道's (T01)."""
    from sqlalchemy import func, insert, select
    from app.extensions import db
    from app.models import Case, CaseParticipant, ProcessVersion
    categories = [c["code"] for c in json.loads((ROOT / "app" / "demo" / "grid_categories.json")
                                                .read_text(encoding="utf-8"))["categories"]]
    boxes = _boxes()
    towns = sorted(boxes)
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc)
    t01 = []
    with app.app_context():
        row = db.session.execute(select(ProcessVersion).where(ProcessVersion.process_id == "grid_event")
                                 .order_by(ProcessVersion.version.desc())).scalars().first()
        start = (db.session.execute(select(func.max(Case.id))).scalar() or 0) + 1
        cases, parts = [], []

        def flush():
            if cases:
                db.session.execute(insert(Case), cases)
                db.session.execute(insert(CaseParticipant), parts)
                db.session.commit()
            cases.clear(), parts.clear()

        for i in range(n):
            cid = start + i
            town = towns[i % len(towns)]
            lat0, lat1, lng0, lng1, grids = boxes[town]
            grid = rnd.choice(grids)
            lat, lng = rnd.uniform(lat0, lat1), rnd.uniform(lng0, lng1)
            category = rnd.choice(categories)
            created = now - timedelta(minutes=rnd.randint(1, 60 * 24 * 30))
            data = {"category": category, "description": "网格员巡查发现的问题", "urgency": "normal",
                    "location": {"lat": lat, "lng": lng}, "initiator": "grid_a", "initiator_org": grid,
                    "initiator_township": town, "initiator_grid": grid}
            cases.append({"id": cid, "process_id": "grid_event", "process_version_id": row.id,
                          "process_version": row.version, "title": f"网格事件 {cid}", "status": "open",
                          "urgency": "normal", "initiator": "grid_a", "initiator_org": grid, "data": data,
                          "row_version": 1, "created_at": created, "updated_at": created, "category": category,
                          "township_code": town, "grid_code": grid, "lat": lat, "lng": lng})
            parts.extend([{"case_id": cid, "org_code": grid, "role": None},
                          {"case_id": cid, "org_code": town, "role": None}])
            if town == "T01":
                t01.append(cid)
            if len(cases) == 5000:
                flush()
        flush()
    return t01


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run(db_url, label):
    """Rows (label, n, median ms, p95 ms, note) for one database."""
    from bench.__main__ import Api, free_port, start_server
    sys.path.insert(0, str(ROOT))
    from app import create_app
    port = free_port()
    proc = start_server(db_url, port, HUYING_DEMO_HISTORY="0")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench"})
        ids = fill(app, N_EVENTS)
        platform = Api(port, "platform_a")
        rnd = random.Random(3)
        samples, found = [], []
        for case_id in rnd.sample(ids, min(REPEATS, len(ids))):
            ms, status, body = platform.timed("GET", f"/cases/{case_id}/similar")
            assert status == 200, body
            samples.append(ms)
            found.append(len(body["items"]))
    finally:
        proc.terminate()
        proc.wait(10)
    return [(f"{label}: GET /cases/{{id}}/similar at {N_EVENTS:,} open events (ms)", len(samples),
             statistics.median(samples), _pct(samples, 95),
             f"{statistics.median(found):.0f} likely duplicates offered (median)")]


def duplicate_rows():
    rows = run(f"sqlite:///{os.path.join(tempfile.mkdtemp(prefix='huying-bench-dup-'), 'dup.db')}", "SQLite")
    pg = os.environ.get("BENCH_PG_URL")
    if pg:
        from bench.search import empty_pg
        empty_pg(pg)
        rows.extend(run(pg, "PostgreSQL"))
    return rows


def main():
    from bench.search import print_rows
    print(f"\nduplicates, GET /cases/{{id}}/similar over {N_EVENTS:,} open grid events (bench/duplicates.py)"
          + ("" if os.environ.get("BENCH_PG_URL") else "; PostgreSQL skipped (BENCH_PG_URL unset)"))
    print_rows(duplicate_rows())


if __name__ == "__main__":
    main()
