"""Every (start, learning rate, epoch count) of gradient descent in one compiled call.

More axes multiply the lanes of the same call: optimisers (optax), their hyperparameters, and
parameters of ``f``; and a position may be a point of R^d (see :mod:`jaxgd._axes`).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd import _axes, _chunking, _pool, _rule, _run, _sharding, fastmath
from jaxgd._run import LANE_ROW as LANE_ROW  # benchmarks lay out their baseline's lanes alike
from jaxgd._validate import (
    MAX_EPOCHS,
    _read,
    as_epochs,
    as_float_axis,
    check_function,
    default_float,
    default_int,
    holds_tracer,
    in_trace,
    is_concrete,
    trace_settings,
)
from jaxgd.result import SweepResult, function_name

__all__ = ["release_memory", "sweep"]


@partial(jax.jit, static_argnums=0)
def _sweep_arrays(rules: tuple[_rule.Rule, ...], ax: dict, counts: jax.Array):
    """The whole sweep as one compiled call: every rule (optimiser) in turn, stacked.

    ``counts``: the epoch counts, sorted. Returns :func:`jaxgd._run.finish`'s arrays with a
    leading axis O: snapshot-major in the order of ``counts``, padding lanes included;
    :func:`_cells` and :func:`_result` make the caller's layout from them.
    """
    return _stacked_cells(rules, ax, counts)


@partial(jax.jit, static_argnums=0, donate_argnums=3)
def _sweep_into(rules: tuple[_rule.Rule, ...], ax: dict, counts: jax.Array, into: tuple):
    """:func:`_sweep_arrays` written into ``into``: buffers of its outputs' shapes, which the
    call consumes and whose memory its outputs are (see :mod:`jaxgd._pool`). The same bits."""
    return _stacked_cells(rules, ax, counts, into)


def _stacked_cells(rules: tuple[_rule.Rule, ...], ax: dict, counts: Any, into: Any = None):
    """Every rule's :func:`jaxgd._run.sweep_cells`, stacked. One rule writes its snapshots
    into ``into`` where given; several are stacked after, and only the stacked outputs reuse
    that memory."""
    one = None if into is None or len(rules) > 1 else (into[0][0], into[1][0])
    outs = [_run.sweep_cells(rule, ax, counts, into=one) for rule in rules]
    return tuple(jnp.stack(parts) for parts in zip(*outs, strict=True))


def release_memory() -> None:
    """Give back the memory that large sweep results left behind for reuse.

    A sweep whose result takes 8 MiB or more writes it into the memory of a result dropped
    before, where one of the same shapes is free: new memory would cost the operating
    system's fresh pages, 15 to 25 ms on a 45 MB result. So jaxgd keeps referring to the
    outputs of its last two such sweeps (up to 256 MiB each) after the caller drops them.
    Memory that anything still refers to (a result, an array or a view taken from one) is
    never written. This drops what is kept; nothing else changes, and later sweeps keep
    their results again.

    Example:
        >>> import numpy as np, jax.numpy as jnp, jaxgd
        >>> res = jaxgd.sweep(jnp.sin, np.linspace(-3, 3, 200), np.linspace(0, 0.1, 50),
        ...                   np.arange(1, 101))
        >>> del res  # the memory stays, for the next sweep of these shapes
        >>> jaxgd.release_memory()  # given back
    """
    _pool.release()


def _out_specs(
    n_rules: int,
    n_epochs: int,
    n_lanes: int,
    point: tuple[int, ...],
    dtype: np.dtype,
    least: int,
) -> tuple[_pool.Spec, ...]:
    """The shapes and dtypes of :func:`_sweep_arrays`'s outputs (``least``: the fewest rows)."""
    lanes = (n_rules, n_epochs, _run.rows_for(n_lanes, least) * LANE_ROW)
    return ((*lanes, *point), dtype), (lanes, dtype), (lanes, np.dtype(bool))


def _compute(
    rules: tuple[_rule.Rule, ...],
    ax: dict,
    counts: Any,
    specs: tuple[_pool.Spec, ...],
    device: jax.Device | None = None,
) -> tuple[jax.Array, ...]:
    """One compiled call of the whole sweep (arguments already on ``device``, if given), its
    outputs of ``specs``: a large result is written into the memory of one dropped before."""
    if _pool.nbytes(specs) < _pool.MIN_BYTES:
        return _sweep_arrays(rules, ax, counts)
    out = _sweep_into(rules, ax, counts, _pool.take(specs, device))
    _pool.keep(specs, device, out)
    return out


#: Relative cost of one step of a lane that carries an optimiser's state, for the work budget.
_OPTIMIZER_COST = 4


def shape_of(value: Any, name: str, wanted: str) -> tuple[int, ...]:
    """The shape ``value`` would have as an array, or () when it cannot be read as one.

    Nested sequences of uneven lengths are refused here, naming ``name`` and saying what it
    must be (``wanted``): which shape ``f`` is checked on depends on this one, and a function
    of points checked on a scalar would fail and be blamed for the uneven rows.
    """
    if isinstance(value, jax.core.Tracer):
        return value.shape
    if isinstance(value, list | tuple) and holds_tracer(value):
        # Numbers gathered inside a caller's jit ([x, y] of traced scalars): NumPy cannot read
        # a tracer, and () made a point of R^2 a scalar start, f then blamed for indexing it.
        value = jax.tree.map(
            lambda v: np.zeros(v.shape) if isinstance(v, jax.core.Tracer) else v, value
        )
    try:
        return tuple(np.shape(value))
    except ValueError:
        if isinstance(value, list | tuple):  # NumPy's "inhomogeneous shape"
            raise ValueError(
                f"{name} must be {wanted}; got a nested sequence of uneven lengths or depths. "
                "Give every point the same number of coordinates, or pass a flat list of numbers."
            ) from None
        return ()
    except Exception:  # unreadable: the value check reports it
        return ()


