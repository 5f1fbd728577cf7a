"""The 2-D function library: registry, values, and the minima each function lists."""

from __future__ import annotations

import inspect
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd.functions2d as fns2

NAMES = fns2.names()

HIMMELBLAU = [
    (3.0, 2.0),
    (-2.805118, 3.131312),
    (-3.779310, -3.283186),
    (3.584428, -1.848126),
]


def test_registry():
    assert NAMES == ["peaks", "rosenbrock", "himmelblau", "rastrigin", "beale", "saddle"]
    for name in NAMES:
        spec = fns2.get(name)
        assert spec.name == name and isinstance(spec, fns2.Function2D)
        assert spec.f is getattr(fns2, name)


def test_get_errors():
    with pytest.raises(ValueError, match="choose one of: peaks, rosenbrock"):
        fns2.get("peak")
    with pytest.raises(TypeError, match="name must be a string"):
        fns2.get(2)


@pytest.mark.parametrize("name", NAMES)
def test_maps_a_point_to_a_scalar(name):
    f = fns2.get(name).f
    out = f(jnp.array([0.3, -0.4]))
    assert out.shape == ()
    assert jax.grad(f)(jnp.array([0.3, -0.4])).shape == (2,)
    batched = jax.jit(jax.vmap(f))(jnp.ones((5, 2)))
    assert batched.shape == (5,)


@pytest.mark.thorough
@pytest.mark.parametrize("name", NAMES)
def test_listed_minima_are_minima(name, x64):
    """|grad| ~ 0 and a positive definite Hessian at every listed minimum, in float64."""
    spec = fns2.get(name)
    m = jnp.asarray(spec.minima_array)
    assert m.dtype == jnp.float64 and m.shape[0] >= 1
    g = np.asarray(jax.vmap(jax.grad(spec.f))(m))
    h = np.asarray(jax.vmap(jax.hessian(spec.f))(m))
    curvature = np.linalg.eigvalsh(h)
    assert np.all(curvature[:, 0] > 0), curvature
    # The gradient left by a location error of 1e-12 along the stiffest direction.
    assert np.all(np.abs(g).max(axis=1) <= 1e-12 * (1.0 + curvature[:, -1])), g
    (x0, x1), (y0, y1) = spec.domain
    assert np.all((m[:, 0] >= x0) & (m[:, 0] <= x1) & (m[:, 1] >= y0) & (m[:, 1] <= y1))


def _grid_minima(f, domain, n):
    """Points of an n x n grid lower than their 8 neighbours (interior only), float64."""
    (x0, x1), (y0, y1) = domain
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    pts = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1)
    v = np.asarray(jax.vmap(jax.vmap(f))(jnp.asarray(pts)))
    c = v[1:-1, 1:-1]
    lower = np.ones_like(c, bool)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                lower &= c < v[1 + dx : n - 1 + dx, 1 + dy : n - 1 + dy]
    i, j = np.nonzero(lower)
    return pts[1:-1, 1:-1][i, j], max((x1 - x0), (y1 - y0)) / (n - 1)


# Rosenbrock's and Beale's narrow curved valleys give a grid spurious minima along their floor:
# their single minimum is checked by the multi-start Newton of test_minima_nd instead.
@pytest.mark.parametrize("name", ["peaks", "himmelblau", "rastrigin", "saddle"])
def test_every_minimum_is_listed(name, x64):
    """A dense grid's local minima and the listed minima match one to one."""
    spec = fns2.get(name)
    found, h = _grid_minima(spec.f, spec.domain, 401)
    listed = spec.minima_array
    d = np.linalg.norm(found[:, None, :] - listed[None, :, :], axis=-1)
    assert np.all(d.min(axis=1) <= 2 * h), found[d.min(axis=1) > 2 * h]
    assert np.all(d.min(axis=0) <= 2 * h), listed[d.min(axis=0) > 2 * h]


