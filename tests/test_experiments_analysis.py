"""experiments.convergence and experiments.derivative_check, run in-process at small sizes.

Their numbers are checked against float64 NumPy loops with derivatives written by hand: a
per-run loop that keeps the whole trajectory for the convergence epochs, and the notebook's
loop with its own (wrong) deriv for the descent end points.
"""

from __future__ import annotations

import re
import types

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgd.derivative import _points
from tests.helpers import reference_descend
from tests.reference_functions import REFERENCE
from tests.test_experiments import PNG, USER, count, number, run

DF = REFERENCE["notebook"].df
# The notebook's minima, and the one left of its domain that descent from -5 reaches.
MINIMA = (-1.42887, 4.30580, -7.22811)


def wavy_derivative(x):
    """The derivative of tests.fixtures_userfunc:wavy, cos(3x) + 0.1x², by hand."""
    return -3.0 * np.sin(3.0 * x) + 0.2 * x


def notebook_deriv(x):
    """The course notebook's deriv, typed in again: its second term lacks the factor x."""
    return np.cos(x) * np.exp(-0.05 * x**2) - np.sin(x) * 0.1 * np.exp(-0.05 * x**2)


def reference_convergence(x0, rate, epochs, tol):
    """Convergence epoch and "settled at a minimum" for one run, from its stored trajectory."""
    xs = [np.float64(x0)]
    for _ in range(epochs):
        xs.append(xs[-1] - rate * DF(xs[-1]))
    xs = np.array(xs)
    far = np.flatnonzero(np.abs(xs - xs[-1]) > tol)
    epoch = 0 if far.size == 0 else int(far[-1]) + 1
    settled = abs(xs[-1] - xs[-2]) < tol and min(abs(xs[-1] - m) for m in MINIMA) <= tol
    return epoch, settled


# -- convergence -----------------------------------------------------------------------------


