"""Issue 20 over real HTTP: a client that disconnects mid-upload costs the server no traceback, and both sizes
of decompression-bomb PNG get the pixel-limit message."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.cli.test_hostile_input_round3_reads import png_1bit
from tests.serve.conftest import Gallery, start_server, stop_server


@pytest.fixture(scope="module")
def logged_server(served_gallery: Gallery) -> Iterator[tuple[str, object]]:
    """A server of its own (default limits), with its stderr log."""
    process, url = start_server(served_gallery.index)
    try:
        yield url, process.daml_log
    finally:
        stop_server(process)


def _server_log(log) -> str:
    log.seek(0)
    return log.read()


def test_clients_that_disconnect_mid_upload_cost_no_traceback(logged_server, served_gallery: Gallery) -> None:
    url, log = logged_server
    parts = urlsplit(url)
    before = _server_log(log)
    for _ in range(3):
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
            connection.sendall(b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                               b"Content-Length: 200000\r\n\r\n" + b"\x89PNG" + b"\0" * 4000)
            time.sleep(0.2)  # the server is reading the body when the client goes
    time.sleep(1.0)
    health = httpx.get(url + "health", timeout=30)
    assert health.status_code == 200
    answer = httpx.post(url + "search?k=1", content=Path(served_gallery.paths[3]).read_bytes(), timeout=60)
    assert answer.status_code == 200 and answer.json()[0]["results"][0]["id"] == 3
    new = _server_log(log)[len(before):]
    assert "Traceback" not in new and "ClientDisconnect" not in new
    assert len([line for line in new.splitlines() if line.strip()]) <= 3, new


@pytest.mark.parametrize("side", [30000, 9000])
def test_decompression_bombs_get_the_pixel_limit_message(logged_server, tmp_path: Path, side: int) -> None:
    url, _ = logged_server
    bomb = png_1bit(tmp_path / "bomb.png", side)
    response = httpx.post(url + "search?name=bomb.png", content=bomb.read_bytes(), timeout=60)
    assert response.status_code == 400
    assert "-pixel limit" in response.json()["error"] and "bomb.png" in response.json()["error"]
