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

import hashlib
import inspect
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jaxgd import _chunking, _run
from jaxgd._chunking import pad_rows
from jaxgd._validate import (
    as_epochs,
    as_float_axis,
    check_function,
    check_int,
    default_float,
    is_concrete,
)
from jaxgd.result import DIMS, SweepResult, function_name
from jaxgd.sweep import sweep as _local_sweep

__all__ = ["gather", "initialize", "share", "sweep"]


def _takes(fn: Callable, name: str) -> bool:
    """Whether ``fn`` accepts the keyword argument ``name``."""
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    initialization_timeout: int = 300,
    heartbeat_timeout_seconds: int = 100,
    shutdown_timeout_seconds: int | None = None,
    **kwargs: Any,
) -> None:
    """Join this process to a multi-process JAX run: ``jax.distributed.initialize``, CPU-ready.

    CPU processes exchange results through a collectives library; this selects Gloo (bundled
    with jaxlib) unless another one is configured, then calls ``jax.distributed.initialize``
    with the same arguments. Call it first thing, before any JAX computation. On a cluster that
    JAX recognises (SLURM, Open MPI, Kubernetes, Cloud TPU) the arguments may be omitted.

    What happens when a process is missing. JAX's coordination service (run by process 0)
    ends a run that has lost a process by terminating every other process (SIGABRT, exit
    status 134; with jax 0.8, exit status 1) with a message of its own ("Terminating process
    because the JAX distributed service detected fatal errors"); no Python exception is raised
    and no ``finally`` runs.
    The three timeouts set when:

    - A peer never starts: every process waits ``initialization_timeout`` seconds for all to
      register. A process given a ``process_id`` other than 0 whose coordinator cannot be
      reached raises ``TimeoutError`` here after that long (checked before JAX is called, so
      it is a Python exception). Otherwise (process 0, or an id left to cluster detection),
      JAX terminates the process; just before, this prints a line on stderr saying which
      wait ran out and what to check.
    - A peer dies mid-run (killed, out of memory, a lost host): the others are terminated once
      it has sent no heartbeat for ``heartbeat_timeout_seconds``, plus a few seconds of
      polling.
    - A peer stops with a Python exception: at exit it waits up to
      ``shutdown_timeout_seconds`` for the others to finish too; a process blocked in a
      collective meanwhile is terminated as above. :func:`sweep` and :func:`gather` avoid
      this for bad or mismatched arguments and too little memory: every process raises
      instead.

    JAX's defaults (300, 100 and 300 s) suit a batch cluster; on one machine or in tests,
    a few seconds each make a broken run end quickly.

    Args:
        coordinator_address: ``host:port`` of process 0, reachable from every process (no
            scheme: ``"10.0.0.1:1234"``, not ``"http://10.0.0.1:1234"``).
        num_processes: how many processes take part.
        process_id: this process's index, ``0 <= process_id < num_processes``. None: JAX
            reads it from the cluster (SLURM, Open MPI, ...); elsewhere it is needed.
        initialization_timeout: seconds to wait for every process to join.
        heartbeat_timeout_seconds: seconds without a heartbeat after which a process counts
            as dead and the run is ended.
        shutdown_timeout_seconds: seconds a finishing process waits for the others at exit;
            None keeps JAX's default (300 s). JAX takes it from 0.9 on: with an older jax,
            passing it is a ``TypeError``.
        **kwargs: passed on to ``jax.distributed.initialize`` (e.g. ``local_device_ids``).

    Raises:
        TypeError, ValueError: for a malformed argument, or a coordinator host that no
            resolver knows, before JAX is called; a ValueError naming ``process_id`` when it
            is left out off a cluster JAX recognises (JAX finds no id to use, at once).
        TimeoutError: on a process given a ``process_id`` other than 0, when the coordinator
            accepts no connection within ``initialization_timeout`` seconds.

    Example:
        On each of two machines (``process_id`` 0 and 1)::

            import jaxgd.distributed
            jaxgd.distributed.initialize("10.0.0.1:1234", num_processes=2, process_id=0,
                                         initialization_timeout=60)
            res = jaxgd.distributed.sweep(f, starts, rates, epochs)  # full result on both
    """
    timeouts = {
        "initialization_timeout": initialization_timeout,
        "heartbeat_timeout_seconds": heartbeat_timeout_seconds,
    }
    if shutdown_timeout_seconds is not None:
        timeouts["shutdown_timeout_seconds"] = shutdown_timeout_seconds
    # The checked values are passed on as Python ints: JAX's initialize takes no 0-d array
    # (np.array(60)), which every count of jaxgd accepts.
    for name, value in timeouts.items():
        timeouts[name] = check_int(name, value, 1, fix="pass a whole number of seconds")
    initialization_timeout = timeouts["initialization_timeout"]
    if shutdown_timeout_seconds is not None and not _takes(
        jax.distributed.initialize, "shutdown_timeout_seconds"
    ):
        raise TypeError(
            f"shutdown_timeout_seconds needs a newer jax than {jax.__version__}, whose "
            "jax.distributed.initialize has no such option; leave it out (None)."
        )
    num_processes, process_id = _check_counts(num_processes, process_id)
    host_port = _check_address(coordinator_address)
    if host_port is not None:
        _check_resolves(*host_port)
    if jax.config.jax_cpu_collectives_implementation in (None, "", "none"):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if host_port is not None and process_id is not None and process_id != 0:
        # Only with an id given: on a cluster JAX detects the id itself, and process 0 (which
        # may not know it is 0 yet) must not wait for the coordinator it is about to start.
        _wait_for_coordinator(*host_port, initialization_timeout, process_id)
    warn = threading.Timer(
        initialization_timeout, _say_join_timed_out, (initialization_timeout, process_id)
    )
    warn.daemon = True
    warn.start()
    try:
        jax.distributed.initialize(
            coordinator_address, num_processes, process_id, **timeouts, **kwargs
        )
    except ValueError as e:
        if coordinator_address is None and "coordinator_address" in str(e):
            raise ValueError(
                "coordinator_address is needed: this process is not on a cluster JAX "
                "recognises (SLURM, Open MPI, Kubernetes, Cloud TPU), so nothing says where "
                "process 0 is. Pass coordinator_address='host:port' of process 0, "
                f"num_processes and process_id (JAX: {e})"
            ) from None
        if process_id is None and "process id" in str(e):
            raise ValueError(
                "process_id is needed: this process is not on a cluster JAX recognises "
                "(SLURM, Open MPI, Kubernetes, Cloud TPU), so nothing tells it which process "
                "it is. Pass process_id=0 on the process that runs the coordinator and 1, 2, "
                f"... on the others (JAX: {e})"
            ) from None
        raise
    finally:
        warn.cancel()


