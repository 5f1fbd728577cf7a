"""A family of functions: how basins and the odds of random starts change with f itself.

The notebook's f is sin(x)·exp(-0.05·x²). Its width parameter a in f(x, a) = sin(x)·exp(-a·x²)
decides how many minima f has in reach and how deep they are. Here every a of a grid runs in
ONE compiled call, ``jaxgd.sweep(f, ..., params=a)``, from the same random starts (default 200,
drawn uniformly from the domain): the figure shows, per a, which minimum each start reaches
(the basins) and the share that reach the global minimum; printed, per a: the minima of f and
that share.

    python -m experiments.function_family
    python -m experiments.function_family --params 0.01 0.05 0.2 --repeats 500
    python -m experiments.function_family --function mymodule:g --params 1 2 3   # g(x, theta)

A function of x alone (``--function double_well``) has no parameter to vary: run on its own,
that is a usage error (one line, status 2); under ``python -m experiments all --function NAME``
it is said in one line with status 0, so the others run through.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import experiments
import jaxgd
from jaxgd import analysis, cli, functions, plotting
from jaxgd._cli_function import (
    _MISSING,
    _doc_line,
    _domain_of,
    _first_line,
    _import_attr,
    user_attr,
)
from jaxgd._validate import default_float

FIGURES = ("function_family",)
#: The default grid of a: from nearly sin(x) (many minima of almost equal depth) to a narrow
#: bump with one minimum either side; 0.05 is the notebook's.
PARAMS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def notebook_family(x: jax.Array, a: jax.Array) -> jax.Array:
    """The notebook's f with its width as a parameter: sin(x)·exp(-a·x²)."""
    return jnp.sin(x) * jnp.exp(-a * x**2)


#: Built-in families ``--function`` takes by name: f(x, theta), domain, what theta is.
FAMILIES = {
    "notebook": (
        notebook_family,
        cli.NOTEBOOK_DOMAIN,
        "sin(x)·exp(-theta·x²): the notebook's f, its width 0.05 made theta",
    )
}


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    p.set_defaults(function="notebook")
    for action in p._actions:
        if action.dest == "function":
            action.help = (
                "the family f(x, theta) -> scalar: notebook (default, sin(x)*exp(-theta*x^2)) "
                "or module:attr for your own, written with jax.numpy and imported from the "
                "current directory; it may carry a `domain = (lo, hi)` attribute"
            )
    g = p.add_argument_group("family")
    g.add_argument(
        "--params",
        nargs="+",
        metavar="THETA",
        default=None,
        help=f"the values of theta, one sweep for all (default {' '.join(map(str, PARAMS))})",
    )
    cli.add_grid_args(p, learning_rate=0.01, epochs=1000, repeats=200)
    return p


class OfXAlone(Exception):
    """``--function`` names a function of x alone: nothing to run, said in one line."""


def load_family(spec: str) -> tuple[str, Callable[..., Any], tuple[float, float], str]:
    """``--function``: a built-in family's name or ``module:attr``; (name, f, domain, what)."""
    if ":" not in spec:
        if spec in FAMILIES:
            f, domain, what = FAMILIES[spec]
            return spec, f, domain, what
        if spec in functions.FUNCTIONS:
            raise OfXAlone(spec)
        raise cli.UsageError(
            f"--function {spec!r}: not a family; this experiment takes f(x, theta): built-in "
            f"{', '.join(FAMILIES)}, or module:attr for your own, e.g. mymodule:f for "
            "`def f(x, theta)`."
        )
    f = _import_attr(spec, name="f")
    if not callable(f):
        raise cli.UsageError(
            f"--function {spec!r}: {type(f).__name__} is not callable; point it at a function "
            "f(x, theta) -> scalar written with jax.numpy."
        )
    domain = user_attr(f, "domain", f"--function {spec!r}")
    domain = cli.NOTEBOOK_DOMAIN if domain is _MISSING else _domain_of(spec, domain)
    return spec, f, domain, _doc_line(f) or "your own f(x, theta)"


def check_family(spec: str, f: Callable[..., Any], theta: float, dtype: Any) -> None:
    """Trace f(x, theta) and its x-derivative once on scalars: one line for what fails."""
    scalar = jax.ShapeDtypeStruct((), dtype)
    try:
        out = jax.eval_shape(f, scalar, scalar)
    except Exception as err:
        try:
            alone = jax.eval_shape(f, scalar)
        except Exception:
            alone = None
        if getattr(alone, "shape", None) == ():
            raise OfXAlone(spec) from None
        raise cli.UsageError(
            f"--function {spec!r}: calling f(x, theta) on two scalars failed: "
            f"{_first_line(err)} (write f with jax.numpy; theta is one value of --params)"
        ) from None
    if getattr(out, "shape", None) != () or not jnp.issubdtype(out.dtype, jnp.floating):
        raise cli.UsageError(
            f"--function {spec!r}: f(x, theta) must return a real scalar; got "
            f"{getattr(out, 'shape', type(out).__name__)} {getattr(out, 'dtype', '')}."
        )
    try:
        jax.eval_shape(jax.grad(f), scalar, scalar)
    except Exception as err:
        raise cli.UsageError(
            f"--function {spec!r} cannot be differentiated in x by jax.grad: {_first_line(err)}"
        ) from None


