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
