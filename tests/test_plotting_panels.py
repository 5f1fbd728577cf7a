"""Panels along one dimension: one shared colour scale, the right data in each panel, errors
that say which dimension to select."""

from __future__ import annotations

import itertools
import re
from functools import partial

import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import jaxgd
from jaxgd import plotting


def f(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


STARTS = np.array([-3.0, 0.0, 1.6])
RATES = np.linspace(0.01, 0.1, 4)
EPOCHS = np.array([10, 100, 300])


@pytest.fixture(autouse=True)
def _close_all():
    before = set(plt.get_fignums())
    yield
    for n in set(plt.get_fignums()) - before:
        plt.close(n)


@pytest.fixture(scope="module")
def res():
    return jaxgd.sweep(f, STARTS, RATES, EPOCHS).to_numpy()


def _mesh(ax):
    from matplotlib.collections import QuadMesh

    return next(c for c in ax.collections if isinstance(c, QuadMesh))


def test_panels_share_one_colour_scale_and_show_each_value(res):
    fig = plotting.plot_panels(res, "start")
    panels = fig.axes[: STARTS.size]
    limits = {_mesh(ax).get_clim() for ax in panels}
    assert len(limits) == 1  # one scale for every panel
    lo, hi = limits.pop()
    expected = plotting.color_limits(res.final)
    assert (lo, hi) == pytest.approx(expected)
    assert len(fig.axes) == STARTS.size + 1  # one colour bar for all
    for ax, x0 in zip(panels, STARTS, strict=True):
        shown = np.asarray(_mesh(ax).get_array()).reshape(EPOCHS.size, RATES.size)
        np.testing.assert_allclose(shown.T, res.sel(start=x0).final)
        assert ax.get_title() == f"Starting guess x₀ = {x0:g}"


def test_panels_take_given_limits_rows_and_a_target(res):
    fig = plotting.plot_panels(res, "start", vmin=-2.0, vmax=5.0, ncols=2, target=-1.42887)
    assert _mesh(fig.axes[0]).get_clim() == (-2.0, 5.0)
    gs = fig.axes[0].get_subplotspec().get_gridspec()
    assert (gs.nrows, gs.ncols) == (2, 2)
    # The target's outline is drawn where some cells reached it and some did not.
    assert any(ax.get_legend() is not None for ax in fig.axes[:3])


def test_panels_need_the_other_dimensions_selected(res):
    with pytest.raises(
        ValueError, match=r"select one value of each first, e.g. res.sel\(epochs=300\)"
    ):
        plotting.plot_basins_along(res, "learning_rate", [])
    with pytest.raises(ValueError, match="'epochs' is already an axis of the figure"):
        plotting.plot_panels(res, "epochs")
    with pytest.raises(ValueError, match="dim must name one of the result's dimensions"):
        plotting.plot_panels(res, "optimizer")
    with pytest.raises(ValueError, match="ncols"):
        plotting.plot_panels(res, "start", ncols=0)


def test_ends_draw_one_line_per_value_with_the_final_guesses(res):
    minima = jaxgd.find_minima_reached(f, res.final, (-7.0, 7.0))
    fig = plotting.plot_ends(res, "learning_rate", epochs=300, minima=minima)
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert len(lines) == RATES.size
    # Each line's points set apart sideways, centred on the starts: lines that coincide
    # (runs ending at the same minima) hid each other.
    gap = 0.6 * np.median(np.diff(np.sort(STARTS))) / RATES.size
    for k, (line, rate) in enumerate(zip(lines, RATES, strict=True)):
        shift = (k - (RATES.size - 1) / 2) * gap
        np.testing.assert_allclose(line.get_xdata(), np.sort(STARTS) + shift)
        expected = res.sel(learning_rate=rate, epochs=300).final
        np.testing.assert_allclose(line.get_ydata(), expected[np.argsort(STARTS)])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    at_global = np.abs(res.sel(epochs=300).final - -1.42887) <= 1e-3
    for rate, n in zip(RATES, at_global.sum(axis=0), strict=True):
        label = f"Learning rate = {rate:g}: {n} of 3 starts within 0.001 of the global minimum"
        assert label in texts
    assert ax.get_title() == "Where each start ends after 300 epochs"


def test_ends_ask_for_a_rate_when_there_are_several(res):
    with pytest.raises(ValueError, match="pick one with learning_rate="):
        plotting.plot_ends(res, "epochs")
    fig = plotting.plot_ends(res, "epochs", learning_rate=RATES[1])
    assert fig.axes[0].get_title() == f"Where each start ends at learning rate {RATES[1]:g}"
    with pytest.raises(ValueError, match="'start' is already an axis of the figure"):
        plotting.plot_ends(res, "start")


@pytest.mark.parametrize("name", ["plot_ends", "plot_basins_along"])
def test_a_panel_of_starts_needs_a_start_dimension_besides_its_own(res, name):
    plot = getattr(plotting, name)
    if name == "plot_basins_along":  # its minima are checked after the dimensions
        plot = partial(plot, minima=[])
    with pytest.raises(ValueError, match=rf"{name}: 'start' is already an axis of the figure"):
        plot(res.sel(epochs=300), "start")
    with pytest.raises(ValueError, match=r"needs a start dimension besides 'learning_rate'"):
        plot(res.isel(start=0).sel(epochs=300), "learning_rate")


def test_basins_along_say_where_each_start_ends_and_the_share(res):
    r = res.sel(epochs=300)
    minima = jaxgd.find_minima_reached(f, r.final, (-7.0, 7.0))
    fig = plotting.plot_basins_along(r, "learning_rate", minima)
    left, right = fig.axes[:2]
    share = right.get_lines()[0].get_ydata()
    expected = (np.abs(r.final - -1.42887) <= 1e-3).mean(axis=0)
    np.testing.assert_allclose(share, expected)
    green = [ln for ln in left.get_lines() if ln.get_color() == "tab:green"]
    assert sum(ln.get_xdata().size for ln in green) == int((expected * STARTS.size).sum())
    # The axis is named once; its ticks are the values alone.
    assert left.get_ylabel() == right.get_xlabel() == "Learning rate"
    ticks = [t.get_text() for t in left.get_yticklabels()]
    assert ticks == [f"{v:g}" for v in np.asarray(r.learning_rates)]
    with pytest.raises(ValueError, match="one per value"):
        plotting.plot_basins_along(r, "learning_rate", [minima])


def test_basins_along_key_only_what_is_drawn_and_count_minima_off_the_axis(res):
    # Starts -3, 0 and 1.6: the minima of f at 4.3 and -7.2 lie beyond them, and their ticks
    # were dropped without a word; no run diverged, yet the key listed "diverged".
    r = res.sel(epochs=300)
    minima = jaxgd.find_minima(f, -8.0, 8.0)
    fig = plotting.plot_basins_along(r, "learning_rate", minima)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "diverged" not in labels
    inner = np.asarray(minima.x)[~np.asarray(minima.at_boundary)]
    off = int(((inner < STARTS.min()) | (inner > STARTS.max())).sum())
    assert off >= 2
    assert f"minima of f ({off} more outside the starts' range)" in labels, labels
    plotting.close(fig)


def test_the_share_against_rates_from_0_shows_no_negative_rate():
    r = jaxgd.sweep(f, STARTS, [0.0, 0.05, 0.1], 100).isel(epochs=0)
    minima = jaxgd.find_minima_reached(f, r.final, (-7.0, 7.0))
    fig = plotting.plot_basins_along(r, "learning_rate", minima)
    assert fig.axes[1].get_xlim()[0] == 0.0
    plotting.close(fig)


@pytest.fixture(scope="module")
def by_optimizer():
    """A sweep with an "optimizer" dimension, from optax's own loop (benchmarks.optimizers)."""
    import optax

    from benchmarks.optimizers import by_hand_host

    makers = {"sgd": optax.sgd, "adam": optax.adam}
    out = [by_hand_host(f, m, STARTS, RATES, EPOCHS) for m in makers.values()]
    final, value, diverged = (np.stack(a) for a in zip(*out, strict=True))
    return jaxgd.SweepResult(
        final,
        value,
        diverged,
        STARTS.astype(final.dtype),
        RATES.astype(final.dtype),
        EPOCHS,
        dims=("optimizer", "start", "learning_rate", "epochs"),
        optimizers=tuple(makers),
    )


def test_panels_along_the_optimizer_dimension(by_optimizer):
    with pytest.raises(ValueError, match=r"e.g. res.sel\(start=1.6\)"):
        plotting.plot_panels(by_optimizer, "optimizer")
    fig = plotting.plot_panels(by_optimizer.sel(start=0.0), "optimizer")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["sgd", "adam"]
    shown = np.asarray(_mesh(fig.axes[1]).get_array()).reshape(EPOCHS.size, RATES.size)
    np.testing.assert_allclose(shown.T, by_optimizer.final[1, 1])
    assert len({_mesh(ax).get_clim() for ax in fig.axes[:2]}) == 1


def test_ends_and_basins_along_the_optimizer_dimension(by_optimizer):
    fig = plotting.plot_ends(by_optimizer, "optimizer", learning_rate=RATES[-1])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["sgd", "adam"]
    assert (
        fig.axes[0].get_title()
        == f"Where each start ends at learning rate {RATES[-1]:g}, after 300 epochs"
    )
    r = by_optimizer.sel(learning_rate=RATES[-1], epochs=300)
    minima = jaxgd.find_minima_reached(f, r.final, (-7.0, 7.0))
    fig = plotting.plot_basins_along(r, "optimizer", minima)
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["sgd", "adam"]


def test_ends_give_every_value_of_many_a_look_of_its_own():
    # Six colours and six markers, both indexed by k % 6: values k and k + 6 looked alike.
    from jaxgd.plotting.panels import _LINE_COLORS, _MARKERS

    looks = {(_LINE_COLORS[k % len(_LINE_COLORS)], _MARKERS[k % len(_MARKERS)]) for k in range(42)}
    assert len(looks) == 42


def test_basins_along_join_the_shares_in_the_order_of_the_values():
    # Parameters given as 1.0, 0.1, 0.5 drew a line that doubled back on itself.
    from jaxgd.minima import Minima

    m = Minima(np.array([-1.0, 1.0]), np.array([-1.0, 0.0]), np.zeros(2, bool), np.int32(0))
    ends = np.stack([np.full(5, -1.0), np.full(5, 1.0), np.array([-1, -1, 1, 1, 1.0])])
    final = ends[:, :, None, None]
    res = jaxgd.SweepResult(
        final, np.cos(final), np.zeros(final.shape, bool), np.linspace(-2, 2, 5), [0.1], [10],
        dims=("param", "start", "learning_rate", "epochs"),
        coords={"param": np.array([1.0, 0.1, 0.5])},
    )  # fmt: skip
    fig = plotting.plot_basins_along(res.isel(learning_rate=0, epochs=0), "param", m)
    xy = fig.axes[1].lines[0].get_xydata()
    np.testing.assert_array_equal(xy, [[0.1, 0.0], [0.5, 0.4], [1.0, 1.0]])
    assert fig.axes[0].get_ylabel() == fig.axes[1].get_xlabel() == "param"
    plotting.close(fig)
    # The values' own name (the a of f(x, a), the theta of the CLI's --params) on both axes.
    fig = plotting.plot_basins_along(res.isel(learning_rate=0, epochs=0), "param", m, label="a")
    assert fig.axes[0].get_ylabel() == fig.axes[1].get_xlabel() == "a"
    plotting.close(fig)


def test_ends_refuse_a_selection_that_selects_nothing_and_say_the_count_selected_before():
    # learning_rate= on a result without that axis, and epochs= with dim="epochs", were
    # dropped without a word; epochs selected before vanished from the title.
    res = jaxgd.sweep(jnp.cos, np.linspace(-2, 2, 5), [0.1, 0.5], [10, 100])
    with pytest.raises(ValueError, match=r"learning_rate=0.5 selects nothing: .*no learning_r"):
        plotting.plot_ends(res.isel(learning_rate=0), "epochs", learning_rate=0.5)
    with pytest.raises(ValueError, match=r"epochs=10 selects nothing: .*lines run along"):
        plotting.plot_ends(res, "epochs", epochs=10, learning_rate=0.1)
    fig = plotting.plot_ends(res.sel(epochs=100.0), "learning_rate")
    assert fig.axes[0].get_title() == "Where each start ends after 100 epochs"
    plotting.close(fig)


def test_panels_that_say_the_same_share_one_legend_under_them():
    # One legend under each panel repeated the outline's; inside, it hid the lowest rows.
    both = jaxgd.sweep(f, [-1.0, -2.0], RATES, EPOCHS)
    fig = plotting.plot_panels(both, "start", target=-1.42887)
    assert [ax.get_legend() for ax in fig.axes[:2]] == [None, None]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["within 0.001 of x = -1.4289"]
    fig.canvas.draw()
    top = legend.get_window_extent().y1
    assert all(top < ax.get_window_extent().y0 for ax in fig.axes[:2])


def test_panels_whose_counts_differ_keep_a_legend_each():
    # A panel whose runs never reach the target says so ("no cell"); diverged cells are
    # counted per panel: one legend for all would say one panel's only.
    runs = jaxgd.sweep(f, [-1.0, 4.0], RATES, EPOCHS)
    fig = plotting.plot_panels(runs, "start", target=-1.42887)
    texts = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes[:2]]
    assert not fig.legends and texts[0] != texts[1]


