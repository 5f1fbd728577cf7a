"""Optimisers side by side: SGD, momentum, Nesterov, RMSprop and Adam, in one sweep.

The course turns from plain gradient descent to the optimisers deep learning uses. Here all
five (from optax) descend the notebook's f over the notebook's grids in ONE compiled call,
``jaxgd.sweep(..., optimizer={...})``: every optimiser x start x learning rate x epoch count.
Two figures: Experiment 3's map (final guess over learning rate and epochs, from one start)
for each optimiser, side by side on one colour scale; and where each optimiser ends from the
notebook's starts (its Experiment 1) at the notebook's rate 0.01. Printed, per optimiser: the
share of (start, rate) cells that reach the global minimum within the largest epoch count, and
the rate that gets the most starts there, with the first epoch count of the grid at which all
of them are there.

    python -m experiments.optimizers
    python -m experiments.optimizers --optimizers sgd adam --learning-rates 1e-3 1 30 log
"""

from __future__ import annotations

import argparse
from functools import partial

import numpy as np
import optax

import jaxgd
from jaxgd import analysis, cli, plotting

FIGURES = ("optimizers_maps", "optimizers_ends")

#: Each optimiser as a callable ``learning_rate -> optax.GradientTransformation``.
OPTIMIZERS = {
    "sgd": optax.sgd,
    "momentum": partial(optax.sgd, momentum=0.9),
    "nesterov": partial(optax.sgd, momentum=0.9, nesterov=True),
    "rmsprop": optax.rmsprop,
    "adam": optax.adam,
}
DESCRIBE = {
    "sgd": "optax.sgd: plain descent",
    "momentum": "optax.sgd(momentum=0.9)",
    "nesterov": "optax.sgd(momentum=0.9, nesterov=True)",
    "rmsprop": "optax.rmsprop (decay 0.9)",
    "adam": "optax.adam (b1 0.9, b2 0.999)",
}


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(
        p,
        starts=cli.Grid(-5, 5, 50),
        learning_rates=cli.Grid(1e-10, 0.1, 50),
        epochs=cli.Grid(10, 500, 40),
    )
    g = p.add_argument_group("optimisers")
    g.add_argument(
        "--optimizers",
        nargs="+",
        metavar="NAME",
        default=None,
        help=f"which optimisers to run, in this order (default all: {', '.join(OPTIMIZERS)})",
    )
    g.add_argument(
        "--start",
        default=None,
        metavar="X",
        help="start of the maps, run in the same sweep (default: the function's own start, "
        "0 for the notebook's f)",
    )
    g.add_argument(
        "--ends-rate",
        default=None,
        metavar="R",
        help="learning rate of the figure of where each start ends: the grid's rate nearest R "
        "(default 0.01, the notebook's single-run rate)",
    )
    cli.add_color_args(p)
    return p


def chosen(names: list[str] | None) -> dict[str, optax.GradientTransformation]:
    """The optimisers ``--optimizers`` names, in its order; every name is checked."""
    if names is None:
        return dict(OPTIMIZERS)
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown:
        raise cli.UsageError(
            f"--optimizers: no optimiser named {unknown[0]!r}; choose from {', '.join(OPTIMIZERS)}."
        )
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise cli.UsageError(f"--optimizers: {twice!r} is given twice; name each once.")
    return {n: OPTIMIZERS[n] for n in names}


def map_start(ctx: cli.Context) -> float:
    """``--start``, checked like every number; by default the function's own start."""
    given = ctx.args.start
    if given is not None:
        return cli.in_dtype("--start", cli.number("--start", given), ctx.dtype)
    lo, hi = ctx.domain
    x0 = ctx.function.default_start
    return x0 if lo <= x0 <= hi else 0.5 * (lo + hi)


