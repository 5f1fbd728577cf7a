"""jaxgd.sweep against a per-cell float64 reference, shapes, ordering, recompilation, divergence."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxgd
from jaxgd import _chunking
from tests.helpers import (
    CASE_IDS,
    CASES,
    assert_close,
    float32_tol,
    not_differentiable,
    reference_sweep,
)

EPOCHS = (0, 7, 3, 50, 17, 17, 1)  # unsorted, a duplicate, zero


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_float64_reference(x64, case):
    res = jaxgd.sweep(case.f, case.starts, case.rates, EPOCHS)
    ref = reference_sweep(case.np_df, case.starts, case.rates, EPOCHS)
    assert res.final.dtype == jnp.float64
    assert_close(res.final, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(res.diverged, ~np.isfinite(ref))
    with np.errstate(all="ignore"):
        assert_close(res.value, case.np_f(ref), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float32_close_to_reference(case):
    # float32 is the default; stay in the region where float32 is not chaotic.
    rates = [r for r in case.rates if r <= 0.1]
    res = jaxgd.sweep(case.f, case.starts, rates, (0, 5, 20))
    ref = reference_sweep(case.np_df, np.float32(case.starts), np.float32(rates), (0, 5, 20))
    assert res.final.dtype == jnp.float32
    ok = np.isfinite(ref) & (np.abs(ref) < 1e3)
    np.testing.assert_allclose(np.asarray(res.final)[ok], ref[ok], **float32_tol(np.float32))


def test_some_cases_diverge_and_others_are_untouched(x64):
    quad = next(c for c in CASES if c.name == "quadratic")
    res = jaxgd.sweep(quad.f, quad.starts, quad.rates, [1000])
    # |x - 1| is multiplied by |1 - 4 * rate| each step: 0.01 and 0.3 converge to 1; 0.6 grows
    # by 1.4x, to ~1e146 after 1000 steps, huge but finite; 0.9 grows by 2.6x and overflows.
    assert res.diverged[:, 3].all()
    assert not res.diverged[:, :3].any()
    assert (np.abs(res.final[:, 2]) > 1e100).all()
    np.testing.assert_allclose(res.final[:, :2], 1.0, atol=1e-9)


def test_notebook_minimum_from_zero(x64):
    res = jaxgd.sweep(CASES[0].f, 0.0, 0.01, 1000)
    assert res.shape == (1, 1, 1)
    assert float(res.final[0, 0, 0]) == pytest.approx(-1.42880, abs=5e-6)


@pytest.mark.parametrize(
    ("starts", "rates", "epochs", "shape"),
    [
        (0.0, 0.1, 10, (1, 1, 1)),
        ([0.0, 1.0], 0.1, [5, 1, 5, 0], (2, 1, 4)),
        (np.linspace(-1, 1, 3), np.array([0.1, 0.2]), np.round(np.linspace(10, 50, 5)), (3, 2, 5)),
        (jnp.arange(4.0), jnp.array([0.01]), jnp.array([3]), (4, 1, 1)),
    ],
)
def test_shapes(starts, rates, epochs, shape):
    res = jaxgd.sweep(jnp.cos, starts, rates, epochs)
    assert res.shape == shape
    assert res.value.shape == res.diverged.shape == shape
    assert res.starts.shape == (shape[0],)
    assert res.learning_rates.shape == (shape[1],)
    assert res.epochs.shape == (shape[2],)
    assert res.dims == ("start", "learning_rate", "epochs")


def test_every_axis_keeps_callers_order(x64):
    starts = [2.0, -1.0, 0.5]
    rates = [0.3, 0.01, 0.1]
    epochs = [40, 0, 40, 3, 1000, 2]
    res = jaxgd.sweep(jnp.cos, starts, rates, epochs)
    np.testing.assert_array_equal(res.starts, starts)
    np.testing.assert_array_equal(res.learning_rates, rates)
    np.testing.assert_array_equal(res.epochs, epochs)
    for i, s in enumerate(starts):
        for j, r in enumerate(rates):
            for k, e in enumerate(epochs):
                assert res.final[i, j, k] == jaxgd.descend(jnp.cos, s, r, e)
    # 0 epochs is the start itself; duplicates agree.
    np.testing.assert_array_equal(
        res.final[:, :, 1], np.broadcast_to(np.array(starts)[:, None], (3, 3))
    )
    np.testing.assert_array_equal(res.final[:, :, 0], res.final[:, :, 2])


def test_integral_float_epochs_like_the_notebook():
    epochs = np.round(np.linspace(10, 500, 40))
    res = jaxgd.sweep(CASES[0].f, 0.0, np.linspace(1e-10, 0.1, 50), epochs)
    assert res.shape == (1, 50, 40)
    np.testing.assert_array_equal(res.epochs, epochs.astype(int))


def test_no_recompile_for_new_values(compiles):
    f = CASES[0].f
    jaxgd.sweep(f, [0.0, 1.0], [0.1, 0.2, 0.3], [5, 10])
    rates = jnp.array([0.4, 0.2, 0.1])  # made outside: creating it compiles a conversion
    with compiles:
        a = jaxgd.sweep(f, [3.0, -1.0], [0.01, 0.02, 0.5], [100, 0])
        b = jaxgd.sweep(f, np.array([2.0, 2.5]), rates, np.array([7.0, 7.0]))
    assert compiles.count == 0, compiles.names
    assert a.shape == b.shape == (2, 3, 2)


def test_new_shape_compiles_once(compiles):
    f = CASES[2].f
    with compiles:
        jaxgd.sweep(f, [0.0, 1.0, 2.0], [0.1], [5, 10, 11, 12])
        jaxgd.sweep(f, [0.5, 1.5, 2.5], [0.2], [1, 2, 3, 4])
    assert compiles.count == 1, compiles.names


def test_result_leaves_jit_and_works_inside_it():
    f = CASES[0].f

    @jax.jit
    def run(starts, rates, epochs):
        return jaxgd.sweep(f, starts, rates, epochs)

    inside = run(jnp.array([0.0, 1.6]), jnp.array([0.01, 0.1]), jnp.array([10, 100]))
    outside = jaxgd.sweep(f, [0.0, 1.6], [0.01, 0.1], [10, 100])
    assert isinstance(inside, jaxgd.SweepResult)
    np.testing.assert_array_equal(inside.final, outside.final)
    assert inside.dims == outside.dims and inside.function == outside.function


def _wells(x, a):
    return (x**2 - a) ** 2 + 0.3 * jnp.sin(3.0 * x)


@pytest.mark.parametrize(
    "transform",
    ["jit, arguments concrete", "jit over what f closes over", "vmap over what f closes over"],
)
def test_concrete_arguments_inside_a_transformation(transform):
    # The arguments are concrete but the results are traced: the host path would call
    # np.asarray on tracers (a TracerArrayConversionError from deep inside).
    starts, rates, epochs = [0.0, 1.6], [0.01, 0.1], [10, 100]
    if transform == "jit, arguments concrete":
        got = jax.jit(lambda k: jaxgd.sweep(CASES[0].f, starts, rates, epochs).final * k)(2.0)
        want = [2 * jaxgd.sweep(CASES[0].f, starts, rates, epochs).final]
    else:
        run = (jax.jit if transform.startswith("jit") else jax.vmap)(
            lambda a: jaxgd.sweep(lambda x: _wells(x, a), starts, rates, epochs).final
        )
        a = jnp.asarray([1.0, 2.0]) if transform.startswith("vmap") else jnp.asarray(1.0)
        got = run(a)
        want = [jaxgd.sweep(lambda x, b=b: _wells(x, b), starts, rates, epochs).final
                for b in np.atleast_1d(np.asarray(a))]  # fmt: skip
    np.testing.assert_array_equal(np.asarray(got).reshape(-1, 2, 2, 2), np.stack(want))


def test_convergence_inside_jit_with_concrete_arguments():
    conv = jax.jit(lambda: jaxgd.convergence(CASES[0].f, [0.0, 1.6], [0.01, 0.1], 500))()
    np.testing.assert_array_equal(
        np.asarray(conv.final), jaxgd.convergence(CASES[0].f, [0.0, 1.6], [0.01, 0.1], 500).final
    )


def test_same_without_jit():
    f = CASES[3].f
    args = ([-1.0, 0.4], [0.1, 0.3], [4, 0, 2])
    jitted = jaxgd.sweep(f, *args)
    with jax.disable_jit():
        eager = jaxgd.sweep(f, *args)
    np.testing.assert_allclose(eager.final, jitted.final, rtol=1e-6)


def test_divergence_is_isolated_per_cell(x64):
    well = next(c for c in CASES if c.name == "double_well")
    starts = [0.5, 50.0, -0.5]
    res = jaxgd.sweep(well.f, starts, [0.01, 0.02], [0, 100, 10])
    alone = jaxgd.sweep(well.f, [0.5, -0.5], [0.01, 0.02], [0, 100, 10])
    assert res.diverged[1, :, 1:].all()  # 50 overflows in a few steps
    kept = np.array([0, 2])
    assert not res.diverged[kept].any()
    np.testing.assert_array_equal(res.final[kept], alone.final)


@pytest.mark.thorough
@settings(max_examples=25, deadline=None)
@given(
    starts=st.lists(st.floats(-4, 4), min_size=1, max_size=3),
    rates=st.lists(st.floats(0, 0.2), min_size=1, max_size=3),
    epochs=st.lists(st.integers(0, 60), min_size=1, max_size=4),
)
def test_sweep_equals_descend_cell_by_cell(starts, rates, epochs):
    f = CASES[0].f
    res = jaxgd.sweep(f, starts, rates, epochs)
    cells = jax.vmap(
        jax.vmap(jax.vmap(jaxgd.descend, (None, None, None, 0)), (None, None, 0, None)),
        (None, 0, None, None),
    )(f, jnp.array(starts, jnp.float32), jnp.array(rates, jnp.float32), jnp.array(epochs))
    np.testing.assert_allclose(res.final, cells, rtol=1e-6, atol=1e-6)


def test_memory_budget_is_checked_inside_jit_too():
    # It needs no concrete input; inside jit a negative or non-integer budget was ignored.
    for budget, error in ((-5, ValueError), ("x", TypeError), (0.5, TypeError)):
        with pytest.raises(error, match="memory_budget"):
            jax.jit(lambda s, b=budget: jaxgd.sweep(jnp.cos, s, 0.1, 10, memory_budget=b).final)(
                jnp.zeros(3)
            )


# -- one rule for divergence, one dtype, one array type, on every path --------------------------
def _paths(monkeypatch):
    """Every way a concrete sweep can run: one call, chunks of starts, windows of steps."""

    def windows(*args):
        with monkeypatch.context() as m:
            m.setattr(_chunking, "CPU_WORK", 2 * 64)
            m.setattr(_chunking, "CPU_STEP_OVERHEAD", 0)
            return jaxgd.sweep(*args, chunk_size=1)

    def groups(*args):
        budget = _chunking.call_bytes(64, 1, jnp.zeros(()).dtype.itemsize)
        return jaxgd.sweep(*args, memory_budget=budget)

    return {
        "one call": jaxgd.sweep,
        "chunks": lambda *args: jaxgd.sweep(*args, chunk_size=1),
        "windows": windows,
        "groups": groups,
    }


# Each f is finite where descent ends but its value there is not.
NOT_FINITE_VALUE = [
    # x**4 overflows float32 from 1e10 (the position stays finite at rate 0).
    pytest.param(lambda x: x**4, [1e10, 1.0], id="overflowing value"),
    pytest.param(lambda x: jnp.where(x > 1, jnp.nan, x**2), [2.0, 0.5], id="nan above 1"),
    # x - log(x) from -1: the gradient 1 - 1/x = 2 is finite, the log of a negative is NaN.
    pytest.param(lambda x: x - jnp.log(x), [-1.0, 2.0], id="log of a negative"),
]


@pytest.mark.parametrize(("f", "starts"), NOT_FINITE_VALUE)
def test_a_cell_whose_value_is_not_finite_is_diverged_on_every_path(f, starts, monkeypatch):
    epochs = [0, 3, 1]
    for path, run in _paths(monkeypatch).items():
        res = run(f, starts, [0.0, 0.01], epochs)
        # At rate 0 the position stays at the start: finite, and f there is not.
        assert np.isfinite(res.final[0, 0]).all(), path
        assert not np.isfinite(res.value[0, 0]).any(), path
        assert res.diverged[0].all(), path
        # The other start is untouched: finite where it ends and where f is evaluated.
        np.testing.assert_array_equal(res.diverged[1], ~np.isfinite(res.value[1]), err_msg=path)
        assert not res.diverged[1, :, 0].any(), path


def test_a_value_that_is_not_finite_is_diverged_inside_jit():
    f, starts = NOT_FINITE_VALUE[2].values
    res = jax.jit(lambda s: jaxgd.sweep(f, s, 0.1, [0, 2]))(jnp.asarray(starts))
    assert bool(res.diverged[0].all()) and not bool(res.diverged[1].any())


def test_convergence_and_random_starts_use_the_same_rule():
    f, starts = NOT_FINITE_VALUE[2].values
    conv = jaxgd.convergence(f, starts, [0.01], 5)
    np.testing.assert_array_equal(conv.diverged[:, 0], [True, False])
    assert not conv.converged[0, 0]
    from jaxgd.analysis import random_starts

    # f is NaN all over the domain: its minima cannot be searched, and a warning says so.
    with pytest.warns(UserWarning, match="^f is not finite at any of the 10001 grid points"):
        rs = random_starts(f, jax.random.key(0), [0.01], [0, 5], n=50, domain=(-2.0, -1.0))
    np.testing.assert_array_equal(rs.diverged_fraction, 1.0)


@pytest.mark.parametrize(
    ("x64_on", "f"),
    [
        (False, lambda x: (x**2).astype(jnp.bfloat16)),
        (False, lambda x: (x**2).astype(jnp.float16)),
        (True, lambda x: x.astype(jnp.float32) ** 2),
    ],
    ids=["bfloat16 in float32", "float16 in float32", "float32 under x64"],
)
def test_final_and_value_have_the_default_dtype_on_every_path(x64_on, f, monkeypatch):
    with jax.enable_x64(x64_on):
        want = jnp.zeros(()).dtype
        for path, run in _paths(monkeypatch).items():
            res = run(f, [0.5, -1.0], [0.1, 0.2], [3, 0])
            assert res.final.dtype == res.value.dtype == want, path
        inside = jax.jit(lambda s: jaxgd.sweep(f, s, 0.1, [3, 0]))(jnp.array([0.5, -1.0]))
        assert inside.final.dtype == inside.value.dtype == want


def test_results_are_host_numpy_on_every_path_and_jax_inside_jit(monkeypatch):
    f = CASES[0].f
    results = {
        path: run(f, [0.0, 1.6], [0.01, 0.1], [10, 0]) for path, run in _paths(monkeypatch).items()
    }
    for path, res in results.items():
        for name in ("final", "value", "diverged", "starts", "learning_rates", "epochs"):
            assert isinstance(getattr(res, name), np.ndarray), (path, name)
    conv = jaxgd.convergence(f, [0.0, 1.6], [0.01, 0.1], 10)
    assert all(isinstance(getattr(conv, n), np.ndarray) for n in ("epoch", "final", "converged"))

    @jax.jit
    def inside(starts):
        res = jaxgd.sweep(f, starts, [0.01, 0.1], [10, 0])
        assert isinstance(res.final, jax.core.Tracer)
        return res

    res = inside(jnp.array([0.0, 1.6]))
    assert isinstance(res.final, jax.Array)
    np.testing.assert_array_equal(res.final, results["one call"].final)


def test_no_recompile_for_new_values_in_several_calls(compiles, monkeypatch):
    f = CASES[0].f
    monkeypatch.setattr(_chunking, "CPU_WORK", 4 * 64)
    monkeypatch.setattr(_chunking, "CPU_STEP_OVERHEAD", 0)
    jaxgd.sweep(f, [0.0, 1.0], [0.1, 0.2, 0.3], [5, 10], chunk_size=1)
    with compiles:
        # More epochs is more calls of the same programs: the window is a traced scalar.
        jaxgd.sweep(f, [3.0, -1.0], [0.01, 0.02, 0.5], [100, 0], chunk_size=1)
        jaxgd.sweep(f, [2.0, 2.5], [0.4, 0.2, 0.1], [7, 7], chunk_size=1)
    assert compiles.count == 0, compiles.names


def test_traced_float_epochs_are_refused_under_jit():
    # np.round(np.linspace(...)) passed into a jitted sweep is traced as floats: a cast
    # truncated 3.7 to 3 silently.
    def run(e):
        return jaxgd.sweep(lambda x: x**2, [1.0], [0.1], e).final

    with pytest.raises(TypeError, match=r"epochs is a traced float32 array"):
        jax.jit(run)(np.array([3.7, 5.0]))
    np.testing.assert_array_equal(
        jax.jit(run)(np.array([3, 5])), jaxgd.sweep(lambda x: x**2, [1.0], [0.1], [3, 5]).final
    )


@pytest.mark.parametrize("starts", [[[-2.5], 1.0], [1.0, [1.0, 2.0]], [[1.0, 2.0], [3.0]]])
def test_a_bad_f_is_named_before_uneven_starts(starts):
    # f is the first argument: an f that fails on any shape a point could have is named,
    # not the uneven starts, whose shape f would otherwise be checked on.
    with pytest.raises(TypeError, match=r"^f cannot be differentiated"):
        jaxgd.sweep(not_differentiable, starts, 0.1, 3)


@pytest.mark.parametrize(
    "f",
    [jnp.sin, lambda p: jnp.sum(p**2), lambda p: p[0] ** 2 + p[1] ** 2],
    ids=["scalar", "any-vector", "R^2"],
)
@pytest.mark.parametrize("starts", [[[-2.5], 1.0], [1.0, [1.0, 2.0]], [[1.0, 2.0], [3.0]]])
def test_uneven_starts_are_named_where_f_takes_one_of_their_shapes(f, starts):
    with pytest.raises(ValueError, match=r"^starts must be .* uneven lengths"):
        jaxgd.sweep(f, starts, 0.1, 3)


@pytest.mark.parametrize(
    ("shape", "says"),
    [
        ((0,), "starts is empty"),
        ((0, 2), "holds no points"),
        ((1, 0), "holds points of R^0, with no coordinates"),
        ((3, 0), "holds points of R^0, with no coordinates"),
    ],
)
@pytest.mark.parametrize("f", [lambda p: jnp.sum(p**2), lambda p: p[0] ** 2, lambda x: x**2])
def test_empty_points_say_which_size_is_zero(shape, says, f, compiles):
    # Whatever f does with x: an f that indexes x was called on a start of no numbers first
    # and blamed ("f raised IndexError") for starts of shape (0,) or (3, 0).
    with compiles, pytest.raises(ValueError, match=re.escape(says)):
        jaxgd.sweep(f, np.zeros(shape), 0.1, 3)
    assert compiles.count == 0


@pytest.mark.parametrize("shape", [(0,), (0, 2), (3, 0)])
@pytest.mark.parametrize("f", [lambda x: jnp.stack([x, x]), "sin", lambda x: None])
def test_a_bad_f_is_named_before_empty_starts(shape, f):
    # f comes first: with empty starts and an f that is no function of a scalar nor of a
    # point, the starts were named (found in fuzzing, where the first bad argument is named).
    for run in (jaxgd.sweep, jaxgd.descend):
        with pytest.raises((TypeError, ValueError), match=r"^f\b"):
            run(f, np.zeros(shape), 0.1, 3)


def _bowl(p):
    return jnp.sum(p**2)


@pytest.mark.parametrize(
    ("starts", "says"),
    [
        ([[1.0, 2.0], [None, 1.0]], r"entry \[1\]\[0\] is None"),
        ([[1.0, 2.0], [3.0, "4"]], r"got strings"),
        (np.ones((2, 2), bool), r"got booleans"),
        (np.array([[1.0, object()]], object), r"entry \[0\]\[1\] is object"),
    ],
)
def test_points_that_are_not_numbers_are_named_as_points(starts, says, compiles):
    # The points were read as a flat array: the error asked for "a 1-D list/array", the
    # very shape that is not points, and named entry 2 of [[1, 2], [None, 1]], which has 2.
    with compiles, pytest.raises(TypeError, match=r"^starts must be \(S, d\) points.*" + says):
        jaxgd.sweep(_bowl, starts, 0.1, 3)
    assert compiles.count == 0


def _offset_bowl(x, theta):
    return jnp.sum((x - theta) ** 2)


def test_theta_of_another_width_than_the_points_is_named_beside_the_starts(compiles):
    # f(x, theta) passes on a scalar x (theta broadcasts with it), so the error said only
    # "for 4 scalar starts pass np.ravel(starts)": a sweep of another function altogether.
    with compiles, pytest.raises(TypeError, match=r"each theta is \(3,\).*x of shape \(2,\)"):
        jaxgd.sweep(_offset_bowl, [[0.0, 0.0], [1.0, 2.0]], 0.1, 3, params=np.ones((2, 3)))
    assert compiles.count == 0
    tree = {"a": np.ones((2, 3)), "b": np.ones(2)}
    with pytest.raises(TypeError, match=r"each theta is \[\(3,\), \(\)\]"):
        jaxgd.sweep(
            lambda x, t: _offset_bowl(x, t["a"]) * t["b"], [[0.0, 1.0]], 0.1, 3, params=tree
        )
    good = jaxgd.sweep(_offset_bowl, [[0.0, 0.0], [1.0, 2.0]], 0.5, 1, params=np.ones((2, 2)))
    np.testing.assert_array_equal(good.final[..., 0, 0, :], np.ones((2, 2, 2)))


def test_masked_points_are_not_told_to_flatten(compiles):
    # starts.compressed(), the fix given for an axis, makes the coordinates of the points
    # one flat list: scalar starts, or one point of another d.
    starts = np.ma.masked_array([[1.0, 2.0], [3.0, 4.0]], mask=[[False, True], [False, False]])
    with compiles, pytest.raises(ValueError, match=r"^starts has masked entries; keep the whole"):
        jaxgd.sweep(_bowl, starts, 0.1, 3)
    assert compiles.count == 0
    keep = starts[~np.ma.getmaskarray(starts).any(axis=1)].data
    assert jaxgd.sweep(_bowl, keep, 0.1, 3).final.shape == (1, 1, 1, 2)


def _gaussian_family(x, a):
    return jnp.sin(x) * jnp.exp(-a * x**2)


@pytest.mark.parametrize("params", [np.ones((2, 2)), np.ones((3, 1))], ids=["P-2", "P-1"])
def test_params_of_a_row_per_value_for_a_scalar_theta_are_named(params, compiles):
    # Each theta of shape (2,) broadcast with a scalar x: f returned shape (2,), and the
    # error only told to reduce f's output, where params' shape was the slip.
    with compiles, pytest.raises(ValueError) as info:
        jaxgd.sweep(_gaussian_family, [0.0, 1.0, 2.0], 0.1, 5, params=params)
    assert compiles.count == 0
    message = str(info.value)
    assert message.startswith("f must return a scalar for a scalar x"), message
    assert f"params gives each run a theta of shape {params.shape[1:]}" in message, message
    assert "pass a 1-D array (np.ravel(params)" in message
    ok = jaxgd.sweep(_gaussian_family, [0.0, 1.0, 2.0], 0.1, 5, params=params.ravel())
    assert ok.sizes["param"] == params.size
