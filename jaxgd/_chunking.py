"""How a sweep is cut into compiled calls that each fit a memory budget and a work budget.

A sweep's runs are lanes, one per (start, learning rate) pair, laid out in rows of 64 (see
``jaxgd._run.LANE_ROW``). A call on ``n`` lanes and ``G`` epoch counts holds, on each device:

- two snapshot buffers, of positions and values, ``G`` rows of the lanes each: with the
  boolean ``diverged`` (G, n) they are the call's result (the host reorders while copying);
- a few arrays of the lanes (positions, rates, a gradient).

While a call runs, the previous call's result waits to be copied to the host, so the budget
is held against ``n * (G * (4 * itemsize + 2) + 6 * itemsize)`` plus a little fixed space:
:func:`call_bytes`. Memory is linear in lanes and in epoch counts and independent of the
counts themselves (the descent is a loop, not a stored trajectory).

Three axes can be cut, and each cut leaves every bit of the result unchanged:

- lanes: equal chunks of lanes (the last padded with copies of the last lane), so one
  compiled function serves them all and each lane is computed exactly as in a single call;
- epoch counts: when even a few rows of lanes cannot hold every snapshot, the sorted counts
  are taken in groups, and each group's descent continues from where the last one stopped;
- steps: a call advances its lanes by at most ``steps`` gradient steps (a work budget of
  0.15 to 0.2 s on a CPU), so that Ctrl-C is answered within a call's time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import numpy as np

from jaxgd._validate import whole_number

__all__ = [
    "CPU_BUDGET",
    "LANE_ROW",
    "SMALL_CALL",
    "Plan",
    "available_host_memory",
    "bytes_per_lane",
    "call_bytes",
    "check_host_memory",
    "default_budget",
    "pad_rows",
    "plan",
    "plan_lanes",
    "plan_sweep",
    "result_bytes",
    "step_overhead",
    "steps_per_call",
    "work_budget",
]

#: Lanes per row of the (rows, 64) arrays the descent steps (see ``jaxgd._run``).
LANE_ROW = 64

#: Working memory for one call on a CPU (where device memory is host memory, shared with
#: everything else on the machine), unless ``memory_budget`` says otherwise.
CPU_BUDGET = 1 << 30

#: A call this small runs in one piece on any device, without asking how much memory is free.
SMALL_CALL = 16 << 20

#: Lane-steps (lanes times gradient steps) per compiled call. On a CPU, with the vectorised
#: sin/cos of ``jaxgd.fastmath`` (the default there), 2**27 of them take 0.15 to 0.2 s for the
#: notebook's f (~1.3 ns a step on two cores): short enough to answer Ctrl-C quickly, long
#: enough that dispatching calls and allocating their buffers cost nothing measurable. An
#: accelerator steps lanes hundreds of times faster.
CPU_WORK = 1 << 27
ACCELERATOR_WORK = 1 << 32
#: How many times a CPU step with XLA's own sin/cos (scalar libm calls) costs one with
#: ``jaxgd.fastmath``'s: such calls take that many times fewer steps (measured 3.7 to 4.4).
XLA_MATH_COST = 4

#: What one step of a call costs besides its lanes, in lanes: a loop iteration's overhead
#: (about 1 us on a CPU; a few kernel launches, several us, on an accelerator). It bounds
#: the steps of a call over few lanes: 2**17 on a CPU, 2**16 on an accelerator.
CPU_STEP_OVERHEAD = 192
ACCELERATOR_STEP_OVERHEAD = 1 << 16

#: Fewest rows of lanes per call before the epoch counts are cut into groups instead.
MIN_ROWS = 16

_FIXED = 64 << 10  # epoch bookkeeping, scalars: a generous allowance per call


def _ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for whole numbers, exact at any size (``a / b`` is a float: it rounds
    past 2**53 and overflows past about 1e308)."""
    return -(-a // b)


@dataclass(frozen=True)
class Plan:
    """How a sweep is cut.

    Attributes:
        lanes: lanes per call, over all devices (a multiple of 64 per device).
        calls: chunks of lanes.
        group: epoch counts per group (the snapshots one call holds).
        groups: groups of epoch counts.
        steps: gradient steps per call at most (the work budget divided by the lanes).
    """

    lanes: int
    calls: int
    group: int
    groups: int
    steps: int

    def windows(self, span: int) -> int:
        """Calls needed to advance ``span`` steps (and evaluate f at the end)."""
        return max(1, _ceil_div(span + 1, self.steps))


def bytes_per_lane(n_epochs: int, itemsize: int, width: int = 1, carry: int = 0) -> int:
    """Device memory each lane adds to a call holding ``n_epochs`` snapshots.

    ``width``: numbers in one position (1, or d for a point of R^d); ``carry``: numbers of
    state and constants besides (an optimiser's state, hyperparameters, theta).
    """
    fixed, per_epoch = _lane_costs(itemsize, width, carry)
    return fixed + per_epoch * n_epochs


def _lane_costs(itemsize: int, width: int, carry: int) -> tuple[int, int]:
    """Bytes per lane independent of the epoch counts, and bytes per epoch count."""
    # Snapshots of positions and values (G each: they are the call's results, with
    # ``diverged``; the fixed part keeps one more row of each, as slack), the lane's
    # position, gradient and constants; per count, the results twice (the next call's while
    # the last one is copied out).
    fixed = ((width + 1) + 3 * width + 1 + carry) * itemsize
    per_epoch = 2 * ((width + 1) * itemsize + 1)
    return fixed, per_epoch


def call_bytes(
    n_lanes: int, n_epochs: int, itemsize: int, width: int = 1, carry: int = 0, least: int = 0
) -> int:
    """An upper bound on the device memory of a call over ``n_lanes`` lanes (padded to rows,
    at least ``least``)."""
    padded = max(least, -(-n_lanes // LANE_ROW)) * LANE_ROW
    return padded * bytes_per_lane(n_epochs, itemsize, width, carry) + _FIXED


def result_bytes(n_starts: int, n_rates: int, n_epochs: int, itemsize: int, width: int = 1) -> int:
    """Size of a finished result: ``final`` and ``value`` plus the boolean ``diverged``."""
    return n_starts * n_rates * n_epochs * ((width + 1) * itemsize + 1)


def default_budget(device: jax.Device) -> int:
    """Half the free memory of an accelerator; :data:`CPU_BUDGET` where JAX reports none."""
    try:
        stats = device.memory_stats()
    except Exception:  # some backends raise instead of returning None
        stats = None
    if stats and "bytes_limit" in stats:
        return max(1, (stats["bytes_limit"] - stats.get("bytes_in_use", 0)) // 2)
    return CPU_BUDGET


def work_budget(device: jax.Device, fast: bool = True) -> int:
    """Lane-steps one call may take on ``device``'s platform, with ``fast`` math or XLA's."""
    if device.platform != "cpu":
        return ACCELERATOR_WORK
    return CPU_WORK if fast else CPU_WORK // XLA_MATH_COST


def step_overhead(device: jax.Device) -> int:
    """The cost of one step of a call besides its lanes, in lanes (see ``CPU_STEP_OVERHEAD``)."""
    return CPU_STEP_OVERHEAD if device.platform == "cpu" else ACCELERATOR_STEP_OVERHEAD


def steps_per_call(lanes: int, device: jax.Device, fast: bool = True) -> int:
    """Gradient steps a call over ``lanes`` lanes may take within the work budget."""
    return max(1, work_budget(device, fast) // (lanes + step_overhead(device)))


def check_positive_int(name: str, value: object) -> int:
    """A positive int option (``chunk_size``, ``memory_budget``), or a TypeError/ValueError."""
    whole = whole_number(value)
    if whole is None:
        raise TypeError(f"{name} must be a positive int or None; got {type(value).__name__}.")
    if whole < 1:
        raise ValueError(f"{name} must be >= 1; got {whole}. Pass None to choose automatically.")
    return whole


def plan(
    *,
    n_lanes: int,
    n_epochs: int,
    itemsize: int,
    n_devices: int,
    lanes_per_call: int | None,
    memory_budget: int | None,
    device: jax.Device,
    work: int | None = None,
    width: int = 1,
    carry: int = 0,
    least: int = 1,
) -> Plan:
    """Lanes per call, epoch counts per group and steps per call, from shapes only.

    Nothing here reads the epoch counts themselves, so new values of the same shapes reuse
    the compiled calls. An explicit ``lanes_per_call`` wins for lanes; otherwise each device
    takes as many rows of lanes as fit in the budget with every epoch count, and when not
    even :data:`MIN_ROWS` rows fit, the counts are cut into groups instead. The work budget
    caps the lanes of one call too, so that one step of a call stays short. Each device
    takes at least ``least`` rows (see ``jaxgd._run.least_rows``).
    """
    budget = memory_budget if memory_budget is not None else default_budget(device)
    work = work if work is not None else work_budget(device)
    rows_all = max(least, _ceil_div(_ceil_div(n_lanes, n_devices), LANE_ROW))
    spare = max(0, budget - _FIXED)
    row_bytes = LANE_ROW * bytes_per_lane(n_epochs, itemsize, width, carry)
    if lanes_per_call is not None:
        rows = min(_ceil_div(_ceil_div(lanes_per_call, n_devices), LANE_ROW), rows_all)
    else:
        rows = min(spare // row_bytes, rows_all)
        if rows < min(rows_all, MIN_ROWS):
            rows = min(rows_all, MIN_ROWS)
    # At least `least` rows, whatever the budgets: evening out below keeps it (rows_all
    # rows in calls of >= least rows each take >= least).
    rows = max(least, min(rows, work // (LANE_ROW * n_devices)))
    group = n_epochs
    if rows * row_bytes > spare:
        # Solve rows * 64 * bytes_per_lane(G) <= spare for G.
        per_lane = spare // (rows * LANE_ROW)
        fixed, per_epoch = _lane_costs(itemsize, width, carry)
        group = max(1, min(n_epochs, (per_lane - fixed) // per_epoch))
    calls = _ceil_div(rows_all, rows)
    # Even out: 1001 rows in calls of 500 become 3 calls of 334, not 500 + 500 + 1.
    rows = _ceil_div(rows_all, calls)
    groups = _ceil_div(n_epochs, group)
    group = _ceil_div(n_epochs, groups)
    lanes = rows * LANE_ROW * n_devices
    steps = max(1, work // (lanes + step_overhead(device)))
    return Plan(lanes=lanes, calls=calls, group=group, groups=groups, steps=steps)


def plan_sweep(
    *,
    n_lanes: int,
    n_epochs: int,
    n_cells: int,
    itemsize: int,
    devices: Sequence[jax.Device],
    lanes_per_call: int | None,
    memory_budget: int | None,
    fast: bool,
    what: str,
    fix: str,
    cost: int = 1,
    width: int = 1,
    carry: int = 0,
    least: int = 1,
) -> Plan:
    """:func:`plan` a sweep over ``devices``, and check that its result fits on the host.

    ``n_cells`` cells of the result (``width`` floats each, with a value and a flag) must fit
    in host memory beside, on a CPU, the working memory of one call (there device memory is
    host memory); otherwise :func:`check_host_memory` raises, naming ``what`` and ``fix``.
    ``cost``: the work of one lane's step in plain gradient steps (an optimiser's is more).
    """
    device = devices[0]
    p = plan(
        n_lanes=n_lanes,
        n_epochs=n_epochs,
        itemsize=itemsize,
        n_devices=len(devices),
        lanes_per_call=lanes_per_call,
        memory_budget=memory_budget,
        device=device,
        work=work_budget(device, fast) // cost,
        width=width,
        carry=carry,
        least=least,
    )
    on_host = device.platform == "cpu"
    check_host_memory(
        result_bytes(n_cells, 1, 1, itemsize, width),
        what,
        fix,
        reserve=call_bytes(p.lanes, p.group, itemsize, width, carry) if on_host else 0,
    )
    return p


def plan_lanes(
    *,
    n_lanes: int,
    per_lane: int,
    memory_budget: int | None,
    device: jax.Device,
    fast: bool = True,
) -> Plan:
    """Lanes per call and steps per call for lanes of ``per_lane`` bytes with no epoch axis."""
    budget = memory_budget if memory_budget is not None else default_budget(device)
    work = work_budget(device, fast)
    rows_all = max(1, _ceil_div(n_lanes, LANE_ROW))
    rows = max(1, min(rows_all, max(0, budget - _FIXED) // (LANE_ROW * per_lane), work // LANE_ROW))
    calls = _ceil_div(rows_all, rows)
    lanes = _ceil_div(rows_all, calls) * LANE_ROW
    steps = steps_per_call(lanes, device, fast)
    return Plan(lanes=lanes, calls=calls, group=1, groups=1, steps=steps)


def pad_rows(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` extended to length ``n`` with copies of its last entry (real, finite starts)."""
    return x if x.shape[0] == n else np.pad(x, (0, n - x.shape[0]), mode="edge")


def available_host_memory() -> int | None:
    """Bytes this process can still allocate, or None if unknown: the least of what the OS
    says is available without swapping, what its control group (a container's or a batch
    job's memory limit, which /proc/meminfo does not show) has left, and what the process's
    address-space limit (``ulimit -v``) has left."""
    limits = [_os_available(), _cgroup_available(), _address_space_left()]
    known = [v for v in limits if v is not None]
    return max(0, min(known)) if known else None


def _os_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().split()
        return int(text[0]) if text else None
    except (OSError, ValueError):
        return None  # absent, unreadable, or "max" (no limit)


def _cgroup_available() -> int | None:
    """The memory limit of this process's cgroup (v2, else v1) less what it uses."""
    group = ""
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) == 3 and parts[0] == "0":  # the v2 hierarchy
                    group = parts[2]
    except OSError:
        return None
    for root in (f"/sys/fs/cgroup{group}", "/sys/fs/cgroup"):
        limit = _read_int(f"{root}/memory.max")
        if limit is not None:
            used = _read_int(f"{root}/memory.current") or 0
            return limit - used
    limit = _read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes")
    if limit is None or limit >= 1 << 60:  # v1 writes a huge number for "no limit"
        return None
    return limit - (_read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes") or 0)


def _address_space_left() -> int | None:
    """``RLIMIT_AS`` less the process's current virtual size, when a limit is set."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
        return soft - pages * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, IndexError, AttributeError):
        return None


def check_host_memory(need: int, what: str, fix: str, *, reserve: int = 0) -> None:
    """MemoryError, naming the size and ``fix``, when ``need`` bytes will not fit on the host.

    ``reserve``: bytes the computation itself will hold besides (a CPU device's working
    memory is host memory too).
    """
    free = available_host_memory()
    if free is not None and need + reserve > free:
        raise MemoryError(
            f"{what} needs {need / 2**30:.1f} GiB of host memory and "
            f"{max(0, free - reserve) / 2**30:.1f} GiB is available. {fix}"
        )
