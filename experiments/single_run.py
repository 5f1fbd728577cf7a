"""The notebook's first run: one descent from a random start, marked on f and f'.

The notebook picks a start at random from its plotting grid (np.random.choice(x)), runs 1000
epochs at rate 0.01 with a hand-written derivative, and titles the plot with the minimum found.
Here f' comes from jax.grad and the random start from a seeded jax.random key.

    python -m experiments.single_run             # seeded random start (--seed)
    python -m experiments.single_run --start 2   # a start of your choice
"""

from __future__ import annotations

import sys

import numpy as np

import jaxgd
from jaxgd import cli, plotting


@cli.command
def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(p, start="random", learning_rate=0.01, epochs=1000)
    ctx = cli.setup(p, argv)

    x0 = ctx.start
    found = float(jaxgd.descend(ctx.f, x0, ctx.learning_rate, ctx.epochs))

    fig = plotting.plot_function(
        ctx.f,
        ctx.domain,
        points=[found],
        start=x0,
        title=(
            f"Empirical local minimum: x = {cli.num(found)}\n"
            f"f: {ctx.function.name}, x₀ = {cli.num(x0)}, learning rate "
            f"{cli.num(ctx.learning_rate)}, {ctx.epochs} epochs"
        ),
    )
    ctx.save(fig, "single_run")

    how = (
        f"a seeded random point of {ctx.domain_text}, seed {ctx.seed}"
        if ctx.start_is_random
        else "--start"
    )
    print(ctx.describe_function())
    print(
        f"descent from x0 = {cli.num(x0)} ({how}), learning rate {cli.num(ctx.learning_rate)}, "
        f"{ctx.epochs} epochs"
    )
    if not np.isfinite(found):
        print("minimum found: none, the run diverged (try a smaller --learning-rate)")
    else:
        print(f"minimum found: x = {cli.num(found)}, f(x) = {cli.num(ctx.f(found))}")
    print(ctx.describe_minima())
    print(ctx.ended_at(found))
    return ctx.finish()


if __name__ == "__main__":
    sys.exit(main())
