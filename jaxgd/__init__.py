"""jaxgd: gradient-descent parameter experiments in one compiled JAX call.

Give only ``f(x)``; ``jax.grad`` supplies the derivative. :func:`descend` runs one descent,
:func:`sweep` runs every (start, learning rate, epoch count) combination at once and returns a
:class:`SweepResult`. Importing jaxgd does not import matplotlib: figures live in
``jaxgd.plotting``.
"""

from jaxgd.convergence import Convergence as Convergence
from jaxgd.convergence import convergence as convergence
from jaxgd.descend import descend as descend
from jaxgd.result import SweepResult as SweepResult
from jaxgd.result import load as load
from jaxgd.sweep import sweep as sweep

__version__ = "0.1.0"

__all__ = ["Convergence", "SweepResult", "convergence", "descend", "load", "sweep"]
