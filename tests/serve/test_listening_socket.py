"""The listening socket: Nagle's algorithm off on every accepted connection (no 40 ms keep-alive stalls)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from daml_cli.errors import DamlError
from daml_cli.serve.server import bind


def test_the_listening_socket_is_tcp_with_nodelay() -> None:
    with bind("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_connections_accepted_by_asyncio_have_nodelay() -> None:
    """What uvicorn does with the socket: loop.create_server(sock=...). Every accepted connection's socket
    must have TCP_NODELAY, or a response written in two parts (headers, body) waits for a delayed ACK."""
    seen: list[int] = []

    async def main() -> None:
        sock = bind("127.0.0.1", 0)
        port = sock.getsockname()[1]
        accepted = asyncio.Event()

        class Record(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                seen.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()
                accepted.set()

        server = await asyncio.get_running_loop().create_server(Record, sock=sock)
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.wait_for(accepted.wait(), 10)
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0


def test_a_busy_port_is_one_clear_error() -> None:
    with bind("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(DamlError, match=f"cannot listen on 127.0.0.1:{port}") as caught:
            bind("127.0.0.1", port)
        assert "another --port" in str(caught.value.hint)
