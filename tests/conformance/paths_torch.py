"""Paths of the torch adapter: each metric class fed the case in random batch splits
(``torch``), and the same through ``forward`` (``torch-forward``), compared with the function.

The tensors are the case's arrays as NumPy holds them (float64, float32, float16, narrow
integers, bools), so the adapter reads the same numbers as the function.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

import affectmetrics as am
from affectmetrics import torch as amt

from .paths_core import _splits
from .registry import Case, path

CONTINUOUS = {"ccc": amt.CCC, "pearson": amt.Pearson, "rmse": amt.RMSE, "sagr": amt.SAGR}
CLASSIFICATION = {"accuracy": amt.Accuracy, "f1_score": amt.F1Score,
                  "cohen_kappa": amt.CohenKappa, "krippendorff_alpha": amt.KrippendorffAlpha,
                  "roc_auc": amt.AUROC, "pr_auc": amt.AveragePrecision, "uar": amt.UAR}
# The keyword options each class takes (the function's names).
OPTIONS = {"f1_score": {"average", "zero_division"}, "cohen_kappa": {"weights"},
           "uar": {"zero_division"},
           "roc_auc": {"average", "scores"}, "pr_auc": {"average", "scores"}}


def _tensor(value: Any) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.asarray(value)))


def _num_classes(case: Case) -> int | None:
    """The adapter's classes are 0..num_classes-1 (the columns of a score matrix, or a
    given ``labels=``/the labels seen when they are exactly that range); cases whose class
    set is anything else (strings, 1.5, labels 3 and 5, a 1-D binary score) cannot be
    expressed."""
    truth, pred = np.asarray(case.y_true), np.asarray(case.y_pred)
    if truth.dtype.kind not in "biuf" or pred.dtype.kind not in "biuf" or truth.ndim != 1:
        return None
    labels = case.kwargs.get("labels")
    if pred.ndim == 2:
        width = pred.shape[1]
        ok = labels is None or list(np.asarray(labels)) == list(range(width))
        return width if ok else None
    if case.metric in ("roc_auc", "pr_auc"):
        return None  # a 1-D score of the positive class: the adapter takes (n, C) scores
    if labels is not None:
        seen = np.asarray(labels, dtype=np.float64)
    else:
        both = np.concatenate([truth.astype(np.float64), pred.astype(np.float64)])
        seen = np.unique(both[~np.isnan(both)])
    return len(seen) if list(seen) == list(range(len(seen))) else None


def _accepts(case: Case) -> bool:
    if case.metric in CONTINUOUS:
        return set(case.kwargs) <= {"nan_policy"}
    allowed = OPTIONS.get(case.metric, set()) | {"labels", "nan_policy"}
    return set(case.kwargs) <= allowed and _num_classes(case) is not None


def _metric(case: Case) -> Any:
    options = {k: v for k, v in case.kwargs.items() if k != "labels"}
    if case.metric in CONTINUOUS:
        k = 1 if np.ndim(case.y_true) == 1 else np.shape(case.y_true)[1]
        return CONTINUOUS[case.metric](k, **options)
    return CLASSIFICATION[case.metric](_num_classes(case), **options)


def _value(metric: Any, case: Case) -> Any:
    if case.metric in CONTINUOUS and metric.moments[0, 0] == 0:
        metric._flush()
        metric._raise_if_refused()
        raise ValueError("no samples")  # the function refuses an all-NaN input alike
    value = metric.compute().numpy()
    return float(value) if value.ndim == 0 else value


def _run(case: Case, forward: bool) -> Any:
    truth, pred = _tensor(case.y_true), _tensor(case.y_pred)
    metric = _metric(case)
    for rows in _splits(case, truth.shape[0], "torch"):
        batch = torch.from_numpy(rows)
        if forward:
            with warnings.catch_warnings():  # the batch values are not what is compared
                warnings.simplefilter("ignore", am.UndefinedMetricWarning)
                metric(pred[batch], truth[batch])
        else:
            metric.update(pred[batch], truth[batch])
    metric._flush()
    return _value(metric, case)


@path("torch", [*CONTINUOUS, *CLASSIFICATION], accepts=_accepts)
def torch_update(case: Case) -> Any:
    return _run(case, forward=False)


@path("torch-forward", [*CONTINUOUS, *CLASSIFICATION], accepts=_accepts)
def torch_forward(case: Case) -> Any:
    return _run(case, forward=True)


def _multilabel_accepts(case: Case) -> bool:
    truth = np.asarray(case.y_true)
    return (set(case.kwargs) <= {"threshold", "average", "zero_division", "nan_policy"}
            and truth.ndim == 2 and np.asarray(case.y_pred).shape == truth.shape
            and truth.dtype.kind in "biuf" and np.asarray(case.y_pred).dtype.kind in "biuf")


@path("torch", ["multilabel_f1"], accepts=_multilabel_accepts)
def torch_multilabel_f1(case: Case) -> Any:
    truth, pred = _tensor(case.y_true), _tensor(case.y_pred)
    metric = amt.MultilabelF1(truth.shape[1], **case.kwargs)
    for rows in _splits(case, truth.shape[0], "torch"):
        batch = torch.from_numpy(rows)
        metric.update(pred[batch], truth[batch])
    value = metric.compute().numpy()
    return float(value) if value.ndim == 0 else value
