"""basins, success_probability and random_starts against direct NumPy counts over the cells."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd
import jaxgd.functions as fns
from jaxgd.analysis import (
    Basins,
    RandomStarts,
    basins,
    downhill_minimum,
    global_minima,
    nearest_minimum,
    random_starts,
    success_probability,
)
from jaxgd.functions import notebook
from jaxgd.minima import Minima, find_minima, find_minima_reached
from jaxgd.result import SweepResult
from tests.reference_functions import REFERENCE

REFERENCE_NB_DF = REFERENCE["notebook"].df

# A boundary minimum and two basins (notebook), eleven minima (rastrigin), divergence
# (steep_wall); double_well is checked by hand and in the random-start cases below.
NAMES = ["notebook", "rastrigin", "steep_wall"]
RATES = [1e-3, 1e-2, 0.1, 0.6]
EPOCHS = [0, 30, 1000]


@pytest.fixture(params=[False, True], ids=["float32", "float64"])
def precision(request):
    """Run the test in float32, then in float64; yields the NumPy dtype of the results."""
    with jax.enable_x64(request.param):
        yield np.dtype(np.float64 if request.param else np.float32)


def reference_basins(final, minima, tol):
    """Cell by cell: the nearest stationary minimum by hand, -1 if farther than tol or not
    finite; reached where that minimum ties with the lowest stationary one.

    Distances are taken in the result's own dtype, as the library does, so a cell exactly
    at tol cannot come out differently through rounding alone.
    """
    final, xs = np.asarray(final), np.asarray(minima.x)
    stationary = [i for i, end in enumerate(np.asarray(minima.at_boundary)) if not end]
    values = {i: float(minima.value[i]) for i in stationary}
    lowest = min(values.values(), default=np.inf)
    best = {i for i, v in values.items() if v <= lowest + 1e-5 * max(1.0, abs(lowest))}
    index = np.full(final.shape, -1)
    for cell in np.ndindex(final.shape):
        if not np.isfinite(final[cell]) or not stationary:
            continue
        distance = np.abs(xs[stationary] - final[cell])
        nearest = int(np.argmin(distance))
        if distance[nearest] <= final.dtype.type(tol):
            index[cell] = stationary[nearest]
    reached = np.isin(index, list(best))
    return index, reached


def direct_success(reached, n_starts):
    """Per (rate, epochs): how many of the starts reached the global minimum, over S."""
    _, n_rates, n_epochs = reached.shape
    out = np.zeros((n_rates, n_epochs))
    for j in range(n_rates):
        for k in range(n_epochs):
            out[j, k] = sum(bool(reached[i, j, k]) for i in range(n_starts)) / n_starts
    return out


def flat(x):
    """No minima anywhere: f' is 0, so descent stays at its start."""
    return 0.0 * x + 1.0


def ended_at(final):
    """A one-axis result (float32) whose runs ended at ``final``: for rules needing no descent."""
    final = np.asarray(final, np.float32)
    return SweepResult(
        final=final,
        value=np.zeros_like(final),
        diverged=~np.isfinite(final),
        starts=np.arange(final.size, dtype=np.float32),
        learning_rates=np.float32(0.1),
        epochs=np.int32(100),
        dims=("start",),
    )


def minima_at(x, value, at_boundary):
    """A Minima written by hand (float32), ``global_index`` the lowest value as find_minima's."""
    value = np.asarray(value, np.float32)
    return Minima(
        x=np.asarray(x, np.float32),
        value=value,
        at_boundary=np.asarray(at_boundary),
        global_index=np.int32(np.argmin(value)),
    )


def grid_sweep(name, n_starts=15):
    spec = fns.get(name)
    starts = np.linspace(*spec.domain, n_starts)
    return spec, jaxgd.sweep(spec.f, starts, RATES, EPOCHS), find_minima(spec.f, *spec.domain)


# -- basins ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_basins_match_direct_nearest_minimum(name, precision):
    _, res, minima = grid_sweep(name)
    b = basins(res, minima)
    index, reached = reference_basins(res.final, minima, 1e-3)
    assert isinstance(b, Basins) and b.dims == res.dims and b.shape == res.shape
    assert b.index.dtype == jnp.int32 and b.reached_global.dtype == jnp.bool_
    assert res.final.dtype == precision
    np.testing.assert_array_equal(b.index, index)
    np.testing.assert_array_equal(b.reached_global, reached)
    assert (index >= 0).any() and reached.any()  # the comparison is not vacuous


def test_double_well_ends_on_the_side_it_starts():
    # The hump is near x = 0.075: left starts reach the deeper (global) left minimum.
    minima = find_minima(fns.double_well, *fns.get("double_well").domain)
    res = jaxgd.sweep(fns.double_well, [-1.5, -0.5, 0.5, 1.5], 0.05, 2000)
    b = basins(res.squeeze(), minima)
    assert b.dims == ("start",)
    assert b.index.tolist() == [0, 0, 1, 1]
    assert b.reached_global.tolist() == [True, True, False, False]


def test_an_end_of_the_interval_is_never_reached():
    # -2π is a minimum of f on the interval (f rises away from it), but descent runs past it:
    # even a run sitting exactly there has not ended at a minimum.
    spec = fns.get("notebook")
    minima = find_minima(spec.f, *spec.domain)
    assert minima.at_boundary.tolist() == [True, False, False]
    x = np.asarray(minima.x)
    b = basins(ended_at([*x, x[0] - 2e-4]), minima)
    assert b.index.tolist() == [-1, 1, 2, -1]
    assert b.reached_global.tolist() == [False, True, False, False]


def test_equally_deep_minima_are_all_global():
    # Both wells of (x^2 - 1)^2, their values apart by float32 rounding only.
    minima = minima_at([-1.0, 1.0], [0.0, 1e-7], [False, False])
    b = basins(ended_at([-1.0004, 0.9999, 0.0, np.nan, np.inf]), minima)
    assert b.index.tolist() == [0, 1, -1, -1, -1]
    assert b.reached_global.tolist() == [True, True, False, False, False]
    deeper_left = minima_at([-1.0, 1.0], [0.0, 0.5], [False, False])
    assert basins(ended_at([-1.0, 1.0]), deeper_left).reached_global.tolist() == [True, False]


def test_a_lower_end_of_the_interval_is_not_the_global_minimum():
    # cos(x) - 0.3x on [0, 8]: f still falls at 8, so the lowest point is that end (where
    # global_index points); the minimum descent can reach is at pi + asin(0.3).
    g = lambda x: np.cos(x) - 0.3 * x
    x = np.array([np.pi + np.arcsin(0.3), 8.0])
    minima = minima_at(x, g(x), [False, True])
    assert int(minima.global_index) == 1
    b = basins(ended_at([x[0] + 5e-4, 8.0, x[0] + 2 * np.pi]), minima)
    assert b.index.tolist() == [0, -1, -1]
    assert b.reached_global.tolist() == [True, False, False]


def test_tol_is_the_distance_that_counts_as_arrived():
    minima = find_minima(fns.notebook, *fns.get("notebook").domain)
    near, far = float(minima.x[1]) + 7e-5, float(minima.x[1]) + 2e-3
    result = ended_at([near, far])
    assert basins(result, minima).index.tolist() == [1, -1]  # tol=1e-3
    assert basins(result, minima, tol=1e-4).index.tolist() == [1, -1]
    assert basins(result, minima, tol=1e-5).index.tolist() == [-1, -1]
    assert basins(result, minima, tol=1e-2).index.tolist() == [1, 1]


def test_diverged_cells_are_minus_one():
    # Rate 0.6 overshoots the steep walls from starts beyond |x| = sqrt(2/0.6 - 1).
    _, res, minima = grid_sweep("steep_wall")
    b = basins(res, minima)
    diverged = np.asarray(res.diverged)
    assert diverged.any() and not diverged.all()
    assert (np.asarray(b.index)[diverged] == -1).all()
    assert not np.asarray(b.reached_global)[diverged].any()


def test_basins_inside_jit_equals_outside():
    _, res, minima = grid_sweep("rastrigin")
    outside = basins(res, minima)
    inside = jax.jit(basins)(res, minima)
    traced_tol = jax.jit(lambda r, m, t: basins(r, m, tol=t))(res, minima, 1e-3)
    for b in (inside, traced_tol):
        assert isinstance(b, Basins) and b.dims == outside.dims
        np.testing.assert_array_equal(b.index, outside.index)
        np.testing.assert_array_equal(b.reached_global, outside.reached_global)


@pytest.mark.parametrize(
    ("select", "take"),
    [
        (lambda r: r.isel(learning_rate=1), lambda a: a[:, 1]),
        (lambda r: r.sel(epochs=1000), lambda a: a[:, :, 2]),
        (lambda r: r.isel(start=3, epochs=2), lambda a: a[3, :, 2]),
        (
            lambda r: r.isel(
                start=slice(3, 4), learning_rate=slice(2, 3), epochs=slice(1, 2)
            ).squeeze(),
            lambda a: a[3, 2, 1],
        ),
        (lambda r: r.to_numpy(), lambda a: a),
    ],
    ids=["isel-rate", "sel-epochs", "two-dropped", "squeezed-scalar", "numpy"],
)
def test_basins_of_a_selection_are_the_selection_of_basins(select, take):
    _, res, minima = grid_sweep("notebook")
    full = basins(res, minima)
    part = select(res)
    b = basins(part, minima)
    assert b.dims == part.dims
    np.testing.assert_array_equal(b.index, take(np.asarray(full.index)))
    np.testing.assert_array_equal(b.reached_global, take(np.asarray(full.reached_global)))


def test_no_minima_gives_minus_one_everywhere():
    minima = find_minima(flat, -1.0, 1.0)
    assert len(minima) == 0
    result = ended_at([-0.5, 0.0, 0.5, np.inf])
    b = basins(result, minima)
    assert b.shape == (4,) and b.index.dtype == jnp.int32
    assert b.index.tolist() == [-1] * 4 and b.reached_global.tolist() == [False] * 4
    assert float(success_probability(result, minima)) == 0.0
    np.testing.assert_array_equal(jax.jit(basins)(result, minima).index, b.index)


def test_basins_is_a_pytree_with_static_dims():
    _, res, minima = grid_sweep("notebook")
    b = basins(res.isel(epochs=2), minima)
    assert len(jax.tree_util.tree_leaves(b)) == 2
    moved = jax.tree.map(lambda a: a, b)
    assert isinstance(moved, Basins) and moved.dims == ("start", "learning_rate")


