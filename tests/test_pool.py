"""A large one-call sweep writes into the memory of a result dropped before (jaxgd._pool): the
same bits as a sweep into new memory, and never into a result anything still refers to."""

from __future__ import annotations

import gc
import importlib
import threading

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd
from jaxgd import _pool
from tests.helpers import CASE_IDS, CASES, UNSEEN, UNSEEN_IDS

sweep_module = importlib.import_module("jaxgd.sweep")

STARTS = np.linspace(-3.0, 3.0, 9)
RATES = np.linspace(0.0, 0.2, 7)
EPOCHS = np.round(np.linspace(0, 40, 5))


@pytest.fixture
def pooled(monkeypatch):
    """Every one-call sweep writes into kept memory, however small; the pool starts empty."""
    monkeypatch.setattr(_pool, "MIN_BYTES", 0)
    jaxgd.release_memory()
    yield
    jaxgd.release_memory()


def arrays(res):
    return [np.array(a) for a in (res.final, res.value, res.diverged)]


def same(a, b):
    return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b, strict=True))


def unpooled(monkeypatch, *args, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(_pool, "MIN_BYTES", 1 << 62)
        return arrays(jaxgd.sweep(*args, **kwargs))


@pytest.mark.parametrize("case", CASES + UNSEEN, ids=CASE_IDS + UNSEEN_IDS)
def test_into_kept_memory_equals_into_new_memory(case, x64_or_not, pooled, monkeypatch):
    want = unpooled(monkeypatch, case.f, case.starts, case.rates, EPOCHS)
    first = jaxgd.sweep(case.f, case.starts, case.rates, EPOCHS)
    assert same(arrays(first), want)
    where = first.final.ctypes.data
    del first
    again = jaxgd.sweep(case.f, case.starts, case.rates, EPOCHS)
    assert again.final.ctypes.data == where  # written into the dropped result's memory
    assert same(arrays(again), want)


def test_optimisers_points_and_parameters_equal_into_new_memory(pooled, monkeypatch):
    points = np.stack([STARTS, STARTS[::-1]], 1)
    theta = {"params": {"a": np.array([1.0, 2.0])}}
    cases = [
        ((jnp.cos, STARTS, RATES, EPOCHS), {"optimizer": {"sgd": optax.sgd, "adam": optax.adam}}),
        ((lambda p: jnp.sum(jnp.sin(p) ** 2), points, RATES, EPOCHS), {}),
        ((lambda x, p: jnp.cos(p["a"] * x), STARTS, RATES, EPOCHS), theta),
        ((jnp.cos, STARTS, RATES, [30, 10, 20, 10]), {}),  # counts out of order, repeated
    ]
    for args, kwargs in cases:
        want = unpooled(monkeypatch, *args, **kwargs)
        for _ in range(3):  # new memory, then the dropped result's, twice
            assert same(arrays(jaxgd.sweep(*args, **kwargs)), want)


HOLDS = {
    "the result": lambda r: r,
    "final": lambda r: r.final,
    "a slice of value": lambda r: r.value[1:, ::2, -1],
    "diverged as an array": lambda r: np.asarray(r.diverged),
    "a JAX array of final": lambda r: jnp.asarray(r.final),
    "a DLPack import of value": lambda r: np.from_dlpack(r.value),
    "a memoryview of final": lambda r: memoryview(r.final),
    "a selection": lambda r: r.isel(start=slice(2, 5)),
    "a plain copy of the arrays": lambda r: r.to_numpy(),
}


def contents(held):
    """A copy of what ``held`` reads now."""
    if isinstance(held, jaxgd.SweepResult):
        return arrays(held)
    if isinstance(held, dict):
        return [np.array(v) for v in held.values()]
    return [np.array(held)]


@pytest.mark.parametrize("hold", HOLDS.values(), ids=HOLDS.keys())
def test_memory_anything_refers_to_is_never_written(hold, pooled):
    res = jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)
    try:
        held = hold(res)
    except BufferError:  # NumPy 2.0 exports no read-only array over DLPack (2.1 does)
        pytest.skip("this NumPy cannot export a read-only array over DLPack")
    want = contents(held)
    del res
    for k in range(4):  # other starts: another result in the same shapes
        jaxgd.sweep(jnp.sin, STARTS + 0.5 * (k + 1), RATES, EPOCHS)
    assert same(contents(held), want)


def test_a_result_held_only_by_a_reference_cycle_is_not_written(pooled):
    gc.disable()
    try:
        res = jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)
        want = arrays(res)
        loop = [res]
        loop.append(loop)
        del res
        jaxgd.sweep(jnp.sin, STARTS + 1.0, RATES, EPOCHS)
        jaxgd.sweep(jnp.sin, STARTS + 2.0, RATES, EPOCHS)
        assert same(arrays(loop[0]), want)
    finally:
        gc.enable()


