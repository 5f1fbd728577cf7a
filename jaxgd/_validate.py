"""Checks at the Python boundary, run on concrete values before anything is traced or compiled.

Every error names the argument and says how to fix it. Inside a caller's own ``jit`` the
values are tracers: shape and dtype checks still run, checks that need the numbers are skipped.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

#: Largest epoch count accepted. Counts are int32 on device, and 10**9 steps of one run is
#: already minutes of work: a larger count is almost always a typo (e.g. 1e10 for 1e3).
MAX_EPOCHS = 10**9


def default_float() -> np.dtype:
    """float32, or float64 when ``jax_enable_x64`` is on."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))


def default_int() -> np.dtype:
    return np.dtype(jax.dtypes.canonicalize_dtype(np.int64))


def is_concrete(x: Any) -> bool:
    """True when the numbers of ``x`` can be read now (not a tracer inside jit/vmap/grad)."""
    return not isinstance(x, jax.core.Tracer)


def _shape_of(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _describe(x: Any) -> str:
    return f"shape {_shape_of(x)}"


def check_function(f: Callable, dtype: np.dtype, *, name: str = "f") -> None:
    """Trace ``f`` once on an abstract scalar and check it returns a real floating scalar.

    Tracing compiles nothing; it turns the usual mistakes into errors that say what to do.
    """
    if not callable(f):
        raise TypeError(
            f"{name} must be a callable f(x) -> scalar; got {type(f).__name__}. "
            "Pass a function such as `lambda x: jnp.sin(x)`."
        )
    spec = jax.ShapeDtypeStruct((), dtype)
    try:
        out = jax.eval_shape(f, spec)
    except jax.errors.TracerArrayConversionError as e:
        raise TypeError(
            f"{name} calls NumPy on its argument, which JAX cannot differentiate: "
            "write it with jax.numpy (`import jax.numpy as jnp`; jnp.sin, jnp.exp, ...) "
            "instead of numpy."
        ) from e
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerBoolConversionError) as e:
        raise TypeError(
            f"{name} branches on the value of x with Python `if`/`while`/`bool()`, which JAX "
            "cannot trace: use jnp.where(cond, a, b) or jax.lax.cond instead."
        ) from e
    except jax.errors.TracerIntegerConversionError as e:
        raise TypeError(
            f"{name} converts x to a Python int or index (int(x), range(x), a[x]); "
            "keep x a float and use jax.numpy operations on it."
        ) from e
    except TypeError as e:
        raise TypeError(
            f"{name} must be callable as f(x) on one scalar x; calling it failed: {e}"
        ) from e
    if not isinstance(out, jax.ShapeDtypeStruct):
        raise TypeError(
            f"{name} must return one scalar array; it returned {type(out).__name__}. "
            "Return a single value, e.g. `return jnp.sin(x)`."
        )
    if out.shape != ():
        hint = (
            " A shape (1,) output usually means a length-1 array slipped in "
            "(e.g. a start made with np.random.choice(x, 1)); index it with [0] or sum it."
            if out.shape == (1,)
            else " Reduce it to a scalar (e.g. jnp.sum) or index one element."
        )
        raise ValueError(
            f"{name} must return a scalar for a scalar x; it returned shape {out.shape}.{hint}"
        )
    if jnp.issubdtype(out.dtype, jnp.complexfloating):
        raise TypeError(
            f"{name} returns complex values ({out.dtype}); gradient descent needs a real f. "
            "Return the real part or the absolute value (jnp.real, jnp.abs)."
        )
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise TypeError(
            f"{name} returns {out.dtype} values; gradient descent needs a floating-point f. "
            "Avoid integer-only operations (//, %, astype(int)) on x."
        )


def as_float_axis(name: str, value: Any, dtype: np.dtype, *, nonnegative: bool = False) -> Any:
    """A scalar or 1-D axis as a 1-D float array of ``dtype``; values checked when concrete."""
    shape = _shape_of(value)
    if len(shape) > 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D array; got {_describe(value)}. "
            f"Flatten it with np.ravel({name}) if every entry is a value to sweep."
        )
    if not is_concrete(value):
        if jnp.issubdtype(value.dtype, jnp.complexfloating):
            raise TypeError(f"{name} must be real; got {value.dtype}. Pass real values.")
        return jnp.reshape(value, (-1,)).astype(dtype)
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.bool_)
    ):
        if np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must be real; got {arr.dtype}. Pass real values.")
        raise TypeError(f"{name} must be numbers; got an array of {arr.dtype}.")
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value (an axis of length >= 1).")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} must be finite; entry {int(np.argmax(bad))} is {arr[bad][0]}. "
            "Remove NaN/inf values (np.isfinite can find them)."
        )
    if nonnegative and (arr < 0).any():
        raise ValueError(
            f"{name} must be >= 0; entry {int(np.argmax(arr < 0))} is {arr[arr < 0][0]}. "
            "Use a non-negative rate (to maximise f, descend -f)."
        )
    with np.errstate(over="ignore"):
        cast = arr.astype(dtype)
    if not np.isfinite(cast).all():
        raise ValueError(
            f"{name} has values too large for {dtype} (max {np.finfo(dtype).max:.3g}); "
            "use smaller values or enable x64."
        )
    return cast


