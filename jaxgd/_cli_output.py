"""Where the experiments write: checked before anything is computed, written atomically.

:func:`check_folder` and :func:`check_target` find every reason a write would fail (a file
where a folder should be, a folder that cannot be created, a folder where the file should be)
without writing anything, so a bad ``--out`` or ``--save`` costs no computation. Figures and
results are written to a temporary file in the destination folder and renamed into place, so
an interrupted run leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from jaxgd import _npz
from jaxgd._cli_flags import FORMATS, UsageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from jaxgd.result import SweepResult

__all__ = [
    "Output",
    "begin_run",
    "check_folder",
    "check_target",
    "end_run",
    "headless_unless_show",
    "save_figure",
    "save_result",
]

#: Resolution of saved PNGs: readable on screen, small enough to commit.
DPI = 120


def check_folder(flag: str, folder: Path) -> None:
    """Refuse ``folder`` unless it is, or can be created as, a folder this process can write.

    Nothing is left behind: writability is probed with a temporary folder that is removed.
    """
    _no_nul(flag, folder)
    try:
        _check_folder(flag, Path(folder))
    except OSError as err:  # a name too long for the system, say: refused before any work
        raise refused(flag, folder, err) from None


def _no_nul(flag: str, path: str | os.PathLike) -> None:
    """Refuse a path with a NUL character, which no file name can hold: the shell cannot pass
    one, but a call of an experiment's ``main(argv)`` can, and the system calls then raise
    ValueError, not OSError (``Path.exists`` says False instead)."""
    if "\0" in str(path):
        raise UsageError(
            f"{flag} {_short(Path(path))}: contains a NUL character ('\\0'), which no file "
            "name can hold; remove it."
        )


def _short(path: Path) -> str:
    """``path`` quoted for a message, its middle cut when it is long."""
    text = str(path)
    return repr(text if len(text) <= 80 else f"{text[:38]}...{text[-38:]}")


def _check_folder(flag: str, folder: Path) -> None:
    existing = folder
    while not existing.exists():
        if existing.is_symlink():
            raise UsageError(
                f"{flag} {str(folder)!r}: {existing} is a broken symbolic link (to "
                f"{os.readlink(existing)!r}, which is missing or loops back); remove it or point "
                "it at a folder."
            )
        parent = existing.parent
        if parent == existing:
            break
        existing = parent
    if not existing.is_dir():
        where = "is" if existing == folder else f"lies inside {existing}, which is"
        raise UsageError(
            f"{flag} {str(folder)!r}: {where} a file, not a folder; choose another folder."
        )
    try:
        probe = tempfile.mkdtemp(prefix=".jaxgd-probe-", dir=existing)
    except OSError as err:
        raise UsageError(
            f"{flag} {str(folder)!r}: cannot create folders in {existing} "
            f"({err.strerror or err}); choose a folder you can write to."
        ) from None
    os.rmdir(probe)


def check_target(flag: str, path: Path) -> None:
    """Refuse ``path`` as a file to write unless its folder (for a symbolic link, its
    target's) passes :func:`check_folder` and ``path`` itself is not a folder."""
    path = Path(path)
    _no_nul(flag, path)
    try:
        is_dir = path.is_dir()
    except OSError as err:
        raise refused(flag, path, err) from None
    if is_dir:
        raise UsageError(
            f"{flag}: {path} is a folder, so it cannot be written as a file; remove or rename "
            "it, or write elsewhere."
        )
    # A symbolic link is written through (the link stays, pointing to the new file): the
    # folder written is its target's, which the link's own folder says nothing about.
    try:
        target = _npz.target_of(path)
    except OSError as err:
        raise refused(flag, path, err) from None
    try:
        check_folder(flag, target.parent)
    except UsageError as err:
        if target == path:
            raise
        raise UsageError(f"{str(err).rstrip('.')} ({_short(path)} links to {target}).") from None


def save_figure(fig: Figure, out: str | os.PathLike, name: str, fmt: str = "png") -> Path:
    """Save ``fig`` as ``out/name.fmt`` (PNG at 120 dpi), creating ``out``; returns the path.

    The file appears whole or not at all: it is drawn in memory, written beside its final name
    and renamed.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from matplotlib.figure import Figure
        >>> import tempfile
        >>> fig = Figure()
        >>> _ = fig.subplots().plot([0, 1])
        >>> save_figure(fig, tempfile.mkdtemp(), "demo", "svg").name
        'demo.svg'
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    from jaxgd.plotting._common import wait_for_imports

    wait_for_imports()
    path = Path(out) / f"{name}.{fmt}"
    # Drawn in memory, then written: a full disk is then the system's OSError from one write
    # here (matplotlib's PDF writer, cut short, raised zlib.error from its own clean-up), and
    # a run stopped while a figure is drawn has no temporary file to leave.
    data = io.BytesIO()
    if fmt != "png" or not _png_drawn_once(fig, data, DPI):
        fig.savefig(data, format=fmt, dpi=DPI, bbox_inches="tight")
    with _npz.replacing(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data.getbuffer())
        fh.flush()
        # On the disk before the rename: a power cut then leaves the old file or the new one,
        # not a new name with no data written yet (as SweepResult.save does).
        os.fsync(fh.fileno())
    return path


def _png_drawn_once(fig: Figure, path: Path | BinaryIO, dpi: float) -> bool:
    """Write ``fig`` as the PNG ``savefig(bbox_inches="tight")`` writes, drawing it once.

    ``savefig`` draws a laid-out figure twice: once without output to lay it out and find
    its tight box, once to render. One Agg draw does both (the layout runs at the start of
    it), and the tight box is then a crop of the rendered image, padded with the figure's
    colour: the same picture (up to sub-pixel placement) at about half the cost. Returns
    False, writing nothing, when an artist reaches past the figure's edge (a legend placed
    outside), where only ``savefig`` can grow the canvas to fit it.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba
    from matplotlib.image import imsave

    pad = mpl.rcParams["savefig.pad_inches"]
    if not isinstance(pad, (int, float)):
        return False
    canvas, own_dpi = fig.canvas, fig.dpi
    agg = FigureCanvasAgg(fig)
    try:
        fig.dpi = dpi
        agg.draw()
        box = fig.get_tightbbox(agg.get_renderer())
        width, height = fig.get_size_inches()
        if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
            return False
        box = box.padded(pad)
        image = np.asarray(agg.buffer_rgba())
        face = to_rgba(fig.get_facecolor())
    finally:
        fig.dpi = own_dpi
        fig.set_canvas(canvas)
    # As savefig sizes the cropped canvas (the box in pixels, whole pixels down) and places
    # the figure in it (from the lower left corner).
    cols, rows = int(box.width * dpi), int(box.height * dpi)
    left, top = round(box.x0 * dpi), image.shape[0] - round(box.y0 * dpi) - rows
    out = np.empty((rows, cols, 4), np.uint8)
    out[...] = np.round(np.asarray(face) * 255)
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + rows, image.shape[0]), min(left + cols, image.shape[1])
    out[r0 - top : r1 - top, c0 - left : c1 - left] = image[r0:r1, c0:c1]
    imsave(path, out, format="png", origin="upper", dpi=dpi)
    return True


