"""SweepResult with more axes than (start, learning rate, epochs): optimiser names,
hyperparameters, parameters of f and the coordinates of d-dimensional positions."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import sys
import tempfile
import zipfile
from fractions import Fraction
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxgd.result import RESERVED, SweepResult, load

CORE = ("start", "learning_rate", "epochs")


def build(
    sizes: dict[str, int],
    *,
    names: tuple[str, ...] | None = None,
    seed: int = 0,
    dtype: str = "float32",
) -> SweepResult:
    """A consistent result with the axes of ``sizes`` (in that order), its data random.

    Names outside the three of a plain sweep and "optimizer" get coordinates in ``coords``;
    "optimizer" gets the names ``names`` (default opt0, opt1, ...).
    """
    rng = np.random.default_rng(seed)
    dims = tuple(sizes)
    shape = tuple(sizes.values())
    final = rng.standard_normal(shape).astype(dtype)
    if final.size:
        final.reshape(-1)[rng.integers(0, final.size)] = np.inf
    value_shape = tuple(n for d, n in sizes.items() if d != "coord")
    value = rng.standard_normal(value_shape).astype(dtype)
    bad = ~np.isfinite(final).all(axis=-1) if "coord" in dims else ~np.isfinite(final)
    field = {
        "start": ("starts", lambda n: np.linspace(-3, 3, n).astype(dtype)),
        "learning_rate": ("learning_rates", lambda n: np.linspace(0, 0.5, n).astype(dtype)),
        "epochs": ("epochs", lambda n: np.arange(0, 10 * n, 10).astype(np.int32)),
    }
    arrays = {
        attr: make(sizes[d]) if d in sizes else make(1)[0] for d, (attr, make) in field.items()
    }
    if "coord" in sizes:  # d-dimensional runs start at points
        offsets = np.arange(sizes["coord"], dtype=dtype) / 10
        arrays["starts"] = arrays["starts"][..., None] + offsets
    coords = {}
    for d, n in sizes.items():
        if d == "coord":
            coords[d] = np.arange(n, dtype=np.int32)
        elif d == "param":
            coords[d] = np.linspace(0.1, 1.0, n).astype(dtype)
        elif d not in (*CORE, "optimizer"):
            coords[d] = np.linspace(0.5, 0.99, n).astype(dtype)
    optimizers = ()
    if "optimizer" in sizes:
        optimizers = (
            names if names is not None else tuple(f"opt{i}" for i in range(sizes["optimizer"]))
        )
    return SweepResult(
        final=final,
        value=value,
        diverged=bad | ~np.isfinite(value),
        **arrays,
        dims=dims,
        function="tests:built",
        coords=coords,
        optimizers=optimizers,
        schedule="",
    )


FULL = {
    "optimizer": 3,
    "b1": 2,
    "eps": 2,
    "param": 2,
    "start": 3,
    "learning_rate": 2,
    "epochs": 4,
    "coord": 2,
}


# -- constructor ---------------------------------------------------------------------------
def test_every_axis_has_its_coordinate_and_size():
    res = build(FULL)
    assert res.dims == tuple(FULL)
    assert res.sizes == FULL
    assert res.shape == tuple(FULL.values())
    assert res.value.shape == res.diverged.shape == res.shape[:-1]
    assert res.coord("optimizer").tolist() == ["opt0", "opt1", "opt2"]
    assert res.coord("optimizer").dtype.kind == "U"
    assert res.coord("coord").tolist() == [0, 1]
    assert res.coord("b1") is res.coords["b1"]
    assert res.coord("param") is res.coords["param"]
    assert res.coord("start") is res.starts
    with pytest.raises(ValueError, match=r"no axis named 'b2'.*'optimizer', 'b1'"):
        res.coord("b2")


def test_coords_are_pytree_children_and_names_are_static():
    res = build(FULL)
    leaves, tree = jax.tree.flatten(res)
    assert len(leaves) == 6 + 4  # data, three coordinate fields, four entries of coords
    back = jax.tree.unflatten(tree, leaves)
    assert back.optimizers == res.optimizers and back.coords.keys() == res.coords.keys()
    shapes = jax.tree.map(lambda a: a.shape, res)
    assert shapes.coords == {"b1": (2,), "eps": (2,), "param": (2,), "coord": (2,)}
    assert shapes.optimizers == ("opt0", "opt1", "opt2")

    @jax.jit
    def double_b1(r):
        return SweepResult(**{**vars(r), "coords": {**r.coords, "b1": 2 * r.coords["b1"]}})

    out = double_b1(res)
    assert isinstance(out.coords["b1"], jax.Array)
    np.testing.assert_allclose(out.coords["b1"], 2 * res.coords["b1"])
    assert out.dims == res.dims and out.optimizers == res.optimizers


def test_a_plain_result_has_no_extra_leaves():
    res = build({"start": 2, "learning_rate": 1, "epochs": 3})
    assert res.coords == {} and res.optimizers == () and res.schedule == ""
    assert len(jax.tree.leaves(res)) == 6


def test_the_three_plain_axes_may_come_in_any_order_between_the_others():
    res = build({"optimizer": 2, "b1": 2, "epochs": 2, "start": 2, "learning_rate": 2})
    assert res.dims == ("optimizer", "b1", "epochs", "start", "learning_rate")


@pytest.mark.parametrize(
    ("dims", "coords", "match"),
    [
        (("start", "optimizer"), {}, "out of order"),
        (("b1", "optimizer", "start"), {"b1": 0}, "out of order"),
        (("param", "b1", "start"), {"b1": 0, "param": 0}, "out of order"),
        (("coord", "start"), {"coord": 0}, "out of order"),
        (("start", "param"), {"param": 0}, "out of order"),
        (("start", "b1"), {"b1": 0}, "out of order"),
        (("b1", "start"), {}, "unknown axis name 'b1'.*coords=\\{'b1': ...\\}"),
        (("param", "start"), {}, "axis 'param' has no coordinate"),
        (("coord",), {}, "axis 'coord' has no coordinate"),
        (("b 1", "start"), {}, "unknown axis name 'b 1'; .*Python identifier"),
        (("start",), {"start": 0}, "coords holds 'start'"),
        (("optimizer",), {"optimizer": 0}, "coords holds 'optimizer'"),
        (("b-1", "start"), {"b-1": 0}, "must be a Python identifier"),
        (("start",), {3: 0}, "coords holds 3"),
        (("b1", "b1"), {"b1": 0}, "repeat"),
    ],
)
def test_dims_and_coords_are_checked(dims, coords, match):
    z = np.zeros(())
    with pytest.raises(ValueError, match="dims: .*" + match):
        SweepResult(z, z, z, z, z, z, dims=dims, coords=coords)


def test_reserved_names_are_the_spec_ones():
    assert set(RESERVED) == {"start", "learning_rate", "epochs", "optimizer", "param", "coord"}


def test_optimizers_and_schedule_are_checked():
    z = np.zeros(())
    with pytest.raises(TypeError, match=r"optimizers must be a tuple .* \('adam',\)"):
        SweepResult(z, z, z, z, z, z, dims=(), optimizers="adam")
    with pytest.raises(ValueError, match=r"optimizers: 2 names .* no .optimizer. axis"):
        SweepResult(z, z, z, z, z, z, dims=(), optimizers=("sgd", "adam"))
    with pytest.raises(ValueError, match="non-empty str"):
        SweepResult(z, z, z, z, z, z, dims=("optimizer",), optimizers=("sgd", 3))
    with pytest.raises(TypeError, match="schedule must be a str"):
        SweepResult(z, z, z, z, z, z, dims=(), schedule=None)
    with pytest.raises(TypeError, match="coords must be a dict"):
        SweepResult(z, z, z, z, z, z, dims=(), coords=[1])
    one = SweepResult(z, z, z, z, z, z, dims=(), optimizers=["adam"], schedule="decay")
    assert one.optimizers == ("adam",) and hash(one.optimizers)


def test_repr_names_optimizers_schedule_and_dropped_axes():
    res = build(FULL)
    text = repr(res)
    assert text.startswith(
        "SweepResult(optimizer: 3, b1: 2, eps: 2, param: 2, start: 3, learning_rate: 2, "
        "epochs: 4, coord: 2; float32; math: xla; diverged "
    )
    assert "optimizers: opt0, opt1, opt2; f=tests:built)" in text
    z = np.zeros((), np.float32)
    dropped = SweepResult(
        z,
        z,
        np.zeros((), bool),
        z,
        z,
        z,
        dims=(),
        coords={"b1": np.float32(0.9)},
        optimizers=("adam",),
        schedule="cosine",
    )
    assert repr(dropped) == (
        "SweepResult(scalar; float32; math: xla; diverged 0 of 1; optimizer: adam; "
        "schedule: cosine; at b1=0.9, start=0, learning_rate=0, epochs=0)"
    )
    assert repr(jax.tree.map(jnp.asarray, dropped)) == repr(dropped)
    seen = []
    jax.jit(lambda r: seen.append(repr(r)) or r)(dropped)
    assert "at b1=traced" in seen[0]


# -- selection over every axis, against NumPy ----------------------------------------------
HYPER_NAMES = ("b1", "b2", "eps", "decay", "momentum")
NAMES = ("final", "value", "diverged", "starts", "learning_rates", "epochs")


def random_sizes(data) -> dict[str, int]:
    """Random axes: optional optimiser, 0-3 hyperparameters, optional param and coord."""
    length = st.integers(1, 3)
    sizes = {}
    if data.draw(st.booleans(), label="optimizer axis"):
        sizes["optimizer"] = data.draw(length, label="optimizers")
    keys = data.draw(st.lists(st.sampled_from(HYPER_NAMES), max_size=3, unique=True), label="keys")
    for key in keys:
        sizes[key] = data.draw(length, label=key)
    if data.draw(st.booleans(), label="param axis"):
        sizes["param"] = data.draw(length, label="params")
    for dim in CORE:
        sizes[dim] = data.draw(length, label=dim)
    if data.draw(st.booleans(), label="coord axis"):
        sizes["coord"] = data.draw(length, label="d")
    return sizes


def reference(res: SweepResult) -> dict:
    """Everything in a result, as plain NumPy/Python values to index by hand."""
    return {
        "dims": res.dims,
        **{name: np.asarray(getattr(res, name)) for name in NAMES},
        "coords": {k: np.asarray(v) for k, v in res.coords.items()},
        "optimizers": res.optimizers,
    }


def reference_isel(ref: dict, dim: str, key) -> dict:
    """NumPy's selection of the explicit positions ``np.arange(n)[key]`` along ``dim``."""
    axis = ref["dims"].index(dim)
    positions = np.arange(ref["final"].shape[axis])[key]
    drop = positions.ndim == 0
    out = {**ref, "coords": dict(ref["coords"])}
    out["dims"] = tuple(d for d in ref["dims"] if d != dim) if drop else ref["dims"]
    for name in ("final",) if dim == "coord" else ("final", "value", "diverged"):
        out[name] = np.take(ref[name], positions, axis=axis)
    field = dict(zip(CORE, ("starts", "learning_rates", "epochs"), strict=True))
    if dim in field:
        out[field[dim]] = np.take(ref[field[dim]], positions, axis=0)
    elif dim == "optimizer":
        names = np.array(ref["optimizers"], dtype=object)[positions]
        out["optimizers"] = (names,) if drop else tuple(names)
    else:
        out["coords"][dim] = np.take(ref["coords"][dim], positions)
    return out


