"""Sweeps on 4 CPU devices, run in a fresh process by tests/test_sharding.py.

Usage: python -m tests._sharding_worker

The device count must be set before JAX starts its backend, which the test process has long
done; so the checks run here and report one JSON object on the last line of stdout: for each
check, ``"ok"`` or the failure message.
"""

from __future__ import annotations

import json
import sys
import time
import traceback

import jax
import jax.numpy as jnp
import numpy as np

import jaxgd
from jaxgd import _chunking, _run
from jaxgd._rule import Rule
from tests.helpers import CASES, CompileCounter

FIELDS = ("final", "value", "diverged", "starts", "learning_rates", "epochs")
RATES = np.array([0.001, 0.02, 0.1, 0.4])
EPOCHS = np.array([40, 0, 7, 40, 3])


def same(a: jaxgd.SweepResult, b: jaxgd.SweepResult) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)))
    assert np.asarray(a.final).dtype == np.asarray(b.final).dtype


def check_four_devices():
    assert jax.device_count() == 4, jax.devices()


def check_equal_to_one_device():
    one = jax.devices()[:1]
    # The notebook's f in both precisions; a double well that diverges, with 13 starts (not a
    # multiple of 4) and 3 (fewer than the devices).
    for case, x64, n_starts in (
        (CASES[0], False, 13),
        (CASES[0], True, 13),
        (CASES[2], True, 13),
        (CASES[2], True, 3),
    ):
        with jax.enable_x64(x64):
            starts = np.linspace(-2.5, 3.0, n_starts)
            many = jaxgd.sweep(case.f, starts, RATES, EPOCHS)
            alone = jaxgd.sweep(case.f, starts, RATES, EPOCHS, devices=one)
            same(many, alone)
            assert isinstance(many.final, np.ndarray)


def _nested(x):
    # sin and cos inside the structures fastmath retraces, and a scan whose carry starts as
    # a constant: each raised "mismatched varying manual axes" on several devices.
    w = jnp.arange(1.0, 4.0)
    inner = jax.jit(jnp.sin)(x) + jnp.sinc(x)
    scanned, _ = jax.lax.scan(lambda c, v: (c + jnp.cos(v * x), None), 0.0, w)
    looped = jax.lax.fori_loop(0, 3, lambda i, c: c + jnp.sin(x + i), 0.0)
    kept = jax.checkpoint(lambda y: jnp.sin(y) ** 2)(x)
    return 0.05 * x**2 + inner + 0.3 * scanned + 0.2 * looped + kept


def check_nested_functions_on_four_devices():
    one = jax.devices()[:1]
    starts = np.linspace(-2.5, 3.0, 13)
    for fast in (True, False):
        many = jaxgd.sweep(_nested, starts, RATES, EPOCHS, fast_math=fast)
        alone = jaxgd.sweep(_nested, starts, RATES, EPOCHS, devices=one, fast_math=fast)
        same(many, alone)
        assert many.math == ("fast" if fast else "xla")


def check_chunked_on_four_devices():
    with jax.enable_x64(True):
        f = CASES[2].f  # double well: some runs diverge
        starts = np.linspace(-2.5, 3.0, 29)
        alone = jaxgd.sweep(f, starts, RATES, EPOCHS, devices=jax.devices()[:1])
        for chunk_size in (1, 17, 100):  # 29 calls; 2 calls, the second padded; one call
            same(jaxgd.sweep(f, starts, RATES, EPOCHS, chunk_size=chunk_size), alone)
        budget = _chunking.call_bytes(64, 2, 8)  # a row of lanes and 2 counts per device
        same(jaxgd.sweep(f, starts, RATES, EPOCHS, memory_budget=budget), alone)
        # And 3 steps a call: positions carried across calls on every device.
        saved = _chunking.CPU_WORK, _chunking.CPU_STEP_OVERHEAD
        _chunking.CPU_WORK, _chunking.CPU_STEP_OVERHEAD = 3 * 4 * 64, 0
        try:
            same(jaxgd.sweep(f, starts, RATES, EPOCHS, memory_budget=budget), alone)
        finally:
            _chunking.CPU_WORK, _chunking.CPU_STEP_OVERHEAD = saved


