"""check_derivative: it must flag the notebook's wrong derivative and pass right ones."""

from __future__ import annotations

import dataclasses
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd.functions as fns
from jaxgd.derivative import DerivativeCheck, check_derivative
from tests.reference_functions import REFERENCE


def envelope(x):
    return np.exp(-0.05 * x**2)


# The deriv of the quoted copy of the course notes: its second term has lost a factor x
# (the course's published notebook has it right).
def notebook_wrong(x):
    return np.cos(x) * envelope(x) - np.sin(x) * 0.1 * envelope(x)


def notebook_right(x):
    return np.cos(x) * envelope(x) - np.sin(x) * 0.1 * x * envelope(x)


NOTEBOOK_DOMAIN = fns.get("notebook").domain


def test_flags_the_notebooks_wrong_derivative():
    check = check_derivative(fns.notebook, notebook_wrong, *NOTEBOOK_DOMAIN)
    assert isinstance(check, DerivativeCheck) and not check.ok
    # The missing factor makes given - true = 0.1 sin(x) (x - 1) exp(-0.05 x^2).
    x = check.x  # the grid of 1001 points and two points between every two of them
    assert x.size == 3001
    gap = np.abs(0.1 * np.sin(x) * (x - 1) * envelope(x))
    assert check.worst_x == x[np.argmax(gap)]
    assert check.max_error == pytest.approx(gap.max(), rel=1e-12)
    assert check.max_error > 0.2
    np.testing.assert_allclose(check.error, gap, rtol=1e-9, atol=1e-12)
    line = str(check)
    assert "\n" not in line and "DISAGREES" in line and f"{check.worst_x:.6g}" in line


def test_passes_the_corrected_derivative():
    check = check_derivative(fns.notebook, notebook_right, *NOTEBOOK_DOMAIN)
    assert check.ok and check.max_error < 1e-14
    assert str(check).startswith("derivative agrees with autodiff")
    assert not check.mismatch.any()


@pytest.mark.parametrize("name", fns.names())
def test_passes_hand_written_derivatives_of_the_library(name):
    spec = fns.get(name)
    check = check_derivative(spec.f, REFERENCE[name].df, *spec.domain, num=501)
    assert check.ok, str(check)


@pytest.mark.parametrize("name", fns.names())
def test_fails_a_derivative_off_by_a_small_constant(name):
    spec = fns.get(name)
    off = lambda x: REFERENCE[name].df(x) + 1e-4
    check = check_derivative(spec.f, off, *spec.domain, num=501)
    assert not check.ok
    assert check.max_error == pytest.approx(1e-4, rel=1e-6)


@pytest.mark.parametrize("x64_on", [False, True], ids=["x64-off", "x64-on"])
def test_runs_in_float64_whatever_the_global_setting(x64_on):
    with jax.enable_x64(x64_on):
        check = check_derivative(fns.notebook, notebook_right, *NOTEBOOK_DOMAIN, num=101)
        assert jax.config.jax_enable_x64 == x64_on
    for array in (check.x, check.autodiff, check.given, check.error):
        assert array.dtype == np.float64 and array.shape == (301,)
    np.testing.assert_array_equal(check.x[::3], np.linspace(*NOTEBOOK_DOMAIN, 101))
    assert check.ok and check.max_error < 1e-14


def test_scalar_only_derivative_falls_back_to_points():
    def df(x):  # math.* rejects arrays, so this only works point by point
        return math.cos(x) * math.exp(-0.05 * x * x) - 0.1 * x * math.sin(x) * math.exp(
            -0.05 * x * x
        )

    check = check_derivative(fns.notebook, df, *NOTEBOOK_DOMAIN, num=101)
    assert check.ok and check.given.shape == (301,)


def test_jax_numpy_and_wrong_shape_derivatives():
    jnp_df = jax.jit(jax.vmap(jax.grad(fns.double_well)))
    assert check_derivative(fns.double_well, jnp_df, -2, 2, num=51).ok
    # Returns one number for a whole array: must be re-evaluated point by point.
    scalar_df = lambda x: float(np.sum(4 * np.asarray(x) ** 3 - 4 * np.asarray(x) + 0.3))
    assert check_derivative(fns.double_well, scalar_df, -2, 2, num=51).ok


