"""What an analyst's modeller saves back must still deploy and run (engine-notes G13).

Opens processes/*.bpmn in the real bpmn.io modeller (the shared bpmnjs tool: bpmn-js in headless
Chromium), saves it, deploys the saved copy and drives a call through it to `closed`."""
import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app import processes
from helpers import accept_and_dispatch, case_of, raise_call, sign_and_handle

pytestmark = pytest.mark.lifecycle

ROOT = Path(__file__).resolve().parent.parent
TOOL = Path(os.environ.get("HUYING_BPMNJS_TOOL", ROOT.parent / "shared" / "tools" / "bpmnjs" / "check.sh"))


@pytest.fixture(scope="module")
def roundtrip_dir(tmp_path_factory):
    """One run of the tool for the whole session, whichever pytest-xdist worker gets there first.

    The tool installs its node modules on first use (`npm ci`, which empties node_modules before
    filling it): two workers starting it at once on a fresh machine read each other's half-written
    files (CI saw `SyntaxError: Invalid or unexpected token` in playwright-core). So the run is
    serialised by a lock beside the workers' shared temporary root, and its output reused."""
    if not TOOL.exists() or not shutil.which("node") or not shutil.which("chromium"):
        pytest.skip(f"the bpmn.io check tool ({TOOL}), node and chromium are needed")
    base = tmp_path_factory.getbasetemp()  # under xdist: <this run's root>/popen-gwN
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, done = shared / "bpmnjs-roundtrip", shared / "bpmnjs-roundtrip.done"
    with open(shared / "bpmnjs-roundtrip.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            run = subprocess.run([str(TOOL), str(ROOT / "processes"), "--out", str(out)],
                                 capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
            assert "0 with warnings" in run.stdout, run.stdout[-3000:]
            done.write_text(run.stdout)
    return out


@pytest.mark.parametrize("backend", ["sqlite"])
def test_call_response_saved_by_the_modeller_deploys_and_runs(app, users, roundtrip_dir):
    saved = (roundtrip_dir / "call_response.roundtrip.bpmn").read_bytes()
    assert b"multiInstanceLoopCharacteristics" in saved
    forms = {name: (ROOT / "forms" / name).read_bytes() for name in processes.referenced_forms(saved)}
    with app.app_context():
        row, created = processes.deploy(saved, forms, "analyst")
        assert created and row.version == 2

    case_id = raise_call(users)
    assert case_of(users["town_a"], case_id)["process_version"] == 2
    accept_and_dispatch(users, case_id)
    sign_and_handle(users, case_id)
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"),
                             {"satisfied": False, "rating": 2, "comment": "仍有回潮"})
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "办理反馈"), {"result": "再次整治"})
    users["center"].complete(users["center"].task(case_id, "审核办结"), {"approved": True})
    users["town_a"].complete(users["town_a"].task(case_id, "评价"), {"satisfied": True, "rating": 5})
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "一呼一评"), {"rating": 5})
    assert case_of(users["town_a"], case_id)["status"] == "closed"
