"""Bad input raises before compiling, with a message naming the argument and the fix."""

from __future__ import annotations

import dataclasses
import decimal
import fractions
import functools
import importlib
import math
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import jaxgd
from jaxgd import _chunking, _validate
from jaxgd._validate import MAX_EPOCHS, as_epochs, check_function
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
        ({"epochs": ["10"]}, TypeError, r"epochs must be a whole number.*strings"),
        (
            {"starts": np.zeros((2, 2))},
            ValueError,
            r"starts has shape \(2, 2\): 2 points of R\^2.*f must return a scalar.*np.ravel",
        ),
        (
            {"learning_rates": np.zeros((1, 3))},
            ValueError,
            "learning_rates must be a scalar or a 1-D",
        ),
        ({"epochs": np.ones((2, 1), int)}, ValueError, "epochs must be a scalar or a 1-D"),
        ({"starts": [1 + 2j]}, TypeError, "starts must be real"),
        ({"starts": ["a"]}, TypeError, r"starts must be a number.*strings"),
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
        ((np.zeros(3), 0.1, 10), ValueError, r"^x0 has shape \(3,\).*jaxgd.sweep runs from many"),
        ((np.zeros((1, 2)), 0.1, 10), ValueError, r"^x0 must be a scalar or one point of shape"),
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


def _theta_first(theta, x):
    return theta * (x - 1.0) ** 2


def _params_first_dict(p, y):  # names that say nothing: only the trace can tell
    return p["a"] * (y - 1.0) ** 2


@pytest.mark.parametrize(
    ("f", "params", "match"),
    [
        (_theta_first, [1.0, 2.0], r"written as f\(theta, x\).*calls f\(x, theta\)"),
        (lambda params, x: params * x**2, 2.0, r"written as f\(params, x\).*Swap"),
        (_params_first_dict, {"a": np.array([1.0])}, r"works as f\(theta, x\).*x first.*Swap"),
    ],
    ids=["theta-x", "params-x", "traced"],
)
@pytest.mark.parametrize("entry", ["sweep", "descend"])
def test_parameters_the_wrong_way_round_are_refused(f, params, match, entry, compiles):
    """params= calls f(x, theta); an f(theta, x) with scalars would run, every result wrong."""
    with compiles, pytest.raises(TypeError, match=match):
        if entry == "sweep":
            jaxgd.sweep(f, [0.5], [0.1], [10], params=params)
        else:
            one = jax.tree.map(lambda v: np.ravel(v)[0], params)
            jaxgd.descend(f, 0.5, 0.1, 10, params=one)
    assert compiles.count == 0


@pytest.mark.parametrize(
    "f",
    [
        lambda x, theta: theta * x**2,
        lambda x, params: params * x**2,
        lambda y, theta: theta * y**2,
        lambda params, y: y * params**2,  # its second is not x: the order is not in doubt
    ],
    ids=["x-theta", "x-params", "y-theta", "params-y"],
)
def test_parameter_order_check_passes_functions_it_cannot_doubt(f):
    """Only names that leave no doubt are refused: each f here runs as f(x, theta)."""
    r = jaxgd.sweep(f, [0.5], [0.1], [10], params=[1.0, 2.0])
    want = 0.5 * (1 - 0.2 * np.array([1.0, 2.0])) ** 10
    np.testing.assert_allclose(r.final.ravel(), want, rtol=1e-5)


def _branches_on_theta(x, a):
    return x**2 if a > 0 else -(x**2)


@pytest.mark.parametrize("entry", ["sweep", "descend"])
def test_python_branch_on_theta_is_named(entry, compiles):
    """theta is traced in the lanes, like x: a Python `if` on it fails, and the check says so
    (it was checked on concrete zeros, passed, and failed later inside JAX's tracing)."""
    with compiles, pytest.raises(TypeError, match=r"branches on the value of x or theta.*jnp"):
        if entry == "sweep":
            jaxgd.sweep(_branches_on_theta, [0.5], [0.1], [10], params=[1.0, 2.0])
        else:
            jaxgd.descend(_branches_on_theta, 0.5, 0.1, 10, params=1.0)
    assert compiles.count == 0


def _callback_f(vmap_method):
    def sin_on_host(v):
        return np.sin(v).astype(v.dtype)

    def f(x):
        out = jax.ShapeDtypeStruct((), x.dtype)
        kw = {} if vmap_method is None else {"vmap_method": vmap_method}
        return x**2 + jax.pure_callback(sin_on_host, out, jax.lax.stop_gradient(x), **kw)

    return f


_BATCHED_ENTRIES = {
    "sweep": lambda f: jaxgd.sweep(f, [-1.0, 1.0], [0.1], [5]),
    "convergence": lambda f: jaxgd.convergence(f, [-1.0, 1.0], [0.1], 5),
    "find_minima": lambda f: jaxgd.find_minima(f, -2.0, 2.0, num=64),
    "check_derivative": lambda f: jaxgd.check_derivative(f, lambda x: 2 * x, -2.0, 2.0, num=64),
}


@pytest.mark.parametrize("entry", list(_BATCHED_ENTRIES))
def test_a_callback_vmap_cannot_batch_is_named_with_the_fix(entry, compiles):
    """JAX's NotImplementedError came from deep inside the sweep's tracing, naming neither f
    nor vmap_method; descend, which does not vmap f, runs it."""
    with compiles, pytest.raises(TypeError, match=r"f calls jax.pure_callback without vmap_"):
        _BATCHED_ENTRIES[entry](_callback_f(None))
    assert compiles.count == 0
    _BATCHED_ENTRIES[entry](_callback_f("sequential"))  # the fix the message gives works


