"""`daml serve`: load the model and the gallery index once, answer queries over HTTP (and a web page)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def serve(
    index: Path = typer.Option(..., "--index", metavar="PATH", help="Gallery index written by `daml embed --index` or `daml index build`."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 exposes it to the network)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free port)."),
    top_k: int = typer.Option(10, "--top-k", "-k", min=1, metavar="K", help="Results per query when the request does not say (?k=)."),
    old_k: Optional[int] = typer.Option(None, "--k", min=1, hidden=True, help="Old spelling of --top-k."),
    max_k: int = typer.Option(100, "--max-k", min=1, help="Largest k a request may ask for."),
    max_upload_mb: float = typer.Option(10.0, "--max-upload-mb", min=0.001, help="Largest accepted request body, in MB."),
    max_batch: int = typer.Option(32, "--max-batch", min=1, help="Most images embedded in one forward pass."),
    batch_wait_ms: float = typer.Option(5.0, "--batch-wait-ms", min=0.0, help="How long a query waits for others to share its pass."),
    device: str = typer.Option("auto", "--device", metavar="DEVICE", help="auto, cpu or cuda."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads of a forward pass (0: torch's default; 1 on a busy machine)."),
) -> None:
    """Answer POST /search?k=K (image bytes or a multipart form) with JSON like `retrieve --json`, and serve a page at /."""
    from daml_cli.serve.server import bind, require_asgi_stack

    require_asgi_stack()
    sock = bind(host, port)  # before the slow model load: a busy port fails at once
    from daml_cli.serve.app import ServeSettings, create_app
    from daml_cli.serve.engine import SearchEngine
    from daml_cli.serve.server import run

    try:
        engine = SearchEngine.open(index, device, threads)
    except BaseException:
        sock.close()
        raise
    k = old_k if old_k is not None else top_k
    settings = ServeSettings(min(k, max_k), max_k, int(max_upload_mb * 1_000_000), max_batch, batch_wait_ms / 1000.0)

    def announce(url: str) -> None:
        print(f"serving {engine.count} gallery images on {url} (Ctrl-C stops)", flush=True)

    run(create_app(engine, settings), sock, announce)