def test_non_finite_derivative_is_a_disagreement():
    df = lambda x: np.where(np.abs(x - 0.5) < 1e-9, np.nan, 4 * x**3 - 4 * x + 0.3)
    check = check_derivative(fns.double_well, df, -2.0, 2.0, num=9)
    assert not check.ok and check.worst_x == 0.5 and math.isnan(check.max_error)
    assert check.mismatch[::3].tolist() == [False] * 5 + [True] + [False] * 3
    assert check.mismatch.sum() == 1


def test_tolerances_decide_ok():
    off = lambda x: notebook_right(x) + 1e-4
    assert check_derivative(fns.notebook, off, *NOTEBOOK_DOMAIN, num=51, atol=2e-4).ok
    assert not check_derivative(fns.notebook, off, *NOTEBOOK_DOMAIN, num=51).ok


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((jnp.sin, np.cos, 1.0, 0.0), {}, ValueError, "lo must be below hi"),
        ((jnp.sin, np.cos, 0.0, float("inf")), {}, ValueError, "hi must be finite"),
        ((jnp.sin, np.cos, -1e308, 1e308), {}, ValueError, "hi - lo overflows"),
        ((jnp.sin, np.cos, 0.0, 1.0), {"num": 1}, ValueError, "num must be >= 2"),
        ((jnp.sin, np.cos, 0.0, 1.0), {"num": 10.5}, TypeError, "num must be an int"),
        ((jnp.sin, np.cos, 0.0, 1.0), {"rtol": -1.0}, ValueError, "rtol must be >= 0"),
        ((jnp.sin, np.cos, 0.0, 1.0), {"atol": float("nan")}, ValueError, "atol must be finite"),
        ((jnp.sin, "cos", 0.0, 1.0), {}, TypeError, "df must be a callable"),
        (("sin", np.cos, 0.0, 1.0), {}, TypeError, "f must be a callable"),
        (
            (lambda x: jnp.stack([x, x]), np.cos, 0.0, 1.0),
            {},
            ValueError,
            r"f must return a scalar.*shape \(2,\)",
        ),
        ((lambda x: np.sin(x), np.cos, 0.0, 1.0), {}, TypeError, "write it with jax.numpy"),
        ((lambda x: x > 0, np.cos, 0.0, 1.0), {}, TypeError, "f returns bool values"),
        ((jnp.sin, lambda x: "cos", 0.0, 1.0), {}, TypeError, "df must return real numbers"),
        ((jnp.sin, lambda x: x + 1j, 0.0, 1.0), {}, TypeError, "df must return real numbers"),
        ((jnp.sin, lambda: 0.0, 0.0, 1.0), {}, TypeError, "df must map a float"),
    ],
)
def test_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_derivative(*args, **kwargs)


@pytest.mark.parametrize(
    ("df", "match"),
    [
        (lambda x: np.cos(x) + 1j, "df must return real numbers"),
        (lambda x: np.full(np.shape(x), "cos"), "df must return real numbers"),
        (lambda x: np.cos(x) > 0, "df must return real numbers"),
        (lambda x: (np.cos(x) * 1e6).astype("timedelta64[us]"), "df must return real numbers"),
        (lambda x: np.cos(x)[:-1], "df must map a float"),
        (lambda x: 1 / 0, "df must map a float"),
    ],
)
def test_a_bad_derivative_is_refused_before_anything_compiles(df, match, compiles):
    # A function of its own: one jaxgd has not compiled grad of yet in this process.
    def f(x):
        return jnp.sin(x) * 1.5

    with compiles, pytest.raises(TypeError, match=match):
        check_derivative(f, df, 0.0, 1.0, num=11)
    assert compiles.count == 0, compiles.names


def test_a_derivative_of_the_wrong_shape_is_told_the_shape_it_returned():
    # Retried point by point, its slice fails on a scalar: the error must still say what the
    # call on the whole grid returned, not only the IndexError of the retry.
    with pytest.raises(TypeError, match=r"shape \(31,\) it returned shape \(30,\)") as info:
        check_derivative(jnp.sin, lambda x: np.cos(x)[:-1], 0.0, 1.0, num=11)
    # NumPy's message ends in a full stop of its own: "variable.." read as a typo.
    assert "invalid index to scalar variable. If f is not" in str(info.value)


