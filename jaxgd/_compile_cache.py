"""JAX's persistent compilation cache for the experiments: a second run skips XLA's compiler.

A run of ``python -m experiments.<name>`` compiles a handful of XLA programs (the sweep, the
search for minima, a few helpers); compiling them is most of a run's time after the imports.
JAX can keep compiled programs on disk, keyed by the program, the compiler options and the
jax/jaxlib versions, and load them in the next process instead of compiling again.

The experiments turn it on (:func:`enable`) when run from the command line; plain library use
(``import jaxgd``) never does: where a program keeps its compiled code is the program's
choice, not a library's. Where and whether:

- the folder is ``$JAXGD_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaxgd``, else
  ``~/.cache/jaxgd``; it is created with mode 0700, as a cache holds code that will be run;
- ``JAXGD_COMPILATION_CACHE=0`` (or ``false``, ``no``, ``off``) or the experiments' flag
  ``--no-cache`` turns it off; ``1``, ``true``, ``yes``, ``on`` or unset leave it on (any
  case, spaces around ignored); any other value is refused with a ValueError naming it, as
  ``JAXGD_FAST_MATH`` is: a typo in a switch is not taken for either setting;
- a folder set by the caller's own ``jax_compilation_cache_dir`` is left as it is;
- a folder that cannot be created or written, or found (no home folder: ``HOME`` unset and
  the user unknown to the system), turns the cache off for that run, with one line on
  stderr: a run never fails because of its cache.

Two runs may share the folder. JAX names an entry by a hash of the program, and writes it
in place (``Path.write_bytes``), never again once the name exists: an entry cut short (a run
killed while writing it, a full disk) was read, found corrupt, compiled afresh on every later
run, and never replaced. Here an entry is written to a hidden temporary file beside it and
renamed onto its name (:func:`_write_whole`), so a reader finds the whole entry or none, and
an entry that fails to read, damaged or written by another run at once, is compiled afresh and
written again whole (JAX's warning about the failed read is silenced, as that is the designed
fall-back). A run killed while writing can leave only a hidden ``*.tmp`` file, which the next
run that writes that entry removes (POSIX: see :func:`jaxgd._npz.remove_stale_temps`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import jax

from jaxgd._npz import replacing

__all__ = ["OFF_WORDS", "ON_WORDS", "cache_dir", "enable", "enabled_by_env"]

#: Values of ``JAXGD_COMPILATION_CACHE`` that turn the cache off (case-insensitive).
OFF_WORDS = frozenset({"0", "false", "no", "off"})
#: Values that leave it on, as does an unset variable; any other is refused.
ON_WORDS = frozenset({"", "1", "true", "yes", "on"})


def enabled_by_env(environ: Mapping[str, str] | None = None) -> bool:
    """False when ``JAXGD_COMPILATION_CACHE`` is one of :data:`OFF_WORDS`, True when it is
    unset or one of :data:`ON_WORDS`.

    Raises:
        ValueError: any other value (``maybe``, ``disabled``): a typo in a switch is not
            silently one of its settings.

    Example:
        >>> enabled_by_env({}), enabled_by_env({"JAXGD_COMPILATION_CACHE": "0"})
        (True, False)
        >>> enabled_by_env({"JAXGD_COMPILATION_CACHE": "maybe"})
        Traceback (most recent call last):
        ...
        ValueError: environment variable JAXGD_COMPILATION_CACHE='maybe' is not understood: ...
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("JAXGD_COMPILATION_CACHE", "1")
    word = raw.strip().lower()
    if word in OFF_WORDS:
        return False
    if word in ON_WORDS:
        return True
    on, off = (", ".join(sorted(words - {""})) for words in (ON_WORDS, OFF_WORDS))
    raise ValueError(
        f"environment variable JAXGD_COMPILATION_CACHE={raw!r} is not understood: set it to "
        f"0 to turn the compilation cache off ({off}), or 1 (or leave it unset) to keep it on "
        f"({on})"
    )


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The cache folder, from the environment.

    ``$JAXGD_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaxgd``, else ``~/.cache/jaxgd``. Empty
    variables count as unset, and so does a relative ``XDG_CACHE_HOME``, as the XDG
    specification says (it would put the cache in whatever folder a run starts in).

    Example:
        >>> str(cache_dir({"JAXGD_CACHE_DIR": "/tmp/c", "XDG_CACHE_HOME": "/x"}))
        '/tmp/c'
        >>> str(cache_dir({"XDG_CACHE_HOME": "/x"}))
        '/x/jaxgd'
        >>> cache_dir({"XDG_CACHE_HOME": "cache"}) == cache_dir({})
        True
    """
    environ = os.environ if environ is None else environ
    if environ.get("JAXGD_CACHE_DIR"):
        return Path(environ["JAXGD_CACHE_DIR"]).expanduser()
    xdg = Path(environ.get("XDG_CACHE_HOME") or ".").expanduser()
    if xdg.is_absolute():
        return xdg / "jaxgd"
    return Path.home() / ".cache" / "jaxgd"


def _writable(folder: Path) -> str | None:
    """None when ``folder`` exists (or was created) and takes a new file; else the reason."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".jaxgd-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except FileExistsError:  # mkdir's word for a name taken by something else
        if folder.is_symlink() and not folder.exists():
            return "it is a broken symbolic link"
        return "it is a file, not a folder"
    except OSError as err:
        return err.strerror or str(err)
    return None


