"""Functions as a user would write them in their own module, for ``--function module:attr``.

Only ``f`` is written; no derivative anywhere. Some are wrong on purpose, to check that the
experiments reject them with one clear line.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxgd.functions import Function1D


def wavy(x):
    """cos(3x) + 0.1x²: several wells, the two inner ones deepest."""
    return jnp.cos(3.0 * x) + 0.1 * x**2


# An optional attribute the experiments read as the interval to study f on.
wavy.domain = (-3.0, 3.0)


def bowl(x):
    """(x - 1)²: one minimum at 1."""
    return (x - 1.0) ** 2


def shifted_bowl(x):
    return (x - 2.0) ** 2


shifted_bowl.domain = (1.0, 3.0)  # excludes 0, the usual start

SPEC = Function1D("tilted", lambda x: x**4 - 2.0 * x**2 + 0.5 * x, (-2.0, 2.0), "a tilted well")


def numpy_written(x):
    return np.sin(x) * np.exp(-0.05 * x**2)


def vector(x):
    return jnp.stack([x, 2.0 * x])


def raises(x):
    raise ZeroDivisionError("division by zero\nsecond line")


def bad_domain(x):
    return x**2


bad_domain.domain = (3.0, 1.0)


def huge_domain(x):
    """A bowl whose domain attribute is wider than float32 holds (hi - lo overflows)."""
    return (x - 1.0) ** 2


huge_domain.domain = (-3e38, 3e38)

NOT_CALLABLE = 42


# Where the experiments start wavy by default (0 is one of its maxima).
wavy.start = 0.4


def start_outside(x):
    return x**2


start_outside.domain = (-1.0, 1.0)
start_outside.start = 9.0


def with_while_loop(x):
    """Reverse-mode autodiff cannot go through a while_loop with a data-dependent end."""
    import jax

    return jax.lax.while_loop(lambda c: c[1] < 3, lambda c: (c[0] * 1.1, c[1] + 1), (x, 0))[0]


def with_callback(x):
    """A host callback has no derivative."""
    import jax

    return jax.pure_callback(lambda v: np.sin(v), jax.ShapeDtypeStruct((), x.dtype), x)


def nan_right(x):
    """A bowl at 1 that is NaN right of 2: runs that end there have a position but no value."""
    return jnp.where(x > 2.0, jnp.nan, (x - 1.0) ** 2)


nan_right.domain = (-1.0, 3.0)


def summed(x):
    """A bowl at 1 written with an array method, as jax.numpy code may be."""
    return ((x - 1.0) ** 2).sum()


def nan_corner(p):
    """A bowl at the origin of R^2 that is NaN where x > 3."""
    return jnp.where(p[0] > 3.0, jnp.nan, p[0] ** 2 + p[1] ** 2)


nan_corner.domain = ((-5.0, 5.0), (-5.0, 5.0))


def square(x):
    return x**2


def d_square_nan_at_0(x):
    """A hand-written derivative of ``square`` that is NaN at one point of the grid."""
    x = np.asarray(x, float)
    return np.where(x == 0, np.nan, 2 * x)


def quartic(x):
    """Two equally low minima, at -1 and 1."""
    return (x**2 - 1.0) ** 2


def overflowing(x):
    """Every run from 0.5 overflows at once: f' is about 1e38 there."""
    return 1e38 * x**2


def bowl_listed_wrong(p):
    """A bowl at (1, 0) whose minima attribute lists (3, 3)."""
    return (p[0] - 1.0) ** 2 + p[1] ** 2


bowl_listed_wrong.minima = [(3.0, 3.0)]


def himmelblau_listed(p):
    """Himmelblau's function with its four minima listed to six decimals."""
    return (p[0] ** 2 + p[1] - 11.0) ** 2 + (p[0] + p[1] ** 2 - 7.0) ** 2


himmelblau_listed.minima = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                            (3.584428, -1.848126)]  # fmt: skip


def flat_quartic_listed(p):
    """A degenerate minimum at the origin (f'' = 0 there), listed."""
    return p[0] ** 4 + p[1] ** 4


flat_quartic_listed.minima = [(0.0, 0.0)]


def saddle_listed(p):
    """A saddle at the origin listed as a minimum."""
    return p[0] ** 2 - p[1] ** 2 + 0.01 * p[1] ** 4


saddle_listed.minima = [(0.0, 0.0)]


def flat_bottom(x):
    """Lowest, 0, on all of [-1, 1]: f' is exactly 0 there, and descent stops anywhere on it."""
    return jnp.maximum(jnp.abs(x) - 1.0, 0.0) ** 2


def many_wells(x):
    """80 local minima on the notebook's domain: more than any palette has colours."""
    return jnp.sin(40 * x) + 0.01 * x**2


def cubic(x):
    """Unbounded below: its one local minimum, x = 1, is not the lowest value on a domain."""
    return x**3 - 3 * x