def test_docs_say_which_copy_of_the_notebook_has_the_bug():
    import jaxgd.derivative as module

    doc = " ".join((module.__doc__ + check_derivative.__doc__).split())
    assert "the course's published notebook has the correct derivative" in doc
    assert "the copy this project quotes" in doc
    assert "The course notebook's derivative drops" not in doc


def test_a_derivative_that_writes_into_its_argument_leaves_the_grid_alone():
    def df(x):
        x *= 2.0  # in place: the grid once came back doubled, and the summary said [0, 2]
        return np.cos(x / 2.0)

    check = check_derivative(jnp.sin, df, 0.0, 1.0, num=5)
    np.testing.assert_array_equal(check.x[::3], np.linspace(0.0, 1.0, 5))
    assert check.ok and "[0, 1]" in check.summary()


def test_a_failing_check_points_at_a_point_that_fails():
    # Off by 1e-5 on [0, 1) only; at x = 30 an error of 1e4 is within rtol of f' = 1e13,
    # and the verdict pointed there.
    check = check_derivative(
        jnp.exp, lambda x: np.exp(x) * (1 + 1e-9) + np.where(x < 1, 1e-5, 0.0), 0.0, 30.0
    )
    assert not check.ok
    assert 0 <= check.worst_x < 1 and check.mismatch[check.x == check.worst_x].all()
    assert check.max_error == pytest.approx(1e-5, rel=1e-3)
    assert f"at x = {check.worst_x:.6g}" in str(check)


@pytest.mark.parametrize("scale", [1e-10, 1e-20])
def test_a_tolerance_that_absorbs_the_whole_derivative_is_said(scale):
    def f(x):
        return scale * jnp.sin(x)

    # With atol 1e-9, 0 and -f' both "agreed" with f' = 1e-10 cos(x), and nothing said so.
    for wrong in (lambda x: 0.0 * x, lambda x: -scale * np.cos(x)):
        check = check_derivative(f, wrong, -3, 3)
        assert check.ok and check.blind  # by the documented rule; the verdict says why
        assert "so 0 or any derivative that small would agree too" in str(check)
        assert not check_derivative(f, wrong, -3, 3, atol=1e-9 * scale).ok
    assert check_derivative(f, lambda x: scale * np.cos(x), -3, 3, atol=1e-9 * scale).ok
    assert not check_derivative(jnp.sin, np.cos, -3, 3).blind


@pytest.mark.parametrize(
    ("f", "df", "lo", "hi"),
    [
        (lambda x: jnp.sin(x) ** 2 + jnp.cos(x) ** 2, lambda x: 0.0 * x, 0.0, 3.0),  # f' is 0
        (lambda x: jnp.exp(x) - 1 - x - x**2 / 2, lambda x: np.expm1(x) - x, -1e-4, 1e-4),
    ],
    ids=["zero slope", "cancelling terms"],
)
def test_rounding_of_autodiff_is_agreement(f, df, lo, hi):
    # An atol scaled by max|f'| (1e-25 for a zero slope) called these correct derivatives wrong.
    assert check_derivative(f, df, lo, hi).ok


@pytest.mark.parametrize("num", [10**7 + 1, 10**12, 2**63])
def test_num_has_an_upper_bound(num):
    with pytest.raises(ValueError, match=r"^num must be at most 10\*\*7, got"):
        check_derivative(jnp.sin, np.cos, -1, 1, num=num)


@pytest.mark.parametrize(
    "lo", [jnp.bfloat16(-1), __import__("fractions").Fraction(-1, 1), -(2**64)], ids=str
)
def test_ends_of_any_real_kind_are_accepted(lo):
    # Each was refused as "must be a real scalar, got shape () of ...; pass one number".
    assert check_derivative(lambda x: x**2, lambda x: 2 * x, lo, 1.0).ok


def test_an_end_too_large_for_a_float_says_so():
    with pytest.raises(ValueError, match=r"^lo is too large for any float"):
        check_derivative(lambda x: x**2, lambda x: 2 * x, -(2**1100), 1.0)


