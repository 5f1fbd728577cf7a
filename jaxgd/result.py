"""`SweepResult`: the [start x learning rate x epochs] tensor of a sweep, with its coordinates.

Selection (:meth:`SweepResult.isel`, :meth:`SweepResult.sel`) follows one rule for every
result, whether its arrays are NumPy arrays, JAX arrays or were read from a file: an
integer-like position behaves as a Python int, and a position off the axis raises
``IndexError`` (JAX alone would clamp it). Files are written atomically and validated in full
when read (:mod:`jaxgd._npz`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd import _indexing, _npz
from jaxgd._validate import holds_tracer

__all__ = ["DIMS", "RESERVED", "SweepResult", "load"]

#: Axis names of a plain sweep, in order, and the coordinate attribute of each.
DIMS: tuple[str, ...] = ("start", "learning_rate", "epochs")
#: Axis names with a meaning of their own; any other axis is a hyperparameter of the optimiser.
RESERVED: tuple[str, ...] = ("start", "learning_rate", "epochs", "optimizer", "param", "coord")
#: The values of ``SweepResult.math``: jaxgd.fastmath's sin/cos, or XLA's own.
MATHS: tuple[str, ...] = ("fast", "xla")
_COORD = {"start": "starts", "learning_rate": "learning_rates", "epochs": "epochs"}
_DATA = ("final", "value", "diverged")
_FORMAT = "jaxgd.SweepResult/2"
#: Files of this format hold a plain sweep only (no coords, no optimiser names).
_FORMAT_1 = "jaxgd.SweepResult/1"
#: Key prefix of the entries of ``coords`` in :meth:`SweepResult.as_dict` and in files.
_PREFIX = "coords."
#: Metadata entries of format 2 that format 1 lacks.
_META_2 = ("optimizers", "schedule", "coords")


def function_name(f: Callable) -> str:
    """A readable name for ``f`` to keep with its results (``module:qualname`` when known).

    A function of a module run as ``python -m package.module`` is named by that module, the
    name it can be imported by again, not ``__main__``.
    """
    if isinstance(f, functools.partial):  # its repr holds a memory address, new every run
        args = [repr(a) for a in f.args] + [f"{k}={v!r}" for k, v in f.keywords.items()]
        return f"{function_name(f.func)}({', '.join(args)})"
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None)
    if name is None:  # an instance: its repr, unless that is only a type and an address
        name = repr(f)
        if " at 0x" in name:
            name = f"{type(f).__qualname__} instance"
    module = getattr(f, "__module__", None)
    main = sys.modules.get("__main__")
    globs = getattr(f, "__globals__", None)
    # Only what the module run as __main__ defines: a function of a namespace merely named
    # __main__ (a doctest's, exec's) cannot be imported from that module.
    if module == "__main__" and (globs is None or globs is getattr(main, "__dict__", None)):
        spec = getattr(main, "__spec__", None)
        module = getattr(spec, "name", None) or module
    return f"{module}:{name}" if module else name


@dataclasses.dataclass(frozen=True, eq=False)
class SweepResult:
    """Where gradient descent ended, for every (start, learning rate, epoch count) and more.

    A JAX pytree: it can be returned from ``jax.jit``, mapped with ``jax.tree.map`` (leaves may
    become anything: shapes, ``None``, ``jax.ShapeDtypeStruct``) and saved without extra
    bookkeeping. The data arrays share the axes named in ``dims``, by default
    ``("start", "learning_rate", "epochs")``; each axis carries its coordinate. A sweep with an
    optimiser axis, hyperparameter axes, parameters of f or d-dimensional starts has more axes,
    in the order ``("optimizer", *hyperparameter keys, "param", "start", "learning_rate",
    "epochs", "coord")`` where present.

    Attributes:
        final: x after that many epochs from that start at that rate; its axes are ``dims``.
        value: ``f(final)``; the axes of ``dims`` but ``"coord"``.
        diverged: True where the run is no longer finite (its position or its value); the
            axes of ``value``.
        starts: the start of each index on the ``start`` axis; for d-dimensional runs (a
            ``"coord"`` entry in ``coords``) a point each, shape ``(S, d)``, which selecting
            on ``"coord"`` leaves whole.
        learning_rates: the rate of each index on the ``learning_rate`` axis (the peak or
            initial value of the schedule, when there is one).
        epochs: the epoch count of each index on the ``epochs`` axis.
        dims: the names of ``final``'s axes, distinct. ``"start"``, ``"learning_rate"`` and
            ``"epochs"`` may come in any order among themselves; the others keep their places:
            ``"optimizer"`` first, then hyperparameter keys (Python identifiers, not one of
            ``RESERVED``), ``"param"``, those three, and ``"coord"`` last.
            :meth:`sel`, :meth:`isel` and :meth:`squeeze` drop axes; a dropped axis keeps its
            coordinate as a scalar.
        function: the name of the function that was descended (for records).
        math: which ``sin``/``cos`` (and float32 ``tan``) computed it: ``"fast"``, the
            vectorised polynomials of :mod:`jaxgd.fastmath` (the default on a CPU), or
            ``"xla"``, XLA's own. They differ in the last bits; results compare bit for bit
            only within one math.
        coords: the coordinate of every axis without a field of its own, by name: each
            hyperparameter key (its values), ``"param"`` (the parameter values, or
            ``arange(P)`` for a pytree of parameters) and ``"coord"`` (``arange(d)``). A
            dropped axis keeps a 0-d entry.
        optimizers: the optimiser names: ``()`` for plain descent; with an ``"optimizer"``
            axis, one name per index; a single optimiser (no axis, or the axis dropped) is a
            1-tuple.
        schedule: ``""``, or the name of the learning-rate schedule (for records).

    Example:
        >>> import jax.numpy as jnp
        >>> import jaxgd
        >>> res = jaxgd.sweep(jnp.cos, [0.5, 2.0, 3.0], [0.1, 0.5], [0, 10, 100])
        >>> res
        SweepResult(start: 3, learning_rate: 2, epochs: 3; float32; math: fast;
        diverged 0 of 18; f=...cos)
        >>> res.sel(learning_rate=0.5, epochs=100).final.tolist()
        [3.1416, 3.1416, 3.1416]
        >>> res.isel(start=0).squeeze().dims
        ('learning_rate', 'epochs')

        A result with an optimiser axis and a hyperparameter axis, built by hand:

        >>> import numpy as np
        >>> shape = (2, 3, 1, 1, 4)
        >>> res = jaxgd.SweepResult(
        ...     np.zeros(shape), np.zeros(shape), np.zeros(shape, bool),
        ...     starts=np.zeros(1), learning_rates=np.zeros(1), epochs=np.arange(4),
        ...     dims=("optimizer", "b1", "start", "learning_rate", "epochs"),
        ...     coords={"b1": np.array([0.8, 0.9, 0.99])}, optimizers=("sgd", "adam"))
        >>> res.sizes
        {'optimizer': 2, 'b1': 3, 'start': 1, 'learning_rate': 1, 'epochs': 4}
        >>> res.coord("optimizer").tolist(), res.coord("b1").tolist()
        (['sgd', 'adam'], [0.8, 0.9, 0.99])
    """

    final: jax.Array
    value: jax.Array
    diverged: jax.Array
    starts: jax.Array
    learning_rates: jax.Array
    epochs: jax.Array
    dims: tuple[str, ...] = DIMS
    function: str = ""
    math: str = "xla"
    coords: dict[str, jax.Array] = dataclasses.field(default_factory=dict)
    optimizers: tuple[str, ...] = ()
    schedule: str = ""

    def __post_init__(self) -> None:
        # Only the static fields (and the names in coords) are checked: leaves may be tracers,
        # shapes or None (any jax.tree.map), and are checked where their numbers are used
        # (selection, save).
        dims = self.dims
        if (
            type(dims) is tuple
            and dims == DIMS
            and type(self.coords) is dict
            and not self.coords
            and type(self.optimizers) is tuple
            and not self.optimizers
            and type(self.function) is str
            and type(self.schedule) is str
            and self.math in MATHS
        ):
            return  # plain descent's result, as every sweep without extra axes makes it
        if isinstance(dims, str) or not isinstance(dims, Sequence):
            raise TypeError(
                f"dims must be a tuple of axis names such as {list(DIMS)}; got {dims!r}."
            )
        dims = tuple(dims)
        coords = self.coords
        if not isinstance(coords, Mapping):
            raise TypeError(
                "coords must be a dict {axis name: coordinate array}; got "
                f"{type(coords).__name__}."
            )
        coords = dict(coords)
        problem = _dims_problem(dims, coords)
        if problem:
            raise ValueError(f"dims: {problem}.")
        if not isinstance(self.function, str):
            raise TypeError(f"function must be a str; got {type(self.function).__name__}.")
        if self.math not in MATHS:
            raise ValueError(f"math must be one of {list(MATHS)}; got {self.math!r}.")
        optimizers = self.optimizers
        if isinstance(optimizers, str) or not isinstance(optimizers, Sequence):
            raise TypeError(
                f"optimizers must be a tuple of optimiser names; got {optimizers!r} (a single "
                "optimiser is a 1-tuple: ('adam',))."
            )
        optimizers = tuple(optimizers)
        problem = _optimizers_problem(optimizers, dims)
        if problem:
            raise ValueError(f"optimizers: {problem}.")
        if not isinstance(self.schedule, str):
            raise TypeError(
                f"schedule must be a str (the schedule's name); got {type(self.schedule).__name__}."
            )
        # Tuples, not lists: jit hashes the static fields.
        object.__setattr__(self, "dims", dims)

        # One order however the dict was made (jax.tree.map sorts its keys): axes in dims
        # order, then the dropped ones.
        def place(name: str) -> tuple[int, int, str]:
            return (0, dims.index(name), "") if name in dims else (1, _rank(name), name)

        object.__setattr__(self, "coords", {k: coords[k] for k in sorted(coords, key=place)})
        object.__setattr__(self, "optimizers", optimizers)

    # -- shape ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``final``, one entry per name in ``dims``."""
        return tuple(self.final.shape)

    @property
    def sizes(self) -> dict[str, int]:
        """Length of each axis, by name."""
        return dict(zip(self.dims, self.shape, strict=False))

    def coord(self, dim: str) -> jax.Array | np.ndarray:
        """The coordinate of axis ``dim``, for every name in ``dims``.

        ``"start"``, ``"learning_rate"`` and ``"epochs"`` give their fields, ``"optimizer"``
        a NumPy array of the names, any other axis its entry in ``coords``.
        """
        self._check_dim(dim, "coord")
        if dim in _COORD:
            return getattr(self, _COORD[dim])
        if dim == "optimizer":
            return np.array(self.optimizers, dtype=str)
        return self.coords[dim]

    def __repr__(self) -> str:
        # Never fails: a tree-mapped result may hold shapes, None or ShapeDtypeStructs.
        shape = getattr(self.final, "shape", None)
        if isinstance(shape, tuple) and len(shape) == len(self.dims):
            axes = ", ".join(f"{d}: {n}" for d, n in zip(self.dims, shape, strict=True))
        else:
            axes = ", ".join(self.dims)
        dtype = getattr(self.final, "dtype", None)
        kind = str(dtype) if dtype is not None else f"leaves {type(self.final).__name__}"
        extra = ""
        if self.optimizers:
            label = "optimizers" if "optimizer" in self.dims else "optimizer"
            extra += f"; {label}: {', '.join(self.optimizers)}"
        if self.schedule:
            extra += f"; schedule: {self.schedule}"
        # Every axis a selection dropped, with the value it was taken at, in dims order.
        values = {d: getattr(self, field) for d, field in _COORD.items()}
        values.update(self.coords)
        dropped = [
            f"{name}={_describe_scalar(c)}"
            for name, c in sorted(values.items(), key=lambda kv: _rank(kv[0]))
            if name not in self.dims
        ]
        if dropped:
            extra += f"; at {', '.join(dropped)}"
        fn = f"; f={self.function}" if self.function else ""
        diverged = _describe_diverged(self.diverged)
        return f"SweepResult({axes or 'scalar'}; {kind}; math: {self.math}; {diverged}{extra}{fn})"

    # -- selection -----------------------------------------------------------------------
    def isel(self, indexers: Mapping[str, Any] | None = None, /, **more: Any) -> SweepResult:
        """Select by position along named axes: ``res.isel(start=0, epochs=slice(-5, None))``.

        Every axis in ``dims`` can be selected; ``"optimizer"`` keeps its names in
        :attr:`optimizers` (a dropped axis leaves the 1-tuple of the one selected), and
        ``"coord"`` selects in ``final`` only (``value`` and ``diverged`` have no such axis).

        What an index means:

        - An integer-like position (a Python int, a NumPy or JAX integer scalar or 0-d array,
          anything with ``__index__``) drops the axis; its coordinate becomes a scalar.
          Negative positions count from the end.
        - A slice (integer-like bounds and step, not 0) keeps the axis, with Python's rules:
          bounds past the end are cut, never an error. Its bounds cannot be traced (the
          shape would depend on them): inside ``jax.jit`` pass ``i + jnp.arange(k)``.
        - A 1-D sequence or array of integer positions keeps the axis, in that order
          (repeats allowed; ``[]`` leaves the axis empty). Inside ``jax.jit`` the list may
          hold traced positions: it is then one traced index array.
        - A 1-D sequence or array of bools as long as the axis is a mask: it keeps the
          positions where it is True.

        Bools alone and floats are not positions (``TypeError``; select by value with
        :meth:`sel`), nor are index arrays of more than one dimension (``ValueError``).

        Args:
            indexers: a dict ``{axis name: index}``, for names that are not keywords of this
                method.
            **more: one index per axis name in ``dims``.

        Returns:
            The selected result; arrays keep their kind (NumPy or JAX).

        Raises:
            IndexError: a position off the axis (or a mask of the wrong length), checked on
                the host for every result, NumPy- or JAX-backed. Inside a caller's
                ``jax.jit`` a traced position cannot be checked: JAX then clamps it to the
                axis, as its indexing ``x[i]`` does (``jnp.take`` would give NaN instead).
            TypeError, ValueError: an index of the wrong kind or rank, an axis name not in
                ``dims``, or a traced position on the ``"optimizer"`` axis (its names are
                static).

        Example:
            >>> import numpy as np
            >>> import jaxgd
            >>> res = jaxgd.sweep(lambda x: x**2, [-1.0, 0.5, 2.0], [0.1, 0.2], [0, 10])
            >>> res.isel(start=np.argmax(res.starts)).dims
            ('learning_rate', 'epochs')
            >>> res.isel(start=[2, 0], epochs=-1).starts.tolist()
            [2.0, -1.0]
            >>> res.isel(start=5)
            Traceback (most recent call last):
            ...
            IndexError: isel: position 5 is off axis 'start' of length 3 (valid: -3 to 2).
        """
        positions = {}
        for dim, index in _merge("isel", indexers, more).items():
            pos = _indexing.position("isel", dim, self._length(dim, "isel"), index)
            if dim == "optimizer" and isinstance(pos, jax.core.Tracer):
                raise TypeError(
                    "isel(optimizer=...): a traced position cannot pick optimiser names, which "
                    "are static; pass a concrete position, or select outside jax.jit."
                )
            positions[dim] = pos
        out = self
        for dim, pos in positions.items():
            out = out._take(dim, pos)
        return out

    def sel(
        self,
        indexers: Mapping[str, Any] | None = None,
        /,
        *,
        method: Literal["exact", "nearest"] = "exact",
        **coords: float | str | Sequence[float] | Sequence[str] | np.ndarray | jax.Array,
    ) -> SweepResult:
        """Select by coordinate value: ``res.sel(start=0.0, learning_rate=0.01, epochs=500)``.

        The ``"optimizer"`` axis is selected by name, exactly, whatever ``method``:
        ``res.sel(optimizer="adam")`` drops it, ``res.sel(optimizer=["sgd", "adam"])`` keeps
        it. ``"coord"`` selects in ``final`` only. The starts of a d-dimensional result are
        points: ``res.sel(start=[1.0, 2.0])`` is the one start at (1, 2) (nearest: by
        Euclidean distance), a list of points keeps the axis.

        A scalar (a Python, NumPy or JAX number, or a 0-d array) drops that axis; a 1-D
        sequence or array keeps it, in that order. With ``method="exact"`` (the default) each
        value must be on the axis: exactly for whole numbers (epoch counts), and within one
        step of the axis's dtype for float coordinates (so float32 coordinates match the
        decimals you typed; a value given as a float32 or other coarser float matches within
        one step of its own type), so a typo raises instead of silently picking a neighbour;
        ``method="nearest"`` picks the closest coordinate: of repeated or equally close
        coordinates, the one first on the axis (``xarray``'s ``sel`` takes the larger value
        of two equally close, and needs an axis without repeats, sorted).

        Args:
            indexers: a dict ``{axis name: values}``, for names that are not keywords of this
                method (a hyperparameter named ``method``).
            method: ``"exact"`` or ``"nearest"``.
            **coords: one value or list of values per axis name in ``dims``.

        Returns:
            The selected result; arrays keep their kind (NumPy or JAX).

        Raises:
            KeyError: with ``method="exact"``, a value that is not a coordinate of the axis
                (the message gives the nearest one); or any value on an empty axis; an
                optimiser name not on the axis (the message lists them).
            TypeError: a bool, string, complex or other non-real value; a traced value or
                coordinate (inside ``jax.jit`` select positions with :meth:`isel`).
            ValueError: NaN or infinite values, arrays of more than one dimension, an axis
                name not in ``dims``, or an unknown ``method``.

        Example:
            >>> import jaxgd
            >>> res = jaxgd.sweep(lambda x: x**2, [-1.0, 0.5, 2.0], [0.1, 0.2], [0, 10])
            >>> res.sel(start=0.5, learning_rate=0.2).epochs.tolist()
            [0, 10]
            >>> res.sel(start=[2.0, -1.0], epochs=9, method="nearest").epochs.tolist()
            10
        """
        if not isinstance(method, str) or method not in ("exact", "nearest"):
            hint = (
                f" To select on the dimension named 'method', pass a dict: "
                f"sel({{'method': {method!r}}})."
                if "method" in self.dims
                else ""
            )
            raise ValueError(f"sel: method must be 'exact' or 'nearest'; got {method!r}.{hint}")
        positions = {}
        for dim, wanted in _merge("sel", indexers, coords).items():
            self._length(dim, "sel")
            if dim == "optimizer":
                positions[dim] = _indexing.name_positions(dim, self.optimizers, wanted)
            elif dim == "start" and np.ndim(self.starts) == 2:
                positions[dim] = _indexing.point_positions(dim, self.starts, wanted, method)
            else:
                positions[dim] = _indexing.coordinate_positions(
                    dim, self.coord(dim), wanted, method
                )
        out = self
        for dim, pos in positions.items():
            out = out._take(dim, pos)
        return out

    def squeeze(self) -> SweepResult:
        """Drop every axis of length 1 (its coordinate becomes a scalar)."""
        shape = getattr(self.final, "shape", None)
        if not isinstance(shape, tuple) or len(shape) != len(self.dims):
            raise TypeError(
                f"squeeze: final has no shape matching dims {list(self.dims)} (it is "
                f"{type(self.final).__name__}: the result's arrays were mapped to something "
                "else); squeeze a result of arrays."
            )
        return self.isel(**{d: 0 for d, n in zip(self.dims, self.shape, strict=False) if n == 1})

    def _check_dim(self, dim: str, where: str) -> str:
        if dim not in self.dims:
            hint = ""
            if dim in _COORD:
                hint = (
                    f" ({dim!r} was dropped by an earlier selection; its value is the scalar "
                    f"res.{_COORD[dim]})"
                )
            elif dim == "optimizer" and self.optimizers:
                hint = (
                    f" ('optimizer' was dropped by an earlier selection, or there was one "
                    f"optimiser: res.optimizers is {self.optimizers!r})"
                )
            elif dim in self.coords:
                hint = (
                    f" ({dim!r} was dropped by an earlier selection; its value is the scalar "
                    f"res.coords[{dim!r}])"
                )
            raise ValueError(
                f"{where}: no axis named {dim!r}; this result's axes are {list(self.dims)}{hint}."
            )
        return dim

    def _length(self, dim: str, where: str) -> int:
        self._check_dim(dim, where)
        shape = getattr(self.final, "shape", None)
        for name in _DATA:
            leaf = getattr(self, name)
            if isinstance(shape, tuple) and not _indexable(leaf):
                raise TypeError(
                    f"{where}({dim}=...): {name} is {type(leaf).__name__}, not an array (the "
                    "result's arrays were mapped to something else); select on a result of "
                    "arrays."
                )
        if not isinstance(shape, tuple) or len(shape) != len(self.dims):
            raise TypeError(
                f"{where}({dim}=...): final has no shape matching dims {list(self.dims)} "
                f"(it is {type(self.final).__name__}); select on a result of arrays."
            )
        n = shape[self.dims.index(dim)]
        if dim == "optimizer" and len(self.optimizers) != n:
            raise ValueError(
                f"{where}(optimizer=...): the optimizer axis has length {n} but optimizers "
                f"names {len(self.optimizers)}: {list(self.optimizers)}; they must match."
            )
        problem = self._shapes_problem()
        if problem:
            raise ValueError(
                f"{where}({dim}=...): {problem}; a selection would pair the wrong numbers. "
                "Build the result with matching shapes (jaxgd.sweep and jaxgd.load do)."
            )
        return n

    def _shapes_problem(self) -> str:
        """The first way the arrays' shapes disagree with ``final`` and ``dims`` ('' if none):
        shapes only (static even under jit), the rest is checked by ``save``."""
        shape = self.final.shape
        value_shape = tuple(n for d, n in zip(self.dims, shape, strict=True) if d != "coord")
        for name in ("value", "diverged"):
            got = getattr(getattr(self, name), "shape", None)
            if got is not None and tuple(got) != value_shape:
                return f"{name} has shape {tuple(got)}, final {tuple(shape)} needs {value_shape}"
        for dim, n in zip(self.dims, shape, strict=True):
            if dim == "optimizer":
                continue
            c = self.coord(dim)
            got = getattr(c, "shape", None)
            if got is None:  # a hand-made result's list (or number): as NumPy sees it
                try:
                    got = np.shape(_as_array(c))
                except (ValueError, TypeError):
                    return f"the {dim!r} coordinate is a ragged {type(c).__name__}"
            if len(got) == 0 or got[0] != n:
                return (
                    f"the {dim!r} coordinate has shape {tuple(got)}, but the {dim!r} axis of "
                    f"final has length {n}"
                )
        return ""

    def _take(self, dim: str, pos: Any) -> SweepResult:
        drop = isinstance(pos, int) or (isinstance(pos, jax.core.Tracer) and pos.ndim == 0)
        key = (slice(None),) * self.dims.index(dim) + (pos,)

        def take(a: Any, k: Any) -> Any:
            # NumPy arrays cannot be indexed by a tracer (a result closed over inside jit).
            if isinstance(pos, jax.core.Tracer):
                return jnp.asarray(a)[k]
            # A hand-made result's coordinate may be a list, which save takes as an array.
            return _as_array(a)[k]

        # "coord" is the last axis of final, which value and diverged lack: every other axis
        # has the same position in all three.
        data = ("final",) if dim == "coord" else _DATA
        changes: dict[str, Any] = {name: take(getattr(self, name), key) for name in data}
        if dim in _COORD:
            changes[_COORD[dim]] = take(getattr(self, _COORD[dim]), pos)
        elif dim == "optimizer":
            names = self.optimizers
            if isinstance(pos, slice):
                changes["optimizers"] = names[pos]
            elif drop:
                changes["optimizers"] = (names[pos],)
            else:
                changes["optimizers"] = tuple(names[int(i)] for i in pos)
        else:
            changes["coords"] = {**self.coords, dim: take(self.coords[dim], pos)}
        dims = tuple(d for d in self.dims if d != dim) if drop else self.dims
        return dataclasses.replace(self, dims=dims, **changes)

    # -- conversion and storage ----------------------------------------------------------
    def to_numpy(self) -> SweepResult:
        """The same result with every array copied to host NumPy arrays."""
        return jax.tree.map(np.asarray, self)

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays as a flat dict of NumPy arrays (data and coordinates).

        Keys: ``final``, ``value``, ``diverged``, ``starts``, ``learning_rates``, ``epochs``;
        ``coords.NAME`` for each entry of :attr:`coords`; and ``optimizers`` (the names, a
        str array) when there are any.

        Example:
            >>> import jaxgd
            >>> res = jaxgd.sweep(lambda x: x**2, [-1.0, 2.0], 0.1, [0, 10])
            >>> sorted(res.as_dict())
            ['diverged', 'epochs', 'final', 'learning_rates', 'starts', 'value']
        """
        out = {name: np.asarray(getattr(self, name)) for name in (*_DATA, *_COORD.values())}
        out.update({_PREFIX + name: np.asarray(c) for name, c in self.coords.items()})
        if self.optimizers:
            out["optimizers"] = np.array(self.optimizers, dtype=str)
        return out

    def to_xarray(self) -> Any:
        """The result as an ``xarray.Dataset``, every axis named and every coordinate attached.

        Variables: ``final`` (every axis), ``value`` and ``diverged`` (every axis but
        ``"coord"``). Coordinates: one per axis (optimiser names as strings); a dropped axis
        keeps its coordinate as a scalar one. The starts of a d-dimensional result are
        points, which cannot index an axis: they are the coordinate ``starts``, of dimensions
        ``("start", "start_coord")``, and the ``start`` axis has no index. Attributes:
        ``function``, ``math`` and ``schedule``. The arrays are copied to the host.

        Returns:
            An ``xarray.Dataset``.

        Raises:
            ImportError: xarray is not installed (``pip install "jaxgd[xarray]"``).
            TypeError: the result holds traced arrays (convert it outside ``jax.jit``).
            ValueError: an axis is named like a variable (``final``, ``value``,
                ``diverged``) or like ``starts``/``start_coord``, which a Dataset cannot hold
                beside it; or the arrays' shapes disagree with each other or the coordinates
                (a hand-made result), as in :meth:`isel`.

        Example:
            >>> import jaxgd
            >>> res = jaxgd.sweep(lambda x: x**2, [-1.0, 2.0], [0.1, 0.2], [0, 10])
            >>> ds = res.to_xarray()
            >>> ds.final.sel(start=2.0, learning_rate=0.1).values.tolist()
            [2.0, 0.2147]
        """
        try:
            import xarray as xr
        except ImportError:
            raise ImportError(
                "SweepResult.to_xarray needs xarray, an optional dependency: "
                'pip install "jaxgd[xarray]"'
            ) from None
        self._check_concrete("to_xarray", "to_xarray", "convert")
        shape = getattr(self.final, "shape", None)
        if not isinstance(shape, tuple) or len(shape) != len(self.dims):
            problem = f"final has shape {shape}, which does not match dims {list(self.dims)}"
        else:
            problem = self._shapes_problem()
            n = dict(zip(self.dims, shape, strict=True)).get("optimizer", len(self.optimizers))
            if not problem and len(self.optimizers) != n:
                problem = (
                    f"the optimizer axis has length {n} but optimizers names {len(self.optimizers)}"
                )
        if problem:
            raise ValueError(
                f"to_xarray: {problem}. Build the result with matching shapes (jaxgd.sweep and "
                "jaxgd.load do)."
            )
        clash = [d for d in (*self.dims, *self.coords) if d in (*_DATA, "starts", "start_coord")]
        if clash:
            raise ValueError(
                f"to_xarray: the axis {clash[0]!r} has the name of a data variable; an xarray "
                "Dataset cannot hold both. Rename the axis."
            )
        host = self.to_numpy()
        value_dims = tuple(d for d in self.dims if d != "coord")
        coords: dict[str, Any] = {}
        if "optimizer" in self.dims:
            coords["optimizer"] = ("optimizer", np.array(self.optimizers, dtype=str))
        elif self.optimizers:
            coords["optimizer"] = ((), np.array(self.optimizers[0]))
        named = {**{d: getattr(host, a) for d, a in _COORD.items()}, **host.coords}
        if np.ndim(host.starts) == (1 if "start" in self.dims else 0) + 1:
            # Points (d-dimensional starts) cannot index the start axis: a coordinate of
            # their own, along the start axis and their d coordinates.
            del named["start"]
            along = ("start",) if "start" in self.dims else ()
            coords["starts"] = ((*along, "start_coord"), host.starts)
        for dim in (
            *[d for d in self.dims if d in named],
            *[d for d in named if d not in self.dims],
        ):
            c = named[dim]
            coords[dim] = (dim, c) if dim in self.dims else ((), c)
        return xr.Dataset(
            {
                "final": (self.dims, host.final),
                "value": (value_dims, host.value),
                "diverged": (value_dims, host.diverged),
            },
            coords=coords,
            attrs={"function": self.function, "math": self.math, "schedule": self.schedule},
        )

    def _check_concrete(self, head: str, method: str, verb: str) -> None:
        leaves = {n: getattr(self, n) for n in (*_DATA, *_COORD.values())}
        leaves.update({f"coords[{k!r}]": c for k, c in self.coords.items()})
        for name, leaf in leaves.items():
            if leaf is None or isinstance(leaf, jax.ShapeDtypeStruct):
                raise ValueError(
                    f"{head}: {name} is {type(leaf).__name__}, not an array (the result's "
                    f"arrays were mapped to something else); {verb} a result of arrays."
                )
            if isinstance(leaf, jax.core.Tracer):
                raise TypeError(
                    f"{head}: {name} is traced ({method} was called inside jax.jit or another "
                    f"transformation). Return the result from the function and {verb} it "
                    "outside."
                )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result, its coordinates and metadata to an ``.npz`` file; returns its path.

        The format is ``jaxgd.SweepResult/2``: the arrays of :meth:`as_dict` (``coords``
        entries as ``coords.NAME``) and a JSON metadata entry with the axis names, function,
        math, optimiser names and schedule.

        ``.npz`` is appended to a name without it (``run.NPZ`` has it). The file is written whole or
        not at all: the data go to a hidden temporary file (``.NAME.npz.XXXXXXXX.tmp``) in the same
        folder, reach the disk, and only then replace ``path``, so a crash or a kill at any moment
        leaves the previous file intact. A process killed outright (SIGKILL, a power cut) while
        writing can leave that hidden file behind, partial or (killed just before the rename)
        whole: :func:`jaxgd.load` refuses a partial one as damaged. A save holds a lock on its
        hidden file while it writes (POSIX), which the system drops when the process dies, so
        the next save to the same path removes such a file once it is 10 s old and unlocked (a
        save under way elsewhere keeps its own); on Windows, delete it by hand when no save is
        running. Ctrl-C and exceptions remove it. Replacing is a rename, which the folder's
        permissions allow or refuse: a write-protected file (mode 0444) in a writable folder is
        replaced like any other (the new file keeps its mode); protect results by their folder.
        A ``path`` that is a symbolic link is written through: the file it points to is
        replaced (the temporary file goes in that file's folder) and the link stays; a link
        in a loop is refused (``OSError``).
        The result is checked first, by the rules :func:`jaxgd.load` applies, so every saved
        file can be loaded.

        Args:
            path: the file to write; its folder is created if needed.

        Returns:
            The path written (with the ``.npz`` suffix).

        Raises:
            TypeError: the result holds traced arrays (save it outside ``jax.jit``), or
                ``path`` is not a ``str`` or ``os.PathLike``.
            ValueError: the result is not consistent (dims, shapes, dtypes, coordinates, or
                ``diverged`` contradicting ``final``/``value``, as :func:`jaxgd.load` checks),
                holds a float type an ``.npz`` cannot store (bfloat16: convert it to float32),
                or holds something other than arrays (``None`` or ``ShapeDtypeStruct``
                leaves, from ``jax.tree.map``); or ``path`` names no file: it is empty, only
                the extension, or a folder (ending in a separator, as ``runs/``, or in ``..``).
            IsADirectoryError: ``path`` is an existing directory.
            OSError: the folder cannot be created or written (the message names it), the
                system refuses the path itself (a name too long: the message says to shorten
                it), or ``path`` is a symbolic link in a loop (``ln -s a a``: ELOOP), which
                has no file to write through to and is not replaced by one.

        Example:
            >>> import tempfile, pathlib
            >>> import jaxgd
            >>> res = jaxgd.sweep(lambda x: x**2, [-1.0, 2.0], 0.1, [0, 10])
            >>> path = res.save(pathlib.Path(tempfile.mkdtemp()) / "squares")
            >>> path.name
            'squares.npz'
            >>> jaxgd.load(path).final.tolist() == res.final.tolist()
            True
        """
        text = _path_text(path, "save")
        if not text.strip():
            raise ValueError("cannot save: the path is empty. Pass a file path, e.g. 'result.npz'.")
        path = Path(text)
        if not path.name:
            raise ValueError(
                f"cannot save to {str(path)!r}: it names no file. Pass a file path, "
                f"e.g. {str(path / 'result.npz')!r}."
            )
        # Path() drops a trailing separator ('runs/' would write runs.npz) and keeps '..' as
        # a name ('x/..' would write x/...npz): both name a folder, never a file.
        if text.endswith(tuple(s for s in (os.sep, os.altsep) if s)) or path.name == "..":
            raise ValueError(
                f"cannot save to {text!r}: it names a folder, not a file. Pass a file path, "
                f"e.g. {str(path / 'result.npz')!r}."
            )
        named = _npz.npz_name(path)
        for candidate in dict.fromkeys((path, named)):
            if _ask(candidate, "is_dir", "save"):
                raise IsADirectoryError(
                    f"cannot save to {candidate}: it is a directory. Pass a file path, "
                    f"e.g. {candidate / 'result.npz'}."
                )
        path = named
        _refuse_loop(path, "save")
        self._check_concrete(f"cannot save {path}", "save", "save")
        arrays = self.as_dict()
        arrays.pop("optimizers", None)  # kept in the metadata, as JSON text
        problem = _contents_problem(arrays, self.dims, self.function, self.optimizers)
        if problem:
            raise ValueError(f"cannot save {path}: {problem}.")
        meta = {
            "format": _FORMAT,
            "dims": list(self.dims),
            "function": self.function,
            "math": self.math,
            # The native name ("float32" for a big-endian ">f4"): load reads native arrays.
            "dtype": str(arrays["final"].dtype.newbyteorder("=")),
            "jax_version": jax.__version__,
            "optimizers": list(self.optimizers),
            "schedule": self.schedule,
            "coords": list(self.coords),
        }
        _npz.write_atomic(path, {**arrays, "metadata": np.asarray(json.dumps(meta))})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SweepResult:
        """Read a result written by :meth:`save`; arrays come back as NumPy arrays.

        See :func:`jaxgd.load`.
        """
        return load(path)


