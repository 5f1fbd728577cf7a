"""jaxgd._run's waits on a compiled call: a short call is watched before the caller blocks."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from jaxgd import _run
from jaxgd.convergence import convergence
from jaxgd.functions import notebook


class FakeCall:
    """Stands for a compiled call's output: ready after ``ready_after`` is_ready() calls."""

    def __init__(self, ready_after: float = float("inf")):
        self.ready_after = ready_after
        self.polls = 0
        self.blocked = False

    def is_ready(self) -> bool:
        self.polls += 1
        return self.polls > self.ready_after

    def block_until_ready(self):
        self.blocked = True
        return self


@pytest.fixture
def cpus(monkeypatch):
    def set_to(n: int):
        _run._spins.cache_clear()
        monkeypatch.setattr(_run.os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)

    yield set_to
    _run._spins.cache_clear()


def test_a_short_call_is_watched_then_waited_on(cpus):
    cpus(2)
    call = FakeCall(ready_after=3)
    _run.wait_short(call)
    assert call.polls == 4 and call.blocked


def test_watching_stops_after_spin_s_and_the_caller_blocks(cpus):
    # A call that turns out long (or an f whose pure_callback needs the GIL) is watched for
    # SPIN_S at most; then the caller blocks, releasing the GIL, until it is done.
    cpus(2)
    call = FakeCall()
    t0 = time.perf_counter()
    _run.wait_short(call)
    assert call.blocked and call.polls > 1
    assert time.perf_counter() - t0 < 100 * _run.SPIN_S


def test_with_one_cpu_the_caller_blocks_at_once(cpus):
    # Watching would take the only CPU from the thread that computes the call.
    cpus(1)
    call = FakeCall(ready_after=0)
    _run.wait_short(call)
    assert call.polls == 0 and call.blocked


def test_wait_short_returns_a_real_call_done():
    @jax.jit
    def slow(x):
        return jax.lax.fori_loop(0, 200_000, lambda i, x: jnp.sin(x) + 0.5, x)

    x = jnp.zeros(64)
    expected = np.asarray(slow(x))
    out = slow(x)
    _run.wait_short(out)
    assert out.is_ready()
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_small_sweeps_and_convergences_are_waited_on_short(monkeypatch):
    seen = []
    monkeypatch.setattr(_run, "wait_short", lambda a: seen.append(a.shape) or a.block_until_ready())
    jaxgd.sweep(notebook, [0.0, 1.0], [0.01, 0.1], [5, 10])
    assert len(seen) == 1
    convergence(notebook, [0.0, 1.0], [0.01, 0.1], 100)
    assert len(seen) == 2
