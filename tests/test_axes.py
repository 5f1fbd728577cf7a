"""Optimisers, hyperparameters, schedules, parameters of f and points of R^d as sweep axes.

References are independent of the engine: optax's own ``init``/``update``/``apply_updates``
loop with ``optax.<name>(rate)`` (no ``inject_hyperparams``), run for each epoch count from
scratch, and, for d dimensions, float64 NumPy loops with hand-written gradients.
"""

from __future__ import annotations

import functools
from functools import partial

import hypothesis
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import strategies as st

import jaxgd
import tests.helpers as tests_helpers
from tests.helpers import CASES

EPOCHS = np.array([7, 0, 25, 7, 60])
OPTIMIZERS = {
    "sgd": optax.sgd,
    "momentum": partial(optax.sgd, momentum=0.9),
    "nesterov": partial(optax.sgd, momentum=0.9, nesterov=True),
    "rmsprop": optax.rmsprop,
    "adam": optax.adam,
}


def reference(f, make_tx, starts, rates, epochs, theta=None):
    """(S, L, E, ...) by optax's own loop (``make_tx(rate)``, ``init``, ``update``,
    ``apply_updates``), each cell run for its own count from scratch, vmapped over the cells as
    a user would write it (vectorised math as in any batched run)."""
    loss = f if theta is None else (lambda x: f(x, theta))
    starts, rates = jnp.asarray(starts), jnp.asarray(rates)

    def one(x0, lr, e):
        tx = make_tx(lr)

        def body(_, carry):
            x, s = carry
            updates, s = tx.update(jax.grad(loss)(x), s, x)
            return optax.apply_updates(x, updates), s

        return jax.lax.fori_loop(0, e, body, (x0, tx.init(x0)))[0]

    cells = jax.vmap(jax.vmap(jax.vmap(one, (None, None, 0)), (None, 0, None)), (0, None, None))
    with np.errstate(all="ignore"):
        return np.asarray(jax.jit(cells)(starts, rates, jnp.asarray(epochs)))


# -- optimisers: cell by cell against optax, float64 ---------------------------------------------
#: RMSprop's steps are normalised by a running gradient scale without momentum: around a
#: minimum it oscillates with steps of about the learning rate instead of settling, and a
#: last-bit difference grows along the way. XLA:CPU contracts a * b + c into one fused
#: multiply-add where its fusion allows (on 4096 random float64 triples, 949 results of a
#: jitted a * b + c differ from NumPy's), so two programs of the same update can differ in the
#: last bit; which ones differs from CPU to CPU. Measured on two machines: 147 and 146 of
#: RMSprop's 150 cells within 1e-12 (121 and 123 bit-equal), the others within 4.1e-9, all of
#: them in runs still moving at their count (a step of more than 1e-3 from the count before),
#: 4 of 30 cells of one case (the plateau, at rate 1) on one machine; every cell of SGD,
#: momentum, Nesterov and Adam within 1e-12 (Adam's largest relative error 2.6e-16).
OSCILLATING = ("rmsprop",)


@pytest.mark.parametrize("case", CASES[:5], ids=lambda c: c.name)
def test_every_optimizer_cell_equals_optax_own_loop(case, x64):
    starts, rates = np.array(case.starts[:3]), np.array(case.rates[1:3])
    res = jaxgd.sweep(case.f, starts, rates, EPOCHS, optimizer=OPTIMIZERS, fast_math=False)
    assert res.dims == ("optimizer", "start", "learning_rate", "epochs")
    assert res.optimizers == tuple(OPTIMIZERS)
    for o, (name, make) in enumerate(OPTIMIZERS.items()):
        want = reference(case.f, make, starts, rates, EPOCHS)
        ok = np.isfinite(want)
        np.testing.assert_array_equal(res.diverged[o], ~ok | ~np.isfinite(res.value[o]))
        got = res.final[o]
        err = (np.abs(got - want) / (1 + np.abs(want)))[ok]
        if name in OSCILLATING:
            # Runs that have settled to 1e-12; those still moving (oscillating) within what
            # rounding can grow to, and most of them to 1e-12 too: a wrong update would not be.
            before = reference(case.f, make, starts, rates, np.maximum(EPOCHS - 1, 0))
            moving = (np.abs(want - before) > 1e-3 * (1 + np.abs(want)))[ok]
            assert (err[~moving] <= 1e-12).all(), (name, err[~moving].max())
            assert (err[moving] <= 1e-12).mean() >= 0.75, (name, np.sort(err[moving]))
            assert (err <= 1e-6).all(), (name, err.max())
        else:
            assert (err <= 1e-12).all(), (name, err.max())
        v = np.asarray(jax.vmap(case.f)(jnp.asarray(got[ok])))
        np.testing.assert_allclose(res.value[o][ok], v, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "make",
    [optax.adam, functools.partial(optax.adam, b2=0.9999), optax.adamw, optax.nadam],
    ids=["adam", "adam-b2", "adamw", "nadam"],
)
def test_float32_adam_family_steps_as_optax_own_loop(make):
    # Every numeric default was injected as a float32 array: 1 - b2 was computed from
    # float32(0.999), and adam ended 72 ulps from optax's loop after one step (888 with
    # b2=0.9999). Unswept keywords now stay Python numbers, as in optax's own loop.
    starts, rates, epochs = np.array([-2.0, 0.3, 1.7]), np.array([0.01, 0.1]), np.array([1, 2, 30])
    got = jaxgd.sweep(jnp.cos, starts, rates, epochs, optimizer=make, fast_math=False).final
    want = reference(jnp.cos, make, starts.astype(np.float32), rates.astype(np.float32), epochs)
    assert got.dtype == np.float32
    ulps = np.abs(got - want) / np.spacing(np.abs(want).astype(np.float32))
    assert ulps.max() <= 2, ulps.max()


def test_plain_sgd_is_bit_identical_to_plain_descent(x64):
    case = CASES[0]
    plain = jaxgd.sweep(case.f, case.starts, case.rates, EPOCHS, fast_math=False)
    sgd = jaxgd.sweep(case.f, case.starts, case.rates, EPOCHS, optimizer=optax.sgd, fast_math=False)
    np.testing.assert_array_equal(sgd.final, plain.final)
    np.testing.assert_array_equal(sgd.value, plain.value)
    assert sgd.optimizers == ("sgd",) and plain.optimizers == ()


def test_fast_math_optimizer_stays_close_to_optax(x64):
    case = CASES[0]
    res = jaxgd.sweep(case.f, case.starts[:2], [0.05], EPOCHS, optimizer=optax.adam)
    want = reference(case.f, optax.adam, case.starts[:2], [0.05], EPOCHS)
    # Different sin/cos (within 0.8 ulp): Adam's normalised steps carry the difference along.
    np.testing.assert_allclose(res.final, want, rtol=1e-6, atol=1e-6)