@pytest.mark.parametrize("rtol", [1.0, 2.0, 1e6])
def test_a_relative_tolerance_that_would_pass_any_derivative_is_refused(rtol):
    # With rtol >= 1, |0 - f'| <= rtol |f'| everywhere: df = 0, and from 2 on -f', "agreed".
    calls = []

    def df(x):
        calls.append(x)
        return -notebook_right(x)

    with pytest.raises(ValueError, match=r"rtol must be below 1.*e\.g\. rtol=1e-6"):
        check_derivative(fns.notebook, df, *NOTEBOOK_DOMAIN, rtol=rtol)
    assert calls == []  # refused before anything ran
    assert check_derivative(fns.notebook, notebook_right, *NOTEBOOK_DOMAIN, rtol=0.5).ok
    assert not check_derivative(fns.notebook, lambda x: 0 * x, *NOTEBOOK_DOMAIN, rtol=0.99).ok


def test_a_derivative_wrong_only_between_grid_points_is_caught():
    # Wrong on (0.3, 0.45), which holds no point of the grid 0, 0.25, ..., 1: it passed.
    def df(x):
        return np.where((x > 0.3) & (x < 0.45), 0.0, np.cos(x))

    check = check_derivative(jnp.sin, df, 0.0, 1.0, num=5)
    assert not check.ok and 0.3 < check.worst_x < 0.45
    assert "of 13 points" in check.summary()


def test_the_points_between_grid_points_are_inside_their_cells_and_the_same_every_call():
    x = check_derivative(jnp.sin, np.cos, -1.0, 2.0, num=7).x
    grid = np.linspace(-1.0, 2.0, 7)
    assert x.size == 3 * 7 - 2 and np.all(np.diff(x) >= 0)
    np.testing.assert_array_equal(x[::3], grid)
    cell = np.repeat(np.arange(6), 2)
    inner = np.delete(x, np.arange(0, x.size, 3))
    assert np.all((inner >= grid[cell]) & (inner <= grid[cell + 1]))
    np.testing.assert_array_equal(x, check_derivative(jnp.sin, np.cos, -1.0, 2.0, num=7).x)


def test_a_second_check_of_the_same_f_compiles_nothing(compiles):
    # A function of its own: its first check compiles grad(f) on 61 points.
    def f(x):
        return jnp.sin(x) * jnp.exp(-0.05 * x**2)

    first = check_derivative(f, notebook_right, -1.0, 1.0, num=21)
    with compiles:
        again = check_derivative(f, notebook_right, -1.0, 1.0, num=21)
        moved = check_derivative(f, notebook_wrong, -3.0, 5.0, num=21)  # new values, same shape
    assert compiles.count == 0, compiles.names
    assert again.ok and not moved.ok
    np.testing.assert_array_equal(again.autodiff, first.autodiff)
    np.testing.assert_allclose(moved.autodiff, notebook_right(moved.x), rtol=1e-12, atol=1e-15)


@dataclasses.dataclass
class _Scaled:
    """Unhashable (eq=True without frozen) and mutable: checked as it is at each call."""

    a: float

    def __call__(self, x):
        return self.a * jnp.sin(x)


def test_an_unhashable_f_is_checked_as_it_is_at_each_call():
    f = _Scaled(1.0)
    assert check_derivative(f, np.cos, -1.0, 1.0, num=11).ok
    f.a = 2.0
    assert not check_derivative(f, np.cos, -1.0, 1.0, num=11).ok
    assert check_derivative(f, lambda x: 2.0 * np.cos(x), -1.0, 1.0, num=11).ok


@pytest.mark.parametrize("dtype", [np.float16, jnp.bfloat16, np.float32, np.int8])
def test_a_derivative_in_any_real_dtype_is_compared_in_float64(dtype):
    # A low precision df is a df, judged on its values: bfloat16 was refused as no number
    # while float16 was compared.
    check = check_derivative(lambda x: 3.0 * x, lambda x: np.full(x.shape, 3, dtype), 0.0, 1.0)
    assert check.ok and check.given.dtype == np.float64
    cos = check_derivative(jnp.sin, lambda x: np.cos(x).astype(dtype), 0.0, 1.0, num=11)
    np.testing.assert_array_equal(cos.given, np.cos(cos.x).astype(dtype).astype(np.float64))
    assert cos.ok == (dtype == np.float32)


