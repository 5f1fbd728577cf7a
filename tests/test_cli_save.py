"""Saving figures: one draw per PNG, the picture savefig(bbox_inches="tight") gives."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from PIL import Image

import jaxgd
from jaxgd import plotting
from jaxgd._cli_output import DPI, save_figure
from jaxgd.functions import notebook
from jaxgd.minima import find_minima


@pytest.fixture(scope="module")
def res():
    rates, epochs = np.linspace(1e-10, 0.1, 8), [10, 40, 100, 300]
    return jaxgd.sweep(notebook, 0.0, rates, epochs).isel(start=0)


def _pixels(data):
    return np.asarray(Image.open(io.BytesIO(data) if isinstance(data, bytes) else data), int)


def _unlike(got, expected):
    """Per pixel, how far ``got`` is from the nearest of ``expected``'s pixels one step away
    or less: pictures placed a fraction of a pixel apart (antialiased) stay near 0..100,
    anything drawn elsewhere, clipped or missing, near 255."""
    assert got.shape == expected.shape  # the same crop, margins included
    padded = np.pad(expected, ((1, 1), (1, 1), (0, 0)), mode="edge")
    rows, cols = got.shape[:2]
    return np.min(
        [
            np.abs(got - padded[dy : dy + rows, dx : dx + cols]).max(axis=-1)
            for dy in range(3)
            for dx in range(3)
        ],
        axis=0,
    )


def _savefig(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return _pixels(buf.getvalue())


MAKERS = {
    "heatmap": lambda res: plotting.plot_heatmap(res, target=-1.42887, title="a\nb"),
    "lines": lambda res: plotting.plot_lines(res, minima=find_minima(notebook, -6.0, 6.0)),
    "function": lambda res: plotting.plot_function(notebook, (-6.0, 6.0), points=[-1.43]),
}


def _make(kind, res):
    with plotting.headless():
        return MAKERS[kind](res)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_png_is_the_picture_savefig_tight_gives(kind, res, tmp_path):
    expected = _savefig(_make(kind, res))
    got = _pixels(save_figure(_make(kind, res), tmp_path, kind))
    # The same picture, up to where a sub-pixel placement lands.
    assert _unlike(got, expected).max() <= 100


def test_png_is_drawn_once(res, tmp_path, monkeypatch):
    draws = []
    draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, r: draws.append(1) or draw(self, r))
    fig = _make("heatmap", res)
    save_figure(fig, tmp_path, "heatmap")
    assert len(draws) == 1  # savefig draws twice: to lay out and crop, then to render


def test_svg_still_goes_through_savefig(res, tmp_path):
    fig = _make("lines", res)
    path = save_figure(fig, tmp_path, "lines", "svg")
    assert "<svg" in path.read_text()


def _legend_outside():
    fig = Figure(figsize=(3.0, 2.0), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], label="a line")
    # A legend placed outside the figure: savefig grows the canvas to fit it.
    fig.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def test_an_artist_past_the_edge_widens_the_png_as_savefig_does(tmp_path):
    fresh = _savefig(_legend_outside())
    got = _pixels(save_figure(_legend_outside(), tmp_path, "outside"))
    assert got.shape == fresh.shape
    assert got.shape[1] > 3.0 * DPI
    # Exactly savefig's picture of a figure drawn once before (matplotlib lays out a figure
    # drawn before a little differently, as a second savefig shows).
    drawn = _legend_outside()
    _savefig(drawn)
    np.testing.assert_array_equal(got, _savefig(drawn))


def test_saving_leaves_the_figure_as_it_was(res, tmp_path):
    fig = plotting.plot_heatmap(res)  # on pyplot, with its canvas and manager
    try:
        canvas, dpi, number = fig.canvas, fig.dpi, fig.number
        save_figure(fig, tmp_path, "heatmap")
        assert fig.canvas is canvas
        assert fig.canvas.manager is not None
        assert fig.dpi == dpi
        assert number in plt.get_fignums()
        # Drawn again on its own canvas, it is the figure it was.
        fig.canvas.draw()
        assert fig.canvas.get_width_height() == canvas.get_width_height()
    finally:
        plotting.close(fig)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_files_get_the_mode_a_plain_open_gives(umask, fmt, res, tmp_path):
    # 0o666 less the umask, as savefig writing the file itself would: not a temporary
    # file's 0o600, which a figure meant for a web folder or a colleague would keep.
    import os
    import stat

    from jaxgd._cli_output import save_result

    fig = Figure()
    fig.subplots().plot([0, 1])
    before = os.umask(umask)
    try:
        paths = [save_figure(fig, tmp_path, "demo", fmt), save_result(res, tmp_path / "r")]
    finally:
        os.umask(before)
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [([], "--out: cannot write {out}/single_run.png: Operation not permitted; choose a file "
          "and folder you can write."),
     (["--save", "{out}/r"], "--save: cannot write {out}/r.npz: Operation not permitted; "
      "choose a file and folder you can write. Already written: {out}/single_run.png.")],
)  # fmt: skip
def test_a_file_that_cannot_be_replaced_is_one_line_and_exit_2(flags, expected, tmp_path,
                                                               monkeypatch, capsys):  # fmt: skip
    # The folder passed the checks at the start; the rename at the end is refused (an
    # immutable file, or another user's in a sticky folder).
    import os

    from experiments import single_run
    from jaxgd import _cli_output

    out = tmp_path / "out"
    real = os.replace
    target = "r.npz" if flags else "single_run.png"

    def refuse(src, dst):
        if os.path.basename(dst) == target:
            raise PermissionError(1, "Operation not permitted", str(dst))
        return real(src, dst)

    monkeypatch.setattr(_cli_output.os, "replace", refuse)
    argv = [*(f.format(out=out) for f in flags), "--out", str(out), "--epochs", "10"]
    assert single_run.main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"error: {expected.format(out=out)}\n"
    # No temporary left: only the figure, when it was the result that could not be written.
    assert sorted(p.name for p in out.iterdir()) == (["single_run.png"] if flags else [])


def test_save_to_a_folder_named_like_a_result_file_is_refused(tmp_path, capsys):
    # results.npz/ is a folder: writing results.npz/single_run.npz into it would surprise.
    from experiments import single_run

    (tmp_path / "results.npz").mkdir()
    argv = ["--save", str(tmp_path / "results.npz"), "--out", str(tmp_path / "f")]
    assert single_run.main([*argv, "--epochs", "10"]) == 2
    assert "results.npz is a folder" in capsys.readouterr().err
    assert list((tmp_path / "results.npz").iterdir()) == []


@pytest.mark.parametrize(("name", "error"), [("run.NPZ", None), (".npz", "only the extension")])
def test_save_name_with_the_extension_in_capitals_or_alone(tmp_path, capsys, name, error):
    from experiments import single_run

    argv = ["--save", str(tmp_path / name), "--out", str(tmp_path / "f"), "--epochs", "10"]
    assert single_run.main(argv) == (2 if error else 0)
    out, err = capsys.readouterr()
    if error:
        assert error in err and "run.npz" in err
        assert not (tmp_path / "f").exists()  # refused before anything ran
    else:
        assert f"wrote {tmp_path / name}" in out
        assert sorted(p.name for p in tmp_path.iterdir()) == ["f", name]


@pytest.mark.parametrize(("existing", "slash"), [(False, "/"), (True, "/"), (True, "")])
def test_save_to_a_folder_writes_into_it(tmp_path, capsys, existing, slash):
    # Path() drops a trailing "/", which once wrote results.npz beside the folder; an existing
    # folder named without the "/" was written beside, too.
    from experiments import single_run

    folder = tmp_path / "results"
    if existing:
        folder.mkdir()
    argv = ["--save", f"{folder}{slash}", "--out", str(tmp_path / "figs"), "--epochs", "10"]
    assert single_run.main(argv) == 0
    assert f"wrote {folder / 'single_run.npz'}" in capsys.readouterr().out
    assert jaxgd.load(folder / "single_run.npz").final.shape == (1, 1, 1)
    assert not (tmp_path / "results.npz").exists()


@pytest.mark.parametrize("form", ["--save=~/res/run", "--save=~/res/", "--save=~"])
def test_save_and_out_read_a_leading_tilde_as_home(tmp_path, capsys, monkeypatch, form):
    # The shell expands ~ only as a word of its own: --save=~/x reached the program as is,
    # and wrote into a folder named "~" in the current one.
    from experiments import single_run

    home, cwd = tmp_path / "home", tmp_path / "cwd"
    (home / "res").mkdir(parents=True)
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    assert single_run.main([form, "--out=~/figs", "--epochs", "10"]) == 0
    expected = {
        "--save=~/res/run": home / "res" / "run.npz",
        "--save=~/res/": home / "res" / "single_run.npz",
        "--save=~": home / "single_run.npz",
    }[form]
    assert f"wrote {expected}" in capsys.readouterr().out
    assert jaxgd.load(expected).final.shape == (1, 1, 1)
    assert (home / "figs" / "single_run.png").is_file()
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("flag", ["--out", "--save", "--save-in-folder"])
def test_a_name_too_long_is_one_line_and_exit_2(tmp_path, capsys, flag):
    # is_dir() and exists() raise OSError (ENAMETOOLONG): it was a traceback, exit 1.
    from experiments import single_run

    long = str(tmp_path / ("x" * 300))
    argv = {
        "--out": ["--out", long],
        "--save": ["--save", f"{long}.npz", "--out", str(tmp_path / "f")],
        "--save-in-folder": ["--save", f"{long}/r.npz", "--out", str(tmp_path / "f")],
    }[flag]
    assert single_run.main([*argv, "--epochs", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag.split('-in')[0]} '") and "name too long" in err
    assert err.endswith("; use a shorter name (most systems allow 255 bytes a name).\n")
    assert len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_all_refuses_a_save_folder_name_too_long(tmp_path, capsys):
    from experiments.__main__ import main

    assert main(["all", "--save", str(tmp_path / ("x" * 300))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --save '") and "name too long" in err
    assert err.endswith("; use a shorter name (most systems allow 255 bytes a name).\n")


@pytest.mark.parametrize("flag", ["--out", "--save", "--save-in-folder", "all --out"])
def test_a_nul_in_a_path_is_one_line_and_exit_2_before_the_run(tmp_path, capsys, flag):
    # The shell cannot pass a NUL, a call of main(argv) can: the checks took it (exists() is
    # False for it), the run computed, and saving raised ValueError: embedded null byte.
    from experiments import single_run
    from experiments.__main__ import main

    bad = str(tmp_path / "a\0b")
    argv = {
        "--out": ["--out", bad],
        "--save": ["--save", f"{bad}.npz", "--out", str(tmp_path / "f")],
        "--save-in-folder": ["--save", f"{bad}/", "--out", str(tmp_path / "f")],
        "all --out": ["--out", bad],
    }[flag]
    if flag.startswith("all"):
        assert main(["all", *argv]) == 2
    else:
        assert single_run.main([*argv, "--epochs", "10"]) == 2
    out, err = capsys.readouterr()
    name = flag.split("-in")[0].split()[-1]
    assert err.count("\n") == 1 and "==" not in out
    assert re.search(rf"^error: .*{name} '.*a\\x00b.*': contains a NUL character", err), err
    assert "which no file name can hold; remove it." in err
    assert list(tmp_path.iterdir()) == []


def test_results_and_figures_go_into_folders_thousands_of_levels_deep(tmp_path, monkeypatch):
    # Path.mkdir(parents=True) recurses once a level: RecursionError after the whole run.
    from experiments import single_run

    monkeypatch.chdir(tmp_path)
    deep = Path(*["d"] * 1500)
    argv = ["--out", str(deep), "--save", str(deep / "r.npz"), "--epochs", "10"]
    assert single_run.main(argv) == 0
    assert (tmp_path / deep / "single_run.png").is_file()
    assert jaxgd.load(tmp_path / deep / "r.npz").final.shape == (1, 1, 1)
    res = jaxgd.load(tmp_path / deep / "r.npz")
    assert res.save(Path(*["e"] * 1500) / "again").is_file()
    # shutil.rmtree recurses once a level too (Python 3.11): pytest could not clean these.
    subprocess.run(["rm", "-rf", "d", "e"], check=True)


def test_a_full_disk_at_the_end_says_the_fix_and_what_was_written(tmp_path, monkeypatch, capsys):
    # The second figure met a full disk: the line said only "No space left on device", not
    # what to do, nor that the first figure had been written.
    from experiments import lr_epochs
    from jaxgd import _cli_output

    out = tmp_path / "out"
    real = os.replace

    def full(src, dst):
        if os.path.basename(dst) == "lr_epochs_lines.png":
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(_cli_output.os, "replace", full)
    argv = ["--out", str(out), "--epochs", "10", "50", "3", "--learning-rates", "0.01", "0.1", "3"]
    assert lr_epochs.main([*argv, "--save", str(out / "r")]) == 2
    printed = capsys.readouterr()
    assert printed.err == (
        f"error: --out: cannot write {out}/lr_epochs_lines.png: No space left on device; free "
        f"space there or choose another folder. Already written: {out}/lr_epochs_heatmap.png, "
        f"{out}/r.npz.\n"
    )
    # The run went on past the file it could not write: the other files and the summary
    # (printed after the files) are there, not lost with the one file.
    assert sorted(p.name for p in out.iterdir()) == ["lr_epochs_heatmap.png", "r.npz"]
    assert "9 cells from one sweep" in printed.out
    assert printed.out.endswith(f"wrote {out}/lr_epochs_heatmap.png\nwrote {out}/r.npz\n")
    assert jaxgd.load(out / "r.npz").final.shape == (1, 3, 3)


def test_a_file_an_experiment_could_not_write_is_reported_without_finish(tmp_path, monkeypatch):
    # An experiment of the user's own that never calls ctx.finish(): the run reports it.
    from jaxgd import _cli_output, cli

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    @cli.command
    def main(argv):
        ctx = cli.setup(cli.parser("demo", "A demo."), argv, figures=["demo"])
        from matplotlib.figure import Figure

        assert ctx.save(Figure(), "demo") is None
        return 0

    monkeypatch.setattr(_cli_output, "save_figure", full)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--out", str(tmp_path)]) == 2
    assert err.getvalue().startswith("error: --out: cannot write ")
    assert "No space left on device; free space there" in err.getvalue()
    # Outside a run (a notebook calling setup), the error is raised at once, as before.
    ctx = cli.setup(cli.parser("demo", "A demo."), ["--out", str(tmp_path)], figures=["demo"])
    with pytest.raises(cli.UsageError, match="cannot write"):
        ctx.save(None, "demo")


def test_a_ctrl_c_as_the_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch):
    # The temporary file was made, then given its mode, before the block that removes it on
    # any exception: a Ctrl-C in between left an empty hidden file beside the figure.
    from jaxgd import _npz

    def interrupted(fd, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(_npz, "keep_mode", interrupted)
    fig = Figure()
    fig.subplots().plot([0, 1])
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, tmp_path, "demo", "svg")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--save", "--out"])
def test_a_link_into_a_folder_that_cannot_be_written_is_refused_before_the_run(
    tmp_path, capsys, flag
):
    # A link is written through, into its target's folder; only the link's own folder was
    # checked, so the run computed, wrote its figure, and failed at the end.
    from experiments import single_run
    from jaxgd._cli_output import _short

    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "file").write_text("")
    link = out / ("r.npz" if flag == "--save" else "single_run.png")
    link.symlink_to(tmp_path / "file" / link.name)
    argv = ["--out", str(out), *(["--save", str(link)] if flag == "--save" else [])]
    assert single_run.main([*argv, "--epochs", "10"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {flag} '{tmp_path / 'file'}': is a file, not a folder; choose another folder "
        f"({_short(link)} links to {tmp_path / 'file' / link.name}).\n"
    )
    assert list(out.iterdir()) == [link]


_FULL_DISK = """
import resource, signal, sys
from matplotlib.figure import Figure
from jaxgd._cli_output import save_figure

