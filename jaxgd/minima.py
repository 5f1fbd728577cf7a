"""Every local minimum of a 1-D function on an interval, refined with autodiff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd._validate import check_function, check_int, check_interval, positive_float

__all__ = ["Minima", "find_minima"]

_MIN_NUM = 3
_MAX_ITER = 100


@jax.tree_util.register_dataclass
@dataclass(frozen=True, eq=False)
class Minima:
    """The local minima of ``f`` on ``[lo, hi]``, in ascending order of ``x``.

    A pytree: its arrays are the leaves, so it passes through ``jax.jit`` and
    ``jax.tree_util`` functions.

    Attributes:
        x: Locations, ascending, shape ``(n,)``.
        value: ``f(x)``, shape ``(n,)``.
        at_boundary: ``True`` where the minimum is an end of the interval (``f' > 0`` at
            ``lo`` or ``f' < 0`` at ``hi``) rather than a stationary point.
        global_index: Index of the lowest value (the first on ties); ``-1`` when ``n == 0``.
    """

    x: jax.Array
    value: jax.Array
    at_boundary: jax.Array
    global_index: jax.Array

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def _require_nonempty(self) -> None:
        if len(self) == 0:
            raise ValueError(
                "f has no local minimum on the interval (it is flat there, or its minima "
                "are closer together than the grid spacing); check len(minima) first, or "
                "widen the interval or raise num"
            )

    @property
    def global_x(self) -> jax.Array:
        """Location of the lowest minimum. Raises ``ValueError`` if there is none."""
        self._require_nonempty()
        return self.x[self.global_index]

    @property
    def global_value(self) -> jax.Array:
        """``f`` at the lowest minimum. Raises ``ValueError`` if there is none."""
        self._require_nonempty()
        return self.value[self.global_index]


def _refine(
    fgh: Callable, a: jax.Array, b: jax.Array, g_a: jax.Array, tol: float
) -> tuple[jax.Array, jax.Array]:
    """Root x of g = f' in [a, b], where g(a) = g_a < 0 < g(b), and f(x).

    Newton on g, falling back to bisection whenever the Newton step leaves the bracket or
    fails to halve the step before last (Numerical Recipes' ``rtsafe``); the bracket keeps
    degenerate minima (f'' = 0, where Newton slows to linear) converging. x stays at an
    end of the bracket, so a bisection step always moves it.
    """

    def scale(x):
        return tol * jnp.maximum(1.0, jnp.abs(x))

    def cond(state):
        a, b, x, dx, _, _, g, _, it = state
        return (it < _MAX_ITER) & (jnp.abs(dx) > scale(x)) & (b - a > scale(x)) & (g != 0)

    def body(state):
        a, b, x, dx, dx_old, _, g, h, it = state
        x_newton = x - g / h
        bisect = (
            ~jnp.isfinite(x_newton)
            | ~((x_newton > a) & (x_newton < b))
            | (jnp.abs(2.0 * g) > jnp.abs(dx_old * h))
        )
        step = jnp.where(bisect, x - 0.5 * (a + b), g / h)
        x_new = x - step
        v_new, g_new, h_new = fgh(x_new)
        a = jnp.where(g_new < 0, x_new, a)
        b = jnp.where(g_new > 0, x_new, b)
        return a, b, x_new, step, dx, v_new, g_new, h_new, it + 1

    # Start at a with f'' unknown (0): the first step is a bisection.
    zero = jnp.zeros_like(a)
    state = (a, b, a, b - a, b - a, zero, g_a, zero, 0)
    _, _, x, _, _, value, *_ = jax.lax.while_loop(cond, body, state)
    return x, value


@partial(jax.jit, static_argnums=0)
def _grid_value_and_gradient(f: Callable, grid: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jax.vmap(jax.value_and_grad(f))(grid)


@partial(jax.jit, static_argnums=0)
def _refine_all(
    f: Callable, a: jax.Array, b: jax.Array, g_a: jax.Array, tol: float
) -> tuple[jax.Array, jax.Array]:
    def fgh(x):
        (value, g), (_, h) = jax.jvp(jax.value_and_grad(f), (x,), (jnp.ones_like(x),))
        return value, g, h

    return jax.vmap(lambda a, b, g_a: _refine(fgh, a, b, g_a, tol))(a, b, g_a)


def _bucket(n: int) -> int:
    """Pad the number of brackets to a power of two, so few shapes ever get compiled."""
    return max(8, 1 << (n - 1).bit_length())


def _brackets(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    """Grid indices bracketing sign changes of g from - to +, and the two end flags.

    Exact zeros are skipped over (a saddle's f' touches 0 without changing sign), but a
    non-finite value breaks a bracket: a pole between two grid points is not a minimum.
    """
    sign = np.sign(np.where(np.isfinite(g), g, np.nan))
    nonzero = np.flatnonzero(sign != 0)  # NaN != 0, so non-finite points are kept
    with np.errstate(invalid="ignore"):
        rising = (sign[nonzero[:-1]] < 0) & (sign[nonzero[1:]] > 0)
    left, right = nonzero[:-1][rising], nonzero[1:][rising]
    finite = np.isfinite(sign)
    # An end is a minimum when f rises away from it (after an exactly flat stretch, if any).
    lo_min = nonzero.size > 0 and finite[nonzero[0]] and sign[nonzero[0]] > 0
    hi_min = nonzero.size > 0 and finite[nonzero[-1]] and sign[nonzero[-1]] < 0
    return left, right, bool(lo_min), bool(hi_min)


def find_minima(
    f: Callable[[jax.Array], jax.Array],
    lo: float,
    hi: float,
    *,
    num: int = 10_001,
    tol: float | None = None,
) -> Minima:
    """Find every local minimum of a scalar function ``f`` on ``[lo, hi]``.

    ``f'`` (from ``jax.grad``) is evaluated on ``num`` evenly spaced points; each sign
    change from - to + brackets one interior minimum, which is refined by Newton's method
    on ``f'`` (``f''`` from ``jax.grad`` again) safeguarded by bisection inside the
    bracket, so degenerate minima (``f'' = 0``) still converge. An end of the interval is
    reported as a minimum, flagged in ``at_boundary``, when ``f`` rises away from it
    (``f'(lo) > 0`` or ``f'(hi) < 0``). Saddles, where ``f'`` touches 0 without changing
    sign, are not minima.

    Works in JAX's default float dtype, float32, where minima come out to about 1e-7
    relative; with ``jax.config.update("jax_enable_x64", True)`` (or inside
    ``jax.enable_x64(True)``) the grid is float64 and they come out to about 1e-12.

    Limits: minima closer together than the grid spacing ``(hi - lo) / (num - 1)`` can be
    missed, and where ``f'`` is pure rounding noise (a numerically flat region) its sign
    changes can report spurious minima. A flat ``f`` has no minima: the result is empty,
    and ``global_x`` / ``global_value`` raise ``ValueError`` rather than return NaN.

    ``f`` must have a continuous ``f'`` on ``[lo, hi]``: a pole between two grid points
    can look like a sign change.

    Not jittable (the number of minima depends on the values of ``f``); call it on
    concrete inputs. The compiled code is cached per ``f`` (by identity), so calling
    again with the same ``f`` and ``num`` does not recompile. The result is a pytree of
    JAX arrays.

    Args:
        f: Scalar-to-scalar function written with ``jax.numpy``, differentiable twice.
        lo: Left end of the interval, finite.
        hi: Right end of the interval, finite, greater than ``lo``.
        num: Number of grid points on which ``f'`` is scanned for sign changes, >= 3.
        tol: Relative tolerance of each refined minimum, on ``x`` (absolute for
            ``|x| < 1``). Default: 4 machine epsilons of the working dtype.

    Returns:
        A :class:`Minima` with the minima in ascending order.

    Raises:
        TypeError: If ``f`` is not callable, cannot be traced (NumPy calls, Python
            branches on ``x``) or returns complex or integer values, or an argument has
            the wrong type.
        ValueError: If ``f`` returns a non-scalar, ``lo``/``hi`` are not finite with
            ``lo < hi``, ``num < 3`` or ``tol`` is not positive.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd.minima import find_minima
        >>> m = find_minima(lambda x: jnp.sin(x) * jnp.exp(-0.05 * x**2), -6.0, 6.0)
        >>> len(m)
        3
        >>> round(float(m.global_x), 4), round(float(m.global_value), 4)
        (-1.4289, -0.8939)
        >>> [round(x, 4) for x in m.x.tolist()]
        [-6.0, -1.4289, 4.3058]
        >>> m.at_boundary.tolist()  # f rises away from -6, so that end is a minimum too
        [True, False, False]
    """
    lo_f, hi_f = check_interval(lo, hi)
    num = check_int("num", num, _MIN_NUM, fix="use a denser grid")
    dtype = jnp.dtype(jnp.result_type(float))
    if tol is None:
        tol_f = 4.0 * float(jnp.finfo(dtype).eps)
    else:
        tol_f = positive_float("tol", tol, example="1e-6")
    check_function(f, dtype)

    # Host-side NumPy for the bookkeeping: only the two jitted kernels ever compile.
    grid = np.linspace(lo_f, hi_f, num).astype(dtype)
    values, g = map(np.asarray, _grid_value_and_gradient(f, grid))
    left, right, lo_min, hi_min = _brackets(g)

    n = left.size
    if n:
        # Padding brackets [lo, lo] have zero width, so they stop at once.
        pad = np.zeros(_bucket(n) - n, int)
        left, right = np.concatenate([left, pad]), np.concatenate([right, pad])
        x_in, value_in = _refine_all(f, grid[left], grid[right], g[left], tol_f)
        x_in, value_in = np.asarray(x_in)[:n], np.asarray(value_in)[:n]
    else:  # Nothing to refine: skip compiling the refinement for this f.
        x_in, value_in = grid[:0], values[:0]
    head, tail = slice(0, int(lo_min)), slice(num - int(hi_min), num)
    x = np.concatenate([grid[head], x_in, grid[tail]])
    value = np.concatenate([values[head], value_in, values[tail]])
    boundary = np.concatenate(
        [np.ones(int(lo_min), bool), np.zeros(n, bool), np.ones(int(hi_min), bool)]
    )
    # f can still be non-finite at a refined point (a singularity inside a bracket).
    keep = np.isfinite(value)
    x, value, boundary = x[keep], value[keep], boundary[keep]
    index = int(np.argmin(value)) if x.size else -1
    # device_put, unlike jnp.asarray, compiles nothing for a new shape.
    return Minima(
        x=jax.device_put(x),
        value=jax.device_put(value),
        at_boundary=jax.device_put(boundary),
        global_index=jax.device_put(np.int32(index)),
    )
