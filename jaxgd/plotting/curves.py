"""Curves: the final guess, f and its derivative, drawn against one axis."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd._validate import (
    as_real_array,
    check_function,
    check_span_fits,
    default_float,
    finite_float,
)
from jaxgd.analysis import downhill_minimum, nearest_minimum
from jaxgd.plotting._common import (
    _LABEL,
    _NOT_NEGATIVE,
    _axes,
    _beyond,
    _check_ax,
    _count_ticks,
    _describe_minimum,
    _diverged,
    _every_run_diverged,
    _f_and_grad,
    _fixed_coords,
    _footer,
    _global_set,
    _legend_under,
    _listed_minima,
    _mark_minimum,
    _minima_to_draw,
    _minimum_colors,
    _more_minima,
    _one_axis,
    _precision,
    _rate_epochs,
    _rounding,
    _scale,
    _subplots,
    _xlim,
    _ylim,
    check_num,
    closes_its_figure_on_error,
    log_spaced,
    plain_counts,
    wait_for_imports,
)
from jaxgd.result import SweepResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from jaxgd.derivative import DerivativeCheck
    from jaxgd.minima import Minima


def _whole_at_the_edges(ax: Axes, lines: Sequence[Any]) -> None:
    """Draw the markers of ``lines`` that lie within ``ax``'s limits whole, unclipped: the
    rate and epoch axes start at their lowest value (no negative rates), and a run there sat
    half under the spine. Markers beyond the limits (runs far out, which the axis marks on
    its edge) are dropped from the line: unclipped they would be drawn outside the axes."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    for line in lines:
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        inside = (x0 <= x) & (x <= x1) & (y0 <= y) & (y <= y1)
        line.set_data(x[inside], y[inside])
        # An empty line keeps its clipping: unclipped, its extent sits at the figure's corner,
        # and a tight bounding box (savefig's) stretched out to it.
        line.set_clip_on(not inside.any())