@pytest.mark.parametrize("scale", [1.0, 1e-2, 1e12])
def test_a_disagreement_prints_given_and_autodiff_apart(scale):
    # f' = -19 at x = -2; df off by 1.05e-6 of it, over rtol: six digits printed both as -19.
    def quartic(x):
        return scale * (x**4 - 3 * x**2 + x)

    def dquartic(x):
        return scale * (4 * x**3 - 6 * x + 1 - 2e-5 * (x < -1.9))

    check = check_derivative(quartic, dquartic, -2.0, 2.0, num=11)
    assert not check.ok and check.worst_x == -2.0
    match = re.search(r"\(given (\S+), autodiff (\S+)\)$", str(check))
    assert match and match[1] != match[2], str(check)
    assert float(match[1]) == pytest.approx(-19.00002 * scale, rel=1e-9)
    assert float(match[2]) == pytest.approx(-19 * scale, rel=1e-9)


def test_a_derivative_that_fails_at_one_point_is_told_where():
    # Right where sqrt is defined; math.sqrt raises on the negative half of the interval.
    with pytest.raises(TypeError, match=r"calling it on x = -1\.0 failed: ValueError: math domain"):
        check_derivative(jnp.sqrt, lambda x: 0.5 / math.sqrt(x), -1.0, 1.0, num=11)
    # Where it is defined, the same df is checked point by point.
    assert check_derivative(jnp.sqrt, lambda x: 0.5 / math.sqrt(x), 0.5, 1.0, num=11).ok


def test_a_wrong_derivative_is_pointed_at_where_f_is_defined():
    # Both sides are NaN below 0, where sqrt is undefined; df is 20% off above 0. The summary
    # pointed at x = -1 (given nan, autodiff nan), where nothing about df is wrong.
    with np.errstate(invalid="ignore", divide="ignore"):
        check = check_derivative(jnp.sqrt, lambda x: 0.6 / np.sqrt(x), -1.0, 1.0, num=11)
    assert not check.ok and check.worst_x > 0 and np.isfinite(check.max_error)
    assert check.max_error == pytest.approx(0.1 / math.sqrt(check.worst_x), rel=1e-12)
    # Right above 0: below 0, where sqrt is NaN, nothing is compared, and the summary says so.
    with np.errstate(invalid="ignore", divide="ignore"):
        right = check_derivative(jnp.sqrt, lambda x: 0.5 / np.sqrt(x), -1.0, 1.0, num=11)
    assert not right.mismatch[right.x < 0].any() and right.worst_x >= 0
    assert right.ok  # at 0 both are +inf: sqrt is finite there, its slope vertical
    assert "f is not finite at 15 of 31 points (x in [-1, -0.037346]): not compared" in str(right)
    # One side broken beside a finite error: still the broken one first.
    broken = lambda x: np.where(x == 0.5, np.nan, 0.6 / np.sqrt(np.abs(x) + 1.0))
    check = check_derivative(lambda x: jnp.sqrt(jnp.abs(x) + 1.0), broken, 0.0, 1.0, num=11)
    assert check.worst_x == 0.5 and math.isnan(check.max_error)


def central_difference(f, x, h=1e-6):
    """f' at x by hand, in float64: (f(x + h) - f(x - h)) / 2h."""
    return (f(x + h) - f(x - h)) / (2 * h)


def test_points_where_f_is_not_finite_are_not_compared():
    # log is NaN below 0, where 1 / x (the right derivative) and grad(log) are finite and
    # both -1 / |x|: the check said they agree there, and with f NaN it had nothing to say.
    check = check_derivative(jnp.log, lambda x: 1 / x, -1.0, 2.0)
    defined = check.x > 0  # no point of the grid is 0
    np.testing.assert_array_equal(check.compared, defined)
    np.testing.assert_allclose(check.value[defined], np.log(check.x[defined]), rtol=1e-15)
    assert np.isnan(check.error[~defined]).all() and not check.mismatch[~defined].any()
    assert check.ok and check.worst_x > 0
    line = str(check)
    assert line.startswith("derivative agrees with autodiff on [-1, 2] (2000 points where f is")
    bad = int((~defined).sum())
    below = check.x[~defined][-1]
    assert line.endswith(
        f"; f is not finite at {bad} of 3001 points (x in [-1, {below:.6g}]): not compared"
    )


