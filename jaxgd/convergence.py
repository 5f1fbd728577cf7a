"""How many epochs each (start, learning rate) run needs to settle, without storing trajectories."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd._validate import as_epochs, as_float_axis, check_function, default_float, is_concrete
from jaxgd.result import function_name

__all__ = ["Convergence", "convergence"]


@partial(jax.tree_util.register_dataclass, data_fields=None, meta_fields=None)
@dataclasses.dataclass(frozen=True)
class Convergence:
    """When each run settled, for every (start, learning rate).

    A JAX pytree; every data array has shape ``(S, L)``.

    Attributes:
        epoch: the first epoch from which the run stays within ``tol`` of where it ends (after
            ``epochs`` steps): ``|x_t - x_end| <= tol`` for every ``t >= epoch``. 0 means it
            started there. Meaningful where ``converged``; elsewhere it is where the run last
            came within ``tol`` of a point it had not settled at.
        converged: the run settled at a minimum: not diverged, its last step was shorter than
            ``tol``, and where it ended ``f'' > 0`` and the Newton distance
            ``|f'(x) / f''(x)|`` to the nearest stationary point is at most ``tol``. A run that
            barely moved (a tiny rate, a plateau) or sits on a maximum or saddle is not
            converged, however short its steps.
        diverged: the run is no longer finite.
        final: x after ``epochs`` steps.
        last_step: ``|x_end - x_(end-1)|``, the length of the last step (0 when ``epochs`` is 0).
        starts, learning_rates: the coordinates, shapes ``(S,)`` and ``(L,)``.
        epochs: how many steps each run took (a scalar).
        tol: the tolerance, in units of x.
        function: the name of ``f``.
    """

    epoch: jax.Array
    converged: jax.Array
    diverged: jax.Array
    final: jax.Array
    last_step: jax.Array
    starts: jax.Array
    learning_rates: jax.Array
    epochs: jax.Array
    tol: jax.Array
    function: str = dataclasses.field(default="", metadata={"static": True})

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.epoch.shape)


def _converge_one(f: Callable, x0, learning_rate, epochs, tol):
    """One run, two passes over the same deterministic trajectory, O(1) memory.

    Pass 1 finds where the run ends; pass 2 replays it and remembers the last epoch that was
    farther than ``tol`` from that end. Both passes compute identical iterates (same ops in the
    same order), so replaying costs steps, not memory.
    """
    grad = jax.grad(f)

    def step(x):
        return x - learning_rate * grad(x)

    def first_pass(_, carry):
        x, _ = carry
        x_next = step(x)
        return x_next, jnp.abs(x_next - x)

    zero = jnp.zeros_like(x0)
    end, last_step = jax.lax.fori_loop(0, epochs, first_pass, (x0, zero))

    def second_pass(t, carry):
        x, last_far = carry
        # NaN compares False, so a non-finite position counts as far.
        far = ~(jnp.abs(x - end) <= tol)
        return step(x), jnp.where(far, t, last_far)

    _, last_far = jax.lax.fori_loop(0, epochs, second_pass, (x0, jnp.asarray(-1, epochs.dtype)))
    diverged = ~jnp.isfinite(end)
    # Short steps alone would count a run with a tiny rate as converged where it started.
    slope, curvature = jax.value_and_grad(grad)(end)
    at_minimum = (curvature > 0) & (jnp.abs(slope) <= tol * curvature)
    converged = ~diverged & (last_step < tol) & at_minimum
    return last_far + 1, converged, diverged, end, last_step


@partial(jax.jit, static_argnums=0)
def _convergence(f, starts, learning_rates, epochs, tol) -> Convergence:
    run = partial(_converge_one, f, epochs=epochs, tol=tol)
    epoch, converged, diverged, final, last_step = jax.vmap(
        jax.vmap(run, in_axes=(None, 0)), in_axes=(0, None)
    )(starts, learning_rates)
    return Convergence(
        epoch=epoch,
        converged=converged,
        diverged=diverged,
        final=final,
        last_step=last_step,
        starts=starts,
        learning_rates=learning_rates,
        epochs=epochs,
        tol=tol,
        function=function_name(f),
    )


def convergence(
    f: Callable[[jax.Array], jax.Array],
    starts: float | jax.Array | np.ndarray,
    learning_rates: float | jax.Array | np.ndarray,
    epochs: int,
    *,
    tol: float = 1e-4,
) -> Convergence:
    """Epochs to converge for every (start, learning rate), in one compiled call.

    Each run takes ``epochs`` steps of ``x <- x - rate * f'(x)``. Its convergence epoch is the
    first epoch from which it stays within ``tol`` of where it ends. That needs the end before
    the epoch can be known, so the compiled function runs each descent twice, the second time
    replaying the identical trajectory: ``2 * S * L * epochs`` gradient steps and O(1) memory
    per run, where storing trajectories would take ``S * L * epochs`` numbers.

    A run is ``converged`` when its last step is shorter than ``tol`` and it ended within
    about ``tol`` of a minimum (by a Newton step, ``|f'/f''|``). Runs still oscillating,
    crawling over a plateau, stalled by a tiny rate, or resting on a maximum are not;
    one that overflowed is ``diverged``.

    Args:
        f: the function to minimise, ``f(x) -> scalar``, written with ``jax.numpy``.
        starts: start points, a scalar or shape ``(S,)``.
        learning_rates: non-negative step sizes, a scalar or shape ``(L,)``.
        epochs: how many steps every run takes, a non-negative whole number.
        tol: distance in x that counts as "there", positive.

    Returns:
        A :class:`Convergence` with arrays of shape ``(S, L)``.

    Example:
        >>> import jax.numpy as jnp
        >>> import jaxgd
        >>> def f(x):
        ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> conv = jaxgd.convergence(f, [0.0, 1.6], [0.01, 0.1], epochs=3000, tol=1e-4)
        >>> conv.shape
        (2, 2)
        >>> conv.converged.all().item()
        True
        >>> # From 0, rate 0.1 settles about ten times sooner than rate 0.01.
        >>> (conv.epoch[0, 0] / conv.epoch[0, 1]).round().item()
        10.0
    """
    dtype = default_float()
    check_function(f, dtype)
    starts = as_float_axis("starts", starts, dtype)
    learning_rates = as_float_axis("learning_rates", learning_rates, dtype, nonnegative=True)
    if np.ndim(epochs) != 0:
        raise ValueError(
            f"epochs must be one whole number for convergence (every run takes that many "
            f"steps); got shape {np.shape(epochs)}. Pass the longest count you want to allow."
        )
    (n,) = as_epochs("epochs", epochs)
    if np.ndim(tol) != 0 or (is_concrete(tol) and not float(tol) > 0):
        raise ValueError(f"tol must be a positive scalar distance in x; got {tol!r}.")
    (tol_arr,) = as_float_axis("tol", tol, dtype)
    return _convergence(f, starts, learning_rates, n, tol_arr)
