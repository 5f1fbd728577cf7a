"""jaxgd.plotting: what each figure draws, checked on the artists, not by eye."""

from __future__ import annotations

import io
import itertools
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import to_hex

import jaxgd
from jaxgd import plotting
from jaxgd.analysis import downhill_minimum, global_minima
from jaxgd.functions import notebook
from jaxgd.minima import find_minima, find_minima_reached
from jaxgd.plotting._common import _GLOBAL_COLORS, _describe_minimum, _edges, _minimum_colors
from tests.reference_functions import REFERENCE

NB_MIN = (-1.42887, 4.30580)  # the notebook's stationary minima, from the functions docs


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def nb_minima():
    return find_minima(notebook, -2 * np.pi, 2 * np.pi)


def test_importing_plotting_and_cli_does_not_import_matplotlib():
    code = "import sys, jaxgd, jaxgd.plotting, jaxgd.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- helpers ---------------------------------------------------------------------------------


def test_color_limits():
    data = np.r_[np.linspace(0.0, 1.0, 99), 1e6, np.nan, -np.inf]
    lo, hi = plotting.color_limits(data)
    assert (lo, hi) == pytest.approx(np.percentile(np.r_[np.linspace(0, 1, 99), 1e6], [2, 98]))
    assert hi < 1.0  # the outlier does not set the top
    assert plotting.color_limits(data, robust=False) == (0.0, 1e6)
    assert plotting.color_limits(data, vmin=-1.45, vmax=-1.2) == (-1.45, -1.2)
    assert plotting.color_limits(data, vmax=0.5)[1] == 0.5
    lo, hi = plotting.color_limits([2.0, 2.0])
    assert lo < 2.0 < hi
    assert plotting.color_limits([np.nan]) == (0.0, 1.0)
    with pytest.raises(ValueError, match="vmin must be below vmax"):
        plotting.color_limits(data, vmin=1.0, vmax=1.0)


def test_robust_colour_limits_leave_a_small_sweep_whole():
    # The 2nd and 98th percentiles of 4 values lie inside the gaps next to the min and max:
    # they left out no value, but cut the extremes' colours and put arrows on the colour bar
    # for values that are on the map.
    assert plotting.color_limits([3.0, 1.0, 4.0, 2.0]) == (1.0, 4.0)
    assert plotting.color_limits(np.linspace(0.0, 1.0, 50)) == (0.0, 1.0)
    lo, hi = plotting.color_limits(np.linspace(0.0, 1.0, 51))  # 2%: one value left out
    assert 0.0 < lo <= 0.02 and 0.98 <= hi < 1.0
    res = jaxgd.sweep(notebook, 0.0, [0.01, 0.05], [10, 100])
    fig = plotting.plot_heatmap(res)
    final = np.asarray(res.final, np.float64)
    mesh = _mesh(fig.axes[0])
    assert mesh.get_clim() == (final.min(), final.max())
    assert fig.axes[1]._colorbar.extend == "neither"
    plotting.close(fig)


# -- figures ---------------------------------------------------------------------------------


def test_plot_function_marks_the_point_on_f_and_autodiff_f_prime():
    ref = REFERENCE["notebook"]
    fig = plotting.plot_function(notebook, (-2 * np.pi, 2 * np.pi), points=[-1.2], start=3.0)
    ax = fig.axes[0]
    f_line, df_line = ax.lines[1], ax.lines[2]  # after the zero line
    x = f_line.get_xdata()
    assert len(x) == 401
    assert (x[0], x[-1]) == pytest.approx((-2 * np.pi, 2 * np.pi))
    np.testing.assert_allclose(f_line.get_ydata(), ref.f(x), atol=1e-5)
    np.testing.assert_allclose(df_line.get_ydata(), ref.df(x), atol=1e-5)
    marks = next(line for line in ax.lines if line.get_label() == "minimum found")
    np.testing.assert_allclose(marks.get_ydata(), [ref.f(-1.2), ref.df(-1.2)], atol=1e-6)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["f(x)", "f'(x) (autodiff)", "start", "minimum found"]
    assert ax.get_xlabel() == "x"


def _nan_past_2(x):
    return jnp.where(x > 2.0, jnp.nan, notebook(x))


def _overflows_past_9(x):
    return jnp.exp(x**2)  # beyond float32 for |x| > 9.4


@pytest.mark.parametrize(
    ("f", "domain", "where"),
    [(_nan_past_2, (-5.0, 5.0), [(2.0, 5.0)]), (_overflows_past_9, (-30.0, 30.0), None)],
    ids=["nan", "overflow"],
)
def test_plot_function_shades_and_names_where_f_is_not_finite(f, domain, where):
    # The curves stopped at x = 2 (or 9.4) and the figure said nothing of why.
    from matplotlib.patches import Rectangle

    fig = plotting.plot_function(f, domain, num=601)
    ax = fig.axes[0]
    x = np.linspace(*domain, 601)
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(np.asarray(f(jnp.asarray(x, jnp.float32))))
    shades = [p for p in ax.patches if isinstance(p, Rectangle)]
    spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in shades)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "f not finite (NaN or ±inf)" in labels
    # Every point where f is not finite is shaded, and no point where it is.
    inside = np.zeros_like(bad)
    for a, b in spans:
        inside |= (a <= x) & (x <= b)
    assert inside[bad].all() and (~bad & inside).sum() <= 2 * len(spans)  # halfway edges only
    if where is not None:
        assert [(round(a, 1), b) for a, b in spans] == where
    plt.close(fig)


def test_plot_function_shades_nothing_where_f_is_finite():
    fig = plotting.plot_function(notebook, (-5.0, 5.0))
    assert not fig.axes[0].patches
    assert "f not finite (NaN or ±inf)" not in [
        t.get_text() for t in fig.axes[0].get_legend().get_texts()
    ]
    plt.close(fig)