def refuse_empty(
    f: Callable, shape: tuple, dtype: np.dtype, theta: Any, message: str, *, batched: bool
) -> None:
    """Refuse starts (or x0) of ``shape`` holding no numbers with ``message``; but f first,
    the first argument, when it is itself no function of a scalar nor of a point: tried on
    a start of no numbers, an f that indexes x (``p[0]``) was blamed for empty starts, and
    checking the starts first named them for an f that is bad too."""
    d = shape[-1] if len(shape) == 2 and shape[-1] else 1
    first = None
    for point in ((), (d,)):
        try:
            check_function(f, dtype, shape=point, theta=theta, batched=batched)
            break
        except (TypeError, ValueError) as e:
            first = first or e
    else:
        raise first
    raise ValueError(message)


def _theta_shape(theta: Any) -> Any:
    """The shape of theta for a message: its one leaf's, or the list of its leaves'."""
    shapes = [tuple(leaf.shape) for leaf in jax.tree.leaves(theta)]
    return shapes[0] if len(shapes) == 1 else shapes


def theta_hint(theta: Any, point: tuple, each: str = "") -> str:
    """A hint for an f(x, theta) refused on x of shape ``point`` but not on a scalar x: it
    may pass on a scalar only because theta broadcasts with it, so theta's shape may be the
    slip rather than x's. ``each``: how the shape is introduced ("each theta is ")."""
    return (
        f"If theta is read with x, check that its shape ({each}{_theta_shape(theta)}, from "
        f"params=) fits x of shape {point}."
    )


def check_point_function(f: Callable, shape: tuple, dtype: np.dtype, theta: Any, name: str):
    """Check ``f`` for starts of ``shape``; return the shape of one x: () or (d,).

    2-D starts are points of R^d. 1-D starts are scalar starts, unless ``f`` does not take a
    scalar but takes a vector of that length: then they are one point.
    """
    if len(shape) == 2:
        point = (int(shape[1]),)
        try:
            check_function(f, dtype, shape=point, theta=theta)
        except (TypeError, ValueError) as e:
            scalar_ok = True
            try:  # a function of a scalar given points by mistake: then name the starts
                check_function(f, dtype, theta=theta)
            except (TypeError, ValueError):
                scalar_ok = False
            if not scalar_ok:
                raise
            fix = f"For {shape[0] * shape[1]} scalar starts pass a 1-D array (np.ravel({name}))."
            if theta is not None:  # raveling the starts may be the wrong fix
                fix = f"{theta_hint(theta, point, 'each theta is ')} {fix}"
            raise type(e)(
                f"{name} has shape {shape}: {shape[0]} point{'' if shape[0] == 1 else 's'} of "
                f"R^{shape[1]}, so f is called on x of shape {point}, and {e} {fix}"
            ) from e
        return point
    try:
        check_function(f, dtype, theta=theta)
    except (TypeError, ValueError) as e:
        vector_ok = len(shape) == 1 and shape[0] > 1
        if vector_ok:
            try:
                check_function(f, dtype, shape=(int(shape[0]),), theta=theta)
            except (TypeError, ValueError):
                vector_ok = False
        if not vector_ok:
            blame_theta_shape(f, dtype, theta, e)
            raise
        return (int(shape[0]),)
    return ()


def blame_theta_shape(
    f: Callable, dtype: np.dtype, theta: Any, error: Exception, *, batched: bool = True
) -> None:
    """Name params where ``f`` fails on a scalar x with theta an array but works with a
    scalar theta, instead of ``error`` telling to reduce f's output: a theta of shape (k,)
    broadcast with x (f returned shape (k,)). ``batched``: theta is one run's of a sweep
    (params of shape (P, k)), else :func:`jaxgd.descend`'s one theta."""
    if theta is None or not any(leaf.shape for leaf in jax.tree.leaves(theta)):
        return
    scalar = jax.tree.map(lambda leaf: jax.ShapeDtypeStruct((), leaf.dtype), theta)
    try:
        check_function(f, dtype, theta=scalar, batched=batched)
    except (TypeError, ValueError):
        return
    one = _theta_shape(theta)
    if batched:
        fix = (
            f"params gives each run a theta of shape {one} (its leading axis is the 'param' "
            "dimension): for scalar parameter values pass a 1-D array (np.ravel(params) if "
            "every entry is one)"
        )
    else:
        fix = (
            f"params is one theta, here of shape {one}: pass one number for a scalar "
            "parameter (jaxgd.sweep(..., params=values) runs many)"
        )
    raise type(error)(
        f"{error} f works with a scalar theta, but {fix}, or make f read the entries of "
        "theta (theta[0], ...)."
    ) from error


def check_function_for_ragged(f: Callable, starts: Any, dtype: np.dtype, theta: Any) -> None:
    """Raise ``f``'s own error where it fails whatever a point of the uneven sequence
    ``starts`` is: a scalar, a vector of 1 to 8 coordinates, or of as many as one of its
    entries has. ``f`` is the first argument, and a bad one (not differentiable, raising)
    is named before the starts; where ``f`` takes one of those shapes (a function of R^2
    given ``[[1.0, 2.0], [3.0]]``), return: the uneven starts are the error."""
    lengths = set(range(1, 9))
    for entry in starts:
        try:
            shape = shape_of(entry, "starts", "")  # entries may be traced: not np.shape
        except ValueError:  # uneven inside the entry too
            continue
        if len(shape) == 1:
            lengths.add(int(shape[0]))
        if len(lengths) == 12:
            break
    first = None
    for shape in [(), *((n,) for n in sorted(lengths))]:
        try:
            check_function(f, dtype, shape=shape, theta=theta)
            return
        except (TypeError, ValueError) as e:
            first = first or e
    raise first


