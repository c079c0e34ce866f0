"""Configuration: everything from environment variables, with defaults for the embedded demo."""
import json
import os


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or os.urandom(32).hex()
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None   # None: SQLite under instance/
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SCHEDULER_INTERVAL_SECONDS = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "10"))
    HUYING_DEMO = os.environ.get("HUYING_DEMO", "0") == "1"
    # with the demo, also a year of past calls for the reports (HUYING_DEMO_HISTORY=0: none)
    HUYING_DEMO_HISTORY = os.environ.get("HUYING_DEMO_HISTORY", "1") != "0"
    # overrides of the supervision defaults (deadline limits, ...), e.g. '{"limits": {"sign": {"normal": "PT5S"}}}'
    SUPERVISION = json.loads(os.environ.get("HUYING_SUPERVISION") or "{}")
    # the assessment's weights over app.metrics.DEFAULT_WEIGHTS, e.g. '{"township_weight": 0.5}' (an admin may change them)
    REPORT_WEIGHTS = json.loads(os.environ.get("HUYING_REPORT_WEIGHTS") or "{}")
    # behind a reverse proxy: how many proxies' X-Forwarded-For/-Proto to trust, so the audit trail records
    # the client's address rather than the proxy's (0: none, the direct peer is the client)
    TRUSTED_PROXIES = int(os.environ.get("HUYING_TRUSTED_PROXIES", "0"))
    WORKFLOW_CACHE_SIZE = int(os.environ.get("WORKFLOW_CACHE_SIZE", "256"))   # open workflows kept in memory
    # 0: keep nothing between requests (parsed processes, workflows, names) — every request is served as by a
    # freshly started process; the suite runs its lifecycle tests this way too, to prove the caches harmless
    PROCESS_CACHES = os.environ.get("HUYING_PROCESS_CACHES", "1") != "0"
    TOKEN_MAX_AGE_SECONDS = int(os.environ.get("TOKEN_MAX_AGE_SECONDS", str(12 * 3600)))
    TIMEZONE = os.environ.get("HUYING_TIMEZONE", "Asia/Shanghai")
    PROCESSES_DIR = os.environ.get("HUYING_PROCESSES_DIR") or None    # None: <project>/processes
    FORMS_DIR = os.environ.get("HUYING_FORMS_DIR") or None            # None: <project>/forms
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    JSON_SORT_KEYS = False
    API_TITLE = "Huying 呼应 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    HUYING_DEMO = True
    HUYING_DEMO_HISTORY = False    # tests load demo.load_demo() and see no history
