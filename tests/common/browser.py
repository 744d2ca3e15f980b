"""Headless Chromium for the tests that check a page in a real browser
(the simulator's report.html, the controller's dashboard): one-shot runs
(--dump-dom, --screenshot), a DevTools session over a WebSocket spoken
with the standard library (for pages that change while they are open),
and a PNG decoder to tell a picture from a blank page.

Tests that need Chromium call require_chromium() first: it exits 77 (the
meson skip code) saying why when /usr/bin/chromium is not installed.
"""
import base64
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

CHROMIUM = "/usr/bin/chromium"
SKIP = 77
WAIT_S = 180
FLAGS = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
         "--no-default-browser-check", "--hide-scrollbars"]


def require_chromium():
    if not os.access(CHROMIUM, os.X_OK):
        print("no " + CHROMIUM + " (make deps-browser installs it): skipped")
        sys.exit(SKIP)


def own_tmp(profile):
    """The environment for a Chromium whose temporary files (it makes a
    folder in $TMPDIR per run) go into its profile, removed with it."""
    return dict(os.environ, TMPDIR=profile)


def chromium(*args):
    """One run of headless Chromium with a profile of its own."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        return subprocess.run([CHROMIUM, *FLAGS, "--user-data-dir=" + profile, *args],
                              capture_output=True, text=True, timeout=WAIT_S,
                              env=own_tmp(profile))


def png_pixels(data):
    """(width, height, rows): the RGB(A) rows of an 8-bit truecolour PNG."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG"
    pos, idat, head = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour = head[:4]
    assert depth == 8 and colour in (2, 6), head
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride, rows, prior = width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        unfilter(kind, line, prior, bpp)
        rows.append(line)
        prior = line
    return width, height, bpp, rows


def unfilter(kind, line, prior, bpp):
    if kind == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        for i in range(len(line)):
            line[i] = (line[i] + prior[i]) & 0xFF
    elif kind == 3:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prior[i], prior[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[i] = (line[i] + pred) & 0xFF


def colours(png):
    """How many distinct colours a PNG's pixels have."""
    width, _, bpp, rows = png
    seen = set()
    for line in rows:
        seen.update(bytes(line[i:i + 3]) for i in range(0, width * bpp, bpp))
    return len(seen)


def pixel(png, x, y):
    width, _, bpp, rows = png
    return tuple(rows[y][x * bpp:x * bpp + 3])


class WebSocket:
    """A client WebSocket (RFC 6455) just good enough for DevTools: text
    frames out (masked), text frames in (any length, fragments joined)."""

    def __init__(self, url):
        assert url.startswith("ws://"), url
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=WAIT_S)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "DevTools closed the connection during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            assert chunk, "DevTools closed the connection"
            out += chunk
        return out

    def send(self, text):
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return message.decode()
            elif opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")

    def close(self):
        self.sock.close()


class Browser:
    """Headless Chromium showing url, driven through the DevTools protocol."""

    def __init__(self, url, width=1200, height=900):
        self.profile = tempfile.TemporaryDirectory(prefix="gpuslice-chromium-",
                                                   ignore_cleanup_errors=True)
        # A session of its own: closing ends Chromium's helper processes too.
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, "--user-data-dir=" + self.profile.name,
             "--remote-debugging-port=0", "--window-size=%d,%d" % (width, height), url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env=own_tmp(self.profile.name))
        self.next_id = 0
        self.ws = WebSocket(self._page_socket())
        # The viewport exactly (the window's size holds the browser's own
        # parts too), one device pixel per CSS pixel.
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def _page_socket(self):
        active = os.path.join(self.profile.name, "DevToolsActivePort")
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if os.path.exists(active):
                with open(active, encoding="utf-8") as f:
                    port = f.readline().strip()
                if port:
                    with urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port,
                                                timeout=10) as r:
                        pages = [t for t in json.load(r) if t.get("type") == "page"]
                    if pages:
                        return pages[0]["webSocketDebuggerUrl"]
            assert self.proc.poll() is None, "chromium exited (%s)" % self.proc.returncode
            time.sleep(0.1)
        raise TimeoutError("chromium never opened its DevTools port")

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply["result"]

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-able)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression, what, wait_s=WAIT_S):
        """Until the expression is truthy in the page; its value."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError("the page never showed " + what)

    def screenshot(self):
        """A PNG of the viewport."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self):
        self.ws.close()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for _ in range(50):  # its helpers leave the profile after it
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.profile.cleanup()
