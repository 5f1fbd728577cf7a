"""Chunked sweeps: bit-for-bit the unchunked sweep, one compile, bounded memory, a progress bar."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from jaxgd import _chunking
from jaxgd.sweep import _sweep_arrays
from tests.helpers import CASE_IDS, CASES

FIELDS = ("final", "value", "diverged", "starts", "learning_rates", "epochs")
EPOCHS = (40, 0, 7, 40, 3, 1)  # unsorted, a duplicate, zero


def assert_identical(a: jaxgd.SweepResult, b: jaxgd.SweepResult) -> None:
    for name in FIELDS:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_chunked_equals_unchunked_bit_for_bit(case, x64_on):
    # 37 starts x 7 rates = 259 lanes, 5 rows of 64: chunks of 5 starts (35 lanes) and of 16
    # (112 lanes) begin at other offsets within a row than in the single call.
    starts = np.linspace(-3.0, 3.0, 37)
    rates = np.linspace(min(case.rates), max(case.rates), 7)
    with jax.enable_x64(x64_on):
        whole = jaxgd.sweep(case.f, starts, rates, EPOCHS)
        for chunk_size in (5, 16):
            chunked = jaxgd.sweep(case.f, starts, rates, EPOCHS, chunk_size=chunk_size)
            assert isinstance(chunked.final, np.ndarray)
            assert_identical(chunked, whole)


def test_divergence_stays_in_its_cells_across_chunks(x64):
    well = next(c for c in CASES if c.name == "double_well")
    starts = [0.5, 50.0, -0.5, 60.0, 0.1]
    whole = jaxgd.sweep(well.f, starts, [0.01, 0.02], [0, 100, 10])
    chunked = jaxgd.sweep(well.f, starts, [0.01, 0.02], [0, 100, 10], chunk_size=2)
    assert_identical(chunked, whole)
    assert chunked.diverged[[1, 3], :, 1:].all()
    assert not chunked.diverged[[0, 2, 4]].any()


def test_chunk_size_at_least_starts_is_one_ordinary_call():
    f = CASES[0].f
    res = jaxgd.sweep(f, [0.0, 1.0, 2.0], [0.1], [5, 10], chunk_size=3)
    assert isinstance(res.final, jax.Array)
    assert_identical(res, jaxgd.sweep(f, [0.0, 1.0, 2.0], [0.1], [5, 10], chunk_size=1000))


def test_small_memory_budget_splits_and_agrees():
    f = CASES[0].f
    starts, rates, epochs = np.linspace(-4, 4, 25), np.linspace(0.01, 0.2, 6), [30, 10, 20]
    budget = _chunking.call_bytes(5, 6, 3, 4)  # five starts a call
    res = jaxgd.sweep(f, starts, rates, epochs, memory_budget=budget)
    assert isinstance(res.final, np.ndarray)  # it was split
    assert_identical(res, jaxgd.sweep(f, starts, rates, epochs))


def test_one_compile_serves_every_chunk(compiles):
    f = CASES[3].f
    starts = np.linspace(-8.0, 8.0, 23)  # 23 = 5 + 5 + 5 + 5 + 3: the last chunk is padded
    with compiles:
        jaxgd.sweep(f, starts, [0.05, 0.3], [4, 2, 9], chunk_size=5)
    assert compiles.count == 1, compiles.names
    with compiles:
        jaxgd.sweep(f, starts * 0.5, [0.1, 1.0], [1, 7, 3], chunk_size=5)
    assert compiles.count == 1, compiles.names  # new values: nothing new compiled


@pytest.mark.parametrize(
    ("n_starts", "n_devices", "chunk_size", "budget_rows", "per_call", "calls"),
    [
        (1001, 1, None, 500, 334, 3),  # evened out: 334 * 3, not 500 + 500 + 1
        (1000, 1, None, 5000, 1000, 1),  # fits: one call
        (10, 1, 3, None, 3, 4),  # 3 + 3 + 3 + 1 (padded)
        (10, 4, 3, None, 4, 3),  # rounded up to one start per device
        (10, 4, 100, None, 12, 1),  # one call, padded to a multiple of 4 devices
        (7, 2, None, 1, 2, 4),  # the budget fits one start per device
        (5, 1, None, 0, 1, 5),  # not even one start fits: one start per call, still runs
    ],
)
def test_plan(n_starts, n_devices, chunk_size, budget_rows, per_call, calls):
    budget = None
    if budget_rows is not None:
        budget = _chunking.call_bytes(budget_rows, 10, 20, 4)
    plan = _chunking.plan(
        n_starts=n_starts,
        n_rates=10,
        n_epochs=20,
        dtype=np.float32,
        n_devices=n_devices,
        chunk_size=chunk_size,
        memory_budget=budget,
        device=jax.devices()[0],
    )
    assert (plan.per_call, plan.calls) == (per_call, calls)
    assert plan.per_call % n_devices == 0
    assert plan.per_call * plan.calls >= n_starts > plan.per_call * (plan.calls - 1)


@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize(
    "shape", [(1, 50, 40), (300, 20, 50), (40, 7, 1), (10, 300, 3), (1, 1, 1), (3, 1, 100)]
)
def test_memory_estimate_bounds_what_xla_allocates(shape, x64_on):
    n_starts, n_rates, n_epochs = shape
    with jax.enable_x64(x64_on):
        dtype = np.dtype(jnp.zeros(()).dtype)
        compiled = _sweep_arrays.lower(
            CASES[0].f,
            np.zeros(n_starts, dtype),
            np.zeros(n_rates, dtype),
            np.arange(n_epochs),
        ).compile()
    mem = compiled.memory_analysis()
    if mem is None:
        pytest.skip("this backend reports no memory analysis")
    one_call = mem.temp_size_in_bytes + mem.output_size_in_bytes + mem.argument_size_in_bytes
    previous_chunk = _chunking.result_bytes(n_starts, n_rates, n_epochs, dtype.itemsize)
    estimate = _chunking.call_bytes(n_starts, n_rates, n_epochs, dtype.itemsize)
    assert one_call + previous_chunk <= estimate
    assert estimate <= 1.5 * (one_call + previous_chunk) + (64 << 10)  # and not far above


def test_default_budget():
    assert _chunking.default_budget(jax.devices("cpu")[0]) == _chunking.CPU_BUDGET

    class FakeGpu:
        def memory_stats(self):
            return {"bytes_limit": 16 << 30, "bytes_in_use": 4 << 30}

    assert _chunking.default_budget(FakeGpu()) == 6 << 30


def test_result_too_large_for_the_host_is_refused_before_running(monkeypatch):
    monkeypatch.setattr(_chunking, "available_host_memory", lambda: 10)
    with pytest.raises(MemoryError, match=r"GiB of host memory.*jaxgd.distributed.sweep"):
        jaxgd.sweep(jnp.cos, np.linspace(0, 1, 10), [0.1], [1, 2], chunk_size=2)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
        ({"chunk_size": -3}, ValueError, "chunk_size must be >= 1"),
        ({"chunk_size": 2.5}, TypeError, "chunk_size must be a positive int"),
        ({"chunk_size": True}, TypeError, "chunk_size must be a positive int"),
        ({"memory_budget": 0}, ValueError, "memory_budget must be >= 1"),
        ({"memory_budget": "1GB"}, TypeError, "memory_budget must be a positive int"),
    ],
)
def test_bad_options_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        jaxgd.sweep(jnp.cos, [0.0, 1.0], [0.1], [1], **kwargs)


def test_chunking_inside_jit_is_refused_with_a_fix():
    @jax.jit
    def run(starts):
        return jaxgd.sweep(jnp.cos, starts, [0.1], [1], chunk_size=1)

    with pytest.raises(ValueError, match=r"chunk_size needs concrete inputs.*outside"):
        run(jnp.zeros(3))


def test_progress_bar_when_asked(capsys):
    res = jaxgd.sweep(jnp.cos, np.linspace(0, 3, 9), [0.1], [5], chunk_size=2, progress=True)
    err = capsys.readouterr().err
    assert "jaxgd.sweep" in err and "9/9" in err
    assert res.shape == (9, 1, 1)


@pytest.mark.parametrize("progress", [None, False])
def test_no_progress_bar_off_a_terminal_or_when_off(capsys, progress):
    jaxgd.sweep(jnp.cos, np.linspace(0, 3, 9), [0.1], [5], chunk_size=2, progress=progress)
    assert capsys.readouterr().err == ""


def test_importing_jaxgd_imports_neither_tqdm_nor_matplotlib():
    code = (
        "import sys, jaxgd, jaxgd.distributed; "
        "bad = [m for m in ('tqdm', 'matplotlib') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
