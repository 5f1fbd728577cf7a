"""The experiments on the new axes (optimisers, a parameter of f), run in-process on small grids.

Numbers in the summaries are checked against optax's own update loop and against descent
written out here, not against the sweep that produced them.
"""

from __future__ import annotations

import importlib
import re

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import jaxgd
from benchmarks.optimizers import by_hand_host
from experiments import function_family, optimizers

PNG = b"\x89PNG\r\n\x1a\n"
GLOBAL = -1.42887  # the notebook's f: its global minimum
HERE = "tests.test_experiments_axes"
OPTS = optimizers.OPTIMIZERS

SMALL_OPT = ["--starts", "-5", "5", "6", "--learning-rates", "0.01", "0.1", "4",
             "--epochs", "10", "300", "4"]  # fmt: skip
SMALL_FAM = ["--params", "0.01", "0.05", "0.5", "--repeats", "12", "--epochs", "400"]


def tilted_family(x, theta):
    """x^4 - 2x^2 + theta*x: two wells, the one against the tilt deeper."""
    return x**4 - 2.0 * x**2 + theta * x


tilted_family.domain = (-2.0, 2.0)


def floor_family(x, theta):
    """floor(x) + theta*x^2: a minimum at 0, where the search stops at -3.7e-34."""
    return jnp.floor(x) + theta * x**2


floor_family.domain = (-3.0, 3.0)


def floor_half(x):
    """floor_family at theta = 0.5, for the experiments of f(x)."""
    return floor_family(x, 0.5)


floor_half.domain = floor_family.domain


def numpy_family(x, theta):
    return np.sin(x) * np.exp(-theta * x**2)


def of_x_alone(x):
    return jnp.sin(x)


@pytest.fixture(autouse=True)
def _no_figures_left():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before