def assert_matches(res: SweepResult, ref: dict) -> None:
    assert res.dims == ref["dims"]
    assert res.optimizers == ref["optimizers"]
    for name in NAMES:
        got = np.asarray(getattr(res, name))
        assert got.shape == ref[name].shape, name
        np.testing.assert_array_equal(got, ref[name], err_msg=name)
    assert res.coords.keys() == ref["coords"].keys()
    for name, want in ref["coords"].items():
        got = np.asarray(res.coords[name])
        assert got.shape == want.shape and got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)


def random_index(data, n: int):
    """An index of a random kind, valid for an axis of length ``n``: (what to pass, key)."""
    kinds = ["int", "np int", "0-d", "slice", "list", "mask", "array"]
    kind = data.draw(st.sampled_from(kinds if n else kinds[3:]), label="kind")
    i = data.draw(st.integers(-n, n - 1), label="position") if n else None
    if kind == "int":
        return i, i
    if kind == "np int":
        return np.int32(i), i
    if kind == "0-d":
        return np.array(i), i
    if kind == "slice":
        bounds = st.none() | st.integers(-n - 1, n + 1)
        s = slice(
            data.draw(bounds, label="lo"),
            data.draw(bounds, label="hi"),
            data.draw(st.none() | st.sampled_from([-2, -1, 1, 2]), label="step"),
        )
        return s, s
    if kind == "mask":
        mask = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="mask")
        return mask, np.array(mask, bool)
    items = data.draw(st.lists(st.integers(-n, n - 1), max_size=4), label="positions") if n else []
    if kind == "list":
        return items, np.array(items, np.int64)
    return np.array(items, np.int64), np.array(items, np.int64)