def test_convergence_numbers_match_a_per_run_loop(tmp_path, capsys):
    starts, rates, epochs, tol = np.linspace(-5, 5, 5), np.array([0.02, 0.06, 0.1]), 1000, 1e-3
    argv = ["--starts", "-5", "5", "5", "--learning-rates", "0.02", "0.1", "3",
            "--epochs", "1000", "--x64"]  # fmt: skip
    code, out, err = run("convergence", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert (tmp_path / "convergence.png").read_bytes()[:8] == PNG
    assert f"wrote {tmp_path / 'convergence.png'}" in out

    ref = [[reference_convergence(s, r, epochs, tol) for r in rates] for s in starts]
    epoch = np.array([[e for e, _ in row] for row in ref])
    settled = np.array([[ok for _, ok in row] for row in ref])
    assert 0 < settled.sum() < settled.size  # some runs settle, some do not: both are checked
    assert "5 starts from -5 to 5 x 3 learning rates from 0.02 to 0.1, 1000 epochs each" in out
    assert count(r"settled within 0.001 of a minimum\): (\d+) of 15", out) == settled.sum()
    assert count(r"not within 1000 epochs: (\d+);", out) == (~settled).sum()
    # From -5 at rate 0.1 descent leaves [-2pi, 2pi] for the minimum at -7.22811.
    assert settled[0, -1]
    assert "the local minimum x = -7.22811 outside the domain [-6.28319, 6.28319]: 1;" in out
    values = epoch[settled]
    assert count(r"epochs to converge: fastest (\d+) ", out) == values.min()
    assert number(r"epochs to converge: .*median (\S+) over", out) == np.median(values)
    assert count(r"epochs to converge: .*slowest (\d+) ", out) == values.max()
    top = epoch[:, -1][settled[:, -1]]
    assert number(r"at the largest rate, 0.1: .*median (\S+) over", out) == np.median(top)
    assert count(r"from x0 = 0, the start nearest 0: (\d+) epochs", out) == epoch[2, -1]
    assert settled.all(axis=0).tolist() == [False, False, True]
    assert "every start converges at one rate only, 0.1" in out


def test_convergence_saves_where_runs_ended_and_says_so(tmp_path, capsys):
    # --save writes where each run ended after --epochs steps, the runs jaxgd.convergence
    # made; --help says that, not "the numbers behind the figure" (the map's settle epochs).
    import jaxgd
    from experiments import convergence
    from jaxgd.functions import notebook

    argv = ["--starts", "-5", "5", "5", "--learning-rates", "0.02", "0.1", "3",
            "--epochs", "300", "--save", str(tmp_path / "c")]  # fmt: skip
    code, _, err = run("convergence", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    got = jaxgd.load(tmp_path / "c.npz")
    conv = jaxgd.convergence(notebook, np.linspace(-5, 5, 5), np.linspace(0.02, 0.1, 3), 300)
    assert got.epochs.tolist() == [300]
    np.testing.assert_array_equal(got.final[..., 0], np.asarray(conv.final))
    np.testing.assert_array_equal(got.diverged[..., 0], np.asarray(conv.diverged))
    # The math the runs used, recorded as such (it said "xla" for fast runs), and f there.
    assert got.math == conv.math
    final = np.asarray(got.final, np.float64)
    np.testing.assert_allclose(
        got.value, np.sin(final) * np.exp(-0.05 * final**2), rtol=1e-5, atol=1e-6
    )
    assert got.value.dtype == got.final.dtype
    text = " ".join(convergence.parser().format_help().split())
    assert "write where every run ended after --epochs steps" in text


def test_convergence_counts_diverged_runs(tmp_path, capsys):
    # steep_wall: f' = x^3 + x, so from +-3 a rate above 2 / (1 + 9) overshoots without bound.
    argv = ["--function", "steep_wall", "--starts", "-3", "3", "3",
            "--learning-rates", "0.05", "0.25", "3", "--epochs", "200"]  # fmt: skip
    code, out, _ = run("convergence", argv, tmp_path, capsys)
    assert code == 0
    assert "; not within 200 epochs: 0; diverged: 2" in out
    assert "every start converges at the 2 rates from 0.05 to 0.15" in out


def test_convergence_counts_one_converged_run_in_the_singular(tmp_path, capsys):
    # steep_wall at rates 10 and 100: every run overflows but the one from 0, at its minimum.
    argv = ["--function", "steep_wall", "--starts", "-3", "3", "3",
            "--learning-rates", "10", "100", "2", "--epochs", "50"]  # fmt: skip
    code, out, _ = run("convergence", argv, tmp_path, capsys)
    assert code == 0
    assert "converged (settled within 0.001 of a minimum): 2 of 6 runs" in out, out
    assert "median 0 over 1 converged run, slowest 0 (x0 = 0)" in out, out


def test_convergence_names_one_minimum_past_the_named_as_one(tmp_path, capsys):
    # Rastrigin: each of 9 starts settles in the minimum at the integer nearest it; the
    # summary names 8 and the ninth is "1 more minimum" (it said "1 more minima").
    argv = ["--function", "rastrigin", "--starts", "-4.2", "3.8", "9",
            "--learning-rates", "0.001", "0.002", "2", "--epochs", "500"]  # fmt: skip
    code, out, _ = run("convergence", argv, tmp_path, capsys)
    assert code == 0
    assert "; 1 more minimum: 2; no minimum: 0" in out


def test_convergence_says_which_runs_stopped_moving_short_of_a_minimum(tmp_path, capsys):
    # At rate 1e-10 a float32 step rounds away (rate * f'(x) is below half the spacing of
    # float32 at x) except at x0 = 0, where -1e-10 is a float of its own: 4 runs stall, and
    # more epochs would never settle them. A float32 NumPy loop with f' by hand agrees.
    def slope(x):
        e = np.exp(np.float32(-0.05) * x * x)
        return np.cos(x) * e - np.float32(0.1) * x * np.sin(x) * e

    stalled = 0
    for x in np.linspace(-5, 5, 5).astype(np.float32):
        for _ in range(2000):
            x, last = np.float32(x - np.float32(1e-10) * slope(x)), x
        stalled += int(x == last)
    assert stalled == 4
    argv = ["--starts", "-5", "5", "5", "--learning-rates", "1e-10", "0.1", "2"]
    code, out, _ = run("convergence", argv, tmp_path, capsys)
    assert code == 0
    assert f"of those not within, {stalled} stopped moving short of a minimum" in out
    assert "(float64, --x64, spaces them closer)" in out
    code, out, _ = run("convergence", [*argv, "--x64"], tmp_path, capsys)
    assert "stopped moving" not in out  # in float64 every run at 1e-10 still moves


# -- derivative_check ------------------------------------------------------------------------


def test_derivative_check_of_the_notebooks_deriv(tmp_path, capsys):
    code, out, err = run("derivative_check", [], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert (tmp_path / "derivative_check.png").read_bytes()[:8] == PNG
    assert out.startswith("f: notebook (sin(x)")
    x = _points(-2 * np.pi, 2 * np.pi, 1001)  # the grid and two points between every two
    wrong = np.abs(notebook_deriv(x) - DF(x)) > 1e-9 + 1e-6 * np.abs(DF(x))
    assert count(r"the notes' deriv DISAGREES with autodiff at (\d+) of 3001", out) == (wrong.sum())
    assert "lacks the factor x of the true term -0.1·x·sin(x)·exp(-0.05x²)" in out
    given = number(r"with the notes' deriv it ends at x = (\S+),", out)
    autodiff = number(r"with autodiff it ends at x = (\S+);", out)
    assert given == pytest.approx(reference_descend(notebook_deriv, 0.0, 0.01, 1000), abs=1e-5)
    assert autodiff == pytest.approx(reference_descend(DF, 0.0, 0.01, 1000), abs=1e-5)
    assert (round(given, 4), round(autodiff, 5)) == (-1.6702, -1.42880)
    zero = number(r"the notes' deriv is zero at x = (\S+),", out)
    assert zero == -1.67046
    assert abs(notebook_deriv(zero)) < 1e-5
    assert number(r"autodiff f' is zero at x = (\S+),", out) == MINIMA[0]


def test_derivative_check_of_a_users_own_derivative(tmp_path, capsys):
    argv = ["--function", f"{USER}:wavy", "--derivative", f"{__name__}:wavy_derivative",
            "--start", "0.5", "--epochs", "300"]  # fmt: skip
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert re.search(
        rf"{__name__}:wavy_derivative agrees with autodiff on \[-3, 3\] \(3001 points\)", out
    )
    expected = reference_descend(wavy_derivative, 0.5, 0.01, 300)
    # Six significant digits printed.
    assert number(r"wavy_derivative it ends at x = (\S+),", out) == pytest.approx(
        expected, abs=1e-5
    )
    assert number(r"with autodiff it ends at x = (\S+);", out) == pytest.approx(expected, abs=1e-5)
    assert (tmp_path / "derivative_check.png").exists()


def log_well_derivative(x):
    with np.errstate(divide="ignore"):  # inf at 0, as autodiff's
        return 2 * (x - 2) + 0.1 / np.asarray(x, float)


def test_derivative_check_heads_for_no_pole(tmp_path, capsys):
    # f' = 2 (x - 2) + 0.1 / x jumps from -inf to +inf at 0, where f is -inf: a pole, not a
    # minimum a run heads for. The nearest crossing of 0 where f is finite is the well's.
    argv = ["--function", f"{USER}:log_well", "--derivative", f"{__name__}:log_well_derivative",
            "--domain", "-1", "3", "--start", "0.3", "--epochs", "1"]  # fmt: skip
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    minimum = (2 + np.sqrt(4 - 0.2)) / 2  # 2 x^2 - 4 x + 0.1 = 0
    for who in (f"{__name__}:log_well_derivative", "autodiff f'"):
        zero = number(rf"from x = (\S+), the nearest point where {who} crosses 0 upwards", out)
        assert zero == pytest.approx(minimum, abs=1e-5)
    assert "from x = 0," not in out


def test_derivative_check_has_nothing_to_check_for_another_f(tmp_path, capsys):
    code, out, err = run("derivative_check", ["--function", "double_well"], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "nothing to check" in out and "--derivative module:attr" in out
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:df", "--derivative 'no_such_module_xyz:df': no module named"),
        (f"{USER}:NOT_CALLABLE", "int is not callable"),
        (f"{USER}:vector", f"--derivative '{USER}:vector': df must map a float x to one real"),
        (f"{USER}:raises", "calling it on x = -6.283185307179586 failed: ZeroDivisionError"),
    ],
)
def test_bad_derivative_exits_2_in_one_line(spec, message, tmp_path, capsys):
    code, out, err = run("derivative_check", ["--derivative", spec], tmp_path, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err
    assert not any(tmp_path.iterdir())


def nan_right_derivative(x):
    """The derivative of tests.fixtures_userfunc:nan_right, 2(x - 1), NaN where f is."""
    return np.where(x > 2.0, np.nan, 2.0 * (x - 1.0))


def test_derivative_check_compares_only_where_f_is_finite(tmp_path, capsys):
    # nan_right is NaN right of 2, where autodiff gives 0 through its jnp.where and the right
    # derivative NaN: "DISAGREES at 751 of 3001 points (given nan, autodiff 0)".
    argv = ["--function", f"{USER}:nan_right", "--derivative", f"{__name__}:nan_right_derivative"]
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    x = _points(-1.0, 3.0, 1001)
    outside = x > 2.0
    assert (
        f"nan_right_derivative agrees with autodiff on [-1, 3] ({(~outside).sum()} points where "
        f"f is finite): "
    ) in out
    assert (
        f"; f is not finite at {outside.sum()} of 3001 points (x in [{x[outside][0]:.6g}, 3]): "
        "not compared\n"
    ) in out
    assert (tmp_path / "derivative_check.png").exists()


def nowhere(x):
    """Finite nowhere: sqrt of a negative number."""
    return jnp.sqrt(-1.0 - x * x)


def test_derivative_check_of_an_f_finite_nowhere_names_the_domain(tmp_path, capsys):
    argv = ["--function", f"{__name__}:nowhere", "--derivative", f"{__name__}:wavy_derivative"]
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert (
        "--domain: f is not finite at any of the 3001 points checked on [-6.28319, 6.28319]" in err
    )
    assert "pass lo and hi of an interval where f is defined" in err
    assert not any(tmp_path.iterdir())


def log_from_minus_2(x):
    """log(x + 2), NaN at and below -2, written with jnp.where: grad(f) is 0 there."""
    inside = x > -2.0
    return jnp.where(inside, jnp.log(jnp.where(inside, x + 2.0, 1.0)), jnp.nan)


def log_from_minus_2_derivative(x):
    return np.where(x > -2.0, 1.0 / np.maximum(x + 2.0, 1e-300), np.nan)


def test_derivative_check_does_not_call_a_stop_where_f_is_nan_an_end(tmp_path, capsys):
    # Descent walks down log(x + 2) past -2, where autodiff is 0 (f NaN): it stops there,
    # and the summary called that the end of descent and a zero of f'.
    argv = ["--function", f"{__name__}:log_from_minus_2",
            "--derivative", f"{__name__}:log_from_minus_2_derivative", "--start", "1"]  # fmt: skip
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    x = 1.0
    for _ in range(1000):  # the notebook's loop, with grad(f) as JAX gives it
        x -= 0.01 * (1.0 / (x + 2.0) if x > -2.0 else 0.0)
    assert x < -2.0
    stop = number(r"with autodiff it stops at x = (\S+), where f is not finite", out)
    assert stop == pytest.approx(x, abs=1e-5)
    assert "is zero at" not in out and "ends at" not in out
    assert f"with {__name__}:log_from_minus_2_derivative it diverges" in out


def saddle_derivative(x):
    """The derivative of jaxgd.functions.saddle, x^4/4 - x^3/3, by hand."""
    return x**2 * (x - 1.0)


def test_derivative_check_does_not_call_a_far_zero_the_end_of_descent(tmp_path, capsys):
    # From -1 descent creeps towards the saddle at 0 and stops short; f' crosses 0 upwards only
    # at the minimum 1, which descent never reaches.
    argv = ["--function", "saddle", "--derivative", f"{__name__}:saddle_derivative"]
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    end = reference_descend(saddle_derivative, -1.0, 0.01, 1000)
    assert -0.2 < end < 0
    assert "is zero at x = 1" not in out
    assert number(r"the descent with autodiff f' ended at x = (\S+), ", out) == pytest.approx(
        end, abs=1e-5
    )
    assert number(r"the descent with autodiff f' ended at x = \S+, (\S+) from x = 1,", out) == (
        pytest.approx(1 - end, abs=1e-5)
    )
    assert "descent from x0 = -1 (saddle's default start)" in out
    assert out.startswith("f: saddle (") and "; computed in float64\n" in out


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["--start", "100"], "--start: 100 lies outside the domain [-6.28319, 6.28319]"),
        (["--start", "-2", "--domain", "-1", "1"], "--start: -2 lies outside the domain [-1, 1]"),
    ],
)
def test_derivative_check_refuses_a_start_outside_the_domain(argv, refused, tmp_path, capsys):
    # It ran from 100 and called 4.61, inside the domain, "the nearest point where the notes'
    # deriv crosses 0", 95 away: the zeros are searched on the domain only (as surface does).
    code, out, err = run("derivative_check", argv, tmp_path / "figs", capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {refused}, where the derivatives are compared; ")
    assert "move it into the domain or widen --domain." in err and err.count("\n") == 1
    assert not (tmp_path / "figs").exists()
    # An end of the domain is in it.
    code, out, err = run(
        "derivative_check",
        ["--start", "1", "--domain", "-1", "1", "--epochs", "3"],
        tmp_path,
        capsys,
    )
    assert (code, err) == (0, "")


def test_convergence_explains_the_slowest_start_only_by_what_is_true(tmp_path, capsys):
    argv = ["--function", "double_well", "--starts", "-2", "2", "12",
            "--learning-rates", "0.01", "0.1", "4", "--epochs", "1000", "--x64"]  # fmt: skip
    code, out, _ = run("convergence", argv, tmp_path, capsys)
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("the slowest start there"))
    x0 = number(r"x0 = (\S+),", line)
    df = REFERENCE["double_well"].df
    slopes = np.abs(df(np.linspace(-2, 2, 12)))
    # 0.18 lies next to the hump at 0.075: the smallest slope of the grid but one.
    assert x0 == pytest.approx(0.181818, abs=1e-6)
    assert number(r"\|f'\(x0\)\| = (\S+) is among the smallest", line) == pytest.approx(
        abs(df(x0)), rel=1e-5
    )
    assert abs(df(x0)) <= np.quantile(slopes, 0.1)
    assert number(r"a maximum of f is (\S+) away, at x = 0.0754", line) == pytest.approx(
        x0 - 0.0754288, abs=1e-5
    )


