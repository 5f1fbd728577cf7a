"""Test helpers: float64 NumPy references with hand-written derivatives, tolerances, counters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True)
class Case:
    """A function, its NumPy twin and a derivative written by hand, for reference loops."""

    name: str
    f: Callable  # jax.numpy
    np_f: Callable  # numpy, float64
    np_df: Callable  # hand-derived f'
    starts: tuple[float, ...]
    rates: tuple[float, ...]


def _nb(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


def _quad(x):
    return 2.0 * (x - 1.0) ** 2


def _well(x):
    return x**4 - 2.0 * x**2 + 0.3 * x


def _plateau(x):
    return x**2 / (1.0 + x**2)


def _wavy(x):
    return jnp.cos(3.0 * x) + 0.1 * x**2


CASES = (
    # The notebook's function: two basins in [-5, 5], converges for every rate here.
    Case(
        "notebook",
        _nb,
        lambda x: np.sin(x) * np.exp(-0.05 * x**2),
        lambda x: np.cos(x) * np.exp(-0.05 * x**2) - 0.1 * x * np.sin(x) * np.exp(-0.05 * x**2),
        (-5.0, -1.0, 0.0, 1.6, 4.0),
        (1e-10, 0.01, 0.1, 0.5),
    ),
    # Curvature 4: rates above 0.5 grow |x - 1| geometrically until it overflows.
    Case(
        "quadratic",
        _quad,
        lambda x: 2.0 * (x - 1.0) ** 2,
        lambda x: 4.0 * (x - 1.0),
        (-3.0, 0.0, 2.5),
        (0.01, 0.3, 0.6, 0.9),
    ),
    # Tilted double well with a cubic wall: large starts or rates blow up in a few steps.
    Case(
        "double_well",
        _well,
        lambda x: x**4 - 2.0 * x**2 + 0.3 * x,
        lambda x: 4.0 * x**3 - 4.0 * x + 0.3,
        (-2.0, -0.2, 0.1, 1.5, 3.0),
        (0.001, 0.02, 0.1),
    ),
    # Plateau: the gradient vanishes far out, so distant starts barely move.
    Case(
        "plateau",
        _plateau,
        lambda x: x**2 / (1.0 + x**2),
        lambda x: 2.0 * x / (1.0 + x**2) ** 2,
        (-8.0, -0.5, 0.3, 3.0, 20.0),
        (0.05, 0.3, 1.0),
    ),
    # Many basins: cos(3x) + 0.1 x^2.
    Case(
        "wavy",
        _wavy,
        lambda x: np.cos(3.0 * x) + 0.1 * x**2,
        lambda x: -3.0 * np.sin(3.0 * x) + 0.2 * x,
        (-4.0, -1.0, 0.05, 2.0),
        (0.001, 0.01, 0.05),
    ),
)
CASE_IDS = [c.name for c in CASES]


# Functions that are not in jaxgd.functions, as an outside user would bring them: each with a
# NumPy twin and a derivative derived by hand. Rates keep float32 within its tolerance of the
# float64 loop over a few dozen steps, except where a run is meant to overflow.
def _quartic(x):
    return x**4 - 3.0 * x**2 + x


def _log_bowl(x):
    return jnp.log(1.0 + x**2)


def _x_tanh(x):
    return x * jnp.tanh(x)


def _piecewise(x):
    # A minimum at 1 where f'' jumps from 2 to 1; a cubic wall on the right.
    return jnp.where(x < 1.0, (x - 1.0) ** 2, 0.5 * (x - 1.0) ** 2 + (x - 1.0) ** 3)


def _cosh(x):
    return jnp.cosh(x - 0.3)


def _closing_over(a):
    def f(x):
        return a * (x - a) ** 2 + jnp.sin(a * x)

    return f


_A = 1.7
_closure = _closing_over(_A)

UNSEEN = (
    Case(
        "quartic",
        _quartic,
        lambda x: x**4 - 3.0 * x**2 + x,
        lambda x: 4.0 * x**3 - 6.0 * x + 1.0,
        (-2.0, -0.7, 0.0, 0.4, 1.3, 3.0),  # rate 0.1 from 3.0 overflows within a few steps
        (0.0, 0.01, 0.05, 0.1),
    ),
    Case(
        "log_bowl",
        _log_bowl,
        lambda x: np.log(1.0 + x**2),
        lambda x: 2.0 * x / (1.0 + x**2),
        (-4.0, -0.5, 0.0, 0.9, 2.5),
        (0.0, 0.1, 0.5),
    ),
    Case(
        "x_tanh",
        _x_tanh,
        lambda x: x * np.tanh(x),
        lambda x: np.tanh(x) + x * (1.0 - np.tanh(x) ** 2),
        (-3.0, -0.3, 0.0, 1.0, 2.0),
        (0.0, 0.1, 0.4),
    ),
    Case(
        "piecewise",
        _piecewise,
        lambda x: np.where(x < 1.0, (x - 1.0) ** 2, 0.5 * (x - 1.0) ** 2 + (x - 1.0) ** 3),
        lambda x: np.where(x < 1.0, 2.0 * (x - 1.0), (x - 1.0) + 3.0 * (x - 1.0) ** 2),
        (-2.0, 0.5, 1.0, 1.4, 2.0),
        (0.0, 0.05, 0.2),
    ),
    Case(
        "cosh",
        _cosh,
        lambda x: np.cosh(x - 0.3),
        lambda x: np.sinh(x - 0.3),
        (-3.0, -1.0, 0.3, 1.5, 3.0),
        (0.0, 0.05, 0.3),
    ),
    Case(
        "closure",
        _closure,
        lambda x: _A * (x - _A) ** 2 + np.sin(_A * x),
        lambda x: 2.0 * _A * (x - _A) + _A * np.cos(_A * x),
        (-2.0, 0.0, 1.0, 2.5),
        (0.0, 0.02, 0.1),
    ),
)
UNSEEN_IDS = [c.name for c in UNSEEN]


def not_differentiable(x):
    """x**3 through a ``while_loop``, which reverse-mode AD cannot differentiate: an f that
    fails on every shape, for the tests that a bad f is named first."""
    return jax.lax.while_loop(lambda c: c[0] < 2, lambda c: (c[0] + 1, c[1] * x), (0, x))[1]


def with_xla_default_options(jitted):
    """The program of a jitted function of ``f`` (static first argument) compiled with XLA's
    default options, for comparing with the options jaxgd passes (``_solver_jit``)."""
    return jax.jit(jitted.__wrapped__, static_argnums=0)


def reference_descend(np_df: Callable, x0: float, rate: float, epochs: int) -> float:
    """The notebook's loop, in float64, with a hand-written derivative."""
    x = np.float64(x0)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(epochs)):
            x = x - rate * np_df(x)
    return float(x)


