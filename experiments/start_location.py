"""Experiment 1: where descent ends, against where it starts.

The notebook's grid: 50 starts evenly spaced in [-5, 5], learning rate 0.01, 1000 epochs, all
in one compiled sweep. Each final guess is coloured by the local minimum it reached.

    python -m experiments.start_location
    python -m experiments.start_location --starts -6 6 200 --learning-rate 0.1
"""

from __future__ import annotations

import sys

import numpy as np

import jaxgd
from jaxgd import cli, plotting


@cli.command
def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(p, starts=cli.Grid(-5, 5, 50), learning_rate=0.01, epochs=1000)
    ctx = cli.setup(p, argv)

    res = jaxgd.sweep(ctx.f, ctx.starts, ctx.learning_rate, ctx.epochs).squeeze()

    fig = plotting.plot_final(
        res,
        minima=ctx.minima,
        tol=ctx.tol,
        title=(
            f"Final guess against starting guess\nf: {ctx.function.name}, learning rate "
            f"{cli.num(ctx.learning_rate)}, {ctx.epochs} epochs"
        ),
    )
    ctx.save(fig, "start_location")

    starts = np.asarray(res.starts)
    print(ctx.describe_function())
    print(
        f"{starts.size} starts from {cli.num(starts.min())} to {cli.num(starts.max())}, "
        f"learning rate {cli.num(ctx.learning_rate)}, {ctx.epochs} epochs"
    )
    print(ctx.describe_minima())
    print(*ctx.tally(res.final, noun="starts", coords=("x0 from", starts)), sep="\n")
    return ctx.finish()


if __name__ == "__main__":
    sys.exit(main())
