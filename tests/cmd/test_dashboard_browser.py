#!/usr/bin/env python3
"""The dashboard in a real browser: `gpuslice demo --keep` runs, headless
Chromium opens the URL the demo printed, and the page, loaded once, must
show live what happens after it loaded: a pod created by the test through
the API gets its slice drawn as a cell of its GPU's bar, and the test
checks that the cell came from the event stream (the page marks each cell
with where it first came from and at which stream event) without a reload
(the page's load id is unchanged); an Event whose message is HTML is shown
as text (no element made of it, the title untouched); and a screenshot is
a picture with the cell's colour where the DOM puts the cell.

Skips (exit 77) where /usr/bin/chromium is not installed.

Usage: test_dashboard_browser.py GPUSLICE [OUT_DIR]
(OUT_DIR: where the screenshot, dashboard.png, is kept for a person to see;
meson gives the test's build folder.)
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import browser  # noqa: E402

WAIT_S = 120
NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: live
  labels:
    gpuslice.dev/enabled: "true"
"""
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"> & </td><script>x=1</script>"


def pod(name, seconds):
    return {"metadata": {"name": name, "annotations": {"gpuslice.dev/run-seconds": str(seconds)}},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "main", "image": "busybox",
                "resources": {"limits": {"nvidia.com/mig-1g.5gb": 1}}}]}}


def event(name, message):
    return {"metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "namespace": "live", "name": "live-1"},
            "reason": "Hostile<b>Reason</b>", "message": message, "type": "Warning",
            "lastTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "count": 1}


def post(api, path, body):
    req = urllib.request.Request(api + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def wait_for_line(log, prefix, proc):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and proc.poll() is None:
        with open(log, encoding="utf-8") as f:
            for line in f:
                if line.startswith(prefix):
                    return line[len(prefix):].strip()
        time.sleep(0.1)
    with open(log, encoding="utf-8") as f:
        raise AssertionError("the demo never printed %r (exit %s):\n%s"
                             % (prefix, proc.poll(), f.read()))


CELL = "document.querySelector('.slice[data-key^=\"live/live-1\"]')"


def check_live_update(page, api):
    """The page loaded, then a pod's slice arrives over the stream."""
    page.wait_for("!!document.body && document.body.dataset.loaded === 'true' && "
                  "Number(document.body.dataset.frames) >= 1", "its first stream event")
    load_id = page.evaluate("document.documentElement.dataset.loadId")
    frames_before = int(page.evaluate("document.body.dataset.frames"))
    assert page.evaluate(CELL + " === null"), "the slice is there before the pod"
    post(api, "/api/v1/namespaces/live/pods", pod("live-1", 600))
    post(api, "/api/v1/namespaces/live/events", event("hostile", HOSTILE))
    cell = page.wait_for("(c => c && {via: c.dataset.via, frame: Number(c.dataset.frame), "
                         "text: c.textContent, key: c.dataset.key})(" + CELL + ")",
                         "the new pod's slice")
    assert cell["via"] == "stream", cell
    assert cell["frame"] > frames_before, (cell, frames_before)
    assert "1g.5gb" in cell["text"] and "live/live-1" in cell["text"], cell
    assert page.evaluate("document.documentElement.dataset.loadId") == load_id, "reloaded"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    return cell


def check_text_stays_text(page):
    shown = page.wait_for("[...document.querySelectorAll('#events td')]"
                          ".map(td => td.textContent).find(t => t.includes('onerror'))",
                          "the hostile Event")
    assert shown == HOSTILE, shown
    assert page.evaluate("document.querySelectorAll('img, script:not([src]), #events b')"
                         ".length") == 0
    assert page.evaluate("[...document.querySelectorAll('#events td')]"
                         ".some(td => td.textContent === 'Hostile<b>Reason</b>')")
    assert page.evaluate("document.title") == "gpuslice dashboard"
    assert page.evaluate("typeof x") == "undefined"


def check_screenshot(page, folder):
    box = page.evaluate("(r => ({x: r.x, y: r.y, w: r.width, h: r.height}))(" + CELL +
                        ".getBoundingClientRect())")
    png = page.screenshot()
    with open(os.path.join(folder, "dashboard.png"), "wb") as f:
        f.write(png)
    picture = browser.png_pixels(png)
    assert picture[:2] == (1200, 900), picture[:2]
    variety = browser.colours(picture)
    assert variety > 50, variety
    # The cell's fill (hsl(h, 65%, 78%)), a bit in from its top left corner:
    # neither the page's background nor white nor grey.
    x, y = int(box["x"] + 6), int(box["y"] + 6)
    assert 0 <= x < 1200 and 0 <= y < 900, box
    r, g, b = browser.pixel(picture, x, y)
    assert max(r, g, b) - min(r, g, b) > 30, (box, (r, g, b))
    return len(png), variety, (r, g, b), box


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    browser.require_chromium()
    gpuslice = os.path.abspath(sys.argv[1])
    keep = os.path.abspath(sys.argv[2]) if len(sys.argv) == 3 else None
    with tempfile.TemporaryDirectory(prefix="gpuslice-dashboard-test-") as cwd:
        samples = os.path.join(cwd, "samples")
        os.mkdir(samples)
        with open(os.path.join(samples, "namespace.yaml"), "w", encoding="utf-8") as f:
            f.write(NAMESPACE)
        log = os.path.join(cwd, "output")
        with open(log, "w", encoding="utf-8") as out:
            demo = subprocess.Popen([gpuslice, "demo", "--samples", samples, "--keep",
                                     "--timeout", "300", "--kubeconfig",
                                     os.path.join(cwd, "k.kubeconfig")],
                                    cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        page = None
        try:
            url = wait_for_line(log, "gpuslice demo: dashboard at ", demo)
            api = wait_for_line(log, "gpuslice demo: 1 objects applied to the embedded "
                                     "cluster at ", demo)
            assert url.startswith("http://127.0.0.1:") and url.endswith("/"), url
            page = browser.Browser(url)
            cell = check_live_update(page, api)
            check_text_stays_text(page)
            size, variety, colour, box = check_screenshot(page, keep or cwd)
        finally:
            if page:
                page.close()
            demo.terminate()
            demo.wait(timeout=WAIT_S)
    print("\ndashboard at %s: slice %s drawn from stream event %d; screenshot %d bytes, "
          "%d colours, the cell at (%d,%d) %dx%d is rgb%s"
          % (url, cell["key"], cell["frame"], size, variety, box["x"], box["y"], box["w"],
             box["h"], colour))
    return 0


if __name__ == "__main__":
    sys.exit(main())
