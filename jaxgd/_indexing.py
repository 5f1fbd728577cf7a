"""What an index means, for `SweepResult.isel` and `SweepResult.sel`.

One rule for every result, NumPy- or JAX-backed, loaded or computed: an integer-like position
behaves as a Python int, and positions are checked on the host before indexing, because JAX
clamps a position off the axis where NumPy raises.
"""

from __future__ import annotations

import operator
import reprlib
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd._validate import holds_tracer

# Queries x coordinates compared at once by `sel`: bounds its scratch memory (8 MB).
_SEL_BLOCK = 1 << 20

# What an error quotes of a caller's index or values: a long list cut short, to keep the
# message one line a reader can take in.
_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxtuple = 3, 8, 8
_BRIEF.maxstring = _BRIEF.maxother = 60


def _int_like(x: Any) -> int | None:
    """``x`` as a Python int when it is an integer-like scalar (bools are not), else None."""
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, (np.ndarray, jax.Array)):
        if x.ndim != 0 or x.dtype.kind not in "iu":
            return None
        return int(x)
    if isinstance(x, (float, complex, np.inexact, str, bytes)):
        return None
    try:
        return operator.index(x)
    except TypeError:
        return None


def _kind(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    shape = getattr(x, "shape", None)
    if dtype is not None and shape is not None:
        return f"{type(x).__name__} of dtype {dtype} and shape {tuple(shape)}"
    return f"{type(x).__name__} {_BRIEF.repr(x)}"


def position(where: str, dim: str, n: int, index: Any) -> int | slice | np.ndarray | jax.Array:
    """One ``isel`` index checked against an axis of length ``n``.

    Returns a Python int (drops the axis), a slice or a 1-D integer array (keep it), or a
    traced integer index, which cannot be checked.
    """
    head = f"{where}({dim}=...)"
    if isinstance(index, jax.core.Tracer):
        if index.dtype == np.bool_:
            raise TypeError(
                f"{head}: inside jax.jit a mask cannot select (the result's shape would depend "
                "on its values); pass positions, or select outside jit."
            )
        if index.dtype.kind not in "iu":
            raise TypeError(
                f"{head}: a traced index must hold integer positions; got {_kind(index)}."
            )
        if index.ndim > 1:
            raise ValueError(f"{head}: an index array must be 1-D; got {_kind(index)}.")
        return index
    if isinstance(index, slice):
        if any(isinstance(p, jax.core.Tracer) for p in (index.start, index.stop, index.step)):
            raise TypeError(
                f"{head}: inside jax.jit a slice's bounds and step must be concrete (the "
                f"result's shape would depend on their values); got {index!r}. Pass Python "
                "ints, or traced positions as an array (start + jnp.arange(k))."
            )
        parts = []
        for part in (index.start, index.stop, index.step):
            if part is not None and _int_like(part) is None:
                raise TypeError(
                    f"{head}: slice bounds and step must be integer-like or None; got "
                    f"{_kind(part)} in {index!r}."
                )
            parts.append(None if part is None else _int_like(part))
        if parts[2] == 0:
            raise ValueError(f"{head}: slice step cannot be 0.")
        if parts[2] is not None and abs(parts[2]) > n:
            # A step past the axis's length takes one element at most, as a step of n does;
            # JAX would fail on it (a step of 2**63 - 1 aborts the process).
            parts[2] = max(n, 1) * (1 if parts[2] > 0 else -1)
        return slice(*parts)
    i = _int_like(index)
    if i is not None:
        return _in_range(where, dim, n, i)
    if isinstance(index, range):
        step = abs(index.step)
        size = max(0, (abs(index.stop - index.start) + step - 1) // step)
        if (index.stop - index.start) * index.step > 0 and size > 2 * n:
            # More distinct positions than the axis has, both signs counted (len() of such a
            # range may overflow, and listing it would fill memory): an end is off the axis.
            for end in (index[0], index[-1]):
                _in_range(where, dim, n, end)
        return (
            _check_positions(
                where, dim, n, np.arange(len(index), dtype=object) * index.step + index.start
            )
            if len(index)
            else np.zeros(0, np.int64)
        )
    if isinstance(index, (list, tuple)):
        if any(isinstance(x, jax.core.Tracer) for x in index):
            return _traced_sequence(where, dim, n, index)
        return _positions_from_sequence(where, dim, n, index)
    if isinstance(index, (np.ndarray, jax.Array)):
        arr = np.asarray(index)
        if arr.ndim == 0 or arr.dtype.kind not in "iub":
            raise TypeError(f"{head}: {_not_a_position(index)}")
        if arr.ndim > 1:
            raise ValueError(f"{head}: an index array must be 1-D; got {_kind(index)}.")
        if arr.dtype.kind == "b":
            return _mask_positions(where, dim, n, arr)
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) >= n:
            # Before any cast to int64, which would wrap 2**64 - 1 round to -1.
            _in_range(where, dim, n, int(arr.max()))
        return _check_positions(where, dim, n, arr.astype(np.int64, copy=False))
    raise TypeError(f"{head}: {_not_a_position(index)}")


def _not_a_position(index: Any) -> str:
    if isinstance(index, (bool, np.bool_)) or (
        isinstance(index, (np.ndarray, jax.Array)) and index.dtype == np.bool_
    ):
        return (
            f"a bool is not a position (got {_kind(index)}); pass an int, or a mask as long "
            "as the axis."
        )
    return (
        f"an index must be an integer-like position, a slice, or a 1-D list/array of "
        f"positions or bools; got {_kind(index)}. To select by coordinate value use sel()."
    )


def _in_range(where: str, dim: str, n: int, i: int) -> int:
    if not -n <= i < n:
        valid = f"valid: {-n} to {n - 1}" if n else "the axis is empty"
        raise IndexError(f"{where}: position {i} is off axis {dim!r} of length {n} ({valid}).")
    return i % n


def _positions_from_sequence(where: str, dim: str, n: int, items: Sequence) -> np.ndarray:
    head = f"{where}({dim}=...)"
    if not items:
        return np.zeros(0, np.int64)
    bools = [isinstance(x, (bool, np.bool_)) or _is_bool_scalar(x) for x in items]
    if all(bools):
        return _mask_positions(where, dim, n, np.array([bool(x) for x in items]))
    positions = []
    for k, x in enumerate(items):
        i = None if _is_bool_scalar(x) or isinstance(x, (bool, np.bool_)) else _int_like(x)
        if i is None:
            if isinstance(x, (list, tuple)) or getattr(x, "ndim", 0) > 0:
                raise ValueError(
                    f"{head}: an index list must be flat (1-D); its entry {k} is "
                    f"{_BRIEF.repr(x)} in {_BRIEF.repr(items)}."
                )
            raise TypeError(
                f"{head}: a list index must hold only integer positions or only bools; found "
                f"{_kind(x)}. To select by coordinate value use sel()."
            )
        positions.append(i)
    # Every entry is checked for its kind before any for its range: one rule, whatever the order.
    return np.array([_in_range(where, dim, n, i) for i in positions], np.int64)


def _traced_sequence(where: str, dim: str, n: int, items: Sequence) -> jax.Array:
    """A list holding traced positions (inside jax.jit) as one traced index array: its
    concrete entries are checked as any list's are, the traced ones cannot be."""
    head = f"{where}({dim}=...)"
    traced = [x for x in items if isinstance(x, jax.core.Tracer)]
    if all(x.dtype == np.bool_ for x in traced) and len(traced) == len(items):
        return position(where, dim, n, jnp.stack(traced))  # a mask: refused with its reason
    for x in items:
        if isinstance(x, jax.core.Tracer):
            if x.ndim:
                raise ValueError(
                    f"{head}: an index list must be flat (1-D); got {_BRIEF.repr(items)}."
                )
            ok = x.dtype.kind in "iu"
            i = 0
        else:
            i = _int_like(x)
            ok = i is not None
        if not ok:
            raise TypeError(
                f"{head}: a list holding traced positions must hold integer scalars only; "
                f"found {_kind(x)}."
            )
        if not isinstance(x, jax.core.Tracer):
            _in_range(where, dim, n, i)
    return position(where, dim, n, jnp.stack([jnp.asarray(x) for x in items]))


def _is_bool_scalar(x: Any) -> bool:
    return isinstance(x, (np.ndarray, jax.Array)) and x.ndim == 0 and x.dtype == np.bool_


def _mask_positions(where: str, dim: str, n: int, mask: np.ndarray) -> np.ndarray:
    if mask.size == 0:  # selects nothing, as an empty list does (and as NumPy does)
        return np.zeros(0, np.int64)
    if mask.shape != (n,):
        raise IndexError(
            f"{where}: a mask on axis {dim!r} must have its length {n}; got length {mask.shape[0]}."
        )
    return np.flatnonzero(mask)


def _check_positions(where: str, dim: str, n: int, positions: np.ndarray) -> np.ndarray:
    off = (positions < -n) | (positions >= n)
    if off.any():
        _in_range(where, dim, n, int(positions[np.argmax(off)]))
    return np.where(positions < 0, positions + n, positions).astype(np.int64)


def _has_bool(x: Any) -> bool:
    """Whether ``x`` is a bool or a (nested) list or array holding one."""
    if isinstance(x, (bool, np.bool_)):
        return True
    if isinstance(x, (np.ndarray, jax.Array)):
        return x.dtype == np.bool_
    return isinstance(x, (list, tuple)) and any(_has_bool(v) for v in x)


def _real_values(head: str, wanted: Any) -> np.ndarray:
    """``wanted`` as an array of real numbers: a bool anywhere is refused (``[True, 2.0]``
    is not the coordinates 1 and 2); whole numbers past int64 stay exact (object); float
    types NumPy lacks (bfloat16) become float64."""
    if _has_bool(wanted):
        raise TypeError(f"{head}: a bool is not a coordinate value; got {_BRIEF.repr(wanted)}.")
    try:
        values = np.asarray(wanted)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"{head}: values must be a number or a flat list of numbers ({e})."
        ) from None
    if values.dtype.kind == "O" and values.size and all(type(v) is int for v in values.reshape(-1)):
        return values  # Python ints too large for int64
    if values.dtype.kind not in "iufO" and jax.dtypes.issubdtype(values.dtype, np.floating):
        return values.astype(np.float64)
    return values