def parse_params(texts: list[str] | None, dtype: Any) -> np.ndarray:
    """``--params``, each value checked, as an array of the working dtype."""
    if texts is None:
        values = list(PARAMS)
    else:
        values = [cli.in_dtype("--params", cli.number("--params", t), dtype) for t in texts]
    out = np.asarray(values, dtype)
    # Equal in the working dtype (1 and 1.0, or values float32 rounds together): rows alike.
    _, first = np.unique(out, return_index=True)
    if first.size < out.size:
        i = min(set(range(out.size)) - set(first.tolist()))
        j = int(np.flatnonzero(out == out[i])[0])
        a, b = texts[j].strip(), texts[i].strip()
        same = f"{a!r} is given twice" if a == b else f"{a!r} and {b!r} are one {dtype} value"
        raise cli.UsageError(f"--params: {same}; give each value once (rows would repeat).")
    return out


def setup(argv: list[str] | None) -> tuple[cli.Context, Callable[..., Any], np.ndarray, str]:
    """What :func:`jaxgd.cli.setup` does, for a family f(x, theta) instead of f(x)."""
    args = cli.parse_run(parser(), argv)
    dtype = np.dtype(default_float())
    name, family, domain, what = load_family(args.function)
    thetas = parse_params(args.params, dtype)
    check_family(name, family, float(thetas[0]), dtype)
    first = float(thetas[0])
    # The context checks the grids, --domain, --tol and the output on f at the first theta.
    one = functions.Function1D(name, lambda x: family(x, first), domain, what)
    ctx = cli.Context(args, one, FIGURES)
    cli.check_runs(thetas.size * ctx.repeats, ["--params", "--repeats"])
    cli.headless_unless_show(args.show)
    return ctx, family, thetas, what


@cli.command
def main(argv: list[str] | None = None) -> int:
    try:
        ctx, family, thetas, what = setup(argv)
    except OfXAlone as alone:
        why = (
            f"--function {alone} is a function of x alone; this experiment varies a parameter "
            "of f: give a family f(x, theta) as module:attr (or notebook)"
        )
        if not experiments.IN_ALL:
            raise cli.UsageError(why) from None
        # Under `python -m experiments all --function NAME` the others run on.
        print(f"nothing to run: {why}")
        return 0
    cli.checked()
    lo, hi = ctx.domain
    starts = jax.random.uniform(ctx.key, (ctx.repeats,), ctx.dtype, minval=lo, maxval=hi)
    res = jaxgd.sweep(family, starts, ctx.learning_rate, ctx.epochs, params=thetas)
    res = res.isel(**{d: 0 for d in ("learning_rate", "epochs") if d in res.dims})
    final = np.asarray(res.final, np.float64)  # (param, start)
    diverged = np.asarray(res.diverged, bool)

    minima, shares, lines = [], [], []
    flat = False  # any minimum a span of x, said in the header
    for k, theta in enumerate(thetas):
        f = _at(family, theta)
        # Snapped as every experiment's minima are: -3.7e-34 prints as 0, with f at 0.
        m = cli.snap_minima(f, jaxgd.find_minima_reached(f, final[k], ctx.domain), ctx.domain)
        at = analysis.nearest_minimum(np.where(diverged[k], np.nan, final[k]), m, tol=ctx.tol)
        best = analysis.global_minima(m)
        share = float(np.isin(at, best).mean()) if best.size else 0.0
        minima.append(m)
        shares.append(share)
        inner = [i for i in range(len(m)) if not bool(m.at_boundary[i])]
        inner.sort(key=lambda i: float(m.x[i]))
        shown = ", ".join(f"{_where(m, i)}{'*' if i in set(best.tolist()) else ''}" for i in inner)
        flat |= any(_where(m, i).startswith("[") for i in inner)
        lines.append(
            f"  {cli.num(theta):>8}  {share:6.1%}  {len(inner):>2} "
            f"minim{'um' if len(inner) == 1 else 'a'}: {shown or 'none'}"
        )

    fig = plotting.plot_basins_along(
        res,
        "param",
        minima,
        tol=ctx.tol,
        label="theta",
        title=(
            f"f(x, theta): {ctx.function.name}, {what.partition(':')[0]}; "
            f"{cli.plural(ctx.repeats, 'random start')}, "
            f"learning rate {cli.num(ctx.learning_rate)}, {cli.plural(ctx.epochs, 'epoch')}"
        ),
    )
    ctx.save(fig, "function_family")
    ctx.save_result(res)

    print(ctx.describe_function())
    print(
        f"{cli.plural(thetas.size, 'value')} of theta x "
        f"{cli.plural(ctx.repeats, 'random start')} (seed {ctx.seed}) drawn uniformly from "
        f"{ctx.domain_text}, learning rate "
        f"{cli.num(ctx.learning_rate)}, {cli.plural(ctx.epochs, 'epoch')}: "
        f"{cli.plural(final.size, 'run')} from one sweep"
    )
    spans = "; [lo, hi]: flat, f lowest on all of it" if flat else ""
    print(
        f"per theta: the share of starts that reach the global minimum (within "
        f"{cli.num(ctx.tol)}), and the minima of f where runs can end (* global{spans}):"
    )
    print(f"  {'theta':>8}  {'share':>6}  minima")
    print(*lines, sep="\n")
    print(f"diverged: {int(diverged.sum())} of {cli.plural(diverged.size, 'run')}")
    return ctx.finish()


def _where(m: Any, i: int) -> str:
    """Minimum ``i`` of ``m`` in the table: its x, or for a flat minimum its span ``[lo, hi]``
    (the other experiments' ``x in [lo, hi]``), where descent stops anywhere."""
    lo, hi = float(m.lo[i]), float(m.hi[i])
    return f"[{cli.num(lo)}, {cli.num(hi)}]" if lo < hi else cli.num(m.x[i])


def _at(family: Callable[..., Any], theta: Any) -> Callable[[jax.Array], jax.Array]:
    def f(x: jax.Array) -> jax.Array:
        return family(x, theta)

    return f


if __name__ == "__main__":
    cli.run(main)
