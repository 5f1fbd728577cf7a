"""What every figure shares: colours, labels, limits, cell edges and the figure itself."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import itertools
import math
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from jaxgd._indexing import _shown, coordinate_positions
from jaxgd._validate import check_int
from jaxgd._words import plural
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
#: The axes every sweep has; the others (optimizer, hyperparameters, param, coord) are extra.
_CORE = ("start", "learning_rate", "epochs")
#: Colour of cells and points whose run diverged: outside every colour map used here.
DIVERGED_COLOR = "0.55"
#: Global minima: shades of green, the first the usual one, so the wells of a symmetric f (two
#: or three as deep as each other) each have a colour of their own; repeating past three.
_GLOBAL_COLORS = ("tab:green", "#98df8a", "#0b4f0b")
_GLOBAL_COLOR = _GLOBAL_COLORS[0]
_OUTLINE_COLOR = "tab:red"
_OTHER_COLORS = ("tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


#: Cells of runs that did not settle: light, hatched, so they read as "no value" next to any
#: colour map and next to the solid grey of diverged runs.
_UNSETTLED = {"facecolor": "0.93", "edgecolor": "0.45", "hatch": "////"}


#: Whether figures are made without pyplot (see :func:`set_headless`).
_headless = False


def set_headless(on: bool) -> bool:
    """Make new figures without pyplot (``True``) or with it (``False``, the default).

    Headless figures are plain :class:`matplotlib.figure.Figure` objects: they save to any
    file format (``fig.savefig``) but are not registered with pyplot, so ``plt.show()`` and
    a notebook's inline display do not see them, and making one does not import pyplot
    (about 0.3 s) or pick a GUI backend. The experiments turn this on for their headless
    runs; library users keep pyplot figures unless they ask. :func:`close` works for both.

    Args:
        on: the new setting.

    Returns:
        The setting before, so a caller can restore it.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd.plotting import plot_function
        >>> before = set_headless(True)
        >>> fig = plot_function(jnp.sin, (0.0, 3.0))
        >>> fig.canvas.manager is None  # no pyplot window or figure number
        True
        >>> close(fig)
        >>> set_headless(before)
        True
        >>> is_headless()
        False
    """
    global _headless
    before, _headless = _headless, bool(on)
    return before


def is_headless() -> bool:
    """Whether new figures are made without pyplot (:func:`set_headless`)."""
    return _headless


@contextlib.contextmanager
def headless(on: bool = True) -> Iterator[None]:
    """Within the block, make figures without pyplot (or with it, ``on=False``).

    The setting of :func:`set_headless`, restored on leaving the block.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxgd.plotting import plot_function
        >>> with headless():
        ...     fig = plot_function(jnp.sin, (0.0, 3.0))
        >>> type(fig).__name__, fig.canvas.manager is None, is_headless()
        ('Figure', True, False)
    """
    before = set_headless(on)
    try:
        yield
    finally:
        set_headless(before)


#: What making and saving a headless figure imports beyond ``matplotlib`` itself (~0.3 s).
FIGURE_MODULES = (
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib.image",
    "PIL.PngImagePlugin",
)
#: The thread :func:`import_in_background` started, until someone waited for it.
_importer: threading.Thread | None = None


def import_in_background(modules: Sequence[str] = FIGURE_MODULES) -> None:
    """Import ``modules`` in a background thread, so they are loaded by the time a figure is made.

    An experiment run starts this before it computes: compiling a program releases the GIL,
    so the import of matplotlib's figure machinery (~0.3 s) runs beside the compiler instead
    of after it. Every figure function waits for the thread (:func:`wait_for_imports`)
    before it imports anything from matplotlib, so at most one thread imports matplotlib at a
    time. An import that fails here is left for the figure's own import to report.
    """
    global _importer
    todo = [name for name in modules if name not in sys.modules]
    if not todo or (_importer is not None and _importer.is_alive()):
        return

    def work() -> None:
        for name in todo:
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    _importer = threading.Thread(target=work, name="jaxgd-figure-imports", daemon=True)
    _importer.start()


def wait_for_imports() -> None:
    """Wait for the background imports of :func:`import_in_background`, if any are running."""
    global _importer
    importer = _importer
    if importer is None or importer is threading.current_thread():
        return
    importer.join()
    _importer = None


#: The figures made here (not a caller's, drawn into with ``ax=``): their tick labels are
#: ours to format (:func:`_short_tick_labels`).
_OWN_FIGURES: weakref.WeakSet = weakref.WeakSet()


def _subplots(
    *args: Any, figsize: tuple[float, float] | None = None, **kwargs: Any
) -> tuple[Figure, Any]:
    wait_for_imports()
    if _headless:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout="constrained")
        made = fig, fig.subplots(*args, **kwargs)
    else:
        # pyplot only here: importing jaxgd.plotting must not pick a GUI backend by itself.
        import matplotlib.pyplot as plt

        made = plt.subplots(*args, figsize=figsize, layout="constrained", **kwargs)
    _OWN_FIGURES.add(made[0])
    return made


#: Linear axes whose numbers are this small or large (powers of ten) are labelled with a
#: common factor, 1e-3: starts in [-0.001, 0.001] labelled in full (-0.00075, -0.00050)
#: ran into each other along x. Epoch counts up to a million stay plain numbers.
_POWER_LIMITS = (-3, 6)


def _short_tick_labels(fig: Figure) -> None:
    """Label the linear axes of a figure made here with a common power of ten where their
    numbers are tiny, instead of in full decimals too wide to sit side by side."""
    from matplotlib.ticker import ScalarFormatter

    if fig not in _OWN_FIGURES:
        return
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if type(formatter) is ScalarFormatter:
                formatter.set_powerlimits(_POWER_LIMITS)
                if axis is ax.yaxis:
                    # Labels one above the other have room for every digit: final guesses
                    # within 1e-4 of -1.4288 read "x10^-4 -1.428" over -7.0, -7.5, ...
                    formatter.set_useOffset(False)


def closes_its_figure_on_error(make: Callable) -> Callable:
    """Wrap a function that makes a figure: when it raises (an argument refused after the
    figure was made, Ctrl-C while drawing), the pyplot figures it opened are closed, so a
    notebook that retries does not pile up hidden figures. A figure drawn into the caller's
    ``ax`` is the caller's: it existed before, and is left alone."""

    @functools.wraps(make)
    def run(*args: Any, **kwargs: Any) -> Any:
        plt = sys.modules.get("matplotlib.pyplot")
        before = set(plt.get_fignums()) if plt is not None else set()
        try:
            return make(*args, **kwargs)
        except BaseException:
            plt = sys.modules.get("matplotlib.pyplot")  # imported by the call, maybe
            if plt is not None:
                for num in set(plt.get_fignums()) - before:
                    plt.close(num)
            raise

    return run


