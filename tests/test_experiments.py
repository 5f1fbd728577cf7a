"""The experiment modules, run in-process at small sizes: exit status, files, summary numbers.

Numbers in the summaries are checked against the notebook's loop in float64 with a derivative
written by hand (tests.helpers.reference_descend), not against jaxgd itself.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import experiments.__main__ as listing
from jaxgd import _cli_output as cli_output
from jaxgd import cli
from tests.helpers import reference_descend
from tests.reference_functions import REFERENCE

DF = REFERENCE["notebook"].df
GLOBAL, LOCAL = -1.42887, 4.3058  # the notebook's f: its two stationary minima
PNG = b"\x89PNG\r\n\x1a\n"
USER = "tests.fixtures_userfunc"
ROOT = Path(__file__).resolve().parents[1]

# Small grids per module, so each run takes a fraction of a second.
SMALL = {
    "single_run": ["--start", "0", "--epochs", "200"],
    "start_location": ["--starts", "-5", "5", "7", "--epochs", "200"],
    "learning_rate": ["--learning-rates", "1e-10", "0.1", "4", "--epochs", "200"],
    "lr_epochs": ["--learning-rates", "1e-10", "0.1", "4", "--epochs", "10", "100", "3"],
    "random_starts": [
        "--learning-rates", "1e-10", "0.1", "3", "--epochs", "10", "100", "3", "--repeats", "8"
    ],
    "convergence": ["--starts", "-3", "3", "4", "--learning-rates", "0.01", "0.1", "2",
                    "--epochs", "200"],
    # For a user's f, the user's derivative: wavy's, written by hand in that test module.
    "derivative_check": [
        "--derivative", "tests.test_experiments_analysis:wavy_derivative", "--epochs", "100"
    ],
}  # fmt: skip
FILES = {
    "single_run": ["single_run"],
    "start_location": ["start_location"],
    "learning_rate": ["learning_rate"],
    "lr_epochs": ["lr_epochs_heatmap", "lr_epochs_lines"],
    "random_starts": ["random_starts"],
    "convergence": ["convergence"],
    "derivative_check": ["derivative_check"],
}


@pytest.fixture(autouse=True)
def _no_figures_left():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before  # every module closes what it opened


def run(name, argv, out, capsys):
    module = importlib.import_module(f"experiments.{name}")
    code = module.main([*argv, "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return float(match.group(1))


def count(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return int(match.group(1))


def assert_written(name, folder, out, fmt="png"):
    """Exactly the module's figures are in ``folder``, each a real file, each announced."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{s}.{fmt}" for s in FILES[name])
    for stem in FILES[name]:
        path = folder / f"{stem}.{fmt}"
        if fmt == "png":
            assert path.read_bytes()[:8] == PNG
        else:
            assert "<svg" in path.read_text()
        assert f"wrote {path}" in out


def reached(final, target, tol=1e-3):
    final = np.asarray(final)
    # Keep the reference away from the tolerance's edge, where float32 could fall either way.
    assert not np.any(np.abs(np.abs(final - target) - tol) < 2e-4)
    return int((np.abs(final - target) <= tol).sum())