def _custom_jvp_callback_f(vmap_method):
    """A callback only in the function a jax.custom_jvp wraps: its rule computes f in jnp."""

    def sin_on_host(v):
        return np.sin(v).astype(v.dtype)

    @jax.custom_jvp
    def g(x):
        kw = {} if vmap_method is None else {"vmap_method": vmap_method}
        return jax.pure_callback(sin_on_host, jax.ShapeDtypeStruct((), x.dtype), x, **kw)

    @g.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return jnp.sin(x), jnp.cos(x) * t

    return lambda x: g(x) + 0.1 * x**2


@pytest.mark.parametrize("entry", ["sweep", "convergence"])
def test_a_callback_only_in_a_custom_jvp_primal_is_named_with_the_fix(entry, compiles):
    """jax.grad traces the custom_jvp's rule, not the function it wraps, so the callback was
    not in the checked trace; the sweep's value of f runs that function under vmap, and
    JAX's NotImplementedError came from deep inside its tracing."""
    with compiles, pytest.raises(TypeError, match=r"f calls jax.pure_callback without vmap_"):
        _BATCHED_ENTRIES[entry](_custom_jvp_callback_f(None))
    assert compiles.count == 0
    _BATCHED_ENTRIES[entry](_custom_jvp_callback_f("sequential"))


def test_descend_runs_a_callback_without_vmap_method():
    got = float(jaxgd.descend(_callback_f(None), 1.0, 0.1, 3))
    x = 1.0
    for _ in range(3):
        x -= 0.1 * 2 * x  # the callback's part is under stop_gradient
    assert got == pytest.approx(x, rel=1e-6)


def test_an_ordered_io_callback_is_refused_for_a_sweep(compiles):
    from jax.experimental import io_callback

    def f(x):
        out = jax.ShapeDtypeStruct((), x.dtype)
        side = io_callback(
            lambda v: np.zeros((), v.dtype), out, jax.lax.stop_gradient(x), ordered=True
        )
        return x**2 + side

    with compiles, pytest.raises(TypeError, match=r"io_callback with ordered=True.*ordered=False"):
        jaxgd.sweep(f, [-1.0, 1.0], [0.1], [5])
    assert compiles.count == 0


def test_values_checks_skipped_inside_jit():
    # Traced values cannot be checked; shapes still are.
    run = jax.jit(lambda s: jaxgd.sweep(F, s, 0.1, 5).final)
    assert run(jnp.array([0.0, jnp.nan])).shape == (2, 1, 1)
    with pytest.raises(ValueError, match=r"starts has shape \(2, 2\): 2 points of R\^2"):
        run(jnp.zeros((2, 2)))


def test_large_finite_start_that_overflows_is_flagged_not_raised():
    res = jaxgd.sweep(lambda x: x**4, [1e10, 0.5], 0.1, 10)
    assert res.diverged[0].all() and not res.diverged[1].any()


def test_start_too_large_for_float32_is_an_error():
    with pytest.raises(ValueError, match=r"too large for float32.*enable x64"):
        jaxgd.sweep(F, [1e300], 0.1, 10)


# -- NumPy callables: refused before JAX ever traces them ---------------------------------------


class _SlotsSin:
    """A JAX-traceable callable that allows no weak reference (like a NumPy ufunc)."""

    __slots__ = ()

    def __call__(self, x):
        return jnp.sin(x)

    def __hash__(self):
        return 1

    def __eq__(self, other):
        return isinstance(other, _SlotsSin)


NUMPY_CALLABLES = {
    "ufunc": np.sin,
    "dispatcher": np.sinc,
    "vectorize": np.vectorize(lambda x: x**2),
    "partial": functools.partial(np.power, 2.0),
    "nested-partial": functools.partial(functools.partial(np.add), 1.0),
    "poly1d": np.poly1d([1.0, 0.0, 0.0]),
    "jit-of-ufunc": jax.jit(np.cos),
    "method": np.random.default_rng(0).normal,
}


@pytest.mark.parametrize("f", NUMPY_CALLABLES.values(), ids=NUMPY_CALLABLES.keys())
@pytest.mark.parametrize("entry", ["sweep", "descend"])
def test_numpy_callable_is_refused_before_tracing(f, entry, compiles):
    with compiles, pytest.raises(TypeError, match=r"^f is (the NumPy|a np\.vectorize).*jax\.numpy"):
        if entry == "sweep":
            jaxgd.sweep(f, **GOOD)
        else:
            jaxgd.descend(f, 0.0, 0.1, 10)
    assert compiles.count == 0


@dataclasses.dataclass
class _Quadratic:  # eq=True, the default, sets __hash__ = None
    a: float

    def __call__(self, x):
        return (x - self.a) ** 2


@dataclasses.dataclass(frozen=True)
class _FrozenQuadratic:  # hashable: the fix the message gives
    a: float

    def __call__(self, x):
        return (x - self.a) ** 2


@pytest.mark.parametrize("entry", ["sweep", "descend", "find_minima"])
def test_an_unhashable_f_is_refused_by_name_before_compiling(entry, compiles):
    # jit's "Non-hashable static arguments" named Rule(f=...) and the internals, not f.
    f = _Quadratic(2.0)
    calls = {
        "sweep": lambda: jaxgd.sweep(f, [1.0], 0.25, 1),
        "descend": lambda: jaxgd.descend(f, 1.0, 0.25, 1),
        "find_minima": lambda: jaxgd.find_minima(f, -5.0, 5.0),
    }
    with compiles, pytest.raises(TypeError, match=r"^f must be hashable.*frozen=True"):
        calls[entry]()
    assert compiles.count == 0
    assert float(jaxgd.descend(_FrozenQuadratic(2.0), 1.0, 0.25, 1)) == 1.5  # the fix works


