"""Minima in d dimensions: multi-start Newton, labels by nearest minimum, basins."""

from __future__ import annotations

import functools

import hypothesis
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd
from jaxgd import functions2d as fns2
from jaxgd.minima_nd import (
    DIVERGED,
    NO_MINIMUM,
    BasinsND,
    MinimaND,
    basins_nd,
    find_minima_nd,
    grid_starts,
    nearest_minimum_nd,
    random_starts_nd,
)
from tests.helpers import with_xla_default_options

HIMMELBLAU = np.array(
    [
        (-3.779310, -3.283186),
        (-2.805118, 3.131312),
        (3.0, 2.0),
        (3.584428, -1.848126),
    ]
)


def test_himmelblau_four_minima(x64):
    m = find_minima_nd(fns2.himmelblau, fns2.get("himmelblau").domain)
    assert len(m) == 4 and m.dim == 2
    np.testing.assert_allclose(np.asarray(m.x), HIMMELBLAU, atol=1e-6)
    # Closed form (3, 2) to rounding, the others to the float64 Newton values listed.
    np.testing.assert_allclose(
        np.asarray(m.x), fns2.get("himmelblau").minima_array[[2, 1, 0, 3]], atol=1e-12
    )
    assert np.asarray(m.global_).all()
    assert np.all(np.abs(np.asarray(m.value)) < 1e-20)
    np.testing.assert_array_equal(np.asarray(m.global_x), np.asarray(m.x))


def test_himmelblau_float32():
    m = find_minima_nd(fns2.himmelblau, fns2.get("himmelblau").domain)
    assert m.x.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(m.x), HIMMELBLAU, atol=1e-4)


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "peaks", "saddle"])
def test_library_minima_found(name, x64):
    """Every minimum the library lists, and nothing else: the saddle's origin is no minimum."""
    spec = fns2.get(name)
    m = find_minima_nd(spec.f, spec.domain)
    listed = spec.minima_array
    assert len(m) == len(listed)
    d = np.linalg.norm(np.asarray(m.x)[:, None] - listed[None], axis=-1)
    assert np.all(d.min(axis=1) <= 1e-9), d


def test_rosenbrock_and_saddle_closed_forms(x64):
    m = find_minima_nd(fns2.rosenbrock, [(-2, 2), (-1, 3)])
    assert np.asarray(m.x).tolist() == [[1.0, 1.0]] and float(m.value[0]) == 0.0
    s = find_minima_nd(fns2.saddle, [(-2, 2), (-2, 2)])
    assert np.asarray(s.x).tolist() == [[0.0, -1.0], [0.0, 1.0]]
    assert np.asarray(s.value).tolist() == [-0.25, -0.25]
    assert np.asarray(s.global_).tolist() == [True, True]


def test_peaks_global_marked(x64):
    m = find_minima_nd(fns2.peaks, [(-3, 3), (-3, 3)])
    assert np.asarray(m.global_).sum() == 1
    np.testing.assert_allclose(np.asarray(m.global_x)[0], (0.228278920556369, -1.625534957499996))
    assert round(m.global_value, 6) == -6.551133


