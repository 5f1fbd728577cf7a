"""The vectorised sin/cos in the engine: on by default on a CPU, switchable, recorded, exact."""

from __future__ import annotations

import importlib
import json
import re
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from jaxgd import _run
from jaxgd._rule import Rule
from tests.helpers import CASES, reference_sweep

sweep_module = importlib.import_module("jaxgd.sweep")
#: What a sweep computes with by default here: the rewrite on a CPU, XLA's math elsewhere.
DEFAULT_MATH = "fast" if jax.default_backend() == "cpu" else "xla"
cpu_only = pytest.mark.skipif(
    jax.default_backend() != "cpu", reason="fast math is the default on a CPU only"
)


def f(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


def g(x):
    return jnp.cos(3.0 * x) + 0.1 * x**2


STARTS = np.linspace(-5.0, 5.0, 23)
RATES = np.linspace(0.01, 0.3, 7)
EPOCHS = np.array([40, 0, 7, 200, 7])


def same(a: jaxgd.SweepResult, b: jaxgd.SweepResult) -> None:
    for name in ("final", "value", "diverged"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.math == b.math


def test_default_math_is_recorded_and_both_are_close():
    res = jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    assert res.math == DEFAULT_MATH
    assert f"math: {DEFAULT_MATH}" in repr(res)
    same(res, jaxgd.sweep(f, STARTS, RATES, EPOCHS, fast_math=DEFAULT_MATH == "fast"))
    res = jaxgd.sweep(f, STARTS, RATES, EPOCHS, fast_math=True)
    assert res.math == "fast"
    assert "math: fast" in repr(res)
    xla = jaxgd.sweep(f, STARTS, RATES, EPOCHS, fast_math=False)
    assert xla.math == "xla"
    assert "math: xla" in repr(xla)
    # Different math, same answer to float32 precision (the trajectories drift by rounding).
    np.testing.assert_allclose(res.final, xla.final, rtol=0, atol=1e-4)
    assert not np.array_equal(res.final, xla.final)


@pytest.mark.parametrize("fast", [True, False])
def test_compiled_step_has_libm_sin_cos_only_without_fast_math(fast):
    ax = _run.plain_axes(jnp.asarray(STARTS, jnp.float32), jnp.asarray(RATES, jnp.float32))
    hlo = sweep_module._sweep_arrays.lower((Rule(f, fast),), ax, EPOCHS).as_text()
    assert ("sine" in hlo) is not fast
    hlo = sweep_module._sweep_arrays.lower((Rule(g, fast),), ax, EPOCHS).as_text()
    assert ("cosine" in hlo) is not fast


@cpu_only
def test_env_var_turns_it_off(monkeypatch):
    fast = jaxgd.sweep(g, STARTS, RATES, EPOCHS)
    monkeypatch.setenv("JAXGD_FAST_MATH", "0")
    off = jaxgd.sweep(g, STARTS, RATES, EPOCHS)
    assert off.math == "xla"
    same(off, jaxgd.sweep(g, STARTS, RATES, EPOCHS, fast_math=False))
    assert not np.array_equal(off.final, fast.final)
    # An explicit choice outranks the environment.
    same(jaxgd.sweep(g, STARTS, RATES, EPOCHS, fast_math=True), fast)


@pytest.mark.thorough
@pytest.mark.parametrize("fast_math", [None, True, False])
@pytest.mark.parametrize("wide", [False, True])
def test_sweep_equals_vmapped_descend_bit_for_bit(fast_math, wide, request):
    if wide:
        request.getfixturevalue("x64")
    dtype = jaxgd.sweep(f, 0.0, 0.1, 1).final.dtype
    res = jaxgd.sweep(f, STARTS, RATES, EPOCHS, fast_math=fast_math)

    def run(x0, lr, n):
        return jaxgd.descend(f, x0, lr, n, fast_math=fast_math)

    grid = jax.vmap(jax.vmap(jax.vmap(run, (None, None, 0)), (None, 0, None)), (0, None, None))
    want = np.asarray(grid(STARTS.astype(dtype), RATES.astype(dtype), EPOCHS))
    traj = jaxgd.descend(f, STARTS[3], RATES[2], 200, trajectory=True, fast_math=fast_math)
    if res.math == "fast":
        # Polynomials only: every lane, batched or not, in any layout, takes the same bits.
        np.testing.assert_array_equal(res.final, want)
        np.testing.assert_array_equal(res.final[3, 2], np.asarray(traj)[EPOCHS])
    else:
        # XLA's libm calls round differently in a vector body and its scalar remainder: the
        # 805 lanes of this vmap are not whole rows of 64.
        np.testing.assert_allclose(res.final, want, rtol=1e-6, atol=1e-6)


def h(x):
    # tan over most of a period (its poles at +-2 pi, past the starts): f' = 0.2 x + 0.05 sec^2
    return 0.1 * x**2 + 0.2 * jnp.tan(0.25 * x)


@pytest.mark.parametrize("fast", [True, False])
def test_float32_tan_is_rewritten_only_with_fast_math(fast):
    ax = _run.plain_axes(jnp.asarray(STARTS, jnp.float32), jnp.asarray(RATES, jnp.float32))
    hlo = sweep_module._sweep_arrays.lower((Rule(h, fast),), ax, EPOCHS).as_text()
    assert bool(re.search(r"\b(stablehlo|chlo)\.tan\b", hlo)) is not fast


def test_a_sweep_of_tan_splits_alike_and_stays_near_xlas_math():
    fast = jaxgd.sweep(h, STARTS, RATES, EPOCHS, fast_math=True)
    same(jaxgd.sweep(h, STARTS, RATES, EPOCHS, chunk_size=4, fast_math=True), fast)
    xla = jaxgd.sweep(h, STARTS, RATES, EPOCHS, fast_math=False)
    # Every run contracts toward the minimum at -0.251: ulp-level differences do not grow.
    np.testing.assert_allclose(fast.final, xla.final, rtol=0, atol=4e-6)
    assert not np.array_equal(fast.final, xla.final)


@pytest.mark.parametrize("fast_math", [True, False])
def test_every_split_gives_the_same_bits(fast_math):
    alone = jaxgd.sweep(g, STARTS, RATES, EPOCHS, fast_math=fast_math)
    same(jaxgd.sweep(g, STARTS, RATES, EPOCHS, chunk_size=3, fast_math=fast_math), alone)
    budget = jaxgd.sweep(g, STARTS, RATES, EPOCHS, memory_budget=40_000, fast_math=fast_math)
    same(budget, alone)


def nested_step(x):
    return (
        jax.lax.cond(x > 0, jnp.sin, jnp.cos, x) * 0.5 + jnp.sinc(x) + jax.nn.softplus(jnp.sin(x))
    )


@pytest.mark.parametrize("fast_math", [True, False])
def test_calls_of_one_row_of_scalar_lanes_give_the_same_bits(fast_math):
    # A call of one row (64 scalar lanes) has a loop of steps small enough for XLA:CPU to
    # compile on its own, which rounded some steps of this f otherwise than the five rows of
    # the single call: 34 cells of the fast-math sweep ended elsewhere.
    starts, rates = np.linspace(-5.0, 5.0, 37), np.linspace(0.001, 0.3, 7)
    epochs = [0, 3, 50, 10, 300]
    alone = jaxgd.sweep(nested_step, starts, rates, epochs, fast_math=fast_math)
    for chunk_size in (1, 5):
        split = jaxgd.sweep(
            nested_step, starts, rates, epochs, chunk_size=chunk_size, fast_math=fast_math
        )
        same(split, alone)


def test_a_vmap_of_128_runs_equals_the_sweep():
    # The documented bound: a vmap of fewer float32 runs may be a loop XLA:CPU compiles on its
    # path for small loops (100 starts of this f at this rate ended 28 runs elsewhere).
    starts = np.linspace(-5.0, 5.0, 128, dtype=np.float32)
    res = jaxgd.sweep(nested_step, starts, 0.15, 300, fast_math=True)
    runs = jax.vmap(lambda x0: jaxgd.descend(nested_step, x0, 0.15, 300, fast_math=True))
    np.testing.assert_array_equal(res.final[:, 0, 0], runs(starts))


def test_no_recompile_for_new_values(compiles):
    jaxgd.sweep(g, [0.0, 1.0], [0.1, 0.2], [5, 10])
    with compiles:
        res = jaxgd.sweep(g, [3.0, -1.0], [0.01, 0.5], [100, 0])
    assert compiles.count == 0, compiles.names
    assert res.math == DEFAULT_MATH


def test_float64_fast_math_matches_the_reference_loop(x64):
    case = CASES[0]
    starts, rates, epochs = np.linspace(-4, 4, 9), np.array([0.01, 0.1]), np.array([0, 30, 300])
    res = jaxgd.sweep(case.f, starts, rates, epochs, fast_math=True)
    assert res.math == "fast" and res.final.dtype == np.float64
    np.testing.assert_allclose(
        res.final, reference_sweep(case.np_df, starts, rates, epochs), rtol=1e-12, atol=1e-12
    )


def test_convergence_uses_the_same_math():
    for fast_math in (True, False):
        conv = jaxgd.convergence(g, STARTS, RATES, 200, fast_math=fast_math)
        res = jaxgd.sweep(g, STARTS, RATES, 200, fast_math=fast_math)
        np.testing.assert_array_equal(conv.final, res.final[..., 0])


def test_random_starts_result_records_the_math():
    out = jaxgd.random_starts(f, jax.random.key(0), [0.05], [100], n=64, domain=(-6.0, 6.0))
    assert out.result.math == DEFAULT_MATH


@pytest.mark.parametrize("call", ["sweep", "descend", "convergence"])
@pytest.mark.parametrize("bad", ["yes", 1, 0.0])
def test_bad_fast_math_is_refused_before_compiling(call, bad, compiles):
    fn = getattr(jaxgd, call)
    with compiles, pytest.raises(TypeError, match=r"fast_math must be None, True or False"):
        fn(g, 0.0, 0.1, 10, fast_math=bad)
    assert compiles.count == 0


def test_math_survives_selection_and_save(tmp_path):
    for fast_math, name in ((True, "fast"), (False, "xla")):
        res = jaxgd.sweep(g, STARTS, RATES, EPOCHS, fast_math=fast_math)
        assert res.isel(start=0).math == name
        assert res.sel(learning_rate=RATES[1], method="nearest").squeeze().math == name
        assert jax.tree.map(np.asarray, res).math == name
        back = jaxgd.load(res.save(tmp_path / name))
        assert back.math == name
        same(back, res)


def _rewrite_metadata(path, change) -> None:
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    arrays = dict(np.load(path))
    meta = json.loads(str(arrays["metadata"][()]))
    change(meta)
    arrays["metadata"] = np.asarray(json.dumps(meta))
    assert "metadata.npy" in members
    np.savez(path, **arrays)


def test_files_without_math_load_as_xla_and_bad_math_is_refused(tmp_path):
    path = jaxgd.sweep(g, STARTS, RATES, EPOCHS, fast_math=False).save(tmp_path / "old.npz")
    _rewrite_metadata(path, lambda m: m.pop("math"))
    assert jaxgd.load(path).math == "xla"
    _rewrite_metadata(path, lambda m: m.update(math="approx"))
    with pytest.raises(ValueError, match="metadata 'math'"):
        jaxgd.load(path)


def test_result_refuses_unknown_math():
    res = jaxgd.sweep(g, 0.0, 0.1, 1)
    with pytest.raises(ValueError, match="math must be one of"):
        jaxgd.SweepResult(**{**vars(res), "math": "approx"})


def test_sweep_follows_the_devices_platform():
    cpu = jax.devices("cpu")[:1]
    assert jaxgd.sweep(g, STARTS, RATES, EPOCHS, devices=cpu).math == "fast"
    assert jaxgd.sweep(g, STARTS, RATES, EPOCHS, devices=cpu, fast_math=False).math == "xla"
    assert _run.fast_math_for(None, np.float32, "gpu") is False
    assert _run.fast_math_for(True, np.float32, "gpu") is True
    assert _run.fast_math_for(None, np.int32, "cpu") is False
