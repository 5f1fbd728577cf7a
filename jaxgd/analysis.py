"""Where descent ends, and how often it finds the global minimum.

One rule throughout: a run reached minimum ``i`` when it ended within ``tol`` of the
stationary minimum ``minima.x[i]``, wherever that minimum lies (a ``tol`` under 4 floats of
the working precision at a minimum, which runs cannot be relied on to come within, is warned
of). Find the minima with
:func:`find_minima_reached`, which adds to the minima of the domain those the runs settled in
outside it (a run that leaves ``[-2 pi, 2 pi]`` and settles at -7.22811 reached -7.22811, it
is not lost); "global" means the lowest among the minima found.

:func:`basins` labels every cell of a :class:`~jaxgd.SweepResult` with the local minimum it
reached; :func:`success_probability` turns those labels into the fraction of starts that
reached the global one; :func:`random_starts` draws the starts at random and reports, per
(learning rate, epoch count), how often descent succeeds, how widely the final guesses
spread and how often it diverges, all in one compiled call.
"""

from __future__ import annotations

import dataclasses
import types
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd import _chunking, _run
from jaxgd._validate import (
    _shape_of,
    as_domain,
    as_epochs,
    as_float_axis,
    as_key,
    check_function,
    check_in_range,
    check_int,
    check_interval,
    check_span_fits,
    default_float,
    holds_tracer,
    in_trace,
    is_concrete,
    positive_float,
    refuse_bools,
)
from jaxgd.minima import (
    Minima,
    _merge_cells,
    _minima_reached_in,
    _outside_cells,
    _outside_level,
    _ties,
    find_minima,
    find_minima_reached,
)
from jaxgd.result import SweepResult, function_name
from jaxgd.sweep import sweep

__all__ = [
    "Basins",
    "RandomStarts",
    "basins",
    "downhill_minimum",
    "find_minima_reached",
    "global_minima",
    "nearest_minimum",
    "random_starts",
    "success_probability",
]


@partial(jax.tree_util.register_dataclass, data_fields=None, meta_fields=None)
@dataclasses.dataclass(frozen=True, eq=False)
class Basins:
    """Which local minimum every cell of a sweep ended at.

    A JAX pytree with the axes of the result it was computed from, named in ``dims``.

    Attributes:
        index: Position in ``minima.x`` of the stationary minimum the run ended within
            ``tol`` of, or -1 where it ended near none (still on its way, stuck on a plateau
            or a saddle, or past an end of the interval) or diverged. int32.
        reached_global: True where ``index`` is a global minimum: a stationary minimum as
            low as the lowest one found (ties count, so both wells of an even function do).
        dims: The axis names, as in the :class:`~jaxgd.SweepResult`.
    """

    index: jax.Array
    reached_global: jax.Array
    dims: tuple[str, ...] = dataclasses.field(metadata={"static": True})

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``index``, one entry per name in ``dims``."""
        return tuple(self.index.shape)


@partial(jax.tree_util.register_dataclass, data_fields=None, meta_fields=None)
@dataclasses.dataclass(frozen=True, eq=False)
class RandomStarts:
    """Statistics of descent over ``n`` random starts, per (learning rate, epoch count).

    A JAX pytree. ``success``, ``spread`` and ``diverged_fraction`` have shape ``(L, E)``,
    axes ``("learning_rate", "epochs")``.

    Attributes:
        success: Fraction of the starts that reached a global minimum (as
            :func:`basins` defines it: the lowest stationary minimum, ties included).
        spread: Standard deviation (``ddof=0``) of the final guesses over the starts that did
            not diverge; NaN where every start diverged.
        diverged_fraction: Fraction of the starts whose run diverged.
        result: The sweep over the drawn starts, shape ``(n, L, E)``; ``result.starts`` are
            the starts, shared by every cell. None when :func:`random_starts` was called
            with ``keep_result=False``.
        minima: The minima the runs were matched against.
    """

    success: jax.Array
    spread: jax.Array
    diverged_fraction: jax.Array
    result: SweepResult | None
    minima: Minima

    #: Names of the axes of ``success``, ``spread`` and ``diverged_fraction``.
    dims = ("learning_rate", "epochs")

    @property
    def shape(self) -> tuple[int, ...]:
        """``(L, E)``: the shape of ``success``."""
        return tuple(self.success.shape)


def _check_result(result: Any) -> None:
    if not isinstance(result, SweepResult):
        raise TypeError(
            f"result must be a SweepResult, got {type(result).__name__}; "
            "make one with jaxgd.sweep(f, starts, learning_rates, epochs)"
        )


def _check_minima(minima: Any) -> Minima:
    """``minima`` checked; fields given as lists or Python numbers (hand-made minima) come
    back as arrays, so every function reads them alike."""
    if not isinstance(minima, Minima):
        raise TypeError(
            f"minima must be a Minima, got {type(minima).__name__}; make one with "
            "jaxgd.minima.find_minima_reached(f, result.final, domain) (or find_minima(f, lo, hi))"
        )
    plain = {
        field.name: _plain_array(field.name, getattr(minima, field.name))
        for field in dataclasses.fields(minima)
        if isinstance(getattr(minima, field.name), list | tuple | int | float | bool)
    }
    if plain:
        minima = dataclasses.replace(minima, **plain)
    minima = _real_fields(minima)
    if np.ndim(minima.x) != 1:
        raise ValueError(f"minima.x must be 1-D, got shape {np.shape(minima.x)}")
    for name in ("value", "at_boundary"):
        if np.shape(getattr(minima, name)) != np.shape(minima.x):
            raise ValueError(
                f"minima.{name} must have the shape of minima.x, {np.shape(minima.x)}; got "
                f"{np.shape(getattr(minima, name))}"
            )
    if _dtype(minima.at_boundary) != np.bool_:
        # ~ of an int is not "not": ~1 == -2, and an end would count as a stationary minimum.
        raise TypeError(
            "minima.at_boundary must be booleans (True where the minimum is an end of the "
            f"interval), got {_dtype(minima.at_boundary)}; pass "
            "np.asarray(at_boundary, bool)"
        )
    if is_concrete(minima.value) and not np.isfinite(np.asarray(minima.value)).all():
        raise ValueError(
            "minima.value must be f at each minimum, finite; got "
            f"{np.asarray(minima.value).tolist()} (no minimum would count as global)"
        )
    index = minima.global_index
    if np.ndim(index) != 0 or not np.issubdtype(_dtype(index), np.integer):
        raise TypeError(
            "minima.global_index must be one integer, the index of the lowest value (-1 when "
            f"there is no minimum); got {index!r}"
        )
    if is_concrete(index) and not (
        -1 <= int(index) < np.shape(minima.x)[0] and (int(index) == -1) == (len(minima) == 0)
    ):
        raise ValueError(
            f"minima.global_index must index one of the {len(minima)} minima (-1 when there "
            f"is none); got {int(index)}"
        )
    if is_concrete(minima.x) and not bool(np.all(np.diff(np.asarray(minima.x)) > 0)):
        raise ValueError(
            "minima.x must be strictly ascending, as find_minima returns it; "
            "sort it (and value, at_boundary, global_index, lo and hi with it)"
        )
    for name in ("lo", "hi", "resolution"):
        if name == "resolution" and minima.resolution is None:
            continue
        if np.shape(getattr(minima, name)) != np.shape(minima.x):
            raise ValueError(
                f"minima.{name} must have the shape of minima.x, {np.shape(minima.x)}; got "
                f"{np.shape(getattr(minima, name))}. Leave it out for "
                f"{'minima made by hand' if name == 'resolution' else 'isolated minima'}."
            )
    if is_concrete(minima.lo) and is_concrete(minima.hi) and is_concrete(minima.x):
        x, lo, hi = (np.asarray(a, np.float64) for a in (minima.x, minima.lo, minima.hi))
        with np.errstate(invalid="ignore"):
            ok = (lo <= x).all() and (x <= hi).all() and (hi[:-1] < lo[1:]).all()
        if not ok:
            raise ValueError(
                "each minimum must span [lo, hi] around its x, the spans apart and ascending "
                "(lo <= x <= hi, hi < the next lo), as find_minima returns them; "
                "leave lo and hi out for isolated minima (dataclasses.replace(minima, x=...) "
                "keeps the old ones: pass lo and hi too)"
            )
    if minima.domain is not None:
        _check_domain(minima.domain)
    return minima


#: The fields of a Minima that hold positions on the axis or values of f.
_REAL_FIELDS = ("x", "value", "lo", "hi", "resolution")


def _real_fields(minima: Minima) -> Minima:
    """``minima`` with its positions and values checked to be real numbers the working float
    holds, whole ones (a hand-made ``x=[-1, 1]``) given in that float, as the compiled rule
    takes them; its ``resolution``, where given, finite and >= 0.

    As ints they reached the rule in JAX's int (int32 unless x64 is on), where 2**40 wrapped
    to 0 and a run at 0 was labelled as reaching the minimum at 2**40, and ``value=[2**40,
    0]`` tied the two minima as global; float64 values past float32's range became -inf and
    no minimum was global; a negative or NaN ``resolution`` tied nothing, so no run counted.
    """
    cast = {}
    for name in _REAL_FIELDS:
        a = getattr(minima, name)
        if a is None:
            continue
        kind = _dtype(a)
        if kind == np.bool_ or not (
            np.issubdtype(kind, np.integer) or jnp.issubdtype(kind, jnp.floating)
        ):
            raise TypeError(
                f"minima.{name} must hold real numbers, got dtype {kind}; pass floats, as "
                "find_minima gives them"
            )
        if np.issubdtype(kind, np.integer):
            cast[name] = a.astype(_working(kind))  # NumPy, JAX or traced alike
        elif isinstance(a, np.ndarray | np.generic):
            check_in_range(f"minima.{name}", np.asarray(a), jax.dtypes.canonicalize_dtype(kind))
    if cast:
        minima = dataclasses.replace(minima, **cast)
    resolution = minima.resolution
    if resolution is not None and is_concrete(resolution):
        r = np.asarray(resolution, np.float64)
        if not (np.isfinite(r).all() and (r >= 0).all()):
            raise ValueError(
                "minima.resolution must be how finely f's value is known at each minimum, "
                f"finite and >= 0, as find_minima sets it; got {r.tolist()}. Leave it out "
                "(None) for minima made by hand."
            )
    return minima


def _check_domain(domain: Any) -> None:
    """``minima.domain``: the interval searched in full, ``(lo, hi)`` with finite ends and
    ``lo < hi``. Figures split the minima by it into those inside and outside: a reversed or
    NaN one put every minimum outside, silently, and a wrong shape failed while drawing."""
    what = (
        "minima.domain must be the interval searched in full, (lo, hi), as find_minima sets "
        "it; leave it out (None) for minima made by hand"
    )
    if isinstance(domain, str) or _shape_of(domain) != (2,):
        raise ValueError(f"{what}; got {type(domain).__name__} of shape {_shape_of(domain)}")
    kind = _dtype(domain)
    if not (np.issubdtype(kind, np.integer) or jnp.issubdtype(kind, jnp.floating)):
        raise TypeError(f"{what}; got dtype {kind}, pass real numbers")
    if is_concrete(domain):
        lo, hi = np.asarray(domain, np.float64)
        check_interval(lo, hi, name="minima.domain")


def _plain_array(name: str, value: Any) -> Any:
    """A list or number field of a hand-made Minima as an array. An empty list has no type to
    give: at_boundary's is bool (np.asarray would say float64), the others' float. Under
    ``jax.jit`` a list's entries are tracers, which NumPy cannot hold: a JAX array then."""
    if holds_tracer(value):
        return jnp.asarray(value)
    out = np.asarray(value)
    return out.astype(bool) if name == "at_boundary" and out.size == 0 else out