@settings(max_examples=5, deadline=None)
@given(
    d=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_quadratic(d, seed):
    """0.5 (x - c)' A (x - c) + v with A positive definite: the one minimum is c, value v."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = rng.uniform(0.1, 10.0, d)
    a = (q * lam) @ q.T
    c = rng.uniform(-1.5, 1.5, d)
    v = rng.uniform(-3, 3)
    with jax.enable_x64(True):
        a_, c_ = jnp.asarray(a), jnp.asarray(c)

        def f(x):
            return 0.5 * (x - c_) @ a_ @ (x - c_) + v

        m = find_minima_nd(f, [(-2.0, 2.0)] * d, grid=3)
    assert len(m) == 1
    np.testing.assert_allclose(np.asarray(m.x)[0], c, atol=1e-10)
    assert abs(float(m.value[0]) - v) < 1e-12


def test_new_bounds_compile_nothing(compiles):
    def f(x):
        return ((x - 0.5) ** 2).sum()

    first = find_minima_nd(f, [(-1, 1), (-1, 1)], grid=4)
    with compiles:
        again = find_minima_nd(f, [(-3, 2), (0, 4)], grid=4, tol=1e-3)
    assert compiles.count == 0, compiles.names
    assert np.allclose(np.asarray(first.x), 0.5) and np.allclose(np.asarray(again.x), 0.5)


def test_minima_outside_bounds():
    """Dropped when the grid alone led there, kept when an extra start did."""
    bounds = [(0.5, 2.0), (0.5, 2.0)]
    assert len(find_minima_nd(fns2.saddle, bounds, grid=4)) == 0
    m = find_minima_nd(fns2.saddle, bounds, grid=4, extra_starts=[[0.1, 0.9], [np.nan, 0.0]])
    np.testing.assert_allclose(np.asarray(m.x), [[0.0, 1.0]], atol=1e-4)


def _egg_box(centre):
    def f(p):
        q = p - centre  # 7 x 7 wells, 1 apart
        return -jnp.cos(2 * jnp.pi * q[0]) - jnp.cos(2 * jnp.pi * q[1]) + 0.01 * (q**2).sum()

    return f


@pytest.mark.thorough
@pytest.mark.parametrize("centre", [0.0, 1000.0])
def test_wells_one_apart_far_from_the_origin_stay_apart(centre):
    # The merge distance once grew as sqrt(eps) |x|: 3.4 at 1000 in float32, one minimum for 49.
    m = find_minima_nd(_egg_box(centre), [(centre - 3.5, centre + 3.5)] * 2)
    assert len(m) == 49
    want = centre + np.stack(np.meshgrid(np.arange(-3, 4), np.arange(-3, 4)), -1).reshape(-1, 2)
    got = np.asarray(m.x, np.float64)
    assert np.abs(got[:, None] - want[None]).max(-1).min(0).max() < 0.02


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("x64", "k"), [(False, 1e5), (False, 1e6), (True, 1e6), (True, 1e9), (True, 1e10)]
)
def test_a_steep_valley_has_its_minimum(x64, k):
    with jax.enable_x64(x64):
        m = find_minima_nd(lambda p: (p[0] - 0.3) ** 2 + k * (p[1] - 0.7) ** 2, [(-2, 2), (-2, 2)])
    assert len(m) == 1
    np.testing.assert_allclose(np.asarray(m.x, np.float64), [[0.3, 0.7]], atol=1e-3)


@pytest.mark.parametrize(
    ("f", "n"),
    [
        (lambda p: p[0] ** 2 + p[1] ** 3, 0),  # flat saddle: runs stop there, f falls for y < 0
        (lambda p: p[0] ** 2 - p[1] ** 4, 0),
        (lambda p: p[0] ** 3 - 3 * p[0] * p[1] ** 2, 0),  # monkey saddle
        (lambda p: p[0] ** 2 + p[1] ** 4, 1),  # singular Hessian, a minimum all the same
        (lambda p: p[0] ** 4 + p[1] ** 4, 1),
        # Flat to sixth order beside a shallow bowl: runs end 1e-4 short, where f' is 7e-20,
        # whose square is 0 in float32 (the test of falls must not lean on it).
        (lambda p: p[0] ** 6 + 1e-6 * p[1] ** 2, 1),
    ],
    ids=["x2+y3", "x2-y4", "monkey", "x2+y4", "x4+y4", "x6+1e-6y2"],
)
def test_flat_saddles_are_not_minima_and_flat_minima_are(f, n):
    m = find_minima_nd(f, [(-1, 1), (-1, 1)])
    assert len(m) == n
    if n:
        np.testing.assert_allclose(np.asarray(m.x), [[0.0, 0.0]], atol=1e-3)


@pytest.mark.parametrize(
    ("f", "want", "tol"),
    [
        # x^4 - x^3 has f' = x^2 (4x - 3): an inflection at 0 (a hair short of it a run's
        # Hessian is tiny and positive, f at the model's reach rises), its minimum at 0.75.
        (lambda p: p[0] ** 4 - p[0] ** 3 + p[1] ** 2, [[0.75, 0.0]], None),
        (lambda p: p[0] ** 4 + p[0] ** 3 + (p[1] - 0.25) ** 2, [[-0.75, 0.25]], None),
        # Three inflections, (0, 0), (0, 0.75) and (0.75, 0), and one minimum.
        (lambda p: p[0] ** 4 - p[0] ** 3 + p[1] ** 4 - p[1] ** 3, [[0.75, 0.75]], None),
        # On a level of 1, runs stop where f cannot fall in its last bits, 4e-3 short of the
        # inflection in float32: with tol = 1e-2 the eigenvalues there pass as a minimum's.
        (lambda p: 1 + p[0] ** 4 - p[0] ** 3 + p[1] ** 2, [[0.75, 0.0]], 1e-2),
        # The same beside a shallower bowl: there the inflection's axis is not the flattest.
        (lambda p: 1 + p[0] ** 4 - p[0] ** 3 + 1e-3 * p[1] ** 2, [[0.75, 0.0]], 1e-2),
    ],
    ids=["inflection", "mirrored", "three-inflections", "on-a-level-coarse-tol", "steeper-axis"],
)
@pytest.mark.parametrize(
    ("bounds", "grid"),
    [([(-1, 1.25), (-1, 1.25)], None), ([(-1.5, 1.5), (-1.5, 1.5)], 5)],
    ids=["default-grid", "a-start-on-the-inflection"],
)
def test_an_inflection_is_no_minimum(f, want, tol, bounds, grid, x64_or_not):
    m = find_minima_nd(f, bounds, grid=grid, tol=tol)
    atol = 1e-2 if tol else 1e-4
    np.testing.assert_allclose(np.asarray(m.x, np.float64), want, atol=atol)


def test_no_minimum():
    m = find_minima_nd(lambda x: x.sum(), [(-1, 1), (-1, 1)], grid=3)
    assert len(m) == 0 and m.x.shape == (0, 2)
    with pytest.raises(ValueError, match="no minimum was found"):
        _ = m.global_value
    labels = nearest_minimum_nd([[0.0, 0.0], [np.inf, 0.0]], m)
    assert labels.tolist() == [NO_MINIMUM, DIVERGED]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bounds": [(-1, 1)] * 2, "grid": 0}, ValueError, "grid"),
        ({"bounds": [(-1, 1)] * 2, "tol": -1.0}, ValueError, "tol"),
        ({"bounds": [(1, -1), (0, 1)]}, ValueError, "lo < hi"),
        ({"bounds": [-1, 1]}, ValueError, r"shape \(d, 2\)"),
        ({"bounds": [("a", 1)]}, TypeError, "bounds must be numbers"),
        ({"bounds": [(-1, 1)] * 2, "extra_starts": [[0.0, 0.0, 0.0]]}, ValueError, r"\(N, 2\)"),
    ],
)
def test_find_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        find_minima_nd(lambda x: (x**2).sum(), **kwargs)


def test_find_rejects_bad_f():
    with pytest.raises(TypeError, match="real scalar"):
        find_minima_nd(lambda x: x**2, [(-1, 1), (-1, 1)])
    with pytest.raises(TypeError, match=r"shape \(2,\)"):
        find_minima_nd(lambda x: x[5] ** 2 + x @ jnp.ones(3), [(-1, 1), (-1, 1)])
    with pytest.raises(TypeError, match="callable"):
        find_minima_nd(3.0, [(-1, 1)])
    with pytest.raises(TypeError, match=r"returned int32\[\]\. Compute it in floating point"):
        find_minima_nd(lambda x: (x[0] * 2).astype(jnp.int32), [(-1, 1), (-1, 1)])


def test_an_f_reading_past_the_last_coordinate_is_refused(compiles):
    # JAX clamps x[1] of a point of R^1 to x[0]: with one bounds row, this f would be searched
    # as x[0]**2 + x[0]**2, silently.
    def f(x):
        return x[0] ** 2 + (x[1] - 1.0) ** 2

    with compiles:
        with pytest.raises(ValueError, match=r"reads index 1 of an array of length 1.*bounds"):
            find_minima_nd(f, [(-2, 2)])
        with pytest.raises(ValueError, match=r"reads index 1 .* Give x as many coordinates"):
            MinimaND.at(f, [[0.0], [1.0]])
    assert compiles.count == 0, compiles.names
    m = find_minima_nd(f, [(-2, 2), (-2, 2)], grid=4)
    np.testing.assert_allclose(np.asarray(m.x), [[0.0, 1.0]], atol=1e-5)
    last = find_minima_nd(lambda x: (x[-1] - 0.5) ** 2, [(-2, 2)], grid=4)  # x[-1] is in range
    np.testing.assert_allclose(np.asarray(last.x), [[0.5]], atol=1e-5)


def test_nearest_labels():
    m = MinimaND.at(fns2.himmelblau, fns2.get("himmelblau").minima)
    pts = np.array(
        [
            [[3.0, 2.0005], [-2.8051, 3.1313]],
            [[0.0, 0.0], [np.nan, 1.0]],
        ]
    )
    labels = nearest_minimum_nd(pts, m, tol=1e-3)
    assert labels.shape == (2, 2) and labels.dtype == np.int32
    assert labels.tolist() == [[2, 1], [NO_MINIMUM, DIVERGED]]
    # Euclidean: 8e-4 along both axes is 1.13e-3 away.
    assert nearest_minimum_nd([[3.0008, 2.0008]], m, tol=1e-3).tolist() == [NO_MINIMUM]
    assert nearest_minimum_nd([[3.0008, 2.0008]], m, tol=1.2e-3).tolist() == [2]


def test_nearest_errors():
    m = MinimaND.at(fns2.saddle, [(0.0, 1.0)])
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        nearest_minimum_nd([1.0, 2.0, 3.0], m)
    with pytest.raises(ValueError, match="tol"):
        nearest_minimum_nd([[0.0, 1.0]], m, tol=0.0)
    with pytest.raises(TypeError, match="MinimaND"):
        nearest_minimum_nd([[0.0, 1.0]], None)


@pytest.mark.thorough
@pytest.mark.parametrize("scale", [1e-6, 1e6])  # scale 1: the catalogue's own tests
def test_global_minima_do_not_depend_on_the_units_of_f(scale):
    # Ties were within an absolute 1e-5 for small f: 1e-6 * peaks had all three global.
    rastrigin = [("rastrigin", 1)] if scale < 1 else []  # 121 minima: once is enough
    for name, n_global in [("peaks", 1), ("himmelblau", 4), ("saddle", 2), *rastrigin]:
        spec = fns2.get(name)
        m = find_minima_nd(lambda p, f=spec.f: scale * f(p), spec.bounds)
        assert int(np.sum(np.asarray(m.global_))) == n_global, name
    # Unequal wells beside steep axes, tall barriers, coarse grids: one is global.
    for f, bounds, grid in [
        (lambda p: 1e6 * (p[0] ** 2 - 1) ** 2 + p[1] ** 2 + 0.5 * p[0], [(-2, 2), (-2, 2)], 8),
        (
            lambda p: 1e-9 * (p[0] ** 2 - 500.0**2) ** 2 + 1e4 * p[1] ** 2 + 1e-4 * p[0],
            [(-1000, 1000), (-1, 1)],
            None,
        ),
    ]:
        m = find_minima_nd(lambda p, f=f: scale * f(p), bounds, grid=grid)
        assert np.asarray(m.global_).tolist() == [True, False]
    # Wells 0.024 apart in depth, walls of 1e4 at the box's edge: one is global.
    tilted = lambda p: scale * (p[0] ** 4 - 3.0 * p[0] ** 2 + 0.01 * p[0] + p[1] ** 2)
    assert np.asarray(find_minima_nd(tilted, [(-10, 10), (-10, 10)]).global_).tolist() == [
        True,
        False,
    ]


@pytest.mark.parametrize("shift", [0.0, 1e4])
def test_himmelblaus_four_minima_tie_far_from_zero_and_in_float64(shift, x64_or_not):
    def f(p):
        return fns2.himmelblau(p - shift)

    m = find_minima_nd(f, [(shift - 5, shift + 5.3), (shift - 5, shift + 5.3)], grid=24)
    assert len(m) == 4 and np.asarray(m.global_).all()
    at = MinimaND.at(f, np.asarray(m.x))
    assert np.asarray(at.global_).all()


@pytest.mark.parametrize(
    ("f", "bounds"),
    [
        (lambda p: -jnp.cos(p[0]) - jnp.cos(p[1]), [(-1, 1), (-1, 1)]),
        (lambda p: (p[0] - 0.3) ** 2 + 2 * (p[1] + 0.2) ** 2, [(-1, 1), (-1, 1)]),
        (lambda p: (p[0] ** 2 - 1) ** 2 + p[1] ** 2, [(-2, 2), (-1, 1)]),
        (fns2.himmelblau, fns2.get("himmelblau").bounds),
    ],
    ids=["cos", "quadratic", "double-well", "himmelblau"],
)
def test_minima_of_f_far_above_its_variation_are_found(f, bounds, x64_or_not):
    # f in steps of 1/16 to 1/8 near its minima: no step of the line search shows a decrease
    # from a start a few tenths away, the Hessian and the gradient still point to the minimum.
    offset = 1e15 if x64_or_not else 1e6
    want = np.asarray(find_minima_nd(f, bounds).x)
    got = find_minima_nd(lambda p: offset + f(p), bounds)
    assert np.asarray(got.x).shape == want.shape
    np.testing.assert_allclose(np.asarray(got.x), want, atol=1e-4)


def test_minima_at_sorts_and_marks_global():
    m = MinimaND.at(fns2.peaks, fns2.get("peaks").minima)
    x = np.asarray(m.x)
    assert np.all(np.diff(x[:, 0]) > 0)
    assert np.asarray(m.global_).tolist() == [False, True, False]
    with pytest.raises(ValueError, match=r"shape \(K, d\)"):
        MinimaND.at(fns2.peaks, [1.0, 2.0])


def test_minima_pass_through_jit():
    m = MinimaND.at(fns2.saddle, [(0.0, 1.0), (0.0, -1.0)])
    doubled = jax.jit(lambda t: jax.tree.map(lambda a: a * 2, t))(m)
    assert isinstance(doubled, MinimaND)
    assert np.asarray(doubled.x).tolist() == [[0.0, -2.0], [0.0, 2.0]]


# -- with d-dimensional sweeps ----------------------------------------------------------------


def test_grid_starts_errors():
    with pytest.raises(ValueError, match="one count per coordinate"):
        grid_starts([(0, 1), (0, 1)], (2, 3, 4))
    with pytest.raises(ValueError, match="num must be >= 2"):
        grid_starts([(0, 1)], 1)


def test_basins_of_a_sweep(x64):
    """Himmelblau at a small rate: the four basins, with the known minima found to 1e-6 from
    the sweep's own ends."""
    spec = fns2.get("himmelblau")
    starts = grid_starts(spec.domain, 24)
    res = jaxgd.sweep(spec.f, starts, [0.002, 0.05], [0, 2000])
    m = find_minima_nd(spec.f, spec.domain, grid=8, extra_starts=np.asarray(res.final)[:, 0, 1])
    np.testing.assert_allclose(np.asarray(m.x), HIMMELBLAU, atol=1e-6)
    b = basins_nd(res, m, tol=1e-6)
    assert b.dims == ("start", "learning_rate", "epochs") and b.shape == (576, 2, 2)
    small = b.index[:, 0, 1]
    assert set(small.tolist()) == {0, 1, 2, 3}
    # Each start labelled with the minimum its own float64 run ended at.
    ends = np.asarray(res.final)[:, 0, 1]
    nearest = np.argmin(np.linalg.norm(ends[:, None] - HIMMELBLAU[None], axis=-1), axis=1)
    np.testing.assert_array_equal(small, nearest)
    assert b.reached_global[:, 0, 1].all()
    assert np.all(b.index[:, 1, 1] == DIVERGED)  # 0.05 is far past 2 / curvature
    assert np.all(b.index[:, :, 0] == NO_MINIMUM)  # epoch 0: the starts themselves
    assert np.allclose(b.share(2)[0, 1], np.mean(small == 2))


def test_basins_errors():
    m = MinimaND.at(fns2.saddle, [(0.0, 1.0)])
    one_d = jaxgd.sweep(jnp.cos, [1.0, 2.0], [0.1], [10])
    with pytest.raises(ValueError, match="d-dimensional sweep"):
        basins_nd(one_d, m)
    with pytest.raises(TypeError, match="SweepResult"):
        basins_nd(np.zeros((2, 2)), m)
    three = jaxgd.sweep(lambda x: (x**2).sum(), np.zeros((2, 3)), [0.1], [10])
    with pytest.raises(ValueError, match="d = 3 but minima have d = 2"):
        basins_nd(three, m)


def _two_wells(x):
    """Wells at (1, -2) (the deeper) and (-2, 1): swapping the coordinates swaps the wells."""
    return jnp.minimum(
        (x[0] - 1.0) ** 2 + (x[1] + 2.0) ** 2 - 1.0, (x[0] + 2.0) ** 2 + (x[1] - 1.0) ** 2
    )


def test_basins_read_the_coordinates_a_selection_left(tmp_path):
    # isel(coord=[1, 0]) is a legal selection: final's coordinates swapped, coords["coord"]
    # saying so. The runs were once matched against the other well, silently.
    m = MinimaND.at(_two_wells, [(1.0, -2.0), (-2.0, 1.0)])
    res = jaxgd.sweep(_two_wells, [[0.5, -1.5], [1.5, -2.5], [-1.5, 0.5]], [0.1, 2.0], [5, 500])
    full = basins_nd(res, m)
    assert full.index[:, 0, 1].tolist() == [1, 1, 0]  # m.x is in order of value: (-2, 1) first
    assert full.reached_global[:, 0, 1].tolist() == [True, True, False]
    assert (full.index[:, :, 0] == NO_MINIMUM).all()  # and runs still on their way, or cycling
    swapped = res.isel(coord=[1, 0])
    reloaded = jaxgd.load(swapped.save(tmp_path / "swapped"))
    for r in (swapped, reloaded, res.isel(coord=[0, 1])):
        b = basins_nd(r, m)
        np.testing.assert_array_equal(b.index, full.index)
        np.testing.assert_array_equal(b.reached_global, full.reached_global)
    for coord in ([0, 0], [1, 1], [1]):
        with pytest.raises(ValueError, match=rf"coordinates \[{coord[0]}.*isel\(coord="):
            basins_nd(res.isel(coord=coord), m)
    with pytest.raises(ValueError, match=r"d = 1 but minima have d = 2.*isel\(coord="):
        basins_nd(res.isel(coord=[0]), m)  # alone, the first coordinate is a point of R^1


def _bowl_at_one(x):
    return jnp.sum((x - 1.0) ** 2)


def test_a_sweep_of_r1_with_its_coord_axis_selected_away_is_labelled(tmp_path):
    # squeeze() drops the length-1 "coord" axis of a sweep of R^1: basins_nd refused it as
    # a 1-D sweep, and jaxgd.basins refused it as d-dimensional, each naming the other.
    res = jaxgd.sweep(_bowl_at_one, [[0.0], [2.0], [3.0]], [0.1, 0.4], [0, 50])
    m = MinimaND.at(_bowl_at_one, [[1.0]])
    full = basins_nd(res, m)
    assert (full.index[:, :, 0] == NO_MINIMUM).all()
    assert (full.index[:, :, 1] == 0).all()
    squeezed = res.squeeze()
    for r in (squeezed, res.isel(coord=0), jaxgd.load(squeezed.save(tmp_path / "r1"))):
        b = basins_nd(r, m)
        assert b.dims == ("start", "learning_rate", "epochs")
        np.testing.assert_array_equal(b.index, full.index)
        np.testing.assert_array_equal(b.reached_global, full.reached_global)
    cell = res.isel(start=1, learning_rate=1, epochs=1, coord=0)  # starts of shape (1,)
    assert basins_nd(cell, m).index.tolist() == 0
    plane = jaxgd.sweep(_bowl_at_one, [[0.0, 2.0], [3.0, 1.0]], [0.4], [50])
    for r in (plane.isel(coord=0), plane.isel(coord=1)):
        with pytest.raises(ValueError, match=r"selected away.*coordinate \d of 2.*before"):
            basins_nd(r, MinimaND.at(_bowl_at_one, [[1.0, 1.0]]))


def test_basins_nd_share_takes_an_int_label_and_is_nan_over_no_runs():
    index = np.array([[0, 1], [1, DIVERGED], [0, 0]], np.int32)
    b = BasinsND(index=index, reached_global=index == 0, dims=("start", "epochs"))
    for k in (0, 1, NO_MINIMUM, DIVERGED, np.int8(1), np.array(1)):
        np.testing.assert_array_equal(b.share(k), np.mean(index == int(k), axis=0))
    np.testing.assert_array_equal(b.share(0, over="epochs"), [0.5, 0.0, 1.0])
    for k in (True, np.bool_(False), 1.5, np.array(1.0), "1", None):
        with pytest.raises(TypeError, match=r"^k must be an int label"):
            b.share(k)
    empty = BasinsND(index=index[:0], reached_global=index[:0] == 0, dims=b.dims)
    assert np.isnan(empty.share(0)).all() and empty.share(0).shape == (2,)


def test_random_starts_nd_shares():
    spec = fns2.get("saddle")
    m = MinimaND.at(spec.f, spec.minima)
    rs = random_starts_nd(
        spec.f, jax.random.key(0), spec.domain, [0.1, 3.0], [5, 200], n=64, minima=m
    )
    assert rs.share.shape == (2, 2, 2) and rs.success.shape == (2, 2)
    total = rs.share.sum(axis=-1) + rs.nowhere + rs.diverged
    np.testing.assert_allclose(total, 1.0)
    # At rate 0.1 after 200 epochs every start is at (0, -1) or (0, 1), split by the sign of y.
    y = np.asarray(rs.result.starts)[:, 1]
    np.testing.assert_allclose(rs.share[0, 1], [np.mean(y < 0), np.mean(y > 0)])
    np.testing.assert_allclose(rs.success[0, 1], 1.0)
    assert rs.diverged[1, 1] == 1.0  # rate 3: x doubles in size every step
    # Without minima given they are found, here the same two.
    found = random_starts_nd(spec.f, jax.random.key(0), spec.domain, [0.1], [200], n=16)
    np.testing.assert_allclose(np.asarray(found.minima.x), [[0, -1], [0, 1]], atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizer": {"sgd": optax.sgd, "adam": optax.adam}}, "a dict of optimisers"),
        ({"optimizer": optax.adam, "hyperparams": {"b1": [0.5, 0.9]}}, "hyperparams="),
        ({"params": jnp.array([1.0, 2.0])}, "params="),
    ],
)
def test_random_starts_nd_refuses_options_that_add_axes(kwargs, match, compiles):
    key = jax.random.key(0)
    with compiles, pytest.raises(ValueError, match=match + " adds axes"):
        random_starts_nd(fns2.saddle, key, [(-2, 2), (-2, 2)], [0.1], [10], n=8, **kwargs)
    assert compiles.count == 0


