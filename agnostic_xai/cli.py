"""The ``agnostic-xai`` command line: ``demo``, ``compare`` and ``review``.

Exit codes: 0 success (for ``review``: every evaluable check passed; "not evaluable" ones do
not count), 1 a review check failed, 2 bad input (one line on stderr; ``--debug``, before or
after the command, adds the traceback and changes no exit code), 3 a comparison that
completed only partly (an explainer or metric failed; skipped ones do not count), 130
interrupted (rerun with ``--resume``).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from ._messages import one_line, quoted
from ._paths import check_not_an_input, check_outputs_inside
from ._version import __version__
from .exceptions import AgnosticXAIError, AgnosticXAIWarning, InvalidInputError

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: The result store in the output directory (see :mod:`agnostic_xai.comparison.store`).
STORE_NAME = "results.sqlite"

#: Every file compare and review write in --out (none may be a link; see :mod:`agnostic_xai._paths`).
_OUT_FILES = ("report.html", "report.json", "table.csv", "summary.csv", "review.html", "review.json", "manifest.json",
              STORE_NAME, *(STORE_NAME + suffix for suffix in ("-wal", "-shm", "-journal", ".lock")))

#: Settings that a --config file may hold; command-line flags override them.
DEFAULTS: dict[str, Any] = {
    "explainers": "default",
    "metrics": "default",
    "rows": 100,
    "background": 50,
    "groups": "auto",
    "seed": 0,
    "jobs": 1,
    "row_chunk": 128,
    "output": None,
    "explain_class": None,
    "time_limit": None,
    "memory_limit": None,
    "max_model_rows": None,
    "impute": None,
}

_DEMO_EPILOG = """\
examples:
  agnostic-xai demo                        the full comparison on the embedded default
  agnostic-xai demo --out review/ --seed 1
  agnostic-xai demo --quick                a few rows and small budgets (seconds)
"""

_COMPARE_EPILOG = """\
examples:
  agnostic-xai compare --model model.pt --data loans.csv --target default
  agnostic-xai compare --model model.skops --data loans.parquet --target default \\
      --explainers kernel_shap,lime,exact_shapley --metrics deletion_auc,shapley_error --rows 50
  agnostic-xai compare --model weights.pt --model-class mypkg.nets:LoanNet --data loans.csv \\
      --target default --config compare.toml --out report/

A --config file (TOML, YAML or JSON) may set: explainers (a list, or a table of name ->
parameters), metrics (likewise), rows, background, groups, seed, jobs, row_chunk, output,
explain_class, time_limit, memory_limit (MiB), max_model_rows, impute. Flags given on the
command line win.

Every finished cell is committed to <out>/results.sqlite as it completes; after an
interruption, the same command with --resume computes only the missing cells. --plan prints
the model rows and time each cell will take (from a calibration on one and two rows) without
running; --max-model-rows refuses a larger plan unless --force is given.
"""

_REVIEW_EPILOG = """\
examples:
  agnostic-xai review --model model.pt --data loans.csv --target default --policy policy.toml
  agnostic-xai review --model model.pt --data loans.csv --target default --policy policy.yaml \\
      --cohort age_band --out review/

Exit code 0 when every policy check passes, 1 when one fails, 2 on bad input: it can gate CI.
"""


# ---------------------------------------------------------------------------------- helpers
def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """DEFAULTS, updated by the --config file, updated by the flags; each source's values checked."""
    from ._settings import check_registry_setting, check_settings
    from .config import load_config

    settings = dict(DEFAULTS)
    if getattr(args, "config", None):
        config = load_config(args.config)
        unknown = sorted(str(key) for key in config if key not in DEFAULTS)
        if unknown:
            raise InvalidInputError(f"{args.config}: unknown settings {quoted(unknown)}; known: {sorted(DEFAULTS)}.")
        settings.update(check_settings(config, str(args.config)))
    flags = {key: getattr(args, key) for key in DEFAULTS if getattr(args, key, None) is not None}
    for key in ("explainers", "metrics"):
        if key in flags:
            flags[key] = check_registry_setting(flags[key], key, f"--{key}")
    settings.update(check_settings(flags, "the command line"))
    return settings


@dataclass
class _Inputs:
    adapter: Any
    X: pd.DataFrame
    y: np.ndarray | None
    background: pd.DataFrame
    groups: Any
    cohorts: np.ndarray | None


