"""find_minima against independent float64 NumPy references and closed forms."""

from __future__ import annotations

import functools

import hypothesis
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import jaxgd
import jaxgd.functions as fns
from jaxgd.minima import Minima, _float_between, find_minima, find_minima_reached
from tests.helpers import with_xla_default_options
from tests.reference_functions import REFERENCE


def reference_minima(df, lo: float, hi: float, num: int = 100_000):
    """Minima locations and end flags from a dense float64 scan of df and bisection."""
    x = np.linspace(lo, hi, num)
    g = df(x)
    assert not np.any(g == 0), "pick an interval whose grid misses the stationary points"
    i = np.flatnonzero((g[:-1] < 0) & (g[1:] > 0))
    a, b = x[i], x[i + 1]
    for _ in range(80):
        mid = 0.5 * (a + b)
        left = df(mid) < 0
        a, b = np.where(left, mid, a), np.where(left, b, mid)
    xs = [*([lo] if g[0] > 0 else []), *(0.5 * (a + b)), *([hi] if g[-1] < 0 else [])]
    ends = [*([True] if g[0] > 0 else []), *([False] * i.size), *([True] if g[-1] < 0 else [])]
    return np.array(xs), np.array(ends, bool)


@pytest.mark.parametrize("name", fns.names())
def test_registry_float64_matches_reference(name, x64):
    spec = fns.get(name)
    f_ref, df_ref = REFERENCE[name]
    m = find_minima(spec.f, *spec.domain)
    ref_x, ref_ends = reference_minima(df_ref, *spec.domain)
    assert m.x.dtype == jnp.float64 and len(m) == ref_x.size
    np.testing.assert_allclose(m.x, ref_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.value, f_ref(ref_x), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(m.at_boundary, ref_ends)
    assert int(m.global_index) == int(np.argmin(f_ref(ref_x)))


@pytest.mark.parametrize("name", fns.names())
def test_registry_float32_matches_reference(name):
    spec = fns.get(name)
    m = find_minima(spec.f, *spec.domain)
    ref_x, ref_ends = reference_minima(REFERENCE[name][1], *spec.domain)
    assert m.x.dtype == jnp.float32 and m.value.dtype == jnp.float32
    # float32 f has its own minima: rounding in f' moves them by ~eps * f' scale / f''.
    np.testing.assert_allclose(m.x, ref_x, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(m.at_boundary, ref_ends)


def test_user_function_closed_form(x64):
    # f' = 0.1 - sin x: minima at pi - asin(0.1) + 2 pi k; f'(0) > 0 makes 0 a minimum too.
    m = find_minima(lambda x: jnp.cos(x) + 0.1 * x, 0.0, 4 * np.pi)
    expected = np.array([0.0, np.pi - np.arcsin(0.1), 3 * np.pi - np.arcsin(0.1)])
    np.testing.assert_allclose(m.x, expected, rtol=0, atol=1e-13)
    np.testing.assert_allclose(m.value, np.cos(expected) + 0.1 * expected, atol=1e-14)
    assert m.at_boundary.tolist() == [True, False, False]
    assert float(m.global_x) == pytest.approx(np.pi - np.arcsin(0.1), abs=1e-13)
    assert float(m.global_value) == float(m.value[1])


@given(
    lo=st.floats(-2 * np.pi, 2 * np.pi - 0.5),
    width=st.floats(0.5, 4 * np.pi),
)
@settings(max_examples=20, deadline=None)
def test_any_subinterval_matches_reference(lo, width):
    hi = min(lo + width, 2 * np.pi)
    with jax.enable_x64(True):
        m = find_minima(fns.notebook, lo, hi)
    ref_x, ref_ends = reference_minima(REFERENCE["notebook"][1], lo, hi, num=20_000)
    np.testing.assert_allclose(m.x, ref_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(m.at_boundary, ref_ends)
    assert np.all(np.diff(np.asarray(m.x)) > 0)


@pytest.mark.parametrize(
    ("f", "lo", "hi", "expected", "ends"),
    [
        (lambda x: x, -1.0, 2.0, [-1.0], [True]),
        (lambda x: -x, -1.0, 2.0, [2.0], [True]),
        (lambda x: -(x**2), -1.0, 2.0, [-1.0, 2.0], [True, True]),
        # f'(lo) = 0, then f rises: a stationary minimum at the end, where descent stops.
        (lambda x: x**2, 0.0, 1.0, [0.0], [False]),
        (lambda x: (x**2 - 1.0) ** 2, -1.0, 1.0, [-1.0, 1.0], [False, False]),
        (lambda x: x**3, -1.0, 1.0, [-1.0], [True]),  # the saddle at 0 is no minimum
        (lambda x: x**2, -1.0, 1.0, [0.0], [False]),  # 0 sits exactly on the grid
    ],
)
def test_boundaries_and_saddles(f, lo, hi, expected, ends):
    m = find_minima(f, lo, hi, num=101)
    np.testing.assert_allclose(m.x, expected, atol=1e-7)
    assert m.at_boundary.tolist() == ends


@pytest.mark.parametrize("dtype_x64", [False, True], ids=["float32", "float64"])
def test_degenerate_minimum_converges(dtype_x64):
    with jax.enable_x64(dtype_x64):
        m = find_minima(lambda x: (x - 0.3) ** 4, -1.0, 1.0)
    # f'' = 0 there, so Newton is only linear; the bracket still closes in on 0.3.
    assert len(m) == 1
    assert abs(float(m.x[0]) - 0.3) < (1e-5 if not dtype_x64 else 1e-12)


def test_flat_bottom_is_one_minimum_spanning_it(x64_or_not):
    m = find_minima(lambda x: jnp.where(jnp.abs(x) < 0.5, 0.0, (jnp.abs(x) - 0.5) ** 2), -2, 3)
    assert len(m) == 1 and float(m.value[0]) == 0.0 and not bool(m.at_boundary[0])
    # The ends of the stretch to the last float: f' = 0 on [-0.5, 0.5] exactly.
    assert (float(m.lo[0]), float(m.x[0]), float(m.hi[0])) == (-0.5, 0.0, 0.5)


@pytest.mark.parametrize(
    ("f", "lo", "hi", "x", "value"),
    [
        # Flat from the left end until f rises at 1: a stationary minimum, not an end.
        (lambda x: jnp.maximum(x - 1.0, 0.0) ** 2, [-6.0], [1.0], [-2.5], [0.0]),
        (lambda x: jnp.maximum(-x - 1.0, 0.0) ** 2, [-1.0], [6.0], [2.5], [0.0]),
        # Two flat wells of different depths, and an isolated minimum beside them.
        (
            lambda x: jnp.minimum(
                jnp.minimum(
                    jnp.maximum(jnp.abs(x + 3) - 1, 0) ** 2,
                    jnp.maximum(jnp.abs(x - 3) - 0.5, 0) ** 2 - 0.5,
                ),
                (x - 0.25) ** 2 + 0.2,
            ),
            [-4.0, 0.25, 2.5],
            [-2.0, 0.25, 3.5],
            [-3.0, 0.25, 3.0],
            [0.0, 0.2, -0.5],
        ),
    ],
)
def test_flat_minima_at_an_end_and_side_by_side(f, lo, hi, x, value, x64_or_not):
    m = find_minima(f, -6.0, 6.0)
    np.testing.assert_array_equal(m.lo, lo)
    np.testing.assert_array_equal(m.hi, hi)
    np.testing.assert_allclose(m.x, x, atol=1e-6)
    np.testing.assert_allclose(m.value, value, atol=1e-6)
    assert not m.at_boundary.any()
    assert int(m.global_index) == int(np.argmin(value))


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("f", "lo", "hi", "num", "want"),
    [
        # f' = -, 0, 0, 0, + on the grid: minimum, maximum, minimum, all on grid points.
        (lambda x: (x**2 - 1) ** 2, -2.0, 2.0, 5, [-1.0, 1.0]),
        # ... and on midpoints of the grid, two rounds down.
        (lambda x: (x**2 - 1) ** 2, -2.0, 2.0, 3, [-1.0, 1.0]),
        # f' = -, 0, + with the 0 a maximum: the minima lie between the grid points.
        (lambda x: (x**2 - 1.9e-4**2) ** 2, -1.0, 1.0, 10_001, [-1.9e-4, 1.9e-4]),
        (lambda x: (x**2 - 0.9**2) ** 2, -1.0, 1.0, 3, [-0.9, 0.9]),
    ],
)
def test_a_maximum_on_the_grid_is_never_a_minimum(f, lo, hi, num, want, x64_or_not):
    m = find_minima(f, lo, hi, num=num)
    np.testing.assert_allclose(np.asarray(m.x, np.float64), want, rtol=1e-3)
    curvature = jax.vmap(jax.grad(jax.grad(f)))(m.x)
    assert (np.asarray(curvature) > 0).all()


def test_a_flat_minimum_whose_terms_cancel_is_still_one_flat_minimum(x64_or_not):
    # f' is exactly 0 on [-1.15, 0.6], where terms of size ~6 cancel to 0.5: f's values there
    # differ by rounding (1.4e-6 in float32), above 4 eps of the stretch's own value.
    def f(x):
        return (
            jnp.abs(x - 0.6) + 2 * jnp.abs(x + 1.15) - 3 * jnp.abs(x + 1.9) + 2 * jnp.abs(x + 1.65)
        )

    m = find_minima(f, -2.5, 2.5)
    assert len(m) == 1
    np.testing.assert_allclose([float(m.lo[0]), float(m.hi[0])], [-1.15, 0.6], rtol=1e-6)
    res = jaxgd.sweep(f, [-1.0, 0.0, 0.5], 0.1, 100)
    assert jaxgd.analysis.basins(res, m).index.ravel().tolist() == [0, 0, 0]


def test_isolated_minima_span_only_themselves():
    m = find_minima(fns.notebook, -6.0, 6.0)
    np.testing.assert_array_equal(m.lo, m.x)
    np.testing.assert_array_equal(m.hi, m.x)
    # f' = 0 on a stretch where f is not one value (a staircase) is no flat minimum.
    stairs = find_minima(
        lambda x: jnp.where(jnp.abs(x) < 1, jnp.floor(4 * x) / 8, (jnp.abs(x) - 1) ** 2), -3, 3
    )
    np.testing.assert_array_equal(stairs.lo, stairs.x)
    np.testing.assert_array_equal(stairs.hi, stairs.x)


def test_hand_made_minima_are_isolated():
    m = Minima(
        x=jnp.array([-1.0, 2.0]),
        value=jnp.array([0.0, 1.0]),
        at_boundary=jnp.array([False, False]),
        global_index=jnp.array(0),
    )
    assert m.lo is m.x and m.hi is m.x


def _well_reference(centre: float, width: float) -> float:
    """The minimum of -exp(-((x - centre) / width)**2): bisection on f' in float64 NumPy."""
    a, b = centre - 5 * width, centre + 5 * width
    for _ in range(200):
        m = 0.5 * (a + b)
        if m in (a, b):
            break
        slope = 2 * (m - centre) / width**2 * np.exp(-(((m - centre) / width) ** 2))
        a, b = (m, b) if slope < 0 else (a, m)
    return 0.5 * (a + b)


@pytest.mark.thorough
@pytest.mark.parametrize("offset", [-1e-6, 0.0, 1e-6])
def test_a_narrow_well_beside_a_grid_point_is_found_not_a_flat_shelf(offset, x64_or_not):
    # A well 3e-5 wide on a grid 1e-3 apart: f' underflows to exactly 0 at every grid point
    # but the one nearest the centre, 0.1, where its sign says which side of the centre the
    # point lies. The half of the domain on the other side, f = 0 flat and then a fall into
    # the well, was reported as a flat minimum in its place (x = -2.45, f = 0); the sign of
    # f' right past the stretch's edge says f falls there: no minimum, and a bracket.
    grid = np.linspace(-5.0, 5.0, 10_001)
    centre, width = float(grid[5100]) + offset, 3e-5

    def f(x):
        return -jnp.exp(-(((x - centre) / width) ** 2))

    m = find_minima(f, -5.0, 5.0)
    assert len(m) == 1 and not bool(m.at_boundary[0])
    assert float(m.lo[0]) == float(m.hi[0]) == float(m.x[0])  # isolated, not a stretch
    tol = 1e-12 if x64_or_not else 1e-6
    np.testing.assert_allclose(float(m.x[0]), _well_reference(centre, width), rtol=0, atol=tol)
    np.testing.assert_allclose(float(m.value[0]), -1.0, rtol=1e-6)


@pytest.mark.parametrize(("lo", "hi"), [(-1.0, 1.0), (-0.5, 0.5), (0.2, 0.9)])
def test_a_flat_minimum_covering_the_whole_interval_is_found(lo, hi, x64_or_not):
    # f' = 0 and f = 0 at every grid point: the search found nothing, though f falls into
    # the interval and rises out of it beyond its ends, so every run there has arrived.
    m = find_minima(lambda x: jnp.maximum(jnp.abs(x) - 1.0, 0.0) ** 2, lo, hi)
    assert len(m) == 1 and not bool(m.at_boundary[0])
    np.testing.assert_array_equal([m.lo[0], m.hi[0]], np.asarray([lo, hi], m.lo.dtype))
    assert float(m.x[0]) == pytest.approx((lo + hi) / 2) and float(m.value[0]) == 0.0
    assert float(m.global_x) == float(m.x[0])


@pytest.mark.parametrize(
    "f",
    [
        lambda x: jnp.where(x < 0, x**2, 0.0) - jnp.where(x > 1, (x - 1) ** 2, 0.0),  # falls out
        lambda x: jnp.sqrt(1.0 - x**2) * 0.0,  # undefined beyond [-1, 1]: no sign there
        lambda x: jnp.where(x > 1, x - 1, 0.0),  # flat for ever below
    ],
    ids=["shelf", "undefined_beyond", "flat_below"],
)
def test_an_interval_flat_end_to_end_is_no_minimum_unless_f_rises_on_both_sides(f):
    assert len(find_minima(f, 0.2, 0.8)) == 0


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("f", "lo", "hi"),
    [
        # f' = 0 from 3.2 down to -5, but f steps down to 2 left of 3: the rise is past lower
        # steps, so the segment (f = 3) is no minimum.
        (lambda x: jnp.floor(x) + jnp.maximum(jnp.abs(x) - 5.0, 0.0) ** 2, 3.2, 3.8),
        # f = 0 on |x| < 1 and -1 beyond, rising only past 3: f drops before it rises.
        (
            lambda x: (
                jnp.where(jnp.abs(x) < 1.0, 0.0, -1.0) + jnp.maximum(jnp.abs(x) - 3.0, 0.0) ** 2
            ),
            -0.5,
            0.5,
        ),
        # f' > 0 right where f jumps to -1 beside the interval: it rises from below 0.
        (lambda x: jnp.where(jnp.abs(x) < 1.0, 0.0, jnp.abs(x) - 2.0), -0.5, 0.5),
    ],
    ids=["staircase", "drop_then_walls", "jump_down"],
)
def test_an_interval_flat_end_to_end_is_no_minimum_where_f_steps_below_it(f, lo, hi, x64_or_not):
    # Reference: f sampled densely on both sides, beyond the interval, goes below its value.
    xs = np.linspace(lo - 6.0, hi + 6.0, 20001)
    inside = float(f(jnp.asarray((lo + hi) / 2)))
    assert float(np.min(np.asarray(jax.vmap(f)(jnp.asarray(xs))))) < inside - 0.5
    assert len(find_minima(f, lo, hi)) == 0


def test_an_interval_flat_only_on_the_grid_is_searched_between_its_points(x64_or_not):
    # f' = 0 and f = 0 at every integer, the grid's points with num=11, and the walls past
    # |x| = 10 slope the right way: the interval came out as one flat minimum on [-5, 5],
    # though f is 1/4 halfway between integers. Reference: its minima are the integers.
    def f(x):
        return (x - jnp.round(x)) ** 2 + jnp.maximum(jnp.abs(x) - 10.0, 0.0) ** 2

    m = find_minima(f, -5.0, 5.0, num=11)
    assert len(m) > 0
    np.testing.assert_array_equal(m.lo, m.x)  # no stretch: every minimum is a point
    np.testing.assert_array_equal(m.hi, m.x)
    np.testing.assert_array_equal(np.asarray(m.x), np.round(np.asarray(m.x)))
    np.testing.assert_array_equal(m.value, 0.0)


@pytest.mark.parametrize("f", [lambda x: 0.0 * x, lambda x: jnp.zeros_like(x) + 1.0])
def test_flat_function_has_no_minima(f):
    m = find_minima(f, -1.0, 1.0)
    assert len(m) == 0 and m.x.shape == (0,) and int(m.global_index) == -1
    with pytest.raises(ValueError, match="no local minimum"):
        _ = m.global_x
    with pytest.raises(ValueError, match="no local minimum"):
        _ = m.global_value


def test_result_is_a_pytree_that_leaves_jit():
    m = find_minima(fns.double_well, -2.0, 2.0)
    # x, value, at_boundary, index, lo, hi, resolution, domain
    assert len(jax.tree_util.tree_leaves(m)) == 8
    np.testing.assert_array_equal(m.domain, [-2.0, 2.0])
    out = jax.jit(lambda m: m)(m)
    assert isinstance(out, Minima)
    np.testing.assert_array_equal(out.x, m.x)
    np.testing.assert_array_equal(out.lo, m.lo)
    np.testing.assert_array_equal(out.resolution, m.resolution)
    assert out.resolution.shape == m.x.shape and (np.asarray(m.resolution) >= 0).all()
    assert float(out.global_x) == float(m.global_x)
    doubled = jax.tree_util.tree_map(lambda a: a * 2, m)
    np.testing.assert_array_equal(doubled.x, 2 * m.x)


def test_tol_trades_precision(x64):
    m = find_minima(fns.notebook, -3.0, 0.0, tol=1e-3)
    assert abs(float(m.global_x) - -1.428870011214077) < 1e-2


@pytest.mark.thorough
@pytest.mark.parametrize("tol", [None, 1e-6, 1e-4, 1e-3, 1e-2])
@pytest.mark.parametrize(
    ("lo", "hi", "x_min", "level"),
    [(0.0, 1.0, 0.3, 5.0), (998.0, 1002.0, 1000.3137, 5.0), (0.29995, 0.30007, 0.3, -2.5)],
)
def test_values_are_f_at_the_minima_whatever_the_tol(lo, hi, x_min, level, tol, x64):
    # A bracket narrower than tol is not refined; its value is still f there, not a
    # placeholder (that 0 once made the higher of two minima the global one).
    def f(x):
        return (x - x_min) ** 2 + level

    m = find_minima(f, lo, hi, tol=tol)
    assert len(m) == 1
    np.testing.assert_array_equal(np.asarray(m.value), np.asarray(f(m.x)))
    assert abs(float(m.value[0]) - level) < 1e-3 * max(1.0, abs(level))


def test_the_global_minimum_is_the_lower_one_at_a_coarse_tol(x64):
    def f(x):
        return (x**2 - 1) ** 2 - 0.3 * x + 2

    for m in (find_minima(f, -2.0, 2.0, tol=1e-2), find_minima_reached(f, [1.0], (-2.0, 2.0))):
        assert len(m) == 2
        np.testing.assert_allclose(np.asarray(m.value), np.asarray(f(m.x)), rtol=1e-6)
        assert float(m.global_x) > 0  # the well at +1 is lower: f tilts down to the right


def test_no_recompile_for_a_new_interval(compiles):
    find_minima(fns.rastrigin, -4.3, 4.4)
    with compiles:
        m = find_minima(fns.rastrigin, -4.2, 4.5)
    assert len(m) == 9
    assert compiles.count == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((1.0, 0.0), {}, ValueError, "lo must be below hi.*; swap them"),
        # Equal ends: an empty interval, which swapping would not mend.
        ((0.0, 0.0), {}, ValueError, "lo must be below hi.*; widen it: the interval is empty"),
        ((float("nan"), 1.0), {}, ValueError, "lo must be finite"),
        ((0.0, float("inf")), {}, ValueError, "hi must be finite"),
        ((-1e308, 1e308), {}, ValueError, r"wider than a float64 can span \(hi - lo overflows\)"),
        ((np.zeros(2), 1.0), {}, TypeError, "lo must be a real scalar"),
        (("0", 1.0), {}, TypeError, "lo must be a real number"),
        ((True, 1.0), {}, TypeError, "lo must be a real number"),
        ((0.0, 1.0), {"num": 2}, ValueError, "num must be >= 3"),
        ((0.0, 1.0), {"num": 100.0}, TypeError, "num must be an int"),
        ((0.0, 1.0), {"tol": 0.0}, ValueError, "tol must be positive"),
        ((0.0, 1.0), {"tol": float("nan")}, ValueError, "tol must be finite"),
    ],
)
def test_bad_arguments_raise_before_compiling(args, kwargs, error, match, compiles):
    with compiles, pytest.raises(error, match=match):
        find_minima(jnp.sin, *args, **kwargs)
    assert compiles.count == 0