def test_an_unhashable_f_is_refused_on_points_too_and_welcome_where_nothing_is_static(compiles):
    from jaxgd.derivative import check_derivative
    from jaxgd.minima_nd import find_minima_nd

    @dataclasses.dataclass
    class Bowl:
        a: float

        def __call__(self, p):
            return ((p - self.a) ** 2).sum()

    with compiles, pytest.raises(TypeError, match=r"^f must be hashable"):
        find_minima_nd(Bowl(1.0), [(-2.0, 2.0), (-2.0, 2.0)])
    assert compiles.count == 0
    # check_derivative closes over f: nothing static, so nothing to hash.
    assert check_derivative(_Quadratic(2.0), lambda x: 2 * (x - 2.0), -1.0, 1.0)


def test_jax_numpy_callables_are_not_mistaken_for_numpy():
    for f in (jnp.sin, functools.partial(jnp.multiply, 2.0), jax.jit(jnp.cos), _SlotsSin()):
        assert np.isfinite(float(jaxgd.descend(f, 0.5, 0.1, 3)))


# The sequence that crashed the interpreter (exit 139): JAX traced the ufunc, then again.
_CRASH_SCRIPT = """
import numpy as np, jaxgd
from tests.test_validate import _SlotsSin
for run in (
    lambda: jaxgd.descend(np.sin, 0.0, 0.1, 3),
    lambda: jaxgd.sweep(np.sin, [0.0], 0.1, 3),
    lambda: jaxgd.sweep(np.sin, [0.0], 0.1, 3),
    lambda: jaxgd.descend(np.vectorize(np.sin), 0.0, 0.1, 3),
):
    try:
        run()
    except TypeError as e:
        print("TypeError:", str(e).split(",")[0])
f = _SlotsSin()
for _ in range(2):
    x, res = jaxgd.descend(f, 0.5, 0.1, 3), jaxgd.sweep(f, 0.5, 0.1, 3)
    print("ok", float(x), float(res.final[0, 0, 0]))
"""


@pytest.mark.slow
def test_numpy_ufunc_twice_in_one_process_gives_errors_not_a_crash():
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH_SCRIPT],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["TypeError: f is the NumPy ufunc np.sin"] * 3, proc.stdout
    assert lines[3] == "TypeError: f is a np.vectorize function"
    assert len(lines) == 6 and lines[4] == lines[5] and lines[4].startswith("ok 0.")


# -- differentiability and exceptions inside f, in the same up-front trace ----------------------


def _while(x):
    return jax.lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * x), (0, x))[1]


def _fori_traced_bound(x):
    n = jnp.floor(jnp.abs(x)).astype(jnp.int32)
    return jax.lax.fori_loop(0, n, lambda _, y: y * x, x)


def _callback(x):
    return jax.pure_callback(np.sin, jax.ShapeDtypeStruct((), x.dtype), x)


def _io_callback(x):
    from jax.experimental import io_callback

    return io_callback(np.sin, jax.ShapeDtypeStruct((), x.dtype), x)


@pytest.mark.parametrize("f", [_while, _fori_traced_bound, _callback, _io_callback])
@pytest.mark.parametrize("entry", ["sweep", "descend"])
def test_not_differentiable_is_one_clear_error(f, entry, compiles):
    with compiles, pytest.raises(TypeError, match=r"^f cannot be differentiated by jax\.grad"):
        if entry == "sweep":
            jaxgd.sweep(f, **GOOD)
        else:
            jaxgd.descend(f, 0.0, 0.1, 10)
    assert compiles.count == 0


def _zero_division(x):
    return x * (1 / 0)


def _name_error(x):
    return undefined_name * x  # type: ignore[name-defined]  # noqa: F821


def _own_value_error(x):
    raise ValueError("f refuses")


def _index_error(x):
    return jnp.sin(x) + [][0]


@pytest.mark.parametrize(
    ("f", "original"),
    [
        (_zero_division, ZeroDivisionError),
        (_name_error, NameError),
        (_own_value_error, ValueError),
        (_index_error, IndexError),
        (lambda x: x + "a", TypeError),
    ],
)
@pytest.mark.parametrize("entry", ["sweep", "descend"])
def test_exception_inside_f_is_reported_as_a_problem_of_f(f, original, entry):
    with pytest.raises(TypeError, match=rf"^f raised {original.__name__} while being traced") as e:
        if entry == "sweep":
            jaxgd.sweep(f, **GOOD)
        else:
            jaxgd.descend(f, 0.0, 0.1, 10)
    assert isinstance(e.value.__cause__, original)


def test_math_module_on_x_is_named():
    with pytest.raises(TypeError, match=r"f needs the number inside x.*math\.sin"):
        jaxgd.descend(lambda x: math.sin(x), 0.0, 0.1, 10)


def test_a_good_function_is_traced_once_per_dtype(x64):
    calls = []

    def f(x):
        calls.append(x.dtype)
        return jnp.sin(x)

    for _ in range(3):
        check_function(f, np.dtype(np.float64))
    assert len(calls) == 1  # the gradient's trace runs f once
    check_function(f, np.dtype(np.float32))
    assert len(calls) == 2


def test_a_bad_function_is_checked_every_time():
    calls = []

    def f(x):
        calls.append(1)
        return jnp.stack([x, x])

    for _ in range(2):
        with pytest.raises(ValueError, match="f must return a scalar"):
            check_function(f, np.dtype(np.float32))
    assert len(calls) == 2  # per check: f's one trace, which the gradient and the message share


# -- every kind of argument value: works, or one error naming the argument ----------------------

