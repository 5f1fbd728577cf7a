"""One process of a two-process sweep on localhost, started by tests/test_distributed.py.

Usage: python -m tests._multiproc_worker PORT PROCESS_ID NUM_PROCESSES OUT_DIR

Exit status: 0 when every check passed, 1 on a failed check, 77 when JAX's multi-process
runtime could not start here (the test then skips, with the reason on stdout).
"""

from __future__ import annotations

import json
import sys
import traceback

import jax
import numpy as np

import jaxgd
import jaxgd.distributed
from tests.helpers import CASES

UNAVAILABLE = 77

# An odd number of starts, so the two shares differ in length; unsorted epochs with a duplicate
# and a 0; a rate that diverges on the double well.
STARTS = np.linspace(-2.5, 3.0, 13)
RATES = np.array([0.001, 0.02, 0.1, 0.4])
EPOCHS = np.array([40, 0, 7, 40, 3])


def main(port: int, process_id: int, num_processes: int, out_dir: str) -> int:
    # Here, not at import: tests/test_distributed.py imports this module for its constants.
    jax.config.update("jax_enable_x64", True)
    try:
        jaxgd.distributed.initialize(
            f"127.0.0.1:{port}",
            num_processes=num_processes,
            process_id=process_id,
            initialization_timeout=60,
            shutdown_timeout_seconds=30,
        )
    except Exception as e:  # the runtime itself, not jaxgd, failed to start
        print(f"UNAVAILABLE: {type(e).__name__}: {e}", flush=True)
        return UNAVAILABLE
    assert jax.process_count() == num_processes and jax.process_index() == process_id

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


if __name__ == "__main__":
    try:
        sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    except Exception:
        traceback.print_exc()
        sys.exit(1)
