"""What ``import jaxgd`` and a rewritten sweep load: only what a run needs."""

from __future__ import annotations

import subprocess
import sys

import jaxgd


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return set(out.stdout.split())


def test_a_rewritten_sweep_does_not_import_jax_extend():
    loaded = _modules_after(
        "import jaxgd, jax\n"
        "res = jaxgd.sweep(jaxgd.functions.notebook, [0.0, 1.0], 0.1, 5, fast_math=True)\n"
        "assert res.math == 'fast', res.math"
    )
    assert "jaxgd.fastmath" in loaded
    assert not {m for m in loaded if m == "jax.extend" or m.startswith("jax.extend.")}


def test_import_jaxgd_leaves_what_a_sweep_does_not_need_unloaded():
    loaded = _modules_after("import jaxgd")
    lazy = {"jaxgd.distributed", "jaxgd.derivative", "jaxgd.functions2d", "jaxgd.minima_nd"}
    assert not lazy & loaded
    assert not {"matplotlib", "optax", "jaxgd.cli", "jaxgd.plotting"} & loaded


def test_lazy_names_resolve_to_the_submodules_objects():
    from jaxgd import derivative, distributed, functions2d, minima_nd

    assert jaxgd.check_derivative is derivative.check_derivative
    assert jaxgd.DerivativeCheck is derivative.DerivativeCheck
    assert jaxgd.distributed is distributed
    assert jaxgd.functions2d is functions2d
    assert jaxgd.minima_nd is minima_nd
    assert {"check_derivative", "DerivativeCheck", "minima_nd"} <= set(dir(jaxgd))
