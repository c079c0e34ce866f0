"""What every answer says to the browser: a Content-Security-Policy without inline script (and no
page that needs one), no framing, nosniff, a Referrer-Policy; HSTS and a Secure session cookie
when the request came over HTTPS, directly or through a trusted proxy, while plain http (`make
run`) keeps working; and, under a real `flask huying serve`, exactly HUYING_TRUSTED_PROXIES
proxies' forwarded headers honoured."""
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from helpers import csrf_token, raise_call, web_login

ROOT = Path(__file__).resolve().parent.parent


def policy(response):
    """The CSP as {directive: [sources]}."""
    parts = [p.split() for p in response.headers["Content-Security-Policy"].split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def test_every_answer_carries_the_security_headers(app, client, users):
    for r in (client.get("/login"), client.get("/healthz"), users["center"].get("/me"),
              client.get("/static/style.css"), client.get("/no-such-page")):
        csp = policy(r)
        assert csp["script-src"] == ["'self'"]                      # no 'unsafe-inline', no 'unsafe-eval'
        assert csp["style-src"] == ["'self'"]                       # no <style> element; style attributes only
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in r.headers           # plain http: no HSTS


def session_cookie_header(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def login_over(app, headers=None, referer="http://localhost/login", **kw):
    client = app.test_client()
    page = client.get("/login", headers=headers, **kw)
    r = client.post("/login", data={"username": "center", "password": "demo",
                                    "csrf_token": csrf_token(page.get_data(as_text=True))},
                    headers=dict(headers or {}, Referer=referer), **kw)
    return page, r


def test_on_plain_http_the_session_cookie_is_not_secure_and_login_works(app):
    page, r = login_over(app)
    assert r.status_code == 302
    assert "Secure" not in session_cookie_header(r) and "HttpOnly" in session_cookie_header(r)
    assert "SameSite=Lax" in session_cookie_header(r)


def test_over_https_the_session_cookie_is_secure_and_hsts_sent(app):
    page, r = login_over(app, base_url="https://localhost", referer="https://localhost/login")
    assert r.status_code == 302
    assert "; Secure" in session_cookie_header(r)
    assert page.headers["Strict-Transport-Security"] == "max-age=31556926"          # a year, this host only


def test_behind_a_trusted_proxy_that_says_https_the_cookie_is_secure(app):
    proxied = create_app(dict(app.config, TRUSTED_PROXIES=1))
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "huying.example", "X-Forwarded-For": "10.9.9.9"}
    page, r = login_over(proxied, headers=https, referer="https://huying.example/login")
    assert r.status_code == 302
    assert "; Secure" in session_cookie_header(r) and "Strict-Transport-Security" in page.headers


def test_an_untrusted_forwarded_proto_leaves_the_cookie_as_on_http(app):
    page, r = login_over(app, headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 302
    assert "Secure" not in session_cookie_header(r)


def test_the_cookie_can_be_made_secure_always(app):
    app.config.update(SESSION_COOKIE_SECURE=True)
    page, r = login_over(app)
    assert "; Secure" in session_cookie_header(r)


# --- no page needs an inline script ---------------------------------------------------------------
class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would refuse to run."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json":
            self.found.append(f"<script> without src at line {self.getpos()[0]}")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...> at line {self.getpos()[0]}")
            if name in ("href", "src", "action", "formaction") and \
                    (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...> at line {self.getpos()[0]}")


def inline_code(html):
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_no_template_has_inline_script_or_handlers():
    templates = sorted((ROOT / "app" / "templates").glob("*.html"))
    assert len(templates) > 20
    found = {t.name: inline_code(t.read_text(encoding="utf-8")) for t in templates}
    assert {name: f for name, f in found.items() if f} == {}


def test_no_script_relies_on_what_the_policy_forbids():
    """No eval or string-built code, no inline handlers set from script, in the project's own JavaScript."""
    scripts = sorted((ROOT / "app" / "static").glob("*.js")) + sorted((ROOT / "frontend" / "src").glob("*.js"))
    assert len(scripts) >= 4
    forbidden = re.compile(r"\beval\(|new Function\(|setAttribute\(\s*['\"]on|\.innerHTML\s*=|javascript:"
                           r"|setTimeout\(\s*['\"]|setInterval\(\s*['\"]")
    found = {s.name: forbidden.findall(s.read_text(encoding="utf-8")) for s in scripts}
    assert {name: f for name, f in found.items() if f} == {}


def test_no_page_that_any_role_sees_has_inline_script(app, users):
    case_id = raise_call(users)
    task_id = users["center"].task(case_id, "受理")["id"]
    fixed = ["/cases/new/call_response", f"/cases/{case_id}", f"/cases/{case_id}/dossier", f"/tasks/{task_id}",
             "/list/items/ZF-01", "/processes/call_response/model", "/processes/call_response/diff",
             "/processes/call_response/migration", "/reports?period=2026"]
    plain = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments
             and not r.rule.startswith("/api/")]
    scanned, found = 0, {}
    for username in ("town_a", "center", "supervisor", "analyst", "leader", "admin"):
        browser = web_login(app, username)
        for path in plain + fixed:
            r = browser.get(path)
            if r.status_code == 200 and r.mimetype == "text/html":
                scanned += 1
                problems = inline_code(r.get_data(as_text=True))
                if problems:
                    found[f"{username} {path}"] = problems
            r.close()            # a streamed export holds its request's context until it is closed
    assert scanned >= 60
    assert found == {}


# --- forwarded headers under a real `flask huying serve` ---------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(database_url, **env):
    """`flask huying serve` in a process of its own on a free port, until the block ends."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="x", FLASK_APP="app:create_app", HOST="127.0.0.1",
               PORT=str(port), SCHEDULER_INTERVAL_SECONDS="3600", PYTHONPATH=str(ROOT), **env)
    proc = subprocess.Popen([sys.executable, "-m", "flask", "huying", "serve", "--threads", "2"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.1)
        else:
            pytest.fail("flask huying serve did not answer /healthz")
        yield base
    finally:
        proc.terminate()
        proc.wait(15)


def http(base, path, body=None, headers=None):
    request = urllib.request.Request(base + path, data=body, headers=headers or {},
                                     method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


# what reaches the app: a client's own claim, then what each of two proxies saw, the nearest last
FORWARDED = {"X-Forwarded-For": "203.0.113.66, 198.51.100.7, 192.0.2.10", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("proxies, address, secure", [("0", "127.0.0.1", False), ("1", "192.0.2.10", True),
                                                      ("2", "198.51.100.7", False)])
def test_serve_honours_exactly_the_trusted_proxies(app, database_url, proxies, address, secure):
    """With two hops of X-Forwarded-Proto missing, two proxies' https claim is not taken either."""
    with serving(database_url, HUYING_TRUSTED_PROXIES=proxies) as base:
        status, _ = http(base, "/api/v1/auth/token", b'{"username": "legal", "password": "demo"}',
                         dict(FORWARDED, **{"Content-Type": "application/json"}))
        assert status == 200
        status, headers = http(base, "/login", headers=FORWARDED)
        assert status == 200
    with app.app_context():
        login = db.session.execute(select(AuditEvent).where(AuditEvent.action == "login", AuditEvent.actor == "legal")
                                   .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert login.ip == address
    cookie = [c for c in headers.get_all("Set-Cookie") if c.startswith("session=")][0]
    assert ("; Secure" in cookie) is secure
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_serve_behind_one_proxy_signs_in_over_https(app, database_url):
    """The proxy's host and scheme are the app's: the CSRF check of an HTTPS form compares the
    Referer with the forwarded host, and the cookie comes back Secure."""
    https = {"X-Forwarded-For": "192.0.2.10", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "huying.example"}
    with serving(database_url, HUYING_TRUSTED_PROXIES="1") as base:
        page = urllib.request.urlopen(urllib.request.Request(base + "/login", headers=https), timeout=30)
        cookie = page.headers["Set-Cookie"].split(";")[0]
        token = csrf_token(page.read().decode())
        form = f"username=center&password=demo&csrf_token={token}".encode()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        headers = dict(https, Cookie=cookie, Referer="https://huying.example/login",
                       **{"Content-Type": "application/x-www-form-urlencoded"})
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(urllib.request.Request(base + "/login", data=form, headers=headers), timeout=30)
    assert answer.value.code == 302 and answer.value.headers["Location"] == "/"
    assert "; Secure" in answer.value.headers["Set-Cookie"]
