"""The engine: lanes of gradient descent stepped in bounded calls, and the host loop driving them.

A lane is one run, one (start, learning rate) pair. Lanes are laid out in rows of 64 and
stepped all at once. The epoch counts are sorted; the descent runs in segments between
consecutive counts and the position after each segment is a snapshot: ``lanes * max(E)``
steps in all, whatever the number and order of the counts.

Every call advances the lanes over a window of steps ``[t0, t1)`` passed as traced scalars,
so one compiled function serves any split of the epoch axis. Every step is the same ``grad``
step, ``jaxgd.descend``'s, wherever the snapshots fall: which other counts are asked for, or
how the work is split, never changes a position. ``f`` at a snapshot is evaluated on its own,
outside the loop of steps, not taken from a step's ``value_and_grad``: XLA compiles a
gradient that shares its graph with the value differently (it may keep a ``1/sqrt`` it
would otherwise turn into ``rsqrt``), and an ulp apart, chaotic runs part.

The math: with ``fast`` (the default on a CPU, see :func:`fast_math_for`) the differentiated
step has its ``sin``/``cos`` rewritten by :mod:`jaxgd.fastmath` before it is vmapped, so XLA:CPU
vectorises it instead of calling scalar libm per lane. ``fast`` is static, like ``f``: every
split of the work compiles the same step, and ``jaxgd.descend`` uses the same one.
"""

from __future__ import annotations

import functools
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

try:
    from jax import shard_map as _shard_map

    _UNCHECKED = {"check_vma": False}
except ImportError:  # jax < 0.6.1 has it only under experimental
    from jax.experimental.shard_map import shard_map as _shard_map

    _UNCHECKED = {"check_rep": False}

from jaxgd import _chunking, _sharding, fastmath

try:  # the functions under signal's own, without its enum conversions (microseconds a call)
    from _signal import getsignal as _getsignal
    from _signal import signal as _set_signal
except ImportError:  # another Python's layout
    _getsignal, _set_signal = signal.getsignal, signal.signal
from jaxgd._chunking import LANE_ROW, Plan
from jaxgd._rule import Rule, batched

try:  # Loaded now, not by the first compile, where a Ctrl-C inside their import registered
    # the dialect but left its module half made: every later compile in the process then
    # failed ("Dialect namespace 'mhlo' is already registered").
    from jaxlib.mlir.dialects import builtin as _builtin  # noqa: F401
    from jaxlib.mlir.dialects import mhlo as _mhlo  # noqa: F401
except ImportError:  # another jaxlib's layout: it loads them its own way
    pass


def shard_map(f: Callable, **kwargs: Any) -> Callable:
    """``jax.shard_map`` without its check of which values vary across devices.

    Every input and output of the engine's calls is split over the devices (none is
    replicated), so the check guards nothing here, and it refused valid functions: a
    ``lax.scan`` or ``fori_loop`` in f with a constant initial carry, and f's nested
    jaxprs as :mod:`jaxgd.fastmath` retraces them (``jnp.sinc``, ``jax.jit`` or
    ``jax.checkpoint`` in f) raised "mismatched varying manual axes" on several devices.
    """
    return _shard_map(f, **kwargs, **_UNCHECKED)


__all__ = [
    "LANE_ROW",
    "Engine",
    "advance",
    "calls",
    "check_progress",
    "derivative",
    "drive",
    "fast_math_for",
    "finish",
    "host_lanes",
    "lane_arrays",
    "lane_steps",
    "progress_bar",
    "sweep_cells",
    "wait",
    "wait_short",
]

#: Below this many lane-steps a call is waited on by blocking (:func:`wait_short`): it
#: returns in milliseconds.
BLOCKING_WORK = 1 << 21

#: Seconds :func:`wait_short` watches a call before it blocks.
SPIN_S = 1e-3


