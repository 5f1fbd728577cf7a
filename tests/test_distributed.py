"""jaxgd.distributed: shares of the starts per process, assembled equal to the plain sweep.

The two-process test starts two Python processes on localhost that join through
``jax.distributed.initialize`` (tests/_multiproc_worker.py), each computing its share; both must
assemble the result the plain sweep gives.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
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


def _run_processes(
    out_dir: Path,
    *,
    mode: str = "sweep",
    ids: tuple[int, ...] = (0, 1),
    timeout: float = 180.0,
    env_of: dict[int, dict[str, str]] | None = None,
) -> tuple[list[tuple[int, str]], float]:
    """Start worker processes ``ids`` of a two-process run (with ``env_of[id]`` added to their
    environment); their (exit status, output)s and the seconds until the last one ended."""
    port = _free_port()
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    for name in list(env):  # the worker's own process count and id, not a surrounding job's
        if name.startswith(("SLURM_", "OMPI_", "JAX_COORDINATOR")):
            env.pop(name)
    start = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests._multiproc_worker",
                str(port),
                str(i),
                "2",
                str(out_dir),
                mode,
            ],
            cwd=ROOT,
            env={**env, **(env_of or {}).get(i, {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in ids
    ]
    results = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=max(1.0, timeout - (time.monotonic() - start)))
            results.append((p.returncode, out))
    finally:
        for p in procs:  # a worker left waiting for its peer must not outlive the test
            if p.poll() is None:
                p.kill()
                p.wait()
    return results, time.monotonic() - start


def _run_two_processes(out_dir: Path, timeout: float = 180.0) -> list[tuple[int, str]]:
    return _run_processes(out_dir, timeout=timeout)[0]


def _skip_if_unavailable(results: list[tuple[int, str]]) -> None:
    if any(code == worker.UNAVAILABLE for code, _ in results):
        reason = next(out for code, out in results if code == worker.UNAVAILABLE)
        pytest.skip(f"JAX's multi-process runtime cannot start here: {reason.strip()[-500:]}")


@pytest.mark.slow
def test_two_processes_on_localhost_equal_the_plain_sweep(tmp_path):
    try:
        results = _run_two_processes(tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("the two-process sweep did not finish within its timeout")
    _skip_if_unavailable(results)
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


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((10.5,), {}, TypeError, "n_starts must be an int"),
        (("10",), {}, TypeError, "n_starts must be an int"),
        ((-5,), {}, ValueError, "n_starts must be >= 0"),
        ((10,), {"process_index": 1.5}, TypeError, "process_index must be an int"),
        ((10,), {"process_index": True}, TypeError, "process_index must be an int"),
        ((10,), {"process_count": 0}, ValueError, "process_count must be >= 1"),
    ],
)
def test_share_checks_its_arguments(args, kwargs, exc, match):
    # They once made slices of floats or negative bounds that failed later, or raw errors.
    kwargs = {"process_index": 0, "process_count": 3, **kwargs}
    with pytest.raises(exc, match=match):
        jaxgd.distributed.share(*args, **kwargs)
    big = 2**70 + 1  # whole numbers stay exact: no float rounding of the share
    assert jaxgd.distributed.share(big, process_index=2, process_count=3).stop == big


def test_gather_needs_every_axis():
    with pytest.raises(TypeError, match=r"gather needs this process's share, a jaxgd\.SweepResult"):
        jaxgd.distributed.gather(np.zeros(3))
    part = jaxgd.distributed.sweep(jnp.cos, [0.0, 1.0], [0.1, 0.2], [1, 2], gather=False)
    with pytest.raises(ValueError, match="Gather before selecting"):
        jaxgd.distributed.gather(part.isel(learning_rate=0))


def test_points_of_r_d_are_refused_with_the_way_to_split_them():
    def bowl(p):
        return jnp.sum(p**2)

    starts = [[0.0, 1.0], [1.0, 2.0]]
    with pytest.raises(ValueError, match=r"shape \(2, 2\) are points of R\^d.*share"):
        jaxgd.distributed.sweep(bowl, starts, [0.1], [1])
    # The way the message gives: each process sweeps its rows with jaxgd.sweep.
    rows = np.asarray(starts)[jaxgd.distributed.share(len(starts))]
    assert jaxgd.sweep(bowl, rows, [0.1], [1]).final.shape == (2, 1, 1, 2)
    with pytest.raises(ValueError, match="a function of one variable without extra axes"):
        jaxgd.distributed.gather(jaxgd.sweep(bowl, starts, [0.1], [1]))


def test_refused_inside_jit():
    @jax.jit
    def run(starts):
        return jaxgd.distributed.sweep(jnp.cos, starts, [0.1], [1])

    with pytest.raises(ValueError, match="needs concrete inputs"):
        run(jnp.zeros(2))


# -- broken runs: every process fails fast, with a message that says why ------------------------


@pytest.mark.slow
def test_different_starts_on_two_processes_is_an_error_on_both(tmp_path):
    results, _ = _run_processes(tmp_path, mode="mismatch", timeout=120)
    _skip_if_unavailable(results)
    for i, (code, out) in enumerate(results):
        assert code == worker.REFUSED, f"process {i}:\n{out[-3000:]}"
        assert (
            "ERROR ValueError: jaxgd.distributed.sweep was called with different starts on "
            "different processes (process 1 differs from process 0)"
        ) in out, out[-3000:]


@pytest.mark.slow
def test_a_process_that_refuses_its_arguments_stops_every_process(tmp_path):
    results, _ = _run_processes(tmp_path, mode="refuse", timeout=120)
    _skip_if_unavailable(results)
    (code0, out0), (code1, out1) = results
    assert (code0, code1) == (worker.REFUSED, worker.REFUSED), out0[-2000:] + out1[-2000:]
    assert "ERROR ValueError: starts must be finite; entry 3 is nan" in out1
    assert "process 1 refused its arguments" in out0


@pytest.mark.slow
def test_a_process_whose_coordinator_never_starts_raises_timeout_error(tmp_path):
    results, seconds = _run_processes(tmp_path, mode="alone", ids=(1,), timeout=120)
    _skip_if_unavailable(results)
    [(code, out)] = results
    assert code == worker.TIMED_OUT, out[-3000:]
    assert "process 1 could not reach the coordinator at 127.0.0.1:" in out
    assert "initialization_timeout=4 s" in out
    assert seconds < 60


#: How JAX ends a process of a broken run: SIGABRT from jax 0.9 on; exit status 1 in jax 0.8.
JAX_TERMINATED = (-signal.SIGABRT, 1)


@pytest.mark.slow
def test_a_coordinator_whose_peer_never_starts_says_why_before_jax_ends_it(tmp_path):
    results, seconds = _run_processes(tmp_path, mode="alone", ids=(0,), timeout=120)
    _skip_if_unavailable(results)
    [(code, out)] = results
    assert code in JAX_TERMINATED, out[-3000:]
    assert (
        "jaxgd.distributed.initialize: not every process joined within "
        "initialization_timeout=4 s, so JAX is about to end process 0"
    ) in out
    assert seconds < 60


@pytest.mark.slow
def test_a_peer_that_dies_mid_run_ends_the_run_within_the_heartbeat_timeout(tmp_path):
    # What the docstring of initialize promises: JAX terminates the survivor (SIGABRT) once
    # the dead peer has missed heartbeats for heartbeat_timeout_seconds (5 s here), not after
    # JAX's default of 100 s.
    results, seconds = _run_processes(tmp_path, mode="die", timeout=120)
    _skip_if_unavailable(results)
    (code0, out0), (code1, _) = results
    assert code1 == 9
    assert code0 in JAX_TERMINATED and "SWEPT" not in out0, out0[-3000:]
    assert seconds < 60


def _other_process_sends(monkeypatch, message):
    """Make this a run of two processes in which process 1 sends ``message`` in exchanges."""
    module = importlib.import_module("jaxgd.distributed")
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    monkeypatch.setattr(module, "_allgather", lambda mine: np.concatenate([mine, message()]))
    return module


def test_agree_names_every_argument_that_differs(monkeypatch):
    ours = {"f": "m:f", "starts": np.arange(3.0), "epochs": np.array([1, 2])}
    theirs = {**ours, "epochs": np.array([1, 3])}
    module = _other_process_sends(
        monkeypatch, lambda: module._encode(theirs, None, (0,), module._ARGUMENTS)
    )
    with pytest.raises(ValueError, match=r"^caller was called with different epochs on diff"):
        module._agree("caller", ours, None, ints=(0,))
    theirs = {**ours, "f": "m:g", "starts": np.arange(3.0, dtype=np.float32)}
    with pytest.raises(ValueError, match=r"different f, starts on different processes"):
        module._agree("caller", ours, None, ints=(0,))
    theirs = dict(ours)
    assert module._agree("caller", ours, None, ints=(4,)).tolist() == [[4], [0]]


def test_agree_carries_whole_numbers_beyond_int32(monkeypatch):
    # An exchange holds int32 (without x64); larger counts travel as pairs of them.
    module = _other_process_sends(
        monkeypatch, lambda: module._encode({}, None, (2**40, -3), module._ARGUMENTS)
    )
    assert module._agree("caller", {}, None, ints=(5, 2**35)).tolist() == [
        [5, 2**35],
        [2**40, -3],
    ]


@pytest.mark.parametrize(
    ("theirs", "stage", "exc", "match"),
    [
        (ValueError("starts must be finite"), 1, ValueError, "process 1 refused its arguments"),
        (MemoryError("too big"), 1, MemoryError, "process 1 has too little memory"),
        (RuntimeError("lost"), 3, RuntimeError, "process 1 failed while computing its share"),
    ],
)
def test_agree_stops_every_process_when_one_refused(monkeypatch, theirs, stage, exc, match):
    fields = {"starts": np.arange(3.0)}
    module = _other_process_sends(
        monkeypatch, lambda: module._encode({"starts": 0}, theirs, (), stage)
    )
    with pytest.raises(exc, match=rf"^caller: {match}"):
        module._agree("caller", fields, None, stage=stage)
    refusal = ValueError("starts must be finite")
    with pytest.raises(ValueError, match=r"^starts must be finite$"):
        module._agree("caller", fields, refusal)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"coordinator_address": "localhost"},
            ValueError,
            "coordinator_address must be 'host:port'",
        ),
        ({"coordinator_address": "host:99999"}, ValueError, "coordinator_address must be"),
        ({"coordinator_address": "h:1\u00b2"}, ValueError, "coordinator_address must be"),
        (
            {"coordinator_address": "http://127.0.0.1:1234"},
            ValueError,
            "without a scheme such as http://",
        ),
        ({"coordinator_address": "a..b:1234"}, ValueError, "not a valid name: 'a..b'"),
        ({"num_processes": 0}, ValueError, "num_processes must be >= 1"),
        ({"num_processes": 2, "process_id": 2}, ValueError, "process_id must be below num_"),
        ({"process_id": -1}, ValueError, "process_id must be >= 0"),
        ({"initialization_timeout": 0}, ValueError, "initialization_timeout must be >= 1"),
        ({"heartbeat_timeout_seconds": 2.5}, TypeError, "heartbeat_timeout_seconds must be an int"),
        ({"shutdown_timeout_seconds": True}, TypeError, "shutdown_timeout_seconds must be an int"),
    ],
)
def test_initialize_refuses_malformed_arguments_before_calling_jax(kwargs, exc, match, monkeypatch):
    called = []
    monkeypatch.setattr(jax.distributed, "initialize", lambda *a, **k: called.append(1))
    kwargs = {
        "coordinator_address": "127.0.0.1:1234",
        "num_processes": 2,
        "process_id": 0,
        **kwargs,
    }
    with pytest.raises(exc, match=match):
        jaxgd.distributed.initialize(**kwargs)
    assert not called


@pytest.mark.parametrize(
    ("errno", "refused"),
    [
        (socket.EAI_NONAME, True),
        (getattr(socket, "EAI_NODATA", socket.EAI_NONAME), True),
        (socket.EAI_AGAIN, False),
    ],
)
def test_initialize_refuses_a_host_no_resolver_knows(errno, refused, monkeypatch):
    # JAX retried such a name for the whole initialization_timeout, then ended the process.
    # A resolver that is only slow to answer (EAI_AGAIN) is left to JAX's retries.
    called = []
    monkeypatch.setattr(jax.distributed, "initialize", lambda *a, **k: called.append(1))
    looked_up = []

    def getaddrinfo(host, port, *args, **kwargs):
        looked_up.append((host, port))
        raise socket.gaierror(errno, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    args = ("coordinator.example:1234", 2, 0)
    if refused:
        with pytest.raises(
            ValueError,
            match=r"^coordinator_address names the host "
            r"'coordinator.example', which does not resolve \(Name or service",
        ):
            jaxgd.distributed.initialize(*args)
        assert not called
    else:
        jaxgd.distributed.initialize(*args)
        assert called
    assert looked_up == [("coordinator.example", 1234)]


def test_shutdown_timeout_is_passed_only_to_a_jax_that_takes_it(monkeypatch):
    calls = []

    def older_initialize(
        coordinator_address=None,
        num_processes=None,
        process_id=None,
        initialization_timeout=300,
        heartbeat_timeout_seconds=100,
    ):
        calls.append(initialization_timeout)

    monkeypatch.setattr(jax.distributed, "initialize", older_initialize)
    with pytest.raises(TypeError, match="shutdown_timeout_seconds needs a newer jax"):
        jaxgd.distributed.initialize(shutdown_timeout_seconds=5)
    assert not calls
    jaxgd.distributed.initialize(initialization_timeout=7)
    assert calls == [7]


def test_initialize_passes_integer_likes_to_jax_as_ints(monkeypatch):
    # Counts and timeouts take 0-d integer arrays, but JAX's initialize refuses them
    # ("process_id must be a nonnegative int"): they are passed on as the ints checked.
    module = importlib.import_module("jaxgd.distributed")
    calls = []
    monkeypatch.setattr(module, "_wait_for_coordinator", lambda *a: calls.append(a))
    monkeypatch.setattr(jax.distributed, "initialize", lambda *a, **k: calls.append((a, k)))
    jaxgd.distributed.initialize(
        "127.0.0.1:1234",
        num_processes=np.array(2),
        process_id=np.int64(1),
        initialization_timeout=np.array(7),
        heartbeat_timeout_seconds=np.array(9),
    )
    (wait, (args, kwargs)) = calls
    assert wait == ("127.0.0.1", 1234, 7, 1)
    assert args == ("127.0.0.1:1234", 2, 1)
    assert kwargs == {"initialization_timeout": 7, "heartbeat_timeout_seconds": 9}
    for value in (*args[1:], *wait[2:], *kwargs.values()):
        assert type(value) is int


def test_initialize_leaves_a_missing_process_id_to_cluster_detection(monkeypatch):
    # It once waited for the coordinator as if it were process 1: on a cluster, process 0
    # then waited for the coordinator it was about to start, and every process timed out.
    module = importlib.import_module("jaxgd.distributed")
    calls = []

    def no_wait(*args):
        raise AssertionError("waited for the coordinator without knowing this process's id")

    monkeypatch.setattr(module, "_wait_for_coordinator", no_wait)
    monkeypatch.setattr(jax.distributed, "initialize", lambda *a, **k: calls.append(a))
    jaxgd.distributed.initialize("127.0.0.1:1234", initialization_timeout=5)
    assert calls == [("127.0.0.1:1234", None, None)]

    def off_a_cluster(*args, **kwargs):  # what JAX raises where it detects no cluster
        raise ValueError("The process id of the current process must be defined.")

    monkeypatch.setattr(jax.distributed, "initialize", off_a_cluster)
    with pytest.raises(ValueError, match=r"^process_id is needed: this process is not on a clu"):
        jaxgd.distributed.initialize("127.0.0.1:1234", num_processes=2)

    def no_coordinator(*args, **kwargs):  # initialize() with nothing, off a cluster
        raise ValueError("coordinator_address should be defined.")

    monkeypatch.setattr(jax.distributed, "initialize", no_coordinator)
    with pytest.raises(ValueError, match=r"^coordinator_address is needed: .*num_processes and"):
        jaxgd.distributed.initialize()


@pytest.mark.slow
def test_processes_on_a_cluster_join_with_the_coordinator_address_alone(tmp_path):
    results, seconds = _run_processes(tmp_path, mode="cluster", timeout=60)
    _skip_if_unavailable(results)
    for i, (code, out) in enumerate(results):
        assert code == 0, f"process {i}:\n{out[-3000:]}"
        assert f"SWEPT on process {i} of 2" in out
    assert seconds < 30


@pytest.mark.slow
def test_processes_with_different_numbers_of_devices_equal_the_plain_sweep(tmp_path):
    # It once failed in the first exchange with a NumPy reshape error (and with three
    # processes, hung): the exchange laid every device out in a processes x devices grid.
    devices = {0: {"JAXGD_TEST_CPU_DEVICES": "1"}, 1: {"JAXGD_TEST_CPU_DEVICES": "2"}}
    results, seconds = _run_processes(tmp_path, mode="small", timeout=60, env_of=devices)
    _skip_if_unavailable(results)
    for i, (code, out) in enumerate(results):
        assert code == 0, f"process {i}:\n{out[-3000:]}"
        assert f"SWEPT on process {i} of 2" in out
    assert seconds < 30


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    """The two processes' outputs of the worker's ``checks`` mode, one step a line."""
    results, _ = _run_processes(tmp_path_factory.mktemp("checks"), mode="checks", timeout=90)
    _skip_if_unavailable(results)
    return [out for _, out in results]


def _step(out: str, name: str) -> tuple[str, int]:
    """What step ``name`` printed, and how many shares it computed (-1: it never ended)."""
    said = [line for line in out.splitlines() if line.startswith(f"STEP {name}: ")]
    count = [line for line in out.splitlines() if line.startswith(f"STEP {name} computed ")]
    if not said:
        return "(never ended)\n" + out[-2000:], -1
    return said[0][len(f"STEP {name}: ") :], int(count[0].split()[-1])


def _refused_by_one(checks: list[str], name: str, theirs: str, ours: str) -> None:
    """Step ``name``: process 1 raised ``theirs`` and process 0 learnt of it through the
    exchange (``ours``), the two messages' beginnings; neither computed a share."""
    out0, out1 = checks
    for out, start in ((out1, theirs), (out0, ours)):
        said, computed = _step(out, name)
        assert said.startswith(start), said
        assert computed == 0


