"""The command line's path: the case written to a CSV file, scored by
``affectmetrics evaluate FILE --output DIR --no-plots`` (in-process, through
:func:`affectmetrics.cli.main`), the value read back from ``report.csv`` (checked
against ``report.json``).

Without ``--ci`` and plots the command streams a score-matrix file through the
accumulators, and reads a labels-only file whole into :func:`affectmetrics.evaluate`, so
both of its ways are checked. Its undefined values are nan in the report and a note on
standard error (``affectmetrics: note: pearson is undefined: ...``); the notes are turned
back into warnings here, so that they are compared like any path's warnings. An error is
exit status 2 with one line: raised here as a ValueError.
"""

from __future__ import annotations

import contextlib
import csv as csv_module
import io
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import affectmetrics as am
from affectmetrics.cli import main

from .paths_core import (
    CLASSIFICATION,
    CONTINUOUS,
    KEY,
    RANKING,
    _classification_defaults,
    _columns,
    _label_defaults,
    _ndim,
    _shape_like,
)
from .registry import Case, path


def _numeric(case: Case) -> bool:
    """A CSV holds numbers and empty cells: other Python objects (strings, None, bools)
    cannot be written as they are."""
    for value in (case.y_true, case.y_pred):
        try:
            kind = np.asarray(value).dtype.kind
        except (ValueError, TypeError):  # ragged
            return False
        if kind not in "iuf":
            return False
    return True


def _cell(value: float) -> str:
    return "" if np.isnan(value) else repr(float(value))


def _evaluate(columns: dict[str, np.ndarray], flags: list[str]) -> dict[str, Any]:
    """Write the columns as a CSV, run the command, return the metrics of report.csv (its
    cells are Python's repr of each value, so inf stays inf; report.json, strict JSON, writes
    both nan and inf as null) after checking that report.json agrees."""
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "case.csv"
        names = list(columns)
        rows = zip(*(np.asarray(columns[n], dtype=np.float64) for n in names), strict=True)
        csv.write_text(",".join(names) + "\n"
                       + "".join(",".join(map(_cell, row)) + "\n" for row in rows))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["evaluate", str(csv), "--output", str(Path(folder) / "out"),
                           "--no-plots", *flags])
        for line in err.getvalue().splitlines():
            if line.startswith("affectmetrics: note: "):
                warnings.warn(line.removeprefix("affectmetrics: note: "),
                              am.UndefinedMetricWarning, stacklevel=2)
        if status != 0:
            raise ValueError(err.getvalue().strip())
        report = json.loads((Path(folder) / "out" / "report.json").read_text())
        with open(Path(folder) / "out" / "report.csv", newline="") as handle:
            table = {row["metric"]: float(row["value"]) for row in csv_module.DictReader(handle)}
    for key, value in report["metrics"].items():
        assert (value is None and not np.isfinite(table[key])) or value == table[key], key
    return table


@path("cli", CONTINUOUS, single_metric=False,
      accepts=lambda case: set(case.kwargs) <= {"nan_policy"} and _numeric(case)
      and np.shape(case.y_true) == np.shape(case.y_pred) and _ndim(case.y_true) in (1, 2))
def continuous_cli(case: Case) -> Any:
    t, p, names = _columns(case)
    preds = [f"{name}_pred" for name in names]
    columns = {**{n: t[:, j] for j, n in enumerate(names)},
               **{n: p[:, j] for j, n in enumerate(preds)}}
    metrics = _evaluate(columns, ["--va-columns", *names, "--va-pred-columns", *preds,
                                  "--nan-policy", case.kwargs.get("nan_policy", "raise")])
    return _shape_like(np.array([metrics[f"{case.metric}_{n}"] for n in names]), case)


@path("cli", CLASSIFICATION + RANKING, single_metric=False,
      accepts=lambda case: _numeric(case) and (
          _label_defaults(case) if case.metric in CLASSIFICATION
          else _classification_defaults(case)))
def classification_cli(case: Case) -> Any:
    y_true, y_pred = np.asarray(case.y_true), np.asarray(case.y_pred)
    if y_pred.ndim == 2:
        # Numbered score columns are classes 0..C-1 in number order.
        columns = {"expression": y_true,
                   **{f"score_{j}": y_pred[:, j] for j in range(y_pred.shape[1])}}
    else:
        columns = {"expression": y_true, "expression_pred": y_pred}
    return float(_evaluate(columns, [])[KEY[case.metric]])
