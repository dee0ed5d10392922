"""Paths of helper "state": the one-call confusion-matrix metrics, and the classification
accumulator fed in random splits whose states travel through ``np.savez`` (without pickle)
and strict JSON before they are merged."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

import affectmetrics as am

from .registry import Case, case_seed, path

_KEYS = {"accuracy": "accuracy", "f1_score": "f1", "cohen_kappa": "kappa",
         "krippendorff_alpha": "krippendorff_alpha", "roc_auc": "auc", "pr_auc": "auc_pr"}


@path("function", ["confusion_matrix"])
def confusion_matrix(case: Case) -> Any:
    """The public function (the core's "function" path covers the scalar metrics)."""
    return am.confusion_matrix(case.y_true, case.y_pred, **case.kwargs)


def _defaults_only(case: Case, allowed: set[str]) -> bool:
    """The case's options are ones the path can pass on (others would be ignored)."""
    return set(case.kwargs) <= allowed


# classification_scores has no average=, weights= or level= (macro F1, unweighted kappa).
@path("classification_scores", ["accuracy", "f1_score", "cohen_kappa"], single_metric=False,
      accepts=lambda case: _defaults_only(case, {"labels", "nan_policy"}))
def classification_scores(case: Case) -> Any:
    return am.classification_scores(case.y_true, case.y_pred, **case.kwargs)[
        _KEYS[case.metric]]


def _score_matrix(case: Case) -> tuple[Any, Any]:
    """(y_score, labels) for the accumulator: label predictions become one-hot rows over
    the class set the function uses (labels=, else the sorted union of the labels seen)."""
    pred = np.asarray(case.y_pred)
    labels = case.kwargs.get("labels")
    if pred.ndim == 2:
        return pred, labels
    truth = np.asarray(case.y_true)
    if labels is None:
        both = np.concatenate([truth.astype(np.float64), pred.astype(np.float64)])
        labels = np.unique(both[~np.isnan(both)])
    classes = np.asarray(labels, dtype=np.float64)
    onehot = (pred.astype(np.float64)[:, None] == classes[None, :]).astype(np.float64)
    onehot[np.isnan(pred.astype(np.float64))] = np.nan  # a missing prediction stays missing
    return onehot, labels


def _expressible(case: Case) -> bool:
    options = {"labels", "nan_policy"} | ({"scores"} if case.metric in ("roc_auc", "pr_auc")
                                          else set())
    if not _defaults_only(case, options):
        return False  # compute() has macro averages, unweighted kappa, nominal alpha only
    pred, truth = np.asarray(case.y_pred), np.asarray(case.y_true)
    if case.metric in ("roc_auc", "pr_auc"):
        return pred.ndim == 2  # the accumulator takes (n, C) score matrices only
    if pred.dtype.kind not in "biuf" or truth.dtype.kind not in "biuf":
        return False  # string predictions have no one-hot form
    if pred.ndim == 1:
        # A prediction outside the class set has no column of a score matrix.
        onehot, _ = _score_matrix(case)
        return bool((np.nansum(onehot, axis=1) > 0)[~np.isnan(pred.astype(float))].all())
    return True


def _through_npz_and_json(acc: am.ClassificationAccumulator) -> am.ClassificationAccumulator:
    buffer = io.BytesIO()
    np.savez(buffer, **acc.state_dict())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:
        reloaded = am.ClassificationAccumulator.from_state_dict(dict(loaded))
    text = json.dumps(json.loads(reloaded.to_json()), allow_nan=False)
    return am.ClassificationAccumulator.from_json(text)


@path("accumulator-saved", [*_KEYS, "confusion_matrix"], accepts=_expressible,
      single_metric=False)
def accumulator_saved(case: Case) -> Any:
    """Random split, each part saved and reloaded (npz, then JSON), merged in random order."""
    y_score, labels = _score_matrix(case)
    y_score = np.asarray(y_score)
    truth = np.asarray(case.y_true)
    n = truth.shape[0]
    rng = np.random.default_rng(case_seed(case, "accumulator-saved"))
    cuts = np.sort(rng.integers(0, n + 1, rng.integers(0, 4)))
    options = {key: case.kwargs[key] for key in ("nan_policy", "scores") if key in case.kwargs}
    parts = []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):
        part = am.ClassificationAccumulator(y_score.shape[1], labels=labels, **options)
        part.update(truth[lo:hi], y_score[lo:hi])
        parts.append(_through_npz_and_json(part))
    order = rng.permutation(len(parts))
    total = parts[order[0]]
    for i in order[1:]:
        total.merge(parts[i])
    if case.metric == "confusion_matrix":
        return total.confusion_matrix
    return total.compute()[_KEYS[case.metric]]
