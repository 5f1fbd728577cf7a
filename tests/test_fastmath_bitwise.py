"""The sin/cos rewrite equals, bit for bit, the implementation it replaced.

``_old_sin`` / ``_old_cos`` below are a frozen copy of the kernels as first written (with
``jax.numpy`` operators); the kernels in :mod:`jaxgd.fastmath` are written with ``lax``
primitives and traced once per type, and must compute the same bits everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jaxgd import fastmath

# ---- frozen copy of the original kernels (do not edit) ----


@dataclass(frozen=True)
class _Kernel:
    """Constants of one precision: pi/2 in pieces, polynomial coefficients, integer types."""

    dtype: type
    int_dtype: type
    pio2: tuple  # pieces whose products with k are exact, then a rounded tail
    sin_p: tuple
    cos_q: tuple


# float32: pi/2 as A + B + C + D (10 significant bits each) + E (a full float32). k * A ... k * D
# are exact for k < 2**14, so the subtractions that cancel (x close to a multiple of pi/2) are
# exact and only k * E rounds, at ~2**-50 absolute, far below the closest float32 to a multiple
# of pi/2 (|r| = 4.2e-9 at x = 252.898). Polynomials: minimax (relative error) fits on
# [0, pi/4 * 1.0005], rounded to float32: sin r = r + r^3 P(r^2) to 2**-28, cos r = 1 - r^2/2 +
# r^4 Q(r^2) to 2**-33.
_K32 = _Kernel(
    dtype=np.float32,
    int_dtype=np.int32,
    pio2=tuple(
        np.float32(c)
        for c in (
            1.5703125,
            4.839897155761719e-04,
            -1.6298145055770874e-07,
            6.082245818106458e-11,
            -5.1453114636784356e-14,
        )
    ),
    sin_p=tuple(
        map(np.float32, (-0.16666655242443085, 0.00833215843886137, -1.9514962332323194e-4))
    ),
    cos_q=tuple(
        map(np.float32, (0.04166664555668831, -0.0013887312961742282, 2.4432783902739175e-5))
    ),
)

# float64: pi/2 as A + B + C (33 bits each, exact products for k < 2**20) + D (a full float64);
# the kernels' coefficients are fdlibm's (__kernel_sin / __kernel_cos, error < 2**-58).
_K64 = _Kernel(
    dtype=np.float64,
    int_dtype=np.int64,
    pio2=(
        np.float64(1.5707963267341256),
        np.float64(6.077100506303966e-11),
        np.float64(2.0222662487111665e-21),
        np.float64(8.4784276603689e-32),
    ),
    sin_p=tuple(
        map(
            np.float64,
            (
                -1.66666666666666324348e-01,
                8.33333333332248946124e-03,
                -1.98412698298579493134e-04,
                2.75573137070700676789e-06,
                -2.50507602534068634195e-08,
                1.58969099521155010221e-10,
            ),
        )
    ),
    cos_q=tuple(
        map(
            np.float64,
            (
                4.16666666666666019037e-02,
                -1.38888888888741095749e-03,
                2.48015872894767294178e-05,
                -2.75573143513906633035e-07,
                2.08757232129817482790e-09,
                -1.13596475577881948265e-11,
            ),
        )
    ),
)

_KERNELS = {np.dtype(np.float32): _K32, np.dtype(np.float64): _K64}


def _two_diff(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """a - b as an unevaluated sum (s, e); exact when |a| >= |b| or when a - b is exact."""
    s = a - b
    return s, (a - s) - b


def _reduce(x: jax.Array, c: _Kernel) -> tuple[jax.Array, jax.Array, jax.Array]:
    """|x| = k pi/2 + (hi + lo) with |hi| <~ pi/4; returns (k mod 4 as an integer, hi, lo)."""
    one, f = c.dtype(1.0), c.dtype
    a = lax.abs(x)
    k = lax.round(a * f(2 / np.pi), lax.RoundingMethod.TO_NEAREST_EVEN)
    if c.dtype == np.float32:
        a_, b_, c_, d_, e_ = c.pio2
        t = (a - k * a_) - k * b_
        t, e1 = _two_diff(t, k * c_)
        hi, e2 = _two_diff(t, k * d_)
        lo = (e1 + e2) - k * e_
    else:
        a_, b_, c_, d_ = c.pio2
        t = a - k * a_
        t, e1 = _two_diff(t, k * b_)
        hi, e2 = _two_diff(t, k * c_)
        lo = (e1 + e2) - k * d_
    # Where the products above are inexact (|x| >~ 1e30) hi is garbage that would overflow in
    # hi**2; bounding it keeps the result finite. |hi| <= pi/4 * 1.0005 elsewhere, so no effect.
    hi = lax.clamp(-one, hi, one)
    # XLA converts out-of-range floats to int saturating, so huge |x| only garble the quadrant.
    q = lax.convert_element_type(k, c.int_dtype) & c.int_dtype(3)
    return q, hi, lo


def _horner(z: jax.Array, coefs: tuple) -> jax.Array:
    acc = coefs[-1]
    for coef in coefs[-2::-1]:
        acc = coef + z * acc
    return acc


def _kernels(hi: jax.Array, lo: jax.Array, c: _Kernel) -> tuple[jax.Array, jax.Array]:
    """sin and cos of hi + lo for |hi| <~ pi/4, |lo| <~ ulp(hi)."""
    f = c.dtype
    z = hi * hi
    if c.dtype == np.float32:
        sin_r = hi + (lo + (hi * z) * _horner(z, c.sin_p))
        cos_r = (f(1.0) - f(0.5) * z) + ((z * z) * _horner(z, c.cos_q) - hi * lo)
        return sin_r, cos_r
    # fdlibm's evaluation order, which keeps the final additions within one rounding
    v = z * hi
    r = _horner(z, c.sin_p[1:])
    sin_r = hi - ((z * (f(0.5) * lo - v * r) - lo) - v * c.sin_p[0])
    hz = f(0.5) * z
    w = f(1.0) - hz
    cos_r = w + (((f(1.0) - w) - hz) + (z * (z * _horner(z, c.cos_q)) - hi * lo))
    return sin_r, cos_r


def _flip(v: jax.Array, sign_bits: jax.Array, c: _Kernel) -> jax.Array:
    bits = lax.bitcast_convert_type(v, c.int_dtype) ^ sign_bits
    return lax.bitcast_convert_type(bits, c.dtype)


def _clip_unit(v: jax.Array, c: _Kernel) -> jax.Array:
    # Only garbled reductions (|x| far beyond the exact range) can leave [-1, 1]; max/min keep NaN.
    return lax.min(lax.max(v, c.dtype(-1.0)), c.dtype(1.0))


def _sign_shift(c: _Kernel) -> Any:
    # moves bit 1 of the quadrant to the sign bit
    return c.int_dtype(np.iinfo(c.int_dtype).bits - 2)


# The sign-bit arithmetic below has no derivative; custom rules give the true ones, so that
# grad(rewrite(f)) is right too (d sin = cos, d cos = -sin, both with these kernels).
@jax.custom_jvp
def _old_sin(x: jax.Array) -> jax.Array:
    c = _KERNELS[np.dtype(x.dtype)]
    q, hi, lo = _reduce(x, c)
    sin_r, cos_r = _kernels(hi, lo, c)
    v = lax.select((q & c.int_dtype(1)) != 0, cos_r, sin_r)
    # sin is odd and changes sign every two quadrants: move both facts into the sign bit.
    sign_of_x = lax.bitcast_convert_type(x, c.int_dtype) & c.int_dtype(np.iinfo(c.int_dtype).min)
    sign = lax.shift_left(q & c.int_dtype(2), _sign_shift(c)) ^ sign_of_x
    return _clip_unit(_flip(v, sign, c), c)


@jax.custom_jvp
def _old_cos(x: jax.Array) -> jax.Array:
    c = _KERNELS[np.dtype(x.dtype)]
    q, hi, lo = _reduce(x, c)
    sin_r, cos_r = _kernels(hi, lo, c)
    v = lax.select((q & c.int_dtype(1)) != 0, sin_r, cos_r)
    sign = lax.shift_left((q + c.int_dtype(1)) & c.int_dtype(2), _sign_shift(c))
    return _clip_unit(_flip(v, sign, c), c)


@_old_sin.defjvp
def _sin_jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    (x,), (t,) = primals, tangents
    return _old_sin(x), _old_cos(x) * t


@_old_cos.defjvp
def _cos_jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    (x,), (t,) = primals, tangents
    return _old_cos(x), -_old_sin(x) * t


# ---- the comparisons ----

PAIRS = [
    (jax.jit(fastmath.sin), jax.jit(_old_sin)),
    (jax.jit(fastmath.cos), jax.jit(_old_cos)),
]


def bits(a: Any) -> np.ndarray:
    a = np.asarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def hard_cases(dtype: type, rng: np.random.Generator, n: int) -> np.ndarray:
    """Random floats over every range, floats nearest to multiples of pi/2, special values."""
    finfo = np.finfo(dtype)
    parts = [
        rng.uniform(-10.0, 10.0, n),
        rng.uniform(-3e4, 3e4, n),
        rng.uniform(-2e6, 2e6, n // 4),
        np.exp(rng.uniform(np.log(1e-30), np.log(float(finfo.max)), n // 4))
        * rng.choice([-1.0, 1.0], n // 4),
    ]
    k = np.arange(1, 200_000, dtype=np.float64)
    centre = (k * (np.pi / 2)).astype(dtype)
    near = [centre]
    up = down = centre
    for _ in range(3):
        up, down = np.nextafter(up, dtype(np.inf)), np.nextafter(down, dtype(0))
        near += [up, down]
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, finfo.max, -finfo.max]
    specials += [finfo.tiny, -finfo.tiny, finfo.smallest_subnormal, -finfo.smallest_subnormal]
    specials += [np.pi / 4, np.pi / 2, np.pi, 25735.0, 1.6e6, 2.0**24, 2.0**53, 1e30, 1e300]
    with np.errstate(over="ignore"):
        out = [np.asarray(p, np.float64).astype(dtype) for p in parts + near + [specials]]
    return np.concatenate(out)


@pytest.mark.parametrize("pair", PAIRS, ids=["sin", "cos"])
def test_float32_kernels_equal_the_original_bit_for_bit(pair, rng):
    new, old = pair
    x = hard_cases(np.float32, rng, 1_000_000)
    assert x.size > 3_000_000
    np.testing.assert_array_equal(bits(new(x)), bits(old(x)))


@pytest.mark.parametrize("pair", PAIRS, ids=["sin", "cos"])
def test_float64_kernels_equal_the_original_bit_for_bit(pair, x64, rng):
    new, old = pair
    x = hard_cases(np.float64, rng, 500_000)
    assert x.size > 2_000_000
    np.testing.assert_array_equal(bits(new(x)), bits(old(x)))


def test_every_float_in_a_binade_equals_the_original():
    # all 2**23 floats of [2, 4): every rounding of the reduction and the polynomials
    x = np.arange(0x40000000, 0x40800000, dtype=np.uint32).view(np.float32)
    for new, old in PAIRS:
        np.testing.assert_array_equal(bits(new(x)), bits(old(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_derivatives_equal_the_original(dtype, x64):
    x = np.linspace(-20.0, 20.0, 4001).astype(dtype)
    for new, old in ((fastmath.sin, _old_sin), (fastmath.cos, _old_cos)):
        d_new = jax.jit(jax.vmap(jax.grad(new)))(x)
        d_old = jax.jit(jax.vmap(jax.grad(old)))(x)
        np.testing.assert_array_equal(bits(d_new), bits(d_old))


def _with_original_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = dict(fastmath._RULES)
    rules[lax.sin_p] = (_old_sin, rules[lax.sin_p][1])
    rules[lax.cos_p] = (_old_cos, rules[lax.cos_p][1])
    monkeypatch.setattr(fastmath, "_RULES", rules)


def _notebook(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


def _trig(x):
    return jnp.cos(3.0 * x) + 0.1 * x**2 - 0.5 * jnp.sin(x) ** 2


@pytest.mark.parametrize("fun", [_notebook, _trig])
@pytest.mark.parametrize("wide", [False, True])
def test_a_sweeps_final_equals_the_one_with_the_original_kernels(fun, wide, request, monkeypatch):
    import jaxgd

    if wide:
        request.getfixturevalue("x64")
    starts, rates, epochs = np.linspace(-6.0, 6.0, 37), np.linspace(1e-3, 0.4, 11), [0, 7, 300]

    # a fresh function object per run, so neither run reuses the other's compiled step
    def run() -> Any:
        return jaxgd.sweep(lambda x: fun(x), starts, rates, epochs, fast_math=True)

    new = run()
    _with_original_kernels(monkeypatch)
    old = run()
    assert new.final.dtype == (np.float64 if wide else np.float32)
    np.testing.assert_array_equal(bits(new.final), bits(old.final))
    np.testing.assert_array_equal(bits(new.value), bits(old.value))


def test_rewrite_of_every_library_function_equals_the_original(monkeypatch):
    from jaxgd import functions

    library = [functions.get(name) for name in functions.names()]
    points = [np.linspace(*fn.domain, 1001).astype(np.float32) for fn in library]

    def gradients() -> list[np.ndarray]:
        steps = [jax.jit(jax.vmap(fastmath.rewrite(jax.grad(fn.f), enable=True))) for fn in library]
        return [step(x) for step, x in zip(steps, points, strict=True)]

    new = gradients()
    _with_original_kernels(monkeypatch)
    old = gradients()
    for a, b in zip(new, old, strict=True):
        np.testing.assert_array_equal(bits(a), bits(b))


def test_the_kernel_is_traced_once_per_input_type(monkeypatch):
    def trace() -> None:  # a new function each time: nothing is reused from a jit cache
        step = jax.vmap(fastmath.rewrite(jax.grad(lambda x: _trig(x)), enable=True))
        jax.make_jaxpr(step)(np.zeros(3, np.float32))

    trace()
    reductions = []
    reduce = fastmath._reduce

    def counted(*args: Any) -> Any:
        reductions.append(args)
        return reduce(*args)

    monkeypatch.setattr(fastmath, "_reduce", counted)
    for _ in range(3):
        trace()
    assert reductions == []