fig = Figure()
ax = fig.subplots()
ax.plot(range(1000))
ax.set_title("a title")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (2000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    save_figure(fig, sys.argv[1], "full", sys.argv[2])
except OSError as err:
    print("OSError", err.errno)
"""


@pytest.mark.thorough
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_a_figure_cut_short_by_a_full_disk_is_the_system_error(tmp_path, fmt):
    # Writing a PDF that fails part-way, matplotlib's clean-up raised its own error over the
    # OSError (AttributeError: 'Stream' object has no attribute 'pos', or zlib.error): a
    # traceback and exit 1 instead of the one-line error.
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path), fmt],
        capture_output=True, text=True, env=env, cwd=root, timeout=120,
    )  # fmt: skip
    assert proc.stdout == f"OSError {errno.EFBIG}\n", proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("to", ["missing", "loop"])
def test_a_broken_link_as_the_out_folder_says_what_to_do(tmp_path, capsys, to):
    from experiments import single_run

    link = tmp_path / "figs"
    link.symlink_to(to)
    if to == "loop":
        (tmp_path / "loop").symlink_to("figs")
    assert single_run.main(["--out", str(link), "--epochs", "10"]) == 2
    assert capsys.readouterr().err == (
        f"error: --out '{link}': {link} is a broken symbolic link (to '{to}', which is missing "
        "or loops back); remove it or point it at a folder.\n"
    )


@pytest.mark.parametrize("flag", ["--save", "--out"])
def test_a_loop_of_links_as_the_file_is_refused_before_the_run(tmp_path, capsys, flag):
    # A link to itself was taken for a new file: the run computed and replaced the link.
    from experiments import single_run

    link = tmp_path / ("loop.npz" if flag == "--save" else "single_run.png")
    link.symlink_to(link.name)
    argv = ["--out", str(tmp_path), *(["--save", str(link)] if flag == "--save" else [])]
    assert single_run.main([*argv, "--epochs", "10"]) == 2
    err = capsys.readouterr().err
    # A long path is shortened in the middle (pytest-xdist's folders are long): its ends stay.
    assert err.startswith(f"error: {flag} '{str(link)[:8]}"), err
    assert err.endswith(
        f"{link.name}': a loop of symbolic links; remove it or choose another path.\n"
    ), err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == [link] and link.is_symlink()


def test_a_figure_reaches_the_disk_before_it_replaces_the_old_one(tmp_path, monkeypatch):
    # Renamed into place unsynced, a figure could be a name without data after a power cut
    # (the rename on the disk, the data still in memory), where the old file was whole.
    calls = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append("replace") or replace(a, b))
    fig = Figure()
    fig.subplots().plot([0, 1])
    save_figure(fig, tmp_path, "demo")
    assert calls == ["fsync", "replace"]
