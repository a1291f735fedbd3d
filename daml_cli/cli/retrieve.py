"""`daml retrieve`: the nearest gallery images of query images, as a table, JSON, an HTML page or a grid."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer


if TYPE_CHECKING:
    from daml_cli.report.results import QueryResult


def retrieve(
    queries: List[Path] = typer.Argument(..., metavar="QUERY...", help="Query images, folders of images, or .txt lists of paths."),
    index: Path = typer.Option(..., "--index", metavar="PATH", help="Gallery index written by `daml embed --index` or `daml index build`."),
    top_k: int = typer.Option(10, "--top-k", "-k", min=1, metavar="K", help="Results per query."),
    old_k: Optional[int] = typer.Option(None, "--k", min=1, hidden=True, help="Old spelling of --top-k."),
    json_out: Optional[str] = typer.Option(
        None, "--json", metavar="PATH",
        help="Write the results as JSON to PATH; `--json -` prints them (a bare --json at the end still does).",
    ),
    html: Optional[Path] = typer.Option(None, "--html", metavar="PATH", help="Write an HTML page with thumbnails."),
    grid: Optional[Path] = typer.Option(None, "--grid", metavar="PATH", help="Write one PNG image grid."),
    query_labels: Optional[Path] = typer.Option(
        None, "--query-labels", metavar="PATH",
        help="CSV of path,label or path,class_name rows giving the queries' classes, so hits are marked right or wrong.",
    ),
    keep_self: bool = typer.Option(
        False, "--keep-self", help="Keep a query that is itself a gallery image in its own results (left out by default).",
    ),
    device: str = typer.Option("auto", "--device", metavar="DEVICE", help="auto, cpu or cuda (embedding and index search)."),
    checkpoint: Optional[Path] = typer.Option(
        None, "--checkpoint", metavar="PATH", help="Run folder or checkpoint to embed the queries with, when the one the "
        "index names has moved (its SHA-256 must match the index's)."
    ),
) -> None:
    """Find the gallery images closest to each query (score: higher is closer).

    Hits are marked right (✓) or wrong (✗) when the query's class is known: the query is a gallery image,
    its path is in the gallery dataset's manifest, or --query-labels gives it.
    """
    from daml_cli.cli.outputs import STDOUT, emit_json, index_files, run_checkpoint
    from daml_cli.cli.progress import console
    from daml_cli.safety.terminal import for_rich
    from daml_cli.inference.retrieval import retrieve as run_retrieval
    from daml_cli.safety.outputs import check_output_file

    json_file = None if json_out in (None, STDOUT) else Path(json_out)
    reads = [*index_files(index), *(("a query", query) for query in queries), ("--query-labels", query_labels),
             ("--checkpoint", run_checkpoint(checkpoint))]
    for option, target in (("--html", html), ("--grid", grid), ("--json", json_file)):
        if target is not None:
            check_output_file(target, option, reads=reads)
    k = old_k if old_k is not None else top_k
    run = run_retrieval(queries, index, k, device, labels_file=query_labels, exclude_self=not keep_self,
                        checkpoint=checkpoint)
    for result in run.queries:
        if result.excluded:
            console.print(f"{for_rich(result.query_path)} is itself in the gallery: left out of its own results "
                          "(--keep-self keeps it)", highlight=False, soft_wrap=True)
    if html is not None:
        from daml_cli.report.html import write_retrieval_html

        write_retrieval_html(html, run.queries)
        console.print(f"wrote {for_rich(html)}", highlight=False, soft_wrap=True)
    if grid is not None:
        from daml_cli.report.grid import write_retrieval_grid

        write_retrieval_grid(grid, run.queries)
        console.print(f"wrote {for_rich(grid)}", highlight=False, soft_wrap=True)
    if json_out is not None:
        from daml_cli.report.results import results_as_records

        written = emit_json(json_out, results_as_records(run.queries))
        if written is not None:
            console.print(f"wrote {for_rich(written)}", highlight=False, soft_wrap=True)
        if json_out == STDOUT:
            return
    _print_tables(run.queries)


def _print_tables(results: list[QueryResult]) -> None:
    from rich.table import Table

    from daml_cli.safety.terminal import for_rich

    from daml_cli.cli.progress import results as out
    from daml_cli.report.results import class_text

    marks = {True: "[green]✓[/]", False: "[red]✗[/]", None: ""}
    for result in results:
        known = f" ({for_rich(result.query_text)})" if result.query_text else " (class unknown: hits not marked)"
        table = Table(title=f"query {for_rich(result.query_path)}{known}")
        for column in ("rank", "score", "", "class", "path"):
            table.add_column(column, justify="right" if column in ("rank", "score") else "left")
        for hit in result.hits:
            table.add_row(str(hit.rank), f"{hit.score:.4f}", marks[result.is_correct(hit)],
                          for_rich(class_text(hit.label, hit.class_name)), for_rich(hit.path))
        out.print(table)