def _load_inputs(args: argparse.Namespace, settings: Mapping[str, Any], cohort: str | None = None) -> _Inputs:
    from .groups import FeatureGroups
    from .io import TableEncoder, load_model, load_table, read_frame

    frame = read_frame(args.data)
    dropped = [c.strip() for c in (args.drop or "").split(",") if c.strip()]
    roles = [("--target", args.target), ("--cohort", cohort), *(("--drop", c) for c in dropped)]
    for role, column in roles:
        if column is not None and column not in frame.columns:
            raise InvalidInputError(f"{role} column {column!r} is not in {args.data}; columns: {list(frame.columns)}.")
    features = [c for c in frame.columns if c not in (args.target, cohort, *dropped)]
    encoder = TableEncoder(target=args.target, columns=features, impute=settings["impute"]).fit(frame)
    table = encoder.table(frame, source=str(args.data))
    n = len(table.X)
    if n < 2:
        raise InvalidInputError(f"{args.data} has {n} row; at least 2 are needed.")
    rng = np.random.default_rng(settings["seed"])
    order = rng.permutation(n)
    explained = np.sort(order[: min(settings["rows"], n)])
    rest = np.sort(order[min(settings["rows"], n) :])
    if args.background_data:
        background = load_table(args.background_data, like=table).X
    else:
        pool = rest if rest.size >= 2 else np.arange(n)
        background = table.X.iloc[np.sort(rng.choice(pool, size=min(settings["background"], pool.size), replace=False))]
    groups_setting = settings["groups"]
    if groups_setting == "auto":
        groups = None if table.groups.is_identity else table.groups
    elif groups_setting == "none":
        groups = None
    else:
        from ._settings import check_groups_file
        from .config import load_config

        try:
            groups = FeatureGroups.from_dict(check_groups_file(load_config(groups_setting), groups_setting),
                                             table.feature_names)
        except InvalidInputError as exc:
            message = str(exc)
            named = message if message.startswith(groups_setting) else f"{groups_setting}: {message}"
            raise InvalidInputError(named) from None
    adapter = load_model(
        args.model,
        trust_model=args.trust_model,
        model_class=args.model_class,
        output=settings["output"],
        feature_names=list(table.feature_names),
    )
    y = table.y[explained] if table.y is not None else None
    cohorts = frame[cohort].to_numpy()[explained] if cohort is not None else None
    return _Inputs(adapter, table.X.iloc[explained], y, background, groups, cohorts)


def _stability_budget(metrics: Any, n_perturbations: int) -> Any:
    """The default metric set with a smaller re-run budget for the metrics that re-run the explainer.

    Found by their class attributes (``requires_explainer`` and an ``n_perturbations``
    parameter), so a new stability metric gets the same budget without being listed here.
    """
    import inspect

    from . import metrics as registry

    if metrics != "default":
        return metrics
    chosen: dict[str, dict[str, Any]] = {}
    for name in registry.available():
        cls = registry.get_class(name)
        if cls.family == "agreement":
            continue
        reruns = getattr(cls, "requires_explainer", False) and "n_perturbations" in inspect.signature(cls).parameters
        chosen[name] = {"n_perturbations": n_perturbations} if reruns else {}
    return chosen


def _write_outputs(comparison: Any, out: Path) -> list[Path]:
    from .reports._files import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    written = [comparison.to_html(out / "report.html"), comparison.to_json(out / "report.json")]
    written.append(atomic_write_text(out / "table.csv", comparison.table.to_csv(index=False)))
    summary = comparison.summary(marked=False)
    summary.columns = [f"{metric}.{stat}" for metric, stat in summary.columns]
    written.append(atomic_write_text(out / "summary.csv", summary.to_csv()))
    return [Path(p) for p in written]


def _partial(comparison: Any) -> bool:
    failures = comparison.failures
    return bool((failures["stage"] != "skipped").any()) if len(failures) else False


def _print_result(comparison: Any, written: Sequence[Path], seconds: float) -> None:
    from .reports import summary_text

    print(summary_text(comparison))
    failures = comparison.failures
    failed = failures[failures["stage"] != "skipped"] if len(failures) else failures
    if len(failed):
        print(f"\n{len(failed)} cells failed (see the report's failures section):")
        for line in failed.itertuples():
            where = f"{line.explainer}" + (f" / {line.metric}" if line.metric else "")
            print(f"  {where}: {line.error}: {line.message}")
    print(f"\nwall time {seconds:.1f} s; wrote " + ", ".join(str(p) for p in written))


