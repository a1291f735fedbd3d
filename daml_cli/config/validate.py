"""Turn plain YAML data into the typed schema, naming the exact key of every error."""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from daml_cli.errors import ConfigError
from daml_cli.safety.terminal import quote


def _describe(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(repr(value) for value in get_args(annotation))
    if get_origin(annotation) is list:
        return f"a list of {_describe(get_args(annotation)[0])}"
    if get_origin(annotation) in (Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in get_args(annotation))
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def coerce(annotation: Any, value: Any, key: str) -> Any:
    """Check `value` against `annotation` and return it in the schema's type, or raise naming `key`."""
    origin = get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise ConfigError(f"'{key}' must be a mapping of settings, got {type(value).__name__}")
        return build(annotation, value, prefix=f"{key}.")
    if origin is Literal:
        if value in get_args(annotation):
            return value
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            try:
                return coerce(arg, value, key)
            except ConfigError:
                continue
    elif origin is list:
        if isinstance(value, list):
            (item_type,) = get_args(annotation)
            return [coerce(item_type, item, f"{key}[{i}]") for i, item in enumerate(value)]
    elif annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-5" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is type(None):
        if value is None:
            return None
    shown = quote(value) if not isinstance(value, (dict, list)) else type(value).__name__
    raise ConfigError(f"'{key}' must be {_describe(annotation)}, got {shown}")


def build(schema: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Instantiate dataclass `schema` from `data`; unknown keys and wrong types are errors naming the key."""
    hints = get_type_hints(schema)
    names = [f.name for f in dataclasses.fields(schema)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown setting {quote(prefix + str(unknown[0]))}",
            f"known settings under '{prefix.rstrip('.') or 'the top level'}': {', '.join(names)}",
        )
    values = {name: coerce(hints[name], data[name], f"{prefix}{name}") for name in names if name in data}
    return schema(**values)


def to_dict(config: Any) -> dict[str, Any]:
    """The plain-data form of a schema instance (what `config.yaml` holds)."""
    return dataclasses.asdict(config)


def field_annotation(schema: type, dotted_key: str) -> Any:
    """The annotation of a dotted key such as ``train.iterations``, or a ConfigError naming it."""
    current: Any = schema
    parts = dotted_key.split(".")
    for depth, part in enumerate(parts):
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"unknown setting {quote(dotted_key)}", f"'{'.'.join(parts[:depth])}' has no sub-settings")
        hints = get_type_hints(current)
        if part not in hints:
            scope = ".".join(parts[:depth]) or "the top level"
            raise ConfigError(f"unknown setting {quote(dotted_key)}", f"known settings under {quote(scope)}: {', '.join(hints)}")
        current = hints[part]
    return current


__all__ = ["build", "coerce", "to_dict", "field_annotation"]
