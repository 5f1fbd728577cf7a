"""A repeated plain sweep (same f, same kinds of arguments) checks only its values: it must be
the full path's result bit for bit, and refuse or plan exactly what the full path does."""

from __future__ import annotations

import contextlib
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd
from jaxgd import _chunking
from tests.helpers import CASE_IDS, CASES, UNSEEN, UNSEEN_IDS

sweep_module = importlib.import_module("jaxgd.sweep")

STARTS = np.linspace(-3.0, 3.0, 7)
RATES = np.linspace(0.0, 0.2, 5)
EPOCHS = np.round(np.linspace(0, 60, 6))  # integral floats, as the notebook makes them


@pytest.fixture
def checked(monkeypatch):
    """Count the full path's argument checks (one per call that does not repeat)."""
    calls = []
    real = sweep_module._checked

    def counting(*args):
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(sweep_module, "_checked", counting)
    sweep_module._SEEN.clear()
    yield calls
    sweep_module._SEEN.clear()


def full_path(f, *args, **kwargs):
    """The sweep as a first call of its kind computes it."""
    sweep_module._SEEN.clear()
    return jaxgd.sweep(f, *args, **kwargs)


def assert_same(a: jaxgd.SweepResult, b: jaxgd.SweepResult) -> None:
    for name in ("final", "value", "diverged", "starts", "learning_rates", "epochs"):
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name, strict=True)
    assert (a.dims, a.function, a.math, a.coords) == (b.dims, b.function, b.math, b.coords)
    assert type(a.final) is type(b.final) is np.ndarray
    assert a.final.flags.writeable == b.final.flags.writeable


def error_of(f, *args) -> tuple[type, str]:
    with pytest.raises((TypeError, ValueError)) as info:
        jaxgd.sweep(f, *args)
    return info.type, str(info.value)


@pytest.mark.parametrize("case", CASES + UNSEEN, ids=CASE_IDS + UNSEEN_IDS)
def test_a_repeated_call_is_the_first_calls_result_bit_for_bit(checked, x64_or_not, case):
    first = jaxgd.sweep(case.f, STARTS, RATES, EPOCHS)
    again = jaxgd.sweep(case.f, STARTS, RATES, EPOCHS)
    other = jaxgd.sweep(case.f, STARTS[::-1] * 0.5, RATES[1:], EPOCHS[:4])
    assert len(checked) == 1, "the repeated calls ran the full checks again"
    assert_same(first, again)
    assert_same(other, full_path(case.f, STARTS[::-1] * 0.5, RATES[1:], EPOCHS[:4]))


def test_the_argument_checks_run_once_per_signature(checked):
    f = CASES[0].f
    jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    jaxgd.sweep(f, STARTS + 1, RATES, EPOCHS + 1)
    assert len(checked) == 1
    jaxgd.sweep(f, STARTS.astype(np.float32), RATES, EPOCHS)  # another dtype
    jaxgd.sweep(f, STARTS, RATES, EPOCHS.astype(int))
    jaxgd.sweep(f, np.float64(0.5), RATES, EPOCHS)  # 0-d: another number of dimensions
    jaxgd.sweep(CASES[1].f, STARTS, RATES, EPOCHS)  # another f
    assert len(checked) == 5
    for _ in range(3):
        jaxgd.sweep(f, np.float64(1.5), RATES, EPOCHS.astype(int))
    assert len(checked) == 6


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(([0.0, 1.0], RATES, EPOCHS), id="list starts"),
        pytest.param((STARTS.reshape(-1, 1), RATES, EPOCHS), id="(S, 1) starts"),
        pytest.param((np.ma.masked_array(STARTS), RATES, EPOCHS), id="masked starts"),
        pytest.param((STARTS > 0, RATES, EPOCHS), id="bool starts"),
        pytest.param((True, RATES, EPOCHS), id="Python bool start"),
        pytest.param((np.bool_(True), RATES, EPOCHS), id="NumPy bool start"),
        pytest.param((10**30, RATES, EPOCHS), id="int beyond int64"),
        pytest.param((STARTS.astype(complex), RATES, EPOCHS), id="complex starts"),
        pytest.param((STARTS, RATES, np.array([[1, 2]])), id="2-D epochs"),
        pytest.param((jax.random.key(0), RATES, EPOCHS), id="PRNG key starts"),
        pytest.param((jnp.asarray(STARTS, jnp.bfloat16), RATES, EPOCHS), id="bfloat16 starts"),
    ],
)
def test_other_kinds_of_arguments_take_the_full_path(checked, args):
    f = CASES[0].f
    for _ in range(2):
        with contextlib.suppress(TypeError, ValueError):
            jaxgd.sweep(f, *args)
    assert len(checked) == 2


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((0.5, 0.1, 10), id="Python numbers"),
        pytest.param((np.float32(0.5), np.float64(0.1), np.int16(10)), id="NumPy numbers"),
        pytest.param((jnp.asarray(STARTS), jnp.asarray(RATES), EPOCHS), id="JAX arrays"),
        pytest.param((STARTS.astype(np.int8), RATES, EPOCHS.astype(np.uint16)), id="ints"),
    ],
)
def test_numbers_and_jax_arrays_repeat_too(checked, args):
    f = CASES[0].f
    first = jaxgd.sweep(f, *args)
    assert_same(jaxgd.sweep(f, *args), first)
    assert len(checked) == 1