# ---------------------------------------------------------------------------------- commands
def _demo(args: argparse.Namespace) -> int:
    from .adapters import wrap
    from .comparison import compare
    from .datasets import default_task

    start = time.perf_counter()
    out = _output_directory(args.out)  # before training the model: a bad --out costs nothing
    rows, background, perturbations = (6, 20, 2) if args.quick else (args.rows, args.background, 5)
    task = default_task(seed=args.seed)
    adapter = wrap(task.model, output="logit", feature_names=list(task.X_train.columns))
    X = task.X_test.iloc[:rows]
    print(
        f"Embedded default: seeded 30-64-64-2 MLP on scikit-learn's breast-cancer table "
        f"(test accuracy {task.test_accuracy:.3f}), explaining the log-odds of the predicted class of "
        f"{len(X)} test rows against {background} training rows, by {len(task.groups)} measurement groups "
        f"(exact group Shapley values are the ground truth).\n",
        flush=True,
    )
    comparison = compare(
        adapter,
        X,
        background=task.X_train.sample(background, random_state=args.seed),
        y=task.y_test[: len(X)],
        metrics=_stability_budget("default", perturbations),
        feature_groups=task.groups,
        seed=args.seed,
        progress=not args.no_progress,
    )
    written = _write_outputs(comparison, out)
    _print_result(comparison, written, time.perf_counter() - start)
    return EXIT_PARTIAL if _partial(comparison) else EXIT_OK


#: Files that demo, compare and review write into --out (review adds its own three).
_OUTPUT_FILES = ("report.html", "report.json", "table.csv", "summary.csv", "review.html", "review.json",
                 "manifest.json")


def _output_directory(path: str) -> Path:
    """``--out`` as an existing, writable directory (created when missing); every output file goes inside it.

    Every command calls this before it loads or computes anything, so that an output that
    cannot be written costs one line and exit 2, not a finished run lost to a traceback.
    """
    import tempfile

    out = Path(path)
    shown = quoted(str(path), 200)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {shown} is an existing file; give a directory (it is created if missing).")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise InvalidInputError(f"--out {shown} cannot be created or written: {exc.strerror or exc}.") from None
    for name in _OUTPUT_FILES:
        if (out / name).is_dir():
            raise InvalidInputError(f"--out {shown} holds a directory {name!r} where the report file goes; remove it.")
    return out


def _run_options(args: argparse.Namespace, settings: Mapping[str, Any], out: Path) -> dict[str, Any]:
    """compare() arguments for the store, the plan and the limits."""
    memory = settings["memory_limit"]
    return {
        "time_limit": settings["time_limit"],
        "memory_limit": None if memory is None else int(memory) * 2**20,
        "max_model_rows": settings["max_model_rows"],
        "force": args.force,
        "store": None if args.plan else out / STORE_NAME,
        "resume": args.resume,
    }


def _print_plan(plan: Any) -> int:
    print(plan.to_string())
    if plan.refusal is not None:
        print(f"agnostic-xai: error: {plan.refusal}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _run_compare(
    args: argparse.Namespace, settings: Mapping[str, Any], inputs: _Inputs, out: Path, explainers: Any, metrics: Any
) -> Any:
    """``compare`` on the loaded inputs, locally or on Dask (``--backend dask``, ``--scheduler``)."""
    from .comparison import compare

    options = dict(
        background=inputs.background,
        y=inputs.y,
        explainers=explainers,
        metrics=metrics,
        target=settings["explain_class"],
        feature_groups=inputs.groups,
        seed=settings["seed"],
        n_jobs=settings["jobs"],
        row_chunk=settings["row_chunk"],
        progress=not args.no_progress,
        **_run_options(args, settings, out),
    )
    if args.plan:
        from .comparison.plan import plan

        run_only = ("n_jobs", "progress", "store", "resume", "force")
        return plan(inputs.adapter, inputs.X, **{k: v for k, v in options.items() if k not in run_only})
    if args.backend == "dask" or args.scheduler:
        from .distributed import dask_client

        with dask_client(scheduler=args.scheduler) as client:
            return compare(inputs.adapter, inputs.X, backend="dask", client=client, **options)
    return compare(inputs.adapter, inputs.X, **options)


