"""The snapshots as results: snapshot-major from the device, the caller's layout as a view."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from jaxgd import _run


def _snapshots(rng, g, rows, point=()):
    xs = rng.standard_normal((g, rows, _run.LANE_ROW, *point)).astype(np.float32)
    vs = rng.standard_normal((g, rows, _run.LANE_ROW)).astype(np.float32)
    for a in (xs, vs):  # non-finite cells in both, to be flagged diverged
        flat = a.reshape(-1)
        flat[rng.choice(flat.size, 40, replace=False)] = rng.choice([np.nan, np.inf, -np.inf], 40)
    return xs, vs


@pytest.mark.parametrize("point", [(), (3,)], ids=["scalar", "R^3"])
@pytest.mark.parametrize("g", [1, 7])
def test_finish_flattens_the_lanes_and_flags_every_non_finite_cell(rng, g, point):
    xs, vs = _snapshots(rng, g, rows=3, point=point)
    bad = np.asarray(_run._finish_one(xs, vs))
    lanes = 3 * _run.LANE_ROW
    np.testing.assert_array_equal(_run.flat(xs), xs.reshape(g, lanes, *point))
    bad_x = ~np.isfinite(xs).reshape(g, 3, _run.LANE_ROW, -1)
    want = ~np.isfinite(vs) | bad_x.any(axis=-1)  # any coordinate
    np.testing.assert_array_equal(bad, want.reshape(g, lanes))


def _tilted_well(x):
    # Its own function, so these sweeps compile their own programs: other tests count theirs.
    return (x**2 - 1.0) ** 2 + 0.3 * jnp.sin(3.0 * x)


def _layout_cases():
    f = _tilted_well
    yield "sorted", (f, np.linspace(-2.0, 2.0, 23), [0.01, 0.03, 0.05], [0, 4, 9])
    yield "unsorted, repeated", (f, np.linspace(-2.0, 2.0, 23), [0.01, 0.03, 0.05], [4, 0, 9, 4])
    yield "one of each", (f, 1.5, 0.1, 7)


@pytest.mark.parametrize("case", list(_layout_cases()), ids=lambda c: c[0])
def test_every_path_gives_the_caller_order_as_descend_does(case):
    _, (f, starts, rates, epochs) = case
    whole = jaxgd.sweep(f, starts, rates, epochs)
    chunked = jaxgd.sweep(f, starts, rates, epochs, chunk_size=5)
    grouped = jaxgd.sweep(f, starts, rates, epochs, memory_budget=1)  # one count per call
    traced = jax.jit(lambda s, r, e: jaxgd.sweep(f, s, r, e))(
        *(jnp.asarray(a) for a in (starts, rates, epochs))
    )
    for res in (chunked, grouped, traced):
        for name in ("final", "value", "diverged"):
            np.testing.assert_array_equal(np.asarray(getattr(res, name)), getattr(whole, name))
    # Each cell where jaxgd.descend's run of it ends, the same step vmapped as the sweep's.
    starts, rates, epochs = (jnp.atleast_1d(jnp.asarray(a)) for a in (starts, rates, epochs))
    cells = jax.vmap(
        jax.vmap(jax.vmap(jaxgd.descend, (None, None, None, 0)), (None, None, 0, None)),
        (None, 0, None, None),
    )(f, starts.astype(jnp.float32), rates.astype(jnp.float32), epochs)
    np.testing.assert_array_equal(whole.final, np.asarray(cells))


def test_a_result_is_a_view_of_the_snapshots_with_the_epoch_axis_moved():
    # The epoch axis moves by strides, not by a copy: the (S, L) slab of one count is
    # contiguous, as the device wrote it.
    res = jaxgd.sweep(jnp.cos, np.linspace(0.0, 3.0, 130), [0.1, 0.2], [5, 10, 20])
    assert res.final.shape == (130, 2, 3)
    assert res.final[..., 1].flags.c_contiguous
    assert not res.final.flags.writeable  # the device's buffer, not a copy


def _sqrt_bowl(x):
    # Its gradient has 1/sqrt: XLA turns it into rsqrt unless the value shares the graph.
    return jnp.sqrt(1.0 + x**2) + 0.5 * jnp.cos(3.0 * x)


def _rational(x):
    return x**2 / (1.0 + 0.25 * x**2) + 0.3 * jnp.sin(2.0 * x)


@pytest.mark.thorough
@pytest.mark.parametrize("f", [_sqrt_bowl, _rational], ids=["sqrt", "rational"])
@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
def test_a_cell_does_not_depend_on_which_other_counts_are_asked_for(f, x64_on):
    # At rate 0.6 these runs bounce chaotically: an ulp in one step becomes a different end.
    starts = np.linspace(-3.0, 3.0, 64)
    with jax.enable_x64(x64_on):
        one = jaxgd.sweep(f, starts, 0.6, 300)
        every = jaxgd.sweep(f, starts, 0.6, np.arange(1, 301))
        some = jaxgd.sweep(f, starts, 0.6, [300, 7, 150], chunk_size=16)
        dtype = jnp.zeros(()).dtype
        alone = jax.vmap(jaxgd.descend, (None, 0, None, None))(
            f, jnp.asarray(starts, dtype), 0.6, 300
        )
    for res, k in ((every, -1), (some, 0)):
        for name in ("final", "value", "diverged"):
            np.testing.assert_array_equal(getattr(res, name)[..., k], getattr(one, name)[..., 0])
    np.testing.assert_array_equal(one.final[:, 0, 0], np.asarray(alone))