@closes_its_figure_on_error
def plot_function(
    f: Callable[[jax.Array], jax.Array],
    domain: tuple[float, float],
    *,
    points: Sequence[float] = (),
    start: float | None = None,
    num: int = 401,
    title: str | None = None,
    ax: Axes | None = None,
    points_label: str = "minimum found",
) -> Figure:
    """f and its derivative (from ``jax.grad``) over ``domain``, with points marked on both.

    The notebook's first figure: each point in ``points`` (e.g. where descent ended) is a red
    dot on f and on f'. The drawn range widens to include the points and ``start``. Where f
    is not finite (NaN outside its domain, or beyond the float) the range is shaded grey,
    named in the legend.

    Args:
        f: ``f(x) -> scalar`` written with ``jax.numpy``.
        domain: ``(lo, hi)`` to draw.
        points: x positions to mark, e.g. the minimum found.
        start: where descent started, drawn as an open circle on f.
        num: number of x values drawn (the notebook's 401), from 2 to 2**24.
        title: axes title.
        ax: draw into this axes instead of a new figure.
        points_label: the legend's name for ``points``.

    When one of f and f' is over 8 times the size of the other on the drawn range, f' gets a
    y axis of its own, on the right.

    Returns:
        The figure.

    Raises:
        TypeError: ``num`` is not a whole number, ``start`` or an entry of ``points`` is
            not a real number (a bool, text), or ``ax`` is not a matplotlib Axes.
        ValueError: ``domain`` is not finite ``(lo, hi)`` with ``lo < hi``, ``points`` has
            rows of uneven lengths or a value beyond any float, ``start`` is not finite, or
            ``num`` is below 2 or above 2**24.

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
    _check_ax(ax)
    # A start that is no number failed in NumPy's isfinite, naming nothing.
    start = None if start is None else finite_float("start", start)
    check_function(f, default_float())  # f of a scalar: a vector f failed deep in JAX
    # 0 or 1 point drew an empty figure without a word; 50.5 failed deep in jnp.linspace.
    num = check_num(num, 1, fix="the notebook drew 401")
    try:
        lo, hi = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ValueError(f"domain must be (lo, hi), two numbers; got {domain!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"domain must be finite (lo, hi) with lo < hi; got ({lo:g}, {hi:g})")
    check_span_fits("domain", lo, hi, default_float(), "grid")
    # np.asarray(points, np.float64) read True as 1.0 (a dot drawn at x = 1) and raised a bare
    # OverflowError for an int beyond any float.
    wanted = "points must be x positions, numbers, e.g. points=[1.5]"
    marks = as_real_array("points", points, wanted).astype(np.float64).ravel().tolist()
    extra = [v for v in (*marks, start) if v is not None and np.isfinite(v)]
    if extra:
        span = hi - lo
        lo = min(lo, min(extra) - 0.03 * span)
        hi = max(hi, max(extra) + 0.03 * span)
        check_span_fits("domain widened to show points and start", lo, hi, default_float(), "grid")
    x = jnp.linspace(lo, hi, num)
    fx, dfx = _f_and_grad(f, x)
    # No slope where f itself is not a number: autodiff's f' there (1/x of log(x) for x < 0)
    # describes no function drawn.
    fx = np.asarray(fx)
    dfx = np.where(np.isnan(fx), np.nan, np.asarray(dfx))
    at = np.asarray([*marks, start if start is not None else 0.0])
    f_at, df_at = (np.asarray(v) for v in _f_and_grad(f, jnp.asarray(at, x.dtype)))
    fig, ax = _axes(ax, (7.0, 4.5))
    ax.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    ax.plot(x, fx, label="f(x)", color="tab:blue")
    # Where f is NaN or overflows the curves just stopped, and nothing said why.
    for i, (a, b) in enumerate(_stretches(np.asarray(x), ~np.isfinite(fx))):
        label = "f not finite (NaN or ±inf)" if i == 0 else None
        ax.axvspan(a, b, color="0.88", zorder=0, label=label)
    # f' on an axis of its own when its size dwarfs f's (or f's dwarfs it): on one axis the
    # smaller curve would be a flat line.
    size_f, size_df = (_size(np.asarray(v)) for v in (fx, dfx))
    apart = min(size_f, size_df) > 0 and max(size_f, size_df) > _APART * min(size_f, size_df)
    dax = ax.twinx() if apart else ax
    dax.plot(x, dfx, "--", label="f'(x) (autodiff)", color="tab:orange")
    if start is not None:
        ax.plot(start, f_at[-1], "o", mfc="white", mec="k", label="start")
    drawn = [k for k, p in enumerate(marks) if np.isfinite(p)]  # a diverged run has none
    for k in drawn:
        label = points_label if k == drawn[0] else None
        if apart:  # each dot on its own curve's axis
            ax.plot(marks[k], f_at[k], "ro", label=label)
            dax.plot(marks[k], df_at[k], "ro")
        else:
            ax.plot([marks[k]] * 2, [f_at[k], df_at[k]], "ro", label=label)
    ax.set_xlim(lo, hi)
    ax.grid(alpha=0.4)
    if apart:
        ax.set(xlabel="x", ylabel="f(x)")
        dax.set_ylabel("f'(x)", color="tab:orange")
        dax.axhline(0.0, color="tab:orange", alpha=0.3, linewidth=0.8, zorder=0)
    else:
        ax.set(xlabel="x", ylabel="f(x) and f'(x)")
    handles, labels = ax.get_legend_handles_labels()
    if apart:
        # On the axes drawn last (f''s), below the plot: the curves fill the frame.
        more = dax.get_legend_handles_labels()
        handles, labels = [handles[0], *more[0], *handles[1:]], [labels[0], *more[1], *labels[1:]]
        dax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=2)
    else:
        ax.legend(handles, labels, loc="best")
    if title:
        ax.set_title(title)
    _footer(fig, _precision(x))
    return fig


#: Characters a line of :func:`plot_derivative_check`'s title may hold: its axes are about
#: 8.5 inches wide, and a title in the default 12 pt font takes about 0.1 inch a character.
_TITLE_CHARS = 80

#: f and f' share one y axis unless one is this many times the size of the other.
_APART = 8.0


def _size(values: np.ndarray) -> float:
    """The size of a curve on a plot: the largest |value| among the finite ones."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


