"""Kernel SHAP through ``shap.KernelExplainer``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import shap

# DenseData is the container KernelExplainer reads its background (and feature groups and
# weights) from; shap.kmeans returns one. It is not re-exported by shap's public namespace.
from shap.utils._legacy import DenseData

from .._checks import check_int
from .._validation import check_float
from ..exceptions import BudgetError, InvalidInputError
from ._row_parallel import check_n_jobs, map_row_chunks
from ._shap_common import model_function, numpy_global_seed, select_target
from .base import Explainer, Explanation

__all__ = ["KernelShap"]


class KernelShap(Explainer):
    """Kernel SHAP (Lundberg & Lee 2017) computed by ``shap.KernelExplainer``.

    For each row ``x`` the Shapley values of the game ``v(S) = Σ_r w_r f_t(x_S, r_S̄)`` over
    background rows ``r`` (weights ``w_r``: uniform, or cluster sizes with
    ``background_summary``) are the solution of the weighted least-squares problem::

        min_φ Σ_S π(S) (v(S) - v(∅) - Σ_{i∈S} φ_i)²   subject to  Σ_i φ_i = f_t(x) - v(∅),

    with the Shapley kernel ``π(S) = (p - 1) / (C(p, |S|) |S| (p - |S|))``. shap enumerates
    whole coalition sizes while the budget allows and samples the rest; with
    ``n_samples >= 2**p - 2`` every coalition is enumerated and the values are exact.

    The explained function is the adapter's :meth:`predict` (probability, logit or raw value
    as the adapter says); all outputs are estimated from the same coalition evaluations and
    each row keeps its ``target``. Feature groups are removed as a unit: shap's background
    container takes a partition of the columns, so a group's columns are taken together
    from ``x`` or from each background row — the interventional group game of
    :func:`agnostic_xai.testing.exact_shapley` with ``groups``.

    Parameters
    ----------
    n_samples : int or "auto"
        Coalitions evaluated per row (shap's ``nsamples``); each costs one model row per
        background row. ``"auto"`` is shap's ``2 p + 2048``. At least ``p + 2``.
    l1_reg : bool, float or str
        shap's feature selection before the regression. ``False`` (the default here)
        estimates every value. shap's own default (``"num_features(10)"``, earlier
        ``"auto"``) sets all but a few values to zero when ``p > 10``, which on a
        30-feature model tripled the error against exact Shapley values; pass it
        explicitly only to reproduce shap's defaults.
    background_summary : int, optional
        Summarise the background by this many weighted k-means centres
        (``shap.kmeans``, rounded to observed values) to cut the cost per coalition. The
        game then differs from the one over the full background: the summary is recorded
        in ``summary_`` and ``summary_weights_``.
    random_state : int, numpy Generator or None
        Seed of the coalition sampler. One seed per row is drawn from it before any row is
        explained; shap samples from numpy's global generator, which is seeded with the
        row's seed for that row and restored afterwards: the same seed gives the same
        values, whatever ``n_jobs``, and the caller's global random stream is left untouched.
    n_jobs : int
        Worker processes (loky) over chunks of rows; ``-1`` uses every core. shap explains
        one row at a time in Python, so processes are what keeps several cores busy. Each
        worker runs torch with one thread. Values are identical for every ``n_jobs``.

    Attributes
    ----------
    summary_ : ndarray of shape (b', d)
        The background rows the game averages over (the background itself without a summary).
    summary_weights_ : ndarray of shape (b',)
        Their weights (summing to one).
    explainer_ : shap.KernelExplainer
        The underlying shap explainer.

    Notes
    -----
    Model rows per explained row: ``b' * min(n_samples, 2**p - 2)`` plus one for ``f(x)``;
    fitting evaluates the ``b'`` background rows once. shap skips features (groups) whose
    value equals that of every background row (within ``numpy.allclose``): their value is 0.
    """

    name: ClassVar[str] = "kernel_shap"
    is_stochastic: ClassVar[bool] = True
    is_additive: ClassVar[bool] = True
    supports_groups: ClassVar[bool] = True

    def __init__(
        self,
        *,
        n_samples: int | str = "auto",
        l1_reg: bool | float | str = False,
        background_summary: int | None = None,
        random_state: Any = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_samples = n_samples
        self.l1_reg = l1_reg
        self.background_summary = background_summary
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _fit(self) -> None:
        _check_l1_reg(self.l1_reg)
        background = self.background_
        k = self.background_summary
        if k is None:
            summary, weights = np.array(background), np.full(background.shape[0], 1.0 / background.shape[0])
        else:
            check_int(
                k, "background_summary", minimum=1, maximum=background.shape[0],
                kind=f"an int between 1 and the {background.shape[0]} background rows (None: the background as it is)",
            )
            summarised = shap.kmeans(np.array(background), int(k))
            summary = np.asarray(summarised.data, dtype=np.float64)
            weights = np.asarray(summarised.weights, dtype=np.float64)
        if self.groups_ is not None:
            names = list(self.groups_.names)
            members = [np.array(cols, dtype=np.int64) for cols in self.groups_.indices]
        else:
            names = list(self.attributed_names_)
            members = [np.array([i]) for i in range(background.shape[1])]
        data = DenseData(summary.copy(), names, members, weights.copy())
        self.summary_ = summary
        self.summary_weights_ = data.weights.copy()
        self.explainer_ = shap.KernelExplainer(model_function(self.adapter_), data, link="identity")

    def check_budget(self, n_players: int) -> None:
        """Refuse an ``n_samples`` too small for ``n_players`` (called by ``compare`` before any work)."""
        self._check_budget(n_players)

    def _check_budget(self, players: int | None = None) -> int | str:
        n_samples = self.n_samples
        players = self.n_attributed_ if players is None else players
        if isinstance(n_samples, str):
            if n_samples != "auto":
                raise InvalidInputError(f"n_samples must be a positive int or 'auto', got {n_samples!r}.")
            return n_samples
        check_int(n_samples, "n_samples", kind="a positive int or 'auto'")  # too few: BudgetError below
        if n_samples < players + 2:
            raise BudgetError(
                f"kernel_shap needs at least p + 2 = {players + 2} coalitions per row for {players} players to "
                f"have a well-posed regression; got n_samples={n_samples}. Raise n_samples, or use "
                "permutation_shap for small budgets."
            )
        return int(n_samples)

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        n_samples = self._check_budget()
        n_jobs = check_n_jobs(self.n_jobs)
        seeds = self._rng().integers(0, 2**32 - 1, size=int(X.shape[0]))
        adapter = self.adapter_
        before = adapter.rows_evaluated
        chunks = map_row_chunks(
            _explain_rows, X.shape[0], n_jobs, (np.array(X), seeds, target),
            (self.explainer_, adapter, n_samples, self.l1_reg),
        )
        values = np.concatenate([chunk[0] for chunk in chunks])
        # Rows evaluated in worker processes were counted on the workers' copies of the adapter.
        extra = sum(chunk[1] for chunk in chunks) - (adapter.rows_evaluated - before)
        base = np.atleast_1d(np.asarray(self.explainer_.expected_value, dtype=np.float64))
        return Explanation(
            values=values, base_values=base[target] if base.size > 1 else base[0], extra_model_rows=max(0, extra)
        )


def _explain_rows(
    explainer: Any, adapter: Any, n_samples: int | str, l1_reg: Any, X: np.ndarray, seeds: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, int]:
    """Kernel SHAP values of each row under its own seed, and the model rows evaluated."""
    before = adapter.rows_evaluated
    values = np.empty((X.shape[0], len(explainer.data.groups)))
    for i in range(X.shape[0]):
        with numpy_global_seed(int(seeds[i])):
            raw = explainer.shap_values(X[i : i + 1], nsamples=n_samples, l1_reg=l1_reg, silent=True)
        values[i] = select_target(raw, target[i : i + 1])[0]
    return values, adapter.rows_evaluated - before


def _check_l1_reg(l1_reg: Any) -> None:
    """Refuse an ``l1_reg`` shap does not understand before it reaches scikit-learn's Lasso.

    shap takes False/True, a number (the Lasso's ``alpha``, >= 0), ``"auto"``, ``"aic"``,
    ``"bic"`` or ``"num_features(k)"``.
    """
    if isinstance(l1_reg, (bool, np.bool_)):
        return
    if isinstance(l1_reg, str):
        import re

        if l1_reg not in ("auto", "aic", "bic") and not re.fullmatch(r"num_features\(\d+\)", l1_reg):
            raise InvalidInputError(
                f"l1_reg must be False, True, a number >= 0, 'auto', 'aic', 'bic' or 'num_features(k)', got {l1_reg!r}."
            )
        return
    check_float(l1_reg, "l1_reg", minimum=0.0, kind="False, True, a number >= 0, 'auto', 'aic', 'bic' or 'num_features(k)'")
