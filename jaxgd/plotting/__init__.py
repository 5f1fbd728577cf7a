"""Figures of gradient-descent experiments, from a function or a :class:`~jaxgd.SweepResult`.

Each ``plot_*`` function returns a matplotlib :class:`~matplotlib.figure.Figure` (made with
pyplot, so it shows inline in a notebook) and never calls ``plt.show()``: save it, show it or
close it as you like. Programs that only save figures can skip pyplot (and its import and
backend choice) with :func:`headless` or :func:`set_headless`; the experiments do. Functions
that draw one panel take ``ax=`` to draw into an existing axes instead.

Conventions, the same in every figure: the learning rate is on x and the epoch count on y
(origin lower left); an axis whose values are log-spaced (:func:`log_spaced`) is drawn on a
log scale (a map's epoch counts of 0 and log-spaced ones, such as 0, 10, 100, 1000, on a
scale linear up to the smallest positive count and log above it, matplotlib's ``symlog``),
unless a ``*_scale``/``xscale`` keyword says otherwise; an axis of learning rates
or epoch counts, all at or above 0, starts no lower than 0 (no margin below a rate of 0), and
a map of one rate or one count centres its cell on it; a minimum of f on a line has one
colour in every figure of the same minima: the global ones green (minima tied for lowest in
three shades of green), the others six colours in order of ``x``, repeating past six (basin
maps of the plane give touching basins different colours instead), and a legend names one
minimum per colour (the one most runs went to) and the rest in one entry per kind,
``N more local minima (colours repeat)``; a run that diverged (position or value not finite)
is never mapped to a colour but drawn in grey (maps) or as a red cross (curves), and counted
in the legend; colour limits come from the 2nd..98th percentile of the finite values, so one
outlier cannot wash out the picture (a map of 50 values or fewer, where that would trim no
whole value, from their min and max), unless given; runs are matched to minima by the rule
of :mod:`jaxgd.analysis` (pass minima from :func:`jaxgd.minima.find_minima_reached` so those
runs reached outside the domain count); and a footer in the lower right corner (the upper
right in :func:`plot_basin_maps`, whose legend spans the foot) says whether the numbers are
float32 or float64.

The maps live in :mod:`jaxgd.plotting.maps`, the curves in :mod:`jaxgd.plotting.curves`,
panels side by side along one dimension in :mod:`jaxgd.plotting.panels`, and the figures of
functions on the plane in :mod:`jaxgd.plotting.surfaces`.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import jax.numpy as jnp
    >>> import numpy as np
    >>> import jaxgd
    >>> from jaxgd import plotting
    >>> def f(x):
    ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
    >>> res = jaxgd.sweep(f, 0.0, np.linspace(1e-10, 0.1, 20), np.round(np.linspace(10, 500, 8)))
    >>> fig = plotting.plot_heatmap(res)
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['Learning rate', '']
    >>> plotting.close(fig)
"""

from jaxgd.plotting._common import DIVERGED_COLOR as DIVERGED_COLOR
from jaxgd.plotting._common import close as close
from jaxgd.plotting._common import color_limits as color_limits
from jaxgd.plotting._common import headless as headless
from jaxgd.plotting._common import is_headless as is_headless
from jaxgd.plotting._common import log_spaced as log_spaced
from jaxgd.plotting._common import set_headless as set_headless
from jaxgd.plotting.curves import plot_derivative_check as plot_derivative_check
from jaxgd.plotting.curves import plot_final as plot_final
from jaxgd.plotting.curves import plot_function as plot_function
from jaxgd.plotting.curves import plot_lines as plot_lines
from jaxgd.plotting.maps import plot_convergence as plot_convergence
from jaxgd.plotting.maps import plot_heatmap as plot_heatmap
from jaxgd.plotting.maps import plot_random_starts as plot_random_starts
from jaxgd.plotting.maps import rate_epochs_map as rate_epochs_map
from jaxgd.plotting.panels import plot_basins_along as plot_basins_along
from jaxgd.plotting.panels import plot_ends as plot_ends
from jaxgd.plotting.panels import plot_panels as plot_panels
from jaxgd.plotting.surfaces import basin_map as basin_map
from jaxgd.plotting.surfaces import plot_basin_map as plot_basin_map
from jaxgd.plotting.surfaces import plot_basin_maps as plot_basin_maps
from jaxgd.plotting.surfaces import plot_paths as plot_paths

__all__ = [
    "basin_map",
    "close",
    "color_limits",
    "headless",
    "is_headless",
    "log_spaced",
    "plot_basin_map",
    "plot_basin_maps",
    "plot_basins_along",
    "plot_convergence",
    "plot_derivative_check",
    "plot_ends",
    "plot_final",
    "plot_function",
    "plot_heatmap",
    "plot_lines",
    "plot_panels",
    "plot_paths",
    "plot_random_starts",
    "rate_epochs_map",
    "set_headless",
]