@closes_its_figure_on_error
def plot_final(
    res: SweepResult,
    *,
    minima: Minima | None = None,
    tol: float = 1e-3,
    title: str | None = None,
    ax: Axes | None = None,
    f: Callable[[jax.Array], jax.Array] | None = None,
    xscale: str | None = None,
) -> Figure:
    """The final guess against the one swept axis (start, learning rate or epochs).

    The notebook's Experiments 1 and 2. With ``minima``, every minimum some run is heading
    to (and the global one) is a dashed line, and each run is drawn in the colour of the
    minimum it is heading to: with ``f``, the minimum downhill from where it ended
    (:func:`jaxgd.analysis.downhill_minimum`, the minimum of its basin), without ``f`` only
    the one it ended within ``tol`` of. A filled square has arrived (within ``tol``), an
    open one is still on its way; grey open squares head for no minimum found. The legend
    counts each. Diverged runs are red crosses on the x axis.

    Pass minima from :func:`jaxgd.minima.find_minima_reached` so the minima that runs
    settled in outside the domain get their line and colour too.

    Args:
        res: a sweep with exactly one axis longer than 1.
        minima: the local minima of f, or None.
        tol: distance within which a run counts as having reached a minimum.
        title: axes title; by default says what was held fixed.
        ax: draw into this axes instead of a new figure.
        f: the function descended; with it runs are coloured by where they are heading.
        xscale: ``"linear"`` or ``"log"`` for the x axis; by default log when the swept
            values are log-spaced (:func:`log_spaced`).

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
        >>> fig.texts[0].get_text()
        'computed in float32'
        >>> close(fig)
    """
    _check_ax(ax)
    wait_for_imports()
    from matplotlib.lines import Line2D

    r = _one_axis(res)
    (dim,) = r.dims
    x = np.asarray(r.coord(dim), np.float64)
    scale = _scale("xscale", xscale, x)
    y = np.asarray(r.final, np.float64)
    diverged = _diverged(r)
    n = y.size
    fig, ax = _axes(ax, (11.0, 4.8))
    order = np.argsort(x)
    ok = ~diverged[order]
    ax.plot(x[order][ok], y[order][ok], "-", color="0.8", linewidth=1, zorder=1)
    if minima is None:
        at = heading = np.full(y.shape, -1)
    else:
        at = nearest_minimum(y, minima, tol=tol)
        heading = downhill_minimum(f, y, minima, tol=tol) if f is not None else at
    at = np.where(diverged, -1, at)
    heading = np.where(diverged, -1, heading)
    colors = _minimum_colors(minima)
    best = _global_set(minima)
    # Every minimum some run is heading to, and the global ones even if none is (the lowest
    # of them alone when dozens tie).
    wanted = _minima_to_draw(set(heading.tolist()), best)
    shown = sorted(wanted & set(colors), key=lambda i: (i not in best, i))
    listed = _listed_minima(shown, best, {i: int((heading == i).sum()) for i in shown}, colors)
    handles: list[Any] = []
    squares: list[Any] = []  # the runs' squares, drawn whole at the edges at the end
    hollow = False  # whether any run on its way to a minimum is drawn (an open square)
    for i in shown:
        color = colors[i]
        going = heading == i
        arrived = going & (at == i)
        hollow |= bool((going & ~arrived).any())
        _mark_minimum(ax, minima, i, color=color, linestyle="--", linewidth=1, zorder=0)
        squares += ax.plot(x[arrived], y[arrived], "s", color=color, markersize=5, zorder=3)
        on_way = going & ~arrived
        squares += ax.plot(
            x[on_way], y[on_way], "s", mfc="white", mec=color, mew=1.2, markersize=5, zorder=3
        )
        count = f"{int(going.sum())} of {n} runs go here" + (
            f", {int(arrived.sum())} within {tol:g}" if going.any() else ""
        )
        if i not in listed:
            continue
        handles.append(
            Line2D(
                [],
                [],
                color=color,
                linestyle="--",
                marker="s",
                markersize=5,
                label=f"{_describe_minimum(minima, i)}: {count}",
            )
        )
    for which, label, color in _more_minima([i for i in shown if i not in listed], best):
        runs = int(np.isin(heading, which).sum())
        handles.append(
            Line2D(
                [],
                [],
                color=color,
                linestyle="--",
                marker="s",
                markersize=5,
                label=f"{label}: {runs} of {n} runs go there",
            )
        )
    lost = (heading == -1) & ~diverged
    if lost.any():
        squares += ax.plot(
            x[lost], y[lost], "s", mfc="white", mec="0.45", mew=1.2, markersize=5, zorder=3
        )
        if minima is None:
            label = f"final guess ({int(lost.sum())} of {n} runs)"
        elif f is None:
            label = f"not within {tol:g} of a minimum ({int(lost.sum())} of {n} runs)"
        else:
            label = f"heading to no minimum found ({int(lost.sum())} of {n} runs)"
        handles.append(
            Line2D([], [], linestyle="none", marker="s", mfc="white", mec="0.45", label=label)
        )
    # What the squares' fill means, when some are open: runs on their way to a minimum (with
    # f). Without them every square of a minimum's colour is filled, as its entry shows.
    if minima is not None and hollow:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="s",
                color="0.2",
                label=f"filled: within {tol:g} of its minimum",
            )
        )
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="s",
                mfc="white",
                mec="0.2",
                label=f"open: not within {tol:g} of it",
            )
        )
    if diverged.any():
        label = f"diverged ({int(diverged.sum())} of {n} runs)"
        ax.plot(
            x[diverged],
            np.zeros(int(diverged.sum())),
            "x",
            color="red",
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            label=label,
        )
        handles.append(Line2D([], [], linestyle="none", marker="x", color="red", label=label))
    if diverged.all():
        _every_run_diverged(ax, n)
    marks = [float(v) for i in shown for v in (minima.lo[i], minima.hi[i])]
    ax.set_ylim(*_ylim(np.r_[y[~diverged], marks], _rounding(r.final)))
    off = _beyond(ax, x, np.where(diverged, np.nan, y), n)
    if off is not None:
        handles.append(off)
    ax.set_xscale(scale)
    if dim == "epochs":
        plain_counts(ax.xaxis)
    # From the coordinates, not the marks drawn; rates and counts from 0, not below it.
    ax.set_xlim(*_xlim(x, scale, 0.0 if dim in _NOT_NEGATIVE else None))
    ax.grid(alpha=0.4)
    ax.set(xlabel=_LABEL[dim], ylabel="Final guess x")
    _whole_at_the_edges(ax, squares)
    ax.set_title(title if title is not None else f"Final guess {_fixed_coords(r)}".strip())
    if handles:
        # Outside the axes: inside, it would hide the runs or a minimum's line.
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    _footer(fig, _precision(r.final))
    return fig


