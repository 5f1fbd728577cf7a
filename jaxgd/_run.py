"""The engine: lanes of gradient descent stepped in bounded calls, and the host loop driving them.

A lane is one run, one (start, learning rate) pair. Lanes are laid out in rows of 64 and
stepped all at once. The epoch counts are sorted; the descent runs in segments between
consecutive counts and the position after each segment is a snapshot: ``lanes * max(E)``
steps in all, whatever the number and order of the counts.

Every call advances the lanes over a window of steps ``[t0, t1)`` passed as traced scalars,
so one compiled function serves any split of the epoch axis, and each step is computed by
the same code however the work is split: the step right after a snapshot (and step 0) uses
``value_and_grad``, whose value is that snapshot's ``f``; every other step uses ``grad``.

The math: with ``fast`` (the default on a CPU, see :func:`fast_math_for`) the differentiated
step has its ``sin``/``cos`` rewritten by :mod:`jaxgd.fastmath` before it is vmapped, so XLA:CPU
vectorises it instead of calling scalar libm per lane. ``fast`` is static, like ``f``: every
split of the work compiles the same step, and ``jaxgd.descend`` uses the same one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

try:
    from jax import shard_map
except ImportError:  # jax < 0.6.1 has it only under experimental
    from jax.experimental.shard_map import shard_map

from jaxgd import _chunking, _sharding, fastmath
from jaxgd._chunking import LANE_ROW, Plan
from jaxgd._validate import default_float

__all__ = [
    "LANE_ROW",
    "Engine",
    "advance",
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
]

#: Below this many lane-steps a call is waited on by blocking: it returns in milliseconds.
BLOCKING_WORK = 1 << 21


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

    The rewrite goes on the unbatched function, before any vmap, so that a batched step and an
    unbatched one (``jaxgd.descend``) compute the same bits.
    """
    return fastmath.rewrite(fun, enable=fast)