# -- success_probability ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_success_equals_a_direct_count_over_the_same_starts(name, precision):
    _, res, minima = grid_sweep(name)
    p = success_probability(res, minima)
    _, reached = reference_basins(res.final, minima, 1e-3)
    expected = direct_success(reached, res.sizes["start"])
    assert p.shape == (len(RATES), len(EPOCHS))
    np.testing.assert_allclose(p, expected, rtol=1e-6, atol=0)


def test_success_averages_the_start_axis_wherever_it_is():
    _, res, minima = grid_sweep("notebook")
    p = success_probability(res, minima)
    moved = dataclasses.replace(
        res,
        final=jnp.moveaxis(res.final, 0, -1),
        value=jnp.moveaxis(res.value, 0, -1),
        diverged=jnp.moveaxis(res.diverged, 0, -1),
        dims=("learning_rate", "epochs", "start"),
    )
    np.testing.assert_array_equal(success_probability(moved, minima), p)
    np.testing.assert_array_equal(success_probability(res.isel(learning_rate=2), minima), p[2])
    np.testing.assert_array_equal(jax.jit(success_probability)(res, minima), p)


def test_success_needs_a_start_axis():
    _, res, minima = grid_sweep("notebook")
    with pytest.raises(ValueError, match=r"no 'start' axis.*res.sel\(start=\[x0, x1\]\)"):
        success_probability(res.isel(start=0), minima)


# -- random_starts ---------------------------------------------------------------------------


RANDOM_CASES = [
    ("notebook", [0.01, 0.1, 1.0]),
    ("double_well", [0.01, 0.2, 5.0]),  # 5.0 overshoots from most starts
    ("steep_wall", [0.1, 0.4, 50.0]),  # 0.4 diverges from far starts, 50 from all
]


@pytest.mark.parametrize(
    ("name", "rates", "x64_on"),
    [(*case, False) for case in RANDOM_CASES]
    + [(*case, True) for case in RANDOM_CASES if case[0] == "steep_wall"],
    ids=lambda v: {False: "float32", True: "float64"}.get(v) if isinstance(v, bool) else None,
)
def test_random_start_statistics_match_numpy(name, rates, x64_on):
    spec = fns.get(name)
    with jax.enable_x64(x64_on):
        rs = random_starts(spec.f, jax.random.key(1), rates, [0, 50, 500], n=64, domain=spec.domain)
        # The one rule for minima: those of the domain and those where runs settled past it.
        found = find_minima_reached(spec.f, rs.result.final, spec.domain)
    precision = np.dtype(np.float64 if x64_on else np.float32)
    assert isinstance(rs, RandomStarts) and rs.shape == (len(rates), 3)
    final = np.asarray(rs.result.final, np.float64)
    assert rs.result.final.dtype == precision and rs.result.shape == (64, len(rates), 3)

    _, reached = reference_basins(rs.result.final, rs.minima, 1e-3)
    np.testing.assert_allclose(rs.success, direct_success(reached, 64), rtol=1e-6)
    finite = np.isfinite(final)
    np.testing.assert_allclose(rs.diverged_fraction, 1 - finite.mean(axis=0), rtol=1e-6)
    spread = np.full(rs.shape, np.nan)
    for j, k in np.ndindex(rs.shape):
        ok = finite[:, j, k]
        if ok.any():
            spread[j, k] = np.std(final[ok, j, k])
    tol = (
        {"rtol": 1e-12, "atol": 1e-12} if precision == np.float64 else {"rtol": 2e-5, "atol": 1e-5}
    )
    np.testing.assert_allclose(rs.spread, spread, **tol)  # NaN where every start diverged

    assert isinstance(rs.minima, Minima)
    np.testing.assert_array_equal(rs.minima.x, found.x)


# The tests below reuse the shapes of the cases above (n=64, three rates, three epoch counts):
# same f and shapes, so the compiled call is shared and the suite stays quick.


def test_spread_is_nan_only_where_every_start_diverged():
    spec = fns.get("steep_wall")
    rs = random_starts(
        spec.f, jax.random.key(0), [0.1, 0.4, 50.0], [0, 50, 500], domain=spec.domain, n=64
    )
    # Epoch 0 is the start itself: nothing has diverged yet, whatever the rate. After 500
    # epochs rate 0.1 is stable everywhere, 0.4 diverges from far starts, 50 from every one.
    diverged, spread, success = map(np.asarray, (rs.diverged_fraction, rs.spread, rs.success))
    assert diverged[:, 0].tolist() == [0.0, 0.0, 0.0]
    low, mid, high = diverged[:, 2].tolist()
    assert low == 0.0 and 0.0 < mid < 1.0 and high == 1.0
    assert np.isnan(spread[2, 2]) and np.isfinite(spread[:2]).all()
    assert success[0, 2] == 1.0 and success[2, 2] == 0.0


def test_starts_are_uniform_in_the_domain_and_shared_by_every_cell():
    lo, hi = fns.get("notebook").domain
    rs = random_starts(
        fns.notebook, jax.random.key(3), [0.0, 0.1, 1.0], [0, 10, 50], n=64, domain=(lo, hi)
    )
    starts = np.asarray(rs.result.starts)
    assert starts.shape == (64,) and ((starts >= lo) & (starts <= hi)).all()
    # Mean and variance of a uniform draw, to 5 standard errors (deterministic for this key).
    width, n = hi - lo, starts.size
    assert abs(starts.mean() - (lo + hi) / 2) < 5 * width / np.sqrt(12 * n)
    assert abs(starts.var() - width**2 / 12) < 5 * width**2 / np.sqrt(180 * n)
    # Epoch 0, or rate 0, leaves every run at its start: each cell saw the same starts.
    for j, k in [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)]:
        np.testing.assert_array_equal(np.asarray(rs.result.final)[:, j, k], starts)


@pytest.mark.parametrize("domain", [(-1e39, 1e39), (-3e38, 3e38), (0.0, 3.5e38)])
def test_a_domain_past_the_dtype_is_refused_before_anything_runs(domain, compiles):
    # Its ends or its width overflow float32: every start drawn would be inf (the error
    # named the starts, as NaN, after the search for minima had run).
    with compiles, pytest.raises(ValueError, match=r"domain: .* does not fit float32"):
        random_starts(lambda x: x**2, jax.random.key(0), 0.1, 10, n=8, domain=domain)
    assert compiles.count == 0
    # The widest that fits draws finite starts.
    rs = random_starts(lambda x: x**2, jax.random.key(0), 0.1, 10, n=8, domain=(-1.7e38, 1.7e38))
    assert np.isfinite(np.asarray(rs.result.starts)).all()


def call_notebook(key, rates=(0.01, 0.1, 1.0), epochs=(10, 100, 1000), **kwargs):
    spec = fns.get("notebook")
    return random_starts(spec.f, key, rates, epochs, n=64, domain=spec.domain, **kwargs)


def test_same_key_same_output_other_key_other_starts():
    a, b, c = (call_notebook(jax.random.key(seed)) for seed in (7, 7, 8))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.any(np.asarray(a.result.starts) == np.asarray(c.result.starts))
    # A legacy uint32 key of the same seed draws the same starts.
    legacy = call_notebook(jax.random.PRNGKey(7))
    np.testing.assert_array_equal(legacy.result.starts, a.result.starts)
    np.testing.assert_array_equal(legacy.success, a.success)


def test_one_compile_for_new_keys_rates_epochs_domain_and_tol(compiles):
    call_notebook(jax.random.key(0))
    call_notebook(jax.random.PRNGKey(0))  # wrapping a legacy key compiles a tiny op once
    with compiles:
        for seed, rates, epochs, domain, tol in [
            (1, [0.02, 0.2, 0.3], [5, 500, 50], (-6.0, 6.0), 1e-3),
            (2, [0.05, 0.03, 0.0], [100, 0, 0], (-5.0, 2.5), 1e-2),
        ]:
            spec = fns.get("notebook")
            rs = random_starts(
                spec.f, jax.random.key(seed), rates, epochs, n=64, domain=domain, tol=tol
            )
            random_starts(spec.f, jax.random.PRNGKey(seed), rates, epochs, n=64, domain=domain)
    assert compiles.count == 0, compiles.names
    assert rs.shape == (3, 3) and float(rs.result.starts.max()) <= 2.5


def test_given_minima_are_used_as_they_are():
    spec = fns.get("notebook")
    # Make the right-hand minimum the lowest: success then means reaching 4.3058. (Same
    # shapes as the minima found, so the compiled call is reused.)
    found = find_minima(spec.f, *spec.domain)
    value = np.array(found.value)
    value[2] = -10.0
    right = dataclasses.replace(found, value=jax.device_put(value))
    rs = call_notebook(jax.random.key(0), minima=right)
    assert rs.minima is right
    final = np.asarray(rs.result.final)[:, 1, 2]  # rate 0.1, 1000 epochs
    success = float(np.asarray(rs.success)[1, 2])
    assert success == pytest.approx(np.mean(np.abs(final - 4.305801) < 1e-3))
    assert 0 < success < 1
    default = call_notebook(jax.random.key(0))
    assert success != float(np.asarray(default.success)[1, 2])


def test_inside_jit_with_given_minima_equals_outside():
    spec = fns.get("notebook")
    minima = find_minima(spec.f, *spec.domain)

    def success(key, rates):
        return call_notebook(key, rates=rates, minima=minima).success

    rates = jnp.array([0.01, 0.1, 1.0])
    inside = jax.jit(success)(jax.random.PRNGKey(5), rates)
    np.testing.assert_array_equal(inside, success(jax.random.key(5), rates))


