"""A library of 2-D test functions: the surfaces every optimiser picture is drawn on.

Each function is plain ``jax.numpy``: it takes a point ``p`` of shape ``(2,)`` (integers are
computed in the default float) and returns a scalar, so it works under ``jax.grad`` (which
gives the gradient, shape ``(2,)``), ``jax.hessian``, ``jax.jit`` and ``jax.vmap``, and is
what a d-dimensional sweep takes (``starts`` of shape ``(S, 2)``). Its docstring gives the
formula, the domain of interest and every local minimum inside it (stationary points; a
box-constrained minimum on its edge, such as Beale's at x = -4.5, is not listed: descent is
not constrained to the box and runs past it): in closed form where one exists, otherwise from
Newton's method in float64, to 1e-9 or better (the digits listed are those stored in
:class:`Function2D`).

The registry maps each name to a :class:`Function2D` carrying the function with its domain,
its minima and a default start, so experiments can select one by name:

>>> import jaxgd.functions2d as fns2
>>> fns2.names()
['peaks', 'rosenbrock', 'himmelblau', 'rastrigin', 'beale', 'saddle']
>>> spec = fns2.get("himmelblau")
>>> spec.domain
((-5.0, 5.0), (-5.0, 5.0))
>>> len(spec.minima), spec.minima[0]
(4, (3.0, 2.0))
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd import functions

__all__ = [
    "FUNCTIONS",
    "Function2D",
    "beale",
    "get",
    "himmelblau",
    "names",
    "peaks",
    "rastrigin",
    "rosenbrock",
    "saddle",
]


def _xy(p: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array]:
    """``x`` and ``y`` of a point ``(x, y)`` (or of stacked grids, shape ``(2, ...)``); a
    point of another dimension is refused: these functions live on R^2, and ``p[0], p[1]``
    of a point of R^3 would ignore its third coordinate."""
    p = functions._floats(p)
    if p.ndim == 0 or p.shape[0] != 2:
        raise ValueError(
            f"this function takes a point (x, y) of shape (2,); got shape {tuple(p.shape)}. "
            "Pass points of R^2, e.g. starts of shape (S, 2)."
        )
    return p[0], p[1]


def _in_domain(point: Any, domain: Any) -> bool:
    """Whether ``point`` ``(x, y)`` lies on the rectangle ``domain``, its edges included."""
    (x0, x1), (y0, y1) = domain
    x, y = (float(v) for v in point)
    return x0 <= x <= x1 and y0 <= y <= y1


def peaks(p: jax.typing.ArrayLike) -> jax.Array:
    """The course's 2-D surface, MATLAB's ``peaks``.

    ``f(x, y) = 3 (1 - x)^2 exp(-x^2 - (y + 1)^2) - 10 (x/5 - x^3 - y^5) exp(-x^2 - y^2)
    - exp(-(x + 1)^2 - y^2) / 3``

    Domain of interest: ``[-3, 3] x [-3, 3]``. Three peaks and three pits of different depth:
    where descent ends depends on where it starts.

    Minima on the domain (Newton in float64; no closed form):
        (0.228278920556369, -1.625534957499996), f = -6.551133332835835  (global)
        (-1.347396244368211, 0.204518866097005), f = -3.049849402800260
        (0.296445553846832, 0.320196247666834), f = -0.064935868255527

    Args:
        p: A point ``(x, y)``, shape ``(2,)``.

    Returns:
        ``f(x, y)``, a scalar.

    >>> round(float(peaks(jnp.array([0.0, 0.0]))), 6)
    0.981012
    """
    x, y = _xy(p)
    return (
        3.0 * (1.0 - x) ** 2 * jnp.exp(-(x**2) - (y + 1.0) ** 2)
        - 10.0 * (x / 5.0 - x**3 - y**5) * jnp.exp(-(x**2) - y**2)
        - jnp.exp(-((x + 1.0) ** 2) - y**2) / 3.0
    )


def rosenbrock(p: jax.typing.ArrayLike) -> jax.Array:
    """Rosenbrock's banana valley: ``f(x, y) = (1 - x)^2 + 100 (y - x^2)^2``.

    Domain of interest: ``[-2, 2] x [-1, 3]``. Descent falls into the curved valley
    ``y = x^2`` at once, then crawls along its flat floor: the Hessian at the minimum has
    eigenvalues about 0.4 and 1002, so a rate stable across the valley is tiny along it.

    Minima on the domain:
        (1, 1), f = 0  (global; closed form)

    Args:
        p: A point ``(x, y)``, shape ``(2,)``.

    Returns:
        ``f(x, y)``, a scalar.

    >>> float(rosenbrock(jnp.array([1.0, 1.0])))
    0.0
    """
    x, y = _xy(p)
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def himmelblau(p: jax.typing.ArrayLike) -> jax.Array:
    """Himmelblau's function: ``f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2``.

    Domain of interest: ``[-5, 5] x [-5, 5]``. Four minima, all with ``f = 0``, each in its own
    basin, split by ridges through a local maximum near ``(-0.27, -0.92)`` and four saddles.

    Minima on the domain (all global, ``f = 0``; ``(3, 2)`` in closed form, the other three
    roots from Newton in float64):
        (3, 2)
        (-2.805118086952745, 3.131312518250573)
        (-3.779310253377747, -3.283185991286170)
        (3.584428340330492, -1.848126526964404)

    Args:
        p: A point ``(x, y)``, shape ``(2,)``.

    Returns:
        ``f(x, y)``, a scalar.

    >>> float(himmelblau(jnp.array([3.0, 2.0])))
    0.0
    """
    x, y = _xy(p)
    return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2


#: Minima of the 1-D Rastrigin function ``10 + x^2 - 10 cos(2 pi x)`` on ``[-5.12, 5.12]``
#: (Newton in float64), whose products are the minima of the 2-D one.
_RASTRIGIN_1D = (
    -4.974691390895051,
    -3.979783860300754,
    -2.984855701039481,
    -1.989912233708550,
    -0.994958637652335,
    0.0,
    0.994958637652335,
    1.989912233708550,
    2.984855701039481,
    3.979783860300754,
    4.974691390895051,
)


def rastrigin(p: jax.typing.ArrayLike) -> jax.Array:
    """The 2-D Rastrigin function: ``f(x, y) = 20 + x^2 + y^2 - 10 (cos 2πx + cos 2πy)``.

    Domain of interest: ``[-5.12, 5.12] x [-5.12, 5.12]``. An egg box of 121 wells, deeper
    towards the origin: small rates stop in the nearest well, larger ones hop between wells.
    The function is a sum of two 1-D Rastrigin functions, so its minima are the 11 x 11
    pairs ``(a, b)`` of the 1-D minima, ``f(a, b) = f1(a) + f1(b)``.

    Minima on the domain: every pair of (Newton in float64)
        0 (global at (0, 0)), ±0.994958637652335, ±1.989912233708550,
        ±2.984855701039481, ±3.979783860300754, ±4.974691390895051

    Args:
        p: A point ``(x, y)``, shape ``(2,)``.

    Returns:
        ``f(x, y)``, a scalar.

    >>> float(rastrigin(jnp.array([0.0, 0.0])))
    0.0
    """
    x, y = _xy(p)
    two_pi = 2.0 * math.pi
    return 20.0 + x**2 + y**2 - 10.0 * (jnp.cos(two_pi * x) + jnp.cos(two_pi * y))


def beale(p: jax.typing.ArrayLike) -> jax.Array:
    """Beale's function.

    ``f(x, y) = (1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2``

    Domain of interest: ``[-4.5, 4.5] x [-4.5, 4.5]``. One minimum in a narrow curved valley,
    walls that grow like ``y^6`` (large rates diverge from the corners), f constant
    (14.203125) along the whole line ``x = 0``, and on it a saddle at ``(0, 1)`` (Hessian
    eigenvalues +-27.75).

    Minima on the domain:
        (3, 0.5), f = 0  (global; closed form)

    Args:
        p: A point ``(x, y)``, shape ``(2,)``.

    Returns:
        ``f(x, y)``, a scalar.

    >>> float(beale(jnp.array([3.0, 0.5])))
    0.0
    """
    x, y = _xy(p)
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def saddle(p: jax.typing.ArrayLike) -> jax.Array:
    """A saddle between two minima: ``f(x, y) = x^2 + y^4 / 4 - y^2 / 2``.

    Domain of interest: ``[-2, 2] x [-2, 2]``. The origin is a saddle (``f_yy = -1`` there):
    descent started on the line ``y = 0`` runs into it and stays, and from just beside that
    line it slows down near the origin before it falls to one side.

    Minima on the domain:
        (0, 1), f = -0.25  (global; closed form)
        (0, -1), f = -0.25  (global; closed form)

    Args:
        p: A point ``(x, y)``, shape ``(2,)``.

    Returns:
        ``f(x, y)``, a scalar.

    >>> jax.grad(saddle)(jnp.array([0.0, 0.0])).tolist()
    [0.0, 0.0]
    """
    x, y = _xy(p)
    return x**2 + 0.25 * y**4 - 0.5 * y**2


Domain2D = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Function2D:
    """A 2-D test function with its domain, its known minima and a default start.

    Attributes:
        name: The registry key, a short snake_case name.
        f: The ``jax.numpy`` function, ``(2,)`` array to scalar.
        domain: ``((x_lo, x_hi), (y_lo, y_hi))``, the rectangle of interest.
        description: One line saying what the function shows.
        minima: Every local minimum inside the domain (stationary, not on its edge), as
            ``(x, y)`` pairs; empty for a user's function whose minima are unknown.
        start: Where a single run starts by default, ``(x, y)``; ``None``: the domain's
            centre.

    The fields are checked and the numbers kept as tuples of Python floats when the spec is
    made: a name or description that is not a string, an ``f`` that is not callable, a range
    that is not two finite numbers in order, a minimum or start that is not a finite point
    ``(x, y)``, or a minimum outside the domain, raises ``TypeError`` or ``ValueError``
    naming the spec and the field. (The start may lie outside the domain: the experiments'
    ``--domain`` can widen it.)

    Example:
        >>> bowl = Function2D("bowl", lambda p: (p**2).sum(), ((-1.0, 1.0), (-2.0, 2.0)), "")
        >>> bowl.default_start, bowl.bounds.tolist()
        ((0.0, 0.0), [[-1.0, 1.0], [-2.0, 2.0]])
        >>> get("saddle").minima_array.shape
        (2, 2)
    """

    name: str
    f: Callable[[jax.typing.ArrayLike], jax.Array]
    domain: Domain2D
    description: str
    minima: tuple[tuple[float, float], ...] = ()
    start: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        # Grids, bounds and basin maps are built from these: a reversed or infinite range,
        # or a minimum that is no point, would fail deep inside them.
        owner = f"Function2D {self.name!r}"
        functions._check_fields(owner, self.name, self.f, self.description)
        try:
            xs, ys = self.domain
        except (TypeError, ValueError):
            raise TypeError(
                f"{owner}: domain must be ((x_lo, x_hi), (y_lo, y_hi)), e.g. ((-2.0, 2.0), "
                f"(-1.0, 3.0)); got {self.domain!r:.80}."
            ) from None
        domain = (
            functions._interval(owner, "domain's x range", xs),
            functions._interval(owner, "domain's y range", ys),
        )
        object.__setattr__(self, "domain", domain)
        try:
            # Text iterates into characters, each then refused as "a real number".
            if isinstance(self.minima, str | bytes):
                raise TypeError
            given = iter(self.minima)
        except TypeError:  # None, a number: nothing to iterate
            raise TypeError(
                f"{owner}: minima must be a list of points (x, y), e.g. ((0.0, 1.0),), or () "
                f"when they are unknown; got {self.minima!r:.60}."
            ) from None
        minima = tuple(self._point(m, "minima") for m in given)
        (x0, x1), (y0, y1) = domain
        for x, y in minima:
            # Summaries match runs against this list: a point off the rectangle (x and y
            # swapped, a slip of sign) names a minimum no run on the domain can reach.
            if not _in_domain((x, y), domain):
                raise ValueError(
                    f"{owner}: the minimum ({x:g}, {y:g}) lies outside its domain "
                    f"[{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]; list only minima inside the "
                    "domain, or widen the domain to hold it."
                )
        object.__setattr__(self, "minima", minima)
        if self.start is not None:
            object.__setattr__(self, "start", self._point(self.start, "start"))

    def _point(self, value: object, what: str) -> tuple[float, float]:
        owner = f"Function2D {self.name!r}"
        try:
            x, y = value  # type: ignore[misc]
        except (TypeError, ValueError):
            kind = "a list of points (x, y)" if what == "minima" else "a point (x, y)"
            raise TypeError(f"{owner}: {what} must be {kind}; got {value!r:.60}.") from None
        return functions._number(owner, what, x), functions._number(owner, what, y)

    @property
    def default_start(self) -> tuple[float, float]:
        """``start``, or the centre of the domain."""
        if self.start is not None:
            return (float(self.start[0]), float(self.start[1]))
        (x0, x1), (y0, y1) = self.domain
        return (0.5 * (x0 + x1), 0.5 * (y0 + y1))

    @property
    def bounds(self) -> np.ndarray:
        """The domain as a float64 array of shape ``(2, 2)``: one ``(lo, hi)`` row per axis."""
        return np.asarray(self.domain, np.float64)

    @property
    def minima_array(self) -> np.ndarray:
        """The known minima as a float64 array of shape ``(K, 2)``."""
        return np.asarray(self.minima, np.float64).reshape(-1, 2)


# Default starts are on a slope that shows each function's behaviour: between pits on peaks,
# the classic (-1.2, 1) on Rosenbrock, near the central maximum on Himmelblau, between wells on
# Rastrigin, high on Beale's wall above its valley, and just beside the saddle's stable line.
FUNCTIONS: dict[str, Function2D] = {
    spec.name: spec
    for spec in (
        Function2D(
            "peaks",
            peaks,
            ((-3.0, 3.0), (-3.0, 3.0)),
            "MATLAB's peaks, the course's 2-D surface: three pits of different depth",
            (
                (0.228278920556369, -1.625534957499996),
                (-1.347396244368211, 0.204518866097005),
                (0.296445553846832, 0.320196247666834),
            ),
            start=(-0.5, 1.5),
        ),
        Function2D(
            "rosenbrock",
            rosenbrock,
            ((-2.0, 2.0), (-1.0, 3.0)),
            "(1-x)² + 100(y-x²)²: a curved valley with a flat floor",
            ((1.0, 1.0),),
            start=(-1.2, 1.0),
        ),
        Function2D(
            "himmelblau",
            himmelblau,
            ((-5.0, 5.0), (-5.0, 5.0)),
            "(x²+y-11)² + (x+y²-7)²: four minima of equal depth, four basins",
            (
                (3.0, 2.0),
                (-2.805118086952745, 3.131312518250573),
                (-3.779310253377747, -3.283185991286170),
                (3.584428340330492, -1.848126526964404),
            ),
            start=(0.0, 0.0),
        ),
        Function2D(
            "rastrigin",
            rastrigin,
            ((-5.12, 5.12), (-5.12, 5.12)),
            "20 + x² + y² - 10(cos 2πx + cos 2πy): 121 wells, deeper towards 0",
            tuple(itertools.product(_RASTRIGIN_1D, _RASTRIGIN_1D)),
            start=(2.3, -1.7),
        ),
        Function2D(
            "beale",
            beale,
            ((-4.5, 4.5), (-4.5, 4.5)),
            "Beale: one minimum in a narrow valley, steep walls, a flat stationary point",
            ((3.0, 0.5),),
            start=(1.0, 1.5),
        ),
        Function2D(
            "saddle",
            saddle,
            ((-2.0, 2.0), (-2.0, 2.0)),
            "x² + y⁴/4 - y²/2: a saddle at 0 between minima at (0, ±1)",
            ((0.0, 1.0), (0.0, -1.0)),
            start=(1.5, 0.05),
        ),
    )
}


def names() -> list[str]:
    """The registered 2-D function names, in registry order.

    >>> "rosenbrock" in names()
    True
    """
    return list(FUNCTIONS)


def get(name: str) -> Function2D:
    """Look up a 2-D test function by name.

    Args:
        name: A key of :data:`FUNCTIONS`.

    Returns:
        The :class:`Function2D` registered under ``name``.

    Raises:
        TypeError: If ``name`` is not a string.
        ValueError: If no function is registered under ``name``; the message lists the
            available names.

    >>> get("rosenbrock").minima
    ((1.0, 1.0),)
    """
    return functions._lookup(
        FUNCTIONS,
        name,
        kind="2-D test function",
        example="himmelblau",
        elsewhere=("jaxgd.functions", "a function of one variable"),
    )