@pytest.mark.slow
def test_processes_whose_math_differs_are_refused_by_sweep_and_gather(checks):
    # It once merged fast-math and XLA-math shares into a result equal to neither.
    for out in checks:
        said, computed = _step(out, "math")
        assert said.startswith(
            "ValueError: jaxgd.distributed.sweep was called with different math on different "
            "processes (process 1 differs from process 0)"
        ), said
        assert "fast_math=True or False" in said
        assert computed == 0
        said, _ = _step(out, "gather-math")
        assert said.startswith(
            "ValueError: jaxgd.distributed.gather was called with different math"
        ), said


@pytest.mark.slow
def test_a_refusal_inside_the_local_sweep_reaches_every_process_before_computing(checks):
    # progress, and the memory a share needs, were checked only by jaxgd.sweep, after the
    # exchange: the refusing process raised alone and the other waited until JAX ended it.
    _refused_by_one(
        checks,
        "progress",
        "TypeError: progress must be None, True or False",
        "ValueError: jaxgd.distributed.sweep: process 1 refused its arg",
    )
    _refused_by_one(
        checks,
        "share-memory",
        "MemoryError: the result of this process's share (7 x 4 x 5 cells)",
        "MemoryError: jaxgd.distributed.sweep: process 1 has too little memory",
    )