#: What points of R^d must be, for the errors of reading them ("a 1-D list" was wrong there).
_POINTS_WANTED = (
    "starts must be (S, d) points of R^d, numbers, e.g. starts=[[0.0, 0.5], [1.0, 2.0]]"
)


def _as_starts(starts: Any, point: tuple, dtype: np.dtype) -> Any:
    """Starts as (S,) for a scalar x, or (S, *point) for points of R^d."""
    if not point:
        return as_float_axis("starts", starts, dtype)
    if isinstance(starts, np.ma.MaskedArray) and starts.ndim == 2 and np.ma.is_masked(starts):
        # starts.compressed(), the fix for an axis, flattens points into their coordinates.
        raise ValueError(
            "starts has masked entries; keep the whole points, "
            "starts[~np.ma.getmaskarray(starts).any(axis=1)].data, or pass starts.filled(v)."
        )
    arr = _read("starts", starts, whole=False, wanted=_POINTS_WANTED)
    if len(arr.shape) > 2:
        raise ValueError(
            f"starts must be a scalar, (S,) scalar starts, or (S, d) points of R^d; got shape "
            f"{tuple(arr.shape)}. Reshape it to (-1, d)."
        )
    try:
        return as_float_axis("starts", arr.reshape(-1), dtype).reshape(-1, *point)
    except ValueError:
        if is_concrete(arr):
            _refuse_non_finite_point(arr, point)
        raise