VALID_AXES = {
    "python-float": (0.5, [0.5]),
    "python-int": (2, [2.0]),
    "negative-zero": (-0.0, [-0.0]),
    "list": ([0.5, 2], [0.5, 2.0]),
    "tuple": ((0.5, 2.0), [0.5, 2.0]),
    "range": (range(3), [0.0, 1.0, 2.0]),
    "numpy-scalar": (np.float32(0.5), [0.5]),
    "numpy-0d": (np.array(0.5), [0.5]),
    "jax-0d": (jnp.array(0.5), [0.5]),
    "float16": (np.array([0.5, 2], np.float16), [0.5, 2.0]),
    "bfloat16-jax": (jnp.array([0.5, 2], jnp.bfloat16), [0.5, 2.0]),
    "bfloat16-numpy": (np.array([0.5, 2], ml_dtypes.bfloat16), [0.5, 2.0]),
    "float8": (np.array([0.5, 2], ml_dtypes.float8_e4m3fn), [0.5, 2.0]),
    "int4": (np.array([1, 2], ml_dtypes.int4), [1.0, 2.0]),
    "uint8": (np.array([1, 2], np.uint8), [1.0, 2.0]),
    "longdouble": (np.array([0.5, 2], np.longdouble), [0.5, 2.0]),
    "jax-int": (jnp.array([1, 2]), [1.0, 2.0]),
    "numpy-scalars": ([np.float32(0.5), np.int16(2)], [0.5, 2.0]),
    "jax-scalars": ([jnp.array(0.5), jnp.array(2.0)], [0.5, 2.0]),
    "object-array": (np.array([0.5, 2], dtype=object), [0.5, 2.0]),
    "fraction": ([fractions.Fraction(1, 2), 2], [0.5, 2.0]),
    "unmasked": (np.ma.array([0.5, 2.0]), [0.5, 2.0]),
    "underflow": (1e-400, [0.0]),
}


@pytest.mark.parametrize(("value", "expected"), VALID_AXES.values(), ids=VALID_AXES.keys())
def test_every_real_numeric_kind_works_as_an_axis(value, expected):
    plain = jaxgd.sweep(F, expected, expected, [0, 3])
    for kw in ({"starts": value}, {"learning_rates": value}):
        res = jaxgd.sweep(
            F, **{"starts": expected, "learning_rates": expected, **kw}, epochs=[0, 3]
        )
        np.testing.assert_array_equal(res.starts, np.float32(expected))
        np.testing.assert_array_equal(res.learning_rates, np.float32(expected))
        np.testing.assert_array_equal(res.final, plain.final)


SCALARS = [k for k, (v, _) in VALID_AXES.items() if np.ndim(v) == 0]


@pytest.mark.parametrize("kind", SCALARS)
def test_every_real_numeric_scalar_works_in_descend(kind):
    value, (expected,) = VALID_AXES[kind]
    plain = jaxgd.descend(F, expected, 0.25, 7)
    assert jaxgd.descend(F, value, 0.25, 7) == plain
    assert jaxgd.descend(F, 0.5, value, 7) == jaxgd.descend(F, 0.5, expected, 7)


INVALID_AXES = {
    "none": (None, TypeError, r"got NoneType None"),
    "none-inside": ([0.5, None], TypeError, r"entry 1 is None"),
    "string": ("0.5", TypeError, r"got str '0\.5'; convert text first, e\.g\. float\(text\)"),
    "bytes": (b"1", TypeError, r"got bytes"),
    # Buffers of bytes read as their byte values: memoryview(b"a") ran from x = 97.
    "bytearray": (bytearray(b"a"), TypeError, r"got bytearray"),
    "memoryview": (memoryview(b"a"), TypeError, r"got memoryview"),
    "string-array": (np.array(["0.5"]), TypeError, r"strings \(<U3\)"),
    "dict": ({"a": 1.0}, TypeError, r"got dict"),
    "set": ({0.5}, TypeError, r"got set"),
    "generator": ((v for v in [1.0]), TypeError, r"got generator"),
    "object": (object(), TypeError, r"got object"),
    "decimal": ([decimal.Decimal("0.5")], TypeError, r"entry 0 is Decimal"),
    "bool": (True, TypeError, r"booleans"),
    "bool-array": (np.array([True, False]), TypeError, r"booleans"),
    "complex": (np.array([1 + 0j]), TypeError, r"must be real; got complex128"),
    "datetime": (np.array(["2020-01-01"], "datetime64[D]"), TypeError, r"dates or durations"),
    "timedelta": (np.array([1], "timedelta64[s]"), TypeError, r"dates or durations"),
    "structured": (np.zeros(2, dtype=[("a", float)]), TypeError, r"got an array of"),
    "prng-key": (jax.random.key(0), TypeError, r"PRNG keys"),
    "ragged": ([[0.5], 1.0], ValueError, r"nested sequence of uneven lengths"),
    "ragged-rows": ([[0.5, 1.0], [2.0]], ValueError, r"nested sequence of uneven lengths"),
    # 2-D starts are points of R^d: refused here because F is a function of a scalar.
    "2-d": (
        [[0.5, 1.0]],
        ValueError,
        r"(a scalar or a 1-D array; got shape \(1, 2\)|has shape \(1, 2\): 1 point of R\^2.*1-D)",
    ),
    "empty": ([], ValueError, r"is empty"),
    "nan": ([0.5, np.nan], ValueError, r"must be finite; entry 1 is nan"),
    "inf": (float("inf"), ValueError, r"must be finite"),
    "float32-overflow": (1e39, ValueError, r"too large for float32.*enable x64"),
    "huge-int": (10**40, ValueError, r"too large for float32"),
    "int-beyond-float64": (10**400, ValueError, r"too large for any float"),
    "masked": (np.ma.array([0.5, 1.0], mask=[0, 1]), ValueError, r"masked entries"),
}


