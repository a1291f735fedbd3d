"""A study's curves.png from a real `daml compare` (2 presets × 2 seeds, tiny budgets on the digits, one
preset with a name too long for one legend line): nothing cut, seeds told apart, study and metric named."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from daml_cli.cli.main import main
from daml_cli.compare.curves import study_figure
from tests.conftest import TINY
from tests.report.figure_checks import assert_blank_border, assert_texts_inside, legend_signatures

LONG = "digits-triplet-baseline-with-margin-0.2-and-semihard-mining-seeded"  # wider than the legend column
PRESETS = [f"{LONG}=digits-triplet", "digits-triplet-daml"]
DAML = ["--set-for", "digits-triplet-daml:daml.pretrain_iters=2", "--set-for", "digits-triplet-daml:daml.gen_warmup_iters=1"]


@pytest.fixture(scope="module")
def study(digits_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("studies") / "my-digits-study"
    sets = [arg for item in TINY for arg in ("--set", item)]
    try:
        main(["compare", *PRESETS, "--seeds", "0,1", "--data-root", str(digits_root), "--out", str(out),
              "--device", "cpu", *sets, *DAML])
    except SystemExit as done:
        assert not done.code, done
    return out


def test_the_study_curves_read_at_a_glance(study: Path) -> None:
    report = json.loads((study / "report.json").read_text())
    metric = report["runs"][0]["select_metric"]
    figure = study_figure(report["runs"], [LONG, "digits-triplet-daml"], study.name)
    if os.environ.get("DAML_EXAMPLES"):
        shutil.copyfile(study / "curves.png", Path(os.environ["DAML_EXAMPLES"]) / "compare-test-study.png")
    with Image.open(study / "curves.png") as written:  # what `daml compare` wrote is this figure
        assert written.size == figure.image.size and written.size[0] >= 1000  # a laptop-screen size
    title = next(p.text for p in figure.texts if p.kind == "title")
    assert "my-digits-study" in title and metric in title
    assert_texts_inside(figure)  # measured with Pillow's font metrics against the canvas
    assert_blank_border(figure.image)
    legend = [p for p in figure.texts if p.kind == "legend"]
    assert "".join(p.text for p in legend) == f"{LONG}seed 0seed 1digits-triplet-damlseed 0seed 1"
    assert sum(p.text in LONG for p in legend) >= 2  # the long name wrapped onto lines of its own, not cut
    signatures = legend_signatures(figure)  # (colour, dash runs) of the four line samples, read off the pixels
    assert len(signatures) == 4 and len(set(signatures)) == 4
    (colour_a0, dash_a0), (colour_a1, dash_a1), (colour_b0, dash_b0), (colour_b1, dash_b1) = signatures
    assert colour_a0 == colour_a1 != colour_b0 == colour_b1  # a colour per preset
    assert dash_a0 != dash_a1 and (dash_a0, dash_a1) == (dash_b0, dash_b1)  # a dash per seed
    plot = figure.image.crop(figure.plots[0])
    assert {colour_a0, colour_b0} <= {c for _, c in plot.getcolors(maxcolors=1 << 20)}
