"""One run of plain gradient descent, ``x <- x - learning_rate * f'(x)``, f' from autodiff."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp

from jaxgd._validate import as_epochs, as_float_axis, check_function, default_float, is_concrete

__all__ = ["descend"]


def _step(f: Callable, learning_rate: jax.Array, x: jax.Array) -> jax.Array:
    return x - learning_rate * jax.grad(f)(x)


@partial(jax.jit, static_argnums=0)
def _descend(f: Callable, x0: jax.Array, learning_rate: jax.Array, epochs: jax.Array) -> jax.Array:
    # A traced trip count makes this a while loop: new epoch counts never recompile, and vmap
    # over `epochs` runs each lane for its own count.
    return jax.lax.fori_loop(0, epochs, lambda _, x: _step(f, learning_rate, x), x0)


@partial(jax.jit, static_argnums=(0, 3))
def _trajectory(f: Callable, x0: jax.Array, learning_rate: jax.Array, epochs: int) -> jax.Array:
    def body(x, _):
        x = _step(f, learning_rate, x)
        return x, x

    _, xs = jax.lax.scan(body, x0, length=epochs)
    return jnp.concatenate([x0[None], xs])


def descend(
    f: Callable[[jax.Array], jax.Array],
    x0: float | jax.Array,
    learning_rate: float | jax.Array,
    epochs: int | jax.Array,
    *,
    trajectory: bool = False,
) -> jax.Array:
    """Run gradient descent on a 1-D function from one start.

    Each step is ``x <- x - learning_rate * f'(x)`` with ``f' = jax.grad(f)``; the loop is a
    ``jax.lax.fori_loop``, compiled once per ``f``. A run that overflows is not an error: its
    result is simply ``inf`` or ``nan``.

    ``descend`` works on one start; batch it with ``jax.vmap`` over ``x0``, ``learning_rate`` and
    ``epochs`` (or use :func:`jaxgd.sweep`, which shares one descent across all epoch counts).
    It composes with ``jax.jit`` and forward-mode AD (``jax.jvp``, ``jax.jacfwd``) in ``x0`` and
    ``learning_rate``.

    Args:
        f: the function to minimise, ``f(x) -> scalar`` for a scalar ``x``, written with
            ``jax.numpy``. No derivative is needed.
        x0: the start, a scalar.
        learning_rate: the step size, a non-negative scalar.
        epochs: how many steps, a non-negative whole number (0 returns ``x0``).
        trajectory: if True, return every position, after 0, 1, ..., ``epochs`` steps (length
            ``epochs + 1``). ``epochs`` must then be a concrete int, since it sets the length.

    Returns:
        The position after ``epochs`` steps, a scalar array of the default float dtype
        (float32, or float64 with ``jax_enable_x64``); or the trajectory, shape ``(epochs + 1,)``.

    Raises:
        TypeError, ValueError: for a bad ``f`` or argument, before anything is compiled; the
            message names the argument and the fix.

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
    """
    dtype = default_float()
    check_function(f, dtype)
    x0 = _scalar("x0", x0, dtype, nonnegative=False)
    learning_rate = _scalar("learning_rate", learning_rate, dtype, nonnegative=True)
    if trajectory:
        if not is_concrete(epochs) or jnp.ndim(epochs) != 0:
            raise ValueError(
                "trajectory=True needs epochs to be a concrete int, since it sets the "
                "trajectory's length; pass a Python int (not a traced or batched value)."
            )
        (n,) = as_epochs("epochs", epochs)
        return _trajectory(f, x0, learning_rate, int(n))
    epochs = as_epochs("epochs", epochs)
    return _descend(f, x0, learning_rate, epochs.reshape(()))


def _scalar(name: str, value, dtype, *, nonnegative: bool) -> jax.Array:
    if jnp.ndim(value) != 0:
        hint = (
            " np.random.choice(x, 1) returns an array of one element: use np.random.choice(x)."
            if jnp.shape(value) == (1,)
            else " To run many, use jax.vmap(jaxgd.descend, ...) or jaxgd.sweep."
        )
        raise ValueError(f"{name} must be a scalar; got shape {jnp.shape(value)}.{hint}")
    (out,) = as_float_axis(name, value, dtype, nonnegative=nonnegative)
    return out
