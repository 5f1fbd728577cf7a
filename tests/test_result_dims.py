"""SweepResult with more axes than (start, learning rate, epochs): optimiser names,
hyperparameters, parameters of f and the coordinates of d-dimensional positions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgd.result import RESERVED, SweepResult

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
    coords = {}
    for d, n in sizes.items():
        if d == "coord":
            coords[d] = np.arange(n)
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
        "schedule: cosine; at b1=0.9)"
    )
    assert repr(jax.tree.map(jnp.asarray, dropped)) == repr(dropped)
    seen = []
    jax.jit(lambda r: seen.append(repr(r)) or r)(dropped)
    assert "at b1=traced" in seen[0]
