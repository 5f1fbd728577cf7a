"""The package as users get it: its names, what it imports, what an install holds, its versions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import jaxgd

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# jaxgd.<name>[.<name>...] as the docs write it; a trailing "." ends a sentence, not a name.
DOTTED = re.compile(r"\bjaxgd(?:\.[A-Za-z_]\w*)+")


def _run(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def _names_in_docs() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for page in DOCS:
        for name in DOTTED.findall(page.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(str(page.relative_to(ROOT)))
    return found


def test_the_docs_name_things_in_jaxgd():
    names = _names_in_docs()
    # The scan itself must see the names this test exists for.
    assert {"jaxgd.functions.names", "jaxgd.sweep", "jaxgd.plotting"} <= set(names)


def test_every_name_the_docs_use_resolves_after_import_jaxgd():
    names = sorted(_names_in_docs())
    # A fresh interpreter: in this one other tests have imported submodules already, which
    # would make them attributes of the package whatever __init__ does.
    code = (
        "import json, sys\n"
        "import jaxgd\n"
        "missing = []\n"
        f"for dotted in {names!r}:\n"
        "    obj = jaxgd\n"
        "    for part in dotted.split('.')[1:]:\n"
        "        try:\n"
        "            obj = getattr(obj, part)\n"
        "        except AttributeError:\n"
        "            missing.append(dotted)\n"
        "            break\n"
        "print(json.dumps(missing))\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    missing = json.loads(out.stdout)
    where = {name: sorted(set(_names_in_docs()[name])) for name in missing}
    assert not missing, f"names in the docs that `import jaxgd` does not provide: {where}"


def test_import_jaxgd_does_not_import_matplotlib():
    code = (
        "import sys\n"
        "import jaxgd\n"
        "before = 'matplotlib' in sys.modules\n"
        "jaxgd.functions.names(); jaxgd.analysis.basins; jaxgd.minima.find_minima\n"
        "after_core = 'matplotlib' in sys.modules\n"
        "jaxgd.plotting.plot_final\n"
        "print(before, after_core)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_submodules_are_attributes_and_listed():
    for name in ("analysis", "derivative", "distributed", "functions", "minima"):
        assert getattr(jaxgd, name).__name__ == f"jaxgd.{name}"
        assert name in jaxgd.__all__
    assert jaxgd.plotting.__name__ == "jaxgd.plotting"
    assert jaxgd.cli.__name__ == "jaxgd.cli"
    assert {"plotting", "cli"} <= set(dir(jaxgd))
    with pytest.raises(AttributeError, match="no attribute 'not_a_module'"):
        jaxgd.not_a_module  # noqa: B018


def test_every_name_in_all_exists():
    for name in jaxgd.__all__:
        assert hasattr(jaxgd, name), name


def test_root_exports_the_analysis_entry_points():
    from jaxgd import minima

    assert jaxgd.find_minima is minima.find_minima
    assert jaxgd.find_minima_reached is minima.find_minima_reached
    assert "find_minima_reached" in jaxgd.__all__


# -- versions --------------------------------------------------------------------------------


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _lower_bounds(requirements: list[str]) -> dict[str, str]:
    bounds = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)", req)
        assert m, f"{req!r} must declare its minimum version as `name>=X.Y`"
        bounds[m[1].lower()] = m[2]
    return bounds


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / ".ci" / "min-versions.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_min_versions_file_pins_exactly_the_declared_minimums():
    project = _pyproject()["project"]
    declared = _lower_bounds(project["dependencies"])
    declared |= _lower_bounds(project["optional-dependencies"]["test"])
    assert {"jax", "jaxlib", "numpy", "matplotlib", "tqdm", "pytest", "hypothesis"} <= set(declared)
    pins = _pins()
    assert {name: pins.get(name) for name in declared} == declared


def test_jax_and_jaxlib_minimums_agree():
    declared = _lower_bounds(_pyproject()["project"]["dependencies"])
    assert declared["jax"] == declared["jaxlib"]


# -- what an install holds -------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    # What the install puts on sys.path is the question: a PYTHONPATH would answer it instead.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _pip(*args: str, python: str = sys.executable) -> None:
    out = subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=600,
    )
    assert out.returncode == 0, f"pip {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"


@pytest.mark.slow
def test_wheel_holds_only_the_jaxgd_package(tmp_path):
    pytest.importorskip("pip", reason="building the wheel needs pip in this environment")
    _pip("wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT))
    (wheel,) = tmp_path.glob("jaxgd-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"jaxgd", f"{wheel.name.split('-')[0]}-{jaxgd.__version__}.dist-info"}
    shipped = {n for n in names if n.startswith("jaxgd/")}
    package = ROOT / "jaxgd"
    assert shipped == {f"jaxgd/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}


@pytest.mark.thorough
@pytest.mark.slow
def test_editable_install_exposes_only_jaxgd(tmp_path):
    pytest.importorskip("pip", reason="installing needs pip in this environment")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    # Without dependencies: only what the editable install puts on sys.path matters here.
    _pip("install", "--no-deps", "--quiet", "-e", str(ROOT), "editables", python=python)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import importlib.util as u\n"
        "print(u.find_spec('jaxgd').origin)\n"
        "print([m for m in ('tests', 'experiments', 'benchmarks') if u.find_spec(m)])\n"
    )
    out = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=_clean_env(),
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    origin, leaked = out.stdout.splitlines()
    assert Path(origin) == ROOT / "jaxgd" / "__init__.py"  # editable: the clone's own code
    assert leaked == "[]", f"the editable install exposes {leaked} from the clone"
    failed = subprocess.run(
        [python, "-c", "import tests"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=_clean_env(),
        timeout=300,
    )
    assert failed.returncode != 0
    assert "No module named 'tests'" in failed.stderr


# -- the Quickstart and CI -------------------------------------------------------------------


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "the Quickstart has a ```bash block"
    return [line for line in block[1].splitlines() if line.strip()]


def test_quickstart_is_two_commands_that_set_up_and_run():
    first, second = _quickstart_commands()
    for command in (first, second):
        assert "venv" in command and "pip install" in command
    assert first.endswith("-m experiments.lr_epochs")
    assert second.endswith("-m pytest -n auto")


def test_ci_runs_exactly_the_quickstart_commands():
    script = ROOT / ".ci" / "run"
    # Without this flag the script would run the whole of CI here.
    assert '"--print-quickstart"' in script.read_text(encoding="utf-8")
    out = subprocess.run(
        ["bash", str(script), "--print-quickstart"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.splitlines() == _quickstart_commands()
