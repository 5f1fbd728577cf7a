"""Curves: the final guess, f and its derivative, drawn against one axis."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd.analysis import nearest_minimum
from jaxgd.plotting._common import (
    _LABEL,
    _axes,
    _describe_minimum,
    _f_and_grad,
    _fixed_coords,
    _global_set,
    _minimum_colors,
    _one_axis,
    _rate_epochs,
    _subplots,
    _ylim,
)
from jaxgd.result import SweepResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from jaxgd.derivative import DerivativeCheck
    from jaxgd.minima import Minima


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
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxgd.plotting import close
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
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxgd.plotting import close
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
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxgd.plotting import close
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