@pytest.mark.thorough
@pytest.mark.parametrize("n", [103, 7, 1000])
def test_every_path_gives_a_share_the_same_bits(n):
    # Outside jit the shares were count / n, correctly rounded; inside jit and in
    # success_probability, XLA's mean (count * (1 / n)): 0.3883495 against 0.38834953.
    # Every path now divides, correctly rounded: the float nearest count / n.
    spec = fns.get("notebook")
    minima = find_minima(spec.f, *spec.domain)
    rates, epochs = jnp.array([0.01, 0.1, 3.0]), jnp.array([10, 1000])

    def call(key):
        return random_starts(
            spec.f, key, rates, epochs, n=n, domain=spec.domain, minima=minima, tol=1e-2
        )

    outside, inside = call(jax.random.key(3)), jax.jit(call)(jax.random.key(3))
    reached = np.asarray(basins(outside.result, minima, tol=1e-2).reached_global)
    dtype = np.asarray(outside.success).dtype
    counts = {
        "success": reached.sum(0),
        "diverged_fraction": np.asarray(outside.result.diverged).sum(0),
    }
    assert (counts["success"] % n != 0).any()  # shares that no power of two gives exactly
    for name, count in counts.items():
        expected = (count / n).astype(dtype)
        np.testing.assert_array_equal(np.asarray(getattr(outside, name)), expected)
        np.testing.assert_array_equal(np.asarray(getattr(inside, name)), expected)
    np.testing.assert_array_equal(
        np.asarray(success_probability(outside.result, minima, tol=1e-2)), outside.success
    )


def test_inside_jit_over_the_minima_alone_equals_outside():
    # Key, rates and epochs closed over (concrete), only the minima traced: the host path
    # was taken and read the traced minima as NumPy (TracerArrayConversionError).
    minima = find_minima(fns.notebook, -6.0, 6.0)
    key = jax.random.key(0)

    def success(m):
        return random_starts(fns.notebook, key, [0.1], [300], n=103, domain=(-6, 6), minima=m)

    np.testing.assert_array_equal(jax.jit(lambda m: success(m).success)(minima),
                                  success(minima).success)  # fmt: skip


def test_inside_jit_over_tol_equals_outside_and_does_not_recompile(compiles):
    # tol traced (a caller's jit over it, as basins allows): random_starts raised "tol must be
    # a concrete number" however the minima were given.
    minima = find_minima(fns.notebook, -6.0, 6.0)
    key = jax.random.key(0)

    @jax.jit
    def success(tol):
        return random_starts(
            fns.notebook, key, [0.1, 0.01], [300], n=103, domain=(-6, 6), tol=tol, minima=minima
        ).success

    for tol in (1e-3, 0.5):
        outside = random_starts(
            fns.notebook, key, [0.1, 0.01], [300], n=103, domain=(-6, 6), tol=tol, minima=minima
        ).success
        np.testing.assert_array_equal(success(tol), outside)
    with compiles:
        success(0.2)
    assert compiles.count == 0
    with pytest.raises(ValueError, match="tol must be a scalar"):
        jax.jit(lambda t: random_starts(fns.notebook, key, 0.1, [10], n=4, domain=(-6, 6),
                                        tol=t, minima=minima).success)(jnp.ones(2))  # fmt: skip
    with pytest.raises(TypeError, match="needs minima="):  # the search needs a concrete tol too
        jax.jit(lambda t: random_starts(fns.notebook, key, 0.1, [10], n=4, domain=(-6, 6),
                                        tol=t).success)(1e-3)  # fmt: skip


def test_a_share_counted_again_after_the_search_has_the_same_bits_kept_or_not():
    # Runs from (0, 6) leave it for the minimum at -1.43: the minima are searched again and
    # the kept sweep counted again, which still divided (0.25999999 against 0.26000002).
    kw = {"n": 1000, "domain": (0.0, 6.0)}
    kept = random_starts(fns.notebook, jax.random.key(1), [0.1, 0.5], [500], **kw)
    lean = random_starts(fns.notebook, jax.random.key(1), [0.1, 0.5], [500], **kw,
                         keep_result=False)  # fmt: skip
    assert float(kept.minima.global_x) < 0.0  # found outside the domain
    np.testing.assert_array_equal(kept.success, lean.success)
    reached = np.asarray(basins(kept.result, kept.minima).reached_global).sum(0)
    dtype = np.asarray(kept.success).dtype
    np.testing.assert_array_equal(kept.success, (reached / 1000).astype(dtype))


@pytest.mark.thorough
@pytest.mark.parametrize(("x64_on", "n"), [(False, 41), (True, 49), (False, 5), (True, 5)])
def test_a_share_is_the_float_nearest_its_fraction(x64_on, n):
    # Every path multiplied the count by the rounded reciprocal of n (what XLA makes of a
    # division by a scalar): all 41 starts reaching the minimum came out as 0.99999994 in
    # float32, all 49 as 0.9999999999999999 in float64, and 3 of 5 as 0.6000000000000001.
    def f(x):
        return (x - 1.0) ** 2

    minima = find_minima(f, -3.0, 3.0)
    with jax.enable_x64(x64_on):
        dtype = np.dtype(np.float64 if x64_on else np.float32)
        k = 3 if n == 5 else n - 2
        # At rate 0 the k starts at the minimum are there and the others not: k of n; at
        # rate 0.4 every start reaches it within 300 steps: n of n.
        starts = np.concatenate([np.ones(k), np.linspace(2.0, 3.0, n - k)])
        res = jaxgd.sweep(f, starts, [0.0, 0.4], [300])
        expected = np.array([[k / n], [1.0]]).astype(dtype)
        np.testing.assert_array_equal(success_probability(res, minima), expected)
        np.testing.assert_array_equal(
            jax.jit(lambda r: success_probability(r, minima))(res), expected
        )
        domain = (0.5, 1.5)  # every start reaches the minimum at 1 after 300 steps at 0.4
        rs = random_starts(f, jax.random.key(0), [0.4], [300], n=n, domain=domain)
        kept_not = random_starts(
            f, jax.random.key(0), [0.4], [300], n=n, domain=domain, keep_result=False
        )
        in_jit = jax.jit(
            lambda key: random_starts(f, key, [0.4], [300], n=n, domain=domain, minima=minima)
        )(jax.random.key(0))
        for share in (rs.success, kept_not.success, in_jit.success):
            assert np.asarray(share).tolist() == [[1.0]]


def test_success_probability_over_no_starts_is_nan():
    res = jaxgd.sweep(fns.notebook, [0.0, 1.0], [0.1], [10]).isel(start=slice(0, 0))
    assert np.isnan(np.asarray(success_probability(res, find_minima(fns.notebook, -6, 6)))).all()


def test_inside_jit_without_minima_says_to_find_them_outside():
    # The search for minima runs on the host: inside jit it raised JAX's raw
    # TracerArrayConversionError.
    with pytest.raises(TypeError, match=r"needs minima=.*jaxgd.find_minima\(f, -6, 6\)"):
        jax.jit(lambda k: random_starts(fns.notebook, k, 0.1, [10], n=4, domain=(-6, 6)).success)(
            jax.random.key(0)
        )
    kept = random_starts(fns.notebook, jax.random.key(0), 0.1, [10], n=4, domain=(-6, 6))
    lean = random_starts(
        fns.notebook,
        jax.random.key(0),
        0.1,
        [10],
        n=4,
        domain=(-6, 6),
        keep_result=np.bool_(False),  # NumPy's bool is a bool here too
    )
    np.testing.assert_array_equal(lean.success, kept.success)


def test_a_single_start_and_a_flat_function():
    rs = random_starts(flat, jax.random.key(0), 0.1, 10, n=1, domain=(-1, 1))
    assert len(rs.minima) == 0 and rs.success.tolist() == [[0.0]]
    assert rs.spread.tolist() == [[0.0]] and rs.diverged_fraction.tolist() == [[0.0]]


# -- bad input -------------------------------------------------------------------------------

GOOD = {"n": 8, "domain": (-2.0, 2.0)}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"f": "sin"}, TypeError, "f must be a callable"),
        ({"f": lambda x: np.sin(x)}, TypeError, "write it with jax.numpy"),
        ({"key": 0}, TypeError, r"key must be a JAX PRNG key.*jax.random.key\(0\)"),
        ({"key": np.zeros(2)}, TypeError, "key must be a JAX PRNG key"),
        ({"key": jax.random.split(jax.random.key(0), 3)}, ValueError, r"single key.*\(3,\)"),
        ({"key": np.zeros(3, np.uint32)}, ValueError, "key looks like raw key data"),
        ({"n": 0}, ValueError, "n must be >= 1"),
        ({"n": 8.0}, TypeError, "n must be an int"),
        ({"n": True}, TypeError, "n must be an int"),
        ({"domain": (2.0, -2.0)}, ValueError, r"domain must be \(lo, hi\) with lo < hi"),
        ({"domain": (0.0, np.inf)}, ValueError, r"domain\[1\] must be finite"),
        ({"domain": ("a", 1.0)}, TypeError, r"domain\[0\] must be a real number"),
        ({"domain": 2.0}, TypeError, r"domain must be a pair \(lo, hi\)"),
        ({"domain": (0.0, 1.0, 2.0)}, TypeError, "domain must be a pair"),
        ({"tol": 0.0}, ValueError, "tol must be positive"),
        ({"tol": float("nan")}, ValueError, "tol must be finite"),
        ({"minima": (0.0, 1.0)}, TypeError, r"minima must be a Minima.*find_minima"),
        ({"learning_rates": [-0.1]}, ValueError, "learning_rates must be >= 0"),
        ({"epochs": [1.5]}, ValueError, "epochs must be whole numbers"),
        # An f of its own, so the search for its minima has nothing compiled to reuse.
        (
            {"f": lambda x: x**4 - x**2 + 0.25 * x, "keep_result": "yes"},
            TypeError,
            "keep_result must be True or False",
        ),
    ],
)
def test_random_starts_bad_input_raises_before_compiling(kwargs, error, match, compiles):
    args = {
        "f": fns.double_well,
        "key": jax.random.key(0),
        "learning_rates": [0.1],
        "epochs": [10],
        **GOOD,
        **kwargs,
    }
    with compiles, pytest.raises(error, match=match):
        random_starts(**args)
    assert compiles.count == 0


def test_basins_bad_input():
    _, res, minima = grid_sweep("notebook")
    with pytest.raises(TypeError, match="result must be a SweepResult"):
        basins(np.asarray(res.final), minima)
    with pytest.raises(TypeError, match="minima must be a Minima"):
        basins(res, minima.x)
    for tol, match in [(0.0, "tol must be positive"), (-1.0, "positive"), (np.inf, "finite")]:
        with pytest.raises(ValueError, match=match):
            basins(res, minima, tol=tol)
    with pytest.raises(TypeError, match="tol must be a real number, got list"):
        basins(res, minima, tol=[1e-3])
    backwards = dataclasses.replace(minima, x=minima.x[::-1])
    with pytest.raises(ValueError, match=r"minima\.x must be strictly ascending"):
        basins(res, backwards)
    with pytest.raises(TypeError, match="result must be a SweepResult"):
        success_probability({"final": res.final}, minima)


