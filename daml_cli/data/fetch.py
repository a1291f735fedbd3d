"""One request of a download: resume where ``<dest>.part`` stopped, classify failures, stream the body.

`fetch_once` sends one request (with ``Range`` when part of the file is there and the URL is HTTP), checks
the answer (a 206 at the asked offset, no HTML page in place of the file, the announced size) and appends
to or rewrites the part. It raises `TransientFailure` when the same mirror may still deliver (retried by
`download`) and `PermanentFailure` when it will not (the next mirror is tried).
"""

from __future__ import annotations

import errno
import http.client
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daml_cli import __version__
from daml_cli.errors import DataError

_CHUNK = 1024 * 1024


class PermanentFailure(Exception):
    """This mirror will not deliver the file; try the next one."""


class TransientFailure(Exception):
    """This attempt failed but the mirror may still deliver; retry after a delay."""


def _is_unreachable(error: urllib.error.URLError) -> bool:
    """Unknown host, refused connection, no route, or no answer within the timeout: try the next mirror.

    (A timeout *during* a transfer is different: it is retried, resuming where it stopped.)
    """
    reason = error.reason
    if isinstance(reason, (socket.gaierror, ConnectionRefusedError, TimeoutError)):
        return True
    return isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)


def _content_range_start(value: str | None) -> int | None:
    """Start offset of a ``Content-Range: bytes START-END/TOTAL`` header, None if absent or malformed."""
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


def _resume_offset(url: str, part: Path, size: int | None) -> int | None:
    """Where the next request starts in `part`, or None when `part` already has the expected size.

    A part longer than the expected size, or any part of a URL that cannot be resumed (not HTTP: no
    ``Range``), is deleted and the download starts again at 0.
    """
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    if size is not None and offset == size:
        return None  # complete already; the checksum decides
    if offset and not url.startswith(("http://", "https://")):
        part.unlink()
        offset = 0
    return offset


def _http_failure(error: urllib.error.HTTPError, part: Path, offset: int, size: int | None) -> Exception | None:
    """What an HTTP error status means for this mirror: None (the part is complete), TransientFailure or PermanentFailure.

    416 on a resumed request: nothing is left to send, so the part is complete when no size is known, and
    stale (deleted, start again) when one is. 408, 429 and 5xx are transient, any other status permanent.
    """
    if error.code == 416 and offset:
        if size is None:
            return None
        part.unlink()
        return TransientFailure("the server refused to resume; starting again")
    if error.code in (408, 429) or error.code >= 500:
        return TransientFailure(f"HTTP {error.code} {error.reason}")
    return PermanentFailure(f"HTTP {error.code} {error.reason}")


def _network_failure(error: OSError | http.client.HTTPException) -> Exception:
    """An unreachable host is permanent for this mirror; any other connection error is transient."""
    if isinstance(error, urllib.error.URLError):
        if _is_unreachable(error):
            detail = getattr(error.reason, "strerror", None) or str(error.reason) or type(error.reason).__name__
            return PermanentFailure(f"cannot reach the host ({detail})")
        return TransientFailure(str(error.reason))
    return TransientFailure(str(error) or type(error).__name__)


def _open(url: str, part: Path, offset: int, size: int | None, timeout: float) -> Any | None:
    """The response to a request for `url` from byte `offset`, or None when the server says `part` is complete."""
    headers = {"User-Agent": f"daml-cli/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        failure = _http_failure(error, part, offset, size)
    except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
        failure = _network_failure(error)
    if failure is None:
        return None
    raise failure from None


def _write_mode(response: Any, part: Path, offset: int) -> tuple[str, int]:
    """("ab", offset) when the server resumed at `offset` (206), ("wb", 0) for a full answer (200, or FTP).

    A 206 that starts at another offset than asked for deletes `part` (TransientFailure: start again).
    """
    if (getattr(response, "status", None) or 200) != 206:
        return "wb", 0
    if _content_range_start(response.headers.get("Content-Range")) != offset:
        part.unlink(missing_ok=True)
        raise TransientFailure("the server resumed at another offset; starting again")
    return "ab", offset


def _refuse_html(response: Any, part: Path) -> None:
    """PermanentFailure when the server answers with an HTML page, unless the file itself is one (.html, .htm)."""
    content_type = (response.headers.get("Content-Type") or "").lower()
    if "text/html" in content_type and not part.name.lower().endswith((".html.part", ".htm.part")):
        raise PermanentFailure("the server sent an HTML page instead of the file (a login or confirmation page?)")


def _announced_sizes(response: Any, offset: int, size: int | None) -> tuple[int | None, int | None]:
    """(bytes this response will send, file size after it): from Content-Length, else (None, `size`).

    PermanentFailure when the announced file size is not the expected `size`.
    """
    length_header = response.headers.get("Content-Length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    total = offset + length if length is not None else size
    if size is not None and total is not None and total != size:
        raise PermanentFailure(f"the server offers {total:,} bytes, expected {size:,}")
    return length, total


def _stream(response: Any, part: Path, mode: str, offset: int, total: int | None,
            on_bytes: Callable[[int, int | None], None]) -> int:
    """Copy the response body into `part` (opened with `mode`) chunk by chunk; returns the bytes received.

    A read error is TransientFailure (the next attempt resumes); a write error is a DataError (disk full,
    permissions: not the mirror's fault, so no other mirror is tried).
    """
    received = 0
    with open(part, mode) as handle:
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as error:
                raise TransientFailure(
                    f"connection lost after {offset + received:,} bytes ({type(error).__name__})"
                ) from None
            if not chunk:
                return received
            try:
                handle.write(chunk)
            except OSError as error:
                raise DataError(f"cannot write {part}: {error.strerror or error}") from None
            received += len(chunk)
            on_bytes(offset + received, total)


def fetch_once(
    url: str, part: Path, size: int | None, timeout: float, on_bytes: Callable[[int, int | None], None]
) -> None:
    """One request: append to `part` from its current length (or rewrite it); raises TransientFailure/PermanentFailure."""
    offset = _resume_offset(url, part, size)
    if offset is None:
        return
    response = _open(url, part, offset, size, timeout)
    if response is None:
        return
    with response:
        mode, offset = _write_mode(response, part, offset)
        _refuse_html(response, part)
        length, total = _announced_sizes(response, offset, size)
        on_bytes(offset, total)
        received = _stream(response, part, mode, offset, total, on_bytes)
        if length is not None and received < length:
            raise TransientFailure(f"connection closed after {offset + received:,} of {total:,} bytes")