@pytest.mark.parametrize("n", [10**12, 2**62])
def test_random_starts_nd_refuses_more_starts_than_memory_holds_naming_n(n, compiles):
    # n=10**12 allocated n zero starts to check the arguments with: NumPy's MemoryError
    # ("Unable to allocate 7.28 TiB"), which names no argument of random_starts_nd.
    key = jax.random.key(0)
    with compiles, pytest.raises(MemoryError, match=rf"^random_starts_nd with n={n:,} .*fewer"):
        random_starts_nd(fns2.saddle, key, [(-2, 2), (-2, 2)], [0.1, 0.2], [10], n=n)
    assert compiles.count == 0, compiles.names


@pytest.mark.parametrize(
    ("n", "args", "kwargs", "error", "match"),
    # Each case draws its own number of starts: the draw's program, once compiled for a
    # shape, would be reused by the next case and hide a draw made before the check.
    [
        (101, ([-0.1], [10]), {}, ValueError, "learning_rates must be >= 0"),
        (102, ([0.1], [1.5]), {}, ValueError, "epochs must be whole numbers"),
        (103, ([0.1], [10]), {"chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
        (104, ([0.1], [10]), {"optimizer": 3}, TypeError, "optimizer must be callable"),
        (105, ([0.1], [10]), {"progress": "y"}, TypeError, "progress must be None, True"),
        (106, ([0.1], [10]), {"devices": []}, ValueError, "devices is empty"),
        (107, ([0.1], [10]), {"chunksize": 8}, TypeError, "'chunksize' is not a keyword"),
    ],
)
def test_random_starts_nd_refuses_what_the_sweep_refuses_before_drawing(
    n, args, kwargs, error, match, compiles
):
    key = jax.random.key(0)
    with compiles, pytest.raises(error, match=match):
        random_starts_nd(fns2.saddle, key, [(-2, 2), (-2, 2)], *args, n=n, **kwargs)
    assert compiles.count == 0, compiles.names


def test_random_starts_nd_of_an_f_without_a_minimum_shares_nothing():
    # A plane has no minimum: every run is nowhere, which is data, not an error.
    rs = random_starts_nd(lambda p: p[0] + p[1], jax.random.key(0), [(-1, 1), (-1, 1)],
                          [0.1], [5], n=8)  # fmt: skip
    assert len(rs.minima) == 0
    assert rs.share.shape == (1, 1, 0)
    assert rs.nowhere.tolist() == [[1.0]] and rs.success.tolist() == [[0.0]]


def test_random_starts_nd_refuses_bounds_past_the_dtype(compiles):
    # hi - lo overflows float32: every start drawn on that coordinate would be inf.
    key = jax.random.key(0)
    with compiles, pytest.raises(ValueError, match=r"bounds\[1\]: .* does not fit float32"):
        random_starts_nd(fns2.saddle, key, [(-2, 2), (-3e38, 3e38)], [0.1], [10], n=8)
    assert compiles.count == 0


@pytest.mark.parametrize(
    ("f", "x", "exc", "said"),
    [
        (lambda p: p**2, [(0.0, 0.0), (1.0, 1.0)], TypeError, r"^f must return a real scalar"),
        (lambda p: (p**2).sum(), [(np.nan, 0.0)], ValueError, r"^x must hold finite points"),
        (lambda p: jnp.log(p[0]), [(-1.0, 0.0)], ValueError, r"^f is nan at point 0"),
    ],
    ids=["vector f", "NaN point", "f NaN there"],
)
def test_minima_at_refuses_what_is_no_minimum(f, x, exc, said):
    with pytest.raises(exc, match=said):
        MinimaND.at(f, x)


@pytest.mark.parametrize(
    ("bounds", "row"),
    [
        ([(-3e38, 3e38)], 0),  # each end fits float32, hi - lo does not
        ([(-1e39, 1.0)], 0),  # lo does not fit
        ([(-1, 1), (-1e300, 1e300)], 1),
        ([(-1, 1), (1.0, 1.00000001)], 1),  # one number in float32
    ],
)
def test_find_refuses_bounds_past_the_dtype(bounds, row, compiles):
    # The starts became inf or NaN and the search reported no minimum, silently.
    with compiles, pytest.raises(ValueError, match=rf"^bounds\[{row}\]: .* float32"):
        find_minima_nd(lambda p: (p**2).sum(), bounds)
    assert compiles.count == 0


@pytest.mark.thorough
@pytest.mark.parametrize(("c", "tol"), [(1.0003, None), (1.4, 0.5), (1.9, 1.0), (1.01, 1e-6)])
def test_a_minimum_outside_the_box_is_dropped_whatever_the_tol(c, tol, x64_or_not):
    # The box once reached tol beyond its edges: with tol=1.0 a minimum 0.9 outside was kept.
    m = find_minima_nd(lambda p: (p[0] - c) ** 2 + p[1] ** 2, [(-1, 1), (-1, 1)], tol=tol)
    assert len(m) == 0


@pytest.mark.thorough
@pytest.mark.parametrize("tol", [None, 1e-2])
def test_minima_on_the_edges_and_corners_of_the_box_are_kept(tol, x64_or_not):
    # 0.1 is no float: the float32 minimum 0.10000000149 lies past the float64 edge 0.1.
    m = find_minima_nd(lambda p: ((p - 0.1) ** 2).sum(), [(-1, 0.1), (0.1, 1)], tol=tol)
    np.testing.assert_allclose(np.asarray(m.x, np.float64), [[0.1, 0.1]], rtol=1e-6)
    corner = find_minima_nd(lambda p: ((p - 1.0) ** 4).sum() + p[0] * 0.0, [(-1, 1)] * 2)
    np.testing.assert_allclose(np.asarray(corner.x, np.float64), [[1.0, 1.0]], atol=1e-2)
    edge = find_minima_nd(lambda p: (p[0] + 2.0) ** 2 + (p[1] - 1.0) ** 2, [(-2, 2), (-1, 1)])
    np.testing.assert_allclose(np.asarray(edge.x, np.float64), [[-2.0, 1.0]], atol=1e-5)


_HERE = MinimaND.at(lambda p: (p**2).sum(), [(0.0, 0.0)])

_TRANSFORMED = {
    "find_minima_nd": lambda f: find_minima_nd(f, [(-1, 1), (-1, 1)]).x,
    "MinimaND.at": lambda f: MinimaND.at(f, [(0.0, 0.0)]).x,
    "nearest_minimum_nd": lambda f: nearest_minimum_nd(f(jnp.zeros((3, 2))), _HERE),
    "random_starts_nd": lambda f: (
        random_starts_nd(f, jax.random.key(0), [(-1, 1), (-1, 1)], [0.1], [10], n=4).success
    ),
}


@pytest.mark.parametrize("transform", ["jit", "vmap", "grad"])
@pytest.mark.parametrize("name", list(_TRANSFORMED))
def test_host_functions_inside_a_transformation_are_refused_before_f_runs(name, transform):
    calls = []

    def g(a):
        def f(p):
            calls.append(p)
            return ((p - a) ** 2).sum() if p.ndim == 1 else p + a

        return jnp.asarray(_TRANSFORMED[name](f), jnp.float32).sum()

    run = {
        "jit": lambda: jax.jit(g)(0.3),
        "vmap": lambda: jax.vmap(g)(jnp.array([0.1, 0.2])),
        "grad": lambda: jax.grad(g)(0.3),
    }[transform]
    with pytest.raises(TypeError, match=rf"^{name} runs on the host .* jax\.jit") as info:
        run()
    assert "Call it outside the transformation" in str(info.value)
    # The fix reads as a sentence, not as the repr of a tuple: "...: ('find the ...',)".
    assert "('" not in str(info.value) and str(info.value).endswith(".")
    # Under jit before f runs; under vmap or grad alone where f's traced values are first
    # read (inside jax.ensure_compile_time_eval() the search runs: values are concrete).
    assert calls == [] or transform != "jit" or name == "nearest_minimum_nd"


def test_host_functions_run_inside_ensure_compile_time_eval():
    # Refused since tracing was checked by the trace state alone: values are concrete there.
    def g(s):
        with jax.ensure_compile_time_eval():
            m = find_minima_nd(lambda p: ((p - 0.25) ** 2).sum(), [(-1, 1), (-1, 1)])
            at = MinimaND.at(lambda p: (p**2).sum(), [(0.0, 0.0)])
            label = nearest_minimum_nd(np.zeros((1, 2)), at)
        return s * m.x[0, 0] + label[0]

    assert float(jax.jit(g)(1.0)) == pytest.approx(0.25, abs=1e-3)


def test_a_sweep_of_points_under_vmap_takes_an_f_closing_over_traced_values():
    # The check of constant indices read f's constants with NumPy: TracerArrayConversionError.
    run = jax.vmap(lambda a: jaxgd.sweep(lambda p: ((p - a) ** 2).sum(), [[0.0, 0.0]], 0.1, 10))
    ends = run(jnp.array([0.1, 0.2])).final
    assert ends.shape == (2, 1, 1, 1, 2) and float(ends[1, 0, 0, 0, 0]) > float(ends[0, 0, 0, 0, 0])


def test_basins_nd_inside_a_transformation_is_refused():
    res = jaxgd.sweep(lambda p: (p**2).sum(), [[0.5, 0.5]], [0.1], [5])
    with pytest.raises(TypeError, match=r"^basins_nd runs on the host"):
        jax.jit(lambda a: basins_nd(res, _HERE).index.sum() + a)(1.0)


def test_too_many_starts_are_refused_before_allocating(compiles):
    # grid=50 in 6-D is 1.6e10 starts: NumPy's MemoryError (116 GiB) from inside meshgrid.
    def f(p):
        return (p**2).sum()

    with compiles:
        with pytest.raises(ValueError, match=r"^grid=50 gives grid\*\*d = 15,625,000,000 .*<= 10"):
            find_minima_nd(f, [(-1, 1)] * 6, grid=50)
        with pytest.raises(ValueError, match=r"^grid=1025 .* grid <= 1024"):
            find_minima_nd(f, [(-1, 1)] * 2, grid=1025)
        with pytest.raises(ValueError, match=r"^extra_starts has 1,048,576 finite starts"):
            find_minima_nd(f, [(-1, 1)] * 2, grid=1, extra_starts=np.zeros((2**20, 2)))
        with pytest.raises(ValueError, match=r"^num: .* 2\*\*26 = 67,108,864"):
            grid_starts([(0, 1), (0, 1)], 10**6)
        with pytest.raises(ValueError, match=r"^num: a grid of 2 x 2 x 33554432 points"):
            grid_starts([(0, 1)] * 3, (2, 2, 2**25))
    assert compiles.count == 0


_BAD_POINTS = [
    ([["a", "b"]], TypeError, "must hold real numbers of shape .*got strings"),
    ([[0.0, None]], TypeError, "must hold real numbers of shape .*got objects"),
    ([[1j, 0.0]], TypeError, "must hold real numbers, got complex"),
    (np.array([[0.5j, 0.5j]]), TypeError, "must hold real numbers, got complex"),
    ([[0.0, 0.0], [1.0]], ValueError, "must be an array of shape .*every row as long"),
    ([[True, False]], TypeError, "must hold numbers, got booleans"),
    ([[1.0, True]], TypeError, "must hold numbers, got booleans"),
    (np.array([[True, False]]), TypeError, "must hold numbers, got booleans"),
]
_BAD_IDS = ["str", "None", "complex", "complex array", "ragged", "bool", "one bool", "bool array"]


@pytest.mark.parametrize(("points", "error", "said"), _BAD_POINTS, ids=_BAD_IDS)
@pytest.mark.parametrize("where", ["extra_starts", "x", "final"])
def test_bad_points_are_named(where, points, error, said, compiles):
    # NumPy's own messages named no argument ("could not convert string to float: 'a'");
    # complex final points were labelled as at a minimum 1 away (sqrt(-1) = 1j, real part 0).
    f = lambda p: (p**2).sum()
    call = {
        "extra_starts": lambda: find_minima_nd(f, [(-1, 1), (-1, 1)], extra_starts=points),
        "x": lambda: MinimaND.at(f, points),
        "final": lambda: nearest_minimum_nd(points, _HERE),
    }[where]
    with compiles, pytest.raises(error, match=f"^{where} {said}"):
        call()
    assert compiles.count == 0


@pytest.mark.parametrize("where", ["extra_starts", "x", "final"])
def test_points_beyond_the_working_float_are_refused(where, compiles):
    # 1e39 is finite but inf in float32: NumPy warned of the overflow on the cast, and the
    # point was then skipped or labelled as diverged, or refused as "not finite" (x).
    # A finite number is no diverged run: refused, as nearest_minimum refuses it in 1-D.
    f = lambda p: (p**2).sum()
    points = [[0.0, 0.0], [1e39, 0.0]]
    call = {
        "extra_starts": lambda: find_minima_nd(f, [(-1, 1), (-1, 1)], extra_starts=points),
        "x": lambda: MinimaND.at(f, points),
        "final": lambda: nearest_minimum_nd(points, _HERE),
    }[where]
    with compiles, pytest.raises(ValueError, match=f"^{where} has values too large for float32"):
        call()
    assert compiles.count == 0
    with jax.enable_x64(True):
        assert nearest_minimum_nd(points, MinimaND.at(f, [[0.0, 0.0]])).tolist() == [0, -1]


@pytest.mark.parametrize(
    "bounds", [[(True, 2)], [(0, 1), (False, True)], np.array([[False, True]])]
)
def test_boolean_bounds_are_refused_as_find_minimas_ends_are(bounds):
    with pytest.raises(TypeError, match=r"^bounds must be numbers, got booleans"):
        find_minima_nd(lambda p: (p**2).sum(), bounds)
    with pytest.raises(TypeError, match=r"^bounds must be numbers, got booleans"):
        grid_starts(bounds, 3)


def test_a_circle_of_minima_comes_back_as_points_along_it():
    # Not isolated: f = 0 all along the unit circle. Each point is a minimum along the line
    # that touches it (f rises as h^4), so the search keeps one per cluster of ends, as its
    # docstring says; every one lies on the circle and all are global.
    m = find_minima_nd(lambda p: (p[0] ** 2 + p[1] ** 2 - 1) ** 2, [(-2, 2), (-2, 2)])
    x = np.asarray(m.x, np.float64)
    assert len(x) > 50
    np.testing.assert_allclose(np.hypot(x[:, 0], x[:, 1]), 1.0, atol=1e-6)
    assert np.asarray(m.global_).all()
    angles = np.sort(np.arctan2(x[:, 1], x[:, 0]))
    assert np.diff(np.r_[angles, angles[0] + 2 * np.pi]).max() < 0.5  # all the way round


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("f", "bounds"),
    [
        (lambda x: x[0] ** 2, [(-2, 2), (-2, 2)]),
        (lambda x: (x[0] - x[1]) ** 2, [(-2, 2), (-2, 2)]),
        (lambda x: x[0] ** 2 + 0.0 * x[2], [(-2, 2)] * 3),
        (lambda x: x[0] + x[1] ** 2, [(0, 1), (-1, 1)]),
    ],
    ids=["line", "diagonal", "plane-3d", "falls-past-the-edge"],
)
def test_minima_on_a_straight_line_and_past_an_edge_are_not_returned(f, bounds, x64_or_not):
    # As the docstring says: f does not rise along a straight line of minima, and the lowest
    # point of a box that f still falls past is not a stationary point.
    assert len(find_minima_nd(f, bounds)) == 0


def _bowl(p):  # one function for every example: each compiles once, not once an example
    return (p**2).sum()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.9, 0.9), st.floats(-0.9, 0.9)), min_size=1, max_size=3))