def with_start(starts: np.ndarray, x0: float) -> tuple[np.ndarray, int, np.ndarray]:
    """``starts`` with ``x0`` among them: the starts to sweep, the position of ``x0`` there,
    and the positions of ``starts``. ``x0`` is added only where no start equals it, in its
    place where the starts rise (as the grids of ``--starts`` do), else ahead of them.

    >>> with_start(np.array([-1.0, 0.0, 1.0]), 0.0)
    (array([-1.,  0.,  1.]), 1, array([0, 1, 2]))
    >>> with_start(np.array([-1.0, 1.0]), 0.5)
    (array([-1. ,  0.5,  1. ]), 1, array([0, 2]))
    """
    x0 = starts.dtype.type(x0)
    hit = np.flatnonzero(starts == x0)
    if hit.size:
        return starts, int(hit[0]), np.arange(starts.size)
    at = int(np.searchsorted(starts, x0)) if bool(np.all(np.diff(starts) > 0)) else 0
    return np.insert(starts, at, x0), at, np.delete(np.arange(starts.size + 1), at)


def print_reaching(
    ctx: cli.Context,
    names: list[str],
    there: np.ndarray,
    best: np.ndarray,
    n_starts: int,
    rates: np.ndarray,
    epochs: np.ndarray,
) -> None:
    """Per optimiser, the (start, rate) cells whose runs are at a global minimum ``best`` at the
    largest epoch count; ``there`` is ``(optimizer, start, rate, epochs)``."""
    last = int(np.argmax(epochs))
    e_max = int(epochs[last])
    cells = n_starts * rates.size
    tied = [ctx.location(int(i)) for i in best]
    if all(t.startswith("x = ") for t in tied):  # "x = -1 or 1"
        tied = [tied[0], *(t[len("x = ") :] for t in tied[1:])]
    goal = (
        f"the global minimum {tied[0]}"
        if len(tied) == 1
        else f"a global minimum ({' or '.join(tied)}, equally low)"
    )
    print(
        f"reaching {goal} (within {cli.num(ctx.tol)}) in "
        f"{cli.plural(e_max, 'epoch')}, per optimizer, of the {cells} (start, rate) cells:"
    )
    for k, name in enumerate(names):
        done = there[k, :, :, last]  # (start, rate)
        per_rate = done.sum(axis=0)
        line = f"  {name:<9} {int(done.sum()):>5} of {cells} ({done.mean():6.1%})"
        if per_rate.max() == 0:
            print(f"{line}; no rate gets any start there")
            continue
        # The first epoch count on the grid at which every start that ends there is there.
        settled = (there[k] | ~done[:, :, None]).all(axis=0)  # (rate, epochs)
        fewest = np.full(rates.size, np.inf)
        for r in np.flatnonzero(per_rate == per_rate.max()):
            fewest[r] = epochs[settled[r]].min()
        r = int(np.argmin(fewest))
        there_at = "there" if per_rate[r] == 1 else "all of them there"
        print(
            f"{line}; best rate {cli.num(rates[r])}: {int(per_rate[r])} of {n_starts} "
            f"starts, {there_at} at {cli.plural(int(fewest[r]), 'epoch')}"
        )


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = cli.setup(parser(), argv, figures=FIGURES)
    optimizers = chosen(ctx.args.optimizers)
    x0 = map_start(ctx)
    wanted = 0.01 if ctx.args.ends_rate is None else cli.number("--ends-rate", ctx.args.ends_rate)
    if wanted < 0:
        raise cli.UsageError(
            f"--ends-rate: a learning rate is >= 0; got {ctx.args.ends_rate.strip()!r}. Give one "
            "of --learning-rates (the nearest on the grid is drawn)."
        )
    starts, rates, epochs = ctx.starts, ctx.learning_rates, ctx.epochs
    flags = ["--optimizers", "--starts", "--learning-rates", "--epochs"]
    # The maps' start rides in the same sweep, in its place among the grid's starts (once: a
    # start of the grid already is it), so the saved result has each start once, in order.
    everything, at, among = with_start(starts, x0)
    cli.check_runs(len(optimizers) * everything.size * rates.size * epochs.size, flags)
    cli.checked()

    sweep = jaxgd.sweep(ctx.f, everything, rates, epochs, optimizer=optimizers)
    names = [str(n) for n in np.asarray(sweep.coord("optimizer"))]
    grid = sweep.isel(start=among)
    final = np.asarray(grid.final, np.float64)  # (optimizer, start, rate, epochs)
    ctx.reached(np.asarray(sweep.final, np.float64))
    best = ctx.global_minima  # empty where f has no minimum to reach: said, not refused
    target = ctx.target(int(best[0])) if best.size else None
    which = analysis.nearest_minimum(final, ctx.minima, tol=ctx.tol)
    there = np.isin(which, best)  # (optimizer, start, rate, epochs)
    last = int(np.argmax(epochs))
    e_max = int(epochs[last])

    about = f"f: {ctx.function.name}"
    mapped = np.asarray(sweep.isel(start=at).final)  # the maps' cells: what the colours span
    vmin, vmax, limits = ctx.map_limits(mapped, start=x0)
    maps = plotting.plot_panels(
        sweep.isel(start=at),
        "optimizer",
        vmin=vmin,
        vmax=vmax,
        target=target,
        tol=ctx.tol,
        rate_scale=ctx.scale("learning_rates"),
        epochs_scale=ctx.scale("epochs"),
        title=f"Where each optimiser ends, by learning rate and epochs, from x₀ = "
        f"{cli.num(x0)}; {about}",
    )
    ctx.save(maps, "optimizers_maps")
    # Past the grid's ends, the end is the nearest: measured from 1e300, every rate was as far
    # (inf in float32, 1e300 in float64), and argmin took the first, the smallest.
    grid_rates = np.asarray(rates, np.float64)
    near = min(max(wanted, grid_rates.min()), grid_rates.max())
    ends_rate = float(grid_rates[np.argmin(np.abs(grid_rates - near))])
    ends = plotting.plot_ends(
        grid,
        "optimizer",
        learning_rate=ends_rate,
        epochs=e_max,
        minima=ctx.minima,
        tol=ctx.tol,
        f=ctx.f,
        title=f"Where each start ends at learning rate {cli.num(ends_rate)} after "
        f"{cli.plural(e_max, 'epoch')}; {about}",
    )
    ctx.save(ends, "optimizers_ends")
    ctx.save_result(sweep)

    print(ctx.describe_function())
    one_of = everything.size == starts.size  # the maps' start is one of the grid's
    x0_said = f"x₀ = {cli.num(x0)} among them" if one_of else f"and x₀ = {cli.num(x0)}"
    print(
        f"{cli.plural(len(names), 'optimizer')} ({', '.join(names)}) x {starts.size} starts "
        f"from {cli.num(starts.min())} to {cli.num(starts.max())} ({x0_said} for the maps) "
        f"x {rates.size} learning rates from {cli.num(rates.min())} to "
        f"{cli.num(rates.max())} x {epochs.size} epoch counts from {epochs.min()} to "
        f"{epochs.max()}: {np.asarray(sweep.final).size} cells from one sweep"
    )
    # As lr_epochs: a maps' start where f' = 0 leaves every map one colour, said why.
    note = ctx.stationary(x0, moved=np.any(mapped != x0))
    if note:
        print(note)
    print(ctx.describe_minima())
    cells = starts.size * rates.size
    if best.size == 0:
        print(
            f"reaching the global minimum in {cli.plural(e_max, 'epoch')}, per optimizer: 0 of "
            f"the {cells} (start, rate) cells for every one: f has no minimum to reach, in the "
            "domain or where runs ended"
        )
    else:
        print_reaching(ctx, names, there, best, starts.size, rates, epochs)
    diverged = np.asarray(sweep.diverged)
    print(f"diverged: {int(diverged.sum())} of {diverged.size} cells")
    print(f"colour limits, shared by the maps: {limits}")
    if ctx.args.ends_rate is not None and not np.isclose(ends_rate, wanted, rtol=1e-6, atol=0):
        # Snapped to the grid, as the help says; said, too, when the figure shows another rate.
        print(
            f"the ends figure: --ends-rate {cli.num(wanted)} is not a rate of the grid; drawn "
            f"at its nearest, {cli.num(ends_rate)}"
        )
    return ctx.finish()


if __name__ == "__main__":
    cli.run(main)
