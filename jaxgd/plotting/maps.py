"""Maps over (learning rate, epochs) and (learning rate, start): one cell per run or cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jaxgd._validate import as_float_axis, positive_float
from jaxgd.analysis import _span_distance, basins, global_minima, nearest_minimum
from jaxgd.plotting._common import (
    _LABEL,
    _OUTLINE_COLOR,
    _UNSETTLED,
    DIVERGED_COLOR,
    _axes,
    _cells,
    _check_ax,
    _count_ticks,
    _describe_minimum,
    _diverged,
    _edges,
    _empty_bar,
    _fixed_coords,
    _footer,
    _legend_under,
    _listed_minima,
    _minimum_colors,
    _more_minima,
    _one_value_bar,
    _precision,
    _rate_epochs,
    _scale,
    _subplots,
    _target_text,
    _value_ticks,
    _where,
    _without_extra_axes,
    closes_its_figure_on_error,
    color_limits,
    log_spaced,
    plain_counts,
    wait_for_imports,
)
from jaxgd.result import SweepResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.figure import Figure

    from jaxgd.convergence import Convergence
    from jaxgd.minima import Minima


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
    rate_scale: str | None = None,
    epochs_scale: str | None = None,
) -> Colorbar:
    """Draw a (learning rate, epochs) map of ``values`` into ``ax``, with a colour bar.

    Rate on x, epochs on y, origin lower left, one cell per grid point centred on it (axes in
    any order; duplicates are drawn once). Cells that are not finite, or flagged in ``bad``,
    are drawn in grey and counted in a legend entry; values beyond the colour limits get
    arrows on the colour bar. An axis whose values are log-spaced is drawn on a log scale,
    each cell spanning half-way (in log) to its neighbours; epoch counts of 0 and log-spaced
    ones over a decade or more (0, 10, 100, 1000) on a scale linear up to the smallest
    positive count and log above it (matplotlib's ``symlog``), as :func:`plot_lines` colours
    them, unless ``epochs_scale`` is given.

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
        rate_scale: ``"linear"`` or ``"log"`` for the learning-rate axis; by default log
            when the rates are log-spaced (:func:`log_spaced`).
        epochs_scale: the same for the epochs axis.

    Returns:
        The colour bar.
    """
    _check_ax(ax, optional=False)
    wait_for_imports()
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
    xscale = _scale("rate_scale", rate_scale, rates_u)
    yscale = _scale("epochs_scale", epochs_scale, counts_u)
    linthresh = _from_zero_log_spaced(counts_u) if epochs_scale is None else None
    if linthresh is None:
        y_edges = _edges(counts_u, yscale, 0.0)
    else:
        # On a linear scale the rows of 0 and 10 epochs (of 0, 10, 100, 1000) were slivers
        # a reader could not see; a log scale has no 0.
        from matplotlib.scale import SymmetricalLogTransform

        yscale = "symlog"
        to = SymmetricalLogTransform(10, linthresh, 1.0)
        y_edges = to.inverted().transform(_edges(to.transform(counts_u), "linear", 0.0))
    shown = np.ma.masked_array(values, grey)[np.ix_(ri, ci)]
    cm = mpl.colormaps[cmap].with_extremes(bad=DIVERGED_COLOR)
    mesh = ax.pcolormesh(
        _edges(rates_u, xscale, 0.0),
        y_edges,
        shown.T,
        cmap=cm,
        vmin=lo,
        vmax=hi,
        shading="flat",
    )
    ax.set_xscale(xscale)
    if linthresh is None:
        ax.set_yscale(yscale)
    else:
        ax.set_yscale(yscale, base=10, linthresh=linthresh, linscale=1.0)
    plain_counts(ax.yaxis)
    _value_ticks(ax.xaxis, rates_u)
    _value_ticks(ax.yaxis, counts_u)
    finite = values[~grey]
    below, above = bool((finite < lo).any()), bool((finite > hi).any())
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max"}.get(
        (below, above), "both"
    )
    cbar = ax.get_figure().colorbar(mesh, ax=ax, label=label, extend=extend)
    if not finite.size:
        _empty_bar(cbar, label)
    _one_value_bar(cbar, finite, vmin, vmax, grey=bool(grey.any()))
    ax.set(xlabel="Learning rate", ylabel="Training epochs")
    handles = []
    if outline is not None:
        from matplotlib.collections import LineCollection

        inside = np.asarray(outline, bool)[np.ix_(ri, ci)]
        segments = _outline(inside, _edges(rates_u, xscale, 0.0), y_edges)
        if segments:
            ax.add_collection(
                LineCollection(segments, colors=_OUTLINE_COLOR, linewidths=1.5, zorder=3),
                autolim=False,
            )
        label = outline_label if segments else f"{outline_label}: no cell"
        handles.append(Line2D([], [], color=_OUTLINE_COLOR, label=label))
    if grey.any():
        handles.append(Patch(color=DIVERGED_COLOR, label=f"{bad_label} ({int(grey.sum())} cells)"))
    if handles:
        # Under the axes: inside, it hid the lowest rows (the fewest epochs), where the maps
        # change most. Only where the figure's layout makes room for it (constrained, as
        # every figure here is): in a caller's plain figure it would fall on the next axes
        # or off the figure, and inside stays the better place.
        from matplotlib.layout_engine import ConstrainedLayoutEngine

        if isinstance(ax.get_figure().get_layout_engine(), ConstrainedLayoutEngine):
            _legend_under(ax, handles)
        else:
            ax.legend(handles=handles, loc="lower right", fontsize="small", framealpha=0.9)
    return cbar


def _from_zero_log_spaced(counts: np.ndarray) -> float | None:
    """The smallest positive count where sorted ``counts`` are 0 and log-spaced counts over
    a decade or more (0, 10, 100, 1000), for a scale linear below it and log above; else
    None."""
    positive = counts[counts > 0]
    if counts[0] == 0 and log_spaced(positive) and positive[-1] >= 10 * positive[0]:
        return float(positive[0])
    return None


def _outline(inside: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> list:
    """The boundary of the cells where ``inside`` (shape ``(len(x), len(y))``) is True, as line
    segments along the cells' edges: between a cell inside and one outside, and along the
    grid's border where a cell inside meets it. Every cell inside is enclosed, each whole."""
    padded = np.pad(inside, 1)
    # Edges between columns i - 1 and i (x_edges[i]), over row j: membership changes there.
    cols = padded[1:, 1:-1] != padded[:-1, 1:-1]  # (len(x) + 1, len(y))
    rows = padded[1:-1, 1:] != padded[1:-1, :-1]  # (len(x), len(y) + 1)
    segments = []
    for i, j in np.argwhere(cols):
        segments.append(((x_edges[i], y_edges[j]), (x_edges[i], y_edges[j + 1])))
    for i, j in np.argwhere(rows):
        segments.append(((x_edges[i], y_edges[j]), (x_edges[i + 1], y_edges[j])))
    return segments


def _target_distance(final: Any, target: float | tuple[float, float]) -> np.ndarray:
    """Distance of each position to ``target``, a point or a span ``(lo, hi)``; NaN stays."""
    return _span_distance(np.asarray(final), *_check_target(target))


def _positions(name: str, value: Any) -> np.ndarray:
    """x positions given to draw (a number or a flat sequence of them) as a float64 array:
    anything else (text, bools, NaN) is refused naming ``name``, not deep in NumPy."""
    scalar = not isinstance(value, list | tuple) and np.ndim(value) == 0
    return as_float_axis(name, value, np.dtype(np.float64), scalar=scalar)


def _check_target(target: Any) -> tuple[float, float]:
    """``target`` as a span ``(lo, hi)``: a number is the span of one point."""
    span = _positions("target", target)
    if span.size > 2:
        raise ValueError(
            f"target must be a finite x, or a span (lo, hi) of a flat minimum; got {target!r}"
        )
    lo, hi = float(span[0]), float(span[-1])
    if lo > hi:
        raise ValueError(f"target's span must have lo <= hi; got ({lo:g}, {hi:g})")
    return lo, hi


@closes_its_figure_on_error
def plot_heatmap(
    res: SweepResult,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    robust: bool = True,
    target: float | tuple[float, float] | None = None,
    tol: float = 1e-3,
    title: str | None = None,
    ax: Axes | None = None,
    rate_scale: str | None = None,
    epochs_scale: str | None = None,
) -> Figure:
    """The final guess over (learning rate, epochs), from one start: Experiment 3's image.

    Args:
        res: a sweep with one start (or the start axis dropped), a learning_rate and an
            epochs axis.
        vmin, vmax: colour limits; by default the 2nd and 98th percentiles of the finite
            values (``robust=False``: their min and max).
        robust: see ``vmin``.
        target: optional x, e.g. the minimum descent heads for, or a span ``(lo, hi)`` (a
            flat minimum): a red line then encloses the cells that ended within ``tol`` of it.
        tol: see ``target``.
        title: axes title; by default names the start.
        ax: draw into this axes instead of a new figure.
        rate_scale, epochs_scale: ``"linear"`` or ``"log"`` for each axis; by default log
            where its values are log-spaced (:func:`log_spaced`).

    Returns:
        The figure; its colour bar is the second axes.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxgd.plotting import close
        >>> import jaxgd
        >>> res = jaxgd.sweep(jnp.cos, 1.0, np.geomspace(1e-3, 1.0, 7), [10, 100, 1000])
        >>> ax = plot_heatmap(res).axes[0]
        >>> ax.get_xscale(), ax.get_yscale()
        ('log', 'log')
        >>> ax.get_title(), ax.figure.texts[0].get_text()
        ('Final guess from x₀ = 1', 'computed in float32')
        >>> close(ax.figure)
    """
    _check_ax(ax)
    r = _rate_epochs(res)
    if target is not None:
        _check_target(target)
        tol = positive_float("tol", tol, example="1e-3")  # as plot_final and the rest
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
        bad=_diverged(r),
        outline=None if target is None else _target_distance(r.final, target) <= tol,
        outline_label="" if target is None else f"within {tol:g} of {_target_text(target)}",
        rate_scale=rate_scale,
        epochs_scale=epochs_scale,
    )
    ax.set_title(title if title is not None else f"Final guess {_fixed_coords(r)}")
    _footer(fig, _precision(r.final))
    return fig


