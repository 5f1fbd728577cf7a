"""What every figure shares: colours, labels, limits, cell edges and the figure itself."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from jaxgd.analysis import global_minima
from jaxgd.result import SweepResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from jaxgd.minima import Minima

_LABEL = {
    "start": "Starting guess x₀",
    "learning_rate": "Learning rate",
    "epochs": "Training epochs",
}
#: Colour of cells and points whose run diverged: outside every colour map used here.
DIVERGED_COLOR = "0.55"
_GLOBAL_COLOR = "tab:green"
_OUTLINE_COLOR = "tab:red"
_OTHER_COLORS = ("tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


#: Cells of runs that did not settle: light, hatched, so they read as "no value" next to any
#: colour map and next to the solid grey of diverged runs.
_UNSETTLED = {"facecolor": "0.93", "edgecolor": "0.45", "hatch": "////"}


def _subplots(*args: Any, **kwargs: Any) -> tuple[Figure, Any]:
    # pyplot only here: importing jaxgd.plotting must not pick a GUI backend by itself.
    import matplotlib.pyplot as plt

    return plt.subplots(*args, layout="constrained", **kwargs)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.get_figure(), ax
    return _subplots(figsize=figsize)


def close(fig: Figure) -> None:
    """Close a figure made here (frees its memory in pyplot's registry)."""
    import matplotlib.pyplot as plt

    plt.close(fig)


def color_limits(
    values: Any,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    robust: bool = True,
    percentiles: tuple[float, float] = (2.0, 98.0),
) -> tuple[float, float]:
    """Colour limits for ``values``: given ones win, else percentiles of the finite values.

    Args:
        values: any array; NaN and inf (diverged runs) are ignored.
        vmin, vmax: fixed limits; either one overrides the data.
        robust: use ``percentiles`` of the finite values rather than their min and max.
        percentiles: the low and high percentile for ``robust``.

    Returns:
        ``(lo, hi)`` with ``lo < hi`` (a constant image gets a small symmetric range).

    Raises:
        ValueError: ``vmin >= vmax``.

    Example:
        >>> lo, hi = color_limits(np.r_[np.linspace(0.0, 1.0, 99), 1e6])  # one outlier
        >>> round(lo, 2), round(hi, 2)
        (0.02, 0.99)
        >>> color_limits([1.0, 2.0, np.inf], robust=False)
        (1.0, 2.0)
    """
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin must be below vmax; got vmin={vmin:g}, vmax={vmax:g}.")
    arr = np.asarray(values, dtype=np.float64).ravel()
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        lo, hi = 0.0, 1.0
    elif robust:
        lo, hi = (float(v) for v in np.percentile(finite, percentiles))
    else:
        lo, hi = float(finite.min()), float(finite.max())
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    if not lo < hi:
        if vmin is not None:
            hi = lo + max(abs(lo) * 1e-3, 1e-6)
        elif vmax is not None:
            lo = hi - max(abs(hi) * 1e-3, 1e-6)
        else:
            pad = max(abs(lo) * 1e-3, 1e-6)
            lo, hi = lo - pad, hi + pad
    return lo, hi


def _global_set(minima: Minima | None) -> set[int]:
    return set() if minima is None else set(global_minima(minima).tolist())


def _minimum_colors(minima: Minima | None) -> dict[int, str]:
    colors, others = {}, iter(_OTHER_COLORS * 10)
    best = _global_set(minima)
    if minima is not None:
        for i in np.flatnonzero(~np.asarray(minima.at_boundary)):
            colors[int(i)] = _GLOBAL_COLOR if i in best else next(others)
    return colors


def _describe_minimum(minima: Minima, i: int) -> str:
    kind = "global minimum" if i in global_minima(minima) else "local minimum"
    return f"{kind} x = {float(minima.x[i]):.5g}"


@partial(jax.jit, static_argnums=0)
def _f_and_grad(f: Callable, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jax.vmap(f)(x), jax.vmap(jax.grad(f))(x)


def _one_axis(res: SweepResult) -> SweepResult:
    r = res.squeeze()
    if len(r.dims) != 1:
        raise ValueError(
            "res must have exactly one axis longer than 1 to plot against; its axes are "
            f"{dict(zip(res.dims, res.shape, strict=False))}. Select the rest first, e.g. "
            "res.sel(learning_rate=0.01, epochs=1000)."
        )
    return r


def _fixed_coords(res: SweepResult) -> str:
    parts = []
    if "start" not in res.dims and np.ndim(res.starts) == 0:
        parts.append(f"from x₀ = {float(res.starts):g}")
    if "learning_rate" not in res.dims and np.ndim(res.learning_rates) == 0:
        parts.append(f"at learning rate {float(res.learning_rates):g}")
    if "epochs" not in res.dims and np.ndim(res.epochs) == 0:
        parts.append(f"after {int(res.epochs)} epochs")
    return ", ".join(parts)


def _rate_epochs(res: SweepResult) -> SweepResult:
    if "start" in res.dims and res.sizes["start"] == 1:
        res = res.isel(start=0)
    if res.dims != ("learning_rate", "epochs"):
        raise ValueError(
            "res must have a learning_rate and an epochs axis (one start); its axes are "
            f"{dict(zip(res.dims, res.shape, strict=False))}. Pick one start first, e.g. "
            "res.sel(start=0.0)."
        )
    return res


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres ``v`` (half-way between neighbours)."""
    if v.size == 1:
        half = 0.5 * max(abs(float(v[0])), 1.0)
        return np.array([v[0] - half, v[0] + half])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def _ylim(values: np.ndarray) -> tuple[float, float]:
    # Full data range, unless a few runs flung far away would squash every other line.
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    rlo, rhi = color_limits(values)
    if hi - lo > 3 * (rhi - rlo) > 0:
        lo, hi = rlo, rhi
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(lo) * 0.05, 0.05)
    return lo - pad, hi + pad


def _cells(ax: Axes, x_edges: np.ndarray, y_edges: np.ndarray, mask: np.ndarray, **style) -> None:
    """Fill the cells where ``mask`` (shape ``(len(y), len(x))``) is True with one style."""
    from matplotlib.colors import ListedColormap

    if not mask.any():
        return
    face = style.pop("facecolor")
    ax.pcolor(
        x_edges,
        y_edges,
        np.ma.masked_array(np.zeros(mask.shape), ~mask),
        cmap=ListedColormap([face]),
        linewidth=0,
        **style,
    )
