"""jaxgd.descend: reference values, jit, vmap, forward-mode AD, no-jit, trajectory."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from tests.helpers import (
    CASE_IDS,
    CASES,
    UNSEEN,
    UNSEEN_IDS,
    assert_close,
    float32_tol,
    not_differentiable,
    reference_descend,
)

NOTEBOOK = CASES[0]


def test_notebook_minimum_from_zero(x64):
    # 7e-5 short of the true minimum -1.42887; the notebook's deriv (missing a factor x)
    # ends at -1.6702 instead.
    x = jaxgd.descend(NOTEBOOK.f, 0.0, learning_rate=0.01, epochs=1000)
    assert x.dtype == jnp.float64
    assert float(x) == pytest.approx(-1.42880, abs=5e-6)
    wrong = reference_descend(
        lambda x: np.cos(x) * np.exp(-0.05 * x**2) - np.sin(x) * 0.1 * np.exp(-0.05 * x**2),
        0.0,
        0.01,
        1000,
    )
    assert wrong == pytest.approx(-1.6702, abs=5e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_reference(case, dtype):
    with jax.enable_x64(dtype == "float64"):
        for start in case.starts[:3]:
            x = jaxgd.descend(case.f, start, case.rates[0], 40)
            assert x.dtype == np.dtype(dtype)
            ref = reference_descend(case.np_df, start, case.rates[0], 40)
            assert_close(x, ref, **float32_tol(np.dtype(dtype)))


def _reference_trajectory(np_df, x0, rate, epochs):
    xs = [np.float64(x0)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            xs.append(xs[-1] - rate * np_df(xs[-1]))
    return np.array(xs)


@pytest.mark.parametrize("case", UNSEEN, ids=UNSEEN_IDS)
def test_functions_outside_the_library_match_the_reference(x64_or_not, case):
    dtype = np.dtype("float64" if x64_or_not else "float32")
    for start in case.starts:
        for rate in case.rates:
            want = _reference_trajectory(case.np_df, start, rate, 30)
            for n in (0, 1, 30):
                x = jaxgd.descend(case.f, start, rate, n)
                assert x.dtype == dtype and x.shape == ()
                assert_close(x, want[n], **float32_tol(dtype))
            if rate == 0.0:  # no step changes x: the start itself, in the working dtype
                assert x == np.asarray(start, dtype)
    # Every position of one run, as the reference loop stores them.
    start, rate = case.starts[0], case.rates[-1]
    traj = jaxgd.descend(case.f, start, rate, 30, trajectory=True)
    assert_close(traj, _reference_trajectory(case.np_df, start, rate, 30), **float32_tol(dtype))


def test_a_run_that_overflows_is_a_value_not_an_error(x64_or_not):
    # x**4 - 3 x**2 + x from 3.0 at rate 0.1 overshoots further each step, as the float64
    # reference does; the same rate from 0.4 settles.
    quartic = UNSEEN[0]
    assert quartic.name == "quartic"
    for n in (8, 30):
        x = jaxgd.descend(quartic.f, 3.0, 0.1, n)
        assert not np.isfinite(x) and not np.isfinite(reference_descend(quartic.np_df, 3.0, 0.1, n))
    assert np.isfinite(jaxgd.descend(quartic.f, 0.4, 0.1, 30))


def test_zero_epochs_is_the_start():
    assert float(jaxgd.descend(NOTEBOOK.f, 1.25, 0.5, 0)) == 1.25


def test_jit_and_no_jit_agree():
    args = (NOTEBOOK.f, 0.7, 0.05, 200)
    plain = jaxgd.descend(*args)
    jitted = jax.jit(jaxgd.descend, static_argnums=0)(*args)
    with jax.disable_jit():
        eager = jaxgd.descend(*args)
    assert jitted == plain
    np.testing.assert_allclose(eager, plain, rtol=1e-6)


def test_vmap_over_start_rate_and_epochs(x64):
    starts = jnp.array([-1.0, 0.0, 4.0])
    rates = jnp.array([0.01, 0.1, 0.2])
    epochs = jnp.array([0, 5, 300])
    out = jax.vmap(jaxgd.descend, in_axes=(None, 0, 0, 0))(NOTEBOOK.f, starts, rates, epochs)
    ref = [
        reference_descend(NOTEBOOK.np_df, *args) for args in zip(starts, rates, epochs, strict=True)
    ]
    assert_close(out, ref, rtol=1e-12, atol=1e-12)


def test_forward_mode_ad_in_start_and_rate(x64):
    # d x_n / d x0 by forward mode equals a central difference of the reference loop.
    f, df = NOTEBOOK.f, NOTEBOOK.np_df
    dx0 = jax.jacfwd(jaxgd.descend, argnums=1)(f, 0.5, 0.05, 30)
    h = 1e-6
    fd = (reference_descend(df, 0.5 + h, 0.05, 30) - reference_descend(df, 0.5 - h, 0.05, 30)) / (
        2 * h
    )
    assert float(dx0) == pytest.approx(fd, rel=1e-6)
    _, dlr = jax.jvp(lambda lr: jaxgd.descend(f, 0.5, lr, 30), (0.05,), (1.0,))
    fd_lr = (
        reference_descend(df, 0.5, 0.05 + h, 30) - reference_descend(df, 0.5, 0.05 - h, 30)
    ) / (2 * h)
    assert float(dlr) == pytest.approx(fd_lr, rel=1e-6)


def test_trajectory(x64):
    traj = jaxgd.descend(NOTEBOOK.f, 0.0, 0.01, 25, trajectory=True)
    assert traj.shape == (26,)
    assert traj[0] == 0.0
    for n in (1, 10, 25):
        assert traj[n] == jaxgd.descend(NOTEBOOK.f, 0.0, 0.01, n)


def test_trajectory_needs_concrete_epochs():
    with pytest.raises(ValueError, match="trajectory=True needs epochs to be a concrete int"):
        jax.jit(lambda n: jaxgd.descend(NOTEBOOK.f, 0.0, 0.1, n, trajectory=True))(3)


def test_overflow_is_a_value_not_an_error():
    x = jaxgd.descend(lambda x: x**4, 10.0, 1.0, 20)
    assert not np.isfinite(x)


def test_no_recompile_for_new_values(compiles):
    jaxgd.descend(NOTEBOOK.f, 0.0, 0.01, 10)
    with compiles:
        jaxgd.descend(NOTEBOOK.f, 1.0, 0.02, 500)
        jaxgd.descend(NOTEBOOK.f, -3, 0.5, 0)
    assert compiles.count == 0, compiles.names


@pytest.mark.parametrize(
    ("epochs", "exc", "match"),
    [
        ([[3], 4], ValueError, "epochs must be a whole number.*nested sequence"),
        ([3, 4], ValueError, "epochs must be one count here"),
        ("3", TypeError, "epochs must be a whole number.*got str"),
        (2.5, ValueError, "epochs must be whole numbers; got 2.5"),
    ],
)
def test_trajectory_with_bad_epochs_names_them(epochs, exc, match):
    with pytest.raises(exc, match=match):
        jaxgd.descend(NOTEBOOK.f, 0.0, 0.1, epochs, trajectory=True)


@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_trajectory_must_be_a_bool(flag):
    with pytest.raises(TypeError, match="trajectory must be True or False"):
        jaxgd.descend(NOTEBOOK.f, 0.0, 0.1, 3, trajectory=flag)


@pytest.mark.parametrize(
    ("epochs", "match"),
    [
        (jnp.array([3.7, 5.0]), r"epochs is a traced float32 array.*jnp\.round"),
        (jnp.array([True, False]), r"epochs must be a whole number.*booleans"),
    ],
)
def test_traced_epochs_that_are_not_integers_are_refused(epochs, match):
    # A cast of traced floats truncated: 3.7 ran 3 steps under vmap, silently.
    batched = jax.vmap(jaxgd.descend, in_axes=(None, None, None, 0))
    with pytest.raises(TypeError, match=match):
        batched(NOTEBOOK.f, 0.3, 0.01, epochs)
    np.testing.assert_array_equal(
        batched(NOTEBOOK.f, 0.3, 0.01, jnp.array([3, 0])),
        [jaxgd.descend(NOTEBOOK.f, 0.3, 0.01, 3), np.float32(0.3)],
    )


@pytest.mark.parametrize("x0", [np.array([[1.0, 1.0]]), np.ones((2, 2))])
def test_a_point_given_as_a_row_names_x0_not_f(x0):
    # f of a vector failed on the scalar it was first checked on: "f raised IndexError".
    def himmelblau(p):
        return (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2

    with pytest.raises(ValueError, match=r"^x0 must be a scalar or one point .*np\.ravel"):
        jaxgd.descend(himmelblau, x0, 0.01, 5)
    with pytest.raises(TypeError, match=r"^f raised IndexError"):  # f's own bug stays f's
        jaxgd.descend(lambda p: p[5], np.ones((1, 2)), 0.01, 5)


def test_one_theta_is_asked_for_as_one_value():
    def family(x, a):
        return jnp.cosh(a * x) - x

    # The message asked for a list of values (an axis), which f(x, theta) then failed on.
    with pytest.raises(TypeError, match=r"^params must be a number, e.g. params=0.5; got str"):
        jaxgd.descend(family, 0.3, 0.05, 10, params="a")

    def pair(x, a):
        return jnp.cosh(a[0] * x) - a[1] * x

    # A list of numbers is one theta of that shape, as a sweep's params are one array.
    assert jaxgd.descend(pair, 0.3, 0.05, 10, params=[0.5, 1.0]) == jaxgd.descend(
        pair, 0.3, 0.05, 10, params=np.array([0.5, 1.0])
    )


def test_a_namedtuple_theta_keeps_its_fields():
    # Lists and tuples of numbers are one array theta; a NamedTuple had become one too, and
    # f lost theta.a ("f raised AttributeError").
    from typing import NamedTuple

    class Theta(NamedTuple):
        a: float
        b: float

    def f(x, th):
        return th.a * (x - th.b) ** 2

    end = jaxgd.descend(f, 0.0, 0.1, 50, params=Theta(1.0, 2.0))
    assert end == jaxgd.descend(
        lambda x, th: th[0] * (x - th[1]) ** 2, 0.0, 0.1, 50, params=(1.0, 2.0)
    )
    swept = jaxgd.sweep(f, 0.0, 0.1, 50, params=Theta(np.array([1.0, 1.0]), np.array([2.0, 3.0])))
    assert swept.final[:, 0, 0, 0].tolist()[0] == end
    with pytest.raises(ValueError, match="params' leaves must share a leading axis"):
        jaxgd.sweep(f, 0.0, 0.1, 50, params=Theta(1.0, 2.0))  # one theta is no axis


def _bowl(p):
    return jnp.sum((p - 1.0) ** 2) + jnp.sin(p[0])


def test_a_point_gathered_inside_jit_is_a_point():
    # [x, y] of traced numbers read as shape (): the point was taken for a scalar start, and
    # f was blamed for indexing it ("f raised IndexError ... on a scalar").
    eager = jaxgd.descend(_bowl, [0.5, 2.0], 0.1, 10)
    jitted = jax.jit(lambda a: jaxgd.descend(_bowl, [a, 2.0], 0.1, 10))(0.5)
    assert jitted.shape == (2,)
    np.testing.assert_array_equal(jitted, eager)


@pytest.mark.parametrize("flag", [True, np.False_])
def test_a_bool_beside_traced_numbers_is_refused(flag):
    # Eagerly [0.5, True] is refused; beside a traced number it was read as 1.0.
    with pytest.raises(TypeError, match=r"^x0 must be .*entry 1 is .*a bool"):
        jax.jit(lambda a: jaxgd.descend(_bowl, [a, flag], 0.1, 10))(0.5)


@pytest.mark.parametrize("flag", [True, np.False_])
def test_a_flag_given_as_a_hyperparameter_is_set_in_the_factory(flag):
    # "Pass numbers (1 rather than True)" led to a traced 1, which optax's `if nesterov:`
    # cannot read: a flag belongs in the factory.
    import optax

    with pytest.raises(
        TypeError,
        match=rf"^hyperparams\['nesterov'\] is a flag .*functools\.partial\(factory, "
        rf"nesterov={bool(flag)}\)\.$",
    ):
        jaxgd.descend(NOTEBOOK.f, 0.3, 0.1, 5, optimizer=optax.sgd, hyperparams={"nesterov": flag})


@pytest.mark.parametrize("x0", [[], np.zeros((0,)), np.zeros((2, 0)), [[]]])
def test_an_empty_x0_is_named_not_f(x0):
    # f indexing its point was checked on x of shape (0,) first: "f raised IndexError".
    with pytest.raises(ValueError, match=r"^x0 holds no numbers"):
        jaxgd.descend(_bowl, x0, 0.1, 3)


_UNEVEN_X0 = [[[-2.5], 1.0], [1.0, [1.0, 2.0]], [[1.0, 2.0], [3.0]]]


@pytest.mark.parametrize("x0", _UNEVEN_X0)
@pytest.mark.parametrize(
    ("f", "error", "says"),
    [
        (lambda x: x > 0, TypeError, r"^f returns bool values"),
        (not_differentiable, TypeError, r"^f cannot be differentiated"),
    ],
    ids=["bool", "not-differentiable"],
)
def test_a_bad_f_is_named_before_an_uneven_x0(f, error, says, x0):
    # f is the first argument: one that fails on any shape x0 could mean is named, as
    # jaxgd.sweep names it before uneven starts; the uneven x0 came first.
    with pytest.raises(error, match=says):
        jaxgd.descend(f, x0, 0.1, 3)


@pytest.mark.parametrize("x0", _UNEVEN_X0)
@pytest.mark.parametrize(
    "f", [jnp.sin, lambda p: jnp.sum(p**2), _bowl], ids=["scalar", "any-vector", "R^2"]
)
def test_an_uneven_x0_is_named_where_f_takes_one_of_its_shapes(f, x0):
    with pytest.raises(ValueError, match=r"^x0 must be .* uneven lengths"):
        jaxgd.descend(f, x0, 0.1, 3)


def test_an_uneven_x0_is_named_before_a_bad_later_argument():
    with pytest.raises(ValueError, match=r"^x0 must be .* uneven lengths"):
        jaxgd.descend(jnp.sin, [[1.0], 2.0], 0.1, 3, optimizer="adam")


def _wavy(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2) + 0.01 * x**2


def _quartic_bowl(p):
    return jnp.sum((p - jnp.array([1.0, -2.0, 0.5])) ** 4) + jnp.prod(jnp.cos(p))


def _optax_loop(f, x0, transformation, epochs):
    """optax's own loop: update and apply_updates in Python, one step at a time."""
    import optax

    x = jnp.asarray(x0)
    state = transformation.init(x)
    for _ in range(epochs):
        updates, state = transformation.update(jax.grad(f)(x), state, x)
        x = optax.apply_updates(x, updates)
    return np.asarray(x)


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("make", "hyper", "schedule"),
    [
        ("sgd", {"momentum": 0.9}, None),
        ("adam", {"b1": 0.8, "b2": 0.95}, None),
        ("rmsprop", {"decay": 0.8}, None),
        ("adagrad", None, None),
        ("adam", None, "decay"),
        ("sgd", None, "decay"),
    ],
)
@pytest.mark.parametrize(("f", "x0"), [(_wavy, 0.3), (_quartic_bowl, [0.1, 0.2, -1.0])])
def test_an_optimizer_steps_as_optax_own_loop(x64, make, hyper, schedule, f, x0):
    import optax

    make = getattr(optax, make)
    # optax's exponential_decay computes its factor in float32 (from the int32 count) even
    # under x64, where one ulp of it is 1e-7 of the step: this decay is float64 throughout.
    sched = None if schedule is None else (lambda r: lambda t: r * 0.5 ** (t.astype(r.dtype) / 5))
    rate = jnp.float64(0.05)
    kw = {"optimizer": make, "hyperparams": hyper, "schedule": sched, "fast_math": False}
    traj = jaxgd.descend(f, x0, rate, 12, trajectory=True, **kw)
    tx = make(rate if sched is None else sched(rate), **(hyper or {}))
    for n in (1, 12):
        got = jaxgd.descend(f, x0, rate, n, **kw)
        want = _optax_loop(f, x0, tx, n)
        assert got.shape == np.shape(x0) and got.dtype == np.float64
        # An ulp or two per step, as optax's update compiled in another program rounds.
        np.testing.assert_allclose(got, want, rtol=4 * n * 2**-52, atol=4 * n * 2**-52)
        np.testing.assert_array_equal(traj[n], got)
    np.testing.assert_array_equal(traj[0], np.asarray(x0, np.float64))


