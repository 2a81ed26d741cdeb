"""Governance review: policy checks with evidence, cohort analysis and a reproducibility manifest.

A policy states what an explanation must satisfy before a reviewer accepts it::

    explainer = "integrated_gradients"   # the explanation under review
    reference = ["exact_shapley", "kernel_shap"]

    [thresholds]
    surrogate_fidelity = 0.9        # the surrogate tree reproduces the model (R²) at least this well
    agreement = 0.6                 # top-k feature agreement with the reference at least this
    agreement_k = 5
    seed_stability = 0.9            # top-k Jaccard across seeds at least this
    beats_random_p = 0.01           # beats `random` on `beats_random_metric` with p below this
    beats_random_metric = "deletion_auc"
    randomization_similarity = 0.5  # after weight randomisation, similarity at most this
    shapley_error = 0.05            # optional: MAE against exact Shapley values at most this

Each check gives pass/fail with its value, threshold and evidence; a check whose evidence is
missing (its explainer or metric failed) fails and says why. A check that needs exact Shapley
values (``shapley_error``, or top-k agreement when every reference is an exact explainer) is
*not evaluable* when the features (or groups) are more than the exact-enumeration limit
(``max_features``, :data:`agnostic_xai._shapley.MAX_EXACT_FEATURES`; ``exact_limit`` of the
comparison): it says why, and it neither passes nor fails, because the limit is a cost the
reviewer chose, not a fault of the explanation. The review passes when every evaluable check
passes (:func:`review_passed`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import check_int
from ._messages import quoted
from ._review_exact import above_exact_limit, gives_exact_values
from ._validation import check_float, is_tensor, shown, tensor_to_array
from .attribution import Attribution
from .comparison import Comparison
from .comparison.references import FLOOR
from .comparison.stats import holm
from .config import load_config
from .exceptions import InvalidInputError, InvalidTypeError
from .explainers.reference import RandomExplainer

__all__ = [
    "Policy",
    "CheckResult",
    "review_passed",
    "run_checks",
    "cohort_analysis",
    "file_sha256",
    "build_manifest",
    "render_review_html",
    "write_review",
]

_THRESHOLDS = {
    "surrogate_fidelity": 0.9,
    "agreement": 0.6,
    "seed_stability": 0.9,
    "beats_random_p": 0.01,
    "randomization_similarity": 0.5,
    "shapley_error": None,
}


@dataclass(frozen=True)
class Policy:
    """Thresholds an explanation must meet. ``None`` switches a check off.

    See the module docstring for the meaning of each threshold and the file format.
    """

    explainer: str
    reference: tuple[str, ...] = ("exact_shapley", "kernel_shap")
    surrogate_fidelity: float | None = 0.9
    agreement: float | None = 0.6
    agreement_k: int = 5
    seed_stability: float | None = 0.9
    beats_random_p: float | None = 0.01
    beats_random_metric: str = "deletion_auc"
    randomization_similarity: float | None = 0.5
    shapley_error: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "the policy") -> Policy:
        """Build from a parsed policy file (top-level keys plus a ``thresholds`` table).

        Parameters
        ----------
        data : Mapping
            The parsed file.
        source : str
            Where ``data`` came from (the file's name), named in every error.

        Raises
        ------
        InvalidInputError
            A missing explainer, an unknown key or threshold, or a value of the wrong type:
            one line naming ``source``, the key and what was expected.
        """
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"{source} must hold a mapping of policy keys, got {quoted(data)}.")
        if "explainer" not in data:
            raise InvalidInputError(f"{source}: the policy must name the explainer under review: explainer = \"...\".")
        if not isinstance(data["explainer"], str) or not data["explainer"].strip():
            raise InvalidInputError(
                f"{source}: explainer must be an explainer's name, got {quoted(data['explainer'])}."
            )
        thresholds = data.get("thresholds", {})
        if not isinstance(thresholds, Mapping):
            raise InvalidInputError(
                f"{source}: thresholds must be a table of threshold -> value, got {quoted(thresholds)}."
            )
        known = set(_THRESHOLDS) | {"agreement_k", "beats_random_metric"}
        unknown = sorted(str(key) for key in thresholds if key not in known)
        if unknown:
            raise InvalidInputError(f"{source}: Unknown policy thresholds {quoted(unknown)}; known: {sorted(known)}.")
        extra = sorted(str(key) for key in data if key not in ("explainer", "reference", "thresholds"))
        if extra:
            raise InvalidInputError(
                f"{source}: Unknown policy keys {quoted(extra)}; expected explainer, reference, thresholds."
            )
        reference = data.get("reference", cls.reference)
        if isinstance(reference, str):
            reference = (reference,)
        if not isinstance(reference, (list, tuple)) or not all(isinstance(r, str) and r.strip() for r in reference):
            raise InvalidInputError(
                f"{source}: reference must be an explainer's name or a list of names, got {quoted(data['reference'])}."
            )
        values: dict[str, Any] = {"explainer": data["explainer"], "reference": tuple(reference)}
        for key, value in thresholds.items():
            if key in ("agreement_k",):
                check_int(value, f"{source}: agreement_k", minimum=1)
            elif key == "beats_random_metric":
                if not isinstance(value, str) or not value.strip():
                    raise InvalidInputError(
                        f"{source}: beats_random_metric must be a metric's name, got {quoted(value)}."
                    )
            elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise InvalidInputError(f"{source}: threshold {key} must be a number, got {quoted(value)}.")
            values[key] = value
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Policy:
        """Read a policy from a TOML, YAML or JSON file (see :func:`agnostic_xai.config.load_config`)."""
        return cls.from_mapping(load_config(path), source=str(path))

    def required_explainers(self) -> list[str]:
        """Explainers the checks need, in run order."""
        names = [self.explainer, *self.reference]
        if self.surrogate_fidelity is not None:
            names.append("surrogate_tree")
        if self.beats_random_p is not None:
            names.append(RandomExplainer.name)  # the floor (is_reference)
        return list(dict.fromkeys(names))

    def required_metrics(self) -> list[str]:
        """Metrics the checks need."""
        names = []
        if self.beats_random_p is not None:
            names.append(self.beats_random_metric)
        if self.seed_stability is not None:
            names.append("seed_stability")
        if self.randomization_similarity is not None:
            names.append("randomization_sanity")
        if self.shapley_error is not None:
            names.append("shapley_error")
        return list(dict.fromkeys(names))


@dataclass(frozen=True)
class CheckResult:
    """One policy check: pass/fail with its evidence.

    ``passed`` is None for a check that is not evaluable (its evidence would need exact
    Shapley values above the enumeration limit); ``evidence`` then says why.
    """

    name: str
    passed: bool | None
    value: float | None
    threshold: float | None
    operator: str
    evidence: str

    @property
    def status(self) -> str:
        """``"pass"``, ``"FAIL"`` or ``"not evaluable"``."""
        return "not evaluable" if self.passed is None else ("pass" if self.passed else "FAIL")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, with ``status``."""
        data = asdict(self)
        data["status"] = self.status
        for key in ("value", "threshold"):
            if data[key] is not None and not np.isfinite(data[key]):
                data[key] = None
        return data


def review_passed(checks: Sequence[CheckResult]) -> bool:
    """Whether the review passes: no check failed (checks that are not evaluable do not count)."""
    return all(c.passed is None or bool(c.passed) for c in checks)


def _missing(name: str, threshold: float, operator: str, why: str) -> CheckResult:
    return CheckResult(name, False, None, threshold, operator, f"not available: {why}")


def _not_evaluable(name: str, threshold: float, operator: str, why: str) -> CheckResult:
    return CheckResult(name, None, None, threshold, operator, f"not evaluable: {why}")


def _failure_reason(comparison: Comparison, explainer: str, metric: str = "") -> str:
    what = f"{explainer}{' / ' + metric if metric else ''}"
    failures = comparison.failures
    hit = failures[(failures["explainer"] == explainer) & ((failures["metric"] == metric) | (failures["metric"] == ""))]
    if not hit.empty:
        line = hit.iloc[0]
        return f"{what} failed ({line['error']}: {line['message']})"
    table = comparison.table
    if metric and ((table["explainer"] == explainer) & (table["metric"] == metric)).any():
        return f"{what} is undefined for every row (e.g. constant explanations have no ranking)"
    return f"{what} was not run"


def _metric_mean(comparison: Comparison, explainer: str, metric: str) -> float | None:
    table = comparison.table
    scores = table[(table["explainer"] == explainer) & (table["metric"] == metric)]["score"].to_numpy(dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    return float(finite.mean()) if finite.size else None


def _mean_check(
    comparison: Comparison, explainer: str, label: str, metric: str, threshold: float, operator: str, evidence: str
) -> CheckResult:
    """A check of the explainer's mean score on ``metric`` against ``threshold`` (``>=`` or ``<=``)."""
    value = _metric_mean(comparison, explainer, metric)
    if value is None:
        return _missing(label, threshold, operator, _failure_reason(comparison, explainer, metric))
    passed = value >= threshold if operator == ">=" else value <= threshold
    return CheckResult(label, passed, value, threshold, operator, evidence)


def run_checks(comparison: Comparison, policy: Policy) -> list[CheckResult]:
    """Evaluate every check of ``policy`` on ``comparison``."""
    if not isinstance(comparison, Comparison):
        raise InvalidTypeError(f"comparison must be a Comparison (what compare returns), got {shown(comparison)}.")
    if not isinstance(policy, Policy):
        raise InvalidTypeError(f"policy must be a Policy (Policy.from_file or from_mapping), got {shown(policy)}.")
    checks: list[CheckResult] = []
    name = policy.explainer
    if name not in comparison.attributions:
        reason = _failure_reason(comparison, name)
        return [CheckResult("explainer ran", False, None, None, "", f"the explainer under review: {reason}")]

    if policy.surrogate_fidelity is not None:
        surrogate = comparison.explainers.get("surrogate_tree")
        fidelity = getattr(surrogate, "fidelity_", None)
        if fidelity is None or "surrogate_tree" not in comparison.attributions:
            checks.append(_missing("surrogate fidelity", policy.surrogate_fidelity, ">=", _failure_reason(comparison, "surrogate_tree")))
        else:
            # One tree per model output: judge the trees of the outputs that were explained,
            # by the weakest of them.
            outputs = np.unique(comparison.attributions["surrogate_tree"].target)
            per_output = np.atleast_1d(np.asarray(fidelity, dtype=np.float64))[outputs]
            worst = int(outputs[np.argmin(per_output)])
            value = float(per_output.min())
            depth = np.atleast_1d(getattr(surrogate, "depth_", [np.nan] * (worst + 1)))[worst]
            leaves = np.atleast_1d(getattr(surrogate, "n_leaves_", [np.nan] * (worst + 1)))[worst]
            checks.append(
                CheckResult(
                    "surrogate fidelity",
                    value >= policy.surrogate_fidelity,
                    value,
                    policy.surrogate_fidelity,
                    ">=",
                    f"held-out R² of a depth-{depth} tree ({leaves} leaves) fitted to the model's explained output "
                    f"{worst} (the weakest of the {outputs.size} explained outputs)",
                )
            )

    if policy.agreement is not None:
        reference = next((r for r in policy.reference if r != name and r in comparison.attributions), None)
        exact_only = bool(policy.reference) and all(gives_exact_values(comparison, r) for r in policy.reference)
        too_many = (above_exact_limit(comparison, name, [(r, "") for r in policy.reference])
                    if reference is None and exact_only else None)
        if too_many is not None:
            checks.append(_not_evaluable(f"top-{policy.agreement_k} agreement", policy.agreement, ">=",
                                         f"its references {list(policy.reference)} are exact Shapley values: {too_many}"))
        elif reference is None:
            checks.append(_missing(f"top-{policy.agreement_k} agreement", policy.agreement, ">=",
                                   f"none of the references {list(policy.reference)} produced an explanation"))
        else:
            from .metrics import get as get_metric

            k = min(policy.agreement_k, comparison.attributions[name].n_features)
            result = get_metric("feature_agreement", k=k)(comparison.attributions[name], comparison.attributions[reference])
            checks.append(
                CheckResult(
                    f"top-{k} agreement with {reference}",
                    result.value >= policy.agreement,
                    result.value,
                    policy.agreement,
                    ">=",
                    f"mean share of the top-{k} features by |attribution| shared with {reference} over "
                    f"{result.scores.size} rows",
                )
            )

    if policy.seed_stability is not None:
        checks.append(_mean_check(comparison, name, "seed stability", "seed_stability", policy.seed_stability, ">=",
                                  "mean top-k Jaccard of explanations across seeds"))

    if policy.beats_random_p is not None:
        metric = policy.beats_random_metric
        table = comparison.table
        # The comparison's floor (role "floor": an is_reference explainer), whatever its label.
        floor_label = next((label for label, role in comparison.references.items() if role == FLOOR),
                           RandomExplainer.name)
        ours = table[(table["explainer"] == name) & (table["metric"] == metric)].set_index("row")["score"]
        floor = table[(table["explainer"] == floor_label) & (table["metric"] == metric)].set_index("row")["score"]
        if ours.empty or floor.empty:
            who = name if ours.empty else floor_label
            checks.append(_missing(f"beats random on {metric}", policy.beats_random_p, "<", _failure_reason(comparison, who, metric)))
        else:
            higher = comparison.higher_is_better(metric)
            paired = pd.concat([ours, floor], axis=1, keys=["ours", "floor"]).dropna()
            diff = paired["ours"] - paired["floor"]
            if len(paired) < 2 or np.all(diff == 0):
                p_value = 1.0
            else:
                p_value = float(stats.wilcoxon(paired["ours"], paired["floor"], alternative="greater" if higher else "less").pvalue)
            checks.append(
                CheckResult(
                    f"beats random on {metric}",
                    p_value < policy.beats_random_p,
                    p_value,
                    policy.beats_random_p,
                    "<",
                    f"one-sided paired Wilcoxon over {len(paired)} rows: mean {paired['ours'].mean():.4g} vs "
                    f"random {paired['floor'].mean():.4g} ({'higher' if higher else 'lower'} is better)",
                )
            )

    if policy.randomization_similarity is not None:
        checks.append(_mean_check(comparison, name, "randomisation sanity", "randomization_sanity",
                                  policy.randomization_similarity, "<=",
                                  "similarity of explanations before and after randomising the model's weights"))

    if policy.shapley_error is not None:
        label = "error against exact Shapley values"
        too_many = above_exact_limit(comparison, name, [(name, "shapley_error")])
        if too_many is not None and _metric_mean(comparison, name, "shapley_error") is None:
            checks.append(_not_evaluable(label, policy.shapley_error, "<=", too_many))
        else:
            checks.append(_mean_check(comparison, name, label, "shapley_error", policy.shapley_error, "<=",
                                      "mean absolute error per value"))
    return checks


def cohort_analysis(attribution: Any, cohorts: Sequence[Any] | np.ndarray, *, alpha: float = 0.05) -> pd.DataFrame:
    """Do the explanations differ between cohorts (e.g. an age band kept out of the model)?

    For each feature (or group), the mean |φ| per cohort and a Kruskal–Wallis test of |φ|
    across cohorts (the Mann–Whitney U test's generalisation to several groups), Holm-corrected
    over features. |φ| rather than φ: the question is whether the model *relies* on a feature
    differently for one cohort.

    Parameters
    ----------
    attribution : Attribution
    cohorts : array of shape (n,)
        Cohort label of each explained row.
    alpha : float
        Level for the ``differs`` column.

    Returns
    -------
    DataFrame
        Index: feature. Columns: one mean-|φ| column per cohort, ``statistic``, ``p_value``,
        ``p_holm``, ``differs``.
    """
    if not isinstance(attribution, Attribution):
        raise InvalidTypeError(f"attribution must be an Attribution, got {shown(attribution)}.")
    check_float(alpha, "alpha", minimum=0.0, maximum=1.0, strict=True, kind="a number in (0, 1)")
    if isinstance(cohorts, (str, bytes, Mapping)) or not hasattr(cohorts, "__len__"):
        raise InvalidTypeError(f"cohorts must be an array of labels, one per explained row, got {shown(cohorts)}.")
    try:
        labels = tensor_to_array(cohorts, "cohorts") if is_tensor(cohorts) else np.asarray(cohorts)
    except (TypeError, ValueError):  # ragged nesting
        raise InvalidTypeError(f"cohorts must be an array of labels, one per explained row, got {shown(cohorts)}.") from None
    if labels.dtype == object and not all(isinstance(v, (str, int, float, bool, np.generic)) for v in labels.reshape(-1)):
        raise InvalidTypeError("cohorts must hold labels (strings or numbers).")
    if labels.shape != (attribution.n_rows,):
        raise InvalidInputError(f"cohorts must have one label per explained row ({attribution.n_rows}), got {labels.shape}.")
    magnitude = np.abs(attribution.values)
    levels = list(dict.fromkeys(labels.tolist()))
    if len(levels) < 2:
        raise InvalidInputError("The cohort column has a single value among the explained rows; nothing to compare.")
    if len(levels) > 20:
        raise InvalidInputError(f"The cohort column has {len(levels)} values; use a column with at most 20 cohorts.")
    frame = pd.DataFrame(index=pd.Index(attribution.feature_names, name="feature"))
    for level in levels:
        frame[f"mean |φ| ({level})"] = magnitude[labels == level].mean(axis=0)
    statistics, p_values = [], []
    for j in range(magnitude.shape[1]):
        samples = [magnitude[labels == level, j] for level in levels]
        if all(np.all(s == samples[0][0]) for s in samples if s.size):
            statistics.append(0.0)
            p_values.append(1.0)
            continue
        result = stats.kruskal(*samples)
        statistics.append(float(result.statistic))
        p_values.append(float(result.pvalue))
    frame["statistic"] = statistics
    frame["p_value"] = p_values
    frame["p_holm"] = holm(np.array(p_values))
    frame["differs"] = frame["p_holm"] < alpha
    frame.attrs["cohort_sizes"] = {str(level): int((labels == level).sum()) for level in levels}
    return frame


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_manifest(
    *, files: Mapping[str, str | os.PathLike[str]], config: Mapping[str, Any], started: str, finished: str,
    arguments: Sequence[str] = (),
) -> dict[str, Any]:
    """What an auditor needs to reproduce a run: inputs' hashes, configuration, versions, times."""
    return {
        "files": {label: {"path": str(path), "sha256": file_sha256(path), "bytes": Path(path).stat().st_size}
                  for label, path in files.items()},
        "arguments": list(arguments),
        "configuration": dict(config),
        "versions": dict(config.get("versions", {})),
        "seed": config.get("seed"),
        "started": started,
        "finished": finished,
    }


_REVIEW_CSS = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.pass{color:#176b2c;font-weight:600}.fail{color:#a31515;font-weight:600}.unevaluable{color:#666;font-style:italic}pre{background:#f6f6f6;padding:1rem;overflow:auto}
"""


_STATUS_CLASS = {"pass": "pass", "FAIL": "fail", "not evaluable": "unevaluable"}


def _verdict(checks: Sequence[CheckResult]) -> str:
    """One line: PASS or FAIL, with the count of failed and of not-evaluable checks."""
    failed = sum(c.passed is not None and not c.passed for c in checks)
    skipped = sum(c.passed is None for c in checks)
    note = f" ({skipped} not evaluable)" if skipped else ""
    if failed:
        return f"FAIL: {failed} of {len(checks)} checks failed{note}"
    return f"PASS: every evaluable check passed{note}" if skipped else "PASS: every check passed"


def render_review_html(
    *, policy: Policy, checks: Sequence[CheckResult], cohort: pd.DataFrame | None, manifest: Mapping[str, Any]
) -> str:
    """The review as one self-contained HTML page; every user-supplied string is escaped."""
    import html
    import json

    from .reports.content import to_jsonable

    e = html.escape
    passed = review_passed(checks)
    verdict = _verdict(checks)
    rows = "".join(
        f"<tr><td>{e(c.name)}</td><td class='{_STATUS_CLASS[c.status]}'>{e(c.status)}</td>"
        f"<td>{'n/a' if c.value is None else f'{c.value:.4g}'}</td>"
        f"<td>{'' if c.threshold is None else e(c.operator) + ' ' + f'{c.threshold:g}'}</td><td>{e(c.evidence)}</td></tr>"
        for c in checks
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Review of {e(policy.explainer)}</title><style>{_REVIEW_CSS}</style></head><body>",
        f"<h1>Governance review of {e(policy.explainer)}</h1>",
        f"<p class='{'pass' if passed else 'fail'}'>{e(verdict)}</p>",
        "<h2>Policy checks</h2><table><tr><th>check</th><th>result</th><th>value</th><th>threshold</th>"
        f"<th>evidence</th></tr>{rows}</table>",
        "<p>The full comparison (every explainer and metric, plots, failures) is in report.html beside this file.</p>",
    ]
    if cohort is not None:
        sizes = ", ".join(f"{e(str(k))}: {v}" for k, v in cohort.attrs.get("cohort_sizes", {}).items())
        parts.append(f"<h2>Cohorts</h2><p>Rows per cohort: {sizes}. Kruskal–Wallis test of |attribution| across "
                     "cohorts per feature, Holm-corrected.</p>")
        parts.append(cohort.to_html(float_format=lambda v: f"{v:.4g}", escape=True, border=0))
    parts.append("<h2>Reproducibility manifest</h2><pre>")
    parts.append(e(json.dumps(to_jsonable(dict(manifest)), indent=2, sort_keys=True, allow_nan=False)))
    parts.append("</pre></body></html>")
    return "".join(parts)


def write_review(
    out: str | os.PathLike[str],
    *,
    policy: Policy,
    checks: Sequence[CheckResult],
    cohort: pd.DataFrame | None,
    manifest: Mapping[str, Any],
) -> list[Path]:
    """Write ``review.html``, ``review.json`` and ``manifest.json`` into ``out`` (atomically)."""
    import json

    from .reports._files import atomic_write_text
    from .reports.content import to_jsonable

    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    review = {
        "format": "agnostic-xai.review/1",
        "explainer": policy.explainer,
        "passed": review_passed(checks),
        "policy": asdict(policy),
        "checks": [c.to_dict() for c in checks],
        "cohorts": None
        if cohort is None
        else {"sizes": cohort.attrs.get("cohort_sizes", {}), "features": cohort.reset_index().to_dict(orient="records")},
    }
    dump = lambda value: json.dumps(to_jsonable(value), indent=2, sort_keys=True, allow_nan=False)  # noqa: E731
    return [
        atomic_write_text(directory / "review.html", render_review_html(policy=policy, checks=checks, cohort=cohort, manifest=manifest)),
        atomic_write_text(directory / "review.json", dump(review)),
        atomic_write_text(directory / "manifest.json", dump(dict(manifest))),
    ]
