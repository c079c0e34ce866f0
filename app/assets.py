"""Static files (app/static/*.css, *.js and the bundles in app/static/dist/) served so that a phone on a
slow network loads them once: fingerprinted URLs cached for a year, compressed with brotli or gzip.

`url_for('static', filename='dist/modeler.js')` gives /static/dist/modeler.<hash>.js, the hash being
the first 12 hex digits of the SHA-256 of the file's content: every process serving the same files
gives the same URLs, and a changed file a new one. A fingerprinted URL is answered with
`Cache-Control: public, max-age=31536000, immutable`; the plain URL, or one with an older hash (a
page cached before a deploy), still gets the current content, but with `no-cache` and an ETag, so it
is revalidated and never pinned. Stylesheets' url(...) references to other static files (the bpmn
palette font) are rewritten to fingerprinted URLs too, so a stylesheet's hash changes with its fonts.

Compression: the bundler writes the largest files' .br (quality 11) and .gz (level 9) beside them at
build time (frontend/compress.mjs), and those are sent when at least as new as the file; the other
text files (a few kB of hand-written CSS and JS, rewritten stylesheets) are compressed once per
process in memory. Chosen over compressing every response (Flask-Compress): the assets are fixed, so
compressing each once costs nothing per request, and pages carrying CSRF tokens next to what a user
typed stay uncompressed (BREACH)."""
import gzip
import hashlib
import mimetypes
import re
import threading
from pathlib import Path

import brotli
from flask import Response, abort, request
from werkzeug.security import safe_join

YEAR = 31536000
IMMUTABLE = f"public, max-age={YEAR}, immutable"
FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)$")
# woff/woff2, images: compressed formats already
COMPRESSIBLE = {".js", ".mjs", ".css", ".svg", ".json", ".map", ".ttf", ".eot", ".txt", ".xml"}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
BROTLI_QUALITY_LIMIT = 256 * 1024     # above it brotli's best quality takes a second; the build does those


class Asset:
    """One static file as served: its bytes (a stylesheet's with references rewritten), their hash,
    and its compressed forms, made when first asked for."""

    def __init__(self, path, stamp, body, refers_to):
        self.path = path
        self.stamp = stamp
        self.body = body
        self.refers_to = refers_to          # {name: digest} of the files a stylesheet's URLs were rewritten to
        self.rewritten = bool(refers_to)
        self.digest = hashlib.sha256(body).hexdigest()[:12]
        self.mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.compressible = path.suffix.lower() in COMPRESSIBLE
        self._encoded = {}
        self._lock = threading.Lock()

    def encoded(self, encoding, suffix):
        """The body in `encoding` ("br" or "gzip"), or None when it would not be smaller."""
        if not self.compressible:
            return None
        with self._lock:
            if encoding not in self._encoded:
                self._encoded[encoding] = self._encode(encoding, suffix)
            return self._encoded[encoding]

    def _encode(self, encoding, suffix):
        built = self.path.with_name(self.path.name + suffix)
        if not self.rewritten:
            try:
                if built.stat().st_mtime_ns >= self.stamp[0]:
                    return built.read_bytes()
            except OSError:
                pass
        if encoding == "br":
            quality = 11 if len(self.body) <= BROTLI_QUALITY_LIMIT else 9
            data = brotli.compress(self.body, quality=quality)
        else:
            data = gzip.compress(self.body, compresslevel=9, mtime=0)
        return data if len(data) < len(self.body) else None


