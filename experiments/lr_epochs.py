"""Experiment 3: how the learning rate and the number of epochs interact, from one start.

python -m experiments.lr_epochs            # the notebook's grid, start 0
python -m experiments.lr_epochs --start 1.6
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np

import jaxgd


def f(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.lr_epochs", description=__doc__)
    p.add_argument("--start", type=float, default=0.0, help="start point (default 0)")
    p.add_argument("--out", type=Path, default=Path("figures"), help="output folder")
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = np.linspace(1e-10, 0.1, 50)
    epochs = np.round(np.linspace(10, 500, 40))
    res = jaxgd.sweep(f, args.start, rates, epochs).squeeze()  # (rate, epochs)
    final = np.asarray(res.final)
    fig, ax = plt.subplots(figsize=(7, 5))
    im = ax.imshow(
        final.T,
        extent=[rates[0], rates[-1], epochs[0], epochs[-1]],
        aspect="auto",
        origin="lower",
    )
    title = f"Final guess from x0 = {args.start:g}"
    ax.set(xlabel="Learning rate", ylabel="Training epochs", title=title)
    fig.colorbar(im, ax=ax, label="final x")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "lr_epochs_heatmap.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"final guess after {int(epochs[-1])} epochs at rate {rates[-1]:g}: {final[-1, -1]:.5f}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