def _quartic(x):
    return x**4 - 3 * x**2 + x  # minima -1.30084 (global), 1.13090


@functools.cache
def _quartic_runs():
    """The quartic, its minima on [-2, 2], runs from -1, 0.1 and 2 (rates 0 and 1e-3, 0 and 1
    epochs) and the minimum each is at: shared by every tol below, searched and swept once."""
    minima = find_minima(_quartic, -2.0, 2.0)
    res = jaxgd.sweep(_quartic, [-1.0, 0.1, 2.0], [0.0, 1e-3], [0, 1])
    expect = np.broadcast_to(np.array([0, 1, 1])[:, None, None], res.shape)
    return _quartic, minima, res, expect


@pytest.mark.parametrize("tol", [1e39, np.float64(1e300)])
def test_tol_beyond_float32_counts_every_finite_run_without_a_warning(tol):
    # In float32 such a tol is inf: every finite run is at its nearest stationary minimum.
    # The cast used to raise NumPy's overflow warning (an error under this suite's filter).
    f, minima, res, expect = _quartic_runs()
    np.testing.assert_array_equal(basins(res, minima, tol=tol).index, expect)
    np.testing.assert_allclose(success_probability(res, minima, tol=tol), 1 / 3, rtol=1e-6)
    np.testing.assert_array_equal(nearest_minimum(res.final, minima, tol=tol), expect)
    np.testing.assert_array_equal(nearest_minimum(np.asarray(res.final), minima, tol=tol), expect)
    rs = random_starts(f, jax.random.key(0), 0.0, 0, n=8, domain=(-2.0, 2.0), tol=tol)
    starts = np.asarray(rs.result.starts)
    assert rs.success.item() == np.mean(starts < 0.16992)  # left of the maximum: nearer -1.3


@pytest.mark.parametrize(
    "tol", [2**31, 2**40, np.int64(2**40), np.uint64(2**63), np.int32(3), np.uint8(3)]
)
def test_a_whole_tol_is_a_distance_on_every_path(tol):
    # A whole tol reached the compiled rule as int32: 2**31 overflowed inside JAX and
    # np.int64(2**40) wrapped to 0, so no run was within it (while NumPy's path said 1, 2).
    _, minima, res, expect = _quartic_runs()
    np.testing.assert_array_equal(basins(res, minima, tol=tol).index, expect)
    inside = jax.jit(lambda r: basins(r, minima, tol=tol).index)(res)
    np.testing.assert_array_equal(inside, expect)
    np.testing.assert_allclose(success_probability(res, minima, tol=tol), 1 / 3, rtol=1e-6)
    np.testing.assert_array_equal(nearest_minimum(res.final, minima, tol=tol), expect)
    np.testing.assert_array_equal(nearest_minimum(np.asarray(res.final), minima, tol=tol), expect)


@pytest.mark.parametrize(
    "tol", [np.longdouble(10.0), np.array(10.0, np.longdouble)], ids=["scalar", "0-d"]
)
def test_a_long_double_tol_is_a_distance_on_every_path(tol):
    # A long double (float128) reached the compiled rule as it was, and JAX refused its dtype
    # from inside (basins, success_probability); the other functions took it.
    _, minima, res, expect = _quartic_runs()
    np.testing.assert_array_equal(basins(res, minima, tol=tol).index, expect)
    np.testing.assert_allclose(success_probability(res, minima, tol=tol), 1 / 3, rtol=1e-6)
    np.testing.assert_array_equal(nearest_minimum(res.final, minima, tol=tol), expect)


@pytest.mark.parametrize("tol", [True, 1 + 0j])
def test_a_traced_tol_of_no_real_dtype_is_refused(tol):
    minima = find_minima(lambda x: (x * x - 1) ** 2, -2.0, 2.0)
    res = ended_at([1.0, 0.5])
    with pytest.raises(TypeError, match="tol must be a real number"):
        jax.jit(lambda t: basins(res, minima, tol=t).index)(jnp.asarray(tol))


def test_nearest_minimum():
    nb_minima = find_minima(notebook, -2 * np.pi, 2 * np.pi)
    assert nb_minima.at_boundary.tolist() == [True, False, False]  # -2pi is an end minimum
    which = nearest_minimum(
        [-1.4285, -1.4300, 4.3060, -2 * np.pi, np.inf, np.nan], nb_minima, tol=1e-3
    )
    assert which.tolist() == [1, -1, 2, -1, -1, -1]
    assert global_minima(nb_minima).tolist() == [1]


def test_nearest_minimum_inside_jit_is_the_rule_of_basins():
    # The rule ran traced but its answer was copied to NumPy: TracerArrayConversionError
    # whenever x, the minima or tol were traced (basins gives a JAX array there).
    minima = find_minima(notebook, -6.0, 6.0)
    x = jnp.array([-1.4289, 4.3058, 0.0, jnp.inf])
    outside = nearest_minimum(x, minima)
    assert outside.tolist() == [1, 2, -1, -1]
    for got in (
        jax.jit(lambda x: nearest_minimum(x, minima))(x),
        jax.jit(lambda m: nearest_minimum(x, m))(minima),
        jax.jit(lambda t: nearest_minimum(x, minima, tol=t))(1e-3),
        jax.vmap(lambda x: nearest_minimum(x, minima))(x),
    ):
        assert isinstance(got, jax.Array)
        np.testing.assert_array_equal(got, outside)


@pytest.mark.parametrize(
    "x, error, match",
    [
        ("abc", TypeError, r"x must hold real numbers \(positions\), got strings"),
        ([True, False], TypeError, "got booleans"),
        (jnp.array([True]), TypeError, "got booleans"),
        ([1j], TypeError, "got complex numbers"),
        ([None], TypeError, "got objects"),
        ([[1.0, 2.0], [3.0]], ValueError, "x must be positions in an array, every row as long"),
    ],
)
def test_positions_that_are_not_numbers_are_refused(x, error, match):
    # A string or True is no position: they used to come back as -1 (or as 1.0 and 0.0).
    minima = find_minima(lambda x: (x**2 - 1.0) ** 2, -2.0, 2.0)
    with pytest.raises(error, match=match):
        nearest_minimum(x, minima)
    with pytest.raises(error, match=match):
        downhill_minimum(lambda x: (x**2 - 1.0) ** 2, x, minima)


def test_python_ints_past_int64_are_positions():
    # NumPy holds 2**70 as an object: it was refused as "objects", no real number.
    f = lambda x: (x**2 - 1.0) ** 2
    minima = find_minima(f, -2.0, 2.0)  # -1, 1
    assert nearest_minimum([2**70, 1, [-1.0][0]], minima).tolist() == [-1, 1, 0]
    assert nearest_minimum([[2**70], [-1]], minima).tolist() == [[-1], [0]]
    assert downhill_minimum(f, [2**70, -(2**70)], minima).tolist() == [1, 0]
    with pytest.raises(ValueError, match="x has an int too large for any float"):
        nearest_minimum([2**1100], minima)
    with pytest.raises(TypeError, match="x must hold real numbers"):
        nearest_minimum([2**70, None], minima)


def test_positions_gathered_inside_jit_are_labelled_there():
    # A list of traced numbers went to np.asarray and was refused as ragged rows.
    minima = find_minima(lambda x: (x**2 - 1.0) ** 2, -2.0, 2.0)  # -1, 1

    @jax.jit
    def which(a):
        return nearest_minimum([a, 1.0, -a], minima), nearest_minimum(([a], [2 * a]), minima)

    row, rows = which(1.0)
    assert row.tolist() == [1, 1, 0] and rows.tolist() == [[1], [-1]]
    with pytest.raises(TypeError, match="entry 1 is True, a bool"):
        jax.jit(lambda a: nearest_minimum([a, True], minima))(1.0)
    with pytest.raises(ValueError, match="every row as long"):
        jax.jit(lambda a: nearest_minimum([[a], [a, a]], minima))(1.0)


def test_global_minima_inside_jit_says_to_call_it_outside():
    # Its answer's length depends on the values: it failed deep inside NumPy.
    minima = find_minima(lambda x: (x**2 - 1.0) ** 2, -2.0, 2.0)
    for transform in (jax.jit, jax.vmap):
        with pytest.raises(TypeError, match="global_minima runs on the host"):
            batched = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), minima)
            transform(global_minima)(batched if transform is jax.vmap else minima)


def test_positions_beyond_the_working_float_are_refused():
    # 1e39 is inf in float32: NumPy warned on the cast, and downhill_minimum said -1 where
    # f' > 0 heads to the minimum below.
    f = lambda x: x**4 - 3 * x**2 + x  # minima -1.30084, 1.13090
    minima = find_minima(f, -2.0, 2.0)
    for x in ([0.0, 1e39], np.float64(-5e38)):
        with pytest.raises(ValueError, match=r"x has values too large for float32 .*enable x64"):
            nearest_minimum(x, minima)
        with pytest.raises(ValueError, match=r"x has values too large for float32"):
            downhill_minimum(f, x, minima)
    # Not finite is fine: a diverged run is at no minimum.
    assert nearest_minimum([np.inf, -np.inf, np.nan], minima).tolist() == [-1, -1, -1]
    with jax.enable_x64(True):
        minima = find_minima(f, -2.0, 2.0)
        assert downhill_minimum(f, [1e39], minima).tolist() == [1]


def test_integer_positions_are_points_of_the_axis_not_wrapped():
    # Host ints were cast to JAX's int32: 2**32 wrapped to 0 and was labelled as the
    # minimum at 0. As positions they are far from it, and still in its basin.
    f = lambda x: x**2
    minima = find_minima(f, -1.0, 1.0)
    for x in ([2**32, 0, 1], np.array([2**32, 0, 1], np.int64), np.array([2**32, 0, 1], np.uint64)):
        assert nearest_minimum(x, minima).tolist() == [-1, 0, -1]
        assert downhill_minimum(f, x, minima).tolist() == [0, 0, 0]
    assert nearest_minimum(np.array([-(2**62)], np.int64), minima).tolist() == [-1]