# -- the math ----------------------------------------------------------------------------------
def fast_math_for(fast_math: bool | None, dtype: np.dtype, platform: str | None = None) -> bool:
    """Whether a computation in ``dtype`` on ``platform`` uses :mod:`jaxgd.fastmath`'s sin/cos.

    ``fast_math`` None follows :func:`jaxgd.fastmath.enabled_for`: on for float32 and float64
    on a CPU unless the environment variable ``JAXGD_FAST_MATH`` is 0; GPUs and TPUs keep
    XLA's own math. True or False decide regardless of backend and environment.
    """
    if fast_math is None:
        return fastmath.enabled_for(dtype, platform)
    if isinstance(fast_math, bool | np.bool_):
        return bool(fast_math)
    raise TypeError(
        f"fast_math must be None, True or False; got {type(fast_math).__name__} "
        f"{fast_math!r:.40}. Leave it None for vectorised sin/cos on a CPU (turned off by "
        "JAXGD_FAST_MATH=0), or pass False for XLA's own sin/cos."
    )


def math_name(fast: bool) -> str:
    """The name a result records for its math: ``"fast"`` or ``"xla"``."""
    return "fast" if fast else "xla"


def derivative(fun: Callable, fast: bool) -> Callable:
    """``fun`` (already differentiated) with sin/cos from :mod:`jaxgd.fastmath` when ``fast``.

    The rewrite goes on the unbatched function, before any vmap, so the vmapped
    ``jaxgd.descend`` and the sweep compute the same bits. A single unbatched ``descend`` is
    compiled as scalar code, which XLA may round differently (an ulp in a step, more over a
    chaotic run): only the vmapped one is promised to match.
    """
    return fastmath.rewrite(fun, enable=fast)