def test_plot_function_refuses_a_num_that_draws_nothing():
    # num=0 and num=1 made a figure with no curve and said nothing; 50.5 failed in jnp.
    for num, error in ((0, ValueError), (1, ValueError), (50.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="num must be"):
            plotting.plot_function(notebook, (-6.0, 6.0), num=num)
    fig = plotting.plot_function(notebook, (-6.0, 6.0), num=np.int64(2))
    assert len(fig.axes[0].get_lines()[1].get_xdata()) == 2
    plotting.close(fig)


def test_plot_function_widens_to_show_a_point_outside_the_domain():
    fig = plotting.plot_function(notebook, (-1.0, 1.0), points=[3.0])
    lo, hi = fig.axes[0].get_xlim()
    assert lo == -1.0
    assert hi > 3.0


def test_plot_final_colours_and_counts_each_minimum(nb_minima):
    starts = np.linspace(-5, 5, 21)
    res = jaxgd.sweep(notebook, starts, 0.1, 2000).squeeze()
    fig = plotting.plot_final(res, minima=nb_minima, tol=1e-3)
    ax = fig.axes[0]
    final = np.asarray(res.final)
    n_global = int((np.abs(final - NB_MIN[0]) <= 1e-3).sum())
    n_local = int((np.abs(final - NB_MIN[1]) <= 1e-3).sum())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert (
        labels[0]
        == f"global minimum x = -1.4289: {n_global} of 21 runs go here, {n_global} within 0.001"
    )
    assert (
        labels[1]
        == f"local minimum x = 4.3058: {n_local} of 21 runs go here, {n_local} within 0.001"
    )
    assert n_global > 0 and n_local > 0
    assert ax.get_xlabel() == "Starting guess x₀"
    assert ax.get_ylabel() == "Final guess x"
    assert ax.get_title() == "Final guess at learning rate 0.1, after 2000 epochs"


def test_plot_final_marks_diverged_runs_on_the_axis():
    res = jaxgd.sweep(lambda x: x**4, 3.0, jnp.array([0.001, 0.01, 1.0, 2.0]), 50).squeeze()
    assert int(res.diverged.sum()) == 2
    fig = plotting.plot_final(res)
    crosses = [line for line in fig.axes[0].lines if line.get_label().startswith("diverged")]
    assert crosses[0].get_label() == "diverged (2 of 4 runs)"
    np.testing.assert_allclose(crosses[0].get_xdata(), [1.0, 2.0])
    assert fig.axes[0].get_xlabel() == "Learning rate"


def test_plot_final_draws_a_run_at_rate_0_whole():
    # The rate axis starts at 0 (no negative rates): the run there sits on the spine, and its
    # square was clipped to a half. Every run's square is drawn unclipped, inside the limits.
    rates = np.linspace(0.0, 0.1, 6)
    res = jaxgd.sweep(notebook, -1.2, rates, 100).squeeze()
    fig = plotting.plot_final(res, minima=find_minima(notebook, -6.0, 6.0), f=notebook)
    ax = fig.axes[0]
    squares = [line for line in ax.lines if line.get_marker() == "s" and len(line.get_xdata())]
    assert all(not line.get_clip_on() for line in squares)
    # No empty line of squares, unclipped, stretched the saved figure's box to (0, 0).
    assert fig.get_tightbbox().x0 > 0.1
    drawn = np.concatenate([line.get_xdata() for line in squares])
    assert ax.get_xlim()[0] == 0.0 == drawn.min()
    y = np.concatenate([line.get_ydata() for line in squares])
    lo, hi = ax.get_ylim()
    assert lo <= y.min() and y.max() <= hi  # unclipped, but inside the axes all the same
    plotting.close(fig)
    # A run far beyond the y axis (marked on its edge) keeps no square out there: unclipped,
    # it was drawn far above the axes, and the saved figure grew to hold it.
    res = jaxgd.sweep(notebook, 0.0, np.linspace(1e-10, 0.1, 50), 1000).squeeze()
    fig = plotting.plot_final(res, minima=find_minima(notebook, -6.0, 6.0), f=notebook)
    ax = fig.axes[0]
    (lo, hi), height = ax.get_ylim(), fig.get_size_inches()[1]
    assert float(res.final[0]) > hi  # the rate of 1e-10 barely moved from 0
    for line in ax.lines:
        if line.get_marker() == "s":
            assert np.all((lo <= line.get_ydata()) & (line.get_ydata() <= hi))
    assert fig.get_tightbbox().height < 1.2 * height and fig.get_tightbbox().x0 > 0.1
    plotting.close(fig)
    # A minimum no run arrived at has an empty line of filled squares: unclipped, its extent
    # sat at the figure's corner and the saved figure grew a blank margin down to it.
    res = jaxgd.sweep(notebook, np.linspace(-5, 5, 50), 0.01, 1000).squeeze()
    minima = find_minima_reached(notebook, res.final, (-2 * np.pi, 2 * np.pi))
    fig = plotting.plot_final(res, minima=minima, f=notebook, tol=1e-3)
    assert any(line.get_marker() == "s" and not len(line.get_xdata()) for line in fig.axes[0].lines)
    assert fig.get_tightbbox().x0 > 0.1
    plotting.close(fig)


def test_plot_final_needs_one_axis():
    res = jaxgd.sweep(notebook, [0.0, 1.0], [0.1, 0.2], 10)
    with pytest.raises(ValueError, match="exactly one axis longer than 1"):
        plotting.plot_final(res)


def _example_of(error: pytest.ExceptionInfo) -> str:
    (example,) = re.findall(r"res\.sel\([^)]*\)", str(error.value))
    return example


def test_the_selections_errors_suggest_are_coordinates_of_the_result():
    # The examples were fixed text, res.sel(start=0.0) and res.sel(learning_rate=0.01,
    # epochs=1000), which these coordinates lack: doing as told raised a KeyError. Values in
    # 6 digits (momentum=0.366667) missed a float32 coordinate too.
    res = jaxgd.sweep(notebook, [-2.0, 1.0, 2.5], [0.05, 0.1, 0.2], [20, 200])
    with pytest.raises(ValueError, match="pick one start first") as error:
        plotting.plot_heatmap(res)
    assert _example_of(error) == "res.sel(start=-2)"
    plotting.close(plotting.plot_heatmap(eval(_example_of(error))))
    for r in (res, res.isel(start=0)):
        with pytest.raises(ValueError, match="exactly one axis longer than 1") as error:
            plotting.plot_final(r)
        plotting.close(plotting.plot_final(eval(_example_of(error), {"res": r})))
    with pytest.raises(ValueError, match="holds one run, so there is nothing to plot against"):
        plotting.plot_final(res.isel(start=[0], learning_rate=[0], epochs=[0]))
    values = np.linspace(0.1, 0.9, 4)[::-1].copy()  # the first is 0.9, the second 0.6333333
    for v in (values[1:], values[2:]):
        c = jaxgd.SweepResult(
            np.zeros((v.size, 1, 2, 2), np.float32), np.zeros((v.size, 1, 2, 2), np.float32),
            np.zeros((v.size, 1, 2, 2), bool), [0.0], [0.1, 0.2], [10, 20],
            dims=("momentum", "start", "learning_rate", "epochs"),
            coords={"momentum": v.astype(np.float32)},
        )  # fmt: skip
        with pytest.raises(ValueError, match="Select one value of each first") as error:
            plotting.plot_heatmap(c)
        plotting.close(plotting.plot_heatmap(eval(_example_of(error), {"res": c})))


def _mesh(ax):
    (mesh,) = ax.collections
    return mesh


def test_plot_heatmap_draws_final_with_rate_on_x_and_epochs_on_y():
    rates = np.linspace(1e-10, 0.1, 5)
    epochs = np.array([10, 40, 70, 100])
    res = jaxgd.sweep(notebook, 0.0, rates, epochs)
    fig = plotting.plot_heatmap(res)
    ax, cax = fig.axes
    image = _mesh(ax).get_array()
    np.testing.assert_allclose(image.reshape(4, 5), np.asarray(res.final)[0].T)
    lo, hi = plotting.color_limits(res.final)
    assert _mesh(ax).get_clim() == pytest.approx((lo, hi))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Learning rate", "Training epochs")
    assert cax.get_ylabel() == "Final guess x"
    ylo, yhi = ax.get_ylim()
    assert ylo < 10 < 100 < yhi  # origin lower: few epochs at the bottom
    assert ax.get_title() == "Final guess from x₀ = 0"
    assert ax.get_legend() is None  # nothing diverged


def test_plot_heatmap_outlines_the_cells_that_reached_the_target():
    res = jaxgd.sweep(notebook, 0.0, np.linspace(0.01, 0.1, 4), np.array([20, 100, 300]))
    fig = plotting.plot_heatmap(res, target=NB_MIN[0], tol=1e-3)
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # the map and the outline
    inside = np.abs(np.asarray(res.final)[0] - NB_MIN[0]) <= 1e-3
    assert inside.any() and not inside.all()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["within 0.001 of x = -1.4289"]
    fig.canvas.draw()  # under the axes: inside, it hid the lowest rows, the fewest epochs
    assert ax.get_legend().get_window_extent().y1 < ax.get_window_extent().y0
    # No cell got there: no line, and the legend says so (target= was not ignored).
    fig = plotting.plot_heatmap(res, target=100.0)
    assert len(fig.axes[0].collections) == 1
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["within 0.001 of x = 100: no cell"]


def _cell_sides(inside, xe, ye):
    """Each side of a cell inside that borders a cell outside or the grid's edge."""
    sides = set()
    nx, ny = inside.shape
    for i, j in zip(*np.nonzero(inside), strict=True):
        for di, dj, side in (
            (-1, 0, ((xe[i], ye[j]), (xe[i], ye[j + 1]))),
            (1, 0, ((xe[i + 1], ye[j]), (xe[i + 1], ye[j + 1]))),
            (0, -1, ((xe[i], ye[j]), (xe[i + 1], ye[j]))),
            (0, 1, ((xe[i], ye[j + 1]), (xe[i + 1], ye[j + 1]))),
        ):
            a, b = i + di, j + dj
            if not (0 <= a < nx and 0 <= b < ny and inside[a, b]):
                sides.add(tuple(map(tuple, np.round(side, 12))))
    return sides


@pytest.mark.parametrize("seed", range(4))
def test_plot_heatmap_outline_runs_along_the_cells_edges(seed):
    # The outline encloses whole cells: a side of a cell is drawn exactly when the cell is
    # inside and its neighbour there is not (or the grid ends), on any grid, even all inside.
    rng = np.random.default_rng(seed)
    rates = np.sort(rng.uniform(0.0, 0.2, 6))
    counts = np.sort(rng.choice(np.arange(1, 400), 5, replace=False))
    res = jaxgd.sweep(notebook, 0.0, rates, counts)
    final = np.asarray(res.final)[0]
    target = float(final.ravel()[rng.integers(final.size)])
    tol = float(rng.choice([1e-3, 0.2, 10.0]))  # 10: every cell inside
    ax = plotting.plot_heatmap(res, target=target, tol=tol).axes[0]
    inside = np.abs(final - target) <= tol
    (outline,) = ax.collections[1:]
    drawn = {tuple(map(tuple, np.round(seg, 12))) for seg in outline.get_segments()}
    xe = _edges(np.unique(np.asarray(res.learning_rates, np.float64)), floor=0.0)
    ye = _edges(np.unique(np.asarray(res.epochs, np.float64)), floor=0.0)
    assert drawn == _cell_sides(inside, xe, ye)
    assert len(outline.get_segments()) == len(drawn)  # each side once


def test_plot_heatmap_order_of_axes_does_not_change_the_picture():
    rates = np.array([0.05, 0.1, 0.01])
    epochs = np.array([100, 10, 50])
    shuffled = plotting.plot_heatmap(jaxgd.sweep(notebook, 0.0, rates, epochs))
    ordered = plotting.plot_heatmap(jaxgd.sweep(notebook, 0.0, np.sort(rates), np.sort(epochs)))
    np.testing.assert_allclose(
        _mesh(shuffled.axes[0]).get_array(), _mesh(ordered.axes[0]).get_array()
    )


def test_plot_heatmap_greys_out_diverged_cells_and_honours_limits():
    res = jaxgd.sweep(lambda x: 2.0 * (x - 1.0) ** 2, 0.0, [0.1, 0.3, 0.9], [50, 2000])
    # At rate 0.9 each step multiplies x - 1 by -2.6: after 50 steps x is still a float32,
    # f(x) is not; after 2000 x is not either. Both runs diverged.
    final, value = np.asarray(res.final)[0, 2], np.asarray(res.value)[0, 2]
    assert np.isfinite(final[0]) and not np.isfinite(value[0]) and not np.isfinite(final[1])
    fig = plotting.plot_heatmap(res, vmin=-1.0, vmax=2.0)
    ax = fig.axes[0]
    image = _mesh(ax).get_array()
    assert int(np.ma.getmaskarray(image).sum()) == 2
    assert _mesh(ax).get_clim() == (-1.0, 2.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["diverged (2 cells)"]


def test_plot_heatmap_needs_one_start():
    res = jaxgd.sweep(notebook, [0.0, 1.0], [0.1, 0.2], [1, 2])
    with pytest.raises(ValueError, match="one start"):
        plotting.plot_heatmap(res)


def test_plot_lines_one_line_per_epoch_count(nb_minima):
    rates = np.linspace(1e-10, 0.1, 6)
    epochs = np.array([300, 10, 100])
    res = jaxgd.sweep(notebook, 0.0, rates, epochs)
    fig = plotting.plot_lines(res, minima=nb_minima)
    ax, cax = fig.axes
    curves = [line for line in ax.lines if len(line.get_xdata()) == rates.size]
    assert len(curves) == 3
    final = np.asarray(res.final)[0]
    for line, k in zip(curves, np.argsort(epochs), strict=True):  # drawn by epoch count
        np.testing.assert_allclose(line.get_ydata(), final[:, k])
    assert cax.get_ylabel() == "Training epochs (one line each)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["global minimum x = -1.4289"]


def test_plot_random_starts_three_maps():
    rates, epochs = np.array([0.01, 0.1]), np.array([10, 20, 30])
    rng = np.random.default_rng(0)
    fig = plotting.plot_random_starts(
        rng.normal(size=(2, 3)),
        rng.uniform(size=(2, 3)),
        np.full((2, 3), np.nan),
        rates,
        epochs,
        repeats=7,
        global_x=-1.42887,
        tol=1e-3,
        suptitle="demo",
    )
    assert len(fig.axes) == 6  # three maps, three colour bars
    maps = fig.axes[:3]
    assert maps[0].get_title().startswith("The notebook's version")
    assert _mesh(maps[1]).get_clim() == (0.0, 1.0)
    assert "Share of the 7 starts within 0.001 of x* = -1.4289" in fig.axes[4].get_ylabel()
    assert [t.get_text() for t in maps[2].get_legend().get_texts()] == ["all diverged (6 cells)"]


# -- convergence and derivative check --------------------------------------------------------


def _cells_drawn(ax):
    """Per collection of ``ax``, the boolean mask (start, rate) of the cells it fills."""
    return [~np.ma.getmaskarray(c.get_array()) for c in ax.collections]


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_convergence_maps_epochs_and_marks_the_rest():
    # (x - 1)^2 * 2: curvature 4, so rates above 0.5 diverge and rate 1e-10 never moves.
    f = lambda x: 2.0 * (x - 1.0) ** 2
    starts, rates = np.array([2.0, -1.0, 0.0]), np.array([0.1, 1e-10, 0.6, 0.3])
    conv = jaxgd.convergence(f, starts, rates, 300, tol=1e-3)
    minima = find_minima(f, -3.0, 3.0)
    fig = plotting.plot_convergence(conv, minima=minima, title="demo")
    epochs_ax, basins_ax, cbar = fig.axes
    assert fig.get_suptitle() == "demo"
    assert (epochs_ax.get_xlabel(), epochs_ax.get_ylabel()) == (
        "Learning rate",
        "Starting guess x₀",
    )
    assert cbar.get_ylabel() == "Epochs to converge (within 0.001)"

    # Drawn with both axes ascending: starts on y (rows), rates on x (columns).
    si, ri = np.argsort(starts), np.argsort(rates)
    epoch = np.asarray(conv.epoch)[np.ix_(si, ri)]
    diverged = np.abs(1.0 - 4.0 * rates[ri]) > 1.0  # the step multiplies x - 1 by 1 - 4 rate
    moved = rates[ri] > 1e-3
    settled = np.broadcast_to(moved & ~diverged, epoch.shape)
    mesh, unsettled, _ = epochs_ax.collections
    drawn = ~np.ma.getmaskarray(mesh.get_array())
    np.testing.assert_array_equal(drawn, settled)
    np.testing.assert_array_equal(mesh.get_array()[drawn], epoch[settled])
    assert unsettled.get_hatch() == "////"
    np.testing.assert_array_equal(
        _cells_drawn(epochs_ax)[1:], [~settled & ~diverged, np.broadcast_to(diverged, epoch.shape)]
    )
    assert _legend(epochs_ax) == [
        "settled at a minimum: colour (6 of 12)",
        "not settled at a minimum within 300 epochs (3 of 12)",
        "diverged (3 of 12)",
    ]
    assert _legend(basins_ax) == [
        "global minimum x = 1 (6 of 12)",
        "within 0.001 of no minimum (3 of 12)",
        "diverged (3 of 12)",
    ]


def test_plot_convergence_without_minima_is_one_map_of_converged(nb_minima):
    conv = jaxgd.convergence(notebook, [0.0, 1.6, -3.0], [0.01, 0.1], 3000, tol=1e-4)
    fig = plotting.plot_convergence(conv, log=False)
    ax, _ = fig.axes
    mesh = ax.collections[0]
    np.testing.assert_array_equal(mesh.get_array().data, np.asarray(conv.epoch)[[2, 0, 1]])
    assert mesh.norm.vmin == 92 and mesh.norm.vmax == 2158  # linear, from the data
    assert _legend(ax)[0] == "settled: colour (6 of 6)"


def test_plot_convergence_refuses_a_sweep_by_name_with_what_to_run(tmp_path):
    # A sweep (the convergence experiment saves one, and jaxgd.load gives one back) failed
    # with AttributeError: 'SweepResult' object has no attribute 'tol'.
    res = jaxgd.load(jaxgd.sweep(notebook, [0.0, 1.6], [0.01, 0.1], 300).save(tmp_path / "r"))
    with pytest.raises(
        TypeError,
        match=r"conv must be a jaxgd.Convergence; got SweepResult.*"
        r"jaxgd.convergence\(f, res.starts, res.learning_rates, epochs\)",
    ):
        plotting.plot_convergence(res)
    with pytest.raises(TypeError, match=r"got dict: pass the result of jaxgd.convergence"):
        plotting.plot_convergence({"epoch": np.zeros((2, 2))})
    assert not plt.get_fignums()


def test_plot_derivative_check_draws_both_derivatives_the_error_and_the_ends():
    from jaxgd.derivative import check_derivative

    ref = REFERENCE["notebook"]
    wrong = lambda x: np.cos(x) * np.exp(-0.05 * x**2)  # the whole second term dropped
    check = check_derivative(notebook, wrong, -2 * np.pi, 2 * np.pi, num=301)
    explain = ("the dropped term", lambda x: 0.1 * x * np.sin(x) * np.exp(-0.05 * x**2))
    fig = plotting.plot_derivative_check(
        check, notebook, given_label="cos only", given_end=-1.6, autodiff_end=-1.43,
        start=0.0, explain=explain,
    )  # fmt: skip
    top, bottom = fig.axes
    x = np.asarray(check.x)  # the grid and two points in every cell between
    np.testing.assert_allclose(x[::3], np.linspace(-2 * np.pi, 2 * np.pi, 301))
    lines = {line.get_label(): line for line in top.lines}
    np.testing.assert_allclose(lines["f(x)"].get_ydata(), ref.f(x), atol=1e-12)
    np.testing.assert_allclose(lines["f'(x) from autodiff"].get_ydata(), ref.df(x), atol=1e-12)
    np.testing.assert_allclose(lines["cos only"].get_ydata(), wrong(x), atol=1e-12)
    given = lines["descent with cos only ends at x = -1.6"]
    np.testing.assert_allclose(given.get_ydata()[0], ref.f(-1.6), atol=1e-12)
    assert "descent with autodiff ends at x = -1.43" in lines
    bad = int((np.abs(wrong(x) - ref.df(x)) > 1e-9 + 1e-6 * np.abs(ref.df(x))).sum())
    assert top.get_title() == (
        f"Given derivative (cos only) against autodiff:\ndisagree at {bad} of {x.size} points, "
        f"max |error| {check.max_error:.3g}"
    )
    error, dropped = (line for line in bottom.lines if not line.get_label().startswith("_"))
    np.testing.assert_allclose(error.get_ydata(), wrong(x) - ref.df(x), atol=1e-12)
    assert dropped.get_label() == "the dropped term"
    np.testing.assert_allclose(dropped.get_ydata(), wrong(x) - ref.df(x), atol=1e-12)
    assert bottom.get_ylabel() == "given - autodiff"


def _log_past_minus_2(x):
    """log(x + 2), NaN below -2, where grad through the jnp.where is 0."""
    inside = x > -2.0
    return jnp.where(inside, jnp.log(jnp.where(inside, x + 2.0, 1.0)), jnp.nan)


def _d_log_past_minus_2(x):
    """Its derivative by hand, NaN below -2."""
    return np.where(x > -2.0, 1.0 / np.maximum(x + 2.0, 1e-300), np.nan)


def test_plot_derivative_check_shades_where_f_is_not_finite_and_compares_the_rest():
    from matplotlib.patches import Rectangle

    from jaxgd.derivative import check_derivative

    check = check_derivative(_log_past_minus_2, _d_log_past_minus_2, -4.0, 4.0, num=81)
    fig = plotting.plot_derivative_check(check, _log_past_minus_2, given_label="df")
    top, bottom = fig.axes
    outside = check.x <= -2.0
    title = top.get_title()
    # Agreement where f is finite; the points outside its domain are counted apart, and
    # never called "not finite" as if an error were.
    assert title == (
        f"Given derivative (df) against autodiff:\nagree at all {(~outside).sum()} points where "
        f"f is finite, max |error| 0\n{outside.sum()} points outside f's domain (shaded) not "
        "compared"
    )
    lines = {line.get_label(): line for line in top.lines}
    for label in ("f'(x) from autodiff", "df"):
        y = np.asarray(lines[label].get_ydata(), np.float64)
        assert np.isnan(y[outside]).all() and np.isfinite(y[~outside]).all()
    error = next(line for line in bottom.lines if line.get_label() == "df - autodiff")
    assert np.isnan(np.asarray(error.get_ydata(), np.float64)[outside]).all()
    for ax in (top, bottom):
        (shade,) = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_label()[0] != "_"]
        left, right = shade.get_x(), shade.get_x() + shade.get_width()
        last = np.flatnonzero(outside)[-1]
        assert left == -4.0 and right == pytest.approx(0.5 * (check.x[last] + check.x[last + 1]))
    plt.close(fig)


def _inside_figure(fig, text):
    """Whether ``text`` is drawn whole within ``fig`` (a title cut at the edges is not)."""
    fig.canvas.draw()
    box, frame = text.get_window_extent(), fig.bbox
    return frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1


def _twice_the_derivative(x):
    """A wrong derivative of :func:`_log_past_minus_2`: twice the right one, NaN below -2."""
    return 2.0 * _d_log_past_minus_2(x)


_LONG_LABEL = "df by hand from the course notes (cell 4, the factor x of the second term restored)"


@pytest.mark.parametrize("label", ["given f'", _LONG_LABEL])
def test_plot_derivative_check_title_fits_in_the_figure(label):
    # A disagreement where f is partly not finite: one line of the title held the verdict, the
    # error and the points not compared, and ran past both edges of the figure ("gree at ...").
    from jaxgd.derivative import check_derivative

    check = check_derivative(_log_past_minus_2, _twice_the_derivative, -4.0, 4.0, num=81)
    fig = plotting.plot_derivative_check(check, _log_past_minus_2, given_label=label)
    title = fig.axes[0].title
    assert "disagree at" in title.get_text() and "not compared" in title.get_text()
    assert _inside_figure(fig, title)
    plt.close(fig)


# -- where runs are heading, minima outside the domain, shares, limits, scales, precision -----

_DOMAIN = (-2 * np.pi, 2 * np.pi)


def _runs(ax):
    """x of every run marker -> (face colour, edge colour), from the square markers."""
    from matplotlib.colors import to_rgba

    out = {}
    for line in ax.lines:
        if line.get_marker() != "s" or len(line.get_xdata()) == 0:
            continue
        for x in np.asarray(line.get_xdata(), np.float64):
            out[round(float(x), 6)] = (to_rgba(line.get_mfc()), to_rgba(line.get_mec()))
    return out


def _minimum_lines(ax):
    """y of every horizontal dashed line -> its colour."""
    from matplotlib.colors import to_rgba

    return {
        round(float(line.get_ydata()[0]), 4): to_rgba(line.get_color())
        for line in ax.lines
        if line.get_linestyle() == "--" and len(set(line.get_ydata())) == 1
    }


@pytest.fixture(scope="module")
def start_location():
    """The start_location experiment: 50 starts in [-5, 5], rate 0.01, 1000 epochs."""
    res = jaxgd.sweep(notebook, jnp.linspace(-5, 5, 50), 0.01, 1000).squeeze()
    return res, find_minima_reached(notebook, res.final, _DOMAIN)


def test_plot_final_colours_each_run_by_the_minimum_it_heads_to(start_location):
    from matplotlib.colors import to_rgba

    res, minima = start_location
    fig = plotting.plot_final(res, minima=minima, tol=1e-3, f=notebook)
    ax = fig.axes[0]
    starts, final = np.asarray(res.starts, np.float64), np.asarray(res.final, np.float64)
    heading = downhill_minimum(notebook, final, minima)
    lines = _minimum_lines(ax)
    # A line for every minimum some run heads to, the one outside the domain included.
    assert sorted(lines) == [-7.2281, -1.4289, 4.3058]
    assert set(heading.tolist()) == {0, 1, 2}
    runs = _runs(ax)
    white = to_rgba("white")
    for x0, y, i in zip(starts, final, heading, strict=True):
        face, edge = runs[round(float(x0), 6)]
        color = lines[round(float(minima.x[i]), 4)]
        assert edge == color
        # Filled: within tol of the minimum; open: still on its way there.
        assert (face == color) == (abs(y - float(minima.x[i])) <= 1e-3)
        assert (face == white) == (abs(y - float(minima.x[i])) > 1e-3)
    # The right basin: 23 of 24 runs are on the way to 4.3058 and drawn in its colour.
    right = final > 2.0
    right_color = lines[4.3058]
    on_way = [
        runs[round(float(x0), 6)] == (white, right_color)
        for x0, y in zip(starts, final, strict=True)
        if y > 2.0
    ]
    assert sum(on_way) == len(on_way) - 1
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    n_right = int(right.sum())
    assert labels[:3] == [
        "global minimum x = -1.4289: 28 of 50 runs go here, 25 within 0.001",
        "local minimum x = -7.2281: 4 of 50 runs go here, 0 within 0.001",
        f"local minimum x = 4.3058: {n_right} of 50 runs go here, 1 within 0.001",
    ]
    assert labels[3:] == ["filled: within 0.001 of its minimum", "open: not within 0.001 of it"]


def test_plot_final_without_f_colours_only_the_runs_that_arrived(start_location):
    res, minima = start_location
    fig = plotting.plot_final(res, minima=minima, tol=1e-3)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "global minimum x = -1.4289: 25 of 50 runs go here, 25 within 0.001"
    assert "not within 0.001 of a minimum (24 of 50 runs)" in labels


def test_plot_final_draws_the_minimum_runs_reached_outside_the_domain():
    res = jaxgd.sweep(notebook, jnp.linspace(-5, 5, 50), 0.1, 1000).squeeze()
    minima = find_minima_reached(notebook, res.final, _DOMAIN)
    fig = plotting.plot_final(res, minima=minima, f=notebook)
    ax = fig.axes[0]
    lines = _minimum_lines(ax)
    assert -7.2281 in lines
    runs = _runs(ax)
    left = np.asarray(res.starts)[np.asarray(res.final) < _DOMAIN[0]]
    assert left.size == 4
    assert all(runs[round(float(x0), 6)] == (lines[-7.2281],) * 2 for x0 in left)
    assert "local minimum x = -7.2281: 4 of 50 runs go here, 4 within 0.001" in [
        t.get_text() for t in ax.get_legend().get_texts()
    ]


def _shares(final, tol=1e-3):
    at_global = np.abs(final - NB_MIN[0]) <= tol
    at_other = (np.abs(final - NB_MIN[1]) <= tol) | (np.abs(final - -7.228109) <= tol)
    return [a.mean(axis=0) for a in (at_global, at_other, ~at_global & ~at_other)]


def test_plot_random_starts_maps_where_the_starts_ended():
    starts = np.random.default_rng(1).uniform(-2 * np.pi, 2 * np.pi, 60)
    rates, epochs = np.array([0.01, 0.05, 0.1]), np.array([10, 100, 1000])
    res = jaxgd.sweep(notebook, starts, rates, epochs)
    minima = find_minima_reached(notebook, res.final, _DOMAIN)
    final = np.asarray(res.final, np.float64)
    fig = plotting.plot_random_starts(
        final[0],
        None,
        None,
        rates,
        epochs,
        repeats=60,
        global_x=NB_MIN[0],
        tol=1e-3,
        result=res,
        minima=minima,
    )
    maps = fig.axes[:4]
    expected = _shares(final)
    np.testing.assert_allclose(sum(expected), 1.0)
    for ax, share in zip(maps[1:], expected, strict=True):
        drawn = _mesh(ax).get_array().reshape(3, 3)  # (epochs, rates)
        np.testing.assert_allclose(drawn, share.T, atol=1e-12)
        assert _mesh(ax).get_clim() == (0.0, 1.0)
    assert maps[1].get_title() == "At the global minimum\nwithin 0.001 of x = -1.4289"
    assert maps[2].get_title().startswith("At another local minimum\nwithin 0.001 of x = ")
    assert maps[3].get_title() == "At no minimum\nstill on the way, bouncing, or diverged"
    assert fig.axes[5].get_ylabel() == "Share of the 60 starts"
    with pytest.raises(ValueError, match="result and minima together"):
        plotting.plot_random_starts(
            final[0], None, None, rates, epochs, repeats=60, global_x=0.0, tol=1e-3, result=res
        )
    # An axis to select is named on the argument it is on: result, not a 'res' it lacks.
    stacked = jaxgd.SweepResult(
        np.stack([final, final]), np.stack([final, final]), np.zeros((2, *final.shape), bool),
        starts, rates, epochs, dims=("param", "start", "learning_rate", "epochs"),
        coords={"param": np.array([0.5, 1.0])},
    )  # fmt: skip
    with pytest.raises(
        ValueError, match=r"but result also has .* e\.g\. result\.sel\(param=0\.5\)"
    ):
        plotting.plot_random_starts(
            final[0], None, None, rates, epochs, repeats=60, global_x=NB_MIN[0], tol=1e-3,
            result=stacked, minima=minima,
        )  # fmt: skip


def test_plot_random_starts_of_an_f_with_no_minimum_takes_no_global_x():
    # A line has no minimum to name: the shares' titles say so, and global_x may be empty.
    starts = np.linspace(-2.0, 2.0, 6)
    rates, epochs = np.array([0.01, 0.1]), np.array([10, 50])
    res = jaxgd.sweep(lambda x: x, starts, rates, epochs)
    minima = find_minima_reached(lambda x: x, res.final, (-2.0, 2.0))
    assert len(minima) == 0 or not np.any(~np.asarray(minima.at_boundary))
    final = np.asarray(res.final, np.float64)
    fig = plotting.plot_random_starts(
        final[0], None, None, rates, epochs, repeats=6, global_x=[], tol=1e-3, result=res,
        minima=minima,
    )  # fmt: skip
    assert fig.axes[1].get_title() == "At the global minimum\nwithin 0.001 of none found"
    np.testing.assert_array_equal(_mesh(fig.axes[3]).get_array(), 1.0)  # every start: none
    plotting.close(fig)
    with pytest.raises(ValueError, match="global_x is empty"):  # the older maps label it
        plotting.plot_random_starts(
            final[0], final[0], final[0], rates, epochs, repeats=6, global_x=[], tol=1e-3
        )


@pytest.mark.parametrize(
    ("f", "other"),
    [
        # Ten minima reached: their count and span, not a list that ran across the next title.
        (lambda x: jnp.sin(5 * x) + 0.1 * x**2, r"within 0\.001 of \d+ minima, x from -\S+ to \S+"),
        # One minimum in all: there is no other one to reach, which "none reached" hid.
        (lambda x: (x - 0.3) ** 2, "f has no other local minimum here"),
    ],
)
def test_plot_random_starts_titles_stay_short(f, other):
    starts = np.linspace(-6.0, 6.0, 40)
    rates, epochs = np.array([0.005, 0.01]), np.array([10, 500])
    res = jaxgd.sweep(f, starts, rates, epochs)
    minima = find_minima_reached(f, res.final, _DOMAIN)
    final = np.asarray(res.final, np.float64)
    fig = plotting.plot_random_starts(
        final[0], None, None, rates, epochs, repeats=40, global_x=float(minima.global_x),
        tol=1e-3, result=res, minima=minima,
    )  # fmt: skip
    head, detail = fig.axes[2].get_title().split("\n")
    assert head == "At another local minimum"
    assert re.fullmatch(other, detail), detail
    fig.canvas.draw()
    boxes = [ax.title.get_window_extent() for ax in fig.axes[:4]]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((lambda x: jnp.stack([x, x]),), {}, ValueError, "f must return a scalar"),
        ((lambda x: np.sin(x),), {}, TypeError, "write it with jax.numpy"),
        ((None,), {"explain": ("g", 3)}, TypeError, r"explain must be a pair \(label, g\)"),
        ((None,), {"explain": ("g", lambda x: 1 / 0)}, TypeError, "explain's g failed"),
        ((None,), {"explain": ("g", lambda x: x[:-1])}, ValueError, "one value per x"),
        ((None,), {"explain": ("g", lambda x: x + 1j)}, TypeError, "g must return real numbers"),
        ((None,), {"explain": ("g", lambda x: x > 0)}, TypeError, "g must return real numbers"),
        ((None,), {"start": "0"}, TypeError, "start must be a real number"),
        ((None,), {"given_end": "0"}, TypeError, "given_end must be a real number"),
    ],
)
def test_plot_derivative_check_refuses_bad_input_before_compiling(
    args, kwargs, error, match, compiles
):
    from jaxgd.derivative import check_derivative

    # f of its own each time (None: a new one here), with nothing compiled for it yet.
    f = args[0] if args[0] is not None else (lambda x: jnp.sin(x) * 2.0)
    check = check_derivative(jnp.sin, np.cos, -1.0, 1.0, num=11)
    with compiles, pytest.raises(error, match=match):
        plotting.plot_derivative_check(check, f, **kwargs)
    assert compiles.count == 0, compiles.names


