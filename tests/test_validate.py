"""Bad input raises before compiling, with a message naming the argument and the fix."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from tests.helpers import CASES

F = CASES[0].f
GOOD = {"starts": [0.0, 1.0], "learning_rates": [0.01, 0.1], "epochs": [10, 20]}


def _sweep(**kw):
    return jaxgd.sweep(F, **{**GOOD, **kw})


def _np_f(x):
    return np.sin(x) * np.exp(-0.05 * x**2)


def _branchy(x):
    return x if x > 0 else -x


@pytest.mark.parametrize(
    ("f", "exc", "match"),
    [
        (
            lambda x: jnp.sin(x) * jnp.ones(1),
            ValueError,
            r"f must return a scalar.*shape \(1,\).*\[0\]",
        ),
        (lambda x: jnp.stack([x, x]), ValueError, r"f must return a scalar.*shape \(2,\)"),
        (_np_f, TypeError, "use jax.numpy|write it with jax.numpy"),
        (lambda x: jnp.exp(1j * x), TypeError, "complex"),
        (lambda x: jnp.floor(x).astype(jnp.int32), TypeError, "int32"),
        (_branchy, TypeError, "jnp.where"),
        (lambda x: (x, x), TypeError, "one scalar array"),
        ("sin", TypeError, "f must be a callable"),
        (lambda x, y: x + y, TypeError, r"f must be callable as f\(x\) on one scalar x.*'y'"),
    ],
    ids=[
        "shape-1",
        "vector",
        "numpy",
        "complex",
        "integer",
        "python-if",
        "tuple",
        "not-callable",
        "two-arguments",
    ],
)
@pytest.mark.parametrize("entry", ["sweep", "descend"])
def test_bad_function(f, exc, match, entry, compiles):
    with compiles, pytest.raises(exc, match=match):
        if entry == "sweep":
            jaxgd.sweep(f, **GOOD)
        else:
            jaxgd.descend(f, 0.0, 0.1, 10)
    assert compiles.count == 0


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"starts": []}, ValueError, "starts is empty"),
        ({"learning_rates": np.array([])}, ValueError, "learning_rates is empty"),
        ({"epochs": []}, ValueError, "epochs is empty"),
        ({"starts": [0.0, np.nan]}, ValueError, "starts must be finite; entry 1 is nan"),
        ({"learning_rates": [np.inf]}, ValueError, "learning_rates must be finite"),
        ({"learning_rates": [0.1, -0.1]}, ValueError, "learning_rates must be >= 0"),
        ({"epochs": [10, -1]}, ValueError, "epochs must be >= 0; entry 1 is -1"),
        ({"epochs": [10.5]}, ValueError, r"epochs must be whole numbers.*np.round"),
        ({"epochs": [np.nan]}, ValueError, "epochs must be finite"),
        ({"epochs": [1e12]}, ValueError, "epochs must be at most"),
        ({"epochs": ["10"]}, TypeError, "epochs must be whole numbers"),
        (
            {"starts": np.zeros((2, 2))},
            ValueError,
            r"starts must be a scalar or a 1-D array.*\(2, 2\)",
        ),
        (
            {"learning_rates": np.zeros((1, 3))},
            ValueError,
            "learning_rates must be a scalar or a 1-D",
        ),
        ({"epochs": np.ones((2, 1), int)}, ValueError, "epochs must be a scalar or a 1-D"),
        ({"starts": [1 + 2j]}, TypeError, "starts must be real"),
        ({"starts": ["a"]}, TypeError, "starts must be numbers"),
    ],
)
def test_bad_axis(kw, exc, match, compiles):
    with compiles, pytest.raises(exc, match=match):
        _sweep(**kw)
    assert compiles.count == 0


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((np.array([0.5]), 0.1, 10), ValueError, r"x0 must be a scalar.*np.random.choice\(x\)"),
        ((np.zeros(3), 0.1, 10), ValueError, "x0 must be a scalar.*jaxgd.sweep"),
        ((np.nan, 0.1, 10), ValueError, "x0 must be finite"),
        ((0.0, -0.1, 10), ValueError, "learning_rate must be >= 0"),
        ((0.0, 0.1, 2.5), ValueError, "epochs must be whole numbers"),
        ((0.0, 0.1, -3), ValueError, "epochs must be >= 0"),
        ((0.0, 0.1, 10**10), ValueError, "epochs must be at most"),
    ],
)
def test_bad_descend_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        jaxgd.descend(F, *args)


def test_values_checks_skipped_inside_jit():
    # Traced values cannot be checked; shapes still are.
    run = jax.jit(lambda s: jaxgd.sweep(F, s, 0.1, 5).final)
    assert run(jnp.array([0.0, jnp.nan])).shape == (2, 1, 1)
    with pytest.raises(ValueError, match="starts must be a scalar or a 1-D"):
        run(jnp.zeros((2, 2)))


def test_large_finite_start_that_overflows_is_flagged_not_raised():
    res = jaxgd.sweep(lambda x: x**4, [1e10, 0.5], 0.1, 10)
    assert res.diverged[0].all() and not res.diverged[1].any()


def test_start_too_large_for_float32_is_an_error():
    with pytest.raises(ValueError, match=r"too large for float32.*enable x64"):
        jaxgd.sweep(F, [1e300], 0.1, 10)