def _is_real(values: np.ndarray) -> bool:
    """Whether :func:`_real_values` gave real numbers: a real dtype, or whole numbers past int64."""
    if values.dtype.kind == "O":  # whole numbers past int64, maybe beside other numbers
        return bool(values.size) and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in values.flat
        )
    return values.dtype.kind in "iuf"


def _as_float(values: np.ndarray) -> np.ndarray:
    """Real ``values`` as float64; whole numbers beyond its range become its largest finite
    values (beyond every coordinate: nearest is the end of the axis, exact matches none)."""
    if values.dtype.kind != "O":
        return values.astype(np.float64)
    big = float(np.finfo(np.float64).max)
    return np.array(
        [
            (big if v > 0 else -big) if isinstance(v, int) and abs(v) > big else float(v)
            for v in values.reshape(-1)
        ]
    ).reshape(values.shape)


def coordinate_positions(dim: str, axis: Any, wanted: Any, method: str) -> int | np.ndarray:
    """Positions on ``axis`` of the coordinate values ``wanted`` (an int drops the axis)."""
    head = f"sel({dim}=...)"
    if holds_tracer(wanted) or isinstance(axis, jax.core.Tracer):
        raise TypeError(
            f"{head}: sel needs concrete values and coordinates, but they are traced (inside "
            "jax.jit or another transformation). Select positions with isel there, or call "
            "sel outside."
        )
    values = _real_values(head, wanted)
    if not _is_real(values):
        if values.size == 0 and isinstance(wanted, (list, tuple)):
            values = values.astype(np.float64)
        else:
            raise TypeError(f"{head}: values must be real numbers; got {_kind(wanted)}.")
    if values.ndim > 1:
        raise ValueError(f"{head}: values must be a number or a 1-D list; got {_kind(values)}.")
    given = np.asarray(axis)
    # Whole numbers against a whole-number axis (epoch counts) compare as Python ints:
    # exact at any size, where float64 would round 2**53 + 1 to 2**53.
    whole = given.dtype.kind in "iu" and values.dtype.kind in "iuO"
    finite = np.isfinite(_as_float(values))
    if not finite.all():
        bad = values.reshape(-1)[np.argmin(finite.reshape(-1))]
        raise ValueError(f"{head}: coordinate values must be finite; got {bad}.")
    values = values.astype(object) if whole else _as_float(values)
    coords = given.astype(object if whole else np.float64)
    if not whole and not np.isfinite(coords).all():
        raise ValueError(
            f"{head}: the {dim!r} coordinate holds non-finite values "
            f"({coords[~np.isfinite(coords)][0]}), so no value is nearest; select by "
            "position with isel, or build the result with finite coordinates."
        )
    flat = values.reshape(-1)
    if flat.size and coords.size == 0:
        raise KeyError(f"{dim}={flat[0]:g}: the {dim!r} axis is empty.")
    idx = _nearest(coords, flat)
    if method == "exact" and flat.size:
        hit = (
            (flat == coords[idx])
            if whole
            else _on_axis(flat, coords[idx], given.dtype, _given_eps(wanted).reshape(-1))
        )
        if not hit.all():
            miss = int(np.argmin(hit))
            raise KeyError(
                f"{dim}={_query(flat[miss])} is not a coordinate of this result (nearest: "
                f"{_shown(coords[idx[miss]], given.dtype)}); pass method='nearest' to take "
                "the closest."
            )
    return int(idx[0]) if values.ndim == 0 else idx