def _as_array(a: Any) -> Any:
    """An array as it is; a hand-made result's list as an array, a JAX array where the
    pytree's flattening made its numbers tracers (the result passed into ``jax.jit``)."""
    if hasattr(a, "shape"):
        return a
    return jnp.asarray(a) if holds_tracer(a) else np.asarray(a)


jax.tree_util.register_dataclass(
    SweepResult,
    data_fields=[*_DATA, *_COORD.values(), "coords"],
    meta_fields=["dims", "function", "math", "optimizers", "schedule"],
)


def load(path: str | os.PathLike) -> SweepResult:
    """Read a :class:`SweepResult` written by :meth:`SweepResult.save`, checking all of it.

    Nothing is trusted before it is checked: the archive, the format tag, the metadata
    (a JSON object with ``format``, ``dims`` and ``function``, and in format 2 the
    ``optimizers``, the ``schedule`` and the names of the ``coords`` entries), each array's
    header (shape and dtype, before its data are read, so a damaged header cannot ask for
    unbounded memory), the data (real floats, a bool ``diverged``, integer epoch counts and
    ``coord`` positions, finite coordinates, shapes matching the coordinates and the optimiser
    names), and that ``diverged`` is True where ``final`` or ``value`` is not finite and False
    elsewhere. Files of format ``jaxgd.SweepResult/1`` (plain sweeps, before results had
    more axes) load too. A file from before a non-finite value counted as divergence stays
    readable: such cells come back flagged. Pickled objects are never read.

    Args:
        path: a file written by :meth:`SweepResult.save`.

    Returns:
        The result, its arrays NumPy arrays.

    Raises:
        TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
        FileNotFoundError: no file at ``path``.
        PermissionError: the file exists but cannot be read.
        OSError: the system refuses the path itself (a name too long: the message says to
            shorten it), or ``path`` is a symbolic link in a loop (ELOOP), not a missing file.
        ValueError: anything wrong with the file (damaged, truncated, not a saved result, or
            inconsistent): one error naming the file and the problem; or ``path`` is empty.
        MemoryError: an array the file holds (or claims to) would not fit in the host's
            available memory; refused before it is allocated, naming the file and the size.

    Example:
        >>> import tempfile, pathlib
        >>> import jaxgd
        >>> res = jaxgd.sweep(lambda x: x**2, [-1.0, 2.0], [0.1, 0.3], [0, 10])
        >>> back = jaxgd.load(res.save(pathlib.Path(tempfile.mkdtemp()) / "squares.npz"))
        >>> back
        SweepResult(start: 2, learning_rate: 2, epochs: 2; float32; math: fast;
        diverged 0 of 8; f=...)
        >>> back.sel(start=2.0, learning_rate=0.1).final.tolist()
        [2.0, 0.2147]
    """
    text = _path_text(path, "load")
    if not text.strip():  # Path('') is '.', which would be blamed for being a folder
        raise ValueError(
            "cannot load: the path is empty. Pass the file SweepResult.save wrote, e.g. "
            "'result.npz'."
        )
    path = Path(text)
    if not _ask(path, "exists", "load"):
        _refuse_loop(path, "load")
        hint = ""
        if not _npz.has_suffix(path.name) and _is_file(path.with_name(path.name + ".npz")):
            hint = f" (did you mean {path.name}.npz? save appends .npz)"
        raise FileNotFoundError(f"no saved SweepResult at {path}: the file does not exist{hint}.")
    fail = f"{path} is not a saved SweepResult"
    try:
        with _npz.Reader(path) as reader:
            result = _read(reader)
    except _npz.Invalid as e:
        raise ValueError(f"{fail}: {e}.") from None
    return result