@closes_its_figure_on_error
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
    result: SweepResult | None = None,
    minima: Minima | None = None,
    rate_scale: str | None = None,
    epochs_scale: str | None = None,
) -> Figure:
    """Additional exploration 2: one random start per cell, beside many starts per cell.

    With ``result`` and ``minima`` (e.g. ``rs.result`` of :func:`jaxgd.random_starts` and
    minima from :func:`jaxgd.minima.find_minima_reached`), four (learning rate, epochs)
    maps: the notebook's version (the final guess of one random start per cell), then where
    the ``repeats`` starts of each cell ended, as three shares that add up to 1: at the
    global minimum, at another local minimum, and at no minimum (still on the way, bouncing
    between two points without settling, or diverged), all from
    :func:`jaxgd.analysis.basins`. Every share is on the same 0..1 colour scale, so the maps
    can be read against each other.

    Without them, the older three maps: the notebook's version, ``fraction`` and
    ``spread`` (the standard deviation of the final guesses, which mixes the minima and is
    hard to read; pass ``result`` and ``minima`` instead).

    Args:
        notebook: final guess of one random start per cell, shape ``(L, E)`` (NaN: diverged).
        fraction: fraction of starts reaching the global minimum, ``(L, E)``, in [0, 1];
            not drawn when ``result`` and ``minima`` are given (may then be None).
        spread: standard deviation of the final guesses, ``(L, E)`` (NaN: none finite); not
            drawn when ``result`` and ``minima`` are given (may then be None).
        learning_rates: ``(L,)``.
        epochs: ``(E,)``.
        repeats: number of random starts per cell.
        global_x: the global minimum (or minima, if several tie), for the labels; with
            ``result`` and ``minima`` it may be empty (f has no minimum to reach).
        tol: the tolerance used for ``fraction``, for the labels.
        vmin, vmax: colour limits of the first map (default robust, from the data).
        suptitle: figure title.
        result: the sweep over the random starts, axes ``("start", "learning_rate",
            "epochs")``.
        minima: the minima to match the runs against.
        rate_scale, epochs_scale: ``"linear"`` or ``"log"`` for each axis of every map; by
            default log where its values are log-spaced (:func:`log_spaced`).

    Returns:
        The figure: the maps, then their colour bars.

    Raises:
        ValueError: If only one of ``result`` and ``minima`` is given, or ``result`` has
            no ``"start"`` axis; if a map to draw is None or not of shape ``(L, E)``; if
            ``global_x`` is not finite.
        TypeError: If ``global_x`` is not a number or a flat sequence of numbers.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from jaxgd.plotting import close
        >>> import jaxgd
        >>> from jaxgd.functions import notebook
        >>> from jaxgd.minima import find_minima_reached
        >>> starts = np.random.default_rng(0).uniform(-6.28, 6.28, 50)
        >>> res = jaxgd.sweep(notebook, starts, [0.01, 0.1], [10, 100, 1000])
        >>> m = find_minima_reached(notebook, res.final, (-6.28, 6.28))
        >>> fig = plot_random_starts(
        ...     np.asarray(res.final)[0], None, None, res.learning_rates, res.epochs,
        ...     repeats=50, global_x=-1.4289, tol=1e-3, result=res, minima=m)
        >>> for ax in fig.axes[:4]:
        ...     print(ax.get_title().splitlines()[0])
        The notebook's version
        At the global minimum
        At another local minimum
        At no minimum
        >>> close(fig)
    """
    if (result is None) != (minima is None):
        raise ValueError(
            "plot_random_starts needs result and minima together (rs.result and the minima "
            "its runs are matched against), or neither"
        )
    shape = (np.size(learning_rates), np.size(epochs))
    drawn = {"notebook": notebook}
    if result is None:
        drawn |= {"fraction": fraction, "spread": spread}
    for name, values in drawn.items():
        if values is None:
            raise ValueError(
                f"{name} is None, but it is drawn when result and minima are not given: pass "
                f"it, shape (len(learning_rates), len(epochs)) = {shape}, or pass result and "
                "minima for the maps of shares instead"
            )
        got = np.shape(np.asarray(values, dtype=object))
        if got != shape:
            raise ValueError(
                f"{name} must have shape (len(learning_rates), len(epochs)) = {shape}; got {got}"
            )
    # With result and minima the titles name the minima themselves: an f with no minimum to
    # reach has no global_x to give, and may give none (an empty sequence).
    none_given = result is not None and np.size(np.asarray(global_x, dtype=object)) == 0
    where = "" if none_given else " or ".join(f"{v:.5g}" for v in _positions("global_x", global_x))
    scales = {"rate_scale": rate_scale, "epochs_scale": epochs_scale}
    if result is None:
        fig, axes = _subplots(1, 3, figsize=(17.0, 5.0))
        top_left = axes[0]
    else:
        fig, axes = _subplots(2, 2, figsize=(14.0, 10.0))
        axes = axes.ravel()
        top_left = axes[0]
    rate_epochs_map(
        top_left,
        notebook,
        learning_rates,
        epochs,
        label="Final guess x",
        vmin=vmin,
        vmax=vmax,
        **scales,
    )
    top_left.set_title("The notebook's version\none random start per cell: its final guess")
    if result is None:
        rate_epochs_map(
            axes[1],
            fraction,
            learning_rates,
            epochs,
            label=f"Share of the {repeats} starts within {tol:g} of x* = {where}",
            cmap="magma",
            vmin=0.0,
            vmax=1.0,
            robust=False,
            bad_label="no start",
            **scales,
        )
        axes[1].set_title(f"At the global minimum\nshare of {repeats} random starts per cell")
        rate_epochs_map(
            axes[2],
            spread,
            learning_rates,
            epochs,
            label="Standard deviation of the final guesses",
            cmap="cividis",
            bad_label="all diverged",
            **scales,
        )
        axes[2].set_title(f"Spread of the final guesses\n{repeats} random starts per cell")
        precision = _precision(notebook)
    else:
        shares, others = _outcome_shares(result, minima, tol)
        best = [int(i) for i in global_minima(minima)]
        stationary = int(np.sum(~np.asarray(minima.at_boundary)))
        if others:
            other = f"within {tol:g} of {_some_minima(minima, others)}"
        elif stationary > len(best):
            other = "none reached"
        else:
            other = "f has no other local minimum here"
        texts = (
            ("At the global minimum", f"within {tol:g} of {_some_minima(minima, best)}"),
            ("At another local minimum", other),
            ("At no minimum", "still on the way, bouncing, or diverged"),
        )
        for ax, share, (head, detail) in zip(axes[1:], shares, texts, strict=True):
            rate_epochs_map(
                ax,
                share,
                result.learning_rates,
                result.epochs,
                label=f"Share of the {repeats} starts",
                cmap="magma",
                vmin=0.0,
                vmax=1.0,
                robust=False,
                **scales,
            )
            ax.set_title(f"{head}\n{detail}")
        precision = _precision(result.final)
    if suptitle:
        fig.suptitle(suptitle)
    _footer(fig, precision)
    return fig