@pytest.mark.parametrize(("value", "exc", "match"), INVALID_AXES.values(), ids=INVALID_AXES.keys())
@pytest.mark.parametrize("name", ["starts", "learning_rates"])
def test_every_bad_axis_kind_names_the_argument(name, value, exc, match, compiles):
    with compiles, pytest.raises(exc, match=rf"^{name} .*{match}"):
        _sweep(**{name: value})
    assert compiles.count == 0


@pytest.mark.parametrize(
    ("value", "exc", "match"),
    [v for k, v in INVALID_AXES.items() if k not in ("2-d", "empty")],
    ids=[k for k in INVALID_AXES if k not in ("2-d", "empty")],
)
@pytest.mark.parametrize("position", [1, 2])
def test_every_bad_scalar_kind_names_the_argument(position, value, exc, match):
    name = ("x0", "learning_rate")[position - 1]
    args = [F, 0.5, 0.1, 10]
    args[position] = value
    if isinstance(value, list):
        match += "|must be a scalar; got shape"  # refused for its length, or its content
    with pytest.raises(exc, match=rf"^{name} .*(?:{match})"):
        jaxgd.descend(*args)


@pytest.mark.parametrize("name", ["x0", "learning_rate"])
def test_descend_refuses_several_values(name):
    kw = {"x0": 0.5, "learning_rate": 0.1, name: [0.5, 0.25]}
    said = (  # for x0, a point of R^2 to an f of scalars: both readings are named
        r"x0 has shape \(2,\), one point of R\^2.*pass one number as x0"
        if name == "x0"
        else r"learning_rate must be a scalar; got shape \(2,\)"
    )
    with pytest.raises(ValueError, match=rf"^{said}"):
        jaxgd.descend(F, kw["x0"], kw["learning_rate"], 10)


VALID_EPOCHS = {
    "int": (3, [3]),
    "list": ([0, 3], [0, 3]),
    "tuple": ((3, 0), [3, 0]),
    "float": (3.0, [3]),
    "negative-zero": (-0.0, [0]),
    "int8": (np.array([0, 3], np.int8), [0, 3]),
    "uint64": (np.uint64(3), [3]),
    "int4": (np.array([0, 3], ml_dtypes.int4), [0, 3]),
    "float32": (np.array([0.0, 3.0], np.float32), [0, 3]),
    "bfloat16": (jnp.array([0, 3], jnp.bfloat16), [0, 3]),
    "float16": (np.array([10, 20], np.float16), [10, 20]),  # cannot hold the bound, 10**9
    "jax-int": (jnp.array([0, 3]), [0, 3]),
    "numpy-0d": (np.array(3), [3]),
    "object-array": (np.array([3, 0], dtype=object), [3, 0]),
    "numpy-scalars": ([np.int64(3), np.float32(0.0)], [3, 0]),
}


@pytest.mark.parametrize(("value", "expected"), VALID_EPOCHS.values(), ids=VALID_EPOCHS.keys())
def test_every_whole_number_kind_works_as_epochs(value, expected):
    res = jaxgd.sweep(F, [0.5], [0.25], value)
    np.testing.assert_array_equal(res.epochs, expected)
    np.testing.assert_array_equal(res.final, jaxgd.sweep(F, [0.5], [0.25], expected).final)
    if np.ndim(value) == 0:
        assert jaxgd.descend(F, 0.5, 0.25, value) == jaxgd.descend(F, 0.5, 0.25, expected[0])


def test_the_largest_epoch_count_is_accepted():
    np.testing.assert_array_equal(as_epochs("epochs", [0, MAX_EPOCHS]), [0, MAX_EPOCHS])


INVALID_EPOCHS = {
    "fraction": (2.5, ValueError, r"whole numbers; got 2\.5|whole numbers; entry 0 is 2\.5"),
    "negative": (-1, ValueError, r"must be >= 0; got -1\."),
    "negative-entry": ([10, -1], ValueError, r"must be >= 0; entry 1 is -1\."),
    "one-too-many": (10**9 + 1, ValueError, r"at most 1000000000 \(10\*\*9\); got 1000000001\."),
    "float-too-many": (
        [1e12],
        ValueError,
        r"at most 1000000000 \(10\*\*9\); entry 0 is 1000000000000\.",
    ),
    "huge-int": (10**29, ValueError, r"at most 1000000000 \(10\*\*9\); got 1" + "0" * 29 + r"\."),
    # int(1e308), as the command line reads --epochs 1e308: 309 digits were printed.
    "huger-int": (int(1e308), ValueError, r"; got 1\.000\.\.\.e\+308\. That many"),
    "huger-negative": (-(10**40), ValueError, r"must be >= 0; got -1\.000\.\.\.e\+40\."),
    "uint64-max": (np.uint64(2**64 - 1), ValueError, r"got 18446744073709551615\."),
    "nan": (float("nan"), ValueError, r"must be finite"),
    "bool": (True, TypeError, r"booleans"),
    "string": ("3", TypeError, r"got str '3'; convert text first, e\.g\. int\(text\)"),
    "none": (None, TypeError, r"got NoneType"),
    "none-inside": ([3, None], TypeError, r"entry 1 is None"),
    "timedelta": (np.array([3], "timedelta64[s]"), TypeError, r"dates or durations"),
    "complex": (3 + 0j, TypeError, r"must be real"),
    "ragged": ([[3], 4], ValueError, r"nested sequence of uneven lengths"),
}


@pytest.mark.parametrize(
    ("value", "exc", "match"), INVALID_EPOCHS.values(), ids=INVALID_EPOCHS.keys()
)
@pytest.mark.parametrize("entry", ["sweep", "descend"])
def test_every_bad_epochs_kind_names_the_argument(entry, value, exc, match, compiles):
    if entry == "descend" and isinstance(value, list):
        match += "|one count here"  # a list is refused for its length first, or its content
    with compiles, pytest.raises(exc, match=rf"^epochs .*(?:{match})"):
        if entry == "sweep":
            _sweep(epochs=value)
        else:
            jaxgd.descend(F, 0.5, 0.1, value)
    assert compiles.count == 0


