"""The Typer command layer: parse, call one engine function, print. No torch import at module level."""
