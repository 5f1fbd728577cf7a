"""Sweeps split over several devices: equal to one device, one compile, checked arguments.

JAX fixes the number of CPU devices when its backend starts, so the 4-device checks run in a
fresh process (tests/_sharding_worker.py, with ``jax_num_cpu_devices=4``); each check there is
one test here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd
from tests.helpers import CASES

ROOT = Path(__file__).resolve().parent.parent
CHECKS = [
    "check_four_devices",
    "check_equal_to_one_device",
    "check_chunked_on_four_devices",
    "check_new_axes_on_four_devices",
    "check_one_compile_serves_every_chunk",
    "check_work_is_split",
    "check_subset_of_devices",
    "check_nested_functions_on_four_devices",
]


@pytest.fixture(scope="module")
def four_devices():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)  # the worker sets its own device count
    proc = subprocess.run(
        [sys.executable, "-m", "tests._sharding_worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("check", CHECKS)
def test_on_four_cpu_devices(four_devices, check):
    report, log = four_devices
    assert report.get(check) == "ok", f"{report.get(check, 'not run')}\n{log[-3000:]}"


def test_devices_argument_takes_this_process_devices():
    f = CASES[0].f
    args = ([0.0, 1.6, -2.0], [0.01, 0.1], [10, 0, 100])
    default = jaxgd.sweep(f, *args)
    explicit = jaxgd.sweep(f, *args, devices=jax.devices())
    single = jaxgd.sweep(f, *args, devices=jax.devices()[0])
    for res in (explicit, single):
        np.testing.assert_array_equal(res.final, default.final)
        np.testing.assert_array_equal(res.value, default.value)
        assert isinstance(res.final, np.ndarray)


@pytest.mark.parametrize(
    ("devices", "error", "match"),
    [
        ([], ValueError, "devices is empty"),
        ("cpu", TypeError, "devices must hold jax.Device"),
        (3, TypeError, "devices must be a sequence of jax.Device"),
        (lambda: [jax.devices()[0]] * 2, ValueError, "lists a device twice"),
        # A dict's keys, a set's order: accepted, they decided the split silently.
        (lambda: {jax.devices()[0]: "x"}, TypeError, r"list or tuple .* got dict"),
        (lambda: {jax.devices()[0]}, TypeError, r"list or tuple .* got set"),
    ],
)
def test_bad_devices_name_the_argument(devices, error, match):
    devices = devices() if callable(devices) else devices
    with pytest.raises(error, match=match):
        jaxgd.sweep(jnp.cos, [0.0], [0.1], [1], devices=devices)


def test_devices_inside_jit_is_refused():
    @jax.jit
    def run(starts):
        return jaxgd.sweep(jnp.cos, starts, [0.1], [1], devices=jax.devices())

    with pytest.raises(ValueError, match="devices needs concrete inputs"):
        run(jnp.zeros(2))
