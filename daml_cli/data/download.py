"""Downloading one file from a list of mirrors: resume, retries with back-off, progress bar, checksum.

Only the standard library's urllib is used. The file grows as ``<dest>.part``; an interrupted download is
resumed with an HTTP ``Range`` request (a server that ignores it is simply read again from the start). It is
renamed to ``dest`` only after its size and checksum match, so ``dest`` is always a verified file.

Errors per mirror are of two kinds: *transient* (timeouts, dropped connections, HTTP 5xx/408/429), retried
on the same mirror after ``base_delay * 2**(attempt-1)`` seconds (capped at ``max_delay``), and *permanent*
(HTTP 4xx, unknown host, refused connection, an HTML page instead of the file, wrong size or checksum), which
move on to the next mirror at once.
"""

from __future__ import annotations

import errno
import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from daml_cli import __version__
from daml_cli.data.checksum import check_file
from daml_cli.data.progress import ByteProgress, silent_progress
from daml_cli.errors import DataError

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one mirror: attempts without progress, back-off delays (s) and socket timeout (s)."""

    attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 60.0
    timeout: float = 60.0


DEFAULT_RETRY = RetryPolicy()


class DownloadError(DataError):
    """No mirror delivered a verified copy of the file; `failures` holds (url, reason) per mirror."""

    def __init__(self, filename: str, failures: list[tuple[str, str]]) -> None:
        self.filename = filename
        self.failures = failures
        super().__init__(
            f"could not download {filename}: {summarise_failures(failures) or 'no source URL is known'}",
            "check the network connection or download the file by hand",
        )


def _host(url: str) -> str:
    return url.split("/")[2] if "//" in url else url


def summarise_failures(failures: list[tuple[str, str]]) -> str:
    """'reason (host, host); reason (host)': mirrors that failed the same way are named together."""
    hosts_by_reason: dict[str, list[str]] = {}
    for url, reason in failures:
        hosts = hosts_by_reason.setdefault(reason, [])
        if _host(url) not in hosts:
            hosts.append(_host(url))
    return "; ".join(f"{reason} ({', '.join(hosts)})" for reason, hosts in hosts_by_reason.items())


class _Permanent(Exception):
    """This mirror will not deliver the file; try the next one."""


class _Transient(Exception):
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


def _fetch_once(
    url: str, part: Path, size: int | None, timeout: float, on_bytes: Callable[[int, int | None], None]
) -> None:
    """One request: append to `part` from its current length (or rewrite it); raises _Transient/_Permanent."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    if size is not None and offset == size:
        return  # complete already; the checksum decides
    headers = {"User-Agent": f"daml-cli/{__version__}"}
    resumable = url.startswith(("http://", "https://"))
    if offset and resumable:
        headers["Range"] = f"bytes={offset}-"
    elif offset:
        part.unlink()
        offset = 0
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # nothing left to send: the part is complete or stale
            if size is None:
                return
            part.unlink()
            raise _Transient("the server refused to resume; starting again") from None
        if error.code in (408, 429) or error.code >= 500:
            raise _Transient(f"HTTP {error.code} {error.reason}") from None
        raise _Permanent(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        if _is_unreachable(error):
            detail = getattr(error.reason, "strerror", None) or str(error.reason) or type(error.reason).__name__
            raise _Permanent(f"cannot reach the host ({detail})") from None
        raise _Transient(str(error.reason)) from None
    except (OSError, http.client.HTTPException) as error:
        raise _Transient(str(error) or type(error).__name__) from None
    with response:
        status = getattr(response, "status", None) or 200
        content_type = (response.headers.get("Content-Type") or "").lower()
        if status == 206:
            if _content_range_start(response.headers.get("Content-Range")) != offset:
                part.unlink(missing_ok=True)
                raise _Transient("the server resumed at another offset; starting again")
            mode = "ab"
        else:  # a full answer (200, or FTP): the part is rewritten from the start
            mode, offset = "wb", 0
        if "text/html" in content_type and not part.name.lower().endswith((".html.part", ".htm.part")):
            raise _Permanent("the server sent an HTML page instead of the file (a login or confirmation page?)")
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        total = offset + length if length is not None else size
        if size is not None and total is not None and total != size:
            raise _Permanent(f"the server offers {total:,} bytes, expected {size:,}")
        on_bytes(offset, total)
        received = 0
        with open(part, mode) as handle:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as error:
                    raise _Transient(
                        f"connection lost after {offset + received:,} bytes ({type(error).__name__})"
                    ) from None
                if not chunk:
                    break
                try:
                    handle.write(chunk)
                except OSError as error:  # disk full, permissions: not the mirror's fault, stop here
                    raise DataError(f"cannot write {part}: {error.strerror or error}") from None
                received += len(chunk)
                on_bytes(offset + received, total)
        if length is not None and received < length:
            raise _Transient(f"connection closed after {offset + received:,} of {total:,} bytes")


def _fetch(url: str, part: Path, size: int | None, retry: RetryPolicy, sleep: Callable[[float], None],
           on_bytes: Callable[[int, int | None], None]) -> None:
    """Bring `part` to the full file from `url`, retrying transient errors; attempts reset after progress."""
    failures = 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        try:
            _fetch_once(url, part, size, retry.timeout, on_bytes)
            return
        except _Transient as error:
            after = part.stat().st_size if part.exists() else 0
            failures = 0 if after > before else failures + 1
            if failures >= retry.attempts:
                raise _Permanent(f"gave up after {failures} attempts without progress: {error}") from None
            sleep(min(retry.max_delay, retry.base_delay * 2 ** max(0, failures - 1)))


def verified_file(dest: Path, sha256: str | None, md5: str | None, size: int | None) -> bool:
    """True when `dest` exists with the expected size and checksum (or no checksum is known)."""
    if not dest.is_file() or (size is not None and dest.stat().st_size != size):
        return False
    result = check_file(dest, sha256=sha256, md5=md5)
    return result is None or result.ok


def download(
    urls: Sequence[str],
    dest: Path | str,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    size: int | None = None,
    retry: RetryPolicy | None = None,
    progress: ByteProgress = silent_progress,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Download `dest` from the first mirror in `urls` that delivers a verified copy; returns `dest`.

    An existing verified `dest` is kept as it is. A DownloadError lists what went wrong with every mirror.
    """
    dest = Path(dest)
    retry = retry or DEFAULT_RETRY
    if dest.exists():
        if verified_file(dest, sha256, md5, size):
            return dest
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures: list[tuple[str, str]] = []
    with progress(dest.name, size) as bar:
        for url in urls:
            bar.reset(size, description=f"{dest.name} from {_host(url)}")
            try:
                _fetch(url, part, size, retry, sleep, bar.set)
            except _Permanent as error:
                failures.append((url, str(error)))
                continue
            if size is not None and part.stat().st_size != size:
                failures.append((url, f"got {part.stat().st_size:,} bytes, expected {size:,}"))
                part.unlink()
                continue
            result = check_file(part, sha256=sha256, md5=md5)
            if result is not None and not result.ok:
                failures.append((url, result.describe()))
                part.unlink()
                continue
            os.replace(part, dest)
            return dest
    raise DownloadError(dest.name, failures)