def _indexable(a: Any) -> bool:
    """Whether ``a`` is an array a selection can index (not a ShapeDtypeStruct or None)."""
    return hasattr(a, "__getitem__") and not isinstance(a, jax.ShapeDtypeStruct)


def _path_text(path: Any, verb: str) -> str:
    """``path`` (str, bytes or os.PathLike) as a str; anything else, or a name with a NUL
    character (which no system takes), is refused naming ``path``."""
    if isinstance(path, bytes | os.PathLike):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        raise TypeError(
            f"cannot {verb}: path must be a file path, a str or os.PathLike such as "
            f"'result.npz'; got {type(path).__name__}."
        )
    if "\0" in path:
        raise ValueError(
            f"cannot {verb} {path!r}: the path contains a NUL character ('\\0'), which no "
            "file name can hold."
        )
    return path


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False where the system refuses the name itself (too long: a name
    that fits may not once ``.npz`` is appended)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _ask(path: Path, question: str, verb: str) -> bool:
    """``path.is_dir()`` or ``path.exists()`` (``question``), with the system's refusal of
    the name itself (too long) as an ``OSError`` that says what could not be done (``verb``),
    not one from deep in ``pathlib``."""
    try:
        return getattr(path, question)()
    except OSError as e:
        fix = _npz.refused_fix(e)
        raise OSError(
            e.errno, f"cannot {verb} {path}: {e.strerror or e}. {fix[0].upper()}{fix[1:]}."
        ) from None