def random_result(data) -> tuple[SweepResult, dict]:
    """A result of random axes, some dropped, of a random kind; and its reference."""
    sizes = random_sizes(data)
    res = build(sizes, seed=data.draw(st.integers(0, 99), label="seed"))
    ref = reference(res)
    for dim in list(sizes):
        if data.draw(st.integers(0, 4), label=f"drop {dim}") == 0:
            i = data.draw(st.integers(0, sizes[dim] - 1))
            res, ref = res.isel({dim: i}), reference_isel(ref, dim, i)
    kind = data.draw(st.sampled_from(["numpy", "jax", "loaded"]), label="result kind")
    if kind == "jax":
        res = jax.tree.map(jnp.asarray, res)
    elif kind == "loaded":
        with tempfile.TemporaryDirectory() as folder:
            res = load(res.save(Path(folder) / "r"))
    return res, ref


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_isel_of_any_axes_matches_numpy(data):
    res, ref = random_result(data)
    assert_matches(res, ref)
    for _ in range(data.draw(st.integers(1, 3), label="selections")):
        if not res.dims:
            break
        dim = data.draw(st.sampled_from(res.dims), label="dim")
        index, key = random_index(data, res.sizes[dim])
        res, ref = res.isel(**{dim: index}), reference_isel(ref, dim, key)
        assert_matches(res, ref)
    squeezed = res.squeeze()
    for dim in [d for d in res.dims if res.sizes[d] == 1]:
        ref = reference_isel(ref, dim, 0)
    assert_matches(squeezed, ref)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_sel_of_any_axes_is_isel_of_the_positions(data):
    res, _ = random_result(data)
    if not res.dims:
        return
    dim = data.draw(st.sampled_from(res.dims), label="dim")
    labels = np.asarray(res.coord(dim)).tolist()
    if labels and data.draw(st.booleans(), label="one value"):
        i = data.draw(st.integers(0, len(labels) - 1), label="position")
        want, wanted = res.isel(**{dim: i}), labels[i]
    else:
        most = 3 if labels else 0
        positions = data.draw(st.lists(st.integers(0, max(len(labels) - 1, 0)), max_size=most))
        want, wanted = res.isel(**{dim: positions}), [labels[i] for i in positions]
    assert_matches(res.sel(**{dim: wanted}), reference(want))


