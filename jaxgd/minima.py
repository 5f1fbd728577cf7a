"""Every local minimum of a 1-D function on an interval (and those runs reached outside it)."""

from __future__ import annotations

import functools
import itertools
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxgd import fastmath
from jaxgd._validate import (
    as_domain,
    as_real_array,
    check_function,
    check_in_range,
    check_int,
    check_interval,
    check_span_fits,
    in_trace,
    is_concrete,
    positive_float,
)

__all__ = ["Minima", "find_minima", "find_minima_reached"]


def _solver_compile_options(jaxlib_version: str | None = None) -> dict[str, Any]:
    """XLA options for the compiled Newton searches of the minima (1-D and d-D).

    XLA:CPU compiles a program's fusions with its MLIR fusion emitters by default. The
    searches are long programs (Newton steps, line searches, eigen-decompositions), compiled
    anew for each ``f`` and run once; with XLA's older emitters
    (``xla_cpu_use_fusion_emitters=False``) they compile in about half the time and run as
    fast, the 1-D minima bit for bit, the d-D ones to a few ulps (docs/performance.md,
    "Start-up", has the numbers). The option is set per program (``jax.jit``'s
    ``compiler_options``), never globally; only the CPU reads it. It is given for the jaxlib
    releases where it was measured (0.8 to 0.10); elsewhere XLA's defaults stand, as an
    option XLA no longer knows would refuse to compile.

    Args:
        jaxlib_version: the release to decide for; default the installed jaxlib's.
    """
    if jaxlib_version is None:
        import jaxlib

        jaxlib_version = jaxlib.__version__
    parts = jaxlib_version.split(".")[:2]
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        return {}
    return (
        {"xla_cpu_use_fusion_emitters": False}
        if (0, 8) <= tuple(map(int, parts)) <= (0, 10)
        else {}
    )


#: :func:`_solver_compile_options` for the installed jaxlib.
_SOLVER_COMPILE_OPTIONS = _solver_compile_options()


def _solver_jit(fun: Callable | None = None, **jit_kwargs: Any) -> Callable:
    """``jax.jit`` with :data:`_SOLVER_COMPILE_OPTIONS` (a decorator, like ``jax.jit``).

    JAX takes ``compiler_options`` only on a top-level call: one under a transformation's
    trace (an f that closes over a ``grad`` tracer, say, which the searches refuse where
    f's values are read) is compiled without them, as part of the caller's program.
    """
    if fun is None:
        return partial(_solver_jit, **jit_kwargs)
    plain = jax.jit(fun, **jit_kwargs)
    if not _SOLVER_COMPILE_OPTIONS:
        return plain
    top = jax.jit(fun, compiler_options=_SOLVER_COMPILE_OPTIONS, **jit_kwargs)

    @functools.wraps(fun)
    def call(*args: Any, **kwargs: Any) -> Any:
        return (plain if in_trace() else top)(*args, **kwargs)

    return call


_MIN_NUM = 3
#: Grid points a search scans by default.
_NUM = 10_001
_MAX_ITER = 100
#: Half-width of the window searched around each final position outside the domain, as a
#: fraction of the domain's width: wide enough to hold the minimum a run is settling into,
#: narrow enough that a fine grid over it stays cheap.
_WINDOW = 0.05
#: Most grid points spent on windows outside the domain (8 MiB of float32 per array).
_MAX_WINDOW_POINTS = 1 << 21
#: Most grid points a search scans (2**25 = 33,554,432). A point costs about 32 bytes in
#: float32 (the grid in float64 and in the working float, f and f' on the device and again on
#: the host), 56 in float64: 1 to 2 GB at the limit, before f's own intermediates.
_MAX_NUM = 1 << 25


def _check_num(num: Any) -> int:
    """``num``, an int from 3 to ``_MAX_NUM``, checked before anything is allocated."""
    num = check_int("num", num, _MIN_NUM, fix="use a denser grid")
    if num > _MAX_NUM:
        raise ValueError(
            f"num must be at most 2**25 = {_MAX_NUM:,} grid points (about 1 GB in float32, 2 "
            f"in float64, at 32 or 56 bytes a point), got {num:,}; minima closer together "
            "than (hi - lo) / 2**25 are rarely real: use a smaller num, or search a narrower "
            "interval (find_minima on the part of it you need) with a finer grid"
        )
    return num


@jax.tree_util.register_dataclass
@dataclass(frozen=True, eq=False)
class Minima:
    """The local minima of ``f`` on ``[lo, hi]``, in ascending order of ``x``.

    A pytree: its arrays are the leaves, so it passes through ``jax.jit`` and
    ``jax.tree_util`` functions.

    Attributes:
        x: Locations, ascending, shape ``(n,)``.
        value: ``f(x)``, shape ``(n,)``.
        at_boundary: ``True`` where the minimum is an end of the interval (``f' > 0`` at
            ``lo`` or ``f' < 0`` at ``hi``) rather than a stationary point.
        global_index: Index of the lowest value (the first on ties); ``-1`` when ``n == 0``.
        lo, hi: Where each minimum begins and ends, shape ``(n,)``: ``lo == hi == x`` for an
            isolated minimum; ``lo < x < hi`` where ``f`` is flat at its minimum (``f' = 0``
            and ``f = value`` on all of ``[lo, hi]``: ``max(|x| - 1, 0)**2``, searched on
            ``[-3, 3]``, is lowest on all of ``[-1, 1]``), and descent stops anywhere on it.
            Omitted: ``x`` (isolated minima).
        resolution: How finely ``f``'s value is known at each minimum, shape ``(n,)``, in
            f's units: f is evaluated at ``x`` and 8 points on either side, a step apart (one
            float, or an eighth of how far the search may have left ``x`` from the minimum
            where that is more); the resolution is how far ``value`` lies above the lowest of
            them, plus how much f rises within two steps of that lowest point. It holds f's
            rounding there and how far ``x`` can be from the true minimum. Two stationary
            minima are equally deep (:func:`jaxgd.analysis.global_minima`) when their values
            differ by no more than twice the sum of their resolutions and 4 epsilons of their
            size: by rounding alone, in any units of ``f``. Omitted (minima made by hand):
            within ``1e-5 * max(1, |lowest|)`` instead.
        domain: The interval searched in full, ``[lo, hi]``, shape ``(2,)``, in the dtype of
            ``x``: that of :func:`find_minima`, or the ``domain`` of
            :func:`find_minima_reached`, whose minima outside it lie beyond these ends.
            Figures colour the minima inside it first, so the minima runs reached outside it
            never change the colours of those inside. Omitted (minima made by hand): unknown.
    """

    x: jax.Array
    value: jax.Array
    at_boundary: jax.Array
    global_index: jax.Array
    lo: jax.Array = None  # type: ignore[assignment]
    hi: jax.Array = None  # type: ignore[assignment]
    resolution: jax.Array = None  # type: ignore[assignment]
    domain: jax.Array = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        # Isolated minima (hand-made ones, or those found before flat minima had an extent).
        for name in ("lo", "hi"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.x)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def _require_nonempty(self) -> None:
        if len(self) == 0:
            raise ValueError(
                "f has no local minimum on the interval (it is flat there, or its minima "
                "are closer together than the grid spacing); check len(minima) first, or "
                "widen the interval or raise num"
            )

    @property
    def global_x(self) -> jax.Array:
        """Location of the lowest minimum. Raises ``ValueError`` if there is none."""
        self._require_nonempty()
        return self.x[self.global_index]

    @property
    def global_value(self) -> jax.Array:
        """``f`` at the lowest minimum. Raises ``ValueError`` if there is none."""
        self._require_nonempty()
        return self.value[self.global_index]


@_solver_jit(static_argnums=0)
def _refine_all(
    f: Callable, a: jax.Array, b: jax.Array, v_a: jax.Array, g_a: jax.Array, tol: float
) -> tuple[jax.Array, jax.Array]:
    """Roots x of g = f' in every bracket [a, b], where f(a) = v_a, g(a) = g_a < 0 < g(b),
    and f(x). A bracket already narrower than ``tol`` returns its end a and f there.

    Per bracket: Newton on g, falling back to bisection whenever the Newton step leaves the
    bracket or fails to halve the step before last (Numerical Recipes' ``rtsafe``); the
    bracket keeps degenerate minima (f'' = 0, where Newton slows to linear) converging. x stays
    at an end of the bracket, so a bisection step always moves it.

    All brackets step together and each one freezes once it has converged: what ``vmap`` of a
    per-bracket ``while_loop`` computes, written out so that JAX need not batch a loop (most
    of the cost of tracing this program).
    """

    def fgh_one(x):
        (value, g), (_, h) = jax.jvp(jax.value_and_grad(f), (x,), (jnp.ones_like(x),))
        return value, g, h

    fgh = jax.vmap(fgh_one)
    # lax.select, not jnp.where: the operands already agree in shape and dtype, and each
    # jnp.where would add a nested jitted call to trace and lower.

    def scale(x):
        return tol * jnp.maximum(1.0, jnp.abs(x))

    def running(state):
        a, b, x, dx, _, _, g, _ = state
        return (jnp.abs(dx) > scale(x)) & (b - a > scale(x)) & (g != 0)

    def cond(carry):
        state, it = carry
        return (it < _MAX_ITER) & jnp.any(running(state))

    def body(carry):
        state, it = carry
        a, b, x, dx, dx_old, _, g, h = state
        x_newton = x - g / h
        bisect = (
            ~jnp.isfinite(x_newton)
            | ~((x_newton > a) & (x_newton < b))
            | (jnp.abs(2.0 * g) > jnp.abs(dx_old * h))
        )
        # a + b overflows where both ends lie past half the largest float: there the midpoint
        # is a + (b - a) / 2 (b - a fits: the interval's span was checked). Not a / 2 + b / 2,
        # which XLA folds back into (a + b) / 2; elsewhere the bits are those of (a + b) / 2.
        total = a + b
        mid = lax.select(jnp.isfinite(total), 0.5 * total, a + 0.5 * (b - a))
        step = lax.select(bisect, x - mid, g / h)
        x_new = x - step
        v_new, g_new, h_new = fgh(x_new)
        a_new = lax.select(g_new < 0, x_new, a)
        b_new = lax.select(g_new > 0, x_new, b)
        new = (a_new, b_new, x_new, step, dx, v_new, g_new, h_new)
        keep = running(state)
        return tuple(lax.select(keep, n, o) for n, o in zip(new, state, strict=True)), it + 1

    # Start at a with f'' unknown (0): the first step is a bisection.
    zero = jnp.zeros_like(a)
    state = (a, b, a, b - a, b - a, v_a, g_a, zero)
    (_, _, x, _, _, value, _, _), _ = jax.lax.while_loop(cond, body, (state, 0))
    return x, value