def notebook_where_defined(x):
    # log(x + 2) for x > -2, NaN below; grad through the jnp.where is 0 there, not NaN.
    inside = x > -2.0
    return jnp.where(inside, jnp.log(jnp.where(inside, x + 2.0, 1.0)), jnp.nan)


def test_a_right_derivative_is_not_blamed_where_f_is_nan():
    # The experiment's case: given NaN and autodiff 0 below -2 was "DISAGREES at 1023 points".
    df = lambda x: np.where(x > -2.0, 1.0 / np.maximum(x + 2.0, 1e-300), np.nan)
    check = check_derivative(notebook_where_defined, df, *NOTEBOOK_DOMAIN)
    assert check.ok, str(check)
    assert (check.autodiff[check.x <= -2] == 0).all()  # the case: autodiff 0 where f is NaN
    reference = lambda x: math.log(x + 2.0) if x > -2.0 else math.nan
    for x, given, compared in zip(check.x, check.given, check.compared, strict=True):
        assert compared == math.isfinite(reference(x))
        if compared and x > -2.0 + 1e-3:
            assert given == pytest.approx(central_difference(reference, x), rel=1e-6)
    assert "f is not finite at 1023 of 3001 points (x in [-6.28319, -2.00434])" in str(check)
    # Wrong where f is defined: a disagreement there, counted among the points compared.
    wrong = check_derivative(notebook_where_defined, lambda x: 1.1 * df(x), *NOTEBOOK_DOMAIN)
    assert not wrong.ok and wrong.mismatch.sum() == wrong.compared.sum() == 1978
    assert wrong.worst_x > -2.0 and np.isfinite(wrong.max_error)
    assert str(wrong).startswith(
        "derivative DISAGREES with autodiff at 1978 of 1978 points where f is finite on "
    )


def test_a_derivative_not_finite_where_f_is_stays_a_disagreement():
    # Given NaN beside a finite autodiff where f is finite, and autodiff NaN beside a finite
    # given (grad of sqrt(x)**2 at 0 is 0 * inf).
    holes = lambda x: np.where(np.abs(x - 1.0) < 1e-9, np.nan, 1.0 / (x + 2.0))
    check = check_derivative(lambda x: jnp.log(x + 2.0), holes, 0.0, 2.0, num=5)
    assert not check.ok and check.worst_x == 1.0 and math.isnan(check.max_error)
    assert check.mismatch.sum() == 1
    square = check_derivative(lambda x: jnp.sqrt(x) ** 2, np.ones_like, 0.0, 1.0, num=5)
    assert not square.ok and square.worst_x == 0.0 and np.isnan(square.autodiff[0])
    assert "(given 1, autodiff nan)" in str(square)


def test_where_f_is_not_finite_is_said_point_by_point_or_by_stretches():
    with np.errstate(divide="ignore"):
        pole = check_derivative(lambda x: 1 / x, lambda x: -1 / x**2, -1.0, 1.0, num=11)
    assert pole.ok and pole.compared.sum() == 30
    assert str(pole).endswith("; f is not finite at 1 of 31 points (x = 0): not compared")
    # log sin x is NaN on three stretches of [-7, 7]: (-7, -2pi), (-pi, 0) and (pi, 2pi).
    with np.errstate(divide="ignore"):
        check = check_derivative(
            lambda x: jnp.log(jnp.sin(x)), lambda x: np.cos(x) / np.sin(x), -7.0, 7.0, num=101
        )
    assert check.ok
    assert "(in 3 stretches, the first at x = -7 and the last ending at x = 6.23)" in str(check)


def test_an_f_finite_nowhere_on_the_interval_is_refused_before_its_gradient_compiles(compiles):
    # Nothing to compare: agreeing would be vacuous, and disagreeing would blame df.
    def nowhere(x):  # a function of its own: nothing of it is compiled yet
        return jnp.sqrt(-1.0 - x * x)

    message = (
        r"f is not finite at any of the 31 points checked on \[-1, 1\] \(lo=-1.0, hi=1.0\), "
        r"so it has no derivative there to check; pass lo and hi of an interval where f is "
        r"defined"
    )
    with compiles, pytest.raises(ValueError, match=message):
        check_derivative(nowhere, lambda x: np.zeros_like(x), -1.0, 1.0, num=11)
    assert compiles.count == 1, compiles.names  # f on the points; not grad(f)


