"""The Keras path: every Keras metric fed each row in random batch splits, on the backend
this process runs (tests/test_keras_backends.py reruns a subset on torch and JAX).

2-D rows are scored with :meth:`~affectmetrics.keras.CCC.per_output` (one metric per column,
one shared state), 1-D rows with a single metric; the value is read eagerly from
``result()``, which applies the core's final step (and warns as the core does).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from affectmetrics.keras import CCC, RMSE, SAGR, UAR, MultilabelF1, Pearson

from .registry import Case, case_seed, path

KERAS_METRICS = {"ccc": CCC, "pearson": Pearson, "rmse": RMSE, "sagr": SAGR}

# The Keras state holds unscaled sums of squares, so it supports magnitudes within
# [1e-140, 1e140] (docs/keras.md, "Accuracy"); an eager update outside refuses the batch
# with a ValueError. Rows with data outside cannot be expressed in that state.
_LOW, _HIGH = 1e-140, 1e140


def _magnitudes_in_range(case: Case) -> bool:
    """Each side (truth, prediction) of each column has its own sums of squares: the
    largest finite magnitude of each must be 0 or within the range."""
    for side in (case.y_true, case.y_pred):
        arr = np.asarray(side)
        if arr.dtype.kind not in "biuf":
            return True
        arr = np.abs(arr.astype(np.float64))
        if arr.size == 0:
            continue
        columns = arr.reshape(arr.shape[0], -1) if arr.ndim else arr.reshape(1, 1)
        for column in columns.T:
            amax = column[np.isfinite(column)].max(initial=0.0)
            if not (amax == 0 or _LOW <= amax <= _HIGH):
                return False
    return True


def _pivot(t: np.ndarray) -> float:
    """0 for data in the affect range; the truth's median far from 0 (the documented
    advice: keep the pivot within about 100 standard deviations of the data)."""
    finite = t[np.isfinite(t)]
    if finite.size == 0 or np.abs(finite).max() <= 10:
        return 0.0
    return float(np.median(finite))


def _keras_shapes(case: Case) -> bool:
    """False for rows whose ranks differ by a trailing axis of length 1 ((n, 1) against
    (n,)): the Keras metrics follow Keras' convention there, as its own metrics and the
    compiled update do, and drop that axis (docs/keras.md); the functions refuse."""
    t_shape, p_shape = np.shape(case.y_true), np.shape(case.y_pred)
    longer, shorter = (t_shape, p_shape) if len(t_shape) > len(p_shape) else (p_shape, t_shape)
    return not (len(longer) == len(shorter) + 1 and longer[-1:] == (1,))


def _keras_expressible(case: Case) -> bool:
    return _magnitudes_in_range(case) and _keras_shapes(case)


@path("keras", tuple(KERAS_METRICS), accepts=_keras_expressible, rtol=1e-9)
def keras_metric(case: Case) -> Any:
    """Random batch splits through ``update_state``, then ``result()`` per column."""
    t, p = np.asarray(case.y_true), np.asarray(case.y_pred)
    cls = KERAS_METRICS[case.metric]
    pivot = _pivot(t.astype(np.float64)) if t.dtype.kind in "biuf" else 0.0
    options = {"pivot": pivot, **case.kwargs}
    if t.ndim == 2:
        metrics = cls.per_output([f"out{j}" for j in range(t.shape[1])], **options)
    else:
        metrics = [cls(**options)]
    _feed(case, metrics[0], t, p)
    values = [float(metric.result()) for metric in metrics]
    return values[0] if t.ndim < 2 else np.array(values)


def _feed(case: Case, metric: Any, t: np.ndarray, p: np.ndarray) -> None:
    """``update_state`` on 1 to 4 consecutive batches, split at random (seeded per case)."""
    n = t.shape[0] if t.ndim else 0
    rng = np.random.default_rng(case_seed(case, "keras"))
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, rng.integers(0, 4)),
                              replace=False)) if n > 1 else np.array([], int)
    for lo, hi in pairwise([0, *cuts.tolist(), n]):
        metric.update_state(t[lo:hi], p[lo:hi])


def _uar_classes(case: Case) -> np.ndarray:
    """The function's class set: ``labels``, range(C) for scores, else the labels seen."""
    if case.kwargs.get("labels") is not None:
        return np.asarray(case.kwargs["labels"])
    p = np.asarray(case.y_pred)
    if p.ndim == 2:
        return np.arange(p.shape[1])
    return np.union1d(np.asarray(case.y_true), p)


def _uar_expressible(case: Case) -> bool:
    # The Keras metric takes class indices 0..C-1 (its state is a C x C matrix): rows whose
    # class set is anything else (strings, gaps) cannot be expressed.
    classes = _uar_classes(case)
    return classes.dtype.kind in "iuf" and np.array_equal(classes, np.arange(len(classes)))


@path("keras", ["uar"], accepts=_uar_expressible, rtol=1e-12)
def keras_uar(case: Case) -> Any:
    options = {k: v for k, v in case.kwargs.items() if k != "labels"}
    metric = UAR(num_classes=len(_uar_classes(case)), **options)
    _feed(case, metric, np.asarray(case.y_true), np.asarray(case.y_pred))
    return float(metric.result())


@path("keras", ["multilabel_f1"], rtol=1e-12)
def keras_multilabel_f1(case: Case) -> Any:
    t = np.asarray(case.y_true)
    metric = MultilabelF1(num_labels=t.shape[-1], **case.kwargs)
    _feed(case, metric, t, np.asarray(case.y_pred))
    value = np.asarray(metric.result())
    return float(value) if value.ndim == 0 else value