def check_new_axes_on_four_devices():
    # Optimisers (different states), a hyperparameter, parameters of f and points of R^2:
    # split over 4 devices, in one call and in small windows, equal to one device.
    import functools

    import optax

    def f(p, a):
        return jnp.sin(p[0]) * jnp.cos(a * p[1]) + 0.1 * (p[0] ** 2 + p[1] ** 2)

    kw = dict(
        optimizer={"momentum": functools.partial(optax.sgd, momentum=0.5), "adam": optax.adam},
        params=np.array([0.5, 1.5]),
    )
    starts = np.random.default_rng(0).uniform(-2, 2, (11, 2))
    with jax.enable_x64(True):
        alone = jaxgd.sweep(f, starts, RATES, EPOCHS, devices=jax.devices()[:1], **kw)
        same(jaxgd.sweep(f, starts, RATES, EPOCHS, **kw), alone)
        same(jaxgd.sweep(f, starts, RATES, EPOCHS, chunk_size=3, **kw), alone)
        adam = jaxgd.sweep(
            f,
            starts,
            RATES,
            EPOCHS,
            optimizer=optax.adam,
            hyperparams={"b1": [0.5, 0.9]},
            params=[1.0],
            devices=jax.devices()[:1],
        )
        same(
            jaxgd.sweep(
                f,
                starts,
                RATES,
                EPOCHS,
                optimizer=optax.adam,
                hyperparams={"b1": [0.5, 0.9]},
                params=[1.0],
                chunk_size=2,
            ),
            adam,
        )


def check_one_compile_serves_every_chunk():
    f = CASES[4].f
    starts = np.linspace(-3.0, 3.0, 37)
    with CompileCounter() as first:
        jaxgd.sweep(f, starts, RATES, EPOCHS, chunk_size=8)  # 5 calls of 8 starts
    # The step window, the divergence flags, and the blank snapshot buffers.
    assert first.count <= 3, first.names
    assert any("_advance_many" in name for name in first.names), first.names
    with CompileCounter() as again:
        jaxgd.sweep(f, starts + 0.5, RATES * 2, EPOCHS + 1, chunk_size=8)
    assert again.count == 0, again.names


def check_work_is_split():
    engine = _run.Engine(Rule(CASES[0].f), tuple(jax.devices()))
    ax = _run.plain_axes(np.zeros(8, np.float32), RATES)
    x, c = engine.put_lanes(*_run.host_lanes(ax, 0, 4 * 64))
    (counts,) = engine.put(np.sort(EPOCHS).astype(np.int32))
    xs, vs = engine.buffers(5, x)
    zero, stop = np.int32(0), np.int32(41)
    x, _, xs, vs = engine.advance(x, engine.init(x, c), c, counts, zero, zero, stop, xs, vs)
    for a in (x, xs, vs, engine.finish(xs, vs)):
        assert len(a.sharding.device_set) == 4, a.sharding
        assert len({s.data.shape for s in a.addressable_shards}) == 1, a.sharding


def check_subset_of_devices():
    f = CASES[0].f
    starts = np.linspace(-2.0, 2.0, 10)
    two = jaxgd.sweep(f, starts, RATES, EPOCHS, devices=jax.devices()[2:])
    same(two, jaxgd.sweep(f, starts, RATES, EPOCHS, devices=jax.devices()[:1]))
    on_three = jaxgd.sweep(f, starts, RATES, EPOCHS, devices=[jax.devices()[3]])
    same(on_three, two)
    assert isinstance(on_three.final, np.ndarray)


def main() -> int:
    # Here, before JAX starts its backend, and not at import: pytest imports every module under
    # tests/ to collect doctests, and must keep its single device.
    jax.config.update("jax_num_cpu_devices", 4)
    report = {}
    for name, check in list(globals().items()):
        if name.startswith("check_"):
            try:
                t = time.perf_counter()
                check()
                report[name] = "ok"
                print(f"{name}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
            except Exception as e:
                traceback.print_exc()
                report[name] = f"{type(e).__name__}: {e}"
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
