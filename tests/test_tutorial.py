"""docs/tutorial.ipynb runs, cell by cell, against today's code, so it can never go stale.

Every code cell is executed in order in one namespace, as a kernel would (no kernel needed),
with matplotlib's headless backend. The stored outputs are checked to be there, so the page
readers see shows what the code does.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def _cells(kind: str) -> list[dict]:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == kind]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_every_code_cell_runs_in_order(capsys):
    namespace: dict = {"__name__": "__tutorial__"}
    before = set(plt.get_fignums())
    cells = _cells("code")
    assert cells, "the tutorial has no code cells"
    # The notebook may set rcParams (its figures' dpi): they stay inside this test.
    with matplotlib.rc_context():
        try:
            for i, cell in enumerate(cells):
                code = compile(_source(cell), f"{NOTEBOOK.name}, code cell {i + 1}", "exec")
                try:
                    exec(code, namespace)
                except Exception as err:
                    pytest.fail(f"code cell {i + 1} raised {type(err).__name__}: {err}")
        finally:
            for n in set(plt.get_fignums()) - before:
                plt.close(n)
    out = capsys.readouterr().out
    # What the prose says the cells show.
    assert "after 1000 epochs at learning rate 0.01: x = -1.4288" in out
    assert "dims: ('optimizer', 'start', 'learning_rate', 'epochs')" in out
    assert "adam: " in out and "of the (start, rate) cells reach the global minimum" in out


def test_outputs_are_stored_and_without_errors():
    for i, cell in enumerate(_cells("code")):
        outputs = cell.get("outputs", [])
        assert outputs, f"code cell {i + 1} has no stored output: execute the notebook"
        kinds = {o["output_type"] for o in outputs}
        assert "error" not in kinds, f"code cell {i + 1} stored an error"
        streams = [o for o in outputs if o["output_type"] == "stream"]
        assert not [s for s in streams if s["name"] == "stderr"], f"cell {i + 1} wrote stderr"


def test_it_starts_where_the_course_starts():
    first = _source(_cells("code")[0])
    assert "jnp.sin(x) * jnp.exp(-0.05 * x**2)" in first
    second = _source(_cells("code")[1])
    assert "jaxgd.descend(f, 0.0, learning_rate=0.01, epochs=1000)" in second
    assert any("optimizer=optimizers" in _source(c) for c in _cells("code"))


def test_the_optimizers_page_examples_hold():
    # docs/optimizers.md is the reference for the new dimensions: its examples must stay true.
    import doctest

    page = NOTEBOOK.parent / "optimizers.md"
    with matplotlib.rc_context():
        result = doctest.testfile(
            str(page),
            module_relative=False,
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        )
    assert result.attempted > 20
    assert result.failed == 0, f"{result.failed} example(s) of {page.name} failed; see above"
