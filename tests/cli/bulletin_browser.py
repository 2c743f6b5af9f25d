#!/usr/bin/env python3
"""Opens an HTML page in headless Chromium through the DevTools protocol and reports, as JSON on
stdout, what a reader's browser would see:

  requests   every URL the page asked for other than the page itself (must be none)
  errors     console errors, uncaught exceptions and browser log errors (CSP violations, failed
             loads) while the page loaded
  pixels, nonwhite   the screenshot's pixel count and how many are not near-white
  pdf_bytes  size of the A4 PDF printed with the page's own @page rules

Usage: bulletin_browser.py PAGE.html SCREENSHOT.png PRINTED.pdf
Chromium: $CHROMIUM or `chromium` on PATH; runs with --no-sandbox (root in CI), a temporary
profile and the DevTools pipe (fds 3 and 4), and is stopped after $TIMEOUT seconds (default 90).
Only the Python standard library is used (the PNG is decoded here, not by Chromium).
"""
import base64
import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import tempfile
import time
import zlib


class Pipe:
    def __init__(self, write_fd, read_fd, deadline):
        self.write_fd = write_fd
        self.read_fd = read_fd
        self.deadline = deadline
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.write_fd, data):]
        return self.next_id

    def read_message(self, timeout):
        while b"\0" not in self.buffer:
            left = min(timeout, self.deadline - time.time())
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=None):
        wanted = self.send(method, params, session)
        while True:
            message = self.read_message(self.deadline - time.time())
            if message is None:
                continue
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method, session, timeout):
        end = time.time() + timeout
        for i, event in enumerate(self.events):
            if event["method"] == method and event.get("sessionId") == session:
                return self.events.pop(i)
        while time.time() < end:
            message = self.read_message(end - time.time())
            if message is None:
                break
            if "method" in message:
                if message["method"] == method and message.get("sessionId") == session:
                    return message
                self.events.append(message)
        raise TimeoutError(f"no {method} within {timeout} s")

    def drain(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            message = self.read_message(end - time.time())
            if message is None:
                break
            if "method" in message:
                self.events.append(message)


def png_pixels(data):
    """(width, height, [(r, g, b), …]) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos = 8
    idat = b""
    width = height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"PNG depth {depth} colour {colour}"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    rows = []
    at = 0
    for _ in range(height):
        kind = raw[at]
        line = bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(line)
        previous = line
    return width, height, rows, channels


def count_nonwhite(png):
    width, height, rows, channels = png_pixels(png)
    nonwhite = 0
    for line in rows:
        for x in range(0, width * channels, channels):
            if min(line[x], line[x + 1], line[x + 2]) < 235:
                nonwhite += 1
    return width * height, nonwhite


def main():
    page, screenshot, printed = sys.argv[1:4]
    url = "file://" + os.path.abspath(page)
    chromium = os.environ.get("CHROMIUM", "chromium")
    timeout = float(os.environ.get("TIMEOUT", "90"))
    deadline = time.time() + timeout
    with tempfile.TemporaryDirectory(prefix="qiancun-browser-") as profile:
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Above 10 so that placing them on 3 and 4 in the child cannot overwrite one another.
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)

        def place_pipes():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        log = open(os.path.join(profile, "chromium.log"), "wb")
        process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-sync",
             "--disable-background-networking", "--disable-component-update",
             "--remote-debugging-pipe", f"--user-data-dir={profile}/p", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False,
            preexec_fn=place_pipes, start_new_session=True)
        for fd in (to_browser_r, from_browser_w, child_in, child_out):
            os.close(fd)
        pipe = Pipe(to_browser_w, from_browser_r, deadline)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.call("Target.attachToTarget",
                                {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                pipe.call(f"{domain}.enable", session=session)
            pipe.call("Emulation.setDeviceMetricsOverride",
                      {"width": 800, "height": 1100, "deviceScaleFactor": 1, "mobile": False},
                      session=session)
            pipe.call("Page.navigate", {"url": url}, session=session)
            pipe.wait_event("Page.loadEventFired", session, max(1.0, deadline - time.time()))
            pipe.drain(1.0)  # late requests and messages
            shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session=session)
            pdf = pipe.call("Page.printToPDF",
                            {"printBackground": True, "preferCSSPageSize": True,
                             "displayHeaderFooter": False}, session=session)
            pipe.drain(0.2)
            try:
                pipe.send("Browser.close")
            except OSError:
                pass
        finally:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
            log.close()
    requests = []
    errors = []
    for event in pipe.events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            requested = params["request"]["url"]
            if requested != url:
                requests.append(requested)
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                   for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    png = base64.b64decode(shot["data"])
    with open(screenshot, "wb") as f:
        f.write(png)
    pdf_data = base64.b64decode(pdf["data"])
    with open(printed, "wb") as f:
        f.write(pdf_data)
    pixels, nonwhite = count_nonwhite(png)
    json.dump({"requests": requests, "errors": errors, "pixels": pixels, "nonwhite": nonwhite,
               "pdf_bytes": len(pdf_data)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
