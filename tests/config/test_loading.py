"""Preset loading, `--set` overrides and schema validation: every error names the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from daml_cli.config.flat import flatten
from daml_cli.config.loading import available_presets, dump_config, load_config, parse_override, presets_dir, read_yaml
from daml_cli.config.schema import RunConfig
from daml_cli.config.validate import build, to_dict
from daml_cli.errors import ConfigError


def test_every_bundled_preset_validates_and_keeps_every_value_it_sets() -> None:
    names = available_presets()
    assert {"digits-triplet", "cub-triplet", "cars-triplet", "sop-npair"} <= set(names)
    for name in names:
        config = load_config(name)  # a preset that fails the schema or a range check raises here
        written = flatten(read_yaml(presets_dir() / f"{name}.yaml"))
        written.pop("preset", None)
        loaded = flatten(to_dict(config))
        changed = {key: (value, loaded.get(key, "<missing>")) for key, value in written.items()
                   if loaded.get(key, "<missing>") != value}
        assert changed == {}, f"{name}: setting -> (in the file, in the config)"


def test_overrides_are_typed_and_applied_in_order() -> None:
    config = load_config("digits-triplet", ["train.iterations=40", "loss.margin=0.5", "train.iterations=41", "eval.k=[1,3]"])
    assert config.train.iterations == 41
    assert config.loss.margin == 0.5
    assert config.eval.k == [1, 3]


def test_int_accepted_for_float_but_not_string_for_int() -> None:
    assert load_config("digits-triplet", ["loss.margin=1"]).loss.margin == 1.0
    with pytest.raises(ConfigError, match="'train.iterations' must be an integer"):
        load_config("digits-triplet", ["train.iterations=many"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.iteratons=5", "unknown setting 'train.iteratons'"),
        ("nosuch.key=1", "unknown setting 'nosuch.key'"),
        ("loss.name=hinge", "'loss.name' must be one of"),
        ("model.normalize=3", "'model.normalize' must be true or false"),
        ("eval.k=[1,x]", r"'eval.k\[1\]' must be an integer"),
        ("train.iterations", "not of the form key=value"),
    ],
)
def test_bad_overrides_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config("digits-triplet", [override])


def test_unknown_preset_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'nope'.*digits-triplet"):
        load_config("nope")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  iterations: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml is not valid YAML at line"):
        load_config(str(bad))


def test_unknown_key_in_a_yaml_file(tmp_path: Path) -> None:
    custom = tmp_path / "custom.yaml"
    custom.write_text("train:\n  iterations: 3\n  speed: fast\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting 'train.speed'"):
        load_config(str(custom))


def test_non_mapping_yaml_is_refused(tmp_path: Path) -> None:
    custom = tmp_path / "list.yaml"
    custom.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_yaml(custom)


def test_dumped_config_reproduces_the_run_config(tmp_path: Path) -> None:
    config = load_config("cub-triplet", ["train.iterations=7", "daml.enabled=false"], {"seed": 3})
    saved = tmp_path / "config.yaml"
    saved.write_text(dump_config(config, "cub-triplet"), encoding="utf-8")
    assert load_config(str(saved)) == config


def test_numeric_looking_string_setting_stays_a_string() -> None:
    key, value = parse_override("data.dataset=2024")
    assert (key, value) == ("data.dataset", "2024")
    assert build(RunConfig, {"data": {"dataset": value}}).data.dataset == "2024"


def test_exponent_without_dot_is_a_number() -> None:
    # YAML 1.1 reads 1e-5 as a string; learning rates are written that way all the time.
    assert load_config("digits-triplet", ["optim.lr_trunk=1e-5"]).optim.lr_trunk == 1e-5
