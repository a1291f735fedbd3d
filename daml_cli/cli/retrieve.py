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
    device: str = typer.Option("auto", "--device", metavar="DEVICE", help="auto, cpu or cuda."),
) -> None:
    """Find the gallery images closest to each query (score: higher is closer).

    Hits are marked right (✓) or wrong (✗) when the query's class is known: the query is a gallery image,
    its path is in the gallery dataset's manifest, or --query-labels gives it.
    """
    from daml_cli.cli.outputs import STDOUT, emit_json
    from daml_cli.cli.progress import console
    from daml_cli.inference.retrieval import retrieve as run_retrieval

    k = old_k if old_k is not None else top_k
    run = run_retrieval(queries, index, k, device, labels_file=query_labels, exclude_self=not keep_self)
    for result in run.queries:
        if result.excluded:
            console.print(f"{result.query_path} is itself in the gallery: left out of its own results "
                          "(--keep-self keeps it)", highlight=False, soft_wrap=True)
    if html is not None:
        from daml_cli.report.html import write_retrieval_html

        write_retrieval_html(html, run.queries)
        console.print(f"wrote {html}", highlight=False, soft_wrap=True)
    if grid is not None:
        from daml_cli.report.grid import write_retrieval_grid

        write_retrieval_grid(grid, run.queries)
        console.print(f"wrote {grid}", highlight=False, soft_wrap=True)
    if json_out is not None:
        written = emit_json(json_out, [_as_json(result) for result in run.queries])
        if written is not None:
            console.print(f"wrote {written}", highlight=False, soft_wrap=True)
        if json_out == STDOUT:
            return
    _print_tables(run.queries)


def _as_json(result: QueryResult) -> dict[str, object]:
    return {
        "query": result.query_path,
        "query_label": result.query_label,
        "query_class": result.query_class,
        "excluded_self": result.excluded,
        "results": [
            {"rank": h.rank, "path": h.path, "label": h.label, "class_name": h.class_name, "score": round(h.score, 6),
             "correct": result.is_correct(h)}
            for h in result.hits
        ],
    }


def _print_tables(results: list[QueryResult]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from daml_cli.cli.progress import results as out
    from daml_cli.report.results import class_text

    marks = {True: "[green]✓[/]", False: "[red]✗[/]", None: ""}
    for result in results:
        known = f" ({escape(result.query_text)})" if result.query_text else " (class unknown: hits not marked)"
        table = Table(title=f"query {escape(result.query_path)}{known}")
        for column in ("rank", "score", "", "class", "path"):
            table.add_column(column, justify="right" if column in ("rank", "score") else "left")
        for hit in result.hits:
            table.add_row(str(hit.rank), f"{hit.score:.4f}", marks[result.is_correct(hit)],
                          escape(class_text(hit.label, hit.class_name)), escape(hit.path))
        out.print(table)
