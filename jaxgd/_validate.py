"""Checks at the Python boundary, run on concrete values before anything is traced or compiled.

Every error names the argument and says how to fix it. Inside a caller's own ``jit`` the
values are tracers: shape and dtype checks still run, checks that need the numbers are skipped.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import math
import numbers
import operator
import types
import weakref
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


def holds_tracer(x: Any) -> bool:
    """True when ``x`` is traced or a pytree (a list, tuple, dict, ...) holding a traced value:
    positions gathered inside a caller's ``jit`` (``[x0, x1]`` of traced numbers), which NumPy
    cannot hold."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def in_trace() -> bool:
    """True while a JAX transformation (jit, vmap, grad, ...) is being traced here.

    Then even concrete arguments give traced results: an f that closes over a traced value,
    or any call under a caller's ``jit``, so the host-side path (NumPy results, calls driven
    from Python) cannot run.
    """
    if _trace_state_clean is None:  # whether a fresh array is a tracer says the same
        return isinstance(jax.numpy.zeros(()), jax.core.Tracer)
    return not _trace_state_clean()


try:
    from jax._src.core import trace_state_clean as _trace_state_clean
except ImportError:  # a JAX without it: in_trace probes with an array instead
    _trace_state_clean = None


def _shape_of(x: Any) -> tuple[int, ...]:
    try:
        return tuple(np.shape(x))
    except Exception:  # ragged or odd objects: the caller's own checks say what is wrong
        return ()


def _describe(x: Any) -> str:
    return f"shape {_shape_of(x)}"