def tilted_well_listed_partly(p):
    """Global minimum near (-1.036, 0), a local one near (0.960, 0); the list names only the
    local one."""
    return (p[0] ** 2 - 1) ** 2 + 0.3 * p[0] + p[1] ** 2


tilted_well_listed_partly.minima = [(0.9604, 0.0)]


def flat_derivative(x):
    """A wrong derivative of x**2, 0 on all of (-1, 1) (NumPy: for derivative_check)."""
    return 2.0 * np.trunc(x)


def bowl_2d_started(p):
    """A bowl on R^2 with its own start attribute."""
    return p[0] ** 2 + p[1] ** 2


bowl_2d_started.start = (2.0, -3.0)


def bowl_2d_nan_start(p):
    return p[0] ** 2 + p[1] ** 2


bowl_2d_nan_start.start = (float("nan"), 1.0)


def four_wells_listed_one(p):
    """Four equally deep minima on y = 0, at x = -2, -1, 1, 2; the list names one."""
    return (p[0] ** 2 - 1) ** 2 * (p[0] ** 2 - 4) ** 2 / 10 + p[1] ** 2


four_wells_listed_one.minima = [(2.0, 0.0)]
four_wells_listed_one.domain = ((-3.0, 3.0), (-2.0, 2.0))


class _DomainRaises:
    """x^2 whose domain attribute raises something other than AttributeError."""

    def __call__(self, x):
        return x**2

    @property
    def domain(self):
        raise RuntimeError("domain property explodes")


class _GetattrRaises:
    """x^2 whose every unknown attribute raises RuntimeError."""

    def __call__(self, x):
        return x**2

    def __getattr__(self, name):
        if name.startswith("__"):  # Python's own probes (doctest looks for __wrapped__)
            raise AttributeError(name)
        raise RuntimeError(f"no {name} here")


domain_raises = _DomainRaises()
getattr_raises = _GetattrRaises()


def kink_2d(p):
    """|x| + |y|: a minimum at a kink, which Newton's method cannot see."""
    return jnp.abs(p[0]) + jnp.abs(p[1])


def kink_2d_listed(p):
    """|x| + |y| with its minimum listed as ``minima``: refused, f' is not 0 there."""
    return jnp.abs(p[0]) + jnp.abs(p[1])


kink_2d_listed.minima = [(0.0, 0.0)]


def smooth_kink_2d(p):
    """sqrt(x^2 + 1e-6) + sqrt(y^2 + 1e-6): the smooth stand-in for |x| + |y| the summaries
    advise, whose minimum Newton's method finds."""
    return jnp.sqrt(p[0] ** 2 + 1e-6) + jnp.sqrt(p[1] ** 2 + 1e-6)


def valley_2d(p):
    """x^2: its minima fill the line x = 0, along which f does not rise."""
    return p[0] ** 2 + 0.0 * p[1]


def start_is_bool(x):
    """``start = True``: a slip, not the start 1."""
    return (x - 0.5) ** 2


start_is_bool.start = True


def domain_of_bools(x):
    return (x - 0.5) ** 2


domain_of_bools.domain = (np.False_, np.True_)


def bowl_2d_minima_bool(p):
    return p[0] ** 2 + p[1] ** 2


bowl_2d_minima_bool.minima = [(False, False)]


def kinked_bowl(x):
    """|x| + 0.1 x^2: f' jumps from -1 to +1 at its minimum, x = 0."""
    return jnp.abs(x) + 0.1 * x**2


def kinked_bowl_derivative(x):
    return np.sign(x) + 0.2 * x


def start_is_nan(x):
    """``start = nan``: no point of any domain."""
    return (x - 0.5) ** 2


start_is_nan.start = float("nan")


def slope(x):
    """A straight line, falling to the left without end: no minimum anywhere."""
    return x


slope.domain = (-2.0, 2.0)


def slope_derivative(x):
    return np.ones_like(np.asarray(x, float))


def slope_family(x, theta):
    """theta·x: no minimum for any theta."""
    return theta * x


slope_family.domain = (-2.0, 2.0)


def flat_family(x, theta):
    """Lowest, 0, on all of [-theta, theta] (theta > 0)."""
    return jnp.maximum(jnp.abs(x) - theta, 0.0) ** 2


flat_family.domain = (-3.0, 3.0)


def log_well(x):
    """A minimum near 1.975 and a pole of f' at 0, where f is -inf (NaN below)."""
    return (x - 2.0) ** 2 + 0.1 * jnp.log(x)


def bowl_2d_minimum_outside(p):
    """A bowl at (7, 0), outside the default domain [-5, 5]^2 it has no domain attribute for."""
    return (p[0] - 7.0) ** 2 + p[1] ** 2


bowl_2d_minimum_outside.minima = [(7.0, 0.0)]


def nan_everywhere_2d(p):
    """NaN at every point of R^2."""
    return jnp.nan * (p**2).sum()


def wide_bowl(x):
    """(x - 0.3)²: on its domain it overflows float32 at all but the grid point 0."""
    return (x - 0.3) ** 2


wide_bowl.domain = (-1e25, 1e25)
