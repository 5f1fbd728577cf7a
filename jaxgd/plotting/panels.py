"""Side-by-side panels along one named dimension: one (learning rate, epochs) map per value,
and where runs from the given starts end, one line per value.

Made for the dimensions a sweep grows with ``optimizer=``, ``hyperparams=`` and ``params=``
("optimizer", a hyperparameter's name, "param"), and work along any dimension of a result,
"start" included. Every other dimension must already be selected (or have length 1): the error
says which and how.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jaxgd._validate import positive_float, whole_number
from jaxgd.analysis import downhill_minimum, nearest_minimum
from jaxgd.plotting._common import (
    _LABEL,
    _NOT_NEGATIVE,
    _beyond,
    _diverged,
    _empty_bar,
    _every_run_diverged,
    _footer,
    _global_set,
    _listed_minima,
    _mark_minimum,
    _minima_to_draw,
    _minimum_colors,
    _more_minima,
    _one_value_bar,
    _pick,
    _precision,
    _rounding,
    _scalar_starts,
    _scale,
    _subplots,
    _target_text,
    _where,
    _xlim,
    _ylim,
    closes_its_figure_on_error,
    color_limits,
    coord_text,
    wait_for_imports,
)
from jaxgd.plotting.maps import _check_target, _target_distance, rate_epochs_map
from jaxgd.result import SweepResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from jaxgd.minima import Minima

#: Line colours of the panels' values in :func:`plot_ends`, distinct from the minima's.
_LINE_COLORS = ("tab:blue", "black", "tab:gray", "navy", "darkgoldenrod", "teal")
#: Their markers, so lines that coincide can still be told apart. Seven against six colours:
#: value k and k + 6 differ in marker, and no two of the first 42 values look alike.
_MARKERS = ("s", "o", "^", "D", "v", "P", "X")


def _count_text(n: Any) -> str:
    """An epoch count as a title says it: 100, not 100.0."""
    value = float(n)
    return f"{int(value)}" if value.is_integer() else f"{value:g}"


def _label(dim: str, value: Any) -> str:
    """How one coordinate of ``dim`` is named in a title or legend."""
    if isinstance(value, str | np.str_):
        return str(value)
    number = float(np.asarray(value))
    if dim in _LABEL:
        return f"{_LABEL[dim]} = {number:g}"
    return f"{dim} = {number:g}"


def _values_of(
    res: SweepResult, dim: str, where: str, needs: Sequence[str] = (), purpose: str = ""
) -> list[Any]:
    """The coordinate values of ``dim``, once ``res`` is known to have it and, besides it,
    every dimension of ``needs`` (``purpose`` ends that error's clause, e.g. " to map")."""
    if not isinstance(dim, str) or dim not in res.dims:
        raise ValueError(
            f"{where}: dim must name one of the result's dimensions {list(res.dims)}; got {dim!r}."
        )
    if dim in needs:
        others = [d for d in res.dims if d not in needs and d != "coord"]
        pick = f"one of {others}" if others else "a dimension the result does not have"
        raise ValueError(
            f"{where}: {dim!r} is already an axis of the figure (it draws "
            f"{' and '.join(needs)}), so it cannot also be the dimension it draws one "
            f"{'panel' if len(needs) > 1 else 'line'} per value of; pass {pick}."
        )
    if any(d not in res.dims for d in needs):
        named = " and ".join(f"{'an' if d[0] in 'aeiou' else 'a'} {d}" for d in needs)
        raise ValueError(
            f"{where}: the result needs {named} dimension besides {dim!r}{purpose}; its "
            f"dimensions are {res.sizes}."
        )
    coords = np.asarray(res.coord(dim))
    if coords.size == 0:
        raise ValueError(f"{where}: dimension {dim!r} is empty; there is nothing to draw.")
    return list(coords)


def _keep_only(res: SweepResult, keep: Sequence[str], where: str, example: str) -> SweepResult:
    """``res`` with every length-1 dimension outside ``keep`` dropped; others refused.

    A result whose starts are points of R^d, where ``keep`` draws against the start, is
    refused as such first: selecting one value of its ``coord`` axis (the fix the general
    error would show) keeps the starts points, and the plot would refuse them next."""
    if "start" in keep:
        _scalar_starts(res, where)
    extra = {d: n for d, n in res.sizes.items() if d not in keep}
    long = {d: n for d, n in extra.items() if n != 1}
    if long:
        raise ValueError(
            f"{where}: besides {', '.join(map(repr, keep))} the result has the dimensions "
            f"{long}; select one value of each first, e.g. res.sel({example})."
        )
    return res.isel(**dict.fromkeys(extra, 0))


def _example(res: SweepResult, dims: Sequence[str]) -> str:
    parts = []
    for d in dims:
        if d not in res.dims or res.sizes[d] == 1:
            continue
        parts.append(f"{d}={coord_text(res, d, np.asarray(res.coord(d))[-1])}")
    return ", ".join(parts)


@closes_its_figure_on_error
def plot_panels(
    res: SweepResult,
    dim: str,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    robust: bool = True,
    target: float | tuple[float, float] | None = None,
    tol: float = 1e-3,
    title: str | None = None,
    ncols: int | None = None,
    rate_scale: str | None = None,
    epochs_scale: str | None = None,
) -> Figure:
    """Experiment 3's map, the final guess over (learning rate, epochs), once per value of ``dim``.

    The panels share one colour scale and one colour bar, so a colour means the same x in
    each: by default the 2nd..98th percentile of the finite values of all panels together
    (:func:`jaxgd.plotting.color_limits`). Diverged cells are grey, as in every map.

    Args:
        res: a sweep with the dimensions ``dim``, ``"learning_rate"`` and ``"epochs"``; any
            other dimension (a start, a hyperparameter, a param) must have length 1 or be
            selected first, e.g. ``res.sel(start=0.0)``.
        dim: the dimension to draw side by side, e.g. ``"optimizer"`` or ``"param"``.
        vmin, vmax, robust: the shared colour limits, see :func:`color_limits`.
        target: optional x, e.g. the global minimum, or a span ``(lo, hi)`` (a flat
            minimum): a red line then encloses, in each panel, the cells that ended within
            ``tol`` of it.
        tol: see ``target``.
        title: the figure's title; by default names the dimension.
        ncols: panels per row; by default rows of up to 4, as even as they can be.
        rate_scale, epochs_scale: ``"linear"`` or ``"log"``; by default log where the values
            are log-spaced (:func:`jaxgd.plotting.log_spaced`).

    Returns:
        The figure: its first ``n`` axes are the panels, in the order of ``res.coord(dim)``,
        the last is the shared colour bar.

    Raises:
        ValueError: ``dim`` is not a dimension of ``res``, or another dimension besides
            learning_rate and epochs is longer than 1 (the message says which to select).

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jax.numpy as jnp, numpy as np
        >>> import jaxgd
        >>> from jaxgd.plotting import close
        >>> res = jaxgd.sweep(jnp.cos, [1.0, 2.0, 3.0], np.linspace(0.01, 1.0, 5), [10, 50])
        >>> fig = plot_panels(res, "start")
        >>> [ax.get_title() for ax in fig.axes[:3]]
        ['Starting guess x₀ = 1', 'Starting guess x₀ = 2', 'Starting guess x₀ = 3']
        >>> len(fig.axes)  # three panels and one colour bar
        4
        >>> close(fig)
    """
    values = _values_of(res, dim, "plot_panels", ("learning_rate", "epochs"), " to map")
    keep = (dim, "learning_rate", "epochs")
    res = _keep_only(
        res, keep, "plot_panels", _example(res, [d for d in res.dims if d not in keep])
    )
    res = res.to_numpy()
    axis = res.dims.index(dim)
    final = np.moveaxis(np.asarray(res.final, np.float64), axis, 0)
    diverged = np.moveaxis(_diverged(res), axis, 0)
    if res.dims.index("learning_rate") > res.dims.index("epochs"):
        final, diverged = final.transpose(0, 2, 1), diverged.transpose(0, 2, 1)
    lo, hi = color_limits(np.where(diverged, np.nan, final), vmin=vmin, vmax=vmax, robust=robust)
    if target is not None:
        _check_target(target)
        tol = positive_float("tol", tol, example="1e-3")  # as plot_final and the rest
    n = len(values)
    if ncols is not None:
        # Any integer-like (a NumPy integer, a 0-d array) is an int, as everywhere in jaxgd.
        whole = whole_number(ncols)
        if whole is None or whole < 1:
            raise ValueError(f"plot_panels: ncols must be a whole number >= 1; got {ncols!r}.")
        ncols = whole
    # Rows as even as they can be, 4 panels at most: 5 panels are 3 + 2, not 4 + 1.
    cols = math.ceil(n / math.ceil(n / 4)) if ncols is None else min(ncols, n)
    rows = math.ceil(n / cols)
    fig, grid = _subplots(
        rows, cols, figsize=(3.6 * cols + 1.2, 3.3 * rows + 0.8), squeeze=False, sharey=True
    )
    axes = grid.ravel()
    mappables, bars = [], []
    outline_label = "" if target is None else f"within {tol:g} of {_target_text(target)}"
    for i, (ax, value) in enumerate(zip(axes, values, strict=False)):
        bar = rate_epochs_map(
            ax,
            final[i],
            res.learning_rates,
            res.epochs,
            label="Final guess x",
            vmin=lo,
            vmax=hi,
            bad=diverged[i],
            outline=None if target is None else _target_distance(final[i], target) <= tol,
            outline_label=outline_label,
            rate_scale=rate_scale,
            epochs_scale=epochs_scale,
        )
        mappables.append(bar.mappable)
        bars.append(bar)
        ax.set_title(_label(dim, value))
        if i % cols:
            ax.set_ylabel("")
    for ax in axes[n:]:
        ax.remove()
    # One colour bar for all: the limits are shared, so one says it for every panel.
    for bar in bars:
        bar.remove()
    shown = final[~diverged]
    below, above = bool((shown < lo).any()), bool((shown > hi).any())
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max"}.get(
        (below, above), "both"
    )
    bar = fig.colorbar(mappables[0], ax=list(axes[:n]), label="Final guess x", extend=extend)
    if not shown.size:
        _empty_bar(bar, "Final guess x", "every run diverged")
    _one_value_bar(bar, shown, vmin, vmax, grey=bool(diverged.any()))
    _one_legend(fig, axes[:n])
    fig.suptitle(title if title is not None else f"Where descent ends, one panel per {dim}")
    _footer(fig, _precision(res.final))
    return fig


