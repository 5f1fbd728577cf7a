"""find_minima against independent float64 NumPy references and closed forms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd.functions as fns
from jaxgd.minima import Minima, find_minima
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
        (lambda x: x**2, 0.0, 1.0, [0.0], [True]),  # f'(lo) = 0, then f rises
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


def test_flat_bottom_gives_one_point_inside_it():
    m = find_minima(lambda x: jnp.where(jnp.abs(x) < 0.5, 0.0, (jnp.abs(x) - 0.5) ** 2), -2, 3)
    assert len(m) == 1 and -0.5 <= float(m.x[0]) <= 0.5 and float(m.value[0]) == 0.0


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
    assert len(jax.tree_util.tree_leaves(m)) == 4
    out = jax.jit(lambda m: m)(m)
    assert isinstance(out, Minima)
    np.testing.assert_array_equal(out.x, m.x)
    assert float(out.global_x) == float(m.global_x)
    doubled = jax.tree_util.tree_map(lambda a: a * 2, m)
    np.testing.assert_array_equal(doubled.x, 2 * m.x)


def test_tol_trades_precision(x64):
    m = find_minima(fns.notebook, -3.0, 0.0, tol=1e-3)
    assert abs(float(m.global_x) - -1.428870011214077) < 1e-2


def test_no_recompile_for_a_new_interval(compiles):
    find_minima(fns.rastrigin, -4.3, 4.4)
    with compiles:
        m = find_minima(fns.rastrigin, -4.2, 4.5)
    assert len(m) == 9
    assert compiles.count == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((1.0, 0.0), {}, ValueError, "lo must be below hi"),
        ((0.0, 0.0), {}, ValueError, "lo must be below hi"),
        ((float("nan"), 1.0), {}, ValueError, "lo must be finite"),
        ((0.0, float("inf")), {}, ValueError, "hi must be finite"),
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