def _dtype(a: Any) -> np.dtype:
    """The dtype of an array of any kind (NumPy, JAX, a tracer) or a Python number."""
    return np.dtype(a.dtype) if hasattr(a, "dtype") else np.result_type(a)


def _check_tol(tol: Any) -> Any:
    """``tol`` checked, as the labelling rule takes it (see :func:`_in_range`)."""
    if is_concrete(tol):
        checked = positive_float("tol", tol, example="1e-3")
        dtype = np.dtype(_dtype(tol))
        if np.issubdtype(dtype, np.integer) or dtype.itemsize > 8:
            # A whole tol is a distance like any other: as an int it reached the compiled
            # rule as int32, where a Python int past 2**31 overflowed and an np.int64 wrapped
            # (2**40 became 0, and no run was within it). A long double is no JAX type.
            tol = checked
    elif np.ndim(tol) != 0:
        raise ValueError(f"tol must be a scalar distance in x, got shape {np.shape(tol)}")
    elif not (
        jnp.issubdtype(_dtype(tol), jnp.floating) or jnp.issubdtype(_dtype(tol), jnp.integer)
    ):
        raise TypeError(f"tol must be a real number (a distance in x), got dtype {_dtype(tol)}")
    return _in_range(tol)


def _in_range(tol: Any) -> Any:
    """``tol``, or inf where it lies beyond the largest number of the default float: what
    the cast to that float makes of it (every finite run is within it), without the overflow
    warning NumPy gives for that cast. A traced ``tol`` as it is."""
    if is_concrete(tol) and float(np.asarray(tol)) > float(np.finfo(default_float()).max):
        return float("inf")
    return tol


#: Floats of the working precision a run may stall from a minimum it settled in: where ``tol``
#: spans fewer on either side, a run can reach the minimum only by luck.
_STALL_FLOATS = 4


def _working(*dtypes: Any) -> np.dtype:
    """The float the labelling rule compares in, for operands of these dtypes: their common
    type, as JAX holds it (float32 unless x64 is on), without JAX's warning for float64."""
    common = np.result_type(*dtypes, np.float32)
    return np.dtype(jax.dtypes.canonicalize_dtype(common))


def _warn_if_too_fine(minima: Minima, tol: Any, dtype: Any) -> None:
    """UserWarning, at the caller's line, when ``tol`` is finer than ``_STALL_FLOATS`` floats
    of ``dtype`` at a stationary minimum of ``minima``.

    Descent in float32 stalls where a step is under half a float, some floats from the
    minimum (more at a small rate): beyond about |x| = 4000 the floats of float32 are 0.0005
    apart and more, and runs that settled were counted as reaching no minimum (success 0) with
    no word of why. Values only: nothing is done for a traced ``tol`` or traced minima.
    """
    if not (is_concrete(tol) and _concrete_minima(minima)) or minima.x.shape[0] == 0:
        return
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        return
    stationary = ~np.asarray(minima.at_boundary, bool)
    where = np.maximum(np.abs(_host(minima.lo)), np.abs(_host(minima.hi))).astype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        spacing = np.spacing(where).astype(np.float64)
        coarse = stationary & np.isfinite(where) & (_STALL_FLOATS * spacing > float(tol))
    if not coarse.any():
        return
    i = int(np.flatnonzero(coarse)[np.argmax(spacing[coarse])])
    least = _STALL_FLOATS * float(spacing[i])
    warnings.warn(
        f"tol={float(tol):g} is finer than {dtype.name} resolves at the minimum x = "
        f"{np.format_float_positional(_host(minima.x)[i], trim='-')}, where its floats are "
        f"{float(spacing[i]):.3g} apart: runs that settle there can stop a few floats away "
        f"and then count as not reaching it. Pass a tol of at least {least:.2g} "
        f"({_STALL_FLOATS} floats there), or compute in float64 (x64).",
        UserWarning,
        stacklevel=_outside_level(),
    )


