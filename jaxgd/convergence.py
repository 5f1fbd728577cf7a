"""How many epochs each (start, learning rate) run needs to settle, without storing trajectories."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd import _chunking, _run
from jaxgd._validate import (
    as_epoch_count,
    as_float_axis,
    as_float_scalar,
    check_function,
    default_float,
    default_int,
    in_trace,
    is_concrete,
)
from jaxgd.analysis import _STALL_FLOATS
from jaxgd.minima import _outside_level
from jaxgd.result import function_name

__all__ = ["Convergence", "convergence"]


@partial(jax.tree_util.register_dataclass, data_fields=None, meta_fields=None)
@dataclasses.dataclass(frozen=True, eq=False)
class Convergence:
    """When each run settled, for every (start, learning rate).

    A JAX pytree: ``epoch``, ``converged``, ``diverged``, ``final`` and ``last_step`` have
    shape ``(S, L)``; ``starts`` ``(S,)``, ``learning_rates`` ``(L,)``, ``epochs`` and
    ``tol`` are scalars.

    Attributes:
        epoch: the first epoch from which the run stays within ``tol`` of where it ends (after
            ``epochs`` steps): ``|x_t - x_end| <= tol`` for every ``t >= epoch``. 0 means it
            started there. Meaningful where ``converged``; elsewhere it is where the run last
            came within ``tol`` of a point it had not settled at.
        converged: the run settled at a minimum: not diverged, its last step was shorter than
            ``tol``, and where it ended ``f'' > 0`` and the Newton distance
            ``|f'(x) / f''(x)|`` to the nearest stationary point is at most ``tol``, and that
            point is a minimum: ``f'`` goes from negative to positive within ``4 tol`` of where
            the run ended. Or its last step was shorter than ``tol`` and ``f'`` goes from
            negative to positive within ``tol`` of where it ended, so a minimum lies within
            ``tol`` whatever ``f''`` says: a kink, where ``f'`` jumps and ``f'' = 0`` (``|x|``,
            a hinge), a cusp (``|x|**1.5``), or the low side of a jump of f (as
            :func:`jaxgd.minima.find_minima` reports it). Either sign change counts only
            where f is bounded below between the fall and the rise: across a pole
            (``-1 / x**2``, ``log|x|``) f' turns too, and no minimum is there. Or, at a flat
            minimum (``f' = 0`` on a
            stretch, so no Newton distance), its last step was shorter than ``tol``, it
            ended within ``tol`` of the stretch, and the first ``f' != 0`` beyond the
            stretch is negative below it and positive above it, however far away
            (``max(|x| - 1, 0)**2`` on ``[-1, 1]``), with f one value where f' = 0 up to
            there and no lower where f' turns (a step of a staircase, f' = 0 and f lower on
            the next step, is no minimum). In every case f must also climb out of the
            minimum on both sides: the first point beyond it where f differs from its
            level by more than rounding is higher (a sign of f' that is only its rounding,
            on a float32 plateau where f is level to the last bit, is no minimum). A run
            that barely moved (a tiny rate, a plateau),
            sits on a maximum or saddle, or crawls towards a saddle (``x**3`` from ``x > 0``,
            convex on the way) is not converged, however short its steps, unless a minimum
            lies within ``tol`` of where it stopped.
        diverged: the run's position or its value ``f(final)`` is not finite.
        final: x after ``epochs`` steps.
        last_step: ``|x_end - x_(end-1)|``, the length of the last step (0 when ``epochs`` is 0).
        starts, learning_rates: the coordinates, shapes ``(S,)`` and ``(L,)``.
        epochs: how many steps each run took (a scalar).
        tol: the tolerance, in units of x.
        function: the name of ``f``.
        math: which ``sin``/``cos`` (and float32 ``tan``) computed the runs: ``"fast"``
            (:mod:`jaxgd.fastmath`) or ``"xla"`` (XLA's own), as ``SweepResult.math``.
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
    math: str = dataclasses.field(default="", metadata={"static": True})

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.epoch.shape)


def _ndim(name: str, value: Any, example: str) -> int:
    """``np.ndim(value)``, or an error naming ``name`` and an ``example`` of one number for
    what has no shape (ragged lists)."""
    try:
        return int(np.ndim(value))
    except ValueError:
        raise ValueError(
            f"{name} must be one number; got {value!r:.60}, a nested sequence of uneven "
            f"lengths. Pass one number, e.g. {example}."
        ) from None


def _positive(name: str, value: Any) -> bool:
    """Whether the scalar ``value`` is a number above 0; an error naming ``name`` for one
    that is not a real number at all (a string, None, a complex)."""
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None or np.iscomplexobj(value):
        raise TypeError(
            f"{name} must be a positive real number (a distance in x); got "
            f"{type(value).__name__} {value!r}."
        )
    try:
        return float(value) > 0
    except OverflowError:  # an int beyond any float: positive or not, too large for a tol
        raise ValueError(
            f"{name} is too large for any float ({value!r:.30}); pass a distance in x, e.g. "
            f"{name}=1e-3."
        ) from None
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a positive real number (a distance in x); got "
            f"{type(value).__name__} {value!r}."
        ) from None