def test_options_take_the_full_path(checked):
    f = CASES[0].f
    for _ in range(2):
        jaxgd.sweep(f, STARTS, RATES, EPOCHS, fast_math=False)
        jaxgd.sweep(f, STARTS, RATES, EPOCHS, progress=False)
        jaxgd.sweep(f, STARTS, RATES, EPOCHS, chunk_size=64)
    assert len(checked) == 6


BAD_VALUES = [
    pytest.param((np.array([0.0, np.nan]), RATES, EPOCHS), id="NaN start"),
    pytest.param((np.array([np.inf, 0.0]), RATES, EPOCHS), id="inf start"),
    pytest.param((np.array([0.0, -np.inf]), RATES, EPOCHS), id="-inf start"),
    pytest.param((np.array([0.0, 1e39]), RATES, EPOCHS), id="start beyond float32"),
    pytest.param((np.array([0.0, -1e39]), RATES, EPOCHS), id="start below -float32 max"),
    pytest.param((STARTS, np.array([0.1, -0.1]), EPOCHS), id="negative rate"),
    pytest.param((STARTS, np.array([0.1, np.nan]), EPOCHS), id="NaN rate"),
    pytest.param((STARTS, np.array([0.1, 1e39]), EPOCHS), id="rate beyond float32"),
    pytest.param((STARTS, RATES, np.array([1.0, 2.5])), id="fraction of an epoch"),
    pytest.param((STARTS, RATES, np.array([1.0, np.nan])), id="NaN epochs"),
    pytest.param((STARTS, RATES, np.array([1.0, np.inf])), id="inf epochs"),
    pytest.param((STARTS, RATES, np.array([-1.0, 2.0])), id="negative epochs"),
    pytest.param((STARTS, RATES, np.array([1.0, 2e9])), id="too many epochs"),
    pytest.param((np.array([]), RATES, EPOCHS), id="empty starts"),
    pytest.param((STARTS, np.array([]), EPOCHS), id="empty rates"),
    pytest.param((STARTS, RATES, np.array([])), id="empty epochs"),
]


@pytest.mark.parametrize("args", BAD_VALUES)
def test_bad_values_after_good_ones_get_the_first_calls_error(checked, args):
    f = CASES[0].f
    fresh = error_of(f, *args)
    jaxgd.sweep(f, STARTS, RATES, EPOCHS)  # the signature is now remembered
    assert error_of(f, *args) == fresh


def test_values_beyond_float32_are_accepted_with_x64(checked, x64):
    f = CASES[0].f
    jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    res = jaxgd.sweep(f, np.array([0.0, 1e39]), RATES, EPOCHS)
    assert len(checked) == 1 and res.final.dtype == np.float64
    assert_same(res, full_path(f, np.array([0.0, 1e39]), RATES, EPOCHS))


@pytest.mark.parametrize(
    "epochs",
    [
        pytest.param(np.array([50, 0, 7, 7, 3]), id="unsorted with a duplicate"),
        pytest.param(np.array([5.0, 5.0, 5.0]), id="all the same"),
        pytest.param(np.array([0], np.uint8), id="zero only"),
        pytest.param(np.array(12, np.int16), id="0-d"),
        pytest.param(np.array([3.0, 9.0], np.float16), id="float16"),
    ],
)
def test_any_epoch_counts_match_the_full_path(checked, epochs):
    f = CASES[0].f
    jaxgd.sweep(f, STARTS, RATES, epochs)
    assert_same(jaxgd.sweep(f, STARTS, RATES, epochs), full_path(f, STARTS, RATES, epochs))


