"""SweepResult: a pytree with coordinates, selection, squeeze, NumPy conversion, save/load."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import jaxgd
from tests.helpers import CASES

F = CASES[0].f


@pytest.fixture(scope="module")
def res():
    return jaxgd.sweep(F, [-1.0, 0.0, 1.6], [0.01, 0.05], [100, 0, 10, 50])


def test_is_a_pytree(res):
    leaves, treedef = jax.tree.flatten(res)
    assert len(leaves) == 6
    back = jax.tree.unflatten(treedef, leaves)
    assert back.dims == res.dims and back.function == res.function
    doubled = jax.tree.map(lambda a: a * 2, res)
    np.testing.assert_array_equal(doubled.starts, 2 * res.starts)


def test_function_name_is_recorded(res):
    assert res.function == "tests.helpers:_nb"


def test_sel_exact_scalar_drops_axis(res):
    cell = res.sel(start=1.6, learning_rate=0.05)
    assert cell.dims == ("epochs",)
    assert cell.shape == (4,)
    np.testing.assert_array_equal(cell.final, res.final[2, 1])
    assert float(cell.starts) == pytest.approx(1.6)


def test_sel_list_keeps_axis_and_order(res):
    sub = res.sel(epochs=[50, 100])
    assert sub.dims == res.dims and sub.shape == (3, 2, 2)
    np.testing.assert_array_equal(sub.epochs, [50, 100])
    np.testing.assert_array_equal(sub.final[..., 1], res.final[..., 0])


def test_sel_exact_miss_raises_and_nearest_picks(res):
    with pytest.raises(KeyError, match=r"learning_rate=0.02 is not a coordinate.*nearest: 0.01"):
        res.sel(learning_rate=0.02)
    assert float(res.sel(learning_rate=0.02, method="nearest").learning_rates) == pytest.approx(
        0.01
    )
    with pytest.raises(ValueError, match="no axis named 'rate'"):
        res.sel(rate=0.01)


def test_isel_and_squeeze(res):
    one = res.isel(start=slice(0, 1), epochs=2)
    assert one.dims == ("start", "learning_rate") and one.shape == (1, 2)
    sq = one.squeeze()
    assert sq.dims == ("learning_rate",)
    np.testing.assert_array_equal(sq.final, res.final[0, :, 2])
    assert jaxgd.sweep(F, 0.0, 0.01, 10).squeeze().final.shape == ()


def test_isel_list_keeps_axis(res):
    sub = res.isel(start=[2, 0])
    assert sub.dims == res.dims and sub.shape == (2, 2, 4)
    np.testing.assert_array_equal(sub.final[0], res.final[2])
    np.testing.assert_array_equal(sub.starts, [res.starts[2], res.starts[0]])


def test_to_numpy(res):
    host = res.to_numpy()
    assert all(isinstance(leaf, np.ndarray) for leaf in jax.tree.leaves(host))
    np.testing.assert_array_equal(host.final, res.final)


def test_save_load_roundtrip(tmp_path, res):
    path = res.save(tmp_path / "run")
    assert path.name == "run.npz" and path.exists()
    back = jaxgd.load(path)
    assert back.dims == res.dims and back.function == res.function
    for name, arr in res.as_dict().items():
        np.testing.assert_array_equal(getattr(back, name), arr)
        assert getattr(back, name).dtype == arr.dtype


def test_save_load_keeps_dropped_axes(tmp_path, res):
    cell = res.sel(start=0.0)
    back = jaxgd.SweepResult.load(cell.save(tmp_path / "cell.npz"))
    assert back.dims == ("learning_rate", "epochs")
    assert float(back.starts) == 0.0


def test_load_rejects_other_npz(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a saved SweepResult"):
        jaxgd.load(tmp_path / "other.npz")


def test_repr_counts_divergence():
    res = jaxgd.sweep(lambda x: x**4, [100.0, 0.5], 0.1, [0, 10])
    assert "diverged 1 of 4" in repr(res)
