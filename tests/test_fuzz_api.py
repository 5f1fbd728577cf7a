"""descend, sweep and convergence under random argument kinds: a correct result or one clear error.

Every argument is drawn as some way a user could write it (Python numbers, lists, tuples,
NumPy and JAX arrays of many dtypes, 0-d arrays, object arrays, ...), or as a bad value (None,
strings, bools, ragged nesting, NaN, values float32 cannot hold, ...). The draw knows which
numbers a good value means, so a call with only good arguments must match a float64 NumPy
loop with a hand-written derivative; a call with a bad one must raise TypeError or ValueError
whose message starts with the name of the first bad argument. Nothing else may escape.

The numbers come from small pools that every dtype drawn holds exactly (bfloat16 included),
with rates small enough that float32 stays close to the float64 reference.
"""

from __future__ import annotations

import decimal
import fractions
import math
import re

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import jaxgd
from tests.helpers import (
    CASES,
    UNSEEN,
    Case,
    assert_close,
    float32_tol,
    not_differentiable,
    reference_descend,
    reference_sweep,
)


def _nan_everywhere(x):
    return jnp.nan * x


# Library-like functions and ones an outside user would bring (not in jaxgd.functions), all
# stable at the pool's rates so float32 stays near the float64 loop; and an f that is NaN
# everywhere, whose runs are NaN (flagged as diverged by the sweep), never an exception.
GOOD_F = [
    *(c for c in CASES if c.name in ("notebook", "quadratic", "plateau")),
    *(c for c in UNSEEN if c.name in ("log_bowl", "x_tanh", "piecewise", "cosh")),
    Case("nan", _nan_everywhere, lambda x: np.nan * x, lambda x: np.nan * x, (), ()),
]


def _raises(x):
    return x * (1 / 0)


BAD_F = {
    "numpy-ufunc": np.sin,
    "numpy-vectorize": np.vectorize(np.sin),
    "numpy-inside": lambda x: np.sin(x),
    "not-callable": "sin",
    "two-arguments": lambda x, y: x * y,
    "vector": lambda x: jnp.stack([x, x]),
    "not-differentiable": not_differentiable,
    "raises": _raises,
    "complex": lambda x: x**2 + 0j,
    "integer": lambda x: jnp.int32(1),
    "bool": lambda x: x > 0,
    "none": lambda x: None,
}

STARTS = (-2.5, -1.0, -0.0, 0.0, 0.5, 1.25, 2.0, 3.0)
RATES = (0.0, 0.0625, 0.125, 0.25)
EPOCHS = (0, 1, 2, 3, 7, 20)

# Ways to write a good axis of floats (values: a list of 1 or 2 numbers from a pool).
GOOD_AXIS = {
    "list": list,
    "tuple": tuple,
    "float64": np.array,
    "float32": lambda v: np.array(v, np.float32),
    "float16": lambda v: np.array(v, np.float16),
    "bfloat16-jax": lambda v: jnp.array(v, jnp.bfloat16),
    "bfloat16-numpy": lambda v: np.array(v, ml_dtypes.bfloat16),
    "jax": jnp.array,
    "object": lambda v: np.array(v, dtype=object),
    "numpy-scalars": lambda v: [np.float32(x) for x in v],
    "jax-scalars": lambda v: [jnp.float32(x) for x in v],
    "fractions": lambda v: [fractions.Fraction(x) for x in v],
    "ints-where-whole": lambda v: [int(x) if x == int(x) else x for x in v],
}
# ... and of one float (an axis of length 1 for sweep, the only kind descend takes).
GOOD_SCALAR = {
    "float": lambda v: v[0],
    "numpy-scalar": lambda v: np.float64(v[0]),
    "numpy-0d": lambda v: np.array(v[0], np.float32),
    "jax-0d": lambda v: jnp.array(v[0]),
    "bfloat16-0d": lambda v: jnp.array(v[0], jnp.bfloat16),
    "fraction": lambda v: fractions.Fraction(v[0]),
    "object-0d": lambda v: np.array(v[0], dtype=object),
}
BAD_AXIS = {
    "none": lambda v: None,
    "none-inside": lambda v: [*v, None],
    "string": lambda v: str(v[0]),
    "strings": lambda v: [str(x) for x in v],
    "dict": lambda v: dict(enumerate(v)),
    "set": set,
    "bool": lambda v: True,
    "complex": lambda v: np.array(v) + 1j,
    "ragged": lambda v: [v, 1.0],
    "2-d": lambda v: [v],
    "empty": lambda v: [],
    "nan": lambda v: [*v, math.nan],
    "inf": lambda v: -math.inf,
    "dates": lambda v: np.array(["2020-01-01"], "datetime64[D]"),
    "float32-overflow": lambda v: [*v, 1e39],
    "int-beyond-float64": lambda v: 10**400,
    "prng-key": lambda v: jax.random.key(0),
    "decimal": lambda v: decimal.Decimal(v[0]),
    "no-points": lambda v: np.zeros((1, 0)),
    "bytes": lambda v: b"0.5",
    "memoryview": lambda v: memoryview(b"a"),
}
BAD_RATES = {**BAD_AXIS, "negative": lambda v: [*v, -0.125]}