def _refuse_loop(path: Path, verb: str) -> None:
    """``OSError`` (ELOOP) where ``path`` is a symbolic link in a loop: to load, it is no
    missing file; to save, writing would replace the link by a file."""
    loop = _npz.looping(path)
    if loop is not None:
        raise OSError(
            errno.ELOOP,
            f"cannot {verb} {path}: it is {loop.strerror} (it never leads to a file). "
            "Remove it or choose another path.",
        )


def _read(reader: _npz.Reader) -> SweepResult:
    """The result in an open archive, every part checked before the next is read."""
    stored = {
        name[: -len(".npy")]
        for name in reader.member_names()
        if name.startswith(_PREFIX) and name.endswith(".npy")
    }
    reader.expect_members({*_DATA, *_COORD.values(), "metadata", *stored})
    meta_text = reader.array("metadata", kinds="U", max_ndim=0)
    try:
        meta = json.loads(str(meta_text[()]))
    except (ValueError, RecursionError) as e:
        # RecursionError: JSON nested deeper than Python's stack, which save never writes.
        raise _npz.Invalid(f"its metadata is not JSON ({type(e).__name__}: {e})") from None
    dims, function, optimizers, schedule, names, legacy = _metadata(meta)
    declared = {_PREFIX + n for n in names}
    _npz.refuse_entries(
        {f"{n}.npy" for n in declared - stored},
        {f"{n}.npy" for n in stored - declared},
        " (not in metadata 'coords')",
    )
    arrays = {}
    lengths = {"optimizer": len(optimizers)}
    for dim in (*DIMS, *names):
        key = _COORD.get(dim, _PREFIX + dim)
        kinds = "iu" if dim in ("epochs", "coord") else "f" if dim in DIMS else "iuf"
        # The starts of d-dimensional runs are points: one more axis, of length d.
        point = int(dim == "start" and "coord" in names)
        arrays[key] = reader.array(key, kinds=kinds, max_ndim=1 + point)
        if arrays[key].ndim != (1 if dim in dims else 0) + point:
            raise _npz.Invalid(
                _coord_rank_problem(dim, key, dims, arrays[key].shape, point=bool(point))
            )
        if dim in dims:
            lengths[dim] = arrays[key].shape[0]
    shape = tuple(lengths[d] for d in dims)
    value_shape = tuple(lengths[d] for d in dims if d != "coord")
    for name in _DATA:
        kinds = "b" if name == "diverged" else "f"
        arrays[name] = reader.array(
            name, kinds=kinds, shape=shape if name == "final" else value_shape
        )
    problem = _contents_problem(arrays, dims, function, optimizers, legacy=legacy)
    if problem:
        raise _npz.Invalid(problem)
    arrays["diverged"] = arrays["diverged"] | ~np.isfinite(arrays["value"])
    if meta.get("dtype", str(arrays["final"].dtype)) != str(arrays["final"].dtype):
        raise _npz.Invalid(
            f"its metadata says dtype {meta['dtype']!r} but final is {arrays['final'].dtype}"
        )
    coords = {n: arrays.pop(_PREFIX + n) for n in names}
    # Files from before results recorded their math were all computed with XLA's.
    return SweepResult(
        **arrays,
        dims=dims,
        function=function,
        math=_math(meta),
        coords=coords,
        optimizers=optimizers,
        schedule=schedule,
    )