def _ends_result(final: np.ndarray) -> jaxgd.SweepResult:
    """A result of starts and two learning rates whose final guesses are ``final`` (S, 2)."""
    final = np.asarray(final, np.float32)[:, :, None]
    return jaxgd.SweepResult(
        final, np.zeros(final.shape, np.float32), np.zeros(final.shape, bool),
        np.linspace(-3, 1, final.shape[0]).astype(np.float32), np.array([0.05, 0.1], np.float32),
        np.array([2000]),
    )  # fmt: skip


def test_ends_apart_by_rounding_only_are_drawn_as_one_value():
    # Every run at the minimum -1.42887, a few float32 ulps apart per rate: the axis zoomed
    # onto the last digits and drew one minimum as two plateaus, as plot_final does not.
    ulp = float(np.spacing(np.float32(1.42887)))
    final = -1.42887 + ulp * np.array([[-8, -3], [-8, -3], [5, 2], [5, 2]])
    fig = plotting.plot_ends(_ends_result(final), "learning_rate")
    lo, hi = fig.axes[0].get_ylim()
    assert lo < -1.42887 - 0.05 and hi > -1.42887 + 0.05
    plotting.close(fig)


def test_ends_flung_far_away_are_marked_on_the_edge_not_squashing_the_rest():
    # One run of 200 at 1e6: the other 199, between -2 and 2, were drawn as one flat line.
    final = np.tile(np.linspace(-2.0, 2.0, 100)[:, None], (1, 2))
    final[3, 1] = 1e6
    fig = plotting.plot_ends(_ends_result(final), "learning_rate")
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert -3 < lo < -1.9 and 1.9 < hi < 3
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "beyond the axis: 1 of 200 runs (at 1e+06), marked on its edge" in labels
    plotting.close(fig)