@closes_its_figure_on_error
def plot_lines(
    res: SweepResult,
    *,
    minima: Minima | None = None,
    tol: float = 1e-3,
    title: str | None = None,
    ax: Axes | None = None,
    rate_scale: str | None = None,
    epochs_scale: str | None = None,
) -> Figure:
    """The final guess against the learning rate, one line per number of epochs.

    Experiment 3's second figure: how fast each rate gets there, for each training length.
    The lines are coloured by their number of epochs (the colour bar; one count is its
    middle colour). With ``minima``, the local minima that some run ends within ``tol`` of
    are dashed reference lines. The legend is under the axes (inside a caller's ``ax``).

    Args:
        res: as for :func:`plot_heatmap`.
        minima: the local minima of f (:func:`jaxgd.minima.find_minima_reached`), or None.
        tol: distance within which a run counts as having reached a minimum.
        title: axes title; by default names the start.
        ax: draw into this axes instead of a new figure.
        rate_scale: ``"linear"`` or ``"log"`` for the learning-rate axis; by default log
            when the rates are log-spaced (:func:`log_spaced`).
        epochs_scale: the same for the colour scale of the epoch counts; by default, when
            they are 0 and log-spaced counts (0, 10, 100, 1000), linear from 0 to the
            smallest other count and log above it, so the lines of 0 and the few epochs
            differ in colour.

    Returns:
        The figure; its colour bar (epochs) is the second axes.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxgd.plotting import close
        >>> import jaxgd
        >>> res = jaxgd.sweep(jnp.cos, 1.0, np.geomspace(1e-3, 1.0, 7), [10, 100, 1000])
        >>> fig = plot_lines(res)
        >>> ax, bar = fig.axes
        >>> ax.get_xscale(), bar.get_ylabel()
        ('log', 'Training epochs (one line each)')
        >>> ax.get_title()
        'Final guess from x₀ = 1, one line per number of epochs'

        >>> close(fig)
    """
    _check_ax(ax)
    wait_for_imports()
    import matplotlib as mpl

    r = _rate_epochs(res)
    rates = np.asarray(r.learning_rates, np.float64)
    counts = np.asarray(r.epochs, np.float64)
    xscale = _scale("rate_scale", rate_scale, rates)
    cscale = _scale("epochs_scale", epochs_scale, counts)
    final = np.asarray(r.final, np.float64)
    diverged = _diverged(r)
    order = np.argsort(rates)
    own = ax is None
    fig, ax = _axes(ax, (7.5, 5.0))
    top = counts.max() if counts.max() > counts.min() else counts.min() + 1
    positive = np.unique(counts[counts > 0])
    if np.unique(counts).size == 1:
        # One count: its line in the middle colour, its tick in the middle of the bar. From
        # it to a made-up count + 1, the line took the bar's bottom colour beside one tick at
        # the bottom, a bar that looked cut off and said nothing.
        norm = mpl.colors.Normalize(counts[0] - 0.5, counts[0] + 0.5)
    elif cscale == "log":
        norm = mpl.colors.LogNorm(counts.min(), top)
    elif (
        epochs_scale is None
        and counts.min() == 0
        and log_spaced(positive)
        and positive[-1] >= 10 * positive[0]
    ):
        # 0 and log-spaced counts (0, 10, 100, 1000): on a linear scale every count but the
        # largest got the colour of 0, and a log scale has no 0. Linear from 0 up to the
        # smallest count, log above it: 0 is one step below it, as each count below the next.
        # Not for counts within a decade (0 and 150 ... 180): there the log part was a sliver
        # of the bar, every line but 0's one colour, and their tick labels overlapped.
        norm = mpl.colors.SymLogNorm(positive[0], linscale=1.0, vmin=0.0, vmax=top, base=10)
    else:
        norm = mpl.colors.Normalize(counts.min(), top)
    cmap = mpl.colormaps["viridis"]
    for k in np.argsort(counts):
        y = np.where(diverged[:, k], np.nan, final[:, k])[order]
        # A finite run between diverged neighbours (or the only rate) is no segment of a
        # line: it gets a dot, or it would not show and look diverged too.
        finite = np.isfinite(y)
        alone = finite & ~np.r_[False, finite[:-1]] & ~np.r_[finite[1:], False]
        ax.plot(
            rates[order],
            y,
            color=cmap(norm(counts[k])),
            linewidth=1,
            marker="o" if alone.any() else None,
            markersize=4,
            markevery=alone.tolist() if alone.any() else None,
        )
    if minima is not None:
        which = np.where(diverged, -1, nearest_minimum(final, minima, tol=tol))
        colors, best = _minimum_colors(minima), _global_set(minima)
        runs = {i: int((which == i).sum()) for i in set(which.ravel().tolist()) - {-1}}
        shown = sorted(runs, key=lambda i: (i not in best, i))
        # Named as in every figure of minima: each in its colour of _minimum_colors, no two
        # named alike; the rest in one entry (this legend named all, 20 lines for 20 minima).
        listed = _listed_minima([i for i in shown if i in colors], best, runs, colors)
        for i in shown:
            _mark_minimum(
                ax,
                minima,
                i,
                color=colors.get(i, "0.3"),
                linestyle="--",
                linewidth=1.2,
                label=_describe_minimum(minima, i) if i in listed or i not in colors else None,
                zorder=0,
            )
        rest = [i for i in shown if i in colors and i not in listed]
        for group, label, color in _more_minima(rest, best):
            hit = sum(runs[i] for i in group)
            ax.plot([], [], color=color, linestyle="--", label=f"{label} ({hit} runs)")
    if diverged.any():
        ax.plot([], [], " ", label=f"{int(diverged.sum())} diverged runs not drawn")
    if diverged.all():
        _every_run_diverged(ax, diverged.size)
    ax.set_ylim(*_ylim(final[~diverged]))
    off = _beyond(
        ax,
        np.broadcast_to(rates[:, None], final.shape).ravel(),
        np.where(diverged, np.nan, final).ravel(),
        final.size,
    )
    if off is not None:  # into the legend, which this figure collects from the axes
        ax.plot(
            [], [], linestyle="none", marker=off.get_marker(), color="0.35", label=off.get_label()
        )
    ax.set_xscale(xscale)
    # From the rates, not the lines drawn: with every run diverged there are none to scale by.
    ax.set_xlim(*_xlim(rates, xscale, 0.0))
    bar = fig.colorbar(
        mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="Training epochs (one line each)"
    )
    if np.unique(counts).size == 1:
        bar.set_ticks([counts[0]])  # not ticks between it and the norm's made-up other end
    elif isinstance(norm, mpl.colors.SymLogNorm | mpl.colors.LogNorm):
        # The counts themselves when few; else round numbers (10, 20, 50, 100, ...), and 0.
        shown = np.unique(counts)
        if shown.size > 8:
            picks = _count_ticks(positive[0], top)
            shown = np.r_[0.0, picks] if counts.min() == 0 else np.asarray(picks)
        bar.set_ticks(shown, labels=[f"{t:g}" for t in shown])
        bar.minorticks_off()
    elif cscale == "linear":
        bar.locator = mpl.ticker.MaxNLocator(integer=True)
        bar.update_ticks()
    ax.grid(alpha=0.4)
    ax.set(xlabel="Learning rate", ylabel="Final guess x")
    ax.set_title(
        title
        if title is not None
        else f"Final guess {_fixed_coords(r)}, one line per number of epochs".replace(" ,", ",")
    )
    handles = ax.get_legend_handles_labels()[0]
    if handles and own:
        # Under the axes: inside, "best" found no free corner among dozens of lines and
        # covered some of them.
        _legend_under(ax, handles)
    elif handles:
        ax.legend(loc="best", fontsize="small")
    _footer(fig, _precision(r.final))
    return fig