#: Minima made by hand (no ``resolution``) tie with the lowest to this relative tolerance of
#: ``max(1, |lowest|)``: both wells of an even function count, whatever float rounding says.
_TIE_RTOL = 1e-5


def _is_global(minima: Minima, xp: Any = jnp) -> jax.Array:
    """Mask of the global minima: the stationary ones as low as the lowest of them.

    As low means apart by rounding alone: by no more than twice the sum of the two minima's
    ``resolution`` (how finely f's value is known at each) and 4 epsilons of their size; for
    minima made by hand, ``_TIE_RTOL`` of ``max(1, |lowest|)``. Global among those found: a
    minimum nobody searched for cannot count. An end of a searched interval never counts,
    even when f is lowest there: descent runs past it. ``xp=np`` for host arrays (the same
    numbers, without compiling one small program per operation); ``jnp`` for traced ones.
    """
    if minima.x.shape[0] == 0:
        return xp.zeros(0, bool)
    value = xp.where(minima.at_boundary, xp.inf, minima.value)
    if minima.resolution is None:
        lowest = xp.min(value)
        return ~minima.at_boundary & (value <= lowest + _TIE_RTOL * xp.maximum(1.0, xp.abs(lowest)))
    eps = xp.finfo(minima.value.dtype).eps
    return ~minima.at_boundary & _ties(value, minima.resolution, xp.argmin(value), eps, xp)


def _host(a: Any) -> np.ndarray:
    """``a`` as a NumPy array of the dtype JAX would give it (float64 is float32 unless x64
    is on), so NumPy computes what the JAX path would, bit for bit."""
    a = np.asarray(a)
    return a.astype(jax.dtypes.canonicalize_dtype(a.dtype), copy=False)


def _span_distance(x: Any, lo: Any, hi: Any, xp: Any = np) -> Any:
    """How far each position ``x`` is from the span ``[lo, hi]`` of a minimum: 0 on it,
    ``|x - lo|`` for an isolated one (``lo == hi``), NaN for NaN (``maximum`` keeps it).
    ``xp``: ``np`` for host arrays, ``jnp`` for traced ones; the dtype is the operands'."""
    return xp.maximum(xp.maximum(lo - x, x - hi), 0)


def _host_minima(minima: Minima) -> Any:
    """The fields of ``minima`` that the labelling rule reads, as :func:`_host` arrays."""
    return types.SimpleNamespace(
        x=_host(minima.x),
        value=_host(minima.value),
        at_boundary=_host(minima.at_boundary),
        lo=_host(minima.lo),
        hi=_host(minima.hi),
        resolution=None if minima.resolution is None else _host(minima.resolution),
    )


def _nearest_on_host(x: np.ndarray, minima: Minima, tol: Any) -> np.ndarray:
    """:func:`_label`'s index in NumPy, for host positions: the same ints, no compiling.

    Each step mirrors the JAX one: the dtypes follow JAX's promotion (``jnp.result_type``,
    a weak Python ``tol`` takes the distances' dtype), and searching the sorted ``minima.x``
    from the left picks the same neighbours.
    """
    x, minima = _host(x), _host_minima(minima)
    n = minima.x.shape[0]
    if n == 0:
        return np.full(x.shape, -1, np.int32)
    dtype = jnp.result_type(x.dtype, minima.x.dtype)
    final, xs = x.astype(dtype), minima.x.astype(dtype)
    lo, hi = minima.lo.astype(dtype), minima.hi.astype(dtype)
    diverged = ~np.isfinite(final)
    with np.errstate(invalid="ignore"):
        below, above = _stationary_neighbours(np.searchsorted(xs, final, side="left"), minima, np)

        def distance(i: np.ndarray) -> np.ndarray:
            j = np.clip(i, 0, n - 1)
            span = _span_distance(final, lo[j], hi[j])
            return np.where((i < 0) | (i >= n), dtype.type(np.inf), span)

        d_below, d_above = distance(below), distance(above)
        take_below = d_below <= d_above
        nearest = np.where(take_below, below, above)
        distance = np.where(take_below, d_below, d_above)
        # As on the device: a tol beyond the dtype's range is inf there (every finite run).
        with np.errstate(over="ignore"):
            bound = np.asarray(tol, jnp.result_type(dtype, tol))
        at_minimum = (distance <= bound) & ~diverged
    return np.where(at_minimum, nearest, -1).astype(np.int32)


def _stationary_neighbours(at: Any, minima: Minima, xp: Any) -> tuple[Any, Any]:
    """The stationary minima on either side of positions whose sorted place among
    ``minima.x`` is ``at``: the last one below (-1 if none) and the first one at or above (K
    if none), looking past the interval's ends, which descent does not stop at (so a minimum
    within tol beyond an end minimum is still found)."""
    n = minima.x.shape[0]
    idx = xp.arange(n)
    stationary = ~xp.asarray(minima.at_boundary)
    if xp is np:
        last = np.maximum.accumulate(np.where(stationary, idx, -1))
        first = np.minimum.accumulate(np.where(stationary, idx, n)[::-1])[::-1]
    else:
        last = jax.lax.cummax(jnp.where(stationary, idx, -1))
        first = jax.lax.cummin(jnp.where(stationary, idx, n), reverse=True)
    below = xp.where(at >= 1, last[xp.clip(at - 1, 0, n - 1)], -1)
    above = xp.where(at <= n - 1, first[xp.clip(at, 0, n - 1)], n)
    return below, above


def _nearest(final: jax.Array, minima: Minima) -> tuple[jax.Array, jax.Array]:
    """Index of the nearest stationary minimum to each ``final``, and the distance to it.

    A sorted search over the ascending ``minima.x`` keeps memory at the size of ``final`` (no
    ``final x len(x)`` table); the spans ``[lo, hi]`` are apart and in the same order, so the
    nearest span is one of the two around ``final`` too. The distance is to the span (0 on a
    flat minimum; ``|final - x|`` for an isolated one). The ends of the interval are skipped
    (descent does not stop at them), and the stationary minima past them are still looked
    at. Equidistant: the lower index.
    """
    dtype = jnp.result_type(final, minima.x)
    final, x = final.astype(dtype), minima.x.astype(dtype)
    lo, hi = minima.lo.astype(dtype), minima.hi.astype(dtype)
    n = x.shape[0]
    below, above = _stationary_neighbours(
        jnp.searchsorted(x, final, method="scan_unrolled"), minima, jnp
    )

    def distance(i):
        j = jnp.clip(i, 0, n - 1)
        span = _span_distance(final, lo[j], hi[j], jnp)
        return jnp.where((i < 0) | (i >= n), jnp.inf, span)

    d_below, d_above = distance(below), distance(above)
    take_below = d_below <= d_above
    return jnp.where(take_below, below, above), jnp.where(take_below, d_below, d_above)