def _first_pass(f, fast, x, lr, t0, t1, last_step):
    """Steps ``[t0, t1)`` of the lanes ``x``, and the length of the last one."""
    grad = jax.vmap(jax.vmap(_run.derivative(jax.grad(f), fast)))

    def body(_, carry):
        x, _ = carry
        x_next = x - lr * grad(x)
        return x_next, jnp.abs(x_next - x)

    return jax.lax.fori_loop(t0, t1, body, (x, last_step))


def _second_pass(f, fast, x, lr, end, tol, t0, t1, last_far):
    """Replays steps ``[t0, t1)`` and remembers the last epoch farther than ``tol`` from ``end``."""
    grad = jax.vmap(jax.vmap(_run.derivative(jax.grad(f), fast)))

    def body(t, carry):
        x, last_far = carry
        # NaN compares False, so a non-finite position counts as far.
        far = ~(jnp.abs(x - end) <= tol)
        return x - lr * grad(x), jnp.where(far, t, last_far)

    return jax.lax.fori_loop(t0, t1, body, (x, last_far))


#: Points probed on each side of where a run ended, for the sign change of f' that confirms a
#: minimum there: distances doubling from the Newton distance (or one float) up to
#: ``_BRACKET_REACH * tol``, enough for a minimum 2**31 Newton distances away.
_BRACKET_PROBES = 32
_BRACKET_REACH = 4


def _brackets_minimum(grad, end, slope, curvature, tol):
    """Whether ``f'`` goes from negative to positive across ``end``, within
    ``_BRACKET_REACH * tol`` of it: ``f' < 0`` at ``end`` or at a probe below it, and
    ``f' > 0`` at ``end`` or at a probe above it; and the nearest such points, ``below`` and
    ``above``, which bracket the turn.

    The Newton test alone cannot tell a minimum from a saddle it approaches: ``x**3`` is
    convex right of 0, so a run crawling towards 0 passes it, yet f has no minimum there (f'
    never changes sign). The probes double from the Newton distance ``|f'/f''|`` (or the
    spacing of floats at ``end``, if larger): the first probe past a minimum lies at most
    twice as far as the minimum, before f' turns back at the next maximum. Left of a
    degenerate minimum (``x**4``, Newton distance x/3) the probes reach it within a few
    doublings. A turn across a pole is no minimum, nor one whose ends have f not finite
    (:func:`_no_pole_between` checks).
    """
    reach = _BRACKET_REACH * tol
    # One float away at least (a normal one: subnormals may be flushed to 0 on the device),
    # also where tol is finer than the floats at end.
    spacing = jnp.maximum(jnp.nextafter(end, jnp.inf) - end, end - jnp.nextafter(end, -jnp.inf))
    least = jnp.maximum(spacing, jnp.finfo(end.dtype).tiny)
    first = jnp.maximum(jnp.abs(slope / curvature), least).astype(end.dtype)

    def step(h):
        return jnp.maximum(jnp.minimum(h, reach), least).astype(end.dtype)

    def body(h, _):
        return h * 2, (grad(end - step(h)) < 0, grad(end + step(h)) > 0)

    # Each probe's signs as a scan's outputs: carried from probe to probe instead, the
    # bracket's ends made the loop several times slower on a CPU.
    _, (falls, rises) = jax.lax.scan(body, first, length=_BRACKET_PROBES)
    # The probes move away from end: the first one with the sign is the nearest.
    lower = jnp.where(slope < 0, end, end - step(first * 2.0 ** _first(falls)))
    upper = jnp.where(slope > 0, end, end + step(first * 2.0 ** _first(rises)))
    below = (slope < 0) | falls.any(axis=0)
    above = (slope > 0) | rises.any(axis=0)
    return below & above, lower, upper


def _first(mask):
    """The first ``k`` where ``mask[k]``, for stacks of probes ``(K, *lanes)`` (the last ``k``
    where there is none), as a float."""
    k = jnp.where(mask.any(axis=0), jnp.argmax(mask, axis=0), mask.shape[0] - 1)
    return k.astype(jnp.result_type(float))


#: Probes on each side of where a run ended, for a minimum where f' jumps: distances halving
#: from ``tol``, down to ``2**-31 tol``.
_KINK_PROBES = 32


def _turns_within(grad, end, slope, tol):
    """Whether ``f'`` goes from negative to positive within ``tol`` of ``end``: ``f' < 0`` at
    ``end`` or at a probe below it, and ``f' > 0`` at ``end`` or at a probe above it; and
    the nearest such points, ``below`` and ``above``, which bracket the turn.

    Then f falls at the one point and rises at the other, so it has a minimum between them,
    within ``tol`` of ``end``, whatever ``f''`` says there, if f is continuous between them
    (:func:`_no_pole_between` checks). That covers the minima the Newton test cannot see: a
    kink, where ``f'`` jumps from negative to positive and ``f'' = 0`` on both sides
    (``|x|``, ``|x - 1| + x**2``, a hinge), so there is no Newton distance; and a cusp,
    where the Newton distance overstates how far the minimum is (``|x|**1.5``: twice as
    far). The probes halve from ``tol``, so a sign change a little beyond a nearby kink is
    found before f' could turn again.
    """
    h0 = jnp.broadcast_to(tol, end.shape).astype(end.dtype)

    def body(h, _):
        return h / 2, (grad(end - h) < 0, grad(end + h) > 0)

    _, (falls, rises) = jax.lax.scan(body, h0, length=_KINK_PROBES)
    # The probes close in on end: the last one with the sign is the nearest.
    last = _KINK_PROBES - 1
    lower = jnp.where(slope < 0, end, end - h0 * 0.5 ** (last - _first(falls[::-1])))
    upper = jnp.where(slope > 0, end, end + h0 * 0.5 ** (last - _first(rises[::-1])))
    below = (slope < 0) | falls.any(axis=0)
    above = (slope > 0) | rises.any(axis=0)
    return below & above, lower, upper


