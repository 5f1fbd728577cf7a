"""Shared fixtures: float64 mode, a compile counter, a PRNG key."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from tests.helpers import CompileCounter


@pytest.fixture(scope="session", autouse=True)
def _own_compilation_cache(tmp_path_factory):
    """Experiments run by the tests (in subprocesses too) keep compiled programs in a folder
    of this session, never in the user's cache folder."""
    import os

    saved = os.environ.get("JAXGD_CACHE_DIR")
    os.environ["JAXGD_CACHE_DIR"] = str(tmp_path_factory.mktemp("jaxgd-cache"))
    yield
    if saved is None:
        os.environ.pop("JAXGD_CACHE_DIR", None)
    else:
        os.environ["JAXGD_CACHE_DIR"] = saved


@pytest.fixture
def x64():
    """Run the test with float64 enabled (references are float64)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(params=[False, True], ids=["float32", "float64"])
def x64_or_not(request):
    """Run the test in float32 (JAX's default) and again with float64 enabled."""
    with jax.enable_x64(request.param):
        yield request.param


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
