"""Logins against guessing: failed attempts limited per username and per client address, web and
API together (429 with Retry-After, on record), counts shared by several processes through Redis;
and `next` after a login that only ever leads to this site."""
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from helpers import csrf_token

ROOT = Path(__file__).resolve().parent.parent


def token_login(client, username, password, address="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def web_login_attempt(client, username, password, address="10.0.0.1", next_=None):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    return client.post("/login" + (f"?next={next_}" if next_ is not None else ""),
                       data={"username": username, "password": password, "csrf_token": csrf_token(page)},
                       environ_base={"REMOTE_ADDR": address})


def events(app, action):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).scalars().all()


def test_password_guessing_is_limited_per_user(app, client):
    """The default: ten failures a minute for one username, from however many addresses."""
    for i in range(10):
        assert token_login(client, "center", f"guess{i}", address=f"10.0.1.{i}").status_code == 401
    r = token_login(client, "center", "demo", address="10.0.2.1")        # even the right password waits
    assert r.status_code == 429
    assert r.json["error"] == "too_many_requests" and "秒后再试" in r.json["message"]
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert token_login(client, "supervisor", "demo", address="10.0.1.1").status_code == 200   # others sign in


def test_password_guessing_is_limited_per_address(app, client):
    """The default: thirty failures a minute from one address, whatever usernames it tries."""
    for i in range(30):
        assert token_login(client, f"nobody{i}", "x", address="10.0.3.3").status_code == 401
    assert token_login(client, "center", "demo", address="10.0.3.3").status_code == 429
    assert token_login(client, "center", "demo", address="10.0.3.4").status_code == 200


def test_successful_logins_use_up_no_allowance(app, client):
    app.config.update(LOGIN_LIMIT_PER_USER="2/minute", LOGIN_LIMIT_PER_ADDRESS="3/minute")
    for _ in range(6):
        assert token_login(client, "center", "demo").status_code == 200
        assert web_login_attempt(app.test_client(), "center", "demo").status_code == 302
    assert token_login(client, "center", "wrong").status_code == 401
    assert token_login(client, "center", "wrong").status_code == 401
    assert token_login(client, "center", "demo").status_code == 429


def test_web_and_api_failures_count_together_and_the_web_answers_a_chinese_page(app, client):
    app.config.update(LOGIN_LIMIT_PER_USER="3/minute")
    assert token_login(client, "dept_zf", "wrong").status_code == 401
    assert web_login_attempt(client, "dept_zf", "wrong").status_code == 401
    assert token_login(client, "dept_zf", "wrong").status_code == 401
    r = web_login_attempt(client, "dept_zf", "demo")
    assert r.status_code == 429
    html = r.get_data(as_text=True)
    assert "登录失败次数过多" in html and "秒后再试" in html and 'name="username"' in html
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert client.get("/login").status_code == 200            # the form itself is always shown


def test_usernames_differing_in_case_count_as_one(app, client):
    app.config.update(LOGIN_LIMIT_PER_USER="2/minute")
    assert token_login(client, "Center", "x").status_code == 401
    assert token_login(client, " CENTER", "x").status_code == 401
    assert token_login(client, "center", "demo").status_code == 429


def test_a_throttled_login_goes_on_record_once_per_window(app, client):
    app.config.update(LOGIN_LIMIT_PER_USER="2/minute")
    for _ in range(2):
        token_login(client, "legal", "x", address="10.0.4.4")
    for _ in range(4):
        assert token_login(client, "legal", "x", address="10.0.4.4").status_code == 429
    throttled = events(app, "login_throttled")
    assert len(throttled) == 1
    e = throttled[0]
    assert (e.actor, e.ip, e.after["by"], e.after["limit"]) == ("legal", "10.0.4.4", "login-user", "2 per 1 minute")
    assert "按用户名" in e.detail
    assert len(events(app, "login_failed")) == 2                # the refused attempts checked no password


def test_malformed_login_bodies_are_refused_and_not_counted(app, client):
    app.config.update(LOGIN_LIMIT_PER_ADDRESS="2/minute")
    for body in ("[", '{"username": 5}', '"x"', '{"username": "center"}'):
        r = client.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert r.status_code in (400, 422), (body, r.status_code)
    assert token_login(client, "center", "demo").status_code == 200


