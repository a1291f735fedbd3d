"""`daml serve` over real HTTP on 127.0.0.1: answers, concurrent clients, bad uploads, thumbnail traversal."""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from tests.serve.conftest import UPLOAD_LIMIT_MB, Gallery


def _search(url: str, data: bytes, k: int = 5) -> httpx.Response:
    return httpx.post(f"{url}search?k={k}", content=data, timeout=60)


def _still_serving(url: str, gallery: Gallery, gallery_id: int = 7) -> None:
    response = _search(url, Path(gallery.paths[gallery_id]).read_bytes(), k=1)
    assert response.status_code == 200, response.text
    assert response.json()[0]["results"][0]["id"] == gallery_id


def _raw_request(url: str, payload: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """Send `payload` (a whole HTTP/1.1 request) on a fresh socket; the status code and the response body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as connection:
        connection.sendall(payload)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < _expected_length(received):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _expected_length(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(received) + 1


def test_search_matches_retrieve_json(server: str, served_gallery: Gallery) -> None:
    from daml_cli.inference.retrieval import retrieve

    query = Path(served_gallery.paths[123])
    expected = retrieve([query], served_gallery.index, k=5, device="cpu", exclude_self=False).queries[0]
    raw = _search(server, query.read_bytes())
    form = httpx.post(f"{server}search?k=5", files={"image": (query.name, query.read_bytes(), "image/png")}, timeout=60)
    for response in (raw, form):
        assert response.status_code == 200, response.text
        [answer] = response.json()
        assert set(answer) == {"query", "results"}
        hits = answer["results"]
        assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
        assert [h["path"] for h in hits] == [h.path for h in expected.hits]
        assert [h["label"] for h in hits] == [h.label for h in expected.hits]
        assert [h["score"] for h in hits] == pytest.approx([h.score for h in expected.hits], abs=1e-5)
        assert hits[0]["id"] == 123 and served_gallery.paths[hits[0]["id"]] == hits[0]["path"]
    assert form.json()[0]["query"] == query.name


def test_multipart_with_several_files_answers_each(server: str, served_gallery: Gallery) -> None:
    files = [("image", (f"q{i}.png", Path(served_gallery.paths[i]).read_bytes(), "image/png")) for i in (3, 40, 500)]
    response = httpx.post(f"{server}search?k=2", files=files, timeout=60)
    assert response.status_code == 200, response.text
    assert [a["query"] for a in response.json()] == ["q3.png", "q40.png", "q500.png"]
    assert [a["results"][0]["id"] for a in response.json()] == [3, 40, 500]


@contextlib.contextmanager
def in_process_server(app: object) -> Iterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port in a thread of this process; yields the base URL."""
    import uvicorn

    from daml_cli.serve.server import bind

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.02)
        assert server.started, "the in-process server did not start"
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_concurrent_clients_share_forward_passes(served_gallery: Gallery, monkeypatch: pytest.MonkeyPatch) -> None:
    # Deterministic: the first query's forward pass is held until every other client's query is queued in the
    # batcher, so those queries must all meet in the next pass; nothing depends on how threads are scheduled.
    from daml_cli.serve import app as app_module
    from daml_cli.serve.batcher import Batcher
    from daml_cli.serve.engine import SearchEngine

    clients = 8
    queued = threading.Semaphore(0)  # one release per query the batcher has queued
    first_held = threading.Event()
    passes: list[list[str]] = []

    class CountingBatcher(Batcher):  # the real batcher; it only reports each submission
        async def submit(self, item):  # type: ignore[no-untyped-def]
            queued.release()  # submit puts the item on the queue before it next yields to the event loop
            return await super().submit(item)

    engine = SearchEngine.open(served_gallery.index, device="cpu")
    answer = engine.answer

    def held_answer(queries):  # type: ignore[no-untyped-def]
        if not passes:
            first_held.set()
            for _ in range(clients):  # the first query and the clients - 1 sent while it is held
                assert queued.acquire(timeout=60), "not every query reached the batcher"
        passes.append([query.name for query in queries])
        return answer(queries)

    engine.answer = held_answer  # type: ignore[method-assign]
    monkeypatch.setattr(app_module, "Batcher", CountingBatcher)
    settings = app_module.ServeSettings(max_batch=32, batch_wait_s=0.0)
    answers: dict[int, int] = {}
    failures: list[str] = []

    def client(gallery_id: int) -> None:
        data = Path(served_gallery.paths[gallery_id]).read_bytes()
        response = httpx.post(f"{url}search?k=3", files={"image": (f"{gallery_id}.png", data, "image/png")}, timeout=60)
        if response.status_code != 200:
            failures.append(response.text)
        else:
            answers[gallery_id] = response.json()[0]["results"][0]["id"]

    with in_process_server(app_module.create_app(engine, settings)) as url:
        first = threading.Thread(target=client, args=(100,))
        first.start()
        assert first_held.wait(timeout=60), "the first query never reached a forward pass"
        others = [threading.Thread(target=client, args=(101 + n,)) for n in range(clients - 1)]
        for thread in others:
            thread.start()
        for thread in [first, *others]:
            thread.join(timeout=120)
        health = httpx.get(url + "health", timeout=10).json()
    assert not failures and len(answers) == clients
    assert answers == {gallery_id: gallery_id for gallery_id in range(100, 100 + clients)}
    assert passes[0] == ["100.png"] and sorted(passes[1]) == sorted(f"{101 + n}.png" for n in range(clients - 1))
    assert len(passes) == 2  # the seven queries that arrived together shared one forward pass
    assert (health["batches"], health["queries"], health["largest_batch"]) == (2, clients, clients - 1)