def test_closed_forms(x64):
    for name, point, value in [
        ("rosenbrock", (1.0, 1.0), 0.0),
        ("himmelblau", (3.0, 2.0), 0.0),
        ("beale", (3.0, 0.5), 0.0),
        ("saddle", (0.0, 1.0), -0.25),
        ("saddle", (0.0, -1.0), -0.25),
        ("rastrigin", (0.0, 0.0), 0.0),
    ]:
        spec = fns2.get(name)
        assert point in spec.minima
        assert float(spec.f(jnp.asarray(point))) == value
        assert np.all(np.asarray(jax.grad(spec.f)(jnp.asarray(point))) == 0.0)


def test_himmelblau_minima(x64):
    listed = fns2.get("himmelblau").minima_array
    np.testing.assert_allclose(listed, np.asarray(HIMMELBLAU), atol=1e-6)
    values = jax.vmap(fns2.himmelblau)(jnp.asarray(listed))
    assert np.all(np.abs(np.asarray(values)) < 1e-24)


def test_peaks_matches_matlab(x64):
    """MATLAB's peaks at a few points, from its formula written out in NumPy."""

    def ref(x, y):
        return (
            3 * (1 - x) ** 2 * np.exp(-(x**2) - (y + 1) ** 2)
            - 10 * (x / 5 - x**3 - y**5) * np.exp(-(x**2) - y**2)
            - 1 / 3 * np.exp(-((x + 1) ** 2) - y**2)
        )

    pts = np.random.default_rng(1).uniform(-3, 3, (20, 2))
    got = np.asarray(jax.vmap(fns2.peaks)(jnp.asarray(pts)))
    np.testing.assert_allclose(got, ref(pts[:, 0], pts[:, 1]), rtol=1e-13, atol=1e-14)
    best = fns2.get("peaks").minima[0]
    assert round(float(fns2.peaks(jnp.asarray(best))), 4) == -6.5511


def test_saddle_origin_is_a_saddle(x64):
    h = np.asarray(jax.hessian(fns2.saddle)(jnp.zeros(2)))
    assert np.all(np.asarray(jax.grad(fns2.saddle)(jnp.zeros(2))) == 0)
    assert np.linalg.eigvalsh(h).tolist() == [-1.0, 2.0]


def test_rastrigin_minima_are_pairs():
    m = fns2.get("rastrigin").minima_array
    assert m.shape == (121, 2)
    assert len({tuple(p) for p in m.tolist()}) == 121


@pytest.mark.parametrize("name", [n for n in NAMES if n != "rastrigin"])
def test_docstring_lists_the_minima(name):
    """The minima written in each docstring are the ones stored, to the digits shown."""
    doc = inspect.getdoc(getattr(fns2, name))
    block = doc.split("Minima on the domain")[1].split("Args:")[0]
    pairs = re.findall(r"\((-?[\d.]+), (-?[\d.]+)\)", block)
    shown = np.asarray(pairs, np.float64)
    assert set(map(tuple, shown.tolist())) == set(fns2.get(name).minima)


@pytest.mark.parametrize("name", NAMES)
def test_default_start_inside_and_moving(name):
    spec = fns2.get(name)
    x, y = spec.default_start
    (x0, x1), (y0, y1) = spec.domain
    assert x0 <= x <= x1 and y0 <= y <= y1
    assert np.any(np.asarray(jax.grad(spec.f)(jnp.asarray([x, y]))) != 0)