def _first_line(e: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message: JAX's messages go on for a page."""
    lines = str(e).strip().splitlines()
    text = lines[0] if lines else type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _sentence(e: BaseException) -> str:
    """:func:`_first_line` ending in a full stop, to go on with more text."""
    line = _first_line(e)
    return line if line.endswith((".", "!", "?")) else line + "."


def _attr(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # a __getattr__ that raises something else
        return None


def _from_numpy(module: Any) -> bool:
    return isinstance(module, str) and (module == "numpy" or module.startswith("numpy."))


def _numpy_origin(f: Callable) -> str | None:
    """What NumPy callable ``f`` is or wraps (e.g. ``the NumPy ufunc np.sin``), else None.

    Looks through ``functools.partial`` and ``__wrapped__`` (``jax.jit``, ``functools.wraps``).
    """
    seen: set[int] = set()
    g: Any = f
    while g is not None and id(g) not in seen:
        seen.add(id(g))
        if isinstance(g, np.ufunc):
            return f"the NumPy ufunc np.{g.__name__}"
        if isinstance(g, np.vectorize):
            return "a np.vectorize function"
        if isinstance(g, functools.partial):
            g = g.func
            continue
        owner = _attr(g, "__self__")
        modules = [_attr(g, "__module__"), type(g).__module__]
        if owner is not None and not isinstance(owner, types.ModuleType):
            modules.append(type(owner).__module__)  # a method of a NumPy object
        if any(_from_numpy(m) for m in modules):
            label = _attr(g, "__name__") or type(g).__name__
            return f"the NumPy function {label}"
        g = _attr(g, "__wrapped__")
    return None


def trace_settings() -> tuple[bool, str, str]:
    """The JAX settings that decide whether tracing a function fails, as ``jax.jit`` keys its
    cache on them: x64, the dtype promotion (a function that passed under the standard one
    may fail under ``jax.numpy_dtype_promotion("strict")``, and must then be refused by
    name) and the rank promotion (one that adds x of shape (d,) to an array of shape (1, d)
    fails under ``jax.numpy_rank_promotion("raise")``). Part of the key of every check
    remembered across calls."""
    return (
        bool(jax.config.jax_enable_x64),
        str(jax.config.jax_numpy_dtype_promotion),
        str(jax.config.jax_numpy_rank_promotion),
    )


# Functions that passed check_function, per float dtype: tracing f and its gradient costs a few
# milliseconds, more than a small descent, and jit's own cache already assumes f never changes.
_passed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_function(
    f: Callable,
    dtype: np.dtype,
    *,
    name: str = "f",
    shape: tuple[int, ...] = (),
    theta: Any = None,
    hashable: bool = True,
    batched: bool = True,
) -> None:
    """Check that ``f`` maps a scalar to a real floating scalar and that ``jax.grad`` can run.

    ``shape``: the shape of x, () for a scalar or (d,) for a point of R^d. ``theta``: None, or
    one parameter (a pytree of ``jax.ShapeDtypeStruct``) for ``f(x, theta)``. ``hashable``:
    ``f`` will be a static argument of ``jax.jit`` (every caller but ``check_derivative``).
    ``batched``: ``f`` will run under ``jax.vmap`` (every caller but ``jaxgd.descend``): a
    callback that cannot be vmapped is refused here, not deep inside JAX's tracing.

    ``f`` and its gradient are traced once on an abstract scalar: nothing is compiled, and the
    usual mistakes (NumPy instead of jax.numpy, Python branches on x, a loop or callback JAX
    cannot differentiate, an exception inside f) become one error naming ``name`` and the fix.
    A function that passed is remembered (per dtype) and not traced again.
    """
    if not callable(f):
        inner = getattr(f, "f", None)  # a library function's record (jaxgd.functions.get)
        fix = (
            "A library function's record holds its function in .f: pass that, e.g. "
            "jaxgd.functions.get('notebook').f."
            if callable(inner)
            else "Pass a function such as `lambda x: jnp.sin(x)`."
        )
        raise TypeError(f"{name} must be a callable f(x) -> scalar; got {type(f).__name__}. {fix}")
    if theta is not None:
        _check_order(f, name)
    dtype = np.dtype(dtype)
    shape = tuple(shape)
    key = (
        dtype,
        shape,
        None if theta is None else str(jax.tree.structure(theta)),
        str(theta),
        trace_settings(),
        batched,
    )
    try:  # a NumPy callable is never here: it is refused below, or cannot be a weak key
        if key in _passed.get(f, ()):
            return
    except TypeError:  # not weak-referenceable or not hashable: checked every time
        pass
    # Before any tracing: JAX cannot hold a NumPy ufunc by weak reference, and tracing one a
    # second time in a process crashes the interpreter.
    origin = _numpy_origin(f)
    if origin is not None:
        raise TypeError(
            f"{name} is {origin}, which JAX cannot trace or differentiate: write it with "
            "jax.numpy instead (`import jax.numpy as jnp`; jnp.sin for np.sin, ...), "
            "e.g. f = jnp.sin or `lambda x: jnp.sin(x) * jnp.exp(-0.05 * x**2)`."
        )
    if hashable:
        check_hashable(f, name)
    spec = jax.ShapeDtypeStruct(shape, dtype)

    # Traced through a plain function: JAX's caches hold the traced callable by weak
    # reference, which some callables (classes with __slots__, C types) do not allow.
    if theta is None:

        def call(x):
            return f(x)
    else:

        def call(x):
            return f(x, theta_value())

        def theta_value():
            # Zeros of theta's shape, made inside the trace: abstract like x (as the lanes'
            # theta is), and nothing compiled to make them.
            return jax.tree.map(lambda t: jnp.zeros(t.shape, t.dtype), theta)

    # One trace of f is all a good f costs: the gradient is traced from f's jaxpr, not from
    # f again. f's own jaxpr is checked too: jax.grad traces a jax.custom_jvp's rule, not the
    # function it wraps, which f's value runs under vmap all the same (a sweep's last value).
    # jax.grad demands a real floating scalar, so only a failure needs the second look that
    # says what is wrong.
    try:
        primal, out = jax.make_jaxpr(call, return_shape=True)(spec)
        if not isinstance(out, jax.ShapeDtypeStruct):  # a container: said below
            raise TypeError(f"{name} returned {type(out).__name__}")
        jaxpr = jax.make_jaxpr(jax.value_and_grad(_from_jaxpr(primal)))(spec)
    except Exception as e:
        swapped = None if theta is None else (lambda x: f(theta_value(), x))
        _check_output(_trace(call, spec, name, dtype, f, swapped), name, shape)
        raise TypeError(
            f"{name} cannot be differentiated by jax.grad, which gradient descent needs: "
            f"{_sentence(e)} Common causes: a lax.while_loop, or a fori_loop whose bounds "
            "depend on x (use lax.scan or fixed bounds); a jax.pure_callback or io_callback "
            "(give it a derivative with jax.custom_jvp)."
        ) from e
    if batched:
        _check_batchable(jaxpr.jaxpr, name)
        _check_batchable(primal.jaxpr, name)
    if shape != () or theta is not None:
        _check_indices(f, spec, theta, name)
    with contextlib.suppress(TypeError):  # not weak-referenceable: checked every call
        _passed.setdefault(f, set()).add(key)


def _from_jaxpr(closed: Any) -> Callable:
    """The function of one argument and one result that a closed jaxpr computes."""
    from jaxgd.fastmath import jaxpr_function

    run = jaxpr_function(closed)
    return lambda x: run(x)[0]


def _check_batchable(jaxpr: Any, name: str) -> None:
    """Refuse a callback in ``f`` (or its derivative) that ``jax.vmap`` cannot batch: a
    ``jax.pure_callback`` without ``vmap_method`` and an ordered ``io_callback``. Sweeps,
    searches and checks run f under ``vmap``; JAX's own error came from deep inside the
    tracing of the sweep, a NotImplementedError that named neither f nor the fix."""
    from jaxgd.fastmath import jaxprs_in_params

    for eqn in jaxpr.eqns:
        kind = eqn.primitive.name
        if kind == "pure_callback" and eqn.params.get("vmap_method") is None:
            raise TypeError(
                f"{name} calls jax.pure_callback without vmap_method, so jax.vmap cannot run "
                "it on many points at once, as jaxgd does (every start and rate of a sweep, "
                "every point of a search, in one call). "
                "Pass vmap_method='sequential' (the callback once per point) or "
                "'expand_dims' (once, on a batch) to jax.pure_callback."
            )
        if kind == "io_callback" and eqn.params.get("ordered"):
            raise TypeError(
                f"{name} calls jax.experimental.io_callback with ordered=True, which jax.vmap "
                "cannot run on many points at once, as jaxgd does (every start and rate of a "
                "sweep, every point of a search, in one call). Use ordered=False, or a "
                "jax.pure_callback with vmap_method='sequential'."
            )
        for sub in jaxprs_in_params(eqn.params):
            _check_batchable(sub, name)


def check_hashable(f: Callable, name: str = "f") -> None:
    """Refuse an ``f`` that cannot be hashed: jaxgd compiles one program per ``f``, passed to
    ``jax.jit`` as a static argument, which fails deep inside JAX otherwise."""
    try:
        hash(f)
    except TypeError:
        raise TypeError(
            f"{name} must be hashable, as jax.jit's static arguments are (jaxgd compiles one "
            f"program per f); {type(f).__name__} objects cannot be hashed (a class that defines "
            "__eq__ without __hash__, such as a dataclass with eq=True, or one whose fields "
            "hold arrays). Give it a __hash__ (frozen=True or eq=False for a dataclass of "
            "hashable fields), or pass a function defined once around it, e.g. "
            "g = lambda x: obj(x)."
        ) from None


def _check_indices(
    f: Callable,
    spec: jax.ShapeDtypeStruct,
    theta: Any,
    name: str,
    fix: str | None = None,
    jaxpr: Any = None,
) -> None:
    """Refuse an ``f`` that reads a constant index past the end of x (or theta).

    JAX clamps such an index rather than raising: ``p[2]`` on a point of R^2 reads ``p[1]``,
    so a function written for R^3 would run on points of R^2, silently wrong. ``fix``: what
    the caller's user should change (default: the starts of a sweep). ``jaxpr``: f's, where
    the caller has traced it already (else it is traced here).
    """
    from jaxgd._bounds import constant_index_problem

    if jaxpr is None:
        try:
            if theta is None:
                jaxpr = jax.make_jaxpr(lambda x: f(x))(spec)
            else:
                jaxpr = jax.make_jaxpr(lambda x, t: f(x, t))(spec, theta)
        except Exception:  # traced once already; anything else is not this check's to report
            return
    problem = constant_index_problem(jaxpr)
    if not problem:
        return
    on = f"x of shape {tuple(spec.shape)}"
    if theta is not None:
        shapes = [tuple(leaf.shape) for leaf in jax.tree.leaves(theta)]
        on += f" and theta of shape{'s' if len(shapes) > 1 else ''} " + ", ".join(map(str, shapes))
    if fix is None:
        fix = (
            f"Pass points with as many coordinates as {name} reads (starts of shape (S, d)), "
            f"or fix the index in {name}."
            if spec.shape
            else f"Check the index in {name} against theta's shape."
        )
    raise ValueError(
        f"{name} reads past the end of an array: called on {on}, {problem}. JAX clamps "
        f"such an index instead of raising, so {name} would silently compute with another "
        f"entry. {fix}"
    )


def _trace(
    call: Callable,
    spec: jax.ShapeDtypeStruct,
    name: str,
    dtype: np.dtype,
    f: Callable,
    swapped: Callable | None = None,
) -> Any:
    """Trace ``call`` (``f`` on one x, with theta if any); an error names ``name``.

    ``swapped``: ``f(theta, x)``, where ``call`` is ``f(x, theta)``: when ``call`` fails and
    this traces to a scalar, the error says the arguments are the wrong way round.
    """
    shape = tuple(spec.shape)
    what = "x or theta" if swapped is not None else "x"  # what f may read a number from
    try:
        return jax.eval_shape(call, spec)
    except Exception as e:
        if swapped is not None and _traces_to_scalar(swapped, spec):
            raise TypeError(
                f"{name} failed when called as {name}(x, theta) on {_traced_on(shape, dtype)} "
                f"({_sentence(e)}), but works as {name}(theta, x): with params= jaxgd calls "
                f"{name}(x, theta), x first. Swap {name}'s parameters, or pass "
                f"`lambda x, theta: {name}(theta, x)`."
            ) from e
    try:
        return jax.eval_shape(call, spec)
    except jax.errors.TracerArrayConversionError as e:
        raise TypeError(
            f"{name} calls NumPy on its argument, which JAX cannot differentiate: "
            "write it with jax.numpy (`import jax.numpy as jnp`; jnp.sin, jnp.exp, ...) "
            "instead of numpy."
        ) from e
    except jax.errors.TracerBoolConversionError as e:
        raise TypeError(
            f"{name} branches on the value of {what} with Python `if`/`while`/`bool()`, which JAX "
            "cannot trace: use jnp.where(cond, a, b) or jax.lax.cond instead."
        ) from e
    except jax.errors.TracerIntegerConversionError as e:
        raise TypeError(
            f"{name} converts {what} to a Python int or index (int(x), range(x), a[x]); "
            f"keep {what} a float and use jax.numpy operations on it."
        ) from e
    except jax.errors.ConcretizationTypeError as e:
        raise TypeError(
            f"{name} needs the number inside {what} (float(x), math.sin(x), or a Python `if` "
            f"on {what}), which JAX cannot trace: use jax.numpy functions (jnp.sin, ...) and "
            "jnp.where(cond, a, b) or jax.lax.cond for branches."
        ) from e
    except TypeError as e:
        if _raised_in(e, call):  # by the call itself: f takes other arguments than one x
            if _signature(call) == "f(x)":
                fix = (
                    f" {name} takes a parameter besides x: pass its values as params= "
                    "(jaxgd.sweep, jaxgd.descend: f(x, theta)), or fix it first, e.g. "
                    f"lambda x: {_code_name(f)}(x, 0.5)."
                    if _takes_two(f)
                    else ""
                )
            else:
                fix = (
                    f" params= makes {name} be called as {name}(x, theta): give {name} a "
                    "second parameter, or drop params= for a function of x alone."
                )
            raise TypeError(
                f"{name} must be callable as {_signature(call)} on one {_x_kind(spec.shape)}; "
                f"calling it failed: {e}.{fix}"
            ) from e
        raise _raised_by_f(e, name, dtype, shape) from e
    except Exception as e:
        raise _raised_by_f(e, name, dtype, shape) from e


def _code_name(f: Callable) -> str:
    """``f``'s name as code would call it (``g``), or ``f``: the name an error gives may be
    a flag's words (``--function 'mymodule:g'``), which no lambda can call."""
    name = getattr(f, "__name__", "")
    return name if isinstance(name, str) and name.isidentifier() else "f"


#: Names of f's first parameter that say it is the parameter theta, not x.
_THETA_NAMES = frozenset({"theta", "thetas", "param", "params", "parameters"})


def _check_order(f: Callable, name: str) -> None:
    """Refuse ``f(theta, x)`` written for ``params=``, which calls ``f(x, theta)``: with a
    scalar theta and a scalar x both orders trace, and every result would be silently wrong.
    Only the parameter names can tell, so only names that leave no doubt are refused: a
    first parameter named like theta (``theta``, ``params``, ...) and a second named ``x``."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):  # no signature to read (a C function, some callables)
        return
    positional = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) >= 2 and positional[0] in _THETA_NAMES and positional[1] == "x":
        first = positional[0]
        raise TypeError(
            f"{name} is written as {name}({first}, x), but with params= jaxgd calls "
            f"{name}(x, theta): x first, the parameter second. Swap {name}'s parameters "
            f"(def {name}(x, {first}): ...), or pass `lambda x, theta: {name}(theta, x)`."
        )


def _traces_to_scalar(fn: Callable, spec: jax.ShapeDtypeStruct) -> bool:
    """Whether ``fn`` traces on ``spec`` to a real floating scalar."""
    try:
        out = jax.eval_shape(fn, spec)
    except Exception:
        return False
    return (
        isinstance(out, jax.ShapeDtypeStruct)
        and out.shape == ()
        and jnp.issubdtype(out.dtype, jnp.floating)
    )


def _takes_two(f: Callable) -> bool:
    """Whether ``f`` can be called with two positional arguments but not with one."""
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return False
    try:
        sig.bind(0.0)
    except TypeError:
        try:
            sig.bind(0.0, 0.0)
        except TypeError:
            return False
        return True
    return False


def _raised_in(e: BaseException, fn: Callable) -> bool:
    """Whether ``e`` was raised in ``fn``'s own frame, not in anything it called."""
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code is fn.__code__


def _raised_by_f(
    e: Exception, name: str, dtype: np.dtype, shape: tuple[int, ...] = ()
) -> TypeError:
    return TypeError(
        f"{name} raised {type(e).__name__} while being traced on {_traced_on(shape, dtype)}: "
        f"{_sentence(e)} Check that it computes one number from x with jax.numpy: "
        f"calling it on {_example(shape, dtype)} shows where the error happens."
    )


def _traced_on(shape: tuple[int, ...], dtype: np.dtype) -> str:
    return f"a scalar {dtype} x" if shape == () else f"x of shape {shape} and {dtype}"


def _x_kind(shape: tuple[int, ...]) -> str:
    return "scalar x" if shape == () else f"x of shape {shape}"


def _example(shape: tuple[int, ...], dtype: np.dtype) -> str:
    if shape == ():
        return f"jnp.{dtype.name}(0.5)"
    return f"jnp.full({shape}, 0.5, jnp.{dtype.name})"


def _signature(call: Callable) -> str:
    return "f(x, theta)" if call.__code__.co_freevars.count("theta_value") else "f(x)"


def _check_output(out: Any, name: str, shape: tuple[int, ...] = ()) -> None:
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
            f"{name} must return a scalar for {_x_kind(shape).replace('scalar x', 'a scalar x')}"
            f"; it returned shape {out.shape}.{hint}"
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


# -- start points, learning rates and epoch counts --------------------------------------------
# Each is given as a Python number, a (flat) list or tuple, or an array of NumPy or JAX; these
# helpers turn every such value into an array or one error that names the argument.


def _wanted(name: str, *, whole: bool, scalar: bool) -> str:
    """What ``name`` must be, with an example, for the end of an error message."""
    one, many = ("a whole number", "whole numbers") if whole else ("a number", "numbers")
    example = ("10" if scalar else "[10, 100]") if whole else ("0.5" if scalar else "[0.0, 0.5]")
    what = one if scalar else f"{one} or a 1-D list/array of {many}"
    return f"{name} must be {what}, e.g. {name}={example}"


def _read(
    name: str, value: Any, *, whole: bool, scalar: bool = False, wanted: str | None = None
) -> Any:
    """``value`` as a NumPy array of a real numeric dtype (a JAX array when traced).

    Python ints too large for int64 stay exact: they are checked here, against
    :data:`MAX_EPOCHS` when ``whole``, or converted to float. ``wanted`` replaces the
    sentence that says what ``name`` must be (a scalar or 1-D axis by default).
    """
    if type(value) is np.ndarray and value.dtype.kind in "fiu":
        return value  # NumPy's own real dtypes: the common case, nothing else to check
    any_shape = wanted is not None
    if wanted is None:
        wanted = _wanted(name, whole=whole, scalar=scalar)
    if isinstance(value, jax.core.Tracer):
        return _check_kind(name, value, value.dtype, wanted)
    if value is None or isinstance(value, str | bytes | bytearray | memoryview):
        convert = "int" if whole else "float"
        fix = f"; convert text first, e.g. {convert}(text)" if value is not None else ""
        raise TypeError(f"{wanted}; got {type(value).__name__} {value!r:.60}{fix}.")
    if isinstance(value, list | tuple) and holds_tracer(value):  # at any depth: [[x, y]]
        refuse_bools(name, value, wanted)  # jnp.asarray reads [x, True] as [x, 1.0] too
        try:
            return _check_kind(name, jnp.asarray(value), None, wanted)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{wanted}; {_sentence(e)}") from e
    if isinstance(value, np.ma.MaskedArray) and np.ma.is_masked(value):
        raise ValueError(
            f"{name} has masked entries; pass {name}.compressed() (the unmasked values) or "
            f"{name}.filled(v) instead."
        )
    dtype = _attr(value, "dtype")
    if (
        dtype is not None
        and not isinstance(dtype, np.dtype)
        and jnp.issubdtype(dtype, jax.dtypes.prng_key)
    ):
        raise TypeError(f"{wanted}; got an array of PRNG keys ({dtype}).")
    if isinstance(value, list | tuple):
        refuse_bools(name, value, wanted)
    try:
        arr = np.asarray(value)
    except ValueError as e:  # NumPy's "inhomogeneous shape"
        fix = (
            "Give every row the same length."
            if any_shape
            else "Pass a flat list, or np.ravel of a regular array."
        )
        raise ValueError(
            f"{wanted}; got a nested sequence of uneven lengths or depths. {fix}"
        ) from e
    except Exception as e:
        raise TypeError(
            f"{wanted}; got {type(value).__name__}, which cannot be read as an array "
            f"({type(e).__name__}: {_first_line(e, 120)})."
        ) from e
    if arr.dtype == object:
        arr = _from_objects(name, arr, wanted, whole=whole)
    return _check_kind(name, arr, arr.dtype, wanted)


def refuse_bools(name: str, value: list | tuple, wanted: str) -> None:
    """Refuse a bool in the nested lists and tuples ``value``, at any depth, naming ``name``
    and the entry: NumPy reads ``[1.0, True]`` as ``[1.0, 1.0]``, so a bool beside numbers
    is refused as a list of bools is. ``wanted`` says what ``name`` must be; inside a row the
    error says only that ``name`` must hold numbers.

    Example:
        >>> refuse_bools("x", [[0.5, True]], "")
        Traceback (most recent call last):
        ...
        TypeError: x must hold numbers; entry [0][1] is True, a bool. Pass numbers (1 rather ...).
    """
    found = _first_bool(value)
    if found is None:
        return
    at, item = found
    where = str(at[0]) if len(at) == 1 else "".join(f"[{i}]" for i in at)
    single = isinstance(item, bool | np.bool_)
    what = f"is {item!r}, a bool" if single else "holds booleans"
    # Inside a row (points of R^d, a vector theta) the shape is fine, and `wanted`'s
    # "a 1-D list" would tell the caller to flatten it: say only what is wrong.
    in_row = len(at) > 1 or (not single and np.ndim(item) > 0)
    head = f"{name} must hold numbers" if in_row else wanted
    raise TypeError(f"{head}; entry {where} {what}. Pass numbers (1 rather than True).")


def _first_bool(value: list | tuple) -> tuple[tuple[int, ...], Any] | None:
    """The index and value of the first bool in nested lists and tuples (a bool array among
    them counts, NumPy's or JAX's: NumPy reads [np.array([True]), np.array([2.0])] as
    numbers), or None.

    Looked at one level at a time by the types the level holds: a list of plain numbers, or
    of lists of them, is passed at C speed (one Python step per entry made checking a
    million starts several times slower than reading them); only a level holding anything
    else is searched entry by entry, for where the bool is.
    """
    level: list[Any] | tuple = value
    while level:
        kinds = set(map(type, level))
        if not all(k is list or k is tuple or _is_number_type(k) for k in kinds):
            return _search_bool(value)
        if list not in kinds and tuple not in kinds:
            return None
        if kinds <= {list, tuple}:
            level = list(itertools.chain.from_iterable(level))
        else:  # numbers beside sequences: uneven depths, which np.asarray refuses next
            level = [v for v in level if type(v) is list or type(v) is tuple]
    return None


def _is_number_type(kind: type) -> bool:
    """Whether values of ``kind`` are numbers that are not bools (np.bool_ is no np.number)."""
    return kind is float or kind is int or issubclass(kind, np.number)


def _search_bool(value: list | tuple) -> tuple[tuple[int, ...], Any] | None:
    """:func:`_first_bool`, entry by entry."""
    for i, item in enumerate(value):
        if isinstance(item, bool | np.bool_):
            return (i,), item
        if isinstance(item, np.ndarray | jax.Array) and np.dtype(item.dtype) == np.bool_:
            return (i,), item
        if isinstance(item, list | tuple):
            found = _search_bool(item)
            if found is not None:
                return (i, *found[0]), found[1]
    return None


def _from_objects(name: str, arr: np.ndarray, wanted: str, *, whole: bool) -> np.ndarray:
    """An object array of Python numbers (huge ints, mixed types) as a numeric array."""
    items = arr.reshape(-1).tolist() if arr.ndim else [arr.item()]
    for i, item in enumerate(items):
        if isinstance(item, bool | np.bool_) or not isinstance(item, numbers.Real):
            where = f"entry {i} is" if arr.ndim else "got"
            if arr.ndim > 1:  # the flat position would read as a row: [1][0], not 2
                at = np.unravel_index(i, arr.shape)
                where = f"entry {''.join(f'[{int(k)}]' for k in at)} is"
            kind = "None" if item is None else f"{type(item).__name__} {item!r:.40}"
            raise TypeError(f"{wanted}; {where} {kind}.")
        if isinstance(item, numbers.Integral) and whole:
            _check_count(name, item, i if arr.ndim else None)
    if whole and all(isinstance(item, numbers.Integral) for item in items):
        return np.array(items, np.int64).reshape(arr.shape)  # in range: checked above
    try:
        return np.array([float(item) for item in items], np.float64).reshape(arr.shape)
    except OverflowError as e:  # an int beyond float64, about 1.8e308
        raise ValueError(
            f"{name} has a value too large for any float ({_first_line(e, 80)}); "
            "use smaller values."
        ) from e


def _check_kind(name: str, arr: Any, dtype: Any, wanted: str) -> Any:
    dtype = arr.dtype if dtype is None else np.dtype(dtype)
    if dtype.kind in "fiu":  # NumPy's own real dtypes: the common case, decided at once
        return arr
    if dtype.kind in "mM":  # before the integer test: NumPy counts timedelta64 as one
        raise TypeError(
            f"{wanted}; got {dtype} (dates or durations). Convert them to numbers first, "
            f"e.g. {name} / np.timedelta64(1, 's')."
        )
    if jnp.issubdtype(dtype, jnp.bool_):
        raise TypeError(f"{wanted}; got booleans ({dtype}). Pass numbers (1 rather than True).")
    if jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer):
        return arr
    if jnp.issubdtype(dtype, jnp.complexfloating):
        raise TypeError(
            f"{name} must be real; got {dtype}. Pass real values (np.real({name}) if the "
            "imaginary parts are 0)."
        )
    if dtype.kind in "US":
        raise TypeError(
            f"{wanted}; got strings ({dtype}). Convert them first, e.g. "
            f"np.asarray({name}, dtype=float)."
        )
    raise TypeError(f"{wanted}; got an array of {dtype}.")


def _count_text(v: Any) -> str:
    """An epoch count as the user would write it: exact digits for whole values, a count of
    more than 30 digits (``int(1e308)``, 309 of them) as its leading ones and its power of
    ten."""
    if isinstance(v, numbers.Integral | np.integer):
        digits = str(abs(int(v)))
        if len(digits) <= 30:
            return str(int(v))
        sign = "-" if v < 0 else ""
        return f"{sign}{digits[0]}.{digits[1:4]}...e+{len(digits) - 1}"
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e18 else repr(v)


def _check_count(name: str, v: Any, index: int | None) -> None:
    where = f"entry {index} is" if index is not None else "got"
    if v < 0:
        raise ValueError(
            f"{name} must be >= 0; {where} {_count_text(v)}. "
            "An epoch count is how many steps to take (0 means the start itself)."
        )
    if v > MAX_EPOCHS:
        raise ValueError(
            f"{name} must be at most {MAX_EPOCHS} (10**9); {where} {_count_text(v)}. "
            "That many steps would run for hours; check the value for a typo in its exponent."
        )


def as_float_axis(
    name: str, value: Any, dtype: np.dtype, *, nonnegative: bool = False, scalar: bool = False
) -> Any:
    """A scalar or 1-D axis as a 1-D float array of ``dtype``; values checked when concrete.

    Accepts Python numbers, flat lists and tuples, and NumPy or JAX arrays of any real integer
    or floating dtype (float16, bfloat16 and the other ml_dtypes floats included). Values are
    rounded to ``dtype``: a value below its smallest subnormal becomes 0, as in any cast; one
    beyond its largest finite value is an error. Booleans, strings, complex numbers, dates,
    None and nested or ragged sequences are refused with an error naming ``name``.
    """
    arr = _read(name, value, whole=False)
    shape = _shape_of(arr)
    if len(shape) > 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D array; got {_describe(arr)}. "
            f"Flatten it with np.ravel({name}) if every entry is a value to sweep."
        )
    if not is_concrete(arr):
        return jnp.reshape(arr, (-1,)).astype(dtype)
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value (an axis of length >= 1).")
    if arr.dtype.kind in "fiu":
        # Good values of NumPy's dtypes pass on two reductions; anything else takes the
        # checks below, which say what is wrong.
        with np.errstate(over="ignore"):
            cast = arr.astype(dtype)
        if np.isfinite(cast).all() and not (nonnegative and (arr < 0).any()):
            return cast
    wide = arr.astype(np.float64)

    def where(bad: np.ndarray) -> str:  # which value is wrong: an entry, or the one given
        return "got" if scalar else f"entry {int(np.argmax(bad))} is"

    bad = ~np.isfinite(wide)
    if bad.any():
        raise ValueError(
            f"{name} must be finite; {where(bad)} {wide[bad][0]}. "
            "Remove NaN/inf values (np.isfinite can find them)."
        )
    if nonnegative and (wide < 0).any():
        raise ValueError(
            f"{name} must be >= 0; {where(wide < 0)} {wide[wide < 0][0]}. "
            "Use a non-negative rate (to maximise f, descend -f)."
        )
    with np.errstate(over="ignore"):
        cast = arr.astype(dtype)
    if not np.isfinite(cast).all():
        raise ValueError(
            f"{name} has values too large for {np.dtype(dtype)} (max "
            f"{np.finfo(dtype).max:.3g}); use smaller values or enable x64 "
            '(jax.config.update("jax_enable_x64", True)).'
        )
    return cast


