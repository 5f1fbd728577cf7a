"""A small library of 1-D test functions for gradient-descent experiments.

Each function is plain ``jax.numpy``: it takes a scalar and returns a scalar, so it works
under ``jax.grad``, ``jax.jit`` and ``jax.vmap`` (an integer array is computed in the default
float, not in integers that would wrap around). Each was chosen to show one behaviour of
gradient descent; its docstring gives the formula, the domain of interest and every local
minimum on that domain (``x`` and ``f(x)`` to six decimals, boundary minima included).

The registry ``FUNCTIONS`` maps each name to a :class:`Function1D` that carries the
function with its domain, so experiments can select one by name:

>>> import jaxgd.functions as fns
>>> fns.names()
['notebook', 'double_well', 'rastrigin', 'plateau', 'steep_wall', 'saddle']
>>> spec = fns.get("double_well")
>>> spec.domain
(-2.0, 2.0)
>>> round(float(spec.f(0.0)), 6)
0.0
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "FUNCTIONS",
    "Function1D",
    "double_well",
    "get",
    "names",
    "notebook",
    "plateau",
    "rastrigin",
    "saddle",
    "steep_wall",
]


def _floats(x: Any) -> Any:
    """``x``, or ``x`` in the default float when it is an array of integers or booleans.

    JAX and NumPy raise integer arrays to powers in integers, which wrap around silently
    (``300**4`` in int32 is negative); Python numbers and floating arrays are left as given.
    """
    dtype = getattr(x, "dtype", None)
    if dtype is None or jnp.issubdtype(dtype, jnp.inexact):
        return x
    return jnp.asarray(x, dtype=float)


def notebook(x: jax.typing.ArrayLike) -> jax.Array:
    """The course notebook's function: ``f(x) = sin(x) * exp(-0.05 x^2)``.

    Domain of interest: ``[-2π, 2π]``. Two interior basins of different depth; the
    Gaussian envelope makes the right one shallower. ``f' = exp(-0.05 x^2) (cos x -
    0.1 x sin x)``.

    Minima on the domain:
        x = -6.283185, f = 0.000000  (left end: f' > 0 there)
        x = -1.428870, f = -0.893875  (global)
        x = 4.305801, f = -0.363478

    Args:
        x: A scalar.

    Returns:
        ``f(x)``, a scalar.

    >>> round(float(notebook(-1.42887)), 6)
    -0.893875
    """
    x = _floats(x)
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


def double_well(x: jax.typing.ArrayLike) -> jax.Array:
    """A tilted double well: ``f(x) = x^4 - 2 x^2 + 0.3 x``.

    Domain of interest: ``[-2, 2]``. Two basins split by a hump near ``x = 0.075``; the
    tilt makes the left one deeper, so where descent ends depends on the side it starts.
    The minima are roots of the cubic ``4 x^3 - 4 x + 0.3``.

    Minima on the domain:
        x = -1.035579, f = -1.305428  (global)
        x = 0.960150, f = -0.705854

    Args:
        x: A scalar.

    Returns:
        ``f(x)``, a scalar.

    >>> round(float(double_well(1.0)), 6)
    -0.7
    """
    x = _floats(x)
    return x**4 - 2.0 * x**2 + 0.3 * x


def rastrigin(x: jax.typing.ArrayLike) -> jax.Array:
    """The 1-D Rastrigin function: ``f(x) = 10 + x^2 - 10 cos(2π x)``.

    Domain of interest: ``[-5.12, 5.12]``. Eleven wells, one near each integer, deeper
    towards 0; small rates stop in the nearest well, larger ones hop between wells.
    ``f' = 2 x + 20π sin(2π x)``. The function is even, so the minima are symmetric.

    Minima on the domain:
        x = -4.974691, f = 24.873723
        x = -3.979784, f = 15.919244
        x = -2.984856, f = 8.954601
        x = -1.989912, f = 3.979831
        x = -0.994959, f = 0.994959
        x = 0.000000, f = 0.000000  (global)
        x = 0.994959, f = 0.994959
        x = 1.989912, f = 3.979831
        x = 2.984856, f = 8.954601
        x = 3.979784, f = 15.919244
        x = 4.974691, f = 24.873723

    Args:
        x: A scalar.

    Returns:
        ``f(x)``, a scalar.

    >>> round(float(rastrigin(0.0)), 6)
    0.0
    """
    x = _floats(x)
    return 10.0 + x**2 - 10.0 * jnp.cos(2.0 * math.pi * x)


def plateau(x: jax.typing.ArrayLike) -> jax.Array:
    """An inverted Gaussian: ``f(x) = 1 - exp(-x^2)``.

    Domain of interest: ``[-5, 5]``. One minimum, surrounded by a plateau where the
    gradient ``f' = 2 x exp(-x^2)`` vanishes (``~7e-4`` at ``|x| = 3``, ``~1e-10`` at
    ``|x| = 5``): descent started there barely moves in any practical number of epochs.

    Minima on the domain:
        x = 0.000000, f = 0.000000  (global)

    Args:
        x: A scalar.

    Returns:
        ``f(x)``, a scalar.

    >>> round(float(plateau(1.0)), 6)
    0.632121
    """
    x = _floats(x)
    return 1.0 - jnp.exp(-(x**2))


def steep_wall(x: jax.typing.ArrayLike) -> jax.Array:
    """A quadratic bowl with quartic walls: ``f(x) = x^4 / 4 + x^2 / 2``.

    Domain of interest: ``[-3, 3]``. One minimum with curvature ``f''(0) = 1``, so rates
    below 2 are stable near it, but the walls steepen fast (``f' = x^3 + x``): a step from
    ``x0`` overshoots to ``|x| > |x0|`` once ``rate * (1 + x0^2) > 2``, and from there the
    iterates grow without bound. Large rates diverge from far starts only.

    Minima on the domain:
        x = 0.000000, f = 0.000000  (global)

    Args:
        x: A scalar.

    Returns:
        ``f(x)``, a scalar.

    >>> round(float(steep_wall(2.0)), 6)
    6.0
    """
    x = _floats(x)
    return 0.25 * x**4 + 0.5 * x**2


def saddle(x: jax.typing.ArrayLike) -> jax.Array:
    """A quartic with an inflection saddle: ``f(x) = x^4 / 4 - x^3 / 3``.

    Domain of interest: ``[-1.5, 2]``. ``f' = x^2 (x - 1)`` and ``f'' = 3 x^2 - 2 x``, so
    ``x = 0`` has ``f' = f'' = 0`` but is no minimum: ``f'`` is negative on both sides.
    A step from ``x0 < 0`` lands at ``x0 (1 - rate |x0| (1 + |x0|))``: below a rate of
    ``1 / (|x0| (1 + |x0|))`` (0.5 from the default start -1) descent from the left creeps
    towards 0 ever more slowly and never crosses it; above it the first step jumps over 0
    towards the minimum at 1, which descent from the right of 0 reaches.

    Minima on the domain:
        x = 1.000000, f = -0.083333  (global; exactly -1/12)

    Args:
        x: A scalar.

    Returns:
        ``f(x)``, a scalar.

    >>> float(jax.grad(saddle)(0.0))
    0.0
    """
    x = _floats(x)
    return 0.25 * x**4 - x**3 / 3.0


def _number(owner: str, what: str, value: Any, *, finite: bool = True) -> float:
    """``value``, one real number, as a Python float; an error naming ``owner``'s ``what``."""
    if isinstance(value, bool | np.bool_ | str | bytes) or not _is_real(value):
        raise TypeError(f"{owner}: {what} must be a real number; got {value!r:.60}.")
    try:
        number = float(value)
    except OverflowError:  # a Python int past float64's range
        raise ValueError(
            f"{owner}: {what} is too large for any float ({value!r:.30}...); give a number "
            f"below {np.finfo(np.float64).max:.3g}."
        ) from None
    if finite and not math.isfinite(number):
        raise ValueError(f"{owner}: {what} must be finite; got {number}.")
    return number


def _is_real(value: Any) -> bool:
    """Whether ``value`` is one real number (a Python or NumPy number, a 0-d array)."""
    if np.ndim(value) != 0 or np.iscomplexobj(value):
        return False
    try:
        float(value)
    except OverflowError:  # a real number, too large: _number says so
        return True
    except (TypeError, ValueError):
        return False
    return True


def _check_fields(owner: str, name: Any, f: Any, description: Any) -> None:
    """Refuse a spec whose name or description is not text, or whose f cannot be called: it
    would be kept as given and fail far from here (when a sweep first calls f, or a summary
    prints the name)."""
    if not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a string, e.g. 'bowl'; got {type(name).__name__}.")
    if not callable(f):
        raise TypeError(
            f"{owner}: f must be a callable written with jax.numpy; got "
            f"{type(f).__name__} {f!r:.40}. Pass the function itself, e.g. `lambda x: x**2`."
        )
    if not isinstance(description, str):
        raise TypeError(
            f"{owner}: description must be a string (one line, may be empty); got "
            f"{type(description).__name__}."
        )


def _interval(owner: str, what: str, value: Any) -> tuple[float, float]:
    """``value`` as ``(lo, hi)``: two finite floats with ``lo < hi``."""
    try:
        ends = tuple(value)
        if len(ends) != 2:
            raise TypeError
    except TypeError:  # not iterable, not two items
        raise TypeError(
            f"{owner}: {what} must be a pair (lo, hi) of numbers, e.g. (-2.0, 2.0); "
            f"got {value!r:.60}."
        ) from None
    try:
        lo, hi = (_number(owner, what, v, finite=False) for v in ends)
    except TypeError:  # not numbers
        raise TypeError(
            f"{owner}: {what} must be a pair (lo, hi) of numbers, e.g. (-2.0, 2.0); "
            f"got {value!r:.60}."
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(
            f"{owner}: {what} must be finite with lo < hi; got ({lo:g}, {hi:g}). Give the "
            "interval's finite ends, the lower one first."
        )
    if not math.isfinite(hi - lo):  # each end finite, the span not: grids over it hold NaN
        raise ValueError(
            f"{owner}: {what} ({lo:g}, {hi:g}) is wider than a float64 can span (hi - lo "
            f"overflows); narrow it to at most {np.finfo(np.float64).max:.3g} in width."
        )
    return lo, hi


@dataclass(frozen=True)
class Function1D:
    """A test function with the interval it is meant to be studied on.

    Attributes:
        name: The registry key, a short snake_case name.
        f: The ``jax.numpy`` function, scalar to scalar.
        domain: ``(lo, hi)``, the interval of interest: finite, ``lo < hi``.
        description: One line saying what the function shows.
        start: Where a single run starts by default: a point of the domain from which
            descent shows the function's behaviour. ``None`` (a user's function that names
            none): 0, or the domain's midpoint when 0 lies outside it.

    The fields are checked and the numbers kept as Python floats when the spec is made: a
    name or description that is not a string, an ``f`` that is not callable, a domain that
    is not two finite numbers in order, or a start that is not a number of the domain,
    raises ``TypeError`` or ``ValueError`` naming the spec and the field.

    Example:
        >>> spec = Function1D("bowl", lambda x: (x - 1.0) ** 2, (-2.0, 3.0), "one minimum")
        >>> spec.default_start
        0.0
        >>> get("rastrigin").default_start
        2.3
    """

    name: str
    f: Callable[[jax.typing.ArrayLike], jax.Array]
    domain: tuple[float, float]
    description: str
    start: float | None = None

    def __post_init__(self) -> None:
        # Experiments draw grids over the domain and start runs at `start`: a reversed or
        # infinite interval would fail deep inside them, or blame a flag nobody passed.
        owner = f"Function1D {self.name!r}"
        _check_fields(owner, self.name, self.f, self.description)
        lo, hi = _interval(owner, "domain", self.domain)
        object.__setattr__(self, "domain", (lo, hi))
        if self.start is None:
            return
        start = _number(owner, "start", self.start)
        if not lo <= start <= hi:
            raise ValueError(
                f"{owner}: start={self.start!r} lies outside its domain "
                f"[{lo:g}, {hi:g}]; a default start is a point of the domain."
            )
        object.__setattr__(self, "start", start)

    @property
    def default_start(self) -> float:
        """``start``, or 0 (the domain's midpoint when 0 lies outside the domain)."""
        if self.start is not None:
            return float(self.start)
        lo, hi = self.domain
        return 0.0 if lo <= 0.0 <= hi else 0.5 * (lo + hi)


# Default starts: the notebook's 0 for its function. Elsewhere 0 is a minimum (rastrigin,
# steep_wall) or a saddle (saddle), where descent never moves, so each starts on a slope that
# shows its behaviour: between wells, on the plateau, on the steep wall, left of the saddle.
FUNCTIONS: dict[str, Function1D] = {
    spec.name: spec
    for spec in (
        Function1D(
            "notebook",
            notebook,
            (-2.0 * math.pi, 2.0 * math.pi),
            "sin(x)·exp(-0.05x²): the course notebook's two basins of different depth",
            start=0.0,
        ),
        Function1D(
            "double_well",
            double_well,
            (-2.0, 2.0),
            "x⁴ - 2x² + 0.3x: a tilted double well, the left basin deeper",
            start=1.5,
        ),
        Function1D(
            "rastrigin",
            rastrigin,
            (-5.12, 5.12),
            "10 + x² - 10cos(2πx): eleven wells, deeper towards 0",
            start=2.3,
        ),
        Function1D(
            "plateau",
            plateau,
            (-5.0, 5.0),
            "1 - exp(-x²): one minimum inside a plateau where gradients vanish",
            start=2.5,
        ),
        Function1D(
            "steep_wall",
            steep_wall,
            (-3.0, 3.0),
            "x⁴/4 + x²/2: a bowl with quartic walls where large rates diverge",
            start=2.0,
        ),
        Function1D(
            "saddle",
            saddle,
            (-1.5, 2.0),
            "x⁴/4 - x³/3: an inflection saddle at 0 before the minimum at 1",
            start=-1.0,
        ),
    )
}


def names() -> list[str]:
    """The registered function names, in registry order.

    >>> "notebook" in names()
    True
    """
    return list(FUNCTIONS)


def get(name: str) -> Function1D:
    """Look up a test function by name.

    Args:
        name: A key of :data:`FUNCTIONS`.

    Returns:
        The :class:`Function1D` registered under ``name``.

    Raises:
        TypeError: If ``name`` is not a string.
        ValueError: If no function is registered under ``name``; the message lists the
            available names.

    >>> get("plateau").domain
    (-5.0, 5.0)
    """
    return _lookup(
        FUNCTIONS,
        name,
        kind="test function",
        example="notebook",
        elsewhere=("jaxgd.functions2d", "a function of two variables"),
    )


def _lookup(
    registry: dict[str, Any],
    name: str,
    *,
    kind: str,
    example: str,
    elsewhere: tuple[str, str],
) -> Any:
    """``registry[name]``, or an error that says what ``name`` must be and lists the names;
    for a name in the other registry (``elsewhere``: its module, imported only then, and
    what its functions are), the error says where ``name`` is."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as {example!r}, got {type(name).__name__}")
    try:
        return registry[name]
    except KeyError:
        message = f"name={name!r} is not a known {kind}; choose one of: {', '.join(registry)}"
        module, what = elsewhere
        if name in importlib.import_module(module).FUNCTIONS:
            message += f". {name!r} is {what}: {module}.get({name!r})"
        raise ValueError(message) from None
