"""The one exception a request handler raises for a client's bad input: an HTTP status and a one-line reason."""

from __future__ import annotations


class ClientError(Exception):
    """Bad input from an HTTP client; answered as ``{"error": reason}`` with `status` (a 4xx)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        from daml_cli.safety.terminal import MESSAGE_LIMIT, cut

        self.reason = " ".join(cut(reason, MESSAGE_LIMIT).split())
