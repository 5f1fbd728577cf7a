"""Shared fixtures: float64 mode, a compile counter, a PRNG key."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from tests.helpers import CompileCounter


@pytest.fixture
def x64():
    """Run the test with float64 enabled (references are float64)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def compiles():
    """Count XLA compilations inside ``with compiles:``; read ``compiles.count``."""
    return CompileCounter()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def key():
    return jax.random.key(0)