#: Bisections of the bracket around a turn of f', looking for a pole inside it.
_POLE_HALVINGS = 64


def _no_pole_between(value_and_grad, lower, upper, todo):
    """Whether f is finite and bounded below between ``lower`` (``f' < 0``) and ``upper``
    (``f' > 0``), as far as bisection on the sign of f' can tell: a minimum lies between a
    fall and a rise only where f does not run off to ``-inf`` between them. Asked where
    ``todo`` (True elsewhere).

    ``-1 / x**2`` falls towards 0 from -1 and rises from it at 5, yet it has no minimum
    there: f' turns across its pole. The bracket is halved towards the turn, 64 times or
    down to neighbouring floats, and f at every midpoint must be finite and no lower than
    four times the slope at the end on its side of the turn (``lower`` where f' < 0 there,
    else ``upper``) can take it from that end, plus rounding at f's size. A continuous f
    whose slope grows no more than fourfold on the way (a kink, a hinge, ``|x|**1.5``, and
    ``sqrt|x|``, whose infinite slope at 0 leaves f finite) stays above that; a pole falls
    below it within a few halvings (``log|x|``, the slowest, once the midpoints are a
    fiftieth as far from it as the end). A jump of f is no pole: each side of it is held to
    its own end, and its low side is a minimum, as :func:`jaxgd.minima.find_minima` reports
    it. Where the floats around the turn run out first, f at them is what counts: a
    ``log`` pole whose bracket spans fewer than about 50 floats passes for a cusp.
    """
    v_lo, g_lo = value_and_grad(lower)
    v_hi, g_hi = value_and_grad(upper)
    eps = jnp.finfo(lower.dtype).eps
    slack = 16 * eps * jnp.maximum(1, jnp.maximum(jnp.abs(v_lo), jnp.abs(v_hi)))
    fall, rise = 4 * jnp.abs(g_lo), 4 * jnp.abs(g_hi)

    def halving(a, b, ok):
        mid = (a / 2 + b / 2).astype(lower.dtype)
        return mid, ok & (mid > a) & (mid < b)  # not yet at neighbouring floats

    def more(carry):
        a, b, ok, k = carry
        return (k < _POLE_HALVINGS) & jnp.any(halving(a, b, ok)[1])

    def body(carry):
        a, b, ok, k = carry
        mid, active = halving(a, b, ok)
        v, g = value_and_grad(mid)
        left = g < 0  # NaN: the upper half
        # Each side of the turn from its own end: across a jump, the other end's f is not
        # f on this side.
        floor = jnp.where(left, v_lo - fall * (mid - lower), v_hi - rise * (upper - mid))
        ok = ok & (~active | (jnp.isfinite(v) & (v >= floor - slack)))
        return jnp.where(active & left, mid, a), jnp.where(active & ~left, mid, b), ok, k + 1

    # Lanes not asked about stop at once; the rest stop at neighbouring floats or a pole.
    ok = todo & jnp.isfinite(v_lo) & jnp.isfinite(v_hi)
    _, _, ok, _ = jax.lax.while_loop(more, body, (lower, upper, ok, 0))
    return ok | ~todo


#: Probes on each side of a run that ended by a stretch where f' = 0: distances doubling
#: from ``tol``, out to ``2**63 tol``, for the first point where f' != 0.
_FLAT_PROBES = 64