def reference_sel(ref: dict, dim: str, wanted, method: str):
    """The positions of ``wanted`` on ``dim`` found by a plain loop over the coordinate, as
    documented: names exactly; numbers nearest (points by Euclidean distance), the first of
    equals; ``"exact"`` within one step of the axis's dtype (exactly for whole numbers).
    Returns the position (a scalar query) or list of positions, or KeyError."""
    if dim == "optimizer":
        names = list(ref["optimizers"])
        one = isinstance(wanted, str)
        hits = [names.index(w) if w in names else None for w in ([wanted] if one else wanted)]
        return KeyError if None in hits else hits[0] if one else hits
    field = dict(zip(CORE, ("starts", "learning_rates", "epochs"), strict=True))
    axis = ref[field[dim]] if dim in field else ref["coords"][dim]
    point = dim == "start" and axis.ndim == 2
    one = np.ndim(wanted) == (1 if point else 0) and np.size(wanted) > 0
    queries = [wanted] if one else list(wanted)
    positions = []
    for q in queries:
        if not len(axis):
            return KeyError
        dist = [math.dist(c, q) if point else abs(float(c) - float(q)) for c in axis.tolist()]
        i = min(range(len(dist)), key=lambda j: (dist[j], j))
        if method == "exact":
            got = np.atleast_1d(axis[i]).tolist()
            for c, v in zip(got, np.atleast_1d(q).tolist(), strict=True):
                if axis.dtype.kind in "iu":
                    ok = c == v
                else:
                    ok = abs(c - v) <= float(np.spacing(np.abs(axis.dtype.type(c))))
                if not ok:
                    return KeyError
        positions.append(i)
    return positions[0] if one else positions


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_chained_sel_of_any_axes_matches_a_plain_search(data):
    res, ref = random_result(data)
    for _ in range(data.draw(st.integers(1, 3), label="selections")):
        if not res.dims:
            break
        dim = data.draw(st.sampled_from(res.dims), label="dim")
        method = data.draw(st.sampled_from(["exact", "nearest"]), label="method")
        coord = np.asarray(res.coord(dim))
        labels = coord.tolist()
        on_axis = st.sampled_from(labels) if labels else st.nothing()
        if dim == "optimizer":
            label = st.sampled_from([*labels, "nope"])
        elif dim == "start" and coord.ndim == 2:
            d = coord.shape[1]
            label = on_axis | st.lists(st.floats(-4, 4, width=32), min_size=d, max_size=d)
        else:
            label = on_axis | on_axis.map(lambda v: v + 0.3)
            label = label | st.floats(-1e6, 1e6) | st.integers(-20, 100)
        one = data.draw(st.booleans(), label="one value")
        wanted = data.draw(label if one else st.lists(label, max_size=3), label="wanted")
        want = reference_sel(ref, dim, wanted, method)
        if want is KeyError:
            with pytest.raises(KeyError, match=dim):
                res.sel({dim: wanted}, method=method)
            return
        res, ref = res.sel({dim: wanted}, method=method), reference_isel(ref, dim, want)
        assert_matches(res, ref)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_save_and_load_keep_every_axis(data):
    res, ref = random_result(data)
    res = dataclasses.replace(
        res, schedule=data.draw(st.sampled_from(["", "optax:exponential_decay"]))
    )
    with tempfile.TemporaryDirectory() as folder:
        back = load(res.save(Path(folder) / "r"))
    assert_matches(back, ref)
    assert back.schedule == res.schedule and back.math == res.math
    assert back.function == res.function
    assert repr(back) == repr(res.to_numpy())


# -- selection: what the new axes refuse ---------------------------------------------------
def test_optimizer_axis_selects_by_name():
    res = build(FULL, names=("sgd", "momentum", "adam"))
    adam = res.sel(optimizer="adam")
    assert "optimizer" not in adam.dims and adam.optimizers == ("adam",)
    np.testing.assert_array_equal(adam.final, res.final[2])
    assert "optimizer: adam;" in repr(adam)
    both = res.sel(optimizer=np.array(["adam", "sgd"]))
    assert both.optimizers == ("adam", "sgd") and both.sizes["optimizer"] == 2
    with pytest.raises(KeyError, match=r"'nadam' is not .* \['sgd', 'momentum', 'adam'\]"):
        res.sel(optimizer="nadam")
    with pytest.raises(TypeError, match=r"selected by name.*use isel"):
        res.sel(optimizer=0)
    with pytest.raises(ValueError, match=r"no axis named 'optimizer'.*\('adam',\)"):
        adam.sel(optimizer="adam")


def test_an_optimizer_name_as_0d_text_array_is_that_name():
    res = build(FULL, names=("sgd", "momentum", "adam"))
    one = res.sel(optimizer=np.array("adam"))
    assert "optimizer" not in one.dims and one.optimizers == ("adam",)
    np.testing.assert_array_equal(one.final, res.sel(optimizer="adam").final)
    two = res.sel(optimizer=[np.array("momentum"), np.str_("sgd")])
    assert two.optimizers == ("momentum", "sgd")
    with pytest.raises(TypeError, match="selected by name"):
        res.sel(optimizer=np.array(b"adam"))


def test_coord_selects_in_final_only():
    res = build(FULL)
    first = res.isel(coord=0)
    assert first.dims == tuple(FULL)[:-1] and first.coords["coord"] == 0
    np.testing.assert_array_equal(first.final, res.final[..., 0])
    assert first.value is res.value and first.diverged is res.diverged
    assert "at coord=0" in repr(first)
    with pytest.raises(ValueError, match=r"'coord' was dropped .* res.coords\['coord'\]"):
        first.isel(coord=0)


def test_dropped_hyperparameter_keeps_its_value():
    res = build(FULL)
    picked = res.sel(b1=float(res.coords["b1"][1]))
    assert picked.coords["b1"] == res.coords["b1"][1] and picked.coords["b1"].ndim == 0
    assert picked.squeeze().dims == picked.dims  # no axis of length 1 left to drop
    assert build({"b1": 1, "start": 2, "learning_rate": 1, "epochs": 1}).squeeze().dims == (
        "start",
    )


