"""Epochs to converge: how long each (start, learning rate) run takes to settle, and where.

The notebook's 50 starts in [-5, 5] by its 50 learning rates in [1e-10, 0.1], every run 2000
epochs long. jaxgd.convergence runs them all in one compiled call, twice over the same
trajectory: once to find where each run ends, once to find the first epoch from which it stays
within --tol of that end; no trajectory is stored. A run has converged when it settled at a
local minimum of f (a rate so small that the run never moves does not count).

The left map colours each run by its convergence epoch (log scale), hatches the runs that did
not settle and greys out the ones that diverged; the right map shows which minimum each run
ended at, so the slow runs can be traced to their start: next to a maximum of f, where the
slope is small, descent takes longest to get going.

    python -m experiments.convergence
    python -m experiments.convergence --epochs 5000 --tol 1e-4
"""

from __future__ import annotations

import sys

import numpy as np

import jaxgd
from jaxgd import analysis, cli, plotting
from jaxgd.minima import Minima, find_minima


@cli.command
def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(
        p, starts=cli.Grid(-5, 5, 50), learning_rates=cli.Grid(1e-10, 0.1, 50), epochs=2000
    )
    ctx = cli.setup(p, argv)

    conv = jaxgd.convergence(ctx.f, ctx.starts, ctx.learning_rates, ctx.epochs, tol=ctx.tol)

    final = np.asarray(conv.final, np.float64)
    minima = _minima_reached(ctx, final)
    fig = plotting.plot_convergence(
        conv,
        minima=minima,
        title=f"Epochs to converge; f: {ctx.function.name}, tol {cli.num(ctx.tol)}",
    )
    ctx.save(fig, "convergence")

    starts = np.asarray(conv.starts, np.float64)
    rates = np.asarray(conv.learning_rates, np.float64)
    epoch = np.asarray(conv.epoch)
    diverged = np.asarray(conv.diverged)
    settled = np.asarray(conv.converged)
    n, runs = ctx.epochs, settled.size
    print(ctx.describe_function())
    print(
        f"{starts.size} starts from {cli.num(starts.min())} to {cli.num(starts.max())} x "
        f"{rates.size} learning rates from {cli.num(rates.min())} to {cli.num(rates.max())}, "
        f"{n} epochs each: {runs} runs in one compiled call"
    )
    print(
        f"converged (settled within {cli.num(ctx.tol)} of a minimum): {int(settled.sum())} of "
        f"{runs} runs; not within {n} epochs: {int((~settled & ~diverged).sum())}; "
        f"diverged: {int(diverged.sum())}"
    )
    print(ctx.describe_minima())
    print(_ended_at(ctx, minima, final, diverged))
    if settled.any():
        print(f"epochs to converge: {_spread(epoch, settled, starts, rates)}")
    top = int(np.argmax(rates))
    if settled[:, top].any():
        near0 = int(np.argmin(np.abs(starts)))
        from0 = f"{epoch[near0, top]} epochs" if settled[near0, top] else f"not within {n} epochs"
        print(
            f"at the largest rate, {cli.num(rates[top])}: "
            f"{_spread(epoch[:, top], settled[:, top], starts, None)}; from x0 = "
            f"{cli.num(starts[near0])}, the start nearest 0: {from0}"
        )
        print(_slowest_start(ctx, epoch[:, top], settled[:, top], starts))
    print(_rates_where_all_converge(rates, settled))
    return ctx.finish()


def _minima_reached(ctx: cli.Context, final: np.ndarray) -> Minima:
    """The minima of f on the domain, widened to where the runs ended.

    Descent from a start near the edge can settle outside the domain (the notebook's f: starts
    left of its maximum at -4.31 end at -7.23). The widening stops one domain width beyond
    each end, since a run far out is escaping, not settling.
    """
    lo, hi = ctx.domain
    ends = final[np.isfinite(final)]
    if ends.size == 0 or (ends.min() >= lo and ends.max() <= hi):
        return ctx.minima
    span = hi - lo
    # A margin, so a minimum right where runs ended lies inside the interval, not at its end.
    wide_lo = max(min(lo, ends.min() - 0.05 * span), lo - span)
    wide_hi = min(max(hi, ends.max() + 0.05 * span), hi + span)
    return find_minima(ctx.f, wide_lo, wide_hi)