def _on_flat_minimum(value_and_grad, end, value, slope, tol):
    """Whether ``end``, within ``tol`` of a stretch where ``f' = 0``, lies at a flat minimum:
    the first probe below it where ``f' != 0`` has ``f' < 0``, and the first above it
    ``f' > 0``. So f falls into the flat stretch and rises out of it, however wide it is
    (``max(|x| - 1, 0)**2`` on ``[-1, 1]``); a maximum, a saddle (``x**3`` at 0), a shelf
    that f falls away from, or a stretch where f' never turns (f' underflowing to 0) is
    not one. A probe where f' is not finite ends the look on that side: no sign.

    f must also be one value wherever f' = 0 on the way (at ``end``, with ``value``, where
    its ``slope`` is 0, and at the probes before each side's first ``f' != 0``), and no
    lower at those first probes, to rounding at f's size: a step of a staircase
    (``jnp.floor(x) + max(|x| - 5, 0)**2``, f' = 0 on every step) has f lower on the next
    step, and is no minimum however the walls beyond it slope.
    """
    spacing = jnp.maximum(jnp.nextafter(end, jnp.inf) - end, end - jnp.nextafter(end, -jnp.inf))
    first = jnp.maximum(jnp.maximum(tol, spacing), jnp.finfo(end.dtype).tiny).astype(end.dtype)

    def side(sign, wall, low, high, at):
        # f and f' at one probe of one side: its first sign and f there (the wall), and the
        # range of f over the probes before it, where f' = 0.
        v, g = value_and_grad(at)
        looking = sign == 0
        level = looking & (g == 0)
        low, high = (
            jnp.where(level, jnp.minimum(low, v), low),
            jnp.where(level, jnp.maximum(high, v), high),
        )
        # 0 until f' != 0 is met on that side; then its sign (NaN where f' is not finite).
        return jnp.where(looking, jnp.sign(g), sign), jnp.where(looking, v, wall), low, high

    def body(k, carry):
        below, wall_below, above, wall_above, low, high, h = carry
        below, wall_below, low, high = side(below, wall_below, low, high, end - h)
        above, wall_above, low, high = side(above, wall_above, low, high, end + h)
        return below, wall_below, above, wall_above, low, high, h * 2

    zero = jnp.zeros_like(end)
    low = jnp.where(slope == 0, value, jnp.inf).astype(end.dtype)
    high = jnp.where(slope == 0, value, -jnp.inf).astype(end.dtype)
    below, wall_below, above, wall_above, low, high, _ = jax.lax.fori_loop(
        0, _FLAT_PROBES, body, (zero, zero, zero, zero, low, high, first)
    )
    eps = jnp.finfo(end.dtype).eps
    slack = 16 * eps * jnp.maximum(1, jnp.maximum(jnp.abs(low), jnp.abs(high)))
    level = (high - low <= slack) & (wall_below >= low - slack) & (wall_above >= low - slack)
    return (below == -1) & (above == 1) & level


#: Probes on each side of a claimed minimum for f rising out of it: distances doubling from
#: the bracket of the turn of f' (or ``tol`` for a flat minimum), and from ``2**-32 tol`` at
#: least, out to ``2**64 tol`` at least.
_RISE_PROBES = 96


def _rises_both_sides(value_fn, lower, upper, first, tol, todo):
    """Whether f itself rises out of ``[lower, upper]`` on both sides: going out from each end
    (distances doubling from ``first``, or from ``2**-32 tol`` where ``first`` is
    nearer: a run ending 1e-120 from a minimum has a bracket of that width, and f rises
    past its rounding only some 1e-8 away), the first point where f differs from the lowest of
    f at ``lower`` and ``upper`` by more than rounding at f's size is higher, not lower, and
    not NaN.
    Asked where ``todo`` (True elsewhere).

    The signs of f' that the other looks read are those of computed derivatives, which are
    rounding noise where f' is far below f's own scale: on the plateau of ``x**2 / (1 +
    x**2)`` at ``x = 3e4`` in float32, f is 1 to the last bit and f' a difference of two
    terms of about ``2 / x`` whose true value, ``2 / x**3``, is 50 times smaller than their
    rounding, so its sign flips from probe to probe and a "turn" of f' was found within
    ``tol``. Where a minimum is there, f climbs out of it on both sides, at some distance
    (past its rounding); a plateau never does (f stays level out to where it falls).
    """
    v_lo, v_hi = value_fn(lower), value_fn(upper)
    floor = jnp.minimum(v_lo, v_hi)
    eps = 16 * jnp.finfo(lower.dtype).eps
    # A rise is any beyond f's rounding at its own level: f may be small (1e-7 x**2 / (1 +
    # x**2) climbs 1e-7 in all), and a plateau level to the last bit never rises. A fall must
    # pass rounding at f's size or 1, as the other looks allow it: f summed from terms near 1
    # (cos(3x) + 0.1 x**2 near a minimum at -0.03) is noisy to 1e-16 in float64 even where it
    # is near 0, and that noise below its level is no way down. A rise needs less, 4 eps
    # (4 to 8 floats) of f's level: f far above how much it varies, 1e6 - cos(x) in float32,
    # climbs at most 2 (32 floats) out of its minimum, and past 16 eps only within 0.45 of
    # x = pi, where no probe of distances doubling from tol may land; past 4 eps it climbs
    # from x = 1.02 to 5.26, a span no doubling steps over.
    rise_at = floor + 0.25 * eps * jnp.abs(floor)
    fall_at = floor - eps * jnp.maximum(1, jnp.abs(floor))
    least = jnp.finfo(lower.dtype).tiny

    def sign(v, looking):
        new = jnp.where(v > rise_at, 1, jnp.where((v < fall_at) | jnp.isnan(v), -1, 0))
        return jnp.where(looking, new, 0)

    def more(carry):
        below, above, _, k = carry
        return (k < _RISE_PROBES) & jnp.any(todo & ((below == 0) | (above == 0)))

    def body(carry):
        below, above, h, k = carry
        below = below + sign(value_fn((lower - h).astype(lower.dtype)), below == 0)
        above = above + sign(value_fn((upper + h).astype(lower.dtype)), above == 0)
        return below, above, h * 2, k + 1

    zero = jnp.zeros(lower.shape, jnp.int32)
    # Each end first, then farther out: f at an end already above the other is a rise.
    below, above = sign(v_lo, todo), sign(v_hi, todo)
    h0 = jnp.maximum(jnp.maximum(first, tol * 2.0**-32), least).astype(lower.dtype)
    below, above, _, _ = jax.lax.while_loop(more, body, (below + zero, above + zero, h0, 0))
    return ((below == 1) & (above == 1)) | ~todo


