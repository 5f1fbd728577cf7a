"""`SweepResult`: the [start x learning rate x epochs] tensor of a sweep, with its coordinates."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import jax
import numpy as np

__all__ = ["DIMS", "SweepResult", "load"]

#: Axis names of a sweep, in order, and the coordinate attribute of each.
DIMS: tuple[str, ...] = ("start", "learning_rate", "epochs")
_COORD = {"start": "starts", "learning_rate": "learning_rates", "epochs": "epochs"}
_DATA = ("final", "value", "diverged")
_FORMAT = "jaxgd.SweepResult/1"


def function_name(f: Callable) -> str:
    """A readable name for ``f`` to keep with its results (``module:qualname`` when known)."""
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)
    module = getattr(f, "__module__", None)
    return f"{module}:{name}" if module else name


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """Where gradient descent ended, for every (start, learning rate, epoch count).

    A JAX pytree: it can be returned from ``jax.jit``, mapped with ``jax.tree.map`` and saved
    without extra bookkeeping. The data arrays share the axes named in ``dims``, by default
    ``("start", "learning_rate", "epochs")``; each axis carries its coordinate.

    Attributes:
        final: x after that many epochs from that start at that rate.
        value: ``f(final)``.
        diverged: True where the run is no longer finite (it overflowed).
        starts: the start of each index on the ``start`` axis.
        learning_rates: the rate of each index on the ``learning_rate`` axis.
        epochs: the epoch count of each index on the ``epochs`` axis.
        dims: the names of the data axes, in order. :meth:`sel`, :meth:`isel` and
            :meth:`squeeze` drop axes; a dropped axis keeps its coordinate as a scalar.
        function: the name of the function that was descended (for records).

    Example:
        >>> import jax.numpy as jnp
        >>> import jaxgd
        >>> res = jaxgd.sweep(jnp.cos, [0.5, 2.0, 3.0], [0.1, 0.5], [0, 10, 100])
        >>> res
        SweepResult(start: 3, learning_rate: 2, epochs: 3; float32; diverged 0 of 18; f=...cos)
        >>> res.sel(learning_rate=0.5, epochs=100).final.round(4)
        Array([3.1416, 3.1416, 3.1416], dtype=float32)
        >>> res.isel(start=0).squeeze().dims
        ('learning_rate', 'epochs')
    """

    final: jax.Array
    value: jax.Array
    diverged: jax.Array
    starts: jax.Array
    learning_rates: jax.Array
    epochs: jax.Array
    dims: tuple[str, ...] = DIMS
    function: str = ""

    # -- shape ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``final``, one entry per name in ``dims``."""
        return tuple(self.final.shape)

    @property
    def sizes(self) -> dict[str, int]:
        """Length of each axis, by name."""
        return dict(zip(self.dims, self.shape, strict=False))

    def coord(self, dim: str) -> jax.Array:
        """The coordinate of axis ``dim`` ("start", "learning_rate" or "epochs")."""
        return getattr(self, _COORD[self._check_dim(dim, "coord")])

    def __repr__(self) -> str:
        axes = ", ".join(f"{d}: {n}" for d, n in zip(self.dims, self.shape, strict=False))
        dtype = getattr(self.final, "dtype", "?")
        try:
            n_div = int(np.sum(np.asarray(self.diverged)))
            div = f"diverged {n_div} of {int(np.size(self.diverged))}"
        except (
            TypeError,
            jax.errors.ConcretizationTypeError,
            jax.errors.TracerArrayConversionError,
        ):
            div = "traced"
        fn = f"; f={self.function}" if self.function else ""
        return f"SweepResult({axes or 'scalar'}; {dtype}; {div}{fn})"

    # -- selection -----------------------------------------------------------------------
    def isel(self, **indexers: int | slice | Sequence[int] | np.ndarray) -> SweepResult:
        """Select by position along named axes: ``res.isel(start=0, epochs=slice(-5, None))``.

        An int drops that axis (its coordinate becomes a scalar); a slice or a list keeps it.
        """
        out = self
        for dim, index in indexers.items():
            out = out._take(out._check_dim(dim, "isel"), index)
        return out

    def sel(
        self,
        *,
        method: Literal["exact", "nearest"] = "exact",
        **coords: float | Sequence[float] | np.ndarray | jax.Array,
    ) -> SweepResult:
        """Select by coordinate value: ``res.sel(start=0.0, learning_rate=0.01, epochs=500)``.

        A scalar drops that axis; a list keeps it. With ``method="exact"`` (the default) each
        value must be on the axis (to float32 rounding), so a typo raises instead of silently
        picking a neighbour; ``method="nearest"`` picks the closest coordinate.
        """
        if method not in ("exact", "nearest"):
            raise ValueError(f"method must be 'exact' or 'nearest'; got {method!r}.")
        out = self
        for dim, wanted in coords.items():
            dim = out._check_dim(dim, "sel")
            axis = np.asarray(out.coord(dim), dtype=np.float64)
            values = np.asarray(wanted, dtype=np.float64)
            idx = np.abs(axis[None, :] - values.reshape(-1, 1)).argmin(axis=1)
            if method == "exact":
                hit = np.isclose(axis[idx], values.reshape(-1), rtol=1e-6, atol=0.0)
                if not hit.all():
                    miss = values.reshape(-1)[~hit][0]
                    raise KeyError(
                        f"{dim}={miss:g} is not a coordinate of this result (nearest: "
                        f"{axis[idx[~hit][0]]:g}); pass method='nearest' to take the closest."
                    )
            out = out._take(dim, int(idx[0]) if values.ndim == 0 else idx)
        return out

    def squeeze(self) -> SweepResult:
        """Drop every axis of length 1 (its coordinate becomes a scalar)."""
        return self.isel(**{d: 0 for d, n in zip(self.dims, self.shape, strict=False) if n == 1})

    def _check_dim(self, dim: str, where: str) -> str:
        if dim not in self.dims:
            raise ValueError(
                f"{where}: no axis named {dim!r}; this result's axes are {list(self.dims)}."
            )
        return dim

    def _take(self, dim: str, index: Any) -> SweepResult:
        if isinstance(index, (list, tuple)):
            index = np.asarray(index)  # JAX indexes with arrays, not lists
        axis = self.dims.index(dim)
        key = (slice(None),) * axis + (index,)
        dims = (
            self.dims
            if not isinstance(index, (int, np.integer))
            else tuple(d for d in self.dims if d != dim)
        )
        changes = {name: getattr(self, name)[key] for name in _DATA}
        changes[_COORD[dim]] = getattr(self, _COORD[dim])[index]
        return dataclasses.replace(self, dims=dims, **changes)

    # -- conversion and storage ----------------------------------------------------------
    def to_numpy(self) -> SweepResult:
        """The same result with every array copied to host NumPy arrays."""
        return jax.tree.map(np.asarray, self)

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays as a flat dict of NumPy arrays (data and coordinates)."""
        return {name: np.asarray(getattr(self, name)) for name in (*_DATA, *_COORD.values())}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result, its coordinates and metadata to an ``.npz`` file; returns its path.

        Read it back with :func:`jaxgd.load` (or ``SweepResult.load``).
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        meta = {
            "format": _FORMAT,
            "dims": list(self.dims),
            "function": self.function,
            "dtype": str(np.asarray(self.final).dtype),
            "jax_version": jax.__version__,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **self.as_dict(), metadata=np.asarray(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SweepResult:
        """Read a result written by :meth:`save`; arrays come back as NumPy arrays."""
        with np.load(Path(path), allow_pickle=False) as data:
            if "metadata" not in data:
                raise ValueError(f"{path} is not a saved SweepResult (no metadata entry).")
            meta = json.loads(str(data["metadata"]))
            if meta.get("format") != _FORMAT:
                raise ValueError(
                    f"{path}: unknown format {meta.get('format')!r}; expected {_FORMAT}."
                )
            arrays = {name: data[name] for name in (*_DATA, *_COORD.values())}
        return cls(**arrays, dims=tuple(meta["dims"]), function=meta["function"])


jax.tree_util.register_dataclass(
    SweepResult,
    data_fields=[*_DATA, *_COORD.values()],
    meta_fields=["dims", "function"],
)


def load(path: str | os.PathLike) -> SweepResult:
    """Read a :class:`SweepResult` written by :meth:`SweepResult.save`."""
    return SweepResult.load(path)