def test_the_same_infinity_on_both_sides_agrees_and_any_other_does_not():
    # sqrt is 0 at 0 and its slope +inf: 0.5 / sqrt(0) = inf is right, as numpy.isclose says.
    with np.errstate(divide="ignore"):
        check = check_derivative(jnp.sqrt, lambda x: 0.5 / np.sqrt(x), 0.0, 1.0, num=11)
        assert check.ok and check.autodiff[0] == check.given[0] == np.inf
        assert check.error[0] == 0 and np.isfinite(check.max_error)
        assert str(check).startswith("derivative agrees with autodiff on [0, 1] (31 points)")
        # -inf, a finite value or NaN against +inf: disagreements, at 0.
        for wrong in (-np.inf, 1.0, np.nan):
            df = lambda x, w=wrong: np.where(x == 0, w, 0.5 / np.sqrt(x))
            bad = check_derivative(jnp.sqrt, df, 0.0, 1.0, num=11)
            assert not bad.ok and bad.mismatch.sum() == 1 and bad.worst_x == 0.0, wrong
            assert math.isnan(bad.max_error)


def test_a_derivative_wrong_on_part_of_the_interval_is_located_by_its_stretch():
    # Only the worst point was named: one piece of a piecewise df wrong on (1.25, 2] read
    # as a slip at one x, wherever the rounding put the largest error.
    df = lambda x: np.where(x > 1.25, 1.001 * np.exp(x), np.exp(x))
    check = check_derivative(jnp.exp, df, 0.0, 2.0, num=101)
    wrong = check.x[check.x > 1.25]
    np.testing.assert_array_equal(check.x[check.mismatch], wrong)
    assert f"points on [0, 2] (x in [{wrong[0]:.6g}, 2]): max |error|" in str(check)
    kink = check_derivative(jnp.abs, np.sign, -1.0, 1.0, num=11)
    assert "at 1 of 31 points on [-1, 1] (x = 0): max |error| 1 at x = 0" in str(kink)
    two = check_derivative(jnp.exp, lambda x: np.where(np.abs(x - 1) > 0.5, 2, 1) * np.exp(x), 0, 2)
    assert "on [0, 2] (in 2 stretches, the first at x = 0 and the last ending at x = 2)" in str(two)
    # Wrong at every point compared: the interval itself says where.
    everywhere = check_derivative(jnp.exp, lambda x: 2 * np.exp(x), 0.0, 2.0, num=11)
    assert "at 31 of 31 points on [0, 2]: max |error|" in str(everywhere)


def sin_in_float32(x):
    return jnp.sin(jnp.asarray(x, jnp.float32))


def test_a_side_computed_in_float32_is_named_when_its_rounding_explains_the_disagreement():
    # A right df computed in float32 (or an f that is) read as a slip: "given 0.0567657,
    # autodiff 0.0567658", with nothing saying why.
    cos32 = lambda x: np.cos(np.asarray(x, np.float32))
    for f, df, who in ((jnp.sin, cos32, "df"), (sin_in_float32, np.cos, "f")):
        check = check_derivative(f, df, -2.0, 2.0, num=501)
        assert not check.ok
        assert check.dtypes == (("float32", "float64") if who == "df" else ("float64", "float32"))
        note = re.search(
            r"note: (\w+) returned float32, .* \(with rtol=(\S+), atol=(\S+) the", str(check)
        )
        assert note and note[1] == who, str(check)
        # The tolerances it names do make the two agree.
        assert check_derivative(
            f, df, -2.0, 2.0, num=501, rtol=float(note[2]), atol=float(note[3])
        ).ok
    # A slip larger than float32 rounding is not excused, and float64 sides get no note.
    slip = check_derivative(jnp.sin, lambda x: -cos32(x), -2.0, 2.0, num=501)
    assert not slip.ok and "note" not in str(slip)
    wrong64 = check_derivative(jnp.sin, lambda x: np.cos(x) * (1 + 1e-5), -2.0, 2.0, num=501)
    assert wrong64.dtypes == ("float64", "float64") and "note" not in str(wrong64)