def _numpy_f(x):
    return np.sin(x)


def _branchy(x):
    return x if x > 0 else -x


@pytest.mark.parametrize(
    ("f", "error", "match"),
    [
        ("sin", TypeError, "f must be a callable"),
        (lambda x: jnp.stack([x, x]), ValueError, r"f must return a scalar.*shape \(2,\)"),
        (lambda x: x.astype(jnp.complex64), TypeError, "f returns complex values"),
        (lambda x: 1, TypeError, "f returns int32 values"),
        (_numpy_f, TypeError, "write it with jax.numpy"),
        (_branchy, TypeError, "jnp.where"),
        (lambda x, y: x + y, TypeError, "missing 1 required positional argument"),
    ],
    ids=["not-callable", "vector", "complex", "integer", "numpy", "python-if", "two-args"],
)
def test_bad_functions_raise_before_compiling(f, error, match, compiles):
    with compiles, pytest.raises(error, match=match):
        find_minima(f, 0.0, 1.0)
    assert compiles.count == 0


def test_traced_interval_is_rejected():
    with pytest.raises(TypeError, match="lo must be a concrete number"):
        jax.jit(lambda lo: find_minima(jnp.sin, lo, 1.0))(0.0)


# -- find_minima_reached: the minima of the domain plus those runs reached outside it ---------

_NB_DOMAIN = (-2 * np.pi, 2 * np.pi)


def _tilted_cos(x):
    return jnp.cos(x) + 0.1 * x


def _tilted_cos_minimum(k):
    """Closed form: f' = 0.1 - sin x, minima at pi - asin(0.1) + 2 pi k."""
    return np.pi - np.arcsin(0.1) + 2 * np.pi * np.asarray(k, np.float64)


@pytest.mark.parametrize("to_numpy", [False, True], ids=["jax", "numpy"])
def test_reached_finds_the_minimum_runs_left_the_domain_for(to_numpy):
    # The start_location experiment at learning rate 0.1: the 4 runs from the left end of
    # [-5, 5] overshoot -2 pi and settle at -7.22811, a real minimum of f outside the domain.
    res = jaxgd.sweep(fns.notebook, jnp.linspace(-5, 5, 50), 0.1, 1000)
    final = res.to_numpy().final if to_numpy else res.final
    outside = np.asarray(final) < _NB_DOMAIN[0]
    assert int(outside.sum()) == 4
    m = find_minima_reached(fns.notebook, final, _NB_DOMAIN)
    (ref_out,), _ = reference_minima(REFERENCE["notebook"][1], -8.0, -6.5)
    ref_in, _ = reference_minima(REFERENCE["notebook"][1], *_NB_DOMAIN)
    expected = np.r_[ref_out, ref_in[1:]]  # -2 pi is no longer an end: the search went past it
    np.testing.assert_allclose(m.x, expected, rtol=1e-6)
    assert m.at_boundary.tolist() == [False] * expected.size
    assert float(m.x[0]) == pytest.approx(-7.22811, abs=1e-5)
    # Every run that left the domain ended within 1e-3 of the new minimum.
    assert np.all(np.abs(np.asarray(final)[outside] - float(m.x[0])) < 1e-3)
    np.testing.assert_allclose(m.value, REFERENCE["notebook"][0](expected), rtol=1e-5, atol=1e-6)
    assert int(m.global_index) == int(np.argmin(REFERENCE["notebook"][0](expected)))


def test_reached_is_find_minima_when_no_run_left(x64):
    final = np.array([[-1.4, 0.3, np.nan], [4.3, np.inf, -np.inf]])
    got = find_minima_reached(fns.notebook, final, (-6.0, 6.0))
    want = find_minima(fns.notebook, -6.0, 6.0)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)


def test_reached_windows_on_both_sides_and_far_away(x64):
    ks = np.array([-1, 3, 20, 1600])  # 1600: x near 1e4, far from the domain [0, 4 pi]
    near = _tilted_cos_minimum(ks)
    final = np.r_[near + 1e-4, near - 1e-4, 5.0, np.nan]  # two runs per minimum, one inside
    m = find_minima_reached(_tilted_cos, final, (0.0, 4 * np.pi))
    inside = _tilted_cos_minimum([0, 1])
    expected = np.sort(np.r_[0.0, inside, near])
    np.testing.assert_allclose(m.x, expected, rtol=1e-12, atol=1e-12)
    # 0 is a true end (no window reaches it) where f rises: the one flagged minimum.
    assert m.at_boundary.tolist() == (expected == 0.0).tolist()
    assert int(m.global_index) == int(np.argmin(np.cos(expected) + 0.1 * expected))


def test_reached_window_touching_the_domain_unflags_its_end(x64):
    f = lambda x: (x + 0.03) ** 2
    assert find_minima(f, 0.0, 1.0).at_boundary.tolist() == [True]  # f rises away from 0
    # The window around -0.0299 (half-width 0.05 at least) meets the domain at 0.
    m = find_minima_reached(f, [-0.0299, 0.5], (0.0, 1.0))
    np.testing.assert_allclose(m.x, [-0.03], atol=1e-12)
    assert m.at_boundary.tolist() == [False]


def test_reached_window_away_from_the_domain_keeps_its_end(x64):
    f = lambda x: (x + 0.3) ** 2
    m = find_minima_reached(f, [-0.2999], (0.0, 1.0))
    np.testing.assert_allclose(m.x, [-0.3, 0.0], atol=1e-12)
    assert m.at_boundary.tolist() == [False, True]


def test_reached_window_ends_are_flagged_minima_of_f_there(x64):
    # f falls all the way through the window around -0.5, so its right end is a minimum of f
    # restricted to the searched set: reported, and flagged as an end. 0, the domain's end
    # (no window touches it), is a minimum too, but f'(0) = 0 there: a stationary one, where
    # descent from inside the domain stops, so not flagged.
    m = find_minima_reached(lambda x: x**2, [-0.5], (0.0, 1.0))
    assert m.at_boundary.tolist() == [True, False]
    assert -0.5 < float(m.x[0]) < 0.0 and float(m.x[1]) == 0.0


def test_reached_minimum_on_the_junction_is_found_once(x64):
    # f' = 0 exactly at 0, where the window left of the domain meets it: one stationary point.
    m = find_minima_reached(lambda x: x**2, [-0.01, 0.5], (0.0, 1.0))
    assert m.x.tolist() == [0.0] and m.at_boundary.tolist() == [False]


def test_reached_far_spread_stays_bounded(compiles):
    # Half a million runs flung all over [-1e6, 1e6]: windows only where they ended, capped.
    final = np.random.default_rng(0).uniform(-1e6, 1e6, 500_000)
    m = find_minima_reached(lambda x: x**2, final, (-1.0, 1.0))
    stationary = np.asarray(m.x)[~np.asarray(m.at_boundary)]
    assert stationary.tolist() == [0.0]
    # Each window is an interval where f only falls one way: at most one end per window.
    assert len(m) - 1 <= (1 << 21) // 1501  # 1501 points a cell of width 0.1
    with compiles:  # a different spread of the same size reuses the compiled grid
        find_minima_reached(lambda x: x**2, final + 0.5, (-1.0, 1.0))
    assert compiles.count <= 2  # a new f: the grid and the refinement, nothing per window


@given(
    ks=st.lists(st.integers(-60, 60), min_size=1, max_size=6),
    noise=st.floats(-1e-3, 1e-3),
)
@settings(max_examples=15, deadline=None)
def test_reached_finds_every_minimum_a_run_settled_in(ks, noise):
    with jax.enable_x64(True):
        near = _tilted_cos_minimum(ks)
        m = find_minima_reached(_tilted_cos, near + noise, (0.0, 4 * np.pi))
        inside = find_minima(_tilted_cos, 0.0, 4 * np.pi)
    x = np.asarray(m.x)
    assert np.all(np.diff(x) > 0)
    for target in near:
        assert np.min(np.abs(x - target)) < 1e-10
    # Inside the domain the minima are those find_minima reports.
    stationary = x[~np.asarray(m.at_boundary)]
    in_domain = stationary[(stationary >= 0.0) & (stationary <= 4 * np.pi)]
    np.testing.assert_allclose(in_domain, np.asarray(inside.x)[~np.asarray(inside.at_boundary)])
    assert int(np.sum(m.at_boundary)) <= 2


