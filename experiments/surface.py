"""Descent on the course's 2-D surface, peaks: paths from a random start and a grid of starts.

MATLAB's peaks function (the course's 2-D example) by default: three pits of different depth.
One run from a seeded random start and runs from an N x N grid of starts (default 5 x 5) are
drawn as paths on a contour map of f, each start a circle and each end a cross; a second
figure colours a fine grid of starts (200 x 200) by the minimum its run ended at. Printed:
where the random start's run ended, and the share of the grid's starts at each minimum.
Any 2-D f: --function NAME or module:attr.

    python -m experiments.surface
    python -m experiments.surface --learning-rate 0.05 --epochs 100 --start -0.5 1.5
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

import jaxgd
from jaxgd import cli, plotting
from jaxgd._cli_flags import in_dtype, number, whole
from jaxgd._cli_function import (
    diverged_note,
    flat_minima_note,
    global_first,
    outside_note,
    setup_2d,
    share_parts,
    use_2d_function_flags,
)
from jaxgd.minima_nd import DIVERGED, NO_MINIMUM, basins_nd, grid_starts

FIGURES = ("surface_paths", "surface_ends")
#: Most paths per axis (--paths N draws N x N of them; 100 x 100 is already a grey blur).
MAX_PATHS = 100
#: Most points the paths may hold together, each a step of one path (about 200 MB of them).
MAX_PATH_POINTS = 10**7


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    use_2d_function_flags(p, "peaks")
    cli.add_grid_args(p, learning_rate=0.02, epochs=500)
    g = p.add_argument_group("starts")
    g.add_argument(
        "--start",
        nargs=2,
        metavar=("X", "Y"),
        default=None,
        help="the single run's start (default: a seeded random point of the domain)",
    )
    g.add_argument(
        "--paths",
        default="5",
        metavar="N",
        help="paths drawn from an N x N grid of starts over the domain (default 5)",
    )
    g.add_argument(
        "--grid",
        default="200",
        metavar="N",
        help="starts per axis of the map of where runs end (default 200)",
    )
    return p


def _start(ctx, *, draw: bool = True) -> tuple[np.ndarray, str] | None:
    """The single run's start and where it came from: --start or f's start attribute
    (checked against the domain), else a seeded random point of the domain; with ``draw``
    False, None in that last case (drawing one compiles: it waits until the work begins)."""
    given = None
    if ctx.args.start is not None:
        given = (
            "--start",
            [in_dtype("--start", number("--start", t), ctx.dtype) for t in ctx.args.start],
        )
    elif ctx.function.start is not None and ":" in (ctx.args.function or ""):
        # Your own f's start attribute (a built-in's runs start from a seeded random point,
        # as the page says, not from its catalogue start).
        attr = f"--function {ctx.args.function!r}: its start attribute"
        given = attr, [in_dtype(attr, v, ctx.dtype) for v in ctx.function.start]
    if given is not None:
        what, xy = given
        (x0, x1), (y0, y1) = ctx.domain
        if not (x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1):
            raise cli.UsageError(
                f"{what}: ({xy[0]:g}, {xy[1]:g}) lies outside the domain "
                f"[{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]; move it or widen --domain."
            )
        return np.asarray(xy, ctx.dtype), "--start" if what == "--start" else "f's start attribute"
    if not draw:
        return None
    lo, hi = (np.asarray(b, ctx.dtype) for b in zip(*ctx.domain, strict=True))
    u = np.asarray(jax.random.uniform(ctx.key, (2,), ctx.dtype))
    return lo + u * (hi - lo), f"a seeded random point, seed {ctx.seed}"


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = setup_2d(parser(), argv, figures=FIGURES)
    n_paths = whole("--paths", ctx.args.paths, minimum=1, maximum=MAX_PATHS)
    chosen = _start(ctx, draw=False)
    rate, epochs = ctx.learning_rate, ctx.epochs
    # Each path keeps every step: refuse before anything is allocated what would not fit.
    points = (n_paths**2 + 1) * (epochs + 1)
    if points > MAX_PATH_POINTS:
        most = MAX_PATH_POINTS // (n_paths**2 + 1) - 1
        raise cli.UsageError(
            f"--epochs: the figure's {n_paths**2 + 1} paths keep every step, {points:.3g} "
            f"points in all, above the limit of {MAX_PATH_POINTS:.0e}; use --epochs {most} "
            "or less" + (", or fewer --paths." if n_paths > 1 else ".")
        )
    cli.checked()
    x0, where = chosen if chosen is not None else _start(ctx)
    kind = "random start" if where.startswith("a seeded") else "start"
    # Cell centres of an N x N partition, so no drawn path starts on the frame and leaves it.
    box = np.asarray(ctx.domain, np.float64)
    half = (box[:, 1] - box[:, 0]) / (2 * n_paths)
    inner = np.stack([box[:, 0] + half, box[:, 1] - half], axis=1)
    lattice = grid_starts(inner, n_paths) if n_paths > 1 else np.mean(box, axis=1)[None]
    starts = np.concatenate([x0[None], lattice.astype(ctx.dtype)])
    # Every epoch 0..E is a point on the one trajectory of each run: the paths, in one sweep.
    paths = jaxgd.sweep(ctx.f, starts, [rate], np.arange(epochs + 1))
    path_xy = np.asarray(paths.final)[:, 0]  # (start, epoch, coord)
    fine_starts = grid_starts(ctx.domain, ctx.grid).astype(ctx.dtype)
    fine = jaxgd.sweep(ctx.f, fine_starts, [rate], [epochs])
    minima = ctx.minima(np.concatenate([path_xy[:, -1], np.asarray(fine.final)[:, 0, 0]]))

    about = f"f: {ctx.function.name}, learning rate {cli.num(rate)}, {cli.plural(epochs, 'epoch')}"
    fig = plotting.plot_paths(
        ctx.f,
        ctx.domain,
        path_xy,
        # Not "start": the legend's marker of every path's start is named so.
        labels=[
            kind if kind != "start" else "your start (--start)",
            *["grid of starts"] * lattice.shape[0],
        ],
        minima=minima,
        title=f"Descent paths on f\n{about}",
    )
    ctx.save(fig, "surface_paths")
    ends = plotting.plot_basin_map(
        fine.isel(learning_rate=0),
        minima,
        tol=ctx.tol,
        title=f"Which minimum descent reaches from each of {ctx.grid} x {ctx.grid} starts\n{about}",
    )
    ctx.save(ends, "surface_ends")
    ctx.save_result(fine)

    x, best = np.asarray(minima.x, np.float64), np.asarray(minima.global_, bool)
    value = np.asarray(minima.value, np.float64)

    def named(k: int) -> str:
        kind = "global minimum" if best[k] else "local minimum"
        where = outside_note(x[k], ctx.domain)
        return f"the {kind} ({x[k, 0]:.6g}, {x[k, 1]:.6g}){where}, f = {value[k]:.6g}"

    print(ctx.describe_function())
    if len(minima) == 0:
        print(
            "no local minimum found in the domain or where runs ended (the search is Newton's "
            "method: it finds minima where f is twice differentiable, not kinks like |x| + |y|, "
            "nor minima that fill a straight line, like those of x^2)"
        )
    else:
        order = global_first(best)
        print(
            f"{len(minima)} local minim{'um' if len(minima) == 1 else 'a'}: "
            + "; ".join(named(k) for k in order[:6])
            + (f"; and {len(minima) - 6} more" if len(minima) > 6 else "")
        )
        note = flat_minima_note(ctx.f, minima)
        if note:
            print(note)
    # Labelled as basin_map labels: a run is diverged where the sweep flags it (its position
    # or f there is not finite), else it is at the minimum within --tol, or near none.
    path_lab = basins_nd(paths.isel(epochs=-1), minima, tol=ctx.tol).index[:, 0]
    fine_lab = basins_nd(fine, minima, tol=ctx.tol).index[:, 0, 0]
    end = path_xy[0, -1]
    label = path_lab[0]
    print(
        f"{kind} ({where}): ({x0[0]:.6g}, {x0[1]:.6g}) -> after {cli.plural(epochs, 'epoch')} "
        f"({end[0]:.6g}, {end[1]:.6g}): "
        + (
            "diverged"
            if label == DIVERGED
            else f"within {cli.num(ctx.tol)} of no minimum"
            if label == NO_MINIMUM
            else f"reached {named(label)}"
        )
    )
    for what, lab in (
        (f"{cli.plural(lattice.shape[0], 'grid start')} drawn as paths", path_lab[1:]),
        (f"{ctx.grid} x {ctx.grid} grid starts", fine_lab),
    ):
        counts = np.bincount(lab[lab >= 0], minlength=len(minima))
        shown = [k for k in np.argsort(-counts, kind="stable")[:6] if counts[k]]
        parts = share_parts(x, lab, counts, shown)
        print(f"{what}, share ending at each minimum: " + ", ".join(parts))
    note = diverged_note(
        ctx.f, minima, float(np.mean(fine_lab == DIVERGED)), rate, starts=fine_starts
    )
    if note:
        print(note)
    return ctx.finish()


if __name__ == "__main__":
    cli.run(main)