#: Most points a figure evaluates f at: 2**24 = 16,777,216 (about 2 GB at the peak, 15 s on
#: two CPU cores), far more than a figure has pixels, checked before anything is allocated.
_MAX_POINTS = 1 << 24


def check_num(num: Any, dims: int, fix: str) -> int:
    """``num`` points per axis of a grid of ``dims`` axes on which a figure evaluates f: a
    whole number from 2 to :data:`_MAX_POINTS` points in all. ``num=10**6`` on the plane was a
    7 TiB allocation; it is refused here, naming ``num``, before anything is allocated."""
    num = check_int("num", num, 2, fix=fix)
    most = math.floor(_MAX_POINTS ** (1 / dims) + 1e-9)
    if num > most:
        per_axis = f" per axis ({most}**{dims} = 2**24 in all)" if dims > 1 else " (2**24)"
        raise ValueError(
            f"num must be at most {most:,} points{per_axis}, got {num:,}: a figure has a few "
            f"thousand pixels across, and f on that grid needs gigabytes; use a smaller num "
            f"({fix})"
        )
    return num


def _check_ax(ax: Any, *, optional: bool = True) -> None:
    """Refuse an ``ax`` that is not a matplotlib Axes (nor None, when ``optional``): called
    first thing, so a wrong one costs no compile and opens no figure. An Axes exists only once
    ``matplotlib.axes`` is imported, so the check imports nothing."""
    if ax is None and optional:
        return
    axes_class = getattr(sys.modules.get("matplotlib.axes"), "Axes", None)
    if axes_class is None or not isinstance(ax, axes_class):
        fix = ", or None for a new figure" if optional else ""
        raise TypeError(
            f"ax must be a matplotlib Axes (e.g. from fig, ax = plt.subplots()){fix}; "
            f"got {type(ax).__name__}"
        )


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    _check_ax(ax)
    if ax is not None:
        wait_for_imports()
        return ax.get_figure(), ax
    return _subplots(figsize=figsize)


def close(fig: Figure) -> None:
    """Close a figure made here: frees its memory in pyplot's registry.

    A headless figure (:func:`set_headless`) is in no registry: closing it does nothing, and
    it is freed when no longer referenced. Never imports pyplot for it.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> import jax.numpy as jnp
        >>> from jaxgd.plotting import plot_function
        >>> fig = plot_function(jnp.sin, (0.0, 3.0))
        >>> fig.number in plt.get_fignums()
        True
        >>> close(fig)
        >>> fig.number in plt.get_fignums()
        False
    """
    if getattr(fig.canvas, "manager", None) is None:
        return
    wait_for_imports()
    import matplotlib.pyplot as plt

    plt.close(fig)


