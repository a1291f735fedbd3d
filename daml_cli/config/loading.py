"""Find presets, read YAML, apply `--set key=value` overrides, and validate against the schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from daml_cli.config.ranges import check_ranges
from daml_cli.config.daml_layout import unset_layout_keys
from daml_cli.config.schema import RunConfig
from daml_cli.config.synthesis import resolve_synthesis
from daml_cli.config.validate import build, field_annotation, to_dict
from daml_cli.errors import ConfigError
from daml_cli.safety.terminal import quote

PRESET_SUFFIX = ".yaml"


def presets_dir() -> Path:
    """The folder holding the bundled presets: the installed package's `daml_cli/presets/` (a wheel), else
    the checkout's top-level `presets/` (a development or editable install)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "presets"
    return installed if installed.is_dir() else package.parent / "presets"


def available_presets() -> list[str]:
    return sorted(path.stem for path in presets_dir().glob(f"*{PRESET_SUFFIX}"))


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML mapping; malformed YAML or a non-mapping is a ConfigError naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}", "fix the file's syntax") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, not a {type(data).__name__}")
    return data


def resolve_preset(name_or_file: str) -> Path:
    """A preset name from `presets/` or a path to a YAML file."""
    candidate = Path(name_or_file)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        from daml_cli.safety.files import require_regular_file

        require_regular_file(candidate, "preset file", ConfigError)
        return candidate
    path = presets_dir() / f"{name_or_file}{PRESET_SUFFIX}"
    if not path.is_file():
        raise ConfigError(
            f"unknown preset {quote(name_or_file)}", f"available presets: {', '.join(available_presets())}"
        )
    return path


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value``; the value is parsed as YAML (``40`` -> int, ``[1,2]`` -> list, ``true`` -> bool)."""
    if "=" not in text:
        raise ConfigError(f"override {quote(text)} is not of the form key=value", "e.g. --set train.iterations=40")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {quote(text)} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        annotation = field_annotation(RunConfig, key)
        if annotation is str:  # a numeric-looking string setting, e.g. dataset name "2024"
            value = raw
    return key, value


def apply_override(data: dict[str, Any], key: str, value: Any) -> None:
    field_annotation(RunConfig, key)  # raises on unknown keys, naming them
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{quote(part)} in override {quote(key)} is not a section")
        node = child
    node[leaf] = value


def load_config(
    name_or_file: str, overrides: list[str] | None = None, extra: dict[str, Any] | None = None
) -> RunConfig:
    """Read a preset (or a saved run's `config.yaml`), apply overrides in order, validate.

    `extra` holds dotted keys set by dedicated CLI flags (``--seed`` -> ``seed``), applied last; then
    ``daml.layout`` fills the keys it implies that are still unset (config/daml_layout.py), and ``synthesis``
    and ``daml.enabled`` are made to agree (config/synthesis.py).
    """
    data = copy.deepcopy(read_yaml(resolve_preset(name_or_file)))
    data.pop("preset", None)
    for text in overrides or []:
        apply_override(data, *parse_override(text))
    for key, value in (extra or {}).items():
        apply_override(data, key, value)
    for key, value in unset_layout_keys(data):
        apply_override(data, key, value)
    config = resolve_synthesis(build(RunConfig, data))
    check_ranges(config)
    return config


def saved_config(data: dict[str, Any]) -> RunConfig:
    """A RunConfig from a stored run's settings (config.yaml, a checkpoint, a compare report), read as it would
    be loaded today: a run saved before the ``synthesis`` key existed compares equal to the same run now."""
    return resolve_synthesis(build(RunConfig, data))


def dump_config(config: RunConfig, preset: str | None = None) -> str:
    """YAML text of a fully merged config: enough to reproduce the run with `--preset RUN/config.yaml`."""
    data = to_dict(config)
    header = f"# daml run configuration (merged from preset '{preset}' and overrides)\n" if preset else ""
    return header + yaml.safe_dump(data, sort_keys=False)
