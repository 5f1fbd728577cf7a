"""find_minima against independent float64 NumPy references and closed forms."""

from __future__ import annotations

import contextlib
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd.functions as fns
from jaxgd.minima import Minima, find_minima

# Independent float64 NumPy versions of the library functions and their derivatives.
REFERENCE = {
    "notebook": (
        lambda x: np.sin(x) * np.exp(-0.05 * x**2),
        lambda x: (np.cos(x) - 0.1 * x * np.sin(x)) * np.exp(-0.05 * x**2),
    ),
    "double_well": (lambda x: x**4 - 2 * x**2 + 0.3 * x, lambda x: 4 * x**3 - 4 * x + 0.3),
    "rastrigin": (
        lambda x: 10 + x**2 - 10 * np.cos(2 * np.pi * x),
        lambda x: 2 * x + 20 * np.pi * np.sin(2 * np.pi * x),
    ),
    "plateau": (lambda x: 1 - np.exp(-(x**2)), lambda x: 2 * x * np.exp(-(x**2))),
    "steep_wall": (lambda x: x**4 / 4 + x**2 / 2, lambda x: x**3 + x),
    "saddle": (lambda x: x**4 / 4 - x**3 / 3, lambda x: x**3 - x**2),
}


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


@contextlib.contextmanager
def count_compiles():
    """Collects the names of the XLA compilations that run inside the block."""
    compiled: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record):
            if record.getMessage().startswith("Compiling"):
                compiled.append(record.getMessage())

    handler, logger = Handler(), logging.getLogger("jax")
    logger.addHandler(handler)
    try:
        with jax.log_compiles():
            yield compiled
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


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


def test_no_recompile_for_a_new_interval():
    find_minima(fns.rastrigin, -4.3, 4.4)
    with count_compiles() as compiled:
        m = find_minima(fns.rastrigin, -4.2, 4.5)
    assert len(m) == 9
    assert compiled == []


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
def test_bad_arguments_raise_before_compiling(args, kwargs, error, match):
    with count_compiles() as compiled, pytest.raises(error, match=match):
        find_minima(jnp.sin, *args, **kwargs)
    assert compiled == []


@pytest.mark.parametrize(
    ("f", "match"),
    [
        ("sin", "f must be a callable"),
        (lambda x: jnp.stack([x, x]), r"real floating scalar.*shape=\(2,\)"),
        (lambda x: x.astype(jnp.complex64), "real floating scalar"),
        (lambda x: 1, "real floating scalar"),
        (lambda x, y: x + y, "f must accept a scalar"),
    ],
)
def test_bad_functions_raise_type_error(f, match):
    with count_compiles() as compiled, pytest.raises(TypeError, match=match):
        find_minima(f, 0.0, 1.0)
    assert compiled == []


def test_traced_interval_is_rejected():
    with pytest.raises(TypeError, match="lo must be a concrete number"):
        jax.jit(lambda lo: find_minima(jnp.sin, lo, 1.0))(0.0)
