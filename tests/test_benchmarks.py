"""The benchmark's baselines compute what jaxgd.sweep computes, and its report is well formed.

No timings are asserted: speed is measured by ``python -m benchmarks.run``, not by tests.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from benchmarks import run as bench

TINY = bench.Grid(
    "tiny",
    np.array([-1.0, 0.5, 2.0, 4.5]),
    np.array([0.01, 0.1, 0.7]),
    np.array([5.0, 0.0, 12.0, 5.0]),
    loop_subset=(2, 1),
)


@pytest.fixture
def reference(x64):
    return jaxgd.sweep(bench.f, TINY.starts, TINY.rates, TINY.epochs).to_numpy()


def test_notebook_loops_match_the_sweep(reference):
    final, value, diverged = bench.notebook_loops(TINY.starts, TINY.rates, TINY.epochs)
    np.testing.assert_allclose(final, reference.final, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(value, reference.value, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(diverged, reference.diverged)


def test_vectorised_numpy_matches_the_sweep(reference):
    final, value, diverged = bench.numpy_vectorised(
        TINY.starts, TINY.rates, TINY.epochs, np.float64
    )
    np.testing.assert_allclose(final, reference.final, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(value, reference.value, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(diverged, reference.diverged)


def test_vectorised_numpy_in_float32_is_close():
    ref = jaxgd.sweep(bench.f, TINY.starts, TINY.rates, TINY.epochs)
    final, _, _ = bench.numpy_vectorised(TINY.starts, TINY.rates, TINY.epochs, np.float32)
    assert final.dtype == np.float32
    np.testing.assert_allclose(final, ref.final, rtol=1e-5, atol=1e-5)


def test_literal_triple_vmap_matches_the_sweep(reference):
    args = (jnp.asarray(TINY.starts), jnp.asarray(TINY.rates), jnp.asarray(TINY.epochs, int))
    final, value, diverged = bench.literal_vmap(*args)
    np.testing.assert_allclose(final, reference.final, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(value, reference.value, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(diverged, reference.diverged)


@pytest.mark.parametrize("loop", [bench.bare_loop, bench.bare_loop_rows])
def test_bare_loops_reach_the_longest_count(reference, loop):
    n = int(TINY.epochs.max())
    final = loop(bench.f, jnp.asarray(TINY.starts), jnp.asarray(TINY.rates), n)
    assert final.shape == (4, 3)
    longest = reference.final[:, :, int(np.argmax(TINY.epochs))]
    np.testing.assert_allclose(final, longest, rtol=1e-12, atol=1e-12)


def _quiet(*_):
    pass


def test_bench_grid_times_every_method_and_checks_it():
    timings = bench.bench_grid(TINY, rounds=1, slow_cap_s=1.0, log=_quiet)
    names = [t.method for t in timings]
    assert names == [
        "notebook loops",
        "NumPy, vectorised, float32",
        "NumPy, vectorised, float64",
        "literal triple vmap",
        bench.SWEEP,
        *bench.BARE,
        bench.TUNED,
        bench.SWEEP_XLA,
        bench.BARE_FAST,
    ]
    for t in timings:
        assert len(t.times) == 1 and t.times[0] > 0
        assert t.max_diff < 1e-4, (t.method, t.max_diff)  # float32 against the sweep
    loops = timings[0]
    assert loops.scale == (4 * 3) / (2 * 1)  # timed on 2 of 12 (start, rate) pairs
    assert loops.steps == 4 * 3 * int(TINY.epochs.sum())
    assert timings[3].steps == 4 * 3 * 4 * 12  # every cell runs to the longest count
    assert timings[4].steps == 4 * 3 * 12


def test_report_tables_name_every_method_and_target():
    timings = bench.bench_grid(TINY, rounds=1, slow_cap_s=1.0, log=_quiet)
    table = bench.table(timings)
    assert "notebook loops (extrapolated)" in table
    for t in timings:
        assert t.method in table
    targets = bench.targets(timings)
    for method, _, where in bench.TARGETS:
        assert (method in targets) == (where is None)  # the notebook target is Exp. 3 only
    assert "within 1.2x of the faster bare loop" in targets


def test_write_doc_replaces_only_its_platform(tmp_path):
    page = tmp_path / "performance.md"
    page.write_text("# Performance\n\nintro\n")
    bench.write_doc(page, "gpu", "gpu table")
    bench.write_doc(page, "cpu", "first cpu table")
    bench.write_doc(page, "cpu", "second cpu table")
    text = page.read_text()
    assert text.startswith("# Performance\n\nintro\n")
    assert "gpu table" in text and "second cpu table" in text
    assert "first cpu table" not in text
    assert text.count("<!-- benchmark:cpu -->") == 1


def _few_kernels(n, rounds):
    return bench.transcendentals.bench_elementwise(64, 1, ("float32",), only={"sin", "tan"})


def test_kernel_table_has_every_method_where_it_applies():
    table = bench.kernel_table(_few_kernels(64, 1))
    sin, tan = (line for line in table.splitlines() if line.startswith(("| sin", "| tan")))
    assert sin.count(" - ") == 0  # XLA, NumPy and the rewrite all time sin
    assert tan.startswith("| tan | float32 |")


def test_main_prints_and_writes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "grids", lambda quick: [TINY])
    monkeypatch.setattr(bench, "kernels", _few_kernels)
    monkeypatch.setattr(bench, "module_latency", lambda rounds: _fake_latency())
    monkeypatch.setattr(bench, "programs_compiled", lambda: 7)
    out = tmp_path / "perf.md"
    assert bench.main(["--quick", "--rounds", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| jaxgd.sweep | tiny" in printed and f"wrote {out}" in printed
    text = out.read_text()
    assert "Command: `python -m benchmarks.run --quick`" in text
    assert "| target |" in text
    assert "| sin | float32 |" in text
    assert "XLA programs compiled by one run without the cache: 7." in text


def _fake_latency():
    return [
        bench.Latency(bench.IMPORTS, [1.0, 1.2], [0.9, 1.0]),
        bench.Latency("cold", [3.5, 2.5], [2.0, 2.2]),
        bench.Latency("warm", [1.5, 1.9], [1.4, 1.6]),
        bench.Latency("--no-cache", [3.0, 3.2], [2.5, 2.6]),
    ]


def test_latency_table_judges_each_run_against_the_imports():
    table = bench.latency_table(_fake_latency())
    rows = {line.split(" | ")[0]: line for line in table.splitlines()[2:]}
    assert "| python -m experiments.lr_epochs, warm | 1.70 s | 1.50 s | 1.50 s | +0.60 s " in table
    assert rows["| python -m experiments.lr_epochs, warm"].endswith("| +0.8 s | yes |")
    assert rows["| python -m experiments.lr_epochs, cold"].endswith(
        "| +1.90 s | +1.15 s | +1.8 s | no |"
    )
    assert rows["| python -m experiments.lr_epochs, --no-cache"].endswith("| - | - |")


FAKE_MODULE = """
import os, sys
from pathlib import Path
folder = os.environ.get("JAXGD_CACHE_DIR")
if folder and "--no-cache" not in sys.argv:
    Path(folder).mkdir(exist_ok=True)
    (Path(folder) / f"entry{len(list(Path(folder).iterdir()))}").write_text("")
"""


@pytest.mark.slow
def test_module_latency_times_fresh_processes_in_each_cache_state(tmp_path, monkeypatch):
    (tmp_path / "fake_experiment.py").write_text(FAKE_MODULE)
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    rows = bench.module_latency(2, module="fake_experiment", log=_quiet)
    assert [r.run for r in rows] == [bench.IMPORTS, "cold", "warm", "--no-cache"]
    for r in rows:
        assert len(r.wall) == len(r.cpu) == 2 and min(r.wall) > 0 and min(r.cpu) >= 0