def test_sweep_equals_vmapped_descend_bit_for_bit_with_an_optimizer():
    case = CASES[0]
    make = partial(optax.sgd, momentum=0.9)
    res = jaxgd.sweep(case.f, case.starts, case.rates, EPOCHS, optimizer=make)
    run = jax.vmap(
        jax.vmap(
            jax.vmap(
                lambda x, r, e: jaxgd.descend(case.f, x, r, e, optimizer=make), (None, None, 0)
            ),
            (None, 0, None),
        ),
        (0, None, None),
    )
    want = run(jnp.asarray(case.starts, jnp.float32), jnp.asarray(case.rates, jnp.float32), EPOCHS)
    np.testing.assert_array_equal(res.final, np.asarray(want))


# -- hyperparameters, schedules --------------------------------------------------------------------
@pytest.mark.parametrize("keys", [("b1", "b2"), ("b2", "b1")], ids=["sorted", "unsorted"])
def test_hyperparameter_axes_equal_optax_with_those_values(keys, x64):
    # Keys in any order: jit hands a dict back with its keys sorted, and the lanes must still
    # enumerate the values in the order of the result's dims, in one call, split or traced.
    case = CASES[2]
    values = {"b1": [0.5, 0.9], "b2": [0.99, 0.999, 0.9999]}
    hp = {k: values[k] for k in keys}
    args = (case.f, case.starts[:2], [0.01, 0.1], EPOCHS)
    kw = dict(optimizer=optax.adam, hyperparams=hp, fast_math=False)
    res = jaxgd.sweep(*args, **kw)
    assert res.dims == (*keys, "start", "learning_rate", "epochs")
    for k in keys:
        np.testing.assert_array_equal(res.coord(k), values[k])
    for b1 in values["b1"]:
        for b2 in values["b2"]:
            want = reference(
                case.f, partial(optax.adam, b1=b1, b2=b2), case.starts[:2], [0.01, 0.1], EPOCHS
            )
            got = res.sel(b1=b1, b2=b2).final
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    chunked = jaxgd.sweep(*args, **kw, chunk_size=1, memory_budget=1)
    np.testing.assert_array_equal(chunked.final, res.final)

    @jax.jit
    def traced(*columns):  # the dict made inside, in the order of keys
        return jaxgd.sweep(
            *args, **{**kw, "hyperparams": dict(zip(keys, columns, strict=True))}
        ).final

    got = traced(*(jnp.asarray(values[k]) for k in keys))
    np.testing.assert_allclose(got, res.final, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("optimizer", [None, optax.adam], ids=["plain", "adam"])
def test_a_schedule_takes_the_rate_as_its_peak(optimizer, x64):
    case = CASES[0]

    def decay(rate):
        return optax.exponential_decay(rate, transition_steps=10, decay_rate=0.5)

    res = jaxgd.sweep(
        case.f,
        case.starts[:3],
        [0.1, 0.5],
        EPOCHS,
        optimizer=optimizer,
        schedule=decay,
        fast_math=False,
    )
    make = optimizer or optax.sgd
    want = reference(case.f, lambda lr: make(decay(lr)), case.starts[:3], [0.1, 0.5], EPOCHS)
    np.testing.assert_allclose(res.final, want, rtol=1e-12, atol=1e-12)
    assert res.schedule.endswith("decay")


@pytest.mark.parametrize("optimizer", [None, optax.adam], ids=["plain", "adam"])
def test_a_schedule_that_branches_on_its_rate_is_named_with_the_fix(optimizer, compiles):
    # optax.warmup_cosine_decay_schedule compares its peak to 0 in Python: the traced rate
    # failed with a bare TracerBoolConversionError, blamed on the optimiser and its help.
    def warmup(rate):
        return optax.warmup_cosine_decay_schedule(0.0, rate, 3, 20)

    with compiles, pytest.raises(TypeError, match=r"^schedule cannot take the rate as a traced"):
        jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=optimizer, schedule=warmup)
    assert compiles.count == 0


def _needs_loss(rate):
    """An optimiser of one's own whose update takes an extra argument, as optax allows."""

    def update(updates, state, params=None, *, loss):
        return jax.tree.map(lambda g: -rate * loss * g, updates), state

    return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)


@pytest.mark.parametrize(
    ("optimizer", "args"),
    [
        (optax.lbfgs, "value, grad, value_fn"),
        (optax.polyak_sgd, "value"),
        (_needs_loss, "loss"),
    ],
    ids=["lbfgs", "polyak_sgd", "own"],
)
@pytest.mark.parametrize("call", ["sweep", "descend"])
def test_an_optimizer_whose_update_needs_more_than_the_gradient_says_so(
    optimizer, args, call, compiles
):
    # optax.lbfgs was refused as "failed on a position of shape ()", with Python's "missing 3
    # required keyword-only arguments" and the help on what an optimizer is: it is one.
    with compiles, pytest.raises(TypeError) as info:
        if call == "sweep":
            jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=optimizer)
        else:
            jaxgd.descend(jnp.cos, 0.5, 0.1, 10, optimizer=optimizer)
    assert compiles.count == 0, compiles.names
    message = str(info.value)
    assert message.startswith(
        f"optimizer {optimizer.__name__!r} needs extra arguments in its update ({args}: "
    ), message
    assert "update(grads, state, params) with the gradient of f alone" in message
    assert message.endswith(f"in a loop of your own that passes {args} to its update.")


def test_a_failing_schedule_beside_a_working_optimizer_is_the_one_named():
    def broken(rate):
        raise ZeroDivisionError("no rate")

    with pytest.raises(TypeError, match=r"^schedule failed.*no rate A schedule is a callable"):
        jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=optax.adam, schedule=broken)


def test_a_schedule_of_rate_one_scaled_by_the_rate_sweeps_like_optax_with_that_peak(x64):
    # The fix the error gives: equal, to rounding, to optax's schedule with the rate as peak.
    unit = optax.warmup_cosine_decay_schedule(0.0, jnp.float64(1.0), 3, 20)

    def scaled(rate):
        return lambda step: rate * unit(step)

    starts, rates, epochs = [-2.0, 0.3], [0.1, 0.5], [0, 2, 9, 30]
    res = jaxgd.sweep(jnp.cos, starts, rates, epochs, optimizer=optax.adam, schedule=scaled)
    # optax's schedule made with each rate as a concrete number (outside any trace), float64
    # as the sweep's (from Python floats alone optax computes the warmup in float32).
    want = []
    for r in rates:
        peak = optax.warmup_cosine_decay_schedule(0.0, jnp.float64(r), 3, 20)
        want.append(reference(jnp.cos, lambda _, p=peak: optax.adam(p), starts, [r], epochs))
    want = np.concatenate(want, axis=1)
    np.testing.assert_allclose(res.final, want, rtol=1e-12, atol=1e-12)


