"""jaxgd.analysis on host arrays: NumPy gives the compiled rule's ints and compiles nothing."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxgd.analysis import _is_global, global_minima, nearest_minimum
from jaxgd.functions import notebook
from jaxgd.minima import Minima, find_minima

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0]


@st.composite
def minima_and_points(draw):
    n = draw(st.integers(0, 6))
    grid = draw(st.sampled_from([1.0, 0.5, 1e-3, 1e4]))
    # Whole multiples of a grid, so points can sit exactly on a minimum, half-way between
    # two, or exactly tol away: the ties where two ways of computing could part.
    xs = np.unique(draw(st.lists(st.integers(-40, 40), min_size=n, max_size=n))) * grid
    values = np.asarray(
        draw(
            st.lists(
                st.sampled_from([-2.0, -1.0, -1.0 + 1e-6, 0.0, 3.0]),
                min_size=xs.size,
                max_size=xs.size,
            )
        ),
        np.float64,
    )
    ends = np.asarray(draw(st.lists(st.booleans(), min_size=xs.size, max_size=xs.size)), bool)
    steps = st.integers(-90, 90).map(lambda k: k * grid / 2)
    points = draw(st.lists(st.one_of(steps, st.sampled_from(SPECIAL)), min_size=0, max_size=12))
    tol = draw(st.sampled_from([grid / 2, grid, 1e-3, 0.25]))
    return xs, values, ends, np.asarray(points, np.float64), tol


def _minima(xs, values, ends, dtype):
    g = int(np.argmin(values)) if np.size(values) else -1
    return Minima(
        x=np.asarray(xs, dtype),
        value=np.asarray(values, dtype),
        at_boundary=np.asarray(ends, bool),
        global_index=np.asarray(g, np.int32),
    )


def _on_device(m):
    return jax.tree_util.tree_map(jnp.asarray, m)


def _check(case, dtype, tol_type):
    xs, values, ends, points, tol = case
    m = _minima(xs, values, ends, dtype)
    tol = tol_type(tol)
    for x in (points, points.astype(np.float32), points.reshape(-1, 1)):
        with warnings.catch_warnings():
            # Minima far out (1e4) with a fine tol are warned of, alike on both paths.
            warnings.filterwarnings("ignore", "tol=.* is finer than", UserWarning)
            host = nearest_minimum(x, m, tol=tol)
            compiled = nearest_minimum(jnp.asarray(x), _on_device(m), tol=tol)
        assert host.dtype == compiled.dtype == np.int32
        np.testing.assert_array_equal(host, compiled)
    expected = np.flatnonzero(np.asarray(_is_global(_on_device(m)))) if len(m) else []
    assert sorted(global_minima(m).tolist()) == sorted(np.asarray(expected).tolist())


@pytest.mark.thorough
@settings(max_examples=60, deadline=None)
@given(
    minima_and_points(),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([float, np.float64]),
)
def test_host_rule_equals_the_compiled_one(case, dtype, tol_type):
    _check(case, dtype, tol_type)


@pytest.mark.thorough
@settings(max_examples=30, deadline=None)
@given(
    minima_and_points(),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([float, np.float64]),
)
def test_host_rule_equals_the_compiled_one_in_float64(case, dtype, tol_type):
    with jax.enable_x64(True):
        _check(case, dtype, tol_type)


def test_integer_and_list_positions_match(x64):
    m = find_minima(notebook, -6.0, 6.0)
    for x in ([-1, 4, 0], [[-1.4289], [4.3058]], -1.4289):
        np.testing.assert_array_equal(
            nearest_minimum(x, m, tol=0.5), nearest_minimum(jnp.asarray(x), m, tol=0.5)
        )


def test_host_positions_compile_nothing(compiles):
    m = jax.tree_util.tree_map(np.asarray, find_minima(notebook, -6.0, 6.0))
    final = np.linspace(-6.0, 6.0, 2000).reshape(50, 40)
    nearest_minimum(final, m)  # anything the first call needs besides the rule itself
    with compiles:
        which = nearest_minimum(final, m)
        one = nearest_minimum([float(final[3, 4])], m)
        row = nearest_minimum(final[7], m)
        best = global_minima(m)
    assert compiles.count == 0  # the compiled rule: one program per shape, eager ops: eight
    assert which[3, 4] == one[0] and (row == which[7]).all()
    assert best.tolist() == [1]


def test_device_positions_still_take_the_compiled_rule(compiles):
    m = find_minima(notebook, -6.0, 6.0)
    x = jnp.linspace(-6.0, 6.0, 37)
    with compiles:
        nearest_minimum(x, m)
    assert compiles.count >= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_global_minima_ties_within_the_relative_tolerance(dtype):
    # -1 and -1 + 1e-6 tie (1e-5 relative); 0 does not; an end never counts.
    m = _minima([-3.0, -1.0, 0.0, 2.0], [-1.0, -1.0 + 1e-6, 0.0, -5.0], [0, 0, 0, 1], dtype)
    assert global_minima(m).tolist() == [0, 1]