def _query(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:.10g}"


def _nearest(coords: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position on ``coords`` (any order, repeats allowed) of the coordinate nearest each of
    ``values``: the first of equals, and of two equally near, the one first on the axis.

    Found between sorted neighbours, so a value far off the axis gets its end (comparing
    distances to every coordinate would round them all alike and take the first).
    """
    order = np.argsort(coords, kind="stable")
    ordered = coords[order]
    n = ordered.shape[0]
    above = np.searchsorted(ordered, values, side="left")
    # The first of each neighbour's equals, in axis order (the stable sort keeps it first).
    below = np.searchsorted(ordered, ordered[np.maximum(above - 1, 0)], side="left")
    above = np.minimum(above, n - 1)
    d_below = np.abs(values - ordered[below])
    d_above = np.abs(ordered[above] - values)
    closer = np.where(d_below == d_above, order[below] < order[above], d_below < d_above)
    return np.where(closer, order[below], order[above]).astype(np.int64)


def _shown(value: float, dtype: np.dtype) -> str:
    """A coordinate as its axis holds it: the shortest decimal of its dtype (0.01 in float32)."""
    try:
        return str(dtype.type(value))
    except (TypeError, ValueError):
        return f"{value:.10g}"


def _on_axis(
    values: np.ndarray, near: np.ndarray, dtype: np.dtype, eps: np.ndarray | float = 0.0
) -> np.ndarray:
    """Whether each of ``values`` is the coordinate ``near`` it, an axis of ``dtype``.

    Whole-number axes (epoch counts) match exactly. Float axes match within one step of
    their dtype at the coordinate: a decimal typed for a float32 axis rounds to within half
    a step of it, and an axis made in float64 (``np.linspace``) and stored in float32 within
    one, while a neighbour is at least a step away; so a typo raises instead of picking it.
    Values given in a float type coarser than the axis's (a float32 value, a float64 axis)
    carry only its precision, and match within one of its steps: ``eps``, that type's
    machine epsilon for each value (0 for Python numbers), as :func:`_given_eps` finds it.
    """
    if dtype.kind in "iub":
        return values == near
    try:
        step = np.spacing(np.abs(near).astype(dtype)).astype(np.float64)
    except TypeError:  # a float type NumPy has no spacing for: a relative 1e-6
        step = 1e-6 * np.abs(near)
    # eps * |near| is one to two steps of the value's own type at near.
    step = np.maximum(step, eps * np.abs(near))
    return np.abs(values - near) <= step


def _given_eps(wanted: Any) -> np.ndarray:
    """The machine epsilon of the float type each number of ``wanted`` was given in (a NumPy
    or JAX float, an array of them, a list mixing them), 0 for Python numbers and ints; of
    the shape of ``wanted``."""
    if isinstance(wanted, (list, tuple)):
        if all(type(v) in (int, float) for v in wanted):  # the usual list, at NumPy's speed
            return np.zeros(len(wanted))
        return np.array([_given_eps(v) for v in wanted], dtype=np.float64)
    dtype = getattr(wanted, "dtype", None)
    eps = 0.0
    if dtype is not None and jax.dtypes.issubdtype(dtype, np.floating):
        eps = float(jnp.finfo(dtype).eps)
    return np.full(np.shape(wanted), eps)


def name_positions(dim: str, names: Sequence[str], wanted: Any) -> int | np.ndarray:
    """Positions in ``names`` of the name ``wanted`` (drops the axis) or of a list of names.

    Names match exactly; of repeated names the first counts.
    """
    head = f"sel({dim}=...)"
    wanted = _text(wanted)
    if isinstance(wanted, str):
        return _name_position(dim, names, wanted)
    if isinstance(wanted, np.ndarray) and wanted.dtype.kind == "U" and wanted.ndim == 1:
        wanted = wanted.tolist()
    if isinstance(wanted, (list, tuple)):
        wanted = [_text(w) for w in wanted]
        if all(isinstance(w, str) for w in wanted):
            return np.array([_name_position(dim, names, w) for w in wanted], np.int64)
    raise TypeError(
        f"{head}: the {dim!r} axis is selected by name: a str or a list of str (one of "
        f"{list(names)}); got {_kind(wanted)}. To select by position use isel()."
    )


def _text(x: Any) -> Any:
    """A 0-d NumPy text array as the str it holds (a name, as a 0-d number is a number)."""
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind == "U":
        return str(x)
    return x


def _name_position(dim: str, names: Sequence[str], name: str) -> int:
    try:
        return list(names).index(name)
    except ValueError:
        raise KeyError(
            f"{dim}={_BRIEF.repr(name)} is not on this result's {dim!r} axis; its names are "
            f"{list(names)}."
        ) from None


def _nearest_points(coords: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position among ``coords`` (shape ``(S, d)``) of the point nearest each of ``values``
    (shape ``(k, d)``) by Euclidean distance; of equally near points, the first on the axis.

    Distances (``hypot``, not the root of a sum of squares, whose squares overflow for a far
    query and underflow for tiny offsets) pick the candidates: every point within a few
    roundings of the smallest. A query far off the starts rounds all its differences alike,
    so where several are candidates their squared distances are compared exactly, in
    rationals (each float is one): rare, and only for those points.
    """
    distance = np.hypot.reduce(np.abs(coords[None, :, :] - values[:, None, :]), axis=-1)
    best = distance.argmin(axis=1)
    least = distance[np.arange(len(values)), best]
    tied = distance <= least[:, None] * (1 + 8 * np.finfo(np.float64).eps)
    for row in np.flatnonzero(tied.sum(axis=1) > 1).tolist():
        q = [Fraction(v) for v in values[row].tolist()]
        exact = {
            j: sum((Fraction(c) - v) ** 2 for c, v in zip(coords[j].tolist(), q, strict=True))
            for j in np.flatnonzero(tied[row]).tolist()
        }
        best[row] = min(exact, key=lambda j: (exact[j], j))
    return best


def point_positions(dim: str, points: Any, wanted: Any, method: str) -> int | np.ndarray:
    """Positions among ``points`` (shape ``(S, d)``) of one point ``wanted`` (shape ``(d,)``,
    drops the axis) or of several (shape ``(k, d)``); nearest by Euclidean distance."""
    head = f"sel({dim}=...)"
    if holds_tracer(wanted) or isinstance(points, jax.core.Tracer):
        raise TypeError(
            f"{head}: sel needs concrete values and coordinates, but they are traced (inside "
            "jax.jit or another transformation). Select positions with isel there, or call "
            "sel outside."
        )
    given = np.asarray(points)
    coords = given.astype(np.float64)
    d = coords.shape[-1]
    if not np.isfinite(coords).all():
        raise ValueError(
            f"{head}: the starts hold non-finite values ({coords[~np.isfinite(coords)][0]}), "
            "so no point is nearest; select by position with isel, or build the result with "
            "finite starts."
        )
    try:
        values = _real_values(head, wanted)
    except ValueError as e:
        raise ValueError(
            f"{head}: pass one point of {d} numbers or a list of them ({e})."
        ) from None
    if values.size == 0 and isinstance(wanted, (list, tuple)):
        values = np.zeros((0, d))
    if not _is_real(values):
        raise TypeError(f"{head}: values must be real numbers; got {_kind(wanted)}.")
    one = values.shape == (d,) or (d == 1 and values.ndim == 0)
    if d == 1 and values.ndim == 1:  # points of R^1: a list of numbers is k points
        values = values.reshape(-1, 1)
    if not one and not (values.ndim == 2 and values.shape[1] == d):
        raise ValueError(
            f"{head}: the starts are points of R^{d}: pass one point of shape ({d},) "
            f"or a list of them, shape (k, {d}); got shape {values.shape}. Or select by "
            "position with isel."
        )
    values = _as_float(values).reshape(-1, d)
    if not np.isfinite(values).all():
        raise ValueError(f"{head}: coordinate values must be finite.")
    if values.shape[0] and coords.shape[0] == 0:
        raise KeyError(f"{dim}={values[0].tolist()}: the {dim!r} axis is empty.")
    idx = np.zeros(values.shape[0], np.int64)
    block = max(1, _SEL_BLOCK // max(coords.size, 1))
    for lo in range(0, values.shape[0], block):
        part = values[lo : lo + block]
        idx[lo : lo + block] = _nearest_points(coords, part)
    if method == "exact" and values.shape[0]:
        eps = _given_eps(wanted).reshape(-1, d)
        hit = _on_axis(values, coords[idx], given.dtype, eps).all(axis=1)
        if not hit.all():
            miss = int(np.argmin(hit))
            raise KeyError(
                f"{dim}={values[miss].tolist()} is not a start of this result (nearest: "
                f"{coords[idx[miss]].tolist()}); pass method='nearest' to take the closest."
            )
    return int(idx[0]) if one else idx