# -- every module ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SMALL))
def test_module_takes_a_users_own_function(name, tmp_path, capsys):
    code, out, err = run(name, [*SMALL[name], "--function", f"{USER}:wavy"], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"f: {USER}:wavy (cos(3x)")
    assert "local minima of f on [-3, 3]:" in out or name == "single_run"
    for stem in FILES[name]:
        assert (tmp_path / f"{stem}.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize("name", list(SMALL))
def test_module_rejects_a_numpy_function_in_one_line(name, tmp_path, capsys):
    code, out, err = run(name, ["--function", f"{USER}:numpy_written"], tmp_path, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: --function '{USER}:numpy_written' calls NumPy")
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


# Every 1-D experiment, small, for an f with no minimum: what each says of it must agree.
NO_MINIMUM = {
    **{name: [*argv, "--function", f"{USER}:slope"] for name, argv in SMALL.items()},
    "derivative_check": [
        "--function", f"{USER}:slope", "--derivative", f"{USER}:slope_derivative",
        "--epochs", "100",
    ],
    "optimizers": [
        "--function", f"{USER}:slope", "--optimizers", "sgd", "adam", "--starts", "-2", "2", "3",
        "--learning-rates", "0.01", "0.1", "2", "--epochs", "10", "50", "2",
    ],
    "function_family": [
        "--function", f"{USER}:slope_family", "--params", "1", "2", "--repeats", "8",
        "--epochs", "50",
    ],
}  # fmt: skip
NO_MINIMUM_FILES = {
    **FILES, "optimizers": ["optimizers_maps", "optimizers_ends"],
    "function_family": ["function_family"],
}  # fmt: skip


@pytest.mark.parametrize("name", list(NO_MINIMUM))
def test_an_f_with_no_minimum_is_reported_not_refused(name, tmp_path, capsys):
    # A valid f and domain: that f has no minimum there is a finding, said in the summary with
    # status 0 and the figures written, as by every other experiment, not a usage error.
    code, out, err = run(name, NO_MINIMUM[name], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"f: {USER}:slope")
    assert (
        "f has no local minimum inside [-2, 2]" in out
        or "0 minima: none" in out  # function_family: per theta
    ), out
    assert "reached the global minimum" not in out
    for stem in NO_MINIMUM_FILES[name]:
        assert (tmp_path / f"{stem}.png").read_bytes()[:8] == PNG
        assert f"wrote {tmp_path / stem}.png" in out


@pytest.mark.parametrize(
    ("name", "argv", "message"),
    [
        ("single_run", ["--learning-rate", "-1"], "--learning-rate: must be >= 0"),
        ("start_location", ["--starts", "5", "-5", "3"], "--starts: LO must not exceed HI"),
        ("learning_rate", ["--learning-rates", "0", "1"], "expected LO HI N (N evenly spaced"),
        ("lr_epochs", ["--epochs", "10", "1e10", "3"], "--epochs: epochs must be at most"),
        ("random_starts", ["--repeats", "0"], "--repeats: expected a whole number >= 1"),
        ("convergence", ["--epochs", "10", "20", "3"], "unrecognized arguments: 20 3"),
        ("derivative_check", ["--derivative", "nope"], "--derivative 'nope': write module:attr"),
    ],
)
def test_module_rejects_a_bad_grid_flag_in_one_line(name, argv, message, tmp_path, capsys):
    code, _, err = run(name, argv, tmp_path, capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_function", "not a built-in function"),
        ("no_such_module_xyz:f", "no module named 'no_such_module_xyz'"),
        (f"{USER}:missing", "has no attribute 'missing'"),
        (f"{USER}:NOT_CALLABLE", "int is not callable"),
        (f"{USER}:vector", "must return a scalar"),
    ],
)
def test_bad_function_exits_2_without_a_traceback(spec, message, tmp_path, capsys):
    code, out, err = run("lr_epochs", ["--function", spec], tmp_path, capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err
    assert out == ""


def test_function_module_in_the_current_directory(tmp_path, monkeypatch, capsys):
    name = f"my_f_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text(
        "import jax.numpy as jnp\n\n\ndef f(x):\n    return jnp.sin(x) * jnp.exp(-0.05 * x**2)\n"
    )
    monkeypatch.chdir(tmp_path)
    try:
        code, out, _ = run("learning_rate", [*SMALL["learning_rate"], "--function", f"{name}:f"],
                           tmp_path / "figs", capsys)  # fmt: skip
    finally:
        sys.modules.pop(name, None)
    assert code == 0
    # No domain attribute: the notebook's, so the same numbers as the built-in.
    assert f"reached the global minimum x = {GLOBAL}" in out
    assert (tmp_path / "figs" / "learning_rate.png").exists()


def test_svg_format_and_colour_limits_from_flags(tmp_path, capsys):
    argv = [*SMALL["lr_epochs"], "--format", "svg", "--vmin", "-2", "--vmax", "7"]
    code, out, err = run("lr_epochs", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert_written("lr_epochs", tmp_path, out, fmt="svg")
    assert "colour limits: -2 to 7 (--vmin/--vmax)" in out


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        # The top was made up (vmin + 0.1%) and reported as given: a one-colour map, unsaid.
        (
            ["--vmin", "1"],
            "1 to 1.001 (--vmin; the top set just above it: every value lies "
            "below --vmin, so the map is one colour)",
        ),
        (["--vmax", "-5"], "(--vmax; the bottom set just below it: every value lies above"),
        # a small map (50 values or fewer) is drawn whole: its top is its largest value
        (["--vmin", "-1"], "(--vmin; the top from the largest value)"),
    ],
)
def test_one_colour_limit_says_where_the_other_came_from(flags, expected, tmp_path, capsys):
    code, out, err = run("lr_epochs", [*SMALL["lr_epochs"], *flags], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert expected in out.split("colour limits: ")[1]


_PAST_STABLE = [
    "--function", "tests.fixtures_userfunc:bowl", "--start", "3",
    "--learning-rates", "0.5", "1.2", "8", "--epochs", "5", "100", "6",
]  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "source"),
    [
        ([], "the smallest to the largest finite value"),
        (["--vmin", "-1"], "--vmin; the top from the largest value"),
    ],
)
def test_runs_growing_past_the_stable_rates_do_not_flatten_the_map(flags, source, tmp_path, capsys):
    # (x - 1)^2 from 3: rates above 1 swing ever wider (|1 - 2 rate| > 1) until they overflow.
    # Limits from the data ran to about 1e30 and drew every other cell in one colour.
    code, out, err = run("lr_epochs", [*_PAST_STABLE, *flags], tmp_path, capsys)
    assert (code, err) == (0, "")
    rates, epochs = np.linspace(0.5, 1.2, 8), np.round(np.linspace(5, 100, 6))
    final = np.array(
        [[reference_descend(lambda x: 2 * (x - 1), 3.0, r, e) for e in epochs] for r in rates]
    )
    # The span: the domain (the notebook's), the start 3 and the minimum at 1, plus a tenth.
    lo, hi = -2 * np.pi - 0.4 * np.pi, 2 * np.pi + 0.4 * np.pi
    finite = final[np.isfinite(final) & (np.abs(final) < 3e38)]  # float32's range
    beyond = int(np.sum((finite < lo) | (finite > hi)))
    assert beyond > 5 and finite.max() > 1e6  # the case: cells far beyond, still finite
    line = out.split("colour limits: ")[1].splitlines()[0]
    bottom = -1.0 if flags else lo
    assert line.startswith(f"{cli.num(bottom)} to {cli.num(hi)} ({source}, cut to ")
    assert f"[{cli.num(lo)}, {cli.num(hi)}]" in line
    assert f": {beyond} cells beyond it, far from every minimum" in line


