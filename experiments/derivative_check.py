"""The course notes' hand-written derivative against autodiff, and where each one leads descent.

The notebook writes f'(x) by hand as `deriv`; the course notes this project quotes copy it with
a factor dropped (notes_deriv here, verbatim; the published notebook has it right). Its second
term lacks a factor x: -sin(x)*.1*exp(...) should be -sin(x)*.1*x*exp(...). This module compares it
with jax.grad(f) on a float64 grid (jaxgd.check_derivative), and runs the notebook's
descent from 0 (rate 0.01, 1000 epochs) once with each: the wrong derivative is zero at a
different x, so descent ends there instead of at the minimum of f.

Descent with the given derivative is the notebook's own loop in NumPy (float64), since that
derivative is plain Python code; descent with autodiff is jaxgd.sweep, also in float64, so
the two differ only by their derivative.

Check your own: --derivative module:attr names a function df(x) written with NumPy or
jax.numpy (imported from the current directory), the derivative of --function. Without
--derivative, the notes' deriv is checked against the notebook's f; for any other f there
is nothing to check, which is said in one line (so `python -m experiments all --function ...`
runs through).

    python -m experiments.derivative_check
    python -m experiments.derivative_check --function mymodule:f --derivative mymodule:df
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import jax
import numpy as np

import jaxgd
from jaxgd import cli, plotting


def notes_deriv(x):
    """The notes' copy of the notebook's f'(x), verbatim: its second term lacks a factor x."""
    return np.cos(x)*np.exp(-x**2*.05)-np.sin(x)*.1*np.exp(-x**2*.05)  # fmt: skip


def dropped_factor(x):
    """notes_deriv minus the true f': -0.1·sin(x)·e^(-0.05x²) less -0.1·x·sin(x)·e^(-0.05x²)."""
    return 0.1 * (x - 1.0) * np.sin(x) * np.exp(-0.05 * x**2)


FIGURES = ("derivative_check",)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__name__, __doc__)
    cli.add_grid_args(p, start="function", learning_rate=0.01, epochs=1000)
    p.add_argument(
        "--derivative",
        metavar="MODULE:ATTR",
        default=None,
        help="your hand-written derivative df(x) of --function, NumPy or jax.numpy, imported "
        "from the current directory (default: the course notes' deriv, for the notebook's f)",
    )
    p.add_argument(
        "--rtol",
        default="1e-6",
        metavar="R",
        help="relative tolerance of the comparison, >= 0 and below 1 (default 1e-6)",
    )
    p.add_argument(
        "--atol",
        default="1e-9",
        metavar="A",
        help="absolute tolerance of the comparison, >= 0 (default 1e-9): lower it for an f "
        "whose slopes are tiny",
    )
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    ctx = cli.setup(parser(), argv, figures=FIGURES)
    df, name = None, ""
    if ctx.args.derivative is not None:
        df, name = cli.load_derivative(ctx.args.derivative), ctx.args.derivative
    elif ctx.function.name == cli.DEFAULT_FUNCTION:
        df, name = notes_deriv, "the notes' deriv"
    lo, hi = ctx.domain
    if not lo <= ctx.start <= hi:
        # The derivatives are compared, and their zeros searched, on the domain only: from a
        # start outside it, "the nearest point where it crosses 0" would be a point inside.
        raise cli.UsageError(
            f"--start: {ctx.start:g} lies outside the domain {ctx.domain_text}, where the "
            "derivatives are compared; move it into the domain or widen --domain."
        )
    rtol, atol = cli.number("--rtol", ctx.args.rtol), cli.number("--atol", ctx.args.atol)
    if not 0 <= rtol < 1:
        raise cli.UsageError(
            f"--rtol: must be >= 0 and below 1, got {ctx.args.rtol.strip()!r} (with 1 or more "
            "a derivative of 0 agrees with any)."
        )
    if atol < 0:
        raise cli.UsageError(f"--atol: must be >= 0, got {ctx.args.atol.strip()!r}.")
    cli.checked()
    if df is None:
        print(ctx.describe_function())
        print(
            "nothing to check: the notes' deriv is a derivative of the notebook's f only; "
            f"give yours of {ctx.function.name} with --derivative module:attr"
        )
        return ctx.finish()

    x0, rate, epochs = ctx.start, ctx.learning_rate, ctx.epochs
    with cli.flag_errors(f"--derivative {name!r}"):
        try:
            check = jaxgd.check_derivative(ctx.f, df, *ctx.domain, rtol=rtol, atol=atol)
        except ValueError as err:
            # f and the domain are checked already and df's failures are TypeErrors: what is
            # left is f finite nowhere on the domain, which no --derivative can fix.
            raise cli.UsageError(f"--domain: {err}") from None
        given_end = descend_numpy(df, x0, rate, epochs)
        given_zero = _zero_near(ctx.f, df, check.x, check.given, given_end)
    with jax.enable_x64(True):
        res = jaxgd.sweep(ctx.f, x0, rate, epochs)
        autodiff_end = float(np.asarray(res.final).reshape(()))
    autodiff_zero = _zero_near(
        ctx.f, jax.jit(jax.grad(ctx.f)), check.x, check.autodiff, autodiff_end
    )
    # A run that stops where f is not finite has not found anything (autodiff through a
    # jnp.where is 0 where f is NaN, so descent halts there): said, and no zero reported.
    with jax.enable_x64(True):
        undefined = {
            end: not np.isfinite(float(ctx.f(np.float64(end))))
            for end in (given_end, autodiff_end)
            if np.isfinite(end)
        }
    if undefined.get(given_end):
        given_zero = None
    if undefined.get(autodiff_end):
        autodiff_zero = None

    notebooks = df is notes_deriv
    fig = plotting.plot_derivative_check(
        check,
        ctx.f,
        given_label=name,
        given_end=given_end,
        autodiff_end=autodiff_end,
        start=x0,
        explain=(
            ("0.1·(x - 1)·sin(x)·exp(-0.05x²):\nwhat dropping the factor x gives", dropped_factor)
            if notebooks
            else None
        ),
    )
    ctx.save(fig, "derivative_check")
    ctx.save_result(res)

    print(ctx.describe_function(np.float64))
    print(check.summary().replace("derivative", name, 1))
    if notebooks:
        gap = np.nanmax(np.abs(check.given - check.autodiff - dropped_factor(check.x)))
        print(
            f"{name} - autodiff = 0.1·(x - 1)·sin(x)·exp(-0.05x²) on the whole grid (to "
            f"{gap:.1g}): its second term -0.1·sin(x)·exp(-0.05x²) lacks the factor x of the "
            "true term -0.1·x·sin(x)·exp(-0.05x²)"
        )
    print(
        f"descent from x0 = {cli.num(x0)} ({ctx.describe_start()}), learning rate "
        f"{cli.num(rate)}, {cli.plural(epochs, 'epoch')}, float64: with {name} "
        f"{_ended(given_end, undefined)}, with autodiff {_ended(autodiff_end, undefined)}"
        + (
            f"; {cli.num(abs(given_end - autodiff_end))} apart"
            if np.isfinite(given_end) and np.isfinite(autodiff_end)
            else ""
        )
    )
    note = ctx.stationary(x0)
    if note:
        print(note)
    for who, found, end in (
        (name, given_zero, given_end),
        ("autodiff f'", autodiff_zero, autodiff_end),
    ):
        if found is None:
            continue
        zero, jump = found
        if abs(end - zero) <= ctx.tol:
            # A kink (|x|): f' jumps from - to + there and is zero nowhere.
            where = "jumps from - to +" if jump else "is zero"
            print(
                f"{who} {where} at x = {cli.num(zero)}, where its descent ended "
                f"(within {cli.num(ctx.tol)})"
            )
        else:
            print(
                f"the descent with {who} ended at x = {cli.num(end)}, {cli.num(abs(end - zero))} "
                f"from x = {cli.num(zero)}, the nearest point where {who} crosses 0 upwards (a "
                "minimum it heads for)"
            )
    print(ctx.describe_minima())
    return ctx.finish()


