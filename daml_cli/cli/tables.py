"""Rich tables for metric results."""

from __future__ import annotations

from rich.table import Table


def metrics_table(metrics: dict[str, float], title: str = "metrics") -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, f"{value:.4f}")
    return table