def test_plot_derivative_check_compiles_nothing_the_second_time(compiles):
    from jaxgd.derivative import check_derivative

    def f(x):  # a function of its own: nothing compiled for it yet
        return jnp.sin(x) * jnp.exp(-0.05 * x**2)

    df = REFERENCE["notebook"].df
    check = check_derivative(f, df, -2.0, 2.0, num=21)
    plotting.plot_derivative_check(check, f, start=0.5, given_end=-1.5, autodiff_end=-1.4)
    plotting.plot_derivative_check(check, f, given_end=-1.5, autodiff_end=-1.4)
    moved = check_derivative(f, df, -3.0, 1.0, num=21)  # new values of the same shapes
    with compiles:
        fig = plotting.plot_derivative_check(moved, f, given_end=-1.0, autodiff_end=-1.2)
        plotting.plot_derivative_check(check, f, start=0.1, given_end=-1.0, autodiff_end=-1.2)
    assert compiles.count == 0, compiles.names
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    np.testing.assert_allclose(lines["f(x)"].get_ydata(), REFERENCE["notebook"].f(moved.x))
    end = lines["descent with given f' ends at x = -1"]
    np.testing.assert_allclose(end.get_ydata()[0], REFERENCE["notebook"].f(-1.0), rtol=1e-12)


def test_plot_derivative_check_names_a_check_that_is_not_one():
    with pytest.raises(TypeError, match="check must be a DerivativeCheck"):
        plotting.plot_derivative_check((np.zeros(3), np.zeros(3)), jnp.sin)


