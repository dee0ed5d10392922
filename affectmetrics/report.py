"""One-call evaluation: every metric, per-class detail, diagnostics and intervals in a report.

:func:`evaluate` scores any subset of expression labels/scores and valence/arousal
predictions with the core functions and returns a :class:`Report`, which renders to
Markdown (the study's table layout, four decimals), JSON, a dict, CSV and a pandas
DataFrame; :func:`side_by_side` puts several models' reports in one table, one column per
model, as in the study.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._csv import _csv_text
from ._moments import _moments, _std
from ._optional import _import_optional
from ._validation import (
    _as_labels,
    _as_numeric,
    _check_classification,
    _check_continuous,
    _check_unique_names,
    _fmt_number,
    _group_codes,
)
from .accumulators import _continuous_results
from .agreement import _alpha_from_cm
from .bootstrap import BootstrapResult, _bootstrap, _check_options, _Engines, _prepare_engine
from .classification import (
    _accuracy_from_cm,
    _confusion,
    _f1_from_cm,
    _kappa_from_cm,
    _uar_from_cm,
)
from .examples import AFFECTNET_CLASSES
from .exceptions import DiagnosticWarning
from .multilabel import _au_scores, _check_multilabel, _check_threshold, _MultilabelEngine
from .presets import ABAW_AUS, PRESETS, abaw_scores, ccc_per_group
from .ranking import pr_auc, roc_auc
from .subgroups import UAB_KEY, SubgroupResult, _check_subgroups, _subgroup_result

__all__ = ["Diagnostic", "Report", "diagnose", "evaluate", "side_by_side"]

CLASSIFICATION_ROWS = (("accuracy", "Accuracy"), ("f1", "F1 Score"), ("uar", "UAR"),
                       ("kappa", "Cohen's Kappa"),
                       ("krippendorff_alpha", "Krippendorff's Alpha"), ("auc", "AUC"),
                       ("auc_pr", "AUC-PR"))
CONTINUOUS_ROWS = (("rmse", "RMSE"), ("pearson", "Correlation"), ("sagr", "SAGR"),
                   ("ccc", "CCC"), ("icc", "ICC(3,1)"))
# Diagnostic thresholds, stated in every message that uses them.
_LOW_VARIANCE = 0.1
_OUT_OF_RANGE = 0.01
_DOMINANT_CLASS = 0.9
_IMBALANCE = 2.0


@dataclass(frozen=True)
class Diagnostic:
    """One finding about the predictions: a code and a plain sentence."""

    code: str
    message: str


@dataclass
class Report:
    """Every metric of one model on one test set.

    Attributes
    ----------
    model : str
    metrics : dict of str to float
        Flat keys: ``accuracy``, ``f1``, ``uar``, ``kappa``, ``krippendorff_alpha``, ``auc``,
        ``auc_pr``; ``rmse_valence``, ``pearson_valence``, ``sagr_valence``,
        ``ccc_valence`` and the same for arousal; preset scores such as ``abaw_va``.
    per_class : dict of str to ndarray, optional
        ``precision``, ``recall``, ``f1``, ``auc``, ``auc_pr``, ``support`` per class.
    confusion_matrix : ndarray, optional
    class_names, output_names : tuple of str
    intervals : BootstrapResult, optional
        Confidence intervals for every metric, when ``ci`` was given.
    diagnostics : list of Diagnostic
    n_samples, n_omitted : int
    subgroups : dict of str to SubgroupResult, optional
        Per attribute: every metric per subgroup, gaps and UAB (``evaluate(subgroups=)``).
    au_names : tuple of str
    per_au : dict of str to ndarray, optional
        ``f1``, ``auc``, ``auc_pr``, ``support`` per action unit (``evaluate(au=)``).
    dropped : dict of str to int
        Rows left out before scoring, per reason (e.g. a data set's "not an expression"
        codes, counted by the command line's ``--preset``); in JSON and under the tables.
    """

    model: str
    metrics: dict[str, float]
    per_class: dict[str, np.ndarray] | None
    confusion_matrix: np.ndarray | None
    class_names: tuple[str, ...]
    output_names: tuple[str, ...]
    intervals: BootstrapResult | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    n_samples: int = 0
    n_omitted: int = 0
    subgroups: dict[str, SubgroupResult] | None = None
    au_names: tuple[str, ...] = ()
    per_au: dict[str, np.ndarray] | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    def interval(self, key: str) -> tuple[float, float] | None:
        """The (low, high) confidence interval of a metric, if intervals were computed."""
        if self.intervals is None or key not in self.intervals.low:
            return None
        return self.intervals.low[key], self.intervals.high[key]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only (JSON-ready)."""
        out: dict[str, Any] = {
            "model": self.model,
            "n_samples": self.n_samples,
            "n_omitted": self.n_omitted,
            "dropped": dict(self.dropped),
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
            "class_names": list(self.class_names),
            "output_names": list(self.output_names),
            "diagnostics": [d.__dict__ for d in self.diagnostics],
        }
        if self.per_class is not None:
            out["per_class"] = {k: [_json_float(x) for x in v] for k, v in self.per_class.items()}
        if self.confusion_matrix is not None:
            out["confusion_matrix"] = self.confusion_matrix.tolist()
        if self.subgroups is not None:
            out["subgroups"] = {name: result.to_dict() for name, result in self.subgroups.items()}
        if self.per_au is not None:
            out["au_names"] = list(self.au_names)
            out["per_au"] = {k: [_json_float(x) for x in v] for k, v in self.per_au.items()}
        if self.intervals is not None:
            r = self.intervals
            out["intervals"] = {
                "confidence_level": r.confidence_level, "method": r.method,
                "n_resamples": r.n_resamples, "seed": r.seed, "grouped": r.grouped,
                "low": {k: _json_float(v) for k, v in r.low.items()},
                "high": {k: _json_float(v) for k, v in r.high.items()},
                "standard_error": {k: _json_float(v) for k, v in r.standard_error.items()},
            }
        return out

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        """JSON text (NaN written as null); also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def to_csv(self, path: str | Path | None = None) -> str:
        """Long format: ``model,metric,value,low,high``; also written to ``path`` if given.

        Cells a spreadsheet would run as a formula (a model named ``=cmd()``) are prefixed
        with ``'``; numbers stay numbers.
        """
        rows: list[list[object]] = [["model", "metric", "value", "low", "high"]]
        for key, value in self.metrics.items():
            interval = self.interval(key) or ("", "")
            rows.append([self.model, key, repr(value),
                         *(repr(v) if v != "" else "" for v in interval)])
        for key, value, low, high in _subgroup_rows(self.subgroups):
            rows.append([self.model, key, repr(value), low, high])
        text = _csv_text(rows)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one row per metric (needs pandas)."""
        pandas = _import_optional("pandas", "pandas", purpose="Report.to_dataframe")
        rows = []
        for key, value in self.metrics.items():
            low, high = self.interval(key) or (np.nan, np.nan)
            rows.append({"model": self.model, "metric": key, "value": value, "low": low,
                         "high": high})
        return pandas.DataFrame(rows).set_index(["model", "metric"])

    def to_markdown(self, decimals: int = 4) -> str:
        """The study's tables (classification; one per continuous output), per-class
        detail, the confusion matrix and the diagnostics."""
        parts = [side_by_side([self], decimals=decimals)]
        if self.per_class is not None:
            header = ["Class", "Precision", "Recall", "F1", "AUC", "AUC-PR", "Support"]
            rows = [[name, *(self.per_class[k][i] for k in ("precision", "recall", "f1", "auc",
                                                            "auc_pr")),
                     int(self.per_class["support"][i])]
                    for i, name in enumerate(self.class_names)]
            parts += ["", _table(header, rows, decimals)]
        if self.per_au is not None:
            rows = [[name, *(self.per_au[k][i] for k in ("f1", "auc", "auc_pr")),
                     int(self.per_au["support"][i])] for i, name in enumerate(self.au_names)]
            parts += ["", _table(["Action unit", "F1", "AUC", "AUC-PR", "Positives"], rows,
                                 decimals)]
        if self.subgroups is not None:
            parts += _subgroup_tables(self.subgroups, decimals)
        if self.confusion_matrix is not None:
            short = [name[:4] for name in self.class_names]
            rows = [[short[i], *self.confusion_matrix[i].tolist()] for i in range(len(short))]
            parts += ["", "Confusion matrix (rows: truth, columns: prediction)", "",
                      _table(["", *short], rows, decimals)]
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.to_markdown()


def _subgroup_rows(subgroups: dict[str, SubgroupResult] | None
                   ) -> list[tuple[str, float, str, str]]:
    """CSV rows ``(metric[attribute=level], value, low, high)`` and the gaps."""
    def bound(values: dict[str, float] | None, key: str) -> str:
        return "" if values is None or key not in values else repr(values[key])

    rows: list[tuple[str, float, str, str]] = []
    for name, result in (subgroups or {}).items():
        for level in result.levels:
            for key, value in result.metrics[level].items():
                rows.append((f"{key}[{name}={level}]", value,
                             bound(None if result.low is None else result.low[level], key),
                             bound(None if result.high is None else result.high[level], key)))
        for key, value in result.gap.items():
            label = key if key == UAB_KEY else f"{key}_gap"
            rows.append((f"{label}[{name}]", value, bound(result.gap_low, key),
                         bound(result.gap_high, key)))
    return rows


def _subgroup_tables(subgroups: dict[str, SubgroupResult], decimals: int) -> list[str]:
    """One Markdown table per attribute: metrics (rows) by subgroup, and the gap."""
    parts = []
    for name, result in subgroups.items():
        def cell(value: float, low: float | None, high: float | None) -> str:
            text = _cell(value, decimals)
            if low is not None and high is not None:
                text += f" [{_cell(low, decimals)}, {_cell(high, decimals)}]"
            return text

        rows = []
        for key, gap in result.gap.items():
            values = [cell(result.metrics[level].get(key, np.nan),
                           None if result.low is None else result.low[level].get(key),
                           None if result.high is None else result.high[level].get(key))
                      if key != UAB_KEY else "" for level in result.levels]
            rows.append([key, *values,
                         cell(gap, None if result.gap_low is None else result.gap_low.get(key),
                              None if result.gap_high is None else result.gap_high.get(key))])
        header = ["Metric", *(f"{name}={level} (n={result.n_samples[level]})"
                              for level in result.levels), "Gap (max - min)"]
        parts += ["", f"Subgroups by {name}", "", _table(header, rows, decimals)]
    return parts


def _json_float(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _cell(value: Any, decimals: int) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if np.isnan(value) else _fmt_number(value, decimals)
    return str(value)


def _table(header: list[str], rows: list[list[Any]], decimals: int = 4) -> str:
    cells = [[_cell(v, decimals) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(header)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in cells]
    return "\n".join([line, rule, *body])


def side_by_side(reports: list[Report], decimals: int = 4) -> str:
    """The study's tables with one column per model (Markdown).

    With intervals, each cell reads ``value [low, high]``. Models' diagnostics follow the
    tables.
    """
    if not reports:
        raise ValueError("reports is empty")
    models = [r.model for r in reports]

    def value_cell(report: Report, key: str) -> str:
        value = report.metrics.get(key)
        if value is None:
            return "-"
        text = _cell(float(value), decimals)
        interval = report.interval(key)
        if interval is not None:
            text += f" [{_cell(interval[0], decimals)}, {_cell(interval[1], decimals)}]"
        return text

    parts: list[str] = []
    if any("accuracy" in r.metrics for r in reports):
        rows = [[label, *(value_cell(r, key) for r in reports)]
                for key, label in CLASSIFICATION_ROWS]
        parts.append(_table(["Metric (Classification)", *models], rows))
    outputs = list(dict.fromkeys(name for r in reports for name in r.output_names
                                 if f"ccc_{name}" in r.metrics))
    for name in outputs:
        rows = [[label, *(value_cell(r, f"{key}_{name}") for r in reports)]
                for key, label in CONTINUOUS_ROWS]
        parts.append(_table([f"Metric ({name.capitalize()} Regression)", *models], rows))
    au_keys = [key for key in ("au_f1", "au_f1_micro", "au_auc", "au_auc_pr")
               if any(key in r.metrics for r in reports)]
    if au_keys:
        rows = [[key, *(value_cell(r, key) for r in reports)] for key in au_keys]
        parts.append(_table(["Metric (Action units)", *models], rows))
    preset_keys = list(dict.fromkeys(k for r in reports for k in r.metrics
                                     if k.startswith("abaw_") or k.endswith("_per_group")))
    if preset_keys:
        rows = [[key, *(value_cell(r, key) for r in reports)] for key in preset_keys]
        parts.append(_table(["Protocol score", *models], rows))
    notes = [f"- {r.model}: {d.message}" for r in reports for d in r.diagnostics]
    notes += [f"- {r.model}: rows left out before scoring: "
              + ", ".join(f"{count} with {reason}" for reason, count in r.dropped.items())
              for r in reports if r.dropped]
    if notes:
        parts.append("Diagnostics:\n\n" + "\n".join(notes))
    if reports[0].intervals is not None:
        r = reports[0].intervals
        parts.append(f"Intervals: {r.confidence_level:.0%} {r.method} bootstrap, "
                     f"{r.n_resamples} resamples" + (" of whole groups" if r.grouped else "")
                     + (f", seed {r.seed}" if r.seed is not None else "") + ".")
    return "\n\n".join(parts)


def diagnose(
    *,
    expression: np.ndarray | None = None,
    pred_codes: np.ndarray | None = None,
    class_names: tuple[str, ...] = (),
    va: np.ndarray | None = None,
    va_pred: np.ndarray | None = None,
    output_names: tuple[str, ...] = (),
) -> list[Diagnostic]:
    """Look for the ways models fail silently. Inputs are validated codes and 2-D arrays.

    Checks: constant continuous predictions; predictions whose variance is under 10% of the
    truth's; more than 1% of predictions outside the truth's range; a classifier that
    predicts only some of the classes, or one class for over 90% of samples; a test set whose
    largest class is at least twice its smallest.
    """
    predicted = support = None
    if expression is not None and pred_codes is not None:
        c = len(class_names)
        predicted = np.bincount(pred_codes, minlength=c)
        support = np.bincount(expression, minlength=c)
    stats = None
    if va is not None and va_pred is not None:
        t_min, t_max = va.min(axis=0), va.max(axis=0)
        outside = np.count_nonzero((va_pred < t_min) | (va_pred > t_max), axis=0)
        stats = _ContinuousStats(
            t_min, t_max, va_pred.min(axis=0), va_pred.max(axis=0),
            np.array([_std(va[:, j]) for j in range(va.shape[1])]),
            np.array([_std(va_pred[:, j]) for j in range(va.shape[1])]), outside, va.shape[0])
    return _diagnostics(predicted, support, class_names, stats, output_names)


@dataclass(frozen=True)
class _ContinuousStats:
    """Per output column: the truth's and the predictions' range and standard deviation, the number
    of predictions outside the truth's range, and the number of rows."""

    t_min: np.ndarray
    t_max: np.ndarray
    p_min: np.ndarray
    p_max: np.ndarray
    sd_t: np.ndarray
    sd_p: np.ndarray
    outside: np.ndarray
    n: int


def _diagnostics(predicted: np.ndarray | None, support: np.ndarray | None,
                 class_names: tuple[str, ...], stats: _ContinuousStats | None,
                 output_names: tuple[str, ...]) -> list[Diagnostic]:
    """The final step of :func:`diagnose`, from counts and moments (shared with streaming
    readers that never hold the samples)."""
    found: list[Diagnostic] = []
    if predicted is not None and support is not None:
        c = len(class_names)
        used = np.flatnonzero(predicted)
        n = int(predicted.sum())
        if used.shape[0] == 1:
            found.append(Diagnostic(
                "constant_classifier",
                f"the classifier predicts a single class ({class_names[used[0]]}) for all {n} "
                "samples: a collapsed model (accuracy is the class's share, kappa 0)"))
        elif used.shape[0] < c:
            missing = ", ".join(class_names[i] for i in range(c) if predicted[i] == 0)
            found.append(Diagnostic(
                "missing_classes",
                f"the classifier predicts only {used.shape[0]} of {c} classes; never {missing}"))
        top = int(np.argmax(predicted))
        if used.shape[0] > 1 and predicted[top] > _DOMINANT_CLASS * n and c > 2:
            found.append(Diagnostic(
                "dominant_class",
                f"the classifier predicts {class_names[top]} for {predicted[top] / n:.0%} of "
                f"samples (over {_DOMINANT_CLASS:.0%})"))
        if support.min() == 0:
            absent = ", ".join(class_names[i] for i in range(c) if support[i] == 0)
            found.append(Diagnostic(
                "absent_classes",
                f"the test set has no samples of {absent}; their AUC is undefined and their F1 "
                "counts as 0 in the macro average"))
        elif support.max() >= _IMBALANCE * support.min():
            big, small = int(np.argmax(support)), int(np.argmin(support))
            found.append(Diagnostic(
                "class_imbalance",
                f"the test set is imbalanced: {class_names[big]} has {support[big]} samples, "
                f"{class_names[small]} {support[small]} (ratio "
                f"{support[big] / support[small]:.1f}); macro averages weigh every class "
                "equally, accuracy does not"))
    if stats is not None:
        for j, name in enumerate(output_names):
            if stats.p_max[j] == stats.p_min[j]:
                found.append(Diagnostic(
                    "constant_prediction",
                    f"{name} predictions are constant (every value {stats.p_min[j]:.4g}): CCC "
                    "is 0 and Pearson's r is undefined"))
                continue
            # A ratio of scale-robust standard deviations: np.var overflows for data near
            # 1e300 and underflows to 0 for data near 1e-170.
            sd_t, sd_p = stats.sd_t[j], stats.sd_p[j]
            with np.errstate(over="ignore"):
                ratio = (sd_p / sd_t) ** 2 if sd_t > 0 else np.inf
            if ratio < _LOW_VARIANCE:
                found.append(Diagnostic(
                    "low_variance",
                    f"{name} predictions vary little: their variance is {ratio:.1%} of "
                    f"the truth's (under {_LOW_VARIANCE:.0%}; regression to the mean?)"))
            outside = int(stats.outside[j])
            if outside > _OUT_OF_RANGE * stats.n:
                found.append(Diagnostic(
                    "out_of_range",
                    f"{outside} of {stats.n} {name} predictions ({outside / stats.n:.1%}) "
                    f"lie outside the truth's range [{stats.t_min[j]:.4g}, "
                    f"{stats.t_max[j]:.4g}]"))
    return found


def _complete_rows(nan_policy: str, **arrays: Any) -> tuple[dict[str, np.ndarray], int]:
    """Convert the given arrays and drop rows with NaN in any of them (policy "omit").

    ``groups`` (any hashable ids) is encoded as integer codes; a missing id is an error, not
    a row to omit.
    """
    groups = arrays.pop("groups", None)
    converted = {name: _as_numeric(value, name) for name, value in arrays.items()
                 if value is not None}
    lengths = {name: arr.shape[0] if arr.ndim else 0 for name, arr in converted.items()}
    if len(set(lengths.values())) > 1:
        (first, n_first), *rest = lengths.items()
        other, n_other = next((k, v) for k, v in rest if v != n_first)
        raise ValueError(f"{first} has {n_first} samples, {other} has {n_other}; they must "
                         "have the same length")
    if groups is not None and converted:
        converted["groups"] = _group_codes(groups, next(iter(lengths.values())))[0]
    if nan_policy != "omit" or not converted:
        return converted, 0
    drop = None
    for arr in converted.values():
        if arr.dtype.kind == "f" and arr.ndim in (1, 2):
            rows = np.isnan(arr) if arr.ndim == 1 else np.isnan(arr).any(axis=1)
            drop = rows if drop is None else drop | rows
    if drop is None or not drop.any():
        return converted, 0
    if drop.all():
        raise ValueError("every sample has a NaN; nothing is left to score after "
                         "nan_policy='omit'")
    return {name: arr[~drop] for name, arr in converted.items()}, int(drop.sum())


def evaluate(
    *,
    expression: Any = None,
    expression_pred: Any = None,
    va: Any = None,
    va_pred: Any = None,
    class_names: tuple[str, ...] | list[str] | None = None,
    output_names: tuple[str, ...] | list[str] = ("valence", "arousal"),
    model: str = "model",
    preset: str = "affectnet",
    ci: float | None = None,
    n_resamples: int = 1000,
    ci_method: str = "percentile",
    seed: Any = 0,
    groups: Any = None,
    nan_policy: str = "raise",
    warn: bool = True,
    progress: bool = False,
    subgroups: Mapping[str, Any] | None = None,
    au: Any = None,
    au_pred: Any = None,
    au_names: Any = None,
    au_threshold: float = 0.5,
) -> Report:
    """Score a model's expression and/or valence/arousal predictions in one call.

    Parameters
    ----------
    expression : array-like of shape (n,), optional
        True expression labels 0..C-1.
    expression_pred : array-like of shape (n, C) or (n,), optional
        Class scores (probabilities or logits; enables AUC and AUC-PR) or predicted labels.
    va, va_pred : array-like of shape (n, k) or (n,), optional
        Continuous truth and predictions, one column per output (valence, arousal).
    class_names : sequence of str, optional
        Default: AffectNet's eight (Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger,
        Contempt) for eight classes, else ``"0"``, ``"1"``...
    output_names : sequence of str, default ("valence", "arousal")
    model : str, default "model"
        The model's name, the column title in tables.
    preset : {"affectnet", "abaw"}, default "affectnet"
        ``"abaw"`` adds the ABAW challenge scores (``abaw_va``, ``abaw_expr``, ``abaw_au``,
        ``abaw_mtl``).
    ci : float, optional
        Confidence level (e.g. 0.95) for bootstrap intervals of every metric.
    n_resamples, ci_method, seed, groups :
        As for :func:`affectmetrics.bootstrap_ci`. ``groups`` (video or subject ids of any
        hashable type; None or NaN is refused) also
        adds the per-group mean CCC (``ccc_valence_per_group``...).
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every row with a NaN in any argument, for every metric alike.
    warn : bool, default True
        Issue a :class:`~affectmetrics.DiagnosticWarning` per diagnostic.
    progress : bool, default False
        Show a progress bar during the bootstrap (needs the ``cli`` extra).
    subgroups : dict of str to array-like of shape (n,), optional
        Attributes of the samples (``{"gender": [...], "age": [...]}``, any labels): every
        metric per subgroup, the gap between the best and the worst subgroup and, with
        expression labels, the unweighted average bias, in :attr:`Report.subgroups`; with
        ``ci``, percentile intervals for each from one set of resamples (see
        :mod:`affectmetrics.subgroups`).
    au, au_pred : array-like of shape (n, L), optional
        Action-unit occurrence (0/1) and predictions (0/1 or scores, present above
        ``au_threshold``): ``au_f1`` (mean F1 over AUs), ``au_f1_micro``, ``au_auc``,
        ``au_auc_pr`` and ``f1_<AU>`` per AU, with intervals for the F1 values under ``ci``;
        the ``"abaw"`` preset adds ``abaw_au`` (twelve AUs).
    au_names : sequence of str, optional
        Names of the AU columns (default :data:`~affectmetrics.ABAW_AUS` for twelve
        columns, else ``AU0``, ``AU1``...).
    au_threshold : float, default 0.5

    Returns
    -------
    Report

    Examples
    --------
    >>> import affectmetrics as am
    >>> report = am.evaluate(expression=[0, 1, 1, 0], expression_pred=[0, 1, 0, 0],
    ...                      class_names=["neg", "pos"], warn=False)
    >>> report.metrics["accuracy"], report.metrics["f1"]
    (0.75, 0.7333333333333334)
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    if ci is not None:
        _check_options(ci, n_resamples, ci_method)
    if (expression is None) != (expression_pred is None):
        raise ValueError("give both expression and expression_pred, or neither")
    if (va is None) != (va_pred is None):
        raise ValueError("give both va and va_pred, or neither")
    if (au is None) != (au_pred is None):
        raise ValueError("give both au and au_pred, or neither")
    subgroup_rows = None
    first = next((x for x in (expression, va, au) if x is not None), None)
    if subgroups is not None and first is not None:
        n_given = int(np.shape(first)[0])
        subgroups = _check_subgroups(subgroups, n_given)
        subgroup_rows = np.arange(n_given)
    arrays, n_omitted = _complete_rows(nan_policy, expression=expression,
                                       expression_pred=expression_pred, va=va, va_pred=va_pred,
                                       groups=groups, subgroup_rows=subgroup_rows, au=au,
                                       au_pred=au_pred)
    if not arrays:
        raise ValueError("give expression labels and predictions, valence/arousal truth and "
                         "predictions, action units, or several of them")
    output_names = _check_unique_names(output_names, "output_names")
    metrics: dict[str, float] = {}
    per_class = cm = None
    names: tuple[str, ...] = ()
    codes = pred_codes = None
    n_samples = 0
    if expression is not None:
        pred = _as_labels(arrays["expression_pred"], "expression_pred")
        n_classes = (len(class_names) if class_names is not None
                     else pred.shape[1] if pred.ndim == 2 else None)
        labels = None if n_classes is None else np.arange(n_classes)
        data = _check_classification(arrays["expression"], pred, labels=labels,
                                     scores=pred.ndim == 2, pred_name="expression_pred",
                                     true_name="expression")
        c = data.classes.shape[0]
        if class_names is None:
            names = AFFECTNET_CLASSES if c == 8 else tuple(str(v) for v in data.classes)
        else:
            names = tuple(str(v) for v in class_names)
        codes = data.y_true
        pred_codes = data.predicted
        cm = _confusion(codes, pred_codes, c)
        metrics["accuracy"] = _accuracy_from_cm(cm)
        metrics["f1"] = float(_f1_from_cm(cm, "macro"))
        metrics["uar"] = _uar_from_cm(cm)
        metrics["kappa"] = _kappa_from_cm(cm)
        metrics["krippendorff_alpha"] = _alpha_from_cm(cm, np.arange(c), "nominal")
        per_class = _per_class_from_cm(cm)
        if data.y_score is not None:
            # A class without positives warns by the metric's name, as the functions do.
            per_class["auc"] = roc_auc(codes, data.y_score, labels=np.arange(c), average=None)
            per_class["auc_pr"] = pr_auc(codes, data.y_score, labels=np.arange(c),
                                         average=None)
            metrics["auc"] = _nanmean(per_class["auc"])
            metrics["auc_pr"] = _nanmean(per_class["auc_pr"])
        else:
            per_class["auc"] = per_class["auc_pr"] = np.full(c, np.nan)
        n_samples = codes.shape[0]
    va_2d = va_pred_2d = None
    if va is not None:
        t, p, _ = _check_continuous(arrays["va"], arrays["va_pred"], names=("va", "va_pred"))
        va_2d, va_pred_2d = (t[:, None], p[:, None]) if t.ndim == 1 else (t, p)
        if len(output_names) != va_2d.shape[1]:
            raise ValueError(f"output_names has {len(output_names)} names but va has "
                             f"{va_2d.shape[1]} column(s)")
        for key, values in _continuous_results(_moments(va_2d, va_pred_2d)).items():
            for j, name in enumerate(output_names):
                metrics[f"{key}_{name}"] = float(values[j])
        n_samples = va_2d.shape[0]
        if "groups" in arrays:
            per_group = np.atleast_1d(ccc_per_group(va_2d, va_pred_2d, arrays["groups"]))
            for j, name in enumerate(output_names):
                metrics[f"ccc_{name}_per_group"] = float(per_group[j])
    au_true = au_scores = per_au = None
    au_labels: tuple[str, ...] = ()
    au_engine = None
    if au is not None:
        au_threshold = _check_threshold(au_threshold, "au_threshold")
        au_true, au_scores, _ = _check_multilabel(arrays["au"], arrays["au_pred"],
                                                  pred_name="au_pred", true_name="au")
        au_labels = _au_labels(au_names, au_true.shape[1])
        au_metrics, per_au = _au_scores(au_true, au_scores, au_threshold, au_labels)
        metrics.update(au_metrics)
        n_samples = au_true.shape[0]
        au_engine = _MultilabelEngine(au_true, au_scores, au_threshold, au_labels)
    if preset == "abaw":
        metrics.update(abaw_scores(
            expression=codes, expression_pred=pred_codes, va=va_2d, va_pred=va_pred_2d,
            au=au_true, au_pred=au_scores, n_classes=len(names) if names else 8,
            au_threshold=au_threshold))
    found = diagnose(expression=codes, pred_codes=pred_codes, class_names=names,
                     va=va_2d, va_pred=va_pred_2d, output_names=output_names)
    if warn:
        for diagnostic in found:
            warnings.warn(f"{model}: {diagnostic.message}", DiagnosticWarning, stacklevel=2)
    intervals = None
    if ci is not None:
        engines = [] if au_engine is None else [au_engine]
        if codes is not None or va_2d is not None:
            engines.insert(0, _prepare_engine(
                codes, (data.y_score if expression is not None and data.y_score is not None
                        else pred_codes),
                va_2d, va_pred_2d, output_names, len(names) if names else None, "raise"))
        engine = engines[0] if len(engines) == 1 else _Engines(engines)
        intervals = _bootstrap(engine, confidence_level=ci, n_resamples=n_resamples,
                               method=ci_method, seed=seed, groups=arrays.get("groups"),
                               progress=progress, warn=False)
    by_subgroup = None
    if subgroups is not None:
        expr_pred = None
        if expression is not None:
            expr_pred = data.y_score if data.y_score is not None else pred_codes
        group_ids = arrays.get("groups")

        def score(rows: np.ndarray) -> dict[str, float]:
            return evaluate(
                expression=None if codes is None else codes[rows],
                expression_pred=None if expr_pred is None else expr_pred[rows],
                va=None if va_2d is None else va_2d[rows],
                va_pred=None if va_pred_2d is None else va_pred_2d[rows],
                au=None if au_true is None else au_true[rows],
                au_pred=None if au_scores is None else au_scores[rows], au_names=au_labels or None,
                au_threshold=au_threshold,
                class_names=names or None, output_names=output_names, preset=preset,
                groups=None if group_ids is None else group_ids[rows], warn=False).metrics

        kept = arrays["subgroup_rows"]
        by_subgroup = {
            name: _subgroup_result(
                name, values[kept], score, codes=codes, pred=expr_pred, pred_codes=pred_codes,
                n_classes=len(names) if names else None, va=va_2d, va_pred=va_pred_2d,
                output_names=output_names, au=au_true, au_pred=au_scores,
                au_threshold=au_threshold, au_names=au_labels, ci=ci,
                n_resamples=n_resamples, seed=seed, groups=group_ids)
            for name, values in subgroups.items()}
    return Report(model, metrics, per_class, cm, names, output_names if va is not None else (),
                  intervals, found, n_samples, n_omitted, by_subgroup, au_labels, per_au)


def _au_labels(au_names: Any, n_columns: int) -> tuple[str, ...]:
    if au_names is None:
        return ABAW_AUS if n_columns == len(ABAW_AUS) else tuple(
            f"AU{j}" for j in range(n_columns))
    names = _check_unique_names(au_names, "au_names")
    if len(names) != n_columns:
        raise ValueError(f"au_names has {len(names)} names but au has {n_columns} column(s)")
    return names


def _per_class_from_cm(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class (0 where undefined), from a confusion
    matrix."""
    tp = np.diag(cm).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(cm.sum(axis=0) > 0, tp / cm.sum(axis=0), 0.0)
        recall = np.where(cm.sum(axis=1) > 0, tp / cm.sum(axis=1), 0.0)
    return {"precision": precision, "recall": recall, "f1": _f1_from_cm(cm, None),
            "support": cm.sum(axis=1)}


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.shape[0] else float("nan")