# -- the compiled pieces -----------------------------------------------------------------------
def rows_for(n_lanes: int, least: int = 1) -> int:
    """Rows of 64 lanes that hold ``n_lanes``: at least ``least`` (see :func:`least_rows`)."""
    return max(least, -(-n_lanes // LANE_ROW))


def least_rows(ax: LaneAxes) -> int:
    """The fewest rows a call may hold: 2, for lanes of every kind.

    XLA:CPU compiles a while loop that reads and writes under 1 KiB in all (its "small while
    loop" hoisting) into one function of its own, where larger loops run fusion by fusion,
    and the two round some steps differently: with scalar lanes, a sweep of ``lax.cond``,
    ``jnp.sinc`` and ``jax.nn.softplus`` of ``sin`` split with ``chunk_size`` into calls of
    one row (a (1, 64) float32 position, 256 bytes) ended 34 of 1295 cells an ulp or more
    away from the single call of five rows. Two rows of positions are 512 bytes read and
    written each step, so no call's loop of steps is small and every split compiles the same
    loop. Lanes that carry a vector (a point of R^d, a parameter of f with a shape) needed
    two rows already: XLA:CPU reads one coordinate of a (1, 64, d) array with strides and
    fused its multiply-adds unlike those of (R, 64, d) for R >= 2. A sweep of at most 64
    lanes computes 128: on the notebook's Experiment 3 grid (50 lanes) the call takes 300 to
    340 us where it took about 250 (the small loop it gives up was the faster one), the
    price of the same bits however a sweep is split.
    """
    del ax  # the same for every kind of lane (kept: the callers pass the lanes they plan)
    return 2


#: The lane axes of a sweep, as a dict: ``hp`` (a tuple of 1-D hyperparameter values in the
#: order of the rule's ``hyper`` keys; a tuple, since jit hands a dict back with its keys
#: sorted), ``theta`` (None, or a pytree of parameters with a leading axis), ``x`` (the
#: starts, shape (S, *point)) and ``lr`` (the rates, (L,)). Lanes enumerate them in C order,
#: in that order: the rate varies fastest, as it always has.
LaneAxes = dict


def _axis_list(ax: LaneAxes) -> list:
    axes = list(ax["hp"])
    if ax["theta"] is not None:
        axes.append(ax["theta"])
    return [*axes, ax["x"], ax["lr"]]


def _assemble(ax: LaneAxes, lanes: list) -> tuple[Any, dict]:
    """Lane positions and constants ``c`` from the gathered axes of :func:`_axis_list`."""
    k = len(ax["hp"])
    c = {"lr": lanes[-1], "hp": tuple(lanes[:k]), "theta": None}
    if ax["theta"] is not None:
        c["theta"] = lanes[k]
    return lanes[-2], c


def plain_axes(starts: Any, learning_rates: Any) -> LaneAxes:
    """The lane axes of plain descent: starts and rates only."""
    return {"hp": (), "theta": None, "x": starts, "lr": learning_rates}


def axis_sizes(ax: LaneAxes) -> list[int]:
    return [jax.tree.leaves(a)[0].shape[0] for a in _axis_list(ax)]


def lane_count(ax: LaneAxes) -> int:
    return math.prod(axis_sizes(ax))


def point_shape(ax: LaneAxes) -> tuple[int, ...]:
    """The shape of one position: () for scalar x, (d,) for a point of R^d."""
    return tuple(ax["x"].shape[1:])


def _gather(ax: LaneAxes, lane: Any, xp: Any) -> tuple[Any, dict]:
    """Every lane axis taken at lanes ``lane`` (C order), each shaped (rows, 64, ...)."""
    sizes = axis_sizes(ax)
    strides = [math.prod(sizes[i + 1 :]) for i in range(len(sizes))]

    def take(a: Any, n: int, stride: int) -> Any:
        idx = (lane // stride) % n
        return jax.tree.map(lambda leaf: leaf[idx].reshape(-1, LANE_ROW, *leaf.shape[1:]), a)

    lanes = [take(a, n, s) for a, n, s in zip(_axis_list(ax), sizes, strides, strict=True)]
    return _assemble(ax, lanes)


def lane_arrays(ax: LaneAxes) -> tuple[jax.Array, dict]:
    """Position and constants of every lane, in rows of 64 (traced version).

    Padding lanes repeat the last real lane: finite, and dropped at the end.
    """
    n = lane_count(ax)
    lane = jnp.minimum(jnp.arange(rows_for(n, least_rows(ax)) * LANE_ROW), n - 1)
    return _gather(ax, lane, jnp)


def host_lanes(ax: LaneAxes, lo: int, n: int) -> tuple[np.ndarray, dict]:
    """Lanes ``lo .. lo + n`` as NumPy (rows, 64, ...) arrays; past the last lane, copies of it."""
    lane = np.minimum(np.arange(lo, lo + n, dtype=np.int64), lane_count(ax) - 1)
    return _gather(ax, lane, np)


def advance(
    rule: Rule,
    x: jax.Array,
    s: Any,
    c: dict,
    counts: jax.Array,
    c_prev: jax.Array,
    t0: jax.Array,
    t1: jax.Array,
    xs: jax.Array,
    vs: jax.Array,
    *,
    whole: bool = False,
) -> tuple[jax.Array, ...]:
    """Advance lanes ``x`` (state ``s`` at step ``t0``) over steps ``[t0, t1)`` of ``counts``.

    ``counts`` (G,) are sorted; ``c_prev`` is the count before them (0 at first). Segment j
    takes steps ``a_j .. b_j - 1``, ``a = [c_prev, counts[:-1]]``, ``b = counts``; ``xs[j]``
    receives the position after it, the snapshot at count ``b_j``, and ``vs[j]`` f there,
    both written by the call whose window reaches ``b_j``. ``c`` holds each lane's constants
    (rate, hyperparameters, theta); ``rule`` says how a lane steps (see :mod:`jaxgd._rule`).

    ``whole`` (static): the window is every step, ``t0 = c_prev`` and ``t1 > counts[-1]``, so
    every segment runs whole and is written; the program then skips the window's clamps and
    tests (a few microseconds a segment, a measurable share of a small sweep). The steps and
    the writes are the same either way: a whole run equals any split into windows bit for bit.
    """
    grad = batched(rule.grad)
    value = batched(rule.value)
    update = batched(rule.update, 0)
    a = jnp.concatenate([c_prev[None], counts[:-1]])
    b = counts

    def step(t, carry):
        x, s = carry
        return update(t, x, s, c, grad(x, c))

    def segment(j, carry):
        x, s, xs, vs = carry
        x, s = jax.lax.fori_loop(jnp.maximum(a[j], t0), jnp.minimum(b[j], t1), step, (x, s))
        done = b[j] <= t1
        xs = xs.at[j].set(jnp.where(done, x, xs[j]))
        vs = vs.at[j].set(jnp.where(done, value(x, c).astype(x.dtype), vs[j]))
        return x, s, xs, vs

    if whole:
        return _advance_whole(step, value, x, s, c, a, b, xs, vs)
    # Only the segments this window touches: those not over before t0 nor starting at t1.
    first = jnp.sum(b < t0).astype(counts.dtype)
    stop = jnp.sum(a < t1).astype(counts.dtype)
    return jax.lax.fori_loop(first, stop, segment, (x, s, xs, vs))


def _advance_whole(step, value, x, s, c, a, b, xs, vs):
    """:func:`advance` over every step: each segment runs whole and is written.

    The flags of divergence are not computed here from the values just taken, though that
    would save a pass over the snapshots: a second use of f's value changes how XLA fuses
    it, and for ``cos(x) exp(-x^2/20) + sqrt(1 + x^2)`` 5% of the values came out an ulp
    away from a windowed call's. :func:`finish` computes them afterwards, in every path.
    """

    def segment(j, carry):
        x, s, xs, vs = carry
        x, s = jax.lax.fori_loop(a[j], b[j], step, (x, s))
        v = value(x, c).astype(x.dtype)  # one dtype for every path: f may compute in another
        return x, s, xs.at[j].set(x), vs.at[j].set(v)

    return jax.lax.fori_loop(0, a.shape[0], segment, (x, s, xs, vs))


def init(rule: Rule, x: jax.Array, c: dict) -> Any:
    """The state of every lane at step 0: ``()`` for plain descent."""
    return batched(rule.init)(x, c) if rule.stateful else ()


def _diverged(xs: jax.Array, vs: jax.Array) -> jax.Array:
    """Where a snapshot's position (any coordinate) or its value is not finite: (G, rows, 64)."""
    bad = ~jnp.isfinite(xs)
    if bad.ndim > vs.ndim:
        bad = bad.any(axis=tuple(range(vs.ndim, bad.ndim)))
    return bad | ~jnp.isfinite(vs)


def finish(xs: jax.Array, vs: jax.Array) -> jax.Array:
    """``diverged`` (G, P) of snapshots ``xs`` (G, rows, 64, *point) and their values ``vs``,
    P lanes flat: a cell is diverged when its position (any coordinate) or its value is not
    finite.

    Nothing is reordered, nor copied: the snapshot buffers themselves are the results, in the
    counts' sorted order, and the caller's (lanes, epochs) order is a transposed view on the
    host (``jaxgd.sweep``'s ``_result``), so no program writes the snapshots twice.
    """
    return _diverged(xs, vs).reshape(xs.shape[0], xs.shape[1] * xs.shape[2])


def flat(xs: Any) -> Any:
    """Snapshots (G, rows, 64, ...) as (G, P, ...): lanes flat, a view (a bitcast in XLA)."""
    return xs.reshape(xs.shape[0], xs.shape[1] * xs.shape[2], *xs.shape[3:])


def sweep_cells(
    rule: Rule, ax: LaneAxes, counts: jax.Array, into: tuple[jax.Array, jax.Array] | None = None
) -> tuple[jax.Array, ...]:
    """One rule's whole sweep as one traced computation: :func:`finish`'s arrays, a snapshot
    at each of ``counts``, which the caller has sorted (with NumPy, for concrete counts: the
    host's argsort also gives the order back), lanes in the C order of :func:`lane_arrays`,
    padding lanes included.

    ``into``: buffers of the shapes of the first two outputs, (G, P, *point) and (G, P), to
    write the snapshots into (donated by the caller, see :mod:`jaxgd._pool`). Every snapshot is
    written, so what they held does not matter, and nothing is filled first.
    """
    x, c = lane_arrays(ax)
    zero = jnp.zeros((), counts.dtype)
    if into is not None:
        xs = into[0].reshape(counts.shape[0], *x.shape)
        vs = into[1].reshape(counts.shape[0], *x.shape[:2])
    else:
        xs = jnp.zeros((counts.shape[0], *x.shape), x.dtype)
        # Another fill than xs's: XLA would otherwise make one buffer of zeros and copy it.
        vs = jnp.full((counts.shape[0], *x.shape[:2]), jnp.nan, x.dtype)
    s = init(rule, x, c)
    *_, xs, vs = advance(rule, x, s, c, counts, zero, zero, counts[-1] + 1, xs, vs, whole=True)
    return flat(xs), flat(vs), finish(xs, vs)


# -- compiled calls, on one device or split over several ----------------------------------------
_SPECS = (PartitionSpec(_sharding.AXIS), PartitionSpec(None, _sharding.AXIS))


@partial(jax.jit, static_argnums=0, donate_argnums=(8, 9))
def _advance_one(rule, x, s, c, counts, c_prev, t0, t1, xs, vs):
    return advance(rule, x, s, c, counts, c_prev, t0, t1, xs, vs)


@partial(jax.jit, static_argnums=(0, 1), donate_argnums=(9, 10))
def _advance_many(rule, mesh, x, s, c, counts, c_prev, t0, t1, xs, vs):
    lanes, snaps = _SPECS
    run = shard_map(
        partial(advance, rule),
        mesh=mesh,
        in_specs=(lanes, lanes, lanes, *(PartitionSpec(),) * 4, snaps, snaps),
        out_specs=(lanes, lanes, snaps, snaps),
    )
    return run(x, s, c, counts, c_prev, t0, t1, xs, vs)


_init = jax.jit(init, static_argnums=0)
_finish_one = jax.jit(finish)


@partial(jax.jit, static_argnums=0)
def _finish_many(mesh, xs, vs):
    snaps = _SPECS[1]
    run = shard_map(finish, mesh=mesh, in_specs=(snaps, snaps), out_specs=snaps)
    return run(xs, vs)


class Engine:
    """The compiled calls for one lane ``rule`` on a tuple of devices, inputs placed accordingly."""

    def __init__(self, rule: Rule, devices: tuple[jax.Device, ...]):
        self.rule = rule
        if len(devices) == 1:
            self.mesh: Mesh | None = None
            self.lanes = self.snaps = self.whole = devices[0]
        else:
            self.mesh = _sharding.mesh_for(devices)
            self.lanes = _sharding.split(self.mesh)
            self.snaps = jax.sharding.NamedSharding(self.mesh, _SPECS[1])
            self.whole = _sharding.replicated(self.mesh)

    def put_lanes(self, *trees: Any):
        return jax.device_put(trees, self.lanes)

    def put(self, *arrays: np.ndarray):
        return jax.device_put(arrays, self.whole)

    def buffers(self, n_snaps: int, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Snapshot buffers of positions and values for ``n_snaps`` snapshots of lanes ``x``."""
        return (
            jnp.zeros((n_snaps, *x.shape), x.dtype, device=self.snaps),
            jnp.zeros((n_snaps, *x.shape[:2]), x.dtype, device=self.snaps),
        )

    def init(self, x: jax.Array, c: dict) -> Any:
        return _init(self.rule, x, c) if self.rule.stateful else ()

    def advance(self, *args):
        if self.mesh is None:
            return _advance_one(self.rule, *args)
        return _advance_many(self.rule, self.mesh, *args)

    def finish(self, xs: jax.Array, vs: jax.Array) -> jax.Array:
        if self.mesh is None:
            return _finish_one(xs, vs)
        return _finish_many(self.mesh, xs, vs)


# -- waiting and driving ------------------------------------------------------------------------
#: Ctrl-Cs that arrived while :func:`interruptible` code ran (its handler counts them).
_interrupts = [0]
_depth = [0]


def _on_sigint(signum: int, frame: Any) -> None:
    _interrupts[0] += 1
    raise KeyboardInterrupt


def interruptible(fn: Callable) -> Callable:
    """Make ``fn`` deliver every Ctrl-C as ``KeyboardInterrupt``, whatever code it lands in.

    Python raises KeyboardInterrupt wherever the interpreter is when SIGINT arrives; inside a
    callback such as JAX's garbage-collection hook the exception is printed as "ignored" and
    dropped, and a sweep went on to its end (hours, for a long one). While ``fn`` runs (in the
    main thread, with Python's own SIGINT handler in place) a handler that also counts each
    Ctrl-C is installed; :func:`wait` and the end of ``fn`` raise for one that was dropped.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _depth[0] or threading.current_thread() is not threading.main_thread():
            return fn(*args, **kwargs)
        if _getsignal(signal.SIGINT) is not signal.default_int_handler:
            return fn(*args, **kwargs)  # someone else's handler: theirs to keep
        _interrupts[0] = 0
        _depth[0] += 1
        _set_signal(signal.SIGINT, _on_sigint)
        try:
            out = fn(*args, **kwargs)
            check_interrupt()
        finally:
            # Leaving with the count set (a KeyboardInterrupt that got through) would make a
            # later wait outside this call, in a thread say, raise for that old Ctrl-C.
            _interrupts[0] = 0
            _depth[0] -= 1
            _set_signal(signal.SIGINT, signal.default_int_handler)
        return out

    return run


def check_interrupt() -> None:
    """Raise KeyboardInterrupt for a Ctrl-C that arrived but was dropped on its way: in the
    main thread, inside an :func:`interruptible` call (the only Ctrl-Cs counted)."""
    if _interrupts[0] and _depth[0] and threading.current_thread() is threading.main_thread():
        _interrupts[0] = 0
        raise KeyboardInterrupt


def wait(a: jax.Array) -> None:
    """Wait for ``a`` without holding back signals: Ctrl-C raises KeyboardInterrupt within
    about a tenth of a second.

    ``block_until_ready`` runs Python's signal handlers while it waits (jaxlib looks about
    every 0.1 s; from 0.8, the oldest jaxlib jaxgd supports), so a Ctrl-C raises there. This
    waited by sleeping and asking whether ``a`` was ready, every millisecond: that woke the
    process a thousand times a second, each time taking a CPU from the compiled call's
    threads, 4 to 5% of a large sweep on two cores. A Ctrl-C dropped on its way (see
    :func:`interruptible`) is raised before and after.
    """
    check_interrupt()
    a.block_until_ready()
    check_interrupt()


@functools.cache
def _spins() -> bool:
    """Whether this process may run on two CPUs or more: one for the compiled call's thread,
    one for a caller that watches it."""
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:  # no sched_getaffinity (macOS, Windows)
        return (os.cpu_count() or 1) >= 2


def wait_short(a: jax.Array) -> None:
    """Wait for ``a``, the output of a call of at most :data:`BLOCKING_WORK` lane-steps.

    The call runs on a thread of XLA's; a caller that blocks sleeps until that thread wakes
    it, and on a machine of two virtual CPUs that wake-up and the caches of a CPU just slept
    cost 40 to 60 us, a sixth of a call on the notebook's Experiment 3 grid, all paid again
    by the host code that reads the result. So the caller first watches ``a`` for up to
    :data:`SPIN_S` (a short call is done by then) and only then blocks. Where the process
    has one CPU, watching would take it from the thread that computes: it blocks at once.
    The GIL is held while watching: a ``jax.pure_callback`` in ``f`` may wait that long.
    """
    if _spins():
        ready = a.is_ready
        end = time.perf_counter() + SPIN_S
        while not ready() and time.perf_counter() < end:
            pass
    a.block_until_ready()


def windows(start: int, stop: int, steps: int) -> Iterator[tuple[int, int]]:
    """Windows of at most ``steps`` steps covering ``[start, stop]`` (f is evaluated at stop)."""
    for t0 in range(start, stop + 1, steps):
        yield t0, t0 + steps


def calls(
    engine: Engine, ax: LaneAxes, epochs: np.ndarray, plan: Plan, *, bar=None
) -> Iterator[tuple[int, int, int, tuple[np.ndarray, ...]]]:
    """Run one rule's sweep in the calls of ``plan``; yield each call's results as they come.

    Yields ``(lo, k0, k1, (xs, vs, diverged))``: lanes from ``lo`` and the sorted counts
    ``k0:k1``, as host arrays (G, P, *point), (G, P) and (G, P): snapshot-major, epochs
    sorted, padding lanes and padding counts included. At most two calls are in
    flight: one runs while the previous is waited on (without blocking signals) and handed
    out, so Ctrl-C stops the loop within about a call.
    """
    n_lanes, n_epochs = lane_count(ax), epochs.shape[0]
    itype = epochs.dtype.type
    counts = np.sort(epochs, kind="stable")
    groups = []
    for g in range(plan.groups):
        k0, k1 = g * plan.group, min((g + 1) * plan.group, n_epochs)
        part = np.concatenate([counts[k0:k1], np.repeat(counts[k1 - 1], plan.group - (k1 - k0))])
        c_prev = counts[k0 - 1] if k0 else itype(0)
        groups.append((k0, k1, engine.put(part)[0], c_prev, int(counts[k1 - 1])))

    def collect(lo: int, k0: int, k1: int, arrays: tuple[jax.Array, ...]):
        wait(arrays[-1])
        xs, vs, bad = (np.asarray(a) for a in arrays)
        return lo, k0, k1, (flat(xs), flat(vs), bad)

    pending = None  # the last result, handed out while the next call runs
    for call in range(plan.calls):
        lo = call * plan.lanes
        x, c = engine.put_lanes(*host_lanes(ax, lo, plan.lanes))
        s = engine.init(x, c)
        for k0, k1, part, c_prev, c_last in groups:
            xs, vs = engine.buffers(plan.group, x)
            before = None
            for t0, t1 in windows(int(c_prev), c_last, plan.steps):
                x_next, s, xs, vs = engine.advance(
                    x, s, c, part, c_prev, itype(t0), itype(t1), xs, vs
                )
                # At most two calls in flight: this one, and the one before it, waited on.
                if before is not None:
                    wait(before)
                before, x = x_next, x_next
                if bar is not None:
                    bar.update(min(n_lanes - lo, plan.lanes) * max(0, min(t1, c_last) - t0))
            result = (xs, vs, engine.finish(xs, vs))
            if pending is not None:
                yield collect(*pending)
            pending = (lo, k0, k1, result)
    if pending is not None:
        yield collect(*pending)


def drive(
    engine: Engine,
    ax: LaneAxes,
    epochs: np.ndarray,
    plan: Plan,
    outs: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    bar=None,
) -> None:
    """Run one rule's sweep in the calls of ``plan`` (see :func:`calls`), writing into ``outs``.

    ``outs``: ``final`` (E, N, *point), ``value`` and ``diverged`` (E, N), N lanes in C order,
    epochs in the caller's order: snapshot-major, as the calls make them, so each call's
    results are copied in as whole rows of lanes (the caller transposes with a view).
    """
    n_lanes = lane_count(ax)
    order = np.argsort(epochs, kind="stable")
    for lo, k0, k1, (xs, vs, bad) in calls(engine, ax, epochs, plan, bar=bar):
        hi = min(lo + plan.lanes, n_lanes)
        for out, a in zip(outs, (xs, vs, bad), strict=True):
            out[order[k0:k1], lo:hi] = a[: k1 - k0, : hi - lo]


def check_progress(progress: Any) -> None:
    """Refuse a ``progress`` other than None, True or False (before anything runs)."""
    if progress is not None and not isinstance(progress, bool | np.bool_):
        raise TypeError(
            f"progress must be None, True or False; got {type(progress).__name__} "
            f"{progress!r:.40}. None shows a bar only for long runs on a terminal."
        )


def progress_bar(progress: bool | None, total: int, desc: str):
    """A tqdm bar over ``total`` gradient steps, or None (see ``jaxgd.sweep``'s ``progress``)."""
    check_progress(progress)
    if progress is False:
        return None
    from tqdm import tqdm  # imported only where a bar may be shown

    # progress=None: tqdm's own rule (no bar unless stderr is a terminal) and a delay, so
    # short runs never flash a bar.
    return tqdm(
        total=total,
        unit="step",
        unit_scale=True,
        desc=desc,
        disable=None if progress is None else False,
        delay=0 if progress else 1.0,
        leave=bool(progress),
    )


def lane_steps(n_lanes: int, max_epoch: int, least: int = 1) -> int:
    """Cost of a one-call sweep on a CPU in lane-steps, padding and loop overhead included."""
    return (rows_for(n_lanes, least) * LANE_ROW + _chunking.CPU_STEP_OVERHEAD) * (max_epoch + 1)