def test_descend_takes_one_epoch_count():
    with pytest.raises(
        ValueError, match=r"^epochs must be one count here; got shape \(2,\).*sweep"
    ):
        jaxgd.descend(F, 1.0, 0.1, [3, 4])


def test_values_below_float32_resolution_round_to_zero():
    # 1e-50 is below float32's smallest subnormal: the rate is 0, as any cast would make it.
    assert float(jaxgd.descend(F, 0.7, 1e-50, 5)) == np.float32(0.7)
    res = jaxgd.sweep(F, [1e-50, 0.7], [1e-50], [5])
    np.testing.assert_array_equal(res.learning_rates, [0.0])
    np.testing.assert_array_equal(res.final[:, 0, 0], np.float32([0.0, 0.7]))


def test_huge_python_int_start_works_in_float64(x64):
    res = jaxgd.sweep(F, [10**40], 0.1, 3)
    assert res.starts[0] == 1e40 and res.final[0, 0, 0] == 1e40  # f is flat out there


def test_a_list_holding_traced_values_inside_jit():
    run = jax.jit(lambda s: jaxgd.sweep(F, [s, 1.0], 0.1, [0, 3]).final)
    out = run(0.5)
    np.testing.assert_array_equal(out, jaxgd.sweep(F, [0.5, 1.0], 0.1, [0, 3]).final)


def _bowl(p):
    return jnp.sum((p - 1.0) ** 2)


def test_points_of_traced_values_inside_jit():
    # [[s, 2.0]] was no array (np.shape of a tracer) nor one JAX could read at one level:
    # the points were refused as values "which cannot be read as an array", or taken for a
    # scalar start; rows of uneven lengths raised JAX's TracerArrayConversionError.
    run = jax.jit(lambda s: jaxgd.sweep(_bowl, [[s, 2.0], [0.0, s]], 0.1, 3).final)
    np.testing.assert_array_equal(
        run(0.5), jaxgd.sweep(_bowl, [[0.5, 2.0], [0.0, 0.5]], 0.1, 3).final
    )
    with pytest.raises(ValueError, match=r"^starts must be .*uneven lengths"):
        jax.jit(lambda s: jaxgd.sweep(_bowl, [[s, 2.0], [s]], 0.1, 3).final)(0.5)
    with pytest.raises(TypeError, match=r"^starts must hold numbers; entry \[0\]\[1\] is True"):
        jax.jit(lambda s: jaxgd.sweep(_bowl, [[s, True]], 0.1, 3).final)(0.5)


def test_trajectory_that_cannot_fit_is_a_memory_error(monkeypatch, compiles):
    module = importlib.import_module("jaxgd.descend")
    monkeypatch.setattr(module, "available_host_memory", lambda: 4000)
    with (
        compiles,
        pytest.raises(
            MemoryError, match=r"epochs=1000 needs .*1001 positions of.*trajectory=False"
        ),
    ):
        jaxgd.descend(F, 0.0, 0.1, 1000, trajectory=True)
    assert compiles.count == 0
    assert jaxgd.descend(F, 0.0, 0.1, 990, trajectory=True).shape == (991,)


@pytest.mark.parametrize("bad", [[1.0, True], (0, False), [np.bool_(True), 2.0]])
def test_a_bool_inside_a_list_is_refused_as_one_alone_is(bad):
    # NumPy would read [1.0, True] as [1.0, 1.0].
    with pytest.raises(TypeError, match=r"starts must be .*entry \d is .*a bool"):
        jaxgd.sweep(lambda x: x**2, bad, 0.1, 3)
    with pytest.raises(TypeError, match=r"epochs must be .*a bool"):
        jaxgd.sweep(
            lambda x: x**2, 1.0, 0.1, [3, *(v for v in bad if isinstance(v, bool | np.bool_))]
        )


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ([[True, 2.0]], r"\[0\]\[0\] is True"),
        (((1.0, 2.0), (3.0, np.bool_(False))), r"\[1\]\[1\] is np.False_"),
        ([np.array([True, False]), np.array([1.0, 2.0])], r"0 holds booleans"),
        ([jnp.array([1.0, 2.0]), jnp.array([True, False])], r"1 holds booleans"),
    ],
    ids=["list", "tuple", "array", "jax-array"],
)
def test_a_bool_among_the_coordinates_of_points_is_refused(bad, where, compiles):
    # NumPy reads [[True, 2.0]] as [[1.0, 2.0]]: points of R^d take the bool, as a list of
    # scalar starts does not.
    with (
        compiles,
        pytest.raises(TypeError, match=rf"^starts must hold numbers; entry {where}.*1 rather"),
    ):
        jaxgd.sweep(lambda p: p[0] ** 2 + p[1] ** 2, bad, 0.1, 3)
    assert compiles.count == 0


def test_a_bool_in_a_point_is_not_told_to_flatten_the_points():
    # (S, d) points are a valid shape: the message must not ask for "a 1-D list" of numbers.
    with pytest.raises(TypeError) as err:
        jaxgd.sweep(lambda p: p[0] ** 2 + p[1] ** 2, [[1.0, 2.0], [True, 2.0]], 0.1, 3)
    assert "1-D" not in str(err.value)
    assert str(err.value).startswith("starts must hold numbers; entry [1][0] is True, a bool.")
    # In a flat list the wanted shape is still named.
    with pytest.raises(TypeError, match=r"^starts must be a number or a 1-D list.*entry 1 is"):
        jaxgd.sweep(lambda x: x**2, [1.0, True], 0.1, 3)


