"""A run whose position is finite but whose f there is not is diverged in every summary.

The result flags it (``diverged``: position or value not finite); the summaries must count it
so, not as a run "within tol of no minimum", and must not call such a point a minimum found.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import jaxgd
from tests.fixtures_userfunc import nan_corner, nan_right
from tests.test_experiments import USER, run

# -1 .. 3 in 9 starts: 2.5 and 3 start (and stay) where f is NaN.
STARTS = ["--starts", "-1", "3", "9", "--epochs", "200"]


def test_start_location_counts_runs_ending_where_f_is_nan_as_diverged(tmp_path, capsys):
    code, out, err = run(
        "start_location", [*STARTS, "--function", f"{USER}:nan_right"], tmp_path, capsys
    )
    assert code == 0, err
    res = jaxgd.sweep(nan_right, np.linspace(-1, 3, 9), 0.1, 200)
    assert int(res.diverged.sum()) == 2
    assert "diverged: 2 of 9 starts" in out
    # Any run near no minimum is one still on its way, left of the NaN region.
    rest = re.search(r"of no minimum: \d+ of 9 starts \(final guesses (\S+) to (\S+)\)", out)
    assert rest is None or float(rest.group(2)) < 2.0, out


@pytest.mark.parametrize(
    ("name", "argv", "unit"),
    [
        ("learning_rate", ["--start", "2.5", "--learning-rates", "0.01", "0.1", "5"], "rates"),
        (
            "lr_epochs",
            ["--start", "2.5", "--learning-rates", "0.01", "0.1", "3", "--epochs", "10", "30", "3"],
            "cells",
        ),
    ],
)
def test_rate_sweeps_count_them_as_diverged(name, argv, unit, tmp_path, capsys):
    code, out, err = run(name, [*argv, "--function", f"{USER}:nan_right"], tmp_path, capsys)
    assert code == 0, err
    n = int(re.search(rf"diverged: (\d+) of (\d+) {unit}", out).group(1))
    total = int(re.search(rf"diverged: \d+ of (\d+) {unit}", out).group(1))
    assert n == total  # every run starts, and stays, where f is NaN
    assert "of no minimum" not in out
    assert "the run diverged: f is not finite where it ended, x = 2.5" in out


def test_single_run_names_no_minimum_where_f_is_nan(tmp_path, capsys):
    # Thrown past 2 by a large rate: the run ends where f is NaN.
    argv = ["--start", "1.5", "--learning-rate", "3", "--function", f"{USER}:nan_right"]
    code, out, err = run("single_run", argv, tmp_path, capsys)
    assert code == 0, err
    assert "minimum found: none, the run diverged: f is not finite at x = 13.5" in out
    assert "f(x) = nan" not in out


@pytest.mark.parametrize("rate", ["0.01", "0"])
def test_single_run_says_when_f_is_not_finite_at_the_start(rate, tmp_path, capsys):
    # Not "the run diverged (try a smaller --learning-rate)": no rate helps a NaN start.
    argv = ["--start", "3", "--learning-rate", rate, "--function", f"{USER}:nan_right"]
    code, out, err = run("single_run", argv, tmp_path, capsys)
    assert code == 0, err
    assert (
        "minimum found: none, f or its derivative is not finite at the start x0 = 3: choose "
        "another --start (or --function)"
    ) in out
    assert "diverged" not in out and "learning-rate" not in out


def test_single_run_takes_f_written_with_array_methods(tmp_path, capsys):
    code, out, err = run("single_run", ["--function", f"{USER}:summed"], tmp_path, capsys)
    assert code == 0, err
    assert re.search(r"minimum found: x = 1(\.0*)?, f\(x\) = ", out), out


def test_surface_counts_them_as_diverged(tmp_path, capsys):
    argv = ["--function", f"{USER}:nan_corner", "--grid", "10", "--paths", "2",
            "--start", "4", "4", "--epochs", "50"]  # fmt: skip
    code, out, err = run("surface", argv, tmp_path, capsys)
    assert code == 0, err
    assert re.search(r"^start \(--start\).*: diverged$", out, re.M), out
    grid = np.stack(np.meshgrid(*[np.linspace(-5, 5, 10)] * 2, indexing="ij"), -1).reshape(-1, 2)
    res = jaxgd.sweep(nan_corner, grid, 0.1, 50)
    share = float(res.diverged.mean())
    assert share > 0
    (line,) = [t for t in out.splitlines() if t.startswith("10 x 10 grid starts")]
    assert f"diverged {share:.1%}" in line, line  # the starts right of x = 3: 20%


def test_derivative_check_draws_a_derivative_that_is_nan_somewhere(tmp_path, capsys):
    # NaN or inf on the checked grid once reached matplotlib's set_ylim: a traceback.
    argv = ["--function", f"{USER}:square", "--derivative", f"{USER}:d_square_nan_at_0"]
    code, _, err = run("derivative_check", argv, tmp_path, capsys)
    assert code == 0, err
    assert (tmp_path / "derivative_check.png").stat().st_size > 0


def test_axis_limits_ignore_values_that_are_not_finite():
    from jaxgd.plotting._common import _ylim

    lo, hi = _ylim(np.array([np.nan, -1.0, np.inf, 3.0, -np.inf]))
    assert np.isfinite([lo, hi]).all() and lo < -1.0 and hi > 3.0
    assert _ylim(np.array([np.nan, np.inf])) == (0.0, 1.0)


def test_optimizers_names_every_tied_global_minimum(tmp_path, capsys):
    argv = ["--function", f"{USER}:quartic", "--optimizers", "sgd", "--starts", "-2", "2", "5",
            "--learning-rates", "0.01", "0.05", "2", "--epochs", "10", "200", "2"]  # fmt: skip
    code, out, err = run("optimizers", argv, tmp_path, capsys)
    assert code == 0, err
    assert "reaching a global minimum (x = -1 or 1, equally low)" in out


def test_lr_epochs_says_when_no_value_gives_colour_limits(tmp_path, capsys):
    argv = ["--function", f"{USER}:overflowing", "--start", "0.5",
            "--learning-rates", "0.5", "1", "3", "--epochs", "10", "20", "2"]  # fmt: skip
    code, out, err = run("lr_epochs", argv, tmp_path, capsys)
    assert code == 0, err
    assert "diverged: 6 of 6 cells" in out
    assert "(no finite values to take them from: every run diverged)" in out


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("attr", "ok"),
    [("bowl_listed_wrong", False), ("saddle_listed", False), ("himmelblau_listed", True),
     ("flat_quartic_listed", True)],
)  # fmt: skip
def test_a_2d_functions_listed_minima_are_checked(attr, ok, tmp_path, capsys):
    # The summaries match runs against the list alone: a wrong point made every run "near
    # none" and named a minimum f does not have.
    argv = ["--function", f"{USER}:{attr}", "--grid", "6", "--epochs", "20"]
    code, _, err = run("basin_map", argv, tmp_path, capsys)
    if ok:
        assert code == 0, err
    else:
        assert code == 2 and err.count("\n") == 1, err
        assert "its minima attribute lists (" in err and "which is not a minimum of f" in err


def test_runs_stopping_on_a_flat_minimum_reached_it(tmp_path, capsys):
    """f = max(|x| - 1, 0)**2 is lowest on all of [-1, 1]: every run that stops there reached
    it, whichever point of the stretch it stopped at."""
    code, out, err = run(
        "start_location",
        ["--starts", "-5", "5", "11", "--function", f"{USER}:flat_bottom"],
        tmp_path,
        capsys,
    )
    assert code == 0, err
    assert "local minima of f on [-6.28319, 6.28319]: x in [-1, 1] (f = 0, global)" in out
    assert "reached the global minimum x in [-1, 1] (within 0.001): 11 of 11 starts" in out
    assert "no minimum" not in out
    code, out, err = run(
        "lr_epochs",
        ["--start", "3", "--function", f"{USER}:flat_bottom", "--epochs", "10", "200", "5"],
        tmp_path,
        capsys,
    )
    assert code == 0, err
    assert "the run reached the global minimum x in [-1, 1]" in out
    assert "smallest rate that gets within 0.001 of x in [-1, 1]" in out