def as_real_array(name: str, value: Any, wanted: str) -> np.ndarray:
    """A concrete ``value`` of any shape as a NumPy array of real numbers: ints, or floats of
    NumPy's types, those NumPy lacks (bfloat16, the float8 types) read exactly as float64.

    Checked as an axis is (:func:`as_float_axis`), in any shape: a bool at any depth (NumPy
    reads ``[1.0, True]`` as ``[1.0, 1.0]``), nested sequences of uneven lengths, text,
    complex numbers and other objects are refused naming ``name``, after ``wanted`` (what it
    must be, e.g. ``"final must hold real numbers, e.g. res.final"``); a Python int beyond
    any float is refused, not left as an object array.

    Example:
        >>> as_real_array("final", [[1, 2.5]], "final must hold real numbers").tolist()
        [[1.0, 2.5]]
        >>> as_real_array("x", [1.0, True], "x must hold numbers")
        Traceback (most recent call last):
        ...
        TypeError: x must hold numbers; entry 1 is True, a bool. Pass numbers (1 rather than True).
    """
    arr = np.asarray(_read(name, value, whole=False, wanted=wanted))
    if arr.dtype.kind not in "fiu":  # JAX's float types: exact in float64
        arr = arr.astype(np.float64)
    return arr


def check_in_range(name: str, values: Any, dtype: Any) -> None:
    """Refuse finite entries of the host array ``values`` that ``dtype`` cannot hold (1e39 in
    float32): the cast makes them inf, which reads as a run that diverged, though they are
    finite numbers; NumPy only warns of the overflow. The error names ``name`` and the fix
    (smaller values, or x64 where ``dtype`` is float32)."""
    if not isinstance(values, np.ndarray) or values.dtype.kind != "f":
        return
    dtype = np.dtype(dtype)
    with np.errstate(over="ignore"):
        beyond = np.isfinite(values) & ~np.isfinite(values.astype(dtype))
    if beyond.any():
        raise ValueError(
            f"{name} has values too large for {dtype} (max {np.finfo(dtype).max:.3g}), the "
            f"working precision: {float(values[beyond].ravel()[0]):g}; use smaller values or "
            'enable x64 (jax.config.update("jax_enable_x64", True)).'
        )


