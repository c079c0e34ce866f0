"""First visits of 督办, 考核报表 and the process diff in a real browser: `python -m bench.first_visit`
alone, or as part of `make bench`.

A server (`flask huying serve`, waitress, the demo with its year of past calls) is started on a free
port, or BENCH_BASE_URL names one already running. Each page is opened as a person opening it for
the first time would: a fresh Chromium context (empty browser cache) that holds only the session
cookie of a login made in another context. The figures are the browser's navigation timing
(`performance.getEntriesByType('navigation')`): the server's answer (responseEnd), the page
usable (domContentLoadedEventEnd) and loaded with everything it asked for, scripts drawing the
diagram or the charts included (loadEventEnd, or the moment `.djs-container svg` / the charts'
canvas is there, whichever is later); with the bytes that came over the wire and the bytes
uncompressed. On loopback the first row of each page is the first request the server answers for it
after its start; then BENCH_VISITS more first visits (the server warm), reported as their median.
Nothing here asserts a time.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
VISITS = int(os.environ.get("BENCH_VISITS", "5"))
# DevTools' "Slow 4G" (Lighthouse's mobile profile): 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip
NETWORKS = {"loopback": None,
            "4G (1.6 Mbit/s, 150 ms)": {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8,
                                        "uploadThroughput": 750_000 / 8}}
PAGES = [
    ("督办 /supervision", "supervisor", "/supervision", "diagram"),
    ("考核报表 /reports", "supervisor", "/reports", "charts"),
    ("流程差异 /processes/call_response/diff", "analyst", "/processes/call_response/diff?from=1&to=2", "diagram"),
]

# every diagram drawn (or its failure shown), the report's charts there
DRAWN = """(what) => what === 'diagram'
  ? [...document.querySelectorAll('[data-bpmn-url]')].every((d) => d.querySelector('svg, .diagram-error'))
  : [...document.querySelectorAll('.rp-chart canvas')].every((c) => c.dataset.drawn === '1')"""

TIMING = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  return {response: n.responseEnd, dom: n.domContentLoadedEventEnd, load: n.loadEventEnd,
          wire: n.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
          body: n.decodedBodySize + res.reduce((s, r) => s + r.decodedBodySize, 0),
          now: performance.now()};
}"""


def second_version(env):
    """call_response v2 (受理's instructions changed), so that the diff has something to show."""
    script = (
        "from app import create_app, processes\n"
        "from app.models import User\n"
        "from app.extensions import db\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    if processes.version('call_response', 2) is None:\n"
        "        v1 = processes.version('call_response', 1)\n"
        "        analyst = db.session.query(User).filter_by(username='analyst').one()\n"
        "        xml = v1.bpmn.replace('name=\"受理\"', 'name=\"受理登记\"', 1)\n"
        "        processes.deploy_model(analyst, 'call_response', xml)\n")
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True)


def start_server():
    from bench.__main__ import free_port, start_server as start
    tmp = tempfile.mkdtemp(prefix="huying-bench-visit-")
    port = free_port()
    url = f"sqlite:///{os.path.join(tmp, 'visit.db')}"
    proc = start(url, port)
    env = dict(os.environ, DATABASE_URL=url, HUYING_DEMO="1", SECRET_KEY="bench", PYTHONPATH=str(ROOT))
    second_version(env)
    # restart: the first visits below are the server's first answers for these pages
    proc.terminate()
    proc.wait(10)
    proc = subprocess.Popen([sys.executable, "-m", "flask", "huying", "serve", "--port", str(port)],
                            env=dict(env, FLASK_APP="app:create_app", SCHEDULER_INTERVAL_SECONDS="3600"), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import http.client
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def cookies_of(browser, base_url, username):
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    state = context.storage_state()
    context.close()
    return state


def first_visit(browser, base_url, state, path, drawn, network):
    """One visit with an empty cache: {response, dom, load (ms), wire, body (bytes)}."""
    context = browser.new_context(base_url=base_url, storage_state=state, viewport={"width": 1366, "height": 768},
                                  locale="zh-CN")
    page = context.new_page()
    if network:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", network)
    page.goto(path, wait_until="load")
    page.wait_for_function(DRAWN, arg=drawn, timeout=30_000)
    t = page.evaluate(TIMING)
    context.close()
    t["load"] = max(t["load"], t["now"]) if t["load"] else t["now"]
    return t


def rows(browser, base_url):
    states = {u: cookies_of(browser, base_url, u) for u in {p[1] for p in PAGES}}
    out = []
    for n, (net_label, network) in enumerate(NETWORKS.items()):
        for label, user, path, drawn in PAGES:
            cold = first_visit(browser, base_url, states[user], path, drawn, network) if n == 0 else None
            warm = [first_visit(browser, base_url, states[user], path, drawn, network) for _ in range(VISITS)]
            out.append((f"{label}, {net_label}", cold, {k: statistics.median(w[k] for w in warm) for k in warm[0]}))
    return out


def print_rows(results):
    print(f"{'first visit, empty browser cache':72} {'server':>7} {'DOM':>7} {'drawn':>7} "
          f"{'wire kB':>8} {'body kB':>8}")
    for label, cold, warm in results:
        for tag, t in (("the server's first answer", cold), (f"median of {VISITS}", warm)):
            if t is None:
                continue
            print(f"{label + ', ' + tag:72} {t['response']:7.0f} {t['dom']:7.0f} {t['load']:7.0f} "
                  f"{t['wire'] / 1000:8.0f} {t['body'] / 1000:8.0f}")
    print("(ms from the start of the navigation; server = its answer received, DOM = DOMContentLoaded, "
          "drawn = loaded and the diagram or charts drawn)")


def main():
    from playwright.sync_api import sync_playwright
    base_url, proc = os.environ.get("BENCH_BASE_URL"), None
    if not base_url:
        proc, base_url = start_server()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            results = rows(browser, base_url)
            browser.close()
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
    print(f"\nfirst visits in Chromium ({base_url}), {os.cpu_count()} cores\n")
    print_rows(results)


if __name__ == "__main__":
    main()
