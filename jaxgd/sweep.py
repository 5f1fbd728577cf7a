"""Every (start, learning rate, epoch count) of gradient descent in one compiled call."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd._validate import as_epochs, as_float_axis, check_function, default_float
from jaxgd.result import SweepResult, function_name

__all__ = ["sweep"]


def _segments(epochs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Steps between consecutive sorted epoch counts, and where each sorted count goes back to."""
    order = jnp.argsort(epochs, stable=True)
    lengths = jnp.diff(epochs[order], prepend=0)
    return lengths, order


def _descend_segments(
    f: Callable, x0: jax.Array, learning_rate: jax.Array, lengths: jax.Array
) -> jax.Array:
    """One run from one start at one rate, read off after each segment: shape (E,).

    This is the single-example function; :func:`_sweep_arrays` vmaps it over starts and rates.
    The segment lengths are shared by every lane, so under vmap each ``fori_loop`` is one loop
    stepping all S*L lanes at once.
    """
    grad = jax.grad(f)

    def segment(x, n):
        x = jax.lax.fori_loop(0, n, lambda _, x: x - learning_rate * grad(x), x)
        return x, x

    _, xs = jax.lax.scan(segment, x0, lengths)
    return xs


@partial(jax.jit, static_argnums=0)
def _sweep_arrays(
    f: Callable, starts: jax.Array, learning_rates: jax.Array, epochs: jax.Array
) -> SweepResult:
    """The sweep of 1-D starts, rates and integer epoch counts, as one jitted function."""
    lengths, order = _segments(epochs)
    run = partial(_descend_segments, f, lengths=lengths)
    per_rate = jax.vmap(run, in_axes=(None, 0))
    final_sorted = jax.vmap(per_rate, in_axes=(0, None))(starts, learning_rates)
    # Scatter the sorted epoch axis back to the caller's order.
    final = jnp.zeros_like(final_sorted).at[..., order].set(final_sorted)
    value = jax.vmap(jax.vmap(jax.vmap(f)))(final)
    return SweepResult(
        final=final,
        value=value,
        diverged=~jnp.isfinite(final),
        starts=starts,
        learning_rates=learning_rates,
        epochs=epochs,
        function=function_name(f),
    )


def sweep(
    f: Callable[[jax.Array], jax.Array],
    starts: float | jax.Array | np.ndarray,
    learning_rates: float | jax.Array | np.ndarray,
    epochs: int | jax.Array | np.ndarray,
) -> SweepResult:
    """Gradient descent for every start, learning rate and epoch count, in one compiled call.

    For each (start, rate) pair, one descent runs ``max(epochs)`` steps of
    ``x <- x - rate * f'(x)`` (``f'`` from ``jax.grad``) and the position after each requested
    epoch count is read off that one trajectory: ``S * L * max(E)`` gradient steps in all, not
    ``S * L * sum(E)`` as rerunning each cell would take.

    Only ``f`` is static: new values for ``starts``, ``learning_rates`` or ``epochs`` with the
    same shapes reuse the compiled code. Computation is in float32 by default and in float64
    after ``jax.config.update("jax_enable_x64", True)``.

    A run that overflows is data, not an error: it is flagged in ``result.diverged`` and leaves
    every other cell untouched.

    Args:
        f: the function to minimise, ``f(x) -> scalar``, written with ``jax.numpy``.
        starts: start points, a scalar or shape ``(S,)``.
        learning_rates: step sizes, non-negative, a scalar or shape ``(L,)``.
        epochs: step counts, non-negative whole numbers in any order, a scalar or shape ``(E,)``.
            Duplicates are fine, 0 is the start itself, and integral floats such as
            ``np.round(np.linspace(10, 500, 40))`` are accepted.

    Returns:
        A :class:`~jaxgd.SweepResult` whose ``final``, ``value`` and ``diverged`` have shape
        ``(S, L, E)``, axes in the caller's order (a scalar argument is an axis of length 1).

    Raises:
        TypeError, ValueError: for a bad ``f`` or argument, before anything is compiled; the
            message names the argument and the fix. Inside a caller's ``jax.jit`` the checks
            that need concrete values are skipped.

    Example:
        >>> import jax.numpy as jnp
        >>> import numpy as np
        >>> import jaxgd
        >>> def f(x):
        ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> res = jaxgd.sweep(f, starts=jnp.linspace(-5, 5, 50),
        ...                   learning_rates=jnp.linspace(1e-10, 0.1, 50),
        ...                   epochs=np.round(np.linspace(10, 500, 40)))
        >>> res.final.shape
        (50, 50, 40)
        >>> cell = res.sel(start=-1.0, learning_rate=0.1, epochs=500, method="nearest")
        >>> round(float(cell.final), 2)
        -1.43
    """
    dtype = default_float()
    check_function(f, dtype)
    starts = as_float_axis("starts", starts, dtype)
    learning_rates = as_float_axis("learning_rates", learning_rates, dtype, nonnegative=True)
    epochs = as_epochs("epochs", epochs)
    return _sweep_arrays(f, starts, learning_rates, epochs)
