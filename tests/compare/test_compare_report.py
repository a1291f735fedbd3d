"""report.json's summary and paired differences, checked with numpy and scipy on made-up runs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from daml_cli.compare.report import build_report, report_markdown

SEEDS = [0, 1, 2]
TEST = {  # (name, seed) -> recall@1, map@r
    ("base", 0): (0.80, 0.40), ("base", 1): (0.82, 0.43), ("base", 2): (0.79, 0.41),
    ("daml", 0): (0.83, 0.41), ("daml", 1): (0.82, 0.45), ("daml", 2): (0.84, 0.40),
    ("other", 0): (0.70, 0.30), ("other", 1): (0.71, 0.33), ("other", 2): (0.69, 0.35),
}


def run(name: str, seed: int) -> dict:
    r1, mapr = TEST[(name, seed)]
    return {"name": name, "seed": seed, "steps": 10, "best_step": 5, "wall_s": 1.5, "status": "trained",
            "test": {"recall@1": r1, "map@r": mapr}, "curve": [[5, 0.9]], "select_metric": "recall@1"}


@pytest.fixture
def report() -> dict:
    names = ["base", "daml", "other"]
    runs = [run(n, s) for s in SEEDS for n in reversed(names)]  # any order in, report order out
    return build_report(["daml", "compare"], names, SEEDS, ["train.iterations=10"], {"daml": ["x=1"]},
                        {n: f"preset-{n}" for n in names}, runs)


def test_summary_and_paired_differences(report: dict) -> None:
    assert report["metrics"] == ["recall@1", "map@r"]
    assert [(r["name"], r["seed"]) for r in report["runs"]] == [(n, s) for n in ("base", "daml", "other") for s in SEEDS]
    for i, metric in enumerate(report["metrics"]):
        for name in ("base", "daml", "other"):
            values = np.array([TEST[(name, s)][i] for s in SEEDS])
            cell = report["summary"][name][metric]
            assert cell["mean"] == pytest.approx(values.mean()) and cell["std"] == pytest.approx(values.std(ddof=1))
        base = np.array([TEST[("base", s)][i] for s in SEEDS])
        for name in ("daml", "other"):
            d = np.array([TEST[(name, s)][i] for s in SEEDS]) - base
            low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
            cell = report["paired"][name][metric]
            assert report["paired"][name]["against"] == "base"
            assert cell["differences"] == pytest.approx(list(d))
            assert cell["mean"] == pytest.approx(d.mean()) and cell["std"] == pytest.approx(d.std(ddof=1))
            assert cell["ci95"] == pytest.approx([low, high])
    assert "base" not in report["paired"]
    assert report["presets"][1] == {"name": "daml", "preset": "preset-daml", "overrides": ["x=1"]}


def test_markdown_tables(report: dict) -> None:
    text = report_markdown(report)
    d = report["paired"]["daml"]["recall@1"]
    assert f"{d['mean']:+.4f} [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]" in text
    assert "| daml | 0.8300 ± 0.0100 |" in text  # mean of 0.83, 0.82, 0.84 and its sample std
    assert text.count("| base | ") == 4  # the summary row and one per seed


def test_one_seed_has_no_interval() -> None:
    report = build_report([], ["base", "daml"], [0], [], {}, {"base": "b", "daml": "d"}, [run("base", 0), run("daml", 0)])
    assert report["paired"]["daml"]["recall@1"]["ci95"] is None
    assert report["summary"]["daml"]["recall@1"]["std"] is None
    assert "+0.0300 |" in report_markdown(report)