@pytest.mark.parametrize(
    ("final", "domain", "kwargs", "error", "match"),
    [
        ([0.0], (1.0, 0.0), {}, ValueError, "domain must be"),
        ([0.0], 1.0, {}, TypeError, "domain must be a pair"),
        ([0.0], (0.0, np.inf), {}, ValueError, r"domain\[1\] must be finite"),
        (np.array([1j]), (0.0, 1.0), {}, TypeError, "final must be real"),
        (["a"], (0.0, 1.0), {}, TypeError, "final must hold real numbers"),
        ([0.0], (0.0, 1.0), {"num": 2}, ValueError, "num must be >= 3"),
        ([0.0], (0.0, 1.0), {"tol": -1.0}, ValueError, "tol must be positive"),
        # Finite, but inf in float32: NumPy warned of the overflow, then it was skipped as
        # a diverged run. No float32 run ends there: refused, as nearest_minimum does.
        ([0.0, 1e39], (0.0, 1.0), {}, ValueError, "final has values too large for float32"),
    ],
)
def test_reached_bad_arguments_raise_before_compiling(
    final, domain, kwargs, error, match, compiles
):
    with compiles, pytest.raises(error, match=match):
        find_minima_reached(jnp.sin, final, domain, **kwargs)
    assert compiles.count == 0


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_reached_window_stops_at_the_largest_float(sign):
    # The window around a float32 end at 3.38e38 on (-1e38, 1e38) reaches 3.48e38: its grid
    # held inf, with NumPy's overflow warning. It stops at the largest float32 instead, where
    # f = -sign * x, falling outwards, has its lowest point of the window.
    big = float(np.finfo(np.float32).max)
    m = find_minima_reached(lambda x: -sign * x, np.float32([3.38e38 * sign]), (-1e38, 1e38))
    want = sorted([sign * float(np.float32(1e38)), sign * big])
    assert m.x.tolist() == want
    assert m.at_boundary.tolist() == [True, True]


def test_reached_traced_final_is_rejected():
    with pytest.raises(TypeError, match="final must be concrete"):
        jax.jit(lambda x: find_minima_reached(jnp.sin, x, (0.0, 1.0)).x)(jnp.zeros(3))


@pytest.mark.parametrize("outside", [1.1, 1.45], ids=["across the end", "just past it"])
def test_reached_finds_a_flat_minimum_across_the_domains_end_whole(outside, x64_or_not):
    def f(x):  # flat, f = 0, on [0.5, 1.5]; the domain ends at 1
        return jnp.maximum(jnp.abs(x - 1.0) - 0.5, 0.0) ** 2

    m = find_minima_reached(f, np.array([outside]), (-2.0, 1.0))
    assert len(m) == 1 and not m.at_boundary.any()
    assert float(m.lo[0]) == pytest.approx(0.5, abs=1e-6)
    assert float(m.hi[0]) >= outside  # to the end of the window, or the stretch's own end
    # Runs on it, inside the domain and out, reached it; one still on the slope did not.
    assert jaxgd.analysis.nearest_minimum([0.7, 1.0, outside, -1.0], m).tolist() == [0, 0, 0, -1]


@pytest.mark.parametrize("side", ["hi", "lo"])
def test_reached_joins_a_window_exactly_two_cells_away_despite_rounding(side):
    # On (-3, 3) a cell is 0.30000000000000004 wide: the window of a run at 4.0 starts at
    # 12 of them, just past hi + 2 cells, and was not joined; the flat [2, 4] came back split.
    sign = 1.0 if side == "hi" else -1.0

    def f(x):
        return jnp.maximum(jnp.abs(x - 3 * sign) - 1, 0) ** 2

    m = find_minima_reached(f, np.array([4.0 * sign], np.float32), (-3.0, 3.0))
    assert len(m) == 1
    assert sorted([float(m.lo[0]), float(m.hi[0])]) == pytest.approx(sorted([2 * sign, 4 * sign]))
    assert jaxgd.analysis.nearest_minimum(np.array([3.3 * sign], np.float32), m).tolist() == [0]


@pytest.mark.parametrize(
    ("f", "want"),
    [
        (lambda x: jnp.sqrt(x**2), [0.0]),  # f'(0) is NaN on the grid point
        (lambda x: jnp.sqrt(jnp.abs(x)), [0.0]),  # f'(0) is inf
        (lambda x: jnp.sqrt((x - 1) ** 2) + 0.1 * x**2, [1.0]),
        (lambda x: 1 / x**2, []),  # a pole: f is not finite there, and only the ends are minima
        (lambda x: jnp.log(x**2), []),
    ],
    ids=["sqrt(x^2)", "sqrt|x|", "kink at 1", "pole", "log pole"],
)
def test_a_kink_where_f_prime_is_undefined_on_the_grid_is_a_minimum(f, want):
    m = find_minima(f, -2.0, 2.0)
    inner = np.asarray(m.x)[~np.asarray(m.at_boundary)]
    np.testing.assert_allclose(inner, want, atol=1e-6)


@pytest.mark.parametrize(
    ("f", "c", "reach"),
    [
        # f and f' underflow to 0 where -1/(x - c)**2 < log(tiny), and f' = 0 * inf at c.
        (lambda x: jnp.exp(-1 / x**2), 0.0, lambda t: 1 / np.sqrt(-np.log(t))),
        (lambda x: jnp.exp(-1 / (x - 0.25) ** 2), 0.25, lambda t: 1 / np.sqrt(-np.log(t))),
        (lambda x: jnp.exp(-1 / jnp.abs(x)), 0.0, lambda t: -1 / np.log(t)),
    ],
    ids=["exp(-1/x^2)", "exp(-1/(x-0.25)^2)", "exp(-1/|x|)"],
)
@pytest.mark.parametrize("num", [201, 200, 10_001])
def test_a_flat_minimum_around_a_grid_point_where_f_prime_is_undefined(
    f, c, reach, num, x64_or_not
):
    # On a grid through c, f' is NaN there between the zeros of the underflowed stretch: the
    # stretch was cut in two halves, neither falling into and rising out of it, and no
    # minimum was found (exp(-1/x**2) on [-1, 1] at the default num); with c between grid
    # points (num=200) it was one flat minimum. Now both grids give the same stretch, where
    # the grid has points on it beside c (else the kink is the point c).
    lo, hi = c - 1.0, c + 1.0
    m = find_minima(f, lo, hi, num=num)
    assert len(m) == 1 and not bool(m.at_boundary[0])
    assert float(m.x[0]) == pytest.approx(c, abs=1e-12 if x64_or_not else 1e-6)
    assert float(m.value[0]) == 0.0
    r = reach(np.finfo(np.asarray(m.x).dtype).tiny)
    if 2.0 / (num - 1) >= r:
        assert float(m.lo[0]) <= c <= float(m.hi[0])
        return
    np.testing.assert_allclose([float(m.lo[0]), float(m.hi[0])], [c - r, c + r], rtol=1e-3)
    other = find_minima(f, lo, hi, num=num + 1)  # the other of c on or off the grid
    np.testing.assert_array_equal(np.c_[m.lo, m.hi], np.c_[other.lo, other.hi])


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (-1.0, 0.0), (-0.01, 1.0)])
def test_a_flat_minimum_from_an_end_through_a_point_where_f_prime_is_undefined(lo, hi, x64_or_not):
    # f' is NaN at 0, on the grid, at an end or between the end and the stretch's far edge:
    # no minimum was found, where with 0 off the grid the stretch from the end was one.
    f = lambda x: jnp.exp(-1 / x**2)
    r = 1 / np.sqrt(-np.log(np.finfo(np.float64 if x64_or_not else np.float32).tiny))
    for num in (10_101, 10_100):  # 0 on the grid, and not
        m = find_minima(f, lo, hi, num=num)
        assert len(m) == 1 and not bool(m.at_boundary[0]) and float(m.value[0]) == 0.0
        want = [max(lo, -r), min(hi, r)]
        np.testing.assert_allclose([float(m.lo[0]), float(m.hi[0])], want, rtol=1e-3)


@pytest.mark.parametrize(
    ("f", "lo", "hi", "want"),
    [
        (lambda x: jnp.sqrt(jnp.abs(x)), -1.0, 0.0, 0.0),  # jax.grad says +inf at 0
        (lambda x: jnp.sqrt(jnp.abs(x)), 0.0, 1.0, 0.0),
        (lambda x: jnp.sqrt(x**2), -1.0, 0.0, 0.0),  # NaN at 0
        (lambda x: -jnp.sqrt(jnp.abs(x)), -1.0, 0.0, -1.0),  # 0 is the maximum
    ],
    ids=["sqrt|x| on [-1, 0]", "sqrt|x| on [0, 1]", "sqrt(x^2) on [-1, 0]", "-sqrt|x|"],
)
def test_an_end_where_f_prime_is_undefined_reads_the_slope_from_inside(f, lo, hi, want, x64_or_not):
    m = find_minima(f, lo, hi, num=101)
    np.testing.assert_array_equal(np.asarray(m.x), [want])
    assert np.asarray(m.at_boundary).all()


@pytest.mark.parametrize(
    ("f", "lo", "hi"),
    [
        (lambda x: jnp.where(x == 0, 1e-3, jnp.sqrt(jnp.abs(x))), 0.0, 1.0),
        (lambda x: jnp.where(x == 0, 1.0, x) + 0 * jnp.sqrt(jnp.abs(x)), 0.0, 1.0),
        (lambda x: jnp.where(x == 0, 1.0, -x) + 0 * jnp.sqrt(jnp.abs(x)), -1.0, 0.0),
    ],
    ids=["sqrt, 1e-3 at 0", "x, 1 at 0", "-x, 1 at 0"],
)
def test_an_end_above_f_just_inside_is_no_minimum_whatever_f_prime_says(f, lo, hi, x64_or_not):
    # f' a tolerance inside says f rises away from the end, but the end is a removable point
    # above f there: f has no lowest point near it, and the end was reported.
    assert len(find_minima(f, lo, hi, num=11)) == 0


@pytest.mark.parametrize(
    "f",
    [lambda x: jnp.sqrt(jnp.abs(x - 5.2)), lambda x: -jnp.exp(-1 / (x - 5.2) ** 2)],
    ids=["sqrt", "-exp(-1/x^2)"],
)
def test_a_window_ending_where_f_prime_is_undefined_is_searched(f, x64_or_not):
    # The window around the run at 5.1 ends at 5.2, where f' is not finite: the padding of
    # the packed grid (copies of its last point) was read as inside it, an IndexError.
    m = find_minima_reached(f, np.array([5.1]), (-1.0, 1.0), num=201)
    assert np.asarray(m.at_boundary).all() and len(m) == 2


@pytest.mark.parametrize("num", [9, 17])  # both kinks on the grid, one or two cells apart
def test_two_kinks_a_grid_cell_apart_are_each_a_minimum_not_the_slope_between(num, x64_or_not):
    # Probing for a flat stretch from the kink at 0 landed on the maximum at 0.125 (f' = 0
    # there), took it for a stretch, and reported a point on the slope below it.
    m = find_minima(lambda x: jnp.sqrt(jnp.abs(x)) + jnp.sqrt(jnp.abs(x - 0.25)), -1, 1, num=num)
    inner = ~np.asarray(m.at_boundary)
    x, value = np.asarray(m.x, np.float64)[inner], np.asarray(m.value, np.float64)[inner]
    assert x.size >= 1
    near = np.abs(x[:, None] - [0.0, 0.25]).min(axis=1)
    assert (near <= (1e-12 if x64_or_not else 1e-6)).all(), x
    # 5e-7 from 0.25 is f = 0.5007 on that slope: the value says whether x is the kink.
    np.testing.assert_allclose(value, 0.5, rtol=1e-6)


@pytest.mark.parametrize("num", [201, 200])
def test_a_flat_maximum_around_a_grid_point_where_f_prime_is_undefined_is_none(num, x64_or_not):
    m = find_minima(lambda x: -jnp.exp(-1 / x**2), -1.0, 1.0, num=num)
    assert np.asarray(m.at_boundary).all() and len(m) == 2


@pytest.mark.parametrize(
    ("lo", "hi", "said"),
    [(1.0, 1.00000001, "is one number in float32"), (-1e39, 1e39, "does not fit float32")],
)
def test_an_interval_float32_cannot_hold_is_refused_before_the_search(lo, hi, said, compiles):
    # Both ends round to 1.0: the grid was one number and the search found nothing, silently;
    # ends past float32's range made a grid of inf.
    with compiles:
        with pytest.raises(ValueError, match=f"^lo, hi: .* {said}"):
            find_minima(lambda x: (x - 1.0) ** 2, lo, hi)
        with pytest.raises(ValueError, match=f"^domain: .* {said}"):
            find_minima_reached(lambda x: (x - 1.0) ** 2, [0.0], (lo, hi))
    assert compiles.count == 0
    with jax.enable_x64(True):  # float64 holds both
        assert len(find_minima(lambda x: (x - 1.0) ** 2, lo, hi)) == 1


@pytest.mark.parametrize(
    ("f", "want"),
    [
        (lambda x: jnp.sqrt(x) + (x - 0.5) ** 2, 0.0),  # f'(0) = +inf, f(0) finite
        (lambda x: jnp.sqrt(1 - x) + (x - 0.5) ** 2, 1.0),  # f'(1) = -inf, f(1) finite
        (jnp.sqrt, 0.0),
        (lambda x: -jnp.sqrt(x), 1.0),  # f'(0) = -inf: f falls away from 0, only 1 counts
    ],
    ids=["sqrt at lo", "sqrt at hi", "sqrt", "-sqrt"],
)
def test_an_end_where_f_rises_away_with_an_infinite_slope_is_a_minimum(f, want, x64_or_not):
    # f'(lo) = +inf (or f'(hi) = -inf) is f rising away from the end as f'(lo) > 0 is.
    m = find_minima(f, 0.0, 1.0)
    ends = np.asarray(m.x)[np.asarray(m.at_boundary)]
    np.testing.assert_array_equal(ends, [want])
    assert float(m.global_x) == want


