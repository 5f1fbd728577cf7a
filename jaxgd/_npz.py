""".npz files written atomically and read without trusting them.

Writing: the archive goes to a hidden temporary file in the target's folder, is flushed and
fsynced, and replaces the target with ``os.replace`` (atomic on POSIX and Windows), so a
reader sees the old file or the new one, never a part. Reading: each member's .npy header is
parsed and checked (dtype kind, rank, shape, size against the archive's own record) before
its data are read, pickles are never loaded, and the zip's CRC is checked to the last byte.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import secrets
import stat
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

from jaxgd._chunking import check_host_memory

try:  # POSIX: a writer holds a lock on its temporary file while it writes (see create_temp)
    import fcntl
except ImportError:  # Windows: temporary files left by a killed writer stay
    fcntl = None  # type: ignore[assignment]

_NPY_MAGIC = b"\x93NUMPY"
#: The first bytes of a zip archive (its first local file header), as every .npz begins.
_ZIP_MAGIC = b"PK\x03\x04"
_KIND_NAMES = {"f": "real floating point", "b": "bool", "i": "integer", "u": "integer", "U": "text"}


class Invalid(Exception):
    """What is wrong with a file's contents, as a phrase (the caller names the file)."""


#: Bytes of the target's name kept in a temporary name: with the 15 bytes added, it stays
#: under the 255 bytes most file systems allow, whatever the target's name (up to 255 itself).
_TEMP_STEM = 200
#: Deflate never expands data more than about 1032 times: a member that claims more is forged.
_MAX_DEFLATE_RATIO = 1032
#: Arrays of at least this many bytes are checked against the host's free memory before they
#: are allocated. Asking (the system's and the cgroup's counters, ~0.1 ms) costs more than
#: reading a small array: asked for every member, it doubled the time to load a typical
#: result, and no array under 16 MiB is what exhausts a host.
_MEMORY_CHECKED_FROM = 2**24


def has_suffix(name: str) -> bool:
    """Whether a file name already ends in ``.npz`` (in any case: ``run.NPZ`` does)."""
    return name.lower().endswith(".npz") and name.lower() != ".npz"


def npz_name(path: Path) -> Path:
    """The file a save to ``path`` writes: ``.npz`` appended to a name without it.

    Raises:
        ValueError: the name is only the extension (``results/.npz``), which names no file.
    """
    if path.name.lower() == ".npz":
        raise ValueError(
            f"cannot save to {str(path)!r}: {path.name!r} is only the extension. Give the file "
            f"a name, e.g. {str(path.with_name('result.npz'))!r}."
        )
    return path if has_suffix(path.name) else path.with_name(path.name + ".npz")


def _temp_prefix(path: Path) -> str:
    """The start of every temporary name beside ``path``: a dot and (the first bytes of) its
    name."""
    return f".{os.fsdecode(os.fsencode(path.name)[:_TEMP_STEM])}."


def temp_name(path: Path) -> Path:
    """A fresh temporary name beside ``path``: hidden, and not ending in ``.npz``."""
    return path.with_name(f"{_temp_prefix(path)}{secrets.token_hex(4)}.tmp")


#: A temporary file this many seconds old that no writer holds a lock on was left by a writer
#: killed outright (:func:`remove_stale_temps`). The age covers the moment between creating
#: the file and locking it, and between closing it and renaming it onto its target.
STALE_AFTER = 10.0

_TEMP_TAIL = re.compile(r"[0-9a-f]{8}\.tmp")


def make_folders(folder: Path) -> None:
    """``folder`` and every missing folder above it, one at a time (``Path.mkdir(parents=True)``
    recurses once a level: a path of a few thousand levels raised RecursionError)."""
    missing = []
    while not folder.is_dir():
        if folder.exists():  # a file where a folder should be: as mkdir(parents=True) said
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for level in reversed(missing):
        level.mkdir(exist_ok=True)


def refused_fix(err: OSError) -> str:
    """What to do about a path the system refuses to look at (``err``), as a phrase: a name
    too long, a loop of symbolic links, or anything else. Shared by save, load and the
    command line's checks of --out and --save."""
    if err.errno == errno.ENAMETOOLONG:
        return "use a shorter name (most systems allow 255 bytes a name)"
    if err.errno == errno.ELOOP:
        return "remove it or choose another path"
    return "choose another path"


