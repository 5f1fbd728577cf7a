"""Epochs to converge: how long each (start, learning rate) run takes to settle, and where.

The notebook's 50 starts in [-5, 5] by its 50 learning rates in [1e-10, 0.1], every run 2000
epochs long. jaxgd.convergence runs them all in one compiled call, twice over the same
trajectory: once to find where each run ends, once to find the first epoch from which it stays
within --tol of that end; no trajectory is stored. A run has converged when it settled at a
local minimum of f (a rate so small that the run never moves does not count).

The left map colours each run by its convergence epoch (log scale), hatches the runs that did
not settle and greys out the ones that diverged; the right map shows which minimum each run
ended at, so the slow runs can be traced to their start: next to a maximum of f, where the
slope is small, descent takes longest to get going. The summary says, for the slowest start at
the largest rate, whether its slope or its distance to where it ended stands out.

    python -m experiments.convergence
    python -m experiments.convergence --epochs 5000 --tol 1e-4
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

import jaxgd
from jaxgd import analysis, cli, fastmath, plotting
from jaxgd.minima import find_minima
from jaxgd.result import SweepResult

FIGURES = ("convergence",)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(
        p, starts=cli.Grid(-5, 5, 50), learning_rates=cli.Grid(1e-10, 0.1, 50), epochs=2000
    )
    # What this run's file holds: where the runs ended, not the epochs the left map shows.
    save = next(a for a in p._actions if a.dest == "save")
    save.help = (
        "also write where every run ended after --epochs steps (a jaxgd.SweepResult with "
        "that one epoch count; the epochs to converge are jaxgd.convergence's, see "
        "docs/experiments/convergence.md) to PATH (.npz added if missing; into an existing "
        "folder, or a PATH ending in /, as PATH/convergence.npz); read it back with "
        "jaxgd.load(PATH)"
    )
    return p


def _stalled(conv, settled: np.ndarray, diverged: np.ndarray, rates: np.ndarray) -> str | None:
    """A note on the runs that stopped moving short of a minimum (their last step exactly 0
    at a rate above 0), which more epochs would not settle; None when there are none."""
    stuck = ~settled & ~diverged & (np.asarray(conv.last_step) == 0) & (rates[None, :] > 0)
    if not stuck.any() or int(conv.epochs) == 0:
        return None
    dtype = np.asarray(conv.final).dtype
    wider = " (float64, --x64, spaces them closer)" if dtype == np.float32 else ""
    return (
        f"  of those not within, {int(stuck.sum())} stopped moving short of a minimum (last "
        f"step exactly 0): where rate x f'(x) is below half the spacing of {dtype.name} "
        f"numbers at x{wider}, or at a saddle or maximum; more epochs would not move them"
    )


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = cli.setup(parser(), argv, figures=FIGURES)
    cli.checked()

    conv = jaxgd.convergence(ctx.f, ctx.starts, ctx.learning_rates, ctx.epochs, tol=ctx.tol)

    final = np.asarray(conv.final, np.float64)
    minima = ctx.reached(final)
    fig = plotting.plot_convergence(
        conv,
        minima=minima,
        rate_scale=ctx.scale("learning_rates"),
        title=f"Epochs to converge; f: {ctx.function.name}, tol {cli.num(ctx.tol)}",
    )
    ctx.save(fig, "convergence")
    ctx.save_result(_as_sweep(ctx, conv))

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
        f"{cli.plural(n, 'epoch')} each: {runs} runs in one compiled call"
    )
    note = ctx.stationary(starts)
    if note:
        print(note)
    print(
        f"converged (settled within {cli.num(ctx.tol)} of a minimum): {int(settled.sum())} of "
        f"{runs} runs; not within {cli.plural(n, 'epoch')}: "
        f"{int((~settled & ~diverged).sum())}; diverged: {int(diverged.sum())}"
    )
    stalled = _stalled(conv, settled, diverged, rates)
    if stalled:
        print(stalled)
    print(ctx.describe_minima())
    print(_ended_at(ctx, final, diverged))
    if settled.any():
        print(f"epochs to converge: {_spread(epoch, settled, starts, rates)}")
    top = int(np.argmax(rates))
    if settled[:, top].any():
        near0 = int(np.argmin(np.abs(starts)))
        from0 = (
            cli.plural(int(epoch[near0, top]), "epoch")
            if settled[near0, top]
            else f"not within {cli.plural(n, 'epoch')}"
        )
        print(
            f"at the largest rate, {cli.num(rates[top])}: "
            f"{_spread(epoch[:, top], settled[:, top], starts, None)}; from x0 = "
            f"{cli.num(starts[near0])}, the start nearest 0: {from0}"
        )
        print(_slowest_start(ctx, epoch[:, top], settled[:, top], starts, final[:, top]))
    print(_rates_where_all_converge(rates, settled))
    return ctx.finish()


def _as_sweep(ctx: cli.Context, conv: jaxgd.Convergence) -> SweepResult:
    """Where every run ended, after its ``epochs`` steps, as a sweep with one epoch count."""
    final = np.asarray(conv.final)[..., None]
    # f with the math the runs used, as a sweep computes its values, and recorded as such.
    f = fastmath.rewrite(ctx.f, enable=conv.math == "fast")
    value = np.asarray(jax.vmap(f)(final.reshape(-1)), final.dtype).reshape(final.shape)
    return SweepResult(
        final=final,
        value=value,
        diverged=np.asarray(conv.diverged)[..., None],
        starts=np.asarray(conv.starts),
        learning_rates=np.asarray(conv.learning_rates),
        epochs=np.asarray([int(conv.epochs)]),
        function=conv.function,
        math=conv.math,
    )


#: Minima the summary names one by one.
_NAMED = 8


def _ended_at(ctx: cli.Context, final: np.ndarray, diverged: np.ndarray) -> str:
    which = analysis.nearest_minimum(final, ctx.minima, tol=ctx.tol)
    best = set(ctx.global_minima.tolist())
    hits = {i: int((which == i).sum()) for i in set(which[which >= 0].tolist())}
    # The minima most runs ended at, by name; the rest in one count (f may have hundreds).
    named = sorted(hits, key=lambda i: (-hits[i], i not in best, i))[:_NAMED]
    parts = [
        f"the {ctx.describe_minimum(i)}: {hits[i]}"
        for i in sorted(named, key=lambda i: (i not in best, i))
    ]
    rest = [i for i in hits if i not in named]
    if rest:
        more = cli.plural(len(rest), "more minimum", "more minima")
        parts.append(f"{more}: {sum(hits[i] for i in rest)}")
    parts.append(f"no minimum: {int(((which < 0) & ~diverged).sum())}")
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
        f"{cli.plural(values.size, 'converged run')}, slowest {values[slow]} ({where(slow)})"
    )


def _slowest_start(ctx: cli.Context, epoch, settled, starts, final) -> str:
    """The slowest run at one rate, and what sets it apart from the other settled runs there.

    Descent is slow to leave a point where f is flat (near a maximum, on a plateau) and takes
    long to cover a long way; either is named only when it is true of this start.
    """
    slow = int(np.argmax(np.where(settled, epoch, -1)))
    x0 = float(starts[slow])
    slope = np.abs(np.asarray(jax.vmap(jax.grad(ctx.f))(np.asarray(starts, ctx.dtype))))
    slope = slope.astype(np.float64)
    way = np.abs(final - starts)
    ok = settled
    text = f"the slowest start there: x0 = {cli.num(x0)}, {cli.plural(int(epoch[slow]), 'epoch')}"
    reasons = []
    if ok.sum() > 2 and slope[slow] <= np.quantile(slope[ok], 0.1):
        reason = (
            f"its slope |f'(x0)| = {cli.num(slope[slow])} is among the smallest of the settled "
            f"starts (median {cli.num(np.median(slope[ok]))}), so its first steps are tiny"
        )
        top = _nearest_maximum(ctx, x0)
        if top is not None:
            reason += f"; a maximum of f is {cli.num(abs(x0 - top))} away, at x = {cli.num(top)}"
        reasons.append(reason)
    if ok.sum() > 2 and way[slow] >= np.quantile(way[ok], 0.9):
        reasons.append(
            f"it travels {cli.num(way[slow])} to where it ends, among the farthest of the "
            f"settled starts (median {cli.num(np.median(way[ok]))})"
        )
    if not reasons and ok.sum() <= 2:
        # Nothing to set it against: with one or two settled runs, "stands out" compared it
        # with itself.
        others = int(ok.sum()) - 1
        return (
            f"{text}; with {'no other' if others == 0 else 'one other'} settled run at that "
            f"rate, no comparison: its slope |f'(x0)| = {cli.num(slope[slow])}, it travels "
            f"{cli.num(way[slow])}"
        )
    if not reasons:
        return (
            f"{text}; neither its slope |f'(x0)| = {cli.num(slope[slow])} nor the "
            f"{cli.num(way[slow])} it travels stands out among the settled starts"
        )
    return f"{text}: {'; and '.join(reasons)}"


def _nearest_maximum(ctx: cli.Context, x0: float) -> float | None:
    """The maximum of f nearest ``x0``, when it lies within a tenth of the domain of it."""
    lo, hi = ctx.domain
    span = hi - lo
    maxima = find_minima(lambda x: -ctx.f(x), max(lo, x0 - 0.1 * span), min(hi, x0 + 0.1 * span))
    inner = np.asarray(maxima.x, np.float64)[~np.asarray(maxima.at_boundary)]
    return None if inner.size == 0 else float(inner[np.argmin(np.abs(inner - x0))])


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
    cli.run(main)
