"""Parsing what to compare: seeds, names, per-preset overrides, {seed} substitution, the merge order."""

from __future__ import annotations

from pathlib import Path

import pytest

from daml_cli.compare.plan import parse_contenders, parse_seeds, plan_runs
from daml_cli.compare.runs import validation_curve
from daml_cli.errors import ConfigError


def test_seeds() -> None:
    assert parse_seeds("0,1,2") == [0, 1, 2]
    assert parse_seeds(" 3, 5 ") == [3, 5]
    for bad in ("", "a,b", "1;2", "-1", "1,1", "1.5"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_names_and_per_preset_overrides() -> None:
    contenders = parse_contenders(
        ["digits-triplet", "tuned=digits-triplet-daml", "presets/x.yaml"], ["tuned:daml.lambda_adv=10"]
    )
    assert [(c.name, c.preset, c.overrides) for c in contenders] == [
        ("digits-triplet", "digits-triplet", ()),
        ("tuned", "digits-triplet-daml", ("daml.lambda_adv=10",)),
        ("x", "presets/x.yaml", ()),
    ]
    with pytest.raises(ConfigError, match="named 'a'"):
        parse_contenders(["a=digits-triplet", "a=digits-triplet-daml"], [])
    with pytest.raises(ConfigError, match="not compared"):
        parse_contenders(["digits-triplet"], ["other:train.iterations=3"])
    with pytest.raises(ConfigError, match="NAME:key=value"):
        parse_contenders(["digits-triplet"], ["train.iterations=3"])


def test_plan_merges_in_order_and_substitutes_the_seed(tmp_path: Path) -> None:
    contenders = parse_contenders(["digits-triplet", "d=digits-triplet-daml"], ["d:train.iterations=9"])
    specs = plan_runs(
        contenders, [0, 4], ["train.iterations=5", "data.dataset=set{seed}"], tmp_path, {"data.root": "R"}
    )
    assert [(s.name, s.seed) for s in specs] == [("digits-triplet", 0), ("digits-triplet", 4), ("d", 0), ("d", 4)]
    assert [s.config.train.iterations for s in specs] == [5, 5, 9, 9]  # --set-for after --set
    assert [s.config.data.dataset for s in specs] == ["set0", "set4", "set0", "set4"]
    assert [s.config.seed for s in specs] == [0, 4, 0, 4]
    assert specs[3].run_dir == tmp_path / "runs" / "d" / "seed4"
    assert specs[1].overrides == ("train.iterations=5", "data.dataset=set4")
    assert all(s.config.data.root == "R" for s in specs)


def test_plan_refuses_a_seed_override_and_bad_keys(tmp_path: Path) -> None:
    contenders = parse_contenders(["digits-triplet"], [])
    with pytest.raises(ConfigError, match="--seeds"):
        plan_runs(contenders, [0], ["seed=3"], tmp_path)
    with pytest.raises(ConfigError, match="train.iteration"):
        plan_runs(contenders, [0], ["train.iteration=3"], tmp_path)


def test_validation_curve_keeps_the_later_record_of_a_step(tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    log.write_text(
        '{"step": 2, "phase": "train", "loss": 1.0}\n'
        '{"step": 3, "phase": "val", "recall@1": 0.5, "best": true}\n'
        '{"step": 6, "phase": "val", "recall@1": 0.4, "best": false}\n'  # logged, then interrupted before last.pt
        '{"step": 6, "phase": "val", "recall@1": 0.7, "best": true}\n'  # the resumed run's record of step 6
    )
    assert validation_curve(log, "recall@1") == ([[3, 0.5], [6, 0.7]], 6)


def test_digits_daml_preset_is_the_baseline_plus_daml() -> None:
    from daml_cli.compare.runs import flatten
    from daml_cli.config.loading import load_config
    from daml_cli.config.validate import to_dict

    base, daml = (flatten(to_dict(load_config(name))) for name in ("digits-triplet", "digits-triplet-daml"))
    differing = {key for key in base if base[key] != daml[key]}
    assert differing and all(key.startswith("daml.") or key in ("optim.lr_generator", "synthesis") for key in differing)
    config = load_config("digits-triplet-daml", ["train.iterations=20"])
    assert config.daml.enabled and config.daml.pretrain_iters + config.daml.gen_warmup_iters < 20  # joint steps in 20


def test_a_run_stored_before_the_synthesis_key_is_still_the_same_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from daml_cli.compare.plan import RunSpec
    from daml_cli.compare.runs import check_same_config
    from daml_cli.config.loading import load_config
    from daml_cli.config.validate import to_dict

    config = load_config("digits-triplet-daml")
    saved = to_dict(config)
    del saved["synthesis"]  # as written before the key existed: daml.enabled alone said DAML
    spec = RunSpec("daml", "digits-triplet-daml", 0, [], config, tmp_path)
    check_same_config(saved, spec, tmp_path / "config.yaml")  # no error: the same run
    saved["daml"]["enabled"] = False
    with pytest.raises(ConfigError, match="daml.enabled"):
        check_same_config(saved, spec, tmp_path / "config.yaml")