@pytest.mark.slow
def test_a_whole_result_too_large_for_the_host_is_refused_before_computing(checks):
    # It once computed every share and then failed in the exchange (RESOURCE_EXHAUSTED) or
    # was killed for memory.
    for out in checks:
        said, computed = _step(out, "whole-memory")
        assert said.startswith(
            "MemoryError: gathering the whole result on every process (2000 x 50 x 5 cells, "
            "with the exchange's working copies) needs "
        ), said
        assert "Pass gather=False" in said
        assert computed == 0
    _refused_by_one(
        checks,
        "gather-memory",
        "MemoryError: gathering the whole result on every process",
        "MemoryError: jaxgd.distributed.gather: process 1 has too little",
    )


@pytest.mark.slow
def test_gathering_a_result_that_is_already_whole_is_refused(checks):
    # It once returned every start twice.
    for out in checks:
        said, _ = _step(out, "gather-whole")
        assert said.startswith(
            "ValueError: jaxgd.distributed.gather needs each process's own share of one sweep, "
            "but they overlap or leave gaps (starts held, of the sweep's 13: process 0: "
            "[0, 13), process 1: [0, 13))"
        ), said


@pytest.mark.slow
def test_a_gather_flag_that_is_not_a_bool_is_refused_on_every_process(checks):
    _refused_by_one(
        checks,
        "gather-flag",
        "TypeError: gather must be True or False; got str 'no'",
        "ValueError: jaxgd.distributed.sweep: process 1 refused its",
    )
    assert all("DONE" in out for out in checks)


