"""One process of a two-process sweep on localhost, started by tests/test_distributed.py.

Usage: python -m tests._multiproc_worker PORT PROCESS_ID NUM_PROCESSES OUT_DIR [MODE]

MODE is ``sweep`` (the default: every check of a healthy run) or one of the broken runs that
tests/test_distributed.py provokes:

- ``mismatch``: process 1 sweeps other starts of the same length;
- ``refuse``: process 1 passes a NaN start, which it refuses;
- ``die``: process 1 dies right after joining, while process 0 sweeps;
- ``alone``: this process is started without its peer.

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
    timeouts = (
        {"initialization_timeout": 60, **({"shutdown_timeout_seconds": 30} if SHUTDOWN else {})}
        if mode == "sweep"
        else BROKEN_TIMEOUTS
    )
    try:
        jaxgd.distributed.initialize(
            f"127.0.0.1:{port}",
            num_processes=num_processes,
            process_id=process_id,
            **timeouts,
        )
    except TimeoutError as e:
        print(f"TIMEOUT {e}", flush=True)
        return TIMED_OUT
    except Exception as e:  # the runtime itself, not jaxgd, failed to start
        print(f"UNAVAILABLE: {type(e).__name__}: {e}", flush=True)
        return UNAVAILABLE
    assert jax.process_count() == num_processes and jax.process_index() == process_id
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


if __name__ == "__main__":
    try:
        sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:6]))
    except Exception:
        traceback.print_exc()
        sys.exit(1)