# -- the compiled pieces -----------------------------------------------------------------------
def rows_for(n_lanes: int) -> int:
    return -(-n_lanes // LANE_ROW)


def lane_arrays(starts: jax.Array, learning_rates: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Start and rate of every lane, start-major, in rows of 64 (traced version)."""
    n_starts, n_rates = starts.shape[0], learning_rates.shape[0]
    n_lanes = n_starts * n_rates
    rows = rows_for(n_lanes)

    def lanes(a: jax.Array) -> jax.Array:
        # Padding lanes repeat the last real lane: finite, and dropped at the end.
        a = jnp.concatenate([a, jnp.broadcast_to(a[-1], (rows * LANE_ROW - n_lanes,))])
        return a.reshape(rows, LANE_ROW)

    return lanes(jnp.repeat(starts, n_rates)), lanes(jnp.tile(learning_rates, n_starts))


def host_lanes(
    starts: np.ndarray, learning_rates: np.ndarray, lo: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lanes ``lo .. lo + n`` as (rows, 64) NumPy arrays; past the last lane, copies of it."""
    n_rates = learning_rates.shape[0]
    last = starts.shape[0] * n_rates - 1
    idx = np.minimum(np.arange(lo, lo + n, dtype=np.int64), last)
    return (
        starts[idx // n_rates].reshape(-1, LANE_ROW),
        learning_rates[idx % n_rates].reshape(-1, LANE_ROW),
    )


def advance(
    f: Callable,
    x: jax.Array,
    lr: jax.Array,
    counts: jax.Array,
    c_prev: jax.Array,
    t0: jax.Array,
    t1: jax.Array,
    xs: jax.Array,
    vs: jax.Array,
    fast: bool = False,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Advance lanes ``x`` (at step ``t0``) over steps ``[t0, t1)`` of the segments of ``counts``.

    ``counts`` (G,) are sorted; ``c_prev`` is the count before them (0 at first). Segment j
    runs from ``a_j`` to ``b_j``: ``a = [c_prev, counts]``, ``b = [counts, counts[-1]]``; the
    last one, of length 0, only evaluates f at the last count. ``xs[j]`` receives the position
    after segment j and ``vs[j]`` the value of f at ``a_j``: the value of snapshot ``j - 1``.
    ``fast``: sin/cos from :mod:`jaxgd.fastmath` (see :func:`derivative`).
    """
    grad = jax.vmap(jax.vmap(derivative(jax.grad(f), fast)))
    value_and_grad = jax.vmap(jax.vmap(derivative(jax.value_and_grad(f), fast)))
    a = jnp.concatenate([c_prev[None], counts])
    b = jnp.concatenate([counts, counts[-1:]])

    def step(_, x):
        return x - lr * grad(x)

    def head(x, a_j, b_j):
        # f where the previous segment ended comes with the first step's gradient: no second
        # pass of f. One dtype for every path: f may compute in another precision.
        v, g = value_and_grad(x)
        return jnp.where(a_j < b_j, x - lr * g, x), v.astype(x.dtype)

    def segment(j, carry):
        x, xs, vs = carry
        a_j, b_j = a[j], b[j]
        at_head = a_j >= t0  # else this segment began in an earlier call
        x, v = jax.lax.cond(
            at_head, partial(head, a_j=a_j, b_j=b_j), lambda x: (x, jnp.zeros_like(x)), x
        )
        vs = vs.at[j].set(jnp.where(at_head, v, vs[j]))
        x = jax.lax.fori_loop(jnp.maximum(a_j + 1, t0), jnp.minimum(b_j, t1), step, x)
        xs = xs.at[j].set(jnp.where(b_j <= t1, x, xs[j]))
        return x, xs, vs

    # Only the segments this window touches: those not over before t0 nor starting at t1.
    first = jnp.sum(b < t0).astype(counts.dtype)
    stop = jnp.sum(a < t1).astype(counts.dtype)
    return jax.lax.fori_loop(first, stop, segment, (x, xs, vs))


def _cells(a: jax.Array, back: jax.Array) -> jax.Array:
    """Snapshots ``a`` (G, ...) as (lanes, G), columns in the order ``back``, a permutation."""
    a = jnp.take(a, back, axis=0, unique_indices=True, mode="clip")
    return a.reshape(back.shape[0], -1).T


def _diverged(xs: jax.Array, vs: jax.Array) -> jax.Array:
    return ~jnp.isfinite(xs[:-1]) | ~jnp.isfinite(vs[1:])


def finish(xs: jax.Array, vs: jax.Array, back: jax.Array) -> tuple[jax.Array, ...]:
    """``final``, ``value``, ``diverged`` of shape (lanes, G), columns in the order ``back``.

    A gather of whole slabs on the leading axis, then one transpose, rather than a scatter
    along the minor axis. A cell is diverged when its position or its value is not finite.
    Each array is reordered on its own, ``diverged`` from the slabs before reordering: built
    from the reordered ``final`` and ``value``, XLA:CPU fused the three into one loop that
    copied the layout a second time (1.3 to 1.5x the time on the large grid).
    """
    return _cells(xs[:-1], back), _cells(vs[1:], back), _cells(_diverged(xs, vs), back)


def sweep_cells(
    f: Callable,
    starts: jax.Array,
    learning_rates: jax.Array,
    epochs: jax.Array,
    fast: bool = False,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The whole sweep as one traced computation: (S, L, E) ``final``, ``value``, ``diverged``."""
    n_starts, n_rates = starts.shape[0], learning_rates.shape[0]
    x, lr = lane_arrays(starts, learning_rates)
    order = jnp.argsort(epochs, stable=True)
    counts = epochs[order]
    zero = jnp.zeros((), counts.dtype)
    buf = jnp.zeros((counts.shape[0] + 1, *x.shape), x.dtype)
    _, xs, vs = advance(f, x, lr, counts, zero, zero, counts[-1] + 1, buf, buf, fast)
    out = finish(xs, vs, jnp.argsort(order))
    return tuple(a[: n_starts * n_rates].reshape(n_starts, n_rates, -1) for a in out)


# -- compiled calls, on one device or split over several ----------------------------------------
_SPECS = (PartitionSpec(_sharding.AXIS), PartitionSpec(None, _sharding.AXIS))


@partial(jax.jit, static_argnums=(0, 1), donate_argnums=(8, 9))
def _advance_one(f, fast, x, lr, counts, c_prev, t0, t1, xs, vs):
    return advance(f, x, lr, counts, c_prev, t0, t1, xs, vs, fast)


@partial(jax.jit, static_argnums=(0, 1, 2), donate_argnums=(9, 10))
def _advance_many(f, fast, mesh, x, lr, counts, c_prev, t0, t1, xs, vs):
    lanes, snaps = _SPECS
    run = shard_map(
        partial(advance, f, fast=fast),
        mesh=mesh,
        in_specs=(lanes, lanes, *(PartitionSpec(),) * 4, snaps, snaps),
        out_specs=(lanes, snaps, snaps),
    )
    return run(x, lr, counts, c_prev, t0, t1, xs, vs)


_finish_together = jax.jit(finish)
_final_cells = jax.jit(lambda xs, back: _cells(xs[:-1], back))
_value_cells = jax.jit(lambda vs, back: _cells(vs[1:], back))
_diverged_cells = jax.jit(lambda xs, vs, back: _cells(_diverged(xs, vs), back))

#: Snapshot elements from which :func:`_finish_one` reorders each array in its own program.
SPLIT_FINISH = 1 << 22


def _finish_one(xs: jax.Array, vs: jax.Array, back: jax.Array) -> tuple[jax.Array, ...]:
    """:func:`finish` on one device; for large snapshots, one compiled program per array.

    With several transposed outputs in one program, XLA:CPU writes each in the snapshots'
    order and relayouts it with a plain copy; a program with one output gets its tiled
    transpose. On the large grid's snapshots (5e6 elements) three programs took about half
    the time of one, the copy to NumPy included; below :data:`SPLIT_FINISH` elements the
    difference is a few milliseconds, less than compiling two more programs.
    """
    if xs.size < SPLIT_FINISH:
        return _finish_together(xs, vs, back)
    return _final_cells(xs, back), _value_cells(vs, back), _diverged_cells(xs, vs, back)


@partial(jax.jit, static_argnums=0)
def _finish_many(mesh, xs, vs, back):
    lanes, snaps = _SPECS
    run = shard_map(
        finish, mesh=mesh, in_specs=(snaps, snaps, PartitionSpec()), out_specs=(lanes,) * 3
    )
    return run(xs, vs, back)


class Engine:
    """The compiled calls for one ``f`` on a tuple of devices, inputs placed accordingly.

    ``fast_math`` as in :func:`fast_math_for`, for the default float on these devices.
    """

    def __init__(self, f: Callable, devices: tuple[jax.Device, ...], fast_math: bool | None = None):
        self.f = f
        self.fast = fast_math_for(fast_math, default_float(), devices[0].platform)
        if len(devices) == 1:
            self.mesh: Mesh | None = None
            self.lanes = self.snaps = self.whole = devices[0]
        else:
            self.mesh = _sharding.mesh_for(devices)
            self.lanes = _sharding.split(self.mesh)
            self.snaps = jax.sharding.NamedSharding(self.mesh, _SPECS[1])
            self.whole = _sharding.replicated(self.mesh)

    def put_lanes(self, *arrays: np.ndarray):
        return jax.device_put(arrays, self.lanes)

    def put(self, *arrays: np.ndarray):
        return jax.device_put(arrays, self.whole)

    def buffers(self, shape: tuple[int, ...], dtype: np.dtype):
        return tuple(jnp.zeros(shape, dtype, device=self.snaps) for _ in range(2))

    def advance(self, *args):
        if self.mesh is None:
            return _advance_one(self.f, self.fast, *args)
        return _advance_many(self.f, self.fast, self.mesh, *args)

    def finish(self, *args):
        if self.mesh is None:
            return _finish_one(*args)
        return _finish_many(self.mesh, *args)


# -- waiting and driving ------------------------------------------------------------------------
def wait(a: jax.Array) -> None:
    """Wait for ``a`` without blocking signals: Ctrl-C raises KeyboardInterrupt at once.

    A blocking wait (``np.asarray``, ``block_until_ready``) holds the interpreter until the
    compiled call returns, and Python runs its SIGINT handler only after that.
    """
    delay = 5e-5
    while not a.is_ready():
        time.sleep(delay)
        delay = min(2 * delay, 0.01)


def windows(start: int, stop: int, steps: int) -> Iterator[tuple[int, int]]:
    """Windows of at most ``steps`` steps covering ``[start, stop]`` (f is evaluated at stop)."""
    for t0 in range(start, stop + 1, steps):
        yield t0, t0 + steps


def drive(
    engine: Engine,
    starts: np.ndarray,
    learning_rates: np.ndarray,
    epochs: np.ndarray,
    plan: Plan,
    outs: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    bar=None,
) -> None:
    """Run the sweep in the calls of ``plan``, writing (S, L, E) results into ``outs``.

    At most two calls are in flight: one runs while the previous is waited on (without
    blocking signals) and copied to the host, so Ctrl-C stops the loop within about a call.
    """
    n_lanes = starts.shape[0] * learning_rates.shape[0]
    n_epochs = epochs.shape[0]
    itype = epochs.dtype.type
    order = np.argsort(epochs, kind="stable")
    counts = epochs[order]
    flat = tuple(o.reshape(n_lanes, n_epochs) for o in outs)
    one_group = plan.groups == 1
    # One group: the device puts columns in the caller's order and the copy is contiguous.
    # Several: each group's columns stay sorted, and the host scatters them.
    groups = []
    for g in range(plan.groups):
        k0, k1 = g * plan.group, min((g + 1) * plan.group, n_epochs)
        part = np.concatenate([counts[k0:k1], np.repeat(counts[k1 - 1], plan.group - (k1 - k0))])
        back = (np.argsort(order) if one_group else np.arange(plan.group)).astype(epochs.dtype)
        c_prev = counts[k0 - 1] if k0 else itype(0)
        groups.append((k0, k1, *engine.put(part, back), c_prev, int(counts[k1 - 1])))
    dtype = outs[0].dtype
    rows = plan.lanes // LANE_ROW

    def collect(lo: int, k0: int, k1: int, arrays: tuple[jax.Array, ...]) -> None:
        hi = min(lo + plan.lanes, n_lanes)
        wait(arrays[-1])
        for out, a in zip(flat, arrays, strict=True):
            block = np.asarray(a)[: hi - lo]
            if one_group:
                out[lo:hi] = block
            else:
                out[lo:hi, order[k0:k1]] = block[:, : k1 - k0]

    pending = None  # the last result, copied to the host while the next call runs
    for c in range(plan.calls):
        lo = c * plan.lanes
        x, lr = engine.put_lanes(*host_lanes(starts, learning_rates, lo, plan.lanes))
        for k0, k1, part, back, c_prev, c_last in groups:
            xs, vs = engine.buffers((plan.group + 1, rows, LANE_ROW), dtype)
            before = None
            for t0, t1 in windows(int(c_prev), c_last, plan.steps):
                x_next, xs, vs = engine.advance(x, lr, part, c_prev, itype(t0), itype(t1), xs, vs)
                # At most two calls in flight: this one, and the one before it, waited on.
                if before is not None:
                    wait(before)
                before, x = x_next, x_next
                if bar is not None:
                    bar.update(min(n_lanes - lo, plan.lanes) * max(0, min(t1, c_last) - t0))
            result = engine.finish(xs, vs, back)
            if pending is not None:
                collect(*pending)
            pending = (lo, k0, k1, result)
    if pending is not None:
        collect(*pending)


def progress_bar(progress: bool | None, total: int, desc: str):
    """A tqdm bar over ``total`` gradient steps, or None (see ``jaxgd.sweep``'s ``progress``)."""
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


def lane_steps(n_lanes: int, max_epoch: int) -> int:
    """Cost of a one-call sweep on a CPU in lane-steps, padding and loop overhead included."""
    return (rows_for(n_lanes) * LANE_ROW + _chunking.CPU_STEP_OVERHEAD) * (max_epoch + 1)