_INT_TYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)


def _ints(dtype):
    return lambda v: np.array(v, dtype)


def _int(dtype):
    return lambda v: dtype(v[0])


GOOD_EPOCHS = {
    "list": list,
    "tuple": tuple,
    "floats": lambda v: [float(e) for e in v],
    "int8": lambda v: np.array(v, np.int8),
    "uint16": lambda v: np.array(v, np.uint16),
    "float32": lambda v: np.array(v, np.float32),
    "jax": jnp.array,
    "object": lambda v: np.array(v, dtype=object),
    "numpy-scalars": lambda v: [np.int64(e) for e in v],
    **{t.__name__: _ints(t) for t in _INT_TYPES},
    "fractions": lambda v: [fractions.Fraction(e) for e in v],
}
GOOD_COUNT = {
    "int": lambda v: v[0],
    "float": lambda v: float(v[0]),
    "numpy-scalar": lambda v: np.uint32(v[0]),
    "numpy-0d": lambda v: np.array(v[0]),
    "jax-0d": lambda v: jnp.array(v[0]),
    **{f"{t.__name__}-scalar": _int(t) for t in _INT_TYPES},
    "fraction": lambda v: fractions.Fraction(v[0]),
    "jax-0d-float": lambda v: jnp.array(float(v[0])),
    "object-0d": lambda v: np.array(v[0], dtype=object),
}
BAD_EPOCHS = {
    "fraction": lambda v: [*v, v[0] + 0.5],
    "negative": lambda v: [-1 - v[0]],
    "one-too-many": lambda v: 10**9 + 1,
    "huge": lambda v: 10**40,
    "nan": lambda v: math.nan,
    "bool": lambda v: False,
    "string": lambda v: str(v[0]),
    "none": lambda v: None,
    "ragged": lambda v: [v, 3],
    "2-d": lambda v: [v],
    "empty": lambda v: [],
    "complex": lambda v: complex(v[0]),
    "durations": lambda v: np.array(v, "timedelta64[s]"),
    "numpy-bool": lambda v: np.bool_(True),
    "half": lambda v: fractions.Fraction(2 * v[0] + 1, 2),
    "decimal": lambda v: decimal.Decimal(v[0]),
    "2**31": lambda v: 2**31,
    "2**63": lambda v: 2**63,
    "10**30": lambda v: 10**30,
    "uint64-2**63": lambda v: np.uint64(2**63),
    "negative-int8": lambda v: np.int8(-1 - v[0]),
    "inf": lambda v: math.inf,
    "nested": lambda v: [[v[0]]],
}


@st.composite
def argument(draw, pool, good: dict, bad: dict, *, scalar_kinds: dict, scalar: bool, most=2):
    """``(value as passed, the numbers it means)``; the numbers are None for a bad value.
    An axis holds 1 to ``most`` values, repeats and any order included."""
    n = 1 if scalar else draw(st.integers(1, most))
    values = [draw(st.sampled_from(pool)) for _ in range(n)]
    if draw(st.integers(0, 4)) == 0:
        return bad[draw(st.sampled_from(sorted(bad)))](values), None
    kinds = scalar_kinds if scalar else {**good, **(scalar_kinds if n == 1 else {})}
    return kinds[draw(st.sampled_from(sorted(kinds)))](values), values