#: Minima a map's title names one by one; more are written as a count and a span.
_TITLE_MOST = 3


def _some_minima(minima: Minima, which: Sequence[int]) -> str:
    """The minima ``which`` for a title line: each by where it lies when there are few, else
    their count and span (a title listing ten minima ran across the next map's title)."""
    if not which:
        return "none found"
    if len(which) <= _TITLE_MOST:
        return ", ".join(_where(minima, i) for i in which)
    x = np.asarray(minima.x, np.float64)[list(which)]
    return f"{len(which)} minima, x from {x.min():.5g} to {x.max():.5g}"


def _outcome_shares(
    result: SweepResult, minima: Minima, tol: float
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], list[int]]:
    """Per (rate, epochs) cell, the share of starts at the global minimum, at another minimum
    and at none, and the other minima some start reached."""
    result = _without_extra_axes(result, "(start, learning_rate, epochs) cells", "result")
    if "start" not in result.dims:
        raise ValueError(
            f"result must keep its 'start' axis to count starts per cell; its axes are "
            f"{list(result.dims)}"
        )
    b = basins(result, minima, tol=tol)
    rest = [d for d in result.dims if d != "start"]
    order = [result.dims.index(d) for d in ("start", *sorted(rest, key=_CELL_ORDER.index))]
    index = np.transpose(np.asarray(b.index), order)
    at_global = np.transpose(np.asarray(b.reached_global), order)
    at_other = (index >= 0) & ~at_global
    shares = (at_global.mean(axis=0), at_other.mean(axis=0), (index < 0).mean(axis=0))
    others = sorted(set(index[at_other].tolist()))
    return shares, others