def test_dataclass_defaults():
    spec = fns2.Function2D("bowl", lambda p: (p**2).sum(), ((0.0, 2.0), (-1.0, 5.0)), "")
    assert spec.default_start == (1.0, 2.0)
    assert spec.minima_array.shape == (0, 2)
    assert spec.bounds.tolist() == [[0.0, 2.0], [-1.0, 5.0]]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"domain": ((1.0, -1.0), (0.0, 1.0))}, ValueError, "domain's x range must be finite"),
        ({"domain": ((0.0, 1.0), (0.0, np.inf))}, ValueError, "domain's y range must be finite"),
        ({"domain": ((0.0, 1.0),)}, TypeError, r"domain must be \(\(x_lo, x_hi\), \(y_lo"),
        ({"minima": ((0.5,),)}, TypeError, r"minima must be a list of points \(x, y\)"),
        ({"minima": ((0.5, np.nan),)}, ValueError, "minima must be finite"),
        ({"start": (0.1,)}, TypeError, r"start must be a point \(x, y\)"),
        ({"start": ("a", 0.0)}, TypeError, "start must be a real number"),
        ({"domain": ((0.0, 1.0), (-1e308, 1e308))}, ValueError, "domain's y range .* wider"),
        ({"minima": ((0.5, 10**400),)}, ValueError, "minima is too large for any float"),
        # Kept as given, a point off the rectangle named a minimum no run there reaches.
        ({"minima": ((0.5, 3.0),)}, ValueError, r"the minimum \(0.5, 3\) lies outside its dom"),
        ({"minima": ((-0.5, 1.0),)}, ValueError, r"the minimum \(-0.5, 1\) lies outside"),
        ({"minima": None}, TypeError, r"minima must be a list of points \(x, y\), e.g."),
        ({"minima": "ab"}, TypeError, r"minima must be a list of points .*; got 'ab'"),
        ({"f": None}, TypeError, "f must be a callable written with jax.numpy; got NoneType"),
        ({"f": np.zeros(2)}, TypeError, "f must be a callable"),
        ({"description": None}, TypeError, "description must be a string"),
    ],
)
def test_a_bad_domain_minimum_or_start_is_refused_where_it_is_given(kwargs, exc, match):
    # A reversed domain reached the 2-D experiments as a traceback from inside minima_nd.
    args = {"domain": ((0.0, 1.0), (0.0, 2.0)), "f": lambda p: (p**2).sum(), "description": ""}
    with pytest.raises(exc, match=rf"^Function2D 'bowl': {match}"):
        fns2.Function2D("bowl", **{**args, **kwargs})


def test_minima_on_the_domains_edge_are_kept_and_a_name_must_be_text():
    spec = fns2.Function2D("edge", lambda p: (p**2).sum(), ((0, 1), (0, 2)), "", [(0, 2), (1, 0)])
    assert spec.minima == ((0.0, 2.0), (1.0, 0.0))
    with pytest.raises(TypeError, match=r"^Function2D 3: name must be a string"):
        fns2.Function2D(3, lambda p: (p**2).sum(), ((0, 1), (0, 2)), "")


def test_fields_are_kept_as_float_tuples():
    spec = fns2.Function2D(
        "bowl", lambda p: (p**2).sum(), np.array([[0, 1], [0, 2]]), "", np.zeros((1, 2)), [0, 1]
    )
    assert spec.domain == ((0.0, 1.0), (0.0, 2.0)) and type(spec.domain[0][0]) is float
    assert spec.minima == ((0.0, 0.0),) and spec.start == (0.0, 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_integer_points_are_computed_in_floats(name):
    # y**5 of an int32 point wrapped around silently.
    f = fns2.get(name).f
    for p in (np.array([300, -200], np.int32), jnp.array([3, 100]), np.array([True, False])):
        out = f(p)
        assert out.dtype == jnp.float32
        assert out == f(jnp.asarray(p, jnp.float32))


@pytest.mark.parametrize("name", fns2.names())
@pytest.mark.parametrize("shape", [(), (1,), (3,), (3, 2)])
def test_a_point_of_another_dimension_is_refused(name, shape):
    # p[0], p[1] of a point of R^3 computed f on its first two coordinates: a sweep from
    # (S, 3) starts ran, and the third coordinate never moved.
    f = fns2.get(name).f
    with pytest.raises(ValueError, match=r"point \(x, y\) of shape \(2,\); got shape"):
        f(jnp.zeros(shape))


@pytest.mark.parametrize("name", fns2.names())
def test_stacked_grids_of_x_and_y_give_f_on_the_grid(name):
    f = fns2.get(name).f
    xs, ys = np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-2, 2, 4))
    grid = f(jnp.stack([jnp.asarray(xs), jnp.asarray(ys)]))
    each = [
        [float(f(jnp.array([x, y]))) for x, y in zip(rx, ry, strict=True)]
        for rx, ry in zip(xs, ys, strict=True)
    ]
    np.testing.assert_allclose(np.asarray(grid), each, rtol=1e-5)
