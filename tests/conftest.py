"""Shared fixtures: float64 mode, a compile counter, a PRNG key."""

from __future__ import annotations

import gc
import itertools

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


def _map_limit() -> int | None:
    """Linux's limit on a process's memory maps (``vm.max_map_count``); None elsewhere."""
    try:
        with open("/proc/sys/vm/max_map_count") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return None


_MAP_LIMIT = _map_limit()
_TESTS_RUN = itertools.count(1)


@pytest.fixture(autouse=True)
def _memory_maps_below_the_limit():
    """XLA:CPU maps each compiled program's code into memory on its own. A test process keeps
    thousands of programs (each test's f compiles its own): two modules of the suite left
    47,000 maps, and a worker that reaches ``vm.max_map_count`` (65,530 by default) crashes in
    its next compile (SIGSEGV or SIGABRT inside XLA). Every 10th test, past half the limit,
    JAX's caches are cleared and their programs freed; they compile again when next needed.
    (Reading the process's maps takes about 25 ms at 20,000 of them: not after every test.)"""
    yield
    if _MAP_LIMIT is None or next(_TESTS_RUN) % 10:
        return
    with open("/proc/self/maps", "rb") as fh:
        maps = fh.read().count(b"\n")
    if maps > _MAP_LIMIT // 2:
        jax.clear_caches()
        gc.collect()


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