def test_traced_positions_select_inside_jit_but_not_optimizer_names():
    res = jax.tree.map(jnp.asarray, build(FULL))

    @jax.jit
    def pick(r, i):
        return r.isel(b1=i, coord=i, param=i)

    out = pick(res, 1)
    np.testing.assert_array_equal(out.final, res.final[:, 1, :, 1, ..., 1])
    assert float(out.coords["b1"]) == float(res.coords["b1"][1])
    with pytest.raises(TypeError, match="optimiser names, which are static"):
        jax.jit(lambda r, i: r.isel(optimizer=i))(res, 0)


def test_indexers_as_a_dict_reach_any_name():
    z = np.zeros((2, 1), np.float32)
    res = SweepResult(
        z,
        z,
        np.zeros((2, 1), bool),
        np.float32(0),
        np.float32(0),
        np.arange(1),
        dims=("method", "epochs"),
        coords={"method": np.array([1.0, 2.0], np.float32)},
    )
    assert res.sel({"method": 2.0}).coords["method"] == 2.0
    assert res.isel({"method": 0}, epochs=0).dims == ()
    with pytest.raises(TypeError, match="'epochs' is given both"):
        res.isel({"epochs": 0}, epochs=0)
    with pytest.raises(TypeError, match="indexers must be a dict"):
        res.isel([0])


def test_an_optimizer_axis_and_names_that_disagree_are_refused():
    res = build({"optimizer": 2, "start": 1, "learning_rate": 1, "epochs": 1})
    bad = dataclasses.replace(res, optimizers=("a", "b", "c"))
    with pytest.raises(ValueError, match="optimizer axis has length 2 but optimizers names 3"):
        bad.isel(optimizer=0)
    with tempfile.TemporaryDirectory() as folder, pytest.raises(ValueError, match="names 3"):
        bad.save(Path(folder) / "bad")


def test_as_dict_holds_coords_and_names():
    res = build(FULL).isel(eps=0)
    got = res.as_dict()
    assert sorted(got) == sorted(
        [*NAMES, "coords.b1", "coords.eps", "coords.param", "coords.coord", "optimizers"]
    )
    assert got["optimizers"].tolist() == ["opt0", "opt1", "opt2"]
    assert got["coords.eps"].ndim == 0


# -- to_xarray -----------------------------------------------------------------------------
def test_to_xarray_names_every_axis_and_coordinate():
    xr = pytest.importorskip("xarray")
    res = dataclasses.replace(
        build(FULL, names=("sgd", "momentum", "adam")), schedule="optax:cosine_decay_schedule"
    ).isel(eps=1)
    ds = res.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert ds["final"].dims == res.dims
    assert ds["value"].dims == ds["diverged"].dims == res.dims[:-1]
    np.testing.assert_array_equal(ds["final"].values, res.final)
    np.testing.assert_array_equal(ds["diverged"].values, res.diverged)
    assert ds["optimizer"].values.tolist() == ["sgd", "momentum", "adam"]
    assert ds["optimizer"].dtype.kind == "U"
    assert "start" not in ds.coords  # points cannot index an axis
    assert ds["starts"].dims == ("start", "start_coord")
    np.testing.assert_array_equal(ds["starts"].values, res.starts)
    np.testing.assert_array_equal(ds["coord"].values, res.coords["coord"])
    np.testing.assert_array_equal(ds["b1"].values, res.coords["b1"])
    assert ds["eps"].ndim == 0 and float(ds["eps"]) == float(res.coords["eps"])
    assert ds.attrs == {
        "function": "tests:built",
        "math": "xla",
        "schedule": "optax:cosine_decay_schedule",
    }
    adam = res.sel(optimizer="adam", start=res.starts[1])
    ds = adam.to_xarray()
    assert ds["optimizer"].ndim == 0 and str(ds["optimizer"].values) == "adam"
    assert ds["starts"].dims == ("start_coord",)
    np.testing.assert_array_equal(ds["starts"].values, res.starts[1])
    np.testing.assert_array_equal(
        res.to_xarray().final.sel(optimizer="adam").isel(start=1).values, adam.final
    )
    plain = build({"optimizer": 2, "start": 3, "learning_rate": 1, "epochs": 2})
    ds = plain.to_xarray()
    np.testing.assert_array_equal(ds["start"].values, plain.starts)
    picked = ds.final.sel(optimizer="opt1", start=float(plain.starts[2]))
    np.testing.assert_array_equal(picked.values, plain.final[1, 2])


def test_to_xarray_of_a_plain_jax_result():
    pytest.importorskip("xarray")
    res = jax.tree.map(jnp.asarray, build({"start": 2, "learning_rate": 3, "epochs": 2}))
    ds = res.to_xarray()
    assert set(ds.coords) == set(CORE) and set(ds.data_vars) == {"final", "value", "diverged"}
    assert "optimizer" not in ds.coords
    with pytest.raises(TypeError, match="to_xarray: final is traced"):
        jax.jit(lambda r: r.to_xarray() and r)(res)


