"""Read a request's image uploads (raw body or multipart form) within a byte limit, checked while reading."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from daml_cli.serve.client_error import ClientError

MAX_FILES = 16
DRAIN_LIMIT = 64 * 1024 * 1024  # past the limit, read and drop at most this much more before answering 413


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.3g} MB"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body; ClientError 413 when Content-Length or the bytes read exceed `limit` (at most `limit` are kept)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise ClientError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise ClientError(413, f"upload of {_megabytes(int(declared))} exceeds the {_megabytes(limit)} limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > limit + DRAIN_LIMIT:
            break  # stop reading: the connection will be closed
    if size > limit:  # the rest was read and dropped, so the client is listening when the 413 comes
        raise ClientError(413, f"upload exceeds the {_megabytes(limit)} limit")
    return b"".join(chunks)


async def uploaded_images(request: Request, limit: int) -> list[tuple[str, bytes]]:
    """(name, bytes) of each uploaded image: every file field of a multipart form, or the raw body."""
    body = await read_body(request, limit)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return [(request.query_params.get("name") or "upload", body)]
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=MAX_FILES, max_fields=MAX_FILES)
    except (HTTPException, MultiPartException) as error:
        reason = error.detail if isinstance(error, HTTPException) else error.message
        raise ClientError(400, f"malformed multipart form: {reason}") from None
    files = [(value.filename or key, await value.read()) for key, value in form.multi_items() if isinstance(value, UploadFile)]
    await form.close()
    if not files:
        raise ClientError(400, "the form holds no file field; send the image as a file")
    return files
