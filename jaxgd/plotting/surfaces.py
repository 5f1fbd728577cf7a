"""Pictures of descent on a 2-D surface: contour maps with paths, and maps of basins.

:func:`plot_paths` draws f as filled contours with the paths of several runs on top (one
colour per group: a learning rate, an optimiser), each start a circle, each end a cross, the
known minima stars. :func:`basin_map` colours a grid of starts by the minimum each run
reached; :func:`plot_basin_map` draws one from a d-dimensional sweep, and
:func:`plot_basin_maps` one per learning rate, side by side with shared colours. Diverged runs
are grey and runs near no minimum light, as in every jaxgd map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd._validate import check_int, check_span_fits, default_float
from jaxgd._words import plural
from jaxgd.minima_nd import (
    DIVERGED,
    NO_MINIMUM,
    MinimaND,
    _check_minima,
    _check_nd_function,
    basins_nd,
)
from jaxgd.plotting._common import (
    _FOOTER_GID,
    DIVERGED_COLOR,
    _axes,
    _check_ax,
    _edges,
    _empty_bar,
    _footer,
    _legend_columns,
    _pick,
    _precision,
    _subplots,
    check_num,
    closes_its_figure_on_error,
    one_per_colour,
    wait_for_imports,
)
from jaxgd.result import SweepResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = ["basin_map", "plot_basin_map", "plot_basin_maps", "plot_paths"]

#: Face of cells whose run ended near no minimum: light, so it reads as "no value".
NOWHERE_COLOR = "0.93"
#: Colours of the minima's basins, the same in every panel; grey is left to divergence.
_MINIMUM_COLORS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
    "gold",
    "navy",
    "lime",
)
#: Paths: one colour per group, dark enough to show on a light-to-dark colour map.
_PATH_COLORS = (
    "tab:red",
    "black",
    "white",
    "tab:orange",
    "magenta",
    "tab:cyan",
    "lime",
    "tab:brown",
)
#: Legend entries named one by one; more minima than this are summed up in one line.
_MOST_LISTED = 10

#: The hatch of the plane where f is not finite (NaN, or beyond the float), and its name.
NOT_FINITE_HATCH = "xx"
NOT_FINITE = "f not finite (NaN or ±inf)"


@partial(jax.jit, static_argnums=0)
def _surface(f: Callable, x: jax.Array, y: jax.Array) -> jax.Array:
    return jax.vmap(jax.vmap(lambda a, b: f(jnp.stack([a, b]))))(x, y)


def _domain(domain: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in domain)
    except (TypeError, ValueError):
        raise ValueError(
            f"domain must be ((x_lo, x_hi), (y_lo, y_hi)), e.g. ((-5, 5), (-5, 5)); got {domain!r}"
        ) from None
    if not (np.isfinite([x0, x1, y0, y1]).all() and x0 < x1 and y0 < y1):
        raise ValueError(f"domain must be finite with lo < hi on both axes; got {domain!r}")
    for k, (lo, hi) in enumerate(((x0, x1), (y0, y1))):
        check_span_fits(f"domain[{k}]", lo, hi, default_float(), "grid")
    return (x0, x1), (y0, y1)


def _levels(values: np.ndarray, n: int) -> np.ndarray:
    """Contour levels: evenly spaced, unless most of the plane lies in the bottom tenth of f's
    range (a steep wall around a valley, as in Rosenbrock's and Beale's functions); then at
    quantiles of f over the plane, so each band covers an equal area and the valley floor
    does not become one colour."""
    from matplotlib.ticker import MaxNLocator

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.linspace(0.0, 1.0, n)
    lo, hi = float(finite.min()), float(finite.max())
    if not lo < hi:
        return np.array([lo - 0.5, lo + 0.5])
    if (float(np.median(finite)) - lo) < 0.1 * (hi - lo):
        levels = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, n)))
        if levels.size >= 2:
            return levels
    return MaxNLocator(n).tick_values(lo, hi)


def _draw_surface(
    ax: Axes, f: Callable, domain: Any, *, num: int, levels: int, cmap: str | Colormap | None
) -> tuple[Any, np.ndarray, str]:
    """Contours of f over ``domain`` in ``ax``: the filled contours, f on the grid, and the
    dtype f was computed in (the default float, whatever the caller's paths are)."""
    (x0, x1), (y0, y1) = domain
    xs, ys = np.linspace(x0, x1, num), np.linspace(y0, y1, num)
    gx, gy = np.meshgrid(xs, ys)
    computed = _surface(f, jnp.asarray(gx), jnp.asarray(gy))
    z = np.asarray(computed, np.float64)
    lv = _levels(z, levels)
    from matplotlib.colors import BoundaryNorm

    # One colour step per band, however unevenly the levels are spaced.
    norm = BoundaryNorm(lv, ncolors=256)
    filled = ax.contourf(gx, gy, z, levels=lv, cmap=cmap, norm=norm)
    ax.contour(gx, gy, z, levels=lv, colors="k", linewidths=0.3, alpha=0.35)
    bad = ~np.isfinite(z)
    if bad.any():
        # Where f is NaN or overflows, contourf leaves the plane blank, as if nothing were
        # there to draw: hatched instead, and named in the legend (:data:`NOT_FINITE`).
        ax.contourf(
            gx, gy, bad.astype(np.float64), levels=[0.5, 1.5], colors="none",
            hatches=[NOT_FINITE_HATCH],
        )  # fmt: skip
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set(xlabel="x", ylabel="y")
    ax.set_aspect("equal" if max(x1 - x0, y1 - y0) <= 3 * min(x1 - x0, y1 - y0) else "auto")
    return filled, z, _precision(computed)


def _check_surface_minima(minima: Any) -> None:
    """Refuse ``minima`` that are no MinimaND, or not points of the plane, before f is
    evaluated on the grid."""
    _check_minima(minima)
    if len(minima) and np.shape(minima.x)[1] != 2:
        raise ValueError(
            f"minima are points of R^{np.shape(minima.x)[1]}; a surface is drawn over (x, y): "
            "pass the minima of this f: R^2 -> R"
        )


def _outside(x: np.ndarray, xlim: Any, ylim: Any) -> np.ndarray:
    """Which of the points ``x`` ``(n, 2)`` lie outside the window ``xlim`` by ``ylim``."""
    (x0, x1), (y0, y1) = sorted(xlim), sorted(ylim)
    return ~((x[:, 0] >= x0) & (x[:, 0] <= x1) & (x[:, 1] >= y0) & (x[:, 1] <= y1))


def _outside_note(out: np.ndarray) -> str:
    """What a legend entry of the minima whose mask ``out`` is adds: how many of them lie
    outside the map, whose stars a reader would look for in vain."""
    if not out.any():
        return ""
    if out.size == 1:
        return " (outside the map)"
    return f" ({int(out.sum())} of {out.size} outside the map)"


def _mark_minima(ax: Axes, minima: MinimaND | None, label: str = "minimum") -> None:
    if minima is None or len(minima) == 0:
        return
    x = np.asarray(minima.x, np.float64)
    best = np.asarray(minima.global_, bool)
    # Many minima (Rastrigin's 121): small marks, so the paths stay visible.
    ms = 11 if x.shape[0] <= 20 else 6
    ax.plot(*x[~best].T, "*", ms=ms, mfc="white", mec="k", mew=0.6, ls="none", label=label)
    ax.plot(
        *x[best].T, "*", ms=15, mfc="gold", mec="k", mew=0.8, ls="none", label=f"global {label}"
    )


@closes_its_figure_on_error
def plot_paths(
    f: Callable[[jax.Array], jax.Array],
    domain: Any,
    paths: Any,
    *,
    labels: Sequence[str] | None = None,
    minima: MinimaND | None = None,
    levels: int = 30,
    num: int = 300,
    cmap: str | Colormap | None = "viridis",
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """f as a contour map over ``domain``, with the paths of descent runs drawn on it.

    Where f is not finite (NaN outside its domain, or beyond the float) the plane is
    cross-hatched, named in the legend.

    Args:
        f: ``f(p) -> scalar`` for ``p`` of shape ``(2,)``, written with ``jax.numpy``.
        domain: ``((x_lo, x_hi), (y_lo, y_hi))``, the rectangle to draw; widened (by at most
            half its size on each side) to show where the paths went.
        paths: the positions of each run, shape ``(R, T, 2)`` (e.g. from
            ``jaxgd.descend(..., trajectory=True)`` under ``jax.vmap``), or a sequence of
            ``(T_i, 2)`` arrays. Non-finite positions (a run that diverged) break the line; a
            run whose last position is not finite gets a thin cross, "diverged (last seen)" in
            the legend, where it was last finite, instead of the bold cross of an end.
        labels: one label per path; paths that share a label share a colour and one legend
            entry (e.g. ``"rate 0.01"``). Default: one colour for all, labelled "descent".
        minima: minima to mark (:class:`~jaxgd.minima_nd.MinimaND`); the global ones gold.
        levels: number of contour levels (placed at quantiles of f over the domain).
        num: grid points per axis at which f is evaluated, from 2 to 4096.
        cmap: matplotlib colour map of f (a name or a ``Colormap``; None: matplotlib's
            default, ``rcParams["image.cmap"]``).
        title: axes title.
        ax: draw into this axes instead of a new figure (no colour bar is added then).

    Returns:
        The figure: the map, then its colour bar.

    Raises:
        TypeError: ``f`` does not map a point ``(2,)`` to a real scalar, ``minima`` is
            not a :class:`~jaxgd.minima_nd.MinimaND`, or ``ax`` is not a matplotlib Axes.
        ValueError: ``domain`` is not two ``(lo, hi)`` pairs, ``num`` is not from 2 to 4096
            (``num**2`` evaluations of f), a path is not ``(T, 2)``, ``labels`` does not
            give one label per path, ``minima`` are not points of the plane, ``cmap`` is
            neither a matplotlib colour map nor the name of one, or ``f`` reads a constant
            index past ``p[1]``; all before any figure is made or ``f`` is evaluated on the
            grid.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from jaxgd.plotting import close
        >>> from jaxgd.functions2d import himmelblau
        >>> paths = np.array([[[0.0, 0.0], [2.0, 1.0], [3.0, 2.0]],
        ...                   [[0.0, -1.0], [2.0, -1.5], [3.58, -1.85]]])
        >>> fig = plot_paths(himmelblau, ((-5, 5), (-5, 5)), paths, labels=["a", "b"])
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['a', 'b', 'start', 'end']
        >>> close(fig)
    """
    _check_ax(ax)
    dom = _domain(domain)
    levels = check_int("levels", levels, 2, fix="draw at least 2 contour levels")
    num = check_num(num, 2, fix="the default is 300")
    if getattr(paths, "ndim", None) == 2:  # one run's (T, 2) array: its rows read as runs
        raise ValueError(
            f"paths must be a list of runs of shape (T, 2) (or one array of shape (R, T, 2)); "
            f"got one array of shape {tuple(paths.shape)}: pass [path] (or path[None]) for "
            "one run"
        )
    given = [str(np.dtype(p.dtype)) for p in paths if _is_float(p)]
    runs = [np.asarray(p, np.float64) for p in paths]
    if not runs:
        raise ValueError("paths holds no run; pass at least one path of shape (T, 2)")
    for i, p in enumerate(runs):
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
            raise ValueError(
                f"paths[{i}] must have shape (T, 2): the positions of one run; got {p.shape}"
            )
    if labels is None:
        labels = ["descent"] * len(runs)
    labels = [str(s) for s in labels]
    if len(labels) != len(runs):
        raise ValueError(f"labels must give one label per path: {len(runs)}, got {len(labels)}")
    if minima is not None:
        _check_surface_minima(minima)
    _check_cmap(cmap)
    # f is a scalar of (x, y): checked before any figure exists, so a refusal leaves none open
    fix = "A surface is drawn over points (x, y): read only p[0] and p[1]."
    _check_nd_function(f, 2, np.dtype(default_float()), fix=fix)
    own = ax is None
    fig, ax = _axes(ax, (7.5, 7.0))
    filled, z, surface = _draw_surface(
        ax, f, _widened(dom, runs), num=num, levels=levels, cmap=cmap
    )
    if own:
        lv = np.asarray(filled.levels)
        steps = np.diff(lv)
        if steps.max() > 1.5 * steps.min():
            # Quantile levels: bands of equal height in the bar, a few level values as ticks.
            cbar = fig.colorbar(
                filled, ax=ax, label="f(x, y) (bands of equal area)", spacing="uniform"
            )
            ticks = lv[:: max(1, lv.size // 7)]
            cbar.set_ticks(ticks, labels=[f"{t:.3g}" for t in ticks])
        else:
            cbar = fig.colorbar(filled, ax=ax, label="f(x, y)")
        if not np.isfinite(z).any():  # the bar's 0 to 1 would read as values of f
            _empty_bar(cbar, "f(x, y)", "f is not finite here")
        cbar.ax.set_axes_locator(partial(_beside, ax))
    groups = list(dict.fromkeys(labels))
    color = {g: _PATH_COLORS[i % len(_PATH_COLORS)] for i, g in enumerate(groups)}
    # Paths of different groups often share a valley: earlier groups are drawn wider, so each
    # later one shows inside the one it covers.
    width = {g: 1.4 + 2.5 * (len(groups) - 1 - i) for i, g in enumerate(groups)}
    from matplotlib import patheffects

    rim = [patheffects.withStroke(linewidth=3, foreground="white"), patheffects.Normal()]
    thin_rim = [patheffects.withStroke(linewidth=4.5, foreground="white"), patheffects.Normal()]
    any_diverged = False
    for p, lab in zip(runs, labels, strict=True):
        c = color[lab]
        ax.plot(*p.T, "-", color=c, lw=width[lab], alpha=0.9, label=lab)
        ax.plot(*p.T, ".", color=c, ms=2.5, alpha=0.6)
        # Over the ends (zorder): a run that barely moved had its start hidden under its end
        # (the default random start of peaks moves 0.02), the arms of the larger cross show.
        ax.plot(*p[0], "o", ms=7, mfc=c, mec="k", mew=0.8, zorder=2.5)
        finite = np.flatnonzero(np.all(np.isfinite(p), axis=1))
        if finite.size and finite[-1] < p.shape[0] - 1:
            # A run that diverged did not end where it was last finite: a thin cross there,
            # not the bold one of an end, or it reads as a run that stopped (at its start,
            # when f is not finite one step on).
            any_diverged = True
            ax.plot(*p[finite[-1]], "x", ms=9, mew=2.0, color=c, path_effects=thin_rim)
        elif finite.size:
            # A white rim: a dark cross on the dark floor of a valley, under another path,
            # was hard to find, and where a path stops is what it says.
            ax.plot(*p[finite[-1]], "X", ms=9, mfc=c, mec="k", mew=0.8, path_effects=rim)
    _mark_minima(ax, minima)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=color[g], lw=width[g], label=g) for g in groups]
    handles += [
        Line2D([], [], marker="o", ls="none", mfc="0.6", mec="k", ms=7, label="start"),
        Line2D([], [], marker="X", ls="none", mfc="0.6", mec="k", ms=9, label="end"),
    ]
    if any_diverged:
        handles.append(
            Line2D(
                [],
                [],
                marker="x",
                ls="none",
                color="k",
                ms=9,
                mew=2.0,
                label="diverged (last seen)",
            )
        )
    if not np.isfinite(z).all():
        from matplotlib.patches import Patch

        handles.append(
            Patch(facecolor="white", edgecolor="0.3", hatch=NOT_FINITE_HATCH, label=NOT_FINITE)
        )
    if minima is not None and len(minima):
        best = np.asarray(minima.global_, bool)
        # A minimum beyond the drawn rectangle has no star to find: the legend says so.
        out = _outside(np.asarray(minima.x, np.float64), ax.get_xlim(), ax.get_ylim())
        if (~best).any():
            label = "minimum" + _outside_note(out[~best])
            handles.append(
                Line2D([], [], marker="*", ls="none", mfc="white", mec="k", ms=11, label=label)
            )
        if best.any():
            label = "global minimum" + _outside_note(out[best])
            handles.append(
                Line2D([], [], marker="*", ls="none", mfc="gold", mec="k", ms=14, label=label)
            )
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        fontsize="small",
        ncols=min(4, len(handles)),
        facecolor="0.85",  # a white path must show in the legend too
    )
    if title:
        ax.set_title(title)
    # The figure computes f only: its dtype is what the footer says. Paths given in another
    # float (float64 arrays beside a float32 surface) are named as such, not as computed here.
    other = sorted(set(given) - {surface})
    _footer(fig, surface if not other else f"{surface} (paths: {', '.join(other)})")
    return fig


def _check_cmap(cmap: Any) -> None:
    """Refuse a colour map matplotlib does not know before f is evaluated on the grid."""
    from matplotlib import colormaps
    from matplotlib.colors import Colormap

    if cmap is None or isinstance(cmap, Colormap):  # None: matplotlib's default map
        return
    if not isinstance(cmap, str) or cmap not in colormaps:
        raise ValueError(
            f"cmap must be the name of a matplotlib colour map or a Colormap, got {cmap!r}; "
            "pass e.g. cmap='viridis' (matplotlib.colormaps lists the names)"
        )


def _is_float(path: Any) -> bool:
    """Whether ``path`` is an array of floats (a list of lists has no dtype to name)."""
    dtype = getattr(path, "dtype", None)
    return dtype is not None and np.issubdtype(dtype, np.floating)


def _beside(ax: Axes, cax: Axes, renderer: Any) -> Any:
    """Where colour bar ``cax`` of map ``ax`` goes: as tall as the map (after its equal
    aspect), just right of it. The layout gave the bar the height of the map's whole cell,
    the legend under the map included, and its lowest tick label ran into the precision
    footer in the figure's corner; its width and room for labels stay the layout's."""
    from matplotlib.transforms import Bbox

    ax.apply_aspect()
    map_box, bar = ax.get_position(original=False), cax.get_position(original=True)
    gap = 0.02 * map_box.width
    return Bbox.from_bounds(map_box.x1 + gap, map_box.y0, bar.width, map_box.height)


def _widened(domain: Any, runs: list[np.ndarray]) -> Any:
    """``domain``, grown to show where the paths went, by at most half its size on each side
    (a run that diverged is drawn to the frame)."""
    (x0, x1), (y0, y1) = domain
    pts = np.concatenate([p[np.all(np.isfinite(p), axis=1)] for p in runs])
    if pts.size == 0:
        return domain
    wx, wy = 0.5 * (x1 - x0), 0.5 * (y1 - y0)
    lo = np.maximum(pts.min(axis=0), (x0 - wx, y0 - wy))
    hi = np.minimum(pts.max(axis=0), (x1 + wx, y1 + wy))
    pad = 0.03 * np.array([x1 - x0, y1 - y0])
    lo = np.where(lo < (x0, y0), lo - pad, (x0, y0))
    hi = np.where(hi > (x1, y1), hi + pad, (x1, y1))
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def _grid_of(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The x and y values of a full grid of starts, and each start's column and row."""
    if starts.ndim != 2 or starts.shape[1] != 2:
        raise ValueError(f"starts must have shape (S, 2), got {starts.shape}")
    xs, col = np.unique(starts[:, 0], return_inverse=True)
    ys, row = np.unique(starts[:, 1], return_inverse=True)
    cells = np.bincount(row * xs.size + col, minlength=xs.size * ys.size)
    if xs.size < 2 or ys.size < 2 or not np.all(cells == 1):
        raise ValueError(
            f"the starts must form a full grid over the plane, each point once ({xs.size} x "
            f"values and {ys.size} y values for {starts.shape[0]} starts); make them with "
            "jaxgd.minima_nd.grid_starts(bounds, num)"
        )
    return xs, ys, col, row


def _label_grid(starts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``labels`` of a full grid of ``starts`` as an image: rows of y, columns of x."""
    xs, ys, col, row = _grid_of(starts)
    img = np.empty((ys.size, xs.size), int)
    img[row, col] = labels
    return img


def _basin_colors(best: np.ndarray, grids: Sequence[np.ndarray]) -> list[str]:
    """A colour per minimum, for maps of the label ``grids`` (the same in every one).

    The global minima take the first colours of the palette, one each; every other minimum
    takes the first of the rest that no basin touching its own (in any grid) has taken, so
    neighbouring basins differ, and none shares a global minimum's colour (while there are
    fewer global minima than colours). A colour by index alone made Rastrigin's lattice of
    minima, 11 to a row, into stripes of one colour.
    """
    n = len(_MINIMUM_COLORS)
    g = int(best.sum())
    first, rest = (_MINIMUM_COLORS[:g], _MINIMUM_COLORS[g:]) if g < n else ((), _MINIMUM_COLORS)
    touching: dict[int, set[int]] = {}
    for img in grids:
        for a, b in ((img[:, 1:], img[:, :-1]), (img[1:, :], img[:-1, :])):
            edge = (a != b) & (a >= 0) & (b >= 0)
            for i, j in {*zip(a[edge].tolist(), b[edge].tolist(), strict=True)}:
                touching.setdefault(i, set()).add(j)
                touching.setdefault(j, set()).add(i)
    colors: list[str | None] = [None] * best.size
    for k, i in enumerate(np.flatnonzero(best)[: len(first)].tolist()):
        colors[i] = first[k]
    uses = dict.fromkeys(rest, 0)
    for i in range(best.size):
        if colors[i] is None:
            taken = {colors[j] for j in touching.get(i, ())}
            # The least used colour no neighbour has: the palette spread over the minima, so
            # a legend's colours mostly name one basin each.
            free = [c for c in rest if c not in taken] or list(rest)
            colors[i] = min(free, key=lambda c: uses[c])
            uses[colors[i]] += 1
    return colors  # type: ignore[return-value]


def _point(x: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in x) + ")"


def basin_map(
    ax: Axes,
    starts: Any,
    labels: Any,
    minima: MinimaND,
    *,
    legend: bool = True,
    colors: Sequence[str] | None = None,
) -> list[Any]:
    """Draw into ``ax`` a grid of starts coloured by the label of each start's run.

    Args:
        ax: the axes.
        starts: ``(S, 2)``, a full grid of points (any order; from
            :func:`~jaxgd.minima_nd.grid_starts`).
        labels: ``(S,)`` ints as :func:`~jaxgd.minima_nd.nearest_minimum_nd` gives them: an
            index into ``minima.x``, -1 (near no minimum: light) or -2 (diverged: grey).
        minima: the minima the labels index; marked with stars (the global ones gold).
        legend: add a legend below the map listing each minimum reached (its coordinates and
            the share of starts), near none, and diverged.
        colors: a colour per minimum (by index); by default the global minima get colours of
            their own and touching basins different ones.

    Returns:
        The legend handles (for a shared legend over several maps).

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from jaxgd.plotting import close
        >>> from jaxgd.minima_nd import MinimaND, grid_starts
        >>> from jaxgd.functions2d import saddle
        >>> m = MinimaND.at(saddle, [(0.0, -1.0), (0.0, 1.0)])
        >>> starts = grid_starts([(-2, 2), (-2, 2)], 4)
        >>> labels = np.where(starts[:, 1] > 0, 1, 0)
        >>> labels[0] = -2
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> handles = basin_map(ax, starts, labels, m)
        >>> [h.get_label() for h in handles]
        ['global minimum (0, -1): 7 of 16 starts', 'global minimum (0, 1): 8 of 16 starts', 'diverged: 1 of 16 starts']
        >>> close(fig)
    """  # noqa: E501
    _check_ax(ax, optional=False)
    wait_for_imports()
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    pts = np.asarray(starts, np.float64)
    given = np.asarray(labels)
    # Labels are whole numbers: astype(int) truncated 0.5 and -0.5 to 0, a minimum's index,
    # and drew a map of one basin; NaN became an arbitrary integer.
    whole = given.dtype.kind in "iu" or (
        given.dtype.kind == "f" and np.isfinite(given).all() and (given == np.round(given)).all()
    )
    if not whole:
        raise TypeError(
            f"labels must be whole numbers (-2, -1 or a minimum's index), as "
            f"basins_nd(...).index gives them; got dtype {given.dtype}"
            + (" with values that are not whole" if given.dtype.kind == "f" else "")
        )
    lab = given.astype(int).ravel()
    xs, ys, _, _ = _grid_of(pts)
    if lab.size != pts.shape[0]:
        raise ValueError(f"labels must have one entry per start ({pts.shape[0]}), got {lab.size}")
    k = len(minima)
    if np.any((lab < DIVERGED) | (lab >= k)):
        raise ValueError(f"labels must be -2, -1 or an index into the {k} minima")
    img = _label_grid(pts, lab)
    best = np.asarray(minima.global_, bool) if k else np.zeros(0, bool)
    basin = list(colors) if colors is not None else _basin_colors(best, [img])
    if len(basin) != k:
        raise ValueError(f"colors must give one colour per minimum ({k}); got {len(basin)}")
    cmap = ListedColormap([DIVERGED_COLOR, NOWHERE_COLOR, *basin])
    norm = BoundaryNorm(np.arange(DIVERGED - 0.5, k + 0.5), cmap.N)
    ax.pcolormesh(_edges(xs), _edges(ys), img, cmap=cmap, norm=norm, rasterized=True)
    ax.set_xlim(_edges(xs)[[0, -1]])
    ax.set_ylim(_edges(ys)[[0, -1]])
    x = np.asarray(minima.x, np.float64) if k else np.zeros((0, 2))
    ax.plot(*x[~best].T, "*", ms=10, mfc="white", mec="k", mew=0.8, ls="none")
    ax.plot(*x[best].T, "*", ms=13, mfc="gold", mec="k", mew=0.8, ls="none")
    ax.set(xlabel="x start", ylabel="y start")
    (x0, x1), (y0, y1) = _edges(xs)[[0, -1]], _edges(ys)[[0, -1]]
    ax.set_aspect("equal" if max(x1 - x0, y1 - y0) <= 3 * min(x1 - x0, y1 - y0) else "auto")

    n = lab.size
    counts = np.bincount(lab - DIVERGED, minlength=k + 2)
    reached = [i for i in range(k) if counts[i + 2]]
    # The global minima first (Rastrigin's 121 minima share the starts about equally, and the
    # global one fell outside the first ten), then by the starts that reached them.
    reached.sort(key=lambda i: (not best[i], -counts[i + 2]))
    shown, rest = _named(reached, basin, best)
    out = _outside(x, (x0, x1), (y0, y1))
    handles = []
    for i in shown:
        kind = "global minimum" if best[i] else "minimum"
        where = ", outside the map" if out[i] else ""
        handles.append(
            Patch(
                color=basin[i],
                label=f"{kind} {_point(x[i])}{where}: {counts[i + 2]} of {n} starts",
            )
        )
    if rest:
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="0.5",
                label=(
                    f"{plural(len(rest), 'more minimum', 'more minima')} (colours repeat): "
                    f"{int(sum(counts[i + 2] for i in rest))} of {n}"
                ),
            )
        )
    if counts[1]:
        handles.append(
            Patch(
                facecolor=NOWHERE_COLOR,
                edgecolor="0.5",
                label=f"near no minimum: {counts[1]} of {n}",
            )
        )
    if counts[0]:
        handles.append(Patch(color=DIVERGED_COLOR, label=f"diverged: {counts[0]} of {n} starts"))
    if legend:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
            fontsize="small",
            ncols=1 if len(handles) <= 4 else 2,
        )
    return handles


def _basin_result(result: Any) -> SweepResult:
    if not isinstance(result, SweepResult):
        raise TypeError(
            f"result must be a SweepResult, got {type(result).__name__}; make one with "
            "jaxgd.sweep(f, grid_starts(bounds, num), learning_rates, epochs)"
        )
    if "coord" not in result.dims or result.sizes["coord"] != 2:
        raise ValueError(
            f"result must come from a 2-D sweep (a 'coord' dimension of length 2); its dims "
            f"are {result.sizes}"
        )
    return result


def _at_epochs(result: SweepResult, epochs: int | None, where: str) -> SweepResult:
    if "epochs" not in result.dims:
        return result
    if epochs is None:
        return result.isel(epochs=int(np.argmax(np.asarray(result.epochs))))
    return _pick(result, "epochs", epochs, where, "epochs")


@closes_its_figure_on_error
def plot_basin_map(
    result: SweepResult,
    minima: MinimaND,
    *,
    tol: float = 1e-3,
    epochs: int | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Which minimum the run from each start of a grid reached, at one learning rate.

    Args:
        result: a 2-D sweep from a grid of starts (:func:`~jaxgd.minima_nd.grid_starts`) at
            one learning rate (select it first, e.g. ``res.sel(learning_rate=0.01)``).
        minima: the minima to match the runs against.
        tol: how close to a minimum a run must end to have reached it.
        epochs: which epoch count to draw; default the largest.
        title: axes title; default says the rate and epochs.
        ax: draw into this axes instead of a new figure.

    Returns:
        The figure.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jaxgd
        >>> from jaxgd.plotting import close
        >>> from jaxgd.functions2d import saddle
        >>> from jaxgd.minima_nd import MinimaND, grid_starts
        >>> res = jaxgd.sweep(saddle, grid_starts([(-2, 2), (-2, 2)], 9), [0.1], [200])
        >>> m = MinimaND.at(saddle, [(0.0, -1.0), (0.0, 1.0)])
        >>> fig = plot_basin_map(res, m)
        >>> fig.axes[0].get_title()
        'Where descent ends: rate 0.1, 200 epochs'
        >>> close(fig)
    """
    _check_ax(ax)
    res = _at_epochs(_basin_result(result), epochs, "plot_basin_map")
    if "learning_rate" in res.dims:
        if res.sizes["learning_rate"] != 1:
            raise ValueError(
                f"result has {res.sizes['learning_rate']} learning rates; select one "
                "(res.sel(learning_rate=...)) or draw them all with plot_basin_maps"
            )
        res = res.isel(learning_rate=0)
    if set(res.dims) != {"start", "coord"}:
        raise ValueError(
            f"result must have only the start and coord dimensions left, got {res.sizes}; "
            "select the others first"
        )
    labels = basins_nd(res, minima, tol=tol).index
    own = ax is None
    fig, ax = _axes(ax, (7.0, 7.5))
    basin_map(ax, np.asarray(res.starts), labels, minima)
    rate, n = float(np.asarray(res.learning_rates)), int(np.asarray(res.epochs))
    ax.set_title(title if title is not None else f"Where descent ends: rate {rate:g}, {n} epochs")
    _footer(fig, _precision(res.final))
    if own:
        # The square map is placed from where it was before its aspect applied: a title
        # raised over the y axis's power of ten (starts within 0.001) ran off the top.
        _settle_layout(fig)
    return fig


@closes_its_figure_on_error
def plot_basin_maps(
    result: SweepResult,
    minima: MinimaND,
    *,
    tol: float = 1e-3,
    epochs: int | None = None,
    ncols: int | None = None,
    suptitle: str | None = None,
) -> Figure:
    """One basin map per learning rate, side by side, with the same colour for each minimum.

    Args:
        result: a 2-D sweep from a grid of starts over several learning rates.
        minima: the minima to match the runs against.
        tol: how close to a minimum a run must end to have reached it.
        epochs: which epoch count to draw; default the largest.
        ncols: maps per row; default all in one row up to 4.
        suptitle: figure title.

    Returns:
        The figure: one axes per rate, and one legend below them for all.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import jaxgd
        >>> from jaxgd.plotting import close
        >>> from jaxgd.functions2d import saddle
        >>> from jaxgd.minima_nd import MinimaND, grid_starts
        >>> res = jaxgd.sweep(saddle, grid_starts([(-2, 2), (-2, 2)], 9), [0.1, 3.0], [200])
        >>> m = MinimaND.at(saddle, [(0.0, -1.0), (0.0, 1.0)])
        >>> fig = plot_basin_maps(res, m)
        >>> [ax.get_title().splitlines()[0] for ax in fig.axes]
        ['learning rate 0.1', 'learning rate 3']
        >>> close(fig)
    """
    wait_for_imports()
    res = _at_epochs(_basin_result(result), epochs, "plot_basin_maps")
    extra = set(res.dims) - {"start", "learning_rate", "coord"}
    if extra:
        raise ValueError(
            f"result must have only the start, learning_rate and coord dimensions left, got "
            f"{res.sizes}; select the others first (e.g. res.sel({sorted(extra)[0]}=...))"
        )
    # A result with the rate already selected still gets its one panel.
    rates = list(range(res.sizes["learning_rate"])) if "learning_rate" in res.dims else [None]
    n = len(rates)
    if ncols is not None:
        ncols = min(n, check_int("ncols", ncols, 1, fix="give at least 1 map per row"))
    ncols = min(n, 4) if ncols is None else ncols
    nrows = -(-n // ncols)
    fig, axes = _subplots(nrows, ncols, figsize=(4.6 * ncols, 4.6 * nrows + 1.6), squeeze=False)
    labels_all = basins_nd(res, minima, tol=tol)
    index = np.asarray(labels_all.index)
    lr_axis = labels_all.dims.index("learning_rate") if rates[0] is not None else None
    panels = [index if lr_axis is None else np.take(index, r, axis=lr_axis) for r in rates]
    starts = np.asarray(res.starts)
    best = np.asarray(minima.global_, bool) if len(minima) else np.zeros(0, bool)
    # One colour per minimum in every panel, chosen over all of them.
    colors = _basin_colors(best, [_label_grid(starts, lab) for lab in panels])
    for i, r in enumerate(rates):
        ax = axes.flat[i]
        lab = panels[i]
        sub = res if r is None else res.isel(learning_rate=r)
        basin_map(ax, np.asarray(sub.starts), lab, minima, legend=False, colors=colors)
        rate = float(np.asarray(sub.learning_rates))
        diverged = float(np.mean(lab == DIVERGED))
        nowhere = float(np.mean(lab == NO_MINIMUM))
        ax.set_title(f"learning rate {rate:g}\ndiverged {diverged:.0%}, near none {nowhere:.0%}")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    xs, ys, _, _ = _grid_of(starts)
    window = (_edges(xs)[[0, -1]], _edges(ys)[[0, -1]])
    handles = _shared_legend(panels, minima, best, colors, window)
    # As many columns as fit the figure's width: long labels in 4 columns ran off both sides.
    width = fig.get_size_inches()[0]
    ncols = _legend_columns([h.get_label() for h in handles], width)
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols)
    n_epochs = int(np.asarray(res.epochs))
    title = fig.suptitle(suptitle or f"Where descent ends after {n_epochs} epochs, by start")
    _footer(fig, _precision(res.final), top=True)  # the shared legend spans the foot
    _settle_layout(fig)
    if _clear_of_footer(fig, title):
        _settle_layout(fig)
    return fig


def _named(
    reached: Sequence[int], colors: Sequence[Any], best: np.ndarray
) -> tuple[list[int], list[int]]:
    """Which of the minima ``reached`` (in the order a legend prefers them) a legend names,
    in the order it lists them, and the rest: at most ``_MOST_LISTED``, and of each colour only
    the first, so that no two named minima share a colour (neighbouring basins differ, but
    basins apart may repeat a colour, and a legend naming both could not say which is which).
    """
    shown = one_per_colour(reached, colors.__getitem__, _MOST_LISTED)
    rest = [i for i in reached if i not in shown]
    return sorted(shown, key=lambda i: (not best[i], i)), rest


def _shared_legend(
    panels: list[np.ndarray],
    minima: MinimaND,
    best: np.ndarray,
    colors: list[Any],
    window: tuple[Any, Any],
) -> list[Any]:
    """One legend for all the maps: the minima reached in any of them, chosen and ordered as
    one map's legend is (the global ones first, then by starts summed over the maps), one
    entry for the rest, then near none and diverged. Merged from each map's own legend, it
    counted the rest by the first map alone (11 minima named and '44 more' of 54), and put
    minima first named by a later map, or the global one, after 'near no minimum'."""
    from matplotlib.patches import Patch

    k = len(minima)
    counts = sum(np.bincount(np.ravel(lab) - DIVERGED, minlength=k + 2) for lab in panels)
    reached = [i for i in range(k) if counts[i + 2]]
    reached.sort(key=lambda i: (not best[i], -counts[i + 2]))
    shown, rest = _named(reached, colors, best)
    x = np.asarray(minima.x, np.float64) if k else np.zeros((0, 2))
    out = _outside(x, *window)
    handles = [
        Patch(
            color=colors[i],
            label=(
                f"{'global minimum' if best[i] else 'minimum'} {_point(x[i])}"
                f"{', outside the maps' if out[i] else ''}"
            ),
        )
        for i in shown
    ]
    if rest:
        label = f"{plural(len(rest), 'more minimum', 'more minima')} (colours repeat)"
        handles.append(Patch(facecolor="white", edgecolor="0.5", label=label))
    if counts[1]:
        handles.append(Patch(facecolor=NOWHERE_COLOR, edgecolor="0.5", label="near no minimum"))
    if counts[0]:
        handles.append(Patch(color=DIVERGED_COLOR, label="diverged"))
    return handles


def _clear_of_footer(fig: Figure, title: Any) -> bool:
    """Break the figure's ``title`` into shorter lines where it runs into the precision footer
    in the upper right corner; whether it did.

    The title is centred on the figure, the footer in its corner: one map's figure (4.6 in
    wide) is narrower than the default title, whose end was drawn under "computed in float32".
    """
    import textwrap

    (foot,) = [t for t in fig.texts if t.get_gid() == _FOOTER_GID]
    # Without a renderer argument: a headless figure (the experiments') has a plain canvas,
    # with no get_renderer of its own; matplotlib finds one for the figure.
    box, corner = title.get_window_extent(), foot.get_window_extent()
    if not box.overlaps(corner):
        return False
    # Centred: its right end clears the footer when it is narrower than this.
    room = 2.0 * corner.x0 - fig.bbox.width - 2 * 6.0 * fig.dpi / 72.0
    lines = title.get_text().splitlines()
    chars = max(12, int(max(map(len, lines)) * max(room, 0.0) / box.width))
    title.set_text("\n".join(textwrap.fill(line, chars) for line in lines))
    return True


#: Most layout passes :func:`_settle_layout` runs.
_LAYOUT_PASSES = 5


def _settle_layout(fig: Figure) -> None:
    """Lay ``fig`` out until its axes stop moving.

    Constrained layout places each axes from where it was before its equal aspect was applied,
    so one pass (all that ``savefig`` runs) can leave a square map taller than the room it was
    given: its x label under the next row's title, or under the shared legend. Each pass starts
    from the last one's boxes; two or three settle them, and ``savefig`` then draws the same.
    """
    before = None
    for _ in range(_LAYOUT_PASSES):
        fig.draw_without_rendering()
        now = [ax.get_position().bounds for ax in fig.axes]
        if now == before:
            return
        before = now