@pytest.mark.parametrize(
    "values", [[0.001, 0.002], np.geomspace(0.01, 0.05, 5), np.linspace(1e-4, 3e-4, 5)]
)
def test_basins_along_tick_labels_of_the_shares_do_not_overlap(values):
    # The shares' panel is narrow: rates 0.001 and 0.002 got eight labels (0.0010, 0.0012,
    # ...) each over the next, and a log axis under a decade wide one per minor tick.
    from jaxgd.minima import Minima

    m = Minima(np.array([-1.0, 1.0]), np.array([-1.0, 0.0]), np.zeros(2, bool), np.int32(0))
    values = np.asarray(values, np.float64)
    final = np.tile(np.array([-1.0, 1.0, -1.0])[None, :, None, None], (values.size, 1, 1, 1))
    res = jaxgd.SweepResult(
        final, final, np.zeros(final.shape, bool), np.array([-1.0, 0.0, 1.0]), [0.1], [10],
        dims=("param", "start", "learning_rate", "epochs"), coords={"param": values},
    )  # fmt: skip
    fig = plotting.plot_basins_along(res.isel(learning_rate=0, epochs=0), "param", m)
    ax = fig.axes[1]
    fig.canvas.draw()
    lo, hi = sorted(ax.get_xlim())
    labels = ax.xaxis.get_majorticklabels() + ax.xaxis.get_minorticklabels()
    shown = [t for t in labels if t.get_text() and lo <= t.get_position()[0] <= hi]
    spans = sorted((b.x0, b.x1) for b in (t.get_window_extent() for t in shown))
    assert len(spans) >= 2
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    plotting.close(fig)