@pytest.mark.parametrize(
    ("f", "lo", "hi"),
    [
        (lambda x: -1.0 / x, 0.0, 1.0),  # f'(0) = +inf, but f(0) = -inf: a pole
        (lambda x: 1.0 / (x - 1.0), 0.0, 1.0),  # f'(1) = -inf, f(1) = -inf
        (lambda x: jnp.log(x) + 2 * x, 0.0, 1.0),  # f'(0) = +inf, f(0) = -inf
    ],
    ids=["-1/x", "1/(x-1)", "log"],
)
def test_a_pole_at_an_end_is_never_a_minimum(f, lo, hi):
    m = find_minima(f, lo, hi)
    assert lo not in np.asarray(m.x).tolist() and hi not in np.asarray(m.x).tolist()


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize(
    ("f", "want"),
    [
        (lambda x: jnp.log(x) + x**2, []),  # f falls to -inf at 0+: no minimum
        (lambda x: jnp.log(x) - 2 * x, []),  # a maximum at 0.5, and the end 2
        (lambda x: -jnp.log(x) + x**2, [0.5**0.5]),
    ],
    ids=["log+x2", "log-2x", "-log+x2"],
)
def test_f_prime_where_f_is_nan_has_no_sign(f, want, x64):
    """jax.grad(log)(x < 0) is a finite 1/x beside f's NaN: read as a fall, it bracketed the
    first grid point past 0 with the rise after it, a minimum where f falls to -inf."""
    with jax.enable_x64(x64):
        m = find_minima(f, -1.0, 2.0)
        x = np.asarray(m.x, np.float64)
    np.testing.assert_allclose(x[~np.asarray(m.at_boundary)], want, rtol=1e-6)


def _x2(x):
    return x**2


#: f, the interval in float32 and in float64 (wide enough that f overflows each at nearly
#: every grid point), num, and the minima: each in a grid cell with one finite end.
_OVERFLOWING = {
    "(x-0.3)^2": (lambda x: (x - 0.3) ** 2, 1e25, 1e200, 10_001, [0.3]),
    "x^2, f'=0 on the grid": (_x2, 1e25, 1e200, 10_001, [0.0]),
    "x^4-3x^3+2": (lambda x: x**4 - 3 * x**3 + 2, 1e15, 1e100, 10_001, [2.25]),
    "double well": (lambda x: (x - 1) ** 2 * (x + 1) ** 2, 1e15, 1e100, 10_001, [-1.0, 1.0]),
    "exp(x)-2x": (lambda x: jnp.exp(x) - 2 * x, None, None, 11, [np.log(2.0)]),
    "cos, inf past 3.5": (
        lambda x: jnp.cos(x) + jnp.where(jnp.abs(x) > 3.5, jnp.inf, 0.0),
        10.0,
        10.0,
        3,
        [-np.pi, np.pi],
    ),
    "a jump down at -5": (lambda x: jnp.where(x < -5, x**2, x), 1e25, 1e200, 11, [-5.0]),
    "NaN past 0.31": (
        lambda x: jnp.where(x > 0.31, jnp.nan, (x - 0.3) ** 2),
        1.0,
        1.0,
        11,
        [0.3],
    ),
}


@pytest.mark.parametrize("name", list(_OVERFLOWING))
def test_a_minimum_where_f_stops_being_finite_on_the_grid_is_found(name, x64_or_not):
    """f' has no sign where f is not finite, so no bracket was seen across a cell with one
    finite end: (x - 0.3)**2 on [-1e25, 1e25] is finite at no grid point but 0, and random
    starts all settling at 0.3 were counted as failures to find 'no minimum'."""
    f, half32, half64, num, want = _OVERFLOWING[name]
    half = half64 if x64_or_not else half32
    # exp(x) - 2x: an 11-point grid whose second point (110 in float32, 1910 in float64)
    # overflows, past the minimum at log(2).
    lo, hi = (-half, half) if half is not None else (-100.0, 2000.0 if not x64_or_not else 2e4)
    m = find_minima(f, lo, hi, num=num)
    assert not np.asarray(m.at_boundary).any()
    tol = 1e-12 if x64_or_not else 1e-6
    np.testing.assert_allclose(np.asarray(m.x, np.float64), want, rtol=tol, atol=tol)
    eps = np.finfo(np.asarray(m.x).dtype).eps
    np.testing.assert_allclose(np.asarray(m.value), np.asarray(f(m.x)), rtol=4 * eps)


def test_a_bracket_too_wide_to_bisect_is_narrowed_first(x64):
    # Grid cells 1e58 wide: 100 halvings at the midpoint brought the bracket around 2.25
    # only to 1e28, and the refinement stopped on the saddle at 0 (f' = 0 there).
    m = find_minima(lambda x: x**4 - 3 * x**3 + 2, -1e59, 1e18, num=11)
    np.testing.assert_allclose(np.asarray(m.x), [2.25], rtol=1e-12)
    assert not np.asarray(m.at_boundary).any()


@pytest.mark.parametrize("h", [1e20, 1e26, 1e100, 1e300])
def test_a_flat_minimum_in_a_bracket_too_wide_to_bisect_is_found_whole(h, x64):
    # The narrowing's probes land on the flat stretch (f' = 0): it is closed in from both
    # sides, not only from above (a first version left the bracket 1e299 wide below and
    # reported -1e149, where f is 1e149), and the stretch is probed from there.
    m = find_minima(lambda x: jnp.maximum(jnp.abs(x - 7) - 1e3, 0), -h, h, num=4)
    np.testing.assert_allclose(np.c_[m.lo, m.hi, m.value], [[-993.0, 1007.0, 0.0]], rtol=1e-15)


@pytest.mark.parametrize(("h", "x64"), [(1e18, False), (1e150, True)])
def test_a_probe_on_a_nan_hole_in_a_wide_bracket_is_stepped_around(h, x64):
    # x**2 log(x**2) is NaN at 0, the float-order middle of [-h/3, h/3]: the bracket was
    # left there, 1e17 wide, and no minimum found. (Both minima lie in one grid cell: one of
    # them is found, as the docstring says of a cell's minima.)
    with jax.enable_x64(x64):
        m = find_minima(lambda x: x**2 * jnp.log(x**2), -h, h, num=4)
        inner = np.abs(np.asarray(m.x, np.float64)[~np.asarray(m.at_boundary)])
        np.testing.assert_allclose(inner, np.exp(-0.5), rtol=1e-6 if not x64 else 1e-12)
        assert inner.size >= 1


@pytest.mark.thorough
@settings(max_examples=30, deadline=None)
@example(c=7.0, lo=12.0, hi=107.0, num=3, kind="kink", x64=True)  # 64 ulp off before narrowing
@given(
    c=st.floats(0.5, 100.0),
    lo=st.floats(12.0, 300.0),
    hi=st.floats(12.0, 300.0),
    num=st.integers(3, 40),
    kind=st.sampled_from(["kink", "smooth", "saddle at 0"]),
    x64=st.booleans(),
)
def test_a_minimum_on_a_huge_interval_is_found_to_the_tolerance(c, lo, hi, num, kind, x64):
    """Grid cells up to 1e299 wide (1e37 in float32), f finite everywhere, one minimum at c.
    With a saddle at 0 (f' = x**2 (x - c), float64 only and to 1e70: x**4 overflows past
    that) the refinement stopped on the saddle where bisection at the midpoint could not
    reach c."""
    x64 = x64 or kind == "saddle at 0"
    top = 70.0 if kind == "saddle at 0" else 300.0 if x64 else 37.0
    lo, hi = min(lo, top), min(hi, top)
    with jax.enable_x64(x64):
        dtype = np.dtype(jnp.result_type(float))
        c = float(np.asarray(c, dtype))  # the minimum of f in its own dtype

        def f(x):
            if kind == "kink":
                return jnp.abs(x - c)
            if kind == "smooth":
                return jnp.hypot(1.0, x - c)
            return x**4 / 4 - c * x**3 / 3

        m = find_minima(f, -(10.0**lo), 10.0**hi, num=num)
        assert not np.asarray(m.at_boundary).any()
        tol = 4 * np.finfo(dtype).eps * max(1.0, abs(c))
        np.testing.assert_allclose(np.asarray(m.x, np.float64), [c], rtol=0, atol=2 * tol)


@pytest.mark.parametrize(
    ("f", "lo", "hi"),
    [
        (lambda x: -1 / x**2, -1.0, 1.0),  # falls into the pole at 0 from both sides
        (lambda x: jnp.log(x) + x**2, -1.0, 1.0),  # falls to -inf at 0+
        (lambda x: jnp.where(jnp.abs(x - 0.3) < 0.01, jnp.nan, (x - 0.3) ** 2), -1.0, 1.0),
        (lambda x: -(x**2), -1e25, 1e25),  # falls to -inf where it overflows
        # A pole inside a cell with an overflowing end: f' turns across it, and the turn was
        # narrowed down onto the pole.
        (lambda x: -1 / (x - 0.37) ** 2 + x**2, -1e25, 1e25),
        (lambda x: jnp.log(jnp.abs(x - 0.37)) + x**2, -1e25, 1e25),
    ],
    ids=["pole", "log", "NaN over the minimum", "-x^2 overflowing", "pole, huge", "log, huge"],
)
def test_f_falling_to_where_it_stops_being_finite_has_no_minimum_there(f, lo, hi, x64_or_not):
    if x64_or_not and abs(lo) > 1:
        lo, hi = lo * 1e175, hi * 1e175  # overflowing float64 too
    m = find_minima(f, lo, hi, num=11)
    assert np.asarray(m.at_boundary).all()


@pytest.mark.parametrize(
    ("lo", "want"), [(None, [0.2, 0.5, 0.8]), (0.3, [0.3, 0.55, 0.8])], ids=["inside", "from lo"]
)
def test_a_flat_minimum_in_an_overflowing_cell_spans_its_stretch(lo, want, x64_or_not):
    # A halving lands on the stretch where f' = 0, or the interval begins on it: reported as
    # the grid's own flat minima are, not as the point it landed on.
    def f(x):
        return jnp.maximum(jnp.abs(x - 0.5) - 0.3, 0.0) ** 2 + jnp.where(
            jnp.abs(x) > 5, 1e5 * x**2, 0.0
        )

    half = 1e200 if x64_or_not else 1e25
    m = find_minima(f, -half if lo is None else lo, half, num=11 if lo is None else 3)
    assert len(m) == 1 and not bool(m.at_boundary[0])
    tol = 1e-12 if x64_or_not else 1e-6
    np.testing.assert_allclose(np.asarray([m.lo[0], m.x[0], m.hi[0]], np.float64), want, atol=tol)
    assert float(m.value[0]) == 0.0


@pytest.mark.parametrize(
    ("f", "lo", "hi", "num"),
    [(_x2, 0.0, 1e25, 3), (lambda x: x**4, -1e25, 0.0, 5)],
    ids=["x^2 at lo", "x^4 at hi"],
)
def test_a_stationary_end_beside_an_overflowing_cell_is_a_minimum(f, lo, hi, num, x64_or_not):
    # f' = 0 at the end and f rises from it, but the next grid point overflows: f' there has
    # no sign, so nothing was found, as it is on [0, 1].
    scale = 1e175 if x64_or_not else 1.0
    m = find_minima(f, lo * scale, hi * scale, num=num)
    assert np.asarray(m.x).tolist() == [0.0]
    assert np.asarray(m.value).tolist() == [0.0]
    assert not bool(m.at_boundary[0])  # stationary: descent stops there


def test_a_minimum_in_an_overflowing_cell_costs_no_compilation(compiles):
    f = functools.partial(lambda c, x: (x - c) ** 2, 0.3)
    find_minima(f, -1e25, 1e25)
    with compiles:
        m = find_minima(f, -2e25, 2e25)
    assert compiles.count == 0
    np.testing.assert_allclose(np.asarray(m.x), [0.3], rtol=1e-6)


@pytest.mark.thorough
@given(
    c=st.floats(-10.0, 10.0),
    power=st.integers(66, 113),
    half_num=st.integers(1, 2_000),
)
@settings(max_examples=30, deadline=None)
def test_any_overflowing_interval_with_a_finite_grid_point_finds_the_minimum(c, power, half_num):
    # [-h, h] with h = half_num * 2**power (up to 2e37): grid spacing 2**power, exact, so
    # the middle grid point is 0, where f is finite; all the others overflow float32 (f is
    # finite only within about 1e19 of c).
    half = half_num * 2.0**power
    m = find_minima(lambda x: (x - c) ** 2, -half, half, num=2 * half_num + 1)
    assert len(m) == 1 and not bool(m.at_boundary[0])
    assert float(m.x[0]) == pytest.approx(c, rel=1e-6, abs=1e-6)


@given(
    data=st.data(),
    dtype=st.sampled_from([np.float32, np.float64]),
)
@settings(max_examples=200, deadline=None)
def test_halving_in_the_order_of_the_floats_stays_between_and_ends(data, dtype):
    finite = st.floats(allow_nan=False, allow_infinity=False, width=np.finfo(dtype).bits)
    a = np.array([data.draw(finite)], dtype)
    b = np.array([data.draw(finite)], dtype)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    tiny = np.finfo(dtype).tiny

    def flushed(x):  # as XLA reads a subnormal: 0
        return x * 0 if abs(x) < tiny else x

    def neighbours(x, y):  # no float of normal size, nor 0, strictly between
        x, y = flushed(x), flushed(y)
        if x == y:
            return True
        nxt = np.nextafter(x, y)
        if 0 < abs(nxt) < tiny:  # subnormals are skipped: 0 and the smallest normal meet
            nxt = np.copysign(tiny, y).astype(dtype) if x == 0 else dtype(0)
        return nxt == y

    for _ in range(np.finfo(dtype).bits + 1):  # one halving per bit reaches neighbours
        mid = _float_between(a, b)
        assert mid.dtype == dtype and lo[0] <= mid[0] <= hi[0]
        if mid[0] in (a[0], b[0]):  # only where no float lies between them
            assert neighbours(a[0], b[0]), (a, b)
            break
        assert not 0 < abs(mid[0]) < tiny, "a subnormal, which XLA reads as 0"
        a = mid
    else:
        raise AssertionError(f"{a} and {b} are not neighbours after a halving per bit")


@pytest.mark.parametrize(
    ("f", "lo", "hi", "num"),
    [
        (jnp.log, -2.0, -1.0, 101),
        (lambda x: (x - 0.3) ** 2, -1e25, 1e25, 10_000),  # no grid point near 0
        (lambda x: jnp.sqrt(x) * jnp.nan, 0.0, 1.0, 11),
    ],
    ids=["log", "overflow", "NaN"],
)
def test_an_f_finite_at_no_grid_point_is_warned_of(f, lo, hi, num):
    with pytest.warns(UserWarning, match=r"^f is not finite at any of the \d+ grid points"):
        m = find_minima(f, lo, hi, num=num)
    assert len(m) == 0


_TRANSFORMS = {
    "jit": lambda g: jax.jit(g)(0.3),
    "vmap": lambda g: jax.vmap(g)(jnp.array([0.1, 0.2])),
    "grad": lambda g: jax.grad(lambda a: g(a).sum())(0.3),
}


