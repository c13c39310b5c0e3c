#!/usr/bin/env python3
"""Runs the built playground (playground/dist) in headless Chromium from a loopback HTTP server.

    browser_test.py OUT_DIR

1. fixtures.html runs every fixture of e2e-tests/fixtures through the browser build and posts
   the answers: OUT_DIR/fixtures.json (harness's `browser_check` compares them with the
   fixtures' expectations);
2. drive.html drives the real page in a frame (paste, verdict, mutate mode, diff) and posts what
   it saw: OUT_DIR/page.json;
3. a screenshot of the page with the CI example in mutate mode: OUT_DIR/screenshot.png.

The server serves nothing but the site, these test pages and the fixtures, and records what the
pages post; the pages load nothing else (a request for any other path is a 404).
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "playground" / "dist"
TESTS = ROOT / "playground" / "tests"
FIXTURES = ROOT / "e2e-tests" / "fixtures"
results = {}
arrived = threading.Condition()


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
    }

    def translate_path(self, path):
        path = path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith("/tests/"):
            return str(TESTS / Path(path).name)
        if path.startswith("/fixtures/"):
            return str(FIXTURES / Path(path).name)
        return str(DIST / path.lstrip("/"))

    def do_GET(self):
        if self.path == "/fixtures/index.json":
            names = sorted(p.name for p in FIXTURES.glob("*.json"))
            body = json.dumps(names).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def do_POST(self):
        name = self.path.rsplit("/", 1)[-1]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with arrived:
            results[name] = json.loads(body)
            arrived.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def chromium(profile, *args, debugging=True):
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        sys.exit("no chromium: apt-get install chromium, or set CHROMIUM to a Chrome or Chromium binary")
    return subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", *(["--remote-debugging-port=0"] if debugging else []), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_for(name, timeout):
    with arrived:
        if not arrived.wait_for(lambda: name in results, timeout=timeout):
            sys.exit(f"no result from the {name} page within {timeout} s")
    return results[name]


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as profile:
        for page, name, timeout in [("tests/fixtures.html", "fixtures", 300), ("tests/drive.html", "page", 60)]:
            browser = chromium(profile, f"{base}/{page}")
            try:
                answer = wait_for(name, timeout)
            finally:
                browser.kill()
                browser.wait()
            (out / f"{name}.json").write_text(json.dumps(answer, indent=1))
            if "error" in answer:
                sys.exit(f"the {name} page failed: {answer['error']}")
        shot = chromium(profile, f"--screenshot={out / 'screenshot.png'}", "--window-size=1400,1250",
                        "--hide-scrollbars", "--virtual-time-budget=15000", f"{base}/index.html?example=ci",
                        debugging=False)
        shot.wait(timeout=120)
    server.shutdown()
    print(f"browser results in {out}")


if __name__ == "__main__":
    main()