def _settle(f, fast, end, last_step, last_far, tol):
    """``epoch``, ``converged``, ``diverged`` of the lanes, from where they ended."""
    value_of = jax.vmap(jax.vmap(_run.derivative(f, fast)))
    value = value_of(end).astype(end.dtype)
    # A cell is diverged when its position or its value is not finite.
    diverged = ~jnp.isfinite(end) | ~jnp.isfinite(value)
    # Short steps alone would count a run with a tiny rate as converged where it started.
    slope, curvature = jax.vmap(jax.vmap(_run.derivative(jax.value_and_grad(jax.grad(f)), fast)))(
        end
    )
    grad = jax.vmap(jax.vmap(_run.derivative(jax.grad(f), fast)))
    value_and_grad = jax.vmap(jax.vmap(_run.derivative(jax.value_and_grad(f), fast)))
    brackets, newton_lower, newton_upper = _brackets_minimum(grad, end, slope, curvature, tol)
    newton = (curvature > 0) & (jnp.abs(slope) <= tol * curvature) & brackets
    turns, lower, upper = _turns_within(grad, end, slope, tol)
    # Either turn of f' is a minimum only where f has no pole inside it (-1/x**2 turns from
    # - to + across 0): bisected towards the turn, within the nearest fall and rise that
    # either look found. The turn's probes are no nearer than 2**-31 tol: with a large tol
    # (1e12) its bracket spans the concave tails of log(1 + x**2), or points where f
    # overflows, and would refuse a minimum the Newton probes bracket within a few floats.
    # Only for settled runs, and only until their brackets reach neighbouring floats.
    both = turns & newton
    lower = jnp.where(both, jnp.maximum(lower, newton_lower), jnp.where(turns, lower, newton_lower))
    upper = jnp.where(both, jnp.minimum(upper, newton_upper), jnp.where(turns, upper, newton_upper))
    turned = newton | turns
    at_minimum = turned & _no_pole_between(
        value_and_grad, lower, upper, turned & (last_step < tol) & ~diverged
    )
    # On a flat minimum f' = f'' = 0: no Newton distance, and the sign change of f' lies
    # at the stretch's ends, which may be far beyond 4 tol. A run within tol of such a
    # stretch has f' = 0 at its end or tol from it (one settling into the stretch from
    # outside has f'' > 0 and a tiny slope, but f' = 0 beyond it, not > 0). Probed only
    # where some run is by one, so other sweeps pay nothing for it.
    on_below, on_above = grad(end - tol) == 0, grad(end + tol) == 0
    flat = (slope == 0) | on_below | on_above
    flat_minimum = jax.lax.cond(
        jnp.any(flat),
        lambda: flat & _on_flat_minimum(value_and_grad, end, value, slope, tol),
        lambda: jnp.zeros_like(flat),
    )
    # And f itself climbs out of it on both sides: a sign change of f' alone may be its
    # rounding, where f is level to the last bit (a float32 plateau).
    settled = ~diverged & (last_step < tol)
    # From the bracket of the turn; or for a flat minimum from the stretch, tol to the side
    # where f' is 0 there: a run settling into it from outside ends above its level.
    turned_here = at_minimum & ~flat_minimum
    lower = jnp.where(turned_here, lower, jnp.where(on_below, end - tol, end)).astype(end.dtype)
    upper = jnp.where(turned_here, upper, jnp.where(on_above, end + tol, end)).astype(end.dtype)
    first = jnp.where(turned_here, upper - lower, tol).astype(end.dtype)
    todo = settled & (at_minimum | flat_minimum)
    rises = jax.lax.cond(
        jnp.any(todo),
        lambda: _rises_both_sides(
            lambda x: value_of(x).astype(end.dtype), lower, upper, first, tol, todo
        ),
        lambda: jnp.ones_like(todo),
    )
    converged = todo & rises
    return last_far + 1, converged, diverged


def _runs(f, fast, x0, lr, epochs, tol):
    """Both passes over lanes in rows of 64, as in ``jaxgd.sweep``: any split gives the same bits.

    Pass 1 finds where each run ends; pass 2 replays it (same ops in the same order, so the
    same iterates) and remembers the last epoch that was farther than ``tol`` from that end:
    replaying costs steps, not memory.
    """
    zero = jnp.zeros((), epochs.dtype)
    end, last_step = _first_pass(f, fast, x0, lr, zero, epochs, jnp.zeros_like(x0))
    minus_one = jnp.full(x0.shape, -1, epochs.dtype)
    _, last_far = _second_pass(f, fast, x0, lr, end, tol, zero, epochs, minus_one)
    epoch, converged, diverged = _settle(f, fast, end, last_step, last_far, tol)
    return epoch, converged, diverged, end, last_step


@partial(jax.jit, static_argnums=(0, 1))
def _convergence_arrays(f, fast, starts, learning_rates, epochs, tol):
    """The whole computation in one call: ``epoch, converged, diverged, final, last_step``."""
    n_starts, n_rates = starts.shape[0], learning_rates.shape[0]
    x0, c = _run.lane_arrays(_run.plain_axes(starts, learning_rates))
    lr = c["lr"]
    out = _runs(f, fast, x0, lr, epochs, tol)
    return tuple(a.reshape(-1)[: n_starts * n_rates].reshape(n_starts, n_rates) for a in out)