def test_global_minima_ties_and_none():
    even = find_minima(lambda x: (x**2 - 1.0) ** 2, -2.0, 2.0)
    assert global_minima(even).tolist() == [0, 1]
    assert global_minima(find_minima(lambda x: x, -1.0, 1.0)).tolist() == []


@pytest.mark.thorough
@pytest.mark.parametrize("scale", [1e-30, 1e-5, 1.0, 1e5, 1e30])
def test_which_minima_are_global_does_not_depend_on_the_units_of_f(scale):
    # Ties were within 1e-5 of max(1, |lowest|): an absolute 1e-5 for an f of small values,
    # so 1e-5 * notebook had both of its minima global (-8.9e-6 and -3.6e-6) and every run
    # that settled counted as a success.
    g = lambda x: scale * notebook(x)
    m = find_minima(g, -6.0, 6.0)
    assert global_minima(m).tolist() == [1]
    res = jaxgd.sweep(g, np.linspace(-4.0, 6.0, 11), [0.1 / scale], [3000])
    final = np.asarray(res.final, np.float64)
    direct = np.mean(np.abs(final - -1.428870) < 1e-3, axis=0)
    np.testing.assert_allclose(success_probability(res, m), direct)
    assert 0.0 < direct.item() < 1.0
    # Equally deep wells still tie at every scale, with an offset too (rounding at 1000).
    for offset in (0.0, 1000.0):
        even = find_minima(lambda x, c=offset: scale * ((x**2 - 1.0) ** 2 + c), -2.0, 2.0)
        assert global_minima(even).tolist() == [0, 1]


def _pole(x):
    return 0.01 / x**2 + (x**2 - 1.0) ** 2 + 0.01 * x


@pytest.mark.parametrize(
    ("name", "f", "lo", "hi", "kw"),
    [
        # Walls of 1e4 at the ends of [-10, 10], wells 0.024 apart in depth.
        ("steep walls", lambda x: x**4 - 3.0 * x**2 + 0.01 * x, -10.0, 10.0, {}),
        # A barrier of 1e6 between wells 1 apart.
        ("tall barrier", lambda x: 1e6 * (x**2 - 1.0) ** 2 + 0.5 * x, -2.0, 2.0, {}),
        # An end of the interval where f is -1e9: never global, and no measure of the wells.
        (
            "deep end",
            lambda x: (x**2 - 1.0) ** 2 + 0.3 * x - 1e9 * jnp.maximum(x - 2.0, 0.0) ** 2,
            -1.5,
            3.0,
            {},
        ),
        # A pole between the wells: its height grows with the grid's density.
        *[(f"pole, num {n}", _pole, -2.0, 2.0, {"num": n}) for n in (1001, 10001, 100001)],
        # Far higher minima on a wider domain: wells 0.06 apart at -90.
        ("washboard", lambda x: x**2 + 100.0 * jnp.cos(x) + 0.01 * x, -100.0, 100.0, {}),
    ],
)
def test_unequal_wells_never_tie_whatever_lies_elsewhere(name, f, lo, hi, kw):
    # A tie scale taken from f's largest size around the minima (walls, barriers, poles,
    # ends, far minima) made clearly unequal wells equal; only rounding at the wells counts.
    m = find_minima(f, lo, hi, **kw)
    inner = np.flatnonzero(~np.asarray(m.at_boundary))
    value = np.asarray(m.value)[inner]
    assert global_minima(m).tolist() == [int(inner[np.argmin(value)])], name


@pytest.mark.parametrize(
    ("f", "lo", "hi", "kw", "deepest"),
    [
        # At x near 1e4 a float32 is 1e-3 apart: a spread of f over 8 of them on either side
        # (about c * (8 ulp)^2 / 2) tied wells 0.003 apart, and narrow wells -1 and -0.5.
        (lambda x: (1.0 - jnp.cos(2 * jnp.pi * x)) + 3e-3 * (x - 1e4), 1e4 - 2.5, 1e4 + 2.5,
         {}, 9998.0),
        (lambda x: -jnp.exp(-(((x - 1e4) / 0.01) ** 2))
         - 0.5 * jnp.exp(-(((x - 1e4 - 0.1) / 0.01) ** 2)), 1e4 - 0.05, 1e4 + 0.15,
         {"num": 4000}, 1e4),
    ],
)  # fmt: skip
def test_wells_far_from_zero_tie_only_by_rounding(f, lo, hi, kw, deepest):
    m = find_minima(f, lo, hi, **kw)
    assert np.asarray(m.x)[global_minima(m)].tolist() == [pytest.approx(deepest, abs=2e-3)]


@pytest.mark.parametrize("tol", [1e-5, 1e-8])
@pytest.mark.parametrize("f", [lambda x: ((x - 0.3) ** 2 - 1) ** 4, lambda x: (x * (x - 5)) ** 4])
def test_equal_flat_bottomed_wells_tie_with_a_loose_tol(f, tol, x64_or_not):
    # A loose tol leaves x up to tol from the minimum, where f = (x - x*)^4 is far above
    # the spread over its neighbouring floats: equal wells had unequal values and split.
    m = find_minima(f, -2.0, 6.0, tol=tol)
    stationary = np.flatnonzero(~np.asarray(m.at_boundary))
    assert stationary.size == 2
    assert sorted(global_minima(m).tolist()) == stationary.tolist()


def test_a_far_minimum_some_run_reached_does_not_tie_the_near_ones():
    # 1e-5 * notebook plus a bump of height 10 at x = 1000: one run ending there brought both
    # notebook minima back to global (-8.9e-6 and -3.6e-6).
    def f(x):
        bump = 10.0 * jnp.exp(-(((x - 1000.0) / 30.0) ** 2))
        return 1e-5 * notebook(x) + bump * (1.0 - 0.5 * jnp.exp(-((x - 1000.0) ** 2)))

    for ends in ([0.0], [0.0, 1000.0]):
        m = find_minima_reached(f, ends, (-2 * np.pi, 2 * np.pi))
        assert np.asarray(m.x)[global_minima(m)].tolist() == pytest.approx([-1.42887], abs=1e-5)


def test_minima_made_by_hand_tie_to_one_part_in_1e5_of_one():
    assert minima_at([-1.0, 1.0], [0.0, 9e-6], [False, False]).resolution is None
    assert global_minima(minima_at([-1.0, 1.0], [0.0, 9e-6], [False, False])).tolist() == [0, 1]
    assert global_minima(minima_at([-1.0, 1.0], [0.0, 2e-5], [False, False])).tolist() == [0]
    found = find_minima(notebook, -6.0, 6.0)
    with pytest.raises(ValueError, match=r"minima\.resolution must have the shape of minima\.x"):
        global_minima(dataclasses.replace(found, resolution=np.ones(2)))


# -- one rule: a run that left the domain and settled in a minimum there reached it ----------

_NB_DOMAIN = (-2 * np.pi, 2 * np.pi)


@pytest.fixture(scope="module")
def left_the_domain():
    """The start_location experiment at rate 0.1: 4 of 50 runs settle at -7.22811."""
    res = jaxgd.sweep(notebook, jnp.linspace(-5, 5, 50), 0.1, 1000)
    return res, find_minima_reached(notebook, res.final, _NB_DOMAIN)


@pytest.mark.parametrize("kind", ["jax", "numpy"])
def test_runs_that_left_the_domain_reached_the_minimum_there(left_the_domain, kind):
    res, minima = left_the_domain
    res = res.to_numpy() if kind == "numpy" else res
    final = np.asarray(res.final, np.float64)
    outside = float(minima.x[0])
    assert outside == pytest.approx(-7.22811, abs=1e-5)
    b = basins(res, minima)
    left = final < _NB_DOMAIN[0]
    assert int(left.sum()) == 4
    assert np.all(np.asarray(b.index)[left] == 0)
    assert not np.asarray(b.reached_global)[left].any()  # -7.23 is higher than -1.43
    # Every run reached one of the minima found; none is "none".
    assert np.all(np.asarray(b.index) >= 0)
    assert nearest_minimum(final, minima).tolist() == np.asarray(b.index).tolist()
    direct = np.mean(np.abs(final - -1.428870) < 1e-3, axis=0)
    np.testing.assert_allclose(success_probability(res, minima), direct)
    # Matched against the domain's minima only, the same runs are lost.
    in_domain = find_minima(notebook, *_NB_DOMAIN)
    assert np.all(np.asarray(basins(res, in_domain).index)[left] == -1)


def test_global_is_the_lowest_among_the_minima_found(x64):
    def f(x):  # f' = 0.1 - sin x: the minima get lower to the left
        return jnp.cos(x) + 0.1 * x

    res = jaxgd.sweep(f, [-3.0, 3.0], 0.1, 2000)
    final = np.asarray(res.final).ravel()
    assert final[0] < 0.0  # outside the domain [0, 4 pi], in the lower well
    minima = find_minima_reached(f, res.final, (0.0, 4 * np.pi))
    lowest = int(np.argmin(np.where(minima.at_boundary, np.inf, minima.value)))
    assert float(minima.x[lowest]) == pytest.approx(np.pi - np.arcsin(0.1) - 2 * np.pi)
    assert global_minima(minima).tolist() == [lowest]
    assert np.asarray(basins(res, minima).reached_global).ravel().tolist() == [True, False]
    # Against the domain alone, the global minimum is the one at 2.84, and nobody is lost
    # from it; the run at -3.24 is simply not counted.
    domain_only = find_minima(f, 0.0, 4 * np.pi)
    assert np.asarray(basins(res, domain_only).reached_global).ravel().tolist() == [False, True]


@pytest.mark.parametrize("kind", ["jax", "numpy"])
def test_a_non_finite_value_is_diverged_whatever_the_flag(kind):
    minima = find_minima(notebook, *_NB_DOMAIN)
    arrays = {
        "final": np.array([-1.42887, -1.42887, 4.3058]),
        "value": np.array([-0.8939, np.inf, np.nan]),
        "diverged": np.zeros(3, bool),  # a hand-made result that does not flag them
        "starts": np.array([-1.0, -2.0, 4.0]),
        "learning_rates": np.array(0.1),
        "epochs": np.array(10),
    }
    if kind == "jax":
        arrays = {k: jnp.asarray(v) for k, v in arrays.items()}
    res = SweepResult(**arrays, dims=("start",))
    assert np.asarray(basins(res, minima).index).tolist() == [1, -1, -1]


