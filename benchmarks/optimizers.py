"""Optimisers through ``jaxgd.sweep(optimizer=...)`` against the same optax loop written by hand.

    python -m benchmarks.optimizers            # 500 starts x 50 rates x 40 epoch counts to 500
    python -m benchmarks.optimizers --quick    # a small grid, seconds: checks everything runs

What a user would write without jaxgd: ``vmap`` over starts and over rates of a ``fori_loop``
of ``tx.update`` / ``optax.apply_updates``, cut into segments between the sorted epoch counts
inside a ``scan`` so each count is a snapshot of the one trajectory (the same design as the
sweep, and the fastest way to write it by hand), then f and the diverged flag of every cell,
all in one ``jit``. Rows, for Adam and for momentum (``optax.sgd(momentum=0.9)``):

- **jaxgd.sweep**: the public call, validation and the host copy of the result included, with
  its default math (on a CPU, ``sin``/``cos`` from ``jaxgd.fastmath``);
- **jaxgd.sweep, fast_math=False**: the same with XLA's own ``sin``/``cos``, as the loop by
  hand has them, so the engine is compared apart from the math;
- **by hand**: the loop above, its result copied to the host too.

And for plain descent: ``jaxgd.sweep(f, ...)`` (no optimiser argument), the same call with
``optimizer=None``, and, with ``--baseline REV``, the sweep of the jaxgd at git revision REV
(imported in the same process under another name), to show that plain descent kept its speed.

Every method runs once first and is checked against the sweep (every cell; the largest
difference is in the table); then one call of each per round, interleaved, so load from other
processes hits all alike; the table gives the median and the minimum over rounds, and each
time divided by the sweep's. Compile time is not in these times (each was compiled by the
first call). The Markdown table goes to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxgd

ROOT = Path(__file__).resolve().parent.parent

OPTIMIZERS: dict[str, Callable[[Any], optax.GradientTransformation]] = {
    "adam": optax.adam,
    "momentum": partial(optax.sgd, momentum=0.9),
}


def f(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


@dataclass(frozen=True)
class Grid:
    starts: np.ndarray
    rates: np.ndarray
    epochs: np.ndarray

    @property
    def label(self) -> str:
        return (
            f"{self.starts.size}x{self.rates.size}x{self.epochs.size}, epochs to "
            f"{int(self.epochs.max())}"
        )

    @property
    def steps(self) -> int:
        return int(self.starts.size * self.rates.size * self.epochs.max())


def grid(quick: bool) -> Grid:
    if quick:
        return Grid(
            np.linspace(-5, 5, 40, dtype=np.float32),
            np.linspace(1e-3, 0.1, 10, dtype=np.float32),
            np.round(np.linspace(20, 200, 10)).astype(np.int32),
        )
    return Grid(
        np.linspace(-5, 5, 500, dtype=np.float32),
        np.linspace(1e-3, 0.1, 50, dtype=np.float32),
        np.round(np.linspace(10, 500, 40)).astype(np.int32),
    )


# -- the loop a user would write -------------------------------------------------------------
@partial(jax.jit, static_argnums=(0, 1))
def by_hand(
    fn: Callable[[jax.Array], jax.Array],
    make: Callable[[Any], optax.GradientTransformation],
    starts: jax.Array,
    rates: jax.Array,
    epochs: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``final``, ``value`` and ``diverged`` of shape (start, rate, epochs), by optax directly.

    ``make(rate)`` builds the optimiser per lane, with the rate a traced value.
    """
    order = jnp.argsort(epochs)
    steps = jnp.diff(epochs[order], prepend=0)
    grad = jax.grad(fn)

    def run(x0, rate):
        tx = make(rate)

        def step(_, carry):
            x, state = carry
            updates, state = tx.update(grad(x), state, x)
            return optax.apply_updates(x, updates), state

        def segment(carry, n):
            carry = jax.lax.fori_loop(0, n, step, carry)
            return carry, carry[0]

        _, xs = jax.lax.scan(segment, (x0, tx.init(x0)), steps)
        return xs[jnp.argsort(order)]

    final = jax.vmap(jax.vmap(run, (None, 0)), (0, None))(starts, rates)
    value = jax.vmap(fn)(final.ravel()).reshape(final.shape)
    diverged = ~jnp.isfinite(final) | ~jnp.isfinite(value)
    return final, value, diverged


def by_hand_host(fn, make, starts, rates, epochs) -> tuple[np.ndarray, ...]:
    """:func:`by_hand` with its result on the host, as the sweep returns it."""
    return tuple(np.asarray(a) for a in by_hand(fn, make, starts, rates, epochs))


def sweep_host(fn, starts, rates, epochs, **kwargs) -> tuple[np.ndarray, ...]:
    res = jaxgd.sweep(fn, starts, rates, epochs, **kwargs)
    return np.asarray(res.final), np.asarray(res.value), np.asarray(res.diverged)


# -- the jaxgd of another revision, side by side in this process -------------------------------
def baseline_package(rev: str, into: Path) -> Any:
    """``jaxgd`` as it was at git revision ``rev``, imported as ``jaxgd_<rev>``."""
    name = "jaxgd_" + re.sub(r"\W", "_", rev)
    tree = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "jaxgd"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=tree, check=True)
    (into / "jaxgd").rename(into / name)
    for path in (into / name).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"\bjaxgd\b", name, text), encoding="utf-8")
    sys.path.insert(0, str(into))
    return importlib.import_module(name)


