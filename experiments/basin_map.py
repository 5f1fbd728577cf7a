"""Basins of a 2-D function: which minimum descent reaches from each start of a grid, per rate.

Himmelblau's function by default: four minima of equal depth, each with its own basin. A grid
of 200 x 200 starts over the plane runs at several learning rates in one compiled sweep; each
start is coloured by the minimum its run ended within --tol of (grey: diverged; light: near
none), one map per rate, side by side with the same colours. Printed: the share of starts
reaching each minimum, per rate. Any 2-D f: --function NAME or module:attr.

    python -m experiments.basin_map
    python -m experiments.basin_map --function peaks --learning-rates 0.01 0.1 4
"""

from __future__ import annotations

import argparse

import numpy as np

import jaxgd
from jaxgd import cli, plotting
from jaxgd._cli_function import (
    diverged_note,
    flat_minima_note,
    global_first,
    outside_note,
    setup_2d,
    share_parts,
    use_2d_function_flags,
)
from jaxgd.minima_nd import DIVERGED, basins_nd, grid_starts

FIGURES = ("basin_map",)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    use_2d_function_flags(p, "himmelblau")
    cli.add_grid_args(p, learning_rates=cli.Grid(0.001, 0.016, 4), epochs=1000)
    cli.argument_group(p, "grid").add_argument(
        "--grid",
        default="200",
        metavar="N",
        help="starts per axis: an N x N grid over the domain, ends included (default 200)",
    )
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = setup_2d(parser(), argv, figures=FIGURES)
    cli.checked()
    starts = grid_starts(ctx.domain, ctx.grid).astype(ctx.dtype)
    res = jaxgd.sweep(ctx.f, starts, ctx.learning_rates, [ctx.epochs])
    minima = ctx.minima(res.final)
    fig = plotting.plot_basin_maps(
        res,
        minima,
        tol=ctx.tol,
        suptitle=(
            f"Where descent ends after {cli.plural(ctx.epochs, 'epoch')}, from each of "
            f"{ctx.grid} x {ctx.grid} starts\nf: {ctx.function.name}"
        ),
    )
    ctx.save(fig, "basin_map")
    ctx.save_result(res)

    basins = basins_nd(res.isel(epochs=0), minima, tol=ctx.tol)
    index = np.asarray(basins.index)  # (start, learning_rate)
    x, best = np.asarray(minima.x, np.float64), np.asarray(minima.global_, bool)
    print(ctx.describe_function())
    print(
        f"{ctx.grid} x {ctx.grid} starts x {cli.plural(len(ctx.learning_rates), 'learning rate')}"
        f" x {cli.plural(ctx.epochs, 'epoch')}: {index.size} runs in one sweep"
    )
    where = "known for this f" if ctx.function.minima else "found by multi-start Newton"
    extra = len(minima) - len(ctx.function.minima or ())
    if ctx.function.minima and extra > 0:
        where = f"{len(ctx.function.minima)} known for this f, {extra} more found by Newton"
    if len(minima) == 0:
        print(
            f"no local minimum ({where}) in the domain or where runs ended"
            + (
                ""
                if ctx.function.minima
                else ". Newton's method finds minima where f is twice differentiable, not "
                "kinks like |x| + |y| nor minima that fill a straight line, like those of "
                "x^2: for a kink, give a smooth stand-in (sqrt(x^2 + 1e-6) for |x|); a line "
                "of minima has no isolated points to map basins of, and runs that end on it "
                "count as near no minimum"
            )
        )
    else:
        order = global_first(best)
        print(
            f"{len(minima)} local minim{'um' if len(minima) == 1 else 'a'} ({where}): "
            + ", ".join(
                f"({x[k, 0]:.6g}, {x[k, 1]:.6g}){' global' if best[k] else ''}"
                f"{outside_note(x[k], ctx.domain)}"
                for k in order[:8]
            )
            + (f", and {len(minima) - 8} more" if len(minima) > 8 else "")
        )
        note = flat_minima_note(ctx.f, minima)
        if note:
            print(note)
    print(f"share of starts ending within {cli.num(ctx.tol)} of each minimum, per learning rate:")
    many = len(minima) > 8
    for j, rate in enumerate(np.asarray(ctx.learning_rates)):
        lab = index[:, j]
        counts = np.bincount(lab[lab >= 0], minlength=len(minima))
        # Few minima: every one, in order, zeros too. Many (Rastrigin's 121): the most reached.
        shown = (
            [k for k in np.argsort(-counts, kind="stable")[:6] if counts[k]]
            if many
            else range(len(minima))
        )
        line = f"  rate {cli.num(rate)}: " + ", ".join(share_parts(x, lab, counts, shown))
        if many or not best.all():  # a share of the same runs, not one more part
            line += f"; at a global minimum (counted above too) {counts[best].sum() / lab.size:.1%}"
        print(line)
    # One note for all rates: the smallest rate at which half or more diverged says the most
    # (the larger ones are too large as well), and f not finite at the starts is any rate's.
    rates = np.asarray(ctx.learning_rates, np.float64)
    shares = np.mean(index == DIVERGED, axis=0)
    bad = np.flatnonzero((shares >= 0.5) & (rates > 0))
    if bad.size:
        j = bad[np.argmin(rates[bad])]
        note = diverged_note(
            ctx.f, minima, float(shares[j]), float(rates[j]), starts=starts, rates=rates.size
        )
        if note:
            print(note)
    return ctx.finish()


if __name__ == "__main__":
    cli.run(main)
