"""`daml serve`'s own bad input is one `error:` line; the help stays free of torch and the ASGI stack."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import one_line_error
from tests.serve.conftest import Gallery


def test_missing_index_is_one_line_error(cli, tmp_path: Path) -> None:
    code, _, err = cli("serve", "--index", tmp_path / "none.faiss", "--port", "0", "--device", "cpu")
    assert "none.faiss" in one_line_error(code, err)


def test_port_in_use_is_one_line_error(cli, served_gallery: Gallery) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        code, _, err = cli("serve", "--index", served_gallery.index, "--port", port, "--device", "cpu")
    message = one_line_error(code, err)
    assert f"127.0.0.1:{port}" in message and "--port" in message


def test_help_imports_neither_torch_nor_the_asgi_stack() -> None:
    probe = (
        "import sys; import daml_cli.cli.main; "
        "print([m for m in ('torch', 'faiss', 'starlette', 'uvicorn', 'multipart') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    done = subprocess.run([sys.executable, "-m", "daml_cli", "serve", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--max-upload-mb" in done.stdout and "127.0.0.1" in done.stdout
    assert "-k, --top-k K" in done.stdout and "--k " not in done.stdout  # the shared option vocabulary; old --k hidden
