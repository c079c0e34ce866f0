"""Configuration: everything from environment variables, with defaults for the embedded demo."""
import json
import os
import secrets
import tempfile


class Config:
    # without SECRET_KEY, one key generated once and kept in SECRET_KEY_FILE (default instance/secret_key)
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SECRET_KEY_FILE = os.environ.get("HUYING_SECRET_KEY_FILE") or None
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None   # None: SQLite under instance/
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # how new passwords are hashed (werkzeug's method string); a stored hash names its own method,
    # so a check follows whichever method made it
    PASSWORD_HASH_METHOD = "scrypt"
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
    # an API token lives this long from its issue; a browser session ends after SESSION_IDLE_MINUTES
    # without a request, and SESSION_MAX_HOURS after its login in any case
    TOKEN_MAX_AGE_SECONDS = int(os.environ.get("TOKEN_MAX_AGE_SECONDS", str(8 * 3600)))
    SESSION_IDLE_MINUTES = int(os.environ.get("HUYING_SESSION_IDLE_MINUTES", "60"))
    SESSION_MAX_HOURS = int(os.environ.get("HUYING_SESSION_MAX_HOURS", "12"))
    # failed logins (web and API together) allowed per username tried and per client address; beyond
    # them 429 with Retry-After. Limits strings as Flask-Limiter reads them ("10/minute;50/hour").
    LOGIN_LIMIT_PER_USER = os.environ.get("HUYING_LOGIN_LIMIT_PER_USER", "10/minute;50/hour")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("HUYING_LOGIN_LIMIT_PER_ADDRESS", "30/minute;300/hour")
    # where the counts are kept: in memory (one process), or e.g. redis://host:6379/0 for several processes
    RATELIMIT_STORAGE_URI = (os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("HUYING_RATELIMIT_STORAGE")
                             or "memory://")
    RATELIMIT_KEY_PREFIX = os.environ.get("HUYING_RATELIMIT_PREFIX", "huying")
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True   # the storage down: count in this process rather than fail logins
    # the session cookie is Secure on every request served over HTTPS (directly, or through a trusted
    # proxy's X-Forwarded-Proto); HUYING_SECURE_COOKIES=1 makes it Secure always
    SESSION_COOKIE_SECURE = os.environ.get("HUYING_SECURE_COOKIES", "0") == "1"
    TIMEZONE = os.environ.get("HUYING_TIMEZONE", "Asia/Shanghai")
    # 考核报表 opens on last month during the first days of a month (app/reports.default_period)
    REPORT_LAST_MONTH_DAYS = int(os.environ.get("HUYING_REPORT_LAST_MONTH_DAYS") or 3)
    PROCESSES_DIR = os.environ.get("HUYING_PROCESSES_DIR") or None    # None: <project>/processes
    FORMS_DIR = os.environ.get("HUYING_FORMS_DIR") or None            # None: <project>/forms
    # notifications (app/notifications.py). E-mail goes out by SMTP when HUYING_SMTP_HOST is set (else no
    # e-mail is queued); the group robots' webhooks may only be https to these hosts (an entry with a scheme,
    # http://127.0.0.1:8080, allows exactly that origin); links in messages start with HUYING_PUBLIC_URL
    SMTP_HOST = os.environ.get("HUYING_SMTP_HOST") or None
    SMTP_PORT = int(os.environ.get("HUYING_SMTP_PORT") or (465 if os.environ.get("HUYING_SMTP_SSL") == "1" else 25))
    SMTP_USER = os.environ.get("HUYING_SMTP_USER") or None
    SMTP_PASSWORD = os.environ.get("HUYING_SMTP_PASSWORD") or None
    SMTP_FROM = os.environ.get("HUYING_SMTP_FROM") or "huying@localhost"
    SMTP_STARTTLS = os.environ.get("HUYING_SMTP_STARTTLS", "0") == "1"
    SMTP_SSL = os.environ.get("HUYING_SMTP_SSL", "0") == "1"
    ROBOT_HOSTS = [h.strip() for h in (os.environ.get("HUYING_ROBOT_HOSTS")
                                       or "qyapi.weixin.qq.com,oapi.dingtalk.com").split(",") if h.strip()]
    PUBLIC_URL = os.environ.get("HUYING_PUBLIC_URL") or None
    NOTIFY_INTERVAL_SECONDS = float(os.environ.get("HUYING_NOTIFY_INTERVAL_SECONDS")
                                    or os.environ.get("SCHEDULER_INTERVAL_SECONDS", "10"))
    NOTIFY_MAX_ATTEMPTS = int(os.environ.get("HUYING_NOTIFY_MAX_ATTEMPTS", "8"))      # then the message is failed
    NOTIFY_RETRY_SECONDS = int(os.environ.get("HUYING_NOTIFY_RETRY_SECONDS", "30"))   # doubled after each failure
    NOTIFY_RETRY_MAX_SECONDS = int(os.environ.get("HUYING_NOTIFY_RETRY_MAX_SECONDS", str(6 * 3600)))
    NOTIFY_LEASE_SECONDS = int(os.environ.get("HUYING_NOTIFY_LEASE_SECONDS", "120"))  # a claim's life
    NOTIFY_TIMEOUT_SECONDS = float(os.environ.get("HUYING_NOTIFY_TIMEOUT_SECONDS", "10"))
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024      # any request body; the uploads' own limits are below
    # evidence (app/evidence.py, app/storage.py): where files are kept — `instance` (instance/files/), a
    # directory path, or `database` (chunks in the app's database, shared by every app process and machine)
    STORAGE = os.environ.get("HUYING_STORAGE") or "instance"
    UPLOAD_MAX_BYTES = int(os.environ.get("HUYING_UPLOAD_MAX_BYTES", str(50 * 1024 * 1024)))    # one file
    # a browser form's files together (the call form, a reply)
    UPLOAD_MAX_REQUEST_BYTES = int(os.environ.get("HUYING_UPLOAD_MAX_REQUEST_BYTES", str(100 * 1024 * 1024)))
    UPLOAD_MAX_FILES_PER_CASE = int(os.environ.get("HUYING_UPLOAD_MAX_FILES_PER_CASE", "50"))
    UPLOAD_MAX_PIXELS = int(os.environ.get("HUYING_UPLOAD_MAX_PIXELS", str(60_000_000)))   # images, before decoding
    # the extensions accepted (each checked by the file's bytes); default: every type app/evidence.py knows
    UPLOAD_TYPES = os.environ.get("HUYING_UPLOAD_TYPES") or None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    JSON_SORT_KEYS = False
    API_TITLE = "Huying 呼应 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"


def instance_secret_key(path):
    """The key kept in `path`, made on first use: written to a file of our own (O_EXCL, mode 0600),
    then published under `path` with one atomic link, so processes starting together all read the
    one key that won and restarts keep it."""
    try:
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
    except FileNotFoundError:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        draft = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(draft, path)
            except FileExistsError:
                pass                      # another process was first: its key is the one
        finally:
            os.unlink(draft)
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: remove it to have a new key made, or set SECRET_KEY")
    return key


class TestConfig(Config):
    TESTING = True
    # the tests' files (content-addressed, so shared harmlessly); a test that alters one uses its own
    STORAGE = os.path.join(tempfile.gettempdir(), "huying-test-files")
    SECRET_KEY = "test-secret"
    HUYING_DEMO = True
    HUYING_DEMO_HISTORY = False    # tests load demo.load_demo() and see no history
    # the tests' demo users sign in some ten thousand times a run: scrypt's 0.1 s each was a sixth of
    # the suite's time. Each stored hash names its method, so sign-in is checked the same way.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
