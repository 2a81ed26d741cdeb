"""Keep numpy's BLAS threads from fighting torch's threads over the cores.

OpenBLAS worker threads busy-wait for a while after each numpy BLAS call. A torch forward
pass issued right after one then competes with spinning threads: on a 2-core machine a
30-64-64-2 MLP forward of 4,096 rows ran 3.3 times slower (184 ms vs 56 ms for 20 calls,
``benchmarks/adapter_batch_size.py``). Inside agnostic-xai's own calls numpy's BLAS is
therefore limited to one thread; torch keeps its intra-op threads (its OpenMP pool is a
different ``user_api`` and is left alone), and the caller's settings are restored when the
outermost call returns.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from threadpoolctl import ThreadpoolController

__all__ = ["blas_single_threaded"]

_lock = threading.Lock()
_controller: ThreadpoolController | None = None
_limiter: Any = None
_users = 0


@contextlib.contextmanager
def blas_single_threaded() -> Iterator[None]:
    """Limit BLAS libraries (not torch's OpenMP pool) to one thread for the block.

    Re-entrant and thread-safe: only the outermost entry and the last exit talk to
    threadpoolctl, so nested library calls cost nothing.
    """
    global _controller, _limiter, _users
    with _lock:
        if _users == 0:
            if _controller is None:
                _controller = ThreadpoolController()
            _limiter = _controller.limit(limits=1, user_api="blas")
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None