def test_lists_of_plain_numbers_are_looked_for_bools_by_type_not_entry_by_entry(monkeypatch):
    # One Python step per entry made reading a list of 200 000 points of R^2 twice as slow.
    from jaxgd import _validate

    def entry_by_entry(value):
        raise AssertionError("searched entry by entry")

    monkeypatch.setattr(_validate, "_search_bool", entry_by_entry)
    points = [[float(i), np.float32(i)] for i in range(1000)]
    assert _validate._read("starts", points, whole=False).shape == (1000, 2)
    assert _validate._read("starts", (1, 2.0, np.int64(3)), whole=False).shape == (3,)


@pytest.mark.parametrize("bad", ["no", 0, 1, "False", [True]])
def test_progress_is_none_true_or_false(bad):
    with pytest.raises(TypeError, match="progress must be None, True or False"):
        jaxgd.sweep(lambda x: x**2, 1.0, 0.1, 3, progress=bad)


# -- constant indices past the end of x: JAX clamps them, so they are refused up front ------
@jax.jit
def _third(p):
    return p[2]


@jax.custom_jvp
def _fourth(p):
    return p[3]


_fourth.defjvp(lambda primals, tangents: (_fourth(*primals), tangents[0][0]))

_READS_PAST = {
    "p[2]": lambda p: p[0] ** 2 + p[1] ** 2 + p[2] ** 2,
    "p[-3]": lambda p: p[-3] ** 2,
    "p[array]": lambda p: jnp.sum(p[jnp.array([0, 2])] ** 2),
    "jit inside f": lambda p: _third(p) ** 2 + p[0] ** 2,
    "custom_jvp": lambda p: _fourth(p) ** 2,
    "p[:, 2] of a matrix": lambda p: jnp.sum(p.reshape(1, 2)[0, 2] ** 2),
    "in a cond branch": lambda p: jax.lax.cond(p[0] > 0, lambda q: q[2], lambda q: q[0], p) ** 2,
    "in a switch branch": lambda p: jax.lax.switch(0, [lambda q: q[0], lambda q: q[2]], p) ** 2,
    "in a fori_loop body": lambda p: jax.lax.fori_loop(0, 3, lambda i, c: c + p[2] ** 2, 0.0),
    "in a scan body": lambda p: jax.lax.scan(
        lambda c, _: (c + p[2] ** 2, None), 0.0, None, length=3
    )[0],
    "checkpoint": jax.checkpoint(lambda p: p[2] ** 2 + p[0] ** 2),
    # vmap turns p[i] into a clipping gather: it read p[1] twice, silently.
    "vmap of p[i]": lambda p: jnp.sum(jax.vmap(lambda i: p[i])(jnp.arange(3)) ** 2),
    "vmap of dynamic_slice": lambda p: jnp.sum(
        jax.vmap(lambda i: jax.lax.dynamic_slice(p, (i,), (1,)))(jnp.array([0, 2])) ** 2
    ),
}
_READS_WITHIN = {
    "p[-1]": lambda p: p[-1] ** 2 + p[0] ** 2,
    "unpacked": lambda p: (lambda a, b: a**2 + b**2)(*p),
    "clip": lambda p: jnp.take(p, 5, mode="clip") ** 2,
    "clip, an array": lambda p: jnp.sum(jnp.take(p, jnp.array([0, 5]), mode="clip") ** 2),
    "vmap of p[i]": lambda p: jnp.sum(jax.vmap(lambda i: p[i])(jnp.arange(2)) ** 2),
    "fill": lambda p: p.at[3].get(mode="fill", fill_value=0.0) + p[0] ** 2,
    "loop index": lambda p: jax.lax.fori_loop(0, 2, lambda i, c: c + p[i] ** 2, 0.0),
    "scan": lambda p: jax.lax.scan(lambda c, i: (c + p[i] ** 2, None), 0.0, jnp.arange(2))[0],
    "index from x": lambda p: p[(p[0] > 0).astype(jnp.int32)] ** 2,
    "slice past the end": lambda p: jnp.sum(p[1:5] ** 2) + p[0] ** 2,
    "cond branches": lambda p: jax.lax.cond(p[0] > 0, lambda q: q[1], lambda q: q[0], p) ** 2,
    "scan over p": lambda p: jax.lax.scan(lambda c, x: (c + x**2, None), 0.0, p)[0],
    "checkpoint": jax.checkpoint(lambda p: p[1] ** 2 + p[0] ** 2),
}


@pytest.mark.parametrize("f", _READS_PAST.values(), ids=_READS_PAST.keys())
def test_function_reading_past_a_points_end_is_refused_before_compiling(f, compiles):
    starts = np.array([[1.0, 2.0], [0.5, -1.0]])
    with compiles, pytest.raises(ValueError, match=r"^f reads past the end of an array: .*\(2,\)"):
        jaxgd.sweep(f, starts, 0.1, 10)
    assert compiles.count == 0
    with pytest.raises(ValueError, match="JAX clamps such an index"):
        jaxgd.descend(f, jnp.ones(2), 0.1, 10)


@pytest.mark.parametrize("f", _READS_WITHIN.values(), ids=_READS_WITHIN.keys())
def test_indices_within_bounds_or_asked_to_clip_are_not_refused(f):
    res = jaxgd.sweep(f, np.array([[1.0, 2.0], [0.5, -1.0]]), 0.1, [0, 10])
    np.testing.assert_array_equal(res.final[:, 0, 0], [[1.0, 2.0], [0.5, -1.0]])