def _ended_at(ctx: cli.Context, minima: Minima, final: np.ndarray, diverged: np.ndarray) -> str:
    which = analysis.nearest_minimum(final, minima, tol=ctx.tol)
    best = set(analysis.global_minima(minima).tolist())
    lo, hi = ctx.domain
    parts = []
    for i in sorted(set(which[which >= 0].tolist()), key=lambda i: (i not in best, i)):
        x = float(minima.x[i])
        kind = "global minimum" if i in best else "local minimum"
        outside = "" if lo <= x <= hi else f", outside the domain {ctx.domain_text}"
        parts.append(f"the {kind} x = {cli.num(x)}{outside}: {int((which == i).sum())}")
    nowhere = int(((which < 0) & ~diverged).sum())
    parts.append(f"no minimum: {nowhere}")
    parts.append(f"diverged: {int(diverged.sum())}")
    return f"runs ended at (within {cli.num(ctx.tol)}) {'; '.join(parts)}"


def _spread(epoch, settled, starts, rates) -> str:
    """Fastest, median and slowest convergence epoch of the settled runs, with their cells."""
    cells = np.argwhere(settled)  # row-major, as epoch[settled]
    values = epoch[settled]

    def where(k: int) -> str:
        i = cells[k][0]
        at = f"x0 = {cli.num(starts[i])}"
        return at if rates is None else f"{at}, rate {cli.num(rates[cells[k][1]])}"

    fast, slow = int(np.argmin(values)), int(np.argmax(values))
    return (
        f"fastest {values[fast]} ({where(fast)}), median {np.median(values):g} over "
        f"{values.size} converged runs, slowest {values[slow]} ({where(slow)})"
    )


def _slowest_start(ctx: cli.Context, epoch, settled, starts) -> str:
    """Why the slowest run at one rate is slow: how close it started to a maximum of f."""
    slow = int(np.argmax(np.where(settled, epoch, -1)))
    x0 = float(starts[slow])
    span = ctx.domain[1] - ctx.domain[0]
    maxima = find_minima(lambda x: -ctx.f(x), ctx.domain[0] - span, ctx.domain[1] + span)
    inner = np.asarray(maxima.x, np.float64)[~np.asarray(maxima.at_boundary)]
    if inner.size == 0:
        return f"the slowest start there: x0 = {cli.num(x0)}, {epoch[slow]} epochs"
    top = inner[np.argmin(np.abs(inner - x0))]
    return (
        f"the slowest start there: x0 = {cli.num(x0)}, {epoch[slow]} epochs; the nearest "
        f"maximum of f, where the slope and so the first steps are smallest, is at x = "
        f"{cli.num(top)}, {cli.num(abs(x0 - top))} away"
    )


def _rates_where_all_converge(rates: np.ndarray, settled: np.ndarray) -> str:
    every = settled.all(axis=0)
    if not every.any():
        return "no learning rate on the grid converges from every start"
    order = np.argsort(rates)
    ok = every[order]
    first, last = int(np.argmax(ok)), len(ok) - 1 - int(np.argmax(ok[::-1]))
    lo, hi = rates[order][first], rates[order][last]
    if first == last:
        return f"every start converges at one rate only, {cli.num(lo)}"
    if ok[first : last + 1].all():
        return (
            f"every start converges at the {int(ok.sum())} rates from {cli.num(lo)} to "
            f"{cli.num(hi)}"
        )
    return (
        f"every start converges at {int(ok.sum())} of {ok.size} rates, between {cli.num(lo)} "
        f"and {cli.num(hi)} (not at every rate in between)"
    )


if __name__ == "__main__":
    sys.exit(main())