def as_float_scalar(name: str, value: Any, dtype: np.dtype, *, nonnegative: bool = False) -> Any:
    """One value as a 0-d array of ``dtype``, checked as :func:`as_float_axis` checks an axis."""
    shape = _shape_of(_read(name, value, whole=False, scalar=True))
    if shape != ():
        hint = (
            " np.random.choice(x, 1) returns an array of one element: use np.random.choice(x)."
            if shape == (1,)
            else " To run many, use jax.vmap(jaxgd.descend, ...) or jaxgd.sweep."
        )
        raise ValueError(f"{name} must be a scalar; got shape {shape}.{hint}")
    return as_float_axis(name, value, dtype, nonnegative=nonnegative, scalar=True).reshape(())


def as_epochs(name: str, value: Any) -> Any:
    """A scalar or 1-D axis of non-negative whole epoch counts, as integers.

    Counts may be ints of any width or integral floats (``np.round(np.linspace(...))``); the
    errors print the offending count exactly.
    """
    arr = _read(name, value, whole=True)
    shape = _shape_of(arr)
    if len(shape) > 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D array of counts; got {_describe(arr)}. "
            f"Flatten it with np.ravel({name})."
        )
    int_dtype = default_int()
    if not is_concrete(arr):
        if not jnp.issubdtype(arr.dtype, jnp.integer):
            # Values cannot be read while tracing, and a cast would truncate: 3.7 ran 3 steps.
            raise TypeError(
                f"{name} is a traced {arr.dtype} array (inside jax.jit, vmap or grad), so "
                "whole counts cannot be checked and a cast would truncate 3.7 to 3; pass "
                f"integers, e.g. jnp.round({name}).astype(int), or pass the counts from "
                "outside the transformation."
            )
        return jnp.reshape(arr, (-1,)).astype(int_dtype)
    scalar = arr.ndim == 0
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one epoch count.")
    kind = arr.dtype.kind
    if kind in "fiu":
        # Good counts of NumPy's dtypes pass on three reductions (NaN fails the comparisons);
        # anything else takes the checks below, which say what is wrong.
        # As Python numbers: float16 cannot hold the bound (NumPy warned of an overflow).
        lo, hi = arr.min().item(), arr.max().item()
        if lo >= 0 and hi <= MAX_EPOCHS and (kind != "f" or not (arr % 1).any()):
            return arr.astype(int_dtype)
    if kind in "iu" or (kind != "f" and not jnp.issubdtype(arr.dtype, jnp.floating)):
        # Narrow ints (int8, ml_dtypes' int4) cannot even hold the bound they are checked against.
        arr = arr.astype(np.uint64 if arr.dtype == np.uint64 else np.int64)
    else:
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ValueError(
                f"{name} must be finite whole counts; got {arr[~np.isfinite(arr)][0]}. "
                "Remove NaN/inf entries."
            )
        frac = arr != np.round(arr)
        if frac.any():
            where = "got" if scalar else f"entry {int(np.argmax(frac))} is"
            raise ValueError(
                f"{name} must be whole numbers; {where} {arr[frac][0]}. "
                f"Round them first, e.g. np.round({name})."
            )
    for bad in (arr < 0, arr > MAX_EPOCHS):
        if bad.any():
            i = int(np.argmax(bad))
            _check_count(name, arr[i], None if scalar else i)
    return arr.astype(int_dtype)