# -- parameters of f ------------------------------------------------------------------------------
def family(x, a):
    return jnp.sin(x) * jnp.exp(-a * x**2)


def test_params_of_f_equal_one_closure_per_value(x64):
    a = np.array([0.02, 0.05, 0.2])
    res = jaxgd.sweep(family, [-3.0, 0.5, 2.0], [0.1, 0.3], EPOCHS, params=a, fast_math=False)
    assert res.dims == ("param", "start", "learning_rate", "epochs")
    np.testing.assert_array_equal(res.coord("param"), a)
    for p, ap in enumerate(a):
        one = jaxgd.sweep(
            partial(family, a=ap), [-3.0, 0.5, 2.0], [0.1, 0.3], EPOCHS, fast_math=False
        )
        np.testing.assert_allclose(res.final[p], one.final, rtol=1e-13, atol=1e-13)


def test_params_as_a_pytree_have_index_coordinates(x64):
    def f(x, th):
        return th["scale"] * (x - th["shift"][0]) ** 2 + th["shift"][1]

    theta = {"scale": np.array([1.0, 2.0]), "shift": np.array([[1.0, 0.0], [-2.0, 3.0]])}
    res = jaxgd.sweep(f, [0.0, 5.0], [0.1], [0, 200], params=theta, fast_math=False)
    np.testing.assert_array_equal(res.coord("param"), [0, 1])
    np.testing.assert_allclose(res.final[:, :, 0, -1], [[1.0, 1.0], [-2.0, -2.0]], atol=1e-9)
    np.testing.assert_allclose(res.value[:, :, 0, -1], [[0.0, 0.0], [3.0, 3.0]], atol=1e-9)


def test_descend_takes_one_theta():
    x = jaxgd.descend(family, 0.0, 0.1, 500, params=0.05)
    y = jaxgd.descend(partial(family, a=0.05), 0.0, 0.1, 500)
    assert float(x) == float(y)


# -- points of R^d --------------------------------------------------------------------------------
def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def rosenbrock_grad(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def himmelblau(p):
    return (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2


def himmelblau_grad(p):
    x, y = p
    a, b = x**2 + y - 11, x + y**2 - 7
    return np.array([4 * x * a + 2 * b, 2 * a + 4 * y * b])


def peaks_np_grad(p):
    """MATLAB's peaks, differentiated by hand."""
    x, y = p
    e1 = np.exp(-(x**2) - (y + 1) ** 2)
    e2 = np.exp(-(x**2) - y**2)
    e3 = np.exp(-((x + 1) ** 2) - y**2)
    inner = x / 5 - x**3 - y**5
    dx = (
        3 * e1 * (-2 * (1 - x) - 2 * x * (1 - x) ** 2)
        - 10 * e2 * ((0.2 - 3 * x**2) - 2 * x * inner)
        + (2 / 3) * (x + 1) * e3
    )
    dy = (
        3 * (1 - x) ** 2 * e1 * (-2 * (y + 1))
        - 10 * e2 * (-5 * y**4 - 2 * y * inner)
        + (2 / 3) * y * e3
    )
    return np.array([dx, dy])


def bowl(p):
    return 3.0 * p[0] ** 2 + 0.5 * (p[1] - 1.0) ** 2 + p[0] * p[1]


def bowl_grad(p):
    return np.array([6.0 * p[0] + p[1], (p[1] - 1.0) + p[0]])


@pytest.mark.parametrize(
    ("f", "grad", "rates"),
    [
        (rosenbrock, rosenbrock_grad, [1e-4, 1e-3]),
        (himmelblau, himmelblau_grad, [1e-3, 0.01]),
        (jaxgd.functions2d.peaks, peaks_np_grad, [0.01, 0.1]),
        # 1.0 > 2 / lambda_max (~0.32): |x| grows ~5x a step and overflows before 450 steps.
        (bowl, bowl_grad, [0.05, 0.2, 1.0]),
    ],
    ids=["rosenbrock", "himmelblau", "peaks", "bowl"],
)
def test_d_dimensional_sweep_equals_a_hand_written_loop(f, grad, rates, x64):
    starts = np.array([[-1.5, 2.0], [0.0, 0.0], [2.5, -1.0]])
    epochs = np.array([*EPOCHS, 450])
    res = jaxgd.sweep(f, starts, rates, epochs)
    assert res.dims == ("start", "learning_rate", "epochs", "coord")
    assert res.final.shape == (3, len(rates), len(epochs), 2)
    assert res.value.shape == res.diverged.shape == (3, len(rates), len(epochs))
    for i, x0 in enumerate(starts):
        for j, lr in enumerate(rates):
            x, at = x0.copy(), {0: x0.copy()}
            with np.errstate(all="ignore"):
                for t in range(1, epochs.max() + 1):
                    x = x - lr * grad(x)
                    at[t] = x.copy()
            for k, e in enumerate(epochs):
                want = at[int(e)]
                if np.isfinite(want).all() and np.abs(want).max() < 1e100:
                    np.testing.assert_allclose(res.final[i, j, k], want, rtol=1e-12, atol=1e-12)
                    assert not res.diverged[i, j, k]
                else:
                    assert res.diverged[i, j, k]
    if f is bowl:
        assert res.diverged[:, 2, -1].all() and not res.diverged[:, :2].any()


def test_d_dimensional_sweep_equals_vmapped_descend():
    starts = np.array([[-1.5, 2.0], [0.0, 0.0]], np.float32)
    res = jaxgd.sweep(himmelblau, starts, [1e-3, 0.01], [10, 100])
    run = jax.vmap(
        jax.vmap(
            jax.vmap(lambda x, r, e: jaxgd.descend(himmelblau, x, r, e), (None, None, 0)),
            (None, 0, None),
        ),
        (0, None, None),
    )
    want = run(jnp.asarray(starts), jnp.array([1e-3, 0.01], jnp.float32), jnp.array([10, 100]))
    np.testing.assert_array_equal(res.final, np.asarray(want))


def test_descend_in_d_dimensions_and_its_trajectory():
    x = jaxgd.descend(himmelblau, jnp.array([1.0, 1.0]), 0.01, 2000)
    np.testing.assert_allclose(np.asarray(x), [3.0, 2.0], atol=1e-4)
    traj = jaxgd.descend(himmelblau, [1.0, 1.0], 0.01, 5, trajectory=True)
    assert traj.shape == (6, 2)
    np.testing.assert_array_equal(traj[0], [1.0, 1.0])


def test_one_point_given_as_a_vector_for_a_vector_function():
    res = jaxgd.sweep(himmelblau, [1.0, 1.0], 0.01, 10)
    assert res.final.shape == (1, 1, 1, 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_point_with_a_coordinate_not_finite_is_named_by_point_and_coordinate(bad, compiles):
    # Not "entry 5" of the flattened starts, which starts[5] would read as another point.
    starts = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, bad], [3.0, 3.0]] + [[4.0, 4.0]] * 3)
    said = rf"^starts must be finite; point 2 is \[2.0, {bad}\] \(coordinate 1 is {bad}\)"
    for given in (starts, starts.tolist()):
        with compiles, pytest.raises(ValueError, match=said):
            jaxgd.sweep(himmelblau, given, 0.01, 10)
    assert compiles.count == 0