@st.composite
def function(draw):
    """``(f, its test case)``; the case is None for a bad f."""
    if draw(st.integers(0, 9)) == 0:
        return BAD_F[draw(st.sampled_from(sorted(BAD_F)))], None
    case = draw(st.sampled_from(GOOD_F))
    return case.f, case


def _check_error(error: Exception, bad_names: list[str]) -> None:
    """The error is the first bad argument's, and says so at the start of its message."""
    assert isinstance(error, TypeError | ValueError), repr(error)
    assert re.match(rf"{bad_names[0]}\b", str(error)), (bad_names, str(error))


FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(
    fn=function(),
    x0=argument(STARTS, GOOD_AXIS, BAD_AXIS, scalar_kinds=GOOD_SCALAR, scalar=True),
    rate=argument(RATES, GOOD_AXIS, BAD_RATES, scalar_kinds=GOOD_SCALAR, scalar=True),
    epochs=argument(EPOCHS, GOOD_EPOCHS, BAD_EPOCHS, scalar_kinds=GOOD_COUNT, scalar=True),
)
# A bad f and an uneven x0: x0's shape was read first (f is checked on it) and x0 named.
@example(
    fn=(BAD_F["bool"], None),
    x0=([[-2.5], 1.0], None),
    rate=([[0.0]], None),
    epochs=(10**30, None),
)
def test_descend_gives_the_reference_or_names_the_bad_argument(fn, x0, rate, epochs):
    (f, case), args = fn, {"x0": x0, "learning_rate": rate, "epochs": epochs}
    bad = ["f"] if case is None else []
    bad += [name for name, (_, meant) in args.items() if meant is None]
    try:
        x = jaxgd.descend(f, x0[0], rate[0], epochs[0])
    except Exception as e:
        if not bad:
            raise
        _check_error(e, bad)
        return
    assert not bad, f"accepted a bad {bad[0]}"
    assert x.shape == () and x.dtype == np.float32
    ref = reference_descend(case.np_df, x0[1][0], rate[1][0], epochs[1][0])
    assert_close(x, ref, **float32_tol(np.float32))


@pytest.mark.thorough
@FUZZ
@given(
    fn=function(),
    starts=argument(STARTS, GOOD_AXIS, BAD_AXIS, scalar_kinds=GOOD_SCALAR, scalar=False),
    rates=argument(RATES, GOOD_AXIS, BAD_RATES, scalar_kinds=GOOD_SCALAR, scalar=False),
    epochs=argument(EPOCHS, GOOD_EPOCHS, BAD_EPOCHS, scalar_kinds=GOOD_COUNT, scalar=False, most=4),
)
def test_sweep_gives_the_reference_or_names_the_bad_argument(fn, starts, rates, epochs):
    (f, case), args = fn, {"starts": starts, "learning_rates": rates, "epochs": epochs}
    bad = ["f"] if case is None else []
    bad += [name for name, (_, meant) in args.items() if meant is None]
    try:
        res = jaxgd.sweep(f, starts[0], rates[0], epochs[0])
    except Exception as e:
        if not bad:
            raise
        _check_error(e, bad)
        return
    assert not bad, f"accepted a bad {bad[0]}"
    s, r, e = (np.asarray(a[1]) for a in (starts, rates, epochs))
    np.testing.assert_array_equal(res.starts, s.astype(np.float32))
    np.testing.assert_array_equal(res.learning_rates, r.astype(np.float32))
    np.testing.assert_array_equal(res.epochs, e)
    assert_close(res.final, reference_sweep(case.np_df, s, r, e), **float32_tol(np.float32))
    # A cell is diverged when its position (or its value) is not finite.
    assert res.diverged[~np.isfinite(reference_sweep(case.np_df, s, r, e))].all()