def _merge(where: str, indexers: Mapping[str, Any] | None, more: dict[str, Any]) -> dict:
    """The indexers given as a dict and as keywords, one per axis."""
    if indexers is None:
        return more
    if not isinstance(indexers, Mapping):
        raise TypeError(
            f"{where}: indexers must be a dict {{axis name: index}}; got "
            f"{type(indexers).__name__}. Or pass them by name: {where}(start=...)."
        )
    both = sorted(set(indexers) & set(more), key=str)
    if both:
        raise TypeError(f"{where}: axis {both[0]!r} is given both in the dict and by keyword.")
    return {**indexers, **more}


def _math(meta: dict) -> str:
    math = meta.get("math", "xla")
    if math not in MATHS:
        raise _npz.Invalid(f"metadata 'math' is {math!r}; expected one of {list(MATHS)}")
    return math


def _metadata(
    meta: Any,
) -> tuple[tuple[str, ...], str, tuple[str, ...], str, tuple[str, ...], bool]:
    """``dims``, ``function``, ``optimizers``, ``schedule``, the names of ``coords`` and
    whether the file is of format 1, from a file's metadata, after checking their types."""
    if not isinstance(meta, dict):
        raise _npz.Invalid(f"its metadata is a JSON {type(meta).__name__}, not an object")
    legacy = meta.get("format") == _FORMAT_1
    if meta.get("format") != _FORMAT and not legacy:
        tag = meta.get("format")
        head, _, version = tag.rpartition("/") if isinstance(tag, str) else ("", "", "")
        ours, _, latest = _FORMAT.rpartition("/")
        newer = head == ours and version.isdigit() and int(version) > int(latest)
        raise _npz.Invalid(
            f"its format tag is {tag!r}; this version of jaxgd reads {_FORMAT!r} and "
            f"{_FORMAT_1!r}"
            + (
                ". A newer jaxgd wrote it: upgrade jaxgd (pip install -U jaxgd) to read it"
                if newer
                else ", which SweepResult.save writes"
            )
        )
    required = ("dims", "function") if legacy else ("dims", "function", *_META_2)
    types = (
        ("dims", list),
        ("function", str),
        ("dtype", str),
        ("jax_version", str),
        ("optimizers", list),
        ("schedule", str),
        ("coords", list),
    )
    for key, kind in types:
        if key in required and key not in meta:
            raise _npz.Invalid(f"its metadata has no {key!r} entry")
        if key in meta and not isinstance(meta[key], kind):
            raise _npz.Invalid(
                f"metadata {key!r} is {_a(type(meta[key]).__name__)}, expected {_a(kind.__name__)}"
            )
    if legacy:
        unknown = sorted(k for k in _META_2 if k in meta)
        if unknown:
            raise _npz.Invalid(f"its metadata has {unknown[0]!r}, which format 1 files lack")
    dims = meta["dims"]
    if not all(isinstance(d, str) for d in dims):
        raise _npz.Invalid(f"metadata 'dims' must list axis names; got {dims!r}")
    names = meta.get("coords", [])
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise _npz.Invalid(f"metadata 'coords' must list distinct axis names; got {names!r}")
    problem = _dims_problem(tuple(dims), None if legacy else dict.fromkeys(names))
    if problem:
        raise _npz.Invalid(f"metadata 'dims': {problem}")
    optimizers = meta.get("optimizers", [])
    problem = _optimizers_problem(tuple(optimizers), tuple(dims))
    if problem:
        raise _npz.Invalid(f"metadata 'optimizers': {problem}")
    schedule = meta.get("schedule", "")
    return tuple(dims), meta["function"], tuple(optimizers), schedule, tuple(names), legacy


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: 'an int', 'a str'."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _dims_problem(dims: tuple, coords: Mapping[str, Any] | None = None) -> str:
    """What is wrong with ``dims`` (and the names in ``coords``) ('' when nothing).

    ``coords=None`` checks a plain result's axes (files of format 1): only :data:`DIMS`.
    """
    if not all(isinstance(d, str) for d in dims):
        return f"axis names must be strings; got {list(dims)!r}"
    if len(set(dims)) != len(dims):
        return f"axis names repeat in {list(dims)}"
    names = () if coords is None else tuple(coords)
    for name in names:
        if not isinstance(name, str) or name in (*DIMS, "optimizer"):
            return (
                f"coords holds {name!r}; it holds the coordinates of hyperparameter axes, "
                "'param' and 'coord' only (the others are fields of their own)"
            )
        if not (name.isidentifier() or name in RESERVED):
            return f"coords holds {name!r}; an axis name must be a Python identifier"
    for d in dims:
        if d in DIMS:
            continue
        if coords is None:
            return f"unknown axis name {d!r}; the axes are a subset of {list(DIMS)}"
        if d == "optimizer" or d in names:
            continue
        if d in RESERVED:
            return f"axis {d!r} has no coordinate; pass coords={{{d!r}: ...}}"
        if not d.isidentifier():
            return (
                f"unknown axis name {d!r}; a hyperparameter axis is named by a Python "
                f"identifier other than {list(RESERVED)}"
            )
        return (
            f"unknown axis name {d!r}: it is not one of {list(RESERVED)}, and as a "
            f"hyperparameter axis it needs its values: coords={{{d!r}: ...}}"
        )
    ranks = [_rank(d) for d in dims]
    if ranks != sorted(ranks):
        return (
            f"axes out of order in {list(dims)}; the order is 'optimizer', hyperparameter "
            "keys, 'param', then 'start'/'learning_rate'/'epochs' (any order), 'coord' last"
        )
    return ""


