"""Paths of the protocol metrics: accumulators, bootstrap estimate, report, sequences."""

from __future__ import annotations

from typing import Any

import numpy as np

import affectmetrics as am

from .registry import Case, case_seed, path

PROTOCOL_METRICS = ("uar", "icc", "mae", "multilabel_f1", "multilabel_roc_auc",
                    "multilabel_pr_auc")


@path("function", PROTOCOL_METRICS)
def function(case: Case) -> Any:
    """The public function itself."""
    return getattr(am, case.metric)(case.y_true, case.y_pred, **case.kwargs)


def _batches(case: Case, n: int) -> list[np.ndarray]:
    """Rows split into 1..4 batches, shuffled (seeded per case)."""
    rng = np.random.default_rng(case_seed(case, "protocols"))
    order = rng.permutation(n)
    return np.array_split(order, int(rng.integers(1, 5)))


def _is_score_matrix(case: Case) -> bool:
    return np.ndim(case.y_pred) == 2 and np.shape(case.y_pred)[0] > 0


# The classification accumulator takes (n, C) score matrices and the default class set
# range(C) with zero_division 0: it cannot express label predictions or other options.
@path("accumulator", ["uar"], accepts=lambda case: _is_score_matrix(case)
      and set(case.kwargs) <= {"nan_policy"}, single_metric=False)
def uar_accumulator(case: Case) -> Any:
    y_true, scores = np.asarray(case.y_true), np.asarray(case.y_pred, dtype=np.float64)
    parts = []
    for rows in _batches(case, y_true.shape[0]):
        acc = am.ClassificationAccumulator(scores.shape[1], **case.kwargs)
        acc.update(y_true[rows], scores[rows])
        parts.append(acc)
    merged = parts[-1]
    for other in parts[:-1]:
        merged.merge(other)
    return merged.compute()["uar"]


# ContinuousAccumulator reports ICC(3,1) only, on non-empty (n,) or (n, k) data.
@path("accumulator", ["icc"], accepts=lambda case: set(case.kwargs) <= {"nan_policy"}
      and np.ndim(case.y_true) in (1, 2) and np.shape(case.y_true)[0] > 0,
      single_metric=False)
def icc_accumulator(case: Case) -> Any:
    t, p = np.asarray(case.y_true), np.asarray(case.y_pred)
    k = 1 if t.ndim == 1 else t.shape[1]
    parts = []
    for rows in _batches(case, t.shape[0]):
        acc = am.ContinuousAccumulator(k, **case.kwargs)
        acc.update(t[rows], p[rows])
        parts.append(acc)
    merged = parts[0]
    for other in parts[1:]:
        merged.merge(other)
    values = merged.compute()["icc"]
    return float(values[0]) if t.ndim == 1 else values


def _multilabel_accepts(case: Case) -> bool:
    # The accumulator needs (n, L) arrays and has the functions' default zero_division
    # (F1) and macro or per-label averages (ranking); the micro F1 is reported too.
    if np.ndim(case.y_true) != 2 or np.ndim(case.y_pred) != 2:
        return False
    options = set(case.kwargs) - {"threshold", "nan_policy"}
    if case.metric == "multilabel_f1":
        return options <= {"average"} and case.kwargs.get("average", "macro") in (
            "macro", "micro", None)
    return options <= {"average"} and case.kwargs.get("average", "macro") in ("macro", None)


@path("accumulator", ["multilabel_f1", "multilabel_roc_auc", "multilabel_pr_auc"],
      accepts=_multilabel_accepts, single_metric=False)
def multilabel_accumulator(case: Case) -> Any:
    t, s = np.asarray(case.y_true), np.asarray(case.y_pred, dtype=np.float64)
    options = {k: v for k, v in case.kwargs.items() if k in ("threshold", "nan_policy")}
    parts = []
    for rows in _batches(case, t.shape[0]):
        acc = am.MultilabelAccumulator(t.shape[1], **options)
        acc.update(t[rows], s[rows])
        parts.append(acc)
    merged = parts[0]
    for other in parts[1:]:
        merged.merge(other)
    merged = am.MultilabelAccumulator.from_state_dict(merged.state_dict())
    result = merged.compute()
    average = case.kwargs.get("average", "macro")
    key = {"multilabel_f1": "f1", "multilabel_roc_auc": "auc", "multilabel_pr_auc": "auc_pr"}[
        case.metric]
    if average is None:
        return np.array(list(result[f"{key}_per_label"].values()))
    return result["f1_micro"] if average == "micro" else result[key]


# The bootstrap and the report score label predictions or score matrices over range(C) with
# the default zero_division, and ICC(3,1) of complete (n,) or (n, k) data.
def _report_accepts(case: Case) -> bool:
    if case.metric == "uar":
        return set(case.kwargs) <= set() and np.ndim(case.y_true) == 1 \
            and np.shape(case.y_true)[0] > 0
    return not case.kwargs and np.shape(case.y_true)[0] > 0


def _va_names(t: np.ndarray) -> tuple[str, ...]:
    return ("x",) if t.ndim == 1 else tuple(f"c{j}" for j in range(t.shape[1]))


@path("bootstrap", ["uar", "icc"], accepts=_report_accepts, single_metric=False)
def bootstrap_estimate(case: Case) -> Any:
    if case.metric == "uar":
        result = am.bootstrap_ci(expression=case.y_true, expression_pred=case.y_pred,
                                 n_resamples=2, seed=0)
        return result.estimate["uar"]
    t = np.asarray(case.y_true)
    names = _va_names(t)
    result = am.bootstrap_ci(va=case.y_true, va_pred=case.y_pred, output_names=names,
                             n_resamples=2, seed=0)
    values = [result.estimate[f"icc_{name}"] for name in names]
    return values[0] if t.ndim == 1 else np.array(values)


@path("report", ["uar", "icc"], accepts=_report_accepts, single_metric=False)
def report(case: Case) -> Any:
    if case.metric == "uar":
        return am.evaluate(expression=case.y_true, expression_pred=case.y_pred,
                           warn=False).metrics["uar"]
    t = np.asarray(case.y_true)
    names = _va_names(t)
    metrics = am.evaluate(va=case.y_true, va_pred=case.y_pred, output_names=names,
                          warn=False).metrics
    values = [metrics[f"icc_{name}"] for name in names]
    return values[0] if t.ndim == 1 else np.array(values)


# sequence_ccc has no options (NaN is refused); one sequence makes its concatenated CCC the
# plain CCC, for every continuous row of the registry.
@path("sequences", ["ccc"], accepts=lambda case: not case.kwargs
      and np.ndim(case.y_true) in (1, 2) and np.shape(case.y_true)[0] > 0,
      single_metric=False)
def sequences(case: Case) -> Any:
    n = np.shape(case.y_true)[0]
    return am.sequence_ccc(case.y_true, case.y_pred, np.zeros(n, int)).concatenated