def npz_path(path: str | os.PathLike) -> Path:
    """``path`` as :meth:`jaxgd.SweepResult.save` names it: ``.npz`` added when missing."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise UsageError(
            f"--save {str(path)!r}: give a file name, e.g. results/run.npz (or a folder "
            "ending in /, e.g. results/, for results/<experiment>.npz)."
        )
    try:
        return _npz.npz_name(path)
    except ValueError:
        raise UsageError(
            f"--save {str(path)!r}: '.npz' is only the extension; give the file a name, e.g. "
            f"{str(path.with_name('run.npz'))!r}."
        ) from None


def _reason(err: OSError) -> str:
    """Why a write failed, in the operating system's words (without the path it repeats):
    the system's own error where ``err`` rephrases it (as SweepResult.save does)."""
    if isinstance(err.__cause__, OSError):
        err = err.__cause__
    return err.strerror or str(err) or type(err).__name__


def refused(flag: str, path: str | os.PathLike, err: OSError) -> UsageError:
    """The error for a path the system refuses to look at (a name too long, a loop of
    links): the flag, the path, the system's reason and what to do."""
    return UsageError(f"{flag} {_short(Path(path))}: {_reason(err)}; {_npz.refused_fix(err)}.")


def _cannot_write(flag: str, target: Path, err: OSError) -> UsageError:
    """The error for a file that could not be written at the end of a run: the system's
    reason, and what to do about it (the file there, if any, is unchanged)."""
    cause = err.__cause__ if isinstance(err.__cause__, OSError) else err
    fix = (
        "free space there or choose another folder"
        if cause.errno in _npz.FULL
        else "choose a file and folder you can write"
    )
    return UsageError(f"{flag}: cannot write {target}: {_reason(err)}; {fix}.")