def _write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` whole or not at all, replacing what is there.

    Example:
        >>> folder = Path(tempfile.mkdtemp())
        >>> _write_whole(folder / "entry-cache", b"abc")
        >>> (folder / "entry-cache").read_bytes(), sorted(p.name for p in folder.iterdir())
        (b'abc', ['entry-cache'])
    """
    with replacing(path) as tmp:  # hidden; a new entry gets the mode JAX would give it
        tmp.write_bytes(data)


def _whole_entries() -> None:
    """Have JAX's file cache write each entry with :func:`_write_whole`, replacing an entry that
    exists (JAX writes one only after failing to read it): see the module's docstring.

    Only JAX's plain local cache is changed (not one with a size limit, which JAX locks and
    evicts itself, nor a remote one); with JAX's internals not where expected, JAX's own
    writes stay.
    """
    try:
        from jax._src import compilation_cache
        from jax._src.lru_cache import _CACHE_SUFFIX, LRUCache
    except ImportError:
        return
    original = getattr(compilation_cache, "get_file_cache", None)
    if original is None or getattr(original, "writes_whole", False):
        return

    class WholeEntries(LRUCache):
        def put(self, key: str, value: bytes) -> None:
            if not key:
                raise ValueError("key cannot be empty")
            _write_whole(Path(str(self.path)) / f"{key}{_CACHE_SUFFIX}", value)

    def get_file_cache(path: str):
        made = original(path)
        try:
            plain = type(made[0]) is LRUCache and not made[0].eviction_enabled
            if plain and "://" not in path:
                return (WholeEntries(path, max_size=-1), made[1])
        except Exception:  # JAX's internals other than expected: its own cache, unchanged
            pass
        return made

    get_file_cache.writes_whole = True  # type: ignore[attr-defined]
    compilation_cache.get_file_cache = get_file_cache


def enable(environ: Mapping[str, str] | None = None, *, stderr=None) -> Path | None:
    """Turn on JAX's persistent compilation cache for this process, in :func:`cache_dir`.

    Call it before the first compilation. Every program is cached, however small and quick
    to compile: the experiments' programs take 10 ms to 1 s each to compile, and reading one
    back takes about a millisecond.

    Args:
        environ: the environment to read (default ``os.environ``).
        stderr: where the one-line note goes when the folder cannot be used (default
            ``sys.stderr``).

    Returns:
        The folder in use, or None when the cache stays off: switched off by
        ``JAXGD_COMPILATION_CACHE``, the folder not writable or not found (no home folder:
        ``HOME`` unset and the user unknown to the system), or the caller has set
        ``jax_compilation_cache_dir`` already (then that setting is kept).

    Raises:
        ValueError: ``JAXGD_COMPILATION_CACHE`` is neither an on nor an off word
            (:func:`enabled_by_env`); nothing is changed.

    Example:
        >>> enable({"JAXGD_COMPILATION_CACHE": "off"}) is None
        True
    """
    if not enabled_by_env(environ):
        return None
    if jax.config.jax_compilation_cache_dir is not None:
        return None  # the caller's own cache, set before us
    try:
        folder = cache_dir(environ)
    except RuntimeError as err:  # HOME unset and the user unknown, or ``~name`` of no one
        problem = f"its home folder cannot be found ({err})"
    else:
        reason = _writable(folder)
        problem = None if reason is None else f"{folder} is not writable ({reason})"
    if problem is not None:
        print(
            f"note: compilation cache off, {problem}; "
            "set JAXGD_CACHE_DIR to another folder, or JAXGD_COMPILATION_CACHE=0",
            file=sys.stderr if stderr is None else stderr,
        )
        return None
    _whole_entries()
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    # -1: no size threshold at all (0 would let JAX pick one for the filesystem).
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    warnings.filterwarnings(
        "ignore", message=r"Error (reading|writing) persistent compilation cache entry"
    )
    return folder
