"""Row chunks: the unit in which :func:`~agnostic_xai.compare` explains rows, on every backend.

A stochastic explainer draws the random numbers for all the rows of one ``explain`` call from
one generator (``sampling_shapley`` shares its permutations across the rows of a call;
``kernel_shap`` and ``lime`` draw each row's seed from it in row order), so a row's values
depend on which rows share its call. ``compare`` therefore explains each explainer's rows in
fixed chunks of ``row_chunk`` rows (the last one shorter), the same chunks whatever the
backend: one after the other in this process (or in the explainer's worker process with
``n_jobs``), or as separate tasks on a Dask cluster. The explainer is fitted with its own
seed, ``derive_seed(seed, name)``, and chunk ``[s, s + row_chunk)`` is explained with
``random_state``

* ``derive_seed(seed, name)``, the explainer's own seed, for the first chunk (``s = 0``);
* ``derive_seed(seed, name, str(s))`` for the others (the chunks of
  :func:`agnostic_xai.explain`, which explains whole tables with the same seeds).

A row's values thus depend only on the data, the model, the background, the explainer,
``seed`` and ``row_chunk``: the same numbers, bit for bit, on every backend. The first chunk
keeps the values of a single call, so a comparison of at most ``row_chunk`` rows gives the
numbers it gave before rows were chunked. Deterministic explainers are explained chunk by
chunk too, so that even floating-point batching is the same everywhere (their values do not
depend on the chunking beyond rounding). Changing ``row_chunk`` changes the random draws of
comparisons of more rows than it, like changing the seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._params import derive_seed
from ..attribution import Attribution
from ..exceptions import InvalidInputError

__all__ = ["DEFAULT_ROW_CHUNK", "check_row_chunk", "chunk_seed", "explain_chunk", "explain_rows", "row_chunks", "with_rows"]

#: Rows per chunk (see the module notes). 128 amortises what each ``explain`` call (and, on
#: Dask, each chunk task's fit) costs besides its rows, keeps ``sampling_shapley``'s and
#: ``exact_shapley``'s batched evaluation efficient, and leaves comparisons of up to 128 rows
#: (the command line explains 100 by default) in one call, with the numbers they always
#: had; 1,000 rows of a slow ``kernel_shap`` or ``lime`` become 8 tasks.
DEFAULT_ROW_CHUNK = 128


def check_row_chunk(row_chunk: Any) -> int | None:
    """``row_chunk`` as an int, or None (every row in one chunk); an error for anything else."""
    if row_chunk is None:
        return None
    if isinstance(row_chunk, bool) or not isinstance(row_chunk, (int, np.integer)) or row_chunk < 1:
        raise InvalidInputError(f"row_chunk must be a positive int (rows per explain call) or None, got {row_chunk!r}.")
    return int(row_chunk)


def row_chunks(n_rows: int, row_chunk: int | None) -> list[tuple[int, int]]:
    """The ``(start, stop)`` row ranges of ``n_rows`` rows in chunks of ``row_chunk`` (None: one)."""
    size = n_rows if row_chunk is None else row_chunk
    return [(start, min(start + size, n_rows)) for start in range(0, n_rows, max(size, 1))]


def chunk_seed(explainer: Any, root_seed: int, name: str, start: int) -> Any:
    """The ``random_state`` that explains the chunk starting at row ``start`` (module notes).

    The explainer's own ``random_state`` for the first chunk and for deterministic explainers.
    """
    if start == 0 or not getattr(explainer, "is_stochastic", False):
        return getattr(explainer, "random_state", None)
    return derive_seed(root_seed, name, str(start))


def explain_rows(explainer: Any, X: np.ndarray, target: Any, root_seed: int, name: str, start: int) -> Attribution:
    """Explain ``X``, the rows of the chunk starting at row ``start``, with a fitted ``explainer`` under the chunk's seed.

    The explainer's ``random_state`` is set for the call and restored afterwards, so that
    the metrics that re-run it (stability, sanity) see it as configured. ``compare`` and
    :func:`agnostic_xai.explain` both explain every chunk through this function.
    """
    seeded = getattr(explainer, "is_stochastic", False) and "random_state" in explainer.get_params()
    if not seeded:
        return explainer.explain(X, target=target)
    own = explainer.random_state
    explainer.set_params(random_state=chunk_seed(explainer, root_seed, name, start))
    try:
        return explainer.explain(X, target=target)
    finally:
        explainer.set_params(random_state=own)


def explain_chunk(
    explainer: Any, X: np.ndarray, targets: np.ndarray, start: int, stop: int, root_seed: int, name: str
) -> Attribution:
    """Explain rows ``[start, stop)`` of ``X`` with a fitted ``explainer`` under the chunk's seed (:func:`explain_rows`)."""
    return explain_rows(explainer, X[start:stop], targets[start:stop], root_seed, name, start)


def with_rows(failure: dict[str, str], start: int, stop: int, n_chunks: int) -> dict[str, str]:
    """A failure of one chunk, its message prefixed with the chunk's rows when there are several."""
    if n_chunks <= 1:
        return failure
    return {**failure, "message": f"rows {start}-{stop - 1}: {failure['message']}"}