_pass1 = jax.jit(_first_pass, static_argnums=(0, 1))
_pass2 = jax.jit(_second_pass, static_argnums=(0, 1))
_settled = jax.jit(_settle, static_argnums=(0, 1))

#: Device bytes per lane and item of a call: start, rate, position, end, last step, last far
#: epoch, five outputs, and the previous call's outputs waiting to be copied.
_VALUES_PER_LANE = 16


def _in_calls(f, fast, starts, learning_rates, n, tol, plan, outs) -> None:
    """Both passes in calls of ``plan.lanes`` lanes and ``plan.steps`` steps, into ``outs``."""
    n_lanes = starts.shape[0] * learning_rates.shape[0]
    itype = np.dtype(default_int()).type
    flat = tuple(o.reshape(-1) for o in outs)
    tol_a = jax.device_put(tol)

    def steps(run, x, carry, *args):
        before = None
        for t0 in range(0, n, plan.steps):
            x_next, carry = run(f, fast, x, *args, itype(t0), itype(min(t0 + plan.steps, n)), carry)
            if before is not None:
                _run.wait(before)
            before = x = x_next
        return x, carry

    for c in range(plan.calls):
        lo = c * plan.lanes
        hi = min(lo + plan.lanes, n_lanes)
        x0, c0 = _run.host_lanes(_run.plain_axes(starts, learning_rates), lo, plan.lanes)
        x0, lr = jax.device_put((x0, c0["lr"]))
        end, last_step = steps(_pass1, x0, jnp.zeros_like(x0), lr)
        minus_one = jnp.full(x0.shape, -1, itype)
        _, last_far = steps(_pass2, x0, minus_one, lr, end, tol_a)
        out = (*_settled(f, fast, end, last_step, last_far, tol_a), end, last_step)
        _run.wait(out[0])
        for o, a in zip(flat, out, strict=True):
            o[lo:hi] = np.asarray(a).reshape(-1)[: hi - lo]


