"""Downloading one file from a list of mirrors: resume, retries with back-off, progress bar, checksum.

Only the standard library's urllib is used. The file grows as ``<dest>.part``; an interrupted download is
resumed with an HTTP ``Range`` request (a server that ignores it is simply read again from the start). It is
renamed to ``dest`` only after its size and checksum match, so ``dest`` is always a verified file.

Errors per mirror are of two kinds: *transient* (timeouts, dropped connections, HTTP 5xx/408/429), retried
on the same mirror after ``base_delay * 2**(attempt-1)`` seconds (capped at ``max_delay``), and *permanent*
(HTTP 4xx, unknown host, refused connection, an HTML page instead of the file, wrong size or checksum), which
move on to the next mirror at once. One request (resume, classification, streaming) is `fetch.fetch_once`;
this module retries it, walks the mirrors and verifies the result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from daml_cli.data.checksum import check_file
from daml_cli.data.fetch import PermanentFailure, TransientFailure, fetch_once
from daml_cli.data.progress import ByteProgress, silent_progress
from daml_cli.errors import DataError


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


def _fetch(url: str, part: Path, size: int | None, retry: RetryPolicy, sleep: Callable[[float], None],
           on_bytes: Callable[[int, int | None], None]) -> None:
    """Bring `part` to the full file from `url`, retrying transient errors; attempts reset after progress."""
    failures = 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        try:
            fetch_once(url, part, size, retry.timeout, on_bytes)
            return
        except TransientFailure as error:
            after = part.stat().st_size if part.exists() else 0
            failures = 0 if after > before else failures + 1
            if failures >= retry.attempts:
                raise PermanentFailure(f"gave up after {failures} attempts without progress: {error}") from None
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
            except PermanentFailure as error:
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
