"""Check a hand-written derivative against ``jax.grad``.

The example this project starts from is a transcribed copy of the course notes: in that copy
the hand-written ``deriv`` drops the factor ``x`` from its second term
(``-np.sin(x)*.1*np.exp(-x**2*.05)`` where ``-np.sin(x)*.1*x*np.exp(-x**2*.05)`` is right).
The bug is in the copy this project quotes, not in the course: the course's published
notebook has the correct derivative, and so does the copy's own first cell (its ``df``
array). :func:`check_derivative` finds such a slip in one call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd._validate import check_function, check_int, check_interval, nonnegative_float

__all__ = ["DerivativeCheck", "check_derivative"]

#: The densest grid checked: 3 * 10**7 points with those between grid points, about 2 GB of
#: float64 (x, both derivatives, the error, and NumPy's temporaries while comparing them).
MAX_NUM = 10**7
#: Seed of the points drawn between grid points: the same call checks the same points.
_SEED = 0
#: The default absolute tolerance.
_ATOL = 1e-9


@dataclass(frozen=True, eq=False)
class DerivativeCheck:
    """A hand-written derivative compared with autodiff on a float64 grid and between its
    points.

    Only the points where f itself is finite are compared (:attr:`compared`): where f is
    NaN or infinite (``log`` below 0, a pole) it has no derivative to check, whatever the two
    sides return there. At those points the two agree when
    ``|given - autodiff| <= atol + rtol * |autodiff|`` (the rule of ``numpy.isclose``); a
    non-finite derivative on either side is a disagreement, unless both are the same infinity
    (``sqrt`` at 0, where f is finite and its slope infinite), which ``numpy.isclose`` counts
    as agreement too.

    Attributes:
        x: Every point checked, float64, ascending: the grid (``x[::3]``) and, between every
            two of its points, their midpoint and one point drawn at random (seeded).
        value: ``f`` at ``x``; the points where it is finite are the ones compared.
        autodiff: ``jax.grad(f)`` at ``x``.
        given: The hand-written derivative at ``x``.
        error: ``|given - autodiff|``: 0 where both are the same infinity; NaN where either
            is otherwise not finite, and where f is not (points not compared).
        rtol: Relative tolerance used.
        atol: Absolute tolerance used.
        dtypes: The dtypes ``df`` and ``f`` returned, by name: a side computed in float32
            (``astype(np.float32)``, ``jnp.float32(x)``) rounds to about 1e-7 relative,
            more than the default ``rtol``, and a disagreement then says so.
    """

    x: np.ndarray
    value: np.ndarray
    autodiff: np.ndarray
    given: np.ndarray
    error: np.ndarray
    rtol: float
    atol: float
    dtypes: tuple[str, str] = ("float64", "float64")

    @property
    def compared(self) -> np.ndarray:
        """Boolean mask of the points of :attr:`x` where f is finite: the ones compared."""
        return np.isfinite(self.value)

    @property
    def mismatch(self) -> np.ndarray:
        """Boolean mask of the points of :attr:`x` where the two disagree (never one where f
        is not finite: those are not compared)."""
        with np.errstate(invalid="ignore"):
            agree = self.error <= self.atol + self.rtol * np.abs(self.autodiff)
        return self.compared & ~agree

    @property
    def ok(self) -> bool:
        """Whether the two agree at every point compared (every point where f is finite)."""
        return not bool(self.mismatch.any())

    @property
    def _worst(self) -> int:
        # NaN counts as the worst error where one side is finite: the other is broken there.
        # Where neither is (sqrt at 0, f finite, f' infinite) it ranks below every finite
        # error, and points where f is not finite (not compared) below everything: pointing
        # there hid a df wrong where f is defined. Where the two disagree, only those points:
        # a larger error within rtol of a large f' elsewhere is agreement, and pointing at it
        # hid where the derivative is wrong.
        error = np.where(np.isnan(self.error), np.inf, self.error)
        neither = ~np.isfinite(self.given) & ~np.isfinite(self.autodiff)
        error = np.where(neither, -0.5, error)  # above agreement (-1), below any error
        error = np.where(self.compared, error, -2.0)
        mismatch = self.mismatch
        if mismatch.any():
            error = np.where(mismatch, error, -1.0)
        return int(np.argmax(error))

    @property
    def blind(self) -> bool:
        """Whether ``atol`` is at least ``|autodiff|`` at every point compared (and f' is not 0
        everywhere): then 0, or the derivative's negative, agrees too, and ``ok`` says
        nothing (``f = 1e-10 * sin(x)`` with the default ``atol``). :meth:`summary` says so."""
        finite = np.abs(self.autodiff[self.compared & np.isfinite(self.autodiff)])
        return bool(finite.size and 0 < finite.max() <= self.atol)

    @property
    def max_error(self) -> float:
        """The largest ``|given - autodiff|`` among the points where the two disagree (over
        every point compared when they agree everywhere); NaN if either side is not finite
        there. A point where one side is not finite counts as the largest; points where f is
        not finite are not compared."""
        return float(self.error[self._worst])

    @property
    def worst_x(self) -> float:
        """The point of :attr:`x` with :attr:`max_error`."""
        return float(self.x[self._worst])

    def summary(self) -> str:
        """One line: whether the two agree, and where the worst error is, with both
        derivatives there (where they disagree, in as many digits as tell them apart, and
        where they disagree, when not at every point compared); and, if f is not finite
        somewhere, at how many points and where (not compared)."""
        i = self._worst
        size = "not finite" if np.isnan(self.max_error) else f"{self.max_error:.3g}"
        given, autodiff = float(self.given[i]), float(self.autodiff[i])
        # Where they disagree, in as many digits as tell them apart: 6 printed -19 for both
        # -19.00002 and -19, an error of 1.05e-6 relative, over the default rtol.
        digits = 6 if self.ok else _digits_apart(given, autodiff)
        where = (
            f"max |error| {size} at x = {self.worst_x:.6g} "
            f"(given {given:.{digits}g}, autodiff {autodiff:.{digits}g})"
        )
        span = f"[{self.x[0]:.6g}, {self.x[-1]:.6g}]"
        compared = self.compared
        count = int(compared.sum())
        skipped = ""
        if count < self.x.size:
            skipped = (
                f"; f is not finite at {self.x.size - count} of {self.x.size} points "
                f"({_where_in_words(self.x, ~compared)}): not compared"
            )
        if self.ok:
            points = f"{self.x.size} points" if not skipped else f"{count} points where f is finite"
            line = f"derivative agrees with autodiff on {span} ({points}): {where}"
            if self.blind:
                biggest = float(np.nanmax(np.abs(self.autodiff[compared])))
                line += (
                    f"; note: atol {self.atol:.3g} is at least |f'| at every point checked (at "
                    f"most {biggest:.3g}), so 0 or any derivative that small would agree too. "
                    "If f' is really that small (not the rounding of a zero slope), pass an "
                    f"atol below it, e.g. atol={1e-9 * biggest:.1g}"
                )
            return line + skipped
        mismatch = self.mismatch
        bad = int(mismatch.sum())
        # Where, when not everywhere: a df wrong on part of the interval (a piece of a
        # piecewise formula) is found by the stretch, not by the one worst point.
        located = "" if bad == count else f" ({_where_in_words(self.x, mismatch)})"
        return (
            f"derivative DISAGREES with autodiff at {bad} of {count} points"
            f"{'' if not skipped else ' where f is finite'} on {span}{located}: {where}{skipped}"
            f"{self._narrow_note()}"
        )

    def __str__(self) -> str:
        return self.summary()

    def _narrow_note(self) -> str:
        """For a disagreement that rounding explains: which side was computed in a float
        narrower than float64 (its rounding alone can exceed the tolerances), and
        tolerances with which the two agree. Empty for a slip larger than that rounding."""
        narrow = [
            (who, name)
            for who, name in zip(("df", "f"), self.dtypes, strict=True)
            if _eps(name) > np.finfo(np.float64).eps
        ]
        if not narrow:
            return ""
        eps = max(_eps(name) for _, name in narrow)
        slope = np.abs(self.autodiff[self.compared & np.isfinite(self.autodiff)])
        rtol = min(100 * eps, 0.1)  # room for the rounding of x too; rtol stays below 1
        atol = float(f"{rtol * (float(slope.max()) if slope.size else 1.0):.1g}")
        rtol = float(f"{rtol:.1g}")
        mismatch = self.mismatch
        with np.errstate(invalid="ignore"):
            fits = self.error[mismatch] <= atol + rtol * np.abs(self.autodiff[mismatch])
        if not fits.all():  # a slip beyond rounding: the note would excuse it
            return ""
        said = " and ".join(f"{who} returned {name}" for who, name in narrow)
        return (
            f"; note: {said}, which rounds to about {eps:.1g} relative: that rounding alone "
            f"explains the disagreement (with rtol={rtol:g}, atol={atol:g} the two agree); "
            "compute in float64, or pass those tolerances"
        )


def _eps(name: str) -> float:
    """The machine epsilon of the floating dtype ``name`` (0 for any other dtype)."""
    try:
        return float(jnp.finfo(name).eps)
    except (TypeError, ValueError):  # integers: exact
        return 0.0


def _where_in_words(x: np.ndarray, mask: np.ndarray) -> str:
    """Where ``mask`` holds on the ascending points ``x``, in words: one point, one stretch
    of consecutive points, or how many stretches between which ends."""
    where = np.flatnonzero(mask)
    first, last = x[where[0]], x[where[-1]]
    if where.size == 1:
        return f"x = {first:.6g}"
    runs = 1 + int(np.count_nonzero(np.diff(where) > 1))
    if runs == 1:
        return f"x in [{first:.6g}, {last:.6g}]"
    return (
        f"in {runs} stretches, the first at x = {first:.6g} and the last ending at x = {last:.6g}"
    )


def _digits_apart(a: float, b: float) -> int:
    """The significant digits, 6 or more, that print ``a`` and ``b`` differently (17 tell
    any two float64 apart); 6 if they are equal or either is not finite."""
    if a == b or not (np.isfinite(a) and np.isfinite(b)):
        return 6
    return next(d for d in range(6, 18) if f"{a:.{d}g}" != f"{b:.{d}g}")


def _evaluate(df: Callable, x: np.ndarray) -> np.ndarray:
    """``df`` on the whole grid at once, or point by point if it cannot take an array.

    ``df`` gets copies: one that writes into its argument (``x *= 2``) leaves the grid alone.
    """
    whole = ""  # what the call on the whole grid gave, when it gave an array
    try:
        out = np.asarray(df(x.copy()))
        if out.shape == x.shape:
            return out
        whole = f"on an array of shape {x.shape} it returned shape {out.shape}, and "
    except Exception:  # Scalar-only code (math.cos, if x > 0) fails on arrays; retry below.
        pass
    values = []
    for xi in x.copy():
        try:
            values.append(np.asarray(df(xi)).reshape(()))
        except Exception as err:
            # Which x: a df right where f is defined can fail beyond (math.sqrt(-1)).
            raise TypeError(
                "df must map a float x to one real number (or an array of x to an array of "
                f"the same shape); {whole}calling it on x = {float(xi)!r} failed: "
                f"{type(err).__name__}: {str(err).rstrip('.')}. If f is not defined there "
                "either, check an interval where it is, or return nan there"
            ) from err
    return np.array(values)


@partial(jax.jit, static_argnums=(0, 1))
def _on_points_compiled(f: Callable, grad: bool, x: jax.Array) -> jax.Array:
    return jax.vmap(jax.grad(f) if grad else f)(x)


def on_points(f: Callable, x: np.ndarray, *, grad: bool) -> jax.Array:
    """``f`` (or ``jax.grad(f)`` with ``grad``) at every point of ``x``, compiled.

    A hashable ``f`` is a static argument of one ``jax.jit``, as in ``jaxgd.sweep``: the
    same ``f`` on as many points of the same dtype compiles nothing the second time. A new
    ``jax.jit(jax.vmap(...))`` per call recompiled every time, as JAX keys its cache on the
    function object. An unhashable ``f`` cannot key a cache; it is usually unhashable because
    it compares by value and can change (a dataclass with ``eq=True``), so it is compiled
    afresh on each call and runs as it is now.
    """
    try:
        hash(f)
    except TypeError:
        return jax.jit(jax.vmap(jax.grad(f) if grad else f))(x)
    return _on_points_compiled(f, grad, x)


def _points(lo: float, hi: float, num: int) -> np.ndarray:
    """``num`` evenly spaced points of ``[lo, hi]`` and, between every two, their midpoint
    and a point drawn at random in a fixed order (``x[::3]`` is the grid), ascending."""
    grid = np.linspace(lo, hi, num, dtype=np.float64)
    a, b = grid[:-1], grid[1:]
    middle = a + 0.5 * (b - a)
    drawn = a + np.random.default_rng(_SEED).uniform(0.0, 1.0, num - 1) * (b - a)
    inner = np.sort(np.stack([middle, np.clip(drawn, a, b)], axis=1), axis=1)
    out = np.empty(3 * num - 2, np.float64)
    out[0::3], out[1::3], out[2::3] = grid, inner[:, 0], inner[:, 1]
    return out


def check_derivative(
    f: Callable[[jax.Array], jax.Array],
    df: Callable,
    lo: float,
    hi: float,
    *,
    num: int = 1001,
    rtol: float = 1e-6,
    atol: float = _ATOL,
) -> DerivativeCheck:
    """Compare a hand-written derivative ``df`` of ``f`` with ``jax.grad(f)``.

    Both are evaluated on ``num`` evenly spaced float64 points of ``[lo, hi]`` and, between
    every two of them, at their midpoint and at one point drawn at random (seeded: the same
    call checks the same points), ``3 * num - 2`` points in all: a ``df`` wrong only between
    the grid points (a piece that ends at the wrong place) is caught too. ``df`` may
    use NumPy or ``jax.numpy``: it is called once on the whole grid, and point by point
    if that fails or returns the wrong shape. Both sides run with 64-bit JAX enabled for
    the duration of the call, so the comparison measures the formula, not float32
    rounding; the global ``jax_enable_x64`` setting is left as it was. ``jax.grad(f)`` is
    compiled once per ``f`` and ``num``: checking the same ``f`` again, on any interval,
    compiles nothing (an ``f`` that cannot be hashed is compiled on every call).

    Only the points where ``f`` itself is finite are compared: where it is NaN or infinite
    (``jnp.log`` below 0, ``1 / x`` at 0) it has no derivative to check, whatever ``df`` and
    autodiff give there. The summary says at how many points, and where, f is not finite;
    ``ok`` is judged on the others. Where f is finite, a derivative that is not (on either
    side) is a disagreement, unless both are the same infinity (``jnp.sqrt`` at 0).

    Args:
        f: Scalar-to-scalar function written with ``jax.numpy``.
        df: The hand-written derivative of ``f``.
        lo: Left end of the interval, finite.
        hi: Right end of the interval, finite, greater than ``lo``.
        num: Number of grid points, from 2 to 10**7 (``3 * num - 2`` points are checked).
        rtol: Relative tolerance, >= 0 and below 1 (with 1 or more, ``df = 0`` would agree).
        atol: Absolute tolerance, >= 0; it absorbs rounding where ``f'`` crosses 0 (and
            where f' is computed from terms far larger than itself). For an ``f`` whose
            slope is below ``atol`` everywhere (``1e-10 * sin(x)``) it absorbs the whole
            derivative: :attr:`DerivativeCheck.blind` is then True and the summary says to
            pass a smaller one.

    Returns:
        A :class:`DerivativeCheck`; ``str()`` of it is a one-line verdict.

    Raises:
        TypeError: If ``f`` or ``df`` is not callable, ``f`` cannot be traced or returns
            complex or integer values, ``df`` fails or gives neither one value per x for the
            whole grid nor one number for a single x (the message gives the shape it
            returned), ``df`` returns other than real numbers (bools, complex numbers,
            durations, text), or an argument has the wrong type. ``df`` is checked before
            ``jax.grad(f)`` is compiled.
        ValueError: If ``f`` returns a non-scalar, ``lo``/``hi`` are not finite with
            ``lo < hi``, ``num`` is out of range, a tolerance is negative or ``rtol`` is 1 or
            more, or ``f`` is not finite at any point checked (there is nothing to compare:
            an agreement would be vacuous, and a disagreement would blame ``df``); this is
            found once ``f`` is compiled, before ``jax.grad(f)`` is.

    Example:
        The ``deriv`` of the copy of the course notes this project quotes drops a factor
        ``x`` from its second term (the course's published notebook has it right):

        >>> import numpy as np, jax.numpy as jnp
        >>> from jaxgd.derivative import check_derivative
        >>> f = lambda x: jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> e = lambda x: np.exp(-0.05 * x**2)
        >>> wrong = lambda x: np.cos(x) * e(x) - np.sin(x) * 0.1 * e(x)
        >>> check = check_derivative(f, wrong, -2 * np.pi, 2 * np.pi)
        >>> check.ok
        False
        >>> print(check)  # doctest: +ELLIPSIS
        derivative DISAGREES with autodiff at ... of 3001 points on [-6.28319, 6.28319]...: ...
        >>> right = lambda x: np.cos(x) * e(x) - np.sin(x) * 0.1 * x * e(x)
        >>> check_derivative(f, right, -2 * np.pi, 2 * np.pi).ok
        True

        Where f is not defined there is nothing to compare; the summary says where:

        >>> log_check = check_derivative(jnp.log, lambda x: 1 / x, -1.0, 2.0)
        >>> log_check.ok, int(log_check.compared.sum())
        (True, 2000)
        >>> print(log_check)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
        derivative agrees with autodiff on [-1, 2] (2000 points where f is finite): ...; f is not
        finite at 1001 of 3001 points (x in [-1, -0.00092796]): not compared
    """
    lo_f, hi_f = check_interval(lo, hi)
    num = check_int("num", num, 2, fix="use a denser grid")
    if num > MAX_NUM:
        raise ValueError(
            f"num must be at most 10**7, got {num}: a grid that fine costs gigabytes and "
            "shows nothing a coarser one misses; check a narrower interval at a finer "
            "spacing instead."
        )
    rtol_f, atol_f = nonnegative_float("rtol", rtol), nonnegative_float("atol", atol)
    if rtol_f >= 1:
        # |0 - f'| <= rtol |f'| for every f' once rtol >= 1, and -f' agrees once rtol >= 2.
        raise ValueError(
            f"rtol must be below 1, got {rtol_f:g}: with rtol >= 1 a derivative of 0 agrees "
            "everywhere (and with rtol >= 2 one of the wrong sign), so the check could not "
            "fail; pass a relative error you would accept, e.g. rtol=1e-6 (the default) or "
            "rtol=1e-3"
        )
    if not callable(df):
        raise TypeError(f"df must be a callable taking a float, got {type(df).__name__}")

    x = _points(lo_f, hi_f, num)
    with jax.enable_x64(True):
        # f need not be hashable here: one that is not is compiled afresh (on_points).
        check_function(f, np.dtype(np.float64), hashable=False)
        # df is run and its values checked before grad(f) is compiled: a df that fails or
        # returns no numbers is refused without compiling anything.
        given = _evaluate(df, x)
        # NumPy's ints and floats, and JAX's floats NumPy lacks (bfloat16): not bools, and
        # not durations, which np.issubdtype counts as integers.
        if given.dtype.kind not in "fiu" and not jnp.issubdtype(given.dtype, jnp.floating):
            raise TypeError(
                f"df must return real numbers, got dtype {given.dtype}; return the value of "
                "the derivative as a float, e.g. `lambda x: np.cos(x)` for f = jnp.sin"
            )
        # f's own values decide which points are compared: where f is NaN or infinite it
        # has no derivative, and both sides there are whatever the formulas give (autodiff
        # through a jnp.where gives 0). Refused before grad(f) is compiled if that is nowhere.
        value = on_points(f, x, grad=False)
        value_dtype, value = value.dtype, np.asarray(value, np.float64)
        if not np.isfinite(value).any():
            raise ValueError(
                f"f is not finite at any of the {x.size} points checked on [{lo_f:g}, {hi_f:g}] "
                f"(lo={lo_f!r}, hi={hi_f!r}), so it has no derivative there to check; pass lo "
                "and hi of an interval where f is defined (where f(x) is a finite number)"
            )
        autodiff = np.asarray(on_points(f, x, grad=True), np.float64)
    given_dtype, given = given.dtype, given.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(given - autodiff)
    # The same infinity on both sides (sqrt at 0) is agreement, as in numpy.isclose: both say
    # f is vertical there. Any other non-finite pair is a disagreement (NaN).
    same = given == autodiff
    error[same] = 0.0
    error[~((np.isfinite(given) & np.isfinite(autodiff)) | same) | ~np.isfinite(value)] = np.nan
    dtypes = (str(given_dtype), str(value_dtype))
    return DerivativeCheck(x, value, autodiff, given, error, rtol_f, atol_f, dtypes)