@pytest.mark.parametrize("transform", list(_TRANSFORMS))
@pytest.mark.parametrize("search", ["find_minima", "find_minima_reached"])
def test_a_search_inside_a_transformation_is_refused_before_f_runs(search, transform):
    # Every argument is concrete; f closes over the traced a. The search used to run f on
    # the grid and fail in np.asarray with JAX's TracerArrayConversionError.
    calls = []

    def g(a):
        def f(x):
            calls.append(x)
            return (x - a) ** 2

        if search == "find_minima":
            return find_minima(f, -1.0, 1.0).x
        return find_minima_reached(f, np.array([2.0]), (-1.0, 1.0)).x

    with pytest.raises(TypeError, match=rf"^{search} runs on the host .* jax\.jit") as info:
        _TRANSFORMS[transform](g)
    assert "Call it outside the transformation" in str(info.value)
    # The fix reads as a sentence, not as the repr of a tuple: "...: ('find the ...',)".
    assert "('" not in str(info.value) and str(info.value).endswith(".")
    assert calls == [] or transform != "jit"  # vmap, grad: where f's values are first read


def test_a_search_runs_inside_ensure_compile_time_eval():
    # Refused since tracing was checked by the trace state alone: values are concrete there.
    def g(s):
        with jax.ensure_compile_time_eval():
            m = find_minima(lambda x: (x - 0.25) ** 2, -1.0, 1.0)
        return s * m.x[0]

    assert float(jax.jit(g)(1.0)) == pytest.approx(0.25)


@pytest.mark.parametrize("num", [2**25 + 1, 2**31, 2**63 - 1, 2**64, np.int64(2**40)])
def test_a_grid_too_large_to_hold_is_refused_before_allocating(num, compiles):
    # NumPy raised MemoryError, "index -1 is out of bounds" or "Maximum allowed size
    # exceeded" from inside np.linspace; 2**31 points really allocated 24 GiB first.
    with compiles:
        with pytest.raises(ValueError, match=r"^num must be at most 2\*\*25 = 33,554,432"):
            find_minima(jnp.sin, -1.0, 1.0, num=num)
        with pytest.raises(ValueError, match=r"^num must be at most 2\*\*25"):
            find_minima_reached(jnp.sin, [2.0], (-1.0, 1.0), num=num)
    assert compiles.count == 0


@pytest.mark.parametrize("tol", [1.0, 1e300, np.float32(3.0)])
def test_a_tol_of_one_or_more_is_refused(tol, compiles):
    # tol=1e300 overflowed the points around the minimum (two RuntimeWarnings) and gave a
    # resolution of 0; relative to |x|, tol >= 1 allows an error as large as x.
    with compiles:
        with pytest.raises(ValueError, match=r"^tol must be below 1"):
            find_minima(lambda x: x**2, -1.0, 1.0, tol=tol)
        with pytest.raises(ValueError, match=r"^tol must be below 1"):
            find_minima_reached(lambda x: x**2, [2.0], (-1.0, 1.0), tol=tol)
    assert compiles.count == 0


@pytest.mark.parametrize("tol", [None, 0.5])
def test_a_minimum_at_the_largest_float_is_found_without_overflow(tol):
    # The points around the minimum at hi = float32's largest went past it: inf, and a
    # RuntimeWarning, which the test run turns into an error.
    big = float(np.finfo(np.float32).max)
    m = find_minima(lambda x: -x / big, 0.0, big, tol=tol)
    assert m.x.tolist() == [np.float32(big)] and m.at_boundary.tolist() == [True]
    assert np.isfinite(np.asarray(m.resolution)).all()


@pytest.mark.parametrize("num", [3, 5, 9])
def test_minima_are_found_when_every_grid_point_is_stationary(num, x64_or_not):
    # With num=3 the grid is -1, 0, 1, where f' is exactly 0: nothing was reported.
    f = lambda x: (x**2 - 1) ** 2
    m = find_minima(f, -1.0, 1.0, num=num)
    assert m.x.tolist() == [-1.0, 1.0] and m.at_boundary.tolist() == [False, False]
    reached = find_minima_reached(f, [0.0], (-1.0, 1.0), num=num)
    assert reached.x.tolist() == [-1.0, 1.0]


_R = 5e-4  # inside the grid cell beside 0 (spacing 2e-3 on [-1, 1] at 1001 points)
_BESIDE_A_ZERO = {
    # f' = x**2 (x - r): 0 at the grid point 0, where f only pauses and falls on to r.
    "inflection, then the minimum": (lambda x: x**4 / 4 - _R * x**3 / 3, [_R]),
    "the same, mirrored": (lambda x: x**4 / 4 + _R * x**3 / 3, [-_R]),
    # f' = 4 x (x**2 - r**2): the grid's 0 is the maximum between the two minima.
    "a maximum between two minima": (lambda x: (x**2 - _R**2) ** 2, [-_R, _R]),
    "x**2, a minimum on the zero": (lambda x: x**2, [0.0]),
}


@pytest.mark.parametrize("case", list(_BESIDE_A_ZERO))
def test_a_minimum_beside_an_exact_zero_of_f_prime_on_the_grid_is_found(case, x64_or_not):
    # f' reads -, 0, + around the grid point 0 and the refinement stopped on it: an inflection
    # or a maximum was reported as the minimum (within a cell of it), later dropped since f
    # does not climb out of it, and the minimum beside it was missed.
    f, want = _BESIDE_A_ZERO[case]
    m = find_minima(f, -1.0, 1.0, num=1001)
    stationary = np.asarray(m.x, np.float64)[~np.asarray(m.at_boundary)]
    np.testing.assert_allclose(stationary, want, rtol=1e-3, atol=1e-7)
    reached = find_minima_reached(f, [0.0], (-1.0, 1.0), num=1001)
    np.testing.assert_allclose(np.asarray(reached.x, np.float64), want, rtol=1e-3, atol=1e-7)


@pytest.mark.thorough
@pytest.mark.parametrize(("lo", "hi", "num"), [(-1.0, 2.0, 4), (-2.0, 1.0, 4), (-1.0, 2.0, 7)])
def test_minima_are_found_when_an_end_of_the_grid_is_stationary_points(lo, hi, num, x64_or_not):
    # On -1, 0, 1, 2, f' reads 0, 0, 0, +: the stretch at the left end was taken for one
    # stationary minimum there (-1) and the minimum at 1 was missed.
    m = find_minima(lambda x: (x**2 - 1) ** 2, lo, hi, num=num)
    assert m.x.tolist() == [-1.0, 1.0] and m.at_boundary.tolist() == [False, False]


@pytest.mark.parametrize(
    ("f", "lo", "hi"),
    [(jnp.floor, -2.5, 2.5), (lambda x: jnp.round(x) ** 2, -3.0, 3.0)],
    ids=["floor", "round^2"],
)
def test_f_prime_zero_everywhere_while_f_varies_is_a_warning(f, lo, hi):
    # f' == 0 on every grid point (as when XLA flushes a tiny f' to 0) read as a flat f.
    with pytest.warns(UserWarning, match=r"^f' is exactly 0 on every one of .* though f varies"):
        m = find_minima(f, lo, hi, num=101)
    assert len(m) == 0


def test_the_refinement_of_a_stuck_grid_stays_within_the_points_a_search_may_scan(monkeypatch):
    # Four rounds of midpoints grew num points to 16 * num: num = 4_194_304 took 3.8 GB.
    import jaxgd.minima as minima_module

    sizes = []
    search = minima_module._search

    def spy(f, grids, *args, **kwargs):
        sizes.append(sum(g.size for g in grids))
        return search(f, grids, *args, **kwargs)

    monkeypatch.setattr(minima_module, "_search", spy)
    monkeypatch.setattr(minima_module, "_MAX_NUM", 1000)
    with pytest.warns(UserWarning, match=r"^f' is exactly 0") as caught:
        find_minima(jnp.floor, -2.5, 2.5, num=301)
    assert sizes == [301, 601] and max(sizes) <= 1000
    assert caught[0].filename == __file__  # the warning names the caller's line


@pytest.mark.parametrize(
    ("f", "x", "value"),
    [
        # Flat at 1, jumps down to a flat 0.5, jumps down again to -0.5 and rises.
        (lambda x: jnp.where(x < 0, 1.0, jnp.where(x < 1, 0.5, x - 1.5)), 1.0, -0.5),
        # Falls into a flat 0.5, which ends in a jump down: the stretch is no minimum.
        (lambda x: jnp.where(x < 0, x**2 + 0.5, jnp.where(x < 1, 0.5, x - 1.5)), 1.0, -0.5),
        # Falls, jumps down, rises: f' changes sign across the jump, but no root is there.
        (lambda x: jnp.where(x < 1, (x - 2) ** 2, x - 5), 1.0, -4.0),
        # Falls towards 1, jumps up: the lowest value is just before the jump.
        (lambda x: jnp.where(x < 1, (x - 2) ** 2, x + 5), 1.0, 1.0),
    ],
    ids=["steps down", "flat, then a jump down", "jump down", "jump up"],
)
def test_a_jump_is_a_minimum_on_its_low_side_and_a_stretch_beside_a_lower_value_is_none(
    f, x, value, x64_or_not
):
    m = find_minima(f, -2.0, 3.0)
    assert len(m) == 1 and not bool(m.at_boundary[0])
    assert float(m.x[0]) == pytest.approx(x, abs=1e-6)
    assert float(m.value[0]) == pytest.approx(value, abs=1e-5)
    assert float(m.lo[0]) == float(m.hi[0]) == float(m.x[0])


def _lowest_stretch(np_f, lo: float, hi: float, num: int = 1_000_001):
    """float64 reference: the lowest value of ``np_f`` on a dense grid of ``[lo, hi]``, and the
    first and last grid points where f is within 1e-12 of it."""
    xs = np.linspace(lo, hi, num)
    v = np_f(xs)
    at = np.flatnonzero(v <= v.min() + 1e-12)
    return v.min(), xs[at[0]], xs[at[-1]]


@pytest.mark.parametrize(
    ("f", "np_f"),
    [
        # Flat at 0.5, then jumps down to -1 where f' = 0, and rises.
        (
            lambda x: jnp.where(x < 1 / 3, 0.5, 1e3 * (x - 1 / 3) ** 2 - 1),
            lambda x: np.where(x < 1 / 3, 0.5, 1e3 * (x - 1 / 3) ** 2 - 1),
        ),
        # Falls, then jumps down to -1 where f' = 0, and rises.
        (
            lambda x: jnp.where(x < 1 / 3, 0.5 - x, 1e3 * (x - 1 / 3) ** 2 - 1),
            lambda x: np.where(x < 1 / 3, 0.5 - x, 1e3 * (x - 1 / 3) ** 2 - 1),
        ),
        # Mirrored: rises to the left of -1/3, where f' = 0, and jumps up to a flat 0.5.
        (
            lambda x: jnp.where(x <= -1 / 3, 1e3 * (x + 1 / 3) ** 2 - 1, 0.5),
            lambda x: np.where(x <= -1 / 3, 1e3 * (x + 1 / 3) ** 2 - 1, 0.5),
        ),
        # Jumps down onto a stretch at -1 that rises from 0.5: a flat minimum [1/3, 0.5].
        (
            lambda x: jnp.where(x < 1 / 3, 0.5, jnp.maximum(x - 0.5, 0.0) ** 2 - 1),
            lambda x: np.where(x < 1 / 3, 0.5, np.maximum(x - 0.5, 0.0) ** 2 - 1),
        ),
    ],
    ids=["flat, jump down", "fall, jump down", "jump up", "jump down onto a stretch"],
)
def test_a_jump_that_lands_where_f_prime_is_0_is_a_minimum_on_its_low_side(f, np_f, x64_or_not):
    # f' = 0 on the low side itself: read as no rise away from it, the minimum was missed
    # and find_minima found none at all.
    value, lo, hi = _lowest_stretch(np_f, -1.0, 1.0)
    m = find_minima(f, -1.0, 1.0)
    assert len(m) == 1 and not bool(m.at_boundary[0])
    assert float(m.value[0]) == pytest.approx(value, abs=1e-5)
    assert float(m.lo[0]) == pytest.approx(lo, abs=1e-5)
    assert float(m.hi[0]) == pytest.approx(hi, abs=1e-5)
    assert float(m.lo[0]) <= float(m.x[0]) <= float(m.hi[0])


def test_a_jump_down_to_where_f_falls_on_is_no_minimum(x64_or_not):
    # f' = 0 on the low side, then f falls: the end at 1 is the minimum.
    m = find_minima(lambda x: jnp.where(x < 1 / 3, 0.5, -((x - 1 / 3) ** 2) - 1), -1.0, 1.0)
    assert m.x.tolist() == [1.0] and m.at_boundary.tolist() == [True]


@pytest.mark.thorough
@pytest.mark.parametrize(
    "f",
    [lambda x: (x + 1e4) ** 2 - 1e8 - 2e4 * x, lambda x: (x + 300.0) ** 2 - 9e4 - 600 * x],
    ids=["terms of 1e8", "terms of 9e4"],
)
def test_rounding_that_f_prime_does_not_see_is_no_jump(f, x64_or_not):
    # x**2, computed from terms far larger than itself: in float32 f steps by 8 (or 0.008)
    # every few floats and falls at slope -2e4 (-600) between steps, while f' = 2x. Each step
    # passed for a jump, and each low side for a minimum: thousands of them on [-3, 3].
    m = find_minima(f, -3.0, 3.0)
    assert len(m) == 1 and m.at_boundary.tolist() == [False]
    assert abs(float(m.x[0])) < 1e-3


@pytest.mark.parametrize(
    ("f", "end"), [(lambda x: 1 / x, 1.3), (jnp.tan, -1.0)], ids=["1/x", "tan"]
)
def test_a_pole_is_no_jump_minimum(f, end):
    # f jumps from -inf to +inf (tan) or back (1/x) across the pole: no value is lowest.
    m = find_minima(f, -1.0, 1.3)
    assert [float(v) for v in m.x] == [pytest.approx(end)]
    assert m.at_boundary.tolist() == [True]


@pytest.mark.parametrize(
    ("lo", "hi", "ends"),
    [(-20.0, 20.0, [-20.0, 20.0]), (-20.0, 3.0, [-20.0, 3.0]), (-30.0, -5.0, [-30.0])],
)
def test_a_stretch_flat_only_by_underflow_at_an_end_is_no_flat_minimum(lo, hi, ends, x64_or_not):
    # exp(-x**2) rises from each end of [-20, 20] (f' = -2x exp(-x**2) != 0 in float64, where
    # |f'| > 1e-170 at 20): the ends are its minima. In float32 f and f' underflow to 0 below
    # |x| = 9.35, and the stretch from the end to there was a flat minimum at its middle.
    m = find_minima(lambda x: jnp.exp(-(x**2)), lo, hi)
    np.testing.assert_allclose(np.asarray(m.x, np.float64), ends)
    assert m.at_boundary.tolist() == [True] * len(ends)
    np.testing.assert_array_equal(m.lo, m.x)
    np.testing.assert_array_equal(m.hi, m.x)