def as_epoch_count(name: str, value: Any) -> Any:
    """One epoch count as a 0-d integer array, checked as :func:`as_epochs` checks an axis."""
    shape = _shape_of(_read(name, value, whole=True, scalar=True))
    if shape != ():
        raise ValueError(
            f"{name} must be one count here; got shape {shape}. To read several epoch counts "
            "off one descent, use jaxgd.sweep (or jax.vmap over this function)."
        )
    return as_epochs(name, value).reshape(())


# -- scalar arguments of the analysis functions ----------------------------------------------
# These need concrete Python numbers: they decide grid sizes and interval ends on the host.


def finite_float(name: str, value: Any) -> float:
    """A concrete, finite, real scalar as a Python float."""
    if not is_concrete(value):
        raise TypeError(
            f"{name} must be a concrete number, got a traced value; call this function "
            "outside jax.jit / jax.vmap, or close over the value instead of passing it in"
        )
    # NumPy's scalars are np.generic: ml_dtypes' (bfloat16, ...) are not numbers.Real, and
    # were refused as no number while np.float16 and 0-d arrays of bfloat16 passed.
    real_kinds = numbers.Real | np.generic | np.ndarray | jax.Array
    if isinstance(value, bool | np.bool_) or not isinstance(value, real_kinds):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if isinstance(value, numbers.Real) and not isinstance(value, np.generic):
        # Python's own numbers (ints of any size, Fraction): as Python converts them.
        try:
            out = float(value)
        except OverflowError:
            raise ValueError(
                f"{name} is too large for any float ({value!r:.30}...); pass a number below "
                f"{np.finfo(np.float64).max:.3g}"
            ) from None
    else:
        arr = np.asarray(value)
        # ml_dtypes' floats (bfloat16, ...) are not np.number, but are real numbers.
        real = np.issubdtype(arr.dtype, np.number) or jnp.issubdtype(arr.dtype, jnp.floating)
        if arr.shape != () or not real or np.iscomplexobj(arr):
            raise TypeError(
                f"{name} must be a real scalar, got shape {arr.shape} of {arr.dtype}; pass one "
                "number"
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


def whole_number(value: Any) -> int | None:
    """``value`` as a Python int when it is integer-like: a Python or NumPy integer, or a
    0-d integer array (NumPy, or concrete JAX); None for anything else (a bool, a float, a
    string, an array with a shape, a traced value)."""
    if isinstance(value, bool | np.bool_):
        return None
    try:
        return operator.index(value)  # refuses floats, bool arrays and arrays with a shape
    except TypeError:  # (a traced value's JAX error is a TypeError too)
        return None


def check_int(name: str, value: Any, minimum: int, *, fix: str) -> int:
    """A whole number (:func:`whole_number`: not a bool, not a float) of at least
    ``minimum``."""
    whole = whole_number(value)
    if whole is None:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}; pass e.g. {minimum}")
    if whole < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {whole}; {fix}")
    return whole


