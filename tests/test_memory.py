"""Every entry point that allocates plans its memory first: it cuts the work, or refuses it."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd
from jaxgd import _chunking, analysis
from jaxgd.convergence import convergence
from jaxgd.minima import _merge_cells, _outside_cells, find_minima, find_minima_reached
from tests.helpers import CASES

GiB = 1 << 30


@pytest.fixture
def host_24_gib(monkeypatch):
    """A 24 GiB machine, whatever this one has."""
    monkeypatch.setattr(_chunking, "available_host_memory", lambda: 24 * GiB)


@settings(max_examples=60, deadline=None)
@given(
    n_lanes=st.integers(1, 10**10),
    n_epochs=st.integers(1, 10**8),
    budget=st.integers(1 << 20, 64 * GiB),
    n_devices=st.sampled_from([1, 2, 4, 8]),
    itemsize=st.sampled_from([4, 8]),
)
def test_every_call_of_a_plan_fits_the_budget(n_lanes, n_epochs, budget, n_devices, itemsize):
    plan = _chunking.plan(
        n_lanes=n_lanes,
        n_epochs=n_epochs,
        itemsize=itemsize,
        n_devices=n_devices,
        lanes_per_call=None,
        memory_budget=budget,
        device=jax.devices()[0],
    )
    per_device = plan.lanes // n_devices
    assert per_device % 64 == 0 and per_device > 0
    # Unless one row of lanes and one epoch count is already too much, every call fits.
    if _chunking.call_bytes(64, 1, itemsize) <= budget:
        assert _chunking.call_bytes(per_device, plan.group, itemsize) <= budget
    assert plan.lanes * plan.calls >= n_lanes > plan.lanes * (plan.calls - 1)
    assert plan.group * plan.groups >= n_epochs > plan.group * (plan.groups - 1)
    # And every call is short: a bounded number of lane-steps.
    overhead = _chunking.CPU_STEP_OVERHEAD
    assert (plan.lanes + overhead) * plan.steps <= max(_chunking.CPU_WORK, plan.lanes + overhead)


def test_one_start_and_a_billion_cells_is_cut_not_one_call():
    # S = 1, L * E = 1e9: 9 GiB of result, which one call would hold twice over.
    plan = _chunking.plan(
        n_lanes=10**4,
        n_epochs=10**5,
        itemsize=4,
        n_devices=1,
        lanes_per_call=None,
        memory_budget=None,
        device=jax.devices()[0],
    )
    assert plan.calls * plan.groups > 1
    assert _chunking.call_bytes(plan.lanes, plan.group, 4) <= _chunking.CPU_BUDGET


@pytest.mark.parametrize(
    ("starts", "n_rates", "n_epochs"),
    [(1, 10**4, 10**6), (10**3, 10**3, 10**4)],  # 1e10 cells, 84 GiB in float32
)
def test_a_result_larger_than_the_host_is_refused_before_anything_runs(
    starts, n_rates, n_epochs, compiles, host_24_gib
):
    rates = np.linspace(0.0, 0.1, n_rates)
    with compiles, pytest.raises(MemoryError, match=r"needs 83\.8 GiB of host memory.*fewer"):
        jaxgd.sweep(jnp.cos, np.zeros(starts), rates, np.arange(n_epochs))
    assert compiles.count == 0


def test_the_host_check_counts_what_the_calls_hold_on_a_cpu(monkeypatch):
    # The result alone would fit; with the calls' working memory (host memory on a CPU) not.
    need = _chunking.result_bytes(1000, 50, 40, 4)
    monkeypatch.setattr(_chunking, "available_host_memory", lambda: need + 1000)
    with pytest.raises(MemoryError, match="GiB of host memory"):
        jaxgd.sweep(jnp.cos, np.zeros(1000), np.linspace(0, 0.1, 50), np.arange(40))


def test_convergence_refuses_a_result_larger_than_the_host(compiles, host_24_gib):
    with compiles, pytest.raises(MemoryError, match=r"GiB of host memory.*fewer starts"):
        convergence(jnp.cos, np.zeros(10**5), np.linspace(0, 0.1, 10**5), 10)
    assert compiles.count == 0


@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
def test_convergence_in_calls_equals_one_call_bit_for_bit(x64_on, monkeypatch):
    well = CASES[2]
    starts, rates = np.linspace(-2.5, 3.0, 29), np.linspace(0.001, 0.1, 9)
    with jax.enable_x64(x64_on):
        whole = convergence(well.f, starts, rates, 300, tol=1e-3)
        # Two rows of lanes a call, 7 steps a call: both passes in windows.
        monkeypatch.setattr(_chunking, "CPU_WORK", 7 * 128)
        monkeypatch.setattr(_chunking, "CPU_STEP_OVERHEAD", 0)
        itemsize = 8 if x64_on else 4
        split = convergence(
            well.f, starts, rates, 300, tol=1e-3, memory_budget=128 * 16 * itemsize + (64 << 10)
        )
    for name in ("epoch", "converged", "diverged", "final", "last_step"):
        a, b = getattr(split, name), getattr(whole, name)
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert whole.diverged.any() and whole.converged.any()


# -- random_starts ---------------------------------------------------------------------------------
WELL = CASES[2]  # a tilted double well: one global minimum, and large steps blow up
RATES = [0.01, 0.1, 0.3]


@pytest.fixture(scope="module")
def minima():
    return find_minima(WELL.f, -3.0, 3.0)


def _random(minima, key=None, **kw):
    args = {"learning_rates": RATES, "epochs": [0, 30, 5], "n": 300}
    key = jax.random.key(3) if key is None else key
    return analysis.random_starts(WELL.f, key, domain=(-3.0, 3.0), minima=minima, **(args | kw))


def test_random_starts_in_blocks_draws_and_runs_the_same(minima, monkeypatch):
    whole = _random(minima)
    # Blocks of 7 starts (the last one padded): the draw, the kept sweep and the counts agree.
    monkeypatch.setattr(analysis, "_BLOCK_BYTES", 7 * 3 * 3 * 9)
    blocks = _random(minima)
    np.testing.assert_array_equal(blocks.result.starts, whole.result.starts)
    for name in ("final", "value", "diverged"):
        np.testing.assert_array_equal(getattr(blocks.result, name), getattr(whole.result, name))
    np.testing.assert_array_equal(blocks.success, whole.success)
    np.testing.assert_array_equal(blocks.diverged_fraction, whole.diverged_fraction)
    np.testing.assert_allclose(blocks.spread, whole.spread, rtol=1e-5)
    # The one-call sweep over the drawn starts is the kept result, bit for bit.
    again = jaxgd.sweep(WELL.f, whole.result.starts, RATES, [0, 30, 5])
    np.testing.assert_array_equal(again.final, whole.result.final)
    assert 0 < whole.diverged_fraction[2].max() < 1  # rate 0.3 diverges from some starts
    assert whole.success.max() > 0


def test_random_starts_statistics_match_a_direct_computation(minima):
    rs = _random(minima)
    res = rs.result
    ok = ~res.diverged
    settled = np.where(ok, res.final.astype(np.float64), np.nan)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(rs.spread, np.nanstd(settled, axis=0), rtol=1e-5)
    reached = analysis.basins(res, minima).reached_global
    np.testing.assert_allclose(rs.success, np.mean(reached, axis=0), rtol=1e-6)
    np.testing.assert_allclose(rs.diverged_fraction, res.diverged.mean(0), rtol=1e-6)


def test_random_starts_without_the_result_keeps_the_statistics(minima, monkeypatch):
    kept = _random(minima)
    monkeypatch.setattr(analysis, "_BLOCK_BYTES", 50 * 3 * 3 * 9)
    bare = _random(minima, keep_result=False)
    assert bare.result is None
    np.testing.assert_array_equal(bare.success, kept.success)
    np.testing.assert_allclose(bare.spread, kept.spread, rtol=1e-5)


@pytest.mark.parametrize("block", [None, 29])
def test_random_starts_finds_the_same_minima_with_the_result_kept_or_not(block, monkeypatch):
    # The lowest minimum, at 1.185, lies outside the domain; runs settle there. Without the
    # result only the domain's minima were searched: success 0.81 against 0.19 kept.
    def f(x):
        return -2.0 * jnp.exp(-10 * (x - 1.2) ** 2) - jnp.exp(-(x**2))

    if block is not None:  # several blocks, the last one padded
        monkeypatch.setattr(analysis, "_BLOCK_BYTES", block * 2 * 1 * 9)
    args = {"learning_rates": [0.05, 0.2], "epochs": [2000], "n": 400, "domain": (-1.0, 1.0)}
    kept = analysis.random_starts(f, jax.random.key(0), **args)
    bare = analysis.random_starts(f, jax.random.key(0), **args, keep_result=False)
    assert bare.result is None
    np.testing.assert_array_equal(bare.minima.x, kept.minima.x)
    assert float(kept.minima.x[-1]) == pytest.approx(1.18543, abs=1e-4)
    np.testing.assert_array_equal(bare.success, kept.success)
    np.testing.assert_array_equal(bare.diverged_fraction, kept.diverged_fraction)
    direct = analysis.basins(kept.result, kept.minima).reached_global.mean(axis=0)
    np.testing.assert_allclose(kept.success, direct, rtol=1e-6)
    assert 0.1 < float(kept.success[0, 0]) < 0.3
    # The minima equal find_minima_reached's on all the runs' ends.
    whole = find_minima_reached(f, kept.result.final, (-1.0, 1.0))
    np.testing.assert_array_equal(kept.minima.x, whole.x)


def test_a_diverging_rate_changes_no_other_rates_statistics():
    # Runs at rate 1 fly far outside the domain before they overflow; the search windows
    # around them once set the scale at which minima tie, and both wells (-1.10 and -0.90)
    # became global: success at rate 0.01 went from 0.5 to 0.993.
    def f(x):
        return x**4 - 2.0 * x**2 + 0.1 * x

    args = {"epochs": [5, 200], "n": 300, "domain": (-2.0, 2.0)}
    alone = analysis.random_starts(f, jax.random.key(3), [0.01], **args)
    both = analysis.random_starts(f, jax.random.key(3), [0.01, 1.0], **args)
    np.testing.assert_array_equal(both.success[0], alone.success[0])
    assert np.asarray(both.diverged_fraction)[1, 1] > 0.5
    assert np.asarray(both.minima.x)[analysis.global_minima(both.minima)].tolist() == [
        pytest.approx(-1.0123, abs=1e-4)
    ]


@pytest.mark.parametrize("keep_result", [True, False])
def test_random_starts_with_no_run_outside_searches_the_domain_once(keep_result, monkeypatch):
    # Small rates keep every run inside (-2, 2): the minima are find_minima's on the domain,
    # found once, not searched for again around ends that do not exist.
    def f(x):
        return x**4 - 2.0 * x**2 + 0.3 * x

    from jaxgd import minima as minima_module

    searches = []
    search = minima_module._search
    monkeypatch.setattr(
        minima_module, "_search", lambda *a, **k: searches.append(1) or search(*a, **k)
    )
    rs = analysis.random_starts(
        f,
        jax.random.key(1),
        [0.001, 0.01],
        [10, 300],
        n=64,
        domain=(-2.0, 2.0),
        keep_result=keep_result,
    )
    assert len(searches) == 1
    direct = find_minima(f, -2.0, 2.0)
    for name in ("x", "value", "at_boundary", "resolution"):
        np.testing.assert_array_equal(getattr(rs.minima, name), getattr(direct, name))
    if keep_result:
        final = np.asarray(rs.result.final)
        assert ((final >= -2.0) & (final <= 2.0)).all()


def test_outside_cells_of_parts_merge_into_those_of_the_whole(rng):
    ends = np.concatenate([rng.normal(0, 30, 500), [np.nan, np.inf, -np.inf, 2.0, -2.0]])
    cuts = [0, 7, 7, 200, 505]  # an empty part too
    parts = [_outside_cells(ends[a:b], -2.0, 2.0) for a, b in itertools.pairwise(cuts)]
    whole = _outside_cells(ends, -2.0, 2.0)
    for got, want in zip(_merge_cells(*parts), whole, strict=True):
        np.testing.assert_array_equal(got, want)
    assert whole[1].sum() == np.sum(np.abs(ends[np.isfinite(ends)]) > 2.0)


def test_random_starts_too_large_to_keep_is_refused_with_the_fix(minima, compiles, host_24_gib):
    # 1e7 starts x 50 rates x 40 counts: 168 GiB to keep.
    kw = {"learning_rates": np.linspace(0.0, 0.1, 50), "epochs": np.arange(40), "n": 10**7}
    key = jax.random.key(3)  # making a key compiles, the first time in a process
    with compiles, pytest.raises(MemoryError, match=r"GiB of host memory.*keep_result=False"):
        _random(minima, key, **kw)
    assert compiles.count == 0


@pytest.mark.parametrize("keep_result", [True, False])
def test_random_starts_too_large_is_refused_before_the_minima_search(
    keep_result, compiles, host_24_gib
):
    # Without minima=, the search for them compiled 4 programs before n was checked.
    key = jax.random.key(3)  # making a key compiles, the first time in a process
    f = lambda x: WELL.f(x)  # a new f: nothing of it is compiled yet
    want = "keep_result=False" if keep_result else "fewer starts"
    with compiles, pytest.raises(MemoryError, match=rf"n=10+ .*GiB of host memory.*{want}"):
        analysis.random_starts(
            f, key, 0.1, 10, n=10**12, domain=(-3.0, 3.0), keep_result=keep_result
        )
    assert compiles.count == 0


def test_random_starts_keep_result_must_be_a_bool(minima):
    with pytest.raises(TypeError, match="keep_result must be True or False"):
        _random(minima, keep_result="no")


LIMITED = """
import resource, sys
import numpy as np, jax.numpy as jnp
import jaxgd
from jaxgd import _chunking