def test_limits_both_given_are_never_cut(tmp_path, capsys):
    code, out, err = run(
        "lr_epochs", [*_PAST_STABLE, "--vmin", "-1e9", "--vmax", "1e9"], tmp_path, capsys
    )
    assert (code, err) == (0, "")
    assert "colour limits: -1e+09 to 1e+09 (--vmin/--vmax)\n" in out


# -- the numbers in each summary -------------------------------------------------------------


def test_single_run_from_zero(tmp_path, capsys):
    code, out, err = run("single_run", ["--start", "0"], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("f: notebook (sin(x)")
    assert_written("single_run", tmp_path, out)
    expected = reference_descend(DF, 0.0, 0.01, 1000)  # -1.42880: 1000 epochs, not quite there
    assert number(r"minimum found: x = (\S+),", out) == pytest.approx(expected, abs=2e-4)
    assert "descent from x0 = 0 (--start), learning rate 0.01, 1000 epochs" in out
    assert f"the run reached the global minimum x = {GLOBAL}" in out


def test_single_run_random_start_is_seeded(tmp_path, capsys):
    starts = []
    for seed in ("5", "5", "6"):
        code, out, _ = run("single_run", ["--seed", seed, "--epochs", "300"], tmp_path, capsys)
        assert code == 0
        starts.append(number(r"descent from x0 = (\S+) \(a seeded random point", out))
        found = number(r"minimum found: x = (\S+),", out)
        assert found == pytest.approx(reference_descend(DF, starts[-1], 0.01, 300), abs=2e-4)
    assert starts[0] == starts[1] != starts[2]


def test_single_run_x64(tmp_path, capsys):
    code, out, _ = run("single_run", ["--start", "0", "--x64"], tmp_path, capsys)
    assert code == 0
    found = number(r"minimum found: x = (\S+),", out)
    assert found == pytest.approx(reference_descend(DF, 0.0, 0.01, 1000), abs=1e-5)


def test_start_location_counts(tmp_path, capsys):
    argv = ["--starts", "-5", "5", "11", "--learning-rate", "0.1", "--epochs", "300"]
    code, out, err = run("start_location", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("f: notebook (sin(x)")
    assert_written("start_location", tmp_path, out)
    final = [reference_descend(DF, s, 0.1, 300) for s in np.linspace(-5, 5, 11)]
    n_global, n_local = reached(final, GLOBAL), reached(final, LOCAL)
    assert n_global > 0 and n_local > 0
    assert count(rf"global minimum x = {GLOBAL} \(within 0.001\): (\d+) of 11 starts", out) == (
        n_global
    )
    assert count(rf"local minimum x = {LOCAL} \(within 0.001\): (\d+) of 11 starts", out) == (
        n_local
    )
    assert "11 starts evenly spaced from -5 to 5, learning rate 0.1, 300 epochs" in out
    assert "diverged: 0 of 11 starts" in out


def test_learning_rate_numbers(tmp_path, capsys):
    argv = ["--learning-rates", "1e-10", "0.1", "6", "--epochs", "200"]
    code, out, err = run("learning_rate", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("f: notebook (sin(x)")
    assert_written("learning_rate", tmp_path, out)
    final = [reference_descend(DF, 0.0, r, 200) for r in np.linspace(1e-10, 0.1, 6)]
    assert number(r"largest rate, 0.1: (\S+);", out) == pytest.approx(final[-1], abs=2e-4)
    assert count(r"global minimum x = \S+ \(within 0.001\): (\d+) of 6 rates", out) == reached(
        final, GLOBAL
    )


def test_lr_epochs_numbers(tmp_path, capsys):
    rates, epochs = np.linspace(1e-10, 0.1, 5), np.round(np.linspace(10, 120, 4))
    argv = ["--learning-rates", "1e-10", "0.1", "5", "--epochs", "10", "120", "4"]
    code, out, err = run("lr_epochs", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("f: notebook (sin(x)")
    assert_written("lr_epochs", tmp_path, out)
    final = np.array([[reference_descend(DF, 0.0, r, e) for e in epochs] for r in rates])
    assert number(r"after 120 epochs at rate 0.1: (\S+);", out) == pytest.approx(
        final[-1, -1], abs=2e-4
    )
    assert count(r"global minimum x = \S+ \(within 0.001\): (\d+) of 20 cells", out) == (
        reached(final, GLOBAL)
    )
    there = np.abs(final - GLOBAL) <= 1e-3
    smallest = rates[there[:, -1]].min()
    assert number(
        r"smallest rate that gets within 0.001 of x = \S+ in 120 epochs: (\S+);", out
    ) == (pytest.approx(smallest, rel=1e-5))
    fewest = epochs[there[-1]].min()
    assert count(r"fewest epochs on the grid that get there at rate 0.1: (\d+)", out) == fewest
    # 20 cells: too few to trim at the 2nd/98th percentiles, so the map is drawn whole
    lo, hi = final.min(), final.max()
    assert number(r"colour limits: (\S+) to", out) == pytest.approx(lo, abs=2e-4)
    assert number(r"colour limits: \S+ to (\S+) \(the smallest to the largest", out) == (
        pytest.approx(hi, abs=2e-4)
    )


def test_lr_epochs_from_1_6_reaches_the_other_minimum(tmp_path, capsys):
    argv = ["--start", "1.6", "--learning-rates", "0.02", "0.1", "3", "--epochs", "50", "400", "3"]
    code, out, _ = run("lr_epochs", argv, tmp_path, capsys)
    assert code == 0
    rates, epochs = np.linspace(0.02, 0.1, 3), np.round(np.linspace(50, 400, 3))
    final = np.array([[reference_descend(DF, 1.6, r, e) for e in epochs] for r in rates])
    assert f"the run reached the local minimum x = {LOCAL}, not a global one" in out
    assert count(rf"local minimum x = {LOCAL} \(within 0.001\): (\d+) of 9", out) == reached(
        final, LOCAL
    )
    assert "reached the global minimum x = -1.42887 (within 0.001): 0 of 9 cells" in out


def test_random_starts_name_minima_tied_for_lowest_as_either_one(tmp_path, capsys):
    # (x^2 - 1)^2: -1 and 1 are equally low; a run at either has reached "a global minimum",
    # not "the global minimum" the summary spoke of, as if there were one.
    argv = ["--function", f"{USER}:quartic", "--domain", "-1.5", "1.5", "--repeats", "12",
            "--learning-rates", "0.05", "0.1", "2", "--epochs", "200", "300", "2"]  # fmt: skip
    code, out, err = run("random_starts", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "cells reached a global minimum (x = -1 or 1, equally low) (within 0.001)" in out
    assert "one random start per cell: 4 of 4 cells" in out  # every run settles at one
    assert "fraction of the 12 starts reaching one, per cell: from 1.00 to 1.00" in out, out


def test_random_starts_inside_one_basin_all_reach_it(tmp_path, capsys):
    # Every start in [-4, 1.3] lies in the global minimum's basin (between the maxima at
    # -4.31 and 1.43): a large enough rate and epoch count takes all of them there.
    argv = ["--domain", "-4", "1.3", "--repeats", "16",
            "--learning-rates", "1e-10", "0.1", "3", "--epochs", "10", "400", "3"]  # fmt: skip
    runs = [run("random_starts", argv, tmp_path, capsys) for _ in range(2)]
    assert runs[0] == runs[1]  # same seed, same numbers
    code, out, err = runs[0]
    assert (code, err) == (0, "")
    assert_written("random_starts", tmp_path, out)
    fractions = re.search(r"reaching it, per cell: from (\S+) to (\S+), mean", out).groups()
    assert fractions == ("0.00", "1.00")
    assert re.search(
        r"the highest in [1-4] of 9 cells, the first at rate 0\.\d+ with (205|400) epochs", out
    )
    assert (
        "16 random starts (seed 0) drawn uniformly from [-4, 1.3]; 3 learning rates from 1e-10 "
        "to 0.1 x 3" in out
    )
    assert "144 runs" in out
    notebook_cells = count(r"one random start per cell: (\d+) of 9 cells", out)
    assert 1 <= notebook_cells <= 9


# -- python -m experiments -------------------------------------------------------------------


def test_listing_names_every_module_with_its_summary(capsys):
    assert listing.main([]) == 0
    out = capsys.readouterr().out
    for name in SMALL:
        summary = importlib.import_module(f"experiments.{name}").__doc__.splitlines()[0]
        assert re.search(rf"^  {name} +{re.escape(summary)}$", out, re.MULTILINE)
    names = list(listing.experiments())
    assert names[:5] == list(listing.ORDER)


def test_listing_unknown_name(capsys):
    assert listing.main(["nope"]) == 2
    assert capsys.readouterr().err.startswith("error: no experiment named 'nope'")


def test_run_one_and_all_into_one_folder(tmp_path, capsys, monkeypatch):
    assert listing.main(["single_run", "--start", "1", "--out", str(tmp_path / "one")]) == 0
    assert (tmp_path / "one" / "single_run.png").exists()
    # `all` with two of the modules, at their defaults (the rest are covered above).
    picked = {n: s for n, s in listing.experiments().items() if n in ("single_run", "lr_epochs")}
    monkeypatch.setattr(listing, "experiments", lambda: picked)
    assert listing.main(["all", "--out", str(tmp_path / "all")]) == 0
    out = capsys.readouterr().out
    assert "== single_run ==" in out and "== lr_epochs ==" in out
    names = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert names == ["lr_epochs_heatmap.png", "lr_epochs_lines.png", "single_run.png"]
    # lr_epochs with no flags is the README's Quickstart: the notebook's Experiment 3.
    assert "50 learning rates from 1e-10 to 0.1 x 40 epoch counts from 10 to 500" in out
    assert number(r"after 500 epochs at rate 0.1: (\S+);", out) == pytest.approx(
        reference_descend(DF, 0.0, 0.1, 500), abs=2e-4
    )


@pytest.mark.parametrize("stopped", [130, 143])
def test_all_stops_at_an_experiment_stopped_by_ctrl_c_or_sigterm(stopped, capsys, monkeypatch):
    # A SIGTERM stops an experiment with status 143: the rest must not run after it, and the
    # status must say so (it went on to the next experiment, and ended 1).
    picked = {n: s for n, s in listing.experiments().items() if n in ("single_run", "lr_epochs")}
    monkeypatch.setattr(listing, "experiments", lambda: picked)
    ran = []
    for name, code in (("single_run", stopped), ("lr_epochs", 0)):
        module = importlib.import_module(f"experiments.{name}")
        fake = cli.command(lambda argv, n=name, c=code: cli.checked() or ran.append(n) or c)
        monkeypatch.setattr(module, "main", fake)
    assert listing.main(["all"]) == stopped
    assert ran == ["single_run"]
    out = capsys.readouterr().out
    assert re.search(rf"single_run +failed \(exit {stopped}\)", out)
    assert re.search(r"lr_epochs +not run", out)


_BETWEEN = """
import os, signal, sys, time, types
import experiments.__main__ as listing
import experiments.lr_epochs
import experiments.single_run
from jaxgd import cli

picked = {n: s for n, s in listing.experiments().items() if n in ("single_run", "lr_epochs")}
listing.experiments = lambda: picked
quick = cli.command(lambda argv: cli.checked() or 0)
sys.modules["experiments.single_run"].main = quick
real = sys.modules["experiments.lr_epochs"]


class Second(types.ModuleType):
    looked = 0
    parser = staticmethod(real.parser)

    @property
    def main(self):
        # Looked up once to check its flags, once to run it: the signal comes in between,
        # after single_run has run and before lr_epochs starts.
        Second.looked += 1
        if Second.looked == 2:
            os.kill(os.getpid(), getattr(signal, sys.argv[1]))
            time.sleep(5)
        return quick


sys.modules["experiments.lr_epochs"] = Second("experiments.lr_epochs")
sys.exit(listing.main(["all"]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="signals to oneself are POSIX")
@pytest.mark.parametrize(("signame", "code", "word"), [
    ("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")])  # fmt: skip
def test_all_stopped_between_experiments_says_so_and_ends_with_the_summary(signame, code, word):
    # A SIGTERM between two experiments of `all` ended the process on the spot, with no word
    # and no summary (a Ctrl-C there: "interrupted", but no summary either).
    done = subprocess.run(
        [sys.executable, "-c", _BETWEEN, signame],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (code, f"{word}\n")
    assert done.stdout.endswith("== summary ==\nsingle_run  ok\nlr_epochs   not run\n")


_IMPORTING = """
import os, signal, sys
sys.argv = ["-m"]  # as while `python -m experiments...` locates the module
import experiments

os.kill(os.getpid(), getattr(signal, sys.argv_signal))  # held, as during the imports
"""


@pytest.mark.thorough
@pytest.mark.skipif(sys.platform == "win32", reason="signals to oneself are POSIX")
@pytest.mark.parametrize(("signame", "code", "word"), [
    ("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")])  # fmt: skip
@pytest.mark.parametrize("command", ["experiment", "listing"])
def test_a_signal_while_the_modules_import_stops_the_run_with_its_line(
    signame, code, word, command, tmp_path
):
    # SIGTERM during the imports ended the process at once without a word, where Ctrl-C was
    # held until they were done and then stopped the run with the line "interrupted".
    out = tmp_path / "figs"
    if command == "experiment":
        argv, run = (
            ["experiments.single_run", "--out", str(out)],
            (
                "import runpy; runpy.run_module('experiments.single_run', run_name='__main__', "
                "alter_sys=True)"
            ),
        )
    else:
        argv, run = ["experiments"], "import experiments.__main__ as m; sys.exit(m._run())"
    script = _IMPORTING.replace("sys.argv_signal", repr(signame)) + (
        f"sys.argv = {argv!r}\n{run}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stderr) == (code, f"{word}\n")
    assert not out.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="signals to oneself are POSIX")
def test_sigterm_while_the_modules_import_is_held_where_sigint_is_ignored(tmp_path):
    # A run started in the background of a script has SIGINT ignored; SIGTERM during its
    # imports was then not held, and ended the process at once without a word.
    out = tmp_path / "figs"
    run = (
        "import runpy; runpy.run_module('experiments.single_run', run_name='__main__', "
        "alter_sys=True)"
    )
    script = (
        "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        + _IMPORTING.replace("sys.argv_signal", "'SIGTERM'")
        + f"sys.argv = {['experiments.single_run', '--out', str(out)]!r}\n{run}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stderr) == (143, "terminated\n")
    assert not out.exists()


def test_python_m_experiments_lists_modules():
    done = subprocess.run(
        [sys.executable, "-m", "experiments"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "lr_epochs" in done.stdout and "random_starts" in done.stdout


def test_all_runs_through_the_derivative_check_for_another_f(tmp_path, capsys, monkeypatch):
    # `all --function NAME` must not stop at derivative_check, which has nothing to check
    # without --derivative; convergence runs at its defaults.
    picked = {
        n: s for n, s in listing.experiments().items() if n in ("convergence", "derivative_check")
    }
    monkeypatch.setattr(listing, "experiments", lambda: picked)
    assert listing.main(["all", "--function", "steep_wall", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "== convergence ==" in out and "== derivative_check ==" in out
    assert "50 starts from -3 to 3 x 50 learning rates from 1e-10 to 0.1, 2000 epochs each" in out
    assert "nothing to check" in out
    assert [p.name for p in tmp_path.iterdir()] == ["convergence.png"]


# -- true summaries, --save, log grids, default starts ---------------------------------------


def test_start_location_names_the_stretches_of_starts_that_reached_each_minimum(tmp_path, capsys):
    # The double well at rate 0.15: starts on both far sides overshoot into the left basin.
    argv = ["--function", "double_well", "--starts", "-2", "2", "21", "--learning-rate", "0.15",
            "--epochs", "300"]  # fmt: skip
    code, out, err = run("start_location", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    starts = np.linspace(-2, 2, 21)
    df = REFERENCE["double_well"].df
    final = np.array([reference_descend(df, s, 0.15, 300) for s in starts])
    target = -1.035579
    hit = np.abs(final - target) <= 1e-3
    assert reached(final, target) == hit.sum()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], hit.astype(int), [0]])))
    assert len(edges) // 2 > 1  # scattered: not one range from the first to the last
    expected = ", ".join(
        f"{starts[a]:.6g}" if a == b - 1 else f"{starts[a]:.6g} to {starts[b - 1]:.6g}"
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    )
    line = next(x for x in out.splitlines() if x.startswith("reached the global"))
    assert line.endswith(f"{hit.sum()} of 21 starts, x0 in {len(edges) // 2} stretches: {expected}")


def test_one_start_and_one_epoch_are_said_as_such(tmp_path, capsys):
    argv = ["--starts", "4", "4.5", "2", "--epochs", "1"]
    code, out, _ = run("start_location", argv, tmp_path, capsys)
    assert code == 0
    assert "learning rate 0.01, 1 epoch\n" in out
    assert "1 epochs" not in out
    code, out, _ = run("single_run", ["--start", "4.3", "--epochs", "300"], tmp_path, capsys)
    assert "x0 = 4.3" in out
    code, out, _ = run("start_location", ["--starts", "-1.5", "4.3", "2"], tmp_path, capsys)
    assert (
        f"reached the global minimum x = {GLOBAL} (within 0.001): 1 of 2 starts, x0 = -1.5\n" in out
    )
    assert f"reached the local minimum x = {LOCAL} (within 0.001): 1 of 2 starts, x0 = 4.3\n" in out


@pytest.mark.thorough
@pytest.mark.parametrize("name", list(SMALL))
def test_every_summary_says_the_float_type(name, tmp_path, capsys):
    code, out, _ = run(name, SMALL[name], tmp_path, capsys)
    assert code == 0
    dtype = "float64" if name == "derivative_check" else "float32 (--x64 for float64)"
    assert f"; computed in {dtype}\n" in out.splitlines(keepends=True)[0]
    if name != "derivative_check":
        code, out, _ = run(name, [*SMALL[name], "--x64"], tmp_path, capsys)
        assert out.splitlines()[0].endswith("; computed in float64")


@pytest.mark.parametrize("name", list(SMALL))
def test_save_writes_the_sweep_to_reload(name, tmp_path, capsys):
    import jaxgd

    code, out, _ = run(name, [*SMALL[name], "--save", str(tmp_path / "res")], tmp_path, capsys)
    assert code == 0
    path = tmp_path / "res.npz"
    assert f"wrote {path}\n" in out
    res = jaxgd.load(path)
    assert res.dims == ("start", "learning_rate", "epochs")
    if name == "single_run":
        expected = number(r"minimum found: x = (\S+),", out)
        assert float(res.final.reshape(())) == pytest.approx(expected, rel=1e-5)
    if name == "lr_epochs":
        assert res.shape == (1, 4, 3)
    if name == "random_starts":
        assert res.shape == (8, 3, 3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def _drawn(monkeypatch) -> list:
    """The figures the experiments save, recorded as they are saved."""
    seen = []
    original = cli_output.save_figure

    def record(fig, *args, **kwargs):
        seen.append(fig)
        return original(fig, *args, **kwargs)

    # Where the experiments' contexts find it: imported into jaxgd.cli, looked up in
    # jaxgd._cli_output by the 2-D ones.
    monkeypatch.setattr(cli, "save_figure", record)
    monkeypatch.setattr(cli_output, "save_figure", record)
    return seen


def test_log_spaced_rates(tmp_path, capsys, monkeypatch):
    drawn = _drawn(monkeypatch)
    argv = ["--learning-rates", "1e-4", "1", "5", "log", "--epochs", "200"]
    code, out, err = run("learning_rate", argv, tmp_path, capsys)
    assert drawn[0].axes[0].get_xscale() == "log"
    assert (code, err) == (0, "")
    assert "5 learning rates log-spaced from 0.0001 to 1" in out
    final = [reference_descend(DF, 0.0, r, 200) for r in np.geomspace(1e-4, 1, 5)]
    assert count(r"global minimum x = \S+ \(within 0.001\): (\d+) of 5 rates", out) == reached(
        final, GLOBAL
    )


@pytest.mark.parametrize(
    ("function", "start"),
    [("rastrigin", "2.3"), ("steep_wall", "2"), ("saddle", "-1"), ("double_well", "1.5")],
)
def test_each_function_starts_at_its_own_default_start(function, start, tmp_path, capsys):
    argv = [*SMALL["learning_rate"], "--function", function]
    code, out, _ = run("learning_rate", argv, tmp_path, capsys)
    assert code == 0
    assert f"start {start} ({function}'s default start), 200 epochs" in out
    assert "stationary point" not in out
    code, out, _ = run("learning_rate", [*argv, "--start", "0"], tmp_path, capsys)
    # 0 is rastrigin's and steep_wall's minimum and saddle's saddle: descent stays there.
    still = "note: x0 = 0 is a stationary point of f (f'(x0) = 0)" in out
    assert still == (function != "double_well")


def test_log_spaced_grids_are_drawn_on_log_axes(tmp_path, capsys, monkeypatch):
    drawn = _drawn(monkeypatch)
    argv = ["--learning-rates", "1e-3", "0.1", "3", "log", "--epochs", "10", "1000", "3", "log"]
    assert run("lr_epochs", argv, tmp_path, capsys)[0] == 0
    heatmap, lines = drawn
    assert (heatmap.axes[0].get_xscale(), heatmap.axes[0].get_yscale()) == ("log", "log")
    assert lines.axes[0].get_xscale() == "log"
    # An even grid stays linear, even where its values would pass for log-spaced.
    drawn.clear()
    argv = ["--learning-rates", "1e-3", "0.1", "3", "--epochs", "10", "1000", "3"]
    assert run("lr_epochs", argv, tmp_path, capsys)[0] == 0
    assert drawn[0].axes[0].get_xscale() == "linear"


def test_titles_are_plain_english(tmp_path, capsys, monkeypatch):
    drawn = _drawn(monkeypatch)
    assert run("lr_epochs", SMALL["lr_epochs"], tmp_path, capsys)[0] == 0
    text = " ".join(ax.get_title() for fig in drawn for ax in fig.axes)
    assert "one line per number of epochs" in text
    assert "a training epochs" not in text


# -- python -m experiments all ---------------------------------------------------------------


def _pick(monkeypatch, *names):
    picked = {n: s for n, s in listing.experiments().items() if n in names}
    monkeypatch.setattr(listing, "experiments", lambda: picked)


def test_all_gives_each_flag_to_the_modules_that_take_it(tmp_path, capsys, monkeypatch):
    _pick(monkeypatch, "single_run", "start_location")
    argv = ["all", "--start", "1.6", "--starts", "-1e0", "1", "3", "--epochs", "50",
            "--out", str(tmp_path), "--save", str(tmp_path / "saved")]  # fmt: skip
    assert listing.main(argv) == 0
    out = capsys.readouterr().out
    assert "note: --start goes to single_run; ignored by start_location\n" in out
    assert "note: --starts goes to start_location; ignored by single_run\n" in out
    assert "descent from x0 = 1.6 (--start)" in out
    assert "3 starts evenly spaced from -1 to 1" in out
    assert out.endswith("== summary ==\nsingle_run      ok\nstart_location  ok\n")
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == [
        "single_run.npz",
        "start_location.npz",
    ]


def test_all_runs_the_rest_when_one_fails_and_says_which(tmp_path, capsys, monkeypatch):
    # A failure while running (here single_run's figure) does not stop the others.
    _pick(monkeypatch, "single_run", "lr_epochs")
    single_run = importlib.import_module("experiments.single_run")

    def broken(*args, **kwargs):
        raise RuntimeError("no figure today")

    monkeypatch.setattr(single_run, "plotting", type("Broken", (), {"plot_function": broken}))
    argv = ["all", "--epochs", "10", "20", "2", "--learning-rates", "0.01", "0.1", "2",
            "--vmin", "-1.45", "--vmax", "-1.2", "--out", str(tmp_path)]  # fmt: skip
    assert listing.main(argv) == 1
    out, err = capsys.readouterr()
    assert err == "error: RuntimeError: no figure today\n"
    # single_run takes one --epochs: the grid's three values are not for it.
    assert "note: --epochs goes to lr_epochs; ignored by single_run (takes 1 value)" in out
    assert "colour limits: -1.45 to -1.2 (--vmin/--vmax)" in out
    assert out.endswith("== summary ==\nsingle_run  failed (exit 1)\nlr_epochs   ok\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "lr_epochs_heatmap.png",
        "lr_epochs_lines.png",
    ]


def test_all_refuses_a_value_any_experiment_refuses_before_running_any(
    tmp_path, capsys, monkeypatch
):
    # Each experiment refused a bad value in turn: `all --vmin 5 --vmax 1` ran single_run,
    # start_location and learning_rate (a minute at their defaults) before lr_epochs refused.
    _pick(monkeypatch, "single_run", "lr_epochs", "random_starts")
    argv = ["all", "--epochs", "10", "20", "2", "--vmin", "5", "--vmax", "1",
            "--learning-rate", "1e39", "--out", str(tmp_path / "out")]  # fmt: skip
    assert listing.main(argv) == 2
    out, err = capsys.readouterr()
    assert "==" not in out  # no experiment started, and no summary of runs that never were
    assert err.splitlines() == [
        "error: single_run: --learning-rate: 1e+39 does not fit in float32 (largest 3.4e+38); "
        "use a smaller value or --x64 for float64.",
        "error: lr_epochs, random_starts: --vmin must be below --vmax; got 5 and 1.",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", list(listing.experiments()))
def test_checking_an_experiments_flags_computes_and_prints_nothing(
    name, tmp_path, capsys, monkeypatch, compiles
):
    # `all` checks every experiment's flags with cli.check_flags before running any: each
    # must stop at its cli.checked(), before its work.
    import jaxgd

    def computed(*args, **kwargs):
        raise AssertionError("computed while checking flags")

    for attr in ("sweep", "convergence", "random_starts", "find_minima_reached"):
        monkeypatch.setattr(jaxgd, attr, computed)
    module = importlib.import_module(f"experiments.{name}")
    out = tmp_path / "out"
    with compiles:  # nor compiles: a random start or --seed's key waits for the work
        assert cli.check_flags(module.main, ["--out", str(out)]) == 0
    assert compiles.count == 0
    assert capsys.readouterr() == ("", "")
    assert not out.exists()
    assert cli.check_flags(module.main, ["--out", str(out), "--tol", "-1"]) == 2
    assert capsys.readouterr().err.startswith("error: --tol: must be > 0")


def test_all_refuses_a_flag_no_module_takes_before_running(tmp_path, capsys, monkeypatch):
    _pick(monkeypatch, "single_run", "lr_epochs")
    assert listing.main(["all", "--repeats", "3", "--out", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: --repeats: no experiment takes it; the flags they take: ")
    assert "--learning-rates" in err and err.count("\n") == 1
    assert listing.main(["all", "1.6"]) == 2
    assert "expected a flag such as --function, got '1.6'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("words", "users", "ignored"),
    [
        (["--start", "1.6"], ["single_run"], "surface (takes 2 values)"),
        (["--start", "1", "2"], ["surface"], "single_run (takes 1 value)"),
        (["--function", "double_well"], ["single_run"], "surface (takes functions on R^2)"),
        (["--function", "himmelblau"], ["surface"], "single_run (takes functions of one variable)"),
        (["--function=rastrigin"], ["single_run", "surface"], None),  # a 1-D and a 2-D built-in
        (["--function", "mymodule:f"], ["single_run", "surface"], None),  # they check it
    ],
)
def test_all_gives_a_flag_only_where_its_values_fit(words, users, ignored, monkeypatch):
    # The documented `all --start 1.6` and `all --function double_well` must run through:
    # surface's --start takes X Y, and it and basin_map take functions on R^2.
    _pick(monkeypatch, "single_run", "surface")
    argv, notes = listing._plan(["single_run", "surface"], words)
    assert [n for n in ("single_run", "surface") if argv[n]] == users
    assert all(argv[n] == words for n in users)
    if ignored is None:
        assert notes == []
    else:
        assert notes == [f"{words[0].partition('=')[0]} goes to {users[0]}; ignored by {ignored}"]


def test_all_refuses_values_no_experiment_takes_so(monkeypatch):
    with pytest.raises(listing.UsageError, match=r"--start 1 2 3: no experiment takes it so \("):
        listing._plan(["single_run", "surface"], ["--start", "1", "2", "3"])


def test_all_help_says_which_experiments_take_each_flag(capsys, monkeypatch):
    _pick(monkeypatch, "single_run", "start_location")
    assert listing.main(["all", "-h"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  --function +every experiment$", out, re.MULTILINE)
    assert re.search(r"^  --start +single_run$", out, re.MULTILINE)
    assert re.search(r"^  --starts +start_location$", out, re.MULTILINE)


def test_start_location_says_when_the_rate_overshoots_the_minima(tmp_path, capsys):
    # Rastrigin's minima have f'' of about 395: plain descent settles only for rates below
    # 2/f'' ~ 0.005. At the default 0.01, 100 of 101 runs bounced near no minimum, unexplained.
    argv = ["--function", "rastrigin", "--starts", "-5", "5", "21"]
    code, out, err = run("start_location", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    bound = number(r"learning rates below 2/f'' = (\S+), and 0.01 is above it", out)
    assert bound == pytest.approx(
        2 / (2 + 40 * np.pi**2), rel=0.05
    )  # 2 / f''(x*) of 10 + x^2 - 10 cos(2 pi x)
    assert "try --learning-rate 0.004" in out
    code, out, err = run("start_location", [*argv, "--learning-rate", "0.004"], tmp_path, capsys)
    assert code == 0 and "overshoots" not in out