def _check_counts(
    num_processes: int | None, process_id: int | None
) -> tuple[int | None, int | None]:
    """``num_processes`` and ``process_id`` checked, as Python ints (JAX takes no 0-d
    array, which every count of jaxgd accepts), or None where not given."""
    if num_processes is not None:
        num_processes = check_int(
            "num_processes", num_processes, 1, fix="count every process of the run"
        )
    if process_id is not None:
        process_id = check_int("process_id", process_id, 0, fix="number the processes 0, 1, ...")
        if num_processes is not None and process_id >= num_processes:
            raise ValueError(
                f"process_id must be below num_processes={num_processes}; got {process_id}. "
                "Number the processes 0, 1, ..., num_processes - 1."
            )
    return num_processes, process_id


def _check_address(address: str | None) -> tuple[str, int] | None:
    """``(host, port)`` of a given coordinator address; an error for a malformed one."""
    if address is None:
        return None
    host, _, port = address.rpartition(":") if isinstance(address, str) else ("", "", "")
    if (
        not host
        or "/" in host  # a scheme (http://) or a path: JAX would retry it until timing out
        or not (port.isascii() and port.isdigit())
        or not 0 < int(port) < 65536
    ):
        raise ValueError(
            f"coordinator_address must be 'host:port' of process 0, without a scheme such "
            f"as http://; got {address!r}. For example '10.0.0.1:1234', the same on every "
            "process."
        )
    return host.strip("[]"), int(port)