def test_to_xarray_without_xarray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray then raises ImportError
    with pytest.raises(ImportError, match=r'pip install "jaxgd\[xarray\]"'):
        build(FULL).to_xarray()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: {"value": r.value[:1]}, r"value has shape \(1, 2, 2\), final"),
        (lambda r: {"starts": r.starts[:2]}, r"the 'start' coordinate has shape \(2,\)"),
        (lambda r: {"final": r.final[0]}, r"final has shape \(2, 2\), which does not match dims"),
        (lambda r: {"optimizers": ("a", "b", "c")}, "the optimizer axis has length 1 but"),
    ],
    ids=["value", "coordinate", "final", "optimizers"],
)
def test_to_xarray_refuses_shapes_that_disagree_as_selection_does(change, message):
    pytest.importorskip("xarray")
    res = build({"start": 3, "learning_rate": 2, "epochs": 2})
    if "optimizers" in change(res):
        res = build({"optimizer": 1, "start": 3, "learning_rate": 2, "epochs": 2})
    bad = dataclasses.replace(res, **change(res))
    with pytest.raises(ValueError, match=f"to_xarray: {message}.*Build the result with matching"):
        bad.to_xarray()


def test_to_xarray_refuses_an_axis_named_like_a_variable():
    pytest.importorskip("xarray")
    z = np.zeros(1, np.float32)
    res = SweepResult(z, z, np.zeros(1, bool), 0.0, 0.0, 0, dims=("value",), coords={"value": z})
    with pytest.raises(ValueError, match="axis 'value' has the name of a data variable"):
        res.to_xarray()


# -- files of format 2: damaged or inconsistent ones never load ----------------------------
SAVED = build(FULL, names=("sgd", "momentum", "adam")).isel(eps=0)


def saved_entries(res: SweepResult = SAVED, **meta_changes) -> dict[str, object]:
    """The entries save writes for ``res``, as a dict to tamper with."""
    with tempfile.TemporaryDirectory() as folder:
        path = res.save(Path(folder) / "r")
        with zipfile.ZipFile(path) as zf:
            entries = {
                name[: -len(".npy")]: np.load(io.BytesIO(zf.read(name))) for name in zf.namelist()
            }
    meta = json.loads(str(entries["metadata"]))
    meta.update(meta_changes)
    entries["metadata"] = np.asarray(json.dumps(meta))
    return entries


def write(path: Path, entries: dict[str, object]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in entries.items():
            if arr is not None:
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=False)
                zf.writestr(f"{name}.npy", buf.getvalue())
    return path


def test_saved_entries_are_the_documented_ones():
    entries = saved_entries()
    assert sorted(entries) == sorted(
        [*NAMES, "metadata", "coords.b1", "coords.eps", "coords.param", "coords.coord"]
    )
    meta = json.loads(str(entries["metadata"]))
    assert meta["format"] == "jaxgd.SweepResult/2"
    assert meta["optimizers"] == ["sgd", "momentum", "adam"] and meta["schedule"] == ""
    assert sorted(meta["coords"]) == ["b1", "coord", "eps", "param"]


FINAL = np.asarray(SAVED.final)
BAD_2 = {
    "coords entry missing": ({"coords.b1": None}, r"lacks \['coords.b1.npy'\]"),
    "coords entry extra": ({"coords.b2": np.zeros(2)}, r"unexpected entries \['coords.b2.npy'\]"),
    "coords entry renamed": (
        {"coords.b1": None, "coords.b\x01": np.zeros(2)},
        r"lacks \['coords.b1.npy'\] and holds unexpected entries \['coords.b\\x01.npy'\] \(not "
        "in metadata 'coords'\\) in their place: the archive is damaged",
    ),
    "coords not listed": ({"metadata": {"coords": ["b1", "param", "coord"]}}, "coords.eps.npy"),
    "coords not a list": ({"metadata": {"coords": "b1"}}, "metadata 'coords' is a str"),
    "coords repeat": ({"metadata": {"coords": ["b1", "b1"]}}, "distinct axis names"),
    "no optimizers": ({"metadata": {"optimizers": None}}, "no 'optimizers' entry"),
    "no schedule": ({"metadata": {"schedule": None}}, "no 'schedule' entry"),
    "schedule not str": ({"metadata": {"schedule": 1}}, "metadata 'schedule' is an int"),
    "optimizer names not str": ({"metadata": {"optimizers": ["a", 1, "c"]}}, "non-empty str"),
    "too few names": (
        {"metadata": {"optimizers": ["a", "b"]}},
        r"final has shape \(3, .*\), but the coordinates and dims say \(2, ",
    ),
    "dims out of order": (
        {"metadata": {"dims": ["b1", "optimizer", *SAVED.dims[2:]]}},
        "axes out of order",
    ),
    "dims unknown": ({"metadata": {"dims": ["optimizer", "b2", *SAVED.dims[2:]]}}, "'b2'"),
    "format 1 with coords": (
        {"metadata": {"format": "jaxgd.SweepResult/1", "optimizers": None, "schedule": None}},
        "format 1 files lack|unknown axis name 'optimizer'",
    ),
    "coord floats": ({"coords.coord": np.array([0.0, 1.0])}, "coords.coord has dtype float64"),
    "coord negative": ({"coords.coord": np.array([0, -1])}, "coords.coord holds negative"),
    "param nan": ({"coords.param": np.array([0.1, np.nan])}, "coords.param holds non-finite"),
    "hyper text": ({"coords.b1": np.array(["a", "b"])}, "coords.b1 has dtype <U1"),
    "dropped hyper 1-D": ({"coords.eps": np.zeros(1)}, "coords.eps must be a scalar"),
    "hyper 0-d": ({"coords.b1": np.float32(0.5)}, "coords.b1 must be 1-D"),
    "hyper length": ({"coords.b1": np.zeros(3)}, r"final has shape .*, but the coordinates"),
    "value with coord": ({"value": np.zeros(FINAL.shape, np.float32)}, "value has shape"),
    "starts not points": ({"starts": np.zeros(3, np.float32)}, "starts must be 2-D"),
    "starts of no coordinate": ({"starts": np.zeros((3, 0), np.float32)}, "starts must be 2-D"),
    "coord past d": ({"coords.coord": np.array([0, 2])}, "past the starts' 2 coordinates"),
    "diverged extra": (
        {"diverged": np.ones(FINAL.shape[:-1], bool)},
        "diverged disagrees",
    ),
    "diverged missed": (
        {"diverged": np.zeros(FINAL.shape[:-1], bool)},
        "diverged disagrees",
    ),
}


