"""Sweeps split across processes (hosts) on JAX's own multi-process runtime.

Every process runs the same script. After :func:`initialize`, :func:`sweep` gives each process a
contiguous share of the starts, which it computes on its own devices with :func:`jaxgd.sweep`
(split over those devices and chunked to fit memory as usual). Descent never mixes starts, so
processes exchange nothing while they compute; only the finished shares travel, when the
result is assembled (``gather=True``, or :func:`gather` later). Launching on a cluster:
``docs/scaling.md``.

Without :func:`initialize` there is one process and these functions equal :func:`jaxgd.sweep`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jaxgd._chunking import pad_rows
from jaxgd._validate import as_epochs, as_float_axis, default_float, is_concrete
from jaxgd.result import DIMS, SweepResult
from jaxgd.sweep import sweep as _local_sweep

__all__ = ["gather", "initialize", "share", "sweep"]


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    **kwargs: Any,
) -> None:
    """Join this process to a multi-process JAX run: ``jax.distributed.initialize``, CPU-ready.

    CPU processes exchange results through a collectives library; this selects Gloo (bundled
    with jaxlib) unless another one is configured, then calls ``jax.distributed.initialize``
    with the same arguments. Call it first thing, before any JAX computation. On a cluster that
    JAX recognises (SLURM, Open MPI, Kubernetes, Cloud TPU) the arguments may be omitted.

    Args:
        coordinator_address: ``host:port`` of process 0, reachable from every process.
        num_processes: how many processes take part.
        process_id: this process's index, ``0 <= process_id < num_processes``.
        **kwargs: passed on to ``jax.distributed.initialize`` (e.g. ``initialization_timeout``,
            ``local_device_ids``).

    Example:
        On each of two machines (``process_id`` 0 and 1)::

            import jaxgd.distributed
            jaxgd.distributed.initialize("10.0.0.1:1234", num_processes=2, process_id=0)
            res = jaxgd.distributed.sweep(f, starts, rates, epochs)  # full result on both
    """
    if jax.config.jax_cpu_collectives_implementation in (None, "", "none"):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address, num_processes, process_id, **kwargs)


def share(
    n_starts: int, *, process_index: int | None = None, process_count: int | None = None
) -> slice:
    """The starts a process computes: block ``process_index`` of ``ceil(S / processes)``.

    Args:
        n_starts: the number of starts S.
        process_index: which process; default this one (``jax.process_index()``).
        process_count: how many processes; default ``jax.process_count()``.

    Returns:
        A slice of the start axis; the last processes' slices may be shorter, or empty.

    Example:
        >>> import jaxgd.distributed
        >>> [jaxgd.distributed.share(10, process_index=i, process_count=3) for i in range(3)]
        [slice(0, 4, None), slice(4, 8, None), slice(8, 10, None)]
    """
    count = jax.process_count() if process_count is None else process_count
    index = jax.process_index() if process_index is None else process_index
    if not 0 <= index < count:
        raise ValueError(f"process_index must be in [0, {count}); got {index}.")
    per = math.ceil(n_starts / count)
    return slice(min(index * per, n_starts), min((index + 1) * per, n_starts))


def sweep(
    f: Callable[[jax.Array], jax.Array],
    starts: float | jax.Array | np.ndarray,
    learning_rates: float | jax.Array | np.ndarray,
    epochs: int | jax.Array | np.ndarray,
    *,
    gather: bool = True,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """:func:`jaxgd.sweep` with the start axis split across all processes of the run.

    Every process must call it with the same arguments. Each computes its :func:`share` of the
    starts on its local devices; with ``gather=True`` the shares are then exchanged and every
    process returns the full result, equal to a single-process ``jaxgd.sweep``.

    Args:
        f, starts, learning_rates, epochs: as for :func:`jaxgd.sweep`.
        gather: True: return the full result on every process. False: return only this
            process's share (its ``starts`` coordinate says which), for results too large for
            one host; each process can then save its own part, or call :func:`gather` later.
        chunk_size, memory_budget, progress: as for :func:`jaxgd.sweep`, per process.

    Returns:
        A :class:`~jaxgd.SweepResult` of NumPy arrays: the full ``(S, L, E)`` result, or this
        process's ``(share, L, E)`` part.

    Example:
        >>> import jax.numpy as jnp
        >>> import jaxgd, jaxgd.distributed
        >>> res = jaxgd.distributed.sweep(jnp.cos, [0.5, 2.0, 3.0], [0.1, 0.5], [0, 10, 100])
        >>> res.shape  # one process here: the whole sweep
        (3, 2, 3)
        >>> bool((res.final == jaxgd.sweep(jnp.cos, [0.5, 2.0, 3.0], [0.1, 0.5],
        ...                                [0, 10, 100]).final).all())
        True
    """
    if not all(is_concrete(a) for a in (starts, learning_rates, epochs)):
        raise ValueError(
            "jaxgd.distributed.sweep needs concrete inputs; it is being traced (inside jax.jit, "
            "vmap or grad). Call it outside the transformation: it compiles its own calls."
        )
    dtype = default_float()
    starts = as_float_axis("starts", starts, dtype)
    learning_rates = as_float_axis("learning_rates", learning_rates, dtype, nonnegative=True)
    epochs = as_epochs("epochs", epochs)
    mine = share(starts.shape[0])
    per = math.ceil(starts.shape[0] / jax.process_count())
    # Every process computes `per` rows, so the shares have one shape when they are exchanged;
    # a short or empty share is padded with copies of a real start, and the copies dropped.
    block = starts[mine] if mine.stop > mine.start else starts[-1:]
    res = _local_sweep(
        f,
        pad_rows(block, per),
        learning_rates,
        epochs,
        chunk_size=chunk_size,
        memory_budget=memory_budget,
        progress=progress,
    ).to_numpy()
    if gather:
        outs = _allgather_rows((res.final, res.value, res.diverged), starts.shape[0])
        return SweepResult(*outs, starts, learning_rates, epochs, function=res.function)
    n_mine = mine.stop - mine.start
    return SweepResult(
        res.final[:n_mine],
        res.value[:n_mine],
        res.diverged[:n_mine],
        starts[mine],
        learning_rates,
        epochs,
        function=res.function,
    )


def gather(part: SweepResult) -> SweepResult:
    """Assemble the full result from every process's share, on every process.

    A collective: every process must call it, each with its own share from
    ``sweep(..., gather=False)`` (or any start-axis pieces that follow the process order).

    Args:
        part: this process's share, with all three axes.

    Returns:
        The full result, NumPy arrays, the same on every process.
    """
    if tuple(part.dims) != DIMS:
        raise ValueError(
            f"gather needs a share with all of {list(DIMS)} as axes; got {list(part.dims)}. "
            "Gather before selecting with sel/isel/squeeze."
        )
    part = part.to_numpy()
    if jax.process_count() == 1:
        return part
    sizes = _allgather(np.array([part.final.shape[0]], np.int32))
    per = int(sizes.max())
    rows = [np.asarray(a) for a in (part.final, part.value, part.diverged, part.starts)]
    blocks = _allgather(tuple(_pad_to(a, per) for a in rows))
    pieces = [
        np.concatenate([b[i * per : i * per + n] for i, n in enumerate(sizes)]) for b in blocks
    ]
    return SweepResult(*pieces, part.learning_rates, part.epochs, function=part.function)


def _pad_to(a: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([a, np.zeros((n - a.shape[0], *a.shape[1:]), a.dtype)])


def _allgather_rows(arrays: tuple[np.ndarray, ...], n: int) -> tuple[np.ndarray, ...]:
    """Equal-shaped row blocks from every process, concatenated in process order, cut to n."""
    if jax.process_count() == 1:
        return tuple(a[:n] for a in arrays)
    return tuple(a[:n] for a in _allgather(arrays))


def _allgather(tree):
    from jax.experimental import multihost_utils

    return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))