def _one_legend(fig: Figure, axes: Sequence[Axes]) -> None:
    """The panels' legends as one at the foot of the figure, where they all say the same (the
    target's outline, no diverged cells): one legend under each panel repeats it."""
    legends = [ax.get_legend() for ax in axes]
    if any(lg is None for lg in legends):
        return
    texts = [[t.get_text() for t in lg.get_texts()] for lg in legends]
    if any(t != texts[0] for t in texts[1:]):
        return  # each panel's counts differ: each keeps its own
    handles = legends[0].legend_handles  # templates only: a legend draws its own copies
    for lg in legends:
        lg.remove()
    fig.legend(handles, texts[0], loc="outside lower center", fontsize="small")


@closes_its_figure_on_error
def plot_ends(
    res: SweepResult,
    dim: str,
    *,
    learning_rate: float | None = None,
    epochs: int | None = None,
    minima: Minima | None = None,
    tol: float = 1e-3,
    title: str | None = None,
    f: Callable[[Any], Any] | None = None,
) -> Figure:
    """Where the runs from the given starts end, one line per value of ``dim``.

    The notebook's Experiment 1 (the final guess against the start) for several optimisers,
    hyperparameter values or params at once: starts on x, final guesses on y. With ``minima``
    each minimum the runs ended at, and the global one, is a dashed line (the global one
    green), named in the legend, which counts, per value, the starts that ended within
    ``tol`` of the global minimum; with ``f`` too, so is each minimum runs that have not
    settled yet are heading to (:func:`jaxgd.analysis.downhill_minimum`). Diverged runs are
    red crosses on the x axis, counted in the legend. Each line's points are shifted sideways
    by a fraction of the starts' typical (median) spacing, at most 0.3 of it either way, so
    that lines that end at the same places (optimisers that find the same minima) stay
    visible side by side. The y axis is set as in :func:`~jaxgd.plotting.plot_final`: ends
    apart by rounding only are drawn as one value, and the few runs flung far past the rest
    are marked on its edge and counted in the legend.

    Args:
        res: a sweep with the dimensions ``dim`` and ``"start"``; the learning rate and the
            epoch count are picked with ``learning_rate`` and ``epochs`` where they are
            dimensions longer than 1; any other dimension must have length 1 or be selected.
        dim: the dimension to draw one line per value of, e.g. ``"optimizer"``.
        learning_rate: the rate to draw, a coordinate of ``res`` (exact, as
            :meth:`~jaxgd.SweepResult.sel`).
        epochs: the epoch count to draw; by default the largest.
        minima: the local minima of f (e.g. from :func:`jaxgd.minima.find_minima_reached`).
        tol: distance within which a run counts as having reached a minimum.
        title: the axes title; by default says which rate and epoch count.
        f: the function descended, ``f(x)`` with ``jax.numpy``; with ``minima``, the minima
            that unsettled runs are heading to are drawn too (a shallow minimum that runs
            approach slowly had no line: none had come within ``tol``).

    Returns:
        The figure.

    Raises:
        ValueError: ``dim`` is not a dimension of ``res``, a dimension besides it and the
            start is longer than 1 and not picked (the message says which), or
            ``learning_rate`` or ``epochs`` is not one of the result's coordinates.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jax.numpy as jnp, numpy as np
        >>> import jaxgd
        >>> from jaxgd.plotting import close
        >>> res = jaxgd.sweep(jnp.cos, np.linspace(1.0, 5.0, 9), [0.1, 0.5], [10, 100])
        >>> fig = plot_ends(res, "learning_rate")
        >>> fig.axes[0].get_title()
        'Where each start ends after 100 epochs'
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['Learning rate = 0.1', 'Learning rate = 0.5']
        >>> close(fig)
    """
    wait_for_imports()
    from matplotlib.lines import Line2D

    values = _values_of(res, dim, "plot_ends", ("start",))
    for name, given in (("epochs", epochs), ("learning_rate", learning_rate)):
        # Given, but with nothing to select: it was drawn as if never given, without a word.
        if given is not None and (dim == name or name not in res.dims):
            why = (
                f"the {name} axis is what the lines run along"
                if dim == name
                else f"the result has no {name} axis left (selected before)"
            )
            raise ValueError(f"plot_ends: {name}={given!r} selects nothing: {why}; drop it.")
    fixed = []
    if "epochs" in res.dims and dim != "epochs":
        counts = np.asarray(res.epochs)
        chosen = int(counts.max()) if epochs is None else epochs
        res = _pick(res, "epochs", chosen, "plot_ends", "epochs")
        fixed.append(f"after {_count_text(chosen)} epochs")
    elif "epochs" not in res.dims and np.ndim(res.epochs) == 0:
        fixed.append(f"after {_count_text(res.epochs)} epochs")  # selected before: still said
    if "learning_rate" in res.dims and dim != "learning_rate":
        if learning_rate is not None:
            res = _pick(res, "learning_rate", learning_rate, "plot_ends", "learning_rate")
        elif res.sizes["learning_rate"] == 1:
            res = res.isel(learning_rate=0)
        else:
            raise ValueError(
                "plot_ends: the result has "
                f"{res.sizes['learning_rate']} learning rates; pick one with learning_rate=, "
                "e.g. learning_rate="
                f"{coord_text(res, 'learning_rate', np.asarray(res.learning_rates).max())}."
            )
    if np.ndim(res.learning_rates) == 0 and dim != "learning_rate":
        fixed.insert(0, f"at learning rate {float(res.learning_rates):g}")
    keep = (dim, "start")
    res = _keep_only(res, keep, "plot_ends", _example(res, [d for d in res.dims if d not in keep]))
    res = res.to_numpy()
    axis = res.dims.index(dim)
    final = np.asarray(res.final, np.float64)
    diverged = _diverged(res)
    if axis != 0:
        final, diverged = final.T, diverged.T
    x = np.asarray(res.starts, np.float64)
    order = np.argsort(x)
    fig, ax = _subplots(figsize=(12.0, 5.0))
    best = _global_set(minima)
    handles: list[Any] = []
    drawn: set[int] = set()
    if minima is not None:
        # Which minimum each run ended at: the lines drawn and each value's count.
        ends = np.where(diverged, np.nan, final)
        at = nearest_minimum(ends, minima, tol=tol)
        colors = _minimum_colors(minima)
        reached = set(at.ravel().tolist())
        if f is not None:
            reached |= set(downhill_minimum(f, ends, minima, tol=tol).ravel().tolist())
        # The minima these runs ended at, and the global ones: not every minimum of a whole
        # sweep (a dozen dashed lines, stretching the axis far past where these runs end);
        # of dozens tied for lowest, those reached (or the first) as in plot_final.
        drawn = _minima_to_draw(reached, best)
        drawn &= set(colors)  # stationary minima: no "none", no end of the interval
        hits = {i: int((at == i).sum()) for i in drawn}
        named = _listed_minima(sorted(hits), best, hits, colors)
        # The global minima first, then the local ones, each line named by where it lies.
        for i in sorted(drawn, key=lambda i: (i not in best, i)):
            color = colors[i]
            _mark_minimum(ax, minima, i, color=color, linestyle="--", linewidth=1, zorder=0)
            if i in named:
                kind = "global" if i in best else "local"
                label = f"{kind} minimum {_where(minima, i)}"
                handles.append(Line2D([], [], color=color, linestyle="--", label=label))
        for _, label, color in _more_minima(sorted(drawn - named), best):
            handles.append(Line2D([], [], color=color, linestyle="--", label=label))
    lost = 0
    # Lines that coincide (optimisers that end at the same minimum) hid each other: each
    # line's points are set apart by a fraction of the starts' spacing, centred on them.
    # The typical spacing, not the least: one close pair, or random starts, made it vanish.
    gaps = np.diff(np.unique(x))
    dodge = 0.6 * float(np.median(gaps)) / len(values) if gaps.size and len(values) > 1 else 0.0
    shifted = x + (np.arange(len(values))[:, None] - (len(values) - 1) / 2) * dodge
    for k, value in enumerate(values):
        color = _LINE_COLORS[k % len(_LINE_COLORS)]
        xk = shifted[k]
        ok = ~diverged[k][order]
        y = np.where(ok, final[k][order], np.nan)
        label = _label(dim, value)
        if minima is not None and best:
            hit = int(np.isin(at[k], list(best)).sum())
            label += f": {hit} of {x.size} starts within {tol:g} of the global minimum"
        if diverged[k].any():
            label += f", {int(diverged[k].sum())} diverged"
            lost += int(diverged[k].sum())
            # On the x axis itself, not at y = 0: that may be where a minimum's line is.
            ax.plot(
                xk[diverged[k]],
                np.zeros(int(diverged[k].sum())),
                "x",
                color="tab:red",
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                zorder=4,
            )
        marker = _MARKERS[k % len(_MARKERS)]
        (line,) = ax.plot(
            xk[order],
            y,
            f"{marker}-",
            color=color,
            markersize=4,
            linewidth=1,
            alpha=0.8,
            label=label,
        )
        handles.append(line)
    # As in plot_final: ends apart by rounding only are one value (not an axis zoomed onto
    # float32's last digits, which drew one minimum as two plateaus), and a few runs flung
    # far away do not squash the rest; those left off are marked on the edge and counted.
    marks = [float(v) for i in drawn for v in (minima.lo[i], minima.hi[i])]
    if diverged.all():
        _every_run_diverged(ax, diverged.size)
    ax.set_ylim(*_ylim(np.r_[final[~diverged], marks], _rounding(res.final)))
    off = _beyond(ax, shifted.ravel(), np.where(diverged, np.nan, final).ravel(), final.size)
    if off is not None:
        handles.append(off)
    if lost:
        handles.append(Line2D([], [], color="tab:red", marker="x", linestyle="", label="diverged"))
    ax.set(xlabel=_LABEL["start"], ylabel="Final guess x")
    ax.set_title(
        title if title is not None else ("Where each start ends " + ", ".join(fixed)).strip()
    )
    # Outside the axes: inside, it would hide the runs or a minimum's line.
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    _footer(fig, _precision(res.final))
    return fig