def test_the_per_user_key_of_a_body_too_deep_to_read_is_no_username(app):
    from app import auth
    with app.test_request_context("/api/v1/auth/token", method="POST", data="[" * 100000,
                                  content_type="application/json"):
        assert auth._tried_username() == "-"


REDIS_URL = os.environ.get("HUYING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOGINS = """
import json, sys
from app import create_app
client = create_app().test_client()
codes = [client.post("/api/v1/auth/token", json={"username": "center", "password": p}).status_code
         for p in sys.argv[1:]]
print(json.dumps(codes))
"""


def redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


def logins_in_a_process(database_url, storage, prefix, passwords):
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="x", RATELIMIT_STORAGE_URI=storage,
               HUYING_RATELIMIT_PREFIX=prefix, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", LOGINS, *passwords], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_processes_share_the_counts_through_redis(app, database_url):
    redis = redis_or_skip()
    prefix = f"huying-test-{uuid.uuid4().hex}"
    try:
        assert logins_in_a_process(database_url, REDIS_URL, prefix, ["wrong"] * 6) == [401] * 6
        assert logins_in_a_process(database_url, REDIS_URL, prefix, ["wrong"] * 4 + ["demo"]) == [401] * 4 + [429]
        # in memory, each process counts alone
        assert logins_in_a_process(database_url, "memory://", prefix, ["wrong"] * 6) == [401] * 6
        assert logins_in_a_process(database_url, "memory://", prefix, ["wrong"] * 4 + ["demo"]) == [401] * 4 + [200]
    finally:
        keys = list(redis.scan_iter(match=f"*{prefix}*"))
        assert keys                                            # the counts were kept in Redis
        redis.delete(*keys)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_with_the_shared_storage_down_each_process_counts_alone(app, database_url):
    """Logins go on, limited in memory, rather than failing with the storage."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"        # nothing listens there once closed
    codes = logins_in_a_process(database_url, dead, "huying-test-down", ["wrong"] * 10 + ["demo"])
    assert codes == [401] * 10 + [429]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("limit", ["", "ten a minute", "10/minit"])
def test_an_unreadable_limit_stops_the_start(app, limit):
    from app import create_app
    with pytest.raises(ValueError, match="LOGIN_LIMIT_PER_USER"):
        create_app(dict(app.config, LOGIN_LIMIT_PER_USER=limit))


# --- where a login leads -------------------------------------------------------------------------
OFFSITE = [
    "//evil.example", "///evil.example", "/%09/evil.example", "/%0a/evil.example", "/%0d%0a/evil.example",
    "%09//evil.example", "/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example", "%2F%2Fevil.example",
    "https://evil.example", "HTTPS://evil.example", "http:evil.example", "https:/evil.example",
    "javascript:alert(1)", "%20javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
    "/%20/evil.example", "/%00/evil.example", "/%E3%80%80/evil.example", "evil.example", "",
    "/%0d%0aSet-Cookie:%20x=1",
]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("next_", OFFSITE)
def test_next_after_login_never_leads_off_the_site(app, next_):
    r = web_login_attempt(app.test_client(), "center", "demo", next_=next_)
    assert r.status_code == 302
    assert r.headers["Location"] == "/"


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("next_, location", [
    ("/cases", "/cases"), ("%2Fcases%3Fstatus%3Dopen", "/cases?status=open"),
    ("/supervision", "/supervision"), ("/cases/1%2F%2Fevil.example", "/cases/1//evil.example"),
])
def test_next_after_login_leads_to_a_page_of_the_site(app, next_, location):
    r = web_login_attempt(app.test_client(), "center", "demo", next_=next_)
    assert r.status_code == 302 and r.headers["Location"] == location


def test_a_page_asked_for_before_login_opens_after_it(app):
    client = app.test_client()
    r = client.get("/cases?status=open")
    assert r.status_code == 302
    login_url = r.headers["Location"]
    page = client.get(login_url).get_data(as_text=True)
    r = client.post(login_url, data={"username": "center", "password": "demo", "csrf_token": csrf_token(page)})
    assert r.headers["Location"] == "/cases?status=open"
    assert client.get("/cases?status=open").status_code == 200
