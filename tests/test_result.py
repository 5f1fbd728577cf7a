"""SweepResult: a pytree with coordinates, selection, squeeze, NumPy conversion, save/load."""

from __future__ import annotations

import importlib.machinery
import sys
import types

import jax
import jax.numpy as jnp
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


def test_a_function_of_a_module_run_with_dash_m_is_named_by_that_module(monkeypatch):
    # `python -m package.module` runs the module as __main__; its functions were recorded
    # as "__main__:f", a name nothing can import again.
    main = types.ModuleType("__main__")
    main.__spec__ = importlib.machinery.ModuleSpec("package.module", None)
    monkeypatch.setitem(sys.modules, "__main__", main)

    exec("def f(x):\n    return x**2", vars(main))  # defined by the module run as __main__
    f = main.f
    assert jaxgd.sweep(f, [1.0], [0.1], [1]).function == "package.module:f"
    main.__spec__ = None  # `python script.py`: no other name to give
    assert jaxgd.sweep(f, [1.0], [0.1], [1]).function == "__main__:f"


def test_a_function_of_another_namespace_named_main_keeps_that_name(monkeypatch):
    # A doctest's namespace is named __main__ too; under `python -m pytest` its functions
    # were recorded as "pytest.__main__:f", a module that does not define them.
    main = types.ModuleType("__main__")
    main.__spec__ = importlib.machinery.ModuleSpec("pytest.__main__", None)
    monkeypatch.setitem(sys.modules, "__main__", main)
    namespace = {"__name__": "__main__"}
    exec("def f(x):\n    return x**2", namespace)
    assert jaxgd.sweep(namespace["f"], [1.0], [0.1], [1]).function == "__main__:f"


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


LEAF_TRANSFORMS = {
    "None": lambda a: None,
    "shape": lambda a: a.shape,
    "ShapeDtypeStruct": lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype),
    "object": lambda a: object(),
    "str": lambda a: "leaf",
}


@pytest.mark.parametrize("transform", LEAF_TRANSFORMS.values(), ids=LEAF_TRANSFORMS.keys())
def test_pytree_survives_any_leaf_transform(res, transform):
    mapped = jax.tree.map(transform, res)
    assert isinstance(mapped, jaxgd.SweepResult)
    assert mapped.dims == res.dims and mapped.function == res.function
    text = repr(mapped)
    assert text.startswith("SweepResult(start") and "f=tests.helpers:_nb" in text
    leaves, treedef = jax.tree.flatten(mapped)
    again = jax.tree.unflatten(treedef, leaves)
    assert repr(again) == text
    assert jax.tree.structure(jax.tree.map(lambda a: 0, again)) == jax.tree.structure(
        jax.tree.map(lambda a: 0, mapped)
    )


@pytest.mark.parametrize("transform", ["shape", "None", "object", "str"])
def test_squeeze_refuses_a_result_mapped_away_from_arrays(res, transform):
    mapped = jax.tree.map(LEAF_TRANSFORMS[transform], res.isel(learning_rate=[0]))
    with pytest.raises(TypeError, match=r"^squeeze: final has no shape .* squeeze a result of"):
        mapped.squeeze()


def test_repr_of_abstract_and_traced_results(res):
    shapes = jax.eval_shape(lambda r: r.isel(start=0), res)
    assert repr(shapes).startswith("SweepResult(learning_rate: 2, epochs: 4; float32;")
    seen = []
    jax.jit(lambda r: seen.append(repr(r)) or r)(res)
    assert "traced" in seen[0] and "start: 3" in seen[0]


def test_repr_is_the_same_for_numpy_and_jax_arrays(res):
    host = res.to_numpy()
    assert repr(host) == repr(jax.tree.map(jax.numpy.asarray, host)) == repr(res)


def test_constructor_checks_dims():
    arrays = dict(
        final=np.zeros(2, np.float32),
        value=np.zeros(2, np.float32),
        diverged=np.zeros(2, bool),
        starts=np.zeros(2, np.float32),
        learning_rates=np.float32(0.1),
        epochs=np.int32(1),
    )
    assert jaxgd.SweepResult(**arrays, dims=["start"]).dims == ("start",)  # hashable for jit
    both = {**arrays, "final": np.zeros((2, 3), np.float32), "learning_rates": np.zeros(3)}
    assert jaxgd.SweepResult(**both, dims=("learning_rate", "start")).sizes == {
        "learning_rate": 2,
        "start": 3,
    }
    for dims, match in [
        (("rate",), "unknown axis name 'rate'"),
        (("start", "start"), "repeat"),
    ]:
        with pytest.raises(ValueError, match=match):
            jaxgd.SweepResult(**arrays, dims=dims)
    with pytest.raises(TypeError, match="dims must be a tuple"):
        jaxgd.SweepResult(**arrays, dims="start")
    with pytest.raises(TypeError, match="function must be a str"):
        jaxgd.SweepResult(**arrays, dims=("start",), function=None)


def test_repr_names_every_dropped_axis_and_its_value():
    res = jaxgd.sweep(
        lambda x, a: jnp.cos(a * x), [0.5, 2.0], [0.1, 0.5], [0, 10], params=np.array([1.0, 2.0])
    )
    text = repr(res.isel(param=1, learning_rate=1, epochs=0))
    assert "; at param=2, learning_rate=0.5, epochs=0;" in text
    points = jaxgd.sweep(lambda p: jnp.sum(p**2), [[0.0, 1.0], [1.0, 2.0]], [0.1], [1, 5])
    assert "at start=(1, 2), epochs=1;" in repr(points.isel(start=1, epochs=0))


def test_repr_shows_a_dropped_point_of_many_coordinates_and_a_bfloat16_value():
    d = 12
    starts = np.arange(2 * d, dtype=np.float32).reshape(2, d)
    shape = (2, 1, 1, d)
    res = jaxgd.SweepResult(
        np.zeros(shape, np.float32),
        np.zeros(shape[:-1], np.float32),
        np.zeros(shape[:-1], bool),
        starts,
        np.array([0.1], np.float32),
        np.array([3]),
        dims=("start", "learning_rate", "epochs", "coord"),
        coords={"coord": np.arange(d)},
    )
    assert "at start=(12, 13, 14, ..., 23; 12 coordinates))" in repr(res.isel(start=1))
    low = jax.tree.map(lambda a: a.astype(jnp.bfloat16) if a.dtype == np.float32 else a, res)
    text = repr(low.isel(start=0, learning_rate=0))
    assert "at start=(0, 1, 2, ..., 11; 12 coordinates), learning_rate=0.100098)" in text
    assert float(low.sel(learning_rate=0.100098).learning_rates) == 0.10009765625


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_repr_shows_a_dropped_value_that_sel_finds_again(dtype):
    starts = np.array([1 / 3, 9 / 7, 2.0, 1e-10, 123456789.0], dtype)
    epochs = np.array([2**53 + 1, 7])
    shape = (5, 1, 2)
    res = jaxgd.SweepResult(
        np.zeros(shape, dtype),
        np.zeros(shape, dtype),
        np.zeros(shape, bool),
        starts,
        np.array([0.1], dtype),
        epochs,
    )
    for i in range(len(starts)):
        cell = res.isel(start=i, epochs=0)
        shown = repr(cell).split("at start=")[1].split(",")[0]
        # What repr shows selects that start again, exactly (and :g's six digits only when
        # they are that number).
        assert res.sel(start=float(shown)).starts == starts[i]
        assert len(shown) <= len(str(starts[i]))
        assert f"epochs={2**53 + 1}" in repr(cell)
    assert "at start=2, " in repr(res.isel(start=2, epochs=0))
