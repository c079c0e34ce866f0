"""Real Huying server processes (`flask huying serve`) for the tests that restart the server or
run the steps of one case on several processes, and a demo user that talks to them over HTTP with
the same methods as conftest.ApiUser, so the story helpers drive them unchanged."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import ApiUser

ROOT = Path(__file__).resolve().parent.parent
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never through an http_proxy


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `flask huying serve` process (web, API and scheduler) on a database; restartable on
    the same port."""

    def __init__(self, database_url, log_dir, name, env=None):
        self.database_url, self.name = database_url, name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"server-{name}.log"
        self.env = dict(os.environ, FLASK_APP="app:create_app", DATABASE_URL=database_url,
                        SECRET_KEY="test-secret-shared-by-the-processes", HUYING_DEMO="0",
                        HOST="127.0.0.1", PORT=str(self.port), HUYING_THREADS="4",
                        SCHEDULER_INTERVAL_SECONDS="1", **(env or {}))
        self.proc = None
        self.starts = 0

    def start(self, boot_seconds=90):
        log = open(self.log_path, "a")
        log.write(f"--- start {self.starts + 1}\n")
        log.flush()
        self.proc = subprocess.Popen([sys.executable, "-m", "flask", "huying", "serve"], cwd=ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + boot_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited {self.proc.returncode}: {self.log_tail()}")
            try:
                with _OPENER.open(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server {self.name} did not answer /healthz: {self.log_tail()}")

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start()

    def log_tail(self, chars=2000):
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]


class Response:
    def __init__(self, status, body):
        self.status_code = status
        self.text = body.decode("utf-8", errors="replace")
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None

    def get_data(self, as_text=False):
        return self.text if as_text else self.text.encode("utf-8")


def request(base, method, path, token=None, body=None):
    data = json.dumps(body).encode("utf-8") if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with _OPENER.open(req, timeout=60) as r:
            return Response(r.status, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.read())


class RemoteUser(ApiUser):
    """A demo user (inbox, task and complete as conftest.ApiUser's) talking to several servers: each
    write (POST, PUT) goes to the next server in turn and each read to the server of the next write,
    so that two consecutive steps of a case never run on the same process, and what one process
    wrote is read by another."""

    def __init__(self, servers, username, password="demo", turns=None):
        self.servers, self.username = servers, username
        self._turns = turns if turns is not None else [0]
        r = request(self.servers[0].url, "POST", "/api/v1/auth/token", body={"username": username,
                                                                             "password": password})
        assert r.status_code == 200, (r.status_code, r.text)
        self.token = r.json["token"]

    def _server(self, write):
        url = self.servers[self._turns[0] % len(self.servers)].url
        if write:
            self._turns[0] += 1
        return url

    def get(self, path):
        return request(self._server(False), "GET", "/api/v1" + path, self.token)

    def post(self, path, json=None):
        return request(self._server(True), "POST", "/api/v1" + path, self.token, json if json is not None else {})

    def put(self, path, json=None):
        return request(self._server(True), "PUT", "/api/v1" + path, self.token, json if json is not None else {})


class RemoteUsers(dict):
    """users[name] signed in once; all of them share one turn over the servers."""

    def __init__(self, servers):
        super().__init__()
        self.servers, self.turns = servers, [0]

    def __missing__(self, name):
        self[name] = RemoteUser(self.servers, name, turns=self.turns)
        return self[name]