def as_epochs(name: str, value: Any) -> Any:
    """A scalar or 1-D axis of non-negative whole epoch counts, as integers."""
    shape = _shape_of(value)
    if len(shape) > 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D array of counts; got {_describe(value)}. "
            f"Flatten it with np.ravel({name})."
        )
    int_dtype = default_int()
    if not is_concrete(value):
        if not (
            jnp.issubdtype(value.dtype, jnp.integer) or jnp.issubdtype(value.dtype, jnp.floating)
        ):
            raise TypeError(f"{name} must be whole numbers; got {value.dtype}.")
        return jnp.reshape(value, (-1,)).astype(int_dtype)
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} must be whole numbers (ints, or floats such as np.round(...)); "
            f"got {arr.dtype}."
        )
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one epoch count.")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError(
                f"{name} must be finite whole counts; got {arr[~np.isfinite(arr)][0]}. "
                "Remove NaN/inf entries."
            )
        frac = arr != np.round(arr)
        if frac.any():
            raise ValueError(
                f"{name} must be whole numbers; entry {int(np.argmax(frac))} is {arr[frac][0]}. "
                f"Round them first, e.g. np.round({name})."
            )
    if (arr < 0).any():
        raise ValueError(
            f"{name} must be >= 0; entry {int(np.argmax(arr < 0))} is {arr[arr < 0][0]}. "
            "An epoch count is how many steps to take (0 means the start itself)."
        )
    if (arr > MAX_EPOCHS).any():
        raise ValueError(
            f"{name} must be at most {MAX_EPOCHS:.0e}; got {arr.max():.3g}. "
            "That many steps would run for hours; check the value (1e10 for 1e3?)."
        )
    return arr.astype(int_dtype)


# -- scalar arguments of the analysis functions ----------------------------------------------
# These need concrete Python numbers: they decide grid sizes and interval ends on the host.


def finite_float(name: str, value: Any) -> float:
    """A concrete, finite, real scalar as a Python float."""
    if not is_concrete(value):
        raise TypeError(
            f"{name} must be a concrete number, got a traced value; call this function "
            "outside jax.jit / jax.vmap, or close over the value instead of passing it in"
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | jax.Array):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.shape != () or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(
            f"{name} must be a real scalar, got shape {arr.shape} of {arr.dtype}; pass one number"
        )
    out = float(arr)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


def positive_float(name: str, value: Any, *, example: str) -> float:
    """A finite scalar > 0 (a tolerance); ``example`` is a sensible value to suggest."""
    out = finite_float(name, value)
    if not out > 0:
        raise ValueError(f"{name} must be positive, got {out}; use e.g. {example}")
    return out


def nonnegative_float(name: str, value: Any) -> float:
    """A finite scalar >= 0."""
    out = finite_float(name, value)
    if out < 0:
        raise ValueError(f"{name} must be >= 0, got {out}; use 0 to switch it off")
    return out


def check_int(name: str, value: Any, minimum: int, *, fix: str) -> int:
    """A Python or NumPy integer (not a bool, not a float) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}; pass e.g. {minimum}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}; {fix}")
    return int(value)


def check_interval(lo: Any, hi: Any, *, name: str | None = None) -> tuple[float, float]:
    """Finite ends with ``lo < hi``, as floats.

    With ``name`` the two ends are reported as ``name[0]`` and ``name[1]`` (for an argument
    such as ``domain=(lo, hi)``); without it as ``lo`` and ``hi``.
    """
    lo_name, hi_name = ("lo", "hi") if name is None else (f"{name}[0]", f"{name}[1]")
    lo_f, hi_f = finite_float(lo_name, lo), finite_float(hi_name, hi)
    if not lo_f < hi_f:
        what = "lo must be below hi" if name is None else f"{name} must be (lo, hi) with lo < hi"
        raise ValueError(f"{what}, got lo={lo_f} and hi={hi_f}; swap them")
    return lo_f, hi_f


def as_domain(name: str, value: Any) -> tuple[float, float]:
    """An interval given as one ``(lo, hi)`` pair, finite with ``lo < hi``."""
    pair = len(value) == 2 if isinstance(value, tuple | list) else _shape_of(value) == (2,)
    if isinstance(value, str) or not pair:
        raise TypeError(
            f"{name} must be a pair (lo, hi), got {type(value).__name__} {value!r}; pass e.g. "
            f"{name}=(-6.28, 6.28), or a library function's jaxgd.functions.get(NAME).domain"
        )
    lo, hi = value
    return check_interval(lo, hi, name=name)


def as_key(name: str, value: Any) -> jax.Array:
    """One PRNG key as a typed key array; a legacy ``jax.random.PRNGKey`` is wrapped.

    Wrapping gives both kinds of key the same abstract type, so they share compiled code.
    """
    dtype = getattr(value, "dtype", None)
    shape = _shape_of(value)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        if shape != ():
            raise ValueError(
                f"{name} must be a single key, got a batch of keys of shape {shape}; "
                f"pass one, e.g. {name}[0]"
            )
        return value
    if dtype is not None and np.dtype(dtype) == np.uint32 and len(shape) == 1:
        try:
            return jax.random.wrap_key_data(value)
        except TypeError as e:
            raise ValueError(
                f"{name} looks like raw key data of shape {shape}, which is not a key of the "
                f"default PRNG; make it with jax.random.key(seed) or jax.random.PRNGKey(seed)"
            ) from e
    what = type(value).__name__ if dtype is None else f"{type(value).__name__} of {dtype}"
    raise TypeError(
        f"{name} must be a JAX PRNG key, got {what} of shape {shape}; "
        f"make one with jax.random.key(seed), e.g. {name}=jax.random.key(0)"
    )