@pytest.mark.parametrize(("change", "fragment"), BAD_2.values(), ids=BAD_2.keys())
def test_load_refuses_each_inconsistency_of_format_2(tmp_path, change, fragment):
    entries = saved_entries()
    for name, new in change.items():
        if name == "metadata":
            meta = json.loads(str(entries["metadata"]))
            meta.update(new)
            entries["metadata"] = np.asarray(
                json.dumps({k: v for k, v in meta.items() if v is not None})
            )
        else:
            entries[name] = new
    path = write(tmp_path / "bad.npz", entries)
    with pytest.raises(ValueError, match=re.escape(str(path)) + " is not a saved SweepResult: "):
        load(path)
    with pytest.raises(ValueError, match=fragment):
        load(path)


def test_a_diverged_flag_where_a_coordinate_was_dropped_loads():
    # A run may have diverged in a coordinate no longer held: the flag stays, and loads.
    res = build({"start": 2, "learning_rate": 1, "epochs": 1, "coord": 2})
    res = dataclasses.replace(res, final=np.zeros_like(res.final), value=np.zeros_like(res.value))
    flagged = dataclasses.replace(res, diverged=np.ones_like(res.diverged)).isel(coord=0)
    with tempfile.TemporaryDirectory() as folder:
        back = load(flagged.save(Path(folder) / "r"))
    assert back.diverged.all()


with tempfile.TemporaryDirectory() as _folder:
    GOOD_2 = SAVED.save(Path(_folder) / "good.npz").read_bytes()


def outcome_of(blob: bytes) -> SweepResult | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.npz"
        path.write_bytes(blob)
        try:
            back = load(path)
        except ValueError as e:
            assert str(e).startswith(f"{path} is not a saved SweepResult: "), str(e)
            return None
    assert_matches(back, reference(SAVED))
    return back


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(GOOD_2) - 1))
def test_a_truncated_file_of_format_2_never_loads(length):
    assert outcome_of(GOOD_2[:length]) is None


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(GOOD_2) - 1), st.integers(1, 255)), min_size=1, max_size=3
    )
)
def test_flipped_bytes_in_a_file_of_format_2_never_load_wrong(flips):
    blob = bytearray(GOOD_2)
    for at, mask in flips:
        blob[at] ^= mask
    outcome_of(bytes(blob))


# -- plots of one slice name the axes to select --------------------------------------------
def test_plots_of_one_slice_name_the_extra_axes_to_select():
    pytest.importorskip("matplotlib")
    from jaxgd.plotting import plot_final, plot_heatmap, plot_lines

    res = build({**FULL, "start": 1}, names=("sgd", "momentum", "adam"))
    b1 = float(res.coords["b1"][0])
    for plot in (plot_heatmap, plot_lines):
        with pytest.raises(ValueError, match=r"optimizer.*b1.*eps.*param.*coord") as info:
            plot(res)
        assert f'res.sel(optimizer="sgd", b1={b1:g}, eps=' in str(info.value)
        assert str(info.value).endswith(".isel(coord=0).")
    with pytest.raises(ValueError, match=r"one axis .* res.sel\(optimizer=\"opt0\"\)\.$"):
        plot_final(build({"optimizer": 3, "start": 4, "learning_rate": 1, "epochs": 1}))
    # Axes of length 1 are dropped, as the plain ones are.
    one = build({"optimizer": 1, "b1": 1, "start": 1, "learning_rate": 3, "epochs": 2})
    fig = plot_heatmap(one)
    import matplotlib.pyplot as plt

    plt.close(fig)


# -- d-dimensional starts are points -------------------------------------------------------
def test_starts_of_a_d_dimensional_result_are_points():
    res = build({"start": 3, "learning_rate": 2, "epochs": 1, "coord": 2})
    assert res.starts.shape == (3, 2)
    point = res.starts[1]
    one = res.sel(start=point.tolist())
    assert (
        one.dims == ("learning_rate", "epochs", "coord") and one.starts.tolist() == point.tolist()
    )
    np.testing.assert_array_equal(one.final, res.final[1])
    two = res.sel(start=[res.starts[2], res.starts[0]])
    assert two.starts.tolist() == [res.starts[2].tolist(), res.starts[0].tolist()]
    near = res.sel(start=point + 0.01, method="nearest")
    assert near.starts.tolist() == point.tolist()
    with pytest.raises(KeyError, match=r"is not a start .* \(nearest: \["):
        res.sel(start=point + 0.01)
    with pytest.raises(ValueError, match=r"points of R\^2: .* shape \(3,\)"):
        res.sel(start=[0.0, 1.0, 2.0])
    with pytest.raises(TypeError, match="a bool is not a coordinate value"):
        res.sel(start=True)
    assert res.sel(start=[]).sizes["start"] == 0
    # Selecting a coordinate leaves the starts whole: they name the runs.
    assert res.isel(coord=1).starts.shape == (3, 2)