def trims(n: int, percent: float) -> bool:
    """Whether :func:`color_limits`' robust limit ``percent`` in from an end of ``n`` values
    leaves out a whole value (else it is that end's extreme): at 2%, for more than 50 values.

    Example:
        >>> trims(50, 2.0), trims(51, 2.0)
        (False, True)
    """
    return (n - 1) * percent / 100 >= 1


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
        robust: use ``percentiles`` of the finite values rather than their min and max;
            a percentile that would leave out no whole value (of fewer than 51 values, at
            2 and 98) is the min or max itself, so a small sweep is drawn whole.
        percentiles: the low and high percentile for ``robust``.

    Returns:
        ``(lo, hi)`` with ``lo < hi`` (a constant image gets a small symmetric range).

    Raises:
        ValueError: ``vmin >= vmax``; ``vmin`` or ``vmax`` not finite; ``percentiles`` not
            ``(low, high)`` with ``0 <= low < high <= 100``.

    Example:
        >>> lo, hi = color_limits(np.r_[np.linspace(0.0, 1.0, 99), 1e6])  # one outlier
        >>> round(lo, 2), round(hi, 2)
        (0.02, 0.99)
        >>> color_limits([1.0, 2.0, np.inf], robust=False)
        (1.0, 2.0)
        >>> color_limits([1.0, 2.0, 3.0, 4.0])  # too few values to leave any out
        (1.0, 4.0)
    """
    for name, limit in (("vmin", vmin), ("vmax", vmax)):
        if limit is not None and not np.isfinite(limit):
            # NaN made every cell fall outside a made-up +-0.1 bar; inf, a bar to infinity.
            raise ValueError(f"{name} must be a finite number or None; got {limit}.")
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin must be below vmax; got vmin={vmin:g}, vmax={vmax:g}.")
    low, high = percentiles
    if not 0 <= low < high <= 100:
        raise ValueError(
            f"percentiles must be (low, high) with 0 <= low < high <= 100; got {percentiles}."
        )
    arr = np.asarray(values, dtype=np.float64).ravel()
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        lo, hi = 0.0, 1.0
    elif robust:
        lo, hi = (float(v) for v in np.percentile(finite, percentiles))
        # A percentile that lies between the extreme value and its neighbour leaves out no
        # whole value, only part of the extreme's cell: in a small sweep (fewer than 51
        # values at 2 and 98) it clipped the real minimum and maximum, and the colour bar's
        # arrows claimed values off its scale. There the limit is the extreme itself.
        if not trims(finite.size, low):
            lo = float(finite.min())
        if not trims(finite.size, 100 - high):
            hi = float(finite.max())
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
    """The colour of each minimum of ``minima``, the one rule of every figure that colours
    minima: the global ones green (minima tied for lowest in three shades of green,
    repeating past them), the others the palette, repeating past it (80 minima
    crashed at 61), first to those inside the interval searched in full
    (:attr:`~jaxgd.minima.Minima.domain`) in order of ``x``, then to those runs reached
    outside it, in order of ``x``. A function of the minima alone, never of what a figure
    draws, so one minimum has one colour in every figure of the same minima (past the
    palette, colours had gone to the minima each figure's legend named, and differed); and
    a minimum inside the interval keeps its colour when runs that left it add minima beyond
    its ends (by ``x`` alone, a minimum reached at ``-7`` shifted every colour of
    ``[-2 pi, 2 pi]``, so one minimum of one f differed between experiments). Ends of the
    interval (``at_boundary``) get none: no run settles there."""
    colors: dict[int, str] = {}
    if minima is None:
        return colors
    best, others = _global_set(minima), itertools.cycle(_OTHER_COLORS)
    greens = itertools.cycle(_GLOBAL_COLORS)
    x = np.asarray(minima.x, np.float64)
    inside = np.ones(x.shape, bool)
    if minima.domain is not None:
        lo, hi = np.asarray(minima.domain, np.float64)
        inside = (lo <= x) & (x <= hi)
    stationary = ~np.asarray(minima.at_boundary, bool)
    for i in [*np.flatnonzero(stationary & inside), *np.flatnonzero(stationary & ~inside)]:
        colors[int(i)] = next(greens) if i in best else next(others)
    return colors


#: Local minima a legend names one by one, each in a colour of its own; the rest share one
#: entry (and the palette's colours again).
_LEGEND_MOST = len(_OTHER_COLORS)


def _minima_to_draw(reached: set[int], best: set[int]) -> set[int]:
    """The minima a figure draws: those ``reached`` by its runs, and the global ones (``best``)
    when they are few; of dozens (or thousands) tied for lowest, only those reached, or the
    first when none is (one line each would bury the figure and take minutes to draw)."""
    if len(best) <= _LEGEND_MOST:
        return reached | best
    return reached if reached & best else reached | {min(best)}


def _listed_minima(
    shown: Sequence[int], best: set[int], runs: dict[int, int], colors: dict[int, str]
) -> set[int]:
    """Which of the minima ``shown`` a legend names: for each colour of
    :func:`_minimum_colors` the one most runs go to, global ones (shades of green) and others
    alike, so no two named minima share a colour (all of them when there are few; an f with
    dozens of minima tied for lowest once listed every one, and the plot shrank to a strip).
    The rest are :func:`_more_minima`. Global and other minima are taken apart: a minimum
    without a colour (one on the boundary) is named once of each kind."""

    def key(i: int) -> tuple[int, int]:
        return (-runs.get(i, 0), i)

    named = sorted((i for i in shown if i in best), key=key)
    others = sorted((i for i in shown if i not in best), key=key)
    return {*one_per_colour(named, colors.get), *one_per_colour(others, colors.get)}


def one_per_colour(
    order: Sequence[int], color: Callable[[int], Any], most: int | None = None
) -> list[int]:
    """The first minimum of each colour in ``order``, at most ``most`` of them, in that order.

    A legend names only these: two named minima of one colour could not be told apart on the
    figure (1-D local minima repeat the palette; 2-D basins apart may share a colour)."""
    named: list[int] = []
    taken: set[Any] = set()
    for i in order:
        if most is not None and len(named) >= most:
            break
        if color(i) not in taken:
            named.append(i)
            taken.add(color(i))
    return named


def _more_minima(rest: Sequence[int], best: set[int]) -> list[tuple[list[int], str, str]]:
    """The legend entries of the minima ``rest`` a legend does not name, the same in every
    figure: ``(which, label, colour)`` for the global ones, then the others (whose colours
    repeat those named); a figure adds its own count of runs to each label."""
    entries = []
    for kind, which, color in (
        ("global", [i for i in rest if i in best], _GLOBAL_COLOR),
        ("local", [i for i in rest if i not in best], "0.6"),
    ):
        if which:
            more = plural(len(which), f"more {kind} minimum", f"more {kind} minima")
            entries.append((which, more + " (colours repeat)", color))
    return entries


def _target_text(target: float | tuple[float, float]) -> str:
    """A point, ``x = 1.5``, or a span ``(lo, hi)``, ``x in [-1, 1]``, as figures write it."""
    if np.ndim(target) == 0:
        return f"x = {float(target):.5g}"
    lo, hi = target
    return f"x in [{float(lo):.5g}, {float(hi):.5g}]"


def _where(minima: Minima, i: int) -> str:
    """Where minimum ``i`` lies: ``x = 1.5``, or ``x in [-1, 1]`` for a flat one."""
    lo, hi = float(minima.lo[i]), float(minima.hi[i])
    return _target_text((lo, hi) if lo < hi else float(minima.x[i]))


def _describe_minimum(minima: Minima, i: int) -> str:
    kind = "global minimum" if i in global_minima(minima) else "local minimum"
    return f"{kind} {_where(minima, i)}"


def _mark_minimum(ax: Axes, minima: Minima, i: int, **line: Any) -> None:
    """A horizontal dashed line at minimum ``i``; for a flat minimum a band over the span
    where descent stops, between dashed lines at its ends (``line``: axhline's style)."""
    lo, hi = float(minima.lo[i]), float(minima.hi[i])
    if not lo < hi:
        ax.axhline(float(minima.x[i]), **line)
        return
    ax.axhspan(lo, hi, color=line.get("color"), alpha=0.12, linewidth=0, zorder=0)
    ax.axhline(lo, **line)
    ax.axhline(hi, **{k: v for k, v in line.items() if k != "label"})


@partial(jax.jit, static_argnums=0)
def _f_and_grad(f: Callable, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jax.vmap(f)(x), jax.vmap(jax.grad(f))(x)


def _without_extra_axes(res: SweepResult, wanted: str, name: str = "res") -> SweepResult:
    """``res`` without its axes beyond (start, learning_rate, epochs): those of length 1 are
    dropped; a longer one is an error that names it and shows how to select it (``name``:
    the argument ``res`` was passed as)."""
    extra = [d for d in res.dims if d not in _CORE]
    longer = [d for d in extra if res.sizes[d] != 1]
    if longer:
        by_value = [d for d in longer if d != "coord"]
        picks = ", ".join(f"{d}={_first(res, d)}" for d in by_value)
        example = (f".sel({picks})" if by_value else "") + (
            ".isel(coord=0)" if "coord" in longer else ""
        )
        plane = (
            " (plots against the start x₀ need scalar starts: for starts that are points of "
            "the plane, draw plotting.plot_basin_map or plot_basin_maps)"
            if "coord" in longer and "start" in res.dims and res.sizes["start"] > 1
            else ""
        )
        raise ValueError(
            f"this plot needs {wanted}, but {name} also has the axes "
            f"{ {d: res.sizes[d] for d in longer} }. Select one value of each first, e.g. "
            f"{name}{example}{plane}."
        )
    return res.isel({d: 0 for d in extra}) if extra else res


def _first(res: SweepResult, dim: str) -> str:
    """The first coordinate of axis ``dim``, as ``sel`` takes it (an example value)."""
    coord = np.asarray(res.coord(dim))
    if coord.size == 0:
        return "..."
    return coord_text(res, dim, coord[0])


def coord_text(res: SweepResult, dim: str, value: Any) -> str:
    """``value``, a coordinate of axis ``dim``, written as ``res.sel`` takes it back: a name
    quoted, a count as an int, a number in 6 digits when they pick it out exactly (0.01),
    else in every digit of its dtype (0.36666667: an example of 0.366667 was refused); a
    start that is a point of the plane as a list, ``[1.5, -0.5]``."""
    if isinstance(value, str | np.str_):
        return f'"{value}"'
    coord = np.asarray(res.coord(dim))
    if coord.dtype.kind in "iu":
        return str(int(value))
    if np.ndim(value):
        # A start of a d-dimensional result is a point, and sel takes it as a list: the
        # examples in the errors of plots given such a result failed converting it to a float.
        return "[" + ", ".join(_shown(float(c), coord.dtype) for c in np.ravel(value)) + "]"
    short = f"{float(value):g}"
    try:
        at = coordinate_positions(dim, coord, float(short), "exact")
    except (KeyError, TypeError, ValueError):
        at = None
    if at is not None and coord[at] == value:
        return short
    return _shown(float(value), coord.dtype)


def _pick(res: SweepResult, dim: str, value: Any, where: str, arg: str) -> SweepResult:
    """``res.sel({dim: value})`` for a plot's argument ``arg``: a value that is not a
    coordinate is refused by the argument's name, with the values to choose from (sel's own
    fix, ``method='nearest'``, is no argument of the plots)."""
    try:
        return res.sel({dim: value})
    except KeyError:
        coords = np.asarray(res.coord(dim))
        shown = ", ".join(coord_text(res, dim, c) for c in coords[:8])
        more = f" and {coords.size - 8} more" if coords.size > 8 else ""
        raise ValueError(
            f"{where}: {arg}={value!r} is not a coordinate of the result's {dim} axis; pass "
            f"one of {shown}{more}."
        ) from None


def _scalar_starts(res: SweepResult, where: str) -> None:
    """Refuse a result whose starts are points of R^d where a plot draws against x₀, one
    number per start: with the coord axis selected, the (S, 2) starts of a 2-D sweep were
    drawn as a scatter of their coordinates (plot_final), or failed deep in NumPy."""
    shape = np.shape(res.starts)
    if "start" in res.dims and len(shape) > 1:
        raise ValueError(
            f"{where} needs each start x₀ to be one number, but this result's starts "
            f"are points of R^{shape[-1]} (shape {shape}): draw a sweep over the plane with "
            "plotting.plot_basin_map or plot_basin_maps (a plot against the learning rate or "
            "the epochs takes one start: select it first, e.g. res.isel(start=0))."
        )


def _one_axis(res: SweepResult) -> SweepResult:
    res = _without_extra_axes(res, "one axis (start, learning_rate or epochs) to plot against")
    r = res.squeeze()
    if len(r.dims) != 1:
        axes = dict(zip(res.dims, res.shape, strict=False))
        if not r.dims:
            fix = (
                "it holds one run, so there is nothing to plot against: sweep several starts, "
                "learning rates or epoch counts"
            )
        else:
            # Keep the first axis and select one value of each other, as the coordinates are.
            picks = ", ".join(f"{d}={_first(res, d)}" for d in r.dims[1:])
            fix = f"select the rest first, e.g. res.sel({picks}) to plot against {r.dims[0]}"
        raise ValueError(
            f"res must have exactly one axis longer than 1 to plot against; its axes are "
            f"{axes}: {fix}."
        )
    _scalar_starts(r, "this plot")
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
    res = _without_extra_axes(res, "one (learning_rate, epochs) map")
    if "start" in res.dims and res.sizes["start"] == 1:
        res = res.isel(start=0)
    if res.dims == ("epochs", "learning_rate"):  # an order SweepResult allows: the map's own
        res = dataclasses.replace(
            res,
            final=np.swapaxes(np.asarray(res.final), 0, 1),
            value=np.swapaxes(np.asarray(res.value), 0, 1),
            diverged=np.swapaxes(np.asarray(res.diverged), 0, 1),
            dims=("learning_rate", "epochs"),
        )
    if res.dims != ("learning_rate", "epochs"):
        missing = [d for d in ("learning_rate", "epochs") if d not in res.dims]
        fix = (
            f"it has no {' and no '.join(missing)} axis; a selection of one value keeps it "
            f"when given as a list, e.g. res.isel({missing[0]}=[0]) rather than "
            f"{missing[0]}=0"
            if missing
            else f"pick one start first, e.g. res.sel(start={_first(res, 'start')})"
        )
        raise ValueError(
            "res must have a learning_rate and an epochs axis (one start); its axes are "
            f"{dict(zip(res.dims, res.shape, strict=False))}: {fix}."
        )
    return res


def _edges(v: np.ndarray, scale: str = "linear", floor: float | None = None) -> np.ndarray:
    """Cell edges around sorted centres ``v``: half-way between neighbours on that scale.

    With ``floor`` (0 for learning rates and epoch counts, which are never negative), the
    outer edges stop there when every centre is at or above it: the first cell, centred on
    the smallest value, had reached below it and drawn an axis of negative rates or epochs.
    A single value's cell is centred on it all the same (0 alone had a cell from 0 to 0.5):
    its axis shows that value as its only tick (:func:`_value_ticks`), so no negative rate or
    count is drawn.

    On a log scale the edges are found in log space and kept among the positive finite
    floats: rates from 1e-300 to 1 had a first edge of 0 (exp underflowed), which no log
    axis can show.
    """
    if floor is not None and v.size > 1 and v[0] >= floor:
        return np.maximum(_edges(v, scale), floor)
    if scale == "log":
        logs = np.log(v)
        # One value: a cell from half of it to twice it.
        log_edges = logs[0] + np.log(2.0) * np.array([-1.0, 1.0]) if v.size == 1 else _edges(logs)
        with np.errstate(over="ignore", under="ignore"):
            edges = np.exp(log_edges)
        big = np.finfo(np.float64)
        return np.clip(edges, big.tiny, big.max)
    if v.size == 1:
        # A cell centred on the value and as wide as it (a rate of 0.1 spans 0.05 to 0.15:
        # no negative rates); around 0, one unit wide (an epoch count of 0 spans -0.5 to 0.5).
        # The map shows the one value as its axis's only tick (:func:`_value_ticks`), so the
        # half-cell below 0 reads as no rate or count.
        half = 0.5 * abs(float(v[0])) if v[0] != 0 else 0.5
        return np.array([v[0] - half, v[0] + half])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


#: A map's axis of this many values or fewer is ticked at its values, one tick per cell: with
#: rates 1, 25.75, ..., 100 the first cell, stopped at 0, spans 0 to 13 and read as a rate of
#: about 6 under ticks 0, 20, 40, ...
_FEW_VALUES = 6


def _power_of_ten(value: float, digits: int) -> str:
    """``value`` > 0 as m x 10^e in mathtext, as a log axis labels its ticks: 10^{-4}, not
    the 10 x 10^{-5} that rounding 9.99999e-05 gave."""
    mantissa, exponent = f"{float(value):.{digits - 1}e}".split("e")
    m, e = float(mantissa), int(exponent)
    if m == 1.0:
        return rf"$\mathdefault{{10^{{{e}}}}}$"
    return rf"$\mathdefault{{{m:g}\times10^{{{e}}}}}$"


def _value_ticks(axis: Any, values: np.ndarray) -> None:
    """Give a map's ``axis`` (``ax.xaxis`` or ``ax.yaxis``) of few values those values as its
    ticks, one in each cell: ticks spread over the cells' made-up widths (0 to 0.5 for a rate
    of 0 alone; 0, 20, ..., 140 over the cells of 0 and 100 epochs) read as rates or counts
    the map never ran, and did not say which cell holds which value. Labels carry as many
    digits as it takes to tell the values apart."""
    from matplotlib.ticker import LogFormatterSciNotation, NullLocator

    u = np.unique(np.ravel(values))
    log = axis.get_scale() == "log"
    at = axis.get_transform().transform(u)  # where the values sit along the axis
    # Values bunched at one end (0, 5, 50 and 500 epochs): their labels would overlap.
    if u.size > _FEW_VALUES or (u.size > 1 and np.diff(at).min() < 0.1 * (at[-1] - at[0])):
        return
    # Powers of ten where the axis writes them (a log axis of rates), else plain numbers.
    powers = log and u.size > 1 and type(axis.get_major_formatter()) is LogFormatterSciNotation
    for digits in range(3 if powers else 6, 18):
        labels = [_power_of_ten(v, digits) if powers else f"{float(v):.{digits}g}" for v in u]
        if len(set(labels)) == u.size:
            break
    axis.set_ticks(u.tolist(), labels=labels)
    axis.set_minor_locator(NullLocator())


def plain_counts(axis: Any) -> None:
    """Label a log-scaled ``axis`` of epoch counts in plain numbers: 20, 50, 1000. Counts
    within a decade or two (5 to 20) were labelled as powers of ten, 2x10^1 and 6x10^0,
    which no one counts epochs in."""
    from matplotlib.ticker import LogFormatter

    if axis.get_scale() not in ("log", "symlog"):
        return
    axis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    # Minor ticks labelled where the axis spans few decades, as matplotlib's own do.
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def log_spaced(values: Any) -> bool:
    """Whether ``values`` look evenly spaced on a log scale, so a log axis shows them evenly.

    True for at least 3 distinct positive values (sorted; duplicates ignored) whose steps in
    ``log`` differ by at most a factor 2 (for whole numbers, up to rounding), and which a
    geometric sequence fits better than an even one (the largest miss of each, in units of
    its own step): ``np.geomspace``, rounded or not, and 10, 20, 50, 100 are log-spaced;
    ``np.linspace(1e-10, 0.1, 50)`` and ``[1, 2, 3]`` are not.

    Example:
        >>> import numpy as np
        >>> log_spaced(np.geomspace(1e-4, 1e-1, 10)), log_spaced(np.linspace(1e-10, 0.1, 50))
        (True, False)
        >>> log_spaced(np.round(np.geomspace(10, 1000, 20))), log_spaced([1.0, 2.0, 3.0])
        (True, False)
        >>> log_spaced([10, 20, 50, 100, 200, 500]), log_spaced([0.0, 0.1, 1.0])
        (True, False)
    """
    v = np.unique(np.asarray(values, np.float64).ravel())
    v = v[np.isfinite(v)]
    if v.size < 3 or v[0] <= 0:
        return False
    logs = np.log(v)
    step = np.diff(logs)
    # Rounding x to a whole number moves log(x) by up to 0.5 / x: allow for it.
    slack = 0.5 / v[:-1] + 0.5 / v[1:] if np.all(v == np.round(v)) else 0.0
    if 2.0 * (step + slack).min() < (step - slack).max():
        return False
    k = np.arange(v.size) / (v.size - 1)
    geometric = np.max(np.abs(logs - (logs[0] + k * (logs[-1] - logs[0])))) / (step.mean())
    even = np.max(np.abs(v - (v[0] + k * (v[-1] - v[0])))) / ((v[-1] - v[0]) / (v.size - 1))
    return bool(geometric < even)


def _scale(name: str, value: str | None, coords: Any) -> str:
    """``"log"`` or ``"linear"`` for an axis: as asked, or log where the values are log-spaced."""
    if value is None:
        return "log" if log_spaced(coords) else "linear"
    if value not in ("linear", "log"):
        raise ValueError(
            f"{name} must be 'linear', 'log' or None (decide from the values); got {value!r}"
        )
    if value == "log" and not np.all(np.asarray(coords, np.float64) > 0):
        raise ValueError(
            f"{name}='log' needs positive values; these include "
            f"{float(np.min(coords)):g}: use {name}='linear'"
        )
    return value


def _precision(*arrays: Any) -> str:
    """The float dtype the numbers were computed in, for the footer."""
    for a in arrays:
        dtype = getattr(a, "dtype", None)
        if dtype is not None and np.issubdtype(dtype, np.floating):
            return str(np.dtype(dtype))
    return str(np.dtype(jax.dtypes.canonicalize_dtype(np.float64)))


_FOOTER_GID = "jaxgd-precision"


def _footer(fig: Figure, dtype: str, *, top: bool = False) -> None:
    """Say in the lower right corner which precision the figure's numbers were computed in
    (the upper right with ``top``, for a figure whose legend spans its foot).

    One footer per figure: panels drawn into the same figure add their dtype to it.
    """
    _short_tick_labels(fig)
    prefix = "computed in "
    found = [t for t in fig.texts if t.get_gid() == _FOOTER_GID]
    if not found:
        text = fig.text(
            0.995,
            0.995 if top else 0.005,
            prefix + dtype,
            ha="right",
            va="top" if top else "bottom",
            fontsize="x-small",
            color="0.35",
            gid=_FOOTER_GID,
        )
        if not top:
            _keep_clear_of_footer(fig, text)
        return
    seen = found[0].get_text().removeprefix(prefix).split(" and ")
    if dtype not in seen:
        found[0].set_text(prefix + " and ".join([*seen, dtype]))


def _keep_clear_of_footer(fig: Figure, footer: Any) -> None:
    """Lay the figure out above a strip as tall as the footer in its lower right corner.

    Constrained layout places the axes and everything they draw without a figure text: the
    offset of an x axis (``+1e6`` under ticks of 1e6 ± 1), a legend under the axes or the x
    label of the right-hand panel were drawn over "computed in float32". A figure laid out
    otherwise (a caller's own) is left as it is.
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    engine = fig.get_layout_engine()
    if not isinstance(engine, ConstrainedLayoutEngine):
        return
    # The line's height (1.2 of its size) and a point to spare, as a share of the figure's.
    strip = (1.2 * footer.get_fontsize() + 1.0) / 72.0 / fig.get_figheight()
    engine.set(rect=(0.0, strip, 1.0, 1.0 - strip))


def _every_run_diverged(ax: Axes, n: int) -> None:
    """Say in the middle of ``ax`` that it is empty because every one of the ``n`` runs
    diverged: an axes from 0 to 1 with no line in it looked like a figure that failed."""
    ax.text(
        0.5,
        0.5,
        f"every run diverged ({n} of {n}): no final guess to draw",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="0.3",
        # Over the minima's lines (the middle of the axes is where they fall) it read as
        # struck through.
        bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
        zorder=5,
    )


def _diverged(res: SweepResult) -> np.ndarray:
    """Runs whose position or value is not finite, whatever the flag says, as host booleans."""
    final, value = np.asarray(res.final), np.asarray(res.value)
    return np.asarray(res.diverged, bool) | ~np.isfinite(final) | ~np.isfinite(value)


#: Values this close, relative to their size, differ by rounding only (float32's eps is 1.2e-7);
#: a caller that knows the dtype passes 64 of its epsilons.
_SAME = 1e-5


def _rounding(final: Any) -> float:
    """The relative gap within which final guesses of ``final``'s dtype differ by rounding
    only (64 of its epsilons), for :func:`_ylim`."""
    kind = np.asarray(final).dtype
    return 64 * float(np.finfo(kind).eps) if kind.kind == "f" else _SAME


def _ylim(values: np.ndarray, same: float = _SAME) -> tuple[float, float]:
    # Full data range, unless a few runs flung far away would squash every other line.
    # NaN and inf are not drawn, so they set no limit (matplotlib refuses them as limits).
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    rlo, rhi = (float(v) for v in np.percentile(values, (2.0, 98.0)))
    if hi - lo > 3 * (rhi - rlo) > 0:
        lo, hi = rlo, rhi
    if hi - lo <= same * max(abs(lo), abs(hi)):
        # Apart by rounding only (every run at x = 1, some at 1 - 1e-7): one value, drawn as
        # such, not an axis zoomed onto float32's last digits.
        lo = hi = (lo + hi) / 2
    return _with_margin(lo, hi)


def _beyond(ax: Axes, x: np.ndarray, y: np.ndarray, n: int, what: str = "runs") -> Any:
    """Mark the finite ``y`` that :func:`_ylim` left off ``ax`` (set its limits first): a grey
    triangle on the edge they lie past, at their ``x``; returns a legend entry that counts them
    and gives their range (out of ``n``), or None when every one is drawn. A run off the axis
    had looked like no run at all."""
    from matplotlib.lines import Line2D

    lo, hi = ax.get_ylim()
    y = np.asarray(y, np.float64)
    finite = np.isfinite(y)
    above, below = finite & (y > max(lo, hi)), finite & (y < min(lo, hi))
    off = above | below
    if not off.any():
        return None
    edge = ax.get_xaxis_transform()  # x in data, y in axes fraction: 1 is the top edge
    style = {"color": "0.35", "markersize": 7, "clip_on": False, "zorder": 4, "transform": edge}
    top, bottom = (1.0, 0.0) if hi > lo else (0.0, 1.0)
    if above.any():
        ax.plot(x[above], np.full(int(above.sum()), top), "^", linestyle="none", **style)
    if below.any():
        ax.plot(x[below], np.full(int(below.sum()), bottom), "v", linestyle="none", **style)
    vals = y[off]
    where = (
        f"at {vals[0]:.6g}" if vals.min() == vals.max() else f"{vals.min():.6g} to {vals.max():.6g}"
    )
    marker = "^" if above.any() else "v"
    return Line2D(
        [],
        [],
        linestyle="none",
        marker=marker,
        color="0.35",
        label=f"beyond the axis: {int(off.sum())} of {n} {what} ({where}), marked on its edge",
    )


def _with_margin(lo: float, hi: float) -> tuple[float, float]:
    """``(lo, hi)`` widened by 5% of their span; one value (``lo == hi``) by 5% of its own
    size, so that 1e-30 is not drawn at "0.00", and by 0.05 around 0."""
    pad = 0.05 * (hi - lo) if hi > lo else (0.05 * abs(lo) if abs(lo) > 1e-290 else 0.05)
    return lo - pad, hi + pad


def _count_ticks(lo: float, hi: float, most: int = 8) -> list[float]:
    """Ticks for a colour bar of counts from ``lo`` to ``hi`` (``0 < lo < hi``), at least two,
    spanning its range: round numbers a reader can look up (50, 100, 200, ...: 1, 2 and 5
    times a power of ten, or the powers alone when those are more than ``most``); where fewer
    than two of them lie in the range (150 to 180 holds none), evenly spaced whole numbers
    (150, 160, 170, 180). A bar of counts 150 to 180 had one label, or none.

    Example:
        >>> _count_ticks(10.0, 500.0), _count_ticks(150.0, 180.0)
        ([10.0, 20.0, 50.0, 100.0, 200.0, 500.0], [150.0, 160.0, 170.0, 180.0])
    """
    from matplotlib.ticker import MaxNLocator

    powers = range(int(np.floor(np.log10(lo))), int(np.floor(np.log10(hi))) + 1)
    for steps in ((1, 2, 5), (1,)):
        picks = [m * 10.0**k for k in powers for m in steps if lo <= m * 10.0**k <= hi]
        if len(picks) <= most:
            break
    if len(picks) >= 2:
        return picks
    steps = [1, 2, 2.5, 5, 10]
    even = MaxNLocator(nbins=min(most, 5), steps=steps, integer=hi - lo >= 2).tick_values(lo, hi)
    picks = [float(t) for t in even if lo <= t <= hi]
    return picks if len(picks) >= 2 else [float(lo), float(hi)]


def _empty_bar(bar: Any, label: str, why: str = "every cell is grey") -> None:
    """Say on colour ``bar`` that no value was drawn, and ``why``: no ticks, whose made-up
    range (0 to 1) would read as data."""
    bar.set_ticks([])
    bar.minorticks_off()
    bar.set_label(f"{label}\n(nothing to show: {why})")


def _one_value_bar(bar: Any, shown: np.ndarray, vmin: Any, vmax: Any, *, grey: bool) -> None:
    """Where every coloured cell holds one value (f constant, a start where f' = 0, one
    finite run) and no limits were given: one tick on colour ``bar``, at that value, saying
    so; the made-up range around it (999 to 1001 for 1000) read as values the map holds.
    ``grey``: some cells are grey (diverged), and the tick says "every other cell"."""
    if vmin is not None or vmax is not None or not shown.size:
        return
    value = float(shown.flat[0])
    if not (shown == value).all():
        return
    cells = "every other cell" if grey else "every cell"
    bar.set_ticks([value], labels=[f"{cells}\n{value:.6g}"])
    bar.minorticks_off()


def _under_axes(ax: Axes) -> Any:
    """A transform for a legend placed under ``ax``'s x label: axes coordinates, moved down
    by the height of the tick labels (powers of ten included) and the label, in points, so
    the legend clears them at any figure size (an offset in axes fraction shrinks with the
    axes and once overlapped the label)."""
    from matplotlib.transforms import offset_copy

    return offset_copy(ax.transAxes, fig=ax.get_figure(), y=-46, units="points")


def _legend_under(ax: Axes, handles: Sequence[Any]) -> None:
    """A legend of ``handles`` centred under ``ax``, below its x label (see :func:`_under_axes`).

    A handle may be a tuple of artists, labelled by its first: its key shows them side by
    side (the colours of minima a map's legend does not name).
    """
    from matplotlib.legend_handler import HandlerTuple

    ax.legend(
        handles=handles,
        labels=[(h[0] if isinstance(h, tuple) else h).get_label() for h in handles],
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0.0)},
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=_under_axes(ax),
        fontsize="small",
    )


def _legend_columns(labels: Sequence[str], width: float, most: int = 4) -> int:
    """How many columns of ``labels`` (small text, with a handle each) fit in ``width``
    inches: at most ``most``, at least one."""
    longest = max((len(t) for t in labels), default=0)
    column = 0.55 + 0.075 * longest  # handle and padding, and about 0.075 in a character
    return max(1, min(most, len(labels), int(width // column)))


#: The axes whose values are never negative: an axis of them starts at 0 at the lowest.
_NOT_NEGATIVE = ("learning_rate", "epochs")


def _xlim(values: np.ndarray, scale: str, floor: float | None = None) -> tuple[float, float]:
    """Axis limits that show every one of ``values`` (finite; positive on a log scale) with a
    margin, as autoscaling would from drawn data, and also when nothing finite was drawn.

    With ``floor`` (0 for learning rates and epoch counts), the margin stops there when every
    value is at or above it, as the maps' cells do (:func:`_edges`): a curve against rates
    from 0 had an axis from -0.005, a rate no run can have."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if scale == "log":
        if hi > lo:
            pad = (hi / lo) ** 0.05
            return lo / pad, hi * pad
        return lo / 1.5, hi * 1.5
    low, high = _with_margin(lo, hi)
    if floor is not None and hi > lo >= floor:
        low = max(low, floor)
    return low, high


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
