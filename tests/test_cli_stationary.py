"""The note on stationary starts: checked only where no run shows the start was left."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from experiments import learning_rate, lr_epochs, optimizers, start_location
from jaxgd import cli
from tests.test_cli import _setup
from tests.test_experiments import SMALL


@pytest.fixture
def slopes(monkeypatch):
    """The starts f' is computed at, call by call."""
    calls = []
    real = cli._flat_at

    def counted(f, x):
        calls.append(x.tolist())
        return real(f, x)

    monkeypatch.setattr(cli, "_flat_at", counted)
    return calls


@pytest.fixture
def ctx():
    return _setup(["--function", "saddle", "--start", "0"], start="function", learning_rate=0.1,
                  epochs=10)  # fmt: skip


def test_only_starts_not_known_to_have_moved_are_checked(ctx, slopes):
    # saddle: f'(0) = f'(1) = 0, f'(-1) != 0.
    note = ctx.stationary([-1.0, 0.0, 1.0], moved=[True, False, False])
    assert note == (
        "note: 2 starts of 3 (x0 = 0, 1) are stationary points of f (f'(x0) = 0), where descent "
        "never moves"
    )
    assert slopes == [[0.0, 1.0]]
    assert ctx.stationary([-1.0, 0.0, 1.0], moved=[False, True, True]) is None
    assert ctx.stationary(0.0, moved=False).startswith("note: x0 = 0 is a stationary point")


def test_when_every_start_moved_f_prime_is_not_computed(ctx, slopes):
    assert ctx.stationary([-1.0, 0.5], moved=[True, True]) is None
    assert ctx.stationary(0.3, moved=True) is None
    assert slopes == []


_SMALL_OPTIMIZERS = [
    "--optimizers", "sgd", "adam", "--starts", "-2", "2", "3",
    "--learning-rates", "0.01", "0.1", "2", "--epochs", "10", "50", "2",
]  # fmt: skip


@pytest.mark.parametrize("module", [lr_epochs, learning_rate, start_location, optimizers])
def test_experiments_check_f_prime_only_at_a_start_that_did_not_move(
    module, slopes, tmp_path, capsys
):
    name = module.__name__.split(".")[-1]
    small = {**SMALL, "optimizers": _SMALL_OPTIMIZERS}
    assert module.main([*small[name], "--out", str(tmp_path)]) == 0
    assert "stationary point" not in capsys.readouterr().out
    assert slopes == []
    if module is start_location:
        argv = ["--starts", "-1", "1", "3", "--function", "saddle"]
    else:
        argv = [*small[name], "--function", "saddle", "--start", "0"]
    assert module.main([*argv, "--out", str(tmp_path)]) == 0
    assert "stationary point" in capsys.readouterr().out
    assert slopes  # a start that stayed put: f' says why


def test_a_slope_that_underflows_in_float32_is_not_called_stationary():
    # The notebook's f'(100) is 4.2e-217: 0 in float32, not a stationary point.
    ctx = _setup(["--start", "100"], start="function", learning_rate=0.1, epochs=10)
    note = ctx.stationary(100.0)
    assert note.startswith("note: f'(x0) at x0 = 100 is 0 in float32 (4.22e-217 in float64")
    assert "not a stationary point" in note
    # Several starts: the stationary ones and the underflowing ones are told apart.
    ctx = _setup(["--function", "saddle", "--start", "0"], start="function", learning_rate=0.1,
                 epochs=10)  # fmt: skip
    lines = ctx.stationary([0.0, 1.0, 2.0, 1e30]).split("\n")
    assert lines[0].startswith("note: 2 starts of 4 (x0 = 0, 1) are stationary points")
    assert len(lines) == 1  # saddle's f' at 2 is not 0; at 1e30 it overflows, not underflows


def test_a_function_that_fails_in_float64_keeps_the_float32_verdict():
    import jax.numpy as jnp

    def only_float32(x):
        if x.dtype != jnp.float32:
            raise TypeError("float32 only")
        return jnp.exp(-(x**2))

    ctx = _setup(["--start", "0"], start="function", learning_rate=0.1, epochs=10)
    ctx.f = only_float32
    assert ctx.stationary(100.0).startswith("note: x0 = 100 is a stationary point")