@_run.interruptible
def convergence(
    f: Callable[[jax.Array], jax.Array],
    starts: float | jax.Array | np.ndarray,
    learning_rates: float | jax.Array | np.ndarray,
    epochs: int,
    *,
    tol: float = 1e-3,
    memory_budget: int | None = None,
    fast_math: bool | None = None,
) -> Convergence:
    """Epochs to converge for every (start, learning rate), without storing trajectories.

    Each run takes ``epochs`` steps of ``x <- x - rate * f'(x)``. Its convergence epoch is the
    first epoch from which it stays within ``tol`` of where it ends. That needs the end before
    the epoch can be known, so the compiled function runs each descent twice, the second time
    replaying the identical trajectory: ``2 * S * L * epochs`` gradient steps and O(1) memory
    per run, where storing trajectories would take ``S * L * epochs`` numbers.

    A run is ``converged`` when its last step is shorter than ``tol`` and it ended within about
    ``tol`` of a minimum (by a Newton step, ``|f'/f''|``, confirmed by ``f'`` changing sign
    from - to + within ``4 tol``; or by that sign change within ``tol`` alone, for a kink such
    as ``|x|``'s, where ``f''`` is 0; not where f' turns across a pole, such as ``-1 / x**2``'s
    at 0), or stopped within ``tol`` of a flat minimum (a stretch where ``f' = 0`` that f falls
    into and rises out of); either way f itself must rise on both sides of it, past 4 eps of
    its level (a float32 plateau, f level to the last bit and f' its rounding noise, has no
    minimum however f' turns; nor has ``1e8 - cos(x)`` in float32, which is 1e8 everywhere,
    while ``1e6 - cos(x)`` rises 32 floats and has). Runs still oscillating, crawling over a
    plateau or towards a saddle, stalled by a tiny rate, or resting on a maximum or a shelf are
    not; one whose position or value is not finite is ``diverged``. Where ``f''`` vanishes at
    the minimum (``x**4``'s) the Newton step is a fraction of the distance (a third, for
    ``x**4``): a run creeping there counts as converged up to about ``4 tol`` from it, so
    :func:`jaxgd.analysis.nearest_minimum` with the same ``tol``, which measures the distance
    itself, may still give it -1. Where runs stalled (their last step 0) a few floats from a
    minimum, at ends where ``tol`` spans fewer than 4 floats of the working precision, a
    ``UserWarning`` says so and names the least tol to pass: descent stops a few floats short
    of a minimum, and those runs count as not converged (the notebook's f in float32 at
    ``tol=1e-7``). Runs stalled far from any minimum, on a slope too gentle for their rate to
    move them, are not warned of: no tol would make them converged.

    Like :func:`jaxgd.sweep`, the work is planned before anything is allocated: lanes of
    (start, rate) pairs in chunks that fit ``memory_budget``, and each pass in calls of a
    bounded number of steps, so Ctrl-C raises ``KeyboardInterrupt`` within about a call's
    time. Any split gives the same bits. Called outside a JAX transformation, the arrays of
    the result are host NumPy arrays; inside a caller's ``jax.jit`` they are JAX arrays, and
    the checks that need values are skipped there (a traced negative ``tol`` converges
    nothing); a traced ``epochs`` must be an integer.

    Args:
        f: the function to minimise, ``f(x) -> scalar`` of a scalar ``x``, written with
            ``jax.numpy`` (for points of R^d, :func:`jaxgd.sweep` runs them).
        starts: start points, a scalar or shape ``(S,)``.
        learning_rates: non-negative step sizes, a scalar or shape ``(L,)``.
        epochs: how many steps every run takes, a non-negative whole number.
        tol: distance in x that counts as "there", positive.
        memory_budget: bytes one call may use. None: half the device's free memory on a GPU
            or TPU, 1 GiB on a CPU.
        fast_math: ``sin``/``cos`` from :mod:`jaxgd.fastmath` as in :func:`jaxgd.sweep`:
            None (the default) on a CPU unless ``JAXGD_FAST_MATH=0``; True; or False.

    Returns:
        A :class:`Convergence` with arrays of shape ``(S, L)``.

    Raises:
        TypeError, ValueError: for a bad ``f`` or argument, before anything is compiled.
        MemoryError: when the result would not fit in the host's available memory.
        KeyboardInterrupt: on Ctrl-C, within about one call's time.

    Example:
        >>> import jax.numpy as jnp
        >>> import jaxgd
        >>> def f(x):
        ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> conv = jaxgd.convergence(f, [0.0, 1.6], [0.01, 0.1], epochs=3000)
        >>> conv.shape
        (2, 2)
        >>> conv.converged.all().item()
        True
        >>> # From 0, rate 0.1 settles about ten times sooner than rate 0.01.
        >>> (conv.epoch[0, 0] / conv.epoch[0, 1]).round().item()
        10.0
    """
    dtype = default_float()
    fast = _run.fast_math_for(fast_math, dtype)
    try:
        check_function(f, dtype)
    except (TypeError, ValueError) as e:
        _refuse_points(f, dtype, starts, e)
        raise
    if len(_shape_or_none(starts) or ()) == 2:
        raise ValueError(
            f"starts must be a scalar or a 1-D array of scalar starts for convergence; got "
            f"shape {np.shape(starts)}. Flatten it with np.ravel(starts) if every entry is a "
            "start. " + _POINTS_FIX
        )
    starts = as_float_axis("starts", starts, dtype)
    learning_rates = as_float_axis("learning_rates", learning_rates, dtype, nonnegative=True)
    if _ndim("epochs", epochs, "epochs=1000") != 0:
        raise ValueError(
            f"epochs must be one whole number for convergence (every run takes that many "
            f"steps); got shape {np.shape(epochs)}. Pass the longest count you want to allow."
        )
    n = as_epoch_count("epochs", epochs)
    if _ndim("tol", tol, "tol=1e-3") != 0 or (is_concrete(tol) and not _positive("tol", tol)):
        raise ValueError(
            f"tol must be a positive scalar distance in x; got {tol!r:.60}. Use e.g. tol=1e-3 "
            "(a run has converged once its steps stay shorter than that)."
        )
    tol_arr = as_float_scalar("tol", tol, dtype)
    if is_concrete(tol_arr) and not float(tol_arr) > 0:  # below the dtype's smallest number
        raise ValueError(
            f"tol {float(tol):g} is 0 in {dtype}, so no run could count as converged; use a "
            f"tol of at least {float(np.finfo(dtype).smallest_subnormal):g}, or enable x64 "
            '(jax.config.update("jax_enable_x64", True)).'
        )
    name = function_name(f)
    if in_trace() or not all(is_concrete(a) for a in (starts, learning_rates, n, tol_arr)):
        starts, learning_rates, n, tol_arr = (
            jnp.asarray(a) for a in (starts, learning_rates, n, tol_arr)
        )
        out = _convergence_arrays(f, fast, starts, learning_rates, n, tol_arr)
        return _result(out, starts, learning_rates, n, tol_arr, name, fast)

    if memory_budget is not None:
        memory_budget = _chunking.check_positive_int("memory_budget", memory_budget)
    n_starts, n_rates = starts.shape[0], learning_rates.shape[0]
    n_lanes, itemsize = n_starts * n_rates, max(dtype.itemsize, np.dtype(n.dtype).itemsize)
    device = jax.local_devices()[0]
    plan = _chunking.plan_lanes(
        n_lanes=n_lanes,
        per_lane=_VALUES_PER_LANE * itemsize,
        memory_budget=memory_budget,
        device=device,
        fast=fast,
    )
    need = n_lanes * (2 * dtype.itemsize + np.dtype(n.dtype).itemsize + 2)
    if need > _chunking.SMALL_CALL:
        on_host = device.platform == "cpu"
        _chunking.check_host_memory(
            need,
            f"the result of this convergence ({n_starts} x {n_rates} runs)",
            "Pass fewer starts or learning rates at a time and keep each part.",
            reserve=plan.lanes * _VALUES_PER_LANE * itemsize if on_host else 0,
        )
    if plan.calls == 1 and 2 * int(n) <= plan.steps:
        out = _convergence_arrays(f, fast, starts, learning_rates, n, tol_arr)
        if 2 * _run.lane_steps(n_lanes, int(n)) > _run.BLOCKING_WORK:
            _run.wait(out[0])
        else:
            _run.wait_short(out[0])
        out = tuple(np.asarray(a) for a in out)
    else:
        shape = (n_starts, n_rates)
        out = (
            np.empty(shape, n.dtype),
            np.empty(shape, np.bool_),
            np.empty(shape, np.bool_),
            np.empty(shape, dtype),
            np.empty(shape, dtype),
        )
        _in_calls(f, fast, starts, learning_rates, int(n), tol_arr, plan, out)
    _warn_if_stalled_short(f, fast, *out[1:], float(tol_arr), dtype)
    return _result(out, starts, learning_rates, np.asarray(n), np.asarray(tol_arr), name, fast)