#: getaddrinfo's answers for a name no resolver knows; others (EAI_AGAIN) may pass, and JAX
#: retries them.
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _check_resolves(host: str, port: int) -> None:
    """ValueError when ``host`` names no host; JAX would retry it until the timeout ran out."""
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:  # an empty or overlong label: "a..b", a 64-character label
        raise ValueError(
            f"coordinator_address has a host name that is not a valid name: {host!r}. Pass "
            f"process 0's host name or IP address, e.g. '10.0.0.1:{port}'."
        ) from None
    except socket.gaierror as e:
        if e.errno in _NO_SUCH_HOST:
            raise ValueError(
                f"coordinator_address names the host {host!r}, which does not resolve "
                f"({e.strerror}). Check its spelling (the same on every process), or pass "
                f"process 0's IP address, e.g. '10.0.0.1:{port}'."
            ) from None


def _wait_for_coordinator(host: str, port: int, timeout: float, process_id: int) -> None:
    """Return once ``host:port`` accepts a connection; TimeoutError after ``timeout`` seconds.

    JAX would wait as long and then abort the process; a plain connection attempt can fail
    as a Python exception instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError as e:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"process {process_id} could not reach the coordinator at {host}:{port} "
                    f"within initialization_timeout={timeout:g} s ({e}). Start process 0 "
                    "(it runs the coordinator), with the same coordinator_address, or give "
                    "it more time with initialization_timeout."
                ) from None
            time.sleep(0.25)


def _say_join_timed_out(timeout: int, process_id: int | None) -> None:
    # JAX ends the process (SIGABRT) right after this, from C++: a line on stderr is the
    # only way to say what went wrong in the words of this API.
    who = "this process" if process_id is None else f"process {process_id}"
    print(
        f"jaxgd.distributed.initialize: not every process joined within "
        f"initialization_timeout={timeout} s, so JAX is about to end {who}. Check "
        "that every process started, with the same coordinator_address and num_processes "
        "and its own process_id.",
        file=sys.stderr,
        flush=True,
    )


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
    n_starts = check_int("n_starts", n_starts, 0, fix="pass the number of starts.")
    count = jax.process_count() if process_count is None else process_count
    count = check_int("process_count", count, 1, fix="pass how many processes share the run.")
    index = jax.process_index() if process_index is None else process_index
    index = check_int("process_index", index, 0, fix="pass this process's index, from 0.")
    if not index < count:
        raise ValueError(f"process_index must be in [0, {count}); got {index}.")
    per = -(-n_starts // count)  # whole numbers: exact at any size
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
    fast_math: bool | None = None,
) -> SweepResult:
    """:func:`jaxgd.sweep` with the start axis split across all processes of the run.

    Every process must call it with the same arguments. Each computes its :func:`share` of the
    starts on its local devices (any number of them); with ``gather=True`` the shares are then
    exchanged and every process returns the full result, equal to a single-process
    ``jaxgd.sweep``.

    Before computing, each process checks its arguments and that its part fits in host
    memory (its share, and with ``gather=True`` the whole result, with the exchange's own
    copies), and the processes check in one exchange of a few bytes that they agree: a digest
    of f's name, the float dtype, the math (``fast`` or ``xla`` sin/cos, see ``fast_math``),
    ``starts``, ``learning_rates``, ``epochs`` (dtype, shape and bytes) and ``gather``. So
    different arguments or settings on different processes, or arguments or memory one
    process refuses, end the call on every process with an error, before anything is
    computed, rather than in mixed-up data or a process left waiting for the others. (A
    different ``f`` of the same name is not caught.) A process whose share fails while it is
    computed (with ``gather=True``) stops every process too, once the others have computed
    theirs. For a process that dies mid-run, see :func:`initialize`.

    Args:
        f, starts, learning_rates, epochs: as for :func:`jaxgd.sweep`, for a function of
            one variable: ``starts`` a scalar or shape ``(S,)`` (for points of R^d, see
            :func:`share`).
        gather: True: return the full result on every process. False: return only this
            process's share (its ``starts`` coordinate says which), for results too large for
            one host; each process can then save its own part, or call :func:`gather` later.
        chunk_size, memory_budget, progress: as for :func:`jaxgd.sweep`, per process.
        fast_math: as for :func:`jaxgd.sweep`; what it gives must be the same on every
            process. None decides per process (fast on a CPU unless ``JAXGD_FAST_MATH=0``,
            XLA's on a GPU or TPU): where hosts differ in platform or in that variable, pass
            True or False.

    Returns:
        A :class:`~jaxgd.SweepResult` of NumPy arrays: the full ``(S, L, E)`` result, or this
        process's ``(share, L, E)`` part.

    Raises:
        TypeError, ValueError: as :func:`jaxgd.sweep` does, on the process whose arguments are
            bad; every other process then raises a ValueError naming that process. A
            ValueError on every process when the arguments or the math differ between
            processes, naming what differs.
        MemoryError: on every process, when this process's share, or with ``gather=True``
            the whole result, would not fit in some process's host memory; that process's
            error gives the sizes, the others name it. Before anything is computed.
        RuntimeError: with ``gather=True``, on every other process when one fails while
            computing its share (that one raises its own error).

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
    caller = "jaxgd.distributed.sweep"
    if not all(is_concrete(a) for a in (starts, learning_rates, epochs)):
        raise ValueError(
            "jaxgd.distributed.sweep needs concrete inputs; it is being traced (inside jax.jit, "
            "vmap or grad). Call it outside the transformation: it compiles its own calls."
        )
    # Check everything a process could refuse before the one exchange that follows: a
    # process that raised alone would leave the others waiting in a collective until JAX
    # terminates them. The refusal travels in the exchange instead.
    dtype = default_float()
    refused: Exception | None = None
    fast = None
    try:
        check_function(f, dtype)
        if np.ndim(starts) == 2:
            raise ValueError(
                f"starts of shape {np.shape(starts)} are points of R^d; "
                "jaxgd.distributed.sweep splits the scalar starts of a function of one "
                "variable. For points, call jaxgd.sweep on each process with its rows, "
                "starts[jaxgd.distributed.share(len(starts))], and save each part."
            )
        starts = as_float_axis("starts", starts, dtype)
        learning_rates = as_float_axis("learning_rates", learning_rates, dtype, nonnegative=True)
        epochs = as_epochs("epochs", epochs)
        for name, value in (("chunk_size", chunk_size), ("memory_budget", memory_budget)):
            if value is not None:
                check_int(name, value, 1, fix="pass None to choose automatically")
        if not isinstance(gather, bool | np.bool_):
            raise TypeError(
                f"gather must be True or False; got {type(gather).__name__} {gather!r:.40}. "
                "True returns the whole result on every process, False this process's share."
            )
        _run.check_progress(progress)
        # The math jaxgd.sweep would pick on this process's devices (an unreadable
        # JAXGD_FAST_MATH is refused here).
        fast = _run.fast_math_for(fast_math, dtype, jax.local_devices()[0].platform)
        _check_sweep_memory(
            starts.shape[0],
            learning_rates.shape[0],
            epochs.shape[0],
            dtype,
            fast,
            chunk_size,
            memory_budget,
            bool(gather),
        )
    except (TypeError, ValueError, MemoryError) as e:
        refused = e
    fields = {
        "f": function_name(f),
        "dtype": dtype.name,
        "math": None if fast is None else _run.math_name(fast),
        "starts": starts,
        "learning_rates": learning_rates,
        "epochs": epochs,
        "gather": bool(gather),
    }
    _agree(caller, fields, refused)
    n_starts = starts.shape[0]
    mine = share(n_starts)
    per = -(-n_starts // jax.process_count())
    # Every process computes `per` rows, so the shares have one shape when they are exchanged;
    # a short or empty share is padded with copies of a real start, and the copies dropped.
    block = starts[mine] if mine.stop > mine.start else starts[-1:]
    failed: Exception | None = None
    try:
        res = _local_sweep(
            f,
            pad_rows(block, per),
            learning_rates,
            epochs,
            chunk_size=chunk_size,
            memory_budget=memory_budget,
            progress=progress,
            fast_math=fast,
        ).to_numpy()
    except Exception as e:
        if not gather or jax.process_count() == 1:
            raise
        failed = e
    key = (*_digest(starts).tolist(), n_starts)
    if gather:
        # The others must not wait in the exchange for a share that never comes.
        _agree(caller, {}, failed, stage=_COMPUTING)
        outs = _allgather_rows((res.final, res.value, res.diverged), n_starts)
        return _tagged(
            SweepResult(
                *outs, starts, learning_rates, epochs, function=res.function, math=res.math
            ),
            (0, n_starts, *key),
        )
    n_mine = mine.stop - mine.start
    return _tagged(
        SweepResult(
            res.final[:n_mine],
            res.value[:n_mine],
            res.diverged[:n_mine],
            starts[mine],
            learning_rates,
            epochs,
            function=res.function,
            math=res.math,
        ),
        (mine.start, mine.stop, *key),
    )


def _check_sweep_memory(
    n_starts: int,
    n_rates: int,
    n_epochs: int,
    dtype: np.dtype,
    fast: bool,
    chunk_size: int | None,
    memory_budget: int | None,
    gather: bool,
) -> None:
    """MemoryError unless this process can hold its share (as :func:`jaxgd.sweep` checks it,
    with the same working memory of a call on a CPU) and, with ``gather``, the whole result."""
    per = -(-n_starts // jax.process_count())
    devs = jax.local_devices()
    _chunking.plan_sweep(
        n_lanes=per * n_rates,
        n_epochs=n_epochs,
        n_cells=per * n_rates * n_epochs,
        itemsize=dtype.itemsize,
        devices=devs,
        lanes_per_call=None if chunk_size is None else chunk_size * n_rates,
        memory_budget=memory_budget,
        fast=fast,
        what=f"the result of this process's share ({per} x {n_rates} x {n_epochs} cells)",
        fix="Sweep fewer starts, rates or epoch counts at a time and save each part, or split "
        "the starts across more processes.",
    )
    held = _chunking.result_bytes(per, n_rates, n_epochs, dtype.itemsize)
    on_host = devs[0].platform == "cpu"
    if gather and jax.process_count() > 1:
        _check_gather_memory(
            n_starts,
            n_rates,
            n_epochs,
            dtype.itemsize,
            held,
            copies=0,
            on_host=on_host,
            fix="Pass gather=False: each process then returns only its share, which it can "
            "save (part.save(...)) and jaxgd.load reads back; or sweep fewer starts, rates "
            "or epoch counts at a time.",
        )


def _check_gather_memory(
    n_starts: int,
    n_rates: int,
    n_epochs: int,
    itemsize: int,
    held: int,
    *,
    copies: int,
    on_host: bool,
    fix: str,
) -> None:
    """MemoryError unless the whole result fits beside ``held`` bytes (this process's share).

    While an array is exchanged, its whole is held once more on this process's device (host
    memory, on a CPU), and ``copies`` more times on the host while the pieces are put
    together: the largest array (``final``) counts that many more times.
    """
    whole = _chunking.result_bytes(n_starts, n_rates, n_epochs, itemsize)
    largest = n_starts * n_rates * n_epochs * itemsize
    _chunking.check_host_memory(
        whole + (copies + on_host) * largest,
        f"gathering the whole result on every process ({n_starts} x {n_rates} x {n_epochs} "
        "cells, with the exchange's working copies)",
        fix,
        reserve=held,
    )


def gather(part: SweepResult) -> SweepResult:
    """Assemble the full result from every process's share, on every process.

    A collective: every process must call it, each with its own share from
    ``sweep(..., gather=False)`` (or any start-axis pieces that follow the process order).
    Pieces that :func:`sweep` returned are checked to be the shares of one sweep, each
    process's own: gathering a result that is already whole (``sweep``'s default
    ``gather=True``, or ``gather``'s own result) would repeat every start, and is refused.
    (Pieces made otherwise, e.g. loaded from files or selected with ``isel``, are taken as
    they come.)

    Before the data travels, every process checks that the whole result fits in its host
    memory, with the exchange's working copies.

    Args:
        part: this process's share, with all three axes.

    Returns:
        The full result, NumPy arrays, the same on every process.

    Raises:
        TypeError, ValueError: for a part that is not a share (on that process; the others
            raise a ValueError naming it).
        ValueError: on every process, when the shares differ in function, dtype, math,
            learning rates or epochs, or overlap (checked in the exchange of the share
            sizes).
        MemoryError: on every process, when the whole result would not fit in some
            process's host memory (that process's error gives the sizes).
    """
    caller = "jaxgd.distributed.gather"
    refused: Exception | None = None
    try:
        _check_part(part)
    except (TypeError, ValueError) as e:
        if jax.process_count() == 1:
            raise
        refused = e
    names = ("function", "dtype", "math", "learning_rates", "epochs")
    if refused is not None:
        fields: dict[str, Any] = dict.fromkeys(names)
        ints = (0, 0, 0, 0, 0, 0, 0)
    else:
        tag = _PIECES.get(part)
        part = part.to_numpy()
        if jax.process_count() == 1:
            return part
        fields = dict(
            zip(
                names,
                (
                    part.function,
                    part.final.dtype.name,
                    part.math,
                    np.asarray(part.learning_rates),
                    np.asarray(part.epochs),
                ),
                strict=True,
            )
        )
        ints = (part.final.shape[0], tag is not None, *(tag or (0,) * 5))
    everyone = _agree(caller, fields, refused, ints=ints)
    sizes = everyone[:, 0]
    _check_pieces(caller, everyone)
    n_rows, per = int(sizes.sum()), int(sizes.max())
    n_rates, n_epochs = part.final.shape[1:]
    itemsize = part.final.dtype.itemsize
    held = sum(np.asarray(a).nbytes for a in (part.final, part.value, part.diverged))
    short: Exception | None = None
    try:
        _check_gather_memory(
            n_rows,
            n_rates,
            n_epochs,
            itemsize,
            held,
            copies=1,
            fix="Save each process's share instead (part.save(...)), and read the parts "
            "back with jaxgd.load where they are needed.",
            on_host=_exchange_devices()[jax.process_index()].platform == "cpu",
        )
    except MemoryError as e:
        short = e
    _agree(caller, {}, short)
    pieces = []
    for a in (part.final, part.value, part.diverged, part.starts):
        block = _allgather(_pad_to(np.asarray(a), per))
        pieces.append(np.concatenate([block[i * per : i * per + n] for i, n in enumerate(sizes)]))
        del block
    key = (*_digest(pieces[3]).tolist(), n_rows)
    return _tagged(
        SweepResult(
            *pieces, part.learning_rates, part.epochs, function=part.function, math=part.math
        ),
        (0, n_rows, *key),
    )


def _check_part(part: Any) -> None:
    if not isinstance(part, SweepResult):
        raise TypeError(
            f"gather needs this process's share, a jaxgd.SweepResult from "
            f"jaxgd.distributed.sweep(..., gather=False); got {type(part).__name__}."
        )
    if tuple(part.dims) != DIMS:
        missing = [d for d in DIMS if d not in part.dims]
        fix = (
            "Gather before selecting with sel/isel/squeeze."
            if missing
            else "It assembles the shares of jaxgd.distributed.sweep, a function of one "
            "variable without extra axes; save each process's part instead."
        )
        raise ValueError(
            f"gather needs a share with exactly the axes {list(DIMS)}; got {list(part.dims)}. {fix}"
        )


#: Where each result :func:`sweep` or :func:`gather` returned sits in its sweep: its first
#: and last start (exclusive), a digest of the sweep's starts (two int32s) and their number.
#: Held beside the result rather than in it, so saving and loading it are unchanged.
_PIECES: weakref.WeakKeyDictionary[SweepResult, tuple[int, ...]] = weakref.WeakKeyDictionary()


def _tagged(res: SweepResult, where: tuple[int, ...]) -> SweepResult:
    _PIECES[res] = tuple(int(v) for v in where)
    return res


def _check_pieces(caller: str, everyone: np.ndarray) -> None:
    """ValueError, alike on every process, when every piece came from :func:`sweep` or
    :func:`gather` and they are not the shares of one sweep in process order (``everyone``:
    each process's rows, whether it is such a piece, and where it sits)."""
    if not everyone[:, 1].all():
        return
    lo, hi, keys = everyone[:, 2], everyone[:, 3], everyone[:, 4:]
    n_starts = int(keys[0, -1])
    if (keys != keys[0]).any():
        problem = "they come from different sweeps"
    elif lo[0] == 0 and hi[-1] == n_starts and (lo[1:] == hi[:-1]).all():
        return
    else:
        held = ", ".join(
            f"process {i}: [{a}, {b})" for i, (a, b) in enumerate(zip(lo, hi, strict=True))
        )
        problem = f"they overlap or leave gaps (starts held, of the sweep's {n_starts}: {held})"
    raise ValueError(
        f"{caller} needs each process's own share of one sweep, but {problem}. Pass the "
        "part from jaxgd.distributed.sweep(..., gather=False) on each process; a result of "
        "sweep with gather=True (the default) or of gather is already whole on every process."
    )


def _digest(value: Any) -> np.ndarray:
    """Eight bytes standing for ``value`` (an array's dtype, shape and bytes), as two int32s."""
    h = hashlib.blake2b(digest_size=8)
    if isinstance(value, np.ndarray):
        h.update(f"{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(repr(value).encode())
    return np.frombuffer(h.digest(), np.int32)


#: What a process reports in an exchange: all well, or why it stops.
_FINE, _ARGUMENTS, _MEMORY, _COMPUTING = 0, 1, 2, 3


def _encode(
    fields: dict[str, Any], refused: BaseException | None, ints: tuple[int, ...], stage: int
) -> np.ndarray:
    """``[status, *ints]`` (int64s, as int32 pairs: an exchange keeps int32 without x64), then
    one digest per argument. Every process sends the same shape, refused or not, so the
    exchange itself always completes."""
    status = _FINE
    if refused is not None:
        status = _MEMORY if isinstance(refused, MemoryError) else stage
    head = np.array([status, *ints], np.int64).view(np.int32)
    body = np.zeros((len(fields), 2), np.int32)
    if refused is None:
        for k, v in enumerate(fields.values()):
            body[k] = _digest(v)
    return np.concatenate([head, body.ravel()])


def _agree(
    caller: str,
    fields: dict[str, Any],
    refused: BaseException | None,
    *,
    ints: tuple[int, ...] = (),
    stage: int = _ARGUMENTS,
) -> np.ndarray:
    """Check that every process passed the same arguments, in one exchange of a few bytes.

    ``fields`` are this process's arguments by name; their values are ignored when this
    process ``refused`` them with that error (or, at ``stage`` ``_COMPUTING``, failed with it).
    Then every process raises: the one that refused with its own error, the others with an
    error naming it (MemoryError for a MemoryError, ValueError for refused arguments,
    RuntimeError for a failed computation). When an argument differs, every process raises a
    ValueError naming the arguments that differ. With one process this only re-raises
    ``refused``. Returns every process's ``ints`` (int64), one row per process in order.
    """
    count = jax.process_count()
    if count == 1:
        if refused is not None:
            raise refused
        return np.array([ints], np.int64).reshape(1, len(ints))
    everyone = _allgather(_encode(fields, refused, ints, stage)).reshape(count, -1)
    if refused is not None:
        raise refused
    n_head = 2 * (1 + len(ints))
    head = np.ascontiguousarray(everyone[:, :n_head]).view(np.int64)
    status = head[:, 0]
    for kind, error, what in (
        (_ARGUMENTS, ValueError, "refused its arguments (its own error says why)"),
        (_MEMORY, MemoryError, "has too little memory (its own MemoryError gives the sizes)"),
        (_COMPUTING, RuntimeError, "failed while computing its share (its own error says why)"),
    ):
        failed = np.flatnonzero(status == kind).tolist()
        if failed:
            fix = (
                "Pass the same, valid arguments on every process."
                if kind == _ARGUMENTS
                else "See the error on that process."
            )
            raise error(
                f"{caller}: process {_listing(failed)} {what}, so every process stops here. {fix}"
            )
    digests = everyone[:, n_head:].reshape(count, len(fields), 2)
    differ = [name for k, name in enumerate(fields) if (digests[:, k] != digests[0, k]).any()]
    if differ:
        odd = [i for i in range(1, count) if (digests[i] != digests[0]).any()]
        raise ValueError(
            f"{caller} was called with different {', '.join(differ)} on different processes "
            f"(process {_listing(odd)} differs from process 0). Every process must pass the "
            "same arguments: compute them the same way on each (the same seed) or load them "
            "from one file. For the math, pass fast_math=True or False, or set JAXGD_FAST_MATH "
            "alike everywhere."
            if "math" in differ
            else f"{caller} was called with different {', '.join(differ)} on different "
            f"processes (process {_listing(odd)} differs from process 0). Every process must "
            "pass the same arguments: compute them the same way on each (the same seed) or "
            "load them from one file."
        )
    return head[:, 1:]


def _listing(indices: list[int]) -> str:
    return ", ".join(map(str, indices))


def _pad_to(a: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([a, np.zeros((n - a.shape[0], *a.shape[1:]), a.dtype)])


def _allgather_rows(arrays: tuple[np.ndarray, ...], n: int) -> tuple[np.ndarray, ...]:
    """Equal-shaped row blocks from every process, concatenated in process order, cut to n."""
    if jax.process_count() == 1:
        return tuple(a[:n] for a in arrays)
    return tuple(_allgather(a)[:n] for a in arrays)


def _exchange_devices() -> list[jax.Device]:
    """One device per process, in process order: the one with the lowest id."""
    firsts: dict[int, jax.Device] = {}
    for d in jax.devices():
        if d.process_index not in firsts or d.id < firsts[d.process_index].id:
            firsts[d.process_index] = d
    return [firsts[p] for p in range(jax.process_count())]


def _allgather(a: np.ndarray) -> np.ndarray:
    """Every process's ``a`` (one shape on all), concatenated along axis 0 in process order.

    Through one device per process, so that processes with different numbers of devices
    take part alike (``jax.experimental.multihost_utils.process_allgather`` lays every
    device out in a (processes, devices per process) grid, which then does not exist).
    """
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    a = np.asarray(a)
    devices = _exchange_devices()
    mesh = Mesh(np.array(devices, dtype=object), ("process",))
    mine = jax.device_put(a, devices[jax.process_index()])
    spread = jax.make_array_from_single_device_arrays(
        (len(devices) * a.shape[0], *a.shape[1:]),
        NamedSharding(mesh, PartitionSpec("process")),
        [mine],
    )
    whole = jax.jit(_identity, out_shardings=NamedSharding(mesh, PartitionSpec()))(spread)
    return np.asarray(whole.addressable_data(0))


def _identity(x):
    return x