def test_plot_derivative_check_draws_where_f_and_the_runs_live():
    from jaxgd.derivative import check_derivative

    quartic = lambda x: x**4 - 3 * x**2 + x
    dquartic = lambda x: 4 * x**3 - 6 * x + 1
    spiky = lambda x: dquartic(x) + np.where(np.abs(x - 0.5) < 0.01, 1e6, 0.0)
    check = check_derivative(quartic, spiky, -2 * np.pi, 2 * np.pi)
    fig = plotting.plot_derivative_check(check, quartic, autodiff_end=-1.30084, start=0.0)
    top, bottom = fig.axes
    lo, hi = top.get_xlim()
    # Both minima (-1.30, 1.13) and the start are drawn; the walls up to 1500 are not.
    assert -3.0 < lo < -1.30084 and 1.1309 < hi < 3.0
    ylo, yhi = top.get_ylim()
    assert -100 < ylo < -3.514 and 0 < yhi < 100  # f's minimum -3.51 is in, 1e6 is not
    assert bottom.get_ylim()[1] < 1e5
    # f with no runs far from where it is large: the notebook's f keeps the whole grid.
    nb = check_derivative(notebook, REFERENCE["notebook"].df, -2 * np.pi, 2 * np.pi)
    fig = plotting.plot_derivative_check(nb, notebook, start=0.0, autodiff_end=-1.4288)
    assert fig.axes[0].get_xlim() == pytest.approx((-2 * np.pi, 2 * np.pi))


def _every_figure(x64_on):
    from jaxgd.derivative import check_derivative

    res = jaxgd.sweep(notebook, 0.0, [0.01, 0.1], [10, 100])
    starts = jaxgd.sweep(notebook, [-1.0, 0.0, 1.0], 0.1, 100).squeeze()
    many = jaxgd.sweep(notebook, [-1.0, 0.0, 1.0], [0.01, 0.1], [10, 100])
    minima = find_minima_reached(notebook, many.final, _DOMAIN)
    conv = jaxgd.convergence(notebook, [0.0, 1.0], [0.01, 0.1], 100)
    check = check_derivative(notebook, REFERENCE["notebook"].df, -3.0, 3.0, num=31)
    one = np.asarray(many.final)[0]
    return {
        "function": plotting.plot_function(notebook, _DOMAIN),
        "final": plotting.plot_final(starts, minima=minima, f=notebook),
        "heatmap": plotting.plot_heatmap(res),
        "lines": plotting.plot_lines(res, minima=minima),
        "random_starts": plotting.plot_random_starts(
            one,
            None,
            None,
            [0.01, 0.1],
            [10, 100],
            repeats=3,
            global_x=0.0,
            tol=1e-3,
            result=many,
            minima=minima,
        ),
        "convergence": plotting.plot_convergence(conv, minima=minima),
        "derivative_check": plotting.plot_derivative_check(check, notebook),
    }


@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
def test_every_figure_says_its_precision(x64_on):
    with jax.enable_x64(x64_on):
        figures = _every_figure(x64_on)
    for name, fig in figures.items():
        footers = [t.get_text() for t in fig.texts]
        # The derivative check always runs in float64, whatever the global setting.
        dtype = "float64" if x64_on or name == "derivative_check" else "float32"
        assert footers == [f"computed in {dtype}"], name


def _far_off(x):
    return (x - 1e6) ** 2


