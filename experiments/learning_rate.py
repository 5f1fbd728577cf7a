"""Experiment 2: where descent ends, against the learning rate.

The notebook's grid: 50 learning rates evenly spaced in [1e-10, 0.1], start 0, 1000 epochs, all
in one compiled sweep. Each final guess is coloured by the local minimum it reached.

    python -m experiments.learning_rate
    python -m experiments.learning_rate --learning-rates 0 2 100 --function steep_wall
"""

from __future__ import annotations

import sys

import numpy as np

import jaxgd
from jaxgd import cli, plotting


@cli.command
def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(p, start=0.0, learning_rates=cli.Grid(1e-10, 0.1, 50), epochs=1000)
    ctx = cli.setup(p, argv)

    res = jaxgd.sweep(ctx.f, ctx.start, ctx.learning_rates, ctx.epochs).squeeze()

    fig = plotting.plot_final(
        res,
        minima=ctx.minima,
        tol=ctx.tol,
        title=(
            f"Final guess against learning rate\nf: {ctx.function.name}, x₀ = "
            f"{cli.num(ctx.start)}, {ctx.epochs} epochs"
        ),
    )
    ctx.save(fig, "learning_rate")

    rates, final = np.asarray(res.learning_rates), np.asarray(res.final)
    top = int(np.argmax(rates))
    print(ctx.describe_function())
    print(
        f"start {cli.num(ctx.start)}, {ctx.epochs} epochs, {rates.size} learning rates from "
        f"{cli.num(rates.min())} to {cli.num(rates.max())}"
    )
    print(
        f"final guess at the largest rate, {cli.num(rates[top])}: {cli.num(final[top])}; "
        f"{ctx.ended_at(final[top])}"
    )
    print(ctx.describe_minima())
    print(*ctx.tally(final, noun="rates", coords=("rates from", rates)), sep="\n")
    return ctx.finish()


if __name__ == "__main__":
    sys.exit(main())