def _rank(dim: str) -> int:
    """Where an axis goes in ``dims``: the three of a plain sweep share one place."""
    if dim == "optimizer":
        return 0
    if dim == "param":
        return 2
    if dim in DIMS:
        return 3
    if dim == "coord":
        return 4
    return 1


def _optimizers_problem(optimizers: tuple, dims: tuple) -> str:
    """What is wrong with ``optimizers`` for a result of axes ``dims`` ('' when nothing)."""
    for name in optimizers:
        if not isinstance(name, str) or not name:
            return f"each name must be a non-empty str; got {name!r} in {list(optimizers)!r}"
    if "optimizer" not in dims and len(optimizers) > 1:
        return (
            f"{len(optimizers)} names {list(optimizers)} but no 'optimizer' axis in dims; "
            "without that axis it names the one optimiser (a 1-tuple) or none (())"
        )
    return ""


def _describe_scalar(x: Any) -> str:
    if isinstance(x, jax.core.Tracer):
        return "traced"
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return "spread over processes"
    if type(x) in (int, float):  # a hand-made result's (np.float64 is a float: not here)
        return _number(x, np.dtype(type(x)))
    is_array = isinstance(x, (np.ndarray, np.generic, jax.Array))
    # Real numbers, bfloat16 (a float NumPy sees as raw bytes) included.
    if not (is_array and (x.dtype.kind in "iuf" or jnp.issubdtype(x.dtype, jnp.floating))):
        return type(x).__name__
    if x.ndim == 0:
        return _number(x.item(), x.dtype)
    if x.ndim == 1 and x.size:  # a point: its coordinates, the middle ones cut when many
        values = [_number(v, x.dtype) for v in np.asarray(x).tolist()]
        if len(values) > 8:
            values = [*values[:3], "...", values[-1]]
            return f"({', '.join(values)}; {x.size} coordinates)"
        return f"({', '.join(values)})"
    return type(x).__name__