@pytest.mark.parametrize("n_settled", [1, 2])
def test_convergence_does_not_set_the_slowest_start_against_itself(n_settled):
    # One settled run at the largest rate read "neither its slope nor the way it travels
    # stands out among the settled starts": compared with itself.
    from experiments.convergence import _slowest_start

    ctx = types.SimpleNamespace(f=lambda x: x**2, dtype=np.float64)
    settled = np.array([True, n_settled == 2, False])
    line = _slowest_start(ctx, np.array([5, 7, 9]), settled, np.array([1.0, 2.0, 3.0]),
                          np.array([0.0, 0.0, 3.0]))  # fmt: skip
    other = "no other" if n_settled == 1 else "one other"
    slow = 0 if n_settled == 1 else 1
    assert f"x0 = {slow + 1:g}, {[5, 7][slow]} epochs; with {other} settled run" in line
    assert "stands out" not in line
    assert f"|f'(x0)| = {2 * (slow + 1):g}, it travels {slow + 1:g}" in line


def square_derivative(x):
    """2x: the derivative of x**2, not of tests.fixtures_userfunc:overflowing, 1e38·x²."""
    return 2.0 * np.asarray(x, float)


def square_derivative_a_little_off(x):
    """2.00002x: the derivative of x**2, 1e-5 too large relative to it."""
    return 2.00002 * np.asarray(x, float)