@pytest.mark.parametrize("ncols", [np.int64(2), np.array(2), jnp.asarray(2)])
def test_panels_take_an_integer_like_ncols(res, ncols):
    # np.int64(2), e.g. from arithmetic on an array's size, was refused as not a whole number.
    fig = plotting.plot_panels(res, "start", ncols=ncols)
    gs = fig.axes[0].get_subplotspec().get_gridspec()
    assert (gs.nrows, gs.ncols) == (2, 2)
    plotting.close(fig)
    for bad in (True, 2.0, np.array([2])):
        with pytest.raises(ValueError, match="ncols must be a whole number"):
            plotting.plot_panels(res, "start", ncols=bad)


def test_ends_name_a_rate_or_count_the_result_lacks_and_list_those_it_has(res):
    # sel's KeyError told to pass method='nearest', which plot_ends does not take.
    with pytest.raises(ValueError, match=r"plot_ends: epochs=11 is not .* pass one of 10, 100, "):
        plotting.plot_ends(res, "learning_rate", epochs=11)
    with pytest.raises(ValueError, match=r"plot_ends: learning_rate=0.5 is not .* 0.01, 0.04,"):
        plotting.plot_ends(res, "epochs", learning_rate=0.5)


def test_starts_that_are_points_of_the_plane_are_refused_by_name():
    # With the coord axis selected, a 2-D sweep's starts stay (S, 2): plot_final drew their
    # coordinates as a scatter, plot_panels and plot_ends failed deep in NumPy.
    from jaxgd.functions2d import himmelblau
    from jaxgd.minima_nd import grid_starts

    res = jaxgd.sweep(himmelblau, grid_starts([(-5, 5), (-5, 5)], 3), [0.01, 0.02], [100, 200])
    one = res.sel(coord=1)
    cases = [
        lambda: plotting.plot_final(res.isel(coord=0, learning_rate=0, epochs=0)),
        lambda: plotting.plot_panels(one, "start"),
        lambda: plotting.plot_ends(one, "learning_rate", epochs=100),
        lambda: plotting.plot_basins_along(
            one.isel(epochs=0), "learning_rate", jaxgd.find_minima_reached(f, [0.0], (-5.0, 5.0))
        ),
    ]
    for make in cases:
        with pytest.raises(ValueError, match=r"points of R\^2 \(shape \(9, 2\)\).*plot_basin_map"):
            make()
    plotting.close(plotting.plot_final(res.isel(coord=0, start=0, epochs=0)))  # a rate axis