def test_good_points_are_checked_without_a_float64_copy_of_them():
    # Their float64 copy, made to name a point that is not finite, was made for good starts
    # too: 4 times the time the check of the flat array takes (6 ms for 2 million points).
    import tracemalloc

    from jaxgd.sweep import _as_starts

    starts = np.zeros((100_000, 2), np.float32)
    tracemalloc.start()
    try:
        out = _as_starts(starts, (2,), np.dtype(np.float32))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == (100_000, 2)
    assert peak < 1.5 * starts.nbytes  # the float32 result and the finiteness mask


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda p: jaxgd.sweep(himmelblau, p, 0.01, 10), "starts"),
        (lambda p: jaxgd.descend(himmelblau, p, 0.01, 10), "x0"),
    ],
    ids=["sweep", "descend"],
)
@pytest.mark.parametrize(
    "points",
    [[[1.0, 2.0], [1.0]], [1.0, [2.0]], (np.array([1.0, 2.0]), np.array([3.0]))],
    ids=["rows", "depths", "arrays"],
)
def test_points_of_uneven_lengths_name_the_points_not_f(call, name, points, compiles):
    # Which shape f is checked on comes from the points: read as a scalar, a function of
    # points failed on it and was blamed (an IndexError "in f") for the uneven rows.
    with compiles, pytest.raises(ValueError, match=rf"^{name} must be .*uneven lengths"):
        call(points)
    assert compiles.count == 0


# -- every split equals the single call -----------------------------------------------------------
def test_chunked_sweeps_with_every_new_axis_equal_one_call(monkeypatch):
    from jaxgd import _chunking

    def f(p, a):
        return jnp.sin(p[0]) * jnp.cos(a * p[1]) + 0.1 * (p[0] ** 2 + p[1] ** 2)

    kw = dict(
        optimizer={"momentum": partial(optax.sgd, momentum=0.5), "adam": optax.adam},
        params=np.array([0.5, 1.5]),
    )
    starts = np.random.default_rng(0).uniform(-2, 2, (37, 2))
    rates, epochs = np.array([0.01, 0.05, 0.1]), np.array([3, 40, 0, 17])
    whole = jaxgd.sweep(f, starts, rates, epochs, **kw)
    monkeypatch.setattr(_chunking, "CPU_WORK", 64 * 16)
    for options in ({"chunk_size": 5}, {"memory_budget": 70_000}):
        split = jaxgd.sweep(f, starts, rates, epochs, **options, **kw)
        np.testing.assert_array_equal(split.final, whole.final)
        np.testing.assert_array_equal(split.value, whole.value)
        np.testing.assert_array_equal(split.diverged, whole.diverged)


def test_chunked_hyperparameter_sweep_equals_one_call(monkeypatch):
    from jaxgd import _chunking

    case = CASES[0]
    kw = dict(optimizer=optax.adam, hyperparams={"b1": [0.5, 0.9, 0.95]})
    whole = jaxgd.sweep(case.f, case.starts, case.rates, EPOCHS, **kw)
    monkeypatch.setattr(_chunking, "CPU_WORK", 64 * 8)
    split = jaxgd.sweep(case.f, case.starts, case.rates, EPOCHS, chunk_size=2, **kw)
    np.testing.assert_array_equal(split.final, whole.final)


# -- no recompiles for new values -----------------------------------------------------------------
def test_new_values_for_the_same_optimiser_trace_it_no_more():
    # Checking an optimiser traced its first step and its state on every call, about 2 ms (a
    # small sweep with momentum took 2.7 ms, plain descent 0.2 ms); the same rules, position
    # shape and dtype were checked already.
    calls = []

    def counted(learning_rate):
        calls.append(learning_rate)
        return optax.sgd(learning_rate, momentum=0.9)

    jaxgd.sweep(family, [0.0, 1.0], [0.1], [5, 10], optimizer=counted, params=[0.05, 0.1])
    assert calls
    calls.clear()
    jaxgd.sweep(family, [2.0, -1.0], [0.3], [7, 1], optimizer=counted, params=[0.2, 0.3])
    assert calls == []
    # a new shape of position is checked again, and a failing rule is never remembered
    for _ in range(2):
        with pytest.raises(TypeError, match="changed the position's shape"):
            jaxgd.sweep(family, [0.0], [0.1], [5], optimizer=_reshaping, params=[0.1])


def test_an_optimiser_checked_under_other_jax_settings_is_checked_again():
    # adam's check passed with standard dtype promotion and was remembered; under strict
    # promotion its int32 step count fails, and the sweep raised optax's bare
    # TypePromotionError from deep inside the trace instead of the error naming the
    # optimiser. jax.jit keys its own cache on such settings; the check must too.
    def f(x):
        return (x - 1.0) ** 2

    def run():
        return jaxgd.sweep(f, [0.0, 2.0], [0.1], [5], optimizer=optax.adam)

    run()
    with jax.numpy_dtype_promotion("strict"), pytest.raises(TypeError, match="optimizer 'adam'"):
        run()
    run()  # standard promotion again: remembered, and fine


def _reshaping(learning_rate):
    # updates of another shape than the parameters
    def update(updates, state, params=None):
        return jnp.stack([updates, updates]), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def test_new_values_of_every_axis_compile_nothing(compiles):
    def opts():  # rebuilt each time, as a user's script would
        return {"sgd": optax.sgd, "momentum": partial(optax.sgd, momentum=0.9)}

    jaxgd.sweep(family, [0.0, 1.0], [0.1], [5, 10], optimizer=opts(), params=[0.05, 0.1])
    jaxgd.sweep(
        family,
        [0.0, 1.0],
        [0.1],
        [5, 10],
        optimizer=optax.adam,
        hyperparams={"b1": [0.8, 0.9]},
        params=[0.05, 0.1],
    )
    with compiles:
        jaxgd.sweep(family, [2.0, -1.0], [0.3], [7, 1], optimizer=opts(), params=[0.2, 0.3])
        jaxgd.sweep(
            family,
            [2.0, -1.0],
            [0.3],
            [7, 1],
            optimizer=optax.adam,
            hyperparams={"b1": [0.5, 0.99]},
            params=[0.2, 0.7],
        )
    assert compiles.count == 0, compiles.names