@settings(max_examples=25, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.sampled_from(["sweep", "drop", "keep"]), st.integers(0, 3)),
        min_size=1,
        max_size=12,
    )
)
def test_any_order_of_sweeps_and_drops_leaves_every_held_result_intact(plan):
    # Results of four kinds (starts shifted, one other shape) held, dropped and swept in any
    # order: each one held reads what it read when it was made.
    old = _pool.MIN_BYTES
    _pool.MIN_BYTES = 0
    jaxgd.release_memory()
    try:
        held = {}
        for action, k in plan:
            if action == "drop":
                held.pop(k, None)
                continue
            starts = STARTS + k if k < 3 else STARTS[:4]
            res = jaxgd.sweep(jnp.cos, starts, RATES, EPOCHS)
            if action == "keep":
                held[k] = (res, arrays(res))
            for r, want in held.values():
                assert same(arrays(r), want)
    finally:
        _pool.MIN_BYTES = old
        jaxgd.release_memory()


def test_dropped_memory_is_used_again_and_never_two_calls_at_once(pooled):
    a = jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)
    b = jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)  # a held: new memory
    where_a, where_b = a.final.ctypes.data, b.final.ctypes.data
    assert where_a != where_b
    del a
    c = jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)
    assert c.final.ctypes.data == where_a
    d = jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)  # b and c held
    assert d.final.ctypes.data not in (where_a, where_b)
    assert same(arrays(b), arrays(c)) and same(arrays(c), arrays(d))


def test_kept_memory_is_bounded_and_released(pooled, monkeypatch):
    for n in range(1, 7):  # six shapes (epoch counts), each result dropped
        jaxgd.sweep(jnp.sin, STARTS, RATES, np.arange(n))
    assert len(_pool._kept) == _pool.KEEP
    assert _pool.kept_bytes() > 0
    jaxgd.release_memory()
    assert _pool.kept_bytes() == 0 and not _pool._kept
    monkeypatch.setattr(_pool, "MAX_BYTES", 0)  # too large to keep: none is
    jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)
    assert not _pool._kept


def test_the_threshold_decides_by_the_result_bytes(monkeypatch):
    jaxgd.release_memory()
    monkeypatch.setattr(_pool, "MIN_BYTES", 8 << 20)
    epochs = np.arange(1, 101)
    small = jaxgd.sweep(jnp.sin, np.linspace(-1, 1, 150), np.linspace(0, 0.1, 50), epochs)
    assert not _pool._kept  # 100 x 7552 lanes x 9 bytes: under 8 MiB
    del small
    big = jaxgd.sweep(jnp.sin, np.linspace(-1, 1, 200), np.linspace(0, 0.1, 50), epochs)
    assert _pool.kept_bytes() == 100 * 10048 * 9  # float32 final and value, bool diverged
    del big
    jaxgd.release_memory()


def test_other_shapes_dtypes_and_devices_get_their_own_memory(pooled, x64):
    with jax.enable_x64(False):
        r32 = arrays(jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS))
    r64 = jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)  # float64: not the float32 memory
    assert r64.final.dtype == np.float64
    assert [k[0] for k, _ in _pool._kept][-1][0][1] == np.float64
    with jax.enable_x64(False):
        assert same(arrays(jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS)), r32)
    other = jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS[:3], devices=jax.devices()[:1])
    assert other.final.shape == (9, 7, 3)


def test_repeated_sweeps_compile_nothing_new(pooled, compiles):
    jaxgd.sweep(jnp.tanh, STARTS, RATES, EPOCHS)
    jaxgd.sweep(jnp.tanh, STARTS, RATES, EPOCHS)
    with compiles:
        for k in range(4):
            res = jaxgd.sweep(jnp.tanh, STARTS + k, RATES, EPOCHS)
            del res
    assert compiles.count == 0


def test_sweeps_from_threads_each_get_their_own_memory(pooled):
    want = {k: arrays(jaxgd.sweep(jnp.cos, STARTS + k, RATES, EPOCHS)) for k in range(4)}
    bad = []

    def work(k):
        for _ in range(6):
            if not same(arrays(jaxgd.sweep(jnp.cos, STARTS + k, RATES, EPOCHS)), want[k]):
                bad.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_inside_jit_nothing_is_kept(pooled):
    out = jax.jit(lambda s: jaxgd.sweep(jnp.sin, s, RATES, EPOCHS).final)(jnp.asarray(STARTS))
    assert out.shape == (9, 7, 5)
    assert not _pool._kept


def test_donated_buffers_are_used_in_place(pooled, recwarn):
    # JAX warns when a donated buffer matches no output ("Some donated buffers were not
    # usable"): then every call would copy instead of writing in place.
    for _ in range(2):
        jaxgd.sweep(jnp.sin, STARTS, RATES, EPOCHS, optimizer={"a": optax.sgd, "b": optax.sgd})
        jaxgd.sweep(lambda p: jnp.sum(p**2), np.ones((3, 2)), RATES, EPOCHS)
    assert not [w for w in recwarn if "donated" in str(w.message)]