def check_interval(lo: Any, hi: Any, *, name: str | None = None) -> tuple[float, float]:
    """Finite ends with ``lo < hi``, as floats.

    With ``name`` the two ends are reported as ``name[0]`` and ``name[1]`` (for an argument
    such as ``domain=(lo, hi)``); without it as ``lo`` and ``hi``.
    """
    lo_name, hi_name = ("lo", "hi") if name is None else (f"{name}[0]", f"{name}[1]")
    lo_f, hi_f = finite_float(lo_name, lo), finite_float(hi_name, hi)
    if not lo_f < hi_f:
        what = "lo must be below hi" if name is None else f"{name} must be (lo, hi) with lo < hi"
        # Equal ends make an empty interval: swapping them would change nothing.
        fix = "swap them" if lo_f > hi_f else "widen it: the interval is empty"
        raise ValueError(f"{what}, got lo={lo_f} and hi={hi_f}; {fix}")
    if not np.isfinite(hi_f - lo_f):
        # Each end finite, the span not: a grid over it would hold inf and NaN.
        where = "lo, hi" if name is None else name
        raise ValueError(
            f"{where}: the interval [{lo_f:g}, {hi_f:g}] is wider than a float64 can span "
            f"(hi - lo overflows); narrow it to at most {np.finfo(np.float64).max:.3g} in width"
        )
    return lo_f, hi_f


