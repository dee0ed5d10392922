"""A report from a file streamed through the accumulators, in bounded memory.

Each batch of the scan updates a :class:`~affectmetrics.ClassificationAccumulator` and a
:class:`~affectmetrics.ContinuousAccumulator`; the report is then built with the same final
steps as :func:`affectmetrics.evaluate` (metrics from the confusion matrix, rank counts and
moments; diagnostics from counts and moments), so both give the same numbers. Memory is the
accumulators' state: O(C²) plus, for AUC, the scores (exact, O(n·C)) or ``bins``
histograms (O(C·bins), whatever the file's size); the valence/arousal part keeps only the
moments, the ranges and the predictions currently outside the truth's range (for the
``out_of_range`` diagnostic).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._moments import _scales
from ..accumulators import (
    ClassificationAccumulator,
    ContinuousAccumulator,
    _classification_results,
    _continuous_results,
)
from ..examples import _default_class_names
from ..ranking import _score_from_counts
from ..report import Report, _ContinuousStats, _diagnostics, _nanmean, _per_class_from_cm
from ._schema import _retrying, _Scan

__all__: list[str] = []


class _RangeTracker:
    """Per column: the truth's and the predictions' range, and the predictions outside the
    truth's range so far (the range only widens, so a value inside stays inside)."""

    def __init__(self, k: int) -> None:
        self.t_min = np.full(k, np.inf)
        self.t_max = np.full(k, -np.inf)
        self.p_min = np.full(k, np.inf)
        self.p_max = np.full(k, -np.inf)
        self.outside = [np.empty(0) for _ in range(k)]

    def update(self, t: np.ndarray, p: np.ndarray) -> None:
        if t.shape[0] == 0:
            return
        self.t_min = np.minimum(self.t_min, t.min(axis=0))
        self.t_max = np.maximum(self.t_max, t.max(axis=0))
        self.p_min = np.minimum(self.p_min, p.min(axis=0))
        self.p_max = np.maximum(self.p_max, p.max(axis=0))
        for j in range(t.shape[1]):
            values = np.concatenate([self.outside[j], p[:, j]])
            self.outside[j] = values[(values < self.t_min[j]) | (values > self.t_max[j])]


def _complete(batch: dict[str, Any]) -> tuple[dict[str, np.ndarray], int]:
    """The batch's rows without NaN in any array (``--nan-policy omit``), and how many went."""
    arrays = {k: batch[k] for k in ("expression", "expression_pred", "va", "va_pred")
              if k in batch}
    n = next(iter(arrays.values())).shape[0]
    drop = np.zeros(n, dtype=bool)
    for values in arrays.values():
        drop |= np.isnan(values.reshape(n, -1)).any(axis=1)
    if not drop.any():
        return arrays, 0
    return {k: v[~drop] for k, v in arrays.items()}, int(drop.sum())


def _streamed_report(scan: _Scan, *, model: str, bins: int | None,
                     score_range: tuple[float, float]) -> Report:
    """Score ``scan`` batch by batch; the report :func:`affectmetrics.evaluate` gives."""
    return _retrying(scan, lambda scan: _stream(scan, model, bins, score_range))


def _stream(scan: _Scan, model: str, bins: int | None,
            score_range: tuple[float, float]) -> Report:
    schema = scan.schema
    classes = ClassificationAccumulator(scan.n_classes, bins=bins, score_range=score_range) \
        if schema.scores else None
    continuous = ContinuousAccumulator(len(schema.va)) if schema.va else None
    ranges = _RangeTracker(len(schema.va)) if schema.va else None
    n_omitted = 0
    for batch in scan:
        arrays, omitted = _complete(batch)
        n_omitted += omitted
        if classes is not None:
            classes.update(arrays["expression"], arrays["expression_pred"])
        if continuous is not None and ranges is not None:
            continuous.update(arrays["va"], arrays["va_pred"])
            ranges.update(arrays["va"], arrays["va_pred"])
    if scan.n_kept == n_omitted:
        raise ValueError("every sample has a NaN; nothing is left to score after "
                         "nan_policy='omit'")
    metrics: dict[str, float] = {}
    per_class = cm = None
    names: tuple[str, ...] = ()
    predicted = support = None
    n_samples = 0
    if classes is not None:
        cm = classes.confusion_matrix
        c = cm.shape[0]
        names = schema.class_names or _default_class_names(c)
        labels = np.arange(c)
        metrics.update({k: float(v) for k, v in _classification_results(cm, None, labels)
                        .items()})
        per_class = _per_class_from_cm(cm)
        counts = classes._rank_counts()
        # A class without positives warns by the metric's name, as evaluate() does.
        per_class["auc"] = _score_from_counts("roc_auc", counts, labels, None)
        per_class["auc_pr"] = _score_from_counts("pr_auc", counts, labels, None)
        metrics["auc"] = _nanmean(per_class["auc"])
        metrics["auc_pr"] = _nanmean(per_class["auc_pr"])
        predicted, support = cm.sum(axis=0), cm.sum(axis=1)
        n_samples = int(cm.sum())
    stats = None
    output_names = tuple(schema.output_names)
    if continuous is not None and ranges is not None:
        moments = continuous._state
        for key, values in _continuous_results(moments).items():
            for j, name in enumerate(output_names):
                metrics[f"{key}_{name}"] = float(values[j])
        n_samples = moments.n
        # The moments' sums of squares are held in units of a power-of-two scale.
        s_t, s_p, _ = _scales(moments)
        stats = _ContinuousStats(ranges.t_min, ranges.t_max, ranges.p_min, ranges.p_max,
                                 s_t * np.sqrt(moments.m2_true / moments.n),
                                 s_p * np.sqrt(moments.m2_pred / moments.n),
                                 np.array([v.shape[0] for v in ranges.outside]), moments.n)
    found = _diagnostics(predicted, support, names, stats, output_names)
    return Report(model, metrics, per_class, cm, names, output_names, None, found, n_samples,
                  n_omitted, dropped=dict(scan.dropped))


def _streamable(scan: _Scan, args: Any) -> str | None:
    """Why the file cannot be streamed (it needs all rows), or None."""
    if args.ci is not None:
        return "--ci (the bootstrap resamples every row)"
    if args.output is not None and not args.no_plots:
        return "plots (--output without --no-plots)"
    if scan.schema.group is not None:
        return "--group-column (the per-group CCC)"
    if scan.schema.au:
        return "--au-columns"
    if scan.schema.subgroups:
        return "--subgroup-columns (the per-subgroup metrics)"
    if (args.preset or "affectnet") == "abaw":
        return "--preset abaw"
    if scan.schema.expression is not None and not scan.schema.scores:
        return "a labels-only file"
    return None
