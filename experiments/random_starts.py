"""Additional exploration 2: random starts, one per cell (the notebook) and many per cell.

The notebook reruns Experiment 3 with a fresh random start in every (rate, epochs) cell
(np.random.choice(x) over its grid) and gets a picture that is hard to read: each cell mixes
the effect of the rate and epochs with the luck of its start. The version that answers the
question repeats every cell over many random starts (default 100, drawn uniformly from the
domain, the same starts in every cell) and maps, per cell, the share of starts that reached
the global minimum, another minimum, or none yet: jaxgd.random_starts.
The notebook's picture takes, for each cell, one of those runs at random.

    python -m experiments.random_starts
    python -m experiments.random_starts --repeats 400 --seed 1
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

import jaxgd
from jaxgd import cli, plotting

FIGURES = ("random_starts",)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(
        p, learning_rates=cli.Grid(1e-10, 0.1, 50), epochs=cli.Grid(10, 500, 40), repeats=100
    )
    cli.add_color_args(p)
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = cli.setup(parser(), argv, figures=FIGURES)
    repeats = ctx.repeats
    cli.checked()

    key_starts, key_pick = jax.random.split(ctx.key)
    stats = jaxgd.random_starts(
        ctx.f,
        key_starts,
        ctx.learning_rates,
        ctx.epochs,
        n=repeats,
        domain=ctx.domain,
        tol=ctx.tol,
    )
    res = stats.result
    final = np.asarray(res.final)  # (start, rate, epochs)
    # The minima where the runs ended, past the domain's ends too: the one rule.
    minima = ctx.reached(final)
    global_x = np.asarray(minima.x, np.float64)[ctx.global_minima]
    basins = jaxgd.basins(res, minima, tol=ctx.tol)
    reached = np.asarray(basins.reached_global)
    fraction = np.asarray(stats.success)
    # The notebook's picture: each cell shows one run, from one of the random starts.
    # int32, so --x64 picks the same runs (randint's default int64 under x64 draws others).
    pick = np.asarray(jax.random.randint(key_pick, final.shape[1:], 0, repeats, dtype=np.int32))
    one_per_cell = np.take_along_axis(final, pick[None], axis=0)[0]
    reached_one = np.take_along_axis(reached, pick[None], axis=0)[0]

    fig = plotting.plot_random_starts(
        one_per_cell,
        None,
        None,
        res.learning_rates,
        res.epochs,
        repeats=repeats,
        global_x=global_x,
        tol=ctx.tol,
        vmin=ctx.vmin,
        vmax=ctx.vmax,
        rate_scale=ctx.scale("learning_rates"),
        epochs_scale=ctx.scale("epochs"),
        result=res,
        minima=minima,
        suptitle=f"Random starts in {ctx.domain_text} (seed {ctx.seed}); f: {ctx.function.name}",
    )
    ctx.save(fig, "random_starts")
    ctx.save_result(res)

    rates, epochs = np.asarray(res.learning_rates), np.asarray(res.epochs)
    top = np.unravel_index(np.argmax(fraction), fraction.shape)
    print(ctx.describe_function())
    print(
        f"{cli.plural(repeats, 'random start')} (seed {ctx.seed}) drawn uniformly from "
        f"{ctx.domain_text}; {rates.size} learning rates from {cli.num(rates.min())} to "
        f"{cli.num(rates.max())} x {epochs.size} epoch counts from {epochs.min()} to "
        f"{epochs.max()}: {final.size} runs"
    )
    print(ctx.describe_minima())
    if global_x.size == 0:
        # Data like any other outcome, as in every experiment: said, not refused.
        print(
            f"fraction of the {cli.plural(repeats, 'start')} reaching the global minimum, per "
            "cell: 0 in every cell: f has no minimum to reach, in the domain or where runs ended"
        )
    else:
        # Minima tied for lowest (x = -1 and 1 of a symmetric well): reaching either counts.
        goal, it = "the global minimum", "it"
        if global_x.size > 1:
            tied = " or ".join(cli.num(v) for v in np.sort(global_x))
            goal, it = f"a global minimum (x = {tied}, equally low)", "one"
        print(
            f"the notebook's version, one random start per cell: {int(reached_one.sum())} of "
            f"{reached_one.size} cells reached {goal} (within {cli.num(ctx.tol)})"
        )
        n_top = int((fraction == fraction.max()).sum())
        spread = (
            f"from {fraction.min():.2f} to {fraction.max():.2f}, mean {fraction.mean():.2f}; "
            f"the highest in {n_top} of {fraction.size} cells, the first at rate "
            f"{cli.num(rates[top[0]])} with {cli.plural(int(epochs[top[1]]), 'epoch')}"
            if fraction.max() > 0
            else "0 in every cell: no start reached it"
        )
        print(f"fraction of the {cli.plural(repeats, 'start')} reaching {it}, per cell: {spread}")
    index = np.asarray(basins.index)
    other = ((index >= 0) & ~reached).mean(axis=0)
    none = (index < 0).mean(axis=0)
    print(
        f"share of starts at another minimum, per cell: up to {other.max():.2f}; at none yet "
        f"(still on the way, bouncing, or diverged): up to {none.max():.2f}"
    )
    print(f"diverged: {int(np.asarray(res.diverged).sum())} of {final.size} runs")
    return ctx.finish()


if __name__ == "__main__":
    cli.run(main)
