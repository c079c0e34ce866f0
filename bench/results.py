"""bench/results.json: every figure of one `make bench` run as {median, min, max} with its unit.

A figure is measured in rounds (a round: one batch of requests, one export, one sweep) and its
median, min and max are over the rounds; a ratio is taken round by round between two figures
measured in the same round, interleaved, so that what the machine was doing that minute weighs on
both sides alike. Each figure records its database and the machine's load average when it was
taken; the file's head says which machine, commit and load the run had."""
import json
import os
import platform
import statistics
import subprocess
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = ROOT / "bench" / "results.json"


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "") if out.returncode == 0 else None
    except OSError:
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        return None


class Results:
    def __init__(self):
        self.started = datetime.now(timezone.utc)
        self.head = {"started": self.started.isoformat(timespec="seconds"), "commit": _commit(),
                     "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
                                 "system": platform.platform()},
                     "load_average_start": load_average()}
        self.figures = {}

    def put(self, key, rounds, unit, database, n=None, note=None):
        """One figure from its rounds' values (a list) or one value."""
        values = [float(v) for v in (rounds if isinstance(rounds, (list, tuple)) else [rounds])]
        if not values:
            return
        fig = {"median": round(statistics.median(values), 4), "min": round(min(values), 4),
               "max": round(max(values), 4), "unit": unit, "rounds": len(values), "database": database,
               "load_average": load_average()}
        if n is not None:
            fig["n"] = n
        if note:
            fig["note"] = note
        self.figures.setdefault(key, {})[database] = fig
        return fig

    def get(self, key, database):
        return self.figures.get(key, {}).get(database)

    def write(self, path=PATH):
        head = dict(self.head, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    load_average_end=load_average(),
                    minutes=round((datetime.now(timezone.utc) - self.started).total_seconds() / 60, 1))
        path.write_text(json.dumps({"run": head, "figures": self.figures}, ensure_ascii=False, indent=1) + "\n")
        return path


def read(path=PATH):
    return json.loads(Path(path).read_text())
