"""The ``affectmetrics`` command line: evaluate a predictions CSV, or compare two models.

``affectmetrics evaluate predictions.csv`` prints the report (the study's tables, per-class
detail, diagnostics; intervals with ``--ci``) and with ``--output DIR`` writes
``report.md``, ``report.json``, ``report.csv`` and the plots there.
``affectmetrics compare a.csv b.csv`` adds the paired-bootstrap comparison of two models
scored on the same test set. With no command, the report of the shipped example is printed.

Bad files or columns give one line on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import sys
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .bootstrap import paired_comparison
from .exceptions import DiagnosticWarning, UndefinedMetricWarning
from .presets import PRESETS
from .report import Report, evaluate, side_by_side

__all__ = ["main", "read_predictions"]

EXAMPLE = "example_predictions.csv"
_COLUMN_HELP = """\
CSV columns (one row per sample; override the names with the flags below):
  expression                 true expression label 0..C-1
  score_<Class>              one score column per class, in class order (e.g. score_Happy);
                             or expression_pred: predicted labels, when there are no scores
  valence, arousal           true valence and arousal
  valence_pred, arousal_pred predicted valence and arousal
  any subset works: expression only, valence/arousal only, or both; empty cells are NaN
"""


class _CliError(Exception):
    """A problem with the user's files or options: one line, exit status 2."""


