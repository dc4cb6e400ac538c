"""Open a local HTML file in headless Chromium and record what the page did, for report tests.

Talks the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-delimited JSON): no debugging port, no websocket library, nothing downloaded. Host names
resolve to nothing, so a page that tries to reach the network is recorded, never served.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """Return the path of a Chromium binary, or None where none is installed."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    """What a page loaded and showed: every request it started, values a script read, a screenshot."""

    requests: list[str] = field(default_factory=list)
    values: Any = None
    screenshot: bytes = b""


class _Pipe:
    """A CDP connection over the two pipes of a browser started with ``--remote-debugging-pipe``."""

    def __init__(self, to_browser: int, from_browser: int):
        self.to_browser, self.from_browser = to_browser, from_browser
        self.buffer = b""
        self.events: list[dict] = []
        self.next_id = 0

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise ConnectionError("the browser closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)


def visit(path: Path, script: str, width: int = 1280, settle_seconds: float = 1.0) -> PageVisit:
    """Load ``path`` in headless Chromium, run ``script`` (an expression) and take a full-page screenshot."""
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    to_child, to_browser = os.pipe()
    from_browser, from_child = os.pipe()

    def wire() -> None:  # the browser reads commands on fd 3 and writes answers on fd 4
        reading, writing = os.dup(to_child), os.dup(from_child)  # above 4: dup2 cannot clash
        os.dup2(reading, 3)
        os.dup2(writing, 4)

    with tempfile.TemporaryDirectory(prefix="leadml-chromium-") as profile:
        process = subprocess.Popen(
            [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
             f"--window-size={width},900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire, close_fds=False)
        os.close(to_child)
        os.close(from_child)
        pipe = _Pipe(to_browser, from_browser)
        try:
            return _drive(pipe, path, script, width, settle_seconds)
        finally:
            try:
                pipe.send("Browser.close", timeout=5)
            except (OSError, RuntimeError, TimeoutError, ConnectionError):
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            os.close(to_browser)
            os.close(from_browser)


def _drive(pipe: _Pipe, path: Path, script: str, width: int, settle_seconds: float) -> PageVisit:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Network.enable", "Page.enable", "Runtime.enable"):
        pipe.send(domain, session=session)
    pipe.events.clear()
    pipe.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
    pipe.wait_for("Page.loadEventFired")
    deadline = time.monotonic() + settle_seconds  # let late requests (timers, lazy images) show up
    while time.monotonic() < deadline:
        pipe.send("Runtime.evaluate", {"expression": "1"}, session=session)
        time.sleep(0.1)
    result = pipe.send("Runtime.evaluate", {"expression": script, "returnByValue": True}, session=session)
    if "exceptionDetails" in result:
        raise RuntimeError(f"the page script failed: {result['exceptionDetails']}")
    metrics = pipe.send("Page.getLayoutMetrics", session=session)
    height = int(metrics["cssContentSize"]["height"])
    shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                "clip": {"x": 0, "y": 0, "width": width, "height": height,
                                                         "scale": 1}}, session=session)
    requests = [event["params"]["request"]["url"] for event in pipe.events
                if event.get("method") == "Network.requestWillBeSent" and event.get("sessionId") == session]
    return PageVisit(requests=requests, values=result["result"].get("value"),
                     screenshot=base64.b64decode(shot["data"]))
