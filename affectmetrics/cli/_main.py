"""The command line's parser and commands (see the package docstring)."""

from __future__ import annotations

import argparse
import io
import os
import sys
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._csv import _csv_text
from ..bootstrap import PairedComparison, paired_comparison
from ..exceptions import DiagnosticWarning, UndefinedMetricWarning
from ..presets import PRESETS
from ..report import Report, evaluate, side_by_side
from ._errors import _CliError, _CliNote
from ._outputs import _RunFolder
from ._schema import _Columns, _Predictions, _read, _Scan
from ._stream import _streamable, _streamed_report

__all__ = ["build_parser", "main", "read_predictions"]

EXAMPLE = "example_predictions.csv"
_COLUMN_HELP = """\
Files: CSV (any delimiter, quoted fields, a UTF-8 byte-order mark; .gz, .bz2 or .zip) or
Parquet (.parquet). Columns, one row per sample (rename each with the flags below):
  expression                 true expression: a code 0..C-1 or a class name (any case)
  score_<Class>              one score column per class, matched to the classes by name
                             (any order); or expression_pred: predicted codes or names
  valence, arousal           true valence and arousal
  valence_pred, arousal_pred predicted valence and arousal
  AU1..., AU1_pred...         action units with --au-columns (evaluate)
  any subset works: expression only, valence/arousal only, or both; empty cells are NaN
"""


def read_predictions(
    path: str | Path,
    *,
    expression_column: str = "expression",
    expression_pred_column: str = "expression_pred",
    score_prefix: str = "score_",
    va_columns: Sequence[str] = ("valence", "arousal"),
    va_pred_columns: Sequence[str] = ("valence_pred", "arousal_pred"),
    group_column: str | None = None,
    class_names: Sequence[str] | None = None,
    delimiter: str | None = None,
) -> dict[str, Any]:
    r"""Read a predictions file into the keyword arguments of :func:`affectmetrics.evaluate`.

    Score columns and string labels are matched to the classes by name (ignoring case),
    as the command line does; empty cells are NaN (``evaluate(nan_policy="omit")`` drops
    their rows). Data-set markers (``--preset``) are the command line's: every row is read
    here.

    Parameters
    ----------
    path : str or Path
        CSV (any delimiter; ``.gz``, ``.bz2``, ``.zip``) or Parquet file.
    expression_column, expression_pred_column, score_prefix, va_columns, va_pred_columns,
    group_column :
        Column names, as the command line's flags.
    class_names : sequence of str, optional
        The classes in code order.
    delimiter : str, optional
        Default: sniffed from the file's first lines.

    Returns
    -------
    dict
        A subset of ``expression``, ``expression_pred``, ``class_names``, ``va``,
        ``va_pred``, ``output_names`` and ``groups`` (integer codes of the ids).

    Raises
    ------
    ValueError
        A file or column problem, naming the file, line and column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import affectmetrics as am
    >>> from affectmetrics.cli import read_predictions
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "p.csv").write_text(
    ...     "expression;score_b;score_a\nb;0.9;0.1\na;0.3;0.7\na;0.6;0.4\n")
    >>> data = read_predictions(folder / "p.csv")   # ';' sniffed, columns by name
    >>> data["class_names"], data["expression"].tolist()
    (('b', 'a'), [0.0, 1.0, 1.0])
    >>> am.evaluate(**data, warn=False).metrics["accuracy"]   # 2 of 3 right
    0.6666666666666666
    """
    columns = _Columns(expression_column, expression_pred_column, score_prefix,
                       tuple(va_columns), tuple(va_pred_columns), group_column,
                       None if class_names is None else tuple(class_names), None, "omit",
                       delimiter)
    try:
        return _read(path, columns).kwargs
    except _CliError as exc:
        raise ValueError(str(exc)) from None


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
    group.add_argument("--class-names", nargs="+", metavar="NAME",
                       help="the classes in code order (0, 1, ...); score columns and string "
                            "labels are matched to them by name, ignoring case (default: "
                            "the preset's data set, else the score columns' names)")
    group.add_argument("--va-columns", nargs="+", default=["valence", "arousal"],
                       metavar="NAME", help="true continuous columns (default: %(default)s)")
    group.add_argument("--va-pred-columns", nargs="+", default=["valence_pred", "arousal_pred"],
                       metavar="NAME", help="predicted continuous columns, in the same order "
                                            "(default: %(default)s)")
    group.add_argument("--group-column", metavar="NAME",
                       help="video or subject ids (any text or numbers): the bootstrap "
                            "resamples whole groups and the per-group CCC is reported")
    group.add_argument("--delimiter", metavar="CHAR",
                       help="CSV delimiter (default: sniffed among , ; tab |)")
    parser.add_argument(
        "--preset", choices=PRESETS, default=None,
        help="the data set's protocol: its metrics, class order and 'not data' codes; "
             "affectnet leaves out expression codes 8-10 (None, Uncertain, No-Face) and "
             "valence/arousal -2; abaw adds the ABAW challenge scores and leaves out "
             "expression -1 and valence/arousal -5; left-out rows are counted in the report "
             "(default: the AffectNet paper's metrics, every row scored)")
    parser.add_argument("--nan-policy", choices=("raise", "omit"), default="raise",
                        help="refuse rows with empty cells, or leave them out (default: "
                             "%(default)s)")
    parser.add_argument(
        "--scores", choices=("auto", "probabilities", "logits"), default="auto",
        help="what the score columns hold: probabilities (each row divided by its sum, so "
             "that rounded ones stay probabilities), logits (softmax per row), or auto: a row "
             "in [0, 1] summing to 1 (within 0.01) is kept, any other gets a softmax; a file "
             "mixing both kinds of row in [0, 1] (rounded probabilities) is refused "
             "(default: %(default)s)")