# -- bad arguments: named, before anything compiles -----------------------------------------------
class _UnhashableSgd(list):
    """An optimiser factory that cannot be hashed (a list, as a dataclass with eq=True)."""

    def __call__(self, learning_rate):
        return optax.sgd(learning_rate)


class _UnhashableSchedule(list):
    def __call__(self, rate):
        return optax.constant_schedule(rate)


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"optimizer": 3}, TypeError, r"^optimizer must be callable"),
        (
            {"optimizer": optax.adam(0.1)},
            TypeError,
            r"^optimizer is an optax.GradientTransformation",
        ),
        ({"optimizer": {}}, ValueError, r"^optimizer is an empty dict"),
        ({"optimizer": {"a": "adam"}}, TypeError, r"^optimizer\['a'\] must be callable"),
        ({"optimizer": {1: optax.adam}}, TypeError, r"keys name the 'optimizer' dimension"),
        (
            {"optimizer": lambda: optax.sgd(0.1)},
            TypeError,
            r"cannot be called with a learning rate",
        ),
        (  # the rate bound by position: the axis would have become the momentum
            {"optimizer": partial(optax.sgd, 0.1)},
            TypeError,
            r"^optimizer already sets the learning rate \(learning_rate=0.1\)",
        ),
        (  # ... or by keyword, which the axis would override
            {"optimizer": {"adam": partial(optax.adam, learning_rate=0.5)}},
            TypeError,
            r"^optimizer\['adam'\] already sets the learning rate",
        ),
        ({"hyperparams": {"b1": [0.9]}}, ValueError, r"^hyperparams need an optimizer"),
        (
            {"optimizer": optax.sgd, "hyperparams": {"b1": [0.9]}},
            ValueError,
            r"optimizer 'sgd' has no keyword 'b1'",
        ),
        (  # the partial's momentum would be replaced by the axis, under its old name
            {
                "optimizer": {"m": partial(optax.sgd, momentum=0.9)},
                "hyperparams": {"momentum": [0.0, 0.5]},
            },
            ValueError,
            r"optimizer 'm' already sets momentum=0.9, which the swept values would",
        ),
        (
            {"optimizer": optax.adam, "hyperparams": {"learning_rate": [0.1]}},
            ValueError,
            r"cannot set learning_rate",
        ),
        (
            {"optimizer": optax.adam, "hyperparams": [0.9]},
            TypeError,
            r"^hyperparams must be a dict",
        ),
        (
            {"optimizer": optax.adam, "hyperparams": {"b1": [[0.9]]}},
            ValueError,
            r"hyperparams\['b1'\] must be a scalar or a 1-D",
        ),
        (
            {"optimizer": optax.adam, "hyperparams": {"b1": [np.nan]}},
            ValueError,
            r"hyperparams\['b1'\] must be finite",
        ),
        ({"schedule": 0.5}, TypeError, r"^schedule must be a callable"),
        ({"schedule": lambda r: r * 2}, TypeError, r"^schedule failed"),
        (
            {"schedule": lambda r: lambda t: jnp.ones(3) * r},
            TypeError,
            r"^the schedule changed the position's shape from \(\) to \(3,\)",
        ),
        ({"params": []}, ValueError, r"^params"),
        ({"params": {"a": np.zeros(2), "b": np.zeros(3)}}, ValueError, r"share a leading axis"),
        # unhashable factories: jit keys its programs on them (a bare "unhashable type")
        ({"optimizer": _UnhashableSgd()}, TypeError, r"^optimizer must be hashable"),
        ({"optimizer": {"s": _UnhashableSgd()}}, TypeError, r"^optimizer\['s'\] must be hash"),
        ({"schedule": _UnhashableSchedule()}, TypeError, r"^schedule must be hashable"),
    ],
)
def test_bad_new_arguments_are_named_before_compiling(kw, exc, match, compiles):
    f = family if "params" in kw else CASES[0].f
    with compiles, pytest.raises(exc, match=match):
        jaxgd.sweep(f, [0.0, 1.0], [0.1], [5], **kw)
    assert compiles.count == 0


def test_f_without_theta_given_params_names_f():
    with pytest.raises(TypeError, match=r"^f must be callable as f\(x, theta\)"):
        jaxgd.sweep(CASES[0].f, [0.0], [0.1], [5], params=[0.1, 0.2])


def test_a_missing_or_extra_theta_names_params_as_the_fix():
    with pytest.raises(TypeError, match=r"drop params= for a function of x alone"):
        jaxgd.sweep(CASES[0].f, [0.0], [0.1], [5], params=[0.1, 0.2])
    for run in (
        lambda: jaxgd.sweep(family, [0.0], [0.1], [5]),
        lambda: jaxgd.descend(family, 0.0, 0.1, 5),
    ):
        with pytest.raises(TypeError, match=r"pass its values as params="):
            run()


def test_an_optimizer_taking_the_rate_positionally_works(x64):
    case = CASES[0]
    res = jaxgd.sweep(case.f, case.starts, [0.1], EPOCHS, optimizer=lambda lr: optax.sgd(lr, 0.9))
    want = jaxgd.sweep(
        case.f, case.starts, [0.1], EPOCHS, optimizer=partial(optax.sgd, momentum=0.9)
    )
    np.testing.assert_array_equal(res.final, want.final)


def test_descend_refuses_a_dict_of_optimizers():
    with pytest.raises(TypeError, match="descend runs one optimizer"):
        jaxgd.descend(CASES[0].f, 0.0, 0.1, 5, optimizer=OPTIMIZERS)


def test_descend_names_an_unhashable_optimizer_or_schedule():
    with pytest.raises(TypeError, match=r"^optimizer must be hashable"):
        jaxgd.descend(CASES[0].f, 0.0, 0.1, 5, optimizer=_UnhashableSgd())
    with pytest.raises(TypeError, match=r"^schedule must be hashable"):
        jaxgd.descend(CASES[0].f, 0.0, 0.1, 5, schedule=_UnhashableSchedule())


def test_divergence_with_an_optimizer_is_flagged_per_cell(x64):
    res = jaxgd.sweep(
        lambda x: x**4, [0.5, 3.0], [1e-3, 2.0], [0, 50], optimizer=partial(optax.sgd, momentum=0.9)
    )
    assert not res.diverged[:, 0].any()
    assert res.diverged[1, 1, 1]
    assert not res.diverged[:, :, 0].any()


