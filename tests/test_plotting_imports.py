"""The modules a run's figures need, imported in the background; figures wait for them."""

from __future__ import annotations

import inspect
import re
import sys
import threading
from functools import partial

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import jaxgd
from experiments import lr_epochs
from jaxgd import plotting
from jaxgd.functions import notebook
from jaxgd.plotting import _common
from tests.test_experiments import SMALL

_BLOCKING = """
import threading, time
import {registry} as registry
registry.threads.append(threading.current_thread().name)
registry.release.wait(30)
registry.done_at.append(time.monotonic())
"""

# Filled by the modules written below, when they are imported.
threads: list[str] = []
done_at: list[float] = []
release = threading.Event()


@pytest.fixture
def blocking_module(tmp_path, monkeypatch):
    """The name of a fresh module whose import blocks until ``release`` is set."""
    name = f"jaxgd_slow_{abs(hash(tmp_path)) % 10**9}"
    (tmp_path / f"{name}.py").write_text(_BLOCKING.format(registry=__name__))
    monkeypatch.syspath_prepend(str(tmp_path))
    threads.clear()
    done_at.clear()
    release.clear()
    yield name
    release.set()
    _common.wait_for_imports()
    sys.modules.pop(name, None)


def test_the_modules_are_imported_in_a_background_thread(blocking_module):
    _common.import_in_background([blocking_module])
    importer = _common._importer
    assert importer is not None and importer.is_alive()
    _common.import_in_background([blocking_module])  # one at a time
    assert _common._importer is importer
    release.set()
    _common.wait_for_imports()
    assert not importer.is_alive() and _common._importer is None
    assert blocking_module in sys.modules
    assert threads == ["jaxgd-figure-imports"]


def test_loaded_modules_start_no_thread():
    _common.import_in_background(["json", "matplotlib"])
    assert _common._importer is None
    _common.wait_for_imports()  # nothing to wait for


def test_a_failed_import_is_left_for_the_figures_own_import():
    name = "jaxgd_no_such_module_anywhere"
    _common.import_in_background([name])
    _common.wait_for_imports()  # raises nothing
    assert name not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        __import__(name)


@pytest.fixture(scope="module")
def res():
    return jaxgd.sweep(notebook, 0.0, np.linspace(1e-10, 0.1, 5), [10, 50]).isel(start=0)


@pytest.mark.parametrize(
    "draw",
    [
        pytest.param(lambda res: plotting.plot_heatmap(res), id="plot_heatmap"),
        pytest.param(lambda res: plotting.plot_lines(res), id="plot_lines"),
        pytest.param(lambda res: plotting.plot_final(res.isel(epochs=0)), id="plot_final"),
    ],
)
def test_a_figure_waits_for_the_background_imports(draw, res, blocking_module):
    plotting.close(draw(res))  # warm: a figure takes well under the second below
    _common.import_in_background([blocking_module])
    made = []
    worker = threading.Thread(target=lambda: made.append(draw(res)), daemon=True)
    worker.start()
    worker.join(1.0)
    assert worker.is_alive() and not made  # still waiting for the import
    release.set()
    worker.join(30)
    assert len(made) == 1 and len(done_at) == 1
    plotting.close(made[0])


_WAITS = re.compile(r"\b(wait_for_imports|_axes|_subplots)\(")
_IMPORTS = re.compile(r"^\s+(import matplotlib|from matplotlib)")


@pytest.mark.parametrize("name", plotting.__all__)
def test_every_figure_function_waits_before_it_imports_matplotlib(name):
    # Two threads importing matplotlib's modules at once could each hold a lock the other
    # needs; a figure function lets the background thread finish first.
    obj = getattr(plotting, name)
    if not inspect.isfunction(obj):
        pytest.skip("not a function")
    body = inspect.getsource(obj).split('"""')[-1].splitlines()
    first_import = next((i for i, line in enumerate(body) if _IMPORTS.match(line)), None)
    if first_import is None:
        return
    first_wait = next((i for i, line in enumerate(body) if _WAITS.search(line)), None)
    assert first_wait is not None and first_wait < first_import, name


def test_a_run_waits_for_its_imports_before_it_returns(
    blocking_module, tmp_path, monkeypatch, capsys
):
    # Setup starts the imports; a run whose figures need nothing new still ends with the
    # thread done, so no import outlives it. Released from a timer: the run blocks until then.
    monkeypatch.setattr(
        _common, "import_in_background", partial(_common.import_in_background, [blocking_module])
    )
    timer = threading.Timer(0.5, release.set)
    timer.start()
    try:
        assert lr_epochs.main([*SMALL["lr_epochs"], "--out", str(tmp_path)]) == 0
    finally:
        timer.cancel()
    capsys.readouterr()
    assert threads == ["jaxgd-figure-imports"] and len(done_at) == 1
    assert _common._importer is None
    assert not any(t.name == "jaxgd-figure-imports" for t in threading.enumerate())


def test_a_run_with_show_imports_nothing_in_the_background(
    blocking_module, tmp_path, monkeypatch, capsys
):
    # --show uses pyplot, whose windows may only be driven from the main thread.
    monkeypatch.setattr(
        _common, "import_in_background", partial(_common.import_in_background, [blocking_module])
    )
    assert lr_epochs.main([*SMALL["lr_epochs"], "--show", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert threads == []