def _compare(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    settings = _settings(args)
    out = _output_directory(args.out)
    check_outputs_inside(out, _OUT_FILES)
    inputs = _load_inputs(args, settings)
    comparison = _run_compare(args, settings, inputs, out, settings["explainers"], settings["metrics"])
    if args.plan:
        return _print_plan(comparison)
    _note_resumed(comparison, out)
    written = _write_outputs(comparison, out)
    _print_result(comparison, written, time.perf_counter() - start)
    return EXIT_PARTIAL if _partial(comparison) else EXIT_OK


def _note_resumed(comparison: Any, out: Path) -> None:
    resumed = int(comparison.config.get("resumed_cells", 0))
    if resumed:
        print(f"resumed {resumed} finished results from {out / STORE_NAME}", file=sys.stderr)


def _review(args: argparse.Namespace) -> int:
    from .review import Policy, build_manifest, cohort_analysis, review_passed, run_checks, write_review

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    start = time.perf_counter()
    settings = _settings(args)
    policy = Policy.from_file(args.policy)
    out = _output_directory(args.out)
    check_outputs_inside(out, _OUT_FILES)
    inputs = _load_inputs(args, settings, cohort=args.cohort)
    explainers = settings["explainers"]
    if explainers == "default":
        explainers = policy.required_explainers()
    else:
        listed = list(explainers) if not isinstance(explainers, Mapping) else list(explainers)
        missing = [n for n in policy.required_explainers() if n not in listed]
        explainers = {**({n: {} for n in listed} if not isinstance(explainers, Mapping) else dict(explainers)),
                      **{n: {} for n in missing}}
    metrics = settings["metrics"]
    if metrics != "default":
        listed = list(metrics)
        metrics = {**({n: {} for n in listed} if not isinstance(metrics, Mapping) else dict(metrics)),
                   **{n: {} for n in policy.required_metrics() if n not in listed}}
    comparison = _run_compare(args, settings, inputs, out, explainers, metrics)
    if args.plan:
        return _print_plan(comparison)
    _note_resumed(comparison, out)
    checks = run_checks(comparison, policy)
    cohort = None
    if inputs.cohorts is not None and policy.explainer in comparison.attributions:  # given --cohort
        cohort = cohort_analysis(comparison.attributions[policy.explainer], inputs.cohorts)
    written = _write_outputs(comparison, out)
    files = {"model": args.model, "data": args.data, "policy": args.policy}
    if args.config:
        files["config"] = args.config
    if args.background_data:
        files["background"] = args.background_data
    manifest = build_manifest(
        files=files,
        config={**comparison.config, "policy": vars(policy), "settings": settings},
        started=started,
        finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        arguments=sys.argv[1:] if args.record_argv else [],
    )
    written += write_review(out, policy=policy, checks=checks, cohort=cohort, manifest=manifest)
    passed = review_passed(checks)
    print(f"Review of {policy.explainer}: {'PASS' if passed else 'FAIL'}")
    for check in checks:
        value = "n/a" if check.value is None else f"{check.value:.4g}"
        threshold = "" if check.threshold is None else f" (needs {check.operator} {check.threshold:g})"
        print(f"  [{check.status}] {check.name}: {value}{threshold} — {check.evidence}")
    if cohort is not None:
        differing = list(cohort.index[cohort["differs"]])
        print(f"  cohorts ({args.cohort}): explanations differ for {differing or 'no feature'} (Holm-corrected p < 0.05)")
    print(f"\nwall time {time.perf_counter() - start:.1f} s; wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK if passed else EXIT_CHECK_FAILED


def _explain(args: argparse.Namespace) -> int:
    """Explain every row of a (large) table into a Parquet file.

    The table is encoded like ``compare`` encodes it (text columns one-hot, missing values
    imputed with ``--impute``) by a TableEncoder fitted on the sample the background comes
    from, and applied to every partition where it runs.
    """
    from .io import TableEncoder, load_model, read_frame
    from .io._formats import sniff_format
    from .io.explain import explain

    start = time.perf_counter()
    check_not_an_input(args.out, [args.data, args.background_data, args.model])  # before any work
    data = Path(args.data)
    found = sniff_format(data)
    if args.background_data:
        sample = read_frame(args.background_data)
    elif found is not None and found.kind == "parquet":
        import pyarrow.parquet as pq

        try:
            sample = pq.ParquetFile(next(iter(sorted(data.glob("*.parquet")))) if data.is_dir() else data).read_row_group(0).to_pandas()
        except (OSError, StopIteration, ValueError) as exc:
            raise InvalidInputError(f"{args.data} could not be read as Parquet: {exc}") from None
    else:
        sample = read_frame(data)
    dropped = [c for c in (args.id_column, *[c.strip() for c in (args.drop or "").split(",") if c.strip()]) if c]
    features = [c for c in sample.columns if c not in dropped]
    encoder = TableEncoder(columns=features, impute=args.impute).fit(sample)
    background = sample.sample(min(args.background, len(sample)), random_state=args.seed)  # raw: explain encodes it
    groups = None if args.groups == "none" or encoder.groups_.is_identity else encoder.groups_
    adapter = load_model(args.model, trust_model=args.trust_model, model_class=args.model_class,
                         output=args.output, feature_names=list(encoder.feature_names_out_))
    result = explain(
        adapter,
        args.data,
        explainer=args.explainer,
        background=background,
        encoder=encoder,
        feature_groups=groups,
        target=args.explain_class,
        seed=args.seed,
        backend="dask" if args.scheduler else args.backend,
        scheduler=args.scheduler,
        n_workers=args.workers,
        partition_rows=args.partition_rows,
        row_chunk=args.row_chunk,
        id_column=args.id_column,
        out=args.out,
    )
    print(result.summary())
    print(f"wall time {time.perf_counter() - start:.1f} s")
    return EXIT_OK if result.ok else EXIT_PARTIAL


# ---------------------------------------------------------------------------------- parser
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("--model", required=True, help="TorchScript, torch.export (.pt2), state dict (.pt, with "
                        "--model-class), skops, pickle/joblib (with --trust-model)")
    inputs.add_argument("--model-class", metavar="MODULE:CLASS", help="class to load a state dict into")
    inputs.add_argument("--trust-model", action="store_true", help="allow model files that run code when loaded "
                        "(pickle, joblib, torch.load without weights_only, torch.export): only for files you trust")
    inputs.add_argument("--data", required=True, help="CSV or Parquet table; non-numeric columns are one-hot encoded")
    inputs.add_argument("--target", help="label column of --data (kept out of the model's inputs)")
    inputs.add_argument("--drop", metavar="COLUMNS", help="comma-separated columns of --data that are not model "
                        "inputs (ids, dates, ...)")
    inputs.add_argument("--background-data", help="background rows (default: sampled from --data)")
    inputs.add_argument("--impute", choices=("mean", "median", "most_frequent"),
                        help="fill missing values (default: missing values are an error)")
    run = parser.add_argument_group("comparison")
    run.add_argument("--explainers", help="comma-separated registry names (default: all that apply)")
    run.add_argument("--metrics", help="comma-separated registry names (default: all)")
    run.add_argument("--rows", type=_positive_int, help=f"rows explained, sampled with the seed (default {DEFAULTS['rows']})")
    run.add_argument("--background", type=_positive_int, help=f"background rows (default {DEFAULTS['background']})")
    run.add_argument("--groups", help="auto (one group per one-hot encoded column), none, or a TOML/YAML/JSON "
                     "file mapping group names to columns")
    run.add_argument("--output", choices=("probability", "logit", "raw"), help="explained output (default: "
                     "probability for classifiers)")
    run.add_argument("--class", dest="explain_class", type=int, help="explain this output for every row "
                     "(default: each row's predicted class)")
    run.add_argument("--config", help="TOML/YAML/JSON file with these settings")
    run.add_argument("--seed", type=int, help="root seed (default 0)")
    run.add_argument("--jobs", type=_positive_int, help="explainers run in this many processes (default 1)")
    run.add_argument("--backend", choices=("local", "dask"), default="local",
                     help="dask: each row chunk of each explainer and each explainer x metric cell run as "
                     "tasks on a Dask cluster (pip install agnostic-xai[dask]); a local cluster unless --scheduler")
    run.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786 "
                     "(implies --backend dask)")
    run.add_argument("--row-chunk", dest="row_chunk", type=_positive_int, metavar="N",
                     help=f"rows per explain call, and per Dask task (default {DEFAULTS['row_chunk']}); part of "
                     "the seeding, so the same N gives the same numbers on every backend")
    run.add_argument("--time-limit", dest="time_limit", type=float,
                     help="seconds per row chunk of an explainer (the first with its fit) or per metric cell")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    safety = parser.add_argument_group("long runs")
    safety.add_argument("--resume", action="store_true", help=f"reuse the finished cells in <out>/{STORE_NAME} "
                        "(refused if it was written by another configuration) and compute only the rest")
    safety.add_argument("--plan", action="store_true", help="print each cell's model rows and estimated time "
                        "(calibrated on one and two rows) and stop")
    safety.add_argument("--max-model-rows", dest="max_model_rows", type=_positive_int, metavar="N",
                        help="refuse a plan that evaluates more model rows than N (unless --force)")
    safety.add_argument("--force", action="store_true", help="run even when the plan exceeds --max-model-rows")
    safety.add_argument("--memory-limit", dest="memory_limit", type=_positive_int, metavar="MIB",
                        help="MiB by which one explainer or metric cell may grow memory; past it the cell fails")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line with a pointer to ``--help``, and exit 2.

    argparse prints the whole usage (17 lines for ``compare``) before its message; the
    message is what the user needs, the usage is one ``--help`` away. Subcommand parsers
    are of this class too (``add_subparsers`` makes them of the parent's type).
    """

    def error(self, message: str) -> NoReturn:
        """Print ``agnostic-xai: error: <message> (see <prog> --help)`` and exit 2."""
        self.exit(EXIT_BAD_INPUT, f"agnostic-xai: error: {one_line(message, 500)} (see {self.prog} --help)\n")


_DEBUG_HELP = "show the traceback of an error as well as its one line (the exit code is the same)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``agnostic-xai``.

    ``--debug`` is accepted before and after the subcommand: each subcommand's parser has it
    with a suppressed default, so that it never resets the value given before.
    """
    parser = _Parser(
        prog="agnostic-xai",
        description="Comparable explanations for PyTorch and scikit-learn models on tabular data.",
        epilog="exit codes: 0 ok, 1 a review check failed, 2 bad input, 3 partial comparison, 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"agnostic-xai {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    formatter = argparse.RawDescriptionHelpFormatter

    demo = commands.add_parser(
        "demo",
        help="the full comparison on the embedded default (breast-cancer MLP)",
        description="Train the embedded default model and compare every explainer with every metric on it, "
        "with exact group Shapley values as the ground truth; print the summary and write the report.",
        epilog=_DEMO_EPILOG,
        formatter_class=formatter,
    )
    demo.add_argument("--out", default="agnostic-xai-report", help="output directory (default agnostic-xai-report)")
    demo.add_argument("--rows", type=_positive_int, default=25, help="test rows explained (default 25)")
    demo.add_argument("--background", type=_positive_int, default=50, help="background rows (default 50)")
    demo.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    demo.add_argument("--quick", action="store_true", help="6 rows, 20 background rows, small stability budgets")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(handler=_demo)

    compare = commands.add_parser(
        "compare",
        help="compare explainers on a model and a table from files",
        description="Run explainers x metrics on a model and a table, print the summary, write the report.",
        epilog=_COMPARE_EPILOG,
        formatter_class=formatter,
    )
    _add_input_options(compare)
    compare.add_argument("--out", default="agnostic-xai-report", help="output directory (default agnostic-xai-report)")
    compare.set_defaults(handler=_compare)

    review = commands.add_parser(
        "review",
        help="the governance review pack: policy checks with evidence, cohorts, manifest",
        description="Compare the explainers a policy needs, check the policy's thresholds, and write the review "
        "pack (HTML, JSON and a reproducibility manifest).",
        epilog=_REVIEW_EPILOG,
        formatter_class=formatter,
    )
    _add_input_options(review)
    review.add_argument("--policy", required=True, help="policy file (TOML, YAML or JSON)")
    review.add_argument("--cohort", help="column of --data kept out of the model: per-cohort importance and a test "
                        "of whether explanations differ between cohorts")
    review.add_argument("--out", default="agnostic-xai-review", help="output directory (default agnostic-xai-review)")
    review.add_argument("--no-argv", dest="record_argv", action="store_false",
                        help="leave the command line out of the manifest")
    review.set_defaults(handler=_review)
    explain_cmd = commands.add_parser(
        "explain",
        help="explain every row of a large table into a Parquet file (locally or on Dask)",
        description="Explain every row of a CSV or Parquet table, partition by partition, and write one row "
        "of attributions per input row to Parquet. Text columns are one-hot encoded and explained as one group "
        "each (--groups auto), as by compare; the encoding is fitted on the background sample.",
        epilog="examples:\n  agnostic-xai explain --model model.pt --data big.parquet --out attributions.parquet\n"
        "  agnostic-xai explain --model model.pt --data big.parquet --out a.parquet --explainer sampling_shapley "
        "\\\n      --backend dask --workers 2 --id-column loan_id",
        formatter_class=formatter,
    )
    explain_cmd.add_argument("--model", required=True, help="model file (as for compare)")
    explain_cmd.add_argument("--model-class", metavar="MODULE:CLASS", help="class to load a state dict into")
    explain_cmd.add_argument("--trust-model", action="store_true", help="allow model files that run code when loaded")
    explain_cmd.add_argument("--data", required=True, help="CSV or Parquet file (or a directory of Parquet files)")
    explain_cmd.add_argument("--out", required=True, help="output Parquet file")
    explain_cmd.add_argument("--explainer", default="sampling_shapley", help="registry name (default sampling_shapley)")
    explain_cmd.add_argument("--output", choices=("probability", "logit", "raw"), help="explained output")
    explain_cmd.add_argument("--class", dest="explain_class", type=int, help="explain this output for every row")
    explain_cmd.add_argument("--background-data", help="background rows (default: sampled from the first part of --data)")
    explain_cmd.add_argument("--background", type=_positive_int, default=50, help="background rows (default 50)")
    explain_cmd.add_argument("--id-column", help="column of row ids kept in the output (not a model input)")
    explain_cmd.add_argument("--drop", metavar="COLUMNS", help="comma-separated columns that are not model inputs")
    explain_cmd.add_argument("--impute", choices=("mean", "median", "most_frequent"),
                             help="fill missing values with statistics of the background sample (default: missing "
                             "values are an error)")
    explain_cmd.add_argument("--groups", choices=("auto", "none"), default="auto",
                             help="auto: a one-hot encoded column is explained as one group (default); none: one "
                             "value per encoded column")
    explain_cmd.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    explain_cmd.add_argument("--backend", choices=("local", "dask"), default="local", help="where partitions run")
    explain_cmd.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (implies --backend dask)")
    explain_cmd.add_argument("--workers", type=_positive_int, help="local Dask workers (default: one per core)")
    explain_cmd.add_argument("--partition-rows", type=_positive_int, help="rows per partition (default 2048)")
    explain_cmd.add_argument("--row-chunk", dest="row_chunk", type=_positive_int, metavar="N",
                             default=DEFAULTS["row_chunk"], help=f"rows per explain call (default {DEFAULTS['row_chunk']}); part of the seeding, as "
                             "for compare: the same N and seed give compare's numbers")
    explain_cmd.set_defaults(handler=_explain)
    for command in commands.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
    return parser


def _run_reporting_warnings(args: argparse.Namespace) -> int:
    """Run the command; the library's warnings (saturated probabilities, ...) become one line
    each on stderr, whatever the interpreter's warning filters say, once the command has
    returned (after an error, the error is the one line printed). Other warnings are passed
    on unchanged, once the recording has stopped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AgnosticXAIWarning)
        code = int(args.handler(args))
        recorded = list(caught)
    for warning in recorded:
        if issubclass(warning.category, AgnosticXAIWarning):
            text = str(warning.message).replace("\n", " ")
            print(f"agnostic-xai: warning: {text}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code.

    The exit code depends only on what happened, never on ``--debug`` (which adds the
    traceback to stderr): 2 and one line for bad input (argparse's errors included, raised
    as ``SystemExit(2)`` by the parser), 130 and one line for an interrupt (Ctrl-C, or a
    model raising ``KeyboardInterrupt``), after which ``--resume`` finishes a comparison.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run_reporting_warnings(args)
    except AgnosticXAIError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"agnostic-xai: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        resumable = args.command in ("compare", "review") and not getattr(args, "plan", False)
        hint = "; the finished cells are kept: rerun the same command with --resume" if resumable else ""
        print(f"agnostic-xai: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
