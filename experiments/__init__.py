"""The notebook's experiments, each runnable as ``python -m experiments.<name>``.

Ctrl-C stops a run with the one line ``interrupted`` and status 130 wherever it comes, and
SIGTERM with ``terminated`` and 143 (see ``jaxgd.cli.command``). Two places need help for
that, and get it here, for ``python -m`` runs only, before jax is imported:

- While the modules import, SIGINT and SIGTERM are held (blocked) and delivered once they are
  (``jaxgd.cli.deliver_held_interrupt``): a KeyboardInterrupt raised while an extension module
  initialises can crash the interpreter, and a SIGTERM there ended the process at once,
  without a word. SIGTERM is held only where it has its default action.
- JAX runs a Python callback at every garbage collection; a KeyboardInterrupt raised inside
  it is swallowed (Python prints "Exception ignored" and the run goes on). When that happens,
  SIGINT is sent to the main thread again 10 ms later, until it lands outside a callback.
"""

import _thread
import contextlib
import signal
import sys
import threading
import time
from typing import Any

#: True while ``python -m experiments all`` runs them: an experiment given a flag it has
#: nothing to do with (function_family and a function of x alone) then says so and returns 0,
#: so the others run; run on its own, it is an error.
IN_ALL = False

_MAIN = threading.main_thread().ident
#: How long after a swallowed Ctrl-C it is sent again: long enough for the hook that starts
#: the sender to have returned, so the new signal never lands in the hook itself.
AGAIN_AFTER_S = 0.01


def _send_again(thread: int, signum: int) -> None:
    time.sleep(AGAIN_AFTER_S)
    with contextlib.suppress(OSError):  # the process is ending: nothing left to stop
        signal.pthread_kill(thread, signum)


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook``: a swallowed KeyboardInterrupt is asked for again; anything else
    goes to Python's own hook. Starting a raw thread does not wait for it, so nothing here
    runs Python code after the sender exists."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        _thread.start_new_thread(_send_again, (_MAIN, signal.SIGINT))
        return
    sys.__unraisablehook__(unraisable)


# Run as `python -m experiments...`: while Python locates the module, argv[0] is "-m".
if (
    sys.argv[:1] == ["-m"]
    and hasattr(signal, "pthread_sigmask")
    and threading.current_thread() is threading.main_thread()
):
    # Each signal is held where it has its default action, the one independently of the
    # other: a run started in the background of a script has SIGINT ignored, and SIGTERM
    # still needs holding there.
    held = set()
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        held.add(signal.SIGINT)
        if sys.unraisablehook is sys.__unraisablehook__:
            sys.unraisablehook = _unraisable
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        held.add(signal.SIGTERM)
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
