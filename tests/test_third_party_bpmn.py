"""Public BPMN files, unmodified (tests/third_party/*/README.md says where each is from): uploaded
through the API as an analyst, every one either deploys and a case of it runs — started by a user
of its start role, each ready task completed by a user of its role with data from its form, until
it ends or waits for a timer or an event — or is refused with a 422 whose every error is on an
element (or a line) and says in Chinese what to change, with none of the libraries' English. Never
a 500, never a deployed case that cannot move.

How many deploy today is not asserted (other kinds of element become runnable over time); the
classification is printed at the end of the module (run with -s to see it)."""
import collections
import io
import re
import zipfile
from pathlib import Path

import pytest

from bpmn_driver import drive
from helpers import upload

ROOT = Path(__file__).resolve().parent / "third_party"
FILES = sorted(ROOT.glob("*/*.bpmn")) + sorted(ROOT.glob("*/*/*.bpmn"))
CJK = re.compile(r"[\u4e00-\u9fff]")
# what SpiffWorkflow, the XSD validator and lxml say, which must never reach an analyst as it is
ENGLISH = re.compile(r"is not expected|Expected is|ValidationException|No DMN Diagram|is not executable|must specify|"
                     r"is not a valid value|Traceback|Element '\{|not found\. Did you mean|Error evaluating|"
                     r"has no implementation|Opening and ending tag|Premature end|is not defined|"
                     r"There is no support|must have an operator|Exactly one start event", re.I)
SUMMARY = collections.defaultdict(list)


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    if not SUMMARY:
        return
    lines = ["", f"third-party BPMN: {sum(len(v) for v in SUMMARY.values())} uploads"]
    for kind in sorted(SUMMARY):
        lines.append(f"  {kind}: {len(SUMMARY[kind])}")
        for item in SUMMARY[kind]:
            lines.append(f"      {item}")
    print("\n".join(lines))


def _reason(error):
    """A refusal's kind, for the summary: the message up to its first colon."""
    text = re.sub(r"^第 \d+ 行：", "", error["message"])
    text = re.sub(r"“[^”]*”|[A-Za-z0-9_.\-]{6,}", "…", text)
    return re.split(r"[：:（(]", text, maxsplit=1)[0][:40]


def upload_of(path):
    """(name, bytes): the .bpmn alone, or a .zip of it with the forms and decision tables beside it
    (a SpiffArena process model's folder)."""
    companions = sorted(f for f in path.parent.iterdir() if f.suffix in (".json", ".dmn"))
    if path.parent.parent == ROOT or not companions:
        return path.name, path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(path.name, path.read_bytes())
        for f in companions:
            z.writestr(f.name, f.read_bytes())
    return path.stem + ".zip", buffer.getvalue()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_a_public_bpmn_deploys_and_runs_or_is_refused_on_its_elements_in_chinese(app, users, path, backend):
    r = upload(users["analyst"], *upload_of(path))
    assert r.status_code in (201, 422), (r.status_code, r.get_data(as_text=True)[:2000])
    label = str(path.relative_to(ROOT))
    if r.status_code == 422:
        errors = r.json["errors"]
        assert errors, r.json
        for e in errors:
            assert e.get("element_id") or e.get("line"), e
            assert CJK.search(e["message"]), e
            assert not ENGLISH.search(e["message"]), e
        reasons = collections.Counter(_reason(e) for e in errors)
        SUMMARY[f"refused ({backend})"].append(f"{label}: " + "; ".join(f"{k} ×{n}" for k, n in reasons.most_common()))
        return
    process_id = r.json["process_id"]
    result = drive(app, users, process_id)
    assert result.status not in ("errored", "stuck", "not_started"), (label, result)
    SUMMARY[f"deployed and ran ({backend})"].append(
        f"{label}: {result.status} after {len(result.steps)} tasks{f' — {result.note}' if result.note else ''}")


@pytest.mark.parametrize("process_id", ["call_response", "duty_sinking", "list_change"])
def test_the_driver_runs_each_shipped_process_to_its_end(app, users, process_id):
    """The driver itself, on processes known to run: each case ends (or, with a loop that its
    generated answers keep taking, is still moving when the step budget runs out)."""
    result = drive(app, users, process_id, max_steps=60)
    assert result.status in ("closed", "rejected", "refused", "steps"), result
    assert result.steps, result
