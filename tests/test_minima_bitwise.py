"""find_minima computes the same bits as the implementation it replaced.

``_old_refine_all`` below is a frozen copy of the refinement as first written: ``vmap`` of a
``while_loop`` per bracket. The one in :mod:`jaxgd.minima` steps every bracket in one loop
and must give the same minima, bit for bit, for every library function, float32 and float64.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgd import functions, minima
from jaxgd.minima import find_minima, find_minima_reached

_MAX_ITER = 100

# ---- frozen copy of the original refinement (do not edit) ----


def _old_refine(
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
def _old_refine_all(
    f: Callable, a: jax.Array, b: jax.Array, g_a: jax.Array, tol: float
) -> tuple[jax.Array, jax.Array]:
    def fgh(x):
        (value, g), (_, h) = jax.jvp(jax.value_and_grad(f), (x,), (jnp.ones_like(x),))
        return value, g, h

    return jax.vmap(lambda a, b, g_a: _old_refine(fgh, a, b, g_a, tol))(a, b, g_a)


def _old_refine_all_fixed(f, a, b, v_a, g_a, tol):
    """The frozen refinement with the one fix made since: a bracket the loop never enters
    (too narrow for ``tol``, or f' = 0 at its end) reports f at its end ``v_a``, where the
    original reported its placeholder 0 (a wrong value, and a wrong global minimum)."""
    x, value = _old_refine_all(f, a, b, g_a, tol)
    unrefined = ~((b - a > tol * jnp.maximum(1.0, jnp.abs(a))) & (g_a != 0))
    return x, jnp.where(unrefined, v_a, value)


# ---- the comparisons ----


def bits(a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return a
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def same(new: minima.Minima, old: minima.Minima) -> None:
    for field in ("x", "value", "at_boundary", "global_index"):
        np.testing.assert_array_equal(bits(getattr(new, field)), bits(getattr(old, field)))


def both(monkeypatch: pytest.MonkeyPatch, search: Callable[[], minima.Minima]):
    """search() with today's refinement, then with the frozen one.

    search must build a new f each call, so that the second run reuses nothing compiled.
    """
    new = search()
    with monkeypatch.context() as m:
        m.setattr(minima, "_refine_all", _old_refine_all_fixed)
        old = search()
    return new, old


@pytest.mark.thorough
@pytest.mark.parametrize("name", functions.names())
@pytest.mark.parametrize("wide", [False, True])
def test_find_minima_equals_the_original_bit_for_bit(name, wide, request, monkeypatch):
    if wide:
        request.getfixturevalue("x64")
    fn = functions.get(name)
    lo, hi = fn.domain
    for num, tol in ((10_001, None), (301, None), (2001, 1e-3)):
        search = partial(
            lambda n, t: find_minima(lambda x: fn.f(x), lo - 1.0, hi + 0.5, num=n, tol=t), num, tol
        )
        new, old = both(monkeypatch, search)
        assert len(new) > 0
        same(new, old)


@pytest.mark.thorough
@pytest.mark.parametrize("name", functions.names())
@pytest.mark.parametrize("wide", [False, True])
def test_find_minima_reached_equals_the_original_bit_for_bit(name, wide, request, monkeypatch):
    if wide:
        request.getfixturevalue("x64")
    fn = functions.get(name)
    lo, hi = fn.domain
    width = hi - lo
    final = np.r_[np.linspace(lo - 0.3 * width, hi + 0.4 * width, 40), hi + 50 * width, np.nan]
    new, old = both(monkeypatch, lambda: find_minima_reached(lambda x: fn.f(x), final, fn.domain))
    same(new, old)