@pytest.mark.parametrize(
    ("flags", "agrees"),
    [([], False), (["--rtol", "1e-4"], True), (["--rtol", "1e-4", "--atol", "0"], True)],
)
def test_derivative_check_takes_the_tolerances(flags, agrees, tmp_path, capsys):
    # The library's tolerances had no flags: a derivative 1e-5 off, or one computed in
    # float32, could not be checked at the tolerance the summary advised.
    argv = ["--function", f"{USER}:square", "--derivative",
            f"{__name__}:square_derivative_a_little_off", "--epochs", "10", *flags]  # fmt: skip
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert ("agrees with autodiff" in out) == agrees
    assert ("DISAGREES" in out) != agrees


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--rtol", "1"], "--rtol: must be >= 0 and below 1"),
        (["--atol", "-1e-9"], "--atol: must be >= 0"),
        (["--rtol", "nan"], "--rtol: "),
        (["--atol", "x"], "--atol: expected a number"),
    ],
)
def test_derivative_check_refuses_bad_tolerances(flags, says, tmp_path, capsys):
    code, out, err = run("derivative_check", flags, tmp_path, capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {says}") and err.count("\n") == 1


def test_derivative_check_says_no_distance_when_only_autodiff_diverges(tmp_path, capsys):
    # With the given df the descent settles; with autodiff's f' = 2e38·x it overflows. The
    # line said "...; nan apart", as if the distance between the two ends were a number.
    argv = ["--function", f"{USER}:overflowing", "--derivative", f"{__name__}:square_derivative",
            "--start", "0.5", "--epochs", "50"]  # fmt: skip
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    line = next(s for s in out.splitlines() if s.startswith("descent from"))
    expected = reference_descend(square_derivative, 0.5, 0.01, 50)
    assert number(r"square_derivative it ends at x = (\S+),", line) == pytest.approx(expected)
    assert line.endswith("with autodiff it diverges")
    assert "nan" not in line
