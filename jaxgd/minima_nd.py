"""Minima of f on a box of R^d, and which of them the runs of a d-dimensional sweep reached.

:func:`find_minima_nd` starts Newton's method (gradient and Hessian from autodiff) from a grid
of points over the box, all at once in one compiled call, keeps the points where it stopped
with a negligible step and a positive definite Hessian, and merges the duplicates.
:func:`nearest_minimum_nd` and :func:`basins_nd` label final positions by the minimum they
ended near, with one label for "near none" and another for "diverged";
:func:`random_starts_nd` draws starts at random over the box and reports, per learning rate
and epoch count, the share of them reaching each minimum.

They run on the host (what they return depends on f's values): called while ``jax.jit``,
``vmap`` or ``grad`` is tracing, an ``f`` that closes over a traced value included, they raise
``TypeError`` before evaluating anything. Call them outside, and pass what they found in.

Example:
    >>> import jax
    >>> from jaxgd.functions2d import himmelblau
    >>> with jax.enable_x64(True):
    ...     m = find_minima_nd(himmelblau, [(-5, 5), (-5, 5)])
    >>> len(m), m.dim
    (4, 2)
    >>> [tuple(round(float(v), 5) for v in p) for p in m.x]
    [(-3.77931, -3.28319), (-2.80512, 3.13131), (3.0, 2.0), (3.58443, -1.84813)]
    >>> nearest_minimum_nd([[3.0, 2.0001], [0.0, 0.0], [float("nan"), 1.0]], m).tolist()
    [2, -1, -2]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd import _chunking
from jaxgd._validate import (
    _check_indices,
    _first_bool,
    as_key,
    check_hashable,
    check_in_range,
    check_int,
    check_span_fits,
    default_float,
    is_concrete,
    positive_float,
    whole_number,
)
from jaxgd.minima import (
    _bucket,
    _coarse_step,
    _f_eps,
    _host_values,
    _probe,
    _refuse_in_trace,
    _resolution_from,
    _solver_jit,
    _ties,
    _ulp,
    on_host,
)
from jaxgd.result import SweepResult
from jaxgd.sweep import check_arguments, sweep

__all__ = [
    "DIVERGED",
    "NO_MINIMUM",
    "BasinsND",
    "MinimaND",
    "RandomStartsND",
    "basins_nd",
    "find_minima_nd",
    "grid_starts",
    "nearest_minimum_nd",
    "random_starts_nd",
]

#: Label of a run that ended within ``tol`` of no minimum (still on its way, stuck at a
#: saddle or on a plateau, or past the box where no minimum was searched).
NO_MINIMUM = -1
#: Label of a run whose position or value is not finite.
DIVERGED = -2

#: Newton iterations per start: quadratic convergence needs a handful, the damped steps far
#: from a minimum and the linear convergence at a nearly flat one need the rest.
_MAX_ITER = 100
#: Step lengths tried by the backtracking line search: 1, 1/2, ..., 2^-(n-1).
_HALVINGS = 24
#: Distances at which a run's end is probed along each eigenvector of its Hessian: r / 4**k
#: for k = 0 .. _LADDER (4**40 is 1.2e24), r where the quadratic model rises measurably.
_LADDER = 40
#: Most Newton starts a default grid uses, whatever the dimension.
_DEFAULT_STARTS = 4096
#: Most Newton starts one search runs (2**20 = 1,048,576), the grid's ``grid**d`` and the
#: extra ones together. A start costs about 1 KB in 2-D (the Hessian and its eigenvectors,
#: the 24 points and values of the line search, the starts as float64 on the host), more
#: with d and with f's own intermediates: about 1 GB at the limit.
_MAX_STARTS = 1 << 20
#: Most coordinates ``grid_starts`` returns, ``prod(num) * d`` (2**26: 512 MiB of float64;
#: building it takes about three times that).
_MAX_GRID_COORDS = 1 << 26


#: What to do instead, said when MinimaND.at meets traced values.
_FIX_MINIMAND_AT = (
    "make the MinimaND once, outside, and pass it in (close over it, or pass it as "
    "an argument: it is a pytree)."
)


@partial(jax.tree_util.register_dataclass, data_fields=None, meta_fields=None)
@dataclasses.dataclass(frozen=True, eq=False)
class MinimaND:
    """Local minima of a function on R^d, sorted by their coordinates (first, then second...).

    A pytree: its arrays are the leaves, so it passes through ``jax.jit``.

    Attributes:
        x: Locations, shape ``(K, d)``.
        value: ``f(x)``, shape ``(K,)``.
        global_: True where the minimum is global: as low as the lowest found, apart by
            rounding alone (so the four equal minima of Himmelblau's function all count, in
            any units of ``f``): by no more than twice the sum of the two minima's
            resolutions and 4 epsilons of their size. A minimum's resolution is measured as
            :attr:`jaxgd.minima.Minima.resolution` is in 1-D, along every coordinate: how far
            its value lies above the lowest of f at 8 points either side, a step apart,
            plus how much f rises within two steps of that lowest point.
    """

    x: jax.Array
    value: jax.Array
    global_: jax.Array

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def dim(self) -> int:
        """``d``, the dimension of the space."""
        return int(self.x.shape[1])

    @property
    def global_x(self) -> jax.Array:
        """The global minima, shape ``(G, d)`` (``G = 0`` when none was found)."""
        return self.x[np.flatnonzero(np.asarray(self.global_))]

    @property
    def global_value(self) -> float:
        """``f`` at the global minima. Raises ``ValueError`` when there are none."""
        if len(self) == 0:
            raise ValueError("no minimum was found: check len(minima) first, or widen the box")
        return float(np.min(np.asarray(self.value)))

    @classmethod
    @on_host("MinimaND.at", _FIX_MINIMAND_AT)
    def at(cls, f: Callable[[jax.Array], jax.Array], x: Any) -> MinimaND:
        """Minima known in advance (closed forms, or a :class:`~jaxgd.functions2d.Function2D`'s
        list): ``f`` evaluated at ``x`` of shape ``(K, d)``, sorted, global ones marked.

        Example:
            >>> from jaxgd.functions2d import saddle
            >>> m = MinimaND.at(saddle, [(0.0, 1.0), (0.0, -1.0)])
            >>> m.x.tolist(), m.global_.tolist()
            ([[0.0, -1.0], [0.0, 1.0]], [True, True])
        """
        _refuse_in_trace("MinimaND.at", _FIX_MINIMAND_AT)
        dtype = np.dtype(default_float())
        pts = _real_points("x", x, "(K, d)")
        check_in_range("x", pts, dtype)
        pts = pts.astype(dtype)
        if pts.ndim != 2 or pts.shape[0] == 0:
            raise ValueError(f"x must have shape (K, d) with K >= 1, got shape {pts.shape}")
        bad = ~np.isfinite(pts).all(axis=1)
        if bad.any():
            raise ValueError(
                f"x must hold finite points; point {int(np.argmax(bad))} is {pts[bad][0].tolist()}"
            )
        fix = "Give x as many coordinates as f reads, or fix the index."
        _check_nd_function(f, pts.shape[1], dtype, fix=fix)
        (value,) = _host_values(jax.vmap(f)(jnp.asarray(pts)))
        if not np.isfinite(value).all():
            i = int(np.argmax(~np.isfinite(value)))
            raise ValueError(f"f is {value[i]} at point {i}, {pts[i].tolist()}: not a minimum")
        resolution = _resolution(f, pts, value, eps_f=_f_eps(f, dtype, (pts.shape[1],)))
        return _assemble(pts, value, scale=np.zeros(pts.shape[0]), resolution=resolution)


#: Points on either side of a minimum, along each coordinate, at which :func:`_resolution`
#: evaluates f.
_NEIGHBOURS = 8


@partial(jax.jit, static_argnums=0)
def _values(f: Callable, x: jax.Array) -> jax.Array:
    return jax.vmap(f)(x)


def _resolution(
    f: Callable,
    x: np.ndarray,
    value: np.ndarray,
    reach: np.ndarray | None = None,
    eps_f: float = 0.0,
) -> np.ndarray:
    """How far each minimum's ``value`` may be from the true depth of f there, as
    :func:`jaxgd.minima.find_minima` measures it in 1-D: f at ``x`` (shape ``(K, d)``) and
    ``_NEIGHBOURS`` points on either side along every coordinate, a step apart (one float,
    or an eighth of ``reach``, how far the search may have left x from the minimum, where
    that is more); how far ``value`` lies above the lowest of them, plus how much f rises
    within two steps of that lowest point; at least one step of the coarser float f computes
    in (``eps_f``, see :func:`jaxgd.minima._f_eps`), if it does. One compiled call, padded to
    a power of two."""
    k, d = x.shape
    if k == 0:
        return np.zeros(0, np.float64)
    step = np.maximum(_ulp(x), _coarse_step(x, eps_f))  # (K, d)
    if reach is not None:
        step = np.maximum(step, np.asarray(reach, np.float64)[:, None] / _NEIGHBOURS)
    ks = np.arange(-_NEIGHBOURS, _NEIGHBOURS + 1)
    offsets = np.zeros((d, ks.size, d))  # (axis, step, coordinate)
    for j in range(d):
        offsets[j, :, j] = ks
    points = x.astype(np.float64)[:, None, None, :] + offsets[None] * step[:, None, None, :]
    flat = _probe(points, x.dtype).reshape(-1, d)
    n = _bucket(flat.shape[0])
    padded = np.concatenate([flat, np.repeat(flat[-1:], n - flat.shape[0], axis=0)])
    around = np.array(_values(f, jax.device_put(padded)), np.float64)[: flat.shape[0]]
    return _resolution_from(around.reshape(k, d, ks.size), value)


def _is_global(value: np.ndarray, resolution: np.ndarray) -> np.ndarray:
    """The minima as low as the lowest, apart by rounding alone (see ``MinimaND.global_``)."""
    if value.size == 0:
        return np.zeros(0, bool)
    eps = float(np.finfo(np.float32 if value.dtype == np.float32 else np.float64).eps)
    return _ties(value.astype(np.float64), resolution, int(np.argmin(value)), eps)


def _assemble(
    x: np.ndarray, value: np.ndarray, *, scale: np.ndarray, resolution: np.ndarray
) -> MinimaND:
    # Sorting on coordinates rounded to the merge scale: -1e-17 and 1e-17 are the same 0.
    # Rounded to multiples of it, in x's units: x / step overflows near the largest float64
    # (1.7e308 / eps), and there the scale is below the floats' own spacing, so x is its own.
    step = np.maximum(scale.max(initial=0.0), np.finfo(x.dtype).eps)
    with np.errstate(over="ignore", invalid="ignore"):
        q = np.round(x.astype(np.float64) / step)
        key = np.where(np.isfinite(q), q * step, x)
    order = np.lexsort(tuple(key[:, k] for k in reversed(range(x.shape[1]))))
    x, value = x[order], value[order]
    # device_put, unlike jnp.asarray, compiles nothing for a new shape.
    return MinimaND(
        x=jax.device_put(x),
        value=jax.device_put(value),
        global_=jax.device_put(_is_global(value, resolution[order])),
    )


def _check_nd_function(
    f: Any, d: int, dtype: np.dtype, name: str = "f", fix: str | None = None
) -> None:
    """``f`` maps a ``(d,)`` vector to a real scalar, ``jax.grad`` can trace it, and it reads
    no constant index past the end of x (JAX would clamp it: ``x[1]`` of a point of R^1 reads
    ``x[0]``). ``fix``: what to change when it does (default: the bounds' rows)."""
    if not callable(f):
        raise TypeError(
            f"{name} must be a callable f(x) -> scalar taking x of shape ({d},); got "
            f"{type(f).__name__}"
        )
    check_hashable(f, name)
    spec = jax.ShapeDtypeStruct((d,), dtype)
    try:  # one trace gives the output's shape and the jaxpr the index check reads
        jaxpr, out = jax.make_jaxpr(lambda x: f(x), return_shape=True)(spec)
    except Exception as e:
        raise TypeError(
            f"{name} failed on a point of shape ({d},): {type(e).__name__}: "
            f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}. Write f(x) for x of "
            f"shape ({d},) with jax.numpy, e.g. `lambda x: (x**2).sum()`"
        ) from None
    if getattr(out, "shape", None) != () or not jnp.issubdtype(out.dtype, jnp.floating):
        scalar = getattr(out, "shape", None) == ()
        how = (  # one number of the wrong kind, or several numbers
            "Compute it in floating point (avoid integer-only operations such as // on x)"
            if scalar
            else "Sum or pick one entry, e.g. `(x**2).sum()`"
        )
        raise TypeError(
            f"{name} must return a real scalar for x of shape ({d},); it returned "
            f"{getattr(out, 'dtype', type(out).__name__)}{list(getattr(out, 'shape', []))}. "
            f"{how}"
        )
    try:
        jax.eval_shape(jax.grad(f), spec)
    except Exception as e:
        raise TypeError(
            f"{name} cannot be differentiated by jax.grad: {type(e).__name__}. Use "
            "differentiable jax.numpy operations (no while_loop or callbacks)"
        ) from None
    if fix is None:
        fix = f"Give bounds one (lo, hi) row per coordinate {name} reads, or fix the index."
    _check_indices(f, spec, None, name, fix, jaxpr=jaxpr)


