"""One process of a two-process sweep on localhost, started by tests/test_distributed.py.

Usage: python -m tests._multiproc_worker PORT PROCESS_ID NUM_PROCESSES OUT_DIR [MODE]

MODE is ``sweep`` (the default: every check of a healthy run) or one of the broken runs that
tests/test_distributed.py provokes:

- ``mismatch``: process 1 sweeps other starts of the same length;
- ``refuse``: process 1 passes a NaN start, which it refuses;
- ``die``: process 1 dies right after joining, while process 0 sweeps;
- ``alone``: this process is started without its peer;
- ``checks``: a series of calls that must fail alike on both processes, each printed as
  ``STEP <name>: OK`` or ``STEP <name>: <type>: <message>``, then ``DONE``;
- ``small``: one healthy sweep, gathered both ways and compared with the plain sweep (run with
  a different number of CPU devices per process, from ``JAXGD_TEST_CPU_DEVICES``);
- ``cluster``: joins with the coordinator's address only, the rest from a (simulated) SLURM
  environment, then runs ``small``.

Exit status: 0 when every check passed, 1 on a failed check, 2 when jaxgd raised
ValueError/TypeError (printed as ``ERROR <type>: <message>``), 3 when initialize raised
TimeoutError, 77 when JAX's multi-process runtime could not start here (the test then skips,
with the reason on stdout).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import traceback

import jax
import numpy as np

import jaxgd
import jaxgd.distributed
from tests.helpers import CASES

UNAVAILABLE = 77
REFUSED = 2
TIMED_OUT = 3

#: Short timeouts for the broken runs, so a lost peer ends them in seconds.
BROKEN_TIMEOUTS = {"initialization_timeout": 4, "heartbeat_timeout_seconds": 5}
if "shutdown_timeout_seconds" in inspect.signature(jax.distributed.initialize).parameters:
    BROKEN_TIMEOUTS["shutdown_timeout_seconds"] = 5
SHUTDOWN = "shutdown_timeout_seconds" in BROKEN_TIMEOUTS

# An odd number of starts, so the two shares differ in length; unsorted epochs with a duplicate
# and a 0; a rate that diverges on the double well.
STARTS = np.linspace(-2.5, 3.0, 13)
RATES = np.array([0.001, 0.02, 0.1, 0.4])
EPOCHS = np.array([40, 0, 7, 40, 3])


def main(port: int, process_id: int, num_processes: int, out_dir: str, mode: str = "sweep") -> int:
    # Here, not at import: tests/test_distributed.py imports this module for its constants.
    jax.config.update("jax_enable_x64", True)
    if "JAXGD_TEST_CPU_DEVICES" in os.environ:
        jax.config.update("jax_num_cpu_devices", int(os.environ["JAXGD_TEST_CPU_DEVICES"]))
    ids = {"num_processes": num_processes, "process_id": process_id}
    if mode == "cluster":  # what SLURM sets; JAX reads the process count and id from it
        os.environ.update(
            SLURM_JOB_ID="1",
            SLURM_STEP_NODELIST="localhost",
            SLURM_NTASKS=str(num_processes),
            SLURM_PROCID=str(process_id),
            SLURM_LOCALID=str(process_id),
        )
        ids = {}
    timeouts = (
        {"initialization_timeout": 60, **({"shutdown_timeout_seconds": 30} if SHUTDOWN else {})}
        if mode == "sweep"
        else BROKEN_TIMEOUTS
    )
    try:
        jaxgd.distributed.initialize(f"127.0.0.1:{port}", **ids, **timeouts)
    except TimeoutError as e:
        print(f"TIMEOUT {e}", flush=True)
        return TIMED_OUT
    except Exception as e:  # the runtime itself, not jaxgd, failed to start
        print(f"UNAVAILABLE: {type(e).__name__}: {e}", flush=True)
        return UNAVAILABLE
    assert jax.process_count() == num_processes and jax.process_index() == process_id
    if mode in ("small", "cluster"):
        return small(process_id)
    if mode == "checks":
        return checks(process_id)
    if mode != "sweep":
        return broken(mode, process_id)

    report = {}
    for case in CASES:
        full = jaxgd.distributed.sweep(case.f, STARTS, RATES, EPOCHS)
        part = jaxgd.distributed.sweep(case.f, STARTS, RATES, EPOCHS, gather=False)
        again = jaxgd.distributed.gather(part)
        alone = jaxgd.sweep(case.f, STARTS, RATES, EPOCHS).to_numpy()
        mine = jaxgd.distributed.share(len(STARTS))
        for name in ("final", "value", "diverged", "starts", "learning_rates", "epochs"):
            np.testing.assert_array_equal(getattr(full, name), getattr(alone, name), name)
            np.testing.assert_array_equal(getattr(again, name), getattr(alone, name), name)
        np.testing.assert_array_equal(part.final, alone.final[mine])
        np.testing.assert_array_equal(part.starts, STARTS[mine])
        full.save(f"{out_dir}/{case.name}-{process_id}.npz")
        report[case.name] = {"share": [mine.start, mine.stop], "diverged": int(full.diverged.sum())}
    print(json.dumps(report), flush=True)
    return 0


def broken(mode: str, process_id: int) -> int:
    f = CASES[0].f
    starts = STARTS.copy()
    if process_id == 1:
        if mode == "die":
            os._exit(9)  # no exit handlers, no goodbye: as if the host were lost
        if mode == "mismatch":
            starts = starts + 1.0
        if mode == "refuse":
            starts[3] = np.nan
    try:
        jaxgd.distributed.sweep(f, starts, RATES, EPOCHS)
    except (TypeError, ValueError) as e:
        print(f"ERROR {type(e).__name__}: {e}", flush=True)
        return REFUSED
    print("SWEPT", flush=True)
    return 0


def small(process_id: int) -> int:
    f = CASES[0].f
    alone = jaxgd.sweep(f, STARTS, RATES, EPOCHS).to_numpy()
    full = jaxgd.distributed.sweep(f, STARTS, RATES, EPOCHS)
    again = jaxgd.distributed.gather(
        jaxgd.distributed.sweep(f, STARTS, RATES, EPOCHS, gather=False)
    )
    for name in ("final", "value", "diverged", "starts"):
        np.testing.assert_array_equal(getattr(full, name), getattr(alone, name), name)
        np.testing.assert_array_equal(getattr(again, name), getattr(alone, name), name)
    print(f"SWEPT on process {jax.process_index()} of {jax.process_count()}", flush=True)
    return 0


def checks(process_id: int) -> int:
    """Calls that one process, or both, must refuse; every refusal must reach both processes
    (a process left waiting in an exchange would be ended by JAX, and the steps after it
    never print)."""
    from jaxgd import _chunking

    f = CASES[0].f
    mine = jaxgd.distributed.share(len(STARTS))
    one = process_id == 1
    # 2000 x 50 x 5 cells: a share fits in 10 MB with memory_budget=1 MiB, the whole does not.
    big = (np.linspace(-2.5, 3.0, 2000), np.linspace(0.001, 0.4, 50), np.arange(1, 6))
    computed = []

    def counting_sweep(*args, **kwargs):
        computed.append(1)
        return local_sweep(*args, **kwargs)

    local_sweep = jaxgd.distributed._local_sweep
    jaxgd.distributed._local_sweep = counting_sweep

    def fast_math_off_on_process_1():
        if one:
            os.environ["JAXGD_FAST_MATH"] = "0"
        try:
            return jaxgd.distributed.sweep(f, STARTS, RATES, EPOCHS)
        finally:
            os.environ.pop("JAXGD_FAST_MATH", None)

    def pieces_of_different_math():
        piece = jaxgd.sweep(f, STARTS[mine], RATES, EPOCHS, fast_math=not one)
        return jaxgd.distributed.gather(piece)

    def with_memory(free, call, *args, **kwargs):
        real = _chunking.available_host_memory
        _chunking.available_host_memory = lambda: free
        try:
            return call(*args, **kwargs)
        finally:
            _chunking.available_host_memory = real

    def gather_short_of_memory_on_process_1():
        part = jaxgd.distributed.sweep(f, *big, gather=False)
        computed.clear()
        return with_memory(10**7 if one else None, jaxgd.distributed.gather, part)

    def gather_a_whole_result():
        return jaxgd.distributed.gather(jaxgd.distributed.sweep(f, STARTS, RATES, EPOCHS))

    steps = {
        "math": fast_math_off_on_process_1,
        "gather-math": pieces_of_different_math,
        "progress": lambda: jaxgd.distributed.sweep(
            f, STARTS, RATES, EPOCHS, progress="yes" if one else None
        ),
        "share-memory": lambda: with_memory(
            0 if one else None, jaxgd.distributed.sweep, f, STARTS, RATES, EPOCHS, chunk_size=2
        ),
        "whole-memory": lambda: with_memory(
            10**7, jaxgd.distributed.sweep, f, *big, memory_budget=1 << 20
        ),
        "gather-memory": gather_short_of_memory_on_process_1,
        "gather-whole": gather_a_whole_result,
        "gather-flag": lambda: jaxgd.distributed.sweep(
            f, STARTS, RATES, EPOCHS, gather="no" if one else True
        ),
    }
    for name, step in steps.items():
        computed.clear()
        try:
            step()
            print(f"STEP {name}: OK", flush=True)
        except Exception as e:
            print(f"STEP {name}: {type(e).__name__}: {e}", flush=True)
        print(f"STEP {name} computed {len(computed)}", flush=True)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:6]))
    except Exception:
        traceback.print_exc()
        sys.exit(1)