@settings(max_examples=200, deadline=None)
@given(
    st.data(),
    st.integers(1, 5),
    st.integers(1, 3),
    st.sampled_from([1.0, 1e-3, 1e3]),
)
def test_nearest_point_is_nearest_however_far_the_query(data, n, d, scale):
    # Distances to a query 1e17 away round alike for starts of size 1: the first start was
    # taken, not the nearest. The reference compares squared distances in exact rationals.
    small = st.integers(-3, 3).map(lambda k: k * scale)
    starts = np.array(
        data.draw(st.lists(st.lists(small, min_size=d, max_size=d), min_size=n, max_size=n))
    )
    big = st.floats(-1e300, 1e300, allow_subnormal=False)
    near = st.floats(-5 * scale, 5 * scale, allow_subnormal=False)
    query = data.draw(st.lists(big | near, min_size=d, max_size=d), label="query")
    res = dataclasses.replace(
        build({"start": n, "learning_rate": 1, "epochs": 1, "coord": d}, dtype="float64"),
        starts=starts,
    )
    exact = [
        sum((Fraction(c) - Fraction(q)) ** 2 for c, q in zip(point, query, strict=True))
        for point in starts.tolist()
    ]
    want = exact.index(min(exact))
    assert res.sel(start=query, method="nearest").starts.tolist() == starts[want].tolist()
    assert res.sel(start=[query], method="nearest").starts.tolist() == [starts[want].tolist()]


def test_nearest_point_by_a_margin_below_the_querys_rounding():
    # Found by the test above: q - (b + c) / 2 rounds away the offsets of 0.001, and two
    # starts tied that are 2e-6 apart in squared distance; exact rationals tell them apart.
    starts = np.array([[0.001, -0.001, 0.0], [0.0, 0.0, 0.0], [1e-3, 1e-3, 0.0]])
    res = dataclasses.replace(
        build({"start": 3, "learning_rate": 1, "epochs": 1, "coord": 3}, dtype="float64"),
        starts=starts,
    )
    far = [8796093022209.0, 8796093022209.0, 0.0]
    two = res.isel(start=[0, 1])
    assert two.sel(start=far, method="nearest").starts.tolist() == [0.0, 0.0, 0.0]
    # The third start is nearer the first query in both coordinates; the second query is
    # as near to every start to within its rounding, and nearest [0, 0, 0].
    assert res.sel(start=[far, [-1e30, -1e30, 0.0]], method="nearest").starts.tolist() == [
        [1e-3, 1e-3, 0.0],
        [0.0, 0.0, 0.0],
    ]


def test_diverged_is_checked_strictly_while_every_coordinate_is_there():
    res = build({"start": 2, "learning_rate": 1, "epochs": 1, "coord": 2})
    res = dataclasses.replace(res, final=np.zeros_like(res.final), value=np.zeros_like(res.value))
    flagged = dataclasses.replace(res, diverged=np.ones_like(res.diverged))
    with tempfile.TemporaryDirectory() as folder:
        for whole in (flagged, flagged.isel(coord=[1, 0])):
            with pytest.raises(ValueError, match="diverged disagrees"):
                whole.save(Path(folder) / "r")
        for part in (flagged.isel(coord=[1]), flagged.isel(coord=1)):
            assert load(part.save(Path(folder) / "r")).diverged.all()


def test_coords_keep_one_order_through_tree_map():
    res = build({"b2": 2, "b1": 2, "param": 2, "start": 1, "learning_rate": 1, "epochs": 1})
    assert list(res.coords) == ["b2", "b1", "param"]
    assert list(jax.tree.map(np.asarray, res).coords) == ["b2", "b1", "param"]
    dropped = res.isel(b2=0, param=1, b1=0)
    assert list(jax.tree.map(np.asarray, dropped).coords) == ["b1", "b2", "param"]
    assert repr(dropped.to_numpy()).endswith("at b1=0.5, b2=0.5, param=1; f=tests:built)")


def test_sel_on_points_of_r1_takes_numbers_as_points():
    # A start of R^1 had to be given as [2.0]: 2.0 was refused ("points in 1 dimensions"),
    # and a list of numbers was read as one point of the wrong size.
    res = build({"start": 3, "learning_rate": 2, "epochs": 1, "coord": 1})
    a, b, c = (float(v) for v in res.starts[:, 0])
    one = res.sel(start=b)
    assert one.dims == ("learning_rate", "epochs", "coord") and one.starts.tolist() == [b]
    np.testing.assert_array_equal(one.final, res.final[1])
    np.testing.assert_array_equal(res.sel(start=[b]).final, res.final[1])
    two = res.sel(start=[c, a])
    assert two.sizes["start"] == 2 and two.starts.tolist() == [[c], [a]]
    assert res.sel(start=c + 1e-3 * abs(c - b), method="nearest").starts.tolist() == [c]
    with pytest.raises(KeyError, match="is not a start"):
        res.sel(start=(b + c) / 2)