@pytest.mark.thorough
@pytest.mark.parametrize("scale", [1e-20, 1.0, 1e20, 1e30])
@pytest.mark.parametrize("shift", [0.0, 1e4])
def test_an_underflowed_stretch_at_an_end_is_no_flat_minimum_at_any_scale_of_f(
    scale, shift, x64_or_not
):
    # A bump whose tails underflow to 0 well inside the interval: its ends are its minima,
    # whatever f's units. Scaled by 1e20 the last f' before the underflow was 1e20 times
    # larger than the fixed bound, and each tail was a flat minimum at its middle.
    w = 0.003 if x64_or_not else 0.03
    lo, hi = shift - 45 * w, shift + 45 * w
    m = find_minima(lambda x: scale * jnp.exp(-(((x - shift) / w) ** 2)), lo, hi)
    np.testing.assert_allclose(np.asarray(m.x, np.float64), [lo, hi], rtol=1e-7)
    assert m.at_boundary.tolist() == [True, True]
    np.testing.assert_array_equal(m.lo, m.x)
    np.testing.assert_array_equal(m.hi, m.x)


@pytest.mark.parametrize(
    ("f", "lo", "hi", "end"),
    [
        (lambda x: x**20, 0.0, 1.0, 0.0),
        (lambda x: x**12, 0.0, 1.0, 0.0),
        (lambda x: (x + 1) ** 20, -1.0, 1.0, -1.0),
        (lambda x: (x - 1) ** 20, -1.0, 1.0, 1.0),
    ],
    ids=["x**20", "x**12", "(x+1)**20 at lo", "(x-1)**20 at hi"],
)
def test_a_stationary_minimum_at_an_end_where_f_underflows_stays_stationary(
    f, lo, hi, end, x64_or_not
):
    # f'(end) = 0 exactly: a stationary minimum, as float64 finds it. In float32 f' underflows
    # to 0 on a stretch from the end (below 0.01 for x**20), as exp(-x**2)'s does far out, but
    # f also falls into the end from beyond it: the minimum is flat there, not an end that f
    # rises away from, and global_minima counts it.
    m = find_minima(f, lo, hi)
    assert len(m) == 1 and m.at_boundary.tolist() == [False]
    assert float(m.lo[0]) <= end <= float(m.hi[0])
    assert abs(float(m.x[0]) - end) <= 0.01
    assert jaxgd.analysis.global_minima(m).tolist() == [0]


@pytest.mark.parametrize("power", [2, 3, 4, 5])
@pytest.mark.parametrize(
    ("f", "lo", "hi", "end"),
    [
        (lambda x, p: jnp.maximum(x, 0.0) ** p, -1.0, 1.0, -1.0),
        (lambda x, p: jnp.maximum(-x, 0.0) ** p, -1.0, 2.0, 2.0),
        (lambda x, p: jnp.maximum(x, 0.0) ** p, -3.0, 0.5, -3.0),
    ],
    ids=["from lo", "from hi", "from lo, wider"],
)
def test_a_flat_stretch_from_an_end_to_0_is_a_flat_minimum(f, lo, hi, end, power, x64_or_not):
    # f = 0 from the end to 0, then f' = p x**(p-1) rises out of 0. The first floats past 0
    # are 1e-38 and less, where f' is that small because x is: it was taken for f'
    # underflowed past the stretch, the end alone was the minimum (lo == hi), and runs
    # resting on the stretch were at no minimum. With the kink at 0.001, the stretch was found.
    m = find_minima(lambda x: f(x, power), lo, hi)
    assert len(m) == 1 and m.at_boundary.tolist() == [False]
    assert float(m.value[0]) == 0.0
    at_end, at_zero = (m.lo[0], m.hi[0]) if end == lo else (m.hi[0], m.lo[0])
    assert float(at_end) == end
    assert abs(float(at_zero)) <= 1e-9
    assert float(m.x[0]) == pytest.approx(end / 2, abs=1e-6)
    resting = np.linspace(end, 0.0, 7)[1:-1]
    assert jaxgd.analysis.nearest_minimum(resting, m).tolist() == [0] * 5


@pytest.mark.parametrize(
    ("f", "lows"),
    [
        # Low sides at -1 (f = -1) and 1 (f = -0.5): a jump up, then a jump down.
        (lambda x: jnp.where(x < -1, 0.0, jnp.where(x < 1, x, x - 1.5)), [-1.0, -0.5]),
        # A staircase with a bowl: low sides at -3, -2, -1, 0, each 0.5 to 0.7 apart.
        (lambda x: jnp.floor(x) + 0.1 * x**2, [-3.1, -2.6, -1.9, -1.0]),
    ],
    ids=["two jumps", "staircase"],
)
def test_minima_on_the_low_sides_of_jumps_are_not_tied_by_the_jumps(f, lows, x64_or_not):
    # f rises by a whole jump beside each low side; that rise was read as f's rounding there,
    # and minima of different depths, a jump apart, were all global.
    m = find_minima(f, -3.5, 3.0)
    assert np.asarray(m.value, np.float64) == pytest.approx(lows, abs=1e-5)
    assert jaxgd.analysis.global_minima(m).tolist() == [0]
    assert (np.asarray(m.resolution, np.float64) < 1e-4).all()


