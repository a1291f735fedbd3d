"""A run's curves.png, drawn from a real short DAML run on the digits: loss terms / fractions and distances /
validation metrics, a colour-and-dash pair per series, DAML's stages on the step axis, no legend text cut;
the grouping rule and the log axis pinned on their own."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from daml_cli.report.curves import draw_run_curves, is_fraction, stages, write_curves
from tests.conftest import tiny_config
from tests.report.figure_checks import assert_blank_border, assert_texts_inside, legend_signatures

PRETRAIN, WARMUP, STEPS, LOG_EVERY = 8, 4, 24, 2
SKIPPED = {"step", "phase", "stage", "images_per_s", "data_wait", "best"}
PANEL_TWO = {"active_fraction", "m_active_fraction", "adv_active", "syn_to_anchor", "syn_to_negative"}  # by the rule


@pytest.fixture(scope="module")
def daml_run(digits_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real DAML run on the digits with all three stages logged."""
    from daml_cli.train.loop import train

    run = tmp_path_factory.mktemp("daml") / "run"
    config = tiny_config(digits_root, f"train.iterations={STEPS}", f"train.log_every={LOG_EVERY}", "train.eval_every=8",
                         f"daml.pretrain_iters={PRETRAIN}", f"daml.gen_warmup_iters={WARMUP}", preset="digits-triplet-daml")
    train(config, run, preset="digits-triplet-daml")
    return run


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _fields(records: list[dict], phase: str) -> list[str]:
    found: list[str] = []
    for record in records:
        if record["phase"] == phase:
            found += [k for k in record if k not in SKIPPED and k not in found]
    return found


def test_a_daml_runs_curves(daml_run: Path) -> None:
    records = _records(daml_run)
    figure = draw_run_curves(records, f"{daml_run.name}: DAML + triplet on digits")
    if os.environ.get("DAML_EXAMPLES"):  # the view as a test saw it
        figure.image.save(Path(os.environ["DAML_EXAMPLES"]) / "curves-test-run.png")
    train, val = _fields(records, "train"), _fields(records, "val")
    assert PANEL_TWO <= set(train) and len(val) == 8
    losses = [name for name in train if name not in PANEL_TWO]
    legend = "".join(p.text for p in figure.texts if p.kind == "legend")
    assert re.sub(r" \(= [a-z_@0-9]+\)", "", legend) == "".join(losses + [n for n in train if n in PANEL_TWO] + val)
    assert len(figure.plots) == 3 and len(figure.samples) == len(train) + len(val)
    signatures = legend_signatures(figure)
    assert len(set(signatures)) == len(signatures)  # every series its own colour-and-dash pair, read off the pixels
    assert len({runs for _, runs in signatures}) >= 3  # dashes differ, not colours only
    owners = [0] * len(losses) + [1] * len(PANEL_TWO) + [2] * len(val)
    for (colour, _), panel in zip(signatures, owners):  # each series is drawn in its own panel
        plot = figure.image.crop(figure.plots[panel])
        assert colour in {c for _, c in plot.getcolors(maxcolors=1 << 20)}
    assert_texts_inside(figure)
    assert_blank_border(figure.image)

    assert [p.text for p in figure.texts if p.kind == "stage"] == ["pretrain", "gen_warmup", "joint"]
    for left, top, right, _ in figure.plots:  # the stages shade every panel: three backgrounds along its top
        at = [figure.image.getpixel((round(left + (right - left) * step / STEPS), top + 2)) for step in (3, 10.5, 20)]
        assert len(set(at)) == 3
    out = write_curves(records, daml_run / "again.png")
    assert Image.open(out).size == figure.image.size


def test_stage_boundaries_are_within_half_a_logging_interval(daml_run: Path) -> None:
    bands = stages(_records(daml_run))
    assert [b.name for b in bands] == ["pretrain", "gen_warmup", "joint"]
    assert bands[0].start == 0 and bands[-1].end == STEPS
    assert abs(bands[1].start - PRETRAIN) <= LOG_EVERY / 2 and abs(bands[2].start - (PRETRAIN + WARMUP)) <= LOG_EVERY / 2
    assert all(a.end == b.start for a, b in zip(bands, bands[1:]))
    assert stages([{"step": 2, "phase": "train", "loss": 1.0}]) == []  # a baseline run has no stages


@pytest.mark.parametrize("name, values, panel_two", [
    ("active_fraction", [0.2, 1.0], True),
    ("adv_active", [0.0, 0.7], True),
    ("hit_ratio", [0.3], True),
    ("active_fraction", [0.2, 1.5], False),  # named a fraction but it is not one: loss-like
    ("syn_to_anchor", [0.4, 1.7], True),  # a distance: any non-negative size
    ("mean_dist", [2.0], True),
    ("syn_to_negative", [-0.1], False),
    ("interactive_loss", [0.5], False),  # the word is "interactive", not "active"
    ("distill", [0.3], False),  # not the word "dist"
    ("j_metric", [0.5], False), ("j_recon", [0.01], False), ("j_soft", [0.2], False), ("ce", [0.9], False),
    ("proxy_nca", [0.3], False),
])
def test_grouping_rule(name: str, values: list[float], panel_two: bool) -> None:
    assert is_fraction(name, [(float(i), v) for i, v in enumerate(values)]) is panel_two


def _median_row(image: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> float:
    rows = sorted(y for y in range(box[1] + 1, box[3]) for x in range(box[0] + 1, box[2]) if image.getpixel((x, y)) == colour)
    return rows[len(rows) // 2]


def test_loss_terms_decades_apart_are_all_visible(tmp_path: Path) -> None:
    values = {"j_gen": 100.0, "triplet": 0.01, "j_adv": 0.001, "real": 0.0}
    records = [{"step": s, "phase": "train", **values} for s in range(1, 11)]
    figure = draw_run_curves(records)
    (colour_gen, _), (colour_triplet, _), (colour_adv, _), (colour_zero, _) = legend_signatures(figure)[:4]
    image, box = figure.image.convert("RGB"), figure.plots[0]
    height = box[3] - box[1]
    rows = [_median_row(image, box, c) for c in (colour_gen, colour_triplet, colour_adv, colour_zero)]
    assert rows == sorted(rows)  # 100 above 0.01 above 0.001 above 0
    assert rows[2] - rows[1] > 0.15 * height  # one decade apart is well apart (a linear axis gives 0 px)
    assert rows[3] >= box[3] - 3  # the zero on the bottom edge, and the panel says so
    assert any("drawn on the bottom edge" in p.text for p in figure.texts if p.kind == "title")
