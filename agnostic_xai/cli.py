"""The ``agnostic-xai`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from . import __version__
from .exceptions import AgnosticXAIError

__all__ = ["main"]

_DEMO_EPILOG = """\
examples:
  agnostic-xai demo                 train the embedded default and explain 5 test rows
  agnostic-xai demo --rows 10 --background 100 --seed 1
"""


def _demo(args: argparse.Namespace) -> int:
    from .adapters import wrap
    from .datasets import default_task
    from .testing import exact_shapley

    start = time.perf_counter()
    task = default_task(seed=args.seed)
    adapter = wrap(task.model, output="logit", feature_names=list(task.X_train.columns))
    background = task.X_train.sample(args.background, random_state=args.seed)
    rows = task.X_test.iloc[: args.rows]
    attribution = exact_shapley(adapter, rows, background, groups=task.groups)
    print(
        f"Embedded default: seeded 30-64-64-2 MLP on the breast-cancer table "
        f"(test accuracy {task.test_accuracy:.3f}); {len(task.groups)} measurement groups."
    )
    print(
        f"Exact interventional group Shapley values of the log-odds of the predicted class, "
        f"{args.background} background rows, {attribution.model_rows:,} model rows in {attribution.seconds:.2f} s:\n"
    )
    frame = attribution.to_frame().pivot(index="row", columns="feature", values="value")[list(attribution.feature_names)]
    frame.insert(0, "class", [adapter.output_names[t] for t in attribution.target])
    frame.insert(1, "base", attribution.base_values)
    frame["f(x)"] = attribution.base_values + attribution.values.sum(axis=1)
    with np.printoptions(suppress=True):
        print(frame.round(3).T.to_string())
    gap = float(attribution.additivity_gap(adapter).max())
    print(f"\nmax |base + sum(phi) - f(x)| = {gap:.1e}; total {time.perf_counter() - start:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``agnostic-xai``."""
    parser = argparse.ArgumentParser(
        prog="agnostic-xai", description="Comparable explanations for PyTorch and scikit-learn models on tabular data."
    )
    parser.add_argument("--version", action="version", version=f"agnostic-xai {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks instead of one-line errors")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="run on the embedded default (breast-cancer MLP)",
        description="Train the embedded default model and print exact group Shapley values for a few test rows.",
        epilog=_DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--rows", type=int, default=5, help="test rows to explain (default 5)")
    demo.add_argument("--background", type=int, default=50, help="background rows (default 50)")
    demo.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except AgnosticXAIError as exc:
        if args.debug:
            raise
        print(f"agnostic-xai: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