def test_bfloat16_points_are_read_as_float64_reads_them(rows):
    # A sweep run in bfloat16 ends in bfloat16 points: NumPy sees no real numbers in them,
    # and they were refused as "objects (bfloat16)".
    points = jnp.asarray(rows, jnp.bfloat16)
    wide = np.asarray(points, np.float64)
    assert nearest_minimum_nd(points, _HERE).tolist() == nearest_minimum_nd(wide, _HERE).tolist()
    got = find_minima_nd(_bowl, [(-1, 1), (-1, 1)], grid=2, extra_starts=points)
    want = find_minima_nd(_bowl, [(-1, 1), (-1, 1)], grid=2, extra_starts=wide)
    np.testing.assert_array_equal(got.x, want.x)


@pytest.mark.thorough
@pytest.mark.parametrize("low", [jnp.bfloat16, jnp.float16], ids=["bfloat16", "float16"])
def test_an_f_computing_in_a_coarser_float_has_each_minimum_once(low, x64_or_not):
    """Himmelblau computed in bfloat16 (or float16) inside a float32 or float64 run: its
    gradient rounds at that float's epsilon, runs from different starts stop a few of its
    steps apart, and each of the four minima was reported up to a dozen times."""

    def f(p):
        return fns2.himmelblau(p.astype(low)).astype(p.dtype)

    m = find_minima_nd(f, fns2.get("himmelblau").domain)
    assert len(m) == 4
    # Each to within a few steps of the coarse float (0.0156 near 3 in bfloat16).
    atol = 4 * float(jnp.finfo(low).eps) * 4
    np.testing.assert_allclose(np.asarray(m.x, np.float64), HIMMELBLAU, atol=atol)
    assert np.asarray(m.global_).all()  # equally deep, to that float's rounding