def test_new_axes_inside_a_callers_jit_equal_the_eager_sweep():
    def f(p, a):
        return jnp.sin(p[0]) * jnp.cos(a * p[1]) + 0.1 * (p[0] ** 2 + p[1] ** 2)

    opts = {"momentum": partial(optax.sgd, momentum=0.5), "adam": optax.adam}
    starts = np.random.default_rng(0).uniform(-2, 2, (5, 2)).astype(np.float32)
    eager = jaxgd.sweep(
        f, starts, [0.01, 0.1], [3, 40], optimizer=opts, params=np.array([0.5, 1.5])
    )
    run = jax.jit(lambda s, r, th: jaxgd.sweep(f, s, r, [3, 40], optimizer=opts, params=th))
    traced = run(jnp.asarray(starts), jnp.array([0.01, 0.1]), jnp.array([0.5, 1.5]))
    assert (
        traced.dims
        == eager.dims
        == ("optimizer", "param", "start", "learning_rate", "epochs", "coord")
    )
    np.testing.assert_array_equal(np.asarray(traced.final), eager.final)
    np.testing.assert_array_equal(np.asarray(traced.diverged), eager.diverged)


def test_an_equal_schedule_rebuilt_for_every_call_compiles_once(compiles):
    def schedule():
        return partial(optax.exponential_decay, transition_steps=100, decay_rate=0.5)

    f = CASES[0].f
    jaxgd.sweep(f, [1.0, 2.0], [0.1], [10], optimizer=optax.adam, schedule=schedule())
    with compiles:
        for rate in (0.2, 0.3):
            jaxgd.sweep(f, [1.0, 2.0], [rate], [10], optimizer=optax.adam, schedule=schedule())
    assert compiles.count == 0, compiles.names


def test_params_read_alike_however_they_are_written():
    def g(x, a):
        return jnp.sin(x) + a * x**2

    # A Python number was refused ("leaves must share a leading axis"); NumPy's was an axis.
    one = jaxgd.sweep(g, [0.5], [0.1], [5], params=np.float64(2.0))
    for scalar in (2.0, 2):
        alike = jaxgd.sweep(g, [0.5], [0.1], [5], params=scalar)
        assert alike.dims == one.dims and alike.sizes["param"] == 1
        np.testing.assert_array_equal(alike.final, one.final)
    want = jaxgd.sweep(g, [0.5], [0.1], [5], params=np.array([0.1, 0.2])).final
    for params in ([0.1, np.float32(0.2)], [0.1, jnp.float32(0.2)], list(jnp.array([0.1, 0.2]))):
        np.testing.assert_allclose(jaxgd.sweep(g, [0.5], [0.1], [5], params=params).final, want)
    nested = jaxgd.sweep(lambda x, t: t.sum() * x**2, [0.5], [0.1], [5], params=[[1.0, 1.0]] * 2)
    assert nested.final.shape[0] == 2


def _adam_by_lr(lr, **kw):
    return optax.adam(lr, **kw)


def _sgd_by_lr(lr, momentum=0.0):
    return optax.sgd(lr, momentum=momentum)


@pytest.mark.parametrize(
    ("mine", "theirs", "hyper"),
    [
        (_adam_by_lr, optax.adam, None),
        (_adam_by_lr, optax.adam, {"b1": [0.5, 0.9]}),
        (_sgd_by_lr, optax.sgd, {"momentum": [0.0, 0.9]}),
    ],
    ids=["kwargs", "kwargs-swept", "named-swept"],
)
def test_a_factory_whose_rate_is_not_named_learning_rate_sweeps_like_optax(mine, theirs, hyper):
    # lr with **kw was called learning_rate=... (taken by **kw: 'missing lr'); lr with a
    # named momentum ran, but sweeping momentum failed: the wrapper dropped every keyword.
    kw = {} if hyper is None else {"hyperparams": hyper}
    got = jaxgd.sweep(jnp.cos, [0.3, 2.0], [0.01, 0.1], [5, 50], optimizer=mine, **kw)
    want = jaxgd.sweep(jnp.cos, [0.3, 2.0], [0.01, 0.1], [5, 50], optimizer=theirs, **kw)
    assert got.dims == want.dims
    np.testing.assert_array_equal(got.final, want.final)


@pytest.mark.parametrize("container", [tuple, list])
def test_a_tuple_or_list_of_arrays_is_a_pytree_of_params(container):
    # NumPy stacked (curvature, minimum, offset) into 3 values of a 3-vector theta: another
    # family, the runs ending at [2, 0, 0] instead of the minima [-1, 0, 1], silently.
    curv, mins, offs = np.array([1.0, 2.0, 4.0]), np.array([-1.0, 0.0, 1.0]), np.zeros(3)

    def by_name(x, th):
        return th["c"] * (x - th["m"]) ** 2 + th["k"]

    def by_place(x, th):
        c, m, k = th
        return c * (x - m) ** 2 + k

    want = jaxgd.sweep(by_name, [0.0], [0.1], [200], params={"c": curv, "m": mins, "k": offs})
    got = jaxgd.sweep(by_place, [0.0], [0.1], [200], params=container([curv, mins, offs]))
    assert got.sizes["param"] == 3
    np.testing.assert_array_equal(got.final, want.final)
    np.testing.assert_allclose(got.final.ravel(), mins, atol=1e-5)


@pytest.mark.parametrize(
    "params",
    [{"w": np.array([np.nan, 1.0]), "b": np.array([0.1, 0.2])}, [np.inf, 0.1]],
    ids=["pytree leaf", "flat"],
)
def test_params_must_be_finite_in_every_form(params):
    def gt(x, th):
        return jnp.sin(th["w"] * x) + th["b"] * x**2 if isinstance(th, dict) else th * x**2

    with pytest.raises(ValueError, match=r"^params must be finite"):
        jaxgd.sweep(gt, [0.5], [0.1], [5], params=params)
    with pytest.raises(ValueError, match=r"^params must be finite"):
        jaxgd.descend(lambda x, a: a * x**2, 0.5, 0.1, 5, params=np.nan)


def _theta_scale(x, t):
    return t * x**2 + jnp.sin(x)


def _theta_pair(x, th):
    return th[0] * (x - th[1]) ** 2