class Assets:
    """The files of one static folder, read when first asked for and again when they change on disk."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self._cache = {}
        self._lock = threading.Lock()

    def get(self, name, _seen=()):
        """The Asset of a path relative to the folder, or None when there is no such file."""
        joined = safe_join(str(self.folder), name)
        if joined is None:
            return None
        path = Path(joined)
        try:
            st = path.stat()
            if not path.is_file():
                return None
        except (OSError, ValueError):
            return None
        name = self._name(path)
        stamp = (st.st_mtime_ns, st.st_size)
        found = self._cache.get(name)
        if found is not None and found.stamp == stamp and not self._stale(found, _seen):
            return found
        body, refers_to = path.read_bytes(), {}
        if path.suffix.lower() == ".css" and name not in _seen:
            body = self._rewrite_css(name, body, (*_seen, name), refers_to)
        asset = Asset(path, stamp, body, refers_to)
        with self._lock:
            self._cache[name] = asset
        return asset

    def _stale(self, asset, seen):
        """Whether a rewritten stylesheet refers to a file that changed since."""
        for name, digest in asset.refers_to.items():
            current = self.get(name, (*seen, self._name(asset.path)))
            if current is None or current.digest != digest:
                return True
        return False

    def _name(self, path):
        return path.relative_to(self.folder).as_posix()

    def _rewrite_css(self, name, body, seen, refers_to):
        base = name.rsplit("/", 1)[0] + "/" if "/" in name else ""

        def fingerprint(match):
            quote, target = match.group(1), match.group(2).strip()
            if re.match(r"^([a-z][a-z0-9+.-]*:|/|#)", target, re.I):
                return match.group(0)           # data:, http:, absolute and fragment-only URLs stay
            path, tail = re.match(r"^([^?#]*)(.*)$", target).groups()
            resolved = _normalise(base + path)
            asset = self.get(resolved, seen) if resolved and resolved not in seen else None
            if asset is None:
                return match.group(0)
            refers_to[resolved] = asset.digest
            return f"url({quote}{path.rsplit('/', 1)[0] + '/' if '/' in path else ''}"\
                   f"{fingerprinted_name(path.rsplit('/', 1)[-1], asset.digest)}{tail}{quote})"

        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
        return CSS_URL.sub(fingerprint, text).encode("utf-8")

    def url_name(self, name):
        """The fingerprinted path for url_for; the name itself when no such file exists."""
        asset = self.get(name)
        if asset is None:
            return name
        folder, _, leaf = name.rpartition("/")
        return (folder + "/" if folder else "") + fingerprinted_name(leaf, asset.digest)

    def warm(self):
        """Read and compress every file now, so that the first visitor after a start does not wait."""
        for path in sorted(self.folder.rglob("*")):
            if path.is_file() and path.suffix not in (".br", ".gz"):
                asset = self.get(self._name(path))
                if asset is not None:
                    for encoding, suffix in ENCODINGS:
                        asset.encoded(encoding, suffix)


def fingerprinted_name(leaf, digest):
    stem, dot, ext = leaf.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot and stem else f"{leaf}.{digest}"


def _normalise(path):
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


_folders = {}
_folders_lock = threading.Lock()


def assets_of(folder):
    """One Assets per static folder and process (the apps the tests build share it)."""
    key = str(Path(folder).resolve())
    with _folders_lock:
        if key not in _folders:
            _folders[key] = Assets(key)
        return _folders[key]


def _serve(assets, filename):
    """A static file: for its current fingerprint cached a year, for its plain name or an older
    fingerprint revalidated each time (no-cache, ETag); compressed as the browser accepts."""
    asset, current = assets.get(filename), False
    m = FINGERPRINTED.match(filename) if asset is None else None
    if m:
        asset = assets.get(m.group("stem") + m.group("ext"))
        current = asset is not None and asset.digest == m.group("digest")
    if asset is None:
        abort(404)
    body, encoding = asset.body, None
    for name, suffix in ENCODINGS:
        if request.accept_encodings[name] > 0:
            data = asset.encoded(name, suffix)
            if data is not None:
                body, encoding = data, name
                break
    response = Response(body, mimetype=asset.mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if asset.compressible:
        response.vary.add("Accept-Encoding")
    response.set_etag(asset.digest + (f"-{encoding}" if encoding else ""))
    if current:
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = "no-cache"
        response = response.make_conditional(request)
    return response


def compressed(body, mimetype, cache_control):
    """A response with a document that is the same for everyone who may read it (a deployed BPMN
    version), compressed as the browser accepts; never a page with a form's token in it (BREACH)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    encoding = None
    if len(data) > 1024:
        if request.accept_encodings["br"] > 0:
            data, encoding = brotli.compress(data, quality=5), "br"
        elif request.accept_encodings["gzip"] > 0:
            data, encoding = gzip.compress(data, compresslevel=6, mtime=0), "gzip"
    response = Response(data, mimetype=mimetype, headers={"Cache-Control": cache_control})
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.vary.add("Accept-Encoding")
    return response


def init_assets(app):
    """Fingerprinted static URLs and the static view that answers them."""
    assets = assets_of(app.static_folder)
    app.extensions["huying_assets"] = assets

    @app.url_defaults
    def fingerprint(endpoint, values):
        if endpoint == "static" and isinstance(values.get("filename"), str):
            values["filename"] = assets.url_name(values["filename"])

    app.view_functions["static"] = lambda filename: _serve(assets, filename)


def warm(app):
    """What a first visit after a start would otherwise wait for: the templates compiled, the static
    files hashed and compressed."""
    app.extensions["huying_assets"].warm()
    env = app.jinja_env
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html")):
        env.get_template(name)
