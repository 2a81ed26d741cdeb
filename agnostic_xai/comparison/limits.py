"""The limits of one cell of a comparison: time, memory, and what a cell may raise.

Every piece of work :func:`~agnostic_xai.compare` runs on the model (an explainer's row
chunk with its fit, a metric cell, the ground truth, the plan's calibration) runs inside
:func:`cell_limits`, on every backend. It promises three things.

* **A cell past its limit is failed, whatever happened inside it.** In the main thread on
  POSIX a ``SIGALRM`` timer interrupts the cell by raising :class:`CellTimeout` or
  :class:`CellMemoryError` between bytecodes. Third-party code can swallow that exception
  (``try: ... except Exception: return fallback``), so the timer keeps firing every
  :data:`REPEAT_INTERVAL` seconds once a limit is passed, and the verdict is kept: when the
  cell returns, normally or not, a limit that tripped is raised again, and the elapsed time
  (``time.monotonic``) and the peak memory growth are checked once more. Elsewhere (a Dask
  worker's thread, Windows) there is no interruption, only that check on return.
* **Any finite positive limit is accepted.** ``setitimer`` refuses timers beyond what the
  platform's ``time_t`` holds (``OverflowError`` from about 1e10 s); a time limit above
  :data:`MAX_TIMER_SECONDS` (about three years) arms no interruption timer and is checked
  on return only, which no real cell reaches.
* **Nothing a cell raises ends the run, except an interrupt.** ``SystemExit`` (a model that
  calls ``sys.exit``), ``GeneratorExit`` and any other :class:`BaseException` that is not a
  :class:`KeyboardInterrupt` becomes a :class:`CellExit`, an ordinary error that fails that
  cell. ``KeyboardInterrupt`` (Ctrl-C, or a model raising it) passes through: it stops the
  run, and the cells already committed to the result store stay there for ``resume``.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..exceptions import AgnosticXAIError, InvalidInputError

__all__ = [
    "MAX_TIMER_SECONDS",
    "MEMORY_CHECK_INTERVAL",
    "REPEAT_INTERVAL",
    "CellExit",
    "CellMemoryError",
    "CellTimeout",
    "cell_limits",
    "check_time_limit",
    "resident_memory",
]

#: Seconds between two memory checks while a cell runs under a ``memory_limit``.
MEMORY_CHECK_INTERVAL = 0.02

#: Seconds between two interruptions of a cell that swallowed the first one.
REPEAT_INTERVAL = 0.05

#: Longest time limit that arms an interruption timer (longer ones are checked on return).
MAX_TIMER_SECONDS = 1e8


class CellTimeout(AgnosticXAIError, TimeoutError):
    """An explainer or metric ran past the comparison's ``time_limit``."""


class CellMemoryError(AgnosticXAIError, MemoryError):
    """An explainer or metric grew the process's memory past the comparison's ``memory_limit``."""


class CellExit(AgnosticXAIError):
    """A cell raised ``SystemExit`` (or another non-``Exception`` other than an interrupt).

    A model or explainer must not be able to end the comparison: the cell is failed instead.
    """