def save_result(result: SweepResult, path: str | os.PathLike) -> Path:
    """Write ``result`` with :meth:`~jaxgd.SweepResult.save` to ``path`` (``.npz`` added when
    missing), whole or not at all; returns the path written."""
    final = npz_path(path)
    result.save(final)  # whole or not at all, through links, keeping the mode it replaces
    return final


#: Experiment runs in progress in this process (:func:`begin_run`), outermost first.
_runs: list[bool] = []
#: Per run (nested runs stack): the files it has written so far, for a Ctrl-C to report.
_written: list[list[Path]] = []
#: Per run: the files it could not write, reported once its summary is printed.
_unwritten: list[list[UsageError]] = []


def begin_run() -> None:
    """Start an experiment run (``jaxgd.cli.command`` does): figure settings the run makes
    (:func:`headless_unless_show`) are undone by :func:`end_run`."""
    from jaxgd.plotting import is_headless

    _runs.append(is_headless())
    _written.append([])
    _unwritten.append([])


def written_so_far() -> list[Path]:
    """The files the current run has written (figures, ``--save``), in order."""
    return list(_written[-1]) if _written else []


def unwritten_so_far() -> list[UsageError]:
    """Why each file the current run could not write failed (the first first)."""
    return list(_unwritten[-1]) if _unwritten else []


def end_run() -> None:
    """End the run :func:`begin_run` started: restore the headless setting it found. No
    background import (:func:`headless_unless_show`) outlives the run."""
    from jaxgd.plotting import set_headless
    from jaxgd.plotting._common import wait_for_imports

    # A second Ctrl-C while waiting: the daemon thread ends with the process.
    with contextlib.suppress(KeyboardInterrupt):
        wait_for_imports()
    set_headless(_runs.pop())
    _written.pop()
    _unwritten.pop()


def headless_unless_show(show: bool) -> None:
    """Make the run's figures without pyplot unless ``show`` (``--show``) asks for windows.

    A headless run only saves figures: plain matplotlib figures save the same files and spare
    the import of pyplot and its backend. Only inside a run (:func:`begin_run`), which puts
    the setting back at its end: a caller of ``setup`` alone (a notebook, a test) keeps its
    pyplot figures. Should anything import pyplot anyway, it gets the non-interactive Agg
    backend (when pyplot is not in use yet), so no window can open. A headless run starts
    importing what its figures need in the background
    (:func:`jaxgd.plotting._common.import_in_background`): a cold run's compiling hides it.
    """
    _import_matplotlib()
    if _runs:
        from jaxgd.plotting import set_headless

        set_headless(not show)
    if not show and "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")
    if _runs and not show:
        from jaxgd.plotting._common import import_in_background

        import_in_background()