def _has_bool(value: Any) -> bool:
    """Whether ``value`` (an array or a regular nested sequence) holds booleans: NumPy makes
    ``[(True, 2)]`` an int array, so a sequence's entries are looked at (a level of plain
    numbers at C speed: an object copy looked at entry by entry took 1.2 s for a million
    points)."""
    if isinstance(value, np.ndarray | jax.Array):
        return np.dtype(value.dtype) == np.bool_
    if isinstance(value, list | tuple):
        return _first_bool(value) is not None
    return isinstance(value, bool | np.bool_)


def _real_points(name: str, value: Any, shape: str) -> np.ndarray:
    """``value`` as a NumPy array of real numbers (integers or floats), or an error naming
    ``name``: ragged rows, strings and other objects, complex numbers and booleans (refused as
    :func:`jaxgd.find_minima` refuses ``lo=True``). ``shape``: what it should look like."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged rows
        raise ValueError(
            f"{name} must be an array of shape {shape}, every row as long; got "
            f"{type(value).__name__} whose rows differ in length"
        ) from None
    if np.iscomplexobj(arr):
        raise TypeError(
            f"{name} must hold real numbers, got complex ({arr.dtype}); pass real points "
            "(np.real(...) if the imaginary parts are 0)"
        )
    if arr.dtype == np.bool_ or _has_bool(value):
        raise TypeError(
            f"{name} must hold numbers, got booleans (True/False); pass e.g. 1.0 and 0.0"
        )
    if arr.dtype.kind == "V" and jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(np.float64)  # bfloat16 and the float8 types: exact in float64
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        what = "strings" if arr.dtype.kind in "US" else "objects"
        raise TypeError(
            f"{name} must hold real numbers of shape {shape}, got {what} ({arr.dtype}); "
            "pass e.g. a float array"
        )
    return arr


def _as_bounds(bounds: Any) -> np.ndarray:
    if _has_bool(bounds):
        raise TypeError("bounds must be numbers, got booleans (True/False); pass e.g. [(0.0, 1.0)]")
    try:
        b = np.asarray(bounds, np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            "bounds must be numbers shaped (d, 2): one (lo, hi) pair per coordinate, e.g. "
            "[(-5, 5), (-5, 5)]"
        ) from None
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] == 0:
        raise ValueError(
            f"bounds must have shape (d, 2), one (lo, hi) per coordinate, e.g. [(-5, 5), "
            f"(-5, 5)]; got shape {b.shape}"
        )
    if not np.all(np.isfinite(b)) or not np.all(b[:, 0] < b[:, 1]):
        raise ValueError(f"bounds must be finite with lo < hi on every row; got {b.tolist()}")
    return b


def _unit_grid(n: int, d: int) -> np.ndarray:
    """``n^d`` points filling the unit cube, cell centres, so no start sits on an edge."""
    axis = (np.arange(n) + 0.5) / n
    return np.stack(np.meshgrid(*([axis] * d), indexing="ij"), -1).reshape(-1, d)


def _norm(v: jax.Array) -> jax.Array:
    """Euclidean length of ``v``; scaled down by a power of two where the squares overflow
    (entries past 1.3e154 in float64, 1.8e19 in float32), the plain norm's bits elsewhere.

    The scale is a constant, ``2**-(maxexp / 2 + 4)``: dividing by the largest entry instead
    multiplies by its reciprocal, a subnormal near 1.8e308 that XLA flushes to 0."""
    plain = jnp.linalg.norm(v)
    scale = 2.0 ** -(jnp.finfo(v.dtype).maxexp // 2 + 4)
    scaled = jnp.linalg.norm(v * scale) / scale
    return jnp.where(jnp.isfinite(plain), plain, scaled)


def _newton_run(f: Callable, x0: jax.Array, diameter: jax.Array) -> tuple[jax.Array, ...]:
    """Damped Newton from ``x0`` that only ever goes downhill; the end and its diagnostics.

    The Hessian's eigenvalues are replaced by their absolute values (floored at eps of the
    largest): near a minimum this is Newton's step, at a saddle or maximum it turns
    the step downhill along the negative curvature instead of towards the stationary point.
    A backtracking search takes the longest of 1, 1/2, 1/4, ... of that step (capped at the
    box's diameter) that lowers f, and none when none does, so the run stops where f stops
    decreasing in floating point; where the Hessian is positive definite, the full step is
    also taken close to the minimum, and where f is level to its rounding (no step lowers it,
    the full step does not raise it).
    """
    grad, hess = jax.grad(f), jax.hessian(f)
    eps = jnp.finfo(x0.dtype).eps
    alphas = 0.5 ** jnp.arange(_HALVINGS, dtype=x0.dtype)

    def direction(x):
        lam, vec = jnp.linalg.eigh(hess(x))
        floor = eps * jnp.max(jnp.abs(lam)) + jnp.finfo(x.dtype).tiny
        p = -vec @ ((vec.T @ grad(x)) / jnp.maximum(jnp.abs(lam), floor))
        p = jnp.where(jnp.all(jnp.isfinite(p)), p, 0.0)
        length = _norm(p)
        return p * jnp.minimum(1.0, diameter / jnp.maximum(length, eps)), lam

    def body(_, x):
        p, lam = direction(x)
        fx = f(x)
        values = jax.vmap(lambda a: f(x + a * p))(alphas)
        ok = jnp.isfinite(values) & (values < fx)
        alpha = jnp.where(ok.any(), alphas[jnp.argmax(ok)], 0.0)
        # Close to a non-degenerate minimum f is flat to rounding before x is exact: there the
        # full Newton step is taken even when f cannot show a decrease, for full precision.
        close = (lam[0] > 0) & (_norm(p) <= 1e-3 * jnp.maximum(1.0, jnp.abs(x).max()))
        # So is f far from 0 next to how much it varies (1e6 - cos x - cos y in float32, in
        # steps of 0.0625): where the curvature is positive and no step shows a decrease but
        # the full one shows no rise either, f is level to its rounding and the step is taken.
        level = (lam[0] > 0) & ~ok.any() & (values[0] <= fx)
        return x + jnp.where(close | level, 1.0, alpha) * p

    x = jax.lax.fori_loop(0, _MAX_ITER, body, x0)
    lam, vec = jnp.linalg.eigh(hess(x))
    # The full Newton step from where the run stopped: the distance to the stationary point.
    newton = jnp.linalg.solve(hess(x), grad(x))
    # Where the smallest curvature is too small next to the largest for the eigenvalues to
    # tell a minimum from a flat saddle (x^2 + 1e6 y^2 in float32), f itself is asked: along
    # that direction, at the distance where the quadratic model rises by a measurable
    # amount, f must rise on both sides.
    fx = f(x)
    rise = 1e3 * eps * jnp.maximum(1.0, jnp.abs(fx))
    curvature = jnp.maximum(lam, jnp.finfo(x.dtype).tiny)
    # Along each eigenvector, where its model rises by ``rise``: the flattest's is its reach,
    # where f must rise on both sides (read off the last step of the walk below).
    top = jnp.sqrt(2.0 * rise / curvature)  # (d,)
    # The quadratic model holds near a minimum only. A hair short of an inflection along an
    # eigenvector (x = 0 of x^4 - x^3 + y^2) its curvature is tiny and positive, yet on one
    # side f falls, and ever more steeply. Beside a minimum that a run stopped short of, f
    # falls by the model's depth g^2 / (2 lam) at most (or as much again for a flatter
    # bottom, x^4 or x^6): a fall of 16 times that, past f's rounding, nearer than the first
    # rise past its rounding on that side, says x is no minimum whatever the eigenvalues say.
    # Each eigenvector is walked (the inflection's need not be the flattest, where a run
    # stopped short of it), at r / 4**k, k = _LADDER .. 0, r where its model rises by
    # ``rise``, one distance at a time (the probes of every start at once would take
    # memory). The rounding: 250 eps of |f| (a quarter of ``rise`` without its floor of 1:
    # the test holds in any units of f), or twice f's spread over the floats beside x.
    dirs = vec.T  # (d, d): one eigenvector a row
    beside = jnp.arange(-4, 5, dtype=x.dtype) * eps * jnp.maximum(jnp.abs(x).max(), 1.0)
    near = jax.vmap(jax.vmap(lambda a, u: f(x + a * u), (0, None)), (None, 0))(beside, dirs)
    noise = jnp.max(near, axis=1) - jnp.min(near, axis=1)
    noise = jnp.where(jnp.isfinite(noise), 2.0 * noise.astype(fx.dtype), 0.0)
    rounding = jnp.maximum(250.0 * eps * jnp.abs(fx), noise)[:, None]  # (d, 1)
    # Divided before squaring: a gradient of 7e-20 squares to 0 in float32.
    depth = ((dirs @ grad(x)) / jnp.sqrt(2.0 * curvature)) ** 2
    allowed = (16.0 * depth.astype(fx.dtype))[:, None] + rounding
    signs = jnp.array([-1.0, 1.0], x.dtype)

    def walk(k, state):
        rose, fell, _ = state
        r = top * 4.0 ** (k - _LADDER).astype(x.dtype)
        pts = x + (signs[None, :, None] * r[:, None, None]) * dirs[:, None, :]  # (d, 2, d)
        v = jax.vmap(jax.vmap(f))(pts).astype(fx.dtype) - fx
        fell = fell | ((v < -allowed) & ~rose)
        return rose | (jnp.isfinite(v) & (v > rounding)), fell, v

    none = jnp.zeros((x.shape[0], 2), bool)
    start = jnp.zeros((x.shape[0], 2), fx.dtype)
    _, fell, at_top = jax.lax.fori_loop(0, _LADDER + 1, walk, (none, none, start))
    falls_first = jnp.any(fell)
    # The walk's last step is at each eigenvector's ``top``: the flattest's is at its reach.
    at_reach = at_top[0]
    curved = (lam[0] > 0) & jnp.all(jnp.isfinite(at_reach) & (at_reach >= 0.25 * rise))
    return x, fx, _norm(newton), lam[0], jnp.max(jnp.abs(lam)), curved, falls_first


@_solver_jit(static_argnums=0)
def _newton_all(
    f: Callable, unit: jax.Array, extra: jax.Array, bounds: jax.Array
) -> tuple[jax.Array, ...]:
    lo, hi = bounds[:, 0], bounds[:, 1]
    starts = jnp.concatenate([lo + unit * (hi - lo), extra])
    # An infinite diameter would cap no step.
    diameter = _norm(hi - lo)
    return jax.vmap(lambda x0: _newton_run(f, x0, diameter))(starts)


#: What to do instead, said when find_minima_nd meets traced values.
_FIX_FIND_MINIMA_ND = (
    "find the minima once, outside, and pass them in (e.g. close over "
    "m = find_minima_nd(f, bounds), or pass minima=m to random_starts_nd); for one "
    "search per parameter value, loop over the values in Python."
)


@on_host("find_minima_nd", _FIX_FIND_MINIMA_ND)
def find_minima_nd(
    f: Callable[[jax.Array], jax.Array],
    bounds: Any,
    *,
    grid: int | None = None,
    tol: float | None = None,
    extra_starts: Any = None,
) -> MinimaND:
    """The local minima of ``f: R^d -> R`` in a box, by Newton's method from many starts.

    Newton runs from the centres of a ``grid^d`` lattice of cells over the box, all at once
    (``vmap``, one compiled call); see the step rule below. A run's end is a minimum when its
    remaining Newton step is at most ``tol`` (or 100 ulps of ``|x|``, where the float cannot place x
    closer) and its Hessian is positive definite: its smallest eigenvalue above ``100 eps`` of the
    largest, or, for a steeper valley than that, f rising on both sides along the flattest direction
    as the curvature says. Either way, walking out from the end along each eigenvector, f must not
    fall (past its rounding) on either side before it rises: a hair short of an inflection (the
    origin of ``x^4 - x^3 + y^2``) the Hessian is tiny and positive, yet f falls on one side, and
    that is no minimum. The ends within 10 times ``tol`` (or those 100 ulps) of each other are one
    minimum, the most precise kept; for an ``f`` that computes in a coarser float than the run
    (``g(x.astype(jnp.bfloat16))``, whatever dtype it returns), read from its jaxpr, that distance
    is at least one of that float's steps (relative to ``|x|``, absolute below 1), so ends within 10
    of them are one minimum (runs stop that far apart around one), and the minima tie as global to
    its rounding. Minima outside the box are dropped, unless found from ``extra_starts``. A run's
    end is inside when it lies within its own accuracy of the box: 10 times its remaining Newton
    step (never more than that distance), plus 2 floats of each edge, since a minimum on an edge can
    end that far past it. A minimum farther out is dropped however large ``tol`` is (with ``tol=1``
    a minimum 0.9 past the edge, reached exactly, is not kept).

    Every start descends: at a saddle or maximum the step follows the negative curvature
    downhill, and a backtracking line search only accepts steps that lower ``f`` (where the
    Hessian is positive definite and ``f`` is level to its rounding, far above how much it
    varies, as ``1e6 - cos(x) - cos(y)`` in float32, Newton's full step is taken if ``f``
    does not rise there: gradient and Hessian still see the minimum). A run that
    has not arrived after 100 iterations is dropped, as is a flat saddle where a run stopped
    (the origin of ``x^2 + y^3``: f does not rise on both sides); a minimum with a singular
    Hessian where f does rise (the origin of ``x^2 + y^4``) is kept, where runs arrive: along
    a direction flat to sixth order beside a curved one (``(x - 0.1)^6 + y^2``), the step is
    Newton's with the flat curvature floored at eps of the largest, and runs stall 2e-5 short
    in float64 (3e-3 in float32): not found unless ``tol`` allows that. Minima that are not
    isolated, a curve or surface along which f is constant (the circle of
    ``(x^2 + y^2 - 1)^2``), are each such a minimum along the straight line that
    touches them, and come back as many points along the curve (hundreds for the circle,
    one per cluster of runs' ends): their number says how finely the runs covered the
    curve, not how many minima f has. Minima that fill a straight line or a flat, along
    which f is constant (the line ``x = 0`` of ``x^2`` on the plane, the diagonal of
    ``(x - y)^2``), are not returned at all: f does not rise along the line, as at a flat
    saddle, and such an f has no minimum found. Only stationary points are minima: where f
    still falls past the box's edge (``x + y^2`` on ``[0, 1] x [-1, 1]``), the lowest point
    of the box is not returned, unlike the ends that :func:`jaxgd.find_minima` reports
    ``at_boundary`` in 1-D. A minimum at a kink, where the gradient jumps and the
    Hessian is 0 or undefined (the origin of ``|x| + |y|``, or of ``|x| + y^2``), is not
    found: Newton needs the curvature there. Search a smooth stand-in (``sqrt(x^2 + e)`` for
    ``|x|``), or use the 1-D :func:`jaxgd.find_minima` along each axis, which finds kinks.

    The compiled code is cached per ``f`` (by identity) and per number of starts: new bounds
    and a new ``tol`` compile nothing.

    Args:
        f: ``f(x) -> scalar`` for ``x`` of shape ``(d,)``, written with ``jax.numpy``.
        bounds: ``(d, 2)``: one ``(lo, hi)`` per coordinate, as many rows as f reads
            coordinates (``x`` has shape ``(d,)``; an f that reads a constant index past
            ``d - 1``, such as ``x[1]`` with one row, is refused: JAX would clamp it).
        grid: starts per coordinate; default as many as keep the total at most 4096 (64 per
            axis in 2-D, 16 in 3-D), at least 3. ``grid**d`` and the extra starts together
            are at most ``2**20`` (1,048,576 starts, about 1 KB each in 2-D: about 1 GB).
        tol: how far (in x) a run's end may still be from the stationary point; default
            ``sqrt(eps)`` of the working float (about 3e-4 in float32, 1.5e-8 in float64).
        extra_starts: more starts, shape ``(N, d)``, e.g. the final positions of a sweep's
            runs: the minima they lead to are kept wherever they lie, like
            :func:`jaxgd.minima.find_minima_reached` in 1-D. A row with a NaN or infinite
            coordinate (the end of a run that diverged) is skipped, not refused, as
            ``find_minima_reached`` ignores the non-finite entries of ``final``: a sweep's
            diverged runs are data, and its ends can be passed as they are. A finite
            coordinate the working float cannot hold (1e39 in float32, from a float64 run)
            is refused, as ``find_minima_reached`` and :func:`jaxgd.analysis.nearest_minimum`
            refuse it: no run of that precision ends there.

    Returns:
        A :class:`MinimaND`; empty (``K = 0``) when no start reached a minimum.

    Raises:
        TypeError: ``f`` does not map a ``(d,)`` vector to a real scalar, or cannot be
            differentiated; ``bounds`` or ``extra_starts`` hold other than real numbers
            (strings, complex numbers, booleans); called inside ``jax.jit``/``vmap``/``grad``.
        ValueError: ``bounds`` is not ``(d, 2)`` with ``lo < hi``, or a row the working
            float cannot hold (an end or ``hi - lo`` past its range, or both ends one number
            in it: float32 unless x64 is on); ``grid`` below 1; ``tol`` not positive;
            ``extra_starts`` not ``(N, d)``, or holding a finite value too large for the
            working float; more than ``2**20`` starts; ``f`` reads a
            constant index past ``d - 1`` (more coordinates than ``bounds`` has rows).

    Example:
        >>> import jax.numpy as jnp
        >>> m = find_minima_nd(lambda x: ((x - jnp.array([1.0, -2.0])) ** 2).sum(),
        ...                    [(-3, 3), (-3, 3)], grid=4)
        >>> m.x.tolist(), m.global_.tolist()
        ([[1.0, -2.0]], [True])
    """
    _refuse_in_trace("find_minima_nd", _FIX_FIND_MINIMA_ND)
    b = _as_bounds(bounds)
    d = b.shape[0]
    dtype = np.dtype(default_float())
    for i, (lo, hi) in enumerate(b.tolist()):
        check_span_fits(f"bounds[{i}]", lo, hi, dtype, what="grid")
    _check_nd_function(f, d, dtype)
    if grid is None:
        grid = max(3, math.floor(_DEFAULT_STARTS ** (1.0 / d) + 1e-9))
    else:
        grid = check_int("grid", grid, 1, fix="e.g. grid=32")
        if grid**d > _MAX_STARTS:
            most = math.floor(_MAX_STARTS ** (1.0 / d) + 1e-9)
            raise ValueError(
                f"grid={grid} gives grid**d = {grid**d:,} starts in {d} dimensions, more than "
                f"the 2**20 = {_MAX_STARTS:,} one search runs (about 1 KB each, 1 GB in all); "
                f"use grid <= {most} (or leave it out: the default keeps {_DEFAULT_STARTS}), "
                "or search smaller boxes one at a time"
            )
    tol = float(np.sqrt(np.finfo(dtype).eps)) if tol is None else tol
    tol = positive_float("tol", tol, example="1e-6")
    if extra_starts is None:
        extra = np.zeros((0, d), dtype)
    else:
        extra = _real_points("extra_starts", extra_starts, f"(N, {d})")
        check_in_range("extra_starts", extra, dtype)
        extra = extra.astype(dtype)
        if extra.ndim != 2 or extra.shape[1] != d:
            raise ValueError(
                f"extra_starts must have shape (N, {d}) for {d}-dimensional bounds; got "
                f"shape {extra.shape}"
            )
        extra = extra[np.all(np.isfinite(extra), axis=1)]
        if grid**d + extra.shape[0] > _MAX_STARTS:
            raise ValueError(
                f"extra_starts has {extra.shape[0]:,} finite starts, which with the grid's "
                f"{grid**d:,} exceed the 2**20 = {_MAX_STARTS:,} one search runs (about 1 KB "
                "each); pass a sample of them (distinct ends, e.g. "
                "np.unique(np.round(ends, 6), axis=0)[:4096]), or a smaller grid"
            )
        # Padding to a power of two (repeating the first start) keeps the shapes compiled few.
        n = extra.shape[0]
        if n:
            extra = np.concatenate([extra, np.repeat(extra[:1], _bucket(n) - n, axis=0)])
    unit = _unit_grid(grid, d).astype(dtype)
    x, value, step, lam_min, lam_max, curved, falls = _host_values(
        *_newton_all(f, jax.device_put(unit), jax.device_put(extra), b.astype(dtype))
    )
    eps = float(np.finfo(dtype).eps)
    eps_f = _f_eps(f, dtype, (d,))
    with np.errstate(invalid="ignore", over="ignore"):  # -inf past -1.8e308: still inside
        # How far an end may be from its stationary point: tol, or the float's resolution at
        # |x| where that is coarser (1000 in float32 is 6e-5 apart from its neighbours).
        size = np.abs(x).max(axis=1)
        scale = np.maximum(tol, 100.0 * eps * size)
        if eps_f > eps:
            # f computes in a coarser float than x (bfloat16 inside a float32 run): its
            # gradient and values round at that float's epsilon, and runs from different
            # starts stop up to a few of its steps apart around one minimum.
            scale = np.maximum(scale, eps_f * np.maximum(1.0, size))
        ok = (
            np.all(np.isfinite(x), axis=1)
            & np.isfinite(value)
            & (step <= scale)
            & ((lam_min > 100.0 * eps * lam_max) | curved)
            & ~falls
        )
        # A run's end lies within about its remaining Newton step of its stationary point, so
        # a minimum on an edge can end that far past it: the box reaches out by 10 such
        # steps (at most scale, what the search was asked for), and 2 floats at each edge,
        # whose float64 bound the working float may round past. Never by tol alone: a run
        # that arrived 0.9 outside the box, with tol = 1, has a step near 0 and is dropped.
        reach = np.minimum(scale, 10.0 * step)[:, None]
        edge = 2.0 * _ulp(np.abs(b).astype(dtype))  # the one below at the largest float
        inside = np.all(
            (x >= b[:, 0] - edge[:, 0] - reach) & (x <= b[:, 1] + edge[:, 1] + reach), axis=1
        )
    ok &= inside | (np.arange(x.shape[0]) >= unit.shape[0])
    x, value, scale, step = x[ok], value[ok], scale[ok], step[ok]
    # Duplicates: the end closest to its stationary point (smallest remaining Newton step)
    # stands for every end near it; one that stopped early would carry its error along.
    keep: list[int] = []
    kept = np.empty((0, d), x.dtype)
    for i in np.argsort(step, kind="stable"):
        with np.errstate(over="ignore"):  # ends near -1.7e308 and 1.7e308: inf apart
            apart = np.max(np.abs(kept - x[i]), axis=1)
        if not np.any(apart <= 10.0 * scale[i]):
            keep.append(int(i))
            kept = x[keep]
    idx = np.asarray(keep, int)
    x, value = x[idx].reshape(-1, d), value[idx]
    resolution = _resolution(f, x, value, reach=step[idx], eps_f=eps_f)
    return _assemble(x, value, scale=10.0 * scale[idx], resolution=resolution)


def grid_starts(bounds: Any, num: int | Sequence[int]) -> np.ndarray:
    """Starts on an even grid over a box: the ends included, the first coordinate fastest.

    The grid a basin map is drawn from (:func:`jaxgd.plotting.plot_basin_map` finds it again
    in ``result.starts``).

    Args:
        bounds: ``(d, 2)``: one ``(lo, hi)`` per coordinate.
        num: points per coordinate: one number for all, or one per coordinate; at most
            ``2**26`` coordinates in all (``prod(num) * d``: 512 MiB of float64, about
            three times that while it is built).

    Returns:
        A float64 array of shape ``(prod(num), d)``.

    Example:
        >>> grid_starts([(0, 1), (-1, 1)], (2, 3)).tolist()
        [[0.0, -1.0], [1.0, -1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    """
    b = _as_bounds(bounds)
    d = b.shape[0]
    nums = [num] * d if np.ndim(num) == 0 else list(num)
    if len(nums) != d:
        raise ValueError(f"num must give one count per coordinate ({d}); got {len(nums)}")
    nums = [check_int("num", n, 2, fix="e.g. num=200") for n in nums]
    size = math.prod(nums) * d
    if size > _MAX_GRID_COORDS:
        raise ValueError(
            f"num: a grid of {' x '.join(map(str, nums))} points of R^{d} holds {size:,} "
            f"coordinates, more than the 2**26 = {_MAX_GRID_COORDS:,} grid_starts returns "
            "(512 MiB of float64); use fewer points per coordinate (num=1000 in 2-D is a "
            "million starts)"
        )
    axes = [np.linspace(lo, hi, n) for (lo, hi), n in zip(b, nums, strict=True)]
    # indexing="xy" order reversed: the first coordinate varies fastest, row by row.
    mesh = np.meshgrid(*axes[::-1], indexing="ij")[::-1]
    return np.stack([m.ravel() for m in mesh], axis=-1)


def _check_minima(minima: Any) -> None:
    if not isinstance(minima, MinimaND):
        raise TypeError(
            f"minima must be a MinimaND, got {type(minima).__name__}; make one with "
            "jaxgd.minima_nd.find_minima_nd(f, bounds) or MinimaND.at(f, points)"
        )


def _check_tol(tol: Any) -> float:
    return positive_float("tol", tol, example="1e-3")


@jax.jit
def _labels(
    final: jax.Array, bad: jax.Array, x: jax.Array, is_global: jax.Array, tol: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Nearest minimum within ``tol`` of every point (Euclidean), one minimum at a time so the
    memory stays at the size of ``final``."""
    dtype = jnp.result_type(final, x)
    final, x = final.astype(dtype), x.astype(dtype)

    def step(carry, k):
        best, index = carry
        dist = jnp.sqrt(jnp.sum((final - x[k]) ** 2, axis=-1))
        closer = dist < best
        return (jnp.where(closer, dist, best), jnp.where(closer, k, index)), None

    start = (jnp.full(final.shape[:-1], jnp.inf, dtype), jnp.full(final.shape[:-1], -1))
    (best, index), _ = jax.lax.scan(step, start, jnp.arange(x.shape[0]))
    bad = bad | ~jnp.all(jnp.isfinite(final), axis=-1)
    near = (best <= tol) & ~bad
    label = jnp.where(near, index, NO_MINIMUM)
    label = jnp.where(bad, DIVERGED, label).astype(jnp.int32)
    return label, near & is_global[jnp.maximum(index, 0)]


#: What to do instead, said when nearest_minimum_nd meets traced values.
_FIX_NEAREST_MINIMUM_ND = (
    "label the concrete final positions the sweep returned, outside "
    "(nearest_minimum_nd(res.final, minima))."
)


@on_host("nearest_minimum_nd", _FIX_NEAREST_MINIMUM_ND)
def nearest_minimum_nd(final: Any, minima: MinimaND, *, tol: float = 1e-3) -> np.ndarray:
    """Which minimum each point ended within ``tol`` of (Euclidean distance): an index.

    Args:
        final: Points, shape ``(..., d)`` (e.g. ``result.final`` of a d-dimensional sweep).
        minima: From :func:`find_minima_nd` or :meth:`MinimaND.at`.
        tol: The distance that counts as "at" a minimum; positive.

    Returns:
        int32 labels of shape ``final.shape[:-1]``: the index into ``minima.x`` of the nearest
        minimum when it is within ``tol``; :data:`NO_MINIMUM` (-1) when none is;
        :data:`DIVERGED` (-2) where any coordinate is not finite.

    Raises:
        TypeError: ``minima`` is not a :class:`MinimaND`; ``final`` holds other than real
            numbers (strings, complex numbers, booleans).
        ValueError: ``final``'s last axis is not ``d``, or its rows differ in length, or it
            holds a finite value too large for the working float (1e39 in float32: no
            run of that precision ends there, so it is refused, not labelled diverged);
            ``tol`` not positive.

    Example:
        >>> m = MinimaND.at(lambda x: (x**2).sum(), [(0.0, 0.0)])
        >>> nearest_minimum_nd([[0.0, 1e-4], [1.0, 1.0], [float("inf"), 0.0]], m).tolist()
        [0, -1, -2]
    """
    _refuse_in_trace("nearest_minimum_nd", _FIX_NEAREST_MINIMUM_ND)
    _check_minima(minima)
    tol = _check_tol(tol)
    if isinstance(final, jax.core.Tracer):  # traced points (vmap, grad): name the fix
        _host_values(final)
    pts = _real_points("final", final, f"(..., {minima.dim})")
    if np.ndim(pts) < 1 or np.shape(pts)[-1] != minima.dim:
        raise ValueError(
            f"final must have shape (..., {minima.dim}) to match {minima.dim}-dimensional "
            f"minima; got shape {np.shape(pts)}"
        )
    check_in_range("final", pts, jax.dtypes.canonicalize_dtype(pts.dtype))
    return _label_all(pts, np.zeros(np.shape(pts)[:-1], bool), minima, tol)[0]


def _label_all(final: Any, bad: Any, minima: MinimaND, tol: float) -> tuple[np.ndarray, np.ndarray]:
    if len(minima) == 0:
        shape = np.shape(final)[:-1]
        label = np.where(
            np.asarray(bad) | ~np.all(np.isfinite(np.asarray(final)), axis=-1),
            DIVERGED,
            NO_MINIMUM,
        )
        return label.astype(np.int32), np.zeros(shape, bool)
    # Host float64 arrays outside x64 mode become the working float32, as jnp.asarray would.
    final, x = (
        np.asarray(
            a, jax.dtypes.canonicalize_dtype(np.result_type(np.asarray(a).dtype, np.float32))
        )
        if is_concrete(a)
        else a
        for a in (final, minima.x)
    )
    label, at_global = _labels(final, bad, x, minima.global_, tol)
    return np.array(label), np.array(at_global)


@partial(jax.tree_util.register_dataclass, data_fields=None, meta_fields=None)
@dataclasses.dataclass(frozen=True, eq=False)
class BasinsND:
    """Which minimum every run of a d-dimensional sweep ended at.

    Attributes:
        index: int32, the result's shape without ``"coord"``: an index into ``minima.x``,
            :data:`NO_MINIMUM` (-1) or :data:`DIVERGED` (-2).
        reached_global: True where ``index`` is a global minimum.
        dims: The axis names, the result's without ``"coord"``.
    """

    index: np.ndarray
    reached_global: np.ndarray
    dims: tuple[str, ...] = dataclasses.field(metadata={"static": True})

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``index``."""
        return tuple(self.index.shape)

    def share(self, k: int, *, over: str = "start") -> np.ndarray:
        """The share of runs along ``over`` whose label is ``k`` (a minimum, -1 or -2); NaN
        where ``over`` has no runs, as a mean of nothing."""
        label = whole_number(k)
        if label is None:
            # True was label 1 and 1.5 matched no run: a share of 0, silently.
            raise TypeError(
                f"k must be an int label (an index into minima.x, NO_MINIMUM or DIVERGED); "
                f"got {type(k).__name__} {k!r:.40}"
            )
        if over not in self.dims:
            raise ValueError(f"over={over!r} is not an axis; the axes are {list(self.dims)}")
        axis = self.dims.index(over)
        count = np.sum(np.asarray(self.index) == label, axis=axis)
        n = np.shape(self.index)[axis]
        # count / n, correctly rounded; NumPy's mean warned of an empty axis first.
        return count / n if n else np.full(count.shape, np.nan)


#: What to do instead, said when basins_nd meets traced values.
_FIX_BASINS_ND = "label the concrete result the sweep returned (basins_nd(res, minima))."


@on_host("basins_nd", _FIX_BASINS_ND)
def basins_nd(result: SweepResult, minima: MinimaND, *, tol: float = 1e-3) -> BasinsND:
    """Label every run of a d-dimensional sweep with the minimum it ended within ``tol`` of.

    A run is :data:`DIVERGED` when its position or value is not finite or its ``diverged`` flag
    is set; :data:`NO_MINIMUM` when it ended farther than ``tol`` from every minimum.

    Args:
        result: A :class:`~jaxgd.SweepResult` whose last dimension is ``"coord"``; or a
            sweep of R^1 whose ``"coord"`` axis was selected away (``squeeze()``).
        minima: From :func:`find_minima_nd` or :meth:`MinimaND.at`, of the same ``d``.
        tol: The distance that counts as "at" a minimum; positive.

    Returns:
        A :class:`BasinsND` with the result's dims, ``"coord"`` dropped.

    Raises:
        TypeError: ``result`` is not a SweepResult or ``minima`` not a MinimaND.
        ValueError: ``result`` has no ``"coord"`` dimension (a 1-D sweep: use
            :func:`jaxgd.basins`), its ``d`` differs from the minima's, or its coordinates
            were selected to other than whole points (``isel(coord=[0, 0])``; a reordering
            such as ``isel(coord=[1, 0])`` is read back in order).

    Example:
        >>> import jaxgd
        >>> from jaxgd.functions2d import saddle
        >>> m = MinimaND.at(saddle, [(0.0, -1.0), (0.0, 1.0)])
        >>> res = jaxgd.sweep(saddle, [[1.0, 0.5], [1.0, -0.5], [1.0, 0.0]], [0.1, 5.0], [300])
        >>> b = basins_nd(res, m)
        >>> b.dims, b.index[:, :, 0].tolist()
        (('start', 'learning_rate', 'epochs'), [[1, -2], [0, -2], [-1, -2]])
    """
    _refuse_in_trace("basins_nd", _FIX_BASINS_ND)
    if not isinstance(result, SweepResult):
        raise TypeError(
            f"result must be a SweepResult, got {type(result).__name__}; make one with "
            "jaxgd.sweep(f, starts of shape (S, d), learning_rates, epochs)"
        )
    _check_minima(minima)
    tol = _check_tol(tol)
    selected_away = "coord" not in result.dims and "coord" in result.coords
    if not selected_away and (not result.dims or result.dims[-1] != "coord"):
        raise ValueError(
            f"result must come from a d-dimensional sweep (last dimension 'coord'); its "
            f"dims are {list(result.dims)}. For a 1-D sweep use jaxgd.basins"
        )
    _host_values(result.final, result.value, result.diverged)
    final = _single_point(result) if selected_away else whole_points(result, "basins_nd")
    if final.shape[-1] != minima.dim:
        raise ValueError(
            f"result has d = {final.shape[-1]} but minima have d = {minima.dim}; find the "
            "minima of the same f (or, if coordinates were selected with isel(coord=...), "
            "use the result before)"
        )
    bad = np.asarray(result.diverged, bool) | ~np.isfinite(np.asarray(result.value))
    label, at_global = _label_all(final, bad, minima, tol)
    dims = result.dims if selected_away else result.dims[:-1]
    return BasinsND(index=label, reached_global=at_global, dims=tuple(dims))


def _single_point(result: SweepResult) -> np.ndarray:
    """``result.final`` as points of R^1, for a result whose ``"coord"`` axis was selected
    away (``squeeze()`` or ``isel(coord=0)``): whole points when the sweep was of R^1. Of
    more coordinates, one is no point, and basins_nd and jaxgd.basins each sent the caller
    to the other."""
    coord = np.asarray(result.coords["coord"])
    d = np.shape(result.starts)[-1] if np.ndim(result.starts) else None
    if d == 1 and coord.ndim == 0 and int(coord) == 0:
        return np.asarray(result.final)[..., None]
    of = f" of {d}" if d is not None else ""
    raise ValueError(
        f"basins_nd needs whole points of R^d, but the result's 'coord' axis was selected "
        f"away: final holds coordinate {coord.tolist()}{of} of x alone (isel(coord=...) or "
        "squeeze()); label the result before its coordinates were selected"
    )


def whole_points(result: SweepResult, what: str) -> np.ndarray:
    """``result.final`` as points of R^d: the ``"coord"`` axis in the order 0 .. d-1.

    Selecting on ``"coord"`` (``isel(coord=[1, 0])``) reorders or repeats the coordinates of
    ``final`` and records which in ``coords["coord"]``; read as points, such positions would
    be compared with the minima coordinate for the wrong coordinate. A permutation is put back
    in order; anything else (a repeat, a coordinate missing at the front) is refused.
    """
    final = np.asarray(result.final)
    coord = result.coords.get("coord")
    if coord is None:
        return final
    coord = np.asarray(coord)
    whole = np.arange(coord.shape[0]) if coord.ndim == 1 else None
    if whole is None or not np.array_equal(np.sort(coord), whole):
        raise ValueError(
            f"{what} needs whole points of R^d, but the result's 'coord' axis holds the "
            f"coordinates {np.ravel(coord).tolist()} of x (a selection such as "
            "isel(coord=...)); use the result before its coordinates were selected"
        )
    return final if np.array_equal(coord, whole) else final[..., np.argsort(coord)]


@dataclasses.dataclass(frozen=True, eq=False)
class RandomStartsND:
    """Where ``n`` random starts end, per (learning rate, epoch count).

    Attributes:
        share: ``(L, E, K)``: the share of the starts that reached each minimum.
        success: ``(L, E)``: the share that reached a global minimum.
        nowhere: ``(L, E)``: the share within ``tol`` of no minimum (not diverged).
        diverged: ``(L, E)``: the share that diverged.
        result: The sweep over the starts, dims ``("start", "learning_rate", "epochs",
            "coord")``.
        minima: The minima the runs were matched against.
    """

    share: np.ndarray
    success: np.ndarray
    nowhere: np.ndarray
    diverged: np.ndarray
    result: SweepResult
    minima: MinimaND


#: What to do instead, said when random_starts_nd meets traced values.
_FIX_RANDOM_STARTS_ND = (
    "call it on concrete arguments; for one call per parameter value, loop over the "
    "values in Python."
)


@on_host("random_starts_nd", _FIX_RANDOM_STARTS_ND)
def random_starts_nd(
    f: Callable[[jax.Array], jax.Array],
    key: Any,
    bounds: Any,
    learning_rates: Any,
    epochs: Any,
    *,
    n: int = 1000,
    minima: MinimaND | None = None,
    tol: float = 1e-3,
    **sweep_kwargs: Any,
) -> RandomStartsND:
    """Draw ``n`` starts uniformly over the box and count where descent takes them.

    One :func:`jaxgd.sweep` over the ``(n, d)`` starts at every rate and epoch count; every
    run is labelled by :func:`basins_nd`.

    Args:
        f: ``f(x) -> scalar`` for ``x`` of shape ``(d,)``.
        key: A ``jax.random`` key, e.g. ``jax.random.key(0)``.
        bounds: ``(d, 2)``, the box to draw from.
        learning_rates, epochs: As for :func:`jaxgd.sweep`.
        n: Number of random starts; more than the host's memory holds (the starts and
            their ``n * L * E`` results) is a ``MemoryError`` naming ``n``, before anything
            is drawn.
        minima: The minima to match against; default :func:`find_minima_nd` of ``f`` over
            ``bounds`` with the runs' ends as extra starts.
        tol: The distance that counts as "at" a minimum.
        **sweep_kwargs: Passed on to :func:`jaxgd.sweep` (``optimizer=`` one optimiser,
            ``schedule=``, ``chunk_size=``, ...); nothing that adds an axis (a dict of
            optimisers, ``hyperparams=``, ``params=``): ``ValueError``.

    Returns:
        A :class:`RandomStartsND`. Where no minimum is found (an ``f`` whose minima are
        kinks or fill a straight line, see :func:`find_minima_nd`), ``share`` is
        ``(L, E, 0)`` and ``success`` is 0.

    Raises:
        TypeError, ValueError: for a bad ``f``, ``key``, ``bounds``, ``n``, ``minima`` or
            ``tol``, for what :func:`jaxgd.sweep` would refuse of ``learning_rates``,
            ``epochs`` and ``sweep_kwargs`` (a keyword it does not take is a TypeError
            naming it), and for ``sweep_kwargs`` that add an axis (ValueError); all before
            the starts are drawn or anything is compiled.
        MemoryError: as :func:`jaxgd.sweep`, when the result would not fit in the host's
            available memory.

    Example:
        >>> import jax
        >>> from jaxgd.functions2d import saddle
        >>> m = MinimaND.at(saddle, [(0.0, -1.0), (0.0, 1.0)])
        >>> rs = random_starts_nd(saddle, jax.random.key(0), [(-2, 2), (-2, 2)], [0.1], [300],
        ...                       n=100, minima=m)
        >>> rs.share.shape, float(rs.success[0, 0])
        ((1, 1, 2), 1.0)
    """
    _refuse_in_trace("random_starts_nd", _FIX_RANDOM_STARTS_ND)
    b = _as_bounds(bounds)
    n = check_int("n", n, 1, fix="e.g. n=1000")
    tol = _check_tol(tol)
    if minima is not None:
        _check_minima(minima)
    for name, adds in (
        ("optimizer", isinstance(sweep_kwargs.get("optimizer"), Mapping)),
        ("hyperparams", bool(sweep_kwargs.get("hyperparams"))),
        ("params", sweep_kwargs.get("params") is not None),
    ):
        if adds:
            what = "a dict of optimisers" if name == "optimizer" else f"{name}="
            raise ValueError(
                f"random_starts_nd: {what} adds axes to the sweep, and its shares are per "
                "(learning rate, epochs) only; call it once per optimiser or value (e.g. "
                "optimizer=optax.adam), or run jaxgd.sweep and label it with basins_nd."
            )
    dtype = default_float()
    for i, (lo, hi) in enumerate(b.tolist()):
        check_span_fits(f"bounds[{i}]", lo, hi, dtype)
    key = as_key("key", key)
    # Drawing the starts compiles a program: what the sweep would refuse is refused first.
    # One start stands for the n (what is checked of starts is their shape past the first
    # axis and their dtype): n of them were allocated here before their size was checked.
    d = b.shape[0]
    check_arguments(f, np.zeros((1, d), dtype), learning_rates, epochs, **sweep_kwargs)
    n_rates, n_epochs = np.size(learning_rates), np.size(epochs)
    need = n * d * dtype.itemsize + _chunking.result_bytes(
        n, n_rates, n_epochs, dtype.itemsize, width=d
    )
    if need > _chunking.SMALL_CALL:
        _chunking.check_host_memory(
            need,
            f"random_starts_nd with n={n:,} ({n:,} starts of R^{d} x {n_rates} x {n_epochs} "
            "runs kept)",
            "Draw fewer starts n (repeat with other keys to average more).",
        )
    u = jax.random.uniform(key, (n, b.shape[0]), dtype)
    starts = jnp.asarray(b[:, 0], dtype) + u * jnp.asarray(b[:, 1] - b[:, 0], dtype)
    res = sweep(f, starts, learning_rates, epochs, **sweep_kwargs)
    if minima is None:
        (ends,) = _host_values(res.final)
        ends = ends.reshape(-1, b.shape[0])
        minima = find_minima_nd(f, b, extra_starts=_sample(ends))
    basins = basins_nd(res, minima, tol=tol)
    order = [basins.dims.index(d) for d in ("start", "learning_rate", "epochs")]
    index = np.transpose(basins.index, order)
    at_global = np.transpose(basins.reached_global, order)
    # np.stack of no arrays raises: with no minimum (K = 0) the shares are (L, E, 0).
    share = np.zeros((*index.shape[1:], len(minima)))
    for k in range(len(minima)):
        share[..., k] = (index == k).mean(axis=0)
    return RandomStartsND(
        share=share,
        success=at_global.mean(axis=0),
        nowhere=(index == NO_MINIMUM).mean(axis=0),
        diverged=(index == DIVERGED).mean(axis=0),
        result=res,
        minima=minima,
    )


def _sample(ends: np.ndarray, most: int = 4096) -> np.ndarray:
    """At most ``most`` distinct finite ends: Newton from all of a large sweep's is wasted."""
    ends = ends[np.all(np.isfinite(ends), axis=1)]
    ends = np.unique(np.round(ends, 6), axis=0)
    if ends.shape[0] > most:
        ends = ends[np.random.default_rng(0).choice(ends.shape[0], most, replace=False)]
    return ends