def _refuse_non_finite_point(arr: np.ndarray, point: tuple) -> None:
    """Refuse starts with a NaN/inf coordinate, naming the point and the coordinate (the
    entry of the flattened starts would be read as starts[entry], another point).

    Called only once the starts are refused: the float64 copy it reads them in doubled the
    time to check good starts, which the check of the flat array passes without it.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        rows = np.asarray(arr, np.float64).reshape(-1, *point)
    bad = ~np.isfinite(rows)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"starts must be finite; point {i} is {rows[i].tolist()} (coordinate {j} is "
            f"{rows[i, j]}). Remove the points with NaN/inf coordinates "
            "(np.isfinite(starts).all(axis=1) finds the good ones)."
        ) from None


def _checked(
    f: Callable,
    starts: Any,
    learning_rates: Any,
    epochs: Any,
    optimizer: Any,
    hyperparams: Any,
    schedule: Any,
    params: Any,
    progress: Any,
    fast_math: Any,
) -> tuple[np.dtype, bool, _axes.Axes, Any, Any, Any]:
    """:func:`sweep`'s checks of its arguments, in its order (nothing is compiled): the
    float dtype, the default math, the axes (with the point's shape) and the starts, rates
    and epoch counts as arrays."""
    dtype = default_float()
    if not callable(f):  # f is the first argument: named first
        check_function(f, dtype)
    fast_default = _run.fast_math_for(fast_math, dtype)
    _run.check_progress(progress)
    axes = _axes.prepare(
        f=f,
        fast=fast_default,
        optimizer=optimizer,
        hyperparams=hyperparams,
        schedule=schedule,
        params=params,
        point=(),
        dtype=dtype,
    )
    try:
        shape = shape_of(starts, "starts", "a scalar, (S,) scalar starts or (S, d) points of R^d")
    except ValueError:
        check_function_for_ragged(f, starts, dtype, _axes.theta_spec(axes))
        raise
    if len(shape) > 2:
        raise ValueError(
            f"starts must be a scalar, (S,) scalar starts, or (S, d) points of R^d; got shape "
            f"{shape}. Reshape it to (-1, d) for points of R^d."
        )
    if 0 in shape:  # before f is checked on a start: f(x) of no numbers is blamed on f
        empty = "no points" if shape[0] == 0 else "points of R^0, with no coordinates"
        message = (
            "starts is empty; pass at least one value (an axis of length >= 1)."
            if len(shape) == 1
            else f"starts of shape {shape} holds {empty}; pass (S, d) with S >= 1 points of "
            "d >= 1 coordinates each."
        )
        refuse_empty(f, shape, dtype, _axes.theta_spec(axes), message, batched=True)
    point = check_point_function(f, shape, dtype, _axes.theta_spec(axes), "starts")
    starts = _as_starts(starts, point, dtype)
    if point != axes.point:
        axes = dataclasses.replace(axes, point=point)  # the rules do not depend on it
    learning_rates = as_float_axis("learning_rates", learning_rates, dtype, nonnegative=True)
    epochs = as_epochs("epochs", epochs)
    _axes.check_rules(axes, dtype)
    return dtype, fast_default, axes, starts, learning_rates, epochs


def check_arguments(
    f: Callable, starts: Any, learning_rates: Any, epochs: Any, **options: Any
) -> None:
    """Refuse what :func:`sweep` would refuse of these arguments before it computes, without
    computing or compiling anything: for a caller that makes its own inputs first (drawing
    starts compiles a program) and must refuse bad arguments before that. ``options`` are
    sweep's keyword arguments; one it does not take is a TypeError naming it."""
    taken = list(inspect.signature(sweep).parameters)[4:]
    unknown = sorted(set(options) - set(taken))
    if unknown:
        raise TypeError(
            f"{unknown[0]!r} is not a keyword argument of jaxgd.sweep; check its spelling "
            f"(jaxgd.sweep takes {', '.join(taken)})"
        )
    get = options.get
    _checked(
        f,
        starts,
        learning_rates,
        epochs,
        get("optimizer"),
        get("hyperparams"),
        get("schedule"),
        get("params"),
        get("progress"),
        get("fast_math"),
    )
    for name in ("chunk_size", "memory_budget"):
        if get(name) is not None:
            _chunking.check_positive_int(name, get(name))
    _sharding.resolve_devices(get("devices"))


@_run.interruptible
def sweep(
    f: Callable[..., jax.Array],
    starts: float | jax.Array | np.ndarray,
    learning_rates: float | jax.Array | np.ndarray,
    epochs: int | jax.Array | np.ndarray,
    *,
    optimizer: Callable | Mapping[str, Callable] | None = None,
    hyperparams: Mapping[str, Any] | None = None,
    schedule: Callable | None = None,
    params: Any = None,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool | None = None,
    fast_math: bool | None = None,
) -> SweepResult:
    """Gradient descent for every start, learning rate and epoch count.

    For each (start, rate) pair, one descent runs ``max(epochs)`` steps of
    ``x <- x - rate * f'(x)`` (``f'`` from ``jax.grad``) and the position after each requested
    epoch count is read off that one trajectory: ``S * L * max(E)`` gradient steps in all, not
    ``S * L * sum(E)`` as rerunning each cell would take.

    Only ``f`` is static: new values for ``starts``, ``learning_rates`` or ``epochs`` with the
    same shapes reuse the compiled code (a sweep whose longest epoch count first takes it into
    windows of steps compiles that program once). Computation is in float32 by default and in
    float64 after ``jax.config.update("jax_enable_x64", True)``; ``final`` and ``value``
    always have that dtype, whatever precision ``f`` computes in.

    A cell is diverged when its position or its value is not finite (the run overflowed, or f
    is NaN or infinite there). Divergence is data, not an error: it is flagged in
    ``result.diverged`` and leaves every other cell untouched. An optimiser's state is not
    looked at: where it overflows while the position stays finite (in float32, the squared
    gradient that Adam, RMSprop and Adagrad keep, once a gradient passes about 1.8e19),
    optax's update is 0 and the run stops where it is, unflagged, as it does in optax; in
    float64 it moves on.

    Planning: before anything is allocated, the sweep is cut into compiled calls that each fit
    ``memory_budget`` (working memory, about ``lanes * E * (4 * itemsize + 2)`` bytes for a
    plain descent in one variable, more with points of R^d or an optimiser's state, see
    ``docs/scaling.md``) and a work budget of 0.15 to 0.2 s on a CPU. Lanes of
    (start, rate) pairs are split into equal chunks; when even a few rows of lanes cannot hold
    every epoch count, the counts are taken in groups; and a long descent is split into
    windows of steps, each call continuing where the last stopped. With several devices (GPUs,
    or CPU devices from ``jax_num_cpu_devices``) each call splits its lanes over all of them.
    Results are bit-for-bit the same however the work is split (with optax's optimisers; an
    optimiser of your own whose update reduces over an axis of its state, such as a mean of
    the last gradients, may be compiled differently in one call and in split calls: last-bit
    differences). The whole result must fit in the host's available memory, or
    ``MemoryError`` is raised before anything runs.

    Math: on a CPU, ``sin`` and ``cos`` (and ``tan`` in float32) in the compiled step are
    computed by :mod:`jaxgd.fastmath`'s vectorised polynomials (within 1.3 ulp in float32 for
    arguments up to 25735 in size, 1.72 for ``tan``; 0.8 ulp in float64 up to 1.6e6), and so
    are ``atan``, ``atan2``, ``asin`` and ``acos`` (within 1.55 ulp everywhere), several
    times faster than XLA:CPU's scalar calls; GPUs and TPUs keep XLA's own. Beyond those
    sizes the error grows: in float32, sin and cos stay under 1.2e-7 (absolute) up to 1e6
    (tan, large near its poles, loses relative accuracy there: 2.6% at 8e5), and all three
    are noise past 2**24 (about 1.7e7).
    If ``f`` takes ``sin``, ``cos`` or ``tan`` of arguments that large, pass
    ``fast_math=False``.
    ``fast_math=False`` or the environment variable ``JAXGD_FAST_MATH=0`` turns it off;
    ``result.math`` says which was used. :func:`jaxgd.descend` uses the same rule, so a sweep
    of plain descent from scalar starts equals the vmapped descend bit for bit (a vmap of 128
    runs or more in float32, 64 in float64: XLA:CPU may compile a smaller loop on a path of
    its own); with an ``optimizer``, or for points of R^d (laid out otherwise by a vmap), they
    agree to an ulp or two a step (XLA compiles the step into each program its own way).

    Interrupting: calls are short and are waited on without blocking signals, so Ctrl-C
    raises ``KeyboardInterrupt`` within about a call's time (well under a second on a CPU for
    functions like the notebook's).

    More axes, in the same compiled call (each multiplies the runs; the epoch axis is still
    read off each run's one trajectory, and new values of any of them never recompile):

    - ``optimizer``: an optax optimiser instead of plain descent, e.g. ``optax.adam`` or
      ``functools.partial(optax.sgd, momentum=0.9)``, run with each learning rate of the axis;
      or a dict ``{name: optimiser}``, which adds a dimension ``"optimizer"``.
    - ``hyperparams``: ``{keyword: values}`` of the optimiser (through
      ``optax.inject_hyperparams``), a dimension per keyword.
    - ``schedule``: ``rate -> optax schedule``; each rate of the axis is then the schedule's
      peak, e.g. ``lambda rate: optax.exponential_decay(rate, 100, 0.5)``.
    - ``params``: values of a parameter ``theta`` of ``f(x, theta)``, a dimension ``"param"``.
    - ``starts`` of shape ``(S, d)``: ``f`` is a function on R^d; ``final`` gains a trailing
      dimension ``"coord"``.

    Args:
        f: the function to minimise, ``f(x) -> scalar``, written with ``jax.numpy``; with
            ``params``, ``f(x, theta) -> scalar``, x first (an ``f(theta, x)`` is refused
            where its parameter names or a theta that fits only first show it; otherwise it
            runs as another function). ``x`` is a scalar, or a ``(d,)`` vector when
            ``starts`` are points of R^d. ``f`` runs under ``jax.vmap``: a
            ``jax.pure_callback`` in it needs ``vmap_method`` (``"sequential"`` or
            ``"expand_dims"``), and an ``io_callback`` ``ordered=False``; either is refused
            before anything compiles otherwise.
        starts: start points, a scalar or shape ``(S,)``; or ``(S, d)`` points of R^d (a
            ``(d,)`` vector is one point when ``f`` takes vectors but not scalars).
        learning_rates: step sizes, non-negative, a scalar or shape ``(L,)``.
        epochs: step counts, non-negative whole numbers in any order, a scalar or shape ``(E,)``.
            Duplicates are fine, 0 is the start itself, and integral floats such as
            ``np.round(np.linspace(10, 500, 40))`` are accepted.
        chunk_size: starts per compiled call. None (the default) chooses the lanes of a call
            from ``memory_budget``: the whole sweep in one call when it fits. Rounded up to
            whole rows of 64 lanes on each device, two rows at least (a call of one row
            would be compiled otherwise, and its bits would depend on the split).
        memory_budget: bytes one call may use on each device. None: half the device's free
            memory on a GPU or TPU, 1 GiB on a CPU. No call is smaller than its least
            rows of 64 lanes with one epoch count: a budget below that (points of R^d
            with d in the hundreds of thousands and a budget of 1 MiB) gives those smallest
            calls, which use more.
        devices: the devices to split the lanes over. None: every device of this process
            (``jax.local_devices()``); pass ``jax.devices()[:1]`` to use one.
        progress: a progress bar (tqdm, on stderr) while a sweep of several calls runs. None:
            only when stderr is a terminal and the run takes over a second; True: always;
            False: never. A sweep in one call on one device has none.
        optimizer: None (plain descent, ``x <- x - rate * f'(x)``); a callable
            ``learning_rate -> optax.GradientTransformation``; or a dict of them by name.
        hyperparams: a dict ``{keyword: values}`` of 1-D values for keywords every optimiser
            takes (``b1`` for ``optax.adam``, ``momentum`` for ``optax.sgd``).
        schedule: a callable ``rate -> schedule``; step ``t`` uses ``schedule(rate)(t)``.
            The rate reaches it traced, so a schedule that branches on it in Python
            (``optax.warmup_cosine_decay_schedule`` compares its peak to 0) is refused
            before anything compiles: build it for a rate of 1 and scale it.
        params: values of ``theta``: a 1-D array (the coordinate of ``"param"`` is the
            values) or a pytree whose leaves share a leading axis (the coordinate is the index);
            nested lists of numbers are an array, a list or tuple of arrays is a pytree.
        fast_math: None (the default): vectorised ``sin``/``cos`` for float32 and float64
            (and ``tan`` for float32) on a CPU unless ``JAXGD_FAST_MATH=0``; True: always;
            False: XLA's own.

    Returns:
        A :class:`~jaxgd.SweepResult` whose ``final``, ``value`` and ``diverged`` have shape
        ``(S, L, E)``, axes in the caller's order (a scalar argument is an axis of length 1).
        With more axes, ``result.dims`` names them, in the order ``("optimizer",
        *hyperparams, "param", "start", "learning_rate", "epochs", "coord")`` where present;
        ``value`` and ``diverged`` lack ``"coord"``.
        Called outside a JAX transformation, every array of the result (data and coordinates)
        is a host NumPy array, whichever way the work was split, as from :func:`jaxgd.load`.
        They may be read-only views of the computed buffers (no copy is made): copy one to
        edit it in place, e.g. ``final = np.array(res.final)``.
        Inside a caller's ``jax.jit`` or ``vmap`` they are JAX (traced) arrays, computed in
        one call that ``jit`` places.

    Raises:
        TypeError, ValueError: for a bad ``f`` or argument, before anything is compiled; the
            message names the argument and the fix. Inside a caller's ``jax.jit`` the checks
            that need concrete values are skipped, and ``chunk_size`` and ``devices`` are
            refused (``jit`` then decides placement).
        MemoryError: when the result would not fit in the host's available memory; the
            message gives the size in GiB and what to do.
        KeyboardInterrupt: on Ctrl-C, within about one call's time.

    Example:
        >>> import jax.numpy as jnp
        >>> import numpy as np
        >>> import jaxgd
        >>> def f(x):
        ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> res = jaxgd.sweep(f, starts=jnp.linspace(-5, 5, 50),
        ...                   learning_rates=jnp.linspace(1e-10, 0.1, 50),
        ...                   epochs=np.round(np.linspace(10, 500, 40)))
        >>> res.final.shape, type(res.final).__name__, res.final.dtype
        ((50, 50, 40), 'ndarray', dtype('float32'))
        >>> cell = res.sel(start=-1.0, learning_rate=0.1, epochs=500, method="nearest")
        >>> round(float(cell.final), 2)
        -1.43
        >>> chunked = jaxgd.sweep(f, jnp.linspace(-5, 5, 50), jnp.linspace(1e-10, 0.1, 50),
        ...                       np.round(np.linspace(10, 500, 40)), chunk_size=16)
        >>> bool((chunked.final == res.final).all())
        True

        Optimisers and a hyperparameter as axes, and a function on R^2:

        >>> import functools, optax
        >>> opts = {"sgd": optax.sgd, "momentum": functools.partial(optax.sgd, momentum=0.9)}
        >>> res = jaxgd.sweep(f, jnp.linspace(-5, 5, 11), [0.01, 0.1], [10, 100], optimizer=opts)
        >>> res.dims, res.final.shape
        (('optimizer', 'start', 'learning_rate', 'epochs'), (2, 11, 2, 2))
        >>> res = jaxgd.sweep(f, 0.0, 0.1, 300, optimizer=optax.adam,
        ...                   hyperparams={"b1": [0.5, 0.9]})
        >>> [round(float(x), 3) for x in res.final.ravel()]
        [-1.429, -1.429]
        >>> def bowl(p):
        ...     return (p[0] - 1) ** 2 + 2 * (p[1] + 0.5) ** 2
        >>> res = jaxgd.sweep(bowl, [[0.0, 0.0], [3.0, 3.0]], 0.1, 200)
        >>> res.dims, res.final[:, 0, 0].round(3).tolist()
        (('start', 'learning_rate', 'epochs', 'coord'), [[1.0, -0.5], [1.0, -0.5]])
    """
    plain_call = (
        optimizer is None
        and hyperparams is None
        and schedule is None
        and params is None
        and chunk_size is None
        and memory_budget is None
        and devices is None
        and progress is None
        and fast_math is None
    )
    given = (_host(starts), _host(learning_rates), _host(epochs)) if plain_call else None
    if given is not None:
        done = _repeat(f, given)
        if done is not None:
            return done
    dtype, fast_default, axes, starts, learning_rates, epochs = _checked(
        f,
        starts,
        learning_rates,
        epochs,
        optimizer,
        hyperparams,
        schedule,
        params,
        progress,
        fast_math,
    )
    point = axes.point
    name = function_name(f)
    lane_values = [starts, learning_rates, epochs, *jax.tree.leaves((axes.hyper, axes.theta))]

    if memory_budget is not None:  # checked in every path: it needs no concrete input
        memory_budget = _chunking.check_positive_int("memory_budget", memory_budget)
    if in_trace() or not all(is_concrete(a) for a in lane_values):
        for arg, value in (("chunk_size", chunk_size), ("devices", devices)):
            if value is not None:
                raise ValueError(
                    f"{arg} needs concrete inputs, but jaxgd.sweep is being traced (inside "
                    "jax.jit, vmap or grad). Call jaxgd.sweep outside the transformation (it "
                    f"compiles its own calls), or drop {arg}= and let jit place the work."
                )
        ax = axes.lane_axes(jnp.asarray(starts), jnp.asarray(learning_rates))
        epochs = jnp.asarray(epochs)
        order = jnp.argsort(epochs, stable=True)
        out = _sweep_arrays(axes.rules, ax, epochs[order])
        out = _cells(out, _run.lane_count(ax), order, jnp)
        coords = (jnp.asarray(starts), jnp.asarray(learning_rates), epochs)
        return _result(out, axes, *coords, name, fast_default, xp=jnp)

    if chunk_size is not None:
        chunk_size = _chunking.check_positive_int("chunk_size", chunk_size)
    n_starts, n_rates, n_epochs = starts.shape[0], learning_rates.shape[0], epochs.shape[0]
    n_lanes = math.prod(axes.lane_sizes) * n_starts * n_rates
    n_rules, last = len(axes.rules), int(epochs.max())
    width = math.prod(point)
    carry = _axes.state_items(axes, dtype) if not axes.plain else 0
    cost = width * (_OPTIMIZER_COST if axes.rules[0].stateful else 1)
    ax = axes.lane_axes(starts, learning_rates)
    least = _run.least_rows(ax)
    if (
        chunk_size is None
        and memory_budget is None
        and devices is None
        and _one_small_call(
            n_rules,
            n_lanes,
            n_epochs,
            last,
            dtype,
            fast_default,
            least,
            cost=cost,
            width=width,
            carry=carry,
        )
        and jax.local_device_count() == 1
    ):
        # Small enough for any device, and short: skip the planning, a measurable share of a
        # small sweep.
        res = _one_call(axes, ax, n_lanes, epochs, name, fast_default, None)
        if plain_call and axes.plain:
            _remember(f, given, dtype, axes.rules, name, fast_default, least)
        return res

    devs = _sharding.resolve_devices(devices)
    fast = _run.fast_math_for(fast_math, dtype, devs[0].platform)
    if fast != fast_default:
        axes = dataclasses.replace(
            axes, rules=tuple(dataclasses.replace(r, fast=fast) for r in axes.rules)
        )
    cells = " x ".join(map(str, _shape(axes, n_starts, n_rates, n_epochs)))
    plan = _chunking.plan_sweep(
        n_lanes=n_lanes,
        n_epochs=n_epochs,
        n_cells=n_rules * n_lanes * n_epochs,
        itemsize=dtype.itemsize,
        devices=devs,
        lanes_per_call=None if chunk_size is None else chunk_size * n_rates,
        memory_budget=memory_budget,
        fast=fast,
        what=f"the result of this sweep ({cells} cells)",
        fix="Sweep fewer starts, rates or epoch counts at a time and save each part, or split "
        "the starts across machines with jaxgd.distributed.sweep(..., gather=False).",
        cost=cost,
        width=width,
        carry=carry,
        least=least,
    )
    if len(devs) == 1 and plan.calls == 1 and plan.groups == 1 and plan.windows(last) == 1:
        device = devs[0] if devices else None
        return _one_call(axes, ax, n_lanes, epochs, name, fast, device)
    bar = _run.progress_bar(progress, n_rules * n_lanes * last, "jaxgd.sweep")
    try:
        if n_rules == 1 and plan.calls == 1 and plan.groups == 1:
            # One call's lanes in windows of steps: the result is a view of its outputs, as in
            # _one_call, not a copy.
            engine = _run.Engine(axes.rules[0], devs)
            ((*_, out),) = _run.calls(engine, ax, epochs, plan, bar=bar)
            order = np.argsort(epochs, kind="stable")
            out = _cells(tuple(a[None] for a in out), n_lanes, order, np)
            return _result(out, axes, starts, learning_rates, epochs, name, fast, xp=np)
        outs = (  # snapshot-major, as the calls make them: _result transposes with a view
            np.empty((n_rules, n_epochs, n_lanes, *point), dtype),
            np.empty((n_rules, n_epochs, n_lanes), dtype),
            np.empty((n_rules, n_epochs, n_lanes), np.bool_),
        )
        for o, rule in enumerate(axes.rules):
            engine = _run.Engine(rule, devs)
            _run.drive(engine, ax, epochs, plan, tuple(a[o] for a in outs), bar=bar)
    finally:
        if bar is not None:
            bar.close()
    return _result(outs, axes, starts, learning_rates, epochs, name, fast, xp=np)


def _one_small_call(
    n_rules: int,
    n_lanes: int,
    n_epochs: int,
    last: int,
    dtype: np.dtype,
    fast: bool,
    least: int,
    *,
    cost: int = 1,
    width: int = 1,
    carry: int = 0,
) -> bool:
    """Whether a sweep is small enough for any device and short enough for one call: then it
    runs as one call without planning. ``last``: the largest epoch count."""
    size = n_rules * _chunking.call_bytes(n_lanes, n_epochs, dtype.itemsize, width, carry, least)
    if size > _chunking.SMALL_CALL:
        return False
    work = n_rules * cost * _run.lane_steps(n_lanes, last, least)
    return work <= _chunking.work_budget(jax.devices()[0], fast)


def _wait(out: tuple[jax.Array, ...], n_rules: int, n_lanes: int, last: int) -> None:
    """Wait for the outputs of one call of :func:`_sweep_arrays` (``last``: its largest count)."""
    # One execution's outputs are ready together: waiting on one is waiting on all.
    if n_rules * _run.lane_steps(n_lanes, last) > _run.BLOCKING_WORK:
        _run.wait(out[-1])
    else:
        # Waited on first: np.asarray of an array still being computed takes a slower path,
        # each time (about 30 us an array, a third of a small sweep's call).
        _run.wait_short(out[-1])


#: Plain sweeps of one call that passed every check, by :func:`_signature`: a repeated call
#: of the same kind (the notebook's grid swept again and again, in a study or a benchmark)
#: checks only its values. The structural checks (tracing f, the kinds and shapes of the
#: arguments, the settings, the plan) cost about as much as the descent on a small grid.
#: Cleared when full: it holds each f, as jit's cache of the compiled sweep already does.
_SEEN: dict[tuple, tuple] = {}
_SEEN_MAX = 64


def _signature(f: Callable, given: tuple[np.ndarray, ...]) -> tuple:
    """What the checks of a plain sweep depend on besides the values of its arguments: ``f``,
    the dtype and number of dimensions of each argument, the settings that decide how ``f``
    traces (x64 among them, so the float dtype too) and the environment's fast-math switch."""
    starts, rates, epochs = given
    return (
        f,
        starts.dtype,
        starts.ndim,
        rates.dtype,
        rates.ndim,
        epochs.dtype,
        epochs.ndim,
        trace_settings(),
        os.environ.get(fastmath.ENV_VAR),
    )


def _host(value: Any) -> np.ndarray | None:
    """``value`` as a NumPy array where it is one, a Python or NumPy number, or a concrete JAX
    array (read as the full path reads it); None for anything else (lists, masked arrays,
    tracers, bools), which the full path reads."""
    kind = type(value)
    if kind is np.ndarray:
        return value
    if kind is float or kind is int or isinstance(value, np.floating | np.integer):
        return np.asarray(value)
    if (
        isinstance(value, jax.Array)
        and not isinstance(value, jax.core.Tracer)
        and isinstance(value.dtype, np.dtype)  # not PRNG keys
        and value.dtype.kind in "fiu"
    ):
        try:
            return np.asarray(value)
        except Exception:  # deleted (donated), say: the full path names it
            return None
    return None


def _remember(
    f: Callable,
    given: tuple[np.ndarray | None, ...],
    dtype: np.dtype,
    rules: tuple[_rule.Rule, ...],
    name: str,
    fast: bool,
    least: int,
) -> None:
    """Remember a plain sweep of scalar starts that ran as one small call, when its
    arguments (as :func:`_host` reads them) are arrays of real numbers of at most one
    dimension. Only what holds for any values of the same signature is kept."""
    if not all(a is not None and a.dtype.kind in "fiu" and a.ndim <= 1 for a in given):
        return
    try:
        key = _signature(f, given)
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        _SEEN[key] = (
            dtype,
            default_int(),
            rules,
            name,
            fast,
            float(np.finfo(dtype).max),
            least,
        )
    except TypeError:  # an unhashable f: checked on every call
        pass


def _repeat(f: Callable, given: tuple[np.ndarray | None, ...]) -> SweepResult | None:
    """A plain sweep whose signature :func:`_remember` kept, run with the checks of its
    values only; None where anything is unlike that, for the full path to run (and raise).
    ``given``: the starts, rates and epochs as :func:`_host` reads them.

    The values pass here only where the full path accepts them as they are: finite starts
    and rates within the float dtype, rates >= 0, whole epoch counts within bounds and in
    order, no empty axis, and a grid that makes one small call. Anything else (a NaN, a
    negative rate, counts out of order, a large grid) takes the full path, which says what
    is wrong or plans the calls. The result is the full path's, bit for bit: the same casts,
    the same compiled call, the same views of its outputs.
    """
    starts, rates, epochs = given
    if starts is None or rates is None or epochs is None:
        return None
    try:
        entry = _SEEN.get(_signature(f, given))
    except TypeError:  # an unhashable f: the full path refuses it
        return None
    if entry is None or in_trace():
        return None
    dtype, int_dtype, rules, name, fast, top, least = entry
    if not (starts.size and rates.size and epochs.size):
        return None
    # As Python numbers (a float16 array cannot hold the bound). NaN fails every comparison;
    # inf and values beyond the dtype fail the bounds.
    if not (-top <= starts.min().item() and starts.max().item() <= top):
        return None
    if not (rates.min().item() >= 0 and rates.max().item() <= top):
        return None
    counts = epochs.reshape(-1)
    last = counts.max().item()
    if not (counts.min().item() >= 0 and last <= MAX_EPOCHS):
        return None
    if counts.dtype.kind == "f" and (counts % 1).any():
        return None
    if counts.size > 1 and (counts[1:] < counts[:-1]).any():
        return None  # the full path sorts them for the call
    x = starts.reshape(-1).astype(dtype)
    lr = rates.reshape(-1).astype(dtype)
    counts = counts.astype(int_dtype)
    n_starts, n_rates, n_epochs = x.shape[0], lr.shape[0], counts.shape[0]
    n_lanes = n_starts * n_rates
    if not _one_small_call(1, n_lanes, n_epochs, int(last), dtype, fast, least):
        return None
    specs = _out_specs(1, n_epochs, n_lanes, (), dtype, least)
    out = _compute(rules, {"hp": (), "theta": None, "x": x, "lr": lr}, counts, specs)
    _wait(out, 1, n_lanes, int(last))
    shape = (n_epochs, n_starts, n_rates)
    final, value, diverged = (
        np.asarray(a)[0, :n_epochs, :n_lanes].reshape(shape).transpose(1, 2, 0) for a in out
    )
    math_ = _run.math_name(fast)
    return SweepResult(final, value, diverged, x, lr, counts, function=name, math=math_)


def _shape(axes: _axes.Axes, n_starts: int, n_rates: int, n_epochs: int) -> tuple[int, ...]:
    """The result's shape, by the dims of ``axes``."""
    lead = (len(axes.rules),) if axes.optimizer_dim else ()
    return (*lead, *axes.lane_sizes, n_starts, n_rates, n_epochs, *axes.point)


def _cells(out: tuple[Any, ...], n_lanes: int, order: Any, xp: Any) -> tuple[Any, ...]:
    """:func:`_sweep_arrays`'s arrays as (O, E, N, ...): the positions at the E counts and the
    values and flags there, padding lanes and padding counts dropped, epochs back in the
    caller's order. ``n_lanes``: the real lanes; ``order``: the stable argsort of the caller's
    epochs, which sorted them for the call."""
    xs, vs, bad = out
    n_epochs = order.shape[0]
    # Counts given in order (the common case) need no gather: the result is a view.
    in_order = xp is np and bool((order[1:] > order[:-1]).all())
    back = None if in_order else xp.argsort(order)

    def cut(a: Any) -> Any:
        a = a[:, :n_epochs, :n_lanes]
        return a if back is None else xp.take(a, back, axis=1)

    return cut(xs), cut(vs), cut(bad)


def _result(
    out: tuple[Any, Any, Any],
    axes: _axes.Axes,
    starts: Any,
    learning_rates: Any,
    epochs: Any,
    name: str,
    fast: bool,
    *,
    xp: Any,
) -> SweepResult:
    """A SweepResult from the stacked, snapshot-major (O, E, N, ...) arrays, shaped by the dims
    of ``axes``: the epoch axis moves into place as a view (no copy on NumPy arrays)."""
    lane_shape = (*axes.lane_sizes, starts.shape[0], learning_rates.shape[0])

    k = len(lane_shape)

    def place(a: Any) -> Any:
        a = a.reshape(*a.shape[:2], *lane_shape, *a.shape[3:])
        # The epoch axis after the lane axes (np.moveaxis, without its argument checks).
        a = a.transpose(0, *range(2, 2 + k), 1, *range(2 + k, a.ndim))
        return a if axes.optimizer_dim else a[0]

    final, value, diverged = (place(a) for a in out)
    math_ = _run.math_name(fast)
    if axes.plain:
        return SweepResult(
            final, value, diverged, starts, learning_rates, epochs, function=name, math=math_
        )
    return SweepResult(
        final,
        value,
        diverged,
        starts,
        learning_rates,
        epochs,
        dims=axes.dims(),
        function=name,
        math=math_,
        coords=axes.coords(xp),
        optimizers=axes.optimizers,
        schedule=axes.schedule,
    )


def _one_call(
    axes: _axes.Axes,
    ax: dict,
    n_lanes: int,
    epochs: np.ndarray,
    name: str,
    fast: bool,
    device: jax.Device | None,
) -> SweepResult:
    """The sweep as one compiled call, returned as host arrays (views of its outputs);
    ``n_lanes``: the lanes of ``ax``."""
    rules = tuple(r if r.fast == fast else dataclasses.replace(r, fast=fast) for r in axes.rules)
    order = np.argsort(epochs, kind="stable")
    args = (ax, epochs[order])
    if device is not None:
        args = jax.device_put(args, device)
    dtype = np.dtype(ax["x"].dtype)
    point, least = _run.point_shape(ax), _run.least_rows(ax)
    specs = _out_specs(len(rules), len(epochs), n_lanes, point, dtype, least)
    out = _compute(rules, *args, specs, device)
    _wait(out, len(rules), n_lanes, int(epochs.max()))
    out = _cells(tuple(np.asarray(a) for a in out), n_lanes, order, np)
    return _result(out, axes, ax["x"], ax["lr"], epochs, name, fast, xp=np)
