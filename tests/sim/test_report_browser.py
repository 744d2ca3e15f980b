#!/usr/bin/env python3
"""report.html in a real browser: `gpuslice sim -o DIR` on a sample, the
page opened by headless Chromium from the file alone, and the DOM it built
holding every chart as SVG (as many svg, polyline and bar rect elements as
the file has, so nothing was dropped or moved by the parser), and a
screenshot that is a picture (decoded: many colours, not a blank page).

Skips (exit 77) where /usr/bin/chromium is not installed.

Usage: test_report_browser.py GPUSLICE SAMPLES_SIM_DIR
"""
import html.parser
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from browser import WAIT_S, chromium, colours, png_pixels, require_chromium  # noqa: E402


class Elements(html.parser.HTMLParser):
    """Counts the elements a DOM dump holds, by tag and by class."""

    def __init__(self):
        super().__init__()
        self.svg = self.polyline = self.bars = self.foreign = 0
        self.svg_classes = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "svg":
            self.svg += 1
            self.svg_classes.extend(classes)
        elif tag == "polyline":
            self.polyline += 1
        elif tag == "rect" and "bar" in classes:
            self.bars += 1
        elif tag == "rect" and "foreign" in classes:
            self.foreign += 1


def count(text):
    parser = Elements()
    parser.feed(text)
    return parser


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    require_chromium()
    gpuslice, samples = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([gpuslice, "sim", "-f", os.path.join(samples, "envelope-8.yaml"),
                              "-o", out], capture_output=True, text=True, timeout=WAIT_S)
        assert run.returncode == 0, run.stderr
        page = os.path.join(out, "report.html")
        with open(page, encoding="utf-8") as f:
            source = count(f.read())
        dom = chromium("--dump-dom", "file://" + page)
        assert dom.returncode == 0, dom.stderr
        built = count(dom.stdout)
        assert built.svg_classes.count("chart") == 3, built.svg_classes
        for kind in ("bound", "gantt"):
            assert kind in built.svg_classes, built.svg_classes
        figures = (built.svg, built.polyline, built.bars, built.foreign)
        assert figures == (source.svg, source.polyline, source.bars, source.foreign), figures
        # Three lines of pods, one of utilisation, three CDFs; a bar per
        # pod; the 3g.20gb on each GPU and its legend's swatch.
        assert figures[1:] == (7, 8, 3), figures
        png = os.path.join(out, "report.png")
        shot = chromium("--window-size=1050,2400", "--screenshot=" + png, "file://" + page)
        assert shot.returncode == 0, shot.stderr
        with open(png, "rb") as f:
            picture = f.read()
        variety = colours(png_pixels(picture))
        assert variety > 50, variety
    print("report.html: %d svg, %d polylines, %d bars in the browser's DOM; screenshot %d bytes, "
          "%d colours" % (built.svg, built.polyline, built.bars, len(picture), variety))
    return 0


if __name__ == "__main__":
    sys.exit(main())
