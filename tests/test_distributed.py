"""jaxgd.distributed: shares of the starts per process, assembled equal to the plain sweep.

The two-process test starts two Python processes on localhost that join through
``jax.distributed.initialize`` (tests/_multiproc_worker.py), each computing its share; both must
assemble the result the plain sweep gives.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
import jaxgd.distributed
from tests import _multiproc_worker as worker
from tests.helpers import CASES

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("final", "value", "diverged", "starts", "learning_rates", "epochs")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_two_processes(out_dir: Path, timeout: float = 180.0) -> list[tuple[int, str]]:
    port = _free_port()
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests._multiproc_worker", str(port), str(i), "2", str(out_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    results = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=timeout)
            results.append((p.returncode, out))
    finally:
        for p in procs:  # a worker left waiting for its peer must not outlive the test
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


@pytest.mark.slow
def test_two_processes_on_localhost_equal_the_plain_sweep(tmp_path):
    try:
        results = _run_two_processes(tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("the two-process sweep did not finish within its timeout")
    if any(code == worker.UNAVAILABLE for code, _ in results):
        reason = next(out for code, out in results if code == worker.UNAVAILABLE)
        pytest.skip(f"JAX's multi-process runtime cannot start here: {reason.strip()[-500:]}")
    for i, (code, out) in enumerate(results):
        assert code == 0, f"process {i} failed:\n{out[-3000:]}"
    with jax.enable_x64(True):
        for case in CASES:
            here = jaxgd.sweep(case.f, worker.STARTS, worker.RATES, worker.EPOCHS).to_numpy()
            for i in range(2):
                there = jaxgd.load(tmp_path / f"{case.name}-{i}.npz")
                for name in FIELDS:
                    np.testing.assert_array_equal(
                        getattr(there, name), getattr(here, name), err_msg=f"{case.name} {name}"
                    )


def test_one_process_equals_the_plain_sweep():
    f = CASES[2].f
    args = (np.linspace(-2.5, 3.0, 9), [0.001, 0.1, 0.4], [40, 0, 7])
    plain = jaxgd.sweep(f, *args).to_numpy()
    for res in (
        jaxgd.distributed.sweep(f, *args),
        jaxgd.distributed.sweep(f, *args, gather=False),
        jaxgd.distributed.gather(jaxgd.distributed.sweep(f, *args, gather=False)),
        jaxgd.distributed.sweep(f, *args, chunk_size=4),
    ):
        assert isinstance(res.final, np.ndarray)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(res, name), getattr(plain, name), name)


@pytest.mark.parametrize(
    ("n", "count", "expected"),
    [
        (10, 3, [(0, 4), (4, 8), (8, 10)]),
        (13, 2, [(0, 7), (7, 13)]),
        (1, 2, [(0, 1), (1, 1)]),  # more processes than starts: an empty share
        (5, 1, [(0, 5)]),
    ],
)
def test_shares_cover_the_starts_in_order(n, count, expected):
    shares = [
        jaxgd.distributed.share(n, process_index=i, process_count=count) for i in range(count)
    ]
    assert [(s.start, s.stop) for s in shares] == expected


def test_share_rejects_a_process_outside_the_run():
    with pytest.raises(ValueError, match="process_index must be in"):
        jaxgd.distributed.share(10, process_index=2, process_count=2)


def test_gather_needs_every_axis():
    part = jaxgd.distributed.sweep(jnp.cos, [0.0, 1.0], [0.1, 0.2], [1, 2], gather=False)
    with pytest.raises(ValueError, match="Gather before selecting"):
        jaxgd.distributed.gather(part.isel(learning_rate=0))


def test_refused_inside_jit():
    @jax.jit
    def run(starts):
        return jaxgd.distributed.sweep(jnp.cos, starts, [0.1], [1])

    with pytest.raises(ValueError, match="needs concrete inputs"):
        run(jnp.zeros(2))
