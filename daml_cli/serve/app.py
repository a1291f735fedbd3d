"""The Starlette application: the page, ``/health``, ``POST /search`` and gallery thumbnails by number."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from daml_cli.serve.batcher import Batcher
from daml_cli.serve.client_error import ClientError
from daml_cli.serve.decode import decode_upload
from daml_cli.serve.engine import Query, SearchEngine
from daml_cli.serve.thumbnails import GalleryThumbnails
from daml_cli.serve.uploads import uploaded_images

PAGE_FILES = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
              "/style.css": ("style.css", "text/css; charset=utf-8")}


@dataclass(frozen=True)
class ServeSettings:
    default_k: int = 10
    max_k: int = 100
    max_upload_bytes: int = 10_000_000
    max_batch: int = 32
    batch_wait_s: float = 0.005


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def _page_assets() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("daml_cli.serve") / "page"
    return {route: ((folder / name).read_bytes(), kind) for route, (name, kind) in PAGE_FILES.items()}


def _requested_k(request: Request, settings: ServeSettings) -> int:
    text = request.query_params.get("k")
    if text is None:
        return settings.default_k
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= settings.max_k:
        raise ClientError(400, f"k must be an integer from 1 to {settings.max_k}, got {text[:20]!r}")
    return int(text)


def create_app(engine: SearchEngine, settings: ServeSettings = ServeSettings()) -> Starlette:
    """An ASGI app answering queries against `engine`; requests coming together share one forward pass."""
    batcher: Batcher[Query, dict[str, Any]] = Batcher(engine.answer, settings.max_batch, settings.batch_wait_s)
    thumbnails = GalleryThumbnails(engine.gallery)
    assets = _page_assets()

    def prepare(name: str, data: bytes, k: int) -> Query:
        return Query(name, engine.preprocess(decode_upload(data, name)), k)

    async def search(request: Request) -> Response:
        try:
            k = _requested_k(request, settings)
            uploads = await uploaded_images(request, settings.max_upload_bytes)
            queries: Sequence[Query] = [await run_in_threadpool(prepare, name, data, k) for name, data in uploads]
        except ClientError as error:
            return _error(error.status, error.reason)
        except ClientDisconnect:  # the client went away mid-upload: nobody reads an answer, nothing to log
            return Response(status_code=499)
        return JSONResponse(list(await asyncio.gather(*(batcher.submit(query) for query in queries))))

    async def health(request: Request) -> Response:
        stats = batcher.stats
        return JSONResponse({
            "status": "ok", "gallery": engine.count, "dimension": engine.metadata.dimension,
            "index_type": engine.metadata.index_type, "default_k": settings.default_k, "max_k": settings.max_k,
            "max_upload_bytes": settings.max_upload_bytes,
            "batches": stats.batches, "queries": stats.queries, "largest_batch": stats.largest_batch,
        })

    async def thumbnail(request: Request) -> Response:
        gallery_id = thumbnails.gallery_id(request.path_params["ident"])
        if gallery_id is None:
            return _error(404, f"no gallery entry {request.path_params['ident'][:40]!r}; thumbnails are /thumb/0 to /thumb/{engine.count - 1}")
        jpeg = await run_in_threadpool(thumbnails.jpeg, gallery_id)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    async def page(request: Request) -> Response:
        body, kind = assets[request.url.path]
        return Response(body, media_type=kind, headers={"Cache-Control": "no-cache"})

    async def http_error(request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        reason = {404: "not found", 405: "method not allowed"}.get(status, str(getattr(error, "detail", "error")))
        return _error(status, f"{reason}: {request.method} {request.url.path[:80]}")

    async def server_error(request: Request, error: Exception) -> Response:
        return _error(500, f"internal error: {type(error).__name__}")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()

    routes = [
        Route("/search", search, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/thumb/{ident}", thumbnail, methods=["GET"]),
        *[Route(path, page, methods=["GET"]) for path in PAGE_FILES],
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error, Exception: server_error})