@closes_its_figure_on_error
def plot_basins_along(
    res: SweepResult,
    dim: str,
    minima: Minima | Sequence[Minima],
    *,
    tol: float = 1e-3,
    title: str | None = None,
    scale: str | None = None,
    label: str | None = None,
) -> Figure:
    """Which minimum each start reaches, and the share that reach the global one, per value.

    Left, one row per value of ``dim`` (e.g. ``"param"``, the theta of ``exp(-theta x²)``): each
    start is a dot at its x₀, green where it ended within ``tol`` of a global minimum, orange
    at another minimum, an open grey circle at none yet, a red cross where it diverged; the
    minima of that row are black ticks. Where the colours change along a row are the
    boundaries of the basins. Right: the fraction of starts that reached a global minimum,
    against the value.

    Args:
        res: a sweep with the dimensions ``dim`` and ``"start"``; every other dimension must
            have length 1 or be selected first (e.g. ``res.sel(learning_rate=0.01,
            epochs=1000)``).
        dim: the dimension along which f changes (or the optimiser, or a hyperparameter).
        minima: the minima of f, one :class:`~jaxgd.minima.Minima` per value of ``dim`` in
            its order (f differs per param), or one for all.
        tol: distance within which a run counts as having reached a minimum.
        title: the figure's title.
        scale: ``"linear"`` or ``"log"`` for the value axis of the right panel; by default
            log where the values are log-spaced. Ignored for names (optimisers).
        label: what the values are called on both panels' axes, e.g. ``"theta"`` for the
            parameter of ``f(x, theta)``; by default the dimension's name.

    Returns:
        The figure: the rows' axes, then the fractions' axes.

    Raises:
        ValueError: ``dim`` is not a dimension, another one is longer than 1, or the number
            of ``minima`` differs from the number of values.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jax.numpy as jnp, numpy as np
        >>> import jaxgd
        >>> from jaxgd.plotting import close
        >>> def f(x):
        ...     return jnp.sin(x) * jnp.exp(-0.05 * x**2)
        >>> res = jaxgd.sweep(f, np.linspace(-5, 5, 21), [0.01, 0.1], 500)
        >>> minima = jaxgd.find_minima_reached(f, res.final, (-7.0, 7.0))
        >>> fig = plot_basins_along(res, "learning_rate", minima)
        >>> fig.axes[1].get_ylabel()
        'Share of starts at the global minimum'
        >>> close(fig)
    """
    wait_for_imports()
    from matplotlib.lines import Line2D

    from jaxgd.analysis import global_minima

    values = _values_of(res, dim, "plot_basins_along", ("start",))
    keep = (dim, "start")
    res = _keep_only(
        res, keep, "plot_basins_along", _example(res, [d for d in res.dims if d not in keep])
    )
    res = res.to_numpy()
    many = not hasattr(minima, "x")
    found = list(minima) if many else [minima] * len(values)
    if len(found) != len(values):
        raise ValueError(
            f"plot_basins_along: minima must be one Minima, or one per value of {dim!r} "
            f"({len(values)}); got {len(found)}."
        )
    final = np.asarray(res.final, np.float64)
    diverged = _diverged(res)
    if res.dims.index(dim) != 0:
        final, diverged = final.T, diverged.T
    x = np.asarray(res.starts, np.float64)
    fig, (left, right) = _subplots(
        1, 2, figsize=(12.0, 0.45 * len(values) + 3.0), width_ratios=[3, 1]
    )
    share = np.zeros(len(values))
    rows = np.arange(len(values))
    seen = {"best": False, "other": False, "none": False, "diverged": False, "ticks": False}
    outside: set[float] = set()  # minima of f beyond the starts' range, off the axis
    for k in rows:
        m = found[k]
        at = nearest_minimum(np.where(diverged[k], np.nan, final[k]), m, tol=tol)
        best = np.isin(at, global_minima(m))
        other = (at >= 0) & ~best
        none = (at < 0) & ~diverged[k]
        share[k] = best.mean()
        y = np.full(x.size, float(k))
        left.plot(x[best], y[best], "o", color="tab:green", markersize=4)
        left.plot(x[other], y[other], "o", color="tab:orange", markersize=4)
        left.plot(x[none], y[none], "o", mfc="none", mec="0.55", markersize=4)
        left.plot(x[diverged[k]], y[diverged[k]], "x", color="tab:red", markersize=4)
        inner = np.asarray(m.x, np.float64)[~np.asarray(m.at_boundary)]
        lo, hi = x.min(), x.max()
        drawn = (inner >= lo) & (inner <= hi)
        outside.update(inner[~drawn & np.isfinite(inner)].tolist())
        inner = inner[drawn]
        left.plot(inner, np.full(inner.size, k + 0.35), "|", color="black", markersize=7)
        for key, shown in (
            ("best", best),
            ("other", other),
            ("none", none),
            ("diverged", diverged[k]),
            ("ticks", drawn),
        ):
            seen[key] |= bool(np.any(shown))
    # The y label names the dimension: the ticks are its values alone.
    name = _LABEL.get(dim, dim)
    left.set_yticks(rows, [_label(dim, v).removeprefix(f"{name} = ") for v in values])
    if label is not None:
        name = str(label)
    left.set(xlabel=_LABEL["start"], ylabel=name)
    left.set_title("Where each start ends")
    # Keys only for what the panel shows; the minima of f off its axis are counted.
    ticks = "minima of f"
    if outside:
        n = len(outside)
        ticks += (
            f" ({n} more outside the starts' range)"
            if seen["ticks"]
            else (f" ({n} outside the starts' range, not drawn)")
        )
    keys = {
        "best": Line2D([], [], marker="o", linestyle="", color="tab:green", label="global minimum"),
        "other": Line2D(
            [], [], marker="o", linestyle="", color="tab:orange", label="another minimum"
        ),
        "none": Line2D([], [], marker="o", linestyle="", mfc="none", mec="0.55", label="none yet"),
        "diverged": Line2D([], [], marker="x", linestyle="", color="tab:red", label="diverged"),
        "ticks": Line2D([], [], marker="|", linestyle="", color="black", label=ticks),
    }
    handles = [h for key, h in keys.items() if seen[key] or (key == "ticks" and outside)]
    left.legend(
        handles=handles,
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(0.0, -0.12),
        ncols=max(1, len(handles)),
        frameon=False,
    )
    numeric = not isinstance(values[0], str | np.str_)
    if numeric:
        v = np.asarray(values, np.float64)
        along = np.argsort(v, kind="stable")  # joined in value order, however given
        right.plot(v[along], np.asarray(share)[along], "o-", color="tab:green")
        xscale = _scale("scale", scale, v)
        right.set_xscale(xscale)
        if dim in _NOT_NEGATIVE:  # a curve against rates from 0 starts at 0, as the maps do
            right.set_xlim(*_xlim(v, xscale, 0.0))
        _few_ticks(right.xaxis, xscale, v)
        right.set_xlabel(name)
    else:
        right.plot(rows, share, "o-", color="tab:green")
        right.set_xticks(rows, [str(v) for v in values], rotation=45)
    right.set_ylim(-0.03, 1.03)
    right.set_ylabel("Share of starts at the global minimum")
    right.set_title("Success fraction")
    if title is not None:
        fig.suptitle(title)
    _footer(fig, _precision(res.final))
    return fig


def _few_ticks(axis: Any, scale: str, values: np.ndarray) -> None:
    """Ticks a narrow panel has room for along ``axis``: matplotlib's own put eight labels
    such as 0.0012 side by side on a panel 3 inches wide (learning rates 0.001 and 0.002),
    or labelled every minor tick of a log axis spanning less than a decade, each over the
    next."""
    from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

    if scale == "linear":
        axis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        return
    positive = values[values > 0]
    if positive.size and np.log10(positive.max() / positive.min()) < 1.5:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_formatter(NullFormatter())
