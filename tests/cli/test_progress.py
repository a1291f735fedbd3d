"""The training display keeps bar, step/total, elapsed and ETA whole at 80 and 250 columns."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from daml_cli.cli.progress import RichTrainReporter, make_progress

TERMS = {"loss": 0.41234, "j_m": 0.31, "j_gen": 1.234, "j_hard": 0.5, "j_reg": 0.25, "j_adv": 0.0123, "lr": 1e-4}


def _render(width: int, data_wait: float) -> str:
    clock = [0.0]
    target = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    reporter = RichTrainReporter(progress=make_progress(target, get_time=lambda: clock[0]))
    reporter.start(150, 0)
    clock[0] = 5.0
    reporter.step(10, TERMS, 812.3, data_wait, phase="joint")
    clock[0] = 10.0
    reporter.step(20, TERMS, 812.3, data_wait, phase="joint")
    target.print(reporter.progress.get_renderable())
    return target.file.getvalue()


@pytest.mark.parametrize("width", [80, 250])
def test_bar_line_keeps_step_elapsed_and_eta(width: int) -> None:
    text = _render(width, 0.05)
    bar_line = text.splitlines()[0]
    # 20 steps in 10 s -> 2 steps/s -> (150 - 20) / 2 = 65 s left = 0:01:05
    assert "20/150" in bar_line
    assert "0:00:10 elapsed" in bar_line
    assert "ETA 0:01:05" in bar_line
    assert "━" in bar_line  # the bar itself is drawn
    assert all(len(line) <= width for line in text.splitlines())
    status = " ".join(text.splitlines()[1:])
    for shown in ("phase joint", "loss 0.412", "j_adv 0.0123", "812 img/s", "data wait 5%"):
        assert shown in status
    assert "data.workers" not in status


def test_high_data_wait_gets_a_hint() -> None:
    status = " ".join(_render(80, 0.45).splitlines()[1:])
    assert "data wait 45%" in status and "data.workers" in status


def test_daml_stage_is_shown_on_the_status_line_and_an_empty_one_is_left_out() -> None:
    target = Console(file=io.StringIO(), width=120, force_terminal=False, color_system=None)
    reporter = RichTrainReporter(progress=make_progress(target))
    reporter.start(10, 0)
    reporter.step(3, {"loss": 0.5}, 100.0, 0.0, stage="pretrain")
    target.print(reporter.progress.get_renderable())
    reporter.step(4, {"loss": 0.5}, 100.0, 0.0, stage="")
    target.print(reporter.progress.get_renderable())
    first, second = target.file.getvalue().split("3/10")[1], target.file.getvalue().split("4/10")[1]
    assert "stage pretrain" in first.splitlines()[1]
    assert "stage" not in second