@partial(jax.jit, static_argnums=0)
def _grid_value_and_gradient(f: Callable, grid: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jax.vmap(jax.value_and_grad(f))(grid)


def _bucket(n: int) -> int:
    """Pad the number of brackets to a power of two, so few shapes ever get compiled."""
    return max(8, 1 << (n - 1).bit_length())


def _at_points(f: Callable, points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """f and f' at ``points`` (flat), evaluated with the grid kernel at ``size`` points where
    they fit (the grid's own size: compiled already), else at a power of two; padded with the
    last point, cut back to ``points``."""
    n = size if points.size <= size else _bucket(points.size)
    padded = np.concatenate([points, np.repeat(points[-1:], n - points.size)])
    v, g = _grid_value_and_gradient(f, padded)
    return np.asarray(v)[: points.size], np.asarray(g)[: points.size]


def _brackets(
    g: np.ndarray, values: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    """Grid indices bracketing sign changes of g from - to +, and the two end flags.

    Exact zeros are skipped over (a saddle's f' touches 0 without changing sign), but a
    non-finite value breaks a bracket: a pole between two grid points is not a minimum.

    An end is a minimum when f rises away from it (after an exactly flat stretch, if any):
    ``f' > 0`` at the first point where ``f' != 0``, ``f' < 0`` at the last. An infinite
    slope pointing into the interval counts (``sqrt(x)`` at 0) where f is finite there
    (``values``, f on the grid; without them it never does): where f is not, it is a pole.
    Where f is not finite, f' has no sign either: ``jax.grad`` of ``log(x)`` at ``x < 0``
    is a finite ``1/x`` beside f's NaN, and read as a fall into ``log(x) + x**2``'s rise
    from 0 it made a minimum of the first grid point past 0, where f falls towards -inf.
    """
    known = np.isfinite(g) if values is None else np.isfinite(g) & np.isfinite(values)
    falls, rises = known & (g < 0), known & (g > 0)
    # Points without a known sign are kept: they break a bracket.
    nonzero = np.flatnonzero((g != 0) | ~known)
    if nonzero.size == g.size:  # no zeros to skip (the usual case): neighbours pair up
        left = np.flatnonzero(falls[:-1] & rises[1:])
        right = left + 1
    else:
        rising = falls[nonzero[:-1]] & rises[nonzero[1:]]
        left, right = nonzero[:-1][rising], nonzero[1:][rising]
    if nonzero.size == 0:
        return left, right, False, False
    first, last = nonzero[0], nonzero[-1]

    def slope_counts(i: int) -> bool:  # f finite there, its f' finite or infinite
        return bool(np.isfinite(g[i]) if values is None else np.isfinite(values[i]))

    lo_min = slope_counts(first) and g[first] > 0
    hi_min = slope_counts(last) and g[last] < 0
    return left, right, bool(lo_min), bool(hi_min)


def _traced_error(name: str, fix: str) -> TypeError:
    return TypeError(
        f"{name} runs on the host and cannot run inside jax.jit, jax.vmap or jax.grad "
        "(an f that closes over a traced value counts, such as `lambda x: (x - a)**2` "
        f"inside a function of a that is transformed): the number of minima depends on "
        f"f's values. Call it outside the transformation: {fix}"
    )


def _refuse_in_trace(name: str, fix: str) -> None:
    """Refuse a call made while ``jax.jit`` (or another staging transformation) traces, where
    every value is a tracer; checked before f is evaluated.

    The searches run on the host: how many minima there are depends on f's values, so they
    read f's numbers with NumPy, which a tracer does not have. Inside
    ``jax.ensure_compile_time_eval()`` values are concrete, and the search runs. Under
    ``vmap`` or ``grad`` alone only what depends on their inputs is traced: an f closing over
    such a value is caught where f's values are first read (:func:`_host_values`).
    """
    if in_trace() and isinstance(jnp.zeros(()), jax.core.Tracer):
        raise _traced_error(name, fix)


def _outside_level() -> int:
    """The ``stacklevel`` of the first caller outside jaxgd, for a warning issued by the
    function that calls this one: the line of the user's code that started the search."""
    package = os.path.dirname(os.path.abspath(__file__))
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


class _TracedValues(TypeError):
    """Values read on the host are traced: :func:`on_host` names the function and the fix."""


def _host_values(*arrays: Any) -> list[np.ndarray]:
    """Values to read on the host, as NumPy arrays; :class:`_TracedValues` where they are
    traced (f closes over a value that ``vmap`` or ``grad`` traces, or points are traced)."""
    if any(isinstance(a, jax.core.Tracer) for a in arrays):
        raise _TracedValues("traced values")
    return [np.asarray(a) for a in arrays]


def on_host(name: str, fix: str) -> Callable[[Callable], Callable]:
    """Decorate a host-side function ``name``: traced values met inside it (see
    :func:`_host_values`) are the TypeError of :func:`_refuse_in_trace`, with ``fix``."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except _TracedValues:
                raise _traced_error(name, fix) from None

        return run

    return wrap


def _dtype_and_tol(tol: Any) -> tuple[np.dtype, float]:
    dtype = np.dtype(jnp.result_type(float))
    if tol is None:
        return dtype, 4.0 * float(jnp.finfo(dtype).eps)
    tol_f = positive_float("tol", tol, example="1e-6")
    if tol_f >= 1.0:
        raise ValueError(
            f"tol must be below 1, got {tol_f:g}: it is relative to |x| (absolute below 1), "
            "so tol >= 1 lets a minimum be off by as much as x itself; use e.g. 1e-6, or "
            "leave it out for 4 machine epsilons"
        )
    return dtype, tol_f


def _float_eps(dtype: Any) -> float:
    """Machine epsilon of a floating ``dtype``; 0 for any other (integers, booleans)."""
    try:
        return float(jnp.finfo(dtype).eps) if jnp.issubdtype(dtype, jnp.floating) else 0.0
    except (TypeError, ValueError):
        return 0.0


def _coarsest_eps(jaxpr: Any, live: list[bool]) -> float:
    """The largest epsilon among the floating values in ``jaxpr`` that depend on its inputs
    (``live``: which inputs count), its outputs included; inside a nested jaxpr (a jitted
    helper, a ``custom_jvp``, a loop's body) every input counts where any operand does."""
    dependent = {v for v, on in zip(jaxpr.invars, live, strict=True) if on}
    eps = 0.0
    for eqn in jaxpr.eqns:
        if not any(not fastmath.is_literal(v) and v in dependent for v in eqn.invars):
            continue  # constants only (a literal, an iota): f's input never passes through
        dependent.update(eqn.outvars)
        for v in eqn.outvars:
            eps = max(eps, _float_eps(getattr(v.aval, "dtype", None)))
        for inner in fastmath.jaxprs_in_params(eqn.params):
            eps = max(eps, _coarsest_eps(inner, [True] * len(inner.invars)))
    return eps


@functools.lru_cache(maxsize=64)
def _f_eps(f: Callable, dtype: np.dtype, shape: tuple[int, ...] = ()) -> float:
    """The epsilon of the precision ``f`` computes in, for x of ``shape`` and ``dtype``: the
    coarsest float it carries x's information through, its output included, never finer
    than ``dtype``'s. ``f = lambda x: g(x.astype(jnp.bfloat16)).astype(x.dtype)`` returns
    float32 whose every value is a bfloat16 one, 65,536 times coarser: f's rounding is that
    of bfloat16, and a minimum is known only to bfloat16's precision, however it is
    returned. Read from f's jaxpr (nothing is compiled); an f that cannot be traced
    abstractly counts as computing in ``dtype``."""
    eps = float(np.finfo(dtype).eps)
    try:
        closed = jax.make_jaxpr(lambda x: f(x))(jax.ShapeDtypeStruct(shape, dtype))
        found = _coarsest_eps(closed.jaxpr, [True] * len(closed.jaxpr.invars))
    except Exception:  # f was checked already; its precision is a refinement
        return eps
    return max(eps, found)


def _is_flat(values: np.ndarray, i: int, j: int, eps: float, largest: float) -> bool:
    """Whether f takes one value on grid points ``i..j`` (inclusive, at least two of them),
    where f' is exactly 0: to rounding at the size of f's values on the grid (``largest``,
    the largest of them), since the terms of f that cancel there are of that size, not of the
    stretch's own value (|x - 0.6| + 2|x + 1.15| - 3|x + 1.9| + 2|x + 1.65| varies by 1.4e-6
    in float32 on the stretch where it is 0.5)."""
    if j <= i:
        return False
    v = values[i : j + 1].astype(np.float64)
    return bool(np.isfinite(v).all() and np.ptp(v) <= 16.0 * eps * max(1.0, largest))


def _flat_edges(
    f: Callable,
    inside: np.ndarray,
    outside: np.ndarray,
    v_out: np.ndarray,
    g_out: np.ndarray,
    halve: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """Where each flat stretch ends: bisection between a point ``inside`` it (f' = 0) and one
    ``outside`` (f' != 0, where f is ``v_out`` and f' is ``g_out``) down to neighbouring
    floats. Returns the last point inside, the first point outside, and f and f' there: the
    sign of f' just past the edge, which the next grid point need not share (a narrow well
    may lie between them).

    Every edge steps together through the grid kernel, at a padded size, so only functions
    with flat minima ever compile it for another shape. ``halve``: how a step is halved
    (default: at the midpoint; :func:`_float_between` where ``outside`` may be orders of
    magnitude away).
    """
    inside, outside = inside.copy(), outside.copy()
    v_out, g_out = v_out.copy(), g_out.copy()
    n = inside.size
    for _ in range(_MAX_ITER):
        if halve is None:
            mid = _mid(inside, outside).astype(inside.dtype)
        else:
            mid = halve(inside, outside)
        active = (mid != inside) & (mid != outside)
        if not active.any():
            break
        points = np.concatenate([mid, np.full(_bucket(n) - n, mid[-1], mid.dtype)])
        v, g = (np.asarray(a)[:n] for a in _grid_value_and_gradient(f, points))
        inside = np.where(active & (g == 0), mid, inside)
        out = active & (g != 0)
        outside = np.where(out, mid, outside)
        v_out, g_out = np.where(out, v, v_out), np.where(out, g, g_out)
    return inside, outside, v_out, g_out


def _jump_cells(
    grid: np.ndarray, values: np.ndarray, g: np.ndarray, slack: float, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid cells ``[x_i, x_i+1]`` where ``|f(x_i+1) - f(x_i)|`` exceeds 4 times the change
    its end slopes allow plus ``slack``, in float64 (none across ``last``, each segment's last
    point, or in the padding after the final one): their indices ``i``, that change and their
    widths.

    A loose first pass in f's own dtype over the whole grid, then the test in float64 on the
    cells it leaves (few): the same cells as float64 throughout, at a fraction of the cost.
    Rounding moves the differences and products by a few epsilons at most, far inside the
    factors of 2, and an overflow to inf only adds cells.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        dv = np.abs(values[1:] - values[:-1])
        slope = np.maximum(np.abs(g[1:]), np.abs(g[:-1])) * (grid[1:] - grid[:-1])
        cell = ((dv > 2 * slope) | (dv == np.inf)) & (dv > 0.5 * slack)  # NaN: no candidate
    cell[last[-1] :] = False  # the padding
    cell[last[:-1]] = False  # no cell joins two segments
    i = np.flatnonzero(cell)
    x_a, x_b = grid[i].astype(np.float64), grid[i + 1].astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        dv = np.abs(values[i + 1].astype(np.float64) - values[i])
        slope = np.maximum(np.abs(g[i + 1].astype(np.float64)), np.abs(g[i])) * (x_b - x_a)
        candidate = dv > 4.0 * slope + slack  # NaN: no candidate
    return i[candidate], dv[candidate], (x_b - x_a)[candidate]


def _jumps(
    f: Callable,
    grids: list[np.ndarray],
    grid: np.ndarray,
    values: np.ndarray,
    g: np.ndarray,
    eps: float,
    largest: float,
) -> tuple[np.ndarray, ...]:
    """The jumps of f: grid cells across which f changes by more than its slope allows.

    f' says nothing about a discontinuity: ``jnp.where(x < 1, 0.5, x - 1.5)`` has f' = 0, then
    1, and its minimum at 1 (where it jumps down to -0.5 and rises) has no sign change of f'.
    A cell ``[x_i, x_i+1]`` is a candidate where ``|f(x_i+1) - f(x_i)|`` exceeds 4 times the
    change its end slopes allow (plus rounding at f's size ``largest``, as :func:`_is_flat`);
    it is bisected, keeping the half where f changes most beyond its slopes, down to
    neighbouring floats (or ``_MAX_ITER`` halvings). A jump is what is left there: f still
    changes by more than rounding and 4 times the slope allows, and by no more than 4 times
    the cell's change (a pole, ``1/x``, grows without bound as the bisection closes in).

    Returns, per jump (in grid order): the cell's grid index ``i``, the last point ``a``
    before the jump and the first ``b`` after it, and f and f' at both.
    """
    slack = 16.0 * eps * max(1.0, largest)
    last = np.cumsum([gr.size for gr in grids]) - 1  # each segment's last point
    i, jump_cell, cell_width = _jump_cells(grid, values, g, slack, last)
    empty = np.zeros(0, int), *(grid[:0] for _ in range(6))
    if i.size == 0:
        return empty
    a, b = grid[i], grid[i + 1]
    va, vb, ga, gb = values[i], values[i + 1], g[i], g[i + 1]
    for _ in range(_MAX_ITER):
        mid = _mid(a, b).astype(grid.dtype)
        active = (mid != a) & (mid != b)
        if not active.any():
            break
        vm, gm = _at_points(f, mid, grid.size)
        with np.errstate(invalid="ignore", over="ignore"):
            m64, am, bm = vm.astype(np.float64), mid.astype(np.float64), b.astype(np.float64)
            left = np.abs(m64 - va) - (am - a) * np.maximum(np.abs(ga), np.abs(gm))
            right = np.abs(vb - m64) - (bm - am) * np.maximum(np.abs(gb), np.abs(gm))
            go_left = active & ~(right > left)  # NaN: the left half
        go_right = active & ~go_left
        b, vb, gb = (np.where(go_left, m, o) for m, o in ((mid, b), (vm, vb), (gm, gb)))
        a, va, ga = (np.where(go_right, m, o) for m, o in ((mid, a), (vm, va), (gm, ga)))
    with np.errstate(invalid="ignore", over="ignore"):
        size = np.abs(vb.astype(np.float64) - va)
        steep = np.maximum(np.abs(ga), np.abs(gb)).astype(np.float64) * (b.astype(np.float64) - a)
        real = (size > 4.0 * steep + slack) & (size <= 4.0 * jump_cell + slack)
        real &= np.isfinite(va) & np.isfinite(vb)
    real[real] &= _smooth_beside(
        f, tuple(v[real] for v in (a, b, va, vb, ga, gb)), cell_width[real], slack, grid.size
    )
    return i[real], a[real], b[real], va[real], vb[real], ga[real], gb[real]


#: Probes on either side of a jump where f must follow f': distances doubling from the
#: jump's final cell, out to ``1 / _BESIDE_REACH`` of its grid cell.
_BESIDE = 64
_BESIDE_REACH = 16


def _smooth_beside(
    f: Callable,
    jump: tuple[np.ndarray, ...],
    cell: np.ndarray,
    slack: float,
    size: int,
) -> np.ndarray:
    """Whether f follows f' on either side of each jump ``(a, b, f(a), f(b), f'(a), f'(b))``:
    at probes below ``a`` and above ``b``, at distances doubling from ``b - a`` out to a
    sixteenth of ``cell`` (the width of the grid cell it was found in: a well between two
    jumps narrower than the grid stays in reach), f changes by no more than 4 times
    its slope allows (plus ``slack``), as it does beside a jump of a ``jnp.where`` whose
    pieces do not meet. Where f is rounding that f' does not see (``(x + 1e4)**2 - 1e8 -
    2e4 * x``, x**2 in float32 from terms of 1e8: steps of 8 between stretches where f falls
    at slope -2e4), f strays from f' beside every such step too: they are no jumps, and f'
    finds the minima, as before jumps were looked for. A probe where f or f' is not finite
    says nothing (f may be undefined past an end of the interval)."""
    a, b, va, vb, ga, gb = jump
    if a.size == 0:
        return np.zeros(0, bool)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    far = cell[:, None] / _BESIDE_REACH
    reach = np.minimum(_doubling(b64 - a64, _BESIDE), far)
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        points = np.concatenate([a64[:, None] - reach, b64[:, None] + reach], axis=1)
    v, g = (
        x.reshape(a.size, 2, _BESIDE).astype(np.float64)
        for x in _at_points(f, _probe(points, a.dtype).ravel(), size)
    )
    end_v = np.stack([va, vb], axis=1).astype(np.float64)[:, :, None]
    end_g = np.abs(np.stack([ga, gb], axis=1).astype(np.float64))[:, :, None]
    with np.errstate(invalid="ignore", over="ignore"):
        allowed = 4.0 * np.maximum(end_g, np.abs(g)) * reach[:, None, :] + slack
        off = np.abs(v - end_v) > allowed  # NaN: says nothing
    return ~off.any(axis=(1, 2))


#: Probes beyond the low side of a jump where f' = 0: distances doubling from one float (or
#: ``2**-64`` of the grid cell, if more), out to ``2**63`` grid cells.
_AWAY_PROBES = 128


def _rises_away(
    f: Callable,
    x: np.ndarray,
    v: np.ndarray,
    away: np.ndarray,
    cell: np.ndarray,
    slack: float,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """For points ``x`` where f' = 0 and f = ``v`` (the low sides of jumps), whether f rises
    away from them in the direction ``away`` (+1: above, -1: below): at the first probe
    beyond, at distances doubling from one float, where f' != 0, f' points away (``f' > 0``
    above), f kept ``v`` (to ``slack``) at the probes before it and is no lower there. A
    probe where f' is not finite gives no sign. Also returns where the stretch with f' = 0
    ends, to the last float (``x`` itself where f' != 0 one float away): the far end of a
    flat minimum that begins at ``x``."""
    rises, far, k, _, _, _, _ = _away_from(f, x, v, away, cell, slack, size)
    return rises, np.where(k > 0, far, x)


def _away_from(
    f: Callable,
    x: np.ndarray,
    v: np.ndarray,
    away: np.ndarray,
    cell: np.ndarray,
    slack: float,
    size: int,
    bound: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """What :func:`_rises_away` reads beyond points ``x`` where f' = 0, in full: whether f
    rises away, the last float of the stretch where f' = 0 (bisected from the last probe
    with f' = 0 to the first without), the index ``k`` of that first probe, whether f kept
    ``v`` (to ``slack``) at every probe before it, and the first float past the stretch with
    f and f' there. With ``bound`` (float64, per point, on the ``away`` side of it) no probe
    goes past it: a point where f' != 0 already known, so the stretch ends before it."""
    x64 = x.astype(np.float64)
    start = np.maximum(_ulp(x), cell * 2.0**-64)
    reach = _doubling(start, _AWAY_PROBES)
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        points = x64[:, None] + away[:, None] * reach
        if bound is not None:
            limit = bound[:, None]
            points = np.where(
                away[:, None] > 0, np.minimum(points, limit), np.maximum(points, limit)
            )
        points = _probe(points, x.dtype)
    pv, pg = (a.reshape(x.size, -1) for a in _at_points(f, points.ravel(), size))
    seen = pg != 0  # NaN != 0: met, and gives no sign
    k = np.argmax(seen, axis=1)
    rows = np.arange(x.size)
    g_k, v_k = pg[rows, k].astype(np.float64), pv[rows, k].astype(np.float64)
    before = np.arange(_AWAY_PROBES)[None, :] < k[:, None]
    level = v.astype(np.float64)[:, None]
    with np.errstate(invalid="ignore"):
        kept = np.where(before, np.abs(pv.astype(np.float64) - level) <= slack, True).all(axis=1)
        rises = seen.any(axis=1) & np.isfinite(g_k) & (np.sign(g_k) == away) & kept
        rises &= v_k >= level[:, 0] - slack
    inside = np.where(k > 0, points[rows, np.maximum(k - 1, 0)], x)
    far, out, v_out, g_out = _flat_edges(f, inside, points[rows, k], pv[rows, k], pg[rows, k])
    return rises, far, k, kept & seen.any(axis=1), out, v_out, g_out


def _falls_into_end(
    f: Callable, grid: np.ndarray, end: np.ndarray, inner: np.ndarray
) -> np.ndarray:
    """For each end ``grid[end]`` of a searched segment (``grid[inner]`` its neighbour in
    it), whether f falls into it from beyond: the first probe past the end, at distances
    doubling from the grid spacing (as :func:`_falls_in_rises_out`), where f' != 0 has f'
    pointing down towards the end. A probe where f or f' is not finite gives no sign."""
    x_end = grid[end].astype(np.float64)
    outward = x_end - grid[inner]  # one grid spacing, pointing away from the segment
    reach = _doubling(outward, _BEYOND_PROBES)
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        points = _probe(x_end[:, None] + reach, grid.dtype)
    v, g = (a.reshape(end.size, -1) for a in _at_points(f, points.ravel(), grid.size))
    seen = g != 0  # NaN != 0: met, and gives no sign
    k = np.argmax(seen, axis=1)
    rows = np.arange(end.size)
    g_k, v_k = g[rows, k].astype(np.float64), v[rows, k]
    with np.errstate(invalid="ignore"):
        falls = np.sign(g_k) == np.sign(outward)  # f' < 0 below lo, f' > 0 above hi
    return seen.any(axis=1) & np.isfinite(g_k) & np.isfinite(v_k) & falls


#: Probes beyond each end of a segment flat from end to end: distances doubling from its
#: grid spacing, out to ``2**63`` spacings, for the first point where f' != 0.
_BEYOND_PROBES = 64


def _falls_in_rises_out(
    f: Callable,
    grid: np.ndarray,
    values: np.ndarray,
    whole: list[tuple[int, int]],
    eps: float,
    largest: float,
) -> list[bool]:
    """For each segment ``grid[i..j]`` where f is flat from end to end, whether f falls into
    it and rises out of it beyond its ends: the first probe below ``grid[i]`` where f' != 0
    has f' < 0, the first above ``grid[j]`` f' > 0. A probe where f' is not finite (f
    undefined past the interval) gives no sign: no minimum, as before the probes looked.

    f must also keep the segment's value up to those probes and be no lower at them (to
    rounding at f's size ``largest``, as :func:`_is_flat`): where f' is 0 but f steps down
    (``jnp.floor(x) + max(|x| - 5, 0)**2`` on ``[3.2, 3.8]``, f = 3 there and 2 left of 3),
    or f jumps below the segment's value where f' turns, the segment is no minimum."""
    if not whole:
        return []
    i, j = np.asarray(whole, int).T
    spacing = (grid[j].astype(np.float64) - grid[i]) / np.maximum(j - i, 1)
    reach = _doubling(spacing, _BEYOND_PROBES)
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        below = _probe(grid[i].astype(np.float64)[:, None] - reach, grid.dtype)
        above = _probe(grid[j].astype(np.float64)[:, None] + reach, grid.dtype)
    flat = np.concatenate([below.ravel(), above.ravel()])
    v, g = (a.reshape(2, len(whole), -1) for a in _at_points(f, flat, grid.size))
    level = values[i].astype(np.float64)[:, None]  # the segment's value
    slack = 16.0 * eps * max(1.0, largest)

    def first_sign(rows: np.ndarray, at: np.ndarray) -> np.ndarray:
        seen = rows != 0  # NaN != 0: a non-finite f' is met, and gives no sign
        k = np.argmax(seen, axis=1)
        upto = np.arange(rows.shape[1])[None, :] <= k[:, None]
        with np.errstate(invalid="ignore"):
            # f keeps the segment's value where f' is still 0, and is no lower where it turns
            # (NaN: not kept, no minimum).
            kept = np.abs(at - level) <= slack
            above_level = at >= level - slack
            keeps = np.where(upto & ~seen, kept, True).all(axis=1)
            keeps &= above_level[np.arange(len(rows)), k]
            sign = np.sign(rows[np.arange(len(rows)), k])
        return np.where(seen.any(axis=1) & keeps, sign, 0.0)

    return (
        (first_sign(g[0], v[0].astype(np.float64)) < 0)
        & (first_sign(g[1], v[1].astype(np.float64)) > 0)
    ).tolist()


#: Rounds of midpoints for a bracket around exact zeros of f' (each halves its spacing).
_ZERO_ROUNDS = 4


def _split_at_zeros(
    f: Callable,
    grid: np.ndarray,
    values: np.ndarray,
    g: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    size: int | None = None,
) -> tuple[np.ndarray, ...]:
    """Brackets ``[a, b]`` (with f and f' at ``a``) for the refinement, from grid brackets.

    A bracket around grid points where f' is exactly 0 (not a flat stretch) may hold several
    stationary points: for ``(x^2 - 1)^2`` on a grid through -1, 0 and 1, f' reads -, 0, 0,
    0, +, and a bisection would land on the maximum at 0. Such a bracket is looked at again
    with f' at the midpoints between its points, and split where the signs say, for a few
    rounds while a part still holds an exact zero (x^2 on a grid through 0 takes one round).
    f' there is evaluated at ``size`` points (the grid's own size by default: compiled).
    """
    inner = right - left > 1
    done = [(grid[left[~inner]], grid[right[~inner]], values[left[~inner]], g[left[~inner]])]
    todo = [
        (grid[i : j + 1], values[i : j + 1], g[i : j + 1])
        for i, j in zip(left[inner], right[inner], strict=True)
    ]
    for _ in range(_ZERO_ROUNDS):
        if not todo:
            break
        mids = [_mid(xs[:-1], xs[1:]).astype(grid.dtype) for xs, _, _ in todo]
        flat = np.concatenate(mids)
        m_values, m_g = _at_points(f, flat, grid.size if size is None else size)
        offset, again = 0, []
        for (xs, vs, gs), m in zip(todo, mids, strict=True):
            k, n = m.size, xs.size + m.size
            # Interleaved: point, midpoint, point, ..., point.
            nx, nv, ng = np.empty(n, xs.dtype), np.empty(n, vs.dtype), np.empty(n, gs.dtype)
            nx[0::2], nx[1::2] = xs, m
            nv[0::2], nv[1::2] = vs, m_values[offset : offset + k]
            ng[0::2], ng[1::2] = gs, m_g[offset : offset + k]
            offset += k
            sub_l, sub_r, _, _ = _brackets(ng)
            # One zero between a fall and a rise half a spacing away: that is the minimum.
            wide = sub_r - sub_l > 2
            done.append((nx[sub_l[~wide]], nx[sub_r[~wide]], nv[sub_l[~wide]], ng[sub_l[~wide]]))
            again += [
                (nx[i : j + 1], nv[i : j + 1], ng[i : j + 1])
                for i, j in zip(sub_l[wide], sub_r[wide], strict=True)
            ]
        todo = again
    done += [(xs[:1], xs[-1:], vs[:1], gs[:1]) for xs, vs, gs in todo]  # still around zeros
    return tuple(np.concatenate([d[k] for d in done]) for k in range(4))


#: Grids up to this size evaluate the few points :func:`_finite_edges` probes at their own
#: size; larger ones at a power of two of their own.
_EDGE_GRID = 1 << 15


def _undefined_slopes(
    f: Callable,
    sizes: list[int],
    grid: np.ndarray,
    values: np.ndarray,
    g: np.ndarray,
    tol_f: float,
    eps: float,
    largest: float,
) -> np.ndarray:
    """``g`` (f' on the grid of segments ``sizes``) where f is finite but f' is not, read as
    f says it is (a copy; ``g`` itself where nothing is read otherwise):

    - 0 at a point inside a flat stretch: next to a grid point where f' = 0 and f is the
      same value (to rounding, as :func:`_is_flat` reads it). ``exp(-1/x**2)`` at 0 has
      f' = 0 times inf, NaN, between the points where f and f' underflow to 0: the stretch
      was cut in two halves, neither a minimum, and on a grid through 0 none was found.
    - At a segment's end, f' a tolerance inside, the slope from that side, where it has
      another sign: ``jax.grad`` of ``sqrt(abs(x))`` at 0 is +inf, which at the end of
      ``[-1, 0]`` said f rises into the interval; ``exp(-1/x**2)`` on ``[0, 1]`` is flat
      from 0 (f' = 0 inside) until it rises. Unchanged where f' there is infinite
      pointing the way f goes (``sqrt(x)`` at 0 on ``[0, 1]``).
    """
    n = sum(sizes)  # past it, the padding of a packed grid: copies of its last point
    odd = np.flatnonzero(np.isfinite(values[:n]) & ~np.isfinite(g[:n]))  # few or none
    if odd.size == 0:
        return g
    g = g.copy()
    stops = np.cumsum(sizes)
    starts = stops - np.asarray(sizes)
    first, last = np.isin(odd, starts), np.isin(odd, stops - 1)
    for i in odd[~first & ~last]:
        if any(
            g[j] == 0 and _is_flat(values, min(i, j), max(i, j), eps, largest)
            for j in (i - 1, i + 1)
        ):
            g[i] = 0.0
    i = odd[first | last]
    if i.size:
        way = np.where(first[first | last], 1.0, -1.0)
        # Inwards from an end: within the grid, no clipping needed.
        inside = (grid[i].astype(np.float64) + way * _reach(grid[i], tol_f)).astype(grid.dtype)
        v_in, g_in = _at_points(f, inside, grid.size)
        slack = 16.0 * eps * max(1.0, largest)  # f's rounding, as _is_flat reads it
        with np.errstate(invalid="ignore"):
            take = np.isfinite(g_in) & (np.sign(g_in) != np.sign(g[i]))
            # f' inside says f rises away from the end, but f is lower there than at the
            # end (a removable point: jnp.where(x == 0, 1e-3, sqrt(abs(x))) on [0, 1], whose
            # f has no lowest point): the end is no minimum, and f' there has no sign.
            lower = np.isfinite(v_in) & (v_in.astype(np.float64) < values[i] - slack)
            falls = lower & (way * g_in > 0)
        g[i[take]] = np.where(falls, np.nan, g_in)[take]
    return g


def _finite_somewhere(values: np.ndarray, g: np.ndarray) -> bool:
    """Whether f and f' are both finite at one grid point at least."""
    return bool((np.isfinite(values) & np.isfinite(g)).any())


def _finite_edges(
    f: Callable,
    grids: list[np.ndarray],
    grid: np.ndarray,
    values: np.ndarray,
    g: np.ndarray,
    slack: float,
    tol_f: float,
) -> tuple[np.ndarray, ...]:
    """Minima in the grid cells where f (or f') stops being finite: f falls towards where
    it is not finite, or is stationary there, and rises again before it gets there. Returns
    brackets of no width ``[x, x]`` with f and f' at ``x`` (the refinement keeps them), the
    width of the part of the cell each was found in (probes of its climb start from there),
    and the flat minima found there: ``(lo, hi, x, value, width)``.

    Across such a cell f' has no sign to compare, so no bracket is seen, yet the minimum may
    lie in it: ``(x - 0.3)**2`` on ``[-1e25, 1e25]`` overflows float32 at every grid point
    but 0, and ``exp(x) - 2x`` on an 11-point grid of ``[-100, 2000]`` at 110, past its
    minimum at log(2). From the finite end, where f' points down into the cell or is 0, the
    cell is halved in the order of the floats (:func:`_float_between`) towards where f is
    not finite, keeping the finite half, until f' points up (f rises: the turn) or the two
    ends are neighbouring floats (f falls all the way to where it stops, as ``log(x)`` does
    towards 0: nothing to add). The turn, and the last point before it where f' pointed
    down, join the segment's grid points, and the brackets among them that hold one of
    these points are read as :func:`_brackets` and :func:`_split_at_zeros` read the grid's
    own, exact zeros skipped (``x**2`` on ``[-1e25, 1e25]``: 0 is the only finite grid
    point, with f' = 0), then narrowed (:func:`_narrowed`). An end of a segment where
    f' = 0 and the turn comes first is a stationary minimum (``x**2`` on ``[0, 1e25]``).
    As in any grid cell, one minimum per cell at most is found: of two in such a cell
    (``(x**2 - 1)**2 * (x**2 - 4)**2``, whose minima at -1 and 1 share a cell with 0 on
    ``[-1e25, 1e25]``), the turn may fall past one.

    A cell is taken only inside a segment; every cell steps together through the grid kernel,
    at the grid's own size (compiled already) up to ``_EDGE_GRID`` points, else at a power of
    two of their own (compiled once: a halving at millions of points cost 20 ms).
    """
    no_flats = (grid[:0], grid[:0], grid[:0], values[:0], np.zeros(0))
    empty = (grid[:0], grid[:0], values[:0], g[:0], np.zeros(0), no_flats)
    # One cell or a few: evaluated at the grid's size where that is small (compiled
    # already), else at a size of their own (compiled once) rather than at millions.
    size = grid.size if grid.size <= _EDGE_GRID else 1
    known = np.isfinite(values) & np.isfinite(g)
    inside = np.zeros(max(grid.size - 1, 0), bool)
    bounds = np.cumsum([0, *(gr.size for gr in grids)])
    for first, end in itertools.pairwise(bounds):
        inside[first : end - 1] = True
    with np.errstate(invalid="ignore"):
        # f falls, or is stationary, at the finite end towards the other one.
        to_right = inside & known[:-1] & ~known[1:] & ~(g[:-1] > 0)
        to_left = inside & ~known[:-1] & known[1:] & ~(g[1:] < 0)
    i_r, i_l = np.flatnonzero(to_right), np.flatnonzero(to_left)
    if i_r.size + i_l.size == 0:
        return empty
    cell = np.r_[i_r, i_l]
    start = np.r_[i_r, i_l + 1]
    d = np.r_[np.ones(i_r.size), -np.ones(i_l.size)]  # from the finite end into the cell
    near, far = grid[start], grid[np.r_[i_r + 1, i_l]]
    fell = g[start] * d < 0  # a point where f' points down into the cell: the finite end
    fall = [near.copy(), values[start].copy(), g[start].copy()]
    turned = np.zeros(cell.size, bool)
    turn = [near.copy(), values[start].copy(), g[start].copy()]
    # Halved in the order of the floats, not of the reals: a point where f is finite is
    # reached in a few dozen halvings however wide the cell (2e196 wide, f finite within
    # 1e154 of 0: (x - 0.3)**2 in float64 on [-1e200, 1e200]).
    for _ in range(_MAX_ITER):
        mid = _float_between(near, far)
        active = ~turned & (mid != near) & (mid != far)
        if not active.any():
            break
        v, gm = _at_points(f, mid, size)
        ok = active & np.isfinite(v) & np.isfinite(gm)
        with np.errstate(invalid="ignore"):
            up, down = ok & (gm * d > 0), ok & (gm * d < 0)
        near = np.where(ok & ~up, mid, near)
        far = np.where(active & ~ok, mid, far)
        for arrays, at in ((fall, down), (turn, up)):
            arrays[:] = [
                np.where(at, new, old) for new, old in zip((mid, v, gm), arrays, strict=True)
            ]
        fell |= down
        turned |= up
    # An end of a segment where f' = 0 and f rises from it into the cell: a stationary
    # minimum there (x**2 on [0, 1e25]), a bracket of its own width.
    seg_end = np.isin(start, np.r_[bounds[:-1], bounds[1:] - 1])
    at_end = turned & ~fell & seg_end & (g[start] == 0)
    # The points to add, each in its cell: the turn, and the fall before it (where it is not
    # the cell's finite end, a grid point already).
    extra = turned & fell & (fall[0] != grid[start])
    cells = np.r_[cell[turned], cell[extra]]
    x_new = np.r_[turn[0][turned], fall[0][extra]].astype(grid.dtype)
    v_new = np.r_[turn[1][turned], fall[1][extra]].astype(values.dtype)
    g_new = np.r_[turn[2][turned], fall[2][extra]].astype(g.dtype)
    e_x, e_v = grid[start[at_end]], values[start[at_end]]
    reach = np.abs(turn[0][at_end].astype(np.float64) - e_x)
    # f' may stay 0 past the end (max(|x - 0.5| - 0.3, 0)**2 from 0.3): a flat minimum from
    # the end to where f' turns, f keeping its value there.
    edge, _, _, _ = _flat_edges(f, e_x, *(t[at_end] for t in turn), halve=_float_between)
    v_edge = _at_points(f, edge, size)[0].astype(np.float64) if edge.size else reach
    with np.errstate(invalid="ignore"):
        across = np.abs(edge.astype(np.float64) - e_x)
        wide = across > tol_f * np.maximum(1.0, np.abs(e_x.astype(np.float64)))
        wide &= np.abs(v_edge - e_v) <= slack
    stationary = (e_x[~wide], e_x[~wide], e_v[~wide], g[start[at_end]][~wide], reach[~wide])
    end_lo, end_hi = np.minimum(e_x, edge)[wide], np.maximum(e_x, edge)[wide]
    end_flats = (end_lo, end_hi, _mid(end_lo, end_hi).astype(grid.dtype), e_v[wide], reach[wide])
    # Grid point i sorts at i, a point added in cell i at i + 0.5, in order of x among those.
    key = np.r_[np.arange(grid.size, dtype=np.float64), cells + 0.5]
    order = np.lexsort((np.r_[grid, x_new], key))
    xs, vs, gs = (np.r_[a, b][order] for a, b in ((grid, x_new), (values, v_new), (g, g_new)))
    added = (order >= grid.size).astype(int)
    pos = np.searchsorted(key[order], bounds - 0.25)  # where each segment begins in xs
    lefts, rights = [np.zeros(0, int)], [np.zeros(0, int)]
    for first, end in itertools.pairwise(pos):
        if not added[first:end].any():
            continue
        left, right, _, _ = _brackets(gs[first:end], vs[first:end])
        count = np.r_[0, np.cumsum(added[first:end])]
        holds = count[right + 1] > count[left]  # an added point among left..right
        lefts.append(left[holds] + first)
        rights.append(right[holds] + first)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    if left.size:
        a, b, v_a, g_a = _split_at_zeros(f, xs, vs, gs, left, right, size)
        *found, flats = _narrowed(f, a, b, v_a, g_a, slack, tol_f, size)
    else:
        *found, flats = empty
    found = [np.r_[s, n].astype(s.dtype) for s, n in zip(stationary, found, strict=True)]
    flats = tuple(np.r_[e, n].astype(n.dtype) for e, n in zip(end_flats, flats, strict=True))
    return (*found, flats)


def _narrowed(
    f: Callable,
    a: np.ndarray,
    b: np.ndarray,
    v_a: np.ndarray,
    g_a: np.ndarray,
    slack: float,
    tol_f: float,
    size: int,
) -> tuple[np.ndarray, ...]:
    """Brackets ``[a, b]`` from :func:`_finite_edges` (f' < 0 at ``a``, > 0 at ``b``),
    halved in the order of the floats on f''s sign down to neighbouring floats, then read.
    Returns what :func:`_finite_edges` returns for them: brackets of no width at the minima
    found (the others dropped), the width each was found in, and the flat minima.

    Such a bracket can span a hundred orders of magnitude (``[1.6e-56, 1.8e70]`` for
    ``(x - 0.3)**2`` in float64 on ``[-1e200, 1e200]``), where the refinement's safeguard
    would bisect on (each Newton step as long as the bisection before it) and stop short:
    in the order of the floats, 64 halvings (32 in float32) reach neighbours from any two.
    Its cell was never looked at between the grid points, so what lies at the end is read
    as :func:`_jumps` reads a jump:

    - f changes between the two neighbours as its slopes there allow: the minimum is the
      lower of them;
    - f' grew steeper on both sides on the way in (f' lower at the left neighbour than at
      ``a``, higher at the right one than at ``b``): f falls without bound into a pole
      (``-1 / (x - 0.37)**2``, ``log|x - 0.37|``): none;
    - f jumps between them, by no more than 4 times its change across the bracket: its low
      side is the minimum (``jnp.where(x < -5, x**2, x)`` at -5, value -5);
    - a halving lands where f' = 0 (the minimum, if f climbs out of it, or the flat minimum
      around it), or where f' is not finite but f is, no higher than at either end (a kink).
    """
    g_a0 = g_a.astype(np.float64)
    whole = b.astype(np.float64) - a  # the bracket's width, before any halving
    v_b, g_b = _at_points(f, b, size)
    v_a0, v_b0, g_b0 = v_a.astype(np.float64), v_b.astype(np.float64), g_b.astype(np.float64)
    done = np.zeros(a.size, bool)
    # The width at which the bracket first became no wider than its ends are large: the
    # scale of the part of the cell where the minimum lies (0.17 for that example); the
    # bracket's whole width where that never came (a halving landed on f' = 0 first).
    width = np.full(a.size, np.nan)
    hit = np.zeros(a.size, bool)  # a halving landed where f' = 0 or f' is undefined
    x_hit, v_hit, g_hit = a.copy(), v_a.copy(), g_a.copy()
    for _ in range(2 * 64):
        mid = _float_between(a, b)
        active = ~done & (mid != a) & (mid != b)
        if not active.any():
            break
        v, gm = _at_points(f, mid, size)
        with np.errstate(invalid="ignore"):
            to_a, to_b = active & (gm < 0), active & (gm > 0)
            # f' = 0, or f' undefined where f is finite and no higher than the ends: a kink.
            lands = active & ~(to_a | to_b) & np.isfinite(v)
            lands &= (gm == 0) | ((v <= v_a) & (v <= v_b))
        a, v_a, g_a = (np.where(to_a, n, o) for n, o in ((mid, a), (v, v_a), (gm, g_a)))
        b, v_b, g_b = (np.where(to_b, n, o) for n, o in ((mid, b), (v, v_b), (gm, g_b)))
        with np.errstate(over="ignore"):
            span = b.astype(np.float64) - a
            width = np.where(np.isnan(width) & (span <= _mid(np.abs(a), np.abs(b))), span, width)
        x_hit, v_hit, g_hit = (
            np.where(lands, n, o) for n, o in ((mid, x_hit), (v, v_hit), (gm, g_hit))
        )
        hit |= lands
        done |= active & ~(to_a | to_b)  # f' = 0, or not finite: nothing to halve on
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    va, vb = v_a.astype(np.float64), v_b.astype(np.float64)
    ga, gb = g_a.astype(np.float64), g_b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        change = np.abs(vb - va)
        smooth = change <= 4.0 * np.maximum(np.abs(ga), np.abs(gb)) * (b64 - a64) + slack
        pole = (ga < g_a0) & (gb > g_b0)
        bounded = change <= 4.0 * np.abs(v_b0 - v_a0) + slack
        ok = ~done & np.isfinite(va) & np.isfinite(vb) & ~pole & (smooth | bounded)
        at_b = vb < va
    x = np.where(hit, x_hit, np.where(at_b, b, a))
    v = np.where(hit, v_hit, np.where(at_b, v_b, v_a))
    gx = np.where(hit, g_hit, np.where(at_b, g_b, g_a))
    keep = hit | ok
    width = np.where(np.isnan(width), whole, width)
    # Where a halving landed on f' = 0: the stretch where f' = 0 around it, each edge to the
    # last float (from the point towards the bracket's ends, where f' != 0). A flat minimum
    # where f keeps its value across it and falls into it and rises out right past its edges
    # (max(|x - 0.5| - 0.3, 0)**2 on [0.2, 0.8]); a shoulder or a maximum, none; a stretch of
    # one float, the point.
    z = np.flatnonzero(hit & (g_hit == 0))
    flats = (a[:0], a[:0], a[:0], v_a[:0], np.zeros(0))
    if z.size:
        k = z.size
        edge, _, v_out, g_out = _flat_edges(
            f,
            np.r_[x_hit[z], x_hit[z]],
            np.r_[a[z], b[z]],
            np.r_[v_a[z], v_b[z]],
            np.r_[g_a[z], g_b[z]],
            halve=_float_between,
        )
        v_edge = _at_points(f, edge, size)[0].astype(np.float64)
        level = v_hit[z].astype(np.float64)
        with np.errstate(invalid="ignore"):
            level_lo, level_hi = (
                np.abs(v_edge[s] - level) <= slack for s in (slice(k), slice(k, None))
            )
            out_lo, out_hi = v_out[:k] >= level - slack, v_out[k:] >= level - slack
            rises = (g_out[:k] < 0) & (g_out[k:] > 0) & out_lo & out_hi & level_lo & level_hi
        # No wider than the refinement's tolerance: the point (x**2 in float64, where f' = 0
        # on the subnormals that XLA reads as 0).
        across = edge[k:].astype(np.float64) - edge[:k]
        stretch = rises & (across > tol_f * np.maximum(1.0, np.abs(x_hit[z].astype(np.float64))))
        keep[z] = rises & ~stretch  # a point alone, where f' = 0 on it only
        s_lo, s_hi = edge[:k][stretch], edge[k:][stretch]
        flats = (
            s_lo,
            s_hi,
            _mid(s_lo, s_hi).astype(a.dtype),
            v_hit[z][stretch],
            np.maximum(whole[z][stretch], across[stretch]),
        )
    return x[keep], x[keep], v[keep], gx[keep], width[keep], flats


def _varies(values: np.ndarray, eps: float, largest: float) -> bool:
    """Whether f's finite ``values`` (two at least) are not one value, to rounding at f's size
    ``largest`` (as :func:`_is_flat`); NaN where f' is 0 (a NaN branch of a where) is no sign."""
    seg = values.astype(np.float64)
    seg = seg[np.isfinite(seg)]
    return bool(seg.size >= 2 and np.ptp(seg) > 16.0 * eps * max(1.0, largest))


def _stuck(
    grids: list[np.ndarray], values: np.ndarray, g: np.ndarray, eps: float, largest: float
) -> list[int]:
    """The segments where f' is exactly 0 on every grid point but f is not one value: every
    point is a stationary point (``(x**2 - 1)**2`` on -1, 0, 1), f is piecewise constant,
    or f' underflows to 0. No sign of f' says where f rises, so they would hold nothing."""
    out, offset = [], 0
    for k, grid in enumerate(grids):
        i, j = offset, offset + grid.size
        if np.all(g[i:j] == 0) and _varies(values[i:j], eps, largest):  # cheaper first
            out.append(k)
        offset += grid.size
    return out


def _unclear_ends(
    grids: list[np.ndarray], values: np.ndarray, g: np.ndarray, eps: float, largest: float
) -> list[int]:
    """The segments that begin or end with two or more grid points where f' is exactly 0 and
    f is not one value there (not a flat minimum): stationary points at a grid's points, the
    end one of them, and no sign of f' between them says where f rises or falls
    (``(x**2 - 1)**2`` on -1, 0, 1, 2 holds minima at -1 and 1 and a maximum at 0)."""

    out, offset = [], 0
    for k, grid in enumerate(grids):
        gs, vs = g[offset : offset + grid.size], values[offset : offset + grid.size]
        if gs[0] != 0 and gs[-1] != 0:  # no zeros at either end (the usual case)
            offset += grid.size
            continue
        nonzero = np.flatnonzero(gs != 0)
        if nonzero.size:
            head, tail = nonzero[0], gs.size - 1 - nonzero[-1]  # zeros before, after
            if (head >= 2 and _varies(vs[:head], eps, largest)) or (
                tail >= 2 and _varies(vs[-tail:], eps, largest)
            ):
                out.append(k)
        offset += grid.size
    return out


def _flat_only_on_grid(
    f: Callable,
    grids: list[np.ndarray],
    values: np.ndarray,
    g: np.ndarray,
    eps: float,
    largest: float,
) -> list[int]:
    """The segments flat from end to end on the grid (f' = 0 and f one value at every point)
    that are not flat between its points: f' != 0 or f another value at a midpoint. Grid
    points on zeros of f' spaced like the grid (``(x - jnp.round(x))**2`` on a grid of the
    integers) look flat, though f has a minimum at each of them and a maximum between; such
    a segment is searched again with the midpoints added, never taken for one flat
    minimum."""
    whole, offset = [], 0
    for k, grid in enumerate(grids):
        i, j = offset, offset + grid.size - 1
        if np.all(g[i : j + 1] == 0) and _is_flat(values, i, j, eps, largest):
            whole.append(k)
        offset += grid.size
    if not whole:
        return []
    mids = [_mid(grids[k][:-1], grids[k][1:]).astype(grids[k].dtype) for k in whole]
    flat = np.concatenate(mids)
    m_values, m_g = _at_points(f, flat, values.size)
    starts = np.cumsum([0] + [grid.size for grid in grids])
    out, offset = [], 0
    for k, m in zip(whole, mids, strict=True):
        mv, mg = m_values[offset : offset + m.size], m_g[offset : offset + m.size]
        offset += m.size
        level = float(values[starts[k]])
        with np.errstate(invalid="ignore"):
            kept = np.abs(mv.astype(np.float64) - level) <= 16.0 * eps * max(1.0, largest)
        if not (np.all(mg == 0) and np.all(kept)):
            out.append(k)
    return out


def _with_midpoints(grid: np.ndarray) -> np.ndarray:
    """``grid`` with the midpoint between every two neighbours added (2n - 1 points)."""
    out = np.empty(2 * grid.size - 1, grid.dtype)
    out[0::2] = grid
    out[1::2] = _mid(grid[:-1], grid[1:]).astype(grid.dtype)
    return out


#: Rounds of brackets split off beside a refined point where f' = 0 and f falls beyond.
_SPAN_ROUNDS = 4


def _refine(
    f: Callable, a: np.ndarray, b: np.ndarray, v_a: np.ndarray, g_a: np.ndarray, tol_f: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_refine_all` on brackets padded to a power of two (few shapes compile)."""
    n = a.size
    # Padding brackets [a, a] have zero width, so they stop at once.
    pad = np.zeros(_bucket(n) - n, int)
    a, b, v_a, g_a = (np.concatenate([v, v[pad]]) for v in (a, b, v_a, g_a))
    x, value = _refine_all(f, a, b, v_a, g_a, tol_f)
    return np.array(x)[:n], np.array(value)[:n]


#: Halvings of a bracket beyond which :func:`_refine` narrows it in the order of the floats
#: first (those of :func:`_refine_all` are ``_MAX_ITER``, Newton's steps among them), and the
#: halvings it narrows it to.
_WIDE_HALVINGS, _NARROW_HALVINGS = _MAX_ITER - 20, 40


def _halvings(a: np.ndarray, b: np.ndarray, tol_f: float) -> np.ndarray:
    """How many halvings take bracket ``[a, b]`` to the refinement's tolerance, at the
    smallest ``|x|`` inside it (0 where it holds 0): ``tol_f * max(1, |x|)``."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    inner = np.where((a64 < 0) & (b64 > 0), 0.0, np.minimum(np.abs(a64), np.abs(b64)))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return np.log2((b64 - a64) / (tol_f * np.maximum(1.0, inner)))


def _narrow_wide(
    f: Callable, a: np.ndarray, b: np.ndarray, v_a: np.ndarray, g_a: np.ndarray, tol_f: float
) -> tuple[np.ndarray, ...]:
    """Brackets ``[a, b]`` (``f'(a) < 0 < f'(b)``) that bisection at the midpoint could not
    bring to the tolerance in :func:`_refine`'s iterations, halved in the order of the
    floats (:func:`_float_between`) until it can: float64 ``x**4 - 3 x**3 + 2`` on
    ``[-1e59, 1e18]`` with ``num=11`` has a bracket 1e58 wide around its minimum at 2.25,
    which 100 halvings at the midpoint bring only to 1e28, stopping on the saddle at 0.

    A probe where f' has no sign (exactly 0: a saddle, a flat stretch, f' underflowing; or f
    or f' not finite) keeps the bracket, and the probes go on from it on both sides, from
    the leftmost such probe towards ``a`` and from the rightmost towards ``b``, each side
    narrowing the bracket where f' has a sign: a flat stretch inside the bracket
    (``max(|x - 7| - 1e3, 0)`` on ``[-1e300, 1e300]``) ends up closely bracketed, as on an
    ordinary grid, and a probe on a NaN hole (``x**2 log(x**2)`` at 0) is stepped around.
    Brackets the refinement brings to the tolerance as they are (every bracket of a grid
    of ordinary spacing) are not touched: their results are unchanged to the bit.
    """
    wide = _halvings(a, b, tol_f) > _WIDE_HALVINGS
    if not wide.any():
        return a, b, v_a, g_a
    a, b, v_a, g_a = (v.copy() for v in (a, b, v_a, g_a))
    k = np.flatnonzero(wide)
    lo, hi, va, ga = a[k], b[k], v_a[k], g_a[k]
    # The leftmost and rightmost probes where f' had no sign; NaN while there is none.
    zl, zr = np.full(lo.shape, np.nan, lo.dtype), np.full(lo.shape, np.nan, lo.dtype)
    for _ in range(4 * 8 * lo.dtype.itemsize):
        plain = np.isnan(zl)
        left_of = np.where(plain, hi, zl)
        m1 = _float_between(lo, left_of)  # towards a: the bracket's middle where plain
        m2 = _float_between(np.where(plain, lo, zr), hi)  # towards b, past the zeros
        room = _halvings(lo, hi, tol_f) > _NARROW_HALVINGS
        low = room & (m1 != lo) & (m1 != left_of)
        high = room & ~plain & (m2 != zr) & (m2 != hi)
        if not (low.any() or high.any()):
            break
        points = np.r_[m1[low], m2[high]]
        v, g = _at_points(f, points, _bucket(points.size))
        v1, g1 = np.full(lo.shape, np.nan, v.dtype), np.full(lo.shape, np.nan, g.dtype)
        v2, g2 = v1.copy(), g1.copy()
        v1[low], g1[low] = v[: low.sum()], g[: low.sum()]
        v2[high], g2[high] = v[low.sum() :], g[low.sum() :]
        with np.errstate(invalid="ignore"):
            signed1 = np.isfinite(v1) & np.isfinite(g1) & (g1 != 0)
            down1, up1 = signed1 & (g1 < 0), signed1 & (g1 > 0)
            high &= ~up1  # the bracket now ends below the zeros: the other side is past
            signed2 = high & np.isfinite(v2) & np.isfinite(g2) & (g2 != 0)
            down2, up2 = signed2 & (g2 < 0), signed2 & (g2 > 0)
        lo, va, ga = (np.where(down1, m, o) for m, o in ((m1, lo), (v1, va), (g1, ga)))
        lo, va, ga = (np.where(down2, m, o) for m, o in ((m2, lo), (v2, va), (g2, ga)))
        hi = np.where(up1, m1, np.where(up2, m2, hi))
        zl = np.where(low & ~signed1, m1, zl)  # no sign: the zeros reach further out
        zr = np.where(low & ~signed1 & plain, m1, zr)
        zr = np.where(high & ~signed2, m2, zr)
        # A bracket that now ends inside the zeros' span: they are outside it, plain again.
        past = up1 | down2
        zl, zr = np.where(past, np.nan, zl), np.where(past, np.nan, zr)
    a[k], b[k], v_a[k], g_a[k] = lo, hi, va.astype(v_a.dtype), ga.astype(g_a.dtype)
    return a, b, v_a, g_a


#: Points across a stretch found by probing at which f' must be 0 too.
_ACROSS = 33


def _zero_across(f: Callable, x: np.ndarray, far: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """Whether f' is exactly 0 at ``_ACROSS`` evenly spaced points from each ``x`` to ``far``,
    and where it is not, the first such point from ``x`` with f and f' there.

    Probes doubling in distance can step over what lies between two of them: from the end of
    ``jnp.where(x <= 0.5, 1, 0.75 + (x - 1)**2)`` at 0 they read f' = 0 at 0.5 and at 1 (the
    minimum), and the stretch seemed to reach 1 across the fall between."""
    t = np.linspace(0.0, 1.0, _ACROSS)[None, :]
    x64 = x.astype(np.float64)[:, None]
    points = (x64 + t * (far.astype(np.float64)[:, None] - x64)).astype(x.dtype)
    v, g = (a.reshape(x.size, _ACROSS) for a in _at_points(f, points.ravel(), size))
    k = np.argmax(g != 0, axis=1)  # NaN != 0: met
    rows = np.arange(x.size)
    return (g == 0).all(axis=1), points[rows, k], v[rows, k], g[rows, k]


def _underflowed_past(
    f: Callable,
    among: np.ndarray,
    edge: np.ndarray,
    out: np.ndarray,
    g_out: np.ndarray,
    away: np.ndarray,
    bound: np.ndarray,
    scale: np.ndarray,
    tiny: float,
    size: int,
) -> np.ndarray:
    """Where, ``among`` the stretches asked about, f' past the ``edge`` of a flat stretch (going
    ``away`` from it) is below ``tiny`` because it underflowed: at ``out``, the first float
    past the edge (f' = ``g_out``), and
    still one float of the searched interval's scale past the edge (``eps * scale``, no
    farther than ``bound``). Near 0 floats are far finer than the interval's: the first float
    past an edge at 0 is 1e-38 in float32, and f' of ``max(x, 0)**2`` there is that small
    because x is, not because f' underflowed (one float of ``[-1, 1]`` away it is 2e-7: the
    stretch is a flat minimum ending at 0). Elsewhere the two points are a few floats apart
    and agree (``exp(-x**2)``'s underflow at -9.35)."""
    below = among & (np.abs(g_out.astype(np.float64)) < tiny)
    if not below.any():
        return below
    k = np.flatnonzero(below)
    x = edge[k].astype(np.float64)
    step = np.maximum(np.finfo(edge.dtype).eps * scale[k], np.abs(out[k] - x))
    reach = np.abs(bound[k].astype(np.float64) - x)
    probe = (x + away[k] * np.minimum(step, reach)).astype(edge.dtype)
    _, g = _at_points(f, probe, size)
    with np.errstate(invalid="ignore"):  # NaN there: no sign, as before
        below[k] = ~(np.abs(g.astype(np.float64)) >= tiny)
    return below


def _past_edge(
    f: Callable,
    x: np.ndarray,
    v: np.ndarray,
    away: np.ndarray,
    cell: np.ndarray,
    bound: np.ndarray,
    slack: float,
    resolved: np.ndarray,
    size: int,
) -> tuple[np.ndarray, ...]:
    """From points ``x`` where f' = 0 and f = ``v``, in the direction ``away`` and no farther
    than ``bound`` (:func:`_away_from`): whether f rises past the stretch where f' = 0 (it
    kept ``v`` to ``slack``, f' = 0 all across, f' points away beyond and f is no lower
    there), whether it falls (f' points back, farther than ``resolved`` from ``x``: closer,
    f' is read to rounding only), where the stretch ends, and the first point past it with
    f and f' there. For :func:`_refined_minima` and :func:`_flat_from_ends`."""
    _, far, _, kept, out, v_out, g_out = _away_from(f, x, v, away, cell, slack, size, bound=bound)
    # f' != 0 between x and the edge: f turns there first (no stretch to the edge).
    across, *first = _zero_across(f, x, far, size)
    out, v_out, g_out = (
        np.where(across, a, b) for a, b in zip((out, v_out, g_out), first, strict=True)
    )
    level = v.astype(np.float64)
    with np.errstate(invalid="ignore"):  # NaN past the edge: no sign, neither
        turn = np.sign(g_out.astype(np.float64))
        rises = kept & across & (turn == away) & (v_out.astype(np.float64) >= level - slack)
        falls = (kept | ~across) & (turn == -away)
        falls &= np.abs(out - x.astype(np.float64)) > resolved
    return rises, falls, far, out, v_out, g_out


def _flat_near(f: Callable, x: np.ndarray, tol_f: float, size: int) -> np.ndarray:
    """Whether f' = 0 at each ``x`` and at ``x`` plus or minus half the refinement's
    tolerance (``tol_f`` of ``max(1, |x|)``), or one float beside it where that is more:
    where a stretch with f' = 0 wider than the tolerance may hold ``x``."""
    x64 = x.astype(np.float64)
    half = np.maximum(_ulp(x), 0.5 * tol_f * np.maximum(1.0, np.abs(x64)))
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        points = _probe(x64[:, None] + np.array([0.0, -1.0, 1.0]) * half[:, None], x.dtype)
    g = _at_points(f, points.ravel(), size)[1].reshape(x.size, 3)
    return (g[:, 0] == 0) & ((g[:, 1] == 0) | (g[:, 2] == 0))


def _falls_past(
    f: Callable,
    x: np.ndarray,
    value: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    tol_f: float,
    eps: float,
    size: int,
) -> tuple[np.ndarray, ...]:
    """From points ``x`` of brackets ``[a, b]`` that are not on a stretch where f' = 0 (the
    refinement may have stopped on an inflection or a maximum, where f' is 0 or keeps its
    sign across x): whether f' still points down past the
    refinement's tolerance of x, above (f' < 0 there, before ``b``) and below (f' > 0, after
    ``a``), with f there below its ``value`` at x past 16 epsilons (``eps``) of it, or f'
    there larger than twice its spread over the floats beside x (so that f' flipping in its
    last bits at a minimum of a large f starts no search), and the two points with f and f'
    there. Closer than the tolerance, f' is read to rounding only
    (:func:`_refined_minima`)."""
    x64 = x.astype(np.float64)
    reach = _reach(x, tol_f)
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        points = _probe(np.r_[x64 + reach, x64 - reach], x.dtype)
    n = x.size
    v, g = _at_points(f, np.r_[points, _floats_beside(x).ravel()], size)
    g_near = g[2 * n :].reshape(n, -1).astype(np.float64)
    v, g = v[: 2 * n].astype(np.float64), g[: 2 * n]
    level = np.r_[value, value].astype(np.float64)
    spread = _spread(g_near)
    with np.errstate(invalid="ignore"):
        # f lower there past its rounding, or f' there clear of how f' strays beside x.
        clear = np.abs(g.astype(np.float64)) > 2.0 * np.r_[spread, spread]
        lower = v < level - 16.0 * eps * np.abs(level)
        sure = np.isfinite(v) & (lower | clear)
        up = (g[:n] < 0) & sure[:n] & (points[:n] < b)
        down = (g[n:] > 0) & sure[n:] & (points[n:] > a)
    return up, down, points[:n], v[:n], g[:n], points[n:]


def _refined_minima(
    f: Callable,
    a: np.ndarray,
    b: np.ndarray,
    v_a: np.ndarray,
    g_a: np.ndarray,
    tol_f: float,
    slack: float,
    size: int,
    rounds: int = 0,
    refined: tuple[np.ndarray, ...] | None = None,
    eps: float = 0.0,
) -> tuple[np.ndarray, ...]:
    """The minima in brackets ``[a, b]`` (f = ``v_a`` and f' = ``g_a`` < 0 at ``a``, f' > 0 at
    ``b``): locations, values, extents (``lo``, ``hi``) and the bracket each lies in.

    The refinement stops where f' is exactly 0, which need not be an isolated minimum: in a
    bracket wider than a flat minimum (``max(|x| - 1, 0)**2`` on a grid 2 apart) it lands
    anywhere on the stretch. From such a point f' is probed outwards on both sides as from
    the low side of a jump (:func:`_rises_away`, no farther than the bracket's ends, where
    f' != 0), and each edge of the stretch found to the last float. Where f keeps its value
    (to ``slack``) and rises right past both edges, the point is a flat minimum spanning the
    stretch, reported as one found on the grid is: its middle as ``x``, the stretch in
    ``lo``/``hi``; a stretch no wider than the refinement's tolerance stays the point it
    was. Where f falls past an edge instead (a flat shoulder or a flat maximum inside the
    bracket, a saddle the bisection hit), the part of the bracket beyond that edge is
    searched the same way, for up to ``_SPAN_ROUNDS`` rounds, and the minima found there
    replace the point, which is none. Within the tolerance of the point, where f' is read to
    rounding only (its sign may flip from float to float), a fall counts for nothing.

    A point where f' = 0 alone (not beside it), or where f' keeps its sign across it, is a
    minimum unless f' points down past the tolerance on a side (:func:`_falls_past`): then
    the rest of the bracket on that side is searched the same way, and the point is none.

    ``refined``: the points the brackets refine to, their values, which of them have f' = 0
    there and beside (as :func:`_flat_near` says), and which there alone, where already
    known. ``eps``: the epsilon of the float f computes in (:func:`_falls_past`).
    """
    if refined is None:
        a, b, v_a, g_a = _narrow_wide(f, a, b, v_a, g_a, tol_f)
        x, value = _refine(f, a, b, v_a, g_a, tol_f)
        flat_near = _flat_near(f, x, tol_f, size) & np.isfinite(value)
        isolated = ~flat_near & np.isfinite(value)  # _falls_past reads f' beside each
    else:
        x, value, flat_near, isolated = (v.copy() for v in refined)
    lo, hi, owner = x.copy(), x.copy(), np.arange(a.size)
    # Brackets to search beyond points that are no minimum: start, end, f and f' at the start,
    # and the point each one replaces.
    children: list[tuple[np.ndarray, ...]] = []
    zero = np.flatnonzero(flat_near)
    if zero.size:
        xz = x[zero]
        a_z, b_z = a[zero].astype(np.float64), b[zero].astype(np.float64)
        ones = np.ones(zero.size)
        # Closer to x than the refinement's tolerance, f' is read to rounding only.
        resolved = tol_f * np.maximum(1.0, np.abs(xz.astype(np.float64)))
        sides = [
            _past_edge(f, xz, value[zero], sign * ones, b_z - a_z, bound, slack, resolved, size)
            for sign, bound in ((1.0, b_z), (-1.0, a_z))
        ]
        (up_rises, up_falls, up_far, up_out, up_v, up_g) = sides[0]
        (dn_rises, dn_falls, dn_far, dn_out, _, _) = sides[1]
        wide = up_rises & dn_rises & (up_far.astype(np.float64) - dn_far > resolved)
        i = zero[wide]
        lo[i], hi[i] = dn_far[wide], up_far[wide]
        x[i] = _mid(lo[i], hi[i]).astype(x.dtype)
        # Beyond an edge past which f falls: [first float past it, b] above, [a, last float
        # before it] below, each a bracket (f' < 0 at its start, > 0 at its end).
        u, d = zero[up_falls], zero[dn_falls]
        children.append((up_out[up_falls], b[u], up_v[up_falls], up_g[up_falls], u))
        children.append((a[d], dn_out[dn_falls], v_a[d], g_a[d], d))
    lone = np.flatnonzero(isolated)
    if lone.size and rounds < _SPAN_ROUNDS:
        # f' = 0 at x alone, or keeping its sign across x, and pointing down past the
        # tolerance: the refinement stopped on an inflection (f' = -u**2 at u = 0, where f
        # goes on falling) or a maximum, and the minimum lies beyond, in the same bracket.
        up, down, up_x, up_v, up_g, down_x = _falls_past(
            f, x[lone], value[lone], a[lone], b[lone], tol_f, eps, size
        )
        u, d = lone[up], lone[down]
        children.append((up_x[up], b[u], up_v[up], up_g[up], u))
        children.append((a[d], down_x[down], v_a[d], g_a[d], d))
    parent = np.concatenate([c[4] for c in children]) if children else np.zeros(0, int)
    if rounds >= _SPAN_ROUNDS or parent.size == 0:
        return x, value, lo, hi, owner
    cx, cv, clo, chi, cowner = _refined_minima(
        f,
        *(
            np.concatenate([c[k] for c in children]).astype(like.dtype)
            for k, like in enumerate((a, b, v_a, g_a))
        ),
        tol_f,
        slack,
        size,
        rounds + 1,
        eps=eps,
    )
    # f falls beside the point: it is no minimum, and those beyond it take its place.
    kept = np.ones(a.size, bool)
    kept[parent] = False
    return tuple(
        np.concatenate([mine[kept], theirs])
        for mine, theirs in ((x, cx), (value, cv), (lo, clo), (hi, chi), (owner, parent[cowner]))
    )


def _flat_from_ends(
    f: Callable,
    grid: np.ndarray,
    values: np.ndarray,
    g: np.ndarray,
    end_flats: list[tuple[int, int, float]],
    eps: float,
    largest: float,
    tol_f: float,
) -> tuple[Any, ...]:
    """What each end ``grid[i]`` of a segment is, where f' = 0 but f' != 0 at the grid point
    ``grid[j]`` beside it and f rises away from the end at ``j`` (``end_flats``: ``(i, j,
    direction into the segment)``): f' is probed from the end towards ``j``, as from a point
    the refinement stopped on (:func:`_refined_minima`).

    Where f keeps its value and rises right past the stretch where f' = 0, and the stretch is
    wider than ``tol_f``: a flat minimum from the end to the stretch's edge, as a flat
    stretch from an end found on the grid is (``max(x - 3, 0)**2 + max(1.25 - x, 0)**2`` on
    ``[2, 2e4]`` is lowest on ``[2, 3]``, whatever the grid spacing), or, where f' has only
    underflowed at that edge and f does not fall into the end from beyond, the end itself,
    flagged (as :func:`_search` decides for such a stretch on the grid). Where f falls past
    the edge instead, a well lies between it and ``j``: a bracket, and the end is no minimum.
    Otherwise (a stretch no wider than ``tol_f``, f stepping on it), the end is a stationary
    minimum, as before.

    Returns the ends to report (``(index, at_boundary)``), the flat minima's ``lo``, ``hi``,
    ``x`` and value, and the brackets' ``a``, ``b`` and f and f' at ``a``.
    """
    i, j, away = (np.asarray(c) for c in zip(*end_flats, strict=True))
    i, j = i.astype(int), j.astype(int)
    # An end where f' != 0 within the tolerance of it is a stationary minimum (x**2 on [0, 1]).
    near = _flat_near(f, grid[i], tol_f, grid.size)
    points = [(int(e), False) for e in i[~near]]
    if not near.any():
        none = grid[:0]
        return points, none, none, none, values[:0], none, none, values[:0], g[:0]
    i, j, away = i[near], j[near], away[near]
    x = grid[i]
    bound = grid[j].astype(np.float64)
    slack = 16.0 * eps * max(1.0, largest)
    resolved = tol_f * np.maximum(1.0, np.abs(x.astype(np.float64)))
    rises, falls, far, out, v_out, g_out = _past_edge(
        f, x, values[i], away, np.abs(bound - x), bound, slack, resolved, grid.size
    )
    wide = rises & (np.abs(far.astype(np.float64) - x) > resolved)
    # As for a stretch from an end on the grid (_search): f' below the smallest normal over
    # epsilon past the edge has underflowed, and f keeps its slope through the stretch.
    tiny = float(np.finfo(grid.dtype).tiny / np.finfo(grid.dtype).eps) * max(1.0, largest)
    scale = np.maximum(np.abs(x.astype(np.float64)), np.abs(bound))
    underflow = _underflowed_past(f, wide, far, out, g_out, away, bound, scale, tiny, grid.size)
    if underflow.any():
        k = np.flatnonzero(underflow)
        underflow[k] &= ~_falls_into_end(f, grid, i[k], i[k] + away[k].astype(int))
    flat = wide & ~underflow
    ends = points + [(int(e), True) for e in i[underflow]]
    ends += [(int(e), False) for e in i[~(wide | falls)]]
    lo, hi = np.minimum(x, far)[flat], np.maximum(x, far)[flat]
    # The well beyond a falling edge: [first float past it, j] above lo, [j, last float
    # before it] below hi.
    up, down = falls & (away > 0), falls & (away < 0)
    a = np.r_[out[up], grid[j[down]]]
    b = np.r_[grid[j[up]], out[down]]
    v_a = np.r_[v_out[up], values[j[down]]]
    g_a = np.r_[g_out[up], g[j[down]]]
    return ends, lo, hi, _mid(lo, hi).astype(grid.dtype), values[i][flat], a, b, v_a, g_a


#: Probes on either side of a minimum for f's climb out of it (:func:`_first_change`):
#: distances doubling from one float (or the smallest normal, or ``2**-64`` of the grid
#: spacing, whichever is most), out to ``2**63`` spacings; read ``_CHANGE_ROUND`` at a time.
_CHANGE_PROBES = 128
_CHANGE_ROUND = 16


def _past_rounding(level: Any, eps: float) -> tuple[Any, Any]:
    """Where f at a minimum of ``level`` has risen, and where fallen, past its rounding (the
    rule of :func:`_first_change`): above 16 epsilons of ``|level|``, below 16 of
    ``max(1, |level|)``."""
    return (
        level + 16.0 * eps * np.abs(level),
        level - 16.0 * eps * np.maximum(1.0, np.abs(level)),
    )


def _first_change(
    f: Callable,
    x: np.ndarray,
    direction: np.ndarray,
    level: np.ndarray,
    spacing: float | np.ndarray,
    eps: float,
    size: int,
    until: Callable[[np.ndarray], np.ndarray] | None = None,
    reach_at_most: float = np.inf,
    noise: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Going out from each ``x`` in ``direction`` (+1 or -1), what f does first past its
    rounding, against ``level`` (f's value at the minimum claimed there): 1 where it rises
    (above ``level`` by more than 16 epsilons of ``|level|``, f's rounding at its own level:
    ``1e-7 * x**2 / (1 + x**2)`` climbs 1e-7 in all), -1 where it falls (below it by more
    than 16 epsilons of ``max(1, |level|)``: f summed from terms near 1 is noisy at that
    size even where it is near 0, and that noise below its level is no way down), 2 where f
    is not finite first, 0 where neither happens out to the last probe. ``eps``: the
    epsilon of the float f computes in (:func:`_f_eps`).

    Probes go out ``_CHANGE_ROUND`` at a time, and only for the points still undecided and
    not yet settled by ``until`` (a mask of those whose answer no longer matters, updated by
    the caller between rounds: ``until(codes)`` gives it), so a claim settled near its point
    costs a round. No probe goes farther than ``reach_at_most``. ``noise``: how far f strays
    from float to float beside each ``x`` (:func:`_local_noise`), added to both thresholds:
    f computed from terms far larger than itself rounds at their size, not its own."""
    x64 = x.astype(np.float64)
    start = np.maximum(np.maximum(_ulp(x), float(np.finfo(x.dtype).tiny)), spacing * 2.0**-64)
    reach = np.minimum(_doubling(start, _CHANGE_PROBES), reach_at_most)
    rise_at, fall_at = _past_rounding(level.astype(np.float64), eps)
    rise_at, fall_at = rise_at + noise, fall_at - noise
    code = np.zeros(x.size, np.int8)
    for r0 in range(0, _CHANGE_PROBES, _CHANGE_ROUND):
        todo = np.flatnonzero((code == 0) & (True if until is None else ~until(code)))
        if todo.size == 0:
            break
        with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
            points = x64[todo, None] + direction[todo, None] * reach[todo, r0 : r0 + _CHANGE_ROUND]
        v, g = (
            a.reshape(todo.size, -1).astype(np.float64)
            for a in _at_points(f, _probe(points, x.dtype).ravel(), size)
        )
        seen = _changes(v, g, direction[todo, None], rise_at[todo, None], fall_at[todo, None])
        k = np.argmax(seen != 0, axis=1)
        code[todo] = seen[np.arange(todo.size), k]
    return code


def _changes(
    v: np.ndarray, g: np.ndarray, direction: Any, rise_at: Any, fall_at: Any
) -> np.ndarray:
    """Per point (f = ``v``, f' = ``g``, going out in ``direction``), the code of
    :func:`_first_change`: 2 where f is not finite, 1 where it is above ``rise_at``, -1 below
    ``fall_at``, else 0. A fall counts only where f' says f falls there too, else it is f's
    rounding (0): x**2 computed as ``(x + 1e4)**2 - 1e8 - 2e4 * x`` is rounded to steps of 8
    in float32 (1.5e-8 in float64) that fall below its value at the minimum, where f' (rounded
    too, to 0 at 1e-4) never says it falls. A rise counts unless f' says f falls there: f'
    = 0 (or not finite) says nothing against it (f steps up where it jumps)."""
    with np.errstate(invalid="ignore"):
        outward = g * direction  # f' along the way out
        rise = (v > rise_at) & ~(outward < 0)
        fall = (v < fall_at) & (outward < 0)
        return np.where(~np.isfinite(v), 2, np.where(rise, 1, np.where(fall, -1, 0)))


def _first_change_on(
    v: np.ndarray, g: np.ndarray, level: float, direction: float, eps: float
) -> int:
    """What f does first past its rounding along known values (f = ``v``, f' = ``g``, in
    order going out in ``direction`` from a point where f is ``level``): the code of
    :func:`_first_change` (0 where nothing)."""
    codes = _changes(
        v.astype(np.float64), g.astype(np.float64), direction, *_past_rounding(float(level), eps)
    )
    changed = np.flatnonzero(codes)
    return int(codes[changed[0]]) if changed.size else 0


#: Points on each side of a claimed minimum, within twice the refinement's tolerance, at
#: which f sets the level that :func:`_climbs_out` measures rises and falls from.
_LEVEL_POINTS = 8


#: Floats on each side of a point at which :func:`_local_noise` reads f.
_NOISE_FLOATS = 4


def _local_noise(f: Callable, x: np.ndarray, size: int) -> np.ndarray:
    """How far f strays beside each ``x``: the spread of f over the ``_NOISE_FLOATS`` floats
    below x (x included), or over those above it where that is less (a jump on one side is
    no noise); float64. Where f is smooth that is a few floats of its slope; where it is
    computed from terms far larger than itself (a polynomial expanded, near a double root
    of f'), their rounding: ``1e-19`` beside an inflection whose f is ``5e-6``, whose f and
    f' flip from float to float there, and which was taken for a minimum."""
    points = _floats_beside(x)
    v = _at_points(f, points.ravel(), size)[0].reshape(points.shape).astype(np.float64)
    spread = _spread(v)
    return np.where(np.isfinite(spread), spread, 0.0)  # not finite: no noise read there


def _floats_beside(x: np.ndarray) -> np.ndarray:
    """Each ``x`` and the ``_NOISE_FLOATS`` floats on either side of it, shape (n, 2k + 1)."""
    k = np.arange(-_NOISE_FLOATS, _NOISE_FLOATS + 1)
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        return _probe(x.astype(np.float64)[:, None] + k * _ulp(x)[:, None], x.dtype)


def _spread(rows: np.ndarray) -> np.ndarray:
    """Per row of values at :func:`_floats_beside`, their spread over the floats up to x or
    over those from it, the less (a jump on one side is no noise); NaN where not finite."""
    with np.errstate(invalid="ignore"):
        below = np.ptp(rows[:, : _NOISE_FLOATS + 1], axis=1)
        above = np.ptp(rows[:, _NOISE_FLOATS:], axis=1)
        return np.fmin(below, above)


def _climbs_out(
    f: Callable,
    lo: np.ndarray,
    hi: np.ndarray,
    level: np.ndarray,
    below: np.ndarray,
    above: np.ndarray,
    reach_below: np.ndarray,
    reach_above: np.ndarray,
    spacing: np.ndarray,
    eps: float,
    size: int,
) -> np.ndarray:
    """Whether f itself rises out of each claimed minimum ``[lo, hi]`` (f = ``level`` there),
    below ``lo`` where ``below`` and above ``hi`` where ``above``: going out, the first point
    where f differs from ``level`` by more than its rounding is higher (:func:`_first_change`).

    A refined point lies within the refinement's tolerance of the minimum (``tol_f`` of
    ``max(1, |x|)``; twice that for a degenerate one, where Newton is slow), which a loose
    ``tol`` (1e-3) makes wider than f's rounding there, and inside its bracket: the claim
    reaches ``reach_below`` below ``lo`` and ``reach_above`` above ``hi`` (twice the
    tolerance, no farther than the bracket's ends: with ``tol=0.1`` twice the tolerance
    beside a minimum of rastrigin at -5 is the next well), its level the lowest of f at
    ``lo``, ``hi`` and ``_LEVEL_POINTS`` points across each reach, and the probes go out
    from the reach's ends: f falling from x to the minimum it missed is no fall.

    A sign change of f' alone may be f's rounding: on the plateau of ``x**2 / (1 + x**2)``
    at ``x = -5e4`` in float32, f is 1 to the last bit and f' a difference of two terms of
    about ``2 / x`` whose true value, ``2 / x**3``, lies far below their rounding, so its
    sign flips from grid point to grid point, and every flip was taken for a minimum (some
    2400 of them on ``[-1e5, -1e3]``). Where a minimum is, f climbs out of it on both sides,
    at some distance; on a plateau it never does (f stays level out to where it falls).
    A side not asked (an end of the searched set, where nothing beyond counts) passes.
    ``spacing``, per claim: the grid's, or the width of the sliver of a grid cell where f is
    finite (:func:`_finite_edges`), from which the probes' first distance is set."""
    ok = np.isfinite(level.astype(np.float64))  # not finite: dropped later, not probed
    ask = [(lo, -1.0, below & ok, reach_below), (hi, 1.0, above & ok, reach_above)]
    x = np.concatenate([np.asarray(p)[m] for p, _, m, _ in ask])
    if x.size == 0:
        return np.ones(lo.size, bool)
    owner = np.concatenate([np.flatnonzero(m) for _, _, m, _ in ask])
    direction = np.concatenate([np.full(int(m.sum()), d) for _, d, m, _ in ask])
    away = np.concatenate([np.asarray(r, np.float64)[m] for _, _, m, r in ask]) * direction
    steps = np.arange(1, _LEVEL_POINTS + 1) / _LEVEL_POINTS
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        beside = _probe(x.astype(np.float64)[:, None] + away[:, None] * steps, x.dtype)
    v_beside = _at_points(f, beside.ravel(), size)[0].reshape(x.size, -1).astype(np.float64)
    lowest = level.astype(np.float64).copy()
    # NaN beside: no lower level (fmin keeps the number).
    np.fmin.at(lowest, owner, np.fmin.reduce(v_beside, axis=1))
    levels = lowest[owner]
    x = beside[:, -1]

    def settled(code: np.ndarray) -> np.ndarray:
        # A claim one side of which did anything but rise is refused: its other side no
        # longer matters.
        refused = np.zeros(lo.size, bool)
        refused[owner[(code != 0) & (code != 1)]] = True
        return refused[owner]

    noise = 2.0 * _local_noise(f, x, size)
    code = _first_change(
        f, x, direction, levels, spacing[owner], eps, size, until=settled, noise=noise
    )
    rises = np.ones(lo.size, bool)
    rises[owner[code != 1]] = False
    return rises


def _search(
    f: Callable,
    grids: list[np.ndarray],
    dtype: np.dtype,
    tol_f: float,
    *,
    packed: bool = False,
    rounds: int = 0,
) -> tuple[np.ndarray, ...]:
    """The minima of f on every segment: locations, values, end flags and extents (``lo``,
    ``hi``), unsorted.

    One grid evaluation for all segments and one refinement for all brackets, so the number
    of segments never changes what gets compiled. A single segment is evaluated at its own
    length (the grid ``find_minima`` has always compiled); several, or one joined from
    several (``packed``), are packed into one grid padded to a power of two.

    A flat minimum, where f' is exactly 0 on two or more grid points and f is one value there
    (between a fall and a rise, or between an end of the searched set and a rise away from
    it), is reported once, with the stretch it spans (its ends found by bisection) and its
    middle as ``x``; it is stationary, never ``at_boundary``. It must fall and rise right at
    those ends, not only at the grid points beyond: where f' just past an end has the other
    sign, a well narrower than the grid lies between, and that well is the minimum.

    A segment where f' is exactly 0 on every grid point but f varies (:func:`_stuck`), or
    on two or more points at one of its ends (:func:`_unclear_ends`), is searched again with
    the midpoints added, for up to ``_ZERO_ROUNDS`` rounds (``rounds``: those done); if f' is
    0 on all of them still, a ``UserWarning`` says so rather than report nothing in silence.
    """
    sizes = [g.size for g in grids]
    grid = np.concatenate(grids)
    if packed or len(grids) > 1:
        # Padding repeats the last point; its values are never read.
        grid = np.concatenate([grid, np.full(_bucket(grid.size) - grid.size, grid[-1], dtype)])
    # Host-side NumPy for the bookkeeping: only the two jitted kernels ever compile.
    values, g = _host_values(*_grid_value_and_gradient(f, grid))
    # Rounding is f's own: an f that computes in bfloat16 steps by bfloat16's epsilon, and
    # those steps, read against float32's, were jumps and stretches "not flat" everywhere.
    eps = _f_eps(f, dtype)
    if np.isfinite(values).all():  # two reductions, no copies of the grid (the usual case)
        largest = max(float(values.max()), -float(values.min()))  # f's size, for _is_flat
    else:
        finite = np.abs(values[np.isfinite(values)])
        largest = float(finite.max()) if finite.size else 1.0
    g = _undefined_slopes(f, sizes, grid, values, g, tol_f, eps, largest)
    stuck = _stuck(grids, values, g, eps, largest)
    uneven = _flat_only_on_grid(f, grids, values, g, eps, largest)
    refine = set(stuck) | set(_unclear_ends(grids, values, g, eps, largest)) | set(uneven)
    # Each round nearly doubles a segment: never past the points a search may scan.
    finer_size = sum(2 * n - 1 if k in refine else n for k, n in enumerate(sizes))
    if refine and rounds < _ZERO_ROUNDS and finer_size <= _MAX_NUM:
        finer = [_with_midpoints(grid) if k in refine else grid for k, grid in enumerate(grids)]
        return _search(f, finer, dtype, tol_f, packed=True, rounds=rounds + 1)
    if not packed and len(grids) == 1 and not _finite_somewhere(values, g):
        warnings.warn(
            f"f is not finite at any of the {grid.size} grid points of [{float(grid[0]):g}, "
            f"{float(grid[-1]):g}] (f or f' is NaN or infinite at every one): no minimum can "
            "be found there. Search an interval where f is defined; where f overflows "
            f"{np.dtype(dtype).name} everywhere but between the grid points ((x - 0.3)**2 on "
            "[-1e25, 1e25] in float32 is finite only within 1e19 of 0), a narrower interval, "
            "or a grid that meets those points.",
            UserWarning,
            stacklevel=_outside_level(),
        )
    for k in stuck:
        vs = values[sum(sizes[:k]) : sum(sizes[: k + 1])]
        warnings.warn(
            f"f' is exactly 0 on every one of {grids[k].size} grid points of "
            f"[{float(grids[k][0]):g}, {float(grids[k][-1]):g}], though f varies there (from "
            f"{np.nanmin(vs):g} to {np.nanmax(vs):g}): no minimum can be found from f'. f is "
            "piecewise constant there (as jnp.floor or jnp.round make it), or f' underflows "
            "to 0 where f does not; for the latter, rescale f, e.g. search f(s * x) on "
            "[lo / s, hi / s].",
            UserWarning,
            stacklevel=_outside_level(),
        )

    jump_i, jump_a, jump_b, jump_va, jump_vb, jump_ga, jump_gb = _jumps(
        f, grids, grid, values, g, eps, largest
    )
    lefts, rights, ends = [], [], []
    # Ends where f' = 0 with f' != 0 at the next grid point: (end, that point, direction).
    end_flats: list[tuple[int, int, float]] = []
    # Flat stretches: grid indices (first, last) where f' = 0, and the neighbours outside
    # them where f' != 0 (at an end of the searched set, the end itself: the stretch stops).
    flats: list[tuple[int, int, int, int]] = []
    whole: list[tuple[int, int]] = []  # segments where f' = 0 and f is one value throughout
    offset = 0
    for k_seg, size in enumerate(sizes):
        gs = g[offset : offset + size]
        left, right, lo_min, hi_min = _brackets(gs, values[offset : offset + size])
        flat = np.array(
            [
                _is_flat(values, a + offset + 1, b + offset - 1, eps, largest)
                for a, b in zip(left, right, strict=True)
            ],
            bool,
        )
        for a, b in zip(left[flat], right[flat], strict=True):
            flats.append((a + offset + 1, b + offset - 1, a + offset, b + offset))
        lefts.append(left[~flat] + offset)
        rights.append(right[~flat] + offset)
        for is_min, i in ((lo_min, offset), (hi_min, offset + size - 1)):
            if is_min and g[i] == 0:
                nonzero = np.flatnonzero(gs != 0)
                # f is flat from this end until it rises away: a flat minimum if f is one
                # value there (_brackets found the rise after the zeros).
                if i == offset:
                    last, nxt = offset + nonzero[0] - 1, offset + nonzero[0]
                    stretch = (offset, last, offset, nxt)
                else:
                    first, prv = offset + nonzero[-1] + 1, offset + nonzero[-1]
                    stretch = (first, i, prv, i)
                if _is_flat(values, stretch[0], stretch[1], eps, largest):
                    flats.append(stretch)
                    continue
                # f' = 0 but f steps between the end and the rise: the end is no minimum
                # where f's first jump away from it goes down (jnp.where(x < 0, 1, ...)).
                inside = jump_i[(jump_i >= stretch[2]) & (jump_i < stretch[3])]
                if inside.size:
                    k_jump = np.flatnonzero(jump_i == (inside[0] if i == offset else inside[-1]))
                    drop = jump_vb[k_jump] - jump_va[k_jump]
                    if (drop < 0 if i == offset else drop > 0).all():
                        continue
                if stretch[0] == stretch[1]:
                    # f' = 0 on the end alone among the grid points: f may stay flat from it
                    # up to a point between it and the next one (probed below).
                    beside = stretch[3] if i == offset else stretch[2]
                    end_flats.append((i, beside, 1.0 if i == offset else -1.0))
                    continue
                # f' = 0 at the end itself: a stationary minimum that happens to lie there
                # (x**2 on [0, 1]), where descent stops, not an end descent would run past.
                ends.append((i, False))
            elif is_min:  # f rises away from this end of the searched set
                ends.append((i, True))
        # A kink on a grid point where f' is undefined (NaN) but f is finite and no higher
        # than its neighbours, with f falling into it and rising out: sqrt(x**2) at 0. (A
        # kink between grid points is an ordinary bracket.)
        vs = values[offset : offset + size]
        u = 1 + np.flatnonzero(~np.isfinite(gs[1:-1]))  # few or none: look only there
        u = u[np.isfinite(vs[u])]
        with np.errstate(invalid="ignore"):
            kink = (gs[u - 1] < 0) & (gs[u + 1] > 0) & (vs[u] <= vs[u - 1]) & (vs[u] <= vs[u + 1])
        ends += [(offset + int(i), False) for i in u[kink]]
        # Otherwise f' a tolerance either side of the point says (a grid point beside it where
        # f' = 0 but f is higher: sqrt|x| + sqrt|x - 0.25| on a grid through 0, 0.125 and
        # 0.25, the maximum between the kinks on the grid).
        rest = u[~kink]
        if rest.size:
            x_u = grid[offset + rest]
            x64, step = x_u.astype(np.float64), _reach(x_u, tol_f)  # inside the grid: no clip
            bv, bg = _at_points(f, np.r_[x64 - step, x64 + step].astype(grid.dtype), grid.size)
            n = rest.size
            with np.errstate(invalid="ignore"):
                lone = (bg[:n] < 0) & (bg[n:] > 0) & (vs[rest] <= bv[:n]) & (vs[rest] <= bv[n:])
            ends += [(offset + int(i), False) for i in rest[lone]]
        if (
            np.all(gs == 0)
            and k_seg not in uneven
            and _is_flat(values, offset, offset + size - 1, eps, largest)
        ):
            whole.append((offset, offset + size - 1))
        offset += size
    left, right = np.concatenate(lefts), np.concatenate(rights)
    # A bracket across a jump is the jump's (below), not a root of f' to refine.
    k_jump = np.searchsorted(jump_i, left)
    across = k_jump < jump_i.size
    across[across] &= jump_i[k_jump[across]] < right[across]
    left, right = left[~across], right[~across]
    # A jump is a minimum on its low side where f rises away from it: down, then f' > 0
    # after it (jnp.where(x < 1, 0.5, x - 1.5) at 1); up, after f' < 0 before it.
    with np.errstate(invalid="ignore"):
        down = jump_vb < jump_va
        at_b, at_a = down & (jump_gb > 0), ~down & (jump_ga < 0)
        # f' = 0 right on the low side: f lands where it is stationary (0.5 below 1/3, then
        # 1e3 (x - 1/3)**2 - 1, f'(1/3) = 0), and what f' does first beyond it says whether
        # f rises away from there (perhaps after a stretch where f keeps that value).
        level_b, level_a = down & (jump_gb == 0), ~down & (jump_ga == 0)
    jump_x = np.concatenate([jump_b[at_b], jump_a[at_a]])
    jump_v = np.concatenate([jump_vb[at_b], jump_va[at_a]])
    jump_lo = jump_hi = jump_x
    if level_b.any() or level_a.any():
        side = np.concatenate([jump_b[level_b], jump_a[level_a]])
        side_v = np.concatenate([jump_vb[level_b], jump_va[level_a]])
        away = np.r_[np.ones(level_b.sum()), -np.ones(level_a.sum())]
        cell = np.diff(grid.astype(np.float64))[np.r_[jump_i[level_b], jump_i[level_a]]]
        slack = 16.0 * eps * max(1.0, largest)
        rises, far = _rises_away(f, side, side_v, away, cell, slack, grid.size)
        ends_of = np.sort(np.stack([side, far]), axis=0)[:, rises]
        middle = _mid(ends_of[0], ends_of[1]).astype(dtype)
        jump_x, jump_v = np.r_[jump_x, middle], np.r_[jump_v, side_v[rises]]
        jump_lo, jump_hi = np.r_[jump_lo, ends_of[0]], np.r_[jump_hi, ends_of[1]]
    # Segments flat from end to end: a flat minimum that covers them where f falls into
    # them and rises out beyond their ends (max(|x| - 1, 0)**2 on [-1, 1]); a flat f, none.
    whole = [
        w
        for w, m in zip(
            whole, _falls_in_rises_out(f, grid, values, whole, eps, largest), strict=True
        )
        if m
    ]
    ends_i = np.asarray([i for i, _ in ends], int)
    ends_x, ends_v = grid[ends_i], values[ends_i]

    a_x, b_x, a_v, a_g = _split_at_zeros(f, grid, values, g, left, right)
    *edges, sliver, edge_flats = _finite_edges(
        f, grids, grid, values, g, 16.0 * eps * max(1.0, largest), tol_f
    )
    *edge_flats, edge_flat_width = edge_flats
    # How wide each bracket's part of f's domain is, where f is finite on only a sliver of a
    # grid cell (NaN: a grid cell, or a flat stretch's edge): its claim is probed from there.
    finite_width = np.r_[np.full(a_x.size, np.nan), sliver]
    a_x, b_x, a_v, a_g = (
        np.r_[old, new] for old, new in zip((a_x, b_x, a_v, a_g), edges, strict=True)
    )

    if flats:
        first, last, before, after = np.asarray(flats, int).T
        k = len(flats)
        sides = np.r_[before, after]
        edge, out, v_out, g_out = _flat_edges(
            f, grid[np.r_[first, last]], grid[sides], values[sides], g[sides]
        )
        # A flat minimum is one only where f falls into it and rises out of it right at its
        # edges (an end of the searched set stops it, before == first or last == after). The
        # grid point past an edge can be on the far side of a narrow well: f' < 0 there, yet
        # f' > 0 just past the edge (a well whose centre lies a hair from a grid point),
        # and the stretch, higher than the well, was reported as a minimum in its place.
        level = values[first].astype(np.float64)
        slack = 16.0 * eps * max(1.0, largest)
        # f' this small is at most a few halvings from underflow to 0 (XLA flushes
        # subnormals to 0, so f' ends near the smallest normal, times the chain rule's factors).
        # Those factors hold f's own scale: 1e20 * exp(-x**2) underflows where exp(-x**2)
        # does, its last f' 1e20 times that of exp(-x**2), so the bound scales with f's size.
        tiny = float(np.finfo(dtype).tiny / np.finfo(dtype).eps) * max(1.0, largest)
        with np.errstate(invalid="ignore"):  # NaN past an edge: no sign, left as it was
            bad_lo = (before != first) & (g_out[:k] > 0)
            bad_hi = (after != last) & (g_out[k:] < 0)
            # f jumps below the stretch past an edge: values beside it are lower, so it is
            # no minimum (the jump is, where f rises after it).
            lower = ((before != first) & (v_out[:k] < level - slack)) | (
                (after != last) & (v_out[k:] < level - slack)
            )
            # A stretch from an end of the searched set whose other edge is where f' has
            # underflowed (exp(-x**2) far out, in float32 from |x| = 9.35): f' is 0 there
            # only because it is too small to hold, so f keeps the slope of that edge through
            # it and the end is the minimum, where float64 finds it (an end f rises away
            # from), not a flat minimum over the stretch.
            # (One float of the interval past the edge, too: see _underflowed_past.) The edge
            # away from the end: the high one of a stretch from the low end, and the other way.
            scale = np.maximum(np.abs(grid[before]), np.abs(grid[after])).astype(np.float64)
            past = _underflowed_past(
                f,
                np.r_[before == first, after == last],
                np.r_[edge[k:], edge[:k]],
                np.r_[out[k:], out[:k]],
                np.r_[g_out[k:], g_out[:k]],
                np.r_[np.ones(k), -np.ones(k)],
                grid[np.r_[after, before]],
                np.r_[scale, scale],
                tiny,
                grid.size,
            )
            underflow = past[:k] | past[k:]
        underflow &= ~(bad_lo | bad_hi | lower)
        # Unless f falls into the end from beyond it too: then f' changes sign across the
        # underflowed stretch, a stationary minimum lies somewhere on it (x**20 on [0, 1],
        # f'(0) = 0), and the stretch is the flat minimum float32 can tell.
        at_lo = before == first
        cand = np.flatnonzero(underflow)
        if cand.size:
            end_i = np.where(at_lo, first, last)[cand]
            inner = np.where(at_lo, first + 1, last - 1)[cand]
            underflow[cand] &= ~_falls_into_end(f, grid, end_i, inner)
        ends += [(int(i), True) for i in np.where(before == first, first, last)[underflow]]
        ends_i = np.asarray([i for i, _ in ends], int)
        ends_x, ends_v = grid[ends_i], values[ends_i]
        # The well between the edge and the grid point: a bracket, f' from - to +.
        a_x = np.concatenate([a_x, grid[before[bad_lo]], out[k:][bad_hi]])
        finite_width = np.r_[finite_width, np.full(a_x.size - finite_width.size, np.nan)]
        b_x = np.concatenate([b_x, out[:k][bad_lo], grid[after[bad_hi]]])
        a_v = np.concatenate([a_v, values[before[bad_lo]], v_out[k:][bad_hi]])
        a_g = np.concatenate([a_g, g[before[bad_lo]], g_out[k:][bad_hi]])
        keep = ~(bad_lo | bad_hi | lower | underflow)
        flat_lo, flat_hi = edge[:k][keep], edge[k:][keep]
        flat_x = _mid(flat_lo, flat_hi).astype(dtype)
        flat_v = values[first[keep]]
    else:
        flat_lo = flat_hi = flat_x = flat_v = grid[:0]
    if whole:
        first, last = np.asarray(whole, int).T
        flat_lo, flat_hi = np.r_[flat_lo, grid[first]], np.r_[flat_hi, grid[last]]
        middle = _mid(grid[first], grid[last]).astype(dtype)
        flat_x, flat_v = np.r_[flat_x, middle], np.r_[flat_v, values[first]]
    if end_flats:
        found = _flat_from_ends(f, grid, values, g, end_flats, eps, largest, tol_f)
        ends += found[0]
        flat_lo, flat_hi, flat_x, flat_v, a_x, b_x, a_v, a_g = (
            np.r_[old, new].astype(old.dtype)
            for old, new in zip(
                (flat_lo, flat_hi, flat_x, flat_v, a_x, b_x, a_v, a_g), found[1:], strict=True
            )
        )
        finite_width = np.r_[finite_width, np.full(a_x.size - finite_width.size, np.nan)]
        ends_i = np.asarray([i for i, _ in ends], int)
        ends_x, ends_v = grid[ends_i], values[ends_i]
    flat_lo, flat_hi, flat_x, flat_v = (
        np.r_[old, new].astype(old.dtype)
        for old, new in zip((flat_lo, flat_hi, flat_x, flat_v), edge_flats, strict=True)
    )

    if a_x.size:
        # Brackets too wide for the refinement are narrowed first, for all that follows: a
        # stretch the refinement lands on is probed out to the bracket's ends.
        a_x, b_x, a_v, a_g = _narrow_wide(f, a_x, b_x, a_v, a_g, tol_f)
        x_in, value_in = _refine(f, a_x, b_x, a_v, a_g, tol_f)
    else:  # Nothing to refine: skip compiling the refinement for this f.
        x_in = value_in = grid[:0]

    # A jump's low side on the edge of a flat minimum found from f' is that minimum.
    dup = ((jump_x[:, None] >= flat_lo) & (jump_x[:, None] <= flat_hi)).any(axis=1)
    jump_x, jump_v, jump_lo, jump_hi = (a[~dup] for a in (jump_x, jump_v, jump_lo, jump_hi))

    def gather(
        x_in: np.ndarray, value_in: np.ndarray, lo_in: np.ndarray, hi_in: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        x = np.concatenate([x_in, ends_x, flat_x, jump_x])
        value = np.concatenate([value_in, ends_v, flat_v, jump_v])
        boundary = np.concatenate(
            [
                np.zeros(x_in.size, bool),
                np.asarray([e for _, e in ends], bool),
                np.zeros(flat_x.size + jump_x.size, bool),
            ]
        )
        lo = np.concatenate([lo_in, ends_x, flat_lo, jump_lo])
        hi = np.concatenate([hi_in, ends_x, flat_hi, jump_hi])
        return x, value, boundary, lo, hi

    found = gather(x_in, value_in, x_in, x_in)
    resolution, slopes = _resolution(f, *found[:2], grid.size, tol_f, eps, slopes=True)
    # A refined point where f' = 0, and beside it too, may lie on a stretch where f' = 0 (the
    # bisection landed on a flat minimum narrower than the grid, or on a flat maximum or a
    # shoulder): the few there are widened or searched past (_refined_minima).
    near = slopes[: x_in.size]
    at_zero = (near[:, _NEIGHBOURS] == 0) & np.isfinite(value_in)
    flat_near = at_zero & ((near == 0).sum(axis=1) > 1)
    # f' pointing down a tolerance beside the point (its outermost probes): the refinement
    # stopped where f' = 0 without changing sign (Newton drawn to a double root of f', an
    # inflection of f, inside the bracket) and the minimum lies beyond.
    with np.errstate(invalid="ignore"):
        beyond = (near[:, 0] > 0) | (near[:, -1] < 0)
    isolated = (at_zero | beyond) & ~flat_near & np.isfinite(value_in)
    lo_in = hi_in = x_in
    changed = bool((flat_near | isolated).any())
    if changed:
        slack = 16.0 * eps * max(1.0, largest)
        refined = (x_in, value_in, flat_near, isolated)
        x_in, value_in, lo_in, hi_in, owner = _refined_minima(
            f, a_x, b_x, a_v, a_g, tol_f, slack, grid.size, refined=refined, eps=eps
        )
    else:
        owner = np.arange(x_in.size)
    # What f' claims, f must bear out: it climbs out of every minimum found from f' (refined
    # points, flat stretches) on both sides, past its rounding; beyond an end of the searched
    # set nothing counts. And f does not fall from an end into the interval first, past its
    # rounding (f' at the end may be rounding too). Jumps are found from f's values already.
    spacing = float(np.float64(grids[0][-1]) - grids[0][0]) / max(grids[0].size - 1, 1)
    firsts = np.array([gr[0] for gr in grids])
    lasts = np.array([gr[-1] for gr in grids])
    n_in = x_in.size
    claim_lo, claim_hi = np.r_[lo_in, flat_lo], np.r_[hi_in, flat_hi]
    # A refined point's claim reaches twice the tolerance, inside its bracket (_climbs_out);
    # a flat stretch's edges are found to the last float.
    lo64, hi64 = lo_in.astype(np.float64), hi_in.astype(np.float64)
    loose = 2.0 * tol_f * np.maximum(1.0, np.maximum(np.abs(lo64), np.abs(hi64)))
    none = np.zeros(flat_lo.size)
    with np.errstate(invalid="ignore"):
        reach_below = np.r_[np.clip(np.minimum(loose, lo64 - a_x[owner]), 0.0, None), none]
        reach_above = np.r_[np.clip(np.minimum(loose, b_x[owner] - hi64), 0.0, None), none]
    climbs = _climbs_out(
        f,
        claim_lo,
        claim_hi,
        np.r_[value_in, flat_v],
        ~np.isin(claim_lo, firsts),
        ~np.isin(claim_hi, lasts),
        np.nan_to_num(reach_below),
        np.nan_to_num(reach_above),
        np.r_[
            np.fmin(finite_width[owner], spacing),
            np.full(flat_lo.size - edge_flat_width.size, spacing),
            np.fmin(edge_flat_width, spacing),
        ],
        eps,
        grid.size,
    )
    offsets = np.cumsum([0, *sizes])
    inward = np.array(
        [1.0 if i in offsets[:-1] else -1.0 if i + 1 in offsets[1:] else 0.0 for i, _ in ends]
    )
    stays = np.ones(len(ends), bool)
    at_end = np.flatnonzero(inward != 0)
    if at_end.size:
        # Within the first grid cell by probes, then along the segment's own grid: probes
        # doubling in distance step over a valley (from -3e4 they read f = 1 at -13222 and
        # 3554, never the fall to 0 between) and past the segment's other end.
        end_i = np.asarray([i for i, _ in ends], int)[at_end]
        code = _first_change(
            f,
            ends_x[at_end],
            inward[at_end],
            ends_v[at_end],
            spacing,
            eps,
            grid.size,
            reach_at_most=spacing,
        )
        for k in np.flatnonzero(code == 0):
            i = int(end_i[k])
            segment = np.searchsorted(offsets, i, side="right") - 1
            if inward[at_end][k] > 0:
                part = slice(i + 1, offsets[segment + 1])
                along, slope = values[part], g[part]
            else:
                part = slice(offsets[segment], i)
                along, slope = values[part][::-1], g[part][::-1]
            code[k] = _first_change_on(along, slope, ends_v[at_end][k], inward[at_end][k], eps)
        stays[at_end] = code != -1
    if not (climbs.all() and stays.all()):
        changed = True
        keep_in, keep_flat = climbs[:n_in], climbs[n_in:]
        x_in, value_in, lo_in, hi_in = (a[keep_in] for a in (x_in, value_in, lo_in, hi_in))
        flat_x, flat_v, flat_lo, flat_hi = (
            a[keep_flat] for a in (flat_x, flat_v, flat_lo, flat_hi)
        )
        ends = [e for e, s in zip(ends, stays, strict=True) if s]
        ends_x, ends_v = ends_x[stays], ends_v[stays]
    if changed:
        found = gather(x_in, value_in, lo_in, hi_in)
        resolution = _resolution(f, *found[:2], grid.size, tol_f, eps)
    return (*found, resolution)


#: Points on either side of a minimum at which :func:`_resolution` evaluates f.
_NEIGHBOURS = 8


def _resolution(
    f: Callable,
    x: np.ndarray,
    value: np.ndarray,
    size: int,
    tol_f: float,
    eps_f: float = 0.0,
    *,
    slopes: bool = False,
) -> Any:
    """How far each minimum's ``value`` may be from the true depth of f there, in f's units.

    f is evaluated at ``x`` and ``_NEIGHBOURS`` points on either side, a step apart: one
    float, or an eighth of the distance the refinement may leave x from the minimum
    (``tol_f`` of ``max(1, |x|)``) where that is more. The resolution is how far ``value``
    lies above the lowest of them (x is not the best float, or a loose ``tol`` left it short
    of the minimum), plus how much f rises within two steps of that lowest point (what the
    floats' own spacing allows, and f's rounding there: ``C (1 - cos x)`` rounds at ``C``
    eps at its minimum, not at its value 0). Where f computes in a coarser float than x
    (``eps_f``, its epsilon, from :func:`_f_eps`), the step is at least one of that float's
    (relative, or absolute below 1): closer probes all read the same rounded value. Evaluated
    with the grid's kernel, at its ``size`` where the points fit (compiled already). With
    ``slopes``, also returns f' at those points, shape ``(n, 2 * _NEIGHBOURS + 1)``, x itself
    in the middle.
    """
    if x.size == 0:
        none = np.zeros(0, x.dtype)
        return (none, np.zeros((0, 2 * _NEIGHBOURS + 1), x.dtype)) if slopes else none
    step = np.maximum(_ulp(x), tol_f * np.maximum(1.0, np.abs(x.astype(np.float64))) / _NEIGHBOURS)
    step = np.maximum(step, _coarse_step(x, eps_f))
    k = np.arange(-_NEIGHBOURS, _NEIGHBOURS + 1)
    with np.errstate(over="ignore"):  # past the largest float: clipped by _probe
        points = _probe(x.astype(np.float64)[:, None] + k[None, :] * step[:, None], x.dtype)
    around, g = _at_points(f, points.ravel(), size)
    around = around.astype(np.float64).reshape(x.size, 1, k.size)
    resolution = _resolution_from(around, value).astype(x.dtype)
    return (resolution, g.reshape(x.size, k.size)) if slopes else resolution


def _mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The midpoints of ``a`` and ``b``, in float64, halves first: ``(a + b) / 2`` overflows
    to inf where both lie past half the largest float64 (float64 searches near 1.7e308)."""
    return a.astype(np.float64) / 2 + np.asarray(b, np.float64) / 2


def _float_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The float halfway between ``a`` and ``b`` (same float dtype) in the order of the
    floats: as many floats lie from ``a`` to it as from it to ``b`` (to one), so between
    1e-30 and 1e30 it is near 1, and 64 halvings (32 in float32) reach neighbouring floats
    from any two. ``a`` or ``b`` where they are neighbours already. Subnormal floats count
    as 0, as XLA flushes them (f at 1e-45 is f at 0): never returned, the smallest normal
    float neighbours 0."""
    bits = {4: np.int32, 8: np.int64}[a.dtype.itemsize]
    top, low = np.int64(np.iinfo(bits).max), np.int64(np.iinfo(bits).min)
    # The bits of the smallest normal float, less one: subnormals and 0 map to key 0.
    below = np.int64(np.asarray(np.finfo(a.dtype).tiny, a.dtype).view(bits)) - 1

    def key(x: np.ndarray) -> np.ndarray:  # sign and magnitude, as one ordered integer
        k = x.view(bits).astype(np.int64)
        magnitude = np.maximum((k & top) - below, 0)
        return np.where(k < 0, -magnitude, magnitude)

    ka, kb = key(a), key(b)
    k = ka // 2 + kb // 2 + (ka % 2 + kb % 2) // 2  # floor((ka + kb) / 2), no overflow
    magnitude = np.where(k == 0, 0, np.abs(k) + below)
    raw = np.where(k < 0, magnitude | low, magnitude)
    mid = raw.astype(bits).view(a.dtype)
    # Neighbours in this order (a subnormal and 0, or 0 and the smallest normal): an end.
    return np.where(k == ka, a, np.where(k == kb, b, mid))


def _doubling(start: np.ndarray, n: int) -> np.ndarray:
    """Distances doubling from ``start`` (float64, shape ``(k,)``), ``n`` of them per row,
    shape ``(k, n)``; capped at the largest float64, not inf (``2**63`` grid spacings
    overflow in a float64 search over a wide interval), so that probes are clipped to the
    working float's range by :func:`_probe`, never NaN."""
    big = float(np.finfo(np.float64).max)
    with np.errstate(over="ignore"):
        reach = np.asarray(start, np.float64)[:, None] * 2.0 ** np.arange(n)[None, :]
    return np.minimum(reach, big)


def _coarse_step(x: np.ndarray, eps_f: float) -> np.ndarray:
    """One step of the float f computes in (epsilon ``eps_f``) at ``x``, relative, absolute
    below 1; 0 where that float is no coarser than x's own."""
    if eps_f <= float(np.finfo(x.dtype).eps):
        return np.zeros(x.shape)
    return eps_f * np.maximum(1.0, np.abs(x.astype(np.float64)))


def _ulp(x: np.ndarray) -> np.ndarray:
    """The spacing of the floats at ``|x|`` (float64), the one below at the largest float,
    where the next is inf."""
    a = np.abs(x)
    with np.errstate(over="ignore"):
        ulp = np.spacing(a).astype(np.float64)
    below = (a - np.nextafter(a, np.zeros_like(a))).astype(np.float64)
    return np.where(np.isfinite(ulp), ulp, below)


def _reach(x: np.ndarray, tol_f: float) -> np.ndarray:
    """The refinement's tolerance at ``x`` (float64): ``tol_f`` of ``max(1, |x|)``, or one
    float where that is more (a ``tol`` below the float's own spacing)."""
    return np.maximum(_ulp(x), tol_f * np.maximum(1.0, np.abs(x.astype(np.float64))))


def _probe(points: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float64 ``points`` in ``dtype``, kept to its finite range (no overflow, no inf)."""
    big = float(np.finfo(dtype).max)
    return np.clip(points, -big, big).astype(dtype)


def _resolution_from(around: np.ndarray, value: np.ndarray) -> np.ndarray:
    """The resolution of each minimum, from f sampled around it (float64).

    ``around[i, j]`` holds f on the j-th line through the i-th minimum, at points a step
    apart with the minimum in the middle (one line in 1-D, one per coordinate in n-D). The
    resolution is how far ``value`` lies above the lowest of all those samples, plus how
    much f rises within two steps of that lowest point along its line, on the side where it
    rises least (the low side of a jump rises by the whole jump towards it, which is no
    rounding: counted, minima of different depths a jump apart tied as global); 0 where f
    is not finite anywhere around. Shared by :func:`find_minima` and
    :func:`jaxgd.minima_nd.find_minima_nd`, so both tie minima by the same rule.
    """
    k, lines, width = around.shape
    around = np.where(np.isfinite(around), around, np.inf)
    line, best = np.unravel_index(around.reshape(k, -1).argmin(axis=1), (lines, width))
    floor = around[np.arange(k), line, best]
    on_line = around[np.arange(k), line]
    rises = []
    for side in (np.arange(-2, 0), np.arange(1, 3)):
        at = best[:, None] + side[None, :]
        inside = (at >= 0) & (at < width)
        seen = np.take_along_axis(on_line, np.clip(at, 0, width - 1), axis=1)
        seen = np.where(inside & np.isfinite(seen), seen, -np.inf)  # off the line: not seen
        with np.errstate(invalid="ignore"):
            rises.append(np.where(np.isfinite(seen).any(axis=1), seen.max(axis=1), np.inf))
    with np.errstate(invalid="ignore"):  # f not finite anywhere around: no resolution
        rise = np.minimum(*rises) - floor
        rise = np.where(np.isfinite(rise), np.maximum(rise, 0.0), 0.0)
        gap = np.maximum(value.astype(np.float64) - floor, 0.0)
        return np.where(np.isfinite(floor), gap + rise, 0.0)


def _ties(value: Any, resolution: Any, low: Any, eps: float, xp: Any = np) -> Any:
    """Mask of the minima as low as ``value[low]``, apart by rounding alone.

    Apart by no more than twice the sum of the two minima's resolutions and 4 epsilons
    (``eps``, of f's dtype) of their size. ``xp`` is ``np`` or ``jnp`` (traced arrays).
    """
    lowest = value[low]
    within = 2 * (resolution + resolution[low]) + 4 * eps * xp.maximum(
        xp.abs(value), xp.abs(lowest)
    )
    return value <= lowest + within


def _assemble(found: tuple[np.ndarray, ...], domain: tuple[float, float]) -> Minima:
    """Sort the minima by x, drop non-finite values, pick the lowest; ``domain``: the
    interval searched in full (:attr:`Minima.domain`).

    The searched intervals never touch (windows that meet the domain are joined to it), so
    no minimum is found twice.
    """
    x, value, boundary, lo, hi, resolution = found
    # f can still be non-finite at a refined point (a singularity inside a bracket).
    keep = np.isfinite(value)
    order = np.lexsort((value[keep], boundary[keep], x[keep]))
    x, value, boundary, lo, hi, resolution = (
        a[keep][order] for a in (x, value, boundary, lo, hi, resolution)
    )
    index = int(np.argmin(value)) if x.size else -1
    # device_put, unlike jnp.asarray, compiles nothing for a new shape.
    return Minima(
        x=jax.device_put(x),
        value=jax.device_put(value),
        at_boundary=jax.device_put(boundary),
        global_index=jax.device_put(np.int32(index)),
        lo=jax.device_put(lo),
        hi=jax.device_put(hi),
        resolution=jax.device_put(resolution),
        domain=jax.device_put(np.asarray(domain, np.float64).astype(x.dtype)),
    )


#: What to do instead, said when find_minima meets traced values.
_FIX_FIND_MINIMA = (
    "find the minima once, outside, and pass them in (e.g. close over "
    "m = find_minima(f, lo, hi), or pass minima=m where a function takes it); for one "
    "search per parameter value, loop over the values in Python."
)


@on_host("find_minima", _FIX_FIND_MINIMA)
def find_minima(
    f: Callable[[jax.Array], jax.Array],
    lo: float,
    hi: float,
    *,
    num: int = _NUM,
    tol: float | None = None,
) -> Minima:
    """Find every local minimum of a scalar function ``f`` on ``[lo, hi]``.

    ``f'`` (from ``jax.grad``) is evaluated on ``num`` evenly spaced points; each sign
    change from - to + brackets one interior minimum, which is refined by Newton's method
    on ``f'`` (``f''`` from ``jax.grad`` again) safeguarded by bisection inside the
    bracket, so degenerate minima (``f'' = 0``) still converge. An end of the interval is
    reported as a minimum, flagged in ``at_boundary``, when ``f`` rises away from it
    (``f'(lo) > 0`` or ``f'(hi) < 0``, an infinite slope included: ``sqrt(x)`` at 0, where
    ``f'(0) = +inf``; an end where ``f`` itself is not finite, a pole, never is); where
    ``f'`` there is NaN, or infinite the other way (``jax.grad`` of ``sqrt(abs(x))`` is +inf
    at 0, the end of ``[-1, 0]``), the slope a tolerance inside is read instead; where
    ``f' = 0`` there and ``f`` rises away, it is a stationary minimum like any other, not
    flagged. Saddles, where ``f'`` touches 0 without changing sign, are not minima; nor is
    a point where ``f' = 0`` and ``f'`` still points down a tolerance beside it: on a grid
    through 0, ``x**4 / 4 - r * x**3 / 3`` (``f' = x**2 (x - r)``, ``r`` inside the next
    cell) pauses at 0 and its minimum at ``r`` is reported, as are both minima of
    ``(x**2 - r**2)**2`` around its maximum at 0.

    Flat minima, where ``f'`` is exactly 0 over a stretch and ``f`` is lowest all along it
    (``max(|x| - 1, 0)**2`` is lowest on all of ``[-1, 1]``), are reported once, with the
    stretch in ``lo``/``hi`` (its ends found to the last float) and its middle as ``x``:
    descent stops anywhere on such a stretch, and :func:`jaxgd.basins` counts every run that
    does. A stretch narrower than the grid spacing is found whole too (the refinement lands
    on it, or an end of the interval lies on it, and f' is probed outwards from there), and
    a flat maximum or a flat shoulder the refinement lands on is searched past, never
    reported: on ``[-1e6, 1e6]`` ``max(|x| - 1, 0)**2`` is lowest on ``[-1, 1]``, as on
    ``[-3, 3]``. Where ``f`` is flat on the whole interval, f' is probed beyond its ends (at
    distances doubling from the grid spacing): if ``f`` falls into it and rises out
    (``max(|x| - 1, 0)**2`` on ``[-1, 1]`` or ``[-0.5, 0.5]``), the interval is one flat
    minimum, cut at its ends (``lo``/``hi`` are the interval's); otherwise there is none,
    also where ``f`` steps below the interval's value before it rises (a staircase such as
    ``jnp.floor(x)``, whose f' is 0 on every step). A stretch from an end of the interval
    that is flat only because ``f'`` underflows to 0 there (``exp(-x**2)`` on ``[-20, 0]``
    in float32, where f and f' are 0 below -9.35) is no flat minimum: f' is taken to keep
    the sign it has where it underflowed (``|f'|`` below the smallest normal float over
    epsilon, times f's size on the grid where that is above 1: ``1e20 * exp(-x**2)``
    underflows where ``exp(-x**2)`` does), so the end is the minimum, flagged
    ``at_boundary``, as float64 finds it (descent in float32 stops anywhere on such a
    stretch all the same: f' is 0 there). f' is read past the stretch's edge at the first
    float and at one float of the interval's size: near 0 the two are far apart, and f' of
    ``max(x, 0)**2`` on ``[-1, 1]`` is below that bound at 1e-38 only because x is (a flat
    minimum on ``[-1, 0]``).
    Where f also falls into that end from beyond it (``x**20`` on ``[0, 1]``, where
    ``f'(0) = 0``), f' changes sign across the stretch, a stationary minimum lies on it, and
    the stretch stays a flat minimum.

    Works in JAX's default float dtype, float32, where minima come out to about 1e-7
    relative; with ``jax.config.update("jax_enable_x64", True)`` (or inside
    ``jax.enable_x64(True)``) the grid is float64 and they come out to about 1e-12. An ``f``
    that computes in a coarser float (``g(x.astype(jnp.bfloat16))``, whatever dtype it
    returns) is read at that float's rounding, found in its jaxpr: its rounding steps are
    no jumps, and its minima come out to that float's precision.

    Limits: minima closer together than the grid spacing ``(hi - lo) / (num - 1)`` can be
    missed, and so can a well narrower than it, wherever it lies: f' is read only on the
    grid, and where it keeps its sign at the points around the well nothing brackets it
    (``x**2 - exp(-((x - 0.3) / 1e-5)**2)`` on ``[-1, 1]``, at the default ``num``, reports
    only 0, missing the deeper minimum at 0.3, ``global_x`` included); raise ``num`` or
    search a narrower interval where such wells may lie. Where ``f'`` is rounding (a
    numerically flat region: ``x**2 / (1 + x**2)`` past ``|x| = 1e3`` in float32, where f is
    1 to the last float and ``f'`` a difference of two terms far larger than itself) its sign
    flips from point to point; a minimum found from ``f'`` (refined, or a flat stretch) is
    one only where f itself rises out of it on both sides, going out from it at distances
    doubling from one float: the first value that differs from its own by more than f's
    rounding (16 epsilons of ``|f|`` above it, or of ``max(1, |f|)`` below it, and a fall
    only where ``f'`` falls there too; beyond twice f's spread over the four floats beside
    it, where f is summed from terms far larger than itself and strays more) is higher. A
    minimum shallower than that rounding (``1 - 1e-7 * exp(-x**2)`` in float32) is none.
    An end whose ``f'`` says f rises away is none either where f first falls past its
    rounding into the interval (``[-3e4, 3e4]`` for that f); where f stays level to
    rounding all across, ``f'`` at the end decides (a rounding sign, where f' there is below
    it: its ends on ``[-1e5, 1e5]`` in float32 for ``1e-7 * x**2 / (1 + x**2)``, whose fall
    to 0 is below rounding at 1). A flat
    ``f`` (flat beyond the interval too, or undefined there) has no minima: the result is
    empty, and ``global_x`` / ``global_value`` raise ``ValueError`` rather than return NaN. Where
    ``f'`` is exactly 0 on every grid point but ``f`` is not one value (every point is a
    stationary point: ``(x**2 - 1)**2`` with ``num=3``), the midpoints are added to the grid,
    up to 4 times; if ``f'`` is 0 on all of those too (``f'`` underflowing to 0, or a
    piecewise constant ``f``), the result is empty and a ``UserWarning`` says why.

    ``f`` must have a continuous ``f'`` on ``[lo, hi]``: a pole between two grid points
    can look like a sign change. A kink is found where ``f'`` changes sign across it
    (``|x - 0.3|``), and on a grid point where ``f'`` is undefined but ``f`` is finite and
    lowest (``sqrt(x**2)`` at 0), also where ``f`` keeps that value on grid points around
    it (``exp(-1/x**2)`` at 0, whose f' is 0 times inf there and 0 where f underflows: a
    flat minimum, its stretch found to the last float, as with 0 between grid points; on a
    grid too coarse to have a point on the stretch beside 0, the point 0). A jump of ``f``
    (a ``jnp.where`` whose pieces do not meet) is found from ``f``'s values, to the last
    float: its low side is a minimum where ``f`` rises away from it
    (``jnp.where(x < 1, 0.5, x - 1.5)`` at 1, value -0.5), also where ``f' = 0`` right
    there (``jnp.where(x < 1, 0.5, (x - 1)**2 - 0.5)``; f may keep that value on a stretch
    before it rises: a flat minimum), and a stretch beside a lower value across a jump is
    none; a pole (``1/x``) is no jump. A jump smaller
    than 16 epsilons of the largest ``|f|`` on the grid, or of 1 where ``|f|`` stays below 1
    (1.9e-6 in float32), is not seen: for an ``f`` that small, scale it up first
    (``1e-6 * jnp.where(x < 1, 0.5, x - 1.5)`` has its jump missed, and the stretch left of
    it taken for a flat minimum). Nor is one beside which ``f`` strays from ``f'`` (rounding
    that ``f'`` does not see: ``x**2`` computed as ``(x + 1e4)**2 - 1e8 - 2e4 * x`` steps by
    8 every few floats in float32). Where ``f`` is not finite (NaN or infinite: ``log(x)``
    at ``x <= 0``), ``f'`` is not read: ``jax.grad`` may give a finite number there, but it
    says nothing of where ``f`` falls. Nor is the edge of such a region an end of the
    interval: where ``f`` is lowest right beside it (``sqrt(x)`` on ``[-1, 1]``, lowest at
    0, NaN left of it), nothing is reported there, as descent cannot settle there either (a
    step past it is NaN); search the part where ``f`` is finite (``[0, 1]``) to have it as
    an end. A grid cell one end of which is not finite is searched too: from the finite
    end, where ``f`` falls into the cell, the cell is halved towards the other until ``f``
    rises, and the minimum there is found (``(x - 0.3)**2`` on ``[-1e25, 1e25]`` overflows
    float32 at every grid point but 0); a pole where ``f`` falls to ``-inf`` is none, and of
    several minima in one such cell the search may find only one, as in any grid cell. Where
    ``f`` is finite at no grid point, the result is empty and a ``UserWarning`` says so.

    Not jittable (the number of minima depends on the values of ``f``): called while
    ``jax.jit``, ``vmap`` or ``grad`` is tracing (an ``f`` that closes over a traced value
    included) it raises ``TypeError``; call it outside, on concrete inputs. The compiled
    code is cached per ``f`` (by identity), so calling again with the same ``f`` and
    ``num`` does not recompile. The result is a pytree of JAX arrays.

    Args:
        f: Scalar-to-scalar function written with ``jax.numpy``, differentiable twice.
        lo: Left end of the interval, finite.
        hi: Right end of the interval, finite, greater than ``lo``.
        num: Number of grid points on which ``f'`` is scanned for sign changes, from 3
            to ``2**25`` (33,554,432: about 1 GB in float32, 2 GB in float64, at 32 or 56
            bytes a point, before f's own intermediates).
        tol: Relative tolerance of each refined minimum, on ``x`` (absolute for
            ``|x| < 1``), above 0 and below 1. Default: 4 machine epsilons of the working
            dtype. The search stops
            when Newton's last step is below it; at a degenerate minimum (``f'' = 0``),
            where Newton converges only linearly, the error can be a few times larger
            (1.8 ``tol`` for ``x**4``, 1.7 for ``x**6``, measured), far below the width over
            which such an ``f`` is flat to rounding (about ``0.02`` for ``x**4`` in float32).

    Returns:
        A :class:`Minima` with the minima in ascending order.

    Raises:
        TypeError: If ``f`` is not callable, cannot be traced (NumPy calls, Python
            branches on ``x``) or returns complex or integer values, an argument has
            the wrong type, or it is called inside a JAX transformation.
        ValueError: If ``f`` returns a non-scalar, ``lo``/``hi`` are not finite with
            ``lo < hi``, ``num`` is not from 3 to ``2**25`` or ``tol`` is not in (0, 1).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd.minima import find_minima
        >>> m = find_minima(lambda x: jnp.sin(x) * jnp.exp(-0.05 * x**2), -6.0, 6.0)
        >>> len(m)
        3
        >>> round(float(m.global_x), 4), round(float(m.global_value), 4)
        (-1.4289, -0.8939)
        >>> [round(x, 4) for x in m.x.tolist()]
        [-6.0, -1.4289, 4.3058]
        >>> m.at_boundary.tolist()  # f rises away from -6, so that end is a minimum too
        [True, False, False]
    """
    lo_f, hi_f = check_interval(lo, hi)
    num = _check_num(num)
    dtype, tol_f = _dtype_and_tol(tol)
    check_span_fits("lo, hi", lo_f, hi_f, dtype, what="grid")
    _refuse_in_trace("find_minima", _FIX_FIND_MINIMA)
    check_function(f, dtype)
    grid = np.linspace(lo_f, hi_f, num).astype(dtype)
    return _assemble(_search(f, [grid], dtype, tol_f), (lo_f, hi_f))


def _windows(
    cells: np.ndarray,
    counts: np.ndarray,
    lo: float,
    hi: float,
    pad: float,
    step: float,
    big: float,
) -> list[tuple[float, float]]:
    """Disjoint intervals outside ``[lo, hi]`` that hold every cell of ``cells``.

    Positions outside are grouped into cells of width ``pad`` (:func:`_outside_cells`, which
    gives where each starts and counts the runs in each), so the work grows with how far the
    runs spread, not with how many there are; each cell gets the window
    ``[start - pad, end + pad]``, cut off at the domain, and overlapping windows merge. If
    the windows would need more than ``_MAX_WINDOW_POINTS`` grid points, the cells holding
    the most runs are kept (the nearest to the domain on ties). A window stops at ``-big``
    and ``big``, the largest number of the working float: around a run's end near it (3.4e38
    in float32, with a wide domain) it would reach past it, and its grid would hold inf.
    """
    per_cell = int(np.ceil(3 * pad / step)) + 1
    most = max(1, _MAX_WINDOW_POINTS // per_cell)
    if cells.size > most:
        with np.errstate(over="ignore"):  # inf beyond float64's range: farthest, as it is
            distance = np.maximum(lo - cells, cells - hi)
        cells = np.sort(cells[np.lexsort((distance, -counts))[:most]])
    merged: list[list[float]] = []
    for c in cells:
        with np.errstate(over="ignore"):
            a, b = max(c - pad, -big), min(c + 2 * pad, big)
        a, b = (a, min(b, lo)) if c < lo else (max(a, hi), b)
        # Within two cells of the domain: reach it, leaving no strip unsearched between
        # (a flat minimum across the gap was reported as two). Half a cell of slack: the
        # cell's ends are rounded (12 * 0.30000000000000004 > 3.6).
        if lo - 2.5 * pad <= b < lo:
            b = lo
        elif hi < a <= hi + 2.5 * pad:
            a = hi
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


#: What to do instead, said when find_minima_reached meets traced values.
_FIX_FIND_MINIMA_REACHED = (
    "run the sweep, then find the minima on its concrete result "
    "(m = find_minima_reached(f, res.final, domain)) and pass them in; for one search "
    "per parameter value, loop over the values in Python."
)


@on_host("find_minima_reached", _FIX_FIND_MINIMA_REACHED)
def find_minima_reached(
    f: Callable[[jax.Array], jax.Array],
    final: Any,
    domain: tuple[float, float],
    *,
    num: int = _NUM,
    tol: float | None = None,
) -> Minima:
    """Every local minimum of ``f`` on ``domain``, and every one the runs ended at outside it.

    Descent does not stay inside the interval it started from: with a large enough step a run
    leaves it and settles in a minimum beyond its end (from the notebook's start ``x0 = -5``
    with learning rate 0.1, descent ends at -7.22811, outside ``[-2 pi, 2 pi]``). Matching
    such a run against ``find_minima(f, *domain)`` alone would call it lost.

    The searched set is ``domain`` plus a window around the finite entries of ``final`` that
    lie outside it: each such position lies inside a window that reaches at least
    ``0.05 * (hi - lo)`` beyond it on both sides (cut off where it meets the domain), and
    nearby windows merge. Every interval is scanned on a grid as fine as the domain's,
    ``(hi - lo) / (num - 1)``, and refined as in :func:`find_minima`; a window within two
    of its cells of the domain reaches it, and is searched as one interval with it. Windows
    are searched around where runs ended, never one grid over their whole span, so a few
    runs flung to ``1e6`` cost no more than a few near the domain.

    The rule for ``at_boundary``: an end of a searched interval is a minimum, flagged, when
    f rises away from it into that interval (with ``f' != 0`` there). A point where a window
    meets the domain is inside the joined interval, so it is never an end (a minimum of f
    just past ``hi`` is found in the window, as a stationary point; a flat minimum across
    ``hi`` is found whole). Without positions outside the domain the result is
    ``find_minima(f, *domain)``.

    Limits: a run still far from any minimum (more than the window from it) has its
    minimum missed. The window scales with the domain, not with the ``tol`` that labels runs:
    on a domain narrower than ``20 * tol`` (``(0, 1e-3)`` against the default ``tol=1e-3``)
    a run that stopped within ``tol`` of a minimum outside, but more than the window from
    it, finds only the window's end (flagged ``at_boundary``) and is labelled -1; search a
    wider ``domain`` there. A flat minimum outside the domain is cut at the end of the window around
    the runs on it (a window where f is flat throughout holds one only where f falls into it
    and rises out beyond its ends, as for an interval in :func:`find_minima`); if the
    positions outside spread so widely that the windows would need more than ``2**21`` grid
    points, the windows holding the most runs are searched first and the rest are left out.
    The limits of :func:`find_minima` apply inside every interval.

    Not jittable; call it on concrete inputs, outside ``jax.jit``/``vmap``/``grad``
    (``TypeError`` there, as for :func:`find_minima`). ``final`` may be a JAX or NumPy array.

    Args:
        f: Scalar-to-scalar function written with ``jax.numpy``, differentiable twice.
        final: Where the runs ended, any shape, e.g. ``jaxgd.sweep(...).final``; non-finite
            entries (diverged runs) are ignored. A finite entry the working float cannot
            hold (1e39 in float32, from a float64 run) is refused, as
            :func:`jaxgd.analysis.nearest_minimum` refuses it: no run of that precision ends there,
            and counting it as diverged would hide where it ended.
        domain: ``(lo, hi)``, finite with ``lo < hi``: the interval searched in full.
        num: Number of grid points on the domain, from 3 to ``2**25`` (as for
            :func:`find_minima`); it also sets the grid spacing of the windows.
        tol: Relative tolerance of each refined minimum, as in :func:`find_minima`.

    Returns:
        A :class:`Minima`, ascending in ``x``, inside and outside the domain alike;
        ``global_index`` is the lowest of them.

    Raises:
        TypeError: If ``f`` is bad (as for :func:`find_minima`), ``final`` is traced or not
            real numbers, an argument has the wrong type, or it is called inside a JAX
            transformation.
        ValueError: If ``domain`` is not finite with ``lo < hi``, ``num`` is not from 3 to
            ``2**25``, ``tol`` is not in (0, 1), or ``final`` holds a finite value too large
            for the working float (float32 unless x64 is on).

    Example:
        >>> import jax.numpy as jnp
        >>> import jaxgd
        >>> from jaxgd.minima import find_minima_reached
        >>> from jaxgd.functions import notebook  # sin(x) * exp(-0.05 x**2)
        >>> res = jaxgd.sweep(notebook, jnp.linspace(-5, 5, 50), 0.1, 1000)
        >>> m = find_minima_reached(notebook, res.final, (-6.2832, 6.2832))
        >>> [round(x, 4) for x in m.x.tolist()]  # -7.2281 is outside: runs from -5 end there
        [-7.2281, -1.4289, 4.3058]
        >>> m.at_boundary.tolist()  # -2 pi is no longer an end: the search went past it
        [False, False, False]
    """
    lo, hi = as_domain("domain", domain)
    num = _check_num(num)
    dtype, tol_f = _dtype_and_tol(tol)
    check_span_fits("domain", lo, hi, dtype, what="grid")
    if not is_concrete(final):
        raise TypeError(
            "final must be concrete, got a traced value; call find_minima_reached outside "
            "jax.jit / jax.vmap, on the result the compiled sweep returned"
        )
    # NumPy alone read [1.0, True] as [1.0, 1.0], raised its own words for ragged rows and
    # refused bfloat16 ends as no real numbers.
    ends = as_real_array(
        "final", final, "final must hold real numbers (where the runs ended), e.g. res.final"
    )
    check_in_range("final", ends, dtype)
    _refuse_in_trace("find_minima_reached", _FIX_FIND_MINIMA_REACHED)
    check_function(f, dtype)
    return _minima_reached(f, _outside_cells(ends, lo, hi), lo, hi, num, dtype, tol_f)


def _outside_cells(final: Any, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the finite positions of ``final`` outside ``[lo, hi]`` lie, as what
    :func:`find_minima_reached` searches around: where the cells of width
    ``_WINDOW * (hi - lo)`` that hold them start (multiples of that width), ascending, and how
    many each holds. Those of several parts of the runs combine with :func:`_merge_cells`
    into the cells of all of them.

    A cell is named by its start, not by its index: in float64 an end near 1.7e308 past a
    domain narrower than about 1, such as ``(-2, 2)``, has an index past the largest float
    (inf, and a window of inf). There the cell is narrower than the floats' own spacing, and
    the end itself is its start."""
    ends = np.asarray(final).astype(np.float64).ravel()
    outside = ends[np.isfinite(ends) & ((ends < lo) | (ends > hi))]
    pad = _WINDOW * (hi - lo)
    with np.errstate(over="ignore"):
        index = np.floor(outside / pad)
        starts = np.where(np.isfinite(index), index * pad, outside)
    return np.unique(starts, return_counts=True)


def _merge_cells(*parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The :func:`_outside_cells` of runs split into ``parts``, as if found for all at once."""
    cells, where = np.unique(np.concatenate([c for c, _ in parts]), return_inverse=True)
    counts = np.bincount(where, np.concatenate([k for _, k in parts]), minlength=cells.size)
    return cells, counts.astype(np.int64)


def _minima_reached_in(
    f: Callable, cells: tuple[np.ndarray, np.ndarray], lo: float, hi: float
) -> Minima:
    """``find_minima_reached(f, final, (lo, hi))`` with its defaults, for runs given by their
    :func:`_outside_cells` (gathered part by part, where ``final`` is never whole)."""
    return _minima_reached(f, cells, lo, hi, _NUM, *_dtype_and_tol(None))


def _minima_reached(
    f: Callable,
    cells: tuple[np.ndarray, np.ndarray],
    lo: float,
    hi: float,
    num: int,
    dtype: np.dtype,
    tol_f: float,
) -> Minima:
    """:func:`find_minima_reached` for checked arguments, with the runs' ends outside the
    domain given as their :func:`_outside_cells`."""
    step = (hi - lo) / (num - 1)
    big = float(np.finfo(dtype).max)
    windows = _windows(*cells, lo, hi, _WINDOW * (hi - lo), step, big) if cells[0].size else []
    pieces = [(lo, hi, np.linspace(lo, hi, num).astype(dtype))]
    for a, b in windows:
        n = max(_MIN_NUM, int(np.ceil((b - a) / step)) + 1)
        pieces.append((a, b, np.linspace(a, b, n).astype(dtype)))
    # A window that meets the domain is one interval with it: its grid continues the
    # domain's (the shared end once), so whatever lies across the join (a flat minimum, a
    # bracket) is seen whole, and the join is no end.
    pieces.sort(key=lambda p: p[0])
    joined: list[tuple[float, float, np.ndarray]] = []
    for a, b, grid in pieces:
        if joined and joined[-1][1] == a:
            joined[-1] = (joined[-1][0], b, np.concatenate([joined[-1][2], grid[1:]]))
        else:
            joined.append((a, b, grid))
    found = _search(f, [grid for _, _, grid in joined], dtype, tol_f, packed=bool(windows))
    return _assemble(found, (lo, hi))