def test_a_large_grid_of_a_remembered_signature_is_planned(checked, monkeypatch):
    f = CASES[0].f
    jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    # A budget that one call of 7 x 5 lanes over 60 epochs exceeds: several calls.
    monkeypatch.setattr(_chunking, "SMALL_CALL", 1)
    monkeypatch.setattr(_chunking, "CPU_WORK", 64 * 30)
    planned = jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    assert len(checked) == 2
    monkeypatch.undo()
    assert_same(planned, full_path(f, STARTS, RATES, EPOCHS))


def test_settings_are_part_of_the_signature(checked, monkeypatch):
    f = CASES[0].f
    first = jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    with jax.enable_x64(True):
        wide = jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    assert first.final.dtype == np.float32 and wide.final.dtype == np.float64
    monkeypatch.setenv("JAXGD_FAST_MATH", "0")
    assert jaxgd.sweep(f, STARTS, RATES, EPOCHS).math == "xla"
    monkeypatch.delenv("JAXGD_FAST_MATH")
    assert jaxgd.sweep(f, STARTS, RATES, EPOCHS).math == first.math
    assert len(checked) == 3


def test_a_function_refused_under_strict_promotion_still_is(checked):
    def f(x):
        return x**2 + jnp.arange(1)[0]  # an int added to a float: refused when strict

    jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    strict = jax.numpy_dtype_promotion("strict")
    with strict, pytest.raises((TypeError, ValueError), match="f"):
        jaxgd.sweep(f, STARTS, RATES, EPOCHS)


def test_inside_jit_the_sweep_is_traced(checked):
    f = CASES[0].f
    host = jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    traced = jax.jit(lambda: jaxgd.sweep(f, STARTS, RATES, EPOCHS).final)()
    assert isinstance(traced, jax.Array)
    np.testing.assert_array_equal(np.asarray(traced), host.final)


def test_an_unhashable_function_is_refused_every_time(checked):
    class Unhashable:
        __hash__ = None

        def __call__(self, x):
            return x**2

    errors = {error_of(Unhashable(), STARTS, RATES, EPOCHS) for _ in range(2)}
    assert len(errors) == 1 and "hash" in next(iter(errors))[1]


def test_a_repeated_call_compiles_nothing(checked, compiles):
    f = CASES[2].f
    jaxgd.sweep(f, STARTS, RATES, EPOCHS)
    with compiles:
        jaxgd.sweep(f, STARTS * 2, RATES / 2, EPOCHS + 3)
    assert compiles.count == 0, compiles.names
    assert len(checked) == 1


def test_the_memory_of_signatures_stays_bounded(checked):
    fs = [CASES[i % len(CASES)].f for i in range(3)]
    dtypes = [np.float64, np.float32, np.float16, np.int32, np.int64, np.int16, np.int8, np.uint8]
    for f in fs:
        for dtype in dtypes:
            for epochs_dtype in dtypes:
                jaxgd.sweep(f, np.abs(STARTS).astype(dtype), RATES, EPOCHS.astype(epochs_dtype))
    assert 0 < len(sweep_module._SEEN) <= sweep_module._SEEN_MAX


finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)
DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8])


@settings(max_examples=40, deadline=None)
@given(
    starts=st.lists(finite, min_size=1, max_size=9),
    rates=st.lists(st.floats(0, 0.5, width=32), min_size=1, max_size=6),
    epochs=st.lists(st.integers(0, 80), min_size=1, max_size=5),
    starts_dtype=DTYPES,
    epochs_float=st.booleans(),
    in_order=st.booleans(),
    case=st.sampled_from(CASES + UNSEEN),
)
def test_any_good_values_match_the_full_path(
    starts, rates, epochs, starts_dtype, epochs_float, in_order, case
):
    with np.errstate(all="ignore"):
        starts = np.array(starts).astype(starts_dtype)
    epochs = np.array(sorted(epochs) if in_order else epochs, float if epochs_float else int)
    full = full_path(case.f, starts, np.array(rates), epochs)
    jaxgd.sweep(case.f, starts, np.array(rates), epochs)
    again = jaxgd.sweep(case.f, starts, np.array(rates), epochs)
    assert_same(again, full)
    sweep_module._SEEN.clear()


def test_a_deleted_jax_array_gets_the_first_calls_error(checked):
    f = CASES[0].f
    gone = jnp.asarray(STARTS)
    gone.delete()
    fresh = error_of(f, gone, RATES, EPOCHS)
    jaxgd.sweep(f, jnp.asarray(STARTS), RATES, EPOCHS)
    assert error_of(f, gone, RATES, EPOCHS) == fresh