def test_minima_near_the_largest_float64(x64):
    """Float64 ends and edges near 1.7e308: the edge's spacing, the distances between ends
    and the sort keys x / eps overflowed, and NumPy's warnings were errors."""
    m = find_minima_nd(
        lambda p: ((p - 1.5e308) ** 2).sum(), [(1e308, 1.7976931348623157e308)] * 2, grid=4
    )
    np.testing.assert_allclose(np.asarray(m.x), [[1.5e308, 1.5e308]], rtol=1e-12)
    m = MinimaND.at(lambda p: ((p * 1e-300) ** 2).sum(), [(1.7e308, 1.7e308), (-1.7e308, 1.6e308)])
    assert np.asarray(m.x).tolist() == [[-1.7e308, 1.6e308], [1.7e308, 1.7e308]]


# --- Unseen functions against independent float64 references ---------------------------------
# Module-level f(x, params) bound with functools.partial (NumPy float64 parameters): a few
# compilations per example, so examples stay few.


def _quadratic(x, a, m, c):
    d = x - m
    return d @ a @ d + c


def _wells(x, p):
    d2 = jnp.sum((x[None, :] - p[:, 1:3]) ** 2, axis=1)
    return -jnp.sum(p[:, 0] * jnp.exp(-d2 / p[:, 3] ** 2))