def _png(width: int, height: int, noise: bool = False) -> bytes:
    buffer = io.BytesIO()
    image = Image.effect_noise((width, height), 64) if noise else Image.new("L", (width, height))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"this is not an image", "not a readable image"),
        (b"", "empty"),
        (_png(64, 64, noise=True)[:2000], "not a readable image"),  # truncated PNG
        (_png(7000, 6000), "pixel limit"),  # a small file that would decode to 42 megapixels
    ],
    ids=["text", "empty", "truncated", "huge-canvas"],
)
def test_bad_upload_is_a_400_and_the_server_keeps_serving(server: str, served_gallery: Gallery, body: bytes, reason: str) -> None:
    response = _search(server, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert reason in error and "\n" not in error
    _still_serving(server, served_gallery)


def test_bad_requests_get_one_line_json_reasons(server: str, served_gallery: Gallery) -> None:
    image = Path(served_gallery.paths[0]).read_bytes()
    for k in ("0", "abc", "51", "-1", "1e3"):
        response = _search(server, image, k=k)  # type: ignore[arg-type]
        assert response.status_code == 400 and "k must be" in response.json()["error"]
    response = httpx.post(f"{server}search", data={"note": "no file"}, files={}, timeout=30)
    assert response.status_code == 400 and response.json()["error"]
    response = httpx.post(f"{server}search", content=b"--x\r\ngarbage", headers={"Content-Type": "multipart/form-data; boundary=x"}, timeout=30)
    assert response.status_code == 400 and "\n" not in response.json()["error"]
    response = httpx.get(f"{server}search", timeout=30)
    assert response.status_code == 405 and response.json()["error"]
    _still_serving(server, served_gallery)


def test_oversized_upload_refused_from_content_length(server: str, served_gallery: Gallery) -> None:
    declared = 10**9  # never sent: the server must answer from the header alone
    request = (f"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n").encode() + b"\x89PNG" * 256
    status, body = _raw_request(server, request)
    assert status == 413 and b"exceeds" in body
    _still_serving(server, served_gallery)


def test_oversized_chunked_upload_refused_while_streaming(server: str, served_gallery: Gallery) -> None:
    limit = int(UPLOAD_LIMIT_MB * 1_000_000)
    chunk = b"\0" * 65536
    count = limit // len(chunk) + 4  # past the limit by four chunks
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(count)) + b"0\r\n\r\n"
    request = b"POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    status, answer = _raw_request(server, request)
    assert status == 413 and b"exceeds" in answer
    response = httpx.post(f"{server}search", content=iter([chunk] * count), timeout=60)  # httpx streams it chunked
    assert response.status_code == 413
    just_under = _search(server, Path(served_gallery.paths[1]).read_bytes() + b"\0" * (limit - 20_000))
    assert just_under.status_code == 200  # trailing bytes after the PNG's end are ignored by the decoder
    _still_serving(server, served_gallery)


@pytest.mark.parametrize(
    "path",
    [
        "/thumb/" + "../" * 12 + "etc/passwd",  # deep enough to reach / from any gallery folder
        "/thumb/" + "..%2f" * 12 + "etc%2fpasswd",
        "/thumb/" + "%2e%2e/" * 12 + "etc/passwd",
        "/thumb/" + "%2e%2e%2f" * 12 + "{secret}",
        "/thumb/" + "..%5c" * 12 + "{secret}",
        "/thumb/{secret}",
        "/thumb//etc/passwd",
        "/thumb/%2fetc%2fpasswd",
        "/thumb/-1",
        "/thumb/896",
        "/thumb/99999999999999999999",
        "/thumb/1.0",
        "/thumb/0x1",
        "/thumb/%D9%A1",  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, not a gallery id
        "/thumb/",
        "/{secret}",
        "/../../etc/passwd",
    ],
)
def test_thumbnails_only_for_gallery_ids(server: str, served_gallery: Gallery, tmp_path: Path, path: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path.format(secret=str(secret).lstrip("/")))  # sent as written: no normalising
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 404, (path, body[:200])
    assert b"TOP-SECRET" not in body and b"root:" not in body
    assert response.getheader("Content-Type", "").startswith("application/json")


def test_thumbnail_of_a_gallery_entry(server: str, served_gallery: Gallery) -> None:
    first = httpx.get(server + "thumb/0", timeout=30)
    last = httpx.get(server + f"thumb/{len(served_gallery.paths) - 1}", timeout=30)
    for response in (first, last):
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(response.content)).size[0] > 0
    expected = Image.open(served_gallery.paths[0]).convert("L").resize((8, 8))
    served = Image.open(io.BytesIO(first.content)).convert("L").resize((8, 8))
    assert max(abs(a - b) for a, b in zip(expected.tobytes(), served.tobytes())) < 40  # the same picture


def test_page_and_health(server: str, served_gallery: Gallery) -> None:
    page = httpx.get(server, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'type="file"' in page.text and "/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing loaded from elsewhere
    script = httpx.get(server + "app.js", timeout=30)
    assert script.status_code == 200 and "/search" in script.text and "/thumb/" in script.text
    health = httpx.get(server + "health", timeout=30).json()
    assert health["status"] == "ok" and health["gallery"] == len(served_gallery.paths) and health["dimension"] == 16