def check_span_fits(name: str, lo: float, hi: float, dtype: Any, what: str = "starts") -> None:
    """Refuse an interval ``[lo, hi]`` that ``dtype`` cannot hold: its ends or its width
    ``hi - lo`` overflow (``what``, drawn as ``lo + u * (hi - lo)`` or laid on a grid, would
    be inf or NaN), or both ends round to one number (every point of it would be that one)."""
    dtype = np.dtype(dtype)
    big = float(jnp.finfo(dtype).max)
    with np.errstate(over="ignore"):
        ends = np.asarray([lo, hi], dtype)
        fits = bool(np.isfinite(ends).all() and np.isfinite(ends[1] - ends[0]))
    wider = "use float64 with jax.config.update('jax_enable_x64', True)"
    if not fits:
        raise ValueError(
            f"{name}: [{lo:g}, {hi:g}] does not fit {dtype.name}, the dtype of the {what} "
            f"(largest {big:.3g}, for the ends and for hi - lo): "
            f"{'a grid over it would hold' if what == 'grid' else f'{what} drawn from it would be'}"
            f" inf. Narrow it, or {wider}."
        )
    if ends[0] == ends[1]:
        raise ValueError(
            f"{name}: [{lo:.10g}, {hi:.10g}] is one number in {dtype.name}, the dtype of the "
            f"{what} (both ends round to {ends[0]}): every point of it would be that one. "
            f"Widen it, or {wider}."
        )


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
    if (
        dtype is not None
        and not isinstance(dtype, np.dtype)
        and jnp.issubdtype(dtype, jax.dtypes.prng_key)
    ):
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
