"""Real channels for the notification tests: a local SMTP server (aiosmtpd) and a local HTTP
receiver standing for the 企业微信 and 钉钉 group-robot endpoints, each stoppable and answering
as the test says."""
import email
import json
import threading
import time
import urllib.parse
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from servers import free_port


class Mailbox:
    """A local SMTP server on a fixed port; stop() refuses connections until start() again."""

    def __init__(self):
        self.port = free_port()
        self.messages = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append({"to": list(envelope.rcpt_tos), "subject": str(msg["Subject"]),
                              "body": msg.get_content()})
        return "250 OK"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address):
        return [m for m in self.messages if address in m["to"]]


class Receiver:
    """A threaded HTTP server recording each POST (path, query, JSON body) and answering as
    `mode` says: ok (errcode 0), http500, errcode (a platform's refusal). `delay` slows each answer."""

    def __init__(self):
        self.requests, self.mode, self.delay = [], "ok", 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:
                    time.sleep(receiver.delay)
                url = urllib.parse.urlsplit(self.path)
                mode = receiver.mode
                with receiver.lock:
                    receiver.requests.append({"path": url.path, "query": dict(urllib.parse.parse_qsl(url.query)),
                                              "raw_query": url.query, "json": json.loads(body or b"null"),
                                              "answered": mode})
                if mode == "http500":
                    self.send_response(500)
                    self.end_headers()
                    return
                answer = {"errcode": 0, "errmsg": "ok"} if mode == "ok" else {"errcode": 310000,
                                                                               "errmsg": "sign not match"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                """quiet"""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def accepted(self):
        """The requests answered with success."""
        return [r for r in self.requests if r["answered"] == "ok"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def channels(app):
    """(Mailbox, Receiver) running, with the app sending e-mail to the one and robot messages to the other."""
    mailbox, receiver = Mailbox().start(), Receiver()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port,
                      ROBOT_HOSTS=["qyapi.weixin.qq.com", "oapi.dingtalk.com", receiver.url])
    yield mailbox, receiver
    mailbox.stop()
    receiver.close()