#: What the system's ELOOP means, as :func:`target_of` and :func:`looping` say it.
LOOP = "a loop of symbolic links"


#: ELOOP for a path whose folder is such a loop (``a/x.npz`` where ``a -> a``).
LOOP_ABOVE = "a path through a loop of symbolic links"


def looping(path: Path) -> OSError | None:
    """An ``OSError`` (ELOOP) naming ``path`` when it is a symbolic link that never reaches a
    file (``ln -s a a``, or ``a -> b -> a``), or a path through such a link (``a/x.npz``),
    else None. ``Path.exists`` and ``Path.is_symlink`` say False for both, as for a missing
    file, and ``os.path.realpath`` gives back the link itself."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return OSError(errno.ELOOP, LOOP if path.is_symlink() else LOOP_ABOVE, str(path))
    return None


def target_of(path: Path) -> Path:
    """The file a save to ``path`` replaces: a symlink's target, so the link still points to
    the new file (a plain path is itself). A link in a loop (:func:`looping`) raises its
    ``OSError``: it has no target, and replacing the link by a file would drop it unasked."""
    loop = looping(path)
    if loop is not None:
        raise loop
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def keep_mode(fd: int, path: Path) -> None:
    """Give the open temporary file ``fd`` the permissions of the file at ``path`` it will
    replace, if there is one (a 0600 file stays 0600)."""
    with contextlib.suppress(OSError):
        os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))


def create_temp(path: Path) -> tuple[int, Path]:
    """Create a fresh file at a :func:`temp_name` beside ``path`` and open it for writing.

    Its mode is what a plain ``open()`` gives, 0o666 less the umask (``tempfile.mkstemp``
    would give 0o600, which the file keeps when renamed onto ``path``). Returns the file
    descriptor and the path.

    On POSIX the file is locked (``flock``) for as long as the descriptor, or another one
    of the same open file, stays open, and any temporary file of ``path`` that a writer
    killed outright left behind (SIGKILL, a power cut) is removed: see
    :func:`remove_stale_temps`.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for attempt in range(100):
        tmp = temp_name(path)
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            if attempt == 99:
                raise
            continue
        if fcntl is not None:
            with contextlib.suppress(OSError):  # a file system without locks: none taken
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            remove_stale_temps(path)
        return fd, tmp
    raise AssertionError("unreachable")


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the temporary files of saves to ``path`` whose writers were killed outright.

    A writer locks its temporary file (:func:`create_temp`) and removes it itself however it
    stops, Ctrl-C and errors included; only a process killed outright (SIGKILL, a power cut)
    leaves one, and the system releases its lock then. So a file beside ``path`` with a
    temporary name of ``path`` (``.NAME.XXXXXXXX.tmp``, eight hex digits) that is a plain
    file, at least :data:`STALE_AFTER` seconds old, and not locked by anyone is removed;
    one a running save is writing is locked, and stays. Nothing else is touched, and
    anything that cannot be looked at is left as it is. POSIX only (a no-op on Windows, or
    on file systems without locks, where such files stay: delete them by hand).

    Returns:
        The files removed.
    """
    if fcntl is None:
        return []
    prefix = _temp_prefix(path)
    removed = []
    try:
        with os.scandir(path.parent) as entries:
            names = [
                e.name
                for e in entries
                if e.name.startswith(prefix) and _TEMP_TAIL.fullmatch(e.name[len(prefix) :])
            ]
    except OSError:
        return []
    for name in names:
        stale = path.with_name(name)
        try:
            fd = os.open(stale, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
        except OSError:  # gone, a symlink, or not ours to read
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or time.time() - st.st_mtime < STALE_AFTER:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a live writer's (or no locks here): left alone
                continue
            # Still the same file at that name (not renamed onto its target meanwhile).
            now = os.stat(stale, follow_symlinks=False)
            if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                os.unlink(stale)
                removed.append(stale)
        except OSError:  # gone meanwhile, or not ours to remove
            pass
        finally:
            os.close(fd)
    return removed


#: errno values saying the disk, the user's quota or the file-size limit is full.
FULL = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it when the block succeeds. The file
    gets the mode of the file it replaces, or what a plain ``open()`` would give a new one
    (0o666 less the umask); a symlink at ``path`` keeps pointing to the new file. Whatever
    stops the block (Ctrl-C included) removes the temporary file."""
    path = target_of(path)
    make_folders(path.parent)
    fd, tmp = create_temp(path)
    held = fcntl is not None  # open, so locked, until the file is in place
    try:
        try:
            keep_mode(fd, path)
        finally:
            if not held:  # Windows renames no file that is open
                os.close(fd)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        if held:
            os.close(fd)


