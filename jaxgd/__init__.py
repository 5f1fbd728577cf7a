"""jaxgd: gradient-descent parameter experiments in one compiled JAX call.

Give only ``f(x)``; ``jax.grad`` supplies the derivative. :func:`descend` runs one descent,
:func:`sweep` runs every (start, learning rate, epoch count) combination at once and returns a
:class:`SweepResult`. Importing jaxgd does not import matplotlib: figures live in
``jaxgd.plotting``.
"""

from jaxgd import distributed as distributed
from jaxgd.analysis import Basins as Basins
from jaxgd.analysis import RandomStarts as RandomStarts
from jaxgd.analysis import basins as basins
from jaxgd.analysis import random_starts as random_starts
from jaxgd.analysis import success_probability as success_probability
from jaxgd.convergence import Convergence as Convergence
from jaxgd.convergence import convergence as convergence
from jaxgd.derivative import DerivativeCheck as DerivativeCheck
from jaxgd.derivative import check_derivative as check_derivative
from jaxgd.descend import descend as descend
from jaxgd.minima import Minima as Minima
from jaxgd.minima import find_minima as find_minima
from jaxgd.result import SweepResult as SweepResult
from jaxgd.result import load as load
from jaxgd.sweep import sweep as sweep

__version__ = "0.1.0"

__all__ = [
    "Basins",
    "Convergence",
    "DerivativeCheck",
    "Minima",
    "RandomStarts",
    "SweepResult",
    "basins",
    "check_derivative",
    "convergence",
    "descend",
    "distributed",
    "find_minima",
    "load",
    "random_starts",
    "success_probability",
    "sweep",
]
