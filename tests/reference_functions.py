"""Float64 NumPy twins of the library functions, with derivatives derived by hand.

Written independently of ``jaxgd.functions`` (NumPy, not jax.numpy; no autodiff), so tests
can check the library and everything built on it against them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Reference(NamedTuple):
    """``f`` and its hand-derived ``f'``, both NumPy and vectorised over float64 arrays."""

    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]


REFERENCE: dict[str, Reference] = {
    "notebook": Reference(
        lambda x: np.sin(x) * np.exp(-0.05 * x**2),
        lambda x: (np.cos(x) - 0.1 * x * np.sin(x)) * np.exp(-0.05 * x**2),
    ),
    "double_well": Reference(
        lambda x: x**4 - 2 * x**2 + 0.3 * x,
        lambda x: 4 * x**3 - 4 * x + 0.3,
    ),
    "rastrigin": Reference(
        lambda x: 10 + x**2 - 10 * np.cos(2 * np.pi * x),
        lambda x: 2 * x + 20 * np.pi * np.sin(2 * np.pi * x),
    ),
    "plateau": Reference(
        lambda x: 1 - np.exp(-(x**2)),
        lambda x: 2 * x * np.exp(-(x**2)),
    ),
    "steep_wall": Reference(
        lambda x: x**4 / 4 + x**2 / 2,
        lambda x: x**3 + x,
    ),
    "saddle": Reference(
        lambda x: x**4 / 4 - x**3 / 3,
        lambda x: x**3 - x**2,
    ),
}
