"""Every (start, learning rate, epoch count) of gradient descent in one compiled call."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

try:
    from jax import shard_map
except ImportError:  # jax < 0.6.1 has it only under experimental
    from jax.experimental.shard_map import shard_map

from jaxgd import _chunking, _sharding
from jaxgd._validate import as_epochs, as_float_axis, check_function, default_float, is_concrete
from jaxgd.result import SweepResult, function_name

__all__ = ["sweep"]

Arrays = tuple[jax.Array, jax.Array, jax.Array]


#: Lanes per row of the (rows, 64) array the descent steps. On a CPU, compiled element-wise
#: loops run whole SIMD vectors and finish with a scalar remainder, and the two can round sin,
#: exp or a fused multiply-add differently. 64 is a multiple of every SIMD width times its
#: unrolling (4, 8 or 16 lanes, up to 4 at a time), so every lane takes the same path however
#: many starts share a call: a chunked or multi-device sweep equals the single call bit for bit.
LANE_ROW = 64


def _descend_lanes(
    f: Callable, starts: jax.Array, learning_rates: jax.Array, epochs: jax.Array
) -> Arrays:
    """The engine: ``final``, ``value``, ``diverged`` of shape (S, L, E) for 1-D axes.

    Every (start, rate) pair is one lane, and one descent steps all lanes at once. The epoch
    counts are sorted; the descent runs in segments between consecutive counts (a ``fori_loop``
    per segment inside a ``scan``) and the position after each segment is a snapshot:
    ``S * L * max(E)`` steps in all, whatever the number and order of the counts.
    """
    n_starts, n_rates = starts.shape[0], learning_rates.shape[0]
    n_lanes = n_starts * n_rates
    rows = -(-n_lanes // LANE_ROW)

    def lanes(a: jax.Array) -> jax.Array:
        # Padding lanes repeat the last real lane: finite, and dropped at the end.
        a = jnp.concatenate([a, jnp.broadcast_to(a[-1], (rows * LANE_ROW - n_lanes,))])
        return a.reshape(rows, LANE_ROW)

    x0 = lanes(jnp.repeat(starts, n_rates))
    lr = lanes(jnp.tile(learning_rates, n_starts))
    order = jnp.argsort(epochs, stable=True)
    lengths = jnp.diff(epochs[order], prepend=0)
    grad = jax.vmap(jax.vmap(jax.grad(f)))
    value_and_grad = jax.vmap(jax.vmap(jax.value_and_grad(f)))

    def step(_, x):
        return x - lr * grad(x)

    def segment(x, n):
        # The segment's first step evaluates f where the previous segment ended, as a by-product
        # of the gradient: that is the previous snapshot's value, with no second pass of f over
        # the (S, L, E) result. A segment of length 0 (a duplicate count, or 0) keeps x.
        v, g = value_and_grad(x)
        x = jnp.where(n > 0, x - lr * g, x)
        x = jax.lax.fori_loop(0, jnp.maximum(n - 1, 0), step, x)
        return x, (x, v)

    # One more segment, of length 0, yields f after the last count the same way: f computed
    # anywhere else (fused into the transpose below, say) could differ in the last bit.
    _, (xs, vs) = jax.lax.scan(segment, x0, jnp.append(lengths, 0))
    xs, vs = xs[:-1], vs[1:]

    back = jnp.argsort(order)  # where each requested count sits among the sorted ones

    def cells(a: jax.Array) -> jax.Array:
        # Back to the caller's epoch order: a gather of whole slabs on the leading axis, then
        # one transpose, rather than a scatter along the minor axis of the (S, L, E) result.
        a = a.reshape(a.shape[0], -1)[:, :n_lanes].reshape(-1, n_starts, n_rates)
        return jnp.moveaxis(a[back], 0, -1)

    final, value = cells(xs), cells(vs)
    return final, value, ~jnp.isfinite(final)


@partial(jax.jit, static_argnums=0)
def _sweep_arrays(
    f: Callable, starts: jax.Array, learning_rates: jax.Array, epochs: jax.Array
) -> SweepResult:
    """The sweep on one device, as one jitted function of traced arrays.

    The coordinates leave as outputs of the same call: copying them inside costs less than
    converting them to JAX arrays one by one outside.
    """
    final, value, diverged = _descend_lanes(f, starts, learning_rates, epochs)
    return SweepResult(
        final, value, diverged, starts, learning_rates, epochs, function=function_name(f)
    )


@partial(jax.jit, static_argnums=(0, 1))
def _sweep_sharded(
    f: Callable, mesh: Mesh, starts: jax.Array, learning_rates: jax.Array, epochs: jax.Array
) -> Arrays:
    """The sweep with the start axis split over the devices of ``mesh``.

    Each device runs the single-device engine on its own block of starts; descent never mixes
    starts, so no data moves between devices.
    """
    run = shard_map(
        partial(_descend_lanes, f),
        mesh=mesh,
        in_specs=(PartitionSpec(_sharding.AXIS), PartitionSpec(), PartitionSpec()),
        out_specs=PartitionSpec(_sharding.AXIS),
    )
    return run(starts, learning_rates, epochs)


# Functions already traced once by check_function, per dtype: validating f costs a trace
# (~0.3 ms), as much as a whole small sweep, and jit's own cache assumes f is unchanged anyway.
_checked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check_function_once(f: Callable, dtype: np.dtype) -> None:
    try:
        if dtype in _checked.get(f, ()):
            return
    except TypeError:  # not weak-referenceable or not hashable: check every time
        check_function(f, dtype)
        return
    check_function(f, dtype)
    _checked.setdefault(f, set()).add(dtype)


def sweep(
    f: Callable[[jax.Array], jax.Array],
    starts: float | jax.Array | np.ndarray,
    learning_rates: float | jax.Array | np.ndarray,
    epochs: int | jax.Array | np.ndarray,
    *,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Gradient descent for every start, learning rate and epoch count, in one compiled call.

    For each (start, rate) pair, one descent runs ``max(epochs)`` steps of
    ``x <- x - rate * f'(x)`` (``f'`` from ``jax.grad``) and the position after each requested
    epoch count is read off that one trajectory: ``S * L * max(E)`` gradient steps in all, not
    ``S * L * sum(E)`` as rerunning each cell would take.

    Only ``f`` is static: new values for ``starts``, ``learning_rates`` or ``epochs`` with the
    same shapes reuse the compiled code. Computation is in float32 by default and in float64
    after ``jax.config.update("jax_enable_x64", True)``.

    A run that overflows is data, not an error: it is flagged in ``result.diverged`` and leaves
    every other cell untouched.

    Large sweeps: when one call's working memory (about ``S * L * E * (4 * itemsize + 1)``
    bytes, see ``docs/scaling.md``) would exceed ``memory_budget``, the start axis is split into
    equal chunks that one compiled function runs in turn, and the result is assembled in host
    memory. With several devices (GPUs, or CPU devices from ``jax_num_cpu_devices``) each call
    splits its starts over all of them. Results are bit-for-bit the same either way.

    Args:
        f: the function to minimise, ``f(x) -> scalar``, written with ``jax.numpy``.
        starts: start points, a scalar or shape ``(S,)``.
        learning_rates: step sizes, non-negative, a scalar or shape ``(L,)``.
        epochs: step counts, non-negative whole numbers in any order, a scalar or shape ``(E,)``.
            Duplicates are fine, 0 is the start itself, and integral floats such as
            ``np.round(np.linspace(10, 500, 40))`` are accepted.
        chunk_size: starts per compiled call. None (the default) chooses it from
            ``memory_budget``: the whole sweep in one call when it fits. Rounded up to a
            multiple of the number of devices.
        memory_budget: bytes one call may use on each device. None: half the device's free
            memory on a GPU or TPU, 1 GiB on a CPU.
        devices: the devices to split the start axis over. None: every device of this process
            (``jax.local_devices()``); pass ``jax.devices()[:1]`` to use one.
        progress: a progress bar (tqdm, on stderr) while a sweep in chunks or over several
            devices runs. None: only when stderr is a terminal and the run takes over a
            second; True: always; False: never. A sweep in one call on one device has none.

    Returns:
        A :class:`~jaxgd.SweepResult` whose ``final``, ``value`` and ``diverged`` have shape
        ``(S, L, E)``, axes in the caller's order (a scalar argument is an axis of length 1).
        On one device in one call its arrays are JAX arrays on that device; otherwise (in
        chunks, or over several devices) they are NumPy arrays assembled in host memory.

    Raises:
        TypeError, ValueError: for a bad ``f`` or argument, before anything is compiled; the
            message names the argument and the fix. Inside a caller's ``jax.jit`` the checks
            that need concrete values are skipped, and ``chunk_size`` and ``devices`` are
            refused (``jit`` then decides placement).
        MemoryError: when the assembled result of a chunked sweep would not fit in the host's
            available memory.

    Example:
        >>> import jax.numpy as jnp
        >>> import numpy as np
        >>> import jaxgd
        >>> def f(x):
        ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> res = jaxgd.sweep(f, starts=jnp.linspace(-5, 5, 50),
        ...                   learning_rates=jnp.linspace(1e-10, 0.1, 50),
        ...                   epochs=np.round(np.linspace(10, 500, 40)))
        >>> res.final.shape
        (50, 50, 40)
        >>> cell = res.sel(start=-1.0, learning_rate=0.1, epochs=500, method="nearest")
        >>> round(float(cell.final), 2)
        -1.43
        >>> chunked = jaxgd.sweep(f, jnp.linspace(-5, 5, 50), jnp.linspace(1e-10, 0.1, 50),
        ...                       np.round(np.linspace(10, 500, 40)), chunk_size=16)
        >>> bool((chunked.final == np.asarray(res.final)).all())
        True
    """
    dtype = default_float()
    _check_function_once(f, dtype)
    starts = as_float_axis("starts", starts, dtype)
    learning_rates = as_float_axis("learning_rates", learning_rates, dtype, nonnegative=True)
    epochs = as_epochs("epochs", epochs)

    if not all(is_concrete(a) for a in (starts, learning_rates, epochs)):
        for arg, value in (("chunk_size", chunk_size), ("devices", devices)):
            if value is not None:
                raise ValueError(
                    f"{arg} needs concrete inputs, but jaxgd.sweep is being traced (inside "
                    "jax.jit, vmap or grad). Call jaxgd.sweep outside the transformation (it "
                    f"compiles its own calls), or drop {arg}= and let jit place the work."
                )
        return _sweep_arrays(f, starts, learning_rates, epochs)

    if (
        chunk_size is None
        and memory_budget is None
        and devices is None
        and _chunking.call_bytes(
            starts.shape[0], learning_rates.shape[0], epochs.shape[0], dtype.itemsize
        )
        <= _chunking.SMALL_CALL
        and jax.local_device_count() == 1
    ):
        # Small enough for any device: skip the planning, a measurable share of a small sweep.
        return _sweep_arrays(f, starts, learning_rates, epochs)

    devs = _sharding.resolve_devices(devices)
    plan = _chunking.plan(
        n_starts=starts.shape[0],
        n_rates=learning_rates.shape[0],
        n_epochs=epochs.shape[0],
        dtype=dtype,
        n_devices=len(devs),
        chunk_size=chunk_size,
        memory_budget=memory_budget,
        device=devs[0],
    )
    if plan.calls == 1 and len(devs) == 1:
        if devices is not None:
            starts, learning_rates, epochs = jax.device_put(
                (starts, learning_rates, epochs), devs[0]
            )
        return _sweep_arrays(f, starts, learning_rates, epochs)
    outs = _chunking.run_chunks(
        _on_devices(f, devs, learning_rates, epochs),
        starts,
        plan,
        n_rates=learning_rates.shape[0],
        n_epochs=epochs.shape[0],
        dtype=dtype,
        progress=progress,
    )
    return SweepResult(*outs, starts, learning_rates, epochs, function=function_name(f))


def _on_devices(
    f: Callable, devices: tuple[jax.Device, ...], learning_rates: np.ndarray, epochs: np.ndarray
) -> Callable[[np.ndarray], Arrays]:
    """The compiled sweep of a block of starts on ``devices``; rates and epochs placed once."""
    if len(devices) == 1:
        (device,) = devices
        rates, counts = jax.device_put((learning_rates, epochs), device)

        def one(starts: np.ndarray) -> Arrays:
            res = _sweep_arrays(f, jax.device_put(starts, device), rates, counts)
            return res.final, res.value, res.diverged

        return one
    mesh = _sharding.mesh_for(devices)
    rates, counts = jax.device_put((learning_rates, epochs), _sharding.replicated(mesh))

    def several(starts: np.ndarray) -> Arrays:
        return _sweep_sharded(f, mesh, jax.device_put(starts, _sharding.split(mesh)), rates, counts)

    return several