def _read_table(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        raise _CliError(f"{path}: no such file")
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header:
                raise _CliError(f"{path}: the file is empty")
            header = [name.strip() for name in header]
            columns: dict[str, list[str]] = {name: [] for name in header}
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise _CliError(f"{path}, line {line}: {len(row)} fields, the header has "
                                    f"{len(header)}")
                for name, value in zip(header, row, strict=True):
                    columns[name].append(value)
    except UnicodeDecodeError:
        raise _CliError(f"{path}: not a text CSV file") from None
    except csv.Error as exc:
        raise _CliError(f"{path}: not a valid CSV file ({exc})") from None
    if not next(iter(columns.values())):
        raise _CliError(f"{path}: the file has a header but no rows")
    return columns


def _numbers(path: Path, columns: dict[str, list[str]], name: str) -> np.ndarray:
    values = columns[name]
    out = np.empty(len(values))
    for i, text in enumerate(values):
        text = text.strip()
        try:
            out[i] = float(text) if text else np.nan
        except ValueError:
            raise _CliError(f"{path}, line {i + 2}, column {name!r}: {text!r} is not a "
                            "number") from None
    return out


def read_predictions(
    path: str | Path,
    *,
    expression_column: str = "expression",
    expression_pred_column: str = "expression_pred",
    score_prefix: str = "score_",
    va_columns: Sequence[str] = ("valence", "arousal"),
    va_pred_columns: Sequence[str] = ("valence_pred", "arousal_pred"),
    group_column: str | None = None,
) -> dict[str, Any]:
    """Read a predictions CSV into the keyword arguments of :func:`affectmetrics.evaluate`.

    Returns
    -------
    dict
        A subset of ``expression``, ``expression_pred``, ``class_names``, ``va``,
        ``va_pred``, ``output_names`` and ``groups``.
    """
    path = Path(path)
    columns = _read_table(path)
    out: dict[str, Any] = {}
    score_columns = [c for c in columns
                     if c.startswith(score_prefix) and len(c) > len(score_prefix)]
    if expression_column in columns:
        out["expression"] = _numbers(path, columns, expression_column)
        if score_columns:
            out["expression_pred"] = np.column_stack(
                [_numbers(path, columns, c) for c in score_columns])
            out["class_names"] = tuple(c[len(score_prefix):] for c in score_columns)
        elif expression_pred_column in columns:
            out["expression_pred"] = _numbers(path, columns, expression_pred_column)
        else:
            raise _CliError(f"{path}: has {expression_column!r} but no predictions: no "
                            f"{score_prefix}<class> columns and no {expression_pred_column!r}")
    present = [c for c in va_columns if c in columns]
    if present:
        missing = [c for c in (*va_columns, *va_pred_columns) if c not in columns]
        if missing:
            raise _CliError(f"{path}: missing column(s) {', '.join(missing)}")
        out["va"] = np.column_stack([_numbers(path, columns, c) for c in va_columns])
        out["va_pred"] = np.column_stack([_numbers(path, columns, c) for c in va_pred_columns])
        out["output_names"] = tuple(va_columns)
    if not out:
        raise _CliError(
            f"{path}: found neither {expression_column!r} nor {', '.join(va_columns)} among "
            f"the columns {', '.join(columns)}; see --help for the expected columns")
    if group_column is not None:
        if group_column not in columns:
            raise _CliError(f"{path}: missing the group column {group_column!r}")
        out["groups"] = np.array(columns[group_column])
    return out


def _add_column_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("columns")
    group.add_argument("--expression-column", default="expression", metavar="NAME",
                       help="true expression labels (default: %(default)s)")
    group.add_argument("--expression-pred-column", default="expression_pred", metavar="NAME",
                       help="predicted labels, used when there are no score columns "
                            "(default: %(default)s)")
    group.add_argument("--score-prefix", default="score_", metavar="PREFIX",
                       help="prefix of the per-class score columns; the rest of the name is "
                            "the class name (default: %(default)s)")
    group.add_argument("--va-columns", nargs="+", default=["valence", "arousal"],
                       metavar="NAME", help="true continuous columns (default: %(default)s)")
    group.add_argument("--va-pred-columns", nargs="+", default=["valence_pred", "arousal_pred"],
                       metavar="NAME", help="predicted continuous columns, in the same order "
                                            "(default: %(default)s)")
    group.add_argument("--group-column", metavar="NAME",
                       help="video or subject ids: the bootstrap resamples whole groups and "
                            "the per-group CCC is reported")


def _add_bootstrap_options(parser: argparse.ArgumentParser, default_ci: float | None) -> None:
    group = parser.add_argument_group("confidence intervals")
    group.add_argument("--ci", type=float, default=default_ci, metavar="LEVEL",
                       help="bootstrap confidence level, e.g. 0.95 (default: %(default)s)")
    group.add_argument("--n-resamples", type=int, default=1000, metavar="N",
                       help="bootstrap resamples (default: %(default)s)")
    group.add_argument("--seed", type=int, default=0, help="resampling seed (default: 0)")
    group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar during the bootstrap (default: when stderr is a "
                            "terminal and tqdm is installed)")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--output", "-o", type=Path, metavar="DIR",
                       help="write report.md, report.json, report.csv and plots here")
    group.add_argument("--no-plots", action="store_true", help="do not write plots")
    group.add_argument("--svg", action="store_true", help="write plots as SVG as well as PNG")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation tools)."""
    parser = argparse.ArgumentParser(
        prog="affectmetrics",
        description="Evaluate facial-expression and valence/arousal predictions. With no "
                    "command, print the report of the example predictions shipped with the "
                    "package.",
        epilog=_COLUMN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"affectmetrics {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    ev = commands.add_parser(
        "evaluate", help="score one predictions CSV",
        description="Score one predictions CSV and print the report.", epilog=_COLUMN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("csv", nargs="?", type=Path,
                    help="predictions CSV (default: the shipped example)")
    ev.add_argument("--model-name", help="model name in the tables (default: the file name)")
    ev.add_argument("--preset", choices=PRESETS, default="affectnet",
                    help="protocol: affectnet (the AffectNet paper's metrics) or abaw (adds "
                         "the ABAW challenge scores) (default: %(default)s)")
    ev.add_argument("--ci-method", choices=("percentile", "bca"), default="percentile",
                    help="interval method (default: %(default)s)")
    ev.add_argument("--nan-policy", choices=("raise", "omit"), default="raise",
                    help="refuse rows with empty cells, or drop them (default: %(default)s)")
    _add_column_options(ev)
    _add_bootstrap_options(ev, None)
    _add_output_options(ev)
    cmp = commands.add_parser(
        "compare", help="compare two models on the same test set (paired bootstrap)",
        description="Score two predictions CSVs of the same test set (same rows, same truth) "
                    "and test the difference of every metric with a paired bootstrap.",
        epilog=_COLUMN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmp.add_argument("csv_a", type=Path, help="predictions of model A")
    cmp.add_argument("csv_b", type=Path, help="predictions of model B")
    cmp.add_argument("--names", nargs=2, metavar=("A", "B"),
                     help="model names (default: the file names)")
    _add_column_options(cmp)
    _add_bootstrap_options(cmp, 0.95)
    _add_output_options(cmp)
    return parser


def _columns(args: argparse.Namespace) -> dict[str, Any]:
    return {"expression_column": args.expression_column,
            "expression_pred_column": args.expression_pred_column,
            "score_prefix": args.score_prefix, "va_columns": tuple(args.va_columns),
            "va_pred_columns": tuple(args.va_pred_columns), "group_column": args.group_column}


def _progress(args: argparse.Namespace) -> bool:
    if args.progress is not None:
        return bool(args.progress)
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return sys.stderr.isatty()


def _write_outputs(folder: Path, reports: list[Report], data: list[dict[str, Any]],
                   args: argparse.Namespace, extra_markdown: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    markdown = side_by_side(reports) if len(reports) > 1 else reports[0].to_markdown()
    (folder / "report.md").write_text(markdown + ("\n\n" + extra_markdown if extra_markdown
                                                  else "") + "\n")
    for report in reports:
        stem = "report" if len(reports) == 1 else f"report_{_slug(report.model)}"
        report.to_json(folder / f"{stem}.json")
        report.to_csv(folder / f"{stem}.csv")
    if args.no_plots:
        return
    try:
        from . import plots
    except ImportError as exc:  # pragma: no cover - the plots module itself has no deps
        raise _CliError(str(exc)) from None
    formats = ("png", "svg") if args.svg else ("png",)
    try:
        for report, inputs in zip(reports, data, strict=True):
            prefix = "" if len(reports) == 1 else f"{_slug(report.model)}_"
            if report.confusion_matrix is not None:
                plots.save_figure(plots.plot_confusion_matrix(report.confusion_matrix,
                                                              report.class_names),
                                  folder / f"{prefix}confusion_matrix", formats)
                pred = np.asarray(inputs["expression_pred"])
                if pred.ndim == 2:
                    keep = ~(np.isnan(pred).any(axis=1) | np.isnan(inputs["expression"]))
                    plots.save_figure(plots.plot_curves(inputs["expression"][keep], pred[keep],
                                                        report.class_names),
                                      folder / f"{prefix}roc_pr_curves", formats)
            if "va" in inputs and inputs["va"].shape[1] == 2:
                keep = ~(np.isnan(inputs["va"]).any(axis=1)
                         | np.isnan(inputs["va_pred"]).any(axis=1))
                plots.save_figure(plots.plot_valence_arousal(inputs["va"][keep],
                                                             inputs["va_pred"][keep]),
                                  folder / f"{prefix}valence_arousal", formats)
    except ImportError as exc:
        print(f"affectmetrics: plots skipped: {exc}", file=sys.stderr)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _evaluate(args: argparse.Namespace) -> str:
    if args.csv is None:
        source = resources.files("affectmetrics") / "data" / EXAMPLE
        with resources.as_file(source) as path:
            data = read_predictions(path, **_columns(args))
        name = args.model_name or "Example model (simulated)"
    else:
        data = read_predictions(args.csv, **_columns(args))
        name = args.model_name or args.csv.stem
    report = evaluate(**data, model=name, preset=args.preset, ci=args.ci,
                      n_resamples=args.n_resamples, ci_method=args.ci_method, seed=args.seed,
                      nan_policy=args.nan_policy, warn=False, progress=_progress(args))
    if args.output is not None:
        _write_outputs(args.output, [report], [data], args)
    return report.to_markdown()


def _compare(args: argparse.Namespace) -> str:
    a = read_predictions(args.csv_a, **_columns(args))
    b = read_predictions(args.csv_b, **_columns(args))
    names = tuple(args.names) if args.names else (args.csv_a.stem, args.csv_b.stem)
    for key in ("expression", "va"):
        if (key in a) != (key in b):
            raise _CliError(f"{args.csv_a} and {args.csv_b} hold different columns: only one "
                            f"has {key}")
        if key in a and not np.array_equal(a[key], b[key], equal_nan=True):
            if a[key].shape != b[key].shape:
                raise _CliError(f"{args.csv_a} has {a[key].shape[0]} rows, {args.csv_b} has "
                                f"{b[key].shape[0]}; a paired comparison needs the same test set")
            row = int(np.flatnonzero(np.any((a[key] != b[key]).reshape(a[key].shape[0], -1),
                                            axis=1))[0])
            raise _CliError(f"{args.csv_a} and {args.csv_b} have different ground truth "
                            f"({key} differs at data row {row + 1}); a paired comparison "
                            "needs the same test set in the same order")
    reports = [evaluate(**data, model=name, ci=args.ci, n_resamples=args.n_resamples,
                        seed=args.seed, warn=False) for data, name in zip((a, b), names,
                                                                          strict=True)]
    shared = {key: a[key] for key in ("expression", "va", "groups") if key in a}
    comparison = paired_comparison(
        expression=shared.get("expression"), va=shared.get("va"),
        pred_a={k: a[k] for k in ("expression_pred", "va_pred") if k in a},
        pred_b={k: b[k] for k in ("expression_pred", "va_pred") if k in b},
        names=names, output_names=a.get("output_names", ("valence", "arousal")),
        n_classes=len(a["class_names"]) if "class_names" in a else None,
        confidence_level=args.ci or 0.95, n_resamples=args.n_resamples, seed=args.seed,
        groups=shared.get("groups"), progress=_progress(args))
    paired = (f"Paired bootstrap ({comparison.n_resamples} resamples): difference "
              f"{names[1]} - {names[0]}\n\n" + comparison.to_markdown())
    if args.output is not None:
        _write_outputs(args.output, reports, [a, b], args, paired)
    return side_by_side(reports) + "\n\n" + paired


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``affectmetrics`` script and ``python -m affectmetrics``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["evaluate", *(argv or [])])
    try:
        with warnings.catch_warnings():
            # The report states undefined values and diagnostics itself.
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            warnings.simplefilter("ignore", DiagnosticWarning)
            output = _evaluate(args) if args.command == "evaluate" else _compare(args)
    except (_CliError, ValueError, TypeError, OSError) as exc:
        print(f"affectmetrics: error: {exc}", file=sys.stderr)
        return 2
    print(output)
    return 0
