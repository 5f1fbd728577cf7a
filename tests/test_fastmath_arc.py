"""jaxgd.fastmath's atan, atan2, asin and acos: accuracy against float64 (float32) and long
double (float64) references, C's special values, derivatives, and their place in the rewrite
and in a sweep."""

from __future__ import annotations

import importlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd
from jaxgd import _run, fastmath
from jaxgd._rule import Rule
from tests.helpers import primitive_names

sweep_module = importlib.import_module("jaxgd.sweep")

fast_atan = jax.jit(fastmath.atan)
fast_asin = jax.jit(fastmath.asin)
fast_acos = jax.jit(fastmath.acos)
fast_atan2 = jax.jit(fastmath.atan2)

# The documented bounds (measured: atan 0.85, asin 0.90, acos 0.91, atan2 1.541).
BOUND = {"atan": 0.86, "asin": 0.91, "acos": 0.91, "atan2": 1.55}
TINY32 = float(np.finfo(np.float32).tiny)


def ulp32(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|y - ref| in float32 ulps at ref; results below the smallest normal are not counted
    (XLA:CPU flushes them to zero, as its own functions do)."""
    mag = np.maximum(np.abs(ref), TINY32)
    err = np.abs(y.astype(np.float64) - ref) / np.exp2(np.floor(np.log2(mag)) - 23)
    return np.where(np.abs(ref) < TINY32, 0.0, err)


def every_float32(lo: float, hi: float) -> np.ndarray:
    """Every float32 in [lo, hi] (both positive)."""
    a, b = np.array([lo, hi], np.float32).view(np.int32)
    return np.arange(a, b + 1, dtype=np.int32).view(np.float32)


def around(points, width: int = 64) -> np.ndarray:
    """The float32 within ``width`` ulps of each point, both signs."""
    c = np.asarray(points, np.float32).view(np.int32)
    bits = (c[:, None] + np.arange(-width, width + 1, dtype=np.int32)).ravel()
    x = bits.view(np.float32)
    return np.concatenate([x, -x])


# fdlibm's interval edges for atan, and for asin/acos their branch points
ATAN_EDGES = [2.0**-12, 7 / 16, 11 / 16, 1.0, 19 / 16, 39 / 16, 2.0**26]
ASIN_EDGES = [2.0**-27, 0.5, 0.975, 1.0 - 2.0**-24]


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("name", "fast", "ref", "binades"),
    [
        ("atan", fast_atan, np.arctan, [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]),
        ("asin", fast_asin, np.arcsin, [(0.25, 0.5), (0.5, 1.0)]),
        ("acos", fast_acos, np.arccos, [(0.25, 0.5), (0.5, 1.0)]),
    ],
)
def test_every_float32_of_the_hard_binades_is_within_the_bound(name, fast, ref, binades):
    # Each binade holds every interval edge and branch of its range; acos is checked on both
    # sides (its branches for x < 0 differ from those for x > 0).
    for lo, hi in binades:
        x = every_float32(lo, hi)
        for xs in (x, -x):
            e = ulp32(np.asarray(fast(xs)), ref(xs.astype(np.float64)))
            assert e.max() <= BOUND[name], (name, xs[int(np.argmax(e))], e.max())


@pytest.mark.parametrize(
    ("name", "fast", "ref", "edges", "span"),
    [
        ("atan", fast_atan, np.arctan, ATAN_EDGES, (-40.0, 40.0)),
        ("asin", fast_asin, np.arcsin, ASIN_EDGES, (-1.0, 1.0)),
        ("acos", fast_acos, np.arccos, ASIN_EDGES, (-1.0, 1.0)),
    ],
)
def test_float32_at_the_branch_edges_and_over_every_magnitude(name, fast, ref, edges, span, rng):
    x = np.concatenate(
        [
            around(edges),
            rng.uniform(*span, 1 << 20).astype(np.float32),
            # every magnitude down to the smallest normal
            (np.sign(rng.uniform(-1, 1, 1 << 19)) * 10.0 ** rng.uniform(-37, 0, 1 << 19)).astype(
                np.float32
            ),
        ]
    )
    if name == "atan":
        x = np.concatenate([x, (10.0 ** rng.uniform(0, 38, 1 << 18)).astype(np.float32)])
    x = x[np.abs(x) <= (1.0 if name != "atan" else np.inf)]
    e = ulp32(np.asarray(fast(x)), ref(x.astype(np.float64)))
    assert e.max() <= BOUND[name], (x[int(np.argmax(e))], e.max())


def test_float32_atan2_over_pairs_of_every_magnitude_and_quadrant(rng):
    n = 1 << 21
    unit = rng.uniform(-1, 1, (2, n))
    wide = rng.standard_normal((2, n)) * 10.0 ** rng.uniform(-30, 30, (2, n))
    xs = rng.uniform(-100, 100, n)
    ratio = rng.choice([7 / 16, 11 / 16, 1.0, 19 / 16, 39 / 16, 2.0**26, 2.0**-26], n)
    edges = np.stack([xs * ratio * (1 + rng.uniform(-1e-6, 1e-6, n)) * rng.choice([-1, 1], n), xs])
    for y, x in (unit, wide, edges):
        y, x = y.astype(np.float32), x.astype(np.float32)
        keep = (np.abs(y) >= TINY32) & (np.abs(x) >= TINY32)
        y, x = y[keep], x[keep]
        e = ulp32(np.asarray(fast_atan2(y, x)), np.arctan2(y.astype(np.float64), x))
        assert e.max() <= BOUND["atan2"], (y[int(np.argmax(e))], x[int(np.argmax(e))], e.max())


@settings(max_examples=80, deadline=None)
@given(
    st.floats(-(2.0**100), 2.0**100, width=32, allow_subnormal=False),
    st.floats(-(2.0**100), 2.0**100, width=32, allow_subnormal=False),
)
def test_fuzz_atan2_within_the_bound(y, x):
    y32, x32 = np.float32(y), np.float32(x)
    got = np.asarray(fast_atan2(np.array([y32]), np.array([x32])))
    ref = np.arctan2(np.float64(y32), np.float64(x32))
    assert ulp32(got, np.array([ref]))[0] <= BOUND["atan2"]


LONG = pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs an 80-bit long double")


def ulp64(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    mag = np.maximum(np.abs(ref.astype(np.float64)), np.finfo(np.float64).tiny)
    err = np.abs(y.astype(np.longdouble) - ref).astype(np.float64)
    return np.where(np.abs(ref) < np.finfo(np.float64).tiny, 0.0, err / np.spacing(mag))


@LONG
def test_float64_accuracy_against_long_double(x64, rng):
    n = 1 << 18
    near_one = 1 - 10.0 ** rng.uniform(-16, 0, n)
    cases = {
        "atan": np.concatenate(
            [rng.uniform(-3, 3, n), rng.standard_normal(n) * 10.0 ** rng.uniform(-20, 30, n)]
        ),
        "asin": np.concatenate([rng.uniform(-1, 1, n), near_one, -near_one]),
        "acos": np.concatenate([rng.uniform(-1, 1, n), near_one, -near_one]),
    }
    for edge in ATAN_EDGES + ASIN_EDGES:
        spread = edge * (1 + np.arange(-64, 65) * 2.0**-52)
        for key in cases:
            cases[key] = np.concatenate([cases[key], spread, -spread])
    fns = {"atan": (fast_atan, np.arctan), "asin": (fast_asin, np.arcsin)}
    fns["acos"] = (fast_acos, np.arccos)
    for name, x in cases.items():
        if name != "atan":
            x = x[np.abs(x) <= 1]
        fast, ref = fns[name]
        e = ulp64(np.asarray(fast(x)), ref(x.astype(np.longdouble)))
        assert e.max() <= BOUND[name], (name, x[int(np.argmax(e))], e.max())
    y, x = rng.uniform(-1, 1, (2, n))
    wy, wx = rng.standard_normal((2, n)) * 10.0 ** rng.uniform(-150, 150, (2, n))
    for yy, xx in ((y, x), (wy, wx)):
        e = ulp64(np.asarray(fast_atan2(yy, xx)), np.arctan2(yy.astype(np.longdouble), xx))
        assert e.max() <= BOUND["atan2"]


PI, HALF, QUARTER = np.pi, np.pi / 2, np.pi / 4
INF, NAN = np.inf, np.nan
# (y, x, atan2 as C defines it)
ATAN2_SPECIAL = [
    (0.0, 1.0, 0.0),
    (-0.0, 1.0, -0.0),
    (0.0, 0.0, 0.0),
    (-0.0, 0.0, -0.0),
    (0.0, -0.0, PI),
    (-0.0, -0.0, -PI),
    (0.0, -1.0, PI),
    (-0.0, -1.0, -PI),
    (1.0, 0.0, HALF),
    (1.0, -0.0, HALF),
    (-1.0, 0.0, -HALF),
    (-1.0, -0.0, -HALF),
    (INF, 1.0, HALF),
    (-INF, -1.0, -HALF),
    (INF, INF, QUARTER),
    (-INF, INF, -QUARTER),
    (INF, -INF, 3 * QUARTER),
    (-INF, -INF, -3 * QUARTER),
    (1.0, INF, 0.0),
    (-1.0, INF, -0.0),
    (1.0, -INF, PI),
    (-1.0, -INF, -PI),
    (1.0, 1.0, QUARTER),
    (-1.0, -1.0, -3 * QUARTER),
    (3e38, 1e-30, HALF),
    (NAN, 1.0, NAN),
    (1.0, NAN, NAN),
    (NAN, NAN, NAN),
    (INF, NAN, NAN),
    (0.0, NAN, NAN),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_atan2_special_values_are_cs(dtype, x64):
    y, x, want = (np.array(c, dtype) for c in zip(*ATAN2_SPECIAL, strict=True))
    got = np.asarray(fast_atan2(y, x))
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(
        np.signbit(got[~np.isnan(got)]), np.signbit(want[~np.isnan(want)])
    )
    # the constants are the correctly rounded pi, pi/2, pi/4, 3 pi/4 of the dtype
    np.testing.assert_array_equal(got[~np.isnan(got)], want[~np.isnan(want)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_atan_asin_acos_special_values(dtype, x64):
    x = np.array([0.0, -0.0, 1.0, -1.0, INF, -INF, NAN, 1.5, -2.0], dtype)
    at, asn, acs = (np.asarray(g(x)) for g in (fast_atan, fast_asin, fast_acos))
    np.testing.assert_array_equal(
        at,
        np.array(
            [0, -0.0, QUARTER, -QUARTER, HALF, -HALF, NAN, np.arctan(1.5), np.arctan(-2.0)], dtype
        ),
    )
    assert np.signbit(at[1]) and np.signbit(asn[1]) and not np.signbit(at[0])
    np.testing.assert_array_equal(asn[:4], np.array([0, -0.0, HALF, -HALF], dtype))
    np.testing.assert_array_equal(acs[:4], np.array([HALF, HALF, 0.0, PI], dtype))
    assert np.isnan(asn[4:]).all() and np.isnan(acs[4:]).all()  # |x| > 1, infinities, NaN


def test_subnormal_inputs_count_as_zeros():
    # XLA:CPU's vectorised arithmetic reads subnormals as zeros; XLA's own atan2 of two of
    # them is NaN. The rewrite gives a zero-argument answer, always finite.
    sub = np.float32(1e-45)
    assert float(fast_atan2(sub, np.float32(2e-45))) in (0.0, float(sub))
    assert float(fast_atan2(-sub, np.float32(-1.0))) == -np.float32(np.pi)
    assert float(fast_atan(sub)) == float(sub)  # returned as given
    assert float(fast_asin(-sub)) == -float(sub)
    assert float(fast_acos(sub)) == np.float32(np.pi / 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_subnormal_atan2_is_a_zero_of_its_sign_as_xlas(dtype, x64):
    # The ulp bound is for results of normal size: y/x below the smallest normal float
    # flushes to zero, in the rewrite as in XLA's own atan2 (the exact value is subnormal).
    tiny = np.finfo(dtype).tiny
    y = np.array([1.0, -1.0, 3.0, -3.0, 1.0, 1e10], dtype) * tiny
    x = np.array([2.0, 2.0, 7.0, 7.0, 1e9, 3e15], dtype)
    assert (np.abs(np.arctan2(y, x)) < tiny).all() and np.arctan2(y, x)[0] != 0
    for got in (fast_atan2(y, x), jax.jit(fast_atan2)(y, x)):
        got = np.asarray(got)
        np.testing.assert_array_equal(got, np.zeros_like(got))
        np.testing.assert_array_equal(np.signbit(got), np.signbit(y))
    np.testing.assert_array_equal(np.asarray(jax.jit(jnp.arctan2)(y, x)), np.zeros_like(y))
    # Just above the smallest normal result the bound holds again.
    y, x = np.array([4 * tiny], dtype), np.array([2.0], dtype)
    assert np.asarray(fast_atan2(y, x))[0] == dtype(2 * tiny)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_derivatives_are_the_analytic_ones(dtype, x64):
    x = jnp.linspace(-0.95, 0.95, 41, dtype=dtype)
    y = jnp.linspace(-3.0, 2.0, 41, dtype=dtype)
    rtol = 1e-6 if dtype == jnp.float32 else 1e-14
    grad = jax.vmap(jax.grad(fastmath.atan))
    np.testing.assert_allclose(grad(y), 1 / (1 + y**2), rtol=rtol)
    np.testing.assert_allclose(
        jax.vmap(jax.grad(fastmath.asin))(x), 1 / jnp.sqrt(1 - x**2), rtol=rtol
    )
    np.testing.assert_allclose(
        jax.vmap(jax.grad(fastmath.acos))(x), -1 / jnp.sqrt(1 - x**2), rtol=rtol
    )
    dy, dx = jax.vmap(jax.grad(fastmath.atan2, argnums=(0, 1)))(y, x)
    np.testing.assert_allclose(dy, x / (x**2 + y**2), rtol=rtol)
    np.testing.assert_allclose(dx, -y / (x**2 + y**2), rtol=rtol)


def test_atan2_checks_its_arguments():
    with pytest.raises(TypeError, match="one dtype"), jax.enable_x64(True):
        fastmath.atan2(jnp.float32(1.0), jnp.float64(1.0))
    with pytest.raises(TypeError, match="float32 or float64"):
        fastmath.atan2(jnp.int32(1), jnp.int32(2))
    with pytest.raises(TypeError, match="float32 or float64"):
        fastmath.asin(jnp.ones(3, jnp.bfloat16))
    # broadcasting, as jnp.arctan2
    got = fastmath.atan2(jnp.ones((2, 3)), jnp.float32(-1.0))
    assert got.shape == (2, 3)


def arc_f(x):
    # every replaced inverse function, with literals on either side of atan2
    return (
        jnp.arctan(x) ** 2
        + 0.3 * jnp.arcsin(jnp.tanh(x)) * jnp.arccos(0.5 * jnp.tanh(x))
        + 0.2 * jnp.arctan2(x, 2.0) ** 2
        + 0.1 * jnp.arctan2(1.5, x)
        + 0.05 * x**2
    )


ARC_NAMES = {"atan", "atan2", "asin", "acos"}


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_the_rewrite_replaces_them_and_keeps_the_values(dtype, x64):
    grad = jax.grad(arc_f)
    assert primitive_names(jax.make_jaxpr(grad)(dtype(0.5))) >= ARC_NAMES
    fast = fastmath.rewrite(grad, enable=True)
    assert not ARC_NAMES & primitive_names(jax.make_jaxpr(fast)(dtype(0.5)))
    x = jnp.linspace(-4.0, 4.0, 2001, dtype=dtype)
    want = jax.jit(jax.vmap(grad))(x)
    got = jax.jit(jax.vmap(fast))(x)
    tol = 2e-6 if dtype == jnp.float32 else 1e-14
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    hlo = jax.jit(jax.vmap(fast)).lower(x).as_text()
    assert not re.search(r"\b(stablehlo|chlo)\.(atan2|atan|asin|acos)\b", hlo)


@pytest.mark.parametrize("fast", [True, False])
def test_a_sweep_compiles_them_only_without_fast_math(fast):
    starts, rates = jnp.linspace(-3.0, 3.0, 5), jnp.linspace(0.01, 0.5, 3)
    ax = _run.plain_axes(starts, rates)
    hlo = sweep_module._sweep_arrays.lower((Rule(arc_f, fast),), ax, np.array([10])).as_text()
    assert bool(re.search(r"\b(stablehlo|chlo)\.(atan2|atan|asin|acos)\b", hlo)) is not fast


def test_a_sweep_of_them_splits_alike_and_stays_near_xlas_math():
    starts, rates, epochs = np.linspace(-4.0, 4.0, 41), np.linspace(0.01, 0.8, 9), [0, 5, 60, 400]
    fast = jaxgd.sweep(arc_f, starts, rates, epochs)
    assert fast.math == "fast"
    for kwargs in ({"chunk_size": 3}, {"chunk_size": 1}, {"memory_budget": 60_000}):
        split = jaxgd.sweep(arc_f, starts, rates, epochs, **kwargs)
        for a, b in ((split.final, fast.final), (split.value, fast.value)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(split.diverged, fast.diverged)
    xla = jaxgd.sweep(arc_f, starts, rates, epochs, fast_math=False)
    # runs that settle (not oscillating at a large rate) end alike up to a few ulps a step
    calm = (fast.learning_rates < 0.3)[None, :, None] & np.ones(fast.final.shape, bool)
    np.testing.assert_allclose(fast.final[calm], xla.final[calm], rtol=0, atol=2e-5)


def test_a_float64_sweep_matches_a_float64_reference_loop(x64):
    # the plain recurrence in NumPy float64 with the hand-derived derivative of arc_f
    def d(x):
        t = np.tanh(x)
        dt = 1 - t**2
        a, b = np.arcsin(t), np.arccos(0.5 * t)
        return (
            2 * np.arctan(x) / (1 + x**2)
            + 0.3 * (dt / np.sqrt(1 - t**2) * b - a * 0.5 * dt / np.sqrt(1 - 0.25 * t**2))
            + 0.2 * 2 * np.arctan2(x, 2.0) * 2.0 / (x**2 + 4.0)
            - 0.1 * 1.5 / (x**2 + 2.25)
            + 0.1 * x
        )

    starts, rates = np.linspace(-3.0, 3.0, 13), np.array([0.05, 0.2])
    res = jaxgd.sweep(arc_f, starts, rates, 200)
    assert res.final.dtype == np.float64 and res.math == "fast"
    x = np.repeat(starts[:, None], 2, axis=1)
    for _ in range(200):
        x = x - rates[None, :] * d(x)
    np.testing.assert_allclose(res.final[..., 0], x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "f",
    [
        lambda v: jnp.arctan2(1.5, v),
        lambda v: jnp.arctan2(-0.0, v),
        lambda v: jax.lax.atan2(v, 3.0),
        lambda v: jax.lax.fori_loop(0, 3, lambda i, c: jnp.arctan2(0.5, c) + c, v),
    ],
    ids=["scalar-y", "minus-zero-y", "scalar-x", "in-a-loop"],
)
def test_the_rewrite_broadcasts_a_scalar_literal_beside_an_array(f):
    # jnp.arctan2(1.5, v) binds atan2 with the literal 1.5 of shape () beside v's shape
    v = jnp.linspace(-2.0, 2.0, 9, dtype=jnp.float32)
    fast = fastmath.rewrite(f, enable=True)
    assert "atan2" not in primitive_names(jax.make_jaxpr(fast)(v))
    for got in (fast(v), jax.jit(fast)(v)):
        assert got.shape == v.shape
        np.testing.assert_allclose(got, f(v), rtol=3e-7, atol=0)


def test_atan2_of_a_constant_x_divides_as_with_an_array_x():
    # XLA compiles y / 3.0 as y * (1 / 3.0), an ulp off the quotient in a third of the cases;
    # the kernel's quotient must not be that product (it would reach 2.3 ulp).
    y = jnp.asarray(every_float32(0.25, 0.5))
    want = np.asarray(fast_atan2(y, jnp.full_like(y, 3.0)))
    for got in (
        jax.jit(lambda v: fastmath.atan2(v, 3.0))(y),
        jax.jit(fastmath.rewrite(lambda v: jnp.arctan2(v, 3.0), enable=True))(y),
    ):
        np.testing.assert_array_equal(got, want)
    e = ulp32(want, np.arctan2(np.asarray(y, np.float64), 3.0))
    assert e.max() <= BOUND["atan2"]


@pytest.mark.parametrize(
    ("y", "x", "dtype"),
    [
        (0.40723044, 1.6013414, np.float32),
        (0.34601453749965183, 1.3622148987708433, np.float64),
    ],
)
def test_atan2_where_the_rounded_quotient_costs_most(y, x, dtype, x64):
    # y / x lies just below the float quotient q (just above 1/4), whose arctangent lies just
    # below 1/4, in the binade of half the ulp: the quotient's rounding is a whole ulp of the
    # result, on top of atan's own error (found by scanning every float32 quotient).
    if dtype == np.float64 and np.finfo(np.longdouble).nmant < 63:
        pytest.skip("needs an 80-bit long double")
    got = np.asarray(fast_atan2(np.array([y], dtype), np.array([x], dtype)))[0]
    ref = np.arctan2(np.longdouble(dtype(y)), np.longdouble(dtype(x)))
    ulps = float(abs(np.longdouble(got) - ref) / np.longdouble(np.spacing(dtype(0.2))))
    assert 1.5 < ulps <= BOUND["atan2"]


def test_atan2_gives_a_python_number_the_arrays_dtype(x64_or_not):
    # as jnp.arctan2: with float64 enabled a Python 2.0 is a weak float64, and takes float32
    y = jnp.linspace(-2.0, 2.0, 5, dtype=jnp.float32)
    for got, want in (
        (fastmath.atan2(y, 2.0), jnp.arctan2(y, 2.0)),
        (fastmath.atan2(-1, y), jnp.arctan2(-1, y)),
        (jax.jit(lambda v: fastmath.atan2(v, 3.0))(y), jnp.arctan2(y, 3.0)),
    ):
        assert got.dtype == jnp.float32
        np.testing.assert_allclose(got, want, rtol=3e-7, atol=0)
    # two arrays of different dtypes are still refused
    if x64_or_not:
        with pytest.raises(TypeError, match="one dtype"):
            fastmath.atan2(y, jnp.ones(5, jnp.float64))


def test_atan2_names_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"broadcast together, got \(3,\) and \(4,\)"):
        fastmath.atan2(jnp.ones(3), jnp.ones(4))
