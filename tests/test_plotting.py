"""jaxgd.plotting: what each figure draws, checked on the artists, not by eye."""

from __future__ import annotations

import subprocess
import sys

import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import jaxgd
from jaxgd import plotting
from jaxgd.functions import notebook
from jaxgd.minima import find_minima
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
    assert labels[0] == f"global minimum x = -1.4289 ({n_global} of 21)"
    assert labels[1] == f"local minimum x = 4.3058 ({n_local} of 21)"
    assert n_global > 0 and n_local > 0
    assert ax.get_xlabel() == "Starting guess x₀"
    assert ax.get_ylabel() == "Final guess x"
    assert ax.get_title() == "Final guess at learning rate 0.1, after 2000 epochs"


def test_plot_final_marks_diverged_runs_on_the_axis():
    res = jaxgd.sweep(lambda x: x**4, 3.0, jnp.array([0.001, 0.01, 1.0, 2.0]), 50).squeeze()
    assert int(res.diverged.sum()) == 2
    fig = plotting.plot_final(res)
    crosses = [line for line in fig.axes[0].lines if line.get_label().startswith("diverged")]
    assert crosses[0].get_label() == "diverged (2 of 4)"
    np.testing.assert_allclose(crosses[0].get_xdata(), [1.0, 2.0])
    assert fig.axes[0].get_xlabel() == "Learning rate"


def test_plot_final_needs_one_axis():
    res = jaxgd.sweep(notebook, [0.0, 1.0], [0.1, 0.2], 10)
    with pytest.raises(ValueError, match="exactly one axis longer than 1"):
        plotting.plot_final(res)


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
    # Nothing to outline when no cell or every cell got there: no line, no legend.
    fig = plotting.plot_heatmap(res, target=100.0)
    assert len(fig.axes[0].collections) == 1
    assert fig.axes[0].get_legend() is None


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
    assert int(res.diverged.sum()) == 1
    fig = plotting.plot_heatmap(res, vmin=-1.0, vmax=2.0)
    ax = fig.axes[0]
    image = _mesh(ax).get_array()
    assert int(np.ma.getmaskarray(image).sum()) == 1
    assert _mesh(ax).get_clim() == (-1.0, 2.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["diverged (1 cells)"]


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
    assert cax.get_ylabel() == "Training epochs"
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
    assert "Fraction of 7 starts within 0.001 of x* = -1.4289" in fig.axes[4].get_ylabel()
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
    x = np.linspace(-2 * np.pi, 2 * np.pi, 301)
    lines = {line.get_label(): line for line in top.lines}
    np.testing.assert_allclose(lines["f(x)"].get_ydata(), ref.f(x), atol=1e-12)
    np.testing.assert_allclose(lines["f'(x) from autodiff"].get_ydata(), ref.df(x), atol=1e-12)
    np.testing.assert_allclose(lines["cos only"].get_ydata(), wrong(x), atol=1e-12)
    given = lines["descent with cos only ends at x = -1.6"]
    np.testing.assert_allclose(given.get_ydata()[0], ref.f(-1.6), atol=1e-12)
    assert "descent with autodiff ends at x = -1.43" in lines
    bad = int((np.abs(wrong(x) - ref.df(x)) > 1e-9 + 1e-6 * np.abs(ref.df(x))).sum())
    assert top.get_title() == (
        f"Given derivative (cos only) against autodiff: disagree at {bad} of 301 points, "
        f"max |error| {check.max_error:.3g}"
    )
    error, dropped = (line for line in bottom.lines if not line.get_label().startswith("_"))
    np.testing.assert_allclose(error.get_ydata(), wrong(x) - ref.df(x), atol=1e-12)
    assert dropped.get_label() == "the dropped term"
    np.testing.assert_allclose(dropped.get_ydata(), wrong(x) - ref.df(x), atol=1e-12)
    assert bottom.get_ylabel() == "given - autodiff"