def _descend_reference(df, x, lr=0.01, steps=40_000, box=(-6.0, 6.0)):
    """Gradient flow in float64 NumPy: where each x goes (NaN once it leaves the box)."""
    x = np.array(x, np.float64)
    for _ in range(steps):
        x = x - lr * df(x)
        x[(x < box[0]) | (x > box[1])] = np.nan
    return x


def test_downhill_minimum_is_where_gradient_flow_goes():
    minima = find_minima(notebook, -6.0, 6.0)  # -6 (an end), -1.4289, 4.3058
    xs = np.linspace(-5.9, 5.9, 120)
    flowed = _descend_reference(REFERENCE_NB_DF, xs)
    expect = nearest_minimum(flowed, minima, tol=1e-4)
    got = downhill_minimum(notebook, xs, minima)
    np.testing.assert_array_equal(got, expect)
    assert set(got.tolist()) == {-1, 1, 2}  # left of the maximum near -4.2 the flow leaves


def test_downhill_minimum_shapes_kinds_and_edge_cases():
    minima = find_minima(notebook, -6.0, 6.0)
    x = np.array([[-1.4289, 0.5], [np.nan, np.inf]])
    for arr in (x, jnp.asarray(x, jnp.float32)):
        got = downhill_minimum(notebook, arr, minima)
        assert got.shape == (2, 2) and got.tolist() == [[1, 1], [-1, -1]]
    # f' = 0 at the maximum between two wells: descent does not move, so it heads nowhere.
    well = lambda x: (x**2 - 1.0) ** 2
    wells = find_minima(well, -2.0, 2.0)
    assert downhill_minimum(well, [0.0, 0.5, -0.5, 1.0005], wells).tolist() == [-1, 1, 0, 1]
    empty = find_minima(lambda x: 0.0 * x, -1.0, 1.0)
    assert downhill_minimum(jnp.sin, [0.0], empty).tolist() == [-1]
    with pytest.raises(TypeError, match="minima must be a Minima"):
        downhill_minimum(notebook, [0.0], None)
    with pytest.raises(ValueError, match="tol must be positive"):
        downhill_minimum(notebook, [0.0], minima, tol=0.0)
    with pytest.raises(TypeError, match="x must be concrete"):
        jax.jit(lambda x: downhill_minimum(notebook, x, minima))(jnp.zeros(2))
    # Concrete positions but traced minima or tol, or all closed over: f' could not be read
    # back, and NumPy raised TracerArrayConversionError.
    for call, arg in (
        (lambda m: downhill_minimum(notebook, np.zeros(2), m), minima),
        (lambda t: downhill_minimum(notebook, np.zeros(2), minima, tol=t), 1e-3),
        (lambda _: downhill_minimum(notebook, np.zeros(2), minima), 0.0),
    ):
        with pytest.raises(TypeError, match=r"downhill_minimum runs on the host.*call it outside"):
            jax.jit(call)(arg)


def test_random_starts_counts_a_global_minimum_past_the_domain():
    # On (-0.5, 3) the notebook's f has no stationary minimum: runs left of its maximum at
    # 1.4289 settle at -1.4289, the global minimum, outside the domain. They succeeded.
    nb = fns.get("notebook")
    rs = random_starts(nb.f, jax.random.key(3), 0.1, 1000, n=200, domain=(-0.5, 3.0))
    starts = np.asarray(rs.result.starts)
    assert float(rs.success[0, 0]) == pytest.approx(np.mean(starts < 1.4289), abs=1e-6)
    assert 0.3 < float(rs.success[0, 0]) < 0.8
    assert np.isclose(np.asarray(rs.minima.x), -1.42887, atol=1e-3).any()


# -- results with more axes: optimisers, hyperparameters, parameters of f, d dimensions ------


def stacked(parts: list[list[SweepResult]], dims: tuple[str, str], coords: dict) -> SweepResult:
    """Plain sweeps of equal shape stacked into two leading axes named ``dims``."""
    arrays = {
        k: np.stack([np.stack([np.asarray(getattr(r, k)) for r in row]) for row in parts])
        for k in ("final", "value", "diverged")
    }
    first = parts[0][0]
    optimizers = tuple(f"opt{i}" for i in range(len(parts))) if dims[0] == "optimizer" else ()
    return SweepResult(
        **arrays,
        starts=first.starts,
        learning_rates=first.learning_rates,
        epochs=first.epochs,
        dims=(*dims, *first.dims),
        coords=coords,
        optimizers=optimizers,
    )


def test_basins_and_success_keep_the_optimizer_and_hyperparameter_axes():
    spec = fns.get("notebook")
    starts = np.linspace(*spec.domain, 12)
    minima = find_minima(spec.f, *spec.domain)
    # Stand-ins for optimisers and a hyperparameter: sweeps at scaled rates.
    scales = [[0.5, 1.0, 2.0], [0.25, 4.0, 1.5]]
    parts = [
        [jaxgd.sweep(spec.f, starts, np.multiply(RATES, s), EPOCHS) for s in row] for row in scales
    ]
    res = stacked(parts, ("optimizer", "b1"), {"b1": np.array([0.8, 0.9, 0.99])})
    b = basins(res, minima)
    p = success_probability(res, minima)
    assert b.dims == res.dims and b.shape == res.shape
    assert p.shape == (2, 3, len(RATES), len(EPOCHS))
    for o, row in enumerate(parts):
        for h, part in enumerate(row):
            one = basins(part, minima)
            np.testing.assert_array_equal(b.index[o, h], one.index)
            np.testing.assert_array_equal(b.reached_global[o, h], one.reached_global)
            np.testing.assert_array_equal(p[o, h], success_probability(part, minima))
    assert len({np.asarray(p[o, h]).tobytes() for o in range(2) for h in range(3)}) > 1
    adam = res.sel(optimizer="opt1", b1=0.9)
    np.testing.assert_array_equal(success_probability(adam, minima), p[1, 1])
    np.testing.assert_array_equal(jax.jit(success_probability)(res, minima), p)


def family(x, a):
    return jnp.sin(x) * jnp.exp(-a * x**2)


def test_basins_with_a_param_axis_take_one_minima_per_parameter():
    a_values = [0.05, 0.3]
    starts = np.linspace(-6.0, 6.0, 13)
    parts, minima = [], []
    for a in a_values:
        f = functools.partial(family, a=a)
        parts.append(jaxgd.sweep(f, starts, RATES, EPOCHS))
        minima.append(find_minima(f, -6.0, 6.0))
    assert abs(float(minima[0].x[1]) - float(minima[1].x[1])) > 0.1  # the minima move
    arrays = {
        k: np.stack([np.asarray(getattr(r, k)) for r in parts])
        for k in ("final", "value", "diverged")
    }
    res = SweepResult(
        **arrays,
        starts=parts[0].starts,
        learning_rates=parts[0].learning_rates,
        epochs=parts[0].epochs,
        dims=("param", *parts[0].dims),
        coords={"param": np.array(a_values, np.float32)},
    )
    b = basins(res, minima)
    p = success_probability(res, minima)
    assert b.dims == res.dims and p.shape == (2, len(RATES), len(EPOCHS))
    for i, part in enumerate(parts):
        one = basins(part, minima[i])
        np.testing.assert_array_equal(b.index[i], one.index)
        np.testing.assert_array_equal(b.reached_global[i], one.reached_global)
        np.testing.assert_array_equal(p[i], success_probability(part, minima[i]))
    jitted = jax.jit(basins)(res, minima)
    np.testing.assert_array_equal(jitted.index, b.index)
    with pytest.raises(ValueError, match=r"minima of f move .* result.isel\(param=i\)"):
        basins(res, minima[0])
    with pytest.raises(ValueError, match="holds 1 Minima but the 'param' axis has 2"):
        basins(res, minima[:1])
    with pytest.raises(TypeError, match="minima must be a sequence of Minima"):
        success_probability(res, {"a": minima[0]})
    with pytest.raises(TypeError, match="minima must be a Minima"):
        basins(res, [minima[0], "x"])
    one = res.isel(param=1)
    np.testing.assert_array_equal(basins(one, minima[1]).index, b.index[1])


def test_a_d_dimensional_result_points_to_basins_nd():
    final = np.zeros((2, 1, 1, 3), np.float32)
    res = SweepResult(
        final,
        np.zeros(final.shape[:-1], np.float32),
        np.zeros(final.shape[:-1], bool),
        starts=np.zeros(2, np.float32),
        learning_rates=np.ones(1, np.float32),
        epochs=np.ones(1, np.int32),
        dims=("start", "learning_rate", "epochs", "coord"),
        coords={"coord": np.arange(3)},
    )
    minima = minima_at([0.0], [0.0], [False])
    for r, how in [(res, "a 'coord' axis"), (res.isel(coord=0), "selected away")]:
        with pytest.raises(ValueError, match=f"basins: .*{how}.*jaxgd.minima_nd.basins_nd"):
            basins(r, minima)
        with pytest.raises(ValueError, match=r"success_probability: .*basins_nd"):
            success_probability(r, minima)


def _flat_bottom(x):
    return jnp.maximum(jnp.abs(x) - 1.0, 0.0) ** 2


@pytest.mark.parametrize("on_device", [False, True], ids=["numpy", "jax"])
def test_a_run_anywhere_on_a_flat_minimum_reached_it(on_device):
    m = find_minima(_flat_bottom, -4.0, 4.0)
    assert (float(m.lo[0]), float(m.hi[0])) == (-1.0, 1.0)
    x = np.array([-1.0015, -1.0005, -1.0, -0.3, 0.0, 0.99, 1.0, 1.0009, 1.002, np.nan], np.float32)
    want = [-1, 0, 0, 0, 0, 0, 0, 0, -1, -1]
    which = nearest_minimum(jnp.asarray(x) if on_device else x, m, tol=1e-3)
    assert which.tolist() == want
    # Distances to the span: an independent float64 count.
    away = np.maximum(np.maximum(-1.0 - x.astype(np.float64), x - 1.0), 0.0)
    assert ((away <= 1e-3) & np.isfinite(x)).tolist() == [w == 0 for w in want]


