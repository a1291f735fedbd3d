"""`daml index build|add|info`: turn an EMB.npz into a searchable gallery index, extend it, describe it.

Parsing and printing only; the work is in `daml_cli.index`. FAISS and numpy are imported inside the
commands so `daml --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from daml_cli.safety.terminal import plain

if TYPE_CHECKING:
    from daml_cli.index.metadata import IndexMetadata

index_app = typer.Typer(
    help="Build, extend and inspect FAISS gallery indexes (FILE plus FILE.json metadata).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@index_app.command("build")
def build(
    embeddings: List[Path] = typer.Argument(
        ..., metavar="EMB.npz...",
        help="EMB.npz written by `daml embed`; several (shards of one gallery) with --type ivfpq --on-disk.",
    ),
    out: Path = typer.Option(..., "--out", "-o", metavar="PATH", help="Index file to write; metadata goes to OUT.json."),
    index_type: str = typer.Option("flat", "--type", "-t", metavar="TYPE", help="flat (exact), ivfpq (compressed) or hnsw (graph)."),
    image_root: Optional[str] = typer.Option(
        None, "--image-root", metavar="PATH", help="Folder the image paths are relative to (default: the one recorded in EMB.npz)."
    ),
    old_root: Optional[str] = typer.Option(None, "--root", hidden=True, help="Old spelling of --image-root."),
    param: List[str] = typer.Option(
        [], "--param", metavar="NAME=VALUE", help="Index parameter, repeatable (ivfpq: nlist, m, nbits, nprobe; "
        "hnsw: M, efConstruction, efSearch). Unset ones are derived from the gallery size."
    ),
    old_param: List[str] = typer.Option([], "-p", hidden=True, help="Old short spelling of --param."),
    on_disk: bool = typer.Option(
        False, "--on-disk", help="ivfpq only: keep the inverted lists in OUT's .ivfdata file (memory-mapped), "
        "adding the shards one at a time: for galleries larger than memory."
    ),
    train_size: int = typer.Option(100_000, "--train-size", metavar="N", help="--on-disk: rows sampled to train ivfpq."),
) -> None:
    """Build a gallery index from EMB.npz (or several shards) and write it with its metadata."""
    from daml_cli.embeddings.file import read_embeddings
    from daml_cli.errors import ConfigError
    from daml_cli.index.build import build_index_file
    from daml_cli.index.metadata import sidecar_path
    from daml_cli.index.params import check_index_type, parse_param_options
    from daml_cli.safety.outputs import check_output_file

    check_index_type(index_type)
    params = parse_param_options([*param, *old_param])
    root = image_root if image_root is not None else old_root
    reads = [("an embeddings file", emb) for emb in embeddings]
    check_output_file(out, "--out", reads=reads)
    check_output_file(sidecar_path(out), "--out's sidecar", reads=reads)
    if on_disk:
        if index_type != "ivfpq":
            raise ConfigError(f"--on-disk needs --type ivfpq, got {index_type}")
        from daml_cli.index.ondisk import build_ondisk_ivfpq, ivfdata_path

        check_output_file(ivfdata_path(out), "--out's inverted lists", reads=reads)
        metadata = build_ondisk_ivfpq(embeddings, out, params, root, train_size)
        typer.echo(plain(f"wrote {out} ({_describe(metadata)}, {len(embeddings)} shard(s), lists in "
                         f"{ivfdata_path(out)}) and {sidecar_path(out)}"))
        return
    if len(embeddings) > 1:
        raise ConfigError(f"{len(embeddings)} embeddings files given", "several shards need --type ivfpq --on-disk")
    metadata = build_index_file(read_embeddings(embeddings[0]), out, index_type, params, root)
    typer.echo(plain(f"wrote {out} ({_describe(metadata)}) and {sidecar_path(out)}"))


@index_app.command("add")
def add(
    index_path: Path = typer.Argument(..., metavar="INDEX", help="Index built by `daml index build`."),
    embeddings: Path = typer.Argument(..., metavar="EMB.npz", help="EMB.npz with the vectors to append."),
) -> None:
    """Append the vectors, paths and labels of EMB.npz to an existing index (rewritten atomically)."""
    from daml_cli.embeddings.file import read_embeddings
    from daml_cli.index.build import class_names_of
    from daml_cli.index.extend import add_to_index

    emb = read_embeddings(embeddings)
    metadata = add_to_index(
        index_path, emb.embeddings, emb.paths, emb.labels, checkpoint_sha256=emb.checkpoint_sha256, root=emb.root,
        class_names=class_names_of(emb),
    )
    typer.echo(plain(f"added {emb.count} vectors to {index_path} ({_describe(metadata)})"))


@index_app.command("info")
def info(index_path: Path = typer.Argument(..., metavar="INDEX", help="Index to describe.")) -> None:
    """Check an index against its metadata and print what it holds."""
    from daml_cli.index.store import load_index

    _, metadata = load_index(index_path)
    labels = "unlabelled" if metadata.labels is None else f"{len(set(metadata.labels))} classes"
    typer.echo(plain(f"{index_path}: {_describe(metadata)}, {labels}"))
    typer.echo(plain(f"  root: {metadata.root or '-'}"))
    typer.echo(plain(f"  checkpoint: {metadata.checkpoint or '-'} (sha256 {metadata.checkpoint_sha256 or '-'})"))
    typer.echo(f"  created {metadata.created} by daml {metadata.daml_version}")


def _describe(metadata: IndexMetadata) -> str:
    params = ", ".join(f"{k}={v}" for k, v in metadata.index_params.items() if k != "shards")
    kind = metadata.index_type + (f" [{params}]" if params else "")
    return f"{kind}, {metadata.count} vectors of dimension {metadata.dimension}"
