"""jaxgd: gradient-descent parameter experiments in one compiled JAX call.

Give only ``f(x)``; ``jax.grad`` supplies the derivative. :func:`descend` runs one descent,
:func:`sweep` runs every (start, learning rate, epoch count) combination at once and returns a
:class:`SweepResult`. The submodules are attributes of the package: ``jaxgd.functions``,
``jaxgd.analysis`` and ``jaxgd.minima``, imported with it, and ``jaxgd.functions2d``,
``jaxgd.minima_nd``, ``jaxgd.derivative``, ``jaxgd.distributed``, ``jaxgd.plotting`` and
``jaxgd.cli``, which load on first use, so that importing jaxgd stays cheap and does not import
matplotlib.

>>> import jaxgd
>>> jaxgd.functions.names()[:2]
['notebook', 'double_well']
"""

import importlib as _importlib

from jaxgd import analysis as analysis
from jaxgd import functions as functions
from jaxgd import minima as minima
from jaxgd.analysis import Basins as Basins
from jaxgd.analysis import RandomStarts as RandomStarts
from jaxgd.analysis import basins as basins
from jaxgd.analysis import random_starts as random_starts
from jaxgd.analysis import success_probability as success_probability
from jaxgd.convergence import Convergence as Convergence
from jaxgd.convergence import convergence as convergence
from jaxgd.descend import descend as descend
from jaxgd.minima import Minima as Minima
from jaxgd.minima import find_minima as find_minima
from jaxgd.minima import find_minima_reached as find_minima_reached
from jaxgd.result import SweepResult as SweepResult
from jaxgd.result import load as load
from jaxgd.sweep import release_memory as release_memory
from jaxgd.sweep import sweep as sweep

__version__ = "0.1.0"

# Loaded on first attribute access (PEP 562): the submodules that import matplotlib, and those
# a sweep does not need, so that ``import jaxgd`` stays cheap.
_LAZY_SUBMODULES = ("cli", "plotting", "derivative", "distributed", "functions2d", "minima_nd")
_LAZY_NAMES = {"DerivativeCheck": "derivative", "check_derivative": "derivative"}


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        return _importlib.import_module(f"jaxgd.{name}")
    if name in _LAZY_NAMES:
        value = getattr(_importlib.import_module(f"jaxgd.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jaxgd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_NAMES))


__all__ = [
    "Basins",
    "Convergence",
    "DerivativeCheck",
    "Minima",
    "RandomStarts",
    "SweepResult",
    "analysis",
    "basins",
    "check_derivative",
    "convergence",
    "derivative",
    "descend",
    "distributed",
    "find_minima",
    "find_minima_reached",
    "functions",
    "functions2d",
    "load",
    "minima",
    "minima_nd",
    "random_starts",
    "release_memory",
    "success_probability",
    "sweep",
]