def test_basins_and_success_count_every_run_that_stops_on_a_flat_minimum():
    res = jaxgd.sweep(_flat_bottom, np.linspace(-3, 3, 13), [0.01, 0.1], [2000])
    m = find_minima_reached(_flat_bottom, res.final, (-4.0, 4.0))
    # Descent stops wherever it meets the stretch: at its ends from outside, where it
    # started from inside.
    final = np.asarray(res.final, np.float64)
    assert (np.abs(final) <= 1.0 + 1e-3).all() and not (np.abs(final) < 0.999).all()
    b = basins(res, m)
    assert (np.asarray(b.index) == 0).all() and np.asarray(b.reached_global).all()
    np.testing.assert_array_equal(success_probability(res, m), 1.0)


@pytest.mark.parametrize(
    ("lo", "hi", "match"),
    [
        ([0.5, 2.0], [1.5, 2.0], r"\[lo, hi\] around its x"),  # lo above x
        ([-1.0, 2.0], [-0.5, 2.0], r"\[lo, hi\] around its x"),  # hi below x
        ([-1.0, 0.0], [2.5, 3.0], r"the spans apart"),  # spans overlap
        ([-1.0, np.nan], [1.0, 2.0], r"\[lo, hi\] around its x"),
        ([-1.0], [1.0], r"minima\.lo must have the shape of minima\.x"),
    ],
)
def test_minima_spans_are_checked(lo, hi, match):
    m = Minima(
        x=jnp.array([0.0, 2.0]),
        value=jnp.array([0.0, 1.0]),
        at_boundary=jnp.array([False, False]),
        global_index=jnp.array(0),
        lo=jnp.array(lo),
        hi=jnp.array([1.0] * len(lo)) if len(lo) != 2 else jnp.array(hi),
    )
    with pytest.raises(ValueError, match=match):
        nearest_minimum([0.0], m)


_USES_MINIMA = {
    "basins": lambda res, m: basins(res, m).index,
    "success_probability": lambda res, m: success_probability(res, m),
    "nearest_minimum": lambda res, m: nearest_minimum(res.final, m),
    "global_minima": lambda res, m: global_minima(m),
}


@pytest.fixture(scope="module")
def well_result():
    return jaxgd.sweep(lambda x: (x**2 - 1) ** 2, [-2.0, -0.5, 0.5, 2.0], [0.05], [500])


def test_no_minima_made_by_hand_from_empty_lists():
    m = Minima(x=[], value=[], at_boundary=[], global_index=-1)
    assert global_minima(m).tolist() == []
    assert nearest_minimum([0.0, 1.0], m).tolist() == [-1, -1]


@pytest.mark.parametrize("use", list(_USES_MINIMA))
def test_minima_made_by_hand_from_lists_read_as_arrays(use, well_result):
    # Lists passed the checks, then basins and global_minima failed on list.shape.
    fields = {"x": [-1.0, 1.0], "value": [0.0, 0.0], "at_boundary": [True, False]}
    by_list = Minima(**fields, global_index=0)
    by_array = Minima(**{k: np.asarray(v) for k, v in fields.items()}, global_index=np.int64(0))
    got, expected = (_USES_MINIMA[use](well_result, m) for m in (by_list, by_array))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


@pytest.mark.parametrize("domain", [None, [-2, 2], (-2.0, 2.0), np.array([-2.0, 2.0], np.float16)])
def test_minima_made_by_hand_take_a_domain_of_any_real_kind(domain, well_result):
    m = Minima(x=[-1.0, 1.0], value=[0.0, 0.0], at_boundary=[False, False], global_index=0)
    with_domain = dataclasses.replace(m, domain=domain)
    for use in _USES_MINIMA.values():
        np.testing.assert_array_equal(use(well_result, with_domain), use(well_result, m))


@pytest.mark.parametrize("use", ["basins", "success_probability"])
def test_minima_made_by_hand_from_lists_pass_through_jit(use, well_result):
    # Under jit a list's entries are tracers: np.asarray of them raised
    # TracerArrayConversionError deep in the checks.
    fields = {"x": [-1.0, 1.0], "value": [0.0, 0.0], "at_boundary": [True, False]}
    by_list = Minima(**fields, global_index=0, domain=[-1.0, 1.0])
    by_array = Minima(**{k: np.asarray(v) for k, v in fields.items()}, global_index=np.int64(0))
    got = jax.jit(_USES_MINIMA[use])(well_result, by_list)
    np.testing.assert_array_equal(got, _USES_MINIMA[use](well_result, by_array))


@pytest.mark.parametrize("use", list(_USES_MINIMA))
@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        # ~1 == -2 is true: an end flagged 1 counted as a stationary minimum, silently.
        ({"at_boundary": np.array([1, 0])}, TypeError, r"at_boundary must be booleans.*int64"),
        ({"at_boundary": np.array([False])}, ValueError, r"at_boundary must have the shape"),
        ({"value": np.array([np.nan, 0.0])}, ValueError, r"value must be .* finite"),
        ({"value": np.array([-np.inf, 0.0])}, ValueError, r"value must be .* finite"),
        ({"value": np.array([0.0])}, ValueError, r"value must have the shape"),
        ({"global_index": 0.0}, TypeError, r"global_index must be one integer"),
        ({"global_index": np.array([0])}, TypeError, r"global_index must be one integer"),
        ({"global_index": 2}, ValueError, r"global_index must index one of the 2"),
        ({"global_index": -1}, ValueError, r"global_index must index one of the 2"),
        # Figures split minima by domain: a wrong shape failed while drawing ("too many
        # values to unpack"), a reversed or NaN one put every minimum outside, silently.
        ({"domain": [-2.0, 0.0, 2.0]}, ValueError, r"minima.domain must be .*\(lo, hi\)"),
        ({"domain": 2.0}, ValueError, r"minima.domain must be .*\(lo, hi\)"),
        ({"domain": "ab"}, ValueError, r"minima.domain must be .*\(lo, hi\)"),
        ({"domain": [2.0, -2.0]}, ValueError, r"minima.domain must be .*lo < hi.*swap"),
        ({"domain": [np.nan, 2.0]}, ValueError, r"minima.domain\[0\] must be finite"),
        ({"domain": [True, False]}, TypeError, r"minima.domain must be .*bool"),
        ({"domain": [1j, 2.0]}, TypeError, r"minima.domain must be .*complex"),
        # A string value failed inside np.isfinite; a complex x was called not ascending.
        ({"value": np.array(["a", "b"])}, TypeError, r"minima.value must hold real numbers"),
        ({"value": np.array([True, False])}, TypeError, r"minima.value must hold real numbers"),
        ({"x": np.array([1j, 2j]), "lo": None, "hi": None}, TypeError, r"minima.x must hold real"),
        # float64 values past float32 became -inf there: no minimum was global, silently.
        ({"value": np.array([-1e39, -2e39])}, ValueError, r"minima.value has values too large"),
        ({"x": np.array([-1.0, 1e39]), "lo": None, "hi": None}, ValueError, r"minima.x has values"),
        # A negative or NaN resolution tied nothing with the lowest: no run counted, silently.
        ({"resolution": np.array([-1.0, -1.0])}, ValueError, r"resolution must be .* >= 0"),
        ({"resolution": np.array([np.nan, 0.0])}, ValueError, r"resolution must be .* >= 0"),
        ({"resolution": np.array([np.inf, 0.0])}, ValueError, r"resolution must be .* finite"),
    ],
)
def test_minima_made_by_hand_are_refused_when_they_cannot_be_read(
    use, change, error, match, well_result
):
    m = Minima(
        x=np.array([-1.0, 1.0]),
        value=np.array([0.0, 0.0]),
        at_boundary=np.array([False, False]),
        global_index=0,
    )
    with pytest.raises(error, match=match):
        _USES_MINIMA[use](well_result, dataclasses.replace(m, **change))


def test_minima_made_by_hand_of_whole_numbers_are_points_of_the_axis():
    # As ints they reached the rule as int32: 2**40 wrapped to 0, so a run at 0 was at the
    # minimum at 2**40, and value=[2**40, 0] tied both minima as global.
    res = ended_at([2.0**40, -5.0, 0.0, 3e6])
    tol = 1e6  # 4 floats of float32 at 2**40 are 2**19
    m = Minima(
        x=np.array([-5, 2**40]),
        value=np.array([2**40, 0]),
        at_boundary=np.array([False, False]),
        global_index=1,
        resolution=np.array([0, 0]),  # int: np.finfo failed on it
    )
    expect = [1, 0, 0, -1]
    b = basins(res, m, tol=tol)
    assert b.index.tolist() == expect
    assert b.reached_global.tolist() == [True, False, False, False]
    assert nearest_minimum(np.asarray(res.final), m, tol=tol).tolist() == expect
    assert nearest_minimum(res.final, m, tol=tol).tolist() == expect
    assert global_minima(m).tolist() == [1]
    assert success_probability(res, m, tol=tol).item() == 0.25


def test_a_minimum_within_tol_past_an_end_minimum_is_found():
    # sin(3x) + 0.1x^2 on [-4, 4]: the end -4 is a minimum of the interval (flagged), and the
    # stationary minimum at -2.56 is 1.74 from -4.3: within tol=2, behind the end minimum.
    def f(x):
        return jnp.sin(3 * x) + 0.1 * x**2

    m = find_minima(f, -4.0, 4.0)
    assert bool(m.at_boundary[0]) and not bool(m.at_boundary[1])
    points = np.array([-4.3, -3.9, 0.0, 10.0], np.float32)
    assert nearest_minimum(points, m, tol=2.0).tolist() == [1, 1, 2, -1]
    assert nearest_minimum(jnp.asarray(points), m, tol=2.0).tolist() == [1, 1, 2, -1]
    res = jaxgd.sweep(f, points[:3], 0.0, 1)
    assert basins(res, m, tol=2.0).index.ravel().tolist() == [1, 1, 2]


@pytest.mark.parametrize("n", [100, 1000])
def test_spread_is_zero_when_every_run_ends_on_one_float(n):
    # (x - 3.3)^2 at rate 0.5 lands every start on 3.3 in one step: a float32 mean of 100
    # copies is an ulp off it, and the spread was 2.4e-7 (1.2e-6 for 1000).
    f = lambda x: (x - 3.3) ** 2
    rs = random_starts(f, jax.random.key(0), [0.5], [0, 100], n=n, domain=(-4.0, 4.0))
    assert np.unique(rs.result.final[:, 0, 1]).size == 1
    assert float(rs.spread[0, 1]) == 0.0
    np.testing.assert_allclose(rs.spread[0, 0], np.std(rs.result.final[:, 0, 0]), rtol=1e-5)
    # The one-call path, inside a caller's jit, reduced in float32: 2.4e-7 and 1.2e-6 too.
    minima = find_minima(f, -4.0, 4.0)
    inside = jax.jit(
        lambda key: (
            random_starts(f, key, [0.5], [0, 100], n=n, domain=(-4.0, 4.0), minima=minima).spread
        )
    )(jax.random.key(0))
    assert float(inside[0, 1]) == 0.0
    np.testing.assert_allclose(inside[0, 0], rs.spread[0, 0], rtol=1e-5)