def test_a_flat_minimum_at_an_end_with_a_tiny_but_normal_slope_is_kept(x64_or_not):
    # Genuinely flat on [-1, 1]; f' just past 1 is about 2 float steps, far above underflow.
    m = find_minima(lambda x: jnp.maximum(jnp.abs(x) - 1, 0) ** 2, -1.0, 3.0)
    assert len(m) == 1 and not bool(m.at_boundary[0])
    assert (float(m.lo[0]), float(m.hi[0])) == (-1.0, pytest.approx(1.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jump_cells_are_those_of_the_float64_test_over_the_whole_grid(dtype):
    # The jump search screens the grid in f's dtype and tests only the cells left in
    # float64; it must find exactly the cells of the float64 test applied everywhere,
    # on values at every scale, ties at the threshold, zeros, NaN, inf and the largest floats.
    from jaxgd.minima import _jump_cells

    rng = np.random.default_rng(0)
    n, big = 200_000, float(np.finfo(dtype).max)
    grid = np.sort(rng.uniform(-10, 10, n)).astype(dtype)
    scale = 10.0 ** rng.integers(-40, 37, n)
    values = (rng.standard_normal(n) * scale).astype(dtype)
    g = (rng.standard_normal(n) * 10.0 ** rng.integers(-40, 37, n)).astype(dtype)
    # Cells right at the threshold, and special values.
    dx = np.diff(grid.astype(np.float64))
    values[1:1000] = (values[:999].astype(np.float64) + 4 * np.abs(g[1:1000]) * dx[:999]).astype(
        dtype
    )
    for k, (v, d) in enumerate([(np.nan, 1.0), (np.inf, 0.0), (-np.inf, np.inf), (big, -big)]):
        values[2000 + 3 * k], g[2001 + 3 * k] = v, d
    values[3000], values[3001] = big, -big
    g[4000:4100] = 0.0
    slack = 16.0 * float(np.finfo(dtype).eps) * 1e3
    last = np.array([n // 2, n - 1])
    i, dv, width = _jump_cells(grid, values, g, slack, last)
    x64, v64, g64 = (a.astype(np.float64) for a in (grid, values, g))
    with np.errstate(invalid="ignore", over="ignore"):
        ref_dv = np.abs(v64[1:] - v64[:-1])
        ref_slope = np.maximum(np.abs(g64[1:]), np.abs(g64[:-1])) * np.diff(x64)
        ref = ref_dv > 4.0 * ref_slope + slack
    ref[last[0]] = ref[last[1] :] = False
    expected = np.flatnonzero(ref)
    assert expected.size > 1000
    np.testing.assert_array_equal(i, expected)
    np.testing.assert_array_equal(dv, ref_dv[expected])
    np.testing.assert_array_equal(width, np.diff(x64)[expected])


_ENDS = st.floats(-1.5, 1.5, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(_ENDS, st.just(True)), min_size=2, max_size=4), st.booleans())
def test_reached_refuses_a_bool_among_the_ends_at_any_depth(ends, nested):
    # NumPy reads [0.5, True] as [0.5, 1.0]: a bool is refused, as in a sweep's starts,
    # at any depth; plain numbers are the minima NumPy's float64 reading gives.
    value = [ends] if nested else ends
    if any(e is True for e in ends):
        with pytest.raises(TypeError, match=r"final must hold .*numbers.*entry .* a bool"):
            find_minima_reached(_tilted_cos, value, (-2.0, 2.0))
    else:
        got = find_minima_reached(_tilted_cos, value, (-2.0, 2.0))
        want = find_minima_reached(_tilted_cos, np.asarray(value, np.float64), (-2.0, 2.0))
        assert got.x.tolist() == want.x.tolist()


def test_reached_names_final_for_ragged_ends_and_reads_bfloat16():
    with pytest.raises(ValueError, match=r"final must hold real numbers.*uneven lengths"):
        find_minima_reached(_tilted_cos, [[1.0, 2.0], [3.0]], (-2.0, 2.0))
    ends = jnp.asarray([-1.0, 1.5], jnp.bfloat16)
    got = find_minima_reached(_tilted_cos, ends, (-2.0, 2.0))
    want = find_minima_reached(_tilted_cos, np.asarray(ends, np.float64), (-2.0, 2.0))
    assert got.x.tolist() == want.x.tolist()


@pytest.mark.parametrize("low", [jnp.bfloat16, jnp.float16], ids=["bfloat16", "float16"])
def test_an_f_computing_in_a_coarser_float_has_no_spurious_minima(low, x64_or_not):
    """f computed in bfloat16 (or float16) and returned in the run's float steps by that
    float's epsilon, down as well as up; read against the run's own epsilon every step
    down beside a rising f' was a jump, and a minimum: 31 where there are 3."""

    def f(x):
        y = x.astype(low)
        return (jnp.sin(y) * jnp.exp(-0.05 * y**2)).astype(x.dtype)

    m = find_minima(f, -6.0, 6.0)
    assert m.at_boundary.tolist() == [True, False, False]
    # The float64 minima -1.428870 and 4.305801, to a few steps of the coarse float.
    atol = 4 * float(jnp.finfo(low).eps) * 4
    np.testing.assert_allclose(np.asarray(m.x[1:], np.float64), [-1.428870, 4.305801], atol=atol)


@pytest.mark.parametrize(
    "x64, lo, hi, c, at", [(False, 1e38, 3.4e38, 1e-30, 3e8), (True, 1e308, 1.7e308, 1e-300, 1.5e8)]
)
def test_minima_near_the_largest_float(x64, lo, hi, c, at):
    """Near the largest float the midpoint (a + b) / 2 overflowed: the refinement ran off to
    inf and the minimum at 3e38 (1.5e308) was dropped in silence, and NumPy warned of
    overflow in float64; runs that ended near 1.7e308 past a narrow domain had cells past
    the largest float. Each minimum is found, without a warning (warnings are errors here)."""
    with jax.enable_x64(x64):
        m = find_minima(lambda x: (x * c - at) ** 2, lo, hi)
        assert m.at_boundary.tolist() == [False]
        np.testing.assert_allclose(float(m.x[0]), at / c, rtol=1e-6)
        ends = np.array([hi, -hi, 0.5 * hi, 1.0])
        m = find_minima_reached(lambda x: (x - 1.0) ** 2, ends, (-2.0, 2.0))
        assert m.x.tolist() == [1.0] and m.at_boundary.tolist() == [False]


def test_a_well_narrower_than_the_grid_is_missed_as_documented():
    """The documented limit of sampling: f' keeps its sign at the grid points around a well
    narrower than their spacing, so only 0 is found; a grid fine enough finds the well."""

    def f(x):
        return x**2 - jnp.exp(-(((x - 0.3) / 1e-5) ** 2))

    assert find_minima(f, -1.0, 1.0).x.tolist() == [0.0]
    m = find_minima(f, 0.29, 0.31, num=20_001)
    assert abs(float(m.global_x) - 0.3) < 1e-6 and float(m.global_value) < -0.9


def _reference_flat_minima(f_np, lo: float, hi: float, step: float = 1e-4) -> list[tuple]:
    """Every local minimum of f on [lo, hi] as (first, last, value) in float64 NumPy: the
    maximal runs of a dense grid on which f keeps one value, with f higher on both sides
    (or an end of the grid there); a run of one point is an isolated minimum."""
    x = np.arange(lo, hi + step / 2, step)
    v = f_np(x)
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
    ends = np.r_[starts[1:] - 1, x.size - 1]
    out = []
    for i, j in zip(starts, ends, strict=True):
        if (i == 0 or v[i - 1] > v[i]) and (j == x.size - 1 or v[j + 1] > v[i]):
            out.append((x[i], x[j], v[i]))
    return out


_NARROW_FLAT = {
    # Lowest on all of [-1, 1]: the grid of (-1e4, 1e4) is 2 apart and has 0 on it, that of
    # (-1e6, 1e6) is 200 apart.
    "symmetric": (
        lambda x: jnp.maximum(jnp.abs(x) - 1, 0) ** 2,
        lambda x: np.maximum(np.abs(x) - 1, 0) ** 2,
    ),
    "asymmetric": (
        lambda x: jnp.maximum(x - 3, 0) ** 2 + jnp.maximum(1.25 - x, 0) ** 2,
        lambda x: np.maximum(x - 3, 0) ** 2 + np.maximum(1.25 - x, 0) ** 2,
    ),
    # Two flat minima of different depths, each narrower than the grid, in different cells.
    "two": (
        lambda x: jnp.minimum(
            jnp.maximum(jnp.abs(x + 20) - 0.5, 0) ** 2,
            jnp.maximum(jnp.abs(x - 30.5) - 0.25, 0) ** 2 - 0.5,
        ),
        lambda x: np.minimum(
            np.maximum(np.abs(x + 20) - 0.5, 0) ** 2,
            np.maximum(np.abs(x - 30.5) - 0.25, 0) ** 2 - 0.5,
        ),
    ),
    # f' = 0 on [-0.5, 0.5], a flat maximum between minima at -1 and 1.
    "flat maximum": (
        lambda x: jnp.where(jnp.abs(x) <= 0.5, 0.25, (jnp.abs(x) - 1) ** 2),
        lambda x: np.where(np.abs(x) <= 0.5, 0.25, (np.abs(x) - 1) ** 2),
    ),
    # f' = 0 on [0, 0.5], a shoulder: f falls on both sides of it, to its minimum at 1.
    "shoulder": (
        lambda x: jnp.where(x < 0, 1 + x**2, jnp.where(x <= 0.5, 1.0, 0.75 + (x - 1) ** 2)),
        lambda x: np.where(x < 0, 1 + x**2, np.where(x <= 0.5, 1.0, 0.75 + (x - 1) ** 2)),
    ),
}


_WIDE = {"2 apart, through 0": (-1e4, 1e4), "2 apart": (-9999.3, 1e4 + 0.7)}
_WIDE |= {"5 apart, through 0": (-3e4, 2e4), "200 apart, through 0": (-1e6, 1e6)}


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("name", "grid"),
    [
        (name, grid)
        for name in _NARROW_FLAT
        for grid in _WIDE
        # Minima closer together than the grid spacing can be missed (documented): those of
        # "two" 50 apart, and those of "flat maximum" 2 apart on a grid 2.00014 apart.
        if (name, grid) not in {("two", "200 apart, through 0"), ("flat maximum", "2 apart")}
    ],
)
def test_a_flat_minimum_narrower_than_the_grid_spans_its_stretch(name, grid, x64_or_not):
    # The refinement stopped where f' is exactly 0, anywhere on the stretch: max(|x| - 1, 0)**2
    # on (-1e4, 1e4) was one minimum at 0 with lo = hi = 0 (on (-1e3, 1e3), whose grid has
    # points on the stretch, the span [-1, 1]), and a flat maximum or a shoulder that the
    # bisection landed on was reported as a minimum.
    f, f_np = _NARROW_FLAT[name]
    m = find_minima(f, *_WIDE[grid])  # one f for every grid: one compiled search per dtype
    want = _reference_flat_minima(f_np, -40.0, 40.0)
    got = np.stack([np.asarray(a, np.float64) for a in (m.lo, m.hi, m.value)], axis=1)
    assert got.shape == (len(want), 3)
    np.testing.assert_allclose(got, want, atol=2e-4)
    assert (m.lo <= m.x).all() and (m.x <= m.hi).all() and not m.at_boundary.any()
    # The same spans as a grid fine enough to have points on them.
    fine = find_minima(f, -40.0, 40.0, num=100_001)
    np.testing.assert_allclose(np.stack([m.lo, m.hi]), np.stack([fine.lo, fine.hi]), atol=1e-6)


@pytest.mark.parametrize(("lo", "hi"), [(2.0, 2e4 + 2.0), (2.0 - 2e4, 2.0)])
def test_a_flat_minimum_narrower_than_the_grid_at_an_end_spans_to_that_end(lo, hi, x64_or_not):
    # Only the end of the grid lies on the stretch: it was a stationary minimum at the end
    # alone, where a finer grid finds the stretch from the end to where f rises.
    f, f_np = _NARROW_FLAT["asymmetric"]
    m = find_minima(f, lo, hi)
    want = _reference_flat_minima(f_np, max(lo, -40.0), min(hi, 40.0))
    got = np.stack([np.asarray(a, np.float64) for a in (m.lo, m.hi, m.value)], axis=1)
    np.testing.assert_allclose(got, want, atol=2e-4)
    assert 2.0 in (float(m.lo[0]), float(m.hi[0])) and not m.at_boundary.any()
    assert float(m.x[0]) == pytest.approx((float(m.lo[0]) + float(m.hi[0])) / 2)


def test_a_shoulder_at_an_end_narrower_than_the_grid_is_no_minimum(x64_or_not):
    # f' = 0 from the end 0 to 0.5, then f falls to its minimum at 1: the end was reported.
    m = find_minima(lambda x: jnp.where(x <= 0.5, 1.0, 0.75 + (x - 1) ** 2), 0.0, 2e4)
    assert m.x.tolist() == [1.0] and m.value.tolist() == [0.75]


def test_reached_a_flat_minimum_narrower_than_the_grid_outside_the_domain(x64_or_not):
    # Runs ended on [1.25, 3], outside the domain, searched on windows 2 apart.
    f, f_np = _NARROW_FLAT["asymmetric"]
    m = find_minima_reached(f, np.array([1.3, 2.0, 2.9]), (100.0, 100.0 + 2e4))
    (want_lo, want_hi, _), *_ = _reference_flat_minima(f_np, -5.0, 5.0)
    assert len(m) == 1
    np.testing.assert_allclose([float(m.lo[0]), float(m.hi[0])], [want_lo, want_hi], atol=2e-4)


# --- Unseen functions against an independent float64 reference -----------------------------
# Each family is a module-level f(x, p, centre, width) of u = (x - centre) / width, bound with
# functools.partial: two compilations per example (measured), so examples stay few. Its f' is
# written by hand in NumPy, never taken from JAX. Parameters stay NumPy float64 arrays: made
# JAX arrays outside float64 mode they would be rounded to float32 before the search.

_REF_NUM = 200_001
#: Shrinking reruns a search (a second or so) hundreds of times: the failing example is
#: reported as drawn.
_NO_SHRINK = (hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate)


def _bisect(df_np, a: np.ndarray, b: np.ndarray, falling: bool) -> np.ndarray:
    """Where f' changes sign between a and b: from - to + (a minimum), or from + to - if
    ``falling`` (a maximum), bisected to float64's last bits."""
    for _ in range(80):
        mid = a + 0.5 * (b - a)
        with np.errstate(all="ignore"):
            slope = df_np(mid)
        before = slope > 0 if falling else slope < 0
        a, b = np.where(before, mid, a), np.where(before, b, mid)
    return a + 0.5 * (b - a)


def _scan_reference(f_np, df_np, lo: float, hi: float):
    """Minima of f on [lo, hi] from a dense float64 grid of the hand-written f': sign changes
    from - to + between points where f is finite, bisected; an end where f rises away.
    Returns the locations, their end flags, the grid's f and f', and the maxima (sign changes
    from + to -, bisected too)."""
    x = np.linspace(lo, hi, _REF_NUM)
    with np.errstate(all="ignore"):
        v, g = f_np(x), df_np(x)
    ok = np.isfinite(v) & np.isfinite(g)
    # Exact zeros of f' on the grid are stepped over: - 0 + brackets a minimum, - 0 - none.
    keep = np.flatnonzero(~ok | (g != 0))
    both = ok[keep[:-1]] & ok[keep[1:]]
    rising = both & (g[keep[:-1]] < 0) & (g[keep[1:]] > 0)
    falling = both & (g[keep[:-1]] > 0) & (g[keep[1:]] < 0)
    xs = list(_bisect(df_np, x[keep[:-1][rising]], x[keep[1:][rising]], False))
    ends = [False] * len(xs)
    # A minimum closer than a few cells to a maximum may be missed, as find_minima documents:
    # bisected, a maximum is told apart from a minimum in the same cell of this grid (roots
    # of f' 1e-21 apart at x = -3 are the same float: f has no dip there, only an inflection).
    maxima = _bisect(df_np, x[keep[:-1][falling]], x[keep[1:][falling]], True)
    if ok[0] and g[0] > 0:
        xs, ends = [lo, *xs], [True, *ends]
    if ok[-1] and g[-1] < 0:
        xs, ends = [*xs, hi], [*ends, True]
    return np.array(xs, np.float64), np.array(ends, bool), v[np.isfinite(v)], g, maxima


def _few_floats_from(f_np, r: float) -> float:
    """The highest f within 4 floats of r: a minimum is known only to its last bits (f's
    rounding, (x - centre) / width's too), so f a few floats from it bounds f there. Where f
    is NaN on one side (r on the edge of f's domain), the others bound it."""
    return float(np.nanmax(f_np(r + np.array([-4.0, 0.0, 4.0]) * np.spacing(r))))


def _assert_matches_reference(f, f_np, df_np, lo: float, hi: float, num: int = 1001):
    """find_minima(f) in float64 against _scan_reference: every minimum reported is one of the
    reference's (f no higher there than at the reference's minimum, to rounding at f's size,
    and a grid cell away at most), every one of the reference's set apart from the others by
    more than 4 cells is reported, end flags agree, and the global minimum is as low."""
    ref_x, ref_ends, v, g, maxima = _scan_reference(f_np, df_np, lo, hi)
    hypothesis.assume(v.size and g[0] != 0 and g[-1] != 0)  # ends not underflowed to 0
    with jax.enable_x64(True):
        m = find_minima(f, lo, hi, num=num)
    got = np.asarray(m.x, np.float64)
    cell = (hi - lo) / (num - 1)
    size = float(np.max(np.abs(v)))
    slack = 1e-9 * (float(np.ptp(v)) + 1e-3 * size) + 1e-300
    assert np.all(np.diff(got) > 0)
    for x, end in zip(got, m.at_boundary.tolist(), strict=True):
        near = np.abs(ref_x - x) <= cell
        assert near.any(), f"{x!r} is no minimum; the reference has {ref_x.tolist()}"
        k = int(np.flatnonzero(near)[np.argmin(np.abs(ref_x - x)[near])])
        assert bool(end) == bool(ref_ends[k]), (x, ref_x[k])
        assert f_np(np.array([x]))[0] <= _few_floats_from(f_np, ref_x[k]) + slack, (x, ref_x[k])
    for k, r in enumerate(ref_x):
        others = np.r_[np.delete(ref_x, k), maxima]
        if others.size and np.min(np.abs(others - r)) <= 4 * cell:
            continue
        assert got.size and np.min(np.abs(got - r)) <= cell, f"missed {r!r}; found {got.tolist()}"
    if ref_x.size:
        low = _few_floats_from(f_np, ref_x[np.argmin(f_np(ref_x))])
        assert f_np(np.array([float(m.global_x)]))[0] <= low + slack


def _u(x, centre, width):
    return (x - centre) / width


def _poly(x, c, centre, width):
    return jnp.polyval(c, _u(x, centre, width))


def _gaussians(x, p, centre, width):
    u = _u(x, centre, width)
    return jnp.sum(p[:, 0] * jnp.exp(-(((u - p[:, 1]) / p[:, 2]) ** 2)))


def _gaussians_np(p, centre, width, d: bool):
    def f(x):
        u = _u(np.asarray(x, np.float64), centre, width)[..., None]
        z = (u - p[:, 1]) / p[:, 2]
        e = p[:, 0] * np.exp(-(z**2))
        return np.sum(e * (-2 * z / p[:, 2]) / width if d else e, axis=-1)

    return f


def _waves(x, p, centre, width):
    u = _u(x, centre, width)
    return jnp.sum(p[:, 0] * jnp.sin(p[:, 1] * u + p[:, 2]))


def _waves_np(p, centre, width, d: bool):
    def f(x):
        u = _u(np.asarray(x, np.float64), centre, width)[..., None]
        if d:
            return np.sum(p[:, 0] * p[:, 1] * np.cos(p[:, 1] * u + p[:, 2]), -1) / width
        return np.sum(p[:, 0] * np.sin(p[:, 1] * u + p[:, 2]), -1)

    return f


def _kinks(x, p, q, centre, width):
    u = _u(x, centre, width)
    return jnp.sum(p[:, 0] * jnp.abs(u - p[:, 1])) + q * u**2


def _kinks_np(p, q, centre, width, d: bool):
    def f(x):
        u = _u(np.asarray(x, np.float64), centre, width)[..., None]
        if d:
            return (np.sum(p[:, 0] * np.sign(u - p[:, 1]), -1) + 2 * q * u[..., 0]) / width
        return np.sum(p[:, 0] * np.abs(u - p[:, 1]), -1) + q * u[..., 0] ** 2

    return f


def _pieces(x, p, centre, width):
    # Continuous at u = b, f' jumping there from s1 to s2: a kink made by jnp.where.
    u = _u(x, centre, width)
    b, s1, s2, a1, a2 = (p[k] for k in range(5))
    return jnp.where(u < b, a1 * (u - b) ** 2 + s1 * (u - b), a2 * (u - b) ** 2 + s2 * (u - b))


def _pieces_np(p, centre, width, d: bool):
    b, s1, s2, a1, a2 = p

    def f(x):
        z = _u(np.asarray(x, np.float64), centre, width) - b
        if d:
            return np.where(z < 0, 2 * a1 * z + s1, 2 * a2 * z + s2) / width
        return np.where(z < 0, a1 * z**2 + s1 * z, a2 * z**2 + s2 * z)

    return f


def _log_well(x, p, centre, width):
    # NaN (log of a negative) for u < a: f' is read only where f is finite.
    u = _u(x, centre, width)
    return p[2] * (jnp.log(u - p[0]) + (u - p[1]) ** 2)


def _log_well_np(p, centre, width, d: bool):
    def f(x):
        u = _u(np.asarray(x, np.float64), centre, width)
        with np.errstate(all="ignore"):
            if d:
                return p[2] * (1 / (u - p[0]) + 2 * (u - p[1])) / width
            return p[2] * (np.log(u - p[0]) + (u - p[1]) ** 2)

    return f


_PLACES = st.tuples(
    st.sampled_from([0.0, -3.0, 1e4]),  # centre
    st.floats(-6, 6),  # log10 of the interval's width
    st.sampled_from([1.0, 1e-20, 1e20]),  # f's scale
)
_U = st.floats(-0.5, 0.5)
# Away from 0: an f of subnormal size (2e-308 * exp(...)) is flushed to 0 by XLA, a flat f.
_AMPLITUDE = st.floats(-2, 2).filter(lambda a: abs(a) > 1e-3)


def _interval(place):
    centre, log_width, scale = place
    width = 10.0**log_width
    return centre, width, scale, centre - width / 2, centre + width / 2


@pytest.mark.thorough
@given(_PLACES, st.lists(_U, min_size=1, max_size=7), st.sampled_from([-1.0, 1.0]))
# Roots of f' 1e-21 and 1e-266 from 0 at x = -3: one float, an inflection of f, no minimum.
@hypothesis.example(
    (-3.0, -3.6052293924556924, 1.0),
    [0.10226380620249953, 2.0222662487111665e-21, 0.2329892713524545, -7.542184790192944e-266],
    1.0,
)
# Double roots of f' at u = 0.17 and 0.466, on grid points: inflections of a falling f,
# where f (5e-9, from terms of 1e-2) and f' stray by 1e-22 and 1e-21 from float to float;
# that rounding rose past 16 epsilons of f's own size and made minima of both.
@hypothesis.example((-3.0, 0.0, 1.0), [0.053, 0.17, 0.132, 0.17, -0.013, 0.053], -1.0)
@hypothesis.example((-3.0, 0.0, 1.0), [0.466, -0.041, 0.344, 0.107, 0.017, 0.466], -1.0)
# Roots of f' at 0 (1e-107 and 2e-313: a double root, an inflection) and at -1e-5 (the
# minimum), all in one grid cell: Newton was drawn to the double root, where f' keeps its
# sign, and the minimum beside it was missed.
@hypothesis.example(
    (0.0, 3.6771032766488876, 1e20),
    [
        -0.24994136002904893,
        -0.31786728172372025,
        1.1753195137807179e-107,
        -0.04946090550875726,
        -1e-05,
        -0.24352392082924007,
        -2.2250738585e-313,
    ],
    1.0,
)
# A minimum and a maximum 1e-5 apart, under a grid of 1e-3: may be missed, as documented.
@hypothesis.example(
    (0.0, 0.0, 1.0), [1.2461962207389523e-130, 1e-05, -0.09185146339432115, 0.3073906150141976], 1.0
)
@settings(max_examples=8, deadline=None, phases=_NO_SHRINK)
def test_random_polynomials_match_the_reference(place, roots, sign):
    # f' = c * prod(u - r_i) on u in [-0.5, 0.5] (degree 2 to 8 in f), integrated exactly.
    centre, width, scale, lo, hi = _interval(place)
    hypothesis.assume(width > 1e-10 * max(1.0, abs(centre)))
    # A root of f' on an end leaves its flag to rounding (f'(end) = +-1e-30 or so).
    hypothesis.assume(all(abs(abs(r) - 0.5) > 1e-6 for r in roots))
    dp = np.polynomial.Polynomial.fromroots(roots) * (sign * scale)
    p = dp.integ()
    f = functools.partial(_poly, c=p.coef[::-1], centre=centre, width=width)
    _assert_matches_reference(
        f, lambda x: p(_u(x, centre, width)), lambda x: dp(_u(x, centre, width)) / width, lo, hi
    )


@pytest.mark.thorough
@given(
    _PLACES,
    st.lists(
        st.tuples(_AMPLITUDE, st.floats(-0.6, 0.6), st.floats(0.03, 1)),
        min_size=1,
        max_size=4,
    ),
)
@settings(max_examples=8, deadline=None, phases=_NO_SHRINK)
def test_sums_of_gaussians_match_the_reference(place, bumps):
    centre, width, scale, lo, hi = _interval(place)
    hypothesis.assume(width > 1e-10 * max(1.0, abs(centre)))
    p = np.array(bumps, np.float64) * [scale, 1, 1]
    f = functools.partial(_gaussians, p=p, centre=centre, width=width)
    _assert_matches_reference(
        f, _gaussians_np(p, centre, width, False), _gaussians_np(p, centre, width, True), lo, hi
    )


@pytest.mark.thorough
@given(
    _PLACES,
    st.lists(st.tuples(_AMPLITUDE, st.floats(0.5, 60), st.floats(0, 6.3)), min_size=1, max_size=3),
)
@settings(max_examples=8, deadline=None, phases=_NO_SHRINK)
def test_sin_cos_mixtures_match_the_reference(place, waves):
    centre, width, scale, lo, hi = _interval(place)
    hypothesis.assume(width > 1e-10 * max(1.0, abs(centre)))
    p = np.array(waves, np.float64) * [scale, 1, 1]
    f = functools.partial(_waves, p=p, centre=centre, width=width)
    _assert_matches_reference(
        f, _waves_np(p, centre, width, False), _waves_np(p, centre, width, True), lo, hi
    )


@pytest.mark.thorough
@given(
    _PLACES,
    st.lists(st.tuples(st.floats(-2, 2), _U), min_size=1, max_size=4),
    st.floats(0.05, 1.0),
)
@settings(max_examples=8, deadline=None, phases=_NO_SHRINK)
def test_sums_of_kinks_match_the_reference(place, kinks, q):
    centre, width, scale, lo, hi = _interval(place)
    hypothesis.assume(width > 1e-10 * max(1.0, abs(centre)))
    # A kink on an end, as a root of f' there, leaves its flag to rounding.
    hypothesis.assume(all(abs(abs(k[1]) - 0.5) > 1e-6 for k in kinks))
    p, q = np.array(kinks, np.float64) * [scale, 1], q * scale
    f = functools.partial(_kinks, p=p, q=q, centre=centre, width=width)
    _assert_matches_reference(
        f, _kinks_np(p, q, centre, width, False), _kinks_np(p, q, centre, width, True), lo, hi
    )


@given(
    _PLACES,
    _U,
    _AMPLITUDE,
    _AMPLITUDE,
    st.floats(-5, 5),
    st.floats(-5, 5),
)
@settings(max_examples=8, deadline=None, phases=_NO_SHRINK)
def test_piecewise_functions_match_the_reference(place, b, s1, s2, a1, a2):
    centre, width, scale, lo, hi = _interval(place)
    hypothesis.assume(width > 1e-10 * max(1.0, abs(centre)))
    hypothesis.assume(abs(abs(b) - 0.5) > 1e-6)  # a kink on an end: its flag is rounding
    p = np.array([b, s1 * scale, s2 * scale, a1 * scale, a2 * scale])
    f = functools.partial(_pieces, p=p, centre=centre, width=width)
    _assert_matches_reference(
        f, _pieces_np(p, centre, width, False), _pieces_np(p, centre, width, True), lo, hi
    )


@given(_PLACES, st.floats(-0.6, 0.2), st.floats(-0.5, 0.5))
# f's domain starts at the interval's left end, 4 floats below it f is NaN.
@hypothesis.example((-3.0, 2.220446049250313e-16, 1e20), -0.5, 6.669401292777709e-103)
@settings(max_examples=6, deadline=None, phases=_NO_SHRINK)
def test_f_nan_on_part_of_the_interval_matches_the_reference(place, a, b):
    centre, width, scale, lo, hi = _interval(place)
    hypothesis.assume(width > 1e-10 * max(1.0, abs(centre)))
    p = np.array([a, b, scale])
    f = functools.partial(_log_well, p=p, centre=centre, width=width)
    _assert_matches_reference(
        f, _log_well_np(p, centre, width, False), _log_well_np(p, centre, width, True), lo, hi
    )


def _plateau(x, p, centre, width):
    u = _u(x, centre, width)
    return p[2] * jnp.maximum(jnp.abs(u - p[0]) - p[1], 0.0) ** 2


@given(_PLACES, st.floats(-0.3, 0.3), st.floats(0.01, 0.15))
@settings(max_examples=6, deadline=None, phases=_NO_SHRINK)
def test_a_plateau_is_one_flat_minimum_spanning_it(place, c, h):
    centre, width, scale, lo, hi = _interval(place)
    hypothesis.assume(width > 1e-10 * max(1.0, abs(centre)))
    f = functools.partial(_plateau, p=np.array([c, h, scale]), centre=centre, width=width)
    with jax.enable_x64(True):
        m = find_minima(f, lo, hi, num=1001)
    ends = centre + width * np.array([c - h, c + h])
    assert len(m) == 1 and m.at_boundary.tolist() == [False]
    # Its ends to the last floats of (x - centre) / width's rounding.
    resolution = 1e-9 * width + 8 * np.spacing(abs(centre) + width)
    np.testing.assert_allclose([float(m.lo[0]), float(m.hi[0])], ends, rtol=0, atol=resolution)
    assert float(m.x[0]) == pytest.approx(ends.mean(), abs=resolution)


@pytest.mark.parametrize("power", [3, 5])
@pytest.mark.parametrize("saddle", [0.0, 0.01234567], ids=["on a grid point", "between"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_an_inflection_saddle_is_no_minimum(power, saddle, sign, x64_or_not):
    # f' = 0 at the saddle without changing sign: only the end f rises away from is one.
    m = find_minima(lambda x: sign * (x - saddle) ** power, -1.0, 1.0, num=1001)
    assert m.x.tolist() == ([-1.0] if sign > 0 else [1.0])
    assert m.at_boundary.tolist() == [True]


# ---- plateaus, where f' is rounding ----


def _ratio(x):
    """x**2 / (1 + x**2): lowest at 0, rising to a plateau at 1, f' = 2x / (1 + x**2)**2."""
    return x**2 / (1 + x**2)


def _ratio_small(x):
    return 1e-7 * _ratio(x)


def _ratio_tiny(x):
    return 1e-30 * _ratio(x)


def _ratio_huge(x):
    return 1e20 * _ratio(x)


def _ratio_slope(x):
    """f' of every _ratio above, in float64 without cancellation (a positive factor aside)."""
    return 2 * x / (1 + x**2) ** 2


@pytest.mark.parametrize("f", [_ratio, _ratio_huge], ids=["scale 1", "scale 1e20"])
@pytest.mark.parametrize("lo, hi", [(-1e5, -1e3), (-1e5, 1e5), (-3e4, 3e4), (-3e4, 10.0)], ids=str)
def test_a_plateau_where_f_prime_is_rounding_holds_no_minima(f, lo, hi, x64_or_not):
    # Far out f is 1 to its last float and jax.grad's f' a difference of two terms of about
    # 2 / x whose true value, 2 / x**3, is below their rounding in float32: its sign flipped
    # from grid point to grid point, and each flip was a minimum (2400 on [-1e5, -1e3]).
    m = find_minima(f, lo, hi)
    ref_x, ref_ends = reference_minima(_ratio_slope, lo, hi)
    assert m.at_boundary.tolist() == ref_ends.tolist()
    np.testing.assert_allclose(np.asarray(m.x, np.float64), ref_x, rtol=0, atol=1e-6)
    assert int(m.global_index) == int(np.argmin(np.abs(ref_x)))


@pytest.mark.parametrize(
    "f, scale", [(_ratio_small, 1e-7), (_ratio_tiny, 1e-30)], ids=["1e-7", "1e-30"]
)
@pytest.mark.parametrize("lo, hi", [(-3.0, 2.0), (-1e5, 1e5)], ids=str)
def test_a_small_plateau_keeps_its_one_minimum(f, scale, lo, hi, x64_or_not):
    # f's rounding is relative to its size: the climb out of 0 counts at any scale. (Its ends
    # on the plateau are left to f' there, which rounding sets in float32.)
    m = find_minima(f, lo, hi)
    inner = ~np.asarray(m.at_boundary)
    np.testing.assert_allclose(np.asarray(m.x, np.float64)[inner], [0.0], rtol=0, atol=1e-6)
    assert float(m.global_value) == 0.0 and abs(float(m.global_x)) <= 1e-6
    assert np.all(np.asarray(m.value, np.float64)[~inner] > 0.5 * scale)


@pytest.mark.thorough
@given(st.floats(2.0, 6.0), st.floats(2.0, 6.0), st.booleans())
@settings(max_examples=12, deadline=None, phases=_NO_SHRINK)
def test_plateaus_on_random_intervals_hold_only_the_well(a, b, x64_on):
    # One compiled search per dtype: only the interval changes between examples.
    lo, hi = -(10.0**a), 10.0**b
    with jax.enable_x64(x64_on):
        m = find_minima(_ratio, lo, hi)
    ref_x, ref_ends = reference_minima(_ratio_slope, lo, hi)
    assert ref_ends.tolist() == [False] and m.at_boundary.tolist() == [False]
    np.testing.assert_allclose(np.asarray(m.x, np.float64), ref_x, rtol=0, atol=1e-6)
    assert float(m.value[0]) <= 1e-12


def test_runs_reached_on_a_plateau_add_no_minima(x64_or_not):
    # Runs just past both ends: windows joined to the domain, the plateau searched farther.
    # Nothing there is a stationary minimum (the windows' own ends follow f' there).
    m = find_minima_reached(_ratio, np.array([-1.03e5, 1.02e5, -5e5]), (-1e5, 1e5))
    inner = ~np.asarray(m.at_boundary)
    np.testing.assert_allclose(np.asarray(m.x, np.float64)[inner], [0.0], rtol=0, atol=1e-6)
    assert float(m.global_value) == 0.0


@pytest.mark.parametrize("lo, hi", [(-1e10, 1e10), (-1e10, -1e8)], ids=str)
def test_a_float64_plateau_holds_no_minima(lo, hi, x64):
    # float64 cancels as float32 does, farther out: past |x| = 1e8, 2 / x**3 is below the
    # rounding of jax.grad's two terms of 2 / x (2500 minima on each interval). What the ends
    # are is left to f' there, rounding too; no point inside is a minimum but 0.
    m = find_minima(_ratio, lo, hi)
    inner = np.asarray(m.x, np.float64)[~np.asarray(m.at_boundary)]
    ref_x, ref_ends = reference_minima(_ratio_slope, lo, hi)
    np.testing.assert_allclose(inner, ref_x[~ref_ends], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["notebook", "rastrigin"])
@pytest.mark.parametrize("tol", [0.5, 0.1, 1e-3])
def test_a_loose_tol_keeps_every_minimum(name, tol):
    # f must climb out of each minimum past its rounding, measured from the lowest f within
    # the tolerance, inside the bracket: twice tol beside rastrigin's minimum at -5 is the
    # next well, and from there f fell, and minima were lost.
    spec = fns.get(name)
    exact = find_minima(spec.f, *spec.domain)
    m = find_minima(spec.f, *spec.domain, tol=tol)
    assert m.at_boundary.tolist() == exact.at_boundary.tolist()
    scale = tol * np.maximum(1.0, np.abs(np.asarray(exact.x, np.float64)))
    assert np.all(np.abs(np.asarray(m.x, np.float64) - np.asarray(exact.x)) <= 2 * scale)


@pytest.mark.parametrize(
    ("version", "given"),
    [
        ("0.8.0", True),
        ("0.9.1", True),
        ("0.10.2", True),
        ("0.10.2.dev20261201", True),
        ("0.7.2", False),
        ("0.11.0", False),
        ("1.0.0", False),
        ("0", False),
        ("unknown", False),
        ("0.x.1", False),
    ],
)
def test_the_searches_older_emitters_only_for_the_jaxlib_releases_measured(version, given):
    from jaxgd.minima import _solver_compile_options

    options = _solver_compile_options(version)
    assert options == ({"xla_cpu_use_fusion_emitters": False} if given else {})


@pytest.mark.parametrize("name", ["notebook", "double_well", "rastrigin", "plateau"])
def test_the_1d_search_gives_the_same_bits_as_with_xlas_default_options(
    name, x64_or_not, monkeypatch
):
    # The refinement is compiled with XLA:CPU's older fusion emitters (half the compile
    # time): its minima are those XLA's defaults give, bit for bit.
    import jaxgd.minima as minima

    f, (lo, hi) = getattr(fns, name), (-7.3, 6.1)
    ours = find_minima(f, lo, hi)
    monkeypatch.setattr(minima, "_refine_all", with_xla_default_options(minima._refine_all))
    theirs = find_minima(lambda x: f(x), lo, hi)  # a new f: compiled afresh
    for field in ("x", "value", "lo", "hi", "at_boundary", "resolution"):
        np.testing.assert_array_equal(getattr(ours, field), getattr(theirs, field), err_msg=field)
