"""The memory of dropped sweep results, used again by the next sweep of the same shape.

A large sweep writes its result (45 MB on the benchmark's large grid) into memory the program
allocates on every call, and on Linux the C library gives blocks of that size back to the
system when they are freed: the next call then waits on the operating system for fresh pages
while it writes its snapshots, 15 to 25 ms on that grid against a descent of 60 to 80 ms.

So a one-call sweep whose result takes at least :data:`MIN_BYTES` is compiled to write into
buffers it is given (donated: the call consumes them, and its outputs are those same
buffers), and the outputs of the last :data:`KEEP` such calls stay referenced here. When a
later call of the same shapes, dtypes and device finds one of them that nothing else refers
to (the caller dropped the result, and every NumPy view of it), it writes into that memory
again. A result still referred to, by any object, is never touched: the call gets new
buffers. :func:`release` drops what is kept (``jaxgd.release_memory``).

Whether anything else refers to an array is read from its reference count: a NumPy view of
a result's array (``np.asarray``, and every view or slice of that) holds the array through
its base, and so counts. JAX's own runtime refuses to donate a buffer that something outside
it still reads, as a second guard.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

#: Results smaller than this many bytes are not written into kept memory: small blocks come
#: from the C library's heap, which keeps freed memory, and a call's bookkeeping would cost more
#: than the pages.
MIN_BYTES = 8 << 20

#: Results larger than this are not kept after the call: at that size the descent dwarfs the
#: pages, and keeping a dropped result's memory would hold on to more than it saves.
MAX_BYTES = 256 << 20

#: The most results whose memory is kept: two, so that ``r = jaxgd.sweep(...)`` in a loop,
#: where the previous result is still bound while the next call runs, finds the one before.
KEEP = 2

Spec = tuple[tuple[int, ...], np.dtype]

_lock = threading.Lock()
_kept: list[tuple[Any, tuple[jax.Array, ...]]] = []  # (key, arrays), oldest first


def _counts(arrays: tuple[Any, ...]) -> list[int]:
    return [sys.getrefcount(a) for a in arrays]


#: The count of an array referred to by nothing but a kept tuple, as :func:`_counts` reads it
#: (the count of a reference held while counting differs between Python versions).
_ALONE = _counts((object(),))[0]


def nbytes(specs: tuple[Spec, ...]) -> int:
    """The bytes of arrays of ``specs``."""
    return sum(math.prod(shape) * np.dtype(dtype).itemsize for shape, dtype in specs)


@functools.cache
def _blank_fn(device: jax.Device | None):
    out = None if device is None else jax.sharding.SingleDeviceSharding(device)
    return jax.jit(
        lambda specs: tuple(jnp.zeros(shape, dtype) for shape, dtype in specs),
        static_argnums=0,
        out_shardings=out,
    )


def _key(specs: tuple[Spec, ...], device: jax.Device | None) -> tuple:
    """What a kept result must match: shapes and dtypes, and the device (for None, the default
    device, which ``jax.default_device`` may change)."""
    return specs, device, jax.config.jax_default_device if device is None else None


def take(specs: tuple[Spec, ...], device: jax.Device | None) -> tuple[jax.Array, ...]:
    """Buffers of ``specs`` on ``device`` (None: the default) for a call to consume: a kept
    result's that nothing else refers to, else new ones (zeros, in one small program)."""
    key = _key(specs, device)
    with _lock:
        for i, (k, arrays) in enumerate(_kept):
            if k == key and _counts(arrays) == [_ALONE] * len(arrays):
                del _kept[i]
                return arrays
    return _blank_fn(device)(specs)


def keep(specs: tuple[Spec, ...], device: jax.Device | None, arrays: tuple[jax.Array, ...]):
    """Keep the outputs ``arrays`` of a call for a later one (the oldest kept is dropped)."""
    if nbytes(specs) > MAX_BYTES:
        return
    key = _key(specs, device)
    with _lock:
        _kept.append((key, arrays))
        del _kept[:-KEEP]


def release() -> None:
    """Drop every kept result's memory (what the caller still refers to stays, as theirs)."""
    with _lock:
        _kept.clear()


def kept_bytes() -> int:
    """Bytes of the results kept now, whether or not something else still refers to them."""
    with _lock:
        return sum(nbytes(k[0]) for k, _ in _kept)
