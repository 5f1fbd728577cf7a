"""Vectorisable ``sin``, ``cos``, ``tan``, ``atan``, ``atan2``, ``asin`` and ``acos`` for
XLA:CPU, applied by rewriting a function's jaxpr.

XLA's CPU backend lowers ``sin``, ``cos``, ``tan`` and ``atan2`` (which ``atan``, ``asin`` and
``acos`` become) to one scalar libm call per element (``sinf``, ``cosf``, ``tanf``, ``atan2f``,
...), while ``exp`` and the arithmetic around it are vectorised. A gradient-descent step on a
function built from them is therefore bound by those calls. :func:`rewrite` traces a function
to a jaxpr and evaluates it again with every float32 and float64 ``sin``/``cos``/``atan``/
``atan2``/``asin``/``acos``, and every float32 ``tan``, replaced by the functions below,
written with elementwise ``lax`` operations only, so XLA fuses and vectorises the whole step.
``sin``, ``cos`` and ``tan``: a Cody-Waite range reduction carried in two words and minimax
polynomials. The inverse functions: fdlibm's algorithms (a reduction to a few intervals, a
polynomial or rational kernel, constants in two pieces), with every branch computed and the
right one selected.

Accuracy, against float64 NumPy for float32 (every float in ``[1e-6, 25735]`` checked
exhaustively) and against long double for float64 (random and hard cases):

- float32: at most 1.30 ulp for ``|x| <= 25735`` (where the reduction is exact);
- float64: at most 0.81 ulp for ``|x| <= 1.6e6``.

Beyond those ranges the products with k stop being exact and the error grows with ``|x|``
(``python -m benchmarks.transcendentals`` measures it per range). float32: relative error near
the zeros grows (65 ulp for cos below 1e5, 4e5 ulp below 1e6) while the absolute error stays
under 1.2e-7 up to ``|x| = 1e6`` (every float32 there checked); it reaches about 0.7 below
2**24 and beyond that the result is noise. float64: absolute error under 1e-16 in random
samples up to 1e8, noise far beyond. For every finite input the result is finite and in
``[-1, 1]``; NaN and infinities give NaN; ``sin(-0.0)`` is ``-0.0``, as with XLA. Subnormal
inputs give a zero of their sign: XLA:CPU's vectorised arithmetic flushes subnormals (its libm
call does not).

``tan`` (float32): at most 1.72 ulp for ``|x| <= 25735`` (every float in ``[2**-20, 25735]``
checked), -1/tan of the reduced argument in odd quadrants; finite for every finite input, NaN
for NaN and infinities, ``tan(-0.0) == -0.0``. In float64 the ratio of the sin and cos kernels
reaches 2.22 ulp (just below pi/4, where tan is near 1), above the 2-ulp bound: :func:`tan`
takes float64, the rewrite leaves it to XLA.

``atan``, ``asin``, ``acos`` (float32: every float checked; float64: random and hard cases
against long double): at most 0.86, 0.91 and 0.91 ulp, over their whole domains. ``atan2``:
at most 1.55 ulp. Its quotient ``y / x`` rounds before its arctangent is taken, by up to an
ulp of the result where the quotient lies just above a power of two and its arctangent just
below: 1.541 ulp at worst over every float32 quotient (``atan2(0.40723044, 1.6013414)``),
1.536 in float64. Signed zeros, infinities and NaN as C's functions:
``atan2(0.0, -0.0) == pi``, ``atan2(-inf, inf) == -pi/4``, ``asin(2.0)`` is NaN. Subnormal
inputs count as zeros (so ``atan2(1e-45, 2e-45)`` is ``1e-45``, where XLA's own gives NaN),
and so do subnormal results: the bound is for results of normal size (``atan2(1e-30, 1e9)``,
about 1e-39, is ``0.0``, as XLA's own gives it).

Which primitives are replaced: ``sin``, ``cos``, ``atan``, ``atan2``, ``asin`` and ``acos``
(float32, float64), ``tan`` (float32). Measured on XLA:CPU (jaxlib 0.10.2), ``pow`` and the
reflection branch of ``lgamma`` are scalar libm calls too, but have no replacement here (a
vectorised fdlibm ``powf`` was slower than XLA's call: docs/performance.md);
``exp``, ``log``, ``log1p``, ``expm1``, ``sinh``, ``cosh``, ``tanh`` and ``erf`` are already
vectorised by XLA.

Switches: ``rewrite(fun, enable=False)`` returns ``fun`` itself; the environment variable
``JAXGD_FAST_MATH=0`` turns the default (``enable=None``) off everywhere. On GPU and TPU the
default keeps XLA's own implementations, which are already vectorised.

Nested jaxprs are followed: ``jit``, ``cond``, ``while``, ``scan``, ``checkpoint``/``remat``
and the primal computations of ``custom_jvp``/``custom_vjp`` functions are rebuilt with
rewritten bodies. A custom function keeps its derivative rule (which computes with XLA's own
math), so a rewritten function differentiates as the original: ``grad(f)`` still has such
calls (``jnp.sinc`` evaluates one at every x to give its derivative at 0), and forward-mode
derivatives of a descent (``jax.jacfwd`` of ``jaxgd.descend``) go through them.
Every replacement carries its own derivative rule. Primitives
without a replacement pass through unchanged.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
from jax import lax

if TYPE_CHECKING:
    from jax.extend import core as jcore

__all__ = [
    "ENV_VAR",
    "acos",
    "asin",
    "atan",
    "atan2",
    "cos",
    "enabled_for",
    "rewrite",
    "sin",
    "tan",
]

#: Environment variable that switches the default rewrite off (``0``) or on (``1``).
ENV_VAR = "JAXGD_FAST_MATH"

_ON = frozenset({"", "1", "true", "on", "yes"})
_OFF = frozenset({"0", "false", "off", "no"})


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

# float32 tan r = r + r^3 T(r^2) on [0, pi/4 * 1.0005]: fitted to relative error (weighted least
# squares iterated toward minimax on 4000 Chebyshev nodes, against long double), 2**-28.4 with
# the coefficients rounded to float32.
_TAN32 = tuple(
    map(
        np.float32,
        (
            0.33333349227905273,
            0.13332659006118774,
            0.05406048893928528,
            0.021279137581586838,
            0.010843959636986256,
            7.89129626355134e-05,
            0.004381655715405941,
        ),
    )
)


# The kernels are written with lax functions, never jax.numpy's operators: every jnp call is a
# jit-wrapped function, and the ~100 operations per kernel made tracing them most of the cost
# of tracing a whole sweep. They compute the same operations in the same order.
_mul, _add, _sub = lax.mul, lax.add, lax.sub


def _two_diff(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """a - b as an unevaluated sum (s, e); exact when |a| >= |b| or when a - b is exact."""
    s = _sub(a, b)
    return s, _sub(_sub(a, s), b)


def _reduce(x: jax.Array, c: _Kernel) -> tuple[jax.Array, jax.Array, jax.Array]:
    """|x| = k pi/2 + (hi + lo) with |hi| <~ pi/4; returns (k mod 4 as an integer, hi, lo)."""
    one, f = c.dtype(1.0), c.dtype
    a = lax.abs(x)
    k = lax.round(_mul(a, f(2 / np.pi)), lax.RoundingMethod.TO_NEAREST_EVEN)
    if c.dtype == np.float32:
        a_, b_, c_, d_, e_ = c.pio2
        t = _sub(_sub(a, _mul(k, a_)), _mul(k, b_))
        t, e1 = _two_diff(t, _mul(k, c_))
        hi, e2 = _two_diff(t, _mul(k, d_))
        lo = _sub(_add(e1, e2), _mul(k, e_))
    else:
        a_, b_, c_, d_ = c.pio2
        t = _sub(a, _mul(k, a_))
        t, e1 = _two_diff(t, _mul(k, b_))
        hi, e2 = _two_diff(t, _mul(k, c_))
        lo = _sub(_add(e1, e2), _mul(k, d_))
    # Where the products above are inexact (|x| >~ 1e30) hi is garbage that would overflow in
    # hi**2; bounding it keeps the result finite. |hi| <= pi/4 * 1.0005 elsewhere, so no effect.
    hi = lax.clamp(-one, hi, one)
    # XLA converts out-of-range floats to int saturating, so huge |x| only garble the quadrant.
    q = lax.bitwise_and(lax.convert_element_type(k, c.int_dtype), c.int_dtype(3))
    return q, hi, lo


def _horner(z: jax.Array, coefs: tuple) -> jax.Array:
    acc = coefs[-1]
    for coef in coefs[-2::-1]:
        acc = _add(coef, _mul(z, acc))
    return acc


def _kernels(hi: jax.Array, lo: jax.Array, c: _Kernel) -> tuple[jax.Array, jax.Array]:
    """sin and cos of hi + lo for |hi| <~ pi/4, |lo| <~ ulp(hi)."""
    f = c.dtype
    z = _mul(hi, hi)
    if c.dtype == np.float32:
        sin_r = _add(hi, _add(lo, _mul(_mul(hi, z), _horner(z, c.sin_p))))
        cos_r = _add(
            _sub(f(1.0), _mul(f(0.5), z)),
            _sub(_mul(_mul(z, z), _horner(z, c.cos_q)), _mul(hi, lo)),
        )
        return sin_r, cos_r
    # fdlibm's evaluation order, which keeps the final additions within one rounding
    v = _mul(z, hi)
    r = _horner(z, c.sin_p[1:])
    inner = _sub(_mul(z, _sub(_mul(f(0.5), lo), _mul(v, r))), lo)
    sin_r = _sub(hi, _sub(inner, _mul(v, c.sin_p[0])))
    hz = _mul(f(0.5), z)
    w = _sub(f(1.0), hz)
    tail = _add(
        _sub(_sub(f(1.0), w), hz), _sub(_mul(z, _mul(z, _horner(z, c.cos_q))), _mul(hi, lo))
    )
    cos_r = _add(w, tail)
    return sin_r, cos_r


def _flip(v: jax.Array, sign_bits: jax.Array, c: _Kernel | _ArcKernel) -> jax.Array:
    bits = lax.bitwise_xor(lax.bitcast_convert_type(v, c.int_dtype), sign_bits)
    return lax.bitcast_convert_type(bits, c.dtype)


def _clip_unit(v: jax.Array, c: _Kernel) -> jax.Array:
    # Only garbled reductions (|x| far beyond the exact range) can leave [-1, 1]; max/min keep NaN.
    return lax.min(lax.max(v, c.dtype(-1.0)), c.dtype(1.0))


def _sign_shift(c: _Kernel) -> Any:
    # moves bit 1 of the quadrant to the sign bit
    return c.int_dtype(np.iinfo(c.int_dtype).bits - 2)


def _sign_bit(x: jax.Array, c: _Kernel | _ArcKernel) -> jax.Array:
    """x's sign bit alone, as an integer of x's width (for :func:`_flip`)."""
    int_min = c.int_dtype(np.iinfo(c.int_dtype).min)
    return lax.bitwise_and(lax.bitcast_convert_type(x, c.int_dtype), int_min)


def _odd_quadrant(q: jax.Array, c: _Kernel) -> jax.Array:
    return lax.ne(lax.bitwise_and(q, c.int_dtype(1)), c.int_dtype(0))


@jax.custom_jvp
def _sincos(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """sin(x) and cos(x): one reduction serves both; XLA drops what a caller does not use."""
    c = _KERNELS[np.dtype(x.dtype)]
    q, hi, lo = _reduce(x, c)
    sin_r, cos_r = _kernels(hi, lo, c)
    odd = _odd_quadrant(q, c)
    # sin is odd and changes sign every two quadrants: move both facts into the sign bit.
    sign_of_x = _sign_bit(x, c)
    quadrant_sign = lax.shift_left(lax.bitwise_and(q, c.int_dtype(2)), _sign_shift(c))
    sin_sign = lax.bitwise_xor(quadrant_sign, sign_of_x)
    sin = _clip_unit(_flip(lax.select(odd, cos_r, sin_r), sin_sign, c), c)
    next_quadrant = lax.add(q, c.int_dtype(1))
    cos_sign = lax.shift_left(lax.bitwise_and(next_quadrant, c.int_dtype(2)), _sign_shift(c))
    cos = _clip_unit(_flip(lax.select(odd, sin_r, cos_r), cos_sign, c), c)
    return sin, cos


# The sign-bit arithmetic has no derivative; the custom rule gives the true one, so that
# grad(rewrite(f)) is right too (d sin = cos, d cos = -sin, both with these kernels).
@_sincos.defjvp
def _sincos_jvp(
    primals: tuple[jax.Array], tangents: tuple[jax.Array]
) -> tuple[tuple[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
    (x,), (t,) = primals, tangents
    s, c = _sincos(x)
    return (s, c), (c * t, -s * t)


# The kernel enters a jaxpr as one call of a jitted function. A sweep traces its step anew in
# every process and for every compile, under vmap; a call is traced once per input type (jit's
# cache) and batched once (JAX caches the batched jaxpr), where inlining its ~100 operations
# would trace and batch each of them every time. XLA inlines the call before optimising, so
# the compiled program is the same: the unused half is removed, and sin and cos of one x share
# their reduction.
_sincos_call = jax.jit(_sincos)


def _sin_call(x: jax.Array) -> jax.Array:
    return _sincos_call(x)[0]


def _cos_call(x: jax.Array) -> jax.Array:
    return _sincos_call(x)[1]


@jax.custom_jvp
def _tan(x: jax.Array) -> jax.Array:
    """tan(x) from the same reduction: tan r by its own polynomial in float32 (the sin/cos
    ratio would add their errors), sin r / cos r in float64; -1 / tan r in odd quadrants."""
    c = _KERNELS[np.dtype(x.dtype)]
    f = c.dtype
    q, hi, lo = _reduce(x, c)
    if f == np.float32:
        z = _mul(hi, hi)
        p = _mul(_mul(hi, z), _horner(z, _TAN32))
        t0 = _add(hi, p)
        # lo moves tan by lo * tan'(hi) = lo * (1 + tan^2)
        t = _add(hi, _add(p, _mul(lo, _add(f(1.0), _mul(t0, t0)))))
        num, den = f(1.0), t  # tan r = t, -1/tan r = -(1 / t)
    else:
        sin_r, cos_r = _kernels(hi, lo, c)
        t = lax.div(sin_r, cos_r)
        num, den = cos_r, sin_r
    # the smallest normal for a zero denominator keeps -num/den finite where a garbled
    # reduction (far past the exact range) gives 0
    den = lax.select(lax.eq(den, f(0.0)), lax.full_like(den, f(np.finfo(f).tiny)), den)
    t = lax.select(_odd_quadrant(q, c), lax.neg(lax.div(num, den)), t)
    # tan is odd: the reduction worked on |x|; x's sign goes back into the sign bit
    return _flip(t, _sign_bit(x, c), c)


@_tan.defjvp
def _tan_jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    (x,), (t,) = primals, tangents
    y = _tan(x)
    return y, (1 + y * y) * t


_tan_call = jax.jit(_tan)


# -- atan, atan2, asin, acos -------------------------------------------------------------------
# fdlibm's algorithms (s_atan.c, e_atan2.c, e_asin.c, e_acos.c, and their float versions), with
# every branch computed and the right one selected, so that XLA vectorises them: XLA:CPU lowers
# atan2 (and atan, asin, acos, which become atan2) to scalar libm calls.


@dataclass(frozen=True)
class _ArcKernel:
    """Constants of one precision for atan, atan2, asin and acos (fdlibm's)."""

    dtype: type
    int_dtype: type
    atan_hi: tuple  # atan(0.5), atan(1), atan(1.5), atan(inf), each as hi + lo
    atan_lo: tuple
    atan_even: tuple  # atan r = r - r (z E(z^2) + z^2 O(z^2)), z = r^2
    atan_odd: tuple
    atan_small: float  # below it atan x = x
    atan_big: float  # from it atan x = pi/2
    pi: float  # atan2's pi = pi_hi + pi_lo
    pi_lo: float
    asin_p: tuple  # R(t) = t P(t) / (1 + t Q(t)), asin x = x + x R(x^2) for |x| < 0.5
    asin_q: tuple
    pio2_hi: float
    pio2_lo: float
    pio4_hi: float
    acos_pi: float
    asin_small: float
    asin_near_one: float  # from it asin's last branch (fdlibm compares the leading word)
    keep_mask: Any  # clears a float's low half of significand bits


_ARC32 = _ArcKernel(
    dtype=np.float32,
    int_dtype=np.int32,
    atan_hi=tuple(
        map(np.float32, (4.6364760399e-01, 7.8539812565e-01, 9.8279368877e-01, 1.5707962513e00))
    ),
    atan_lo=tuple(
        map(np.float32, (5.0121582440e-09, 3.7748947079e-08, 3.4473217170e-08, 7.5497894159e-08))
    ),
    atan_even=tuple(map(np.float32, (3.3333328366e-01, 1.4253635705e-01, 6.1687607318e-02))),
    atan_odd=tuple(map(np.float32, (-1.9999158382e-01, -1.0648017377e-01))),
    atan_small=np.float32(2.0**-12),
    atan_big=np.float32(2.0**26),
    pi=np.float32(3.1415927410e00),
    pi_lo=np.float32(-8.7422776573e-08),
    asin_p=tuple(
        map(
            np.float32,
            (
                1.6666667163e-01,
                -3.2556581497e-01,
                2.0121252537e-01,
                -4.0055535734e-02,
                7.9153501429e-04,
                3.4793309169e-05,
            ),
        )
    ),
    asin_q=tuple(
        map(np.float32, (-2.4033949375e00, 2.0209457874e00, -6.8828397989e-01, 7.7038154006e-02))
    ),
    pio2_hi=np.float32(1.5707962513e00),
    pio2_lo=np.float32(7.5497894159e-08),
    pio4_hi=np.float32(7.8539812565e-01),  # pio2_hi / 2: pi/2 = 2 pio4_hi + pio2_lo
    acos_pi=np.float32(3.1415925026e00),
    asin_small=np.float32(2.0**-27),
    asin_near_one=np.float32(0.975),  # 0x3F79999A
    keep_mask=np.int32(-4096),  # 0xfffff000
)

_ARC64 = _ArcKernel(
    dtype=np.float64,
    int_dtype=np.int64,
    atan_hi=tuple(
        map(
            np.float64,
            (
                4.63647609000806093515e-01,
                7.85398163397448278999e-01,
                9.82793723247329054082e-01,
                1.57079632679489655800e00,
            ),
        )
    ),
    atan_lo=tuple(
        map(
            np.float64,
            (
                2.26987774529616870924e-17,
                3.06161699786838301793e-17,
                1.39033110312309984516e-17,
                6.12323399573676603587e-17,
            ),
        )
    ),
    atan_even=tuple(
        map(
            np.float64,
            (
                3.33333333333329318027e-01,
                1.42857142725034663711e-01,
                9.09088713343650656196e-02,
                6.66107313738753120669e-02,
                4.97687799461593236017e-02,
                1.62858201153657823623e-02,
            ),
        )
    ),
    atan_odd=tuple(
        map(
            np.float64,
            (
                -1.99999999998764832476e-01,
                -1.11111104054623557880e-01,
                -7.69187620504482999495e-02,
                -5.83357013379057348645e-02,
                -3.65315727442169155270e-02,
            ),
        )
    ),
    atan_small=np.float64(2.0**-27),
    atan_big=np.float64(2.0**66),
    pi=np.float64(3.1415926535897931160e00),
    pi_lo=np.float64(1.2246467991473531772e-16),
    asin_p=tuple(
        map(
            np.float64,
            (
                1.66666666666666657415e-01,
                -3.25565818622400915405e-01,
                2.01212532134862925881e-01,
                -4.00555345006794114027e-02,
                7.91534994289814532176e-04,
                3.47933107596021167570e-05,
            ),
        )
    ),
    asin_q=tuple(
        map(
            np.float64,
            (
                -2.40339491173441421878e00,
                2.02094576023350569471e00,
                -6.88283971605453293030e-01,
                7.70381505559019352791e-02,
            ),
        )
    ),
    pio2_hi=np.float64(1.57079632679489655800e00),
    pio2_lo=np.float64(6.12323399573676603587e-17),
    pio4_hi=np.float64(7.85398163397448278999e-01),
    acos_pi=np.float64(3.14159265358979311600e00),
    asin_small=np.float64(2.0**-27),
    asin_near_one=np.float64(0.974998474121093750),  # 0x3FEF3333 in the leading word
    keep_mask=np.int64(-(2**32)),  # 0xffffffff00000000
)

_ARC_KERNELS = {np.dtype(np.float32): _ARC32, np.dtype(np.float64): _ARC64}


def _full(like: jax.Array, value: Any) -> jax.Array:
    return lax.full_like(like, value)


def _atan_abs(a: jax.Array, c: _ArcKernel) -> jax.Array:
    """atan(a) for a >= 0 (or NaN): fdlibm's five intervals, each branch computed and one kept."""
    f = c.dtype
    ge = [lax.ge(a, f(b)) for b in (7 / 16, 11 / 16, 19 / 16, 39 / 16)]
    one = _full(a, f(1.0))
    # the reduced argument r = num / den of each interval (fdlibm's forms, exact numerators)
    num = lax.select(ge[0], _sub(_mul(f(2.0), a), f(1.0)), a)
    den = lax.select(ge[0], _add(f(2.0), a), one)
    num = lax.select(ge[1], _sub(a, f(1.0)), num)
    den = lax.select(ge[1], _add(a, f(1.0)), den)
    num = lax.select(ge[2], _sub(a, f(1.5)), num)
    den = lax.select(ge[2], _add(f(1.0), _mul(f(1.5), a)), den)
    num = lax.select(ge[3], _full(a, f(-1.0)), num)
    den = lax.select(ge[3], a, den)
    r = lax.div(num, den)
    z = _mul(r, r)
    w = _mul(z, z)
    s = _add(_mul(z, _horner(w, c.atan_even)), _mul(w, _horner(w, c.atan_odd)))
    hi, lo = _full(a, c.atan_hi[0]), _full(a, c.atan_lo[0])
    for k in (1, 2, 3):
        hi = lax.select(ge[k], _full(a, c.atan_hi[k]), hi)
        lo = lax.select(ge[k], _full(a, c.atan_lo[k]), lo)
    shifted = _sub(hi, _sub(_sub(_mul(r, s), lo), r))
    out = lax.select(ge[0], shifted, _sub(r, _mul(r, s)))
    out = lax.select(lax.ge(a, c.atan_big), _full(a, c.dtype(c.atan_hi[3] + c.atan_lo[3])), out)
    return lax.select(lax.lt(a, c.atan_small), a, out)


@jax.custom_jvp
def _atan(x: jax.Array) -> jax.Array:
    c = _ARC_KERNELS[np.dtype(x.dtype)]
    return _flip(_atan_abs(lax.abs(x), c), _sign_bit(x, c), c)


@_atan.defjvp
def _atan_jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    (x,), (t,) = primals, tangents
    return _atan(x), t / (1 + x * x)


@jax.custom_jvp
def _atan2(y: jax.Array, x: jax.Array) -> jax.Array:
    c = _ARC_KERNELS[np.dtype(y.dtype)]
    f = c.dtype
    ay, ax = lax.abs(y), lax.abs(x)
    # XLA compiles a division by a constant (atan2(y, 3.0) under jit) as a product with the
    # rounded reciprocal, up to an ulp off the quotient (2.3 ulp in atan2); a divisor that
    # depends on y is no constant. max(|x|, 0 |y|) is |x| wherever the quotient is used (an
    # infinite y, where 0 |y| is NaN, takes another branch below).
    z = _atan_abs(lax.div(ay, lax.max(ax, _mul(ay, f(0.0)))), c)
    # x < 0 (its sign bit: -0 too) takes pi - atan|y/x|; y's sign goes on last
    x_neg = lax.lt(lax.bitcast_convert_type(x, c.int_dtype), c.int_dtype(0))
    out = lax.select(x_neg, _sub(c.pi, _sub(z, c.pi_lo)), z)
    # |y/x| beyond the precision (x = 0 included), or y infinite: pi/2
    half_pi = _full(y, f(c.pi / 2))
    out = lax.select(
        lax.bitwise_or(lax.gt(ay, _mul(ax, f(c.atan_big))), lax.eq(ay, f(np.inf))), half_pi, out
    )
    both_inf = lax.bitwise_and(lax.eq(ay, f(np.inf)), lax.eq(ax, f(np.inf)))
    corner = lax.select(x_neg, _full(y, f(3 * np.pi / 4)), _full(y, f(np.pi / 4)))
    out = lax.select(both_inf, corner, out)
    # y = 0: 0 for x >= +0, pi for x <= -0 (y's sign goes on below)
    out = lax.select(lax.eq(ay, f(0.0)), lax.select(x_neg, _full(y, c.pi), ay), out)
    out = _flip(out, _sign_bit(y, c), c)
    nan = lax.bitwise_or(lax.ne(x, x), lax.ne(y, y))
    return lax.select(nan, _add(x, y), out)


@_atan2.defjvp
def _atan2_jvp(primals, tangents):
    (y, x), (ty, tx) = primals, tangents
    return _atan2(y, x), (x * ty - y * tx) / (x * x + y * y)


def _asin_r(t: jax.Array, c: _ArcKernel) -> jax.Array:
    """fdlibm's rational R(t) = t P(t) / (1 + t Q(t))."""
    p = _mul(t, _horner(t, c.asin_p))
    q = _add(c.dtype(1.0), _mul(t, _horner(t, c.asin_q)))
    return lax.div(p, q)


def _keep_high(s: jax.Array, c: _ArcKernel) -> jax.Array:
    """s with the low half of its significand cleared: its square is exact."""
    bits = lax.bitwise_and(lax.bitcast_convert_type(s, c.int_dtype), c.keep_mask)
    return lax.bitcast_convert_type(bits, c.dtype)


@jax.custom_jvp
def _asin(x: jax.Array) -> jax.Array:
    c = _ARC_KERNELS[np.dtype(x.dtype)]
    f = c.dtype
    a = lax.abs(x)
    low = _add(a, _mul(a, _asin_r(_mul(a, a), c)))  # |x| < 0.5
    t = _mul(_sub(f(1.0), a), f(0.5))
    s = lax.sqrt(t)
    r = _asin_r(t, c)
    two = f(2.0)
    near = _sub(c.pio2_hi, _sub(_mul(two, _add(s, _mul(s, r))), c.pio2_lo))  # |x| near 1
    df = _keep_high(s, c)
    cc = lax.div(_sub(t, _mul(df, df)), _add(s, df))
    p = _sub(_mul(_mul(two, s), r), _sub(c.pio2_lo, _mul(two, cc)))
    q = _sub(c.pio4_hi, _mul(two, df))
    mid = _sub(c.pio4_hi, _sub(p, q))
    out = lax.select(lax.ge(a, c.asin_near_one), near, mid)
    out = lax.select(lax.lt(a, f(0.5)), low, out)
    out = lax.select(lax.lt(a, c.asin_small), a, out)
    out = lax.select(lax.gt(a, f(1.0)), _full(a, f(np.nan)), out)
    return _flip(out, _sign_bit(x, c), c)


@_asin.defjvp
def _asin_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _asin(x), t * lax.rsqrt(1 - x * x)


@jax.custom_jvp
def _acos(x: jax.Array) -> jax.Array:
    c = _ARC_KERNELS[np.dtype(x.dtype)]
    f = c.dtype
    a = lax.abs(x)
    two = f(2.0)
    low = _sub(c.pio2_hi, _sub(x, _sub(c.pio2_lo, _mul(x, _asin_r(_mul(x, x), c)))))
    # x <= -0.5: pi - 2 asin(sqrt((1 + x) / 2))
    zn = _mul(_add(f(1.0), x), f(0.5))
    sn = lax.sqrt(zn)
    neg = _sub(c.acos_pi, _mul(two, _add(sn, _sub(_mul(_asin_r(zn, c), sn), c.pio2_lo))))
    # x >= 0.5: 2 asin(sqrt((1 - x) / 2)), the root carried as df + c
    zp = _mul(_sub(f(1.0), x), f(0.5))
    sp = lax.sqrt(zp)
    df = _keep_high(sp, c)
    cc = lax.div(_sub(zp, _mul(df, df)), _add(sp, df))
    pos = _mul(two, _add(df, _add(_mul(_asin_r(zp, c), sp), cc)))
    out = lax.select(lax.lt(x, f(0.0)), neg, pos)
    out = lax.select(lax.lt(a, f(0.5)), low, out)
    out = lax.select(lax.eq(x, f(1.0)), _full(x, f(0.0)), out)
    return lax.select(lax.gt(a, f(1.0)), _full(x, f(np.nan)), out)


@_acos.defjvp
def _acos_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _acos(x), -t * lax.rsqrt(1 - x * x)


_atan_call, _atan2_call, _asin_call, _acos_call = map(jax.jit, (_atan, _atan2, _asin, _acos))


def _check_float(x: Any, name: str) -> jax.Array:
    x = jax.numpy.asarray(x)
    if np.dtype(x.dtype) not in _KERNELS:
        raise TypeError(
            f"fastmath.{name} takes float32 or float64 input, got {x.dtype}: cast with "
            f"x.astype(jnp.float32), or use jnp.{name} for other dtypes"
        )
    return x


def sin(x: jax.Array) -> jax.Array:
    """Sine from elementwise operations that XLA:CPU vectorises.

    Args:
        x: a float32 or float64 array (any shape).

    Returns:
        ``sin(x)`` in x's dtype: within 1.30 ulp of the exact value for ``|x| <= 25735`` in
        float32, within 0.81 ulp for ``|x| <= 1.6e6`` in float64; finite and in
        ``[-1, 1]`` for every finite ``x``; NaN for NaN and infinities; ``sin(-0.0) == -0.0``.

    Raises:
        TypeError: if ``x`` is not float32 or float64.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd import fastmath
        >>> x = jnp.linspace(-10.0, 10.0, 5)
        >>> bool(jnp.allclose(fastmath.sin(x), jnp.sin(x), rtol=1e-6, atol=1e-7))
        True
    """
    return _sin_call(_check_float(x, "sin"))


def cos(x: jax.Array) -> jax.Array:
    """Cosine from elementwise operations that XLA:CPU vectorises.

    Args:
        x: a float32 or float64 array (any shape).

    Returns:
        ``cos(x)`` in x's dtype: within 1.30 ulp of the exact value for ``|x| <= 25735`` in
        float32, within 0.81 ulp for ``|x| <= 1.6e6`` in float64; finite and in
        ``[-1, 1]`` for every finite ``x``; NaN for NaN and infinities.

    Raises:
        TypeError: if ``x`` is not float32 or float64.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd import fastmath
        >>> x = jnp.linspace(-10.0, 10.0, 5)
        >>> bool(jnp.allclose(fastmath.cos(x), jnp.cos(x), rtol=1e-6, atol=1e-7))
        True
    """
    return _cos_call(_check_float(x, "cos"))


def tan(x: jax.Array) -> jax.Array:
    """Tangent from elementwise operations that XLA:CPU vectorises.

    Args:
        x: a float32 or float64 array (any shape).

    Returns:
        ``tan(x)`` in x's dtype: within 1.72 ulp of the exact value for ``|x| <= 25735`` in
        float32 (the rewrite replaces float32 ``tan`` with it); within 2.3 ulp for
        ``|x| <= 1.6e6`` in float64 (2.22 measured, above the 2-ulp bound the rewrite keeps, so
        it leaves float64 ``tan`` to XLA). Finite for every finite ``x``; NaN for NaN and
        infinities; ``tan(-0.0) == -0.0``.

    Raises:
        TypeError: if ``x`` is not float32 or float64.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd import fastmath
        >>> x = jnp.linspace(-1.5, 1.5, 7)
        >>> bool(jnp.allclose(fastmath.tan(x), jnp.tan(x), rtol=1e-6))
        True
    """
    return _tan_call(_check_float(x, "tan"))


def atan(x: jax.Array) -> jax.Array:
    """Arctangent from elementwise operations that XLA:CPU vectorises.

    Args:
        x: a float32 or float64 array (any shape).

    Returns:
        ``atan(x)`` in x's dtype, within 0.86 ulp of the exact value in float32 and float64
        (every float32 checked); ``atan(±inf) = ±pi/2``, NaN for NaN, ``atan(-0.0) == -0.0``.

    Raises:
        TypeError: if ``x`` is not float32 or float64.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd import fastmath
        >>> x = jnp.linspace(-10.0, 10.0, 9)
        >>> bool(jnp.allclose(fastmath.atan(x), jnp.arctan(x), rtol=1e-6))
        True
    """
    return _atan_call(_check_float(x, "atan"))


def atan2(y: jax.Array, x: jax.Array) -> jax.Array:
    """The angle of the point ``(x, y)``, ``atan2(y, x)`` in ``[-pi, pi]``, from elementwise
    operations that XLA:CPU vectorises.

    Args:
        y: a float32 or float64 array.
        x: an array of y's dtype, broadcastable with ``y``; a Python number (for either) takes
            the other's dtype.

    Returns:
        ``atan2(y, x)``, within 1.55 ulp of the exact value in float32 and float64; the signed
        zeros and infinities as C's ``atan2`` (``atan2(0.0, -0.0) == pi``,
        ``atan2(inf, -inf) == 3 pi / 4``, ...); NaN where either is NaN. Subnormal inputs count
        as zeros (XLA:CPU's vectorised arithmetic reads them so), and a result below the
        smallest normal float is ``0.0`` of its sign, as XLA's own ``atan2`` gives it.

    Raises:
        TypeError: if ``y`` or ``x`` is not float32 or float64, or their dtypes differ.
        ValueError: if their shapes do not broadcast together.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd import fastmath
        >>> y, x = jnp.array([1.0, 1.0, -1.0, 0.0]), jnp.array([1.0, -1.0, -1.0, -1.0])
        >>> bool(jnp.allclose(fastmath.atan2(y, x), jnp.arctan2(y, x), rtol=1e-6))
        True
    """
    y, x = jax.numpy.asarray(y), jax.numpy.asarray(x)
    # A Python number (weakly typed) takes the other's float dtype, as in jnp.arctan2: with
    # float64 enabled, atan2(y32, 2.0) is float32.
    y_weak, x_weak = jax.typeof(y).weak_type, jax.typeof(x).weak_type
    if y_weak and not x_weak and np.dtype(x.dtype) in _KERNELS:
        y = y.astype(x.dtype)
    elif x_weak and not y_weak and np.dtype(y.dtype) in _KERNELS:
        x = x.astype(y.dtype)
    y, x = _check_float(y, "atan2"), _check_float(x, "atan2")
    if y.dtype != x.dtype:
        raise TypeError(
            f"fastmath.atan2 takes y and x of one dtype, got {y.dtype} and {x.dtype}: cast one "
            "with .astype"
        )
    try:
        shape = np.broadcast_shapes(y.shape, x.shape)
    except ValueError:
        raise ValueError(
            f"fastmath.atan2 takes y and x of shapes that broadcast together, got {y.shape} and "
            f"{x.shape}: reshape one (x[:, None] pairs each x with every y)"
        ) from None
    y, x = jax.numpy.broadcast_to(y, shape), jax.numpy.broadcast_to(x, shape)
    return _atan2_call(y, x)


def asin(x: jax.Array) -> jax.Array:
    """Arcsine from elementwise operations that XLA:CPU vectorises.

    Args:
        x: a float32 or float64 array (any shape).

    Returns:
        ``asin(x)`` in x's dtype, within 0.91 ulp of the exact value in float32 and float64
        (every float32 in ``[-1, 1]`` checked); NaN for ``|x| > 1`` and NaN;
        ``asin(-0.0) == -0.0``.

    Raises:
        TypeError: if ``x`` is not float32 or float64.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd import fastmath
        >>> x = jnp.linspace(-1.0, 1.0, 9)
        >>> bool(jnp.allclose(fastmath.asin(x), jnp.arcsin(x), rtol=1e-6))
        True
    """
    return _asin_call(_check_float(x, "asin"))


def acos(x: jax.Array) -> jax.Array:
    """Arccosine from elementwise operations that XLA:CPU vectorises.

    Args:
        x: a float32 or float64 array (any shape).

    Returns:
        ``acos(x)`` in x's dtype, within 0.91 ulp of the exact value in float32 and float64
        (every float32 in ``[-1, 1]`` checked); NaN for ``|x| > 1`` and NaN.

    Raises:
        TypeError: if ``x`` is not float32 or float64.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd import fastmath
        >>> x = jnp.linspace(-1.0, 1.0, 9)
        >>> bool(jnp.allclose(fastmath.acos(x), jnp.arccos(x), rtol=1e-6))
        True
    """
    return _acos_call(_check_float(x, "acos"))


# primitive -> (replacement, dtypes it is measured to help and proven accurate for)
_RULES: dict[jcore.Primitive, tuple[Callable[..., jax.Array], frozenset[np.dtype]]] = {
    lax.sin_p: (_sin_call, frozenset(_KERNELS)),
    lax.cos_p: (_cos_call, frozenset(_KERNELS)),
    lax.tan_p: (_tan_call, frozenset({np.dtype(np.float32)})),
    lax.atan_p: (_atan_call, frozenset(_KERNELS)),
    lax.atan2_p: (_atan2_call, frozenset(_KERNELS)),
    lax.asin_p: (_asin_call, frozenset(_KERNELS)),
    lax.acos_p: (_acos_call, frozenset(_KERNELS)),
}
_REPLACEABLE_DTYPES = frozenset().union(*(d for _, d in _RULES.values()))


def _env_enabled() -> bool:
    raw = os.environ.get(ENV_VAR, "1").strip().lower()
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    raise ValueError(
        f"environment variable {ENV_VAR}={raw!r} is not understood: set it to 0 to turn the "
        "fast-math rewrite off, or 1 (or leave it unset) to keep it on"
    )


def enabled_for(dtype: Any, backend: str | None = None) -> bool:
    """Whether :func:`rewrite` replaces ``sin``/``cos`` and the other scalar-call functions
    (see the module's doc) of this dtype on this backend by default.

    True only for float32 and float64 on CPU, and only while the environment variable
    ``JAXGD_FAST_MATH`` is not ``0``: GPUs and TPUs already have vectorised ``sin``/``cos``
    and ``tan``.

    Args:
        dtype: a NumPy/JAX dtype or anything ``numpy.dtype`` accepts.
        backend: a JAX platform name (``"cpu"``, ``"gpu"``, ``"tpu"``, ...); ``None`` means
            ``jax.default_backend()``.

    Returns:
        True when the default rewrite applies.

    Raises:
        TypeError: if ``dtype`` is not a dtype or ``backend`` is not a string.
        ValueError: if ``JAXGD_FAST_MATH`` holds something other than 0/1/true/false/on/off.

    Example:
        >>> import numpy as np
        >>> from jaxgd import fastmath
        >>> fastmath.enabled_for(np.float32, "gpu"), fastmath.enabled_for(np.int32, "cpu")
        (False, False)
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a dtype such as numpy.float32, got {dtype!r}") from exc
    if backend is None:
        backend = jax.default_backend()
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a platform name such as 'cpu' (or None), got {backend!r}")
    return _env_enabled() and backend.lower() == "cpu" and dt in _REPLACEABLE_DTYPES


@functools.cache
def _jaxpr_types() -> tuple[type, type, type]:
    """JAX's ``ClosedJaxpr``, ``Jaxpr`` and ``Literal`` classes, read off a jaxpr of one ``mul``.

    Their public home, ``jax.extend.core``, imports all of ``jax.extend`` (Pallas and more,
    ~25 ms per process) that nothing here needs.
    """
    closed = jax.make_jaxpr(lambda x: lax.mul(x, 2.0))(1.0)
    return type(closed), type(closed.jaxpr), type(closed.jaxpr.eqns[0].invars[1])


def is_literal(v: Any) -> bool:
    """Whether an equation's operand ``v`` is a literal (a constant written into the jaxpr),
    not a variable (for jaxgd's checks of f; not part of the public API)."""
    return isinstance(v, _jaxpr_types()[2])


def jaxprs_in_params(params: dict[str, Any]) -> list[jcore.Jaxpr]:
    """The jaxprs held in an equation's parameters, directly or in a tuple: the bodies of
    ``pjit``, ``cond``, ``while``, ``scan``, ``custom_jvp_call``, ... (for jaxgd's checks
    of f, which look inside them as the rewrite does; not part of the public API)."""
    closed_type, jaxpr_type, _ = _jaxpr_types()
    found = []
    for value in params.values():
        for v in value if isinstance(value, tuple) else (value,):
            if isinstance(v, closed_type):
                found.append(v.jaxpr)
            elif isinstance(v, jaxpr_type):
                found.append(v)
    return found


def _targets(jaxpr: jcore.Jaxpr, dtypes: frozenset[np.dtype]) -> bool:
    for eqn in jaxpr.eqns:
        if _replacement(eqn, dtypes) is not None:
            return True
        if any(_targets(sub, dtypes) for sub in jaxprs_in_params(eqn.params)):
            return True
    return False


def _replacement(
    eqn: jcore.JaxprEqn, dtypes: frozenset[np.dtype]
) -> Callable[..., jax.Array] | None:
    rule = _RULES.get(eqn.primitive)
    if rule is None or eqn.params.get("accuracy") is not None:
        return None
    dt = np.dtype(eqn.invars[0].aval.dtype)
    return rule[0] if dt in dtypes and dt in rule[1] else None


def _as_aval(value: jax.Array, aval: Any) -> jax.Array:
    """Give a replacement's result the exact type (weak_type included) of the value it replaces."""
    v_aval = jax.typeof(value)
    if v_aval.dtype == aval.dtype and getattr(v_aval, "weak_type", False) == aval.weak_type:
        return value
    return lax.convert_element_type_p.bind(
        value, new_dtype=aval.dtype, weak_type=aval.weak_type, sharding=None
    )


def _spec(aval: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(aval.shape, aval.dtype, weak_type=aval.weak_type)


def _rewrite_closed(closed: jcore.ClosedJaxpr, dtypes: frozenset[np.dtype]) -> jcore.ClosedJaxpr:
    def body(*args: Any) -> list[Any]:
        return _eval(closed.jaxpr, closed.consts, args, dtypes)

    return jax.make_jaxpr(body)(*map(_spec, closed.in_avals))


def _rewrite_open(jaxpr: jcore.Jaxpr, dtypes: frozenset[np.dtype]) -> jcore.Jaxpr | None:
    if jaxpr.constvars:
        return None
    closed_type, _, _ = _jaxpr_types()
    new = _rewrite_closed(closed_type(jaxpr, []), dtypes)
    return None if new.consts else new.jaxpr


def _rewrite_params(params: dict[str, Any], dtypes: frozenset[np.dtype]) -> dict[str, Any] | None:
    """params with every nested jaxpr that holds a target rewritten; None if it cannot be done."""
    closed_type, jaxpr_type, _ = _jaxpr_types()
    new = dict(params)
    for name, value in params.items():
        if isinstance(value, closed_type):
            if _targets(value.jaxpr, dtypes):
                new[name] = _rewrite_closed(value, dtypes)
        elif isinstance(value, jaxpr_type):
            if _targets(value, dtypes):
                rewritten = _rewrite_open(value, dtypes)
                if rewritten is None:
                    return None
                new[name] = rewritten
        elif isinstance(value, tuple) and any(
            isinstance(v, (closed_type, jaxpr_type)) for v in value
        ):
            items = []
            for v in value:
                if isinstance(v, closed_type) and _targets(v.jaxpr, dtypes):
                    v = _rewrite_closed(v, dtypes)
                elif isinstance(v, jaxpr_type) and _targets(v, dtypes):
                    v = _rewrite_open(v, dtypes)
                    if v is None:
                        return None
                items.append(v)
            # A named tuple stays one (custom_linear_solve reads its jaxprs by name).
            new[name] = type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return new


def _eval_eqn(eqn: jcore.JaxprEqn, invals: list[Any], dtypes: frozenset[np.dtype]) -> list[Any]:
    prim = eqn.primitive
    rule = _replacement(eqn, dtypes)
    if rule is not None:
        # A literal operand (atan2(x, 2.0)) is a Python or NumPy number: give it its type. lax
        # lets a scalar stand beside an array (jnp.arctan2(1.0, x) binds atan2(1.0, x)); the
        # kernels take operands of one shape, the equation's.
        shape = eqn.outvars[0].aval.shape
        args = [
            v if isinstance(v, jax.Array) else np.asarray(v, var.aval.dtype)
            for v, var in zip(invals, eqn.invars, strict=True)
        ]
        args = [a if np.shape(a) == shape else jax.numpy.broadcast_to(a, shape) for a in args]
        return [_as_aval(rule(*args), eqn.outvars[0].aval)]
    params = eqn.params
    # custom_jvp_call and custom_vjp_call too: their primal body is rewritten, their rule kept
    if any(_targets(sub, dtypes) for sub in jaxprs_in_params(params)):
        rewritten = _rewrite_params(params, dtypes)
        if rewritten is not None:
            params = rewritten
    bind_params = prim.get_bind_params(params)
    # Older JAX returns (subfuns, params); newer returns params only.
    subfuns, bind_params = bind_params if isinstance(bind_params, tuple) else ((), bind_params)
    with eqn.ctx.manager:
        out = prim.bind(*subfuns, *invals, **bind_params)
    return list(out) if prim.multiple_results else [out]


def _eval(
    jaxpr: jcore.Jaxpr, consts: Sequence[Any], args: Sequence[Any], dtypes: frozenset[np.dtype]
) -> list[Any]:
    env: dict[jcore.Var, Any] = {}
    literal_type = _jaxpr_types()[2]

    def read(v: Any) -> Any:
        return v.val if isinstance(v, literal_type) else env[v]

    env.update(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))
    for eqn in jaxpr.eqns:
        outs = _eval_eqn(eqn, [read(v) for v in eqn.invars], dtypes)
        # a dropped output (DropVar) is stored too: nothing ever reads it
        env.update(zip(eqn.outvars, outs, strict=True))
    return [read(v) for v in jaxpr.outvars]


def jaxpr_function(closed: jcore.ClosedJaxpr) -> Callable[..., list[Any]]:
    """The function a closed jaxpr computes, equation by equation with nothing replaced: a
    list of its results (``jax.extend.core.jaxpr_as_fun``'s job; ``jax.extend`` costs ~16 ms
    to import). For jaxgd's checks of f; not part of the public API."""
    return lambda *args: _eval(closed.jaxpr, closed.consts, args, frozenset())


def rewrite(fun: Callable[..., Any], *, enable: bool | None = None) -> Callable[..., Any]:
    """Return ``fun`` with ``sin``/``cos``, ``atan``/``atan2``/``asin``/``acos`` (and float32
    ``tan``) computed by vectorisable polynomials.

    The returned function has ``fun``'s signature (positional and keyword arguments that are
    arrays or pytrees of arrays) and returns the same pytree. Each call traces ``fun`` to a
    jaxpr and evaluates it with the replacements, so it works on concrete values, under
    ``jit`` and under ``vmap``; wrap it in ``jit`` (as one does with the descent step) so the
    tracing happens once per compile.

    Meant for a step that is already differentiated, e.g. ``rewrite(jax.grad(f))``; the
    result can be differentiated again, custom derivative rules inside ``fun`` included.

    Args:
        fun: the function to rewrite.
        enable: ``None`` (default) rewrites the dtypes for which :func:`enabled_for` is true on
            the default backend, deciding at each call (so ``JAXGD_FAST_MATH=0`` takes effect
            at the next trace); ``True`` rewrites every primitive with a replacement (see the
            module's doc) on any backend; ``False`` returns ``fun`` unchanged.

    Returns:
        The rewritten function (``fun`` itself when ``enable`` is False).

    Raises:
        TypeError: if ``fun`` is not callable or ``enable`` is not None/True/False.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxgd import fastmath
        >>> f = lambda x: jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> step = jax.jit(fastmath.rewrite(jax.grad(f)))
        >>> float(step(jnp.float32(0.0)))
        1.0
        >>> jaxpr = jax.make_jaxpr(fastmath.rewrite(f, enable=True))(1.0)
        >>> "sin" in [eqn.primitive.name for eqn in jaxpr.eqns]
        False
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable (the function to rewrite), got {fun!r}")
    if enable is not None and not isinstance(enable, bool):
        raise TypeError(f"enable must be None, True or False, got {enable!r}")
    if enable is False:
        return fun

    @functools.wraps(fun)
    def rewritten(*args: Any, **kwargs: Any) -> Any:
        if enable:
            dtypes = _REPLACEABLE_DTYPES
        else:
            dtypes = frozenset(d for d in _REPLACEABLE_DTYPES if enabled_for(d))
            if not dtypes:
                return fun(*args, **kwargs)
        flat, in_tree = jax.tree.flatten((args, kwargs))

        def flat_fun(*flat_args: Any) -> Any:
            a, kw = jax.tree.unflatten(in_tree, flat_args)
            return fun(*a, **kw)

        closed, out_shape = jax.make_jaxpr(flat_fun, return_shape=True)(*flat)
        out = _eval(closed.jaxpr, closed.consts, flat, dtypes)
        # An output that is a constant of the jaxpr comes back as its literal (JAX's
        # TypedInt for a Python int); as an array, it is what calling fun under jit returns.
        out = [o if isinstance(o, jax.Array) else jax.numpy.asarray(o) for o in out]
        return jax.tree.unflatten(jax.tree.structure(out_shape), out)

    return rewritten