def test_params_of_numbers_read_alike_inside_a_callers_jit():
    # [a, 2.0] with a traced a was a pytree of two scalars inside jit, refused ("leaves
    # must share a leading axis"), while outside it the same numbers are one axis.
    args = ([0.5, -1.0], [0.1], [5, 20])

    @jax.jit
    def flat(a):
        return jaxgd.sweep(_theta_scale, *args, params=[a, 2.0]).final

    @jax.jit
    def nested(a):
        return jaxgd.sweep(_theta_pair, *args, params=[[a, 1.0], [2.0, a]]).final

    want = jaxgd.sweep(_theta_scale, *args, params=[1.5, 2.0]).final
    np.testing.assert_array_equal(np.asarray(flat(1.5)), want)
    want = jaxgd.sweep(_theta_pair, *args, params=[[1.5, 1.0], [2.0, 1.5]]).final
    np.testing.assert_array_equal(np.asarray(nested(1.5)), want)


@pytest.mark.parametrize(
    ("f", "params", "match"),
    [
        (_theta_scale, [1.5, True], r"^params must be a number .*entry 1 is True, a bool"),
        (_theta_pair, [[1.0, True], [2.0, 3.0]], r"^params must hold numbers; entry \[0\]\[1\]"),
        (_theta_pair, jnp.ones((2, 2), bool), r"^params must .*got booleans"),
        (_theta_scale, jnp.ones(2, bool), r"^params must .*got booleans"),
    ],
    ids=["beside-numbers", "in-a-row", "jax-2d", "jax-1d"],
)
def test_booleans_in_params_are_refused_in_every_form(f, params, match, compiles):
    # NumPy read [1.5, True] as [1.5, 1.0], and a JAX boolean array was taken as it was:
    # both ran, where a list of bools or a NumPy boolean array is refused.
    with compiles, pytest.raises(TypeError, match=match):
        jaxgd.sweep(f, [0.5], [0.1], [5], params=params)
    assert compiles.count == 0


def test_names_kept_with_a_result_hold_no_memory_address():
    # A partial's repr holds an address: new every run, and saved into files.
    schedule = functools.partial(optax.exponential_decay, transition_steps=100, decay_rate=0.5)
    res = jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=optax.sgd, schedule=schedule)
    assert res.schedule.endswith(":exponential_decay(transition_steps=100, decay_rate=0.5)")

    class Wave:
        def __call__(self, x):
            return jnp.cos(x)

    for f in (functools.partial(lambda x, a: jnp.cos(a * x), a=2.0), Wave()):
        name = jaxgd.sweep(f, [0.5], [0.1], [10]).function
        assert "0x" not in name, name


@pytest.mark.parametrize(
    ("optimizer", "key"),
    [
        (optax.sgd, "nesterov"),
        (optax.adam, "nesterov"),
        (optax.adam, "mu_dtype"),
    ],
)
def test_a_hyperparameter_optax_reads_as_a_python_value_is_named(optimizer, key, compiles):
    # optax's own TracerBoolConversionError or "unhashable type: 'DynamicJaxprTracer'" was
    # passed on, not saying that the swept value is traced per lane, nor which key.
    with compiles, pytest.raises(TypeError, match=rf"^hyperparams\['{key}'\] cannot be swept"):
        jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=optimizer,
                    hyperparams={key: [0.0, 1.0], "b1" if optimizer is optax.adam else
                                 "momentum": [0.5, 0.9]})  # fmt: skip
    assert compiles.count == 0


@pytest.mark.parametrize("keys", [("momentum", "nesterov"), ("nesterov", "momentum")])
def test_a_flag_optax_reads_only_beside_another_swept_key_is_named(keys, compiles):
    # optax.sgd reads nesterov only when momentum is set: neither fails alone, so the error
    # blamed the optimiser, not the flag.
    values = {"momentum": [0.5, 0.9], "nesterov": [0.0, 1.0]}
    with compiles, pytest.raises(TypeError, match=r"^hyperparams\['nesterov'\] cannot be swept"):
        jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=optax.sgd,
                    hyperparams={k: values[k] for k in keys})  # fmt: skip
    assert compiles.count == 0


@pytest.mark.parametrize("flags", [[True, False], np.array([True])])
def test_flags_given_as_hyperparameters_are_set_in_the_factory(flags):
    # Flags are read in Python by optax; the fix is two optimizers, not numbers for them.
    with pytest.raises(TypeError, match=r"^hyperparams\['nesterov'\] is a flag .*two optimizers"):
        jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=optax.sgd,
                    hyperparams={"nesterov": flags, "momentum": [0.5, 0.9]})  # fmt: skip


def _seeded_noise(learning_rate, seed=0):
    return optax.noisy_sgd(learning_rate, key=jax.random.key(seed))


@pytest.mark.parametrize(
    ("optimizer", "key"), [(optax.noisy_sgd, "key"), (_seeded_noise, "seed")], ids=["key", "seed"]
)
def test_a_hyperparameter_refused_only_when_lowered_is_named_before_compiling(
    optimizer, key, compiles
):
    # A PRNG key made of a swept (traced, float) seed passes tracing and fails as the program
    # is lowered: JAX's "PRNG key seed must be an integer" came from inside the sweep's call,
    # after the checks, naming neither the hyperparameter nor the fix.
    with compiles, pytest.raises(TypeError, match=rf"^hyperparams\['{key}'\] cannot be swept"):
        jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=optimizer, hyperparams={key: [0, 1]})
    assert compiles.count == 0


def test_an_optimizer_broken_whatever_its_hyperparameters_is_not_blamed_on_them():
    def broken(learning_rate, momentum=0.9):
        raise RuntimeError("no optimiser here")

    with pytest.raises(TypeError, match=r"^optimizer 'broken' failed.*no optimiser here"):
        jaxgd.sweep(jnp.cos, [0.5], [0.1], [10], optimizer=broken,
                    hyperparams={"momentum": [0.5, 0.9]})  # fmt: skip


@pytest.mark.parametrize(
    ("call", "params"),
    [
        ("sweep", {"a": np.array([1e300, 1.0])}),  # float64 -> float32: inf
        ("sweep", {"a": np.array([2**40, 1])}),  # int64 -> int32: wrapped around to 0
        ("descend", 1e300),
        ("descend", {"a": 2**40}),
    ],
)
def test_a_theta_leaf_past_its_jax_dtype_is_refused_not_changed(call, params):
    # The leaf was cast to JAX's dtype as it was: f was descended with theta = inf (NaN
    # everywhere) or with 2**40 wrapped to 0, another function than the one asked for.
    def f(x, theta):
        a = theta["a"] if isinstance(theta, dict) else theta
        return (x - 1e-30 * a) ** 2

    with jax.enable_x64(False), pytest.raises(ValueError, match=r"^params has values too large"):
        if call == "sweep":
            jaxgd.sweep(f, [0.0], [0.1], [1], params=params)
        else:
            jaxgd.descend(f, 0.0, 0.1, 1, params=params)


def _clipped_adam(learning_rate, **kw):
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate, **kw))


