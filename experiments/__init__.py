"""The notebook's experiments, each runnable as ``python -m experiments.<name>``."""

from __future__ import annotations

import _thread
import gc
import signal
import sys
import threading
from types import FrameType
from typing import Any


def _in_gc_callback(frame: FrameType | None) -> bool:
    codes = {getattr(cb, "__code__", None) for cb in gc.callbacks} - {None}
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: KeyboardInterrupt, as Python's own handler raises it, except inside a callback
    of the garbage collector (JAX registers one). There the collector would swallow it,
    print "Exception ignored ... KeyboardInterrupt" and let the run go on; so the interrupt
    is asked for again a millisecond later, from another thread, and raised then."""
    if _in_gc_callback(frame):
        again = threading.Timer(0.001, _thread.interrupt_main, (signum,))
        again.daemon = True
        again.start()
        return
    raise KeyboardInterrupt


def _excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    """A Ctrl-C before an experiment's ``main`` runs (while jax is imported, say) ends with
    the one line ``interrupted``, as one inside ``main`` does (``jaxgd.cli.command``)."""
    if issubclass(kind, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return
    sys.__excepthook__(kind, value, tb)


# Run as `python -m experiments...`: while Python locates the module, argv[0] is "-m". Before
# jax is imported, whose collector callback runs hundreds of times during the imports alone.
if sys.argv[:1] == ["-m"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupt)
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