def _import_matplotlib() -> None:
    """Import matplotlib, or say in one line that ``MPLBACKEND`` names no backend it knows
    (its import refuses that with a traceback)."""
    try:
        import matplotlib  # noqa: F401
    except ValueError as err:
        backend = os.environ.get("MPLBACKEND")
        if not backend or "backend" not in str(err):
            raise
        raise UsageError(
            f"MPLBACKEND={backend!r} is not a backend matplotlib knows; unset it, or set "
            "one it has, such as MPLBACKEND=Agg."
        ) from None


#: matplotlib's built-in backends that write files and cannot open a window.
_FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def show() -> None:
    """Open the figures in windows, or say in one line why none can open here."""
    import matplotlib.pyplot as plt

    if plt.get_backend().lower() in _FILE_BACKENDS:
        print(
            f"--show: no window can open here (matplotlib backend {plt.get_backend()!r}); "
            "the figures are in the files above."
        )
        return
    plt.show()


def close(figs: Sequence[Figure]) -> None:
    """Close ``figs`` in pyplot, when pyplot is in use."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        for fig in figs:
            plt.close(fig)


class Output:
    """The output half of an experiment's context: checked targets, saved files, ``--show``.

    Both contexts (:class:`jaxgd.cli.Context`, ``Context2D``) inherit it and call
    :meth:`_check_outputs` once every other flag is checked, so a bad ``--out`` or ``--save``
    fails before anything is computed. ``written`` lists the paths saved so far.

    A file that cannot be written at the end (the disk filled, the folder went away) stops a
    plain caller at once. Inside a run (``jaxgd.cli.command``) the run goes on: its other
    files are written and its summary printed, and :meth:`finish` (or the run, if the
    experiment never calls it) then reports the failure, exit status 2: the numbers computed
    are not lost with the file.
    """

    args: Any
    written: list[Path]
    _figures: list[Figure]

    def _check_outputs(self, figures: Sequence[str]) -> None:
        self.written = []
        self._figures = []
        args = self.args
        check_folder("--out", args.out)
        for name in figures:
            check_target("--out", Path(args.out) / f"{name}.{args.format}")
        if getattr(args, "save", None) is not None:
            check_target("--save", npz_path(args.save))

    def save(self, fig: Figure, name: str) -> Path | None:
        """Write ``fig`` as ``<out>/<name>.<format>``, remember it, and return its path (None
        where it could not be written inside a run: see the class)."""
        self._figures.append(fig)
        try:
            path = save_figure(fig, self.args.out, name, self.args.format)
        except OSError as err:  # checked writable at the start; full, replaced or locked since
            target = Path(self.args.out) / f"{name}.{self.args.format}"
            return self._failed(_cannot_write("--out", target, err), err)
        self._wrote(path)
        return path

    def _failed(self, error: UsageError, cause: OSError) -> None:
        if not _unwritten:  # outside a run: nothing would report it later
            raise error from cause
        _unwritten[-1].append(error)

    def _wrote(self, path: Path) -> None:
        self.written.append(path)
        if _written:
            _written[-1].append(path)

    def save_result(self, result: SweepResult) -> Path | None:
        """Write ``result`` to ``--save PATH`` when given; returns the path, else None (also
        where it could not be written inside a run: see the class)."""
        if getattr(self.args, "save", None) is None:
            return None
        try:
            path = save_result(result, self.args.save)
        except OSError as err:
            return self._failed(_cannot_write("--save", npz_path(self.args.save), err), err)
        self._wrote(path)
        return path

    def finish(self) -> int:
        """Print the paths written, show the figures if ``--show``, close them; returns 0.

        Raises:
            UsageError: a file of the run could not be written (the first such).
        """
        for path in self.written:
            print(f"wrote {path}")
        try:
            failed = unwritten_so_far()
            if failed:
                raise failed[0]
            if self.args.show and self._figures:
                show()
        finally:
            close(self._figures)
        return 0