@jax.jit
def _label(
    final: jax.Array, value: jax.Array, diverged: jax.Array, minima: Minima, tol: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Basin index and reached-global flag of every cell; one small program per shape."""
    if minima.x.shape[0] == 0:
        return jnp.full(final.shape, -1, jnp.int32), jnp.zeros(final.shape, bool)
    # Diverged means position or value not finite, whatever flag a hand-made result carries.
    diverged = diverged | ~jnp.isfinite(final) | ~jnp.isfinite(value)
    nearest, distance = _nearest(final, minima)
    # NaN distances (diverged runs) compare False, so they fall to -1 with the rest.
    at_minimum = (distance <= tol) & ~diverged
    index = jnp.where(at_minimum, nearest, -1).astype(jnp.int32)
    return index, at_minimum & _is_global(minima)[nearest]


def _share(flags: jax.Array, axis: int) -> jax.Array:
    """The share of ``flags`` that are set along ``axis``, in the default float: the count
    divided by their number, correctly rounded, so k of n is the float nearest k / n and n of
    n is exactly 1. XLA turns a division by a scalar (a mean of booleans too) into a
    multiplication by its rounded reciprocal, which is not that: 41 of 41 came out as
    0.99999994 in float32, 49 of 49 as 0.9999999999999999 in float64. So the divisor is a
    full array behind an optimisation barrier, which XLA divides element by element. The
    host path of :func:`random_starts` divides the same floats: every path gives the same
    bits."""
    n = flags.shape[axis]
    dtype = jnp.result_type(float)
    count = jnp.sum(flags, axis=axis, dtype=jnp.int32).astype(dtype)
    if not n:
        return count * jnp.asarray(np.nan, dtype)  # no starts: NaN, as a mean
    return count / jax.lax.optimization_barrier(jnp.full(count.shape, n, dtype))


_share_jit = jax.jit(_share, static_argnames="axis")


def _host_share(count: np.ndarray, n: int, dtype: np.dtype) -> np.ndarray:
    """:func:`_share` on the host, from counts already made: the same bits."""
    return count.astype(dtype) / dtype.type(n)


def _positions(x: Any) -> Any:
    """``x`` checked to hold real numbers (ints or floats, of any shape): a NumPy array for
    host values, ``x`` itself for a JAX array or a traced value; else an error naming ``x``
    (a string or ``True`` is no position, and a complex one has no place on the axis)."""
    if isinstance(x, np.ma.MaskedArray) and x.dtype.kind in "iuf":
        # np.asarray drops the mask, and masked entries were labelled as real positions:
        # a masked position is no position, as NaN is (-1).
        x = x.astype(np.result_type(x.dtype, np.float32)).filled(np.nan)
    given = x
    if isinstance(x, list | tuple) and holds_tracer(x):
        # Positions gathered inside a caller's jit ([x0, x1] of traced numbers): NumPy cannot
        # hold them, and the error read as rows of different lengths.
        try:
            x = jnp.asarray(x)
        except (TypeError, ValueError):
            raise ValueError(
                f"x must be positions in an array, every row as long; got {type(x).__name__} "
                "whose rows differ in length"
            ) from None
    if is_concrete(x) and not isinstance(x, jax.Array):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError):  # ragged rows
            raise ValueError(
                f"x must be positions in an array, every row as long; got {type(x).__name__} "
                "whose rows differ in length"
            ) from None
        if x.dtype == object and isinstance(given, list | tuple) and _python_numbers(given):
            # [2**70]: ints past int64 are Python objects to NumPy, yet points of the axis.
            try:
                x = np.asarray(given, np.float64)
            except OverflowError:
                raise ValueError(
                    "x has an int too large for any float; pass positions below "
                    f"{np.finfo(np.float64).max:.3g}"
                ) from None
    dtype = np.dtype(x.dtype)
    if dtype == np.bool_ or not (
        jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)
    ):
        what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "strings"}
        raise TypeError(
            f"x must hold real numbers (positions), got {what.get(dtype.kind, 'objects')} "
            f"({dtype}); pass e.g. result.final"
        )
    if isinstance(given, list | tuple):
        # NumPy reads [0.5, True] as [0.5, 1.0]: a bool beside numbers is refused as
        # [True, False] is, not labelled as the position 1.
        refuse_bools("x", given, "x must hold real numbers (positions)")
    if isinstance(x, np.ndarray) and dtype.kind in "iu":
        # Integer positions are points of the axis: in the working float, as the compiled
        # rule takes them. Cast to JAX's int (int32 unless x64 is on), 2**32 wrapped to 0 and
        # was labelled as the minimum at 0.
        x = x.astype(_working(dtype))
    if isinstance(x, np.ndarray):
        # Finite positions the working float cannot hold would be inf there: not a run that
        # diverged, and f' has no sign at inf (downhill_minimum would say -1 for 1e39).
        check_in_range("x", x, jax.dtypes.canonicalize_dtype(x.dtype))
    return x


def _python_numbers(value: list | tuple) -> bool:
    """Whether the nested lists and tuples ``value`` hold Python numbers only (no bool)."""
    return all(
        _python_numbers(v) if isinstance(v, list | tuple) else type(v) in (int, float)
        for v in value
    )


def nearest_minimum(x: Any, minima: Minima, *, tol: float = 1e-3) -> np.ndarray | jax.Array:
    """Which stationary minimum each position is within ``tol`` of: an index, or -1.

    The rule of :func:`basins`, for positions of any shape rather than a whole sweep (the
    final points of :func:`jaxgd.convergence`, one point of a run). Non-finite positions
    and those near no stationary minimum (or only near an end of the interval) get -1. A
    position outside the domain is matched like any other: pass minima from
    :func:`find_minima_reached` so the minima the runs settled in out there are among them.
    ``x`` holds real numbers (ints or floats, NumPy or JAX); booleans, strings and complex
    numbers raise ``TypeError``; a masked entry of a NumPy masked array gets -1, as NaN.

    Returns an int32 NumPy array shaped like ``x``; inside a caller's ``jax.jit`` (``x``,
    ``minima`` or ``tol`` traced) a JAX array, as :func:`basins` gives there.

    Example:
        >>> from jaxgd.functions import notebook
        >>> from jaxgd.minima import find_minima
        >>> m = find_minima(notebook, -6.0, 6.0)
        >>> nearest_minimum([-1.4289, 4.3058, 0.0, float("inf")], m).tolist()
        [1, 2, -1, -1]
    """
    return _nearest_index(*_checked(x, minima, tol))


def _checked(x: Any, minima: Minima, tol: Any) -> tuple[Any, Minima, Any]:
    """The arguments of :func:`nearest_minimum` checked (and ``tol`` finer than the floats
    at a minimum warned of), as the labelling rule takes them."""
    minima = _check_minima(minima)
    tol = _check_tol(tol)
    x = _positions(x)
    _warn_if_too_fine(minima, tol, _working(x.dtype, minima.x.dtype))
    return x, minima, tol


def _nearest_index(x: Any, minima: Minima, tol: Any) -> np.ndarray:
    """:func:`nearest_minimum` of arguments :func:`_checked` already."""
    if not isinstance(x, jax.Array) and _concrete_minima(minima) and is_concrete(tol):
        # Host positions: NumPy gives the same ints as the compiled rule, without compiling
        # it for each new shape (one position, one row, the whole grid).
        return _nearest_on_host(x, minima, tol)
    x = jnp.asarray(np.asarray(x)) if is_concrete(x) else x
    index, _ = _label(x, x, np.zeros(np.shape(x), bool), minima, tol)
    if not is_concrete(index):  # inside a caller's jit: no host copy to make
        return index
    return np.array(index)  # a writable copy: callers mark cells in it


def _concrete_minima(minima: Minima) -> bool:
    return not holds_tracer(minima)


@partial(jax.jit, static_argnums=0)
def _slopes(f: Callable, x: jax.Array) -> jax.Array:
    return jax.vmap(jax.grad(f))(x)


def downhill_minimum(
    f: Callable[[jax.Array], jax.Array], x: Any, minima: Minima, *, tol: float = 1e-3
) -> np.ndarray:
    """Which stationary minimum each position is heading to: an index, or -1.

    A position within ``tol`` of a stationary minimum is at it (the rule of
    :func:`nearest_minimum`). Any other position is heading downhill: where ``f'(x) > 0`` to
    the nearest minimum below ``x``, where ``f'(x) < 0`` to the nearest one above, which is
    the minimum of its basin when no minimum lies unfound in between. It gets -1 where that
    neighbour is an end of a searched interval (descent leaves the searched set there, to
    wherever f goes on falling), where there is none, where ``f'(x) = 0`` (a maximum or
    a saddle: descent does not move), or where ``x`` is not finite.

    Use it to colour runs that have not arrived yet by where they are going; a run
    settling in a minimum approaches it from one side and is coloured by it all along.

    Args:
        f: The function the positions descend, ``f(x) -> scalar`` with ``jax.numpy``.
        x: Positions, any shape, JAX or NumPy (e.g. ``result.final``).
        minima: The minima, from :func:`find_minima_reached` (or ``find_minima``).
        tol: How close, in units of ``x``, counts as "at" a minimum; positive.

    Returns:
        int array shaped like ``x``: an index into ``minima.x``, or -1.

    Raises:
        TypeError: If ``f`` or ``minima`` is not what is asked for, ``x`` is not real
            numbers, or it is called inside ``jax.jit`` (it runs on the host).
        ValueError: If ``tol`` is not positive and finite.

    Example:
        >>> from jaxgd.functions import notebook
        >>> from jaxgd.minima import find_minima
        >>> m = find_minima(notebook, -6.0, 6.0)  # -6 (an end), -1.4289, 4.3058
        >>> downhill_minimum(notebook, [-1.4289, 0.5, 3.0, 5.0, -5.5], m).tolist()
        [1, 1, 2, 2, -1]
    """
    if not is_concrete(x):
        raise TypeError(
            "x must be concrete, got a traced value; call downhill_minimum outside jax.jit"
        )
    if in_trace():
        # f' is read back to the host, which a caller's jit cannot do, whatever is traced
        # (minima, tol or nothing at all): it failed deep inside NumPy.
        raise TypeError(
            "downhill_minimum runs on the host (it reads f' at the positions back as NumPy), "
            "so it cannot run inside jax.jit or another transformation; call it outside, on "
            "concrete positions and minima."
        )
    x, minima, tol = _checked(x, minima, tol)
    dtype = default_float()
    check_function(f, dtype)
    near = _nearest_index(x, minima, tol)
    pos = np.asarray(x, np.float64)
    flat = pos.ravel()
    finite = np.isfinite(flat)
    # Padded to a power of two so new sizes rarely compile again.
    size = max(8, 1 << max(flat.size - 1, 0).bit_length())
    probe = np.zeros(size, dtype)
    probe[: flat.size] = np.where(finite, flat, 0.0)
    slope = np.asarray(_slopes(f, jax.device_put(probe)), np.float64)[: flat.size]
    xs = np.asarray(minima.x, np.float64)
    end = np.asarray(minima.at_boundary, bool)
    n = xs.size
    above = np.searchsorted(xs, flat, side="right")  # first minimum above x
    below = np.searchsorted(xs, flat, side="left") - 1  # last minimum below x
    heading = np.full(flat.shape, -1, np.int64)
    if n:
        go_left = finite & (slope > 0) & (below >= 0)
        go_right = finite & (slope < 0) & (above < n)
        heading[go_left] = below[go_left]
        heading[go_right] = above[go_right]
        heading[(heading >= 0) & end[np.maximum(heading, 0)]] = -1
    return np.where(near >= 0, near, heading.reshape(pos.shape)).astype(np.int32)


def global_minima(minima: Minima) -> np.ndarray:
    """Indices into ``minima.x`` of the global minima, the lowest first; empty if none.

    Global means what it does in :func:`basins`: a stationary minimum as low as the lowest
    one found, ties included (both wells of an even function); with minima from
    :func:`find_minima_reached` that may be one outside the domain, if runs reached a lower
    one there. Unlike ``minima.global_index``, an end of a searched interval never counts:
    descent runs past it. It runs on the host (a ``TypeError`` inside ``jax.jit``); under
    jit, :func:`basins`' ``reached_global`` says the same of every run.

    Example:
        >>> from jaxgd.minima import find_minima
        >>> global_minima(find_minima(lambda x: (x**2 - 1.0) ** 2, -2.0, 2.0)).tolist()
        [0, 1]
        >>> global_minima(find_minima(lambda x: x, -1.0, 1.0)).tolist()  # only an end
        []
    """
    if in_trace() or not _concrete_minima(minima):
        # Its answer is a NumPy array whose length depends on the values: under a caller's
        # jit it failed deep inside NumPy (TracerArrayConversionError).
        raise TypeError(
            "global_minima runs on the host (how many minima are global depends on their "
            "values), so it cannot run inside jax.jit or another transformation; call it "
            "outside, or use basins(...).reached_global, which works inside jit"
        )
    minima = _check_minima(minima)
    if len(minima) == 0:
        return np.zeros(0, np.int64)
    minima = _host_minima(minima)
    tied = np.flatnonzero(_is_global(minima, np))
    return tied[np.argsort(minima.value[tied], kind="stable")]


def basins(result: SweepResult, minima: Minima | Sequence[Minima], *, tol: float = 1e-3) -> Basins:
    """Which local minimum each run ended at, and whether it was the global one.

    A run ended at minimum ``i`` when its final position is within ``tol`` of
    ``minima.x[i]`` (the nearest one, when several are); otherwise, or when it diverged
    (position or value not finite), its index is -1. Only stationary minima (``f' = 0``)
    count: an end of the interval flagged in ``minima.at_boundary`` is a minimum of f *on the
    interval*, but descent does not stop there, it runs past it and leaves the interval (-1
    too). Where the minimum lies does not matter: with minima from
    :func:`find_minima_reached`, a run that left the domain and settled in a minimum beyond
    it reached that minimum.

    ``reached_global`` is True where the run ended at a global minimum, global among those
    found: a stationary minimum whose value ties with the lowest one in ``minima`` (apart
    by no more than rounding, as ``minima.resolution`` measures it, so the same minima are
    global whatever the units of f; within 1e-5 of ``max(1, |lowest|)`` for minima made by
    hand), so equally deep minima all count. This can
    differ from ``minima.global_index``, which picks one minimum and may pick an end of the
    interval.

    Pure ``jax.numpy`` on the arrays: works inside ``jax.jit`` (``tol`` may then be
    traced) and on a result of any axes, e.g. after :meth:`~jaxgd.SweepResult.sel` or
    :meth:`~jaxgd.SweepResult.squeeze`, including an ``"optimizer"`` axis and
    hyperparameter axes. The output has the result's ``dims``, in order.

    With a ``"param"`` axis, f (and so its minima) changes along it: pass one
    :class:`~jaxgd.minima.Minima` per parameter, in the axis' order, and each slice is matched
    against its own. A sweep of d-dimensional positions (a ``"coord"`` axis, or one selected
    away) has minima that are points: label it with :func:`jaxgd.minima_nd.basins_nd`.

    Args:
        result: A sweep, e.g. from :func:`jaxgd.sweep`.
        minima: The local minima to match against, from
            :func:`~jaxgd.minima.find_minima_reached` (or
            :func:`~jaxgd.minima.find_minima`; ``x`` ascending). If it is empty, every
            index is -1. With a ``"param"`` axis, a sequence of them, one per parameter.
        tol: How close, in units of ``x``, counts as "at" a minimum; positive.

    Returns:
        A :class:`Basins` with ``index`` (int32) and ``reached_global`` (bool) shaped like
        ``result.final``.

    Raises:
        TypeError: If ``result`` is not a SweepResult or ``minima`` not a Minima (or, with a
            ``"param"`` axis, a sequence of them).
        ValueError: If ``tol`` is not positive and finite, ``minima.x`` is not ascending,
            the result is d-dimensional, or the number of minima does not match the
            ``"param"`` axis.

    Example:
        >>> import jax.numpy as jnp
        >>> import jaxgd
        >>> from jaxgd.analysis import basins
        >>> from jaxgd.minima import find_minima
        >>> def f(x):
        ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> minima = find_minima(f, -6.0, 6.0)
        >>> minima.x.round(3).tolist(), int(minima.global_index)
        ([-6.0, -1.429, 4.306], 1)
        >>> res = jaxgd.sweep(f, starts=[-3.0, 0.0, 1.6, 3.0], learning_rates=0.1, epochs=500)
        >>> b = basins(res.squeeze(), minima)
        >>> b.dims, b.index.tolist(), b.reached_global.tolist()
        (('start',), [1, 1, 2, 2], [True, True, False, False])
    """
    _check_result(result)
    _check_one_dimensional(result, "basins")
    per_param = _minima_per_param(result, minima)
    tol = _check_tol(tol)
    for m in [per_param] if isinstance(per_param, Minima) else per_param:
        _warn_if_too_fine(m, tol, _working(result.final.dtype, m.x.dtype))
    if isinstance(per_param, Minima):
        minima = per_param
        index, reached_global = _label(result.final, result.value, result.diverged, minima, tol)
        return Basins(index=index, reached_global=reached_global, dims=result.dims)
    # Minima differ from one parameter to the next (in number, too): one labelling each.
    axis = result.dims.index("param")
    labels = [
        _label(
            *(jnp.take(getattr(result, k), i, axis=axis) for k in ("final", "value", "diverged")),
            m,
            tol,
        )
        for i, m in enumerate(per_param)
    ]
    index = jnp.stack([i for i, _ in labels], axis=axis)
    reached = jnp.stack([g for _, g in labels], axis=axis)
    return Basins(index=index, reached_global=reached, dims=result.dims)


def _check_one_dimensional(result: SweepResult, where: str) -> None:
    if "coord" in result.dims or "coord" in result.coords:
        how = "a 'coord' axis" if "coord" in result.dims else "its 'coord' axis selected away"
        # A coordinate alone is a point only of R^1: of more, basins_nd refuses it too.
        which = "it" if "coord" in result.dims else "the result before that selection"
        raise ValueError(
            f"{where}: result is a sweep of d-dimensional positions ({how}); its minima are "
            f"points, not numbers: label {which} with jaxgd.minima_nd.basins_nd instead"
        )


def _minima_per_param(result: SweepResult, minima: Any) -> Minima | list[Minima]:
    """The minima of each parameter, checked, for a result with a "param" axis; else
    ``minima``, checked."""
    if "param" not in result.dims:
        return _check_minima(minima)
    n = result.sizes["param"]
    if isinstance(minima, Minima):
        raise ValueError(
            f"result has a 'param' axis of {n} parameters of f, and the minima of f move with "
            "them: pass one Minima per parameter, [find_minima_reached(partial(f, theta=t), "
            "...) for t in params], or select one parameter first: result.isel(param=i)"
        )
    if isinstance(minima, (str, bytes)) or not isinstance(minima, Sequence):
        raise TypeError(
            f"minima must be a sequence of Minima, one per parameter on the 'param' axis; got "
            f"{type(minima).__name__}"
        )
    if len(minima) != n:
        raise ValueError(
            f"minima holds {len(minima)} Minima but the 'param' axis has {n} parameters; pass "
            "one per parameter, in the axis' order"
        )
    return [_check_minima(m) for m in minima]


def _start_axis(dims: Sequence[str]) -> int:
    if "start" not in dims:
        raise ValueError(
            f"result has no 'start' axis (its axes are {list(dims)}), so there is nothing to "
            "average over; keep the axis when selecting starts: res.sel(start=[x0, x1]) or "
            "res.isel(start=slice(i, j)), not a single number"
        )
    return list(dims).index("start")


def success_probability(
    result: SweepResult, minima: Minima | Sequence[Minima], *, tol: float = 1e-3
) -> jax.Array:
    """Fraction of the starts that reached the global minimum, per remaining cell.

    The mean of :func:`basins`' ``reached_global`` over the ``"start"`` axis, wherever it
    is: the global minimum is the lowest stationary one among ``minima`` (ties included),
    and a run that diverged or ended elsewhere counts as a failure. Works inside
    ``jax.jit``.

    Args:
        result: A sweep with a ``"start"`` axis.
        minima: The local minima, from :func:`~jaxgd.minima.find_minima_reached`; with a
            ``"param"`` axis, one per parameter (see :func:`basins`).
        tol: How close, in units of ``x``, counts as "at" a minimum; positive.

    Returns:
        Floating array over the result's other axes, in their order: shape ``(L, E)`` for a
        full sweep, ``(O, L, E)`` with an ``"optimizer"`` axis of ``O`` optimisers, and so
        on for every other axis. Each value is ``k / S`` for ``k`` of the ``S`` starts,
        correctly rounded (``S`` of ``S`` is exactly 1); NaN where there are no starts
        (``S = 0``), as a mean of nothing.

    Raises:
        ValueError: If ``result`` has no ``"start"`` axis (it was selected away), plus the
            errors of :func:`basins`.

    Example:
        >>> import jax.numpy as jnp
        >>> import jaxgd
        >>> from jaxgd.analysis import success_probability
        >>> from jaxgd.functions import notebook as f  # sin(x) * exp(-0.05 x**2)
        >>> from jaxgd.minima import find_minima
        >>> minima = find_minima(f, -6.0, 6.0)
        >>> res = jaxgd.sweep(f, starts=jnp.linspace(-4, 4, 9),
        ...                   learning_rates=[0.01, 0.1], epochs=[10, 1000])
        >>> p = success_probability(res, minima)  # rows: learning rates, columns: epochs
        >>> p.shape, p.tolist()  # 10 epochs is too few; after 1000, 5 and 6 of the 9 starts
        ((2, 2), [[0.0, 0.5556], [0.0, 0.6667]])
    """
    _check_result(result)
    _check_one_dimensional(result, "success_probability")
    axis = _start_axis(result.dims)
    return _share_jit(basins(result, minima, tol=tol).reached_global, axis=axis)


@partial(jax.jit, static_argnums=(0, 1))
def _random_starts(
    f: Callable,
    n: int,
    key: jax.Array,
    lo: jax.Array,
    hi: jax.Array,
    learning_rates: jax.Array,
    epochs: jax.Array,
    minima: Minima,
    tol: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array, SweepResult]:
    """Everything in one traced computation: the path inside a caller's ``jax.jit``."""
    starts = jax.random.uniform(key, (n,), lo.dtype, lo, hi)
    result = sweep(f, starts, learning_rates, epochs)
    success = _share(basins(result, minima, tol=tol).reached_global, axis=0)
    # A diverged run is inf or NaN; leave it out of the spread rather than poison it. The
    # ends are measured from one settled end of their cell: runs that all ended on one float
    # then differ by exactly 0, where a float32 mean of them is an ulp or so off that float
    # and gave a spread of 1e-6 (the host path sums in float64 instead).
    settled = ~result.diverged
    pivot = jnp.take_along_axis(result.final, jnp.argmax(settled, axis=0)[None], axis=0)
    spread = jnp.nanstd(jnp.where(settled, result.final - pivot, jnp.nan), axis=0)
    diverged_fraction = _share(result.diverged, axis=0)
    return success, spread, diverged_fraction, result


@partial(jax.jit, static_argnums=1)
def _draw(key: jax.Array, n: int, lo: jax.Array, hi: jax.Array) -> jax.Array:
    # The same draw as the one-call path: how the sweep is cut never changes the starts.
    return jax.random.uniform(key, (n,), lo.dtype, lo, hi)


@jax.jit
def _block_stats(
    final: jax.Array,
    value: jax.Array,
    diverged: jax.Array,
    valid: jax.Array,
    minima: Minima,
    tol: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Counts of the valid starts of one block that reached a global minimum, and diverged."""
    _, reached = _label(final, value, diverged, minima, tol)
    valid = valid[:, None, None]
    return jnp.sum(reached & valid, axis=0), jnp.sum(diverged & valid, axis=0)


def _same_success_rule(a: Minima, b: Minima) -> bool:
    """Whether every run counts as reaching a global minimum under ``a`` exactly when under
    ``b``: the same stationary minima (the ends of searched intervals never label a run)
    spanning the same stretches, and the same of them global."""

    def rule(m: Minima) -> list[np.ndarray]:
        host = _host_minima(m)
        stationary = ~host.at_boundary
        best = _is_global(host, np)[stationary]
        return [host.x[stationary], host.lo[stationary], host.hi[stationary], best]

    return all(np.array_equal(p, q) for p, q in zip(rule(a), rule(b), strict=True))


def _moments(final: np.ndarray, settled: np.ndarray) -> tuple[np.ndarray, ...]:
    """Count, mean and sum of squared deviations of the settled runs' ends, in float64 on the
    host (a float32 sum is an ulp or so off: runs that all ended on one float had a spread
    of 1e-6)."""
    count = settled.sum(axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        ends = np.where(settled, np.asarray(final, np.float64), 0.0)
        mean = ends.sum(axis=0) / np.maximum(count, 1)
        m2 = np.where(settled, (ends - mean) ** 2, 0.0).sum(axis=0)
    return count, mean, m2


#: Bytes of sweep result one block of random starts may hold on the host at a time.
_BLOCK_BYTES = 256 << 20


def _padded(minima: Minima) -> Minima:
    """``minima`` with its last entry repeated up to a power of two (at least 8).

    Only the statistics see it: a repeated minimum is as global as its original, so the
    success counts are unchanged, and a few compiled shapes serve every number of minima.
    """
    n = len(minima)
    size = max(8, 1 << max(n - 1, 0).bit_length())
    if n == 0 or n == size:
        return minima
    idx = np.minimum(np.arange(size), n - 1)
    return Minima(
        x=jax.device_put(np.asarray(minima.x)[idx]),
        value=jax.device_put(np.asarray(minima.value)[idx]),
        at_boundary=jax.device_put(np.asarray(minima.at_boundary)[idx]),
        global_index=minima.global_index,
        lo=jax.device_put(np.asarray(minima.lo)[idx]),
        hi=jax.device_put(np.asarray(minima.hi)[idx]),
        resolution=None
        if minima.resolution is None
        else jax.device_put(np.asarray(minima.resolution)[idx]),
        domain=minima.domain,
    )


def _block_size(n: int, n_rates: int, n_epochs: int, itemsize: int) -> int:
    """Starts per block: equal blocks, so one compiled program serves all of them."""
    per_start = n_rates * n_epochs * (2 * itemsize + 1)
    block = max(1, min(n, _BLOCK_BYTES // per_start))
    return -(-n // -(-n // block))


def _rows(a: np.ndarray, lo: int, hi: int, size: int) -> np.ndarray:
    """Rows ``lo:hi`` of ``a``, padded to ``size`` rows with copies of the last one."""
    part = a[lo:hi]
    return np.concatenate([part, np.repeat(part[-1:], size - part.shape[0], axis=0)])


def _success_counts(result: SweepResult, minima: Minima, tol: np.ndarray, block: int) -> np.ndarray:
    """How many starts of a kept sweep reached a global minimum, per (rate, epochs)."""
    n = result.final.shape[0]
    tol_a, counts = jax.device_put(tol), 0
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        parts = (_rows(getattr(result, k), lo, hi, block) for k in ("final", "value", "diverged"))
        valid = np.arange(block) < hi - lo
        counts = counts + np.asarray(_block_stats(*parts, valid, minima, tol_a)[0])
    return counts


def _random_starts_in_blocks(
    f: Callable,
    starts: np.ndarray,
    learning_rates: np.ndarray,
    epochs: np.ndarray,
    minima: Minima,
    tol: np.ndarray,
    keep: SweepResult | None,
    domain: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The statistics, reduced block by block of starts; each block's sweep into ``keep``;
    with ``domain``, also where runs ended outside it (:func:`jaxgd.minima._outside_cells`
    of all blocks, else None).

    Spreads are merged with Chan's pairwise update in float64, so blocks of any size agree.
    """
    n, n_rates, n_epochs = starts.shape[0], learning_rates.shape[0], epochs.shape[0]
    dtype = starts.dtype
    block = _block_size(n, n_rates, n_epochs, dtype.itemsize)
    blocks = -(-n // block)
    minima = _padded(minima)
    shape = (n_rates, n_epochs)
    success, diverged = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    count, mean, m2 = np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape)
    tol_a = jax.device_put(tol)
    cells = []
    for b in range(blocks):
        lo, hi = b * block, min((b + 1) * block, n)
        part = sweep(f, _chunking.pad_rows(starts[lo:hi], block), learning_rates, epochs)
        if keep is not None:
            for name in ("final", "value", "diverged"):
                getattr(keep, name)[lo:hi] = getattr(part, name)[: hi - lo]
        if domain is not None:
            cells.append(_outside_cells(np.asarray(part.final)[: hi - lo], *domain))
        valid = np.arange(block) < hi - lo
        stats = _block_stats(part.final, part.value, part.diverged, valid, minima, tol_a)
        s, d = (np.asarray(a) for a in stats)
        settled = ~np.asarray(part.diverged, bool) & valid[:, None, None]
        c, m, q = _moments(part.final, settled)
        success += s
        diverged += d
        total = count + c
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = m - mean
            mean = np.where(total > 0, mean + delta * c / np.maximum(total, 1), 0.0)
            m2 = m2 + q + np.where(total > 0, delta**2 * count * c / np.maximum(total, 1), 0.0)
        count = total
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.where(count > 0, np.sqrt(m2 / count), np.nan).astype(dtype)
    return (
        _host_share(success, n, dtype),
        spread,
        _host_share(diverged, n, dtype),
        _merge_cells(*cells) if domain is not None else None,
    )


def _check_memory(n: int, n_rates: int, n_epochs: int, dtype: np.dtype, keep: bool) -> None:
    """``MemoryError`` with the size and the fix where :func:`random_starts` on the host
    would not fit: the ``n`` starts, and the kept sweep where ``keep``."""
    kept = _chunking.result_bytes(n, n_rates, n_epochs, dtype.itemsize)
    need = n * dtype.itemsize + (kept if keep else 0)
    if need <= _chunking.SMALL_CALL:
        return
    fix = (
        "Pass keep_result=False to keep only the statistics, or draw fewer starts n."
        if keep
        else "Draw fewer starts n (repeat with other keys to average more)."
    )
    _chunking.check_host_memory(
        need,
        f"random_starts with n={n} ({n} x {n_rates} x {n_epochs} cells kept)"
        if keep
        else f"random_starts with n={n} (the starts alone)",
        fix,
        reserve=_BLOCK_BYTES,
    )


@_run.interruptible
def random_starts(
    f: Callable[[jax.Array], jax.Array],
    key: jax.Array,
    learning_rates: float | jax.Array | np.ndarray,
    epochs: int | jax.Array | np.ndarray,
    *,
    n: int = 100,
    domain: tuple[float, float],
    tol: float = 1e-3,
    minima: Minima | None = None,
    keep_result: bool = True,
) -> RandomStarts:
    """How often descent from a random start finds the global minimum, per (rate, epochs).

    Draws ``n`` starts uniformly from ``domain`` with ``key``, runs :func:`jaxgd.sweep` over
    them, and reduces over the starts: success fraction, spread of the final guesses and
    diverged fraction for every (learning rate, epoch count). New values of ``key``,
    ``learning_rates``, ``epochs``, ``domain`` or ``tol`` (same shapes) reuse the compiled
    sweep; a new ``n`` or ``f`` compiles again, and so does the search for minima past the
    domain's ends once for each new size of window it scans around the runs there.

    Every cell uses the same ``n`` starts (common random numbers), so a difference between
    two cells comes from the rate and the epoch count, not from a luckier draw. The course
    notebook's version drew one fresh start per cell, which made neighbouring cells
    incomparable. The success fraction of ``n`` starts has a standard error of about
    ``sqrt(p (1 - p) / n)``: 0.05 at ``p = 0.5`` with the default ``n = 100``.

    Called outside a JAX transformation, the work is planned before anything is allocated:
    the sweep runs in blocks of starts (each cut into calls as :func:`jaxgd.sweep` cuts it,
    so Ctrl-C raises ``KeyboardInterrupt`` within about a call's time) and the statistics
    are reduced block by block, so memory beyond ``result`` stays at the size of a block.
    The starts are drawn at once, so they never depend on how the work is cut. The arrays
    are then host NumPy arrays; inside a caller's ``jax.jit`` they are JAX arrays, computed
    in one call. A run counts as diverged when its position or its value is not finite.

    Without ``minima``, the minima are those of :func:`find_minima_reached` on the runs'
    final positions, so a run that left the domain and settled in a minimum past its ends
    counts as reaching it (the rule every analysis function follows), with the sweep kept
    or not: where it is not (``keep_result=False``) and runs did settle past the ends, the
    sweep runs a second time, block by block, to count them. Pass ``minima`` to reuse ones
    found already; passing them also lets ``random_starts`` run inside a caller's
    ``jax.jit`` (with ``key``, rates, epochs and ``tol`` traced), where the search, which
    needs concrete values, cannot.

    Args:
        f: The function to minimise, ``f(x) -> scalar``, written with ``jax.numpy``.
        key: A JAX PRNG key, from ``jax.random.key(seed)`` or the legacy
            ``jax.random.PRNGKey(seed)`` (both give the same draws for the same seed, in
            one precision: float32 and float64 draw different starts).
        learning_rates: Non-negative step sizes, a scalar or shape ``(L,)``.
        epochs: Non-negative whole step counts, a scalar or shape ``(E,)``.
        n: How many starts to draw, >= 1.
        domain: ``(lo, hi)``, finite with ``lo < hi``: the starts are drawn from it and,
            unless ``minima`` is given, the minima are searched on it. For a library
            function pass ``jaxgd.functions.get(name).domain``.
        tol: How close, in units of ``x``, counts as "at" a minimum; positive.
        minima: The local minima to match against; default: found as described above.
        keep_result: Keep the whole sweep (``n x L x E`` cells) in ``result``. False keeps
            only the statistics (``result`` is None): for more starts than fit in memory.
            The statistics are the same either way.

    Returns:
        A :class:`RandomStarts`; its statistics have shape ``(L, E)``.

    Raises:
        TypeError, ValueError: For a bad ``f`` or argument, before anything is compiled;
            the message names the argument and the fix.
        MemoryError: When the kept result (or the starts) would not fit in the host's
            available memory; the message gives the size in GiB and the fix.
        KeyboardInterrupt: On Ctrl-C, within about one call's time.

    Example:
        >>> import jax
        >>> import jaxgd.functions as fns
        >>> from jaxgd.analysis import random_starts
        >>> nb = fns.get("notebook")
        >>> rs = random_starts(nb.f, jax.random.key(0), learning_rates=[0.01, 0.1],
        ...                    epochs=[10, 1000], n=1000, domain=nb.domain)
        >>> rs.shape, rs.result.starts.shape
        ((2, 2), (1000,))
        >>> rs.success.tolist()  # rows: learning rates, columns: epochs
        [[0.0, 0.427], [0.0, 0.466]]
        >>> rs.spread.round(2).tolist()
        [[3.58, 3.86], [3.6, 4.0]]
        >>> rs.diverged_fraction.max().item()
        0.0
    """
    dtype = default_float()
    check_function(f, dtype)
    key = as_key("key", key)
    n = check_int("n", n, 1, fix="draw at least one start")
    lo, hi = as_domain("domain", domain)
    check_span_fits("domain", lo, hi, dtype)
    # A traced tol (a caller's jit over it) is checked for its shape only, as in basins.
    tol = _check_tol(tol)
    learning_rates = as_float_axis("learning_rates", learning_rates, dtype, nonnegative=True)
    epochs = as_epochs("epochs", epochs)
    if isinstance(keep_result, np.bool_):
        keep_result = bool(keep_result)
    if not isinstance(keep_result, bool):
        raise TypeError(
            f"keep_result must be True or False, got {type(keep_result).__name__}; pass "
            "keep_result=False to keep only the statistics"
        )
    search = minima is None
    traced = not all(is_concrete(a) for a in (key, learning_rates, epochs, tol))
    if search and (in_trace() or traced):
        raise TypeError(
            "random_starts inside jax.jit (or another transformation) needs minima=: the "
            "search for them runs on the host. Find them outside, e.g. "
            f"minima = jaxgd.find_minima(f, {lo:g}, {hi:g}), and pass minima=minima."
        )
    if not search:
        minima = _check_minima(minima)
    if not traced and (search or _concrete_minima(minima)):
        # What the host path below keeps is planned before anything compiles (the search
        # for minima compiles several programs, and ran first: a MemoryError came after it).
        _check_memory(n, learning_rates.shape[0], epochs.shape[0], dtype, keep_result)
    if search:
        minima = find_minima(f, lo, hi)
    # Device scalars, not Python floats, so new values are new data, not new programs.
    lo_a, hi_a = (jax.device_put(np.asarray(v, dtype)) for v in (lo, hi))
    tol_a = jax.device_put(np.asarray(tol, dtype)) if is_concrete(tol) else jnp.asarray(tol, dtype)
    # Traced minima alone (a caller's jit over them, the rest closed over) take this path too:
    # the host path reads them as NumPy arrays.
    if traced or not _concrete_minima(minima):
        success, spread, diverged_fraction, result = _random_starts(
            f, n, key, lo_a, hi_a, learning_rates, epochs, minima, tol_a
        )
        if not keep_result:
            result = None
    else:
        n_rates, n_epochs = learning_rates.shape[0], epochs.shape[0]
        starts = np.asarray(_draw(key, n, lo_a, hi_a))
        result = None
        if keep_result:
            shape = (n, n_rates, n_epochs)
            result = SweepResult(
                np.empty(shape, dtype),
                np.empty(shape, dtype),
                np.empty(shape, np.bool_),
                starts,
                learning_rates,
                epochs,
                function=function_name(f),
                # the math of the sweeps that fill it (jaxgd.sweep's default)
                math=_run.math_name(_run.fast_math_for(None, dtype)),
            )
        tol_n = np.asarray(tol, dtype)
        success, spread, diverged_fraction, cells = _random_starts_in_blocks(
            f, starts, learning_rates, epochs, minima, tol_n, result, (lo, hi) if search else None
        )
        if search:
            # The one rule for minima: a run that left the domain and settled in a minimum
            # past its ends reached that minimum, which may be lower than any inside. The
            # same minima whether the sweep is kept or not: found from the cells outside the
            # domain where runs ended, gathered block by block. Where none left it, those
            # are the minima found on the domain already.
            reached = _minima_reached_in(f, cells, lo, hi) if cells[0].size else minima
            counted_alike = _same_success_rule(reached, minima)
            minima = reached
            if not counted_alike:
                if result is not None:
                    block = _block_size(n, n_rates, n_epochs, dtype.itemsize)
                    hits = _success_counts(result, _padded(minima), tol_n, block)
                    success = _host_share(hits, n, dtype)
                else:  # nothing kept to count again: sweep again, block by block
                    success = _random_starts_in_blocks(
                        f, starts, learning_rates, epochs, minima, tol_n, None
                    )[0]
    _warn_if_too_fine(minima, tol, dtype)
    return RandomStarts(
        success=success,
        spread=spread,
        diverged_fraction=diverged_fraction,
        result=result,
        minima=minima,
    )
