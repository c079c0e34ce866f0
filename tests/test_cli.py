"""Administration commands: setup deploys without demo users outside demo mode; add-user."""
import flask_migrate

from conftest import _make_app


def test_setup_outside_demo_mode_creates_no_user_and_add_user_creates_one(tmp_path):
    app = _make_app(f"sqlite:///{tmp_path / 'fresh.db'}", HUYING_DEMO=False)
    with app.app_context():
        flask_migrate.upgrade()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["huying", "setup"])
    assert out.exit_code == 0 and "deployed: call_response v1" in out.output
    assert "demo data loaded" not in out.output
    client = app.test_client()
    assert client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo"}).status_code == 401

    out = runner.invoke(args=["huying", "add-user", "chief", "--role", "admin", "--name", "系统管理员"],
                        input="s3cret-Pass\ns3cret-Pass\n")
    assert out.exit_code == 0, out.output
    assert client.post("/api/v1/auth/token", json={"username": "chief", "password": "s3cret-Pass"}).status_code == 200
    again = runner.invoke(args=["huying", "setup"])
    assert "unchanged: call_response v1" in again.output
    bad = runner.invoke(args=["huying", "add-user", "x", "--role", "king"], input="a\na\n")
    assert bad.exit_code != 0 and "unknown role" in bad.output


def test_setup_deploys_a_redrawn_file_or_a_changed_form(tmp_path):
    import shutil
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    procs, forms = tmp_path / "processes", tmp_path / "forms"
    shutil.copytree(root / "processes", procs)
    shutil.copytree(root / "forms", forms)
    app = _make_app(f"sqlite:///{tmp_path / 'fresh.db'}", HUYING_DEMO=False,
                    PROCESSES_DIR=str(procs), FORMS_DIR=str(forms))
    with app.app_context():
        flask_migrate.upgrade()
    runner = app.test_cli_runner()
    assert "deployed: call_response v1" in runner.invoke(args=["huying", "setup"]).output
    form = forms / "dept_rate.schema.json"
    form.write_text(form.read_text(encoding="utf-8").replace("对乡镇的评分", "对乡镇配合情况的评分"), encoding="utf-8")
    out = runner.invoke(args=["huying", "setup"]).output
    assert "deployed: call_response v2" in out and "unchanged: duty_sinking v1" in out
    bad = procs / "call_response.bpmn"
    bad.write_text(bad.read_text(encoding="utf-8").replace('id="start_call"', 'id="Start"'), encoding="utf-8")
    failed = runner.invoke(args=["huying", "setup"])
    assert failed.exit_code == 0 and "NOT deployed: call_response.bpmn" in failed.output and "Start" in failed.output
    with app.app_context():
        from app import processes
        assert processes.latest_version("call_response").version == 2     # still in service