# -- timing -----------------------------------------------------------------------------------
@dataclass
class Row:
    group: str
    method: str
    call: Callable[[], tuple[np.ndarray, ...]]
    reference: str  # the method whose times this one is divided by
    times: list[float] = field(default_factory=list)
    max_diff: float = math.nan
    same_bits: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if (np.isfinite(a) != np.isfinite(b)).any():
        return math.inf
    ok = np.isfinite(a)
    return float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))


def rows_for(g: Grid, baseline: Any | None) -> list[Row]:
    s, r, e = (jnp.asarray(a) for a in (g.starts, g.rates, g.epochs))
    rows = []
    for name, make in OPTIMIZERS.items():
        sweep_name = f"jaxgd.sweep(optimizer={name})"
        rows.append(Row(name, sweep_name, partial(sweep_host, f, s, r, e, optimizer=make), ""))
        # XLA's own sin/cos, as the loop by hand has them: the engine alone, without the math.
        rows.append(
            Row(
                name,
                "jaxgd.sweep, fast_math=False",
                partial(sweep_host, f, s, r, e, optimizer=make, fast_math=False),
                sweep_name,
            )
        )
        rows.append(
            Row(
                name,
                "by hand: vmap of optax loop",
                partial(by_hand_host, f, make, s, r, e),
                sweep_name,
            )
        )
    plain = "jaxgd.sweep(f, ...)"
    rows.append(Row("plain descent", plain, partial(sweep_host, f, s, r, e), ""))
    rows.append(
        Row(
            "plain descent",
            "optimizer=None",
            partial(sweep_host, f, s, r, e, optimizer=None),
            plain,
        )
    )
    if baseline is not None:

        def before():
            res = baseline.sweep(f, s, r, e)
            return np.asarray(res.final), np.asarray(res.value), np.asarray(res.diverged)

        rows.append(
            Row(
                "plain descent",
                f"jaxgd at {baseline.__name__.removeprefix('jaxgd_')}",
                before,
                plain,
            )
        )
    return rows


def check(rows: list[Row], *, rtol: float) -> None:
    """Run each method once (compiling it) and compare it with the sweep of its group."""
    first: dict[str, tuple[np.ndarray, ...]] = {}
    for row in rows:
        out = row.call()
        ref = first.setdefault(row.group, out)
        row.max_diff = _max_diff(out[0], ref[0])
        row.same_bits = all(
            np.array_equal(a, b, equal_nan=True) for a, b in zip(out, ref, strict=True)
        )
        scale = float(np.nanmax(np.abs(np.where(np.isfinite(ref[0]), ref[0], np.nan))))
        if not (row.max_diff <= rtol * max(scale, 1.0)) or not np.array_equal(out[2], ref[2]):
            raise AssertionError(
                f"{row.method} ({row.group}) differs from the first method of its group: "
                f"largest |difference| of final {row.max_diff:.3g}"
            )


def timed(rows: list[Row], rounds: int) -> None:
    for _ in range(rounds):
        for row in rows:
            t = time.perf_counter()
            row.call()
            row.times.append(time.perf_counter() - t)


def table(rows: list[Row], g: Grid) -> str:
    by = {row.method: row for row in rows}
    lines = [
        f"Grid: {g.label} ({g.steps:.3g} gradient steps per call); {jax.default_backend()}, "
        f"{np.asarray(g.starts).dtype}.",
        "",
        "| optimiser | method | wall, median | wall, min | ratio to the sweep, median | "
        "ratio, min | ns per step | same result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ref = by.get(row.reference, row)
        same = "bit for bit" if row.same_bits else f"max diff {row.max_diff:.2g}"
        if row is ref:
            same = "(reference)"
        lines.append(
            f"| {row.group} | {row.method} | {row.median * 1e3:,.1f} ms | {row.best * 1e3:,.1f} ms "
            f"| {row.median / ref.median:.2f}x | {row.best / ref.best:.2f}x | "
            f"{row.median / g.steps * 1e9:.2f} | {same} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.optimizers", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="a small grid and 3 rounds")
    p.add_argument("--rounds", type=int, default=None, help="timed rounds (default 9)")
    p.add_argument(
        "--baseline",
        metavar="REV",
        default=None,
        help="also time the plain sweep of the jaxgd at this git revision (needs a clone)",
    )
    args = p.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 9)
    if rounds < 1:
        p.error(f"--rounds: need at least 1, got {rounds}")
    g = grid(args.quick)
    tmp = Path(tempfile.mkdtemp(prefix="jaxgd-baseline-"))
    try:
        baseline = baseline_package(args.baseline, tmp) if args.baseline else None
        rows = rows_for(g, baseline)
        print(f"{g.label}: checking every method against jaxgd.sweep, then {rounds} rounds")
        check(rows, rtol=1e-4)
        timed(rows, rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(rows, g))
    return 0


if __name__ == "__main__":
    sys.exit(main())