def _far(x):
    return jnp.cosh(x - 10000.3)


def test_a_tol_finer_than_the_floats_at_a_minimum_is_warned_of_at_the_callers_line():
    # Beyond |x| = 4000 float32's floats are 0.0005 apart and more: runs that settled at
    # cosh(x - 10000.3)'s minimum were labelled -1 (22 of 41), without a word.
    res = jaxgd.sweep(_far, np.linspace(9997.0, 10003.0, 41), [0.3], [300])
    m = find_minima_reached(_far, res.final, (9980.0, 10020.0))
    assert m.x.dtype == np.float32
    spacing = float(np.spacing(np.float32(m.x[0])))
    with pytest.warns(
        UserWarning,
        match=r"^tol=0.001 is finer than float32 resolves at the "
        r"minimum x = 10000.29\d*, where its floats are 0.000977 apart",
    ) as seen:
        b = basins(res, m)
    assert seen[0].filename == __file__
    assert (np.asarray(b.index) == -1).sum() > 10  # what the warning is about
    with pytest.warns(UserWarning, match="Pass a tol of at least 0.0039"):
        nearest_minimum(np.asarray(res.final), m)
    with pytest.warns(UserWarning, match="finer than float32"):
        jaxgd.random_starts(_far, jax.random.key(0), [0.3], [300], n=8, domain=(9990, 10010))
    # At 4 floats or more, quiet; and every run counts.
    b = basins(res, m, tol=4 * spacing)
    assert (np.asarray(b.index) == 0).all()
    nearest_minimum(np.asarray(res.final), m, tol=4 * spacing)


def test_no_warning_where_the_floats_are_fine(x64):
    res = jaxgd.sweep(_far, np.linspace(9997.0, 10003.0, 41), [0.3], [300])
    m = find_minima_reached(_far, res.final, (9980.0, 10020.0))
    b = basins(res, m)  # float64: floats 1.8e-12 apart there
    assert (np.asarray(b.index) == 0).all()
    near = find_minima(notebook, -6.0, 6.0)
    nearest_minimum([-1.4289, 4.3058], near, tol=1e-5)  # float32 too: 4.8e-7 apart at 4.3


def test_masked_positions_are_no_positions():
    # np.asarray dropped the mask: a masked 4.3058 was labelled the minimum there.
    m = find_minima(notebook, -6.0, 6.0)
    x = np.ma.masked_array([-1.4289, 4.3058, 4.3058], mask=[False, True, False])
    assert nearest_minimum(x, m).tolist() == [1, -1, 2]
    whole = np.ma.masked_array([4, 4], mask=[True, False])
    assert nearest_minimum(whole, m, tol=0.5).tolist() == [-1, 2]
    assert downhill_minimum(notebook, x, m).tolist() == [1, -1, 2]


@functools.cache
def _double_well_minima():  # searched once, not once an example
    return find_minima(lambda x: (x**2 - 1.0) ** 2, -2.0, 2.0)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-2.0, 2.0), st.just(True), st.just(np.bool_(False))), min_size=2),
    st.booleans(),
)
def test_a_bool_beside_positions_is_refused_at_any_depth(x, nested):
    # NumPy reads [0.5, True] as [0.5, 1.0]: True was labelled as the minimum at 1, though a
    # list of bools alone is refused.
    minima = _double_well_minima()
    value = [x] if nested else tuple(x)
    if any(isinstance(v, bool | np.bool_) for v in x):
        with pytest.raises(TypeError, match=r"x must hold .*(booleans|a bool)"):
            nearest_minimum(value, minima)
    else:
        want = nearest_minimum(np.asarray(value, np.float64), minima)
        assert nearest_minimum(value, minima).tolist() == want.tolist()


# -- against a plain float64 loop, on functions outside jaxgd.functions ----------------------


def _triple_well(x):  # minima near -1.4947 (global), -0.0503, 1.4819
    return x**6 - 4 * x**4 + 3 * x**2 + 0.3 * x


def _tilted_cosine(x):  # a ladder of minima, lower to the left
    return jnp.cos(3 * x) + 0.2 * x


def _flat_well(x):  # flat at its minimum on [-0.5, 0.5]
    return jnp.where(jnp.abs(x) < 0.5, 0.0, (jnp.abs(x) - 0.5) ** 2)


def _far_wells(x):  # its two minima, -7.5 (global) and 7, lie outside [-3, 3]
    return 0.02 * (x - 7.0) ** 2 * (x + 7.5) ** 2 + 0.01 * x


UNSEEN = {
    "triple_well": (_triple_well, (-2.0, 2.0)),
    "tilted_cosine": (_tilted_cosine, (-4.0, 4.0)),
    "flat_well": (_flat_well, (-2.0, 2.0)),
    "far_wells": (_far_wells, (-3.0, 3.0)),
}


def loop_basins(final, value, minima, tol):
    """Cell by cell: the stationary minimum whose span [lo, hi] is nearest (the lower index
    on a tie), if within tol and the cell is finite; global where its value is the lowest
    stationary one (the functions here have no equally deep minima). Distances are taken in
    the common dtype of the ends and the minima, as the rule's are, so a cell exactly tol
    away cannot part from it by rounding alone."""
    final = np.asarray(final)
    dtype = np.result_type(final.dtype, np.asarray(minima.x).dtype)
    final = final.astype(dtype)
    xs, lo, hi = (np.asarray(getattr(minima, k)).astype(dtype) for k in ("x", "lo", "hi"))
    tol = dtype.type(tol)
    ends = np.asarray(minima.at_boundary, bool)
    values = np.asarray(minima.value, np.float64)
    stationary = [i for i in range(xs.size) if not ends[i]]
    best = min(stationary, key=lambda i: values[i]) if stationary else None
    index = np.full(np.shape(final), -1)
    for cell in np.ndindex(np.shape(final)):
        x = float(final[cell])
        if not (np.isfinite(x) and np.isfinite(float(value[cell]))):
            continue
        x = final[cell]
        distances = [(max(lo[i] - x, x - hi[i], dtype.type(0)), i) for i in stationary]
        if distances:
            d, i = min(distances)
            if d <= tol:
                index[cell] = i
    return index, index == best if best is not None else np.zeros(np.shape(final), bool)


@pytest.mark.thorough
@pytest.mark.parametrize("name", list(UNSEEN))
def test_basins_and_success_of_sweeps_match_a_float64_loop(name, x64_or_not):
    f, domain = UNSEEN[name]
    starts = np.linspace(*domain, 13)
    # 3.0 diverges on the polynomials and throws the cosine's runs far out (minima found
    # past the domain); 0 moves nothing; 50 twice (duplicates).
    res = jaxgd.sweep(f, starts, [0.0, 1e-3, 0.05, 0.3, 3.0], [0, 1, 50, 2000, 50])
    minima = find_minima_reached(f, res.final, domain)
    final, value = np.asarray(res.final), np.asarray(res.value)
    assert np.asarray(res.diverged).any() == (name != "tilted_cosine")
    for tol in (1e-2, 0.3):
        index, reached = loop_basins(final, value, minima, tol)
        b = basins(res, minima, tol=tol)
        np.testing.assert_array_equal(b.index, index)
        np.testing.assert_array_equal(b.reached_global, reached)
        np.testing.assert_array_equal(nearest_minimum(final, minima, tol=tol), index)
        p = np.asarray(success_probability(res, minima, tol=tol))
        counts = reached.sum(axis=0)
        assert p.dtype == np.dtype(res.final.dtype)
        # k of n as the float nearest k / n: the counts against the loop's, exactly.
        np.testing.assert_array_equal(p, (counts / starts.size).astype(p.dtype))


@functools.cache
def _unseen_minima(name):
    f, domain = UNSEEN[name]
    return find_minima(f, *domain)


def _between(minima):
    """Points where runs can end: on each minimum, each span's ends, half-way between two
    neighbours (a tie), tol away, the domain's ends, and no number at all."""
    xs = np.asarray(minima.x, np.float64)
    mid = (xs[:-1] + xs[1:]) / 2
    return np.concatenate(
        [
            *(xs, np.asarray(minima.lo), np.asarray(minima.hi), mid, xs + 0.25, xs - 0.3),
            *(np.asarray(minima.domain, np.float64), [np.nan, np.inf, -np.inf]),
        ]
    )


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(sorted(UNSEEN)[:3]),  # minima on the domain (far_wells has none there)
    st.data(),
    st.sampled_from([1e-3, 0.25, 0.3, 2.0]),
)
def test_any_ends_are_labelled_as_a_float64_loop_labels_them(name, data, tol):
    minima = _unseen_minima(name)
    points = st.sampled_from(_between(minima).tolist())
    final = np.asarray(data.draw(st.lists(points, min_size=12, max_size=12)), np.float32)
    final = final.reshape(3, 2, 2)  # one shape: one compiled rule for every example
    value = np.where(np.isfinite(final), 0.0, np.nan).astype(np.float32)
    value[data.draw(st.integers(0, 2)), 0, 0] = np.nan  # a non-finite value: diverged
    res = SweepResult(
        final=final,
        value=value,
        diverged=np.zeros(final.shape, bool),  # the flag says nothing: values do
        starts=np.arange(3, dtype=np.float32),
        learning_rates=np.array([0.1, 0.2], np.float32),
        epochs=np.array([1, 2], np.int32),
    )
    index, reached = loop_basins(final, value, minima, tol)
    b = basins(res, minima, tol=tol)
    np.testing.assert_array_equal(b.index, index)
    np.testing.assert_array_equal(b.reached_global, reached)
    p = np.asarray(success_probability(res, minima, tol=tol))
    np.testing.assert_array_equal(p, (reached.sum(axis=0) / 3).astype(np.float32))