def _footer_clashes(fig):
    """The axes (ticks, offsets, labels, legends) that the precision footer is drawn over."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (footer,) = [t for t in fig.texts if t.get_text().startswith("computed in")]
    box = footer.get_window_extent(renderer)
    return [ax for ax in fig.axes if box.overlaps(ax.get_tightbbox(renderer))]


def test_no_figure_draws_over_its_footer():
    # x near 1e6: the x axis shows its ticks as an offset, "+1e6", drawn at the axes' lower
    # right, under "computed in float32".
    figures = {
        **_every_figure(False),
        "function far out": plotting.plot_function(_far_off, (1e6 - 1, 1e6 + 1)),
        "final far out": plotting.plot_final(
            jaxgd.sweep(_far_off, np.linspace(1e6 - 1, 1e6 + 1, 5), 0.1, 3).squeeze()
        ),
    }
    for name, fig in figures.items():
        if fig.texts[0].get_position()[1] > 0.5:  # a footer in the upper right corner
            continue
        assert _footer_clashes(fig) == [], name
        plt.close(fig)


def test_footer_names_both_precisions_when_panels_differ():
    fig, (a, b) = plt.subplots(1, 2)
    plotting.plot_final(jaxgd.sweep(notebook, [0.0, 1.0], 0.1, 10).squeeze(), ax=a)
    with jax.enable_x64(True):
        plotting.plot_final(jaxgd.sweep(notebook, [0.0, 1.0], 0.1, 10).squeeze(), ax=b)
    assert [t.get_text() for t in fig.texts] == ["computed in float32 and float64"]


def test_titles_and_labels_are_plain_english(nb_minima):
    res = jaxgd.sweep(notebook, 0.0, [0.01, 0.1], [10, 100])
    ax, cax = plotting.plot_lines(res, minima=nb_minima).axes
    assert ax.get_title() == "Final guess from x₀ = 0, one line per number of epochs"
    assert cax.get_ylabel() == "Training epochs (one line each)"
    texts = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), cax.get_ylabel()]
    assert not any("a training epochs" in t.lower() for t in texts)


@pytest.mark.parametrize(
    ("rates", "epochs", "scales"),
    [
        (np.geomspace(1e-4, 1.0, 9), np.round(np.geomspace(10, 1000, 6)), ("log", "log")),
        (np.linspace(1e-10, 0.1, 9), np.round(np.linspace(10, 500, 6)), ("linear", "linear")),
        # Linear up to 10 and log above: a log scale has no 0.
        (np.geomspace(1e-4, 1.0, 9), np.array([0, 10, 100, 1000]), ("log", "symlog")),
    ],
    ids=["geometric", "even", "epochs-from-0"],
)
def test_log_spaced_axes_are_drawn_on_a_log_scale(rates, epochs, scales):
    res = jaxgd.sweep(notebook, 0.0, rates, epochs)
    ax = plotting.plot_heatmap(res).axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == scales
    if scales[0] == "log":
        # Each cell spans half-way, on the log scale, to its neighbours.
        edges = np.unique(_mesh(ax).get_coordinates()[0, :, 0])
        np.testing.assert_allclose(np.log(edges[1:-1]), 0.5 * np.log(rates[1:] * rates[:-1]))
    ax = plotting.plot_lines(res).axes[0]
    assert ax.get_xscale() == scales[0]
    line = jaxgd.sweep(notebook, 0.0, rates, 100).squeeze()
    assert plotting.plot_final(line).axes[0].get_xscale() == scales[0]
    conv = jaxgd.convergence(notebook, [0.0, 1.0], rates, 50)
    assert plotting.plot_convergence(conv).axes[0].get_xscale() == scales[0]


def test_scale_keywords_override_and_are_checked():
    res = jaxgd.sweep(notebook, 0.0, np.geomspace(1e-3, 0.1, 5), [10, 100, 1000])
    ax = plotting.plot_heatmap(res, rate_scale="linear", epochs_scale="linear").axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")
    zero = jaxgd.sweep(notebook, 0.0, [0.0, 0.1, 0.2], [10, 20])
    with pytest.raises(ValueError, match="rate_scale='log' needs positive values"):
        plotting.plot_heatmap(zero, rate_scale="log")
    with pytest.raises(ValueError, match="xscale must be 'linear', 'log' or None"):
        plotting.plot_final(res.isel(epochs=0), xscale="logarithmic")


@given(
    lo=st.floats(1e-8, 1e3),
    ratio=st.floats(1.3, 10.0),
    n=st.integers(3, 30),
)
@settings(max_examples=40, deadline=None)
def test_log_spaced_fuzz(lo, ratio, n):
    grid = lo * ratio ** np.arange(n)
    assert plotting.log_spaced(grid)
    assert plotting.log_spaced(grid[::-1])  # order does not matter
    assert not plotting.log_spaced(np.linspace(lo, grid[-1], n))
    assert not plotting.log_spaced(np.r_[0.0, grid])  # 0 has no place on a log axis
    # Epoch counts: geometric, rounded to whole numbers (5 or more, so not also even).
    whole = np.round(10.0 * ratio ** np.arange(max(5, min(n, 12))))
    assert plotting.log_spaced(whole)


def test_final_guesses_apart_by_rounding_only_are_drawn_as_one_value():
    # Every run at x = 1 in float64 terms, some a float32 ulp below: not a zoomed staircase.
    final = np.array([1.0, 1.0 - 2**-24, 1.0, 1.0 - 2**-23], np.float32)
    res = jaxgd.SweepResult(
        final=final.reshape(4, 1, 1),
        value=np.zeros((4, 1, 1), np.float32),
        diverged=np.zeros((4, 1, 1), bool),
        starts=np.linspace(-1, 1, 4).astype(np.float32),
        learning_rates=np.array([0.1], np.float32),
        epochs=np.array([100]),
    )
    fig = plotting.plot_final(res)
    lo, hi = fig.axes[0].get_ylim()
    assert lo < 0.96 and hi > 1.04
    plotting.close(fig)


def test_a_legend_names_six_local_minima_in_colours_of_their_own_and_counts_the_rest():
    def f(x):
        return jnp.sin(40 * x) + 0.01 * x**2

    res = jaxgd.sweep(f, jnp.linspace(-5, 5, 60), 0.0001, 2000)
    m = find_minima_reached(f, res.final, (-6.0, 6.0))
    fig = plotting.plot_final(res, minima=m, f=f)
    legend = fig.axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    named = [t for t in labels if t.startswith(("global minimum", "local minimum"))]
    assert len(named) == 7 and named[0].startswith("global minimum")
    colours = [h.get_color() for h, t in zip(legend.legend_handles, labels, strict=True)]
    assert len(set(colours[: len(named)])) == len(named)
    (rest,) = [t for t in labels if "more local minima (colours repeat)" in t]
    heading = downhill_minimum(f, np.asarray(res.final)[:, 0, 0], m)
    counted = sum(int(re.search(r": (\d+) of 60 runs go here", t).group(1)) for t in named)
    assert counted + int(re.search(r": (\d+) of 60 runs go there", rest).group(1)) == int(
        (heading >= 0).sum()
    )
    plotting.close(fig)


def test_past_the_palette_a_minimum_has_one_colour_in_every_figure_and_the_rest_one_entry():
    # With more local minima than colours, plot_final and plot_convergence gave the palette
    # to the minima their legends named (so a minimum changed colour between figures), while
    # plot_lines kept the index and named every minimum, with no "more" entry.
    from matplotlib.colors import to_hex
    from matplotlib.patches import Rectangle

    from jaxgd.plotting._common import DIVERGED_COLOR, _minimum_colors

    def f(x):
        return jnp.sin(40 * x) + 0.01 * x**2

    res = jaxgd.sweep(f, jnp.linspace(-5, 5, 60), [0.0001, 0.0002], 2000)
    conv = jaxgd.convergence(f, jnp.linspace(-5, 5, 30), [0.0001, 0.0002], 2000)
    m = find_minima_reached(f, np.r_[np.ravel(res.final), np.ravel(conv.final)], (-6.0, 6.0))
    # Runs of one start that end at 40 minima, one per rate (descent on sin(40 x) from one
    # start settles in few): plot_lines colours what it is given.
    ends = np.asarray(m.x, np.float64)[~np.asarray(m.at_boundary)][::3][:40]
    lines = jaxgd.SweepResult(
        final=np.repeat(ends[:, None], 2, axis=1),
        value=np.zeros((ends.size, 2)),
        diverged=np.zeros((ends.size, 2), bool),
        starts=np.float64(0.0),
        learning_rates=np.linspace(0.01, 0.1, ends.size),
        epochs=np.array([100, 200]),
        dims=("learning_rate", "epochs"),
    )
    want = {_describe_minimum(m, i): to_hex(c) for i, c in _minimum_colors(m).items()}
    figs = {
        "final": (plotting.plot_final(res.isel(learning_rate=0), minima=m, f=f), 0),
        "final, right half": (
            plotting.plot_final(res.isel(learning_rate=0, start=slice(30, None)), minima=m),
            0,
        ),
        "lines": (plotting.plot_lines(lines, minima=m), 0),
        "convergence": (plotting.plot_convergence(conv, minima=m), 1),
        "ends": (plotting.plot_ends(res, "learning_rate", minima=m), 0),
    }
    for name, (fig, k) in figs.items():
        legend = fig.axes[k].get_legend()
        named = {}
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            label = text.get_text().split(":")[0].split(" (")[0]
            if label.startswith(("global minimum", "local minimum")):
                named[label] = to_hex(handle.get_facecolor() if k else handle.get_color())
        assert named, name
        for label, color in named.items():
            assert color == want[label], (name, label)  # the one rule's colour
        local = [c for t, c in named.items() if t.startswith("local")]
        assert len(set(local)) == len(local), name  # no two named alike
        more = [t.get_text() for t in legend.get_texts() if "more local minima" in t.get_text()]
        assert len(more) == 1 and "(colours repeat)" in more[0], name
        if name == "convergence":
            # The map's key for them shows the colours their cells repeat, not a grey like
            # the diverged cells' (it was "0.6" beside DIVERGED_COLOR "0.55").
            (key,) = [h for h in legend.legend_handles if h.get_label() == more[0]]
            assert to_hex(key.get_facecolor()) in set(want.values())
            drawn = {to_hex(p.get_facecolor()) for p in legend.findobj(Rectangle)}
            assert not drawn & {to_hex(DIVERGED_COLOR), to_hex("0.6")}, drawn
        plotting.close(fig)


def test_plot_ends_draws_the_minima_its_runs_reached_and_the_global_ones():
    res = jaxgd.sweep(notebook, jnp.linspace(-5, 5, 21), [0.1, 0.5], [500])
    # Minima far and wide, most of them reached by no run of this sweep.
    m = find_minima_reached(notebook, res.final, (-40.0, 40.0))
    fig = plotting.plot_ends(res, "learning_rate", minima=m)
    ys = sorted(
        round(float(line.get_ydata()[0]), 4)
        for line in fig.axes[0].get_lines()
        if line.get_linestyle() == "--" and len(set(line.get_ydata())) == 1
    )
    at = set(np.asarray(jaxgd.analysis.nearest_minimum(res.final, m)).ravel().tolist()) - {-1}
    want = at | set(jaxgd.analysis.global_minima(m).tolist())
    assert len(m) > len(want) + 5
    assert ys == sorted(round(float(m.x[i]), 4) for i in want)
    plotting.close(fig)


def _dashed_levels(fig) -> list[float]:
    return sorted(
        round(float(line.get_ydata()[0]), 4)
        for line in fig.axes[0].get_lines()
        if line.get_linestyle() == "--" and len(set(line.get_ydata())) == 1
    )


def test_plot_ends_with_f_draws_the_minima_unsettled_runs_head_to():
    # The optimizers experiment's ends figure had no line at x = -7.2281, where runs from
    # x0 < -4.3 were going but, the minimum being shallow, had not come within tol.
    res = jaxgd.sweep(notebook, jnp.linspace(-5, 5, 21), [0.01], [500])
    m = find_minima_reached(notebook, res.final, (-6.3, 6.3))
    final = np.asarray(res.final).ravel()
    at = np.asarray(jaxgd.analysis.nearest_minimum(final, m)).ravel()
    heading = downhill_minimum(notebook, final, m)
    unsettled = set(heading[at == -1].tolist()) - set(at.tolist()) - {-1}
    assert unsettled, "no minimum here that runs head to without reaching: the test is void"
    best = set(global_minima(m).tolist())
    fig = plotting.plot_ends(res, "learning_rate", minima=m)
    without = _dashed_levels(fig)
    assert without == sorted(round(float(m.x[i]), 4) for i in (set(at.tolist()) - {-1}) | best)
    plotting.close(fig)
    fig = plotting.plot_ends(res, "learning_rate", minima=m, f=notebook)
    want = (set(at.tolist()) | set(heading.tolist()) | best) - {-1}
    assert _dashed_levels(fig) == sorted(round(float(m.x[i]), 4) for i in want)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    for i in unsettled:
        assert f"local minimum x = {float(m.x[i]):.5g}" in labels
    plotting.close(fig)


def test_plot_ends_names_every_minimum_it_draws_and_the_tolerance():
    # The local minimum's dashed line had no legend entry, and "0 of 21 starts at the global
    # minimum" read as wrong beside runs 0.005 from its line: the count is within tol.
    res = jaxgd.sweep(notebook, jnp.linspace(-5, 5, 21), [0.1], [500])
    m = find_minima_reached(notebook, res.final, (-6.3, 6.3))
    fig = plotting.plot_ends(res, "learning_rate", minima=m, tol=1e-4)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    at = np.asarray(jaxgd.analysis.nearest_minimum(res.final, m, tol=1e-4)).ravel()
    drawn = sorted(set(at.tolist()) - {-1})
    best = set(global_minima(m).tolist())
    want = [
        f"{'global' if i in best else 'local'} minimum x = {float(m.x[i]):.5g}"
        for i in sorted(drawn, key=lambda i: (i not in best, i))
    ]
    assert labels[: len(want)] == want and any(w.startswith("local") for w in want)
    hit = int(np.isin(at, list(best)).sum())
    within = f"{hit} of 21 starts within 0.0001 of the global minimum"
    assert labels[len(want)] == f"Learning rate = 0.1: {within}"
    plotting.close(fig)


def test_dozens_of_minima_tied_for_lowest_get_a_legend_that_fits():
    # sin(1000 x): thousands of minima as deep as each other, all global; the legend once
    # named every one and the plot shrank to a strip.
    def f(x):
        return jnp.sin(1000 * x)

    res = jaxgd.sweep(f, 0.0, jnp.linspace(1e-10, 0.1, 50), 1000)
    m = find_minima_reached(f, res.final, (-6.3, 6.3))
    assert global_minima(m).size > 12
    fig = plotting.plot_final(res, minima=m, f=f)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    named = [t for t in labels if t.startswith(("global minimum", "local minimum"))]
    assert 1 <= sum(t.startswith("global") for t in named) <= 6 and len(named) <= 12
    more = r"\d+ more global minima \(colours repeat\): \d+ of 50 runs go there"
    assert any(re.fullmatch(more, t) for t in labels)
    plotting.close(fig)
    conv = jaxgd.convergence(f, jnp.linspace(-5, 5, 20), jnp.linspace(1e-10, 0.1, 20), 300)
    fig = plotting.plot_convergence(conv, minima=find_minima_reached(f, conv.final, (-6.3, 6.3)))
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert len(labels) <= 15
    plotting.close(fig)


def test_minima_tied_for_lowest_each_have_a_shade_of_green():
    # (x^2 - 1)^2: two wells as deep as each other. Both green, they could not be told apart
    # on a map of where each run ended; each is named in a shade of its own.
    def f(x):
        return (x**2 - 1) ** 2

    conv = jaxgd.convergence(f, jnp.linspace(-2, 2, 21), jnp.linspace(0.01, 0.1, 10), 500)
    m = find_minima(f, -2.0, 2.0)
    assert global_minima(m).tolist() == [0, 1]
    colors = _minimum_colors(m)
    assert colors[0] == "tab:green" and colors[1] != colors[0] and colors[1] in _GLOBAL_COLORS
    fig = plotting.plot_convergence(conv, minima=m)
    legend = fig.axes[1].get_legend()
    named = {
        t.get_text().split(" (")[0]: to_hex(h.get_facecolor())
        for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)
        if t.get_text().startswith("global")
    }
    assert named == {
        "global minimum x = -1": to_hex("tab:green"),
        "global minimum x = 1": to_hex(colors[1]),
    }
    plotting.close(fig)


def test_plot_ends_puts_diverged_runs_on_the_x_axis_not_on_a_minimum_at_zero(tmp_path):
    # x**4 has its minimum at 0; at rate 1 every start here diverges. The crosses belong on
    # the x axis (axes coordinates), where they cannot sit on the line of the minimum at y = 0.
    def quartic(x):
        return x**4

    res = jaxgd.sweep(quartic, np.linspace(1, 3, 5), [0.01, 1.0], [100])
    assert np.asarray(res.diverged)[:, 1].all() and not np.asarray(res.diverged)[:, 0].any()
    fig = plotting.plot_ends(res, "learning_rate", minima=find_minima(quartic, -2.0, 2.0))
    ax = fig.axes[0]
    (crosses,) = [line for line in ax.lines if line.get_marker() == "x"]
    assert crosses.get_transform() != ax.transData  # x in data, y in axes coordinates
    assert crosses.get_transform().contains_branch_seperately(ax.transData) == (True, False)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-1] == "diverged" and "5 diverged" in labels[2]
    fig.savefig(tmp_path / "ends.png")
    plotting.close(fig)


def test_plot_ends_with_dozens_of_global_minima_names_a_few():
    def wells(x):
        return jnp.cos(2 * jnp.pi * x)  # 40 minima of equal depth on [0, 40]

    res = jaxgd.sweep(wells, jnp.linspace(0.05, 39.95, 200), [0.01, 0.02], [500])
    m = find_minima_reached(wells, res.final, (0.0, 40.0))
    assert global_minima(m).size >= 40
    fig = plotting.plot_ends(res, "learning_rate", minima=m)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    named = [t for t in labels if t.startswith("global minimum")]
    n = len(_GLOBAL_COLORS)  # one per shade of green
    assert len(named) == n
    assert f"{global_minima(m).size - n} more global minima (colours repeat)" in labels
    assert sum(t.startswith("Learning rate") for t in labels) == 2
    assert fig.axes[0].get_title() == "Where each start ends after 500 epochs"
    plotting.close(fig)


def test_plot_lines_when_every_run_diverged_on_log_spaced_rates(tmp_path):
    # No line to autoscale the log axis by: the rates set it, and the figure saves.
    res = jaxgd.sweep(lambda x: x**4, 5.0, np.geomspace(1, 10, 5), [50, 100])
    assert np.asarray(res.diverged).all()
    fig = plotting.plot_lines(res)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    lo, hi = ax.get_xlim()
    assert 0 < lo < 1 and 10 < hi < 20
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["10 diverged runs not drawn"]
    # An empty axes from 0 to 1 says in its middle why it is empty.
    assert [t.get_text() for t in ax.texts] == [
        "every run diverged (10 of 10): no final guess to draw"
    ]
    fig.savefig(tmp_path / "lines.png")
    plotting.close(fig)


def _quartic(x):
    return x**4


def test_plot_final_says_why_it_is_empty_only_when_every_run_diverged():
    res = jaxgd.sweep(_quartic, np.linspace(4.0, 6.0, 5), 1.0, 50).squeeze()
    assert np.asarray(res.diverged).all()
    fig = plotting.plot_final(res)
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "every run diverged (5 of 5): no final guess to draw"
    ]
    plotting.close(fig)
    fig = plotting.plot_final(jaxgd.sweep(_quartic, [0.1, 5.0], 1.0, 50).squeeze())
    assert list(fig.axes[0].texts) == []  # one run diverged, one did not
    plotting.close(fig)


def test_plot_lines_with_one_rate_draws_points_and_one_count_its_tick():
    res = jaxgd.sweep(notebook, 1.0, [0.1], [10, 20, 50, 100, 200, 500])
    fig = plotting.plot_lines(res)
    ax = fig.axes[0]
    points = [line for line in ax.lines if len(line.get_xdata()) == 1]
    assert len(points) == 6 and all(line.get_marker() == "o" for line in points)
    lo, hi = ax.get_xlim()
    assert lo < 0.1 < hi
    plotting.close(fig)
    fig = plotting.plot_lines(jaxgd.sweep(notebook, 1.0, [0.01, 0.1], [100]))
    assert list(fig.axes[1].get_yticks()) == [100.0]  # not 100.2, 100.4, ...: no such counts
    plotting.close(fig)


def test_plot_lines_of_one_count_centres_it_on_the_colour_bar():
    # Normalised from the count to a made-up count + 1: the line took the bottom colour and
    # its only tick sat on the bar's lower end, as if the bar were cut off.
    import matplotlib as mpl

    fig = plotting.plot_lines(jaxgd.sweep(notebook, 1.0, [0.01, 0.05, 0.1], [100]))
    ax, bar = fig.axes
    (line,) = [line for line in ax.lines if len(line.get_xdata()) == 3]
    np.testing.assert_allclose(mpl.colors.to_rgba(line.get_color()), mpl.colormaps["viridis"](0.5))
    lo, hi = bar.get_ylim()
    assert list(bar.get_yticks()) == [100.0] and lo < 100.0 < hi
    assert (lo + hi) / 2 == pytest.approx(100.0)
    plotting.close(fig)


def test_plot_lines_legend_hides_no_line():
    # Forty lines fill the axes: "best" found no free corner and covered some of them.
    res = jaxgd.sweep(notebook, 0.0, np.linspace(0.01, 0.1, 12), np.arange(0, 400, 10))
    minima = find_minima(notebook, -6.0, 6.0)
    fig = plotting.plot_lines(res, minima=minima)
    ax = fig.axes[0]
    fig.canvas.draw()
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["global minimum x = -1.4289"]
    assert not legend.get_window_extent().overlaps(ax.get_window_extent())
    plotting.close(fig)
    # Drawn into the caller's axes, the legend stays inside them: the space around is theirs.
    fig, ax = plt.subplots()
    plotting.plot_lines(res, minima=minima, ax=ax)
    assert ax.get_legend().get_bbox_to_anchor().bounds == ax.bbox.bounds
    plt.close(fig)


@pytest.mark.parametrize("counts", [[0, 10, 100, 1000], [0, 10, 100, 500]])
def test_plot_lines_tells_zero_epochs_from_the_few_by_colour(counts):
    # On a linear colour scale from 0 to 1000, the lines of 0, 10 and 100 epochs were all
    # the darkest colour; a log scale has no 0. Each count is a step of colour up from the
    # one below it, 0 included, and the colour bar names the counts.
    res = jaxgd.sweep(notebook, 0.0, np.linspace(0.01, 0.1, 5), counts)
    fig = plotting.plot_lines(res)
    ax, bar = fig.axes
    norm = bar._colorbar.norm
    shade = np.array([norm(float(c)) for c in counts])
    assert shade[0] == 0.0 and shade[-1] == 1.0
    assert np.diff(shade).min() > 0.2  # 0.01 and 0.1 on a linear scale
    colors = [line.get_color() for line in ax.lines[: len(counts)]]
    assert len({tuple(np.round(c, 3)) for c in colors}) == len(counts)
    assert [t.get_text() for t in bar.get_yticklabels()] == [str(c) for c in counts]
    plotting.close(fig)
    # Evenly spaced counts from 0 keep their linear scale.
    fig = plotting.plot_lines(jaxgd.sweep(notebook, 0.0, [0.01, 0.1], [0, 100, 200, 300]))
    assert type(fig.axes[1]._colorbar.norm).__name__ == "Normalize"
    plotting.close(fig)


@pytest.mark.parametrize(
    "counts",
    [
        np.round(np.geomspace(150, 180, 10)),  # log-spaced, between two round numbers
        np.r_[0, np.round(np.geomspace(150, 180, 10))],  # and 0
        np.r_[0, np.round(np.geomspace(10, 1000, 12))],  # 0 and counts over decades
    ],
)
def test_plot_lines_colour_bar_labels_at_least_two_ticks_apart(counts):
    # Counts 150 ... 180 have no 1-2-5 round number between them but 150: the bar had one
    # label (150, or 0 with the 0 count), and the 0 count's bar crowded the rest at its top.
    res = jaxgd.sweep(notebook, 0.0, np.linspace(0.01, 0.1, 3), counts.astype(int))
    fig = plotting.plot_lines(res)
    bar = fig.axes[1]
    fig.canvas.draw()
    lo, hi = bar.get_ylim()
    shown = [
        (t, label)
        for t, label in zip(bar.get_yticks(), bar.get_yticklabels(), strict=True)
        if lo - 1e-9 <= t <= hi + 1e-9 and label.get_text()
    ]
    assert len(shown) >= 2
    ticks = [t for t, _ in shown]
    assert max(ticks) - min(ticks) >= 0.5 * (hi - lo)  # they span the bar
    boxes = sorted((label.get_window_extent() for _, label in shown), key=lambda b: b.y0)
    assert all(a.y1 <= b.y0 for a, b in itertools.pairwise(boxes))  # none over the next
    assert all(re.fullmatch(r"\d+", label.get_text()) for _, label in shown)  # no 1.5x10^2
    plotting.close(fig)


def test_a_minimum_has_one_colour_in_every_figure_of_the_same_minima():
    # The colours went to the minima a figure drew, in order: 4.3058 was orange where no run
    # was drawn at -7.2281 (plot_final of starts right of 2) and purple where one was, or
    # where the figure coloured by index (plot_ends, plot_lines), from the same minima.
    from matplotlib.colors import to_hex

    wide = jaxgd.sweep(notebook, np.linspace(-5.0, 5.0, 50), 0.01, 1000)
    m = find_minima_reached(notebook, wide.final, (-6.28, 6.28))
    assert m.x.size == 3  # -7.2281, -1.4289 (global) and 4.3058

    def dashed_colour(fig, x):
        (color,) = {
            to_hex(line.get_color())
            for line in fig.axes[0].lines
            if line.get_linestyle() == "--" and np.allclose(line.get_ydata(), x, atol=1e-3)
        }
        plotting.close(fig)
        return color

    right = np.linspace(2.0, 5.0, 10)
    figures = [
        plotting.plot_final(jaxgd.sweep(notebook, right, 0.01, 1000), minima=m),
        plotting.plot_final(wide, minima=m),
        plotting.plot_final(wide, minima=m, f=notebook),
        plotting.plot_ends(
            jaxgd.sweep(notebook, right, [0.01, 0.02], 1000), "learning_rate", minima=m
        ),
        plotting.plot_lines(jaxgd.sweep(notebook, 4.0, [0.01, 0.02], [100, 1000]), minima=m),
    ]
    assert len({dashed_colour(fig, float(m.x[2])) for fig in figures}) == 1


def test_minima_runs_reach_outside_the_interval_leave_the_colours_inside_as_they_were():
    # By x over every minimum, -7.2281 (reached by runs that left [-6.28, 6.28]) took the
    # palette's first colour and 4.3058 went from orange to purple: the optimizers figures
    # coloured one minimum of f unlike every experiment whose runs stay inside.
    from matplotlib.colors import to_hex

    from jaxgd.plotting._common import _OTHER_COLORS, _minimum_colors

    inside = find_minima(notebook, -6.28, 6.28)
    wide = jaxgd.sweep(notebook, np.linspace(-5.0, 5.0, 50), 0.1, 1000)
    reached = find_minima_reached(notebook, wide.final, (-6.28, 6.28))
    np.testing.assert_allclose(reached.domain, [-6.28, 6.28], rtol=1e-6)
    assert reached.x.size == 3 and float(reached.x[0]) < -6.28  # -7.2281 outside

    def colour_of(m, x):
        (i,) = np.flatnonzero(np.isclose(np.asarray(m.x), x, atol=1e-3))
        return _minimum_colors(m)[int(i)]

    assert colour_of(inside, 4.3058) == colour_of(reached, 4.3058) == _OTHER_COLORS[0]
    assert colour_of(reached, -7.2281) == _OTHER_COLORS[1]  # after those inside
    # The figures draw it so: 4.3058 in one colour with or without the runs outside.
    right = jaxgd.sweep(notebook, np.linspace(2.0, 5.0, 10), 0.01, 1000)
    drawn = set()
    for m in (inside, reached):
        fig = plotting.plot_final(right, minima=m)
        drawn |= {
            to_hex(line.get_color())
            for line in fig.axes[0].lines
            if line.get_linestyle() == "--" and np.allclose(line.get_ydata(), 4.3058, atol=1e-3)
        }
        plotting.close(fig)
    assert drawn == {to_hex(_OTHER_COLORS[0])}


def test_minima_made_by_hand_without_a_domain_are_coloured_in_order_of_x():
    from jaxgd.minima import Minima
    from jaxgd.plotting._common import _OTHER_COLORS, _minimum_colors

    m = Minima(np.array([-3.0, -1.0, 2.0]), np.array([0.0, -1.0, 0.5]), np.zeros(3, bool), 1)
    assert _minimum_colors(m) == {0: _OTHER_COLORS[0], 1: "tab:green", 2: _OTHER_COLORS[1]}
    with_domain = Minima(**{**vars(m), "domain": np.array([-2.0, 3.0])})
    assert _minimum_colors(with_domain) == {
        0: _OTHER_COLORS[1],
        1: "tab:green",
        2: _OTHER_COLORS[0],
    }


def test_plot_ends_legend_names_no_two_minima_in_one_colour_past_the_palette():
    # 13 local minima against 6 colours: by index, -20.339 and 23.468 were both pink in
    # plot_ends' legend; plot_final gave the minima it names a colour each, and so does it.
    from matplotlib.colors import to_hex

    def tilted(x):
        return jnp.sin(x) + 0.002 * x**2

    m = find_minima(tilted, -45.0, 45.0)
    res = jaxgd.sweep(tilted, np.linspace(-45.0, 45.0, 60), [0.1, 0.5], 500)
    assert m.x.size - global_minima(m).size > 6
    for fig in (
        plotting.plot_ends(res, "learning_rate", minima=m),
        plotting.plot_final(res.isel(learning_rate=0), minima=m),
    ):
        legend = fig.axes[0].get_legend()
        named = [
            to_hex(h.get_color())
            for h, t in zip(legend.legend_handles, legend.get_texts(), strict=True)
            if t.get_text().startswith("local minimum")
        ]
        plotting.close(fig)
        assert len(named) == 6 and len(set(named)) == 6, named


def test_plot_convergence_titles_stay_over_their_maps():
    # In one line, the basin map's title was wider than the map and ended on the figure's
    # right edge (0.2 px from it): cut off by any viewer that does not crop to fit.
    conv = jaxgd.convergence(notebook, np.linspace(-5.0, 5.0, 7), np.linspace(1e-10, 0.1, 7), 2000)
    m = find_minima_reached(notebook, conv.final, (-6.28, 6.28))
    fig = plotting.plot_convergence(conv, minima=m, title="Epochs to converge")
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    width = fig.bbox.width
    for ax in fig.axes[:2]:
        box = ax.title.get_window_extent(renderer)
        assert box.x0 >= 4.0 and box.x1 <= width - 4.0, (ax.get_title(), box, width)
        assert box.width <= ax.bbox.width + 40.0  # over its map, not across the figure
    plotting.close(fig)


@pytest.mark.parametrize("value", [1e-30, -3e-20, 1e-3, 250.0, 0.0])
def test_limits_around_one_value_are_on_its_own_scale(value):
    from jaxgd.plotting._common import _xlim, _ylim

    for lo, hi in (_ylim(np.full(5, value)), _xlim(np.array([value]), "linear")):
        assert lo < value < hi
        if value:
            assert hi - lo == pytest.approx(0.1 * abs(value))  # 1e-30 is not drawn at "0.00"
        else:
            assert (lo, hi) == (-0.05, 0.05)


def test_a_single_rate_or_count_spans_a_cell_of_its_own_size():
    np.testing.assert_allclose(_edges(np.array([0.1])), [0.05, 0.15])  # no negative rates
    np.testing.assert_allclose(_edges(np.array([100.0])), [50.0, 150.0])
    np.testing.assert_allclose(_edges(np.array([0.0])), [-0.5, 0.5])
    # Centred on the one value even at the floor: 0 alone had a cell from 0 to 0.5.
    np.testing.assert_allclose(_edges(np.array([0.0]), floor=0.0), [-0.5, 0.5])


@pytest.mark.parametrize("rates", [np.geomspace(1e-300, 1.0, 5), np.array([1e-300, 1.0]), [1e300]])
def test_log_cell_edges_stay_positive_and_finite_over_any_span(rates):
    # Rates from 1e-300 to 1: exp of the first edge's log underflowed to 0, and the log axis
    # of the map could not show it.
    rates = np.asarray(rates, np.float64)
    for floor in (None, 0.0):
        edges = _edges(rates, "log", floor)
        assert np.all(np.isfinite(edges)) and np.all(edges > 0), edges
        assert np.all(np.diff(edges) > 0)
        inner = edges[1:-1]
        np.testing.assert_allclose(np.log(inner), 0.5 * (np.log(rates[1:]) + np.log(rates[:-1])))
    if rates.size > 1:
        res = jaxgd.SweepResult(
            final=np.zeros((rates.size, 2)),
            value=np.zeros((rates.size, 2)),
            diverged=np.zeros((rates.size, 2), bool),
            starts=np.float64(0.0),
            learning_rates=rates,
            epochs=np.array([0, 10]),
            dims=("learning_rate", "epochs"),
        )
        fig = plotting.plot_heatmap(res, rate_scale="log")
        lo, hi = fig.axes[0].get_xlim()
        assert lo > 0 and np.isfinite(hi)
        fig.savefig(io.BytesIO(), format="png")
        plotting.close(fig)


def _no_negative_ticks(axis, values, limits) -> None:
    """A map's axis of rates or counts: from 0 when there are several, else the one value's
    cell centred on it, with that value as the only tick; no negative tick either way."""
    if len(values) > 1:
        assert limits[0] >= 0.0
    else:
        assert np.mean(limits) == pytest.approx(values[0]) and limits[0] < values[0]
        np.testing.assert_allclose(axis.get_ticklocs(), [values[0]], rtol=1e-6)
        assert not axis.get_minorticklocs().size
    ticks = [t for t in axis.get_ticklocs() if min(limits) <= t <= max(limits)]
    assert min(ticks) >= 0


@pytest.mark.parametrize(
    ("rates", "epochs"),
    [
        ([0.01, 0.05], [10, 100]),
        (np.linspace(0.0, 0.1, 11), [0, 10, 100, 500]),
        ([0.0], [0]),
        ([0.0], [10, 20]),
        ([0.0, 0.1], [0]),
        ([0.05], [100]),
    ],
)
def test_maps_show_no_negative_learning_rates_or_epochs(rates, epochs):
    # Cells centred on the values: the first one reached below 0, and the axes read -0.01
    # and -30 (a rate and an epoch count that cannot be) on a 2 x 2 sweep.
    res = jaxgd.sweep(notebook, 0.0, rates, epochs)
    for fig in (
        plotting.plot_heatmap(res),
        plotting.plot_panels(jaxgd.sweep(notebook, [0.0, 1.0], rates, epochs), "start"),
    ):
        ax = fig.axes[0]
        for values, limits, axis in (
            (rates, ax.get_xlim(), ax.xaxis),
            (epochs, ax.get_ylim(), ax.yaxis),
        ):
            _no_negative_ticks(axis, values, limits)
        assert ax.get_xlim()[1] > max(rates) and ax.get_ylim()[1] > max(epochs)
        plotting.close(fig)
    conv = jaxgd.convergence(notebook, np.linspace(-2.0, 2.0, 5), rates, 50)
    m = find_minima_reached(notebook, conv.final, (-6.28, 6.28))
    fig = plotting.plot_convergence(conv, minima=m)
    for ax in fig.axes[:2]:
        _no_negative_ticks(ax.xaxis, rates, ax.get_xlim())
        assert ax.get_ylim()[0] < -2.0  # starts may be negative: their cells are whole
    plotting.close(fig)
    # Negative rates (ascent) were asked for: their cells are drawn whole.
    assert _edges(np.array([-0.1, 0.1]), floor=0.0)[0] == pytest.approx(-0.2)


def test_curves_against_rates_or_epochs_from_0_show_no_negative_ones():
    # The curves kept matplotlib's margin below the smallest rate: an axis from -0.005, while
    # the maps of the same rates start at 0.
    res = jaxgd.sweep(notebook, 0.0, np.linspace(0.0, 0.1, 9), [0, 50, 100])
    for fig, top in (
        (plotting.plot_final(res.isel(epochs=2)), 0.1),
        (plotting.plot_final(res.isel(learning_rate=4)), 100),
        (plotting.plot_lines(res), 0.1),
    ):
        lo, hi = fig.axes[0].get_xlim()
        assert lo == 0.0 and hi > top
        plotting.close(fig)
    # Starts may be negative, and a rate axis from 0.01 keeps its margin: only 0 is a floor.
    fig = plotting.plot_final(jaxgd.sweep(notebook, np.linspace(0.0, 1.0, 5), 0.1, 10))
    assert fig.axes[0].get_xlim()[0] == pytest.approx(-0.05)
    plotting.close(fig)
    fig = plotting.plot_final(jaxgd.sweep(notebook, 0.0, np.linspace(0.01, 0.1, 10), 10))
    assert 0.0 < fig.axes[0].get_xlim()[0] < 0.01
    plotting.close(fig)


def test_colour_bars_with_nothing_to_show_say_so_instead_of_a_made_up_range():
    res = jaxgd.sweep(lambda x: x**4, 5.0, np.geomspace(1, 10, 5), [50, 100, 200])
    assert np.asarray(res.diverged).all()
    bar = plotting.plot_heatmap(res).axes[1]
    assert list(bar.get_yticks()) == [] and not bar.yaxis.get_minorticklocs().size
    assert bar.get_ylabel() == "Final guess x\n(nothing to show: every cell is grey)"
    conv = jaxgd.convergence(lambda x: x**4, [5.0, 6.0], np.geomspace(1, 10, 5), 100)
    fig = plotting.plot_convergence(conv)
    assert fig.axes[1].get_ylabel().endswith("(nothing to show: no run settled)")
    assert list(fig.axes[1].get_yticks()) == []
    # One finite cell: the bar has its tick, at that cell's value, the others grey.
    some = jaxgd.sweep(lambda x: x**4, 5.0, [1e-4, 1.0], [50])
    bar = plotting.plot_heatmap(some).axes[1]
    finite = float(np.asarray(some.final)[~np.asarray(some.diverged)][0])
    assert list(bar.get_yticks()) == [pytest.approx(finite)]
    assert [t.get_text() for t in bar.get_yticklabels()] == [f"every other cell\n{finite:.6g}"]
    plt.close("all")


def _refused_calls():
    from jaxgd.functions2d import himmelblau, saddle
    from jaxgd.minima import Minima
    from jaxgd.minima_nd import MinimaND, grid_starts

    m = Minima(np.array([-1.0, 1.0]), np.array([-1.0, 0.0]), np.zeros(2, bool), np.int32(0))
    r = jaxgd.sweep(notebook, np.linspace(-2, 2, 5), [0.1, 0.2], [10, 100])
    one = r.isel(learning_rate=0, epochs=0)
    paths = [np.array([[0.0, 0.0], [1.0, 1.0]])]
    grid = jaxgd.sweep(saddle, grid_starts([(-2, 2), (-2, 2)], 5), [0.1], [20])
    m2 = MinimaND.at(saddle, [(0.0, -1.0), (0.0, 1.0)])
    box = ((-5, 5), (-5, 5))
    return {
        "heatmap scale": lambda: plotting.plot_heatmap(r.isel(start=0), rate_scale="Log"),
        "heatmap limits": lambda: plotting.plot_heatmap(r.isel(start=0), vmin=2, vmax=1),
        "panels scale": lambda: plotting.plot_panels(r, "start", rate_scale="logg"),
        "final tol": lambda: plotting.plot_final(one, minima=m, tol=0),
        "final minima": lambda: plotting.plot_final(one, minima=[1]),
        "lines tol": lambda: plotting.plot_lines(r.isel(start=0), minima=m, tol=float("nan")),
        "ends tol": lambda: plotting.plot_ends(r.isel(epochs=0), "learning_rate", minima=m, tol=-1),
        "function domain": lambda: plotting.plot_function(jnp.cos, (0.0, np.inf)),
        "paths minima": lambda: plotting.plot_paths(
            himmelblau, box, paths, minima=MinimaND(np.zeros((1, 3)), np.zeros(1), np.ones(1, bool))
        ),
        "basin map grid": lambda: plotting.plot_basin_map(grid.isel(start=slice(0, 12)), m2),
        "basin maps grid": lambda: plotting.plot_basin_maps(grid.isel(start=slice(0, 12)), m2),
    }


@pytest.mark.parametrize("case", list(_refused_calls()))
def test_a_refused_call_leaves_no_figure_open(case):
    # The figure was made before some arguments were checked: a notebook that retried piled
    # up hidden figures in pyplot (one per refused call, in 16 of 16 cases tried).
    call = _refused_calls()[case]
    before = set(plt.get_fignums())
    with pytest.raises((ValueError, TypeError)):
        call()
    assert set(plt.get_fignums()) == before


def test_lines_show_a_finite_run_between_diverged_ones():
    # Markers were drawn only for a single rate: a finite run with diverged neighbours was
    # no segment of its line and did not show at all.
    final = np.array([[1.0], [np.nan], [2.0], [np.nan]])
    res = jaxgd.SweepResult(
        final, np.cos(final), ~np.isfinite(final), 0.0, [0.1, 0.2, 0.3, 0.4], [10],
        dims=("learning_rate", "epochs"),
    )  # fmt: skip
    fig = plotting.plot_lines(res)
    (line,) = [ln for ln in fig.axes[0].lines if len(ln.get_xdata()) == 4]
    assert line.get_marker() == "o"
    np.testing.assert_array_equal(line.get_markevery(), [True, False, True, False])
    plotting.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"percentiles": (98, 2)}, r"percentiles must be \(low, high\)"),  # gave lo > hi
        ({"percentiles": (-1, 50)}, r"percentiles must be"),
        ({"vmin": float("nan")}, r"vmin must be a finite number"),  # a made-up +-0.1 bar
        ({"vmax": float("inf")}, r"vmax must be a finite number"),
    ],
)
def test_color_limits_refuse_what_would_break_lo_below_hi(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.color_limits([1.0, 2.0, 3.0], **kwargs)


@pytest.mark.parametrize("tol", [-1.0, 0.0, float("nan")])
def test_maps_with_a_target_refuse_a_meaningless_tol(tol):
    # "within nan of x = 0: no cell": plot_final, plot_lines and plot_ends refused these.
    res = jaxgd.sweep(notebook, [0.0, 1.0], [0.01, 0.1], [10, 100])
    before = set(plt.get_fignums())
    with pytest.raises(ValueError, match=r"^tol must be"):
        plotting.plot_heatmap(res.isel(start=0), target=-1.43, tol=tol)
    with pytest.raises(ValueError, match=r"^tol must be"):
        plotting.plot_panels(res, "start", target=-1.43, tol=tol)
    assert set(plt.get_fignums()) == before


def _arguments_refused_by_name():
    from jaxgd.functions2d import himmelblau, saddle
    from jaxgd.minima_nd import MinimaND, grid_starts

    res = jaxgd.sweep(notebook, [0.0, 1.0], [0.01, 0.1], [10, 100])
    grid = jaxgd.sweep(saddle, grid_starts([(-2, 2), (-2, 2)], 4), [0.1, 0.2], [20])
    m2 = MinimaND.at(saddle, [(0.0, -1.0), (0.0, 1.0)])
    box, paths = ((-5, 5), (-5, 5)), [np.array([[0.0, 0.0], [1.0, 1.0]])]
    return {  # call, error, match; each was a ZeroDivisionError, a matplotlib or JAX error
        "ncols": (lambda: plotting.plot_basin_maps(grid, m2, ncols=0), ValueError, "ncols"),
        "levels": (lambda: plotting.plot_paths(himmelblau, box, paths, levels=0), ValueError,
                   "levels"),
        "num": (lambda: plotting.plot_paths(himmelblau, box, paths, num=1), ValueError, "num"),
        "domain": (lambda: plotting.plot_function(jnp.cos, (0.0, np.inf)), ValueError, "domain"),
        # Beyond float32, or one number in it: a grid of inf (with an overflow warning), or a
        # figure of one point at a made-up scale.
        "huge domain": (lambda: plotting.plot_function(jnp.cos, (-1e308, 1e308)), ValueError,
                        r"^domain: .*does not fit float32"),
        "tiny domain": (lambda: plotting.plot_function(jnp.cos, (0, 1e-320)), ValueError,
                        r"^domain: .*is one number in float32"),
        "huge point": (lambda: plotting.plot_function(jnp.cos, (0, 1), points=1e39), ValueError,
                       r"^domain widened to show points"),
        "huge 2-D domain": (lambda: plotting.plot_paths(himmelblau, ((-5, 5), (0, 1e39)), paths),
                            ValueError, r"^domain\[1\]: .*does not fit float32"),
        "points": (lambda: plotting.plot_function(jnp.cos, (0, 1), points="a"), TypeError,
                   "points"),
        "vector f": (lambda: plotting.plot_function(lambda p: p[0] ** 2, (0, 1)), TypeError,
                     "^f raised IndexError"),
        "target": (lambda: plotting.plot_heatmap(res.isel(start=0), target=(1, 2, 3)),
                   ValueError, "target must be"),
        # Without result and minima the maps drawn are fraction and spread: None failed as
        # "values must have shape ...; got ()", naming no argument.
        "fraction": (lambda: plotting.plot_random_starts(
            np.zeros((2, 2)), None, np.zeros((2, 2)), [0.01, 0.1], [10, 100], repeats=4,
            global_x=-1.43, tol=0.1), ValueError, "^fraction is None"),
        "spread": (lambda: plotting.plot_random_starts(
            np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 3)), [0.01, 0.1], [10, 100],
            repeats=4, global_x=-1.43, tol=0.1), ValueError, r"^spread must have shape .*\(2, 3\)"),
    }  # fmt: skip


@pytest.mark.parametrize("case", list(_arguments_refused_by_name()))
def test_plot_arguments_are_refused_by_name(case):
    call, error, match = _arguments_refused_by_name()[case]
    before = set(plt.get_fignums())
    with pytest.raises(error, match=match):
        call()
    assert set(plt.get_fignums()) == before


def test_plot_function_marks_a_single_point_given_as_a_number():
    fig = plotting.plot_function(jnp.cos, (0.0, 3.0), points=1.5)
    dots = [ln for ln in fig.axes[0].lines if ln.get_label() == "minimum found"]
    np.testing.assert_array_equal(dots[0].get_xdata(), [1.5, 1.5])  # on f and on f'
    plotting.close(fig)


def test_maps_take_epochs_before_learning_rate_as_the_same_map():
    # An order SweepResult allows was refused as "missing" axes.
    res = jaxgd.sweep(notebook, [0.0], [0.01, 0.05, 0.1], [10, 100])
    flipped = jaxgd.SweepResult(
        np.swapaxes(res.final, 1, 2), np.swapaxes(res.value, 1, 2),
        np.swapaxes(res.diverged, 1, 2), res.starts, res.learning_rates, res.epochs,
        dims=("start", "epochs", "learning_rate"),
    )  # fmt: skip
    for plot in (plotting.plot_heatmap, plotting.plot_lines):
        a, b = plot(res), plot(flipped)
        for x, y in zip(a.axes[0].get_children(), b.axes[0].get_children(), strict=True):
            if hasattr(x, "get_array") and x.get_array() is not None:
                np.testing.assert_array_equal(x.get_array(), y.get_array())
        plotting.close(a)
        plotting.close(b)
    with pytest.raises(ValueError, match=r"no learning_rate axis.*isel\(learning_rate=\[0\]\)"):
        plotting.plot_heatmap(res.isel(start=0, learning_rate=0))


def test_runs_left_off_the_axis_are_marked_on_its_edge_and_counted():
    # At rate 1e-10 the run stays at its start, far above the others: the y axis leaves it
    # out so the others are not squashed, and it had vanished without a word.
    rates = np.linspace(1e-10, 0.1, 50)
    res = jaxgd.sweep(notebook, 0.0, rates, 1000).isel(start=0, epochs=0)
    m = find_minima(notebook, -6.28, 6.28)
    fig = plotting.plot_final(res, minima=m, f=notebook)
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert not lo <= float(res.final[0]) <= hi  # left off the axis...
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "beyond the axis: 1 of 50 runs (at -1e-07), marked on its edge" in texts
    edge = [ln for ln in ax.lines if ln.get_marker() == "^"]  # ...and marked on the top edge
    assert len(edge) == 1 and edge[0].get_xdata().tolist() == [float(res.learning_rates[0])]
    assert edge[0].get_ydata().tolist() == [1.0]
    lines = plotting.plot_lines(jaxgd.sweep(notebook, 0.0, rates, [1000]).isel(start=0))
    assert any(
        t.get_text().startswith("beyond the axis:") for t in lines.axes[0].get_legend().get_texts()
    )


def test_a_map_in_a_plain_figure_keeps_its_legend_inside():
    # Under the axes only where a constrained layout makes room: in a caller's plain
    # subplots the legend fell on the next axes, or off the figure.
    res = jaxgd.sweep(notebook, 0.0, np.linspace(0.01, 0.1, 4), np.array([20, 100, 300]))
    from matplotlib.figure import Figure

    fig = Figure()
    top, _ = fig.subplots(2, 1)
    plotting.rate_epochs_map(
        top, res.final[0], res.learning_rates, res.epochs, label="x",
        outline=np.abs(res.final[0] - NB_MIN[0]) < 1e-3, outline_label="within",
    )  # fmt: skip
    fig.canvas.draw()
    assert top.get_window_extent().contains(*top.get_legend().get_window_extent().p0)


def _ax_calls():
    """Every plotting function that takes ``ax``, as (name, call(ax)); the sweeps are made
    here, so a call compiles only what the figure itself would."""
    from jaxgd.minima_nd import MinimaND, grid_starts

    res = jaxgd.sweep(notebook, 0.0, [0.01, 0.1], [10, 100])
    line = jaxgd.sweep(notebook, np.linspace(-2.0, 2.0, 5), 0.1, 100)

    def bowl(p):
        return p[0] ** 2 + p[1] ** 2

    grid = jaxgd.sweep(bowl, grid_starts([(-1, 1), (-1, 1)], 3), [0.1], [10])
    m = MinimaND.at(bowl, [(0.0, 0.0)])
    starts, labels = grid_starts([(-1, 1), (-1, 1)], 3), np.zeros(9)
    domain, paths = ((-1, 1), (-1, 1)), [np.zeros((2, 2))]
    return [
        ("plot_function", lambda ax: plotting.plot_function(lambda x: x**2 + 0.5, (0, 1), ax=ax)),
        ("plot_final", lambda ax: plotting.plot_final(line, ax=ax)),
        ("plot_lines", lambda ax: plotting.plot_lines(res, ax=ax)),
        ("plot_heatmap", lambda ax: plotting.plot_heatmap(res, ax=ax)),
        ("rate_epochs_map", lambda ax: plotting.rate_epochs_map(ax, np.zeros((2, 2)), [1, 2],
                                                                [1, 2], label="")),
        ("plot_paths", lambda ax: plotting.plot_paths(lambda p: p[0] ** 2 + 3.0 * p[1] ** 2,
                                                      domain, paths, ax=ax)),
        ("basin_map", lambda ax: plotting.basin_map(ax, starts, labels, m)),
        ("plot_basin_map", lambda ax: plotting.plot_basin_map(grid, m, ax=ax)),
    ]  # fmt: skip


@pytest.mark.parametrize("bad", [3, "ax", np.zeros(2)], ids=["int", "str", "array"])
def test_an_ax_that_is_no_axes_is_refused_first(bad, compiles):
    # A wrong ax failed with AttributeError ('int' has no 'get_figure') after f compiled.
    for name, call in _ax_calls():
        before = plt.get_fignums()
        with compiles, pytest.raises(TypeError, match=r"^ax must be a matplotlib Axes"):
            call(bad)
        assert compiles.count == 0, (name, compiles.names)
        assert plt.get_fignums() == before, name
    fig, ax = plt.subplots()
    for name, call in _ax_calls():
        if name in ("rate_epochs_map", "basin_map"):  # these draw into an ax they are given
            with pytest.raises(TypeError, match=r"^ax must be a matplotlib Axes .*; got NoneType"):
                call(None)
        else:
            assert call(ax) is fig, name


@pytest.mark.parametrize("bad", ["a", True, np.nan, 1j], ids=["str", "bool", "nan", "complex"])
@pytest.mark.parametrize("name", ["start", "target", "panels target", "global_x"])
def test_positions_to_draw_are_refused_by_name_first(name, bad, compiles):
    # start="a" failed in NumPy's isfinite ("ufunc 'isfinite' not supported ..."), global_x
    # as "could not convert string to float", naming neither; True and NaN were drawn.
    res = jaxgd.sweep(notebook, [0.0, 1.0], [0.01, 0.1], [10, 100])
    rates, epochs, maps = [0.01, 0.1], [10, 100], np.zeros((2, 2))
    call = {
        "start": lambda: plotting.plot_function(lambda x: x**2 + 0.25, (0, 1), start=bad),
        "target": lambda: plotting.plot_heatmap(res.isel(start=0), target=bad),
        "panels target": lambda: plotting.plot_panels(res, "start", target=bad),
        "global_x": lambda: plotting.plot_random_starts(
            maps, maps, maps, rates, epochs, repeats=4, global_x=bad, tol=0.1
        ),
    }[name]
    arg = name.split()[-1]
    before = set(plt.get_fignums())
    with compiles, pytest.raises((TypeError, ValueError), match=f"^{arg} must be"):
        call()
    assert compiles.count == 0, compiles.names
    assert set(plt.get_fignums()) == before


def test_a_target_or_global_x_of_several_numbers_is_still_drawn():
    res = jaxgd.sweep(notebook, 0.0, [0.01, 0.1], [10, 100])
    fig = plotting.plot_heatmap(res, target=[-1.5, -1.4])  # a span, as a list
    assert "within 0.001 of" in fig.axes[0].get_legend().get_texts()[-1].get_text()
    maps = np.zeros((2, 2))
    fig = plotting.plot_random_starts(
        maps, maps, maps, [0.01, 0.1], [10, 100], repeats=4, global_x=(-1.4, 4.3), tol=0.1
    )
    assert any("x* = -1.4 or 4.3" in ax.get_ylabel() for ax in fig.axes)  # a colour bar


@pytest.mark.parametrize(
    ("call", "most"),
    [
        (lambda num: plotting.plot_function(lambda x: x**2 - 0.75, (0, 1), num=num), 2**24),
        (
            lambda num: plotting.plot_paths(
                lambda p: p[0] ** 2 - 0.75 * p[1] ** 2,
                ((-1, 1), (-1, 1)),
                [np.zeros((2, 2))],
                num=num,
            ),
            4096,
        ),
    ],
    ids=["plot_function", "plot_paths"],
)
def test_a_grid_too_fine_to_draw_is_refused_before_it_is_allocated(call, most, compiles):
    # plot_paths(num=10**6) asked NumPy for 7 TiB; plot_function(num=10**12) for 4 TB.
    before = set(plt.get_fignums())
    for num in (most + 1, 10**7 * most, 10**12):
        with compiles, pytest.raises(ValueError, match=rf"^num must be at most {most:,} "):
            call(num)
    assert compiles.count == 0, compiles.names
    assert set(plt.get_fignums()) == before


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(0.0, 3.0), st.integers(0, 3), st.just(True), st.just(10**400)),
        min_size=1,
        max_size=3,
    )
)
def test_plot_function_points_are_numbers_as_float64_reads_them(points):
    # np.asarray(points, np.float64) drew True as a dot at x = 1 and raised a bare
    # OverflowError for an int beyond any float; both are refused naming points.
    if any(p is True for p in points):
        with pytest.raises(TypeError, match=r"^points must .*a bool"):
            plotting.plot_function(jnp.cos, (0.0, 3.0), points=points)
    elif any(p == 10**400 for p in points):
        with pytest.raises(ValueError, match=r"^points has a value too large for any float"):
            plotting.plot_function(jnp.cos, (0.0, 3.0), points=points)
    else:
        fig = plotting.plot_function(jnp.cos, (0.0, 3.0), points=points)
        dots = [ln for a in fig.axes for ln in a.lines if ln.get_marker() == "o"]
        drawn = np.concatenate([np.asarray(d.get_xdata(), np.float64) for d in dots])
        np.testing.assert_array_equal(np.unique(drawn), np.unique(np.asarray(points, np.float64)))
        plotting.close(fig)


def test_plot_derivative_check_says_a_run_stopped_where_f_is_not_finite():
    from jaxgd.derivative import check_derivative

    check = check_derivative(_log_past_minus_2, _d_log_past_minus_2, -4.0, 4.0, num=81)
    fig = plotting.plot_derivative_check(
        check, _log_past_minus_2, given_label="df", given_end=-3.0, autodiff_end=1.0, start=0.5
    )
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert "descent with df stops at x = -3, where f is not finite" in labels
    assert "descent with autodiff ends at x = 1" in labels
    plt.close(fig)


def _shown_labels(axis):
    """The tick labels of ``axis`` as drawn, major and minor, where they are not empty."""
    axis.get_figure().canvas.draw()
    lo, hi = sorted(axis.get_view_interval())
    ticks = [*axis.get_major_ticks(), *axis.get_minor_ticks()]
    return [t.label1.get_text() for t in ticks if t.label1.get_text() and lo <= t.get_loc() <= hi]


def test_log_epoch_axes_label_counts_in_plain_numbers():
    # Counts within a decade or two were labelled 4x10^0, 6x10^0, 2x10^1.
    res = jaxgd.sweep(notebook, 0.0, [0.01, 0.05, 0.1], [5, 10, 20])
    fig = plotting.plot_heatmap(res)
    shown = _shown_labels(fig.axes[0].yaxis)
    assert fig.axes[0].get_yscale() == "log"
    assert {"10", "20"} <= set(shown) and not any("times" in t or "^" in t for t in shown)
    plotting.close(fig)
    fig = plotting.plot_final(res.isel(learning_rate=1))
    shown = _shown_labels(fig.axes[0].xaxis)
    assert {"10", "20"} <= set(shown) and not any("times" in t or "^" in t for t in shown)
    plotting.close(fig)
    # Learning rates keep their powers of ten: 1e-10 is no number to write out.
    res = jaxgd.sweep(notebook, 0.0, np.geomspace(1e-10, 0.1, 4), [5, 10, 20])
    fig = plotting.plot_heatmap(res)
    assert any("10^{-10}" in t for t in _shown_labels(fig.axes[0].xaxis))
    plotting.close(fig)


@pytest.mark.parametrize(
    ("rates", "epochs", "xticks", "yticks"),
    [
        # Two cells of each: ticks at the values, one in each cell.
        ([0.01, 0.1], [0, 100], ["0.01", "0.1"], ["0", "100"]),
        # Values a default label would merge are told apart.
        ([0.1, 0.1000001], [10, 20, 30], ["0.1", "0.1000001"], ["10", "20", "30"]),
        # Five rates from 1: the first cell, stopped at 0, spans 0 to 13 and read as a rate
        # of about 6 under ticks 0, 20, 40, ...
        (
            [1.0, 25.75, 50.5, 75.25, 100.0],
            [0, 10, 20, 30, 40, 50],
            ["1", "25.75", "50.5", "75.25", "100"],
            ["0", "10", "20", "30", "40", "50"],
        ),
    ],
)
def test_maps_of_few_values_are_ticked_at_them(rates, epochs, xticks, yticks):
    # Matplotlib's ticks over the cells of epochs 0 and 100 read 0, 20, ..., 140: counts the
    # map never ran, and no tick said which cell is 100.
    fig = plotting.plot_heatmap(jaxgd.sweep(notebook, 0.0, rates, epochs))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == xticks
    assert [t.get_text() for t in ax.get_yticklabels()] == yticks
    np.testing.assert_allclose(ax.get_yticks(), epochs)
    plotting.close(fig)


def test_log_maps_of_few_values_are_ticked_at_them_in_powers_of_ten():
    # Rates 1e-10 and 10 on a log axis: cells from 1e-15 to 1e6, ticked at 1e-15, 1e-12,
    # ..., 1e6, and neither rate among them.
    res = jaxgd.sweep(notebook, 0.0, [1e-10, 10.0], [0, 100])
    fig = plotting.plot_heatmap(res, rate_scale="log")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.get_xticks(), [1e-10, 10.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        r"$\mathdefault{10^{-10}}$",
        r"$\mathdefault{10^{1}}$",
    ]
    plotting.close(fig)
    # Rounding (geomspace's 9.99...e-05) is no 10 x 10^-5; counts stay plain numbers.
    res = jaxgd.sweep(notebook, 0.0, np.geomspace(1e-10, 0.1, 4), [5, 10, 20])
    fig = plotting.plot_heatmap(res)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][2] == r"$\mathdefault{10^{-4}}$"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["5", "10", "20"]
    res = jaxgd.sweep(notebook, 0.0, [1e-3, 2e-3, 5e-3], [10, 20, 50])
    labels = [t.get_text() for t in plotting.plot_heatmap(res).axes[0].get_xticklabels()]
    assert labels[1] == r"$\mathdefault{2\times10^{-3}}$"


def test_maps_of_few_bunched_values_keep_ticks_that_do_not_overlap():
    # 0, 5, 10 and 500 epochs: labels at the values would overlap at the foot.
    fig = plotting.plot_heatmap(jaxgd.sweep(notebook, 0.0, [0.01, 0.1], [0, 5, 10, 500]))
    ticks = fig.axes[0].get_yticks()
    assert 5 not in ticks and len(ticks) > 2
    plotting.close(fig)


def _tick_labels_apart(fig, axis) -> bool:
    renderer = fig.canvas.get_renderer()
    boxes = sorted(
        (t.get_window_extent(renderer) for t in axis.get_ticklabels() if t.get_text()),
        key=lambda b: b.x0,
    )
    return all(a.x1 <= b.x0 for a, b in itertools.pairwise(boxes))


def test_tiny_starts_are_labelled_with_a_common_power_of_ten():
    # Starts in [-0.001, 0.001] were labelled -0.00100, -0.00075, ...: each label ran into
    # the next along x.
    res = jaxgd.sweep(notebook, np.linspace(-1e-3, 1e-3, 9), 0.01, 10)
    fig = plotting.plot_final(res)
    fig.canvas.draw()
    ax = fig.axes[0]
    offset = ax.xaxis.get_offset_text().get_text().replace("\N{MINUS SIGN}", "-")
    assert offset == "1e-3"
    assert _tick_labels_apart(fig, ax.xaxis)
    plotting.close(fig)
    # A caller's own axes keep the caller's formatting.
    user, ax = plt.subplots()
    plotting.plot_final(res, ax=ax)
    user.canvas.draw()
    assert ax.xaxis.get_offset_text().get_text() == ""
    plotting.close(user)


def test_every_run_diverged_note_is_not_struck_through_by_a_minimum():
    # The minimum's dashed line at 0 ran through the middle of the note.
    res = jaxgd.sweep(_quartic, np.linspace(1.0, 2.0, 5), 10.0, 50)
    fig = plotting.plot_final(res, minima=find_minima(_quartic, -2.0, 2.0))
    (note,) = [t for t in fig.axes[0].texts if "every run diverged" in t.get_text()]
    box = note.get_bbox_patch()
    assert box is not None and box.get_facecolor()[:3] == (1, 1, 1)
    assert note.get_zorder() > max(line.get_zorder() for line in fig.axes[0].get_lines())
    plotting.close(fig)


def test_final_guesses_close_together_are_labelled_in_full_along_y():
    # Guesses within 2e-4 of each other: matplotlib wrote "x10^-4 -1.428" above ticks of
    # -7.0, -7.5, ..., which a reader had to add up.
    res = jaxgd.sweep(notebook, [0.0, 1.0], 0.1, 100)
    fig = plotting.plot_final(res)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text().replace("\N{MINUS SIGN}", "-") for t in ax.get_yticklabels()]
    assert all("-1.428" in label for label in labels if label)
    plotting.close(fig)


@pytest.mark.parametrize("epochs", [[0, 10, 100, 1000], [0, 5, 50, 500, 5000]])
def test_maps_of_0_and_log_spaced_epochs_give_every_count_a_row_one_can_see(epochs):
    # On a linear scale the rows of 0 and 10 epochs (of 0, 10, 100, 1000) were 1% of the map
    # each; linear to the smallest count and log above, every row is as tall as the next.
    res = jaxgd.sweep(notebook, -5.0, [0.1, 0.2], epochs)
    fig = plotting.plot_heatmap(res)
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog"
    (mesh,) = ax.collections
    rows = ax.yaxis.get_transform().transform(np.unique(mesh.get_coordinates()[:, 0, 1]))
    assert np.diff(rows).min() >= 0.5 * np.diff(rows).max()
    assert ax.get_ylim()[0] == 0.0
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "0" in labels and all(re.fullmatch(r"\d+", label) for label in labels)
    if len(epochs) <= 4:  # few counts: each its own tick
        assert labels == [str(e) for e in epochs]
    plotting.close(fig)
    # Asked for, linear it is; and counts within a decade of each other stay linear.
    assert plotting.plot_heatmap(res, epochs_scale="linear").axes[0].get_yscale() == "linear"
    res = jaxgd.sweep(notebook, -5.0, [0.1, 0.2], [0, 150, 160, 170])
    assert plotting.plot_heatmap(res).axes[0].get_yscale() == "linear"


def _constant(x):
    return 0.0 * x + 3.0


def test_a_map_of_one_value_says_so_on_its_colour_bar():
    # f constant: every run stays at its start. The bar had spanned a made-up 999 to 1001
    # around 1000, read as values the map holds.
    res = jaxgd.sweep(_constant, 1000.0, np.linspace(0.0, 0.1, 5), [10, 20, 30])
    fig = plotting.plot_heatmap(res)
    bar = fig.axes[1]
    assert [t.get_text() for t in bar.get_yticklabels()] == ["every cell\n1000"]
    assert list(bar.get_yticks()) == [1000.0]
    plotting.close(fig)
    panels = jaxgd.sweep(_constant, [1000.0, 1000.0], np.linspace(0.0, 0.1, 5), [10, 20, 30])
    fig = plotting.plot_panels(panels, "start")
    bar = fig.axes[-1]
    assert [t.get_text() for t in bar.get_yticklabels()] == ["every cell\n1000"]
    plotting.close(fig)
    # Given limits, or two values, keep the usual ticks.
    fig = plotting.plot_heatmap(res, vmin=0.0, vmax=2000.0)
    assert len(fig.axes[1].get_yticks()) > 1
    plotting.close(fig)
