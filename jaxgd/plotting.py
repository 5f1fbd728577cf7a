"""Figures of gradient-descent experiments, from a function or a :class:`~jaxgd.SweepResult`.

Each ``plot_*`` function returns a matplotlib :class:`~matplotlib.figure.Figure` (made with
pyplot, so it shows inline in a notebook) and never calls ``plt.show()``: save it, show it or
close it as you like. Functions that draw one panel take ``ax=`` to draw into an existing
axes instead.

Conventions, the same in every figure: the learning rate is on x and the epoch count on y
(origin lower left); a run that diverged is never mapped to a colour but drawn in grey (maps)
or as a red cross (curves), and counted in the legend; colour limits come from the 2nd..98th
percentile of the finite values, so one outlier cannot wash out the picture, unless given.

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

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd.analysis import global_minima, nearest_minimum
from jaxgd.result import SweepResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.figure import Figure

    from jaxgd.convergence import Convergence
    from jaxgd.derivative import DerivativeCheck
    from jaxgd.minima import Minima

__all__ = [
    "close",
    "color_limits",
    "plot_convergence",
    "plot_derivative_check",
    "plot_final",
    "plot_function",
    "plot_heatmap",
    "plot_lines",
    "plot_random_starts",
    "rate_epochs_map",
]

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


def plot_function(
    f: Callable[[jax.Array], jax.Array],
    domain: tuple[float, float],
    *,
    points: Sequence[float] = (),
    start: float | None = None,
    num: int = 401,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """f and its derivative (from ``jax.grad``) over ``domain``, with points marked on both.

    The notebook's first figure: each point in ``points`` (e.g. where descent ended) is a red
    dot on f and on f'. The drawn range widens to include the points and ``start``.

    Args:
        f: ``f(x) -> scalar`` written with ``jax.numpy``.
        domain: ``(lo, hi)`` to draw.
        points: x positions to mark, e.g. the minimum found.
        start: where descent started, drawn as an open circle on f.
        num: number of x values drawn (the notebook's 401).
        title: axes title.
        ax: draw into this axes instead of a new figure.

    Returns:
        The figure.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> fig = plot_function(jnp.cos, (-3.0, 3.0), points=[3.14159])
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['f(x)', "f'(x) (autodiff)", 'minimum found']
        >>> close(fig)
    """
    lo, hi = (float(v) for v in domain)
    marks = [float(p) for p in points]
    extra = [v for v in (*marks, start) if v is not None and np.isfinite(v)]
    if extra:
        span = hi - lo
        lo = min(lo, min(extra) - 0.03 * span)
        hi = max(hi, max(extra) + 0.03 * span)
    x = jnp.linspace(lo, hi, num)
    fx, dfx = _f_and_grad(f, x)
    at = np.asarray([*marks, start if start is not None else 0.0])
    f_at, df_at = (np.asarray(v) for v in _f_and_grad(f, jnp.asarray(at, x.dtype)))
    fig, ax = _axes(ax, (7.0, 4.5))
    ax.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    ax.plot(x, fx, label="f(x)", color="tab:blue")
    ax.plot(x, dfx, "--", label="f'(x) (autodiff)", color="tab:orange")
    if start is not None:
        ax.plot(start, f_at[-1], "o", mfc="white", mec="k", label="start")
    for k, p in enumerate(marks):
        label = "minimum found" if k == 0 else None
        ax.plot([p, p], [f_at[k], df_at[k]], "ro", label=label)
    ax.set_xlim(lo, hi)
    ax.grid(alpha=0.4)
    ax.set(xlabel="x", ylabel="f(x) and f'(x)")
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    return fig


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


def plot_final(
    res: SweepResult,
    *,
    minima: Minima | None = None,
    tol: float = 1e-3,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """The final guess against the one swept axis (start, learning rate or epochs).

    The notebook's Experiments 1 and 2. With ``minima``, each point is coloured by the local
    minimum it ended within ``tol`` of (grey: none), and the minima reached are dashed lines;
    the legend counts the runs of each kind. Diverged runs are red crosses on the x axis.

    Args:
        res: a sweep with exactly one axis longer than 1.
        minima: the local minima of f (:func:`jaxgd.minima.find_minima`), or None.
        tol: distance within which a run counts as having reached a minimum.
        title: axes title; by default says what was held fixed.
        ax: draw into this axes instead of a new figure.

    Returns:
        The figure.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jaxgd
        >>> res = jaxgd.sweep(jnp.cos, jnp.linspace(1.0, 5.0, 9), 0.1, 200)
        >>> fig = plot_final(res)
        >>> fig.axes[0].get_xlabel(), fig.axes[0].get_title()
        ('Starting guess x₀', 'Final guess at learning rate 0.1, after 200 epochs')
        >>> close(fig)
    """
    r = _one_axis(res)
    (dim,) = r.dims
    x = np.asarray(r.coord(dim), np.float64)
    y = np.asarray(r.final, np.float64)
    diverged = np.asarray(r.diverged) | ~np.isfinite(y)
    fig, ax = _axes(ax, (7.0, 4.5))
    ax.plot(x[~diverged], y[~diverged], "-", color="0.75", zorder=1)
    which = nearest_minimum(y, minima, tol=tol) if minima is not None else np.full(y.shape, -1)
    colors = _minimum_colors(minima)
    # Every minimum some run reached, and the global one even if none did.
    shown = set(which[~diverged].tolist()) | _global_set(minima)
    for i in sorted(i for i in shown if i in colors):
        hit = (which == i) & ~diverged
        label = f"{_describe_minimum(minima, i)} ({int(hit.sum())} of {y.size})"
        ax.axhline(float(minima.x[i]), color=colors[i], linestyle="--", linewidth=1, zorder=0)
        ax.plot(x[hit], y[hit], "s", color=colors[i], markersize=5, label=label, zorder=2)
    rest = (which == -1) & ~diverged
    if rest.any():
        label = (
            f"not within {tol:g} of a minimum ({int(rest.sum())} of {y.size})"
            if minima is not None
            else "final guess"
        )
        ax.plot(x[rest], y[rest], "s", color="0.45", markersize=5, label=label, zorder=2)
    if diverged.any():
        ax.plot(
            x[diverged],
            np.zeros(int(diverged.sum())),
            "x",
            color="red",
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            label=f"diverged ({int(diverged.sum())} of {y.size})",
        )
    ax.grid(alpha=0.4)
    ax.set(xlabel=_LABEL[dim], ylabel="Final guess x")
    ax.set_title(title if title is not None else f"Final guess {_fixed_coords(r)}".strip())
    ax.legend(loc="best", fontsize="small")
    return fig


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


def rate_epochs_map(
    ax: Axes,
    values: Any,
    learning_rates: Any,
    epochs: Any,
    *,
    label: str,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    robust: bool = True,
    bad: Any = None,
    bad_label: str = "diverged",
    outline: Any = None,
    outline_label: str = "",
) -> Colorbar:
    """Draw a (learning rate, epochs) map of ``values`` into ``ax``, with a colour bar.

    Rate on x, epochs on y, origin lower left, one cell per grid point centred on it (axes in
    any order; duplicates are drawn once). Cells that are not finite, or flagged in ``bad``,
    are drawn in grey and counted in a legend entry; values beyond the colour limits get
    arrows on the colour bar.

    Args:
        ax: the axes to draw into.
        values: shape ``(L, E)``.
        learning_rates: shape ``(L,)``.
        epochs: shape ``(E,)``.
        label: colour bar label (what the colour means, with units).
        cmap: a matplotlib colour map name.
        vmin, vmax, robust: colour limits, see :func:`color_limits`.
        bad: optional boolean mask ``(L, E)`` of cells to grey out (e.g. diverged).
        bad_label: legend text for the grey cells.
        outline: optional boolean mask ``(L, E)``: a red line is drawn around its cells
            (e.g. those that reached a minimum).
        outline_label: legend text for ``outline``.

    Returns:
        The colour bar.
    """
    import matplotlib as mpl
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    values = np.asarray(values, np.float64)
    rates = np.asarray(learning_rates, np.float64).ravel()
    counts = np.asarray(epochs, np.float64).ravel()
    if values.shape != (rates.size, counts.size):
        raise ValueError(
            f"values must have shape (len(learning_rates), len(epochs)) = "
            f"{(rates.size, counts.size)}; got {values.shape}."
        )
    grey = ~np.isfinite(values)
    if bad is not None:
        grey |= np.asarray(bad, bool)
    lo, hi = color_limits(np.where(grey, np.nan, values), vmin=vmin, vmax=vmax, robust=robust)
    rates_u, ri = np.unique(rates, return_index=True)
    counts_u, ci = np.unique(counts, return_index=True)
    shown = np.ma.masked_array(values, grey)[np.ix_(ri, ci)]
    cm = mpl.colormaps[cmap].with_extremes(bad=DIVERGED_COLOR)
    mesh = ax.pcolormesh(
        _edges(rates_u), _edges(counts_u), shown.T, cmap=cm, vmin=lo, vmax=hi, shading="flat"
    )
    finite = values[~grey]
    below, above = bool((finite < lo).any()), bool((finite > hi).any())
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max"}.get(
        (below, above), "both"
    )
    cbar = ax.get_figure().colorbar(mesh, ax=ax, label=label, extend=extend)
    ax.set(xlabel="Learning rate", ylabel="Training epochs")
    handles = []
    if outline is not None:
        inside = np.asarray(outline, bool)[np.ix_(ri, ci)]
        # A contour needs a 2-D grid with cells on both sides of the line.
        if min(inside.shape) > 1 and inside.any() and not inside.all():
            ax.contour(
                rates_u, counts_u, inside.T.astype(float), levels=[0.5], colors=_OUTLINE_COLOR
            )
            handles.append(Line2D([], [], color=_OUTLINE_COLOR, label=outline_label))
    if grey.any():
        handles.append(Patch(color=DIVERGED_COLOR, label=f"{bad_label} ({int(grey.sum())} cells)"))
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize="small", framealpha=0.9)
    return cbar


def plot_heatmap(
    res: SweepResult,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    robust: bool = True,
    target: float | None = None,
    tol: float = 1e-3,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """The final guess over (learning rate, epochs), from one start: Experiment 3's image.

    Args:
        res: a sweep with one start (or the start axis dropped), a learning_rate and an
            epochs axis.
        vmin, vmax: colour limits; by default the 2nd and 98th percentiles of the finite
            values (``robust=False``: their min and max).
        robust: see ``vmin``.
        target: optional x, e.g. the minimum descent heads for: a red line then encloses
            the cells that ended within ``tol`` of it.
        tol: see ``target``.
        title: axes title; by default names the start.
        ax: draw into this axes instead of a new figure.

    Returns:
        The figure; its colour bar is the second axes.
    """
    r = _rate_epochs(res)
    fig, ax = _axes(ax, (7.0, 5.0))
    rate_epochs_map(
        ax,
        r.final,
        r.learning_rates,
        r.epochs,
        label="Final guess x",
        vmin=vmin,
        vmax=vmax,
        robust=robust,
        bad=r.diverged,
        outline=None if target is None else np.abs(np.asarray(r.final) - target) <= tol,
        outline_label=f"within {tol:g} of x = {target:.5g}" if target is not None else "",
    )
    ax.set_title(title if title is not None else f"Final guess {_fixed_coords(r)}")
    return fig


def plot_lines(
    res: SweepResult,
    *,
    minima: Minima | None = None,
    tol: float = 1e-3,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """The final guess against the learning rate, one line per epoch count (coloured by it).

    Experiment 3's second figure: how fast each rate gets there, for each training length.
    With ``minima``, the local minima that some run ends within ``tol`` of are dashed
    reference lines.

    Args:
        res: as for :func:`plot_heatmap`.
        minima: the local minima of f, or None.
        tol: distance within which a run counts as having reached a minimum.
        title: axes title; by default names the start.
        ax: draw into this axes instead of a new figure.

    Returns:
        The figure; its colour bar (epochs) is the second axes.
    """
    import matplotlib as mpl

    r = _rate_epochs(res)
    rates = np.asarray(r.learning_rates, np.float64)
    counts = np.asarray(r.epochs, np.float64)
    final = np.asarray(r.final, np.float64)
    diverged = np.asarray(r.diverged) | ~np.isfinite(final)
    order = np.argsort(rates)
    fig, ax = _axes(ax, (7.0, 5.0))
    norm = mpl.colors.Normalize(counts.min(), counts.max() if counts.max() > counts.min() else 1)
    cmap = mpl.colormaps["viridis"]
    for k in np.argsort(counts):
        y = np.where(diverged[:, k], np.nan, final[:, k])
        ax.plot(rates[order], y[order], color=cmap(norm(counts[k])), linewidth=1)
    if minima is not None:
        which = nearest_minimum(final, minima, tol=tol)
        colors = _minimum_colors(minima)
        for i in sorted(set(which[~diverged].tolist()) - {-1}):
            ax.axhline(
                float(minima.x[i]),
                color=colors.get(i, "0.3"),
                linestyle="--",
                linewidth=1.2,
                label=_describe_minimum(minima, i),
                zorder=0,
            )
    if diverged.any():
        ax.plot([], [], " ", label=f"{int(diverged.sum())} diverged cells not drawn")
    ax.set_ylim(*_ylim(final[~diverged]))
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="Training epochs")
    ax.grid(alpha=0.4)
    ax.set(xlabel="Learning rate", ylabel="Final guess x")
    ax.set_title(
        title if title is not None else f"Final guess {_fixed_coords(r)}; a line per epoch count"
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    return fig


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


def plot_random_starts(
    notebook: Any,
    fraction: Any,
    spread: Any,
    learning_rates: Any,
    epochs: Any,
    *,
    repeats: int,
    global_x: float | Sequence[float],
    tol: float,
    vmin: float | None = None,
    vmax: float | None = None,
    suptitle: str | None = None,
) -> Figure:
    """Additional exploration 2: one random start per cell, beside many starts per cell.

    Three (learning rate, epochs) maps: the notebook's version (the final guess of one fresh
    random start per cell), the fraction of ``repeats`` random starts that ended within
    ``tol`` of the global minimum, and the spread (standard deviation) of their final guesses.

    Args:
        notebook: final guess of one random start per cell, shape ``(L, E)`` (NaN: diverged).
        fraction: fraction of starts reaching the global minimum, ``(L, E)``, in [0, 1].
        spread: standard deviation of the final guesses, ``(L, E)`` (NaN: none finite).
        learning_rates: ``(L,)``.
        epochs: ``(E,)``.
        repeats: number of random starts per cell.
        global_x: the global minimum (or minima, if several tie), for the labels.
        tol: the tolerance used for ``fraction``, for the labels.
        vmin, vmax: colour limits of the first map (default robust, from the data).
        suptitle: figure title.

    Returns:
        The figure: three maps, each with its colour bar.
    """
    where = " or ".join(f"{float(v):.5g}" for v in np.ravel(global_x))
    fig, axes = _subplots(1, 3, figsize=(17.0, 5.0))
    rate_epochs_map(
        axes[0], notebook, learning_rates, epochs, label="Final guess x", vmin=vmin, vmax=vmax
    )
    axes[0].set_title("The notebook's version:\none random start per cell")
    rate_epochs_map(
        axes[1],
        fraction,
        learning_rates,
        epochs,
        label=f"Fraction of {repeats} starts within {tol:g} of x* = {where}",
        cmap="magma",
        vmin=0.0,
        vmax=1.0,
        robust=False,
        bad_label="no start",
    )
    axes[1].set_title(f"P(reach the global minimum):\n{repeats} random starts per cell")
    rate_epochs_map(
        axes[2],
        spread,
        learning_rates,
        epochs,
        label="Standard deviation of final x",
        cmap="cividis",
        bad_label="all diverged",
    )
    axes[2].set_title(f"Spread of the final guesses:\n{repeats} random starts per cell")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


#: Cells of runs that did not settle: light, hatched, so they read as "no value" next to any
#: colour map and next to the solid grey of diverged runs.
_UNSETTLED = {"facecolor": "0.93", "edgecolor": "0.45", "hatch": "////"}


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


def plot_convergence(
    conv: Convergence,
    *,
    minima: Minima | None = None,
    log: bool = True,
    title: str | None = None,
) -> Figure:
    """How many epochs each (start, learning rate) run took to settle, and where it settled.

    Left: a map with the learning rate on x, the start on y and the convergence epoch as colour
    (``conv.epoch``: from then on the run stayed within ``conv.tol`` of where it ended). Runs
    that did not settle within ``conv.epochs`` epochs are hatched, diverged runs grey; the
    legend counts each kind (``conv.converged``: settled at a minimum). With ``minima``, a
    second map shows which minimum each run ended within ``conv.tol`` of, so slow regions can
    be matched to their basin.

    Args:
        conv: from :func:`jaxgd.convergence`.
        minima: the local minima of f (:func:`jaxgd.minima.find_minima`), on an interval that
            holds every minimum the runs reach; or None for one map of ``conv.converged``.
        log: a logarithmic colour scale (epoch 0, a start on the minimum, drawn as 1).
        title: figure title.

    Returns:
        The figure; ``fig.axes`` holds the epoch map, the basin map (with ``minima``), then
        the epoch map's colour bar.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jaxgd
        >>> conv = jaxgd.convergence(jnp.cos, jnp.linspace(1.0, 5.0, 5), [0.01, 0.5], 300)
        >>> fig = plot_convergence(conv)
        >>> fig.axes[0].get_xlabel(), fig.axes[1].get_ylabel()
        ('Learning rate', 'Epochs to converge (within 0.0001)')
        >>> close(fig)
    """
    import matplotlib as mpl
    from matplotlib.patches import Patch

    tol, n = float(conv.tol), int(conv.epochs)
    starts = np.asarray(conv.starts, np.float64).ravel()
    rates = np.asarray(conv.learning_rates, np.float64).ravel()
    starts_u, si = np.unique(starts, return_index=True)
    rates_u, ri = np.unique(rates, return_index=True)
    grid = np.ix_(si, ri)  # the axes in ascending order; a duplicate is drawn once
    epoch = np.asarray(conv.epoch, np.float64)[grid]
    diverged = np.asarray(conv.diverged, bool)[grid]
    settled = np.asarray(conv.converged, bool)[grid]
    unsettled = ~settled & ~diverged
    xe, ye = _edges(rates_u), _edges(starts_u)
    runs = epoch.size

    fig, axes = _subplots(
        1, 1 if minima is None else 2, figsize=(7.0 if minima is None else 14.0, 6.0)
    )
    axes = np.atleast_1d(axes)
    ax = axes[0]
    shown = np.maximum(epoch, 1.0) if log else epoch
    lo, hi = color_limits(np.where(settled, shown, np.nan), robust=False)
    norm = mpl.colors.LogNorm(lo, hi) if log else mpl.colors.Normalize(lo, hi)
    cmap = mpl.colormaps["viridis"]
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_array(shown, ~settled), cmap=cmap, norm=norm)
    cbar = fig.colorbar(mesh, ax=ax, label=f"Epochs to converge (within {tol:g})")
    if log:
        # Round numbers a reader can look up (50, 100, 200, ...), not bare powers of ten.
        ticks = [m * 10**k for k in range(9) for m in (1, 2, 5) if lo <= m * 10**k <= hi]
        if len(ticks) >= 2:
            cbar.minorticks_off()
            cbar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    _cells(ax, xe, ye, unsettled, **_UNSETTLED)
    _cells(ax, xe, ye, diverged, facecolor=DIVERGED_COLOR)
    where = " at a minimum" if minima is not None else ""
    handles = [
        Patch(color=cmap(0.5), label=f"settled{where}: colour ({int(settled.sum())} of {runs})"),
        Patch(
            **_UNSETTLED,
            label=f"not settled{where} within {n} epochs ({int(unsettled.sum())} of {runs})",
        ),
        Patch(color=DIVERGED_COLOR, label=f"diverged ({int(diverged.sum())} of {runs})"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize="small")
    ax.set(xlabel="Learning rate", ylabel=_LABEL["start"])
    ax.set_title(f"Epochs until the run stays within {tol:g} of its end (at most {n})")

    if minima is not None:
        ax = axes[1]
        which = nearest_minimum(np.asarray(conv.final)[grid], minima, tol=tol)
        which[diverged] = -2
        colors = _minimum_colors(minima)
        best = set(global_minima(minima).tolist())
        handles = []
        for i in sorted(set(which[which >= 0].tolist()), key=lambda i: (i not in best, i)):
            hit = which == i
            _cells(ax, xe, ye, hit, facecolor=colors.get(i, "0.3"))
            label = f"{_describe_minimum(minima, i)} ({int(hit.sum())} of {runs})"
            handles.append(Patch(color=colors.get(i, "0.3"), label=label))
        nowhere = which == -1
        _cells(ax, xe, ye, nowhere, **_UNSETTLED)
        _cells(ax, xe, ye, diverged, facecolor=DIVERGED_COLOR)
        if nowhere.any():
            label = f"within {tol:g} of no minimum ({int(nowhere.sum())} of {runs})"
            handles.append(Patch(**_UNSETTLED, label=label))
        if diverged.any():
            handles.append(
                Patch(color=DIVERGED_COLOR, label=f"diverged ({int(diverged.sum())} of {runs})")
            )
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize="small")
        ax.set(xlabel="Learning rate", ylabel=_LABEL["start"])
        ax.set_title(f"Where each run ended after {n} epochs (within {tol:g} of a minimum)")
    if title:
        fig.suptitle(title)
    return fig


def plot_derivative_check(
    check: DerivativeCheck,
    f: Callable[[jax.Array], jax.Array],
    *,
    given_label: str = "given f'",
    given_end: float | None = None,
    autodiff_end: float | None = None,
    start: float | None = None,
    explain: tuple[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    title: str | None = None,
) -> Figure:
    """A hand-written derivative against autodiff: both with f, and their difference.

    Top: f, its derivative from ``jax.grad`` and the given one on the grid of ``check``. Where
    descent ended with each derivative (``given_end``, ``autodiff_end``) is marked on f and on
    that derivative, which is zero there. Bottom: ``given - autodiff``, and optionally a
    formula that explains it (``explain``), dashed.

    Args:
        check: from :func:`jaxgd.derivative.check_derivative`.
        f: the function ``check`` was made for, written with ``jax.numpy``; drawn in float64.
        given_label: what to call the given derivative in the legend.
        given_end, autodiff_end: where descent with each derivative ended, or None.
        start: where descent started, an open circle on f.
        explain: ``(label, g)`` with ``g`` a NumPy function of x to draw on the error panel.
        title: figure title; by default whether the two agree.

    Returns:
        The figure: the two panels, sharing x.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from jaxgd.derivative import check_derivative
        >>> check = check_derivative(jnp.sin, lambda x: np.cos(x) + 0.01, -3.0, 3.0)
        >>> fig = plot_derivative_check(check, jnp.sin)
        >>> fig.axes[1].get_ylabel()
        'given - autodiff'
        >>> close(fig)
    """
    x = check.x
    with jax.enable_x64(True):
        f64 = jax.jit(jax.vmap(f))
        fx = np.asarray(f64(x), np.float64)
        ends = [v for v in (given_end, autodiff_end, start) if v is not None]
        f_at = (
            dict(zip(ends, np.asarray(f64(np.asarray(ends, np.float64)), np.float64), strict=True))
            if ends
            else {}
        )
    with np.errstate(invalid="ignore"):
        error = check.given - check.autodiff
    given_color, autodiff_color = "tab:red", "tab:orange"
    fig, (top, bottom) = _subplots(2, 1, sharex=True, figsize=(11.0, 7.5), height_ratios=[3, 2])
    top.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    top.plot(x, fx, color="tab:blue", label="f(x)")
    top.plot(x, check.autodiff, color=autodiff_color, label="f'(x) from autodiff")
    top.plot(x, check.given, "--", color=given_color, label=given_label)
    if start is not None:
        top.plot(start, f_at[start], "o", mfc="white", mec="k", label=f"start x₀ = {start:.5g}")
    for end, values, color, who in (
        (autodiff_end, check.autodiff, autodiff_color, "autodiff"),
        (given_end, check.given, given_color, given_label),
    ):
        if end is None or not np.isfinite(end):
            continue
        # The notebook marks the end on f and on the derivative, which is zero there.
        slope = float(np.interp(end, x, values))
        top.plot(
            [end, end],
            [f_at[end], slope],
            "o",
            color=color,
            label=f"descent with {who} ends at x = {end:.5g}",
        )
        for ax in (top, bottom):
            ax.axvline(end, color=color, linestyle=":", linewidth=1)
    top.grid(alpha=0.4)
    top.set(ylabel="f(x) and f'(x)")
    # Outside the axes: inside, some legend entry would always hide a curve.
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    bottom.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    bottom.plot(x, error, color=given_color, label=f"{given_label} - autodiff")
    if explain is not None:
        label, g = explain
        bottom.plot(x, g(x), "--", color="k", linewidth=1, label=label)
    bottom.grid(alpha=0.4)
    bottom.set(xlabel="x", ylabel="given - autodiff", xlim=(x[0], x[-1]))
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    if title is None:
        bad = int(check.mismatch.sum())
        verdict = (
            f"disagree at {bad} of {x.size} points" if bad else f"agree at all {x.size} points"
        )
        title = (
            f"Given derivative ({given_label}) against autodiff: {verdict}, "
            f"max |error| {check.max_error:.3g}"
        )
    top.set_title(title)
    return fig
