"""A headless Chromium driven over the Chrome DevTools Protocol (one page, synchronous, bounded waits)."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions", "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0", "--window-size=1280,800", "--hide-scrollbars",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextlib.contextmanager
def browser_or_skip(folder: Path) -> Iterator[Browser]:
    """A Browser with its profile under `folder`, closed afterwards; skips the test when Chromium is absent
    ($DAML_CHROMIUM names another executable)."""
    executable = os.environ.get("DAML_CHROMIUM") or find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (.ci/run installs it: apt-get install -y chromium)")
    profile = folder / "profile"
    profile.mkdir()
    session = Browser(executable, profile)
    try:
        yield session
    finally:
        session.close()


class Browser:
    """Chromium with one page target; `call` sends a CDP command and returns its result."""

    def __init__(self, executable: str, profile: Path, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        self.wait_for(lambda: port_file.is_file() and len(port_file.read_text().splitlines()) >= 2, "DevToolsActivePort")
        port, browser_path = port_file.read_text().splitlines()[:2]
        with connect(f"ws://127.0.0.1:{port}{browser_path}", max_size=None, open_timeout=timeout_s) as browser:
            self._socket = browser
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._stack = contextlib.ExitStack()
        page = connect(f"ws://127.0.0.1:{port}/devtools/page/{target}", max_size=None, open_timeout=timeout_s)
        self._socket: ClientConnection = self._stack.enter_context(page)
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)
        raise TimeoutError(method)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"waited {self.timeout_s:.0f} s for {what}")

    def open_file(self, page: Path, width: int = 1280, height: int = 800) -> None:
        """Show the local file `page` in a viewport `width` CSS pixels wide and wait until it has loaded."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", url=page.resolve().as_uri())
        self.wait_for(lambda: self.evaluate("document.readyState") == "complete", f"{page.name} to load")

    def set_file(self, selector: str, path: Path) -> None:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", nodeId=node, files=[str(path)])

    def screenshot(self, out: Path) -> Path:
        out.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return out

    def exceptions(self) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("method") == "Runtime.exceptionThrown"]

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