@closes_its_figure_on_error
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
    formula that explains it (``explain``), dashed. Where f is not finite (not compared, see
    :class:`~jaxgd.derivative.DerivativeCheck`) both panels are shaded grey and neither
    derivative is drawn; the title counts those points apart from the ones compared.

    Args:
        check: from :func:`jaxgd.derivative.check_derivative`.
        f: the function ``check`` was made for, written with ``jax.numpy``; drawn in float64,
            compiled once per ``f`` and grid size (as in ``check_derivative``).
        given_label: what to call the given derivative in the legend.
        given_end, autodiff_end: where descent with each derivative ended, or None.
        start: where descent started, an open circle on f.
        explain: ``(label, g)`` with ``g`` a NumPy function of x to draw on the error panel.
        title: figure title; by default whether the two agree.

    Returns:
        The figure: the two panels, sharing x.

    Raises:
        TypeError: ``check`` is not a :class:`~jaxgd.derivative.DerivativeCheck`, ``f``
            cannot be traced, differentiated or returns no real scalar, ``explain`` is not
            ``(label, g)``, ``g`` fails or returns other than real numbers (complex numbers,
            bools), or a position is not a number.
        ValueError: ``f`` returns a non-scalar, ``start`` is not finite, or ``g`` returns
            other than one value per x.

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
    from jaxgd.derivative import DerivativeCheck, on_points

    if not isinstance(check, DerivativeCheck):
        raise TypeError(
            f"check must be a DerivativeCheck, got {type(check).__name__}; make one with "
            "jaxgd.derivative.check_derivative(f, df, lo, hi)"
        )
    # Everything is checked before f is compiled on the grid: a bad argument compiles nothing.
    start = None if start is None else finite_float("start", start)
    given_end, autodiff_end = _end("given_end", given_end), _end("autodiff_end", autodiff_end)
    x = check.x
    if explain is not None:
        explain_label, explained = _explanation(explain, x)
    with jax.enable_x64(True):
        check_function(f, np.dtype(np.float64), hashable=False)  # a vector f failed in NumPy
        fx = np.asarray(on_points(f, x, grad=False), np.float64)
        ends = [v for v in (given_end, autodiff_end, start) if v is not None]
        at = np.asarray(ends, np.float64)
        f_ends = np.asarray(on_points(f, at, grad=False), np.float64) if ends else ()
        f_at = dict(zip(ends, f_ends, strict=True))
    # Where f is not finite nothing was compared: both derivatives there are whatever the
    # formulas give (autodiff through a jnp.where gives 0), so they are left out, and the
    # stretches are shaded instead.
    compared = check.compared
    autodiff = np.where(compared, check.autodiff, np.nan)
    given = np.where(compared, check.given, np.nan)
    with np.errstate(invalid="ignore"):
        error = given - autodiff
    given_color, autodiff_color = "tab:red", "tab:orange"
    fig, (top, bottom) = _subplots(2, 1, sharex=True, figsize=(11.0, 7.5), height_ratios=[3, 2])
    top.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    top.plot(x, fx, color="tab:blue", label="f(x)")
    top.plot(x, autodiff, color=autodiff_color, label="f'(x) from autodiff")
    top.plot(x, given, "--", color=given_color, label=given_label)
    for ax in (top, bottom):
        for i, (a, b) in enumerate(_stretches(x, ~compared)):
            label = "outside f's domain (f not finite): not compared" if i == 0 else None
            ax.axvspan(a, b, color="0.85", zorder=0, label=label)
    if start is not None:
        top.plot(start, f_at[start], "o", mfc="white", mec="k", label=f"start x₀ = {start:.5g}")
    for end, values, color, who in (
        (autodiff_end, autodiff, autodiff_color, "autodiff"),
        (given_end, given, given_color, given_label),
    ):
        if end is None or not np.isfinite(end):
            continue
        # The notebook marks the end on f and on the derivative, which is zero there.
        slope = float(np.interp(end, x, values))
        # Where f is not finite the run has not ended anywhere: it stopped (a diverged run).
        ended = (
            f"ends at x = {end:.5g}"
            if np.isfinite(f_at[end])
            else f"stops at x = {end:.5g}, where f is not finite"
        )
        top.plot(
            [end, end], [f_at[end], slope], "o", color=color, label=f"descent with {who} {ended}"
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
        bottom.plot(x, explained, "--", color="k", linewidth=1, label=explain_label)
    bottom.grid(alpha=0.4)
    # f and autodiff decide where to look: the given derivative may be anything.
    lo, hi = _where_it_happens(x, [fx, autodiff], [start, given_end, autodiff_end])
    inside = (x >= lo) & (x <= hi)
    marks = [v for k, v in f_at.items() if np.isfinite(k) and lo <= k <= hi]
    top.set_ylim(*_ylim(np.r_[fx[inside], autodiff[inside], given[inside], marks]))
    shown = [error[inside]] + ([explained[inside]] if explain is not None else [])
    bottom.set_ylim(*_ylim(np.concatenate(shown)))
    bottom.set(xlabel="x", ylabel="given - autodiff", xlim=(lo, hi))
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    if title is None:
        bad, count = int(check.mismatch.sum()), int(compared.sum())
        # Counted over the points compared: where f is not finite there is no error to have.
        where = "" if count == x.size else " where f is finite"
        verdict = (
            f"disagree at {bad} of {count} points{where}"
            if bad
            else f"agree at all {count} points{where}"
        )
        nan = compared & np.isnan(check.error)
        worst = (
            f"not finite at {int(nan.sum())} of {count} points (first x = {x[nan][0]:.6g})"
            if nan.any()
            else f"{check.max_error:.3g}"
        )
        lines = [
            f"Given derivative ({given_label}) against autodiff:",
            f"{verdict}, max |error| {worst}",
        ]
        if count < x.size:
            lines.append(f"{x.size - count} points outside f's domain (shaded) not compared")
        # One line held all of it, and where f is not finite it ran past both edges of the
        # figure ("gree at 2098 of 2101 points ..."): each line is wrapped to the axes' width.
        title = "\n".join(textwrap.fill(line, _TITLE_CHARS) for line in lines)
    top.set_title(title, wrap=True)
    _footer(fig, "float64")
    return fig


def _stretches(x: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """The runs of consecutive points of the ascending ``x`` where ``mask`` holds, each as
    the span from halfway to the point before it to halfway to the point after (the ends of
    ``x`` at the ends): a single point is a stripe, not a line of no width."""
    where = np.flatnonzero(mask)
    if where.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(where) > 1)
    firsts, lasts = where[np.r_[0, breaks + 1]], where[np.r_[breaks, where.size - 1]]
    spans = []
    for a, b in zip(firsts, lasts, strict=True):
        left = x[a] if a == 0 else 0.5 * (x[a - 1] + x[a])
        right = x[b] if b == x.size - 1 else 0.5 * (x[b] + x[b + 1])
        spans.append((float(left), float(right)))
    return spans


def _end(name: str, value: Any) -> float | None:
    """Where a descent ended: None, or a real number (inf or NaN, a run that diverged, is
    drawn as no end)."""
    if value is None:
        return None
    try:
        return finite_float(name, value)
    except ValueError:  # not finite: kept, and not marked
        return float(np.asarray(value, np.float64))


def _explanation(explain: Any, x: np.ndarray) -> tuple[str, np.ndarray]:
    """``explain``'s label and its ``g`` on ``x``, or one error naming ``explain``."""
    fix = "pass explain=(label, g), g a NumPy function of x, e.g. ('0.1 x', lambda x: 0.1 * x)"
    if not (isinstance(explain, tuple | list) and len(explain) == 2 and callable(explain[1])):
        raise TypeError(f"explain must be a pair (label, g) with g callable; {fix}")
    label, g = explain
    try:
        values = np.asarray(g(x.copy()))
    except Exception as err:
        raise TypeError(
            f"explain's g failed on the points of the check: {type(err).__name__}: {err}; {fix}"
        ) from err
    # As check_derivative reads df: a cast to float64 would drop an imaginary part (with a
    # warning at most), and read bools as 0 and 1.
    if values.dtype.kind not in "fiu" and not jnp.issubdtype(values.dtype, jnp.floating):
        raise TypeError(f"explain's g must return real numbers, got dtype {values.dtype}; {fix}")
    values = values.astype(np.float64)
    if values.shape != x.shape:
        raise ValueError(
            f"explain's g must return one value per x: on {x.shape[0]} points it returned "
            f"shape {values.shape}; {fix}"
        )
    return str(label), values


def _where_it_happens(
    x: np.ndarray, curves: Sequence[np.ndarray], marks: Sequence[float | None]
) -> tuple[float, float]:
    """The x range to draw: all of ``x``, unless f grows so much away from the runs and the
    minima that drawing all of it would flatten them (a quartic on [-2 pi, 2 pi] spans 1500).

    The runs (``marks``) and the minima of f (where the first curve's derivative, the
    second, turns from - to +) span the part that matters; it is widened by half its width
    and at least a tenth of ``x``'s. If the curves vary more than 10 times as much over all
    of ``x`` as over that part, that part is drawn.
    """
    slope = np.asarray(curves[1])
    with np.errstate(invalid="ignore"):
        turns = np.flatnonzero((slope[:-1] < 0) & (slope[1:] >= 0))
    points = [float(v) for v in marks if v is not None and np.isfinite(v)]
    points += x[turns + 1].tolist()
    lo, hi = float(x[0]), float(x[-1])
    if not points:
        return lo, hi
    a, b = min(points), max(points)
    pad = max(0.5 * (b - a), 0.1 * (hi - lo))
    a, b = max(lo, a - pad), min(hi, b + pad)

    def span(mask: np.ndarray) -> float:
        v = np.concatenate([np.asarray(c)[mask] for c in curves])
        v = v[np.isfinite(v)]
        return float(v.max() - v.min()) if v.size else 0.0

    near = (x >= a) & (x <= b)
    if near.sum() >= 2 and span(np.ones(x.shape, bool)) > 10 * span(near):
        return a, b
    return lo, hi
