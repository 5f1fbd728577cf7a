"""descend and sweep under random argument kinds: a correct result or one clear error.

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

import math
import re

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxgd
from tests.helpers import CASES, assert_close, float32_tol, reference_descend, reference_sweep

GOOD_F = [c for c in CASES if c.name in ("notebook", "quadratic", "plateau")]


def _while(x):
    return jax.lax.while_loop(lambda c: c[0] < 2, lambda c: (c[0] + 1, c[1] * x), (0, x))[1]


def _raises(x):
    return x * (1 / 0)


BAD_F = {
    "numpy-ufunc": np.sin,
    "numpy-vectorize": np.vectorize(np.sin),
    "numpy-inside": lambda x: np.sin(x),
    "not-callable": "sin",
    "two-arguments": lambda x, y: x * y,
    "vector": lambda x: jnp.stack([x, x]),
    "not-differentiable": _while,
    "raises": _raises,
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
}
# ... and of one float (an axis of length 1 for sweep, the only kind descend takes).
GOOD_SCALAR = {
    "float": lambda v: v[0],
    "numpy-scalar": lambda v: np.float64(v[0]),
    "numpy-0d": lambda v: np.array(v[0], np.float32),
    "jax-0d": lambda v: jnp.array(v[0]),
    "bfloat16-0d": lambda v: jnp.array(v[0], jnp.bfloat16),
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
}
BAD_RATES = {**BAD_AXIS, "negative": lambda v: [*v, -0.125]}

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
}
GOOD_COUNT = {
    "int": lambda v: v[0],
    "float": lambda v: float(v[0]),
    "numpy-scalar": lambda v: np.uint32(v[0]),
    "numpy-0d": lambda v: np.array(v[0]),
    "jax-0d": lambda v: jnp.array(v[0]),
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
}


@st.composite
def argument(draw, pool, good: dict, bad: dict, *, scalar_kinds: dict, scalar: bool):
    """``(value as passed, the numbers it means)``; the numbers are None for a bad value."""
    n = 1 if scalar else draw(st.integers(1, 2))
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


@FUZZ
@given(
    fn=function(),
    starts=argument(STARTS, GOOD_AXIS, BAD_AXIS, scalar_kinds=GOOD_SCALAR, scalar=False),
    rates=argument(RATES, GOOD_AXIS, BAD_RATES, scalar_kinds=GOOD_SCALAR, scalar=False),
    epochs=argument(EPOCHS, GOOD_EPOCHS, BAD_EPOCHS, scalar_kinds=GOOD_COUNT, scalar=False),
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