def reference_sweep(np_df, starts, rates, epochs) -> np.ndarray:
    """Per-cell reference: every (start, rate, epochs) cell rerun from scratch."""
    out = np.empty((len(starts), len(rates), len(epochs)))
    for i, s in enumerate(starts):
        for j, r in enumerate(rates):
            for k, e in enumerate(epochs):
                out[i, j, k] = reference_descend(np_df, s, r, e)
    return out


def assert_close(actual, expected, *, rtol: float, atol: float = 0.0) -> None:
    """allclose on finite entries; non-finite entries must be non-finite on both sides."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    fin_a, fin_e = np.isfinite(actual), np.isfinite(expected)
    np.testing.assert_array_equal(fin_a, fin_e, err_msg="finite/non-finite cells differ")
    np.testing.assert_allclose(actual[fin_a], expected[fin_e], rtol=rtol, atol=atol)


def float32_tol(dtype) -> dict:
    """Tolerances for comparing a run in ``dtype`` against a float64 reference."""
    return {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 2e-4, "atol": 2e-4}


class CompileCounter:
    """Counts XLA compilations (via ``jax.log_compiles``) inside a ``with`` block."""

    def __init__(self) -> None:
        self.count = 0
        self.names: list[str] = []

    def __enter__(self):
        counter = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                msg = record.getMessage()
                if msg.startswith("Compiling "):
                    counter.count += 1
                    counter.names.append(msg.split(" with ")[0])

        self._handler = _Handler(level=logging.DEBUG)
        self._logger = logging.getLogger("jax")
        self._logger.addHandler(self._handler)
        self._ctx = jax.log_compiles()
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._ctx.__exit__(*exc)
        self._logger.removeHandler(self._handler)


def primitive_names(closed) -> set[str]:
    """The names of every primitive in a closed jaxpr, nested jaxprs included (the ones
    ``jaxgd.fastmath`` rewrites: jit, cond, while, scan, custom rules)."""
    from jaxgd import fastmath

    names = set()

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            names.add(eqn.primitive.name)
            for sub in fastmath.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(closed.jaxpr)
    return names