def test_the_first_error_for_starts_in_the_plane_points_to_the_basin_maps():
    # It suggested res.isel(coord=0) alone, which the plots against x₀ then refuse.
    from jaxgd.functions2d import himmelblau
    from jaxgd.minima_nd import grid_starts

    res = jaxgd.sweep(himmelblau, grid_starts([(-5, 5), (-5, 5)], 3), [0.01], [100])
    with pytest.raises(ValueError, match=r"isel\(coord=0\) \(plots against the start x₀ need"):
        plotting.plot_final(res)
    with pytest.raises(ValueError, match="plot_basin_map or plot_basin_maps"):
        plotting.plot_final(res)


def test_plots_against_the_start_refuse_a_whole_plane_sweep_by_its_starts_first():
    # Given the 2-D result as saved (its coord axis still there), they told to select one
    # value of coord, e.g. res.sel(coord=1), which leaves the starts points of the plane and
    # meets the refusal above next: the first error is the one that says what to draw.
    from jaxgd.functions2d import himmelblau
    from jaxgd.minima_nd import grid_starts

    res = jaxgd.sweep(himmelblau, grid_starts([(-5, 5), (-5, 5)], 3), [0.01, 0.02], [100, 200])
    minima = jaxgd.find_minima_reached(f, [0.0], (-5.0, 5.0))
    cases = [
        lambda: plotting.plot_panels(res, "start"),
        lambda: plotting.plot_ends(res, "learning_rate", epochs=100),
        lambda: plotting.plot_basins_along(res.isel(epochs=0), "learning_rate", minima),
    ]
    for make in cases:
        with pytest.raises(ValueError, match=r"points of R\^2 \(shape \(9, 2\)\).*plot_basin_map"):
            make()