def _add_au_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("action units and subgroups")
    group.add_argument("--au-columns", type=_names, default=(), metavar="AU1,AU2,...",
                       help="action-unit occurrence columns (0/1); the predictions (0/1 or "
                            "scores) are in <name><suffix> columns; with --preset abaw, AU -1 "
                            "(not annotated) rows are left out")
    group.add_argument("--au-pred-suffix", default="_pred", metavar="SUFFIX",
                       help="suffix of the AU prediction columns (default: %(default)s)")
    group.add_argument("--au-threshold", type=float, default=0.5, metavar="T",
                       help="an AU score above T is a predicted occurrence (default: "
                            "%(default)s)")
    group.add_argument("--subgroup-columns", type=_names, default=(), metavar="NAME,...",
                       help="sample attributes (text or integer ids, e.g. gender,age): every "
                            "metric per subgroup, the gaps and the unweighted average bias")


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list of column names (``AU1,AU2``), none empty.

    Parameters
    ----------
    text : str
        The flag's value as typed.

    Returns
    -------
    tuple of str
    """
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r}: an empty column name")
    return names


def _add_bootstrap_options(parser: argparse.ArgumentParser, default_ci: float | None) -> None:
    group = parser.add_argument_group("confidence intervals")
    group.add_argument("--ci", type=_level, default=default_ci, metavar="LEVEL",
                       help="bootstrap confidence level, e.g. 0.95 (default: %(default)s)")
    group.add_argument("--n-resamples", type=_at_least(2), default=1000, metavar="N",
                       help="bootstrap resamples (default: %(default)s)")
    group.add_argument("--seed", type=_at_least(0), default=0, help="resampling seed (default: 0)")
    group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar during the bootstrap (default: when stderr is a "
                            "terminal and tqdm is installed)")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--output", "-o", type=Path, metavar="DIR",
                       help="write report.md, report.json, report.csv and plots to this new "
                            "(or empty) folder")
    group.add_argument("--overwrite", action="store_true",
                       help="reuse a non-empty --output folder: remove the files an earlier "
                            "run wrote there (its manifest) and write the new ones")
    group.add_argument("--no-plots", action="store_true", help="do not write plots")
    group.add_argument("--svg", action="store_true", help="write plots as SVG as well as PNG")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation tools)."""
    parser = argparse.ArgumentParser(
        prog="affectmetrics", allow_abbrev=False,
        description="Evaluate facial-expression and valence/arousal predictions. With no "
                    "command, print the report of the example predictions shipped with the "
                    "package.",
        epilog=_COLUMN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"affectmetrics {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    ev = commands.add_parser(
        "evaluate", help="score one predictions file", allow_abbrev=False,
        description="Score one predictions file and print the report.", epilog=_COLUMN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("csv", nargs="?", type=Path,
                    help="predictions file (default: the shipped example)")
    ev.add_argument("--model-name", help="model name in the tables (default: the file name)")
    ev.add_argument("--ci-method", choices=("percentile", "bca"), default="percentile",
                    help="interval method (default: %(default)s)")
    ev.add_argument("--bins", type=_at_least(2), metavar="N",
                    help="AUC and AUC-PR from N-bin score histograms per class: memory "
                         "independent of the file's size (default: exact, keeping the scores)")
    ev.add_argument("--score-range", type=float, nargs=2, default=(0.0, 1.0),
                    metavar=("LO", "HI"), help="range of the scores with --bins (default: 0 1)")
    _add_column_options(ev)
    _add_au_options(ev)
    _add_bootstrap_options(ev, None)
    _add_output_options(ev)
    cmp = commands.add_parser(
        "compare", help="compare two models on the same test set (paired bootstrap)",
        allow_abbrev=False,
        description="Score two predictions files of the same test set (same rows, same truth, "
                    "same classes) and test the difference of every metric with a paired "
                    "bootstrap.",
        epilog=_COLUMN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmp.add_argument("csv_a", type=Path, help="predictions of model A")
    cmp.add_argument("csv_b", type=Path, help="predictions of model B")
    cmp.add_argument("--names", nargs=2, metavar=("A", "B"),
                     help="model names (default: the file names, with their folders when "
                          "the file names are the same)")
    _add_column_options(cmp)
    _add_bootstrap_options(cmp, 0.95)
    _add_output_options(cmp)
    return parser


def _columns(args: argparse.Namespace) -> _Columns:
    return _Columns(args.expression_column, args.expression_pred_column, args.score_prefix,
                    tuple(args.va_columns), tuple(args.va_pred_columns), args.group_column,
                    None if args.class_names is None else tuple(args.class_names),
                    args.preset, args.nan_policy, args.delimiter, args.scores,
                    tuple(getattr(args, "au_columns", ())),
                    getattr(args, "au_pred_suffix", "_pred"),
                    tuple(getattr(args, "subgroup_columns", ())))


def _level(text: str) -> float:
    """``--ci``: a confidence level strictly between 0 and 1 (95 is refused, not 0.95).

    Parameters
    ----------
    text : str
        The flag's value as typed.

    Returns
    -------
    float
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        hint = f" (for {value:g}%, give {value / 100:g})" if 50 <= value < 100 else ""
        raise argparse.ArgumentTypeError(f"a level between 0 and 1 such as 0.95, got "
                                         f"{text}{hint}")
    return value


def _at_least(low: int) -> Any:
    """An argparse type: an integer ``>= low``, refused in the flag's own words."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def _progress(args: argparse.Namespace) -> bool:
    if args.progress is not None:
        return bool(args.progress)
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return sys.stderr.isatty()


def _slug(name: str) -> str:
    """A model name as part of a file name: letters, digits, ``-`` and ``_``, at most 100
    UTF-8 bytes (a file name may hold 255, with ``report_`` or a plot's name around it)."""
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    return slug.encode()[:100].decode(errors="ignore")


def _same_file_name(a: str, b: str) -> bool:
    """Whether two model names give one output file name on some file system.

    Parameters
    ----------
    a, b : str
        The model names.

    Returns
    -------
    bool
        True when their file names are equal ignoring case: macOS and Windows folders do
        not tell ``report_A.json`` from ``report_a.json``, and one would replace the other.
    """
    return _slug(a).casefold() == _slug(b).casefold()


def _figure_bytes(figure: Any, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=120)
    return buffer.getvalue()


def _add_plots(run: _RunFolder, reports: list[Report], data: list[dict[str, Any]],
               args: argparse.Namespace) -> None:
    try:
        from .. import plots
    except ImportError as exc:  # pragma: no cover - the plots module itself has no deps
        raise _CliError(str(exc)) from None
    formats = ("png", "svg") if args.svg else ("png",)
    try:
        for report, inputs in zip(reports, data, strict=True):
            prefix = "" if len(reports) == 1 else f"{_slug(report.model)}_"
            figures = {}
            if report.confusion_matrix is not None:
                figures["confusion_matrix"] = plots.plot_confusion_matrix(
                    report.confusion_matrix, report.class_names)
                pred = np.asarray(inputs["expression_pred"])
                if pred.ndim == 2:
                    keep = ~(np.isnan(pred).any(axis=1) | np.isnan(inputs["expression"]))
                    figures["roc_pr_curves"] = plots.plot_curves(
                        inputs["expression"][keep], pred[keep], report.class_names)
            if "va" in inputs and inputs["va"].shape[1] == 2:
                keep = ~(np.isnan(inputs["va"]).any(axis=1)
                         | np.isnan(inputs["va_pred"]).any(axis=1))
                figures["valence_arousal"] = plots.plot_valence_arousal(
                    inputs["va"][keep], inputs["va_pred"][keep])
            for stem, figure in figures.items():
                for fmt in formats:
                    run.add(f"{prefix}{stem}.{fmt}", _figure_bytes(figure, fmt))
    except ImportError as exc:
        print(f"affectmetrics: plots skipped: {exc}", file=sys.stderr)


def _add_reports(run: _RunFolder, reports: list[Report], extra_markdown: str = "") -> None:
    markdown = side_by_side(reports) if len(reports) > 1 else reports[0].to_markdown()
    run.add("report.md", markdown + ("\n\n" + extra_markdown if extra_markdown else "") + "\n")
    for report in reports:
        stem = "report" if len(reports) == 1 else f"report_{_slug(report.model)}"
        run.add(f"{stem}.json", report.to_json() + "\n")
        run.add(f"{stem}.csv", report.to_csv())


def _evaluate(args: argparse.Namespace) -> str:
    run = None if args.output is None else _RunFolder(args.output, args.overwrite)
    if run is not None:
        run.check()
    if args.csv is None:
        source = resources.files("affectmetrics") / "data" / EXAMPLE
        with resources.as_file(source) as path:
            return _evaluate_file(args, path, args.model_name or "Example model (simulated)",
                                  run)
    return _evaluate_file(args, args.csv, args.model_name or args.csv.stem, run)


def _evaluate_file(args: argparse.Namespace, path: Path, name: str,
                   run: _RunFolder | None) -> str:
    """Stream the file through the accumulators where the report allows it (bounded
    memory), else read its numeric arrays whole."""
    scan = _Scan(path, _columns(args))
    needs_rows = _streamable(scan, args)
    if needs_rows is None:
        report = _streamed_report(scan, model=name, bins=args.bins,
                                  score_range=tuple(args.score_range))
        if run is not None:
            _add_reports(run, [report])
            run.write()
        return report.to_markdown()
    if args.bins is not None:
        raise _CliError(f"--bins streams the file, which {needs_rows} does not allow")
    data = _read(path, _columns(args))
    report = _score(data, name, args)
    if run is not None:
        _add_reports(run, [report])
        if not args.no_plots:
            _add_plots(run, [report], [data.kwargs], args)
        run.write()
    return report.to_markdown()


def _score(data: _Predictions, name: str, args: argparse.Namespace) -> Report:
    report = evaluate(**data.kwargs, model=name, preset=args.preset or "affectnet", ci=args.ci,
                      n_resamples=args.n_resamples,
                      ci_method=getattr(args, "ci_method", "percentile"), seed=args.seed,
                      nan_policy=args.nan_policy, warn=False, progress=_progress(args),
                      au_threshold=getattr(args, "au_threshold", 0.5))
    report.dropped = dict(data.dropped)
    return report


def _model_names(args: argparse.Namespace) -> tuple[str, str]:
    """Two names that stay distinct as file names (refused when --names collide)."""
    if args.names:
        a, b = args.names
        if _same_file_name(a, b):
            raise _CliError(f"--names {a!r} {b!r}: the two names give the same file name "
                            f"{_slug(a)!r} (letter case aside); choose names that differ in "
                            "letters or digits")
        return a, b
    paths = (args.csv_a, args.csv_b)
    names = [p.stem for p in paths]
    if _same_file_name(names[0], names[1]):
        names = [f"{p.parent.name}/{p.stem}" if p.parent.name else p.stem for p in paths]
    if _same_file_name(names[0], names[1]):
        names = [f"{names[0]} (1)", f"{names[1]} (2)"]
    return names[0], names[1]


def _share_class_names(a: _Predictions, b: _Predictions) -> None:
    """Give a file whose classes are only codes the other file's class names.

    Labels-only files and numbered score columns (``score_0`` ...) name no class; the other
    file's names (its score columns' or ``--class-names``) say what the codes mean, since a
    paired comparison needs the same ground truth, which :func:`_same_test_set` checks code
    by code afterwards.

    Parameters
    ----------
    a, b : _Predictions
        The two files read; the one without class names gains the other's.
    """
    names_a, names_b = a.kwargs.get("class_names"), b.kwargs.get("class_names")
    if "expression" not in a.kwargs or "expression" not in b.kwargs:
        return
    if names_a is None and names_b is not None:
        a.kwargs["class_names"] = names_b
    elif names_b is None and names_a is not None:
        b.kwargs["class_names"] = names_a


def _same_test_set(args: argparse.Namespace, a: _Predictions, b: _Predictions) -> None:
    ka, kb = a.kwargs, b.kwargs
    if ka.get("class_names") != kb.get("class_names"):
        raise _CliError(f"{args.csv_a} and {args.csv_b} have different classes: "
                        f"{', '.join(ka.get('class_names') or ('(codes)',))} and "
                        f"{', '.join(kb.get('class_names') or ('(codes)',))}")
    for key in ("expression", "va"):
        if (key in ka) != (key in kb):
            raise _CliError(f"{args.csv_a} and {args.csv_b} hold different columns: only one "
                            f"has {key}")
        if key in ka and not np.array_equal(ka[key], kb[key], equal_nan=True):
            if ka[key].shape != kb[key].shape:
                raise _CliError(f"{args.csv_a} has {ka[key].shape[0]} rows, {args.csv_b} has "
                                f"{kb[key].shape[0]} (after the rows left out); a paired "
                                "comparison needs the same test set")
            row = int(np.flatnonzero(np.any((ka[key] != kb[key]).reshape(ka[key].shape[0], -1),
                                            axis=1))[0])
            raise _CliError(f"{args.csv_a} and {args.csv_b} have different ground truth "
                            f"({key} differs at data row {row + 1}); a paired comparison "
                            "needs the same test set in the same order")
    if "groups" in ka:
        ids_a = a.group_ids[ka["groups"]]
        ids_b = b.group_ids[kb["groups"]]
        if ids_a.shape != ids_b.shape or not (ids_a == ids_b).all():
            raise _CliError(f"{args.csv_a} and {args.csv_b} have different "
                            f"{args.group_column!r} ids; a paired comparison needs the same "
                            "groups in the same order")


def _complete_in_both(a: _Predictions, b: _Predictions) -> None:
    """--nan-policy omit: keep the rows complete in both files, so both are scored alike."""
    drop = np.zeros(len(a.kwargs["expression" if "expression" in a.kwargs else "va"]),
                    dtype=bool)
    for data in (a, b):
        for key in ("expression", "expression_pred", "va", "va_pred"):
            if key in data.kwargs:
                values = np.asarray(data.kwargs[key], dtype=np.float64)
                drop |= np.isnan(values.reshape(values.shape[0], -1)).any(axis=1)
    if drop.any():
        for data in (a, b):
            for key in ("expression", "expression_pred", "va", "va_pred", "groups"):
                if key in data.kwargs:
                    data.kwargs[key] = data.kwargs[key][~drop]
            reason = "an empty cell in either file (--nan-policy omit)"
            data.dropped[reason] = int(drop.sum())


def _comparison_rows(comparison: PairedComparison) -> list[list[object]]:
    rows: list[list[object]] = [["metric", "value_a", "value_b", "difference", "low", "high",
                                 "p_value"]]
    for key in comparison.difference:
        rows.append([key, *(repr(float(getattr(comparison, f)[key])) for f in
                            ("value_a", "value_b", "difference", "low", "high", "p_value"))])
    return rows


def _compare(args: argparse.Namespace) -> str:
    names = _model_names(args)
    run = None if args.output is None else _RunFolder(args.output, args.overwrite)
    if run is not None:
        run.check()
    a = _read(args.csv_a, _columns(args))
    b = _read(args.csv_b, _columns(args))
    if args.nan_policy == "omit":
        _complete_in_both(a, b)
    _share_class_names(a, b)
    _same_test_set(args, a, b)
    reports = [_score(data, name, args) for data, name in zip((a, b), names, strict=True)]
    ka, kb = a.kwargs, b.kwargs
    comparison = paired_comparison(
        expression=ka.get("expression"), va=ka.get("va"),
        pred_a={k: ka[k] for k in ("expression_pred", "va_pred") if k in ka},
        pred_b={k: kb[k] for k in ("expression_pred", "va_pred") if k in kb},
        names=names, output_names=ka.get("output_names", ("valence", "arousal")),
        n_classes=len(reports[0].class_names) if "expression" in ka else None,
        confidence_level=args.ci or 0.95, n_resamples=args.n_resamples, seed=args.seed,
        groups=ka.get("groups"), progress=_progress(args))
    paired = (f"Paired bootstrap ({comparison.n_resamples} resamples): difference "
              f"{names[1]} - {names[0]}\n\n" + comparison.to_markdown())
    if run is not None:
        _add_reports(run, reports, paired)
        run.add("comparison.json", comparison.to_json() + "\n")
        run.add("comparison.csv", _csv_text(_comparison_rows(comparison)))
        if not args.no_plots:
            _add_plots(run, reports, [a.kwargs, b.kwargs], args)
        run.write()
    return side_by_side(reports) + "\n\n" + paired


def _print_output(output: str) -> None:
    """Print the report; a reader that stops early (``| head``) is no error.

    Parameters
    ----------
    output : str
        The report text.
    """
    try:
        print(output)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed the pipe: what it read was the report's start, and every file
        # was written. Point stdout at devnull so that Python's exit flush is quiet too.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``affectmetrics`` script and ``python -m affectmetrics``."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["evaluate", *argv])
    try:
        with warnings.catch_warnings(record=True) as caught:
            # Diagnostics are in the report; undefined values are nan there and a note here.
            warnings.simplefilter("ignore", DiagnosticWarning)
            warnings.simplefilter("always", UndefinedMetricWarning)
            warnings.simplefilter("always", _CliNote)
            output = _evaluate(args) if args.command == "evaluate" else _compare(args)
    except (_CliError, ValueError, TypeError, OSError, ImportError) as exc:
        print(f"affectmetrics: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("affectmetrics: interrupted", file=sys.stderr)
        return 130
    _print_output(output)
    notes = dict.fromkeys(str(w.message) for w in caught
                          if issubclass(w.category, (UndefinedMetricWarning, _CliNote)))
    for note in notes:
        print(f"affectmetrics: note: {note}", file=sys.stderr)
    return 0