def descend_numpy(df: Callable, x0: float, learning_rate: float, epochs: int) -> float:
    """The notebook's loop, ``x <- x - learning_rate * df(x)``, in float64 NumPy.

    ``df`` is the user's own derivative, so it runs as plain Python, one call per epoch; a JAX
    ``df`` runs with 64-bit JAX enabled. A run that overflows returns inf or NaN.
    """
    x = np.float64(x0)
    with jax.enable_x64(True), np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(epochs)):
            x = x - learning_rate * np.asarray(df(x), np.float64).reshape(())
            if not np.isfinite(x):
                break
    return float(x)


def _ended(x: float, undefined: dict[float, bool]) -> str:
    if not np.isfinite(x):
        return "it diverges"
    if undefined.get(x):
        return f"it stops at x = {cli.num(x)}, where f is not finite (a diverged run)"
    return f"it ends at x = {cli.num(x)}"


def _zero_near(
    f: Callable, df: Callable, x: np.ndarray, values: np.ndarray, near: float
) -> tuple[float, bool] | None:
    """Where ``df`` (sampled as ``values`` on the grid ``x``) crosses 0 upwards nearest ``near``,
    with ``f`` finite there: the minimum that descent with ``df`` heads for, refined by
    bisection in float64; and whether ``df`` jumps across 0 there (a kink of f, as |x|'s: a
    sign change, no zero). A crossing where f is not finite is a pole of f or the edge of
    its domain (``1 / x + 2 x`` at 0, for ``log(x) + x**2``): no minimum, passed over."""
    if not np.isfinite(near):
        return None
    with jax.enable_x64(True):
        if np.asarray(df(np.float64(near)), np.float64).reshape(()) == 0:
            return float(near), False  # the run stopped where df is 0 (a flat df: 2 * int(x))
    with np.errstate(invalid="ignore"):
        up = np.flatnonzero((values[:-1] < 0) & (values[1:] >= 0))
    # Measured against the largest |df| on the grid, f's own scale.
    scale = np.nanmax(np.abs(values[np.isfinite(values)]), initial=0.0)
    # Within a few float64 epsilons of 0 (at the grid's scale) is 0: not x = -5.4e-21.
    tiny = 4 * np.finfo(np.float64).eps * max(1.0, *np.abs(x[[0, -1]]))
    for i in up[np.argsort(np.abs(x[up] - near), kind="stable")][:_CROSSINGS]:
        lo, hi = x[i], x[i + 1]
        below, above = values[i], values[i + 1]
        with jax.enable_x64(True):
            for _ in range(60):  # 60 halvings take a grid step below float64 resolution
                mid = 0.5 * (lo + hi)
                slope = np.asarray(df(mid), np.float64).reshape(())
                lo, hi, below, above = (
                    (mid, hi, slope, above) if slope < 0 else (lo, mid, below, slope)
                )
            zero = float(0.5 * (lo + hi))
            if not np.isfinite(float(f(np.float64(zero)))):
                continue
        # Still a step of df across points a few float64 epsilons apart: a jump, not a zero.
        jump = bool(above - below > 1e-6 * scale)
        return (0.0 if abs(zero) < tiny else zero), jump
    return None


#: Crossings of 0 nearest a run's end that :func:`_zero_near` looks at, nearest first.
_CROSSINGS = 8


if __name__ == "__main__":
    cli.run(main)