def _number(v: float, dtype: np.dtype) -> str:
    """A coordinate as short as it can be shown and still be the same number of its dtype
    (``0.1`` and ``2`` for float32, but ``1.2857143``, which ``:g`` would cut to a number
    ``sel`` cannot find); whole numbers in full."""
    if dtype.kind in "iu":
        return str(int(v))
    short = f"{v:g}"
    with contextlib.suppress(OverflowError, ValueError, TypeError):
        if dtype.type(float(short)) == dtype.type(v):
            return short
    return _indexing._shown(v, dtype)


def _coord_rank_problem(
    dim: str, name: str, dims: Sequence[str], shape: tuple, *, point: bool = False
) -> str:
    if point:
        want = "2-D (start, d)" if dim in dims else "1-D (d,)"
        return (
            f"{name} must be {want}: the starts of a d-dimensional result are points, and the "
            f"{dim!r} axis is {'' if dim in dims else 'not '}in dims {list(dims)}; got shape "
            f"{shape}"
        )
    if dim in dims:
        return f"{name} must be 1-D (the {dim!r} axis is in dims {list(dims)}); got shape {shape}"
    return (
        f"{name} must be a scalar (the {dim!r} axis is not in dims {list(dims)}); got shape {shape}"
    )


def _contents_problem(
    arrays: dict[str, np.ndarray],
    dims: tuple,
    function: Any,
    optimizers: tuple = (),
    *,
    legacy: bool = False,
) -> str:
    """The first thing wrong with a result's arrays (as :meth:`SweepResult.as_dict` gives
    them, without ``optimizers``), as a phrase ('' when nothing).

    ``legacy=True`` (reading a file) also accepts the rule of files written before a
    non-finite value counted as divergence; :func:`load` then applies today's rule.
    """
    names = [k[len(_PREFIX) :] for k in arrays if k.startswith(_PREFIX)]
    problem = _dims_problem(dims, dict.fromkeys(names))
    if problem:
        return f"dims: {problem}"
    if not isinstance(function, str):
        return f"function must be a str; got {type(function).__name__}"
    problem = _optimizers_problem(optimizers, dims)
    if problem:
        return f"optimizers: {problem}"
    final = arrays["final"]
    problem = _unstorable(arrays)
    if problem:
        return problem
    for name in ("final", "value", "starts", "learning_rates"):
        if arrays[name].dtype.kind != "f":
            return f"{name} has dtype {arrays[name].dtype}; it must be real floating point"
    if arrays["epochs"].dtype.kind not in "iu":
        return f"epochs has dtype {arrays['epochs'].dtype}; epoch counts must be integers"
    if arrays["diverged"].dtype != np.bool_:
        return f"diverged has dtype {arrays['diverged'].dtype}; it must be bool"
    for name in names:
        c, key = arrays[_PREFIX + name], _PREFIX + name
        if name == "coord" and c.dtype.kind not in "iu":
            return f"{key} has dtype {c.dtype}; the positions of a coordinate are integers"
        if c.dtype.kind not in "iuf":
            return f"{key} has dtype {c.dtype}; it must be real numbers"
    if final.ndim != len(dims):
        return f"final has {final.ndim} axes (shape {final.shape}) but dims names {list(dims)}"
    value_shape = tuple(n for d, n in zip(dims, final.shape, strict=True) if d != "coord")
    for name in ("value", "diverged"):
        if arrays[name].shape != value_shape:
            return (
                f"{name} has shape {arrays[name].shape}; final {final.shape} with dims "
                f"{list(dims)} needs {value_shape} (every axis but 'coord')"
            )
    # One float type in two byte orders is one type (load gives both native).
    if arrays["value"].dtype.newbyteorder("=") != final.dtype.newbyteorder("="):
        return f"value is {arrays['value'].dtype} but final is {final.dtype}; they must match"
    if "optimizer" in dims:
        n = final.shape[dims.index("optimizer")]
        if len(optimizers) != n:
            return (
                f"the 'optimizer' axis of final has length {n} but optimizers names "
                f"{len(optimizers)}: {list(optimizers)}"
            )
    point = "coord" in names
    for dim in (*DIMS, *names):
        name = _COORD.get(dim, _PREFIX + dim)
        c = arrays[name]
        # The starts of d-dimensional runs are points: one more axis, of length d >= 1.
        tail = c.shape[-1:] if dim == "start" and point else ()
        if dim == "start" and point and (c.ndim != ("start" in dims) + 1 or tail == (0,)):
            return _coord_rank_problem(dim, name, dims, c.shape, point=True)
        if dim in dims:
            n = final.shape[dims.index(dim)]
            if c.shape != (n, *tail):
                return f"{name} has shape {c.shape} but the {dim!r} axis of final has length {n}"
        elif c.ndim != len(tail):
            return _coord_rank_problem(dim, name, dims, c.shape)
        if c.dtype.kind == "f" and not np.isfinite(c).all():
            return f"{name} holds non-finite values; coordinates must be finite"
        if dim in ("learning_rate", "epochs", "coord") and (c < 0).any():
            return f"{name} holds negative values; {dim.replace('_', ' ')} values are >= 0"
    # A cell is diverged when its position or its value is not finite. Files from jaxgd
    # before that rule flagged a non-finite position only, so when reading one a finite
    # position with a non-finite value may go either way; everything else must agree.
    if point:
        d = arrays["starts"].shape[-1]
        if (arrays[_PREFIX + "coord"] >= d).any():
            return (
                f"coords.coord holds positions past the starts' {d} coordinates; a coordinate "
                f"of a point in {d} dimensions is 0 to {d - 1}"
            )
    bad = ~np.isfinite(final)
    if "coord" in dims:
        bad = bad.any(axis=dims.index("coord"))
    may = bad | ~np.isfinite(arrays["value"])
    must = bad if legacy else may
    if point and not ("coord" in dims and set(arrays[_PREFIX + "coord"].tolist()) == set(range(d))):
        # Some coordinates of each position are no longer here (selected away): a run may
        # have diverged in one of them.
        may = np.ones_like(may)
    diverged = arrays["diverged"]
    wrong = int(np.count_nonzero((must & ~diverged) | (diverged & ~may)))
    if wrong:
        return (
            f"diverged disagrees with final/value in {wrong} of {diverged.size} cells (a cell "
            "is diverged where its final position or its value is not finite, and only there)"
        )
    return ""


def _unstorable(arrays: dict[str, np.ndarray]) -> str:
    """The first array of a float type NumPy lacks (bfloat16, the float8 types: JAX's own,
    which NumPy sees as raw bytes and an .npz stores as such) as a phrase ('' when none)."""
    for name, a in arrays.items():
        if a.dtype.kind == "V" and jnp.issubdtype(a.dtype, jnp.floating):
            return (
                f"{name} has dtype {a.dtype}, which an .npz file cannot hold (NumPy's format "
                "has no such type); convert the result to float32 first, e.g. "
                "jax.tree.map(lambda a: a.astype('float32') if a.dtype == 'bfloat16' else a, "
                "result)"
            )
    return ""


def _describe_diverged(diverged: Any) -> str:
    if isinstance(diverged, jax.core.Tracer):
        return "traced"
    if isinstance(diverged, jax.Array) and not diverged.is_fully_addressable:
        return "diverged: spread over processes"
    if isinstance(diverged, (np.ndarray, np.generic, jax.Array)) and diverged.dtype == np.bool_:
        return f"diverged {int(np.count_nonzero(np.asarray(diverged)))} of {diverged.size}"
    return f"diverged: {type(diverged).__name__}"