def _shape_or_none(value: Any) -> tuple[int, ...] | None:
    """``np.shape(value)``, or None for what has none (ragged lists: checked later)."""
    try:
        return tuple(np.shape(value))
    except Exception:
        return None


def _refuse_points(f: Callable, dtype: np.dtype, starts: Any, error: Exception) -> None:
    """Where ``f`` failed on a scalar x but takes the points ``starts`` holds (rows of shape
    (S, d), or one point of shape (d,)), say that convergence runs on a scalar x: the error
    of ``f`` on a scalar (``p[0]`` of a 0-d x) blamed the function, not the call."""
    shape = _shape_or_none(starts)
    if shape is None or len(shape) not in (1, 2) or shape[-1] < 1:
        return
    d = int(shape[-1])
    try:
        check_function(f, dtype, shape=(d,))
    except (TypeError, ValueError):
        return
    raise ValueError(
        f"f is a function of points of R^{d} (starts of shape {shape}), and convergence runs "
        "descents on a scalar x only (f fails on one). " + _POINTS_FIX
    ) from error


_POINTS_FIX = (
    "For points of R^d, run jaxgd.sweep(f, starts, learning_rates, epochs) with the epoch "
    "counts to compare, or jaxgd.descend(..., trajectory=True) for one run."
)


def _warn_if_stalled_short(
    f: Callable,
    fast: bool,
    converged: np.ndarray,
    diverged: np.ndarray,
    final: np.ndarray,
    last_step: np.ndarray,
    tol: float,
    dtype: np.dtype,
) -> None:
    """UserWarning, at the caller's line, where runs stalled (their last step 0: x no longer
    moves) but count as not converged, at an end where ``tol`` spans fewer than
    ``_STALL_FLOATS`` floats of ``dtype`` and that settles at a minimum with a tol of a few
    floats there: descent stops some floats short of a minimum (a step under half a float),
    so no tol that fine can be met, and the runs would be counted as not converged with no
    word of why (the notebook's f in float32 at ``tol=1e-7``: every run stalls 4 floats
    from -1.42887). A run that stalled on a slope too gentle for its rate to move it, far
    from any minimum (``log(1 + x**2)`` at 1e6), is not one: a coarser tol would not help.
    """
    stalled = ~converged & ~diverged & (last_step == 0)
    if not stalled.any():
        return
    ends = final[stalled]
    with np.errstate(over="ignore", invalid="ignore"):
        spacing = np.spacing(np.abs(ends).astype(dtype)).astype(np.float64)
    coarse = np.isfinite(spacing) & (_STALL_FLOATS * spacing > tol)
    if not coarse.any():
        return
    ends, spacing = ends[coarse], spacing[coarse]
    near = _settle_within(f, fast, ends.astype(dtype), (4 * _STALL_FLOATS * spacing).astype(dtype))
    if not near.any():
        return
    ends, spacing = ends[near], spacing[near]
    i = int(np.argmax(spacing))
    warnings.warn(
        f"tol={tol:g} is finer than {np.dtype(dtype).name} resolves where "
        f"{int(near.sum())} of the runs stalled (x = "
        f"{np.format_float_positional(ends[i], trim='-')}: floats {spacing[i]:.3g} apart), "
        "so they count as not converged though they no longer move. Pass a tol of at least "
        f"{_STALL_FLOATS * spacing[i]:.2g} ({_STALL_FLOATS} floats there), or compute in "
        "float64 (x64).",
        UserWarning,
        stacklevel=_outside_level(),
    )


def _settle_within(f: Callable, fast: bool, ends: np.ndarray, tols: np.ndarray) -> np.ndarray:
    """Whether runs that stopped at ``ends`` (their last step 0) count as converged, each with
    its own tol from ``tols``: :func:`_settle` on them, in rows of 64 lanes (padded with the
    first end), so a few counts of stalled runs share one compiled program."""
    n = ends.size
    rows = -(-n // 64)
    pad = rows * 64 - n
    end = np.concatenate([ends, np.full(pad, ends[0])]).reshape(rows, 64)
    tol = np.concatenate([tols, np.full(pad, tols[0])]).reshape(rows, 64)
    zero = np.zeros_like(end)
    far = np.full(end.shape, -1, default_int())
    _, converged, _ = _settled(f, fast, end, zero, far, tol)
    return np.asarray(converged).reshape(-1)[:n]


def _result(out, starts, learning_rates, epochs, tol, name: str, fast: bool) -> Convergence:
    epoch, converged, diverged, final, last_step = out
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
        function=name,
        math=_run.math_name(fast),
    )
