"""One run of plain gradient descent, ``x <- x - learning_rate * f'(x)``, f' from autodiff."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd import _axes
from jaxgd._chunking import available_host_memory
from jaxgd._rule import Rule
from jaxgd._run import fast_math_for
from jaxgd._validate import (
    as_epoch_count,
    as_float_axis,
    as_float_scalar,
    check_function,
    default_float,
    is_concrete,
)
from jaxgd.sweep import (
    blame_theta_shape,
    check_function_for_ragged,
    refuse_empty,
    shape_of,
    theta_hint,
)

__all__ = ["descend"]


def _lane(rule: Rule, x0: jax.Array, c: dict) -> tuple[Callable, Any]:
    """One lane's step ``(t, (x, s)) -> (x, s)`` and its state at step 0.

    The same per-lane functions as ``jaxgd.sweep``'s engine, so for plain descent of a scalar
    x the vmapped ``descend`` and the sweep agree bit for bit (one run alone is scalar code,
    and a vmap of fewer than 128 float32 runs may be a loop that XLA:CPU compiles on its path
    for small loops, either of which may round differently); an optax update, or a step on points of
    R^d (laid out (S, d) here, in rows of 64 lanes there), may be compiled differently in the
    two programs (an ulp or two apart).
    """

    def step(t, carry):
        x, s = carry
        return rule.update(t, x, s, c, rule.grad(x, c))

    return step, rule.init(x0, c)


@partial(jax.jit, static_argnums=0)
def _descend(rule: Rule, x0: jax.Array, c: dict, epochs: jax.Array) -> jax.Array:
    # A traced trip count makes this a while loop: new epoch counts never recompile, and vmap
    # over `epochs` runs each lane for its own count.
    step, s0 = _lane(rule, x0, c)
    return jax.lax.fori_loop(0, epochs, step, (x0, s0))[0]


@partial(jax.jit, static_argnums=(0, 3))
def _trajectory(rule: Rule, x0: jax.Array, c: dict, epochs: int) -> jax.Array:
    # Emit each position before stepping from it: epochs + 1 positions land in one buffer,
    # where stepping first and prepending x0 would copy them all once more. The one extra step
    # at the end is discarded.
    step, s0 = _lane(rule, x0, c)

    def body(carry, t):
        return step(t, carry), carry[0]

    _, xs = jax.lax.scan(body, (x0, s0), jnp.arange(epochs + 1))
    return xs


def descend(
    f: Callable[[jax.Array], jax.Array],
    x0: float | jax.Array,
    learning_rate: float | jax.Array,
    epochs: int | jax.Array,
    *,
    optimizer: Callable | None = None,
    hyperparams: Mapping[str, Any] | None = None,
    schedule: Callable | None = None,
    params: Any = None,
    trajectory: bool = False,
    fast_math: bool | None = None,
) -> jax.Array:
    """Run gradient descent from one start, on a function of a scalar or of a point of R^d.

    Each step is ``x <- x - learning_rate * f'(x)`` with ``f' = jax.grad(f)`` (or an optax
    optimiser's step, with ``optimizer``); the loop is a ``jax.lax.fori_loop``, compiled once
    per ``f`` and optimiser. A run that overflows is not an error: its result is simply
    ``inf`` or ``nan``. ``x0`` of shape ``(d,)`` makes ``f`` a function of a vector.

    ``descend`` works on one start; batch it with ``jax.vmap`` over ``x0``, ``learning_rate`` and
    ``epochs`` (or use :func:`jaxgd.sweep`, which shares one descent across all epoch counts).
    One call runs every step: Ctrl-C is answered only when it returns, so for a run of many
    millions of steps use ``jaxgd.sweep(f, x0, learning_rate, epochs)``, which can be
    interrupted within about a call. Vmapped over scalar starts, it equals the sweep's runs bit
    for bit when the vmap holds 128 runs or more in float32 (64 in float64); fewer may make a
    loop small enough for XLA:CPU to compile on its own path, one run alone is compiled as scalar
    code, and vmapped points of R^d are laid out otherwise than in the sweep, any of which may
    round a step an ulp apart (a chaotic run then ends elsewhere). It composes with
    ``jax.jit`` and forward-mode AD (``jax.jvp``, ``jax.jacfwd``) in ``x0`` and
    ``learning_rate``; reverse mode (``jax.grad``) cannot differentiate its loop, whose
    length is traced: use ``jax.jacfwd``, or ``trajectory=True`` (a ``lax.scan``).

    Inside ``jax.jit`` or ``vmap`` the checks that need values are skipped (the values are
    not known yet): a negative traced ``epochs`` runs no step and a negative traced
    ``learning_rate`` climbs. Traced ``epochs`` must be integers (a float count is refused:
    a cast would truncate it).

    Args:
        f: the function to minimise, ``f(x) -> scalar`` for a scalar ``x`` (or for a point
            ``x`` of shape ``(d,)``, when ``x0`` is one), written with ``jax.numpy``. No
            derivative is needed.
        x0: the start, a scalar: a Python number or a 0-d array of any real dtype
            (bfloat16 and the other ml_dtypes floats included), rounded to the default float;
            or one point of R^d, a list or 1-D array of shape ``(d,)``.
        learning_rate: the step size, a non-negative scalar of the same kinds.
        epochs: how many steps, a non-negative whole number (0 returns ``x0``), at most 10**9.
        optimizer: None (plain descent) or a callable ``learning_rate ->
            optax.GradientTransformation`` such as ``optax.adam``.
        hyperparams: ``{keyword: value}`` for the optimiser, traced (new values never
            recompile).
        schedule: a callable ``rate -> optax schedule``; step ``t`` uses
            ``schedule(learning_rate)(t)``. The rate reaches it traced, as in
            :func:`jaxgd.sweep`: a schedule that branches on it in Python is refused.
        params: one ``theta`` for ``f(x, theta)`` (a number or a pytree of arrays), x
            first: see :func:`jaxgd.sweep` for an ``f`` written as ``f(theta, x)``.
        trajectory: if True, return every position, after 0, 1, ..., ``epochs`` steps (length
            ``epochs + 1``). ``epochs`` must then be a concrete int, since it sets the length.
        fast_math: None (the default): vectorised ``sin``/``cos`` on a CPU, as in
            :func:`jaxgd.sweep` (whose rule this shares); True: always; False: XLA's own.

    Returns:
        The position after ``epochs`` steps, of ``x0``'s shape (a scalar, or ``(d,)``) in the
        default float dtype (float32, or float64 with ``jax_enable_x64``); or the trajectory,
        shape ``(epochs + 1,)`` or ``(epochs + 1, d)``.

    Raises:
        TypeError, ValueError: for a bad ``f`` or argument, before anything is compiled; the
            message names the argument and the fix. ``f`` is checked by tracing it and its
            gradient once (remembered per ``f``): NumPy callables, Python branches on ``x``,
            loops or callbacks ``jax.grad`` cannot differentiate, and exceptions raised inside
            ``f`` are all reported as a problem of ``f``.
        MemoryError: with ``trajectory=True``, when ``epochs + 1`` positions would not fit in
            the memory available (host memory on a CPU, the device's on a GPU).

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxgd
        >>> def f(x):
        ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> x = jaxgd.descend(f, 0.0, learning_rate=0.01, epochs=1000)
        >>> round(float(x), 3)
        -1.429
        >>> jaxgd.descend(f, 0.0, 0.01, 3, trajectory=True).shape
        (4,)
        >>> xs = jax.vmap(jaxgd.descend, in_axes=(None, 0, None, None))(
        ...     f, jnp.array([-1.0, 4.0]), 0.1, 1000)
        >>> [round(float(v), 2) for v in xs]
        [-1.43, 4.31]
        >>> import optax
        >>> round(float(jaxgd.descend(f, 0.0, 0.1, 300, optimizer=optax.adam)), 3)
        -1.429
        >>> himmelblau = lambda p: (p[0]**2 + p[1] - 11)**2 + (p[0] + p[1]**2 - 7)**2
        >>> jaxgd.descend(himmelblau, jnp.array([1.0, 1.0]), 0.01, 500).round(3).tolist()
        [3.0, 2.0]
    """
    if not isinstance(trajectory, bool | np.bool_):
        raise TypeError(
            f"trajectory must be True or False; got {type(trajectory).__name__} "
            f"{trajectory!r:.40}. Pass trajectory=True for every position."
        )
    dtype = default_float()
    if not callable(f):  # f is the first argument: named first
        check_function(f, dtype)
    fast = fast_math_for(fast_math, dtype)
    if isinstance(optimizer, Mapping):
        raise TypeError(
            "descend runs one optimizer; got a dict. Pass one (optimizer=optax.adam), or use "
            "jaxgd.sweep(..., optimizer={...}) to compare several in one call."
        )
    prepare = partial(
        _axes.prepare,
        f=f,
        fast=fast,
        optimizer=optimizer,
        hyperparams=hyperparams,
        schedule=schedule,
        params=params,
        dtype=dtype,
        scalar=True,
    )
    try:
        shape = shape_of(x0, "x0", "a scalar or one point of shape (d,)")
    except ValueError:
        # Uneven rows, so no shape to check f on: f that fails on every shape x0 could mean
        # (a scalar, or a point of 1 to 8 coordinates) is named first, as the first argument.
        try:
            ragged = prepare(point=())
        except (TypeError, ValueError):  # a later argument's error: x0's comes first
            pass
        else:
            check_function_for_ragged(f, [x0], dtype, _axes.theta_spec(ragged, scalar=True))
        raise
    point = (int(shape[0]),) if len(shape) == 1 else ()
    axes = prepare(point=point)
    theta = _axes.theta_spec(axes, scalar=True)
    if 0 in shape:  # before f is checked on it: f(x) on no coordinates fails, blamed on f
        message = (
            f"x0 holds no numbers (shape {shape}); pass one number, or one point of shape "
            "(d,) with d >= 1 coordinates."
        )
        refuse_empty(f, shape, dtype, theta, message, batched=False)
    try:
        check_function(f, dtype, shape=point, theta=theta, batched=False)
    except (TypeError, ValueError) as e:
        if point:
            # f may be a function of a scalar given a vector by mistake: say both, as sweep.
            try:
                check_function(f, dtype, theta=theta, batched=False)
            except (TypeError, ValueError):
                pass
            else:
                if point == (1,):  # np.random.choice(x, 1): the scalar's own message
                    as_float_scalar("x0", x0, dtype)
                as_float_axis("x0", x0, dtype)  # values that are not numbers: say that first
                fix = (
                    "If f is a function of a scalar, pass one number as x0 (jaxgd.sweep runs "
                    "from many starts)."
                )
                if params is not None:  # theta's shape may be the slip, not x0's
                    fix = f"{theta_hint(theta, point)} {fix}"
                raise type(e)(
                    f"x0 has shape {shape}, one point of R^{shape[0]}, so f is called on x of "
                    f"shape {point}, and {e} {fix}"
                ) from e
        if len(shape) > 1 and shape[-1] > 0:
            # f of a vector fails on the scalar it was checked on: x0's shape is the slip
            # (a point as a row, x[None]), not f.
            try:
                check_function(f, dtype, shape=(int(shape[-1]),), theta=theta, batched=False)
            except (TypeError, ValueError):
                raise e from None
            _x0_shape_error(shape)
        if not point:  # f of a scalar theta, given an array of them as its one theta
            blame_theta_shape(f, dtype, theta, e, batched=False)
        raise
    if len(shape) > 1:  # after f, which is checked first as the first argument
        _x0_shape_error(shape)
    x0 = as_float_axis("x0", x0, dtype) if point else as_float_scalar("x0", x0, dtype)
    learning_rate = as_float_scalar("learning_rate", learning_rate, dtype, nonnegative=True)
    count = as_epoch_count("epochs", epochs)
    _axes.check_rules(axes, dtype)
    (rule,) = axes.rules
    c = {"lr": learning_rate, "hp": tuple(axes.hyper.values()), "theta": axes.theta}
    if trajectory:
        if not is_concrete(count):
            raise ValueError(
                "trajectory=True needs epochs to be a concrete int, since it sets the "
                "trajectory's length; pass a Python int (not a traced or batched value)."
            )
        n = int(count)
        _check_trajectory_fits(n, dtype, math.prod(point))
        return _trajectory(rule, x0, c, n)
    return _descend(rule, x0, c, count)


def _x0_shape_error(shape: tuple[int, ...]) -> None:
    raise ValueError(
        f"x0 must be a scalar or one point of shape (d,); got shape {shape}. Pass "
        f"np.ravel(x0) if it is one point, or use jaxgd.sweep to run from many starts."
    )


def _check_trajectory_fits(epochs: int, dtype: np.dtype, width: int = 1) -> None:
    """MemoryError, with the size and the fix, when ``epochs + 1`` positions cannot fit."""
    need = (epochs + 1) * width * np.dtype(dtype).itemsize
    device = jax.devices()[0]
    stats = None
    if device.platform != "cpu":
        try:
            stats = device.memory_stats()
        except Exception:  # some backends raise instead of returning None
            stats = None
    if stats and "bytes_limit" in stats:
        free, where = (
            stats["bytes_limit"] - stats.get("bytes_in_use", 0),
            f"{device.platform} memory",
        )
    else:
        free, where = available_host_memory(), "host memory"
    if free is not None and need > free:
        raise MemoryError(
            f"trajectory=True with epochs={epochs} needs {need / 2**30:.2f} GiB ({epochs + 1} "
            f"positions of {np.dtype(dtype)}) and {free / 2**30:.2f} GiB of {where} is "
            "available. Pass trajectory=False for the end point only, or record every k-th "
            "position with jaxgd.sweep(f, x0, learning_rate, np.arange(0, epochs + 1, k))."
        )