def write_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as a compressed .npz at ``path``, all or nothing.

    Raises:
        OSError: of the original class, naming ``path``'s folder, when it cannot be created
            or written.
    """
    path = target_of(path)
    folder = path.parent
    try:
        make_folders(folder)
    except OSError as e:
        raise type(e)(
            f"cannot save {path}: its folder {folder} cannot be created ({e.strerror or e}). "
            "Choose a folder that can be created and written."
        ) from e
    try:
        fd, tmp = create_temp(path)
    except FileExistsError:
        raise
    except OSError as e:
        raise type(e)(
            f"cannot save {path}: cannot write in its folder {folder} ({e.strerror or e}). "
            "Choose a folder you can write to."
        ) from e
    try:
        with os.fdopen(fd, "wb") as fh:
            keep_mode(fh.fileno(), path)
            np.savez_compressed(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        # KeyboardInterrupt and disk-full alike: the old file stays, the partial one goes.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            fix = (
                "Free space (or raise the file-size limit) there, or choose another folder."
                if e.errno in FULL
                else "Choose a file and folder you can write."
            )
            raise type(e)(
                f"cannot save {path}: writing it in {folder} failed ({e.strerror or e}); "
                f"{'the file there is unchanged' if path.exists() else 'nothing was written'}. "
                f"{fix}"
            ) from e
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _damage_is_invalid() -> Iterator[None]:
    # zipfile, zlib and numpy's header parser raise a wide, version-dependent set of errors on
    # damaged input (BadZipFile, EOFError, zlib.error, NotImplementedError, UnicodeDecodeError,
    # struct.error, ValueError, ...). To the caller they all mean one thing: a damaged file.
    # MemoryError is not damage (sizes are checked before anything is allocated).
    try:
        yield
    except (Invalid, MemoryError):
        raise
    except Exception as e:
        raise Invalid(f"it is damaged or truncated ({type(e).__name__}: {e})") from e


def refuse_entries(missing: set[str], extra: set[str], why_extra: str = "") -> None:
    """Refuse an archive lacking the entries ``missing`` or holding the entries ``extra``
    (names of members); ``why_extra`` follows the unexpected entries in the message."""
    lacks, holds = sorted(missing), sorted(extra)
    if lacks and holds:
        # Lacking one name and holding another: the name was damaged, or another program
        # wrote the archive; "lacks" alone read as if the data were simply not saved.
        raise Invalid(
            f"it lacks {lacks} and holds unexpected entries {holds}{why_extra} in their "
            "place: the archive is damaged or was not written by SweepResult.save; save the "
            "result again"
        )
    if lacks:
        raise Invalid(f"it lacks {lacks}")
    if holds:
        raise Invalid(f"it holds unexpected entries {holds}{why_extra}")


class Reader:
    """An open .npz archive whose members are read as checked NumPy arrays."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, zipfile.ZipInfo] = {}
        self._size = 0

    def __enter__(self) -> Reader:
        # One open file for every read: a save replacing the path meanwhile (a rename) leaves
        # this reader on the old file, whole, never the old size with the new contents.
        # Without blocking, so a named pipe is refused rather than waited on forever.
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            if self.path.is_dir():  # IsADirectoryError here, PermissionError on Windows
                raise Invalid("it is a directory, not a file") from None
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            if stat.S_ISDIR(info.st_mode):
                raise Invalid("it is a directory, not a file")
            raise Invalid("it is not a regular file (a pipe, socket or device)")
        fh = self._file = os.fdopen(fd, "rb")
        try:
            return self._open(fh, info)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _open(self, fh: IO[bytes], info: os.stat_result) -> Reader:
        head = fh.read(len(_NPY_MAGIC))
        if head == _NPY_MAGIC:
            raise Invalid(
                "it is a single NumPy array (.npy), not an .npz archive written by SweepResult.save"
            )
        fh.seek(0)
        self._size = info.st_size
        with _damage_is_invalid():
            if not zipfile.is_zipfile(fh):
                if info.st_size == 0 and not head:  # /proc files say 0 and hold text
                    raise Invalid("it is empty (0 bytes)")
                if head.startswith(_ZIP_MAGIC):
                    # Begins as a zip archive, but its directory (at the end) is gone: a
                    # copy or download cut short, not a file of another kind.
                    raise Invalid(
                        "it is damaged or truncated: it begins as an .npz archive but its end "
                        "(the zip directory) is missing"
                    )
                raise Invalid("it is not an .npz archive (not a zip file)")
            fh.seek(0)
            self._zip = zipfile.ZipFile(fh)
            for member in self._zip.infolist():
                if member.filename in self._members:
                    raise Invalid(f"the archive holds {member.filename!r} twice")
                self._members[member.filename] = member
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._file is not None:
            self._file.close()

    def member_names(self) -> list[str]:
        """The names of the archive's entries (``NAME.npy`` for an array)."""
        return list(self._members)

    def expect_members(self, names: set[str]) -> None:
        """Check the archive holds exactly the arrays ``names`` (as ``NAME.npy``)."""
        have = set(self._members)
        want = {f"{n}.npy" for n in names}
        if not have & want:
            raise Invalid(
                f"it holds none of a saved SweepResult's arrays (it has {sorted(have)[:8]})"
            )
        refuse_entries(want - have, have - want)

    def array(
        self,
        name: str,
        *,
        kinds: str,
        max_ndim: int | None = None,
        shape: tuple[int, ...] | None = None,
    ) -> np.ndarray:
        """Member ``name`` as an array, refused unless its dtype kind is in ``kinds``, its
        rank at most ``max_ndim`` and its shape ``shape`` (when given)."""
        assert self._zip is not None
        info = self._members[f"{name}.npy"]
        with _damage_is_invalid(), self._zip.open(info) as fh:
            got_shape, fortran, dtype = _read_header(fh)
            expected = " or ".join(sorted({_KIND_NAMES[k] for k in kinds}))
            if dtype.hasobject or dtype.kind not in kinds:
                raise Invalid(f"{name} has dtype {dtype}; it must be {expected}")
            if max_ndim is not None and len(got_shape) > max_ndim:
                raise Invalid(f"{name} has shape {got_shape}; at most {max_ndim}-D expected")
            if shape is not None and got_shape != shape:
                raise Invalid(
                    f"{name} has shape {got_shape}, but the coordinates and dims say {shape}"
                )
            nbytes = math.prod(got_shape) * dtype.itemsize
            # The sizes in the zip's directory are the file's own word too: bound them by
            # the bytes really there before allocating what they promise.
            # bzip2 and LZMA (an archive re-packed by another tool) have no such bound: their
            # claims are bounded by the memory check below and the bytes really read.
            ratio = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: _MAX_DEFLATE_RATIO}.get(
                info.compress_type, math.inf
            )
            if info.compress_size > self._size or info.file_size > ratio * info.compress_size + 64:
                raise Invalid(
                    f"{name} claims {info.file_size} bytes from {info.compress_size} stored "
                    "ones, more than any archive holds"
                )
            stored = info.file_size - fh.tell()
            if nbytes != stored:
                raise Invalid(
                    f"{name}'s header promises {nbytes} bytes of data; the archive holds {stored}"
                )
            # Deflate lets a file of a few megabytes hold (or claim) gigabytes: what does not
            # fit is refused here, naming the file, not by the allocator in its own words.
            if nbytes >= _MEMORY_CHECKED_FROM:
                check_host_memory(
                    nbytes,
                    f"loading {self.path}: its {name} ({info.compress_size} bytes in the file)",
                    "Load it where more memory is free (or free some here).",
                )
            raw = np.empty(nbytes, np.uint8)
            if fh.readinto(raw) != nbytes or fh.read(1):  # reading to the end checks the CRC
                raise Invalid(f"{name} is truncated")
            arr = raw.view(dtype).reshape(got_shape, order="F" if fortran else "C")
        return arr if dtype.isnative else arr.astype(dtype.newbyteorder("="))


def _read_header(fh: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise Invalid(f"unsupported .npy format version {version}")