with open("/proc/self/statm") as fh:
    size = int(fh.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + (3 << 30), resource.RLIM_INFINITY))
print("left GiB", round(_chunking.available_host_memory() / 2**30))
try:  # a 5.2 GiB result: more than the 3 GiB the limit leaves, less than the machine has
    jaxgd.convergence(jnp.cos, np.linspace(0, 1, 20_000), np.linspace(0, 0.1, 25_000), 10)
except MemoryError as e:
    print("refused:", e)
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads Linux's /proc")
def test_the_host_check_counts_the_process_address_space_limit():
    # Only /proc/meminfo was read: under `ulimit -v` (or a container's memory limit) the
    # check passed and NumPy failed later with a bare "Unable to allocate".
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", LIMITED],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0] in ("left GiB 3", "left GiB 2"), lines
    assert lines[1].startswith("refused: the result of this convergence (20000 x 25000 runs) needs")


def test_a_cgroup_limit_counts_what_the_group_has_left(tmp_path, monkeypatch):
    group = tmp_path / "sys/fs/cgroup/job"
    group.mkdir(parents=True)
    (group / "memory.max").write_text("4294967296\n")
    (group / "memory.current").write_text("1073741824\n")
    real_open = open

    def fake_open(path, *args, **kwargs):
        path = str(path)
        if path == "/proc/self/cgroup":
            return io.StringIO("0::/job\n")
        if path.startswith("/sys/fs/cgroup"):
            return real_open(tmp_path / path.lstrip("/"), *args, **kwargs)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert _chunking._cgroup_available() == 3 << 30
    (group / "memory.max").write_text("max\n")  # no limit
    assert _chunking._cgroup_available() is None
