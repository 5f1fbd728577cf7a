"""The notebook's first run: one descent from a random start, marked on f and f'.

The notebook picks a start at random from its plotting grid (np.random.choice(x)), runs 1000
epochs at rate 0.01 with a hand-written derivative, and titles the plot with the minimum found.
Here f' comes from jax.grad and the random start from a seeded jax.random key.

    python -m experiments.single_run             # seeded random start (--seed)
    python -m experiments.single_run --start 2   # a start of your choice
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import jaxgd
from jaxgd import analysis, cli, plotting

FIGURES = ("single_run",)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(p, start="random", learning_rate=0.01, epochs=1000)
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = cli.setup(parser(), argv, figures=FIGURES)
    cli.checked()

    x0, rate, epochs = ctx.start, ctx.learning_rate, ctx.epochs
    res = jaxgd.sweep(ctx.f, x0, rate, epochs)
    found = float(np.asarray(res.final).reshape(()))
    diverged = bool(np.asarray(res.diverged).reshape(()))
    ctx.reached([found])

    near = analysis.nearest_minimum([found], ctx.minima, tol=ctx.tol)[0]
    at_minimum = bool(near >= 0) and not diverged
    fig = plotting.plot_function(
        ctx.f,
        ctx.domain,
        points=[found],
        points_label="minimum found" if at_minimum else "where descent ended",
        start=x0,
        title=(
            (
                f"Where one descent ended: x = {cli.num(found)}\n"
                if np.isfinite(found)
                else "One descent, which diverged\n"
            )
            + f"f: {ctx.function.name}, x₀ = {cli.num(x0)}, learning rate "
            f"{cli.num(rate)}, {cli.plural(epochs, 'epoch')}"
        ),
    )
    ctx.save(fig, "single_run")
    ctx.save_result(res)

    print(ctx.describe_function())
    print(
        f"descent from x0 = {cli.num(x0)} ({ctx.describe_start()}), learning rate "
        f"{cli.num(rate)}, {cli.plural(epochs, 'epoch')}"
    )
    note = ctx.stationary(x0)
    if note:
        print(note)
    if (diverged or not np.isfinite(found)) and not _finite_at(ctx.f, x0, ctx.dtype):
        # Not the rate's doing: the run could not take a first step (or f is NaN there).
        print(
            f"minimum found: none, f or its derivative is not finite at the start x0 = "
            f"{cli.num(x0)}: choose another --start (or --function)"
        )
        return ctx.finish()
    if not np.isfinite(found):
        print("minimum found: none, the run diverged (try a smaller --learning-rate)")
    elif diverged:
        print(f"minimum found: none, the run diverged: f is not finite at x = {cli.num(found)}")
    else:
        value = float(np.asarray(res.value).reshape(()))
        # The notebook's name for where descent ended, said so when it is no minimum.
        after = (
            "" if at_minimum else f" (where descent ended, within {cli.num(ctx.tol)} of no minimum)"
        )
        print(f"minimum found: x = {cli.num(found)}, f(x) = {cli.num(value)}{after}")
    print(ctx.describe_minima())
    print(ctx.ended_at(found, diverged))
    return ctx.finish()


def _finite_at(f, x0: float, dtype: np.dtype) -> bool:
    """Whether f and f' are finite at ``x0``, in ``dtype``."""
    value, slope = jax.value_and_grad(f)(jnp.asarray(x0, dtype))
    return bool(np.isfinite(value) and np.isfinite(slope))


if __name__ == "__main__":
    cli.run(main)