def _wells_newton(p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Minimum of _wells near x by float64 Newton on its hand-written gradient and Hessian."""
    for _ in range(50):
        d = x[None, :] - p[:, 1:3]
        w = p[:, 0] * np.exp(-np.sum(d**2, axis=1) / p[:, 3] ** 2) / p[:, 3] ** 2
        grad = np.sum(2 * w[:, None] * d, axis=0)
        hess = np.sum(
            2
            * w[:, None, None]
            * (np.eye(2) - 2 * d[:, :, None] * d[:, None, :] / p[:, 3, None, None] ** 2),
            axis=0,
        )
        x = x - np.linalg.solve(hess, grad)
    return x


_SHIFTS = st.sampled_from([0.0, 1e4])
_SIZES = st.floats(-3, 3).map(lambda e: 10.0**e)
_SCALES = st.sampled_from([1.0, 1e-20, 1e20])
_NO_SHRINK = (hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate)


@pytest.mark.thorough
@given(
    _SHIFTS,
    _SIZES,
    _SCALES,
    st.lists(st.floats(-2, 2), min_size=4, max_size=4),
    st.lists(st.floats(-0.9, 0.9), min_size=2, max_size=2),
)
@settings(max_examples=8, deadline=None, phases=_NO_SHRINK)
def test_random_quadratics_have_their_one_minimum(shift, size, scale, q, at):
    # (x - m)^T A (x - m) + c, A positive definite: one minimum, at m.
    q = np.reshape(q, (2, 2))
    a = scale * (q @ q.T + 0.05 * np.eye(2))
    m = shift + size * np.array(at)
    bounds = np.array([[shift - size, shift + size]] * 2)
    f = functools.partial(_quadratic, a=a, m=m, c=scale)
    with jax.enable_x64(True):
        got = find_minima_nd(f, bounds, grid=8)
    assert len(got) == 1 and got.global_.tolist() == [True]
    # Newton lands on m up to the rounding of x - m and of A's conditioning (A's eigenvalues
    # are at least 0.05 of its scale).
    np.testing.assert_allclose(np.asarray(got.x[0]), m, rtol=0, atol=1e-9 * size + 1e-11 * shift)


def _separable(x, px, py):
    return jnp.polyval(px, x[0]) + jnp.polyval(py, x[1])


def _axis_polynomial(roots, mult, sign, size):
    """P with P' = sign * prod (u - size r)^m, and P's minima: the roots where P' goes from
    negative to positive (an odd multiplicity; at a double root P' keeps its sign)."""
    r = size * np.asarray(roots)
    dp = sign * np.poly(np.repeat(r, mult))
    order = np.argsort(r)
    r, mult = r[order], np.asarray(mult)[order]
    right = sign * (-1.0) ** np.concatenate([np.cumsum(mult[::-1])[::-1][1:], [0]])
    left = right * (-1.0) ** mult
    return np.polyint(dp), r[(left < 0) & (right > 0)]


_ROOTS = st.lists(
    st.tuples(st.floats(-0.85, 0.85), st.integers(1, 2)),
    min_size=1,
    max_size=3,
    unique_by=lambda t: round(t[0], 1),
).filter(lambda rs: min(np.diff(sorted(r for r, _ in rs)), default=1.0) >= 0.1)


@pytest.mark.thorough
@given(_ROOTS, _ROOTS, st.sampled_from([-1.0, 1.0]), st.sampled_from([1e-2, 1.0, 1e2]))
@settings(max_examples=8, deadline=None, phases=_NO_SHRINK)
def test_separable_polynomials_with_inflections_have_the_minima_of_each_axis(rx, ry, sign, size):
    # P(x) + Q(y) with P' and Q' products of (u - r) and (u - r)^2: the minima are the pairs
    # of each axis's minima, computed from the roots' signs alone; every double root is an
    # inflection of its axis, a point with a tiny, positive curvature beside it.
    (px, mx), (py, my) = (_axis_polynomial(*zip(*rs, strict=True), sign, size) for rs in (rx, ry))
    with jax.enable_x64(True):
        got = find_minima_nd(functools.partial(_separable, px=px, py=py), [(-size, size)] * 2)
    want = np.array([(a, b) for a in mx for b in my]).reshape(-1, 2)
    assert len(got) == len(want), (np.asarray(got.x), want)
    x = np.asarray(got.x)
    for w in want:
        assert np.min(np.max(np.abs(x - w), axis=1)) <= 1e-6 * size, (w, x)


@pytest.mark.thorough
@given(
    _SHIFTS,
    _SIZES,
    _SCALES,
    st.lists(st.integers(0, 8), min_size=1, max_size=4, unique=True),
    st.lists(st.floats(-0.15, 0.15), min_size=8, max_size=8),
    st.lists(st.floats(0.5, 2.0), min_size=4, max_size=4),
    st.lists(st.floats(0.08, 0.13), min_size=4, max_size=4),
)
@settings(max_examples=8, deadline=None, phases=_NO_SHRINK)
def test_sums_of_gaussian_wells_have_a_minimum_in_each(
    shift, size, scale, cells, jitter, depth, width
):
    # Wells on a jittered 3 x 3 lattice, at least 5 widths apart: one minimum in each, and
    # no other (f flat to underflow between them has no curvature to make one).
    k = len(cells)
    centres = np.stack([np.array(cells) % 3, np.array(cells) // 3], 1) - 1.0
    centres = centres + np.reshape(jitter, (4, 2))[:k]
    p = np.column_stack(
        [scale * np.array(depth[:k]), shift + size * centres, size * np.array(width[:k])]
    )
    want = np.array([_wells_newton(p, c) for c in p[:, 1:3]])
    bounds = np.array([[shift - 1.6 * size, shift + 1.6 * size]] * 2)
    with jax.enable_x64(True):
        got = find_minima_nd(functools.partial(_wells, p=p), bounds)
    assert len(got) == k
    x = np.asarray(got.x)
    for w in want:
        assert np.min(np.max(np.abs(x - w), axis=1)) <= 1e-8 * size + 1e-11 * shift, (w, x)
    deepest = want[np.argmax(p[:, 0])]
    assert np.asarray(got.global_)[np.argmin(np.max(np.abs(x - deepest), axis=1))]


@pytest.mark.parametrize("name", ["peaks", "rosenbrock", "himmelblau", "rastrigin", "beale"])
def test_the_search_agrees_with_xlas_default_options_to_rounding(name, x64_or_not, monkeypatch):
    # The search is compiled with XLA:CPU's older fusion emitters (half the compile time):
    # the same minima as with XLA's defaults, to a few ulps (the arithmetic is ordered
    # differently), found from the same starts.
    import jaxgd.minima_nd as minima_nd

    f = getattr(fns2, name)
    bounds = [(-2.5, 3.5), (-3.0, 3.0)]
    ours = find_minima_nd(f, bounds, grid=12)
    monkeypatch.setattr(minima_nd, "_newton_all", with_xla_default_options(minima_nd._newton_all))
    theirs = find_minima_nd(lambda p: f(p), bounds, grid=12)  # a new f: compiled afresh
    eps = float(jnp.finfo(ours.x.dtype).eps)
    assert ours.x.shape == theirs.x.shape
    np.testing.assert_allclose(ours.x, theirs.x, rtol=16 * eps, atol=16 * eps)
    scale = max(1.0, float(np.max(np.abs(ours.value), initial=0.0)))
    np.testing.assert_allclose(ours.value, theirs.value, rtol=0, atol=64 * eps * scale)
    np.testing.assert_array_equal(ours.global_, theirs.global_)