def test_theta_read_past_its_end_is_refused_and_within_is_not():
    with pytest.raises(ValueError, match=r"theta of shape \(2,\), it reads index 3 of an array"):
        jaxgd.sweep(lambda x, th: (x - th[3]) ** 2, [0.0, 1.0], 0.1, 10, params=np.zeros((5, 2)))
    res = jaxgd.sweep(lambda x, th: (x - th[1]) ** 2, [0.0], 0.5, 1, params=np.ones((3, 2)))
    np.testing.assert_array_equal(res.final[:, 0, 0, 0], 1.0)


def test_starts_of_three_dimensions_are_named_as_points_not_flattened():
    with pytest.raises(ValueError, match=r"^starts must be .* \(S, d\) points .*\(3, 2, 1\)"):
        jaxgd.sweep(lambda p: (p**2).sum(), np.ones((3, 2, 1)), 0.1, 10)


def test_a_library_function_record_is_pointed_to_its_function():
    record = jaxgd.functions.get("notebook")
    with pytest.raises(TypeError, match=r"got Function1D\. .*get\('notebook'\)\.f"):
        jaxgd.sweep(record, 0.0, 0.1, 10)
    assert jaxgd.sweep(record.f, 0.0, 0.1, 10).final.shape == (1, 1, 1)


INTEGER_LIKE = [
    3,
    np.int8(3),
    np.uint64(3),
    np.array(3),
    np.array(3, np.uint16),
    jnp.array(3),
    jnp.array(3, jnp.uint8),
]
NOT_INTEGERS = [
    True,
    np.True_,
    np.array(True),
    jnp.array(True),
    3.0,
    np.float32(3),
    np.array(3.0),
    jnp.array(3.0),
    np.array([3]),
    jnp.array([3]),
    "3",
    None,
    fractions.Fraction(3),
]


@pytest.mark.parametrize("value", INTEGER_LIKE, ids=repr)
def test_every_integer_like_is_a_whole_number(value):
    # A 0-d integer array (NumPy or JAX) was refused as "must be an int".
    assert _validate.whole_number(value) == 3
    assert _validate.check_int("n", value, 1, fix="x") == 3
    assert type(_validate.check_int("n", value, 1, fix="x")) is int
    assert _chunking.check_positive_int("chunk_size", value) == 3


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
def test_bools_floats_and_shaped_arrays_are_not_whole_numbers(value):
    assert _validate.whole_number(value) is None
    with pytest.raises(TypeError, match=r"^n must be an int, got "):
        _validate.check_int("n", value, 1, fix="x")
    with pytest.raises(TypeError, match=r"^chunk_size must be a positive int or None"):
        _chunking.check_positive_int("chunk_size", value)


def test_a_traced_count_is_not_a_whole_number():
    seen = []
    jax.jit(lambda n: seen.append(_validate.whole_number(n)) or n)(3)
    assert seen == [None]


def test_integer_like_counts_reach_the_public_calls():
    args = (jnp.cos, jax.random.key(0), [0.1], [10])
    res = jaxgd.random_starts(*args, n=jnp.array(4), domain=(0.0, 3.0))
    plain = jaxgd.random_starts(*args, n=4, domain=(0.0, 3.0))
    np.testing.assert_array_equal(res.success, plain.success)
    np.testing.assert_array_equal(res.spread, plain.spread)
    a = jaxgd.sweep(jnp.cos, [0.5, 1.0], [0.1], [10], chunk_size=np.array(1))
    np.testing.assert_array_equal(a.final, jaxgd.sweep(jnp.cos, [0.5, 1.0], [0.1], [10]).final)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        jaxgd.random_starts(*args, n=np.array(0), domain=(0.0, 3.0))


def test_a_function_checked_under_one_promotion_setting_is_checked_again_under_another():
    # f passed under standard promotion was remembered, and under
    # jax.numpy_dtype_promotion("strict") JAX's bare TypePromotionError came from inside the
    # compiled sweep's trace instead of the error naming f.
    def f(x):
        return (x - jnp.arange(3)[1]) ** 2

    jaxgd.sweep(f, [0.0, 2.0], 0.1, 10)
    with jax.numpy_dtype_promotion("strict"), pytest.raises(TypeError, match=r"^f raised"):
        jaxgd.sweep(f, [0.0, 2.0], 0.1, 10)


def test_a_function_checked_under_one_rank_promotion_setting_is_checked_again_under_another():
    # f passed with rank promotion allowed was remembered, and under
    # jax.numpy_rank_promotion("raise") JAX's bare ValueError came from inside the compiled
    # sweep's trace, where a fresh process refused f by name.
    def f(x):
        return jnp.sum((x + jnp.zeros((1, 2))) ** 2)

    jaxgd.sweep(f, np.ones((2, 2)), 0.1, 3)
    with jax.numpy_rank_promotion("raise"), pytest.raises(TypeError, match=r"f raised"):
        jaxgd.sweep(f, np.ones((2, 2)), 0.1, 3)


@pytest.mark.parametrize("kind", [ml_dtypes.bfloat16, np.float16, np.float32, np.int8])
def test_numbers_of_every_numpy_scalar_type_are_real_numbers(kind):
    # A bfloat16 scalar is no numbers.Real: lo, domain and tol refused it as "not a real
    # number" while descend and sweep took it, and a 0-d bfloat16 array passed.
    m = jaxgd.minima.find_minima(jnp.cos, kind(0), kind(6), num=101)
    np.testing.assert_allclose(np.asarray(m.x), [np.pi], rtol=1e-6)
    assert _validate.finite_float("tol", kind(2)) == 2.0
    rs = jaxgd.random_starts(jnp.cos, jax.random.key(0), 0.1, [3], n=2, domain=(kind(0), kind(6)))
    assert rs.success.shape == (1, 1)
    with pytest.raises(TypeError, match="tol must be a real number, got bool"):
        _validate.finite_float("tol", np.bool_(True))
