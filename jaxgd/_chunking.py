"""Splitting a sweep along the start axis so each compiled call fits a memory budget.

A call on S starts, L rates and E epoch counts holds, on each device:

- two snapshot buffers, of ``final`` and ``value``, ``(E + 1)`` rows of the S * L lanes
  (padded to a multiple of 64, see ``jaxgd.sweep.LANE_ROW``);
- the result: ``final`` and ``value`` of shape (S, L, E), and the boolean ``diverged``;
- a few arrays of the lanes (positions, rates, a gradient).

That is about ``S * L * E * (4 * itemsize + 1)`` bytes, linear in each of S, L and E and
independent of the epoch counts themselves (the descent is a loop, not a stored trajectory).
While a chunk runs, the previous chunk's result waits to be copied to the host, so the budget
is held against ``S * L * E * (6 * itemsize + 2)`` plus the padding: :func:`call_bytes`.

Starts are independent runs, so the start axis is the one to split: every chunk has the same
shape (the last is padded with copies of the last start), one compiled function serves them
all, and each row is computed exactly as in a single call.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import jax
import numpy as np

__all__ = [
    "CPU_BUDGET",
    "SMALL_CALL",
    "Plan",
    "bytes_per_start",
    "call_bytes",
    "default_budget",
    "plan",
    "result_bytes",
    "run_chunks",
]

#: Working memory for one call on a CPU (where device memory is host memory, shared with
#: everything else on the machine), unless ``memory_budget`` says otherwise.
CPU_BUDGET = 1 << 30

#: A call this small runs in one piece on any device, without asking how much memory is free.
SMALL_CALL = 16 << 20


@dataclass(frozen=True)
class Plan:
    """How a sweep is cut: ``calls`` compiled calls of ``per_call`` starts each."""

    per_call: int
    calls: int


def bytes_per_start(n_rates: int, n_epochs: int, itemsize: int) -> int:
    """Device memory each start adds to a chunked call (see the module docstring)."""
    per_lane = (2 * (n_epochs + 1) + 4) * itemsize + 2 * n_epochs * (2 * itemsize + 1)
    return n_rates * per_lane


def call_bytes(n_starts: int, n_rates: int, n_epochs: int, itemsize: int) -> int:
    """An upper bound on the device memory of a chunked call over ``n_starts`` starts.

    Per start, :func:`bytes_per_start`; per call, up to 63 padding lanes and a little fixed
    space for the epoch bookkeeping.
    """
    padding = 64 * (2 * (n_epochs + 1) + 4) * itemsize + (64 << 10)
    return n_starts * bytes_per_start(n_rates, n_epochs, itemsize) + padding


def result_bytes(n_starts: int, n_rates: int, n_epochs: int, itemsize: int) -> int:
    """Size of a finished result: ``final`` and ``value`` plus the boolean ``diverged``."""
    return n_starts * n_rates * n_epochs * (2 * itemsize + 1)


def default_budget(device: jax.Device) -> int:
    """Half the free memory of an accelerator; :data:`CPU_BUDGET` where JAX reports none."""
    try:
        stats = device.memory_stats()
    except Exception:  # some backends raise instead of returning None
        stats = None
    if stats and "bytes_limit" in stats:
        return max(1, (stats["bytes_limit"] - stats.get("bytes_in_use", 0)) // 2)
    return CPU_BUDGET


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int or None; got {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}. Pass None to choose automatically.")
    return int(value)


def plan(
    *,
    n_starts: int,
    n_rates: int,
    n_epochs: int,
    dtype: np.dtype,
    n_devices: int,
    chunk_size: int | None,
    memory_budget: int | None,
    device: jax.Device,
) -> Plan:
    """Starts per call (a multiple of ``n_devices``) and the number of calls.

    An explicit ``chunk_size`` wins; otherwise each device gets as many starts per call as fit
    in the budget, and the calls are evened out so padding wastes at most a few rows.
    """
    if chunk_size is not None:
        chunk_size = _check_positive_int("chunk_size", chunk_size)
    if memory_budget is not None:
        memory_budget = _check_positive_int("memory_budget", memory_budget)
    per_device_all = math.ceil(n_starts / n_devices)
    if chunk_size is not None:
        rows = min(math.ceil(chunk_size / n_devices), per_device_all)
    else:
        budget = memory_budget if memory_budget is not None else default_budget(device)
        itemsize = np.dtype(dtype).itemsize
        spare = budget - call_bytes(0, n_rates, n_epochs, itemsize)
        fits = spare // bytes_per_start(n_rates, n_epochs, itemsize)
        rows = max(1, min(fits, per_device_all))
    calls = math.ceil(per_device_all / rows)
    # Even out the calls: 1001 starts in rows of 500 become 3 calls of 334, not 500+500+1.
    rows = math.ceil(per_device_all / calls)
    return Plan(per_call=rows * n_devices, calls=calls)


def pad_rows(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` extended to length ``n`` with copies of its last entry (real, finite starts)."""
    return x if x.shape[0] == n else np.pad(x, (0, n - x.shape[0]), mode="edge")


def available_host_memory() -> int | None:
    """Bytes the OS says can still be allocated without swapping, or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def run_chunks(
    compute: Callable[[np.ndarray], tuple[jax.Array, ...]],
    starts: np.ndarray,
    plan: Plan,
    *,
    n_rates: int,
    n_epochs: int,
    dtype: np.dtype,
    progress: bool | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``compute`` on each chunk of ``starts`` and assemble ``final, value, diverged``.

    The result lives in host memory. The next chunk is dispatched before the previous one is
    copied back, so the device computes while the host copies.
    """
    n = starts.shape[0]
    dtype = np.dtype(dtype)
    need = result_bytes(n, n_rates, n_epochs, dtype.itemsize)
    free = available_host_memory()
    if free is not None and need > free:
        raise MemoryError(
            f"the result of this sweep ({n} x {n_rates} x {n_epochs} cells) needs "
            f"{need / 2**30:.1f} GiB of host memory and {free / 2**30:.1f} GiB is available. "
            "Sweep fewer starts at a time and save each part, or split the starts across "
            "machines with jaxgd.distributed.sweep(..., gather=False)."
        )
    shape = (n, n_rates, n_epochs)
    outs = (np.empty(shape, dtype), np.empty(shape, dtype), np.empty(shape, np.bool_))
    bar = _progress_bar(progress, n)
    padded = pad_rows(starts, plan.per_call * plan.calls)
    pending: tuple[int, tuple[jax.Array, ...]] | None = None
    try:
        for c in range(plan.calls + 1):
            running = None
            if c < plan.calls:
                lo = c * plan.per_call
                running = (lo, compute(padded[lo : lo + plan.per_call]))
            if pending is not None:
                lo, arrays = pending
                hi = min(lo + plan.per_call, n)
                for out, a in zip(outs, arrays, strict=True):
                    out[lo:hi] = np.asarray(a)[: hi - lo]
                if bar is not None:
                    bar.update(hi - lo)
            pending = running
    finally:
        if bar is not None:
            bar.close()
    return outs


def _progress_bar(progress: bool | None, total: int):
    if progress is False:
        return None
    from tqdm import tqdm  # imported only where a bar may be shown

    # progress=None: tqdm's own rule (no bar unless stderr is a terminal) and a delay, so
    # short runs never flash a bar.
    return tqdm(
        total=total,
        unit="start",
        desc="jaxgd.sweep",
        disable=None if progress is None else False,
        delay=0 if progress else 1.0,
        leave=bool(progress),
    )
