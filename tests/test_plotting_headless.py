"""Figures without pyplot: the headless switch of jaxgd.plotting, and runs that never import it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

import jaxgd
from experiments import lr_epochs
from jaxgd import plotting
from jaxgd.cli import command as cli_command
from jaxgd.functions import notebook
from jaxgd.minima import find_minima
from tests.test_experiments import SMALL
from tests.test_experiments_axes import SMALL_FAM
from tests.test_experiments_nd import SMALL as SMALL_ND

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def res():
    return jaxgd.sweep(notebook, 0.0, np.linspace(1e-10, 0.1, 6), [10, 50, 200]).isel(start=0)


def _figures(res):
    """One figure of each kind the lr_epochs run draws, and a curve of f."""
    minima = find_minima(notebook, -6.0, 6.0)
    return [
        plotting.plot_heatmap(res, target=-1.42887),
        plotting.plot_lines(res, minima=minima),
        plotting.plot_function(notebook, (-6.0, 6.0)),
    ]


def test_library_default_registers_figures_with_pyplot(res):
    assert not plotting.is_headless()
    before = set(plt.get_fignums())
    figs = _figures(res)
    try:
        for fig in figs:
            assert fig.canvas.manager is not None
            assert fig.number in plt.get_fignums()  # so plt.show() and notebooks see it
    finally:
        for fig in figs:
            plotting.close(fig)
    assert set(plt.get_fignums()) == before


def test_headless_figures_skip_pyplot_and_still_save(res):
    before = set(plt.get_fignums())
    with plotting.headless():
        assert plotting.is_headless()
        figs = _figures(res)
    assert not plotting.is_headless()
    for fig in figs:
        assert isinstance(fig, Figure)
        assert fig.canvas.manager is None
        assert fig.get_layout_engine() is not None  # laid out as the pyplot ones are
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        assert buf.getvalue()[:8] == PNG
        plotting.close(fig)  # nothing to free in pyplot; must not fail
    assert set(plt.get_fignums()) == before


def test_headless_figures_match_pyplot_ones(res):
    # The same drawing either way: axes, labels, titles and sizes.
    made = [_figures(res)]
    with plotting.headless():
        made.append(_figures(res))
    try:
        for a, b in zip(*made, strict=True):
            assert a.get_size_inches().tolist() == b.get_size_inches().tolist()
            assert [ax.get_title() for ax in a.axes] == [ax.get_title() for ax in b.axes]
            assert [ax.get_xlabel() for ax in a.axes] == [ax.get_xlabel() for ax in b.axes]
            assert [ax.get_ylabel() for ax in a.axes] == [ax.get_ylabel() for ax in b.axes]
            assert [t.get_text() for t in a.texts] == [t.get_text() for t in b.texts]
    finally:
        for fig in made[0]:
            plotting.close(fig)


def test_subplots_keywords_reach_the_headless_figure():
    from jaxgd.plotting._common import _subplots

    with plotting.headless():
        fig, axes = _subplots(
            1, 2, figsize=(6.0, 2.0), width_ratios=[3, 1], sharey=True, squeeze=False
        )
    assert fig.get_size_inches().tolist() == [6.0, 2.0]
    assert axes.shape == (1, 2)
    assert axes[0, 0].get_position().width > 2 * axes[0, 1].get_position().width


def test_set_headless_returns_the_setting_before_and_the_block_restores_it():
    assert plotting.set_headless(True) is False
    try:
        assert plotting.set_headless(True) is True
        with plotting.headless(False):
            assert not plotting.is_headless()
        assert plotting.is_headless()
    finally:
        plotting.set_headless(False)
    with pytest.raises(RuntimeError, match="inside"), plotting.headless():
        raise RuntimeError("inside")
    assert not plotting.is_headless()


@pytest.mark.parametrize("setting", [False, True])
def test_an_experiment_run_leaves_the_setting_as_it_found_it(setting, tmp_path, capsys):
    before = set(plt.get_fignums())
    plotting.set_headless(setting)
    try:
        for show in ([], ["--show"]):
            argv = [*SMALL["lr_epochs"], *show, "--out", str(tmp_path)]
            assert lr_epochs.main(argv) == 0
            assert plotting.is_headless() is setting
    finally:
        plotting.set_headless(False)
    capsys.readouterr()
    assert set(plt.get_fignums()) == before


_RUN_ALL = """
import importlib, json, sys
runs, out = json.loads(sys.argv[1]), sys.argv[2]
for name, argv in runs.items():
    code = importlib.import_module("experiments." + name).main([*argv, "--out", out + "/" + name])
    assert code == 0, (name, code)
print("pyplot imported" if "matplotlib.pyplot" in sys.modules else "no pyplot")
"""


@pytest.mark.thorough
def test_experiments_never_import_pyplot(tmp_path):
    # One run per way an experiment sets itself up (jaxgd.cli.setup, setup_2d, its own), and
    # the figure with shared axes; all figures are made by the same function of
    # jaxgd.plotting._common, so these stand for the rest at a fraction of the time.
    runs = {
        "lr_epochs": SMALL["lr_epochs"],
        "surface": SMALL_ND["surface"],
        "function_family": SMALL_FAM,
        "derivative_check": ["--epochs", "100"],
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", _RUN_ALL, json.dumps(runs), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "no pyplot"
    written = sorted(p.relative_to(tmp_path).parts[0] for p in tmp_path.glob("*/*.png"))
    assert set(written) == set(runs)


def test_setup_alone_leaves_a_callers_figures_on_pyplot(tmp_path):
    # A notebook or test that calls setup without running an experiment keeps its figures.
    from jaxgd import cli

    cli.setup(lr_epochs.parser(), [*SMALL["lr_epochs"], "--out", str(tmp_path)])
    assert not plotting.is_headless()


def test_a_run_inside_a_run_restores_each_setting(tmp_path, capsys):
    # `python -m experiments all` runs each experiment's main inside its own run.
    seen = []

    @cli_command
    def outer(argv):
        plotting.set_headless(True)
        seen.append(lr_epochs.main([*SMALL["lr_epochs"], "--show", "--out", str(tmp_path)]))
        seen.append(plotting.is_headless())
        return 0

    assert outer([]) == 0
    capsys.readouterr()
    assert seen == [0, True]
    assert not plotting.is_headless()