def test_errors_about_starts_in_the_plane_give_a_start_sel_takes():
    # Their example start was written with float(): a point of the plane raised TypeError
    # ("only 0-dimensional arrays can be converted") in place of the error about the axes.
    from jaxgd.functions2d import himmelblau
    from jaxgd.minima_nd import grid_starts

    starts = grid_starts([(-5, 5), (-5, 5)], 3) + np.float32(0.1)
    res = jaxgd.sweep(himmelblau, starts, [0.01, 0.02], [100, 200], optimizer={"sgd": optax.sgd})
    one = res.isel(coord=0)
    for make, example in (
        (lambda: plotting.plot_heatmap(one.isel(optimizer=0)), r"res\.sel\(start=\[(.*)\]\)"),
        (lambda: plotting.plot_panels(one, "optimizer"), r"res\.sel\(start=\[(.*)\]\)"),
    ):
        with pytest.raises(ValueError) as err:
            make()
        point = [float(c) for c in re.search(example, str(err.value)).group(1).split(", ")]
        assert res.sel(start=point).sizes == {
            "optimizer": 1,
            "learning_rate": 2,
            "epochs": 2,
            "coord": 2,
        }


def _exp_of_square(x):
    return jnp.exp(x**2)


def test_plot_ends_says_why_it_is_empty_when_every_run_diverged():
    # Every line diverged: an axes from 0 to 1 with crosses on its spine and no word inside.
    opt = {"sgd": optax.sgd, "momentum": partial(optax.sgd, momentum=0.9)}
    res = jaxgd.sweep(_exp_of_square, np.linspace(1.0, 3.0, 4), [5.0, 1e-3], [50], optimizer=opt)
    assert np.asarray(res.sel(learning_rate=5.0).diverged).all()
    assert not np.asarray(res.sel(learning_rate=1e-3).diverged).all()  # some finite
    fig = plotting.plot_ends(res, "optimizer", learning_rate=5.0)
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "every run diverged (8 of 8): no final guess to draw"
    ]
    plt.close(fig)
    fig = plotting.plot_ends(res, "optimizer", learning_rate=1e-3)
    assert list(fig.axes[0].texts) == []
    plt.close(fig)