def test_gather_flag_and_fast_math_on_one_process():
    args = (jnp.cos, [0.0, 1.0], [0.1, 0.2], [1, 2])
    with pytest.raises(TypeError, match="gather must be True or False; got str 'no'"):
        jaxgd.distributed.sweep(*args, gather="no")
    assert jaxgd.distributed.sweep(*args, gather=np.bool_(False)).shape == (2, 2, 2)
    res = jaxgd.distributed.sweep(*args, fast_math=False)
    assert res.math == "xla"
    np.testing.assert_array_equal(res.final, jaxgd.sweep(*args, fast_math=False).final)


def _pieces(*where):
    """The exchange's rows for pieces at ``where`` = (lo, hi) of one sweep of 13 starts."""
    return np.array([(hi - lo, 1, lo, hi, 7, -2, 13) for lo, hi in where], np.int64)


def test_pieces_must_be_the_shares_of_one_sweep():
    module = importlib.import_module("jaxgd.distributed")
    module._check_pieces("gather", _pieces((0, 7), (7, 13)))
    module._check_pieces("gather", _pieces((0, 13), (13, 13)))  # an empty share
    untagged = _pieces((0, 13), (0, 13))
    untagged[1, 1] = 0  # a piece from elsewhere (loaded, selected): taken as it comes
    module._check_pieces("gather", untagged)
    for where in [((0, 13), (0, 13)), ((0, 7), (0, 7)), ((7, 13), (0, 7)), ((0, 6), (7, 13))]:
        with pytest.raises(ValueError, match="overlap or leave gaps"):
            module._check_pieces("gather", _pieces(*where))
    other = _pieces((0, 7), (7, 13))
    other[1, 4] = 8
    with pytest.raises(ValueError, match="they come from different sweeps"):
        module._check_pieces("gather", other)
