"""Experiment 3: how the learning rate and the number of epochs interact, from one start.

The notebook's grid: 50 learning rates in [1e-10, 0.1] by 40 epoch counts in [10, 500], from
start 0. The notebook reran descent for every cell; here one compiled sweep runs each rate once
for 500 epochs and reads the other counts off the way. Two figures: the final guess as a map
(rate on x, epochs on y) and as lines (one per epoch count). Colour limits come from the data
(2nd..98th percentile), no wider than the domain, the start and f's minima with a margin,
unless --vmin/--vmax say otherwise.

    python -m experiments.lr_epochs               # start 0
    python -m experiments.lr_epochs --start 1.6   # the notebook's Additional exploration 1
"""

from __future__ import annotations

import argparse

import numpy as np

import jaxgd
from jaxgd import analysis, cli, plotting

FIGURES = ("lr_epochs_heatmap", "lr_epochs_lines")


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(
        p, start="function", learning_rates=cli.Grid(1e-10, 0.1, 50), epochs=cli.Grid(10, 500, 40)
    )
    cli.add_color_args(p)
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = cli.setup(parser(), argv, figures=FIGURES)
    cli.checked()

    sweep = jaxgd.sweep(ctx.f, ctx.start, ctx.learning_rates, ctx.epochs)
    res = sweep.isel(start=0)

    rates, epochs = np.asarray(res.learning_rates), np.asarray(res.epochs)
    final = np.asarray(res.final, np.float64)
    diverged = np.asarray(res.diverged)
    ctx.reached(final)
    r, e = int(np.argmax(rates)), int(np.argmax(epochs))
    # The minimum the longest run at the largest rate settled in: what "getting there" means.
    # Over the whole grid, as ctx.reached did: the same shape compiles no second program.
    near = analysis.nearest_minimum(final, ctx.minima, tol=ctx.tol)
    i = near[r, e]
    target = ctx.target(int(i)) if i >= 0 else None

    about = f"f: {ctx.function.name}, x₀ = {cli.num(ctx.start)}"
    vmin, vmax, limits = ctx.map_limits(final, start=ctx.start)
    scales = {"rate_scale": ctx.scale("learning_rates"), "epochs_scale": ctx.scale("epochs")}
    heatmap = plotting.plot_heatmap(
        res,
        **scales,
        vmin=vmin,
        vmax=vmax,
        target=target,
        tol=ctx.tol,
        title=f"Where descent ends, by learning rate and epochs\n{about}",
    )
    ctx.save(heatmap, "lr_epochs_heatmap")
    lines = plotting.plot_lines(
        res,
        **scales,
        minima=ctx.minima,
        tol=ctx.tol,
        title=f"Where descent ends, one line per number of epochs\n{about}",
    )
    ctx.save(lines, "lr_epochs_lines")
    ctx.save_result(sweep)

    print(ctx.describe_function())
    print(
        f"start {cli.num(ctx.start)} ({ctx.describe_start()}); {rates.size} learning rates "
        f"from {cli.num(rates.min())} to {cli.num(rates.max())} x {epochs.size} epoch counts "
        f"from {epochs.min()} to {epochs.max()}: {final.size} cells from one sweep"
    )
    note = ctx.stationary(ctx.start, moved=np.any(final != ctx.start))
    if note:
        print(note)
    print(
        f"final guess after {cli.plural(int(epochs[e]), 'epoch')} at rate {cli.num(rates[r])}: "
        f"{cli.num(final[r, e])}; {ctx.ended_at(final[r, e], diverged[r, e])}"
    )
    print(ctx.describe_minima())
    print(*ctx.tally(final, noun="cells", diverged=diverged), sep="\n")
    if target is not None:
        there = near == i
        print(
            f"smallest rate that gets within {cli.num(ctx.tol)} of {ctx.location(int(i))} in "
            f"{cli.plural(int(epochs[e]), 'epoch')}: {cli.num(rates[there[:, e]].min())}; "
            "fewest epochs on the grid"
            f" that get there at rate {cli.num(rates[r])}: {epochs[there[r, :]].min()}"
        )
    print(f"colour limits: {limits}")
    return ctx.finish()


if __name__ == "__main__":
    cli.run(main)