def _clipped_adam_by_keyword(*, learning_rate, **kw):
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate, **kw))


@pytest.mark.parametrize("mine", [_clipped_adam, _clipped_adam_by_keyword], ids=["pos", "kw"])
def test_hyperparameters_a_factory_takes_through_kwargs_are_swept(mine, x64):
    # optax.inject_hyperparams passes each parameter of the factory's signature by name: the
    # swept b1 arrived as one keyword kw={'b1': ...}, and the check refused the optimiser
    # ("adam() got an unexpected keyword argument 'kw'") though it takes b1.
    starts, rates, epochs = [-2.0, 0.3], [0.05, 0.5], [0, 3, 20]
    res = jaxgd.sweep(
        jnp.cos, starts, rates, epochs, optimizer=mine, hyperparams={"b1": [0.0, 0.9]}
    )
    for i, b1 in enumerate([0.0, 0.9]):
        want = reference(
            jnp.cos, lambda lr, b1=b1: mine(learning_rate=lr, b1=b1), starts, rates, epochs
        )
        np.testing.assert_allclose(res.final[i], want, rtol=1e-12, atol=1e-12)


# -- points of R^3 against float64 NumPy with hand-written gradients, fuzzed ------------------
_WELLS = np.array([[1.0, 0.0, -0.5], [-1.0, 0.5, 0.0], [0.3, -1.2, 1.0]])


def _r3(x, theta):
    """A quadratic x'Ax/2 - b'x plus Gaussian wells, NaN where x[0] > theta["cut"]."""
    quad = 0.5 * x @ theta["a"] @ x - theta["b"] @ x
    wells = -jnp.sum(theta["w"] * jnp.exp(-jnp.sum((x - _WELLS) ** 2, axis=1)))
    return jnp.where(x[0] > theta["cut"], jnp.nan, quad + wells)


def _r3_np(x, theta):
    quad = 0.5 * x @ theta["a"] @ x - theta["b"] @ x
    return (
        np.nan
        if x[0] > theta["cut"]
        else quad - np.sum(theta["w"] * np.exp(-np.sum((x - _WELLS) ** 2, axis=1)))
    )


def _r3_grad(x, theta):
    e = theta["w"] * np.exp(-np.sum((x - _WELLS) ** 2, axis=1))
    g = theta["a"] @ x - theta["b"] + np.sum(2 * (x - _WELLS) * e[:, None], axis=0)
    # jax.grad of jnp.where(x0 > cut, nan, q) is 0 where the constant NaN is chosen: the
    # run stays there, its value NaN, flagged at every later count.
    return np.zeros(3) if x[0] > theta["cut"] else g


@pytest.mark.thorough
@hypothesis.settings(max_examples=8, deadline=None)
@hypothesis.given(seed=st.integers(0, 2**32 - 1))
def test_points_of_r3_step_as_a_float64_numpy_loop_in_every_split(seed):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(2, 3, 3))
    theta = {
        "a": np.stack([q @ q.T + 0.1 * np.eye(3) for q in m]),
        "b": rng.normal(size=(2, 3)),
        "w": rng.uniform(0, 2, size=(2, 3)),
        "cut": np.array([rng.uniform(0.5, 1.5), np.finfo(np.float64).max]),  # 2nd: no NaN
    }
    starts = rng.uniform(-2, 2, size=(4, 3))
    starts[0, 0] = 1.7  # NaN from the start for the first f
    rates = np.array([0.0, 0.01, 0.2, 1e4])  # 1e4: |x| grows past float64's range
    epochs = np.array([0, 9, 3, 120, 120])
    with jax.enable_x64(True):
        res = jaxgd.sweep(_r3, starts, rates, epochs, params=theta)
        split = jaxgd.sweep(_r3, starts, rates, epochs, params=theta, chunk_size=1)
    assert res.dims == ("param", "start", "learning_rate", "epochs", "coord")
    for name in ("final", "value", "diverged"):
        np.testing.assert_array_equal(getattr(split, name), getattr(res, name))
    assert res.diverged[0, 0].all()
    assert res.diverged[1, :, 3, -1].all()  # overflow
    for p in range(2):
        one = {k: v[p] for k, v in theta.items()}
        for i, j in np.ndindex(len(starts), len(rates)):
            x, at = starts[i].copy(), {}
            with np.errstate(all="ignore"):
                for t in range(epochs.max() + 1):
                    at[t] = (x.copy(), _r3_np(x, one))
                    x = x - rates[j] * _r3_grad(x, one)
            for k, e in enumerate(epochs):
                want, value = at[int(e)]
                bad = not (np.isfinite(want).all() and np.isfinite(value))
                assert res.diverged[p, i, j, k] == bad
                if np.abs(want).max() < 1e6:  # chaotic far out: a last bit grows
                    np.testing.assert_allclose(res.final[p, i, j, k], want, rtol=1e-9, atol=1e-9)
                    np.testing.assert_allclose(res.value[p, i, j, k], value, rtol=1e-9, atol=1e-9)


_HYPER_ENTRY = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-5, 5),
    st.booleans(),
    st.sampled_from(["0.9", None, 1 + 2j, [0.5], np.float32(0.5), np.array(0.25)]),
)


@pytest.mark.thorough
@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(values=st.one_of(st.lists(_HYPER_ENTRY, max_size=3), _HYPER_ENTRY))
def test_fuzzed_hyperparameter_values_run_or_are_named_before_compiling(values):
    # Every value is a finite real number (a 0-d array is one): the sweep runs, one cell per
    # value, a diverging one flagged. Anything else: an error naming hyperparams['b1'],
    # before anything compiles.
    entries = values if isinstance(values, list) else [values]

    def number(v):
        if isinstance(v, bool | str | list | complex) or v is None:
            return False
        return bool(np.isfinite(float(v)))

    good = len(entries) > 0 and all(number(v) for v in entries)
    if not good:
        counter = tests_helpers.CompileCounter()
        with counter, pytest.raises((TypeError, ValueError), match=r"^hyperparams\['b1'\]"):
            jaxgd.sweep(
                jnp.cos, [0.5, 2.0], [0.1], [3], optimizer=optax.adam, hyperparams={"b1": values}
            )
        assert counter.count == 0
        return
    res = jaxgd.sweep(
        jnp.cos, [0.5, 2.0], [0.1], [3], optimizer=optax.adam, hyperparams={"b1": values}
    )
    assert res.dims[0] == "b1" and res.sizes["b1"] == len(entries)
    np.testing.assert_array_equal(
        res.coord("b1"), np.asarray([float(v) for v in entries], np.float32)
    )
    np.testing.assert_array_equal(res.diverged, ~np.isfinite(res.final) | ~np.isfinite(res.value))
