"""Experiment 2: where descent ends, against the learning rate.

The notebook's grid: 50 learning rates evenly spaced in [1e-10, 0.1], start 0, 1000 epochs, all
in one compiled sweep. Each final guess is coloured by the local minimum it reached.

    python -m experiments.learning_rate
    python -m experiments.learning_rate --learning-rates 1e-4 1 50 log   # log-spaced rates
    python -m experiments.learning_rate --learning-rates 0 2 100 --function steep_wall
"""

from __future__ import annotations

import argparse

import numpy as np

import jaxgd
from jaxgd import cli, plotting

FIGURES = ("learning_rate",)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(p, start="function", learning_rates=cli.Grid(1e-10, 0.1, 50), epochs=1000)
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = cli.setup(parser(), argv, figures=FIGURES)
    cli.checked()

    res = jaxgd.sweep(ctx.f, ctx.start, ctx.learning_rates, ctx.epochs)
    rates, final = np.asarray(res.learning_rates), np.asarray(res.final).reshape(-1)
    diverged = np.asarray(res.diverged).reshape(-1)
    ctx.reached(final)

    fig = plotting.plot_final(
        res.squeeze(),
        minima=ctx.minima,
        tol=ctx.tol,
        f=ctx.f,
        xscale=ctx.scale("learning_rates"),
        title=(
            f"Where descent ends, for each learning rate\nf: {ctx.function.name}, x₀ = "
            f"{cli.num(ctx.start)}, {cli.plural(ctx.epochs, 'epoch')}"
        ),
    )
    ctx.save(fig, "learning_rate")
    ctx.save_result(res)

    top = int(np.argmax(rates))
    spacing = "log-spaced" if ctx.grid("learning_rates").log else "evenly spaced"
    print(ctx.describe_function())
    print(
        f"start {cli.num(ctx.start)} ({ctx.describe_start()}), "
        f"{cli.plural(ctx.epochs, 'epoch')}, {rates.size} learning rates {spacing} from "
        f"{cli.num(rates.min())} to {cli.num(rates.max())}"
    )
    note = ctx.stationary(ctx.start, moved=np.any(final != ctx.start))
    if note:
        print(note)
    print(
        f"final guess at the largest rate, {cli.num(rates[top])}: {cli.num(final[top])}; "
        f"{ctx.ended_at(final[top], diverged[top])}"
    )
    print(ctx.describe_minima())
    print(*ctx.tally(final, noun="rates", diverged=diverged, coords=("rates", rates)), sep="\n")
    return ctx.finish()


if __name__ == "__main__":
    cli.run(main)
