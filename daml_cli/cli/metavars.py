"""Plain metavars in `--help` (PATH, N, X, TEXT, QUERY...) instead of the Python types Typer prints
(``<list[Path]>``, ``{name}``) when a parameter names none itself.

Duck-typed on purpose: Typer ships its own copy of click's classes, so isinstance checks against `click`
would not match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

_TYPE_METAVARS: dict[Any, str] = {Path: "PATH", int: "N", float: "X", str: "TEXT"}


def _option_metavar(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if get_origin(annotation) is list:  # a repeatable option: the metavar of one value
        annotation = get_args(annotation)[0]
    return _TYPE_METAVARS.get(annotation, "TEXT")


def _plain_argument(param: Any) -> None:
    """``QUERY...`` / ``[ROOT]`` in the usage line and the arguments list, with no ``<type>`` after it."""
    base = (param.metavar or param.name or "arg").strip("[]{}").rstrip(".")
    base = base if param.metavar else base.upper()
    shown = base + ("..." if param.nargs != 1 else "")
    shown = shown if param.required else f"[{shown}]"
    param.metavar = shown
    if hasattr(param, "_usage_display_name"):  # Typer's argument class decorates names itself
        param._usage_display_name = lambda: shown
        param._rich_display_name = lambda: shown
        param.display_type_rich = lambda ctx: None


def apply_metavars(command: Any) -> None:
    """Give every parameter of `command` and its subcommands a plain metavar when it has none."""
    for param in command.params:
        kind = getattr(param, "param_type_name", "")
        if kind == "argument":
            _plain_argument(param)
        elif kind == "option" and param.metavar is None and not param.is_flag and not param.count:
            param.metavar = _option_metavar(param)
    for sub in getattr(command, "commands", {}).values():
        apply_metavars(sub)