def run(module, argv, out, capsys):
    code = module.main([*argv, "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def f(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


# -- experiments.optimizers ----------------------------------------------------------------------


def test_optimizers_prints_each_share_as_optax_computes_it(tmp_path, capsys):
    # --x64 switches float64 on for the run only; the references below ask for it themselves.
    code, out, err = run(optimizers, [*SMALL_OPT, "--x64"], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert not jax.config.jax_enable_x64
    for name in ("optimizers_maps", "optimizers_ends"):
        path = tmp_path / f"{name}.png"
        assert path.read_bytes()[:8] == PNG and f"wrote {path}" in out
    assert "5 optimizers (sgd, momentum, nesterov, rmsprop, adam) x 6 starts" in out
    assert "cells from one sweep" in out
    starts = np.linspace(-5, 5, 6)
    rates = np.linspace(0.01, 0.1, 4)
    epochs = np.round(np.linspace(10, 300, 4)).astype(int)
    with jax.enable_x64(True):
        finals = {n: by_hand_host(f, m, starts, rates, epochs)[0] for n, m in OPTS.items()}
    for name, final in finals.items():  # final: (start, rate, epochs)
        there = np.abs(final - GLOBAL) <= 1e-3
        line = re.search(rf"^  {name} +(\d+) of 24 .*$", out, re.MULTILINE)
        assert line, out
        assert int(line.group(1)) == int(there[:, :, -1].sum())
        per_rate = there[:, :, -1].sum(axis=0)
        if per_rate.max() == 0:
            assert "no rate gets any start there" in line.group(0)
            continue
        best = re.search(r"best rate (\S+): (\d+) of 6 starts, (?:all of them )?there at "
                         r"(\d+) epoch", line.group(0))  # fmt: skip
        r = int(np.argmin(np.abs(rates - float(best.group(1)))))
        assert per_rate[r] == per_rate.max() == int(best.group(2))
        done = there[:, r, -1]
        settled = (there[:, r, :] | ~done[:, None]).all(axis=0)
        assert int(best.group(3)) == epochs[settled].min()


def test_optimizers_say_one_start_there_without_all_of_them(tmp_path, capsys):
    # x^4/4 + x^2/2 from -3, -1.5, 0, 1.5, 3 at rates 10 to 100: every run overflows but the
    # one from 0, which is there from the start: one start, not "all of them".
    argv = ["--optimizers", "sgd", "--function", "steep_wall", "--starts", "-3", "3", "5",
            "--learning-rates", "10", "100", "3", "--epochs", "10", "100", "3"]  # fmt: skip
    code, out, err = run(optimizers, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "best rate 10: 1 of 5 starts, there at 10 epochs" in out, out


def test_optimizers_subset_and_save(tmp_path, capsys):
    argv = [*SMALL_OPT, "--optimizers", "adam", "sgd", "--save", str(tmp_path / "res")]
    code, out, err = run(optimizers, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "2 optimizers (adam, sgd)" in out
    res = jaxgd.load(tmp_path / "res.npz")
    assert res.dims[:2] == ("optimizer", "start")
    assert list(res.coord("optimizer")) == ["adam", "sgd"]
    # The maps' start in its place among the grid's 6: each start once, in order.
    np.testing.assert_array_equal(res.starts, np.r_[-5.0, -3.0, -1.0, 0.0, 1.0, 3.0, 5.0])


def test_optimizers_save_a_start_of_the_grid_once(tmp_path, capsys):
    # The maps' start 0 is a start of the grid: it was swept and saved twice (0, -5, ..., 0,
    # ..., 5), and the sums over starts counted it once more than the grid has it.
    argv = ["--starts", "-2", "2", "5", "--learning-rates", "0.01", "0.1", "3",
            "--epochs", "10", "100", "3", "--optimizers", "sgd", "--save",
            str(tmp_path / "res")]  # fmt: skip
    code, out, err = run(optimizers, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "x 5 starts from -2 to 2 (x₀ = 0 among them for the maps)" in out
    res = jaxgd.load(tmp_path / "res.npz")
    np.testing.assert_array_equal(res.starts, [-2.0, -1.0, 0.0, 1.0, 2.0])
    assert re.search(r"^  sgd +\d+ of 15 ", out, re.MULTILINE), out


@pytest.mark.parametrize(
    ("starts", "x0", "want", "at"),
    [
        ([-1.0, 1.0], 0.0, [-1.0, 0.0, 1.0], 1),
        ([-1.0, 1.0], -3.0, [-3.0, -1.0, 1.0], 0),
        ([-1.0, 1.0], 3.0, [-1.0, 1.0, 3.0], 2),
        ([-1.0, 0.0, 1.0], 0.0, [-1.0, 0.0, 1.0], 1),
        ([1.0, -1.0], 0.0, [0.0, 1.0, -1.0], 0),  # not rising: ahead of them, as before
    ],
)
def test_with_start_places_the_maps_start_once(starts, x0, want, at):
    starts = np.asarray(starts, np.float32)
    everything, i, among = optimizers.with_start(starts, x0)
    np.testing.assert_array_equal(everything, want)
    assert everything.dtype == starts.dtype and i == at
    np.testing.assert_array_equal(everything[among], starts)


def test_optimizers_colour_limits_line_describes_the_maps_cells(tmp_path, capsys):
    # The maps draw start 0 only: 2 optimizers x 4 rates x 4 epoch counts = 32 cells, few
    # enough to be drawn whole (min to max), though the sweep holds 7 starts' 224 cells.
    argv = [*SMALL_OPT, "--optimizers", "adam", "sgd"]
    code, out, err = run(optimizers, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    rates = np.linspace(0.01, 0.1, 4)
    epochs = np.round(np.linspace(10, 300, 4)).astype(int)
    with jax.enable_x64(True):
        cells = np.concatenate(
            [by_hand_host(f, OPTS[n], np.array([0.0]), rates, epochs)[0] for n in ("adam", "sgd")]
        )
    line = re.search(r"colour limits, shared by the maps: (\S+) to (\S+) \((.*)\)", out)
    assert line, out
    assert line.group(3) == "the smallest to the largest finite value"
    assert float(line.group(1)) == pytest.approx(cells.min(), abs=2e-4)
    assert float(line.group(2)) == pytest.approx(cells.max(), abs=2e-4)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--optimizers", "adagrad"], "--optimizers: no optimiser named 'adagrad'; choose from"),
        (["--optimizers", "sgd", "sgd"], "--optimizers: 'sgd' is given twice"),
        (["--start", "abc"], "--start: expected a number, got 'abc'"),
        (["--learning-rates", "0.1", "0.01", "3"], "--learning-rates: LO must not exceed HI"),
        (["--function", "nope"], "--function 'nope': not a built-in function"),
        (["--epochs", "100"], "--epochs: expected LO HI N"),
    ],
)
def test_optimizers_bad_flags_exit_2_in_one_line(argv, message, tmp_path, capsys):
    code, out, err = run(optimizers, argv, tmp_path, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


# -- experiments.function_family -----------------------------------------------------------------


def _reference_share(theta, starts, lr, epochs, target, tol=1e-3):
    """Descent on the family written out with its derivative by hand, in float64."""
    x = np.asarray(starts, np.float64)
    for _ in range(epochs):
        e = np.exp(-theta * x**2)
        x = x - lr * (np.cos(x) * e - 2.0 * theta * x * np.sin(x) * e)
    return float(np.mean(np.abs(x - target) <= tol))


def test_function_family_prints_the_minima_and_share_per_a(tmp_path, capsys):
    code, out, err = run(function_family, [*SMALL_FAM, "--x64"], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert not jax.config.jax_enable_x64
    path = tmp_path / "function_family.png"
    assert path.read_bytes()[:8] == PNG and f"wrote {path}" in out
    assert "3 values of theta x 12 random starts (seed 0)" in out
    assert "36 runs from one sweep" in out
    with jax.enable_x64(True):
        key = jax.random.key(0)
        starts = np.asarray(jax.random.uniform(key, (12,), jnp.float64, -2 * np.pi, 2 * np.pi))
    for a in (0.01, 0.05, 0.5):
        line = re.search(rf"^ +{a:g} +([\d.]+)% +(\d+) minim(?:um|a): (.*)$", out, re.MULTILINE)
        assert line, out
        listed = [float(v.rstrip("*")) for v in line.group(3).split(", ")]
        best = [float(v.rstrip("*")) for v in line.group(3).split(", ") if v.endswith("*")]
        assert len(best) == 1 and len(listed) == int(line.group(2))
        # f' = e^{-a x^2} (cos x - 2 a x sin x) vanishes at every minimum listed.
        x = np.asarray(listed)
        assert np.abs(np.cos(x) - 2 * a * x * np.sin(x)).max() < 1e-3
        expected = _reference_share(a, starts, 0.01, 400, best[0])
        assert float(line.group(1)) == pytest.approx(100 * expected, abs=0.051)


def test_function_family_prints_a_flat_minimum_as_its_span(tmp_path, capsys):
    # f is lowest on all of [-theta, theta]: the table names that span, as the experiments of
    # f(x) write "x in [-1, 1]", not one point of it (0, where the search happened to stop).
    argv = ["--function", "tests.fixtures_userfunc:flat_family", "--params", "1", "2",
            "--repeats", "16", "--epochs", "200", "--x64"]  # fmt: skip
    code, out, err = run(function_family, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "(* global; [lo, hi]: flat, f lowest on all of it):" in out
    with jax.enable_x64(True):
        starts = np.asarray(jax.random.uniform(jax.random.key(0), (16,), jnp.float64, -3, 3))
    for theta in (1, 2):
        line = re.search(rf"^ +{theta} +([\d.]+)% +1 minimum: (.*)$", out, re.MULTILINE)
        assert line, out
        assert line.group(2) == f"[-{theta}, {theta}]*"
        x = starts.copy()  # f' = 2 sign(x) max(|x| - theta, 0), by hand in float64
        for _ in range(200):
            x = x - 0.01 * 2 * np.sign(x) * np.maximum(np.abs(x) - theta, 0.0)
        expected = np.mean(np.abs(x) - theta <= 1e-3)
        assert float(line.group(1)) == pytest.approx(100 * expected, abs=0.051)
    # Isolated minima only: the header has nothing to explain.
    code, out, err = run(function_family, SMALL_FAM, tmp_path, capsys)
    assert code == 0 and "(* global):" in out and "[" not in out.split("theta   share")[1]


def test_function_family_takes_a_users_family(tmp_path, capsys):
    argv = ["--function", f"{HERE}:tilted_family", "--params", "-0.5", "0", "0.5",
            "--repeats", "10", "--epochs", "300", "--save", str(tmp_path / "fam")]  # fmt: skip
    code, out, err = run(function_family, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"f: {HERE}:tilted_family (x^4 - 2x^2 + theta*x")
    assert "drawn uniformly from [-2, 2]" in out
    res = jaxgd.load(tmp_path / "fam.npz")
    assert res.dims[0] == "param"
    np.testing.assert_allclose(res.coord("param"), [-0.5, 0.0, 0.5])


def test_function_family_counts_one_start_and_one_run_in_the_singular(tmp_path, capsys):
    argv = ["--params", "0.05", "--repeats", "1", "--epochs", "20"]
    code, out, err = run(function_family, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "1 value of theta x 1 random start (seed 0) drawn uniformly" in out, out
    assert ": 1 run from one sweep" in out, out
    assert "diverged: 0 of 1 run\n" in out, out


def test_function_family_prints_a_minimum_at_0_as_the_others_do(tmp_path, capsys):
    # The minima search stops at -3.7e-34 for the minimum at 0: printed as such, where the
    # experiments of f(x) print "x = 0 (f = 0)", and, with f there -1 (floor of a negative),
    # starred as global at theta = 1, where f(0) = 0 > f(-1-) = -1.
    argv = ["--function", f"{HERE}:floor_family", "--params", "0.5", "1", "--repeats", "10",
            "--epochs", "50"]  # fmt: skip
    code, out, err = run(function_family, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    rows = re.findall(r"^ +(\S+) +\S+% +3 minima: (.*)$", out, re.M)
    assert rows == [("0.5", "-2, -1*, 0"), ("1", "-2, -1*, 0")], out
    argv = ["--function", f"{HERE}:floor_half"]
    code, out, err = run(
        importlib.import_module("experiments.start_location"), argv, tmp_path, capsys
    )
    assert (code, err) == (0, "")
    assert "x = -1 (f = -1.5, global), x = -2 (f = -1), x = 0 (f = 0)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--function", "nope"], "--function 'nope': not a family"),
        (["--function", f"{HERE}:numpy_family"], "calling f(x, theta) on two scalars failed"),
        (["--function", f"{HERE}:nope"], "has no attribute 'nope'"),
        (["--params", "0.1", "x"], "--params: expected a number, got 'x'"),
        (["--repeats", "0"], "--repeats: expected a whole number >= 1"),
        (["--learning-rate", "-1"], "--learning-rate: must be >= 0"),
    ],
)
def test_function_family_bad_flags_exit_2_in_one_line(argv, message, tmp_path, capsys):
    code, out, err = run(function_family, argv, tmp_path, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("spec", ["double_well", f"{HERE}:of_x_alone"])
def test_function_family_says_a_function_of_x_alone_has_nothing_to_vary(spec, tmp_path, capsys):
    # Run on its own, an error; under `experiments all` the same words, and the others run on.
    code, out, err = run(function_family, ["--function", spec], tmp_path, capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"error: --function {spec} is a function of x alone; this experiment varies a "
        "parameter of f: give a family f(x, theta) as module:attr (or notebook)\n"
    )
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_the_listing_names_both(capsys):
    listing = importlib.import_module("experiments.__main__")
    assert listing.main([]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  optimizers +Optimisers side by side", out, re.MULTILINE)
    assert re.search(r"^  function_family +A family of functions", out, re.MULTILINE)


# -- the benchmark's hand-written loop is what the sweep computes ---------------------------------


@pytest.mark.parametrize("name", ["adam", "momentum"])
def test_benchmark_by_hand_loop_equals_the_sweep(name, x64):
    from benchmarks import optimizers as bench

    s, r, e = np.linspace(-5, 5, 5), np.array([0.01, 0.1]), np.array([7, 0, 30, 7])
    make = bench.OPTIMIZERS[name]
    mine = bench.by_hand_host(bench.f, make, s, r, e)
    res = jaxgd.sweep(bench.f, s, r, e, optimizer=make, fast_math=False)
    np.testing.assert_allclose(mine[0], res.final, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mine[1], res.value, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(mine[2], res.diverged)


def test_benchmark_quick_prints_its_table(capsys, monkeypatch):
    from benchmarks import optimizers as bench

    tiny = bench.Grid(np.linspace(-5, 5, 4, dtype=np.float32),
                      np.array([0.01, 0.1], np.float32), np.array([5, 20], np.int32))  # fmt: skip
    monkeypatch.setattr(bench, "grid", lambda quick: tiny)
    assert bench.main(["--quick", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "| adam | by hand: vmap of optax loop |" in out
    assert "| plain descent | optimizer=None |" in out and "bit for bit" in out
    assert "| momentum | jaxgd.sweep, fast_math=False |" in out
    assert out.count("\n| ") == 9  # header, rule and seven rows


@pytest.mark.parametrize(
    ("module", "argv", "free", "flags"),
    [
        # 96 cells of the grid flags fit in 20 kB (half of it), 5 x 7 x 4 x 4 = 560 do not.
        (optimizers, SMALL_OPT, 20_000, "--optimizers, --starts, --learning-rates, --epochs: 560"),
        # 12 repeats fit in 2 kB, 3 params x 12 repeats do not.
        (function_family, SMALL_FAM, 2_000, "--params, --repeats: 36"),
    ],
)
def test_an_extra_axis_counts_in_the_memory_check(
    module, argv, free, flags, tmp_path, capsys, monkeypatch
):
    from jaxgd import cli

    monkeypatch.setattr(cli, "available_host_memory", lambda: free)
    code, out, err = run(module, argv, tmp_path, capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {flags} runs need about") and err.count("\n") == 1


@pytest.mark.parametrize("spec", ["double_well", "tests.fixtures_userfunc:wavy"])
def test_optimizers_on_another_function(spec, tmp_path, capsys):
    argv = ["--starts", "-1", "1", "3", "--learning-rates", "0.01", "0.1", "3", "--epochs",
            "10", "100", "2", "--optimizers", "sgd", "adam", "--function", spec]  # fmt: skip
    code, out, err = run(optimizers, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"f: {spec} (")
    assert re.search(r"^  sgd +\d+ of 9 ", out, re.MULTILINE)
    assert re.search(r"^  adam +\d+ of 9 ", out, re.MULTILINE)


def test_optimizers_says_when_the_ends_rate_is_not_on_the_grid(tmp_path, capsys):
    # --ends-rate 0.5 drew the rate 0.1 with no word (the figure's title named 0.1 only).
    code, out, _ = run(optimizers, [*SMALL_OPT, "--ends-rate", "0.5"], tmp_path, capsys)
    assert code == 0
    assert "the ends figure: --ends-rate 0.5 is not a rate of the grid; drawn at its nearest" in out
    code, out, _ = run(optimizers, SMALL_OPT, tmp_path, capsys)  # not given: nothing to say
    assert code == 0 and "the ends figure:" not in out


def test_optimizers_draws_an_ends_rate_past_float32_at_the_largest_rate(tmp_path, capsys):
    # The distance to 1e300 overflowed to inf in float32 at every rate of the grid, and the
    # smallest rate, 0.01, was drawn as the nearest (with a warning about a cast).
    code, out, err = run(optimizers, [*SMALL_OPT, "--ends-rate", "1e300"], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert (
        "the ends figure: --ends-rate 1e+300 is not a rate of the grid; drawn at its nearest, 0.1\n"
        in out
    )