def resident_memory() -> int:
    """Resident set size of this process in bytes (``/proc/self/statm``; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak) * (1 if sys.platform == "darwin" else 1024)


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ≥ 4.0); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_memory() -> int | None:
    """This process's peak resident set size since the last :func:`_reset_peak` (``VmHWM``), in bytes."""
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_time_limit(value: Any, name: str = "time_limit") -> float | None:
    """``value`` as seconds (a float), or None; an :class:`InvalidInputError` unless finite and positive.

    Every finite positive number is accepted, however large (see the module notes); an int
    too large for a float means no limit in practice and becomes ``math.inf``.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"{name} must be positive seconds (a finite number), got {type(value).__name__}.")
    if isinstance(value, (int, np.integer)):
        if value < 1:
            raise InvalidInputError(f"{name} must be positive seconds (a finite number), got {value}.")
        return float(value) if value < 2**1000 else math.inf
    seconds = float(value)
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidInputError(f"{name} must be positive seconds (a finite number), got {seconds!r}.")
    return seconds


class _Watch:
    """The clock and the memory baseline of one cell, and the first limit it passed."""

    def __init__(self, seconds: float | None, memory: int | None, peak: bool) -> None:
        self.seconds, self.memory = seconds, memory
        self.start = time.monotonic()
        self.memory_before = resident_memory() if memory is not None else 0
        self.peak = peak and memory is not None and _reset_peak()
        self.grown = 0
        self.tripped: AgnosticXAIError | None = None

    def over(self, timer_expired: bool = False) -> AgnosticXAIError | None:
        """The limit passed now (``timer_expired``: the time limit's own timer fired), or None."""
        if self.seconds is not None and (timer_expired or time.monotonic() - self.start >= self.seconds):
            return CellTimeout(f"ran past the time limit of {self.seconds:g} s; raise time_limit or lower the budget")
        if self.memory is not None:
            self.grown = max(self.grown, resident_memory() - self.memory_before)
            if self.peak:
                high = _peak_memory()
                if high is not None:
                    self.grown = max(self.grown, high - self.memory_before)
            if self.grown > self.memory:
                return CellMemoryError(
                    f"grew memory by {self.grown / 2**20:.0f} MiB, past the memory limit of "
                    f"{self.memory / 2**20:.0f} MiB; raise memory_limit, lower batch_size or the budget"
                )
        return None

    def verdict(self) -> AgnosticXAIError | None:
        """On return: the limit that tripped while the cell ran, or the one it is past now."""
        return self.tripped if self.tripped is not None else self.over()


@contextlib.contextmanager
def cell_limits(seconds: float | None, memory: int | None = None) -> Iterator[None]:
    """Run the block as one cell under ``seconds`` of wall time and ``memory`` bytes of growth.

    Parameters
    ----------
    seconds : float, optional
        Wall-clock seconds the block may take (finite and positive; None: no limit).
    memory : int, optional
        Bytes by which the block may grow the process's resident memory (None: no limit).

    Raises
    ------
    CellTimeout, CellMemoryError
        The block ran past a limit: raised into it by the timer, and again when it returns
        (see the module notes), even if it caught the first one.
    CellExit
        The block raised ``SystemExit`` or another ``BaseException`` that is neither an
        ``Exception`` nor a ``KeyboardInterrupt``.
    """
    main = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    watch = _Watch(seconds, memory, peak=main) if seconds is not None or memory is not None else None
    timed = watch is not None and main and (memory is not None or (seconds or 0.0) <= MAX_TIMER_SECONDS)
    previous: Any = None
    if timed:
        assert watch is not None

        def expire(signum: int, frame: Any) -> None:
            # The time limit alone arms a timer for exactly its seconds (its first firing is the
            # verdict, whatever the clocks' rounding); with a memory limit it fires periodically.
            exc = watch.tripped or watch.over(timer_expired=memory is None)
            if exc is not None:
                watch.tripped = exc
                raise exc

        previous = signal.signal(signal.SIGALRM, expire)
        if memory is None:
            signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_INTERVAL)
        else:
            first = MEMORY_CHECK_INTERVAL if seconds is None else min(MEMORY_CHECK_INTERVAL, seconds)
            signal.setitimer(signal.ITIMER_REAL, first, MEMORY_CHECK_INTERVAL)

    def disarm() -> None:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    try:
        yield
    except KeyboardInterrupt:
        disarm()
        raise
    except BaseException as exc:
        disarm()
        verdict = watch.verdict() if watch is not None else None
        if verdict is not None and verdict is not exc:
            raise verdict from exc
        if not isinstance(exc, Exception):
            raise CellExit(
                f"raised {type(exc).__name__}{_argument(exc)}; a model or explainer cannot end the comparison, "
                "so the cell is failed"
            ) from exc
        raise
    else:
        disarm()
        verdict = watch.verdict() if watch is not None else None
        if verdict is not None:
            raise verdict


def _argument(exc: BaseException) -> str:
    """``(code)`` for a ``SystemExit(code)``, kept short."""
    if not exc.args:
        return ""
    text = repr(exc.args[0])
    return f"({text if len(text) <= 40 else text[:37] + '...'})"
