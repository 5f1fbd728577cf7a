"""The experiments keep compiled programs in a per-user folder; plain library use never does."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from jaxgd import _compile_cache, cli

ROOT = Path(__file__).resolve().parent.parent


def test_folder_follows_the_environment_in_order(tmp_path):
    home = Path.home() / ".cache" / "jaxgd"
    assert _compile_cache.cache_dir({}) == home
    assert _compile_cache.cache_dir({"XDG_CACHE_HOME": ""}) == home  # empty is unset
    # and so is a relative one, which put the cache in the folder a run started in
    assert _compile_cache.cache_dir({"XDG_CACHE_HOME": "cache"}) == home
    assert _compile_cache.cache_dir({"XDG_CACHE_HOME": "./x/.."}) == home
    assert _compile_cache.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "jaxgd"
    mine = {"XDG_CACHE_HOME": str(tmp_path), "JAXGD_CACHE_DIR": str(tmp_path / "c")}
    assert _compile_cache.cache_dir(mine) == tmp_path / "c"


@pytest.mark.parametrize("word", ["0", "false", "No", " off "])
def test_switched_off_by_the_environment(word):
    assert not _compile_cache.enabled_by_env({"JAXGD_COMPILATION_CACHE": word})
    assert _compile_cache.enable({"JAXGD_COMPILATION_CACHE": word}) is None


@pytest.mark.parametrize("word", ["1", "yes", ""])
def test_on_unless_switched_off(word):
    assert _compile_cache.enabled_by_env({"JAXGD_COMPILATION_CACHE": word})


def test_a_folder_that_cannot_be_made_leaves_the_cache_off_with_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where a parent folder should be: no one can create it
    err = io.StringIO()
    assert _compile_cache.enable({"JAXGD_CACHE_DIR": str(blocker / "c")}, stderr=err) is None
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: compilation cache off")
    assert "JAXGD_CACHE_DIR" in lines[0]
    assert jax.config.jax_compilation_cache_dir is None


def test_calls_with_argv_leave_jax_settings_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXGD_CACHE_DIR", str(tmp_path / "c"))
    p = cli.parser("experiments.demo", "Demo.")
    cli.add_grid_args(p, start=0.0, learning_rate=0.1, epochs=10)
    cli.setup(p, ["--out", str(tmp_path / "out")])
    assert jax.config.jax_compilation_cache_dir is None
    assert not (tmp_path / "c").exists()


def test_no_cache_is_a_flag_of_every_experiment():
    p = cli.parser("experiments.demo", "Demo.")
    assert p.parse_args(["--no-cache"]).no_cache
    assert not p.parse_args([]).no_cache


class _Enabled(Exception):
    """Raised in place of turning the cache on: the run stops there, before computing."""


def _listed() -> list[str]:
    import experiments.__main__ as listing

    return list(listing.experiments())


@pytest.mark.parametrize("name", _listed())
def test_every_experiment_run_from_the_command_line_turns_the_cache_on(name, tmp_path, monkeypatch):
    # Whatever its setup (1-D f, 2-D f, a family f(x, theta)), argv None reads sys.argv.
    def enable(*args, **kwargs):
        raise _Enabled

    monkeypatch.setattr(_compile_cache, "enable", enable)
    monkeypatch.setattr(sys, "argv", [name, "--out", str(tmp_path)])
    module = __import__(f"experiments.{name}", fromlist=["main"])
    with pytest.raises(_Enabled):
        module.main()


# -- command-line runs ------------------------------------------------------------------------
def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAXGD_", "XLA_", "JAX_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _lr_epochs(out: Path, env: dict[str, str], *flags: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.lr_epochs", "--out", str(out), *flags],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> tuple[str, str]:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    # The summary without the paths written, which differ between runs.
    return "\n".join(line for line in out.splitlines() if not line.startswith("wrote ")), err


def _entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


@pytest.mark.slow
def test_two_runs_sharing_a_fresh_folder_both_succeed_and_agree(tmp_path):
    cache = tmp_path / "cache"
    env = _env(JAXGD_CACHE_DIR=str(cache))
    runs = [_lr_epochs(tmp_path / name, env) for name in ("a", "b")]
    (out_a, err_a), (out_b, err_b) = (_finish(r) for r in runs)
    assert out_a == out_b and "final guess after 500 epochs" in out_a
    assert err_a == err_b == ""
    written = _entries(cache)
    assert len(written) >= 3  # the sweep and the minima search's two programs, at least
    assert (cache.stat().st_mode & 0o777) == 0o700

    # A third run finds every program it needs: it writes nothing new and says the same.
    out_c, _ = _finish(_lr_epochs(tmp_path / "c", env))
    assert out_c == out_a
    assert _entries(cache) == written


@pytest.mark.slow
@pytest.mark.parametrize("how", ["flag", "env"])
def test_switched_off_runs_write_no_cache(tmp_path, how):
    cache = tmp_path / "cache"
    if how == "flag":
        proc = _lr_epochs(tmp_path / "out", _env(JAXGD_CACHE_DIR=str(cache)), "--no-cache")
    else:
        env = _env(JAXGD_CACHE_DIR=str(cache), JAXGD_COMPILATION_CACHE="0")
        proc = _lr_epochs(tmp_path / "out", env)
    _finish(proc)
    assert not cache.exists()


@pytest.mark.slow
def test_an_unwritable_folder_never_fails_a_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out, err = _finish(_lr_epochs(tmp_path / "out", _env(JAXGD_CACHE_DIR=str(blocker / "c"))))
    assert "final guess after 500 epochs" in out
    assert re.fullmatch(r"note: compilation cache off, .* not writable .*\n", err)


@pytest.mark.slow
def test_a_run_compiles_few_programs():
    # The sweep and the minima search's two programs: the labels, the global-minimum test
    # and the stationary check run on host arrays. It was 33, then 16.
    from benchmarks.run import programs_compiled

    assert programs_compiled("experiments.lr_epochs") <= 3


_COMPILE_ONE = """
import sys, jax, jax.numpy as jnp
from jaxgd import _compile_cache
assert _compile_cache.enable() is not None
print(float(jax.jit(lambda x: jnp.sin(x) * x + 1.0)(2.0)))
"""


def _compile_one(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _COMPILE_ONE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_an_entry_cut_short_is_written_again_whole(tmp_path):
    # JAX wrote an entry in place and never again once its name existed: one cut short (a
    # run killed while writing it, a full disk) was compiled afresh on every later run.
    cache = tmp_path / "cache"
    env = _env(JAXGD_CACHE_DIR=str(cache))
    first = _compile_one(env)
    (entry,) = (p for p in cache.iterdir() if p.name.endswith("-cache"))
    whole = entry.stat().st_size
    with entry.open("r+b") as fh:
        fh.truncate(whole // 2)
    assert _compile_one(env) == first
    assert [p.name for p in cache.iterdir()] == [entry.name]  # and no temporary file
    assert (
        abs(entry.stat().st_size - whole) < whole // 4
    )  # whole again: the compile time in it varies

    from jax._src import compilation_cache

    compilation_cache.decompress_executable(entry.read_bytes())  # reads: not cut short


def test_entries_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "k-cache"
    target.write_bytes(b"damaged")

    def full(*args):
        raise OSError(28, "No space left on device")

    _compile_cache._write_whole(target, b"new")
    assert target.read_bytes() == b"new"
    umask = os.umask(0)
    os.umask(umask)
    # As JAX writes them: a teammate sharing a group's folder can read them.
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        _compile_cache._write_whole(target, b"newer")
    assert [p.name for p in tmp_path.iterdir()] == ["k-cache"]
    assert target.read_bytes() == b"new"


@pytest.mark.parametrize("env", [{"JAXGD_CACHE_DIR": "~no-such-user-jaxgd/c"}, {}])
def test_no_home_folder_leaves_the_cache_off_with_one_line(env, monkeypatch):
    # HOME unset and a user the system does not know (a container run with --user): the
    # folder's lookup raised RuntimeError, and every experiment failed with a traceback.
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(os.path, "expanduser", lambda path: str(path))  # no one's home
    err = io.StringIO()
    assert _compile_cache.enable(env, stderr=err) is None
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: compilation cache off"), lines
    assert "home folder" in lines[0] and "JAXGD_CACHE_DIR" in lines[0]
    assert jax.config.jax_compilation_cache_dir is None


@pytest.mark.parametrize("word", ["maybe", "disabled", "2", "of"])
def test_a_switch_of_neither_word_is_refused(word, tmp_path):
    # JAXGD_COMPILATION_CACHE=disabled left the cache on without a word, and later with a
    # note only, where JAXGD_FAST_MATH=maybe is an error: a typo in a switch was taken for
    # one of its settings.
    err = io.StringIO()
    env = {"JAXGD_COMPILATION_CACHE": word, "JAXGD_CACHE_DIR": str(tmp_path / "c")}
    expected = (
        rf"^environment variable JAXGD_COMPILATION_CACHE={word!r} is not understood: set it "
        r"to 0 to turn the compilation cache off \(0, false, no, off\), or 1 \(or leave it "
        r"unset\) to keep it on \(1, on, true, yes\)$"
    )
    with pytest.raises(ValueError, match=expected):
        _compile_cache.enabled_by_env(env)
    with pytest.raises(ValueError, match=expected):
        _compile_cache.enable(env, stderr=err)
    assert err.getvalue() == ""
    assert jax.config.jax_compilation_cache_dir is None
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("command", [["experiments.single_run"], ["experiments", "all"]])
def test_a_command_line_run_refuses_a_switch_of_neither_word(command, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JAXGD_COMPILATION_CACHE": "maybe",
        "JAXGD_CACHE_DIR": str(tmp_path / "c"),
    }
    done = subprocess.run(
        [sys.executable, "-m", *command, "--out", str(tmp_path / "figs")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: environment variable JAXGD_COMPILATION_CACHE='maybe' is not understood: set it "
        "to 0 to turn the compilation cache off (0, false, no, off), or 1 (or leave it unset) "
        "to keep it on (1, on, true, yes)\n"
    )
    assert not (tmp_path / "figs").exists() and not (tmp_path / "c").exists()


@pytest.mark.parametrize("word", ["1", "Yes", " on ", ""])
def test_an_on_word_is_taken_silently(word, tmp_path):
    err = io.StringIO()
    env = {"JAXGD_COMPILATION_CACHE": word, "JAXGD_CACHE_DIR": str(tmp_path / "no" / "c")}
    (tmp_path / "no").write_text("")
    _compile_cache.enable(env, stderr=err)
    assert err.getvalue().startswith("note: compilation cache off, ")  # only the folder's line


@pytest.mark.parametrize("kind", ["file", "broken link"])
def test_a_name_taken_by_something_else_is_named_for_what_it_is(kind, tmp_path):
    # It said "is not writable (File exists)", mkdir's words, of a file or a broken link.
    taken = tmp_path / "c"
    if kind == "file":
        taken.write_text("")
    else:
        taken.symlink_to(tmp_path / "gone")
    err = io.StringIO()
    assert _compile_cache.enable({"JAXGD_CACHE_DIR": str(taken)}, stderr=err) is None
    expected = "a file, not a folder" if kind == "file" else "a broken symbolic link"
    assert f"{taken} is not writable (it is {expected})" in err.getvalue()