def test_a_theta_that_does_not_fit_the_point_is_named_beside_x0():
    # f(x, theta) of a scalar x passed only because theta broadcasts with it: the hint said
    # to pass one number as x0, and not that theta's shape may be the slip.
    with pytest.raises(TypeError, match=r"check that its shape \(\(3,\), from params=\) fits x"):
        jaxgd.descend(lambda x, a: jnp.sum((x - a) ** 2), [1.0, 2.0], 0.1, 5, params=jnp.ones(3))


def _gaussian_family(x, a):
    return jnp.sin(x) * jnp.exp(-a * x**2)


@pytest.mark.parametrize("theta", [np.ones(2), np.ones((1,)), {"a": np.ones(3)}])
def test_an_array_as_the_one_theta_of_a_scalar_parameter_is_named(theta, compiles):
    # descend runs one theta: an array of values broadcast with the scalar x and f returned
    # shape (k,), and the error only told to reduce f's output, where params was the slip.
    def f(x, t):
        return _gaussian_family(x, t["a"] if isinstance(t, dict) else t)

    with compiles, pytest.raises(ValueError) as info:
        jaxgd.descend(f, 1.0, 0.1, 5, params=theta)
    assert compiles.count == 0
    message = str(info.value)
    assert message.startswith("f must return a scalar for a scalar x"), message
    assert "params is one theta, here of shape" in message, message
    assert "jaxgd.sweep(..., params=values) runs many" in message
    one = {"a": 1.0} if isinstance(theta, dict) else 1.0
    assert np.isfinite(jaxgd.descend(f, 1.0, 0.1, 5, params=one))
