"""A scripted HTTP server on 127.0.0.1 for download tests: Range support, dropped connections, errors.

`server.files[path] = bytes` serves a file (with `Range: bytes=N-` answered by 206); `server.behaviour[path]`
scripts misbehaviour: "drop" (send all headers, half the body, then close: once), "ignore-range" (always
answer 200 with the whole file), "html" (a login page), or an int HTTP status ("500" once with
"flaky-500"). Every request is logged as (path, Range header). The server runs in a daemon thread, stops
at the end of the test, and shuts itself down after `lifetime` seconds in any case.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class ScriptedServer:
    host: str
    port: int
    files: dict[str, bytes] = field(default_factory=dict)
    behaviour: dict[str, object] = field(default_factory=dict)
    log: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def requests(self, path: str) -> list[str | None]:
        """Range headers of the requests made for `path`, in order."""
        return [rng for p, rng in self.log if p == path]


def _handler(state: ScriptedServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 10  # never block a test for long on a half-open socket

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            path = self.path.split("?", 1)[0]
            state.log.append((path, self.headers.get("Range")))
            behaviour = state.behaviour.get(path)
            if behaviour == "flaky-500":
                state.behaviour[path] = None
                behaviour = 500
            if isinstance(behaviour, int):
                self.send_error(behaviour)
                return
            if behaviour == "html":
                body = b"<html><body>Please sign in</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if path not in state.files:
                self.send_error(404)
                return
            data = state.files[path]
            start = 0
            range_header = self.headers.get("Range")
            if range_header and range_header.startswith("bytes=") and behaviour != "ignore-range":
                start = int(range_header[6:].split("-", 1)[0])
            if start >= len(data) and start:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            body = data[start:]
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if behaviour == "drop":
                state.behaviour[path] = None  # only the first request is cut
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def scripted_server(lifetime: float = 120.0) -> Iterator[ScriptedServer]:
    """Run a ScriptedServer for the duration of the `with` block (and never longer than `lifetime` s)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), None)  # handler set below, once the state exists
    state = ScriptedServer("127.0.0.1", httpd.server_address[1])
    httpd.RequestHandlerClass = _handler(state)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    watchdog = threading.Timer(lifetime, httpd.shutdown)
    watchdog.daemon = True
    thread.start()
    watchdog.start()
    try:
        yield state
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A local port with nothing listening (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
