"""The notebook's experiments, each runnable as ``python -m experiments.<name>``."""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from typing import Any


def _unraisable(info: Any) -> None:
    """A Ctrl-C that Python could not raise: ask for it again, a millisecond later.

    A ``KeyboardInterrupt`` that lands in a ``__del__``, a weakref callback or a callback of
    the garbage collector (JAX has all three, hundreds of times while it is imported) is
    swallowed: Python prints "Exception ignored ... KeyboardInterrupt" and the run goes on.
    Here it is asked for again from a timer thread, and raised at the main thread's next
    step; should that land in such a place too, the same happens again.
    """
    if isinstance(info.exc_value, KeyboardInterrupt):
        again = threading.Timer(0.001, _ask_again)
        again.daemon = True
        again.start()
        return
    sys.__unraisablehook__(info)


def _ask_again() -> None:
    # A real signal to the main thread wakes it from a blocking call (a sleep, a wait);
    # interrupt_main only sets the flag Python checks between steps.
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    else:
        _thread.interrupt_main(signal.SIGINT)


def _excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    """A Ctrl-C before an experiment's ``main`` runs (while jax is imported, say) ends with
    the one line ``interrupted``, as one inside ``main`` does (``jaxgd.cli.command``)."""
    if issubclass(kind, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return
    sys.__excepthook__(kind, value, tb)


# Run as `python -m experiments...`: while Python locates the module, argv[0] is "-m". Before
# jax is imported. Library imports and test runners keep Python's own hooks.
if sys.argv[:1] == ["-m"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    if sys.unraisablehook is sys.__unraisablehook__:
        sys.unraisablehook = _unraisable
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
