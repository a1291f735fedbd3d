"""Bind the listening socket (refusing a busy port up front) and run the app under uvicorn."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from daml_cli.errors import DamlError


def require_asgi_stack() -> None:
    """DamlError naming the extra to install when Starlette or uvicorn is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise DamlError(f"daml serve needs {error.name}", "pip install 'daml-cli[serve]'") from None


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port), or a DamlError saying why not.

    The socket is made with protocol ``IPPROTO_TCP`` and ``TCP_NODELAY``: asyncio turns Nagle's algorithm off
    only on connections whose socket names that protocol (``socket.create_server`` leaves it 0), and with
    Nagle on, every answer after the first on a kept-alive connection waited about 40 ms for the client's
    delayed ACK of the response headers.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except OSError as error:
        raise DamlError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    try:
        if os.name == "posix":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted connections
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        hint = "choose another --port, or stop the program using it" if port else None
        raise DamlError(f"cannot listen on {host}:{port}: {error.strerror or error}", hint) from None
    return sock


def run(app: object, sock: socket.socket, on_ready: Callable[[str], None]) -> None:
    """Serve `app` on `sock` until interrupted; `on_ready` gets the base URL once the socket is listening."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    on_ready(f"http://{shown}:{port}/")
    server.run(sockets=[sock])
