"""Static files as a phone on a slow network gets them: pages link fingerprinted URLs (the hash of the
file's content), answered with a year-long immutable Cache-Control and compressed with brotli or
gzip as the browser accepts; a changed file gets a new URL while the old one still answers (not
pinned); no session cookie rides on them; the Content-Security-Policy still holds."""
import gzip
import os
import re

import brotli
import pytest
from flask import Flask, url_for

from app.assets import IMMUTABLE, init_assets
from helpers import web_login

FINGERPRINTED_CSS = re.compile(r'href="(/static/style\.[0-9a-f]{12}\.css)"')


def stylesheet_url(client):
    page = client.get("/login").get_data(as_text=True)
    found = FINGERPRINTED_CSS.search(page)
    assert found, page[:600]
    return found.group(1)


def test_pages_link_the_stylesheet_by_its_content_hash_cached_for_a_year(app, client):
    url = stylesheet_url(client)
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["Content-Type"] == "text/css; charset=utf-8"
    with open(os.path.join(app.static_folder, "style.css"), "rb") as f:
        assert r.data == f.read()


def test_assets_come_compressed_with_brotli_or_gzip_as_the_browser_accepts(app, client):
    url = stylesheet_url(client)
    with open(os.path.join(app.static_folder, "style.css"), "rb") as f:
        original = f.read()
    br = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br" and "Accept-Encoding" in br.headers["Vary"]
    assert brotli.decompress(br.data) == original and len(br.data) < len(original) / 3
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == original
    plain = client.get(url, headers={"Accept-Encoding": "br;q=0, identity"})
    assert "Content-Encoding" not in plain.headers and plain.data == original
    assert br.headers["ETag"] != gz.headers["ETag"] != plain.headers["ETag"]   # one validator per encoding


def test_assets_carry_the_security_headers_and_no_session_cookie(app):
    browser = web_login(app, "center")
    r = browser.get(stylesheet_url(browser))
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers
    assert "Cookie" not in r.headers.get("Vary", "")       # the year-long copy survives a new session cookie
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def static_app(tmp_path):
    """A bare Flask app serving a folder of our own through app.assets."""
    folder = tmp_path / "static"
    (folder / "css").mkdir(parents=True)
    (folder / "font").mkdir()
    (folder / "page.js").write_text("console.log('第一版');\n" * 200, encoding="utf-8")
    (folder / "font" / "icons.woff2").write_bytes(b"wOF2 first")
    (folder / "css" / "icons.css").write_text(
        "@font-face { src: url('../font/icons.woff2?7#x') format('woff2'), url(data:font/woff2;base64,AA==); }\n"
        ".a { background: url(/static/elsewhere.png); }\n" * 20, encoding="utf-8")
    app = Flask("static_test", static_folder=str(folder))
    init_assets(app)
    app.folder = folder
    return app


def url_of(app, filename):
    with app.test_request_context():
        return url_for("static", filename=filename)


def touch_later(path, text):
    """Rewrite a file and make sure its modification time moves on."""
    before = os.stat(path).st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_a_changed_file_gets_a_new_url_and_the_old_one_is_no_longer_cached_for_a_year(static_app):
    client = static_app.test_client()
    first = url_of(static_app, "page.js")
    assert re.fullmatch(r"/static/page\.[0-9a-f]{12}\.js", first)
    assert url_of(static_app, "page.js") == first                        # the same files, the same URL
    touch_later(static_app.folder / "page.js", "console.log('第二版');\n")
    second = url_of(static_app, "page.js")
    assert second != first
    new = client.get(second)
    assert new.headers["Cache-Control"] == IMMUTABLE and "第二版".encode() in new.data
    old = client.get(first)                  # a page cached before the change still gets its script
    assert old.status_code == 200 and "第二版".encode() in old.data
    assert old.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/missing.0123456789ab.js").status_code == 404
    assert client.get("/static/../static_test.py").status_code == 404


def test_the_plain_url_is_revalidated_by_its_etag(static_app):
    client = static_app.test_client()
    r = client.get("/static/page.js", headers={"Accept-Encoding": "br"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache"
    again = client.get("/static/page.js", headers={"Accept-Encoding": "br", "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_a_stylesheet_links_its_font_by_hash_and_changes_with_it(static_app):
    client = static_app.test_client()
    css_url = url_of(static_app, "css/icons.css")
    font_url = url_of(static_app, "font/icons.woff2")
    body = client.get(css_url).get_data(as_text=True)
    leaf = font_url.rsplit("/", 1)[1]
    assert f"url('../font/{leaf}?7#x')" in body                 # query and fragment kept
    assert "url(data:font/woff2;base64,AA==)" in body and "url(/static/elsewhere.png)" in body
    assert client.get(f"/static/font/{leaf}").headers["Cache-Control"] == IMMUTABLE
    (static_app.folder / "font" / "icons.woff2").write_bytes(b"wOF2 second, longer")
    assert url_of(static_app, "font/icons.woff2") != font_url
    assert url_of(static_app, "css/icons.css") != css_url          # its bytes name the new font


def test_the_builds_precompressed_files_are_sent_while_fresh(static_app):
    client = static_app.test_client()
    page = static_app.folder / "page.js"
    original = page.read_bytes()
    built = brotli.compress(original, quality=1)
    (static_app.folder / "page.js.br").write_bytes(built)
    os.utime(static_app.folder / "page.js.br", ns=(os.stat(page).st_mtime_ns + 1,) * 2)
    r = client.get(url_of(static_app, "page.js"), headers={"Accept-Encoding": "br"})
    assert r.data == built                                  # the build's file, as it is
    touch_later(page, "console.log('改过');\n" * 100)         # the bundle rebuilt, its .br not
    r = client.get(url_of(static_app, "page.js"), headers={"Accept-Encoding": "br"})
    assert brotli.decompress(r.data) == page.read_bytes()


def test_a_deployed_versions_bpmn_comes_compressed_to_a_browser_that_accepts_it(app):
    town = web_login(app, "town_a")
    plain = town.get("/processes/call_response/versions/1.bpmn", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and b"<bpmn:definitions" in plain.data and "Content-Encoding" not in plain.headers
    packed = town.get("/processes/call_response/versions/1.bpmn", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "br" and "Accept-Encoding" in packed.headers["Vary"]
    assert brotli.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 4
    assert packed.headers["Cache-Control"] == "private, max-age=3600"


def test_another_process_links_the_same_urls_and_answers_this_ones(app, client, tmp_path):
    """Fingerprints are built once per process: a second server process (behind the same load balancer)
    must link the same URLs and serve the URL this one linked with its year-long cache."""
    import subprocess
    import sys
    here = stylesheet_url(client)
    script = (
        "import sys\n"
        "from app import create_app\n"
        "app = create_app({'TESTING': True, 'SQLALCHEMY_DATABASE_URI': sys.argv[1], 'WTF_CSRF_ENABLED': False})\n"
        "c = app.test_client()\n"
        "page = c.get('/login').get_data(as_text=True)\n"
        "r = c.get(sys.argv[2])\n"
        "print(page.count(sys.argv[2]), r.status_code, r.headers.get('Cache-Control'))\n")
    out = subprocess.run([sys.executable, "-c", script, f"sqlite:///{tmp_path}/other.db", here],
                         capture_output=True, text=True, timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == f"1 200 {IMMUTABLE}", out.stdout
