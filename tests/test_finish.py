"""The reordering of snapshots into (lanes, epochs), in one program or one per array."""

from __future__ import annotations

import numpy as np
import pytest

import jaxgd
from jaxgd import _run
from tests.helpers import CASES


def _snapshots(rng, g, rows):
    xs = rng.standard_normal((g + 1, rows, _run.LANE_ROW)).astype(np.float32)
    vs = rng.standard_normal((g + 1, rows, _run.LANE_ROW)).astype(np.float32)
    for a in (xs, vs):  # non-finite cells in both, to be flagged diverged
        flat = a.reshape(-1)
        flat[rng.choice(flat.size, 40, replace=False)] = rng.choice([np.nan, np.inf, -np.inf], 40)
    return xs, vs


@pytest.mark.parametrize("g", [1, 7])
def test_split_and_together_give_the_same_bits(rng, g, monkeypatch):
    xs, vs = _snapshots(rng, g, rows=3)
    back = rng.permutation(g).astype(np.int32)
    together = [np.asarray(a) for a in _run._finish_one(xs, vs, back)]
    monkeypatch.setattr(_run, "SPLIT_FINISH", 0)
    split = [np.asarray(a) for a in _run._finish_one(xs, vs, back)]
    for a, b in zip(together, split, strict=True):
        np.testing.assert_array_equal(a, b)
    final, value, diverged = split
    lanes = 3 * _run.LANE_ROW
    np.testing.assert_array_equal(final, xs[:-1][back].reshape(g, lanes).T)
    np.testing.assert_array_equal(value, vs[1:][back].reshape(g, lanes).T)
    bad = ~np.isfinite(xs[:-1]) | ~np.isfinite(vs[1:])
    np.testing.assert_array_equal(diverged, bad[back].reshape(g, lanes).T)


def test_a_chunked_sweep_with_split_reorderings_equals_one_call(monkeypatch):
    f = CASES[3].f
    args = (np.linspace(-8.0, 8.0, 23), [0.05, 0.3, 2.5], [4, 0, 9, 4])
    whole = jaxgd.sweep(f, *args)
    monkeypatch.setattr(_run, "SPLIT_FINISH", 0)
    chunked = jaxgd.sweep(f, *args, chunk_size=5)
    for name in ("final", "value", "diverged"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))
