"""Bind the listening socket (refusing a busy port up front) and run the app under uvicorn."""

from __future__ import annotations

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
    """A listening TCP socket on host:port (port 0: any free port), or a DamlError saying why not."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as error:
        hint = "choose another --port, or stop the program using it" if port else None
        raise DamlError(f"cannot listen on {host}:{port}: {error.strerror or error}", hint) from None


def run(app: object, sock: socket.socket, on_ready: Callable[[str], None]) -> None:
    """Serve `app` on `sock` until interrupted; `on_ready` gets the base URL once the socket is listening."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    on_ready(f"http://{shown}:{port}/")
    server.run(sockets=[sock])
