"""Contour maps with paths and basin maps: what they draw, and what they refuse."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import io
import itertools

import jax.numpy as jnp
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest

import jaxgd
from jaxgd import functions2d as fns2
from jaxgd import plotting
from jaxgd.minima_nd import DIVERGED, NO_MINIMUM, MinimaND, grid_starts
from jaxgd.plotting.surfaces import NOWHERE_COLOR, _levels


@pytest.fixture
def saddle_minima():
    return MinimaND.at(fns2.saddle, fns2.get("saddle").minima)


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_paths_one_colour_per_label(saddle_minima):
    paths = np.array(
        [
            [[1.5, 0.1], [1.0, 0.3], [0.0, 1.0]],
            [[1.5, -0.1], [1.0, -0.3], [0.0, -1.0]],
            [[-1.5, 0.5], [-1.0, 0.7], [0.0, 1.0]],
        ],
        np.float32,
    )
    fig = plotting.plot_paths(
        fns2.saddle,
        fns2.get("saddle").domain,
        paths,
        labels=["rate 0.1", "rate 0.1", "rate 0.5"],
        minima=saddle_minima,
        title="t",
    )
    ax = fig.axes[0]
    assert _legend_texts(ax) == ["rate 0.1", "rate 0.5", "start", "end", "global minimum"]
    lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 3]
    colors = [mcolors.to_hex(ln.get_color()) for ln in lines]
    assert colors[0] == colors[1] != colors[2]
    assert ax.get_title() == "t" and ax.get_xlim() == (-2.0, 2.0)
    assert fig.texts[0].get_text() == "computed in float32"
    assert len(fig.axes) == 2  # the map and its colour bar
    plotting.close(fig)


def test_paths_diverged_run_is_marked_at_last_finite_point_not_as_an_end():
    # The bold cross of an end at a diverged run's last finite point read as a run that
    # stopped there (at its very start, where f is not finite one step on).
    paths = [
        np.array([[0.0, 0.0], [1.0, 1.0], [np.inf, np.nan]]),
        np.array([[-1.0, -1.0], [np.nan, np.nan], [np.nan, np.nan]]),
        np.array([[2.0, 0.0], [3.0, 2.0], [3.0, 2.0]]),
    ]
    fig = plotting.plot_paths(fns2.himmelblau, ((-5, 5), (-5, 5)), paths)
    ax = fig.axes[0]
    marks = {
        m: [ln.get_xydata().tolist() for ln in ax.get_lines() if ln.get_marker() == m]
        for m in ("X", "x")
    }
    assert marks == {"X": [[[3.0, 2.0]]], "x": [[[1.0, 1.0]], [[-1.0, -1.0]]]}
    assert _legend_texts(ax)[-1] == "diverged (last seen)"
    plotting.close(fig)


def test_paths_over_an_f_finite_nowhere_have_a_colour_bar_without_values():
    # The bar of an f that is NaN everywhere read 0.0000 to 0.9310, values f never took.
    def nowhere(p):
        return jnp.nan * (p[0] + p[1])

    paths = [np.array([[0.0, 0.0], [np.nan, np.nan]])]
    fig = plotting.plot_paths(nowhere, ((-5, 5), (-5, 5)), paths)
    bar = fig.axes[1]
    assert list(bar.get_yticks()) == [] and "nothing to show" in bar.get_ylabel()
    plotting.close(fig)
    fig = plotting.plot_paths(fns2.himmelblau, ((-5, 5), (-5, 5)), paths)
    assert len(fig.axes[1].get_yticks()) > 2 and fig.axes[1].get_ylabel().startswith("f(x, y)")
    plotting.close(fig)


@pytest.mark.parametrize("domain", [((-4, 4), (-2, 5)), ((-2, 2), (-1, 3)), ((-5, 5), (-1, 1))])
def test_paths_colour_bar_is_as_tall_as_the_map_and_clear_of_the_footer(domain):
    # Placed by the layout, the bar spanned the map and the legend under it, and its lowest
    # tick label ran into the "computed in float32" footer.
    paths = [np.array([[-1.0, 2.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])]
    fig = plotting.plot_paths(fns2.rosenbrock, domain, paths)
    fig.canvas.draw()
    ax, bar = fig.axes[0], fig.axes[1]
    a, b = ax.get_window_extent(), bar.get_window_extent()
    assert abs(a.y0 - b.y0) < 1 and abs(a.y1 - b.y1) < 1
    footer = next(t for t in fig.texts if t.get_text().startswith("computed in"))
    box = footer.get_window_extent()
    renderer = fig.canvas.get_renderer()
    assert not box.overlaps(bar.get_tightbbox(renderer))
    assert not box.overlaps(ax.get_legend().get_window_extent())
    plotting.close(fig)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (((-5, 5),), {}, "domain must be"),
        (((5, -5), (-5, 5)), {}, "lo < hi"),
        (((-5, 5), (-5, 5)), {"labels": ["a", "b"]}, "one label per path"),
    ],
)
def test_paths_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.plot_paths(fns2.himmelblau, args, [np.zeros((3, 2))], **kwargs)
    # One run's (T, 2) array: its rows were read as runs, "paths[0] must have shape
    # (T, 2) ... got (2,)", a contradiction; the fix is to wrap it.
    with pytest.raises(ValueError, match=r"got one array of shape \(3, 2\): pass \[path\]"):
        plotting.plot_paths(fns2.himmelblau, ((-5, 5), (-5, 5)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"paths\[0\] must have shape \(T, 2\)"):
        plotting.plot_paths(fns2.himmelblau, ((-5, 5), (-5, 5)), [np.zeros((3, 3))])


def test_paths_refuse_an_f_of_three_coordinates_before_making_a_figure():
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=r"reads index 2 .*read only p\[0\] and p\[1\]"):
        plotting.plot_paths(
            lambda p: p[0] ** 2 + p[1] ** 2 + p[2] ** 2, ((-1, 1), (-1, 1)), [np.zeros((3, 2))]
        )
    assert plt.get_fignums() == before


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"minima": 3}, TypeError, "minima must be a MinimaND"),
        (
            {"minima": MinimaND.at(lambda p: (p**2).sum(), [(0.5, 0.5, 0.5)])},
            ValueError,
            r"^minima are points of R\^3",
        ),
        ({"cmap": "viridiss"}, ValueError, "cmap must be the name of a matplotlib colour map"),
    ],
)
def test_paths_refuse_bad_options_before_compiling(kwargs, error, match, compiles):
    # An f of its own: its surface has not been compiled yet in this process.
    def f(p):
        return p[0] ** 2 + 2.5 * p[1] ** 2

    before = plt.get_fignums()
    with compiles, pytest.raises(error, match=match):
        plotting.plot_paths(f, ((-1, 1), (-1, 1)), [np.zeros((3, 2))], **kwargs)
    assert compiles.count == 0, compiles.names
    assert plt.get_fignums() == before


@pytest.mark.parametrize("cmap", [None, "magma"])
def test_paths_take_none_for_the_default_colour_map_and_a_colormap(cmap):
    # None is matplotlib's own default (rcParams["image.cmap"]), as in contourf itself.
    import matplotlib as mpl

    given = cmap if cmap is None else mpl.colormaps[cmap]
    path = [np.array([[0.5, 0.5], [0.0, 0.0]])]
    fig = plotting.plot_paths(lambda p: p[0] ** 2 + p[1] ** 2, ((-1, 1), (-1, 1)), path, cmap=given)
    try:
        name = fig.axes[0].collections[0].cmap.name
        assert name == (mpl.rcParams["image.cmap"] if cmap is None else cmap)
    finally:
        plt.close(fig)


def test_levels_even_or_by_area():
    even = _levels(np.linspace(-1.0, 1.0, 1000), 10)
    assert np.allclose(np.diff(even), np.diff(even)[0])
    # A steep wall around a flat floor: equal-area bands, dense near the floor.
    skewed = _levels(np.linspace(0.0, 1.0, 1000) ** 6, 10)
    assert np.diff(skewed)[0] < np.diff(skewed)[-1] / 10
    assert _levels(np.full(5, 2.0), 10).tolist() == [1.5, 2.5]


def test_basin_map_colours_each_cell(saddle_minima):
    starts = grid_starts([(-2, 2), (-2, 2)], 5)
    labels = np.where(starts[:, 1] > 0, 1, 0)
    labels[starts[:, 1] == 0] = NO_MINIMUM
    labels[0] = DIVERGED
    fig, ax = plt.subplots()
    handles = plotting.basin_map(ax, starts[::-1], labels[::-1], saddle_minima)
    assert [h.get_label() for h in handles] == [
        "global minimum (0, -1): 9 of 25 starts",
        "global minimum (0, 1): 10 of 25 starts",
        "near no minimum: 5 of 25",
        "diverged: 1 of 25 starts",
    ]
    mesh = ax.collections[0]
    face = mesh.to_rgba(mesh.get_array()).reshape(5, 5, 4)  # rows of y, columns of x
    assert mcolors.to_hex(face[0, 0]) == mcolors.to_hex("0.55")  # the diverged corner
    assert mcolors.to_hex(face[2, 3]) == mcolors.to_hex(NOWHERE_COLOR)
    assert mcolors.to_hex(face[4, 4]) == mcolors.to_hex(handles[1].get_facecolor())
    assert mcolors.to_hex(face[1, 2]) == mcolors.to_hex(handles[0].get_facecolor())
    assert len(_legend_texts(ax)) == 4
    plotting.close(fig)


def test_basin_map_many_minima_summed():
    m = MinimaND.at(fns2.rastrigin, fns2.get("rastrigin").minima)
    starts = grid_starts([(0, 1), (0, 1)], (11, 11))
    labels = np.arange(121)
    fig, ax = plt.subplots()
    handles = plotting.basin_map(ax, starts, labels, m, legend=False)
    assert len(handles) == 11
    assert handles[-1].get_label() == "111 more minima (colours repeat): 111 of 121"
    # Every minimum took one start: the global one is named first, not left among the rest.
    assert handles[0].get_label().startswith("global minimum (0, 0)")
    # No two named minima share a colour: the palette repeats over 121 basins.
    named = [mcolors.to_hex(h.get_facecolor()) for h in handles[:-1]]
    assert len(set(named)) == len(named)
    assert ax.get_legend() is None
    plotting.close(fig)
    # One past the ten named: "1 more minimum", not "1 more minima".
    fig, ax = plt.subplots()
    handles = plotting.basin_map(ax, starts, labels % 11, m, legend=False)
    assert handles[-1].get_label() == "1 more minimum (colours repeat): 11 of 121"
    plotting.close(fig)


def test_basin_map_legend_names_one_minimum_per_colour():
    # Basins apart may share a colour (only touching ones must differ); a legend naming two
    # minima of one colour could not say which is which: the one with more starts is named.
    m = MinimaND.at(fns2.rastrigin, fns2.get("rastrigin").minima)
    starts = grid_starts([(0, 1), (0, 1)], (11, 11))
    labels = np.repeat(np.arange(5), [40, 30, 25, 16, 10])
    colors = ["tab:blue", "lime", "tab:red", "lime", "tab:red", *["tab:gray"] * (len(m) - 5)]
    fig, ax = plt.subplots()
    handles = plotting.basin_map(ax, starts, labels, m, legend=False, colors=colors)
    shades = [mcolors.to_hex(h.get_facecolor()) for h in handles[:-1]]
    assert len(shades) == len(set(shades)) == 3
    assert handles[-1].get_label() == "2 more minima (colours repeat): 26 of 121"
    plotting.close(fig)


def test_basin_map_errors(saddle_minima):
    fig, ax = plt.subplots()
    starts = grid_starts([(-2, 2), (-2, 2)], 3)
    with pytest.raises(ValueError, match="full grid"):
        plotting.basin_map(ax, starts[:-1], np.zeros(8, int), saddle_minima)
    with pytest.raises(ValueError, match="one entry per start"):
        plotting.basin_map(ax, starts, np.zeros(8, int), saddle_minima)
    with pytest.raises(ValueError, match="index into the 2 minima"):
        plotting.basin_map(ax, starts, np.full(9, 2), saddle_minima)
    # Labels that are not whole numbers were truncated to 0, a minimum: one basin drawn.
    for labels in (np.full(9, 0.5), np.full(9, -0.5), np.full(9, np.nan), np.ones(9, bool)):
        with pytest.raises(TypeError, match=r"labels must be whole numbers .* got dtype"):
            plotting.basin_map(ax, starts, labels, saddle_minima)
    assert len(plotting.basin_map(ax, starts, np.zeros(9), saddle_minima)) == 1  # 0.0 is 0
    plotting.close(fig)


@pytest.fixture(scope="module")
def saddle_sweep():
    starts = grid_starts([(-2, 2), (-2, 2)], 9)
    return jaxgd.sweep(fns2.saddle, starts, [0.1, 1.5, 3.0], [0, 200])


def test_plot_basin_map_of_a_sweep(saddle_sweep, saddle_minima):
    fig = plotting.plot_basin_map(saddle_sweep.sel(learning_rate=0.1), saddle_minima)
    ax = fig.axes[0]
    assert ax.get_title() == "Where descent ends: rate 0.1, 200 epochs"
    # 9 x 9 starts: y < 0 (36) to (0, -1), y > 0 (36) to (0, 1), y = 0 (9) stuck at the saddle.
    assert _legend_texts(ax) == [
        "global minimum (0, -1): 36 of 81 starts",
        "global minimum (0, 1): 36 of 81 starts",
        "near no minimum: 9 of 81",
    ]
    plotting.close(fig)
    fig = plotting.plot_basin_map(saddle_sweep.isel(learning_rate=2), saddle_minima, epochs=200)
    assert _legend_texts(fig.axes[0])[-1].startswith("diverged: ")
    plotting.close(fig)


def test_plot_basin_maps_shares_colours(saddle_sweep, saddle_minima):
    fig = plotting.plot_basin_maps(saddle_sweep, saddle_minima, suptitle="s")
    maps = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().splitlines()[0] for ax in maps] == [
        "learning rate 0.1",
        "learning rate 1.5",
        "learning rate 3",
    ]
    first = [mcolors.to_hex(c) for c in maps[0].collections[0].cmap.colors]
    assert all([mcolors.to_hex(c) for c in ax.collections[0].cmap.colors] == first for ax in maps)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:2] == ["global minimum (0, -1)", "global minimum (0, 1)"]
    assert "diverged" in labels
    plotting.close(fig)


def test_plot_basin_maps_legend_counts_and_orders_over_all_maps():
    # Merged from each map's legend: a first map where every run was still on its way put
    # 'near no minimum' before the global minimum; minima named by a later map came after it,
    # and 'N more' counted the first map's minima alone.
    from jaxgd.minima_nd import find_minima_nd, nearest_minimum_nd

    def quartic(p):
        return p[0] ** 4 - 3 * p[0] ** 2 + p[0] + p[1] ** 2

    bounds = [(-3.0, 3.0), (-3.0, 3.0)]
    res = jaxgd.sweep(quartic, grid_starts(bounds, 12), [1e-4, 0.02], 300)
    minima = find_minima_nd(quartic, bounds)
    fig = plotting.plot_basin_maps(res, minima)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "global minimum (-1.301, 0)",
        "minimum (1.131, 0)",
        "near no minimum",
    ]
    plotting.close(fig)

    # Rastrigin's many minima: the rate too small to arrive first, then one that reaches dozens.
    bounds = [(-5.12, 5.12)] * 2
    res = jaxgd.sweep(fns2.rastrigin, grid_starts(bounds, 30), [1e-5, 0.002], 300)
    minima = find_minima_nd(fns2.rastrigin, bounds)
    reached = set()
    for k in range(2):
        lab = nearest_minimum_nd(np.asarray(res.final)[:, k, 0], minima)
        reached |= set(lab[lab >= 0].tolist())
    fig = plotting.plot_basin_maps(res, minima)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0].startswith("global minimum ")
    assert labels[-1] == "near no minimum"
    (more,) = [t for t in labels if t.endswith(" more minima (colours repeat)")]
    named = [t for t in labels if t.startswith(("global minimum ", "minimum "))]
    assert len(named) + int(more.split()[0]) == len(reached) > len(named)
    shades = [
        mcolors.to_hex(h.get_facecolor()) for h in fig.legends[0].legend_handles[: len(named)]
    ]
    assert len(set(shades)) == len(named)  # one named minimum per colour
    plotting.close(fig)


def test_basin_plots_refuse_other_results(saddle_sweep, saddle_minima):
    one_d = jaxgd.sweep(jnp.cos, [0.0], [0.1], [1])
    with pytest.raises(ValueError, match="2-D sweep"):
        plotting.plot_basin_map(one_d, saddle_minima)
    with pytest.raises(ValueError, match="select one"):
        plotting.plot_basin_map(saddle_sweep, saddle_minima)
    with pytest.raises(TypeError, match="SweepResult"):
        plotting.plot_basin_maps(None, saddle_minima)
    # An epoch count the sweep lacks: sel's KeyError told to pass method='nearest', which
    # neither plot takes.
    for plot, res in (
        (plotting.plot_basin_map, saddle_sweep.isel(learning_rate=0)),
        (plotting.plot_basin_maps, saddle_sweep),
    ):
        with pytest.raises(ValueError, match=r"epochs=150 is not a .* pass one of 0, 200\.$"):
            plot(res, saddle_minima, epochs=150)


def test_bad_surface_inputs_are_named_not_left_to_numpy_or_matplotlib():
    import optax

    from jaxgd.functions2d import get, saddle
    from jaxgd.minima_nd import MinimaND, grid_starts

    bowl = lambda p: (p**2).sum()
    dom, paths = ((-1, 1), (-1, 1)), np.zeros((2, 5, 2))
    with pytest.raises(ValueError, match=r"^paths holds no run"):
        plotting.plot_paths(bowl, dom, np.zeros((0, 5, 2)))
    with pytest.raises(TypeError, match=r"^f must return a real scalar"):
        plotting.plot_paths(lambda p: p**2, dom, paths)
    m3 = MinimaND.at(lambda p: (p**2).sum(), [(0.5, 0.5, 0.5)])
    with pytest.raises(ValueError, match=r"^minima are points of R\^3"):
        plotting.plot_paths(bowl, dom, paths, minima=m3)
    res = jaxgd.sweep(
        saddle,
        grid_starts(((-2, 2), (-2, 2)), 4),
        [0.1, 0.5],
        [10],
        optimizer={"adam": optax.adam, "sgd": optax.sgd},
    )
    with pytest.raises(ValueError, match=r"select the others first \(e.g. res.sel\(optimizer="):
        plotting.plot_basin_maps(res, MinimaND.at(saddle, get("saddle").minima))


def test_basin_maps_colour_touching_basins_apart_and_keep_the_global_colour_its_own():
    # Rastrigin's minima lie on a lattice 11 to a row: a colour by index modulo the palette
    # painted whole rows of basins in one colour, and gave others the global minimum's.
    from jaxgd.minima_nd import find_minima_nd, nearest_minimum_nd
    from jaxgd.plotting.surfaces import _label_grid

    bounds = [(-5.12, 5.12)] * 2
    starts = grid_starts(bounds, 40)
    res = jaxgd.sweep(fns2.rastrigin, starts, [0.001, 0.002], 500)
    minima = find_minima_nd(fns2.rastrigin, bounds)
    fig = plotting.plot_basin_maps(res, minima)
    best = np.flatnonzero(minima.global_)
    faces = []
    for ax in fig.axes[:2]:
        mesh = ax.collections[0]
        rgba = mesh.cmap(mesh.norm(mesh.get_array()))
        faces.append(np.asarray(rgba).reshape(40, 40, 4))  # rows of y, columns of x
    for k, face in enumerate(faces):
        lab = nearest_minimum_nd(np.asarray(res.final)[:, k, 0], minima)
        img = _label_grid(starts, lab)
        for a, b, fa, fb in (
            (img[:, 1:], img[:, :-1], face[:, 1:], face[:, :-1]),
            (img[1:], img[:-1], face[1:], face[:-1]),
        ):
            differ = (a != b) & (a >= 0) & (b >= 0)
            assert differ.any()
            assert (np.abs(fa - fb).sum(-1)[differ] > 0).all()  # neighbours never alike
        glob = np.isin(img, best)
        assert glob.any()
        colour = face[glob][0]
        assert (np.abs(face[~glob] - colour).sum(-1) > 0).all()  # nobody else's colour
    # One colour per minimum across the panels.
    labs = [
        _label_grid(starts, nearest_minimum_nd(np.asarray(res.final)[:, k, 0], minima))
        for k in range(2)
    ]
    for i in np.unique(labs[0][labs[0] >= 0])[:20]:
        if (labs[1] == i).any():
            np.testing.assert_array_equal(faces[0][labs[0] == i][0], faces[1][labs[1] == i][0])
    plt.close(fig)


def _overlapping_labels(fig):
    """Pairs of (axes title, x label, shared legend) of different panels whose boxes meet, as
    the figure was last drawn."""
    r = fig.canvas.get_renderer()
    boxes = [(-1, lg.get_window_extent(r)) for lg in fig.legends]
    for i, ax in enumerate(a for a in fig.axes if a.get_visible()):
        boxes += [(i, ax.title.get_window_extent(r)), (i, ax.xaxis.label.get_window_extent(r))]
    return [
        (i, j)
        for k, (i, a) in enumerate(boxes)
        for j, b in boxes[k + 1 :]
        if i != j and a.overlaps(b)
    ]


@pytest.mark.parametrize(("function", "rates"), [("himmelblau", 9), ("rastrigin", 2)])
def test_basin_maps_saved_with_no_label_over_another(function, rates):
    # Three rows of square maps, and one row above a long legend (Rastrigin's minima): one
    # layout pass left each x label under the next row's title or under the legend.
    import io

    spec = fns2.get(function)
    res = jaxgd.sweep(spec.f, grid_starts(spec.domain, 12), np.linspace(1e-3, 4e-3, rates), [20])
    fig = plotting.plot_basin_maps(res, MinimaND.at(spec.f, spec.minima), suptitle="a\nb")
    fig.savefig(io.BytesIO(), format="png")
    assert _overlapping_labels(fig) == []
    plotting.close(fig)


def test_one_basin_map_title_clear_of_the_footer():
    # One map's figure is 4.6 in wide: the default title, centred, ran on under the
    # "computed in float32" footer in the upper right corner.
    import io

    res = jaxgd.sweep(fns2.himmelblau, grid_starts(((-5, 5), (-5, 5)), 8), [0.01], [20])
    minima = MinimaND.at(fns2.himmelblau, [(3.0, 2.0)])
    for suptitle in (None, "Where each run of descent ends, by start, on Himmelblau's function"):
        fig = plotting.plot_basin_maps(res, minima, suptitle=suptitle)
        fig.savefig(io.BytesIO(), format="png")
        r = fig.canvas.get_renderer()
        footer = next(t for t in fig.texts if t.get_text().startswith("computed in"))
        title = fig.get_suptitle()
        assert title.replace("\n", " ") == (
            suptitle or "Where descent ends after 20 epochs, by start"
        )
        (text,) = [t for t in fig.texts if t.get_text() == title]
        assert not text.get_window_extent(r).overlaps(footer.get_window_extent(r)), title
        assert _overlapping_labels(fig) == []
        plotting.close(fig)


def test_one_basin_map_headless_as_the_experiments_make_it():
    # Headless figures have a plain canvas, without get_renderer: checking the title against
    # the footer with canvas.get_renderer() crashed `python -m experiments.basin_map`.
    import io

    minima = MinimaND.at(fns2.himmelblau, [(3.0, 2.0)])
    with plotting.headless():
        for rates in ([0.01], [0.01, 0.02]):
            res = jaxgd.sweep(fns2.himmelblau, grid_starts(((-5, 5), (-5, 5)), 8), rates, [20])
            fig = plotting.plot_basin_maps(res, minima)
            fig.savefig(io.BytesIO(), format="png")
            footer = next(t for t in fig.texts if t.get_text().startswith("computed in"))
            title = fig._suptitle
            assert not title.get_window_extent().overlaps(footer.get_window_extent())
            plotting.close(fig)


def test_paths_footer_names_the_surfaces_float_and_paths_given_in_another():
    # float64 paths over a float32 surface were footed "computed in float64", and paths as
    # lists "computed in float32" under x64, whatever the surface was computed in.
    import jax

    path = [[0.0, 0.0], [1.0, 0.5], [2.0, 1.0]]
    domain = ((-2, 2), (-2, 2))
    cases = [
        (False, np.asarray([path], np.float64), "computed in float32 (paths: float64)"),
        (False, np.asarray([path], np.float32), "computed in float32"),
        (True, [path], "computed in float64"),
        (True, np.asarray([path], np.float32), "computed in float64 (paths: float32)"),
    ]
    for x64, paths, footer in cases:
        with jax.enable_x64(x64):
            fig = plotting.plot_paths(fns2.saddle, domain, paths)
        assert fig.texts[0].get_text() == footer
        plotting.close(fig)


def _log_of_x(p):
    return jnp.log(p[0]) + p[1] ** 2  # NaN for x < 0


@pytest.mark.parametrize("f", [_log_of_x, fns2.himmelblau], ids=["nan", "finite"])
def test_paths_hatch_and_name_where_f_is_not_finite(f):
    # contourf left the half-plane x < 0 blank, white as paper, and nothing said why.
    from matplotlib.contour import ContourSet

    from jaxgd.plotting.surfaces import NOT_FINITE, NOT_FINITE_HATCH

    path = np.array([[1.0, 1.0], [0.5, 0.5]])
    fig = plotting.plot_paths(f, ((-2, 2), (-2, 2)), [path], num=41)
    ax = fig.axes[0]
    hatched = [
        c for c in ax.collections if isinstance(c, ContourSet) and NOT_FINITE_HATCH in c.hatches
    ]
    named = NOT_FINITE in _legend_texts(ax)
    if f is _log_of_x:
        (layer,) = hatched
        assert named
        # The hatched band is where f is not finite: levels 0.5..1.5 of the 0/1 mask.
        np.testing.assert_array_equal(layer.levels, [0.5, 1.5])
        (x0, x1), _ = (np.sort(v) for v in layer.get_paths()[0].get_extents().get_points().T)
        assert x0 == pytest.approx(-2.0) and x1 <= 0.0 + 4 / 40
    else:
        assert hatched == [] and not named
    plotting.close(fig)


def _bowl_off_the_map(p):
    return (p[0] - 3.0) ** 2 + p[1] ** 2


def test_paths_legend_says_which_minima_lie_outside_the_map(saddle_minima):
    # The window y in (0.2, 2) holds the minimum at (0, 1) only: a reader looking for the
    # star of (0, -1) must learn from the legend that it is not drawn.
    paths = np.array([[[1.0, 1.5], [0.5, 1.2], [0.0, 1.0]]])
    fig = plotting.plot_paths(fns2.saddle, ((-2, 2), (0.2, 2)), paths, minima=saddle_minima)
    assert _legend_texts(fig.axes[0])[-1] == "global minimum (1 of 2 outside the map)"
    plotting.close(fig)
    fig = plotting.plot_paths(fns2.saddle, ((-2, 2), (-2, 2)), paths, minima=saddle_minima)
    assert _legend_texts(fig.axes[0])[-1] == "global minimum"
    plotting.close(fig)
    one = MinimaND.at(fns2.saddle, [(0.0, -1.0)])
    fig = plotting.plot_paths(fns2.saddle, ((-2, 2), (0.2, 2)), paths, minima=one)
    assert _legend_texts(fig.axes[0])[-1] == "global minimum (outside the map)"
    plotting.close(fig)


def test_basin_maps_name_a_minimum_reached_outside_the_map():
    starts = grid_starts([(-2, 2), (-1, 1)], 5)
    m = MinimaND.at(_bowl_off_the_map, [(3.0, 0.0)])
    fig, ax = plt.subplots()
    handles = plotting.basin_map(ax, starts, np.zeros(len(starts), int), m)
    assert [h.get_label() for h in handles] == [
        "global minimum (3, 0), outside the map: 25 of 25 starts"
    ]
    plotting.close(fig)
    res = jaxgd.sweep(_bowl_off_the_map, starts, [0.1, 0.2], [200])
    fig = plotting.plot_basin_maps(res, m)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "global minimum (3, 0), outside the maps"
    ]
    plotting.close(fig)
    inside = MinimaND.at(fns2.saddle, [(0.0, 1.0)])
    fig, ax = plt.subplots()
    handles = plotting.basin_map(ax, starts, np.zeros(len(starts), int), inside)
    assert [h.get_label() for h in handles] == ["global minimum (0, 1): 25 of 25 starts"]
    plotting.close(fig)


def _tiny_bowl(p):
    return (p[0] * 1e3) ** 2 + (p[1] * 1e3 - 0.2) ** 2


def test_basin_map_of_tiny_starts_has_short_ticks_and_its_whole_title():
    # Starts within 0.001: the x tick labels (-0.00100, -0.00075, ...) ran into each other;
    # labelled with a power of ten instead, the title raised over it ran off the figure.
    starts = grid_starts([(-1e-3, 1e-3), (-1e-3, 1e-3)], 10)
    m = MinimaND.at(_tiny_bowl, [(0.0, 2e-4)])
    fig = plotting.plot_basin_map(jaxgd.sweep(_tiny_bowl, starts, [1e-7], [100]), m)
    fig.savefig(io.BytesIO(), format="png")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    assert ax.title.get_window_extent(renderer).y1 <= fig.bbox.height
    boxes = sorted(
        (t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()),
        key=lambda b: b.x0,
    )
    assert all(a.x1 <= b.x0 for a, b in itertools.pairwise(boxes))
    plotting.close(fig)
