"""jaxgd.convergence against a per-run Python loop that stores the whole trajectory."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from jaxgd.convergence import convergence
from tests.helpers import CASE_IDS, CASES, UNSEEN, UNSEEN_IDS


def reference_convergence(np_df, x0, rate, epochs, tol):
    """First epoch from which |x_t - x_end| <= tol, from a stored float64 trajectory."""
    xs = [np.float64(x0)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            xs.append(xs[-1] - rate * np_df(xs[-1]))
    xs = np.array(xs)
    with np.errstate(invalid="ignore"):
        far = ~(np.abs(xs - xs[-1]) <= tol)
    epoch = int(np.nonzero(far)[0].max()) + 1 if far.any() else 0
    last_step = abs(xs[-1] - xs[-2]) if epochs else 0.0
    diverged = not np.isfinite(xs[-1])
    at_minimum = False
    if not diverged:
        h = 1e-5  # f'' by a central difference of the hand-written f'
        curvature = (np_df(xs[-1] + h) - np_df(xs[-1] - h)) / (2 * h)
        at_minimum = curvature > 0 and abs(np_df(xs[-1])) <= tol * curvature
        # ... and a minimum really is there: f' goes from - to + within 4 tol of the end.
        reach = np.linspace(0.0, 4 * tol, 4001)
        at_minimum = at_minimum and np_df(xs[-1] - reach).min() < 0 < np_df(xs[-1] + reach).max()
    return epoch, (not diverged) and last_step < tol and at_minimum, diverged, xs[-1]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_reference(x64, case):
    tol, epochs = 1e-3, 300
    conv = convergence(case.f, case.starts, case.rates, epochs, tol=tol)
    assert conv.shape == (len(case.starts), len(case.rates))
    for i, s in enumerate(case.starts):
        for j, r in enumerate(case.rates):
            epoch, converged, diverged, end = reference_convergence(case.np_df, s, r, epochs, tol)
            assert bool(conv.diverged[i, j]) == diverged
            assert bool(conv.converged[i, j]) == converged, (s, r)
            if not diverged:
                assert int(conv.epoch[i, j]) == epoch, (s, r)
                assert float(conv.final[i, j]) == pytest.approx(end, rel=1e-12, abs=1e-12)


@pytest.mark.thorough
@pytest.mark.parametrize("case", UNSEEN, ids=UNSEEN_IDS)
def test_functions_outside_the_library_match_the_reference(x64, case):
    # Rate 0 (never moves), a minimum where f'' jumps, a closure, a run that overflows.
    tol, epochs = 1e-3, 300
    conv = convergence(case.f, case.starts, case.rates, epochs, tol=tol)
    for i, s in enumerate(case.starts):
        for j, r in enumerate(case.rates):
            epoch, converged, diverged, end = reference_convergence(case.np_df, s, r, epochs, tol)
            assert bool(conv.diverged[i, j]) == diverged, (s, r)
            assert bool(conv.converged[i, j]) == converged, (s, r)
            if not diverged:
                assert int(conv.epoch[i, j]) == epoch, (s, r)
                assert float(conv.final[i, j]) == pytest.approx(end, rel=1e-12, abs=1e-12)
    # Rate 0: the start itself, no step taken, and converged exactly where it is a minimum.
    still = list(case.rates).index(0.0)
    np.testing.assert_array_equal(conv.final[:, still], np.asarray(case.starts))
    np.testing.assert_array_equal(conv.last_step[:, still], 0.0)
    np.testing.assert_array_equal(conv.epoch[:, still], 0)


@pytest.mark.thorough
@pytest.mark.parametrize(
    "f",
    [UNSEEN[1].f, lambda x: (x - 0.3) ** 2, lambda x: jnp.abs(x - 0.25) + 0.1 * x**2],
    ids=["log_bowl", "quadratic", "kink"],
)
def test_a_large_tol_counts_runs_at_a_minimum_as_converged(x64_or_not, f):
    # Every run ends at the minimum, within tol of where it started. The probes for a turn of
    # f' lie no nearer than 2**-31 tol: with tol=1e12 log(1 + x**2) fell too fast between
    # them for a bracket free of poles, and from tol=1e20 x**2 overflowed there in float32,
    # so runs resting on the minimum counted as not converged.
    big = float(jnp.finfo(jnp.result_type(float)).max)
    for tol in (1e12, 1e30, big):
        conv = convergence(f, [0.4, -0.7, 3.0], [0.05, 0.3], 500, tol=tol)
        assert conv.converged.all(), tol
        np.testing.assert_array_equal(conv.epoch, 0)
    # ... and a function with no minimum at all is still not converged, however large tol.
    assert not convergence(lambda x: -1 / x**2, [0.4, 3.0], 0.05, 500, tol=big).converged.any()


def test_final_agrees_with_sweep():
    f = CASES[0].f
    conv = convergence(f, [-2.0, 0.0, 3.0], [0.01, 0.1], 400)
    res = jaxgd.sweep(f, [-2.0, 0.0, 3.0], [0.01, 0.1], 400)
    np.testing.assert_array_equal(conv.final, res.final[..., 0])


def test_default_tol_is_the_librarys_1e_3():
    f = CASES[0].f
    conv = convergence(f, [0.0, 1.6], [0.01, 0.1], 3000)
    assert float(conv.tol) == pytest.approx(1e-3)
    explicit = convergence(f, [0.0, 1.6], [0.01, 0.1], 3000, tol=1e-3)
    np.testing.assert_array_equal(conv.epoch, explicit.epoch)


def test_zero_epochs():
    conv = convergence(CASES[0].f, [0.5, -1.4288704], 0.1, 0)
    np.testing.assert_array_equal(conv.epoch, 0)
    # Starting at the minimum is converged; starting anywhere else is not.
    np.testing.assert_array_equal(conv.converged, [[False], [True]])


def test_tiny_rate_that_never_moved_is_not_converged():
    conv = convergence(CASES[0].f, [0.0, 2.0], [1e-10, 0.1], 2000, tol=1e-3)
    assert not conv.converged[:, 0].any()
    assert conv.converged[:, 1].all()


def test_resting_on_a_maximum_is_not_converged(x64):
    # x = 0 is a maximum of -x^2 + x^4: the gradient is exactly 0, so descent never leaves.
    conv = convergence(lambda x: -(x**2) + x**4, [0.0, 0.3], 0.1, 500)
    assert not conv.converged[0, 0] and conv.converged[1, 0]


@pytest.mark.thorough
@pytest.mark.parametrize(
    "f", [lambda x: x**3, lambda x: x**4 + x**3], ids=["cube", "saddle_beside_a_minimum"]
)
def test_crawling_towards_a_saddle_is_not_converged(x64_or_not, f):
    # x**3 is convex right of its saddle at 0, so |f'/f''| = x/2 is within tol of 0 while
    # the steps (3 rate x**2) are far below it; yet f' never changes sign: no minimum there.
    conv = convergence(f, [0.5, 1.0], 0.1, 5000)
    assert (np.abs(conv.final) < 2e-3).all() and (conv.last_step < 1e-5).all()
    assert not conv.converged.any()


def test_degenerate_minimum_is_converged(x64_or_not):
    # x**4 has f'' = 0 at its minimum and descent creeps (x ~ 0.008 after 20000 steps): the
    # Newton distance x/3 is within tol, and the sign change of f' is found past it, at x.
    conv = convergence(lambda x: x**4, [0.5, -1.0], 0.1, 20000, tol=3e-3)
    assert (np.abs(conv.final) > 2 * 3e-3).all()
    assert conv.converged.all()


def test_resting_exactly_at_a_minimum_is_converged(x64_or_not):
    # f'(end) = 0: the sign change is found a float away on either side, at 0 (where the
    # nearest floats are subnormal) and at 1e6 (where they are farther apart than 4 tol).
    conv = convergence(lambda x: (x**2 + x**4) * (x - 1e6) ** 2, [0.0, 1e6], 0.0, 10)
    np.testing.assert_array_equal(conv.final, [[0.0], [1e6]])
    assert conv.converged.all()


def _kink_reference(np_df, minimum, x0, rate, epochs, tol):
    """Whether a float64 run of plain NumPy descent ends with its last step under ``tol``
    and within ``tol`` of ``minimum``."""
    x = prev = np.float64(x0)
    for _ in range(epochs):
        prev, x = x, x - rate * np_df(x)
    return abs(x - prev) < tol and abs(x - minimum) <= tol


def _sign(x):
    """The sign jax.grad gives |x|: 1 at 0."""
    return 1.0 if x >= 0 else -1.0


@pytest.mark.parametrize(
    ("f", "np_df"),
    [
        (lambda x: jnp.abs(x), _sign),
        (lambda x: jnp.abs(x) + x**2, lambda x: _sign(x) + 2 * x),
    ],
    ids=["abs", "abs_plus_square"],
)
def test_settling_at_a_kink_is_converged(x64, f, np_df):
    # f' jumps from -1 to 1 at 0, the minimum: a run with a rate under tol ends oscillating
    # within the rate of it. There f'' is 0 (no Newton distance) or the Newton distance is
    # 1/2, far above tol, and such runs counted as never converged however closely they had
    # settled.
    starts, rates, epochs, tol = [-0.7, -0.05, 0.0, 0.3, 1.3], [1e-4, 4e-4, 3e-3], 5000, 1e-3
    conv = convergence(f, starts, rates, epochs, tol=tol)
    expected = [[_kink_reference(np_df, 0.0, s, r, epochs, tol) for r in rates] for s in starts]
    np.testing.assert_array_equal(conv.converged, expected)
    assert np.asarray(expected).sum() >= 5 and not np.asarray(expected).all()


def test_resting_by_a_cusp_is_converged(x64_or_not):
    # |x|**1.5 has f'' = 0.75 / sqrt(|x|): its Newton distance 2 |x| is twice the distance to
    # the minimum at 0, so a run at 0.7 tol from it (rate 0) had been refused.
    conv = convergence(lambda x: jnp.abs(x) ** 1.5, [7e-4, -7e-4, 3e-3], 0.0, 10, tol=1e-3)
    np.testing.assert_array_equal(conv.converged, [[True], [True], [False]])


def _lowest_on_grids(np_f, lo, hi):
    """The lowest finite value of float64 ``np_f`` on grids of 10**3 and 10**5 points over
    ``[lo, hi]`` (offset so that no point lands on a round number), and where the finer one
    has it: where f has a minimum the two agree; where it falls without bound (a pole), the
    finer grid goes far lower."""
    out = []
    for n in (10**3, 10**5):
        xs = np.linspace(lo, hi, n) + (hi - lo) * 0.1234567 / n
        with np.errstate(all="ignore"):
            v = np_f(xs)
        v = np.where(np.isfinite(v), v, np.inf)
        out.append((v.min(), xs[v.argmin()]))
    return out[0][0], out[1][0], out[1][1]


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("f", "np_f", "end", "tol"),
    [
        # f' < 0 at -1 and > 0 at 5: it turns from - to + within tol = 6 of 5, across the
        # pole at 0, where f falls to -inf.
        (lambda x: -1 / x**2, lambda x: -1 / x**2, 5.0, 6.0),
        (lambda x: jnp.log(jnp.abs(x)), lambda x: np.log(np.abs(x)), 0.5, 1.0),
        # f is NaN below 0, where jax.grad gives a finite 1/x + 2x < 0: no fall there.
        (lambda x: jnp.log(x) + x**2, lambda x: np.log(x) + x**2, 0.01, 1.0),
        # Convex at -0.3 with a Newton distance of 0.31, under tol: the Newton test's
        # probes, out to 4 tol, found f' > 0 across the pole at 0.125, and no minimum is there.
        (
            lambda x: 0.01 * jnp.log(jnp.abs(x - 0.125)) + x**2,
            lambda x: 0.01 * np.log(np.abs(x - 0.125)) + x**2,
            -0.3,
            0.5,
        ),
    ],
    ids=["inverse_square", "log_abs", "log_plus_square", "newton_across_a_pole"],
)
def test_a_turn_of_f_prime_across_a_pole_is_not_converged(x64_or_not, f, np_f, end, tol):
    coarse, fine, _ = _lowest_on_grids(np_f, end - 4 * tol, end + 4 * tol)
    assert fine < coarse - 0.03  # no minimum: f falls without bound near the pole
    conv = convergence(f, [end], [0.0], 10, tol=tol)
    assert float(conv.last_step[0, 0]) == 0.0 and not conv.diverged[0, 0]
    assert not conv.converged[0, 0]


def test_a_turn_across_a_weak_log_pole_is_not_converged(x64):
    # 0.01 log|x - c| + x**2 has no minimum (c**2 < 0.02): f' turns from - to + only across
    # c, where f falls by just 0.007 each time the distance to c halves, while the slopes at
    # the ends of a bracket tol = 2 wide are some 3.7, and f far out is higher by 3.
    c = 0.1234567

    def np_f(x):
        return 0.01 * np.log(np.abs(x - c)) + x**2

    ends = np.array([1.8354241783, -1.5338688566, 1.7592868509])
    coarse, fine, _ = _lowest_on_grids(np_f, c - 0.1, c + 0.1)
    assert fine < coarse - 0.03
    conv = convergence(lambda x: 0.01 * jnp.log(jnp.abs(x - c)) + x**2, ends, 0.0, 10, tol=2.0)
    assert not np.asarray(conv.converged).any()


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("f", "np_f", "ends", "tol"),
    [
        # f jumps up at 0 from its fall: its low side, the last float below 0, is the
        # minimum find_minima reports, and basins labels a run within tol of it as there.
        (
            lambda x: jnp.where(x < 0, -x, x + 5),
            lambda x: np.where(x < 0, -x, x + 5),
            [0.0, 0.5],
            1.0,
        ),
        # f jumps down at 0 into its rise: 0 is a strict minimum.
        (
            lambda x: jnp.where(x < 0, 5 - x, x),
            lambda x: np.where(x < 0, 5 - x, x),
            [0.5, -0.5],
            1.0,
        ),
        (
            lambda x: jnp.maximum(0.0, 1.0 - x) + 0.1 * jnp.maximum(0.0, x - 1.0),
            lambda x: np.maximum(0.0, 1.0 - x) + 0.1 * np.maximum(0.0, x - 1.0),
            [1.0, 1.0004, 0.9996],
            1e-3,
        ),
        # f' is infinite at the cusp, and f continuous.
        (lambda x: jnp.sqrt(jnp.abs(x)), lambda x: np.sqrt(np.abs(x)), [0.01, -0.3], 0.5),
        (lambda x: jnp.abs(x) ** 1.5, lambda x: np.abs(x) ** 1.5, [7e-4, -7e-4], 1e-3),
    ],
    ids=["jump_up", "jump_down", "hinge", "sqrt_cusp", "cusp"],
)
def test_a_turn_of_f_prime_at_a_jump_or_kink_is_converged(x64_or_not, f, np_f, ends, tol):
    for end in ends:
        coarse, fine, where = _lowest_on_grids(np_f, end - tol, end + tol)
        assert abs(fine - coarse) < 0.03 and abs(where - end) < tol  # a minimum within tol
    conv = convergence(f, ends, [0.0], 10, tol=tol)
    assert conv.converged.all()


def _flat_reference(np_df, x0, rate, epochs, tol):
    """Whether a float64 run of plain NumPy descent ends settled within ``tol`` of the flat
    minimum [-1, 1] of max(|x| - 1, 0)**2: its last step under tol, and there."""
    x = prev = np.float64(x0)
    for _ in range(epochs):
        prev, x = x, x - rate * np_df(x)
    return abs(x - prev) < tol and max(abs(x) - 1.0, 0.0) <= tol


def test_settling_on_a_flat_minimum_is_converged(x64):
    # f' = f'' = 0 all along [-1, 1], where f is lowest: there is no Newton distance, and the
    # sign change of f' lies at the stretch's ends, far beyond 4 tol. Every run settled there
    # (and basins said so) while convergence counted none of them as converged.
    def f(x):
        return jnp.maximum(jnp.abs(x) - 1.0, 0.0) ** 2

    def np_df(x):
        return 2.0 * np.sign(x) * max(abs(x) - 1.0, 0.0)

    starts, rates, epochs, tol = np.linspace(-3.0, 3.0, 13), [1e-4, 0.01, 0.1], 500, 1e-3
    conv = convergence(f, starts, rates, epochs, tol=tol)
    expected = [[_flat_reference(np_df, s, r, epochs, tol) for r in rates] for s in starts]
    np.testing.assert_array_equal(conv.converged, expected)
    assert np.asarray(expected).any() and not np.asarray(expected).all()


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("f", "starts"),
    [
        # Flat below 0, so f never rises out of that side: not a minimum, crawled to or not.
        (lambda x: jnp.where(x > 0, x**3, 0.0), [0.5, -2.0]),
        # A shelf on [0, 1]: f falls beyond 1.
        (lambda x: jnp.where(x < 0, x**2, 0.0) - jnp.where(x > 1, (x - 1) ** 2, 0.0), [0.5]),
        # f' underflows to 0 at 40, far from the minimum at 0: f' never turns beyond it.
        (lambda x: -jnp.exp(-(x**2)), [40.0, -40.0]),
    ],
    ids=["flat_left_of_a_cube", "shelf", "underflowing_tail"],
)
def test_stopping_on_a_flat_stretch_that_is_no_minimum_is_not_converged(x64, f, starts):
    conv = convergence(f, starts, 0.1, 3000)
    assert (np.asarray(conv.last_step) < 1e-3).all() and not np.asarray(conv.diverged).any()
    assert not np.asarray(conv.converged).any()


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("f", "starts"),
    [
        # f' = 0 on every step of the staircase, and the walls past |x| = 5 slope the right
        # way: a run resting on a step (f = 3 at 3.5) has f lower one step to the left.
        (lambda x: jnp.floor(x) + jnp.maximum(jnp.abs(x) - 5.0, 0.0) ** 2, [3.5, 0.5, -4.5]),
        # f = 0 on |x| < 1 and -1 beyond it, rising only past 3: f drops before it rises.
        (
            lambda x: (
                jnp.where(jnp.abs(x) < 1.0, 0.0, -1.0) + jnp.maximum(jnp.abs(x) - 3.0, 0.0) ** 2
            ),
            [0.0, 0.9],
        ),
        # f' > 0 right where f jumps down to -1 beside the stretch |x| < 1.
        (lambda x: jnp.where(jnp.abs(x) < 1.0, 0.0, jnp.abs(x) - 2.0), [0.0]),
    ],
    ids=["staircase", "drop_then_walls", "jump_down"],
)
def test_resting_on_a_step_that_f_falls_from_is_not_converged(x64_or_not, f, starts):
    # Reference: f' = 0 where each run starts, so it never moves; and f, sampled densely,
    # is lower than there within 6 of it.
    xs = np.linspace(-6.0, 6.0, 12001)
    lowest = np.asarray(jax.vmap(f)(jnp.asarray(xs)))
    for s in starts:
        assert float(jax.grad(f)(jnp.asarray(s))) == 0.0
        assert lowest.min() < float(f(jnp.asarray(s))) - 0.5
    conv = convergence(f, starts, 0.1, 100)
    np.testing.assert_array_equal(
        np.asarray(conv.final).ravel(), np.asarray(starts, conv.final.dtype)
    )
    assert not np.asarray(conv.converged).any()


def _plateau(x):
    return x**2 / (1.0 + x**2)


def test_a_float32_plateau_whose_f_prime_is_rounding_is_not_converged():
    # Far out on x**2 / (1 + x**2), f is 1 to the last float32 bit and jax.grad's f' is the
    # difference of two terms of about 2 / x whose rounding is 50 times the true 2 / x**3:
    # its sign flips from point to point, and the run at 3e4 counted as converged at a
    # "minimum" (with a warning to coarsen tol). f rises nowhere there: no minimum.
    starts = np.array([3e3, 1e4, 3e4, 1e5, -3e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        conv = convergence(_plateau, starts, [0.05, 1.0, 100.0], 200, tol=1e-3)
    assert conv.final.dtype == np.float32
    assert not np.asarray(conv.converged).any(), conv.converged
    # The minimum at 0 of the same function still counts, as do runs near it.
    near = convergence(_plateau, [-0.5, 0.3, 0.0], [0.3], 300, tol=1e-3)
    assert np.asarray(near.converged).all()


@pytest.mark.parametrize("scale", [1e-7, 1e-12, 1e7])
def test_a_minimum_of_a_small_or_large_f_is_converged(x64_or_not, scale):
    # f rises out of its minimum by scale in all: the check that f climbs out of a minimum
    # must count a rise past f's rounding at its own level, not at 1 (which f = 1e-7 x**2 /
    # (1 + x**2) never passes). The rates make every run the same as for scale 1.
    def f(x):
        return scale * _plateau(x)

    conv = convergence(f, [0.5, -2.0], [0.5 / scale, 0.1 / scale], 2000, tol=1e-4)
    assert np.asarray(conv.converged).all(), conv.converged
    np.testing.assert_allclose(np.asarray(conv.final), 0.0, atol=1e-4)


@pytest.mark.parametrize("fast_math", [False, True], ids=["xla_math", "fast_math"])
def test_a_minimum_of_f_far_above_its_variation_is_converged(x64_or_not, fast_math):
    # 1e6 - cos(x) in float32 (1e15 in float64) climbs 16 to 32 floats out of its minimum at
    # 0, where the runs end; f's rise must be seen past its rounding at some probe.
    offset = 1e15 if x64_or_not else 1e6
    starts, rates = [-1.0, 0.5, 2.0], [0.1, 0.5, 1.0]
    conv = convergence(
        lambda x: offset - jnp.cos(x), starts, rates, 2000, tol=1e-3, fast_math=fast_math
    )
    np.testing.assert_allclose(np.asarray(conv.final), 0.0, atol=1e-6)
    assert np.asarray(conv.converged).all(), conv.converged
    # Level to its rounding, f does not rise at all: 1e8 - cos(x) is 1e8 in float32.
    level = convergence(lambda x: 1e8 - jnp.cos(x), starts, rates, 2000, fast_math=fast_math)
    assert (np.asarray(level.converged) == x64_or_not).all(), level.converged


def test_oscillation_is_not_converged(x64):
    # Rate 0.5 on 2 (x - 1)^2 flips x - 1 in sign each step: it never settles.
    quad = CASES[1].f
    conv = convergence(quad, [0.0], [0.5, 0.1], 200, tol=1e-6)
    assert not conv.converged[0, 0] and not conv.diverged[0, 0]
    assert conv.converged[0, 1]


def test_no_recompile_for_new_values(compiles):
    f = CASES[0].f
    convergence(f, [0.0, 1.0], [0.1], 50)
    with compiles:
        convergence(f, [2.0, -1.0], [0.3], 500, tol=1e-2)
    assert compiles.count == 0, compiles.names


def test_pytree_leaves_jit():
    f = CASES[0].f
    conv = jax.jit(lambda s: convergence(f, s, 0.1, 100))(np.array([0.0, 1.0]))
    assert conv.function == "tests.helpers:_nb" and conv.epoch.shape == (2, 1)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"epochs": [10, 20]}, "epochs must be one whole number"),
        ({"epochs": -1}, "epochs must be >= 0"),
        ({"tol": 0.0}, "tol must be a positive"),
        ({"tol": [1e-3, 1e-4]}, "tol must be a positive"),
        ({"tol": 1e-50}, r"tol 1e-50 is 0 in float32, so no run could count as converged"),
        ({"starts": []}, "starts is empty"),
    ],
)
def test_bad_input(kw, match):
    args = {"starts": [0.0], "learning_rates": [0.1], "epochs": 10} | kw
    with pytest.raises(ValueError, match=match):
        convergence(CASES[0].f, **args)


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"tol": "abc"}, TypeError, r"tol must be a positive real number .*got str 'abc'"),
        ({"tol": None}, TypeError, "tol must be a positive real number"),
        ({"tol": 1j}, TypeError, "tol must be a positive real number"),
        ({"epochs": [[1], [1, 2]]}, ValueError, r"^epochs must be one number; .* e.g. epochs=1000"),
        ({"tol": [[1e-3], [1, 2]]}, ValueError, r"^tol must be one number; .* e.g. tol=1e-3\.$"),
    ],
)
def test_unreadable_input_is_named(kw, error, match, compiles):
    # float(tol) and np.ndim(epochs) once raised their own errors, naming neither.
    args = {"starts": [0.0], "learning_rates": [0.1], "epochs": 10} | kw
    with compiles, pytest.raises(error, match=match):
        convergence(CASES[0].f, **args)
    assert compiles.count == 0


def _himmelblau(p):
    return (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2


@pytest.mark.parametrize(
    ("f", "starts", "match"),
    [
        # f failed on a scalar x: "f raised IndexError", as if f were wrong.
        (_himmelblau, np.ones((3, 2)), r"^f is a function of points of R\^2 \(starts of shape"),
        (_himmelblau, [1.0, 1.0], r"^f is a function of points of R\^2 \(starts of shape \(2,\)"),
        # f works on scalars too: the starts' shape is what is wrong.
        (lambda p: jnp.sum(p**2), np.ones((3, 2)), r"^starts must be a scalar or a 1-D array"),
    ],
)
def test_points_of_r_d_are_refused_naming_sweep(f, starts, match, compiles):
    with compiles, pytest.raises(ValueError, match=match) as info:
        convergence(f, starts, 0.01, 10)
    assert "jaxgd.sweep(f, starts, learning_rates, epochs)" in str(info.value)
    assert compiles.count == 0
    # A function of a scalar that fails is still reported as f's own problem.
    with pytest.raises(TypeError, match=r"^f raised IndexError"):
        convergence(lambda x: x[5], np.ones((3, 2)), 0.01, 10)


def test_convergence_results_compare_and_hash_by_identity_like_the_other_results():
    # A dataclass's field-wise == compared arrays and raised ("truth value ... ambiguous").
    a = jaxgd.convergence(lambda x: x**2, [-1.0, 1.0], [0.1, 0.2], 50)
    b = jaxgd.convergence(lambda x: x**2, [-1.0, 1.0], [0.1, 0.2], 50)
    assert a == a and a != b and a not in [b] and a in [a]
    assert len({a, b, a}) == 2


@pytest.mark.parametrize("fast", [None, True, False])
def test_convergence_says_which_math_ran_as_a_sweep_does(fast):
    args = (jnp.sin, [-1.0, 1.0], [0.1, 0.2], 50)
    conv = jaxgd.convergence(*args, fast_math=fast)
    assert conv.math == jaxgd.sweep(*args, fast_math=fast).math
    assert conv.math == ("xla" if fast is False else "fast")  # a CPU runs fast math by default
    # Static metadata: it survives tree maps and jit.
    assert jax.tree.map(lambda a: a, conv).math == conv.math
    assert jax.jit(lambda c: c)(conv).math == conv.math


def test_traced_float_epochs_are_refused():
    def f(x):
        return x**4 - 3 * x**2 + x

    with pytest.raises(TypeError, match=r"epochs is a traced float32 array"):
        jax.jit(lambda e: convergence(f, 0.3, 0.01, e).epoch)(7.0)
    assert jax.jit(lambda e: convergence(f, 0.3, 0.01, e).epoch)(7).shape == (1, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        # Each message asked for a list, which convergence then refused: one value is needed.
        ({"epochs": "100"}, TypeError, r"^epochs must be a whole number, e.g. epochs=10;"),
        ({"tol": __import__("decimal").Decimal("0.001")}, TypeError, r"^tol must be a number,"),
        ({"tol": float("inf")}, ValueError, r"^tol must be finite; got inf\."),
        ({"tol": 2**1024}, ValueError, r"^tol is too large for any float"),  # was OverflowError
    ],
)
def test_scalar_arguments_are_named_as_one_value(kwargs, error, match):
    args = {"epochs": 10, **kwargs}
    with pytest.raises(error, match=match):
        convergence(lambda x: x**2, 0.3, 0.01, **args)


@pytest.mark.thorough
def test_a_tol_finer_than_the_floats_where_runs_stalled_is_warned_of():
    # Every run stalls 4 floats of float32 from -1.42887 (a step under half a float): at
    # tol=1e-7 none can count as converged, and nothing said why.
    from jaxgd.functions import notebook

    starts = np.linspace(-3.0, 0.0, 7)
    with pytest.warns(UserWarning, match=r"^tol=1e-07 is finer than float32 resolves where 7 "):
        fine = convergence(notebook, starts, [0.1], 2000, tol=1e-7)
    assert not fine.converged.any() and (fine.last_step == 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert convergence(notebook, starts, [0.1], 2000, tol=1e-5).converged.all()
        with jax.enable_x64(True):
            assert convergence(notebook, starts, [0.1], 2000, tol=1e-7).converged.all()


@pytest.mark.thorough
def test_runs_stalled_on_a_gentle_slope_far_from_a_minimum_are_not_warned_of():
    # log(1 + x**2) at 1e6 has slope 2e-6: a step of 2e-7 is under half a float there, so
    # the run stops, far from the minimum at 0. The warning told to pass a tol of 0.25,
    # which would not make it converged: no minimum lies within a few floats.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        conv = convergence(lambda x: jnp.log1p(x**2), [1e6, 1e30], 0.1, 100, tol=1e-3)
    assert (conv.last_step == 0).all() and not conv.converged.any()
    # ... while the notebook's runs that stall floats short of its minimum still are.
    from jaxgd.functions import notebook

    with pytest.warns(UserWarning, match=r"^tol=1e-07 is finer than float32 resolves where 2 "):
        convergence(notebook, [1e6, 0.0, -3.0], [0.1], 2000, tol=1e-7)