GOOD_TOL = {
    "float": lambda v: v,
    "numpy-0d": lambda v: np.array(v),
    "jax-0d": lambda v: jnp.array(v),
    "numpy-float32": lambda v: np.float32(v),
    "fraction": lambda v: fractions.Fraction(v),
    "object-0d": lambda v: np.array(v, dtype=object),
}
BAD_TOL = {
    "zero": lambda v: 0.0,
    "negative": lambda v: -v,
    "nan": lambda v: math.nan,
    "inf": lambda v: math.inf,
    "zero-in-float32": lambda v: 1e-50,
    "beyond-float32": lambda v: 1e39,
    "string": lambda v: str(v),
    "none": lambda v: None,
    "bool": lambda v: True,
    "list": lambda v: [v],
    "complex": lambda v: complex(v),
    "decimal": lambda v: decimal.Decimal(v),
}


@st.composite
def tolerance(draw):
    """``(tol as passed, the number it means)``; None for a bad tol."""
    v = draw(st.sampled_from((1e-3, 0.25, 1.0)))
    if draw(st.integers(0, 4)) == 0:
        return BAD_TOL[draw(st.sampled_from(sorted(BAD_TOL)))](v), None
    return GOOD_TOL[draw(st.sampled_from(sorted(GOOD_TOL)))](v), v


def _reference_runs(np_df, starts, rates, epochs):
    """Every position of every (start, rate) run, float64: shape (S, L, epochs + 1)."""
    xs = np.empty((len(starts), len(rates), epochs + 1))
    xs[..., 0] = np.asarray(starts, np.float64)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(epochs):
            xs[..., t + 1] = xs[..., t] - np.asarray(rates, np.float64) * np_df(xs[..., t])
    return xs


@pytest.mark.thorough
@FUZZ
@given(
    fn=function(),
    starts=argument(STARTS, GOOD_AXIS, BAD_AXIS, scalar_kinds=GOOD_SCALAR, scalar=False),
    rates=argument(RATES, GOOD_AXIS, BAD_RATES, scalar_kinds=GOOD_SCALAR, scalar=False),
    epochs=argument(EPOCHS, GOOD_EPOCHS, BAD_EPOCHS, scalar_kinds=GOOD_COUNT, scalar=True),
    tol=tolerance(),
)
def test_convergence_gives_the_reference_or_names_the_bad_argument(fn, starts, rates, epochs, tol):
    (f, case) = fn
    args = {"starts": starts, "learning_rates": rates, "epochs": epochs, "tol": tol}
    bad = ["f"] if case is None else []
    bad += [name for name, (_, meant) in args.items() if meant is None]
    try:
        conv = jaxgd.convergence(f, starts[0], rates[0], epochs[0], tol=tol[0])
    except Exception as e:
        if not bad:
            raise
        _check_error(e, bad)
        return
    assert not bad, f"accepted a bad {bad[0]}"
    n, t = int(epochs[1][0]), tol[1]
    xs = _reference_runs(case.np_df, starts[1], rates[1], n)
    end = xs[..., -1]
    assert conv.shape == end.shape
    assert_close(conv.final, end, **float32_tol(np.float32))
    last = np.abs(end - xs[..., -2]) if n else np.zeros_like(end)
    assert_close(conv.last_step, last, **float32_tol(np.float32))
    with np.errstate(over="ignore", invalid="ignore"):
        value = case.np_f(end)
    # A cell is diverged when its position or its value is not finite.
    np.testing.assert_array_equal(conv.diverged, ~np.isfinite(end) | ~np.isfinite(value))
    assert not (conv.converged & conv.diverged).any()
    assert not conv.converged[last >= 2 * t].any()  # a run still taking long steps
    # The first epoch from which every position stays within tol of the end, where no
    # position lies so near tol from it that float32 rounding could put it either side.
    with np.errstate(invalid="ignore"):
        gap = np.abs(xs - end[..., None])
        far = ~(gap <= t)
    epoch = np.where(far.any(-1), n - np.argmax(far[..., ::-1], axis=-1) + 1, 0)
    clear = (np.abs(gap - t) > 1e-4 * max(t, 1.0)).all(-1) & np.isfinite(end)
    np.testing.assert_array_equal(conv.epoch[clear], epoch[clear])
