"""Experiment 1: where descent ends, against where it starts.

The notebook's grid: 50 starts evenly spaced in [-5, 5], learning rate 0.01, 1000 epochs, all
in one compiled sweep. Each final guess is coloured by the local minimum it reached.

    python -m experiments.start_location
    python -m experiments.start_location --starts -6 6 200 --learning-rate 0.1
"""

from __future__ import annotations

import argparse

import numpy as np

import jaxgd
from jaxgd import cli, plotting

FIGURES = ("start_location",)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(p, starts=cli.Grid(-5, 5, 50), learning_rate=0.01, epochs=1000)
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = cli.setup(parser(), argv, figures=FIGURES)
    cli.checked()

    res = jaxgd.sweep(ctx.f, ctx.starts, ctx.learning_rate, ctx.epochs)
    final = np.asarray(res.final).reshape(-1)
    ctx.reached(final)

    fig = plotting.plot_final(
        res.squeeze(),
        minima=ctx.minima,
        tol=ctx.tol,
        f=ctx.f,
        xscale=ctx.scale("starts"),
        title=(
            f"Where descent ends, for each start\nf: {ctx.function.name}, learning rate "
            f"{cli.num(ctx.learning_rate)}, {cli.plural(ctx.epochs, 'epoch')}"
        ),
    )
    ctx.save(fig, "start_location")
    ctx.save_result(res)

    starts = np.asarray(res.starts)
    spacing = "log-spaced" if ctx.grid("starts").log else "evenly spaced"
    print(ctx.describe_function())
    print(
        f"{starts.size} starts {spacing} from {cli.num(starts.min())} to "
        f"{cli.num(starts.max())}, learning rate {cli.num(ctx.learning_rate)}, "
        f"{cli.plural(ctx.epochs, 'epoch')}"
    )
    note = ctx.stationary(starts, moved=final != starts)
    if note:
        print(note)
    print(ctx.describe_minima())
    diverged = np.asarray(res.diverged).reshape(final.shape)
    print(*ctx.tally(final, noun="starts", diverged=diverged, coords=("x0", starts)), sep="\n")
    note = ctx.overshoot(final, ctx.learning_rate, diverged)
    if note:
        print(note)
    return ctx.finish()


if __name__ == "__main__":
    cli.run(main)
