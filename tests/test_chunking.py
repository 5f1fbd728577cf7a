"""Sweeps cut into calls: bit-for-bit the single call, compiled once, bounded memory, a bar."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from jaxgd import _chunking, _run
from jaxgd._rule import Rule
from jaxgd.sweep import _sweep_arrays
from tests.helpers import CASE_IDS, CASES

FIELDS = ("final", "value", "diverged", "starts", "learning_rates", "epochs")
EPOCHS = (40, 0, 7, 40, 3, 1)  # unsorted, a duplicate, zero


def assert_identical(a: jaxgd.SweepResult, b: jaxgd.SweepResult) -> None:
    for name in FIELDS:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)


def small_calls(monkeypatch, work: int) -> None:
    """Calls of ``work`` lane-steps each (no loop overhead counted), to split tiny sweeps."""
    monkeypatch.setattr(_chunking, "CPU_WORK", work)
    monkeypatch.setattr(_chunking, "CPU_STEP_OVERHEAD", 0)


def splits(itemsize: int):
    """(label, sweep options, work budget): every way the work can be cut."""
    return [
        ("starts", {"chunk_size": 5}, None),
        ("starts 16", {"chunk_size": 16}, None),
        # 40 + 1 steps in windows of 5 (one row of lanes) or 3, positions carried across calls.
        ("steps", {"chunk_size": 1}, 5 * 64),
        ("steps and lanes", {"chunk_size": 10}, 3 * 64),
        # Room for one row of lanes and two snapshots: the counts taken in three groups.
        ("epochs", {"memory_budget": _chunking.call_bytes(64, 2, itemsize)}, None),
        ("everything", {"memory_budget": _chunking.call_bytes(64, 2, itemsize)}, 2 * 64),
    ]


@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_split_equals_the_single_call_bit_for_bit(case, x64_on, monkeypatch):
    # 37 starts x 7 rates = 259 lanes, 5 rows of 64: chunks of 5 starts (35 lanes) and of 16
    # (112 lanes) begin at other offsets within a row than in the single call.
    starts = np.linspace(-3.0, 3.0, 37)
    rates = np.linspace(min(case.rates), max(case.rates), 7)
    with jax.enable_x64(x64_on):
        whole = jaxgd.sweep(case.f, starts, rates, EPOCHS)
        for label, options, work in splits(8 if x64_on else 4):
            with monkeypatch.context() as m:
                if work is not None:
                    small_calls(m, work)
                split = jaxgd.sweep(case.f, starts, rates, EPOCHS, **options)
            assert isinstance(split.final, np.ndarray), label
            assert_identical(split, whole)


#: Functions whose value XLA compiles differently with what else the program does with it
#: (sqrt as x * rsqrt, fused multiply-adds): the one-call program writing divergence flags
#: from the value in its loop gave 5% of cos(x) exp(-x^2/20) + sqrt(1 + x^2)'s values an ulp
#: off the windowed calls'.
FUSION_SENSITIVE = {
    "cos_exp_sqrt": lambda x: jnp.cos(x) * jnp.exp(-0.05 * x**2) + jnp.sqrt(1 + x**2),
    "sqrt": lambda x: jnp.sqrt(1 + x**2),
    "log1p_cos": lambda x: jnp.log1p(x**2) * jnp.cos(x),
    "tanh_poly": lambda x: jnp.tanh(x) * x + 0.1 * x**4,
    "rsqrt_sin": lambda x: jnp.sin(x) / jnp.sqrt(2 + x**2),
}


@pytest.mark.thorough
@pytest.mark.parametrize("f", FUSION_SENSITIVE.values(), ids=FUSION_SENSITIVE.keys())
def test_every_split_equals_the_single_call_for_values_xla_may_fuse(f, monkeypatch):
    starts = np.linspace(-4.0, 4.0, 301)
    rates = np.array([0.001, 0.01])
    counts = np.array([1, 5, 3])
    whole = jaxgd.sweep(f, starts, rates, counts)
    for label, options, work in splits(4):
        with monkeypatch.context() as m:
            if work is not None:
                small_calls(m, work)
            split = jaxgd.sweep(f, starts, rates, counts, **options)
        assert_identical(split, whole), label


def _rosenbrock_sin(p):
    """f on R^2 whose step XLA:CPU compiled differently for one row of 64 lanes than for more
    (multiply-adds fused otherwise): an ulp a step, 0.39 apart after 400 chaotic steps."""
    return (1 - p[0]) ** 2 + 5 * (p[1] - p[0] ** 2) ** 2 + jnp.sin(3 * p[0])


def _coupled3(p):
    return jnp.sum(jnp.cos(p) * p) + 0.3 * p[0] * p[1] * p[2] + 0.1 * jnp.sum(p**2) ** 2


def _vector_theta(x, theta):
    return (x - theta[0]) ** 2 * (1 + theta[1] * jnp.sin(3 * x)) + theta[2] * x**4


VECTOR_LANES = {  # f, starts, sweep options: lanes that carry a vector
    "R^2": (_rosenbrock_sin, np.random.default_rng(0).uniform(-2, 2, (37, 2)), {}),
    "R^3": (_coupled3, np.random.default_rng(1).uniform(-2, 2, (37, 3)), {}),
    "vector params": (
        _vector_theta,
        np.linspace(-2, 2, 13),
        {"params": np.random.default_rng(2).uniform(0.1, 1.0, (3, 3))},
    ),
}


@pytest.mark.thorough
@pytest.mark.parametrize("fast_math", [True, False], ids=["fast", "xla"])
@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("case", VECTOR_LANES, ids=VECTOR_LANES.keys())
def test_lanes_that_carry_vectors_split_bit_for_bit_too(case, x64_on, fast_math, monkeypatch):
    # A call of one row of lanes was compiled apart from larger ones where a lane holds a
    # vector: chunk_size=1 (64 lanes a call) changed 208 of 891 cells of _rosenbrock_sin.
    f, starts, extra = VECTOR_LANES[case]
    rates, counts = [0.001, 0.01, 0.03], [1, 400, 50]
    with jax.enable_x64(x64_on):
        whole = jaxgd.sweep(f, starts, rates, counts, fast_math=fast_math, **extra)
        for label, options, work in splits(8 if x64_on else 4):
            with monkeypatch.context() as m:
                if work is not None:
                    small_calls(m, work)
                split = jaxgd.sweep(
                    f, starts, rates, counts, fast_math=fast_math, **options, **extra
                )
            for name in ("final", "value", "diverged"):
                np.testing.assert_array_equal(
                    np.asarray(getattr(split, name)), np.asarray(getattr(whole, name)), label
                )
        # The first starts alone (one call of at most 64 lanes) as within the whole sweep.
        few = jaxgd.sweep(f, starts[:4], rates, counts, fast_math=fast_math, **extra)
        part = whole.isel(start=slice(0, 4))
        for name in ("final", "value"):
            np.testing.assert_array_equal(getattr(few, name), getattr(part, name))


def test_the_splits_are_what_they_claim(monkeypatch):
    seen = []
    real = _run.drive
    monkeypatch.setattr(_run, "drive", lambda *a, **k: seen.append(a[3]) or real(*a, **k))
    small_calls(monkeypatch, 3 * 64)
    jaxgd.sweep(jnp.cos, np.linspace(0, 1, 37), np.linspace(0, 0.1, 7), EPOCHS, chunk_size=10)
    jaxgd.sweep(jnp.cos, [0.5], [0.1], EPOCHS, memory_budget=_chunking.call_bytes(128, 2, 4))
    lanes, groups = seen
    assert (lanes.lanes, lanes.calls, lanes.groups, lanes.steps) == (128, 3, 1, 1)
    assert (groups.group, groups.groups) == (2, 3)


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
    assert isinstance(res.final, np.ndarray)
    assert_identical(res, jaxgd.sweep(f, [0.0, 1.0, 2.0], [0.1], [5, 10], chunk_size=1000))


def test_a_chunk_size_beyond_any_float_is_one_ordinary_call():
    # It once raised OverflowError: the planner divided whole numbers as floats.
    f = CASES[0].f
    args = ([0.0, 1.0, 2.0], [0.1, 0.2], [5, 10])
    assert_identical(jaxgd.sweep(f, *args, chunk_size=10**400), jaxgd.sweep(f, *args))
    plan = _chunking.plan(
        n_lanes=6,
        n_epochs=2,
        itemsize=4,
        n_devices=3,
        lanes_per_call=10**400,
        memory_budget=None,
        device=jax.devices()[0],
    )
    assert (plan.lanes, plan.calls) == (3 * 64, 1)
    assert plan.windows(2**60 + 1) == -(-(2**60 + 2) // plan.steps)  # exact past 2**53


def test_small_memory_budget_splits_and_agrees():
    f = CASES[0].f
    starts, rates, epochs = np.linspace(-4, 4, 250), np.linspace(0.01, 0.2, 6), [30, 10, 20]
    budget = _chunking.call_bytes(5 * 64, 3, 4)  # five rows of lanes a call
    res = jaxgd.sweep(f, starts, rates, epochs, memory_budget=budget)
    assert_identical(res, jaxgd.sweep(f, starts, rates, epochs))


def test_one_compile_serves_every_chunk(compiles, monkeypatch):
    f = CASES[3].f
    starts = np.linspace(-8.0, 8.0, 23)  # 23 = 5 + 5 + 5 + 5 + 3: the last chunk is padded
    small_calls(monkeypatch, 3 * 64)  # and 3 steps a call
    with compiles:
        jaxgd.sweep(f, starts, [0.05, 0.3], [4, 2, 9], chunk_size=5)
    # The step window, the result's layout, and the blank snapshot buffers.
    assert compiles.count <= 3, compiles.names
    assert any("_advance_one" in name for name in compiles.names), compiles.names
    with compiles:
        compiles.count = 0
        jaxgd.sweep(f, starts * 0.5, [0.1, 1.0], [1, 70, 3], chunk_size=5)
    assert compiles.count == 0, compiles.names  # new values, more calls: nothing compiled


def _plan_in_rows(rows, n_devices, chunk_rows, budget_rows, **kwargs):
    """The plan for ``rows`` rows of lanes and 20 float32 counts, sizes given in rows."""
    budget = None if budget_rows is None else _chunking.call_bytes(budget_rows * 64, 20, 4)
    return _chunking.plan(
        n_lanes=rows * 64,
        n_epochs=20,
        itemsize=4,
        n_devices=n_devices,
        lanes_per_call=None if chunk_rows is None else chunk_rows * 64,
        memory_budget=budget,
        device=jax.devices()[0],
        **kwargs,
    )


@pytest.mark.parametrize(
    ("rows", "n_devices", "chunk_rows", "budget_rows", "per_call", "calls"),
    [
        (1001, 1, None, 500, 334, 3),  # evened out: 334 * 3, not 500 + 500 + 1
        (1000, 1, None, 5000, 1000, 1),  # fits: one call
        (10, 1, 3, None, 3, 4),  # 3 + 3 + 3 + 1 (padded)
        (10, 4, 3, None, 4, 3),  # rounded up to one row per device
        (10, 4, 100, None, 12, 1),  # one call, padded to a multiple of 4 devices
        (70, 2, None, 20, 36, 2),  # the budget fits 20 rows per device
        (5, 1, None, 0, 5, 1),  # not even one row fits all counts: they are cut instead
    ],
)
def test_plan_lanes(rows, n_devices, chunk_rows, budget_rows, per_call, calls):
    plan = _plan_in_rows(rows, n_devices, chunk_rows, budget_rows)
    assert (plan.lanes // 64, plan.calls) == (per_call, calls)
    assert plan.groups == (1 if budget_rows != 0 else 20)
    assert plan.lanes % (64 * n_devices) == 0
    assert plan.lanes * plan.calls >= rows * 64 > plan.lanes * (plan.calls - 1)


@pytest.mark.parametrize(
    ("rows", "n_devices", "chunk_rows", "budget_rows"),
    [(1, 1, None, None), (1, 1, 1, None), (5, 1, 1, None), (9, 2, 1, None), (3, 1, None, 0)],
)
def test_plan_gives_each_device_the_least_rows_asked(rows, n_devices, chunk_rows, budget_rows):
    # Lanes that carry vectors take two rows a call at least (jaxgd._run.least_rows).
    plan = _plan_in_rows(rows, n_devices, chunk_rows, budget_rows, least=2)
    assert plan.lanes // (64 * n_devices) >= 2
    assert plan.lanes * plan.calls >= rows * 64 > plan.lanes * (plan.calls - 1)


@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize(
    "shape", [(1, 50, 40), (300, 20, 50), (40, 7, 1), (10, 300, 3), (1, 1, 1), (3, 1, 100)]
)
def test_memory_estimate_bounds_what_xla_allocates(shape, x64_on):
    n_starts, n_rates, n_epochs = shape
    with jax.enable_x64(x64_on):
        dtype = np.dtype(jnp.zeros(()).dtype)
        compiled = _sweep_arrays.lower(
            (Rule(CASES[0].f),),
            _run.plain_axes(np.zeros(n_starts, dtype), np.zeros(n_rates, dtype)),
            np.arange(n_epochs),
        ).compile()
    mem = compiled.memory_analysis()
    if mem is None:
        pytest.skip("this backend reports no memory analysis")
    one_call = mem.temp_size_in_bytes + mem.output_size_in_bytes + mem.argument_size_in_bytes
    previous_chunk = _chunking.result_bytes(n_starts, n_rates, n_epochs, dtype.itemsize)
    estimate = _chunking.call_bytes(n_starts * n_rates, n_epochs, dtype.itemsize)
    assert one_call + previous_chunk <= estimate
    # And not far above: at most a row of padding lanes more (a one-call result drops them).
    # The whole-run program needs a little less than a windowed call (no window's tests),
    # which the estimate covers too: 2x, not 1.5x, where a count's snapshot is all it holds.
    padding = _chunking.call_bytes(64, n_epochs, dtype.itemsize)
    assert estimate <= 2 * (one_call + previous_chunk) + padding


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
    # 300 runs, a row of 64 a call.
    res = jaxgd.sweep(jnp.cos, np.linspace(0, 3, 300), [0.1], [5], chunk_size=64, progress=True)
    err = capsys.readouterr().err
    assert "jaxgd.sweep" in err and "1.50k/1.50k" in err  # 300 runs of 5 steps
    assert res.shape == (300, 1, 1)


@pytest.mark.parametrize("progress", [None, False])
def test_no_progress_bar_off_a_terminal_or_when_off(capsys, progress):
    jaxgd.sweep(jnp.cos, np.linspace(0, 3, 300), [0.1], [5], chunk_size=64, progress=progress)
    assert capsys.readouterr().err == ""


def test_importing_jaxgd_imports_neither_tqdm_nor_matplotlib():
    code = (
        "import sys, jaxgd, jaxgd.distributed; "
        "bad = [m for m in ('tqdm', 'matplotlib') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