_CELL_ORDER = ("learning_rate", "epochs")


@closes_its_figure_on_error
def plot_convergence(
    conv: Convergence,
    *,
    minima: Minima | None = None,
    log: bool = True,
    title: str | None = None,
    rate_scale: str | None = None,
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
        minima: the local minima of f, from
            :func:`jaxgd.minima.find_minima_reached` with ``conv.final`` so that the minima
            runs settled in outside the domain are among them; or None for one map of
            ``conv.converged``.
        log: a logarithmic colour scale (epoch 0, a start on the minimum, drawn as 1).
        title: figure title.
        rate_scale: ``"linear"`` or ``"log"`` for the learning-rate axis; by default log
            when the rates are log-spaced (:func:`log_spaced`).

    Returns:
        The figure; ``fig.axes`` holds the epoch map, the basin map (with ``minima``), then
        the epoch map's colour bar.

    Raises:
        TypeError: ``conv`` is not a :class:`~jaxgd.Convergence` (a sweep, as computed or
            loaded, holds where the runs ended but not when each settled).

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxgd.plotting import close
        >>> import jaxgd
        >>> conv = jaxgd.convergence(jnp.cos, jnp.linspace(1.0, 5.0, 5), [0.01, 0.5], 300)
        >>> fig = plot_convergence(conv)
        >>> fig.axes[0].get_xlabel(), fig.axes[1].get_ylabel()
        ('Learning rate', 'Epochs to converge (within 0.001)')
        >>> close(fig)
    """
    from jaxgd.convergence import Convergence

    if not isinstance(conv, Convergence):
        if isinstance(conv, SweepResult):
            fix = (
                "a SweepResult holds where each run ended, not the epoch it settled: run "
                "jaxgd.convergence(f, res.starts, res.learning_rates, epochs) over the same "
                "grid, or draw the sweep itself with plot_heatmap or plot_panels"
            )
        else:
            fix = "pass the result of jaxgd.convergence(f, starts, learning_rates, epochs)"
        raise TypeError(
            f"plot_convergence: conv must be a jaxgd.Convergence; got {type(conv).__name__}: {fix}."
        )
    wait_for_imports()
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
    xscale = _scale("rate_scale", rate_scale, rates_u)
    xe, ye = _edges(rates_u, xscale, 0.0), _edges(starts_u)
    runs = epoch.size

    fig, axes = _subplots(
        1, 1 if minima is None else 2, figsize=(7.0 if minima is None else 14.0, 6.0)
    )
    axes = np.atleast_1d(axes)
    ax = axes[0]
    shown = np.maximum(epoch, 1.0) if log else epoch
    lo, hi = color_limits(np.where(settled, shown, np.nan), robust=False)
    if log:  # a log scale needs positive limits, even when no run settled
        lo = max(lo, 1.0)
        hi = max(hi, 10.0 * lo)
    norm = mpl.colors.LogNorm(lo, hi) if log else mpl.colors.Normalize(lo, hi)
    cmap = mpl.colormaps["viridis"]
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_array(shown, ~settled), cmap=cmap, norm=norm)
    cbar = fig.colorbar(mesh, ax=ax, label=f"Epochs to converge (within {tol:g})")
    if not settled.any():
        _empty_bar(cbar, f"Epochs to converge (within {tol:g})", "no run settled")
    elif log:
        # Round numbers a reader can look up (50, 100, 200, ...), not bare powers of ten.
        ticks = _count_ticks(lo, hi)
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
    _legend_under(ax, handles)
    ax.set(xlabel="Learning rate", ylabel=_LABEL["start"])
    # Two lines each: in one, a title is wider than its map, and the right one reached the
    # figure's edge.
    ax.set_title(f"Epochs until the run stays within {tol:g} of its end\n(at most {n})")

    if minima is not None:
        ax = axes[1]
        which = nearest_minimum(np.asarray(conv.final)[grid], minima, tol=tol)
        which[diverged] = -2
        colors = _minimum_colors(minima)
        best = set(global_minima(minima).tolist())
        handles = []
        shown = sorted(set(which[which >= 0].tolist()), key=lambda i: (i not in best, i))
        hits = {i: int((which == i).sum()) for i in shown}
        listed = _listed_minima(shown, best, hits, colors)
        for i in shown:
            _cells(ax, xe, ye, which == i, facecolor=colors.get(i, "0.3"))
            if i in listed:
                label = f"{_describe_minimum(minima, i)} ({hits[i]} of {runs})"
                handles.append(Patch(color=colors.get(i, "0.3"), label=label))
        for group, label, _ in _more_minima([i for i in shown if i not in listed], best):
            hit = sum(hits[i] for i in group)
            # Their cells repeat colours named above: the key shows those colours, not one
            # grey, which read as the diverged cells' grey.
            repeat = list(dict.fromkeys(colors.get(i, "0.3") for i in group))[:4]
            text = f"{label} ({hit} of {runs})"
            handles.append(tuple(Patch(color=c, label=text) for c in repeat))
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
        _legend_under(ax, handles)
        ax.set(xlabel="Learning rate", ylabel=_LABEL["start"])
        ax.set_title(f"Where each run ended after {n} epochs\n(within {tol:g} of a minimum)")
    for ax in axes:
        ax.set_xscale(xscale)
        _value_ticks(ax.xaxis, rates_u)
        _value_ticks(ax.yaxis, starts_u)
    if title:
        fig.suptitle(title)
    _footer(fig, _precision(conv.final))
    return fig
