"""`daml retrieve`: the nearest gallery images of query images, as a table, JSON, an HTML page or a grid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer


def retrieve(
    queries: List[Path] = typer.Argument(..., help="Query images, folders of images, or .txt lists of paths."),
    index: Path = typer.Option(..., "--index", help="Gallery index written by `daml embed --index` or `daml index build`."),
    k: int = typer.Option(10, "--k", min=1, help="Results per query."),
    json_output: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    html: Optional[Path] = typer.Option(None, "--html", help="Write an HTML page with thumbnails."),
    grid: Optional[Path] = typer.Option(None, "--grid", help="Write one PNG image grid."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Find the gallery images closest to each query (score: higher is closer)."""
    from daml_cli.inference.retrieval import retrieve as run_retrieval

    run = run_retrieval(queries, index, k, device)
    if html is not None:
        from daml_cli.report.html import write_retrieval_html

        write_retrieval_html(html, run.queries)
    if grid is not None:
        from daml_cli.report.grid import write_retrieval_grid

        write_retrieval_grid(grid, run.queries)
    if json_output:
        payload = [
            {
                "query": result.query_path,
                "results": [{"rank": h.rank, "path": h.path, "label": h.label, "score": round(h.score, 6)} for h in result.hits],
            }
            for result in run.queries
        ]
        typer.echo(json.dumps(payload, indent=2))
        return
    from rich.table import Table

    from daml_cli.cli.progress import results as console

    for result in run.queries:
        table = Table(title=f"query {result.query_path}")
        for column in ("rank", "score", "path", "label"):
            table.add_column(column, justify="right" if column in ("rank", "score") else "left")
        for hit in result.hits:
            table.add_row(str(hit.rank), f"{hit.score:.4f}", hit.path, "" if hit.label is None else str(hit.label))
        console.print(table)
