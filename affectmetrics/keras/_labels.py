"""Keras metrics on confusion counts: :class:`UAR` (speech emotion) and :class:`MultilabelF1`
(action units). Re-exported by :mod:`affectmetrics.keras`.

The state is a confusion-count matrix (summable across batches and ``tf.distribute``
replicas); an eager update validates with the core's checks and counts with the core's
statistics step, and ``result()`` applies the core's final step (``_uar_from_cm``,
``_multilabel_f1_from_counts``); traced (``tf.function``, ``jax.jit``), the same formulas in
``keras.ops``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import _check_classification, _check_nan_policy
from ..classification import _check_zero_division, _confusion_of, _uar_from_cm
from ..exceptions import UndefinedMetricWarning, _warn_undefined
from ..multilabel import (
    _F1_AVERAGES,
    _check_multilabel,
    _check_threshold,
    _label_confusion,
    _multilabel_f1_from_counts,
)
from ._backend import (
    _float64_available,
    _host,
    _in_keras_step,
    _is_concrete,
    _numpy,
    _on_host,
    _positive_int,
    keras,
    ops,
)

__all__ = ["UAR", "MultilabelF1"]


class _CountMetric(keras.metrics.Metric):
    """Shared state (counts and refused batches), update and result."""

    _default_name: str

    def __init__(self, name: str | None, shape: tuple[int, ...], nan_policy: str,
                 zero_division: float, dtype: Any) -> None:
        state_dtype = "float64" if _float64_available() else "float32"
        super().__init__(name=name or self._default_name, dtype=dtype or state_dtype)
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        self.zero_division = _check_zero_division(zero_division)
        self._state_dtype = state_dtype
        self._counts = self.add_variable(shape=shape, initializer="zeros", dtype=state_dtype,
                                         aggregation="sum", name="counts")
        self._refused = self.add_variable(shape=(), initializer="zeros", dtype=state_dtype,
                                          aggregation="sum", name="refused")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch; eagerly, a refused batch raises and changes nothing.

        Raises
        ------
        ValueError
            (Eager.) The core's checks on the batch; ``sample_weight`` (not supported:
            the functions have no weights).
        """
        if sample_weight is not None:
            raise ValueError(f"{self.name}: sample_weight is not supported (counts are "
                             "unweighted, as in the affectmetrics functions)")
        if _is_concrete(y_pred) and _on_host(y_true) and _on_host(y_pred):
            counts = self._host_counts(_host(y_true), _host(y_pred))
            self._counts.assign_add(ops.convert_to_tensor(counts, self._state_dtype))
            return
        counts, ok = self._traced_counts(ops.convert_to_tensor(y_true),
                                         ops.convert_to_tensor(y_pred))
        if _is_concrete(counts) and not bool(_numpy(ok)):
            self._host_counts(_numpy(y_true), _numpy(y_pred))  # raises the core's error
        self._counts.assign_add(ops.where(ok, counts, 0.0))
        self._refused.assign_add(1.0 - ops.cast(ok, self._state_dtype))

    def result(self) -> Any:
        """The metric over every batch so far (eagerly the core's final step, with its
        warnings; traced, the same formulas in ``keras.ops``)."""
        counts, refused = self._read()
        if not _is_concrete(counts):
            value = ops.where(refused > 0, np.nan, self._traced_final(counts))
            return ops.cast(value, self.dtype)
        with warnings.catch_warnings():
            if _in_keras_step():  # a running value: the epoch-end read warns
                warnings.simplefilter("ignore", UndefinedMetricWarning)
            if float(_numpy(refused)) > 0:
                _warn_undefined(f"{self._default_name} is undefined: "
                                f"{int(_numpy(refused))} batch(es) with invalid values were "
                                "refused by a compiled update_state; returning nan")
                value = self._undefined()
            else:
                value = self._final(_numpy(counts).astype(np.float64))
        return ops.convert_to_tensor(np.asarray(value, np.float64), self.dtype)

    def _read(self) -> tuple[Any, Any]:
        return self._counts.value, self._refused.value

    def _undefined(self) -> float | np.ndarray:
        return np.nan

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "nan_policy": self.nan_policy,
                "zero_division": self.zero_division, "dtype": self.dtype}


def _vector_as_column(values: Any) -> Any:
    """An ``(n,)`` array as ``(n, 1)`` (Keras' convention for one output unit); any other
    shape as it is, for the core's checks to judge."""
    try:
        shape = np.shape(values)
    except ValueError:  # ragged lists
        return values
    return np.reshape(values, (shape[0], 1)) if len(shape) == 1 else values


def _class_indices(codes: Any, num_classes: int) -> Any:
    """True when every code is a whole number in ``0..num_classes-1`` (the core refuses
    any other label, 0.5 included; a cast to int32 would truncate it)."""
    whole = ops.equal(codes, ops.floor(codes)) if "float" in str(codes.dtype) \
        else ops.ones_like(codes, dtype="bool")
    return ops.all(ops.logical_and(whole, ops.logical_and(codes >= 0, codes < num_classes)))


def _column_as_vector(values: Any) -> Any:
    """An ``(n, 1)`` array as ``(n,)`` (Keras keeps sparse labels in a column); any other
    shape as it is, for the core's checks to judge."""
    try:
        shape = np.shape(values)
    except ValueError:  # ragged lists
        return values
    return np.reshape(values, shape[:1]) if len(shape) == 2 and shape[1] == 1 else values


@keras.saving.register_keras_serializable(package="affectmetrics")
class UAR(_CountMetric):
    """Unweighted average recall over the epoch (speech emotion; :func:`affectmetrics.uar`).

    .. math::

        \\mathrm{UAR} = \\frac{1}{C} \\sum_{c=1}^{C} \\frac{TP_c}{TP_c + FN_c}

    Parameters
    ----------
    num_classes : int
        C: labels are the class indices ``0..C-1``.
    name : str, default "uar"
    zero_division : {0.0, 1.0, nan}, default 0.0
        The recall of a class without true samples, as :func:`affectmetrics.uar`.
    nan_policy : {"raise", "omit"}, default "raise"
        NaN in a score matrix: refused, or the row dropped.
    dtype : optional
        Of ``result()``; the state's by default.

    Notes
    -----
    ``y_true`` holds class indices ``(n,)``; ``y_pred`` holds class indices ``(n,)`` or an
    ``(n, C)`` score matrix whose arg-max (first maximum on ties) is the prediction. The
    state is the ``(C, C)`` confusion matrix.

    Warns
    -----
    UndefinedMetricWarning
        From ``result()`` as :func:`affectmetrics.uar` (no samples; no class with true
        samples under ``zero_division=nan``), or when a compiled update refused a batch.

    References
    ----------
    Schuller, Steidl and Batliner (Interspeech 2009), as cited by :func:`affectmetrics.uar`.

    Examples
    --------
    >>> import numpy as np
    >>> from affectmetrics.keras import UAR
    >>> metric = UAR(num_classes=2)
    >>> metric.update_state(np.array([0, 0]), np.array([0, 1]))
    >>> metric.update_state(np.array([1, 1]), np.array([1, 1]))
    >>> float(metric.result())  # recalls 1/2 and 2/2
    0.75
    """

    _default_name = "uar"

    def __init__(self, num_classes: int, name: str | None = None, *,
                 zero_division: float = 0.0, nan_policy: str = "raise",
                 dtype: Any = None) -> None:
        self.num_classes = num_classes = _positive_int(num_classes, "num_classes")
        super().__init__(name, (num_classes, num_classes), nan_policy, zero_division, dtype)

    def _host_counts(self, y_true: Any, y_pred: Any) -> np.ndarray:
        # Keras' sparse labels (n, 1), and (n, 1) class indices, as the compiled update.
        y_true = _column_as_vector(y_true)
        if self.num_classes > 1:
            y_pred = _column_as_vector(y_pred)
        data = _check_classification(y_true, y_pred, labels=np.arange(self.num_classes),
                                     nan_policy=self.nan_policy, allow_empty=True)
        return _confusion_of(data)

    def _traced_counts(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        c = self.num_classes
        t = ops.reshape(y_true, (-1,))
        ok = _class_indices(t, c)
        keep = None
        if len(y_pred.shape) == 2 and y_pred.shape[-1] == c:
            scores = ops.cast(y_pred, self._state_dtype)
            missing = ops.any(ops.isnan(scores), axis=-1)
            if self.nan_policy == "omit":
                keep = ops.cast(ops.logical_not(missing), self._state_dtype)
                scores = ops.where(ops.isnan(scores), 0.0, scores)
            ok = ops.logical_and(ok, ops.all(ops.isfinite(scores)))
            p = ops.argmax(scores, axis=-1)
        else:
            p = ops.reshape(y_pred, (-1,))
            ok = ops.logical_and(ok, _class_indices(p, c))
            p = ops.where(ok, p, 0)
        # Out-of-range codes would make one_hot raise (PyTorch) before the batch is counted
        # as refused: a refused batch is one-hot encoded as zeros and not added.
        t = ops.where(ok, t, 0)
        truth = ops.one_hot(ops.cast(t, "int32"), c, dtype=self._state_dtype)
        if keep is not None:
            truth = truth * ops.expand_dims(keep, -1)
        predicted = ops.one_hot(ops.cast(p, "int32"), c, dtype=self._state_dtype)
        return ops.matmul(ops.transpose(truth), predicted), ok

    def _final(self, counts: np.ndarray) -> float:
        return _uar_from_cm(counts, self.zero_division)

    def _traced_final(self, counts: Any) -> Any:
        tp = ops.sum(counts * ops.eye(self.num_classes, dtype=counts.dtype), axis=-1)
        support = ops.sum(counts, axis=-1)
        recall = ops.where(support > 0, tp / ops.where(support > 0, support, 1.0),
                           self.zero_division)
        defined = ops.logical_not(ops.isnan(recall))
        count = ops.sum(ops.cast(defined, counts.dtype))
        total = ops.sum(ops.where(defined, recall, 0.0))
        empty = ops.sum(counts) == 0
        return ops.where(ops.logical_or(empty, count == 0), np.nan,
                         total / ops.where(count > 0, count, 1.0))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="affectmetrics")
class MultilabelF1(_CountMetric):
    """F1 per label (action unit) over the epoch, averaged (:func:`affectmetrics.multilabel_f1`).

    .. math::

        F_1^{(l)} = \\frac{2\\,TP_l}{2\\,TP_l + FP_l + FN_l}, \\qquad
        F_1^{macro} = \\frac{1}{L} \\sum_{l=1}^{L} F_1^{(l)}

    Parameters
    ----------
    num_labels : int
        L, the columns of ``y_true`` (0/1) and ``y_pred`` (0/1 or scores).
    name : str, default "multilabel_f1"
    threshold : float, default 0.5
        A label is predicted present when ``y_pred > threshold`` (0 for logits).
    average : {"macro", "micro", "weighted", None}, default "macro"
        As :func:`affectmetrics.multilabel_f1`; ``None`` makes ``result()`` an (L,) vector.
    zero_division : {0.0, 1.0, nan}, default 0.0
    nan_policy : {"raise", "omit"}, default "raise"
    dtype : optional

    Notes
    -----
    The state is the per-label ``(L, 2, 2)`` confusion matrices ``[[TN, FP], [FN, TP]]``.

    Warns
    -----
    UndefinedMetricWarning
        From ``result()`` as :func:`affectmetrics.multilabel_f1`, or when a compiled update
        refused a batch.

    References
    ----------
    Kollias et al. (ABAW, CVPR Workshops 2022), as cited by
    :func:`affectmetrics.multilabel_f1`.

    Examples
    --------
    >>> import numpy as np
    >>> from affectmetrics.keras import MultilabelF1
    >>> metric = MultilabelF1(num_labels=2)
    >>> metric.update_state(np.array([[1, 0], [1, 1]]), np.array([[0.9, 0.2], [0.4, 0.8]]))
    >>> metric.update_state(np.array([[0, 1], [0, 0]]), np.array([[0.1, 0.7], [0.6, 0.1]]))
    >>> float(metric.result())  # AU 0: TP 1, FP 1, FN 1 -> 1/2; AU 1: TP 2 -> 1
    0.75
    """

    _default_name = "multilabel_f1"

    def __init__(self, num_labels: int, name: str | None = None, *, threshold: float = 0.5,
                 average: str | None = "macro", zero_division: float = 0.0,
                 nan_policy: str = "raise", dtype: Any = None) -> None:
        num_labels = _positive_int(num_labels, "num_labels")
        if average not in _F1_AVERAGES:
            raise ValueError(f"average must be one of {_F1_AVERAGES}, got {average!r}")
        self.num_labels = num_labels
        self.threshold = _check_threshold(threshold)
        self.average = average
        super().__init__(name, (num_labels, 2, 2), nan_policy, zero_division, dtype)

    def _host_counts(self, y_true: Any, y_pred: Any) -> np.ndarray:
        if self.num_labels == 1:  # one AU: y (n,) against a Dense(1) output (n, 1)
            y_true, y_pred = _vector_as_column(y_true), _vector_as_column(y_pred)
        t, p, _ = _check_multilabel(y_true, y_pred, nan_policy=self.nan_policy,
                                    allow_empty=True)
        if t.shape[1] != self.num_labels:
            raise ValueError(f"{self.name}: y_true and y_pred have {t.shape[1]} label "
                             f"column(s) (shape {t.shape}), expected num_labels="
                             f"{self.num_labels}")
        return _label_confusion(t, p > self.threshold)

    def _traced_counts(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        t = ops.cast(y_true, self._state_dtype)
        p = ops.cast(y_pred, self._state_dtype)
        if self.num_labels == 1:
            t = ops.expand_dims(t, -1) if len(t.shape) == 1 else t
            p = ops.expand_dims(p, -1) if len(p.shape) == 1 else p
        if len(t.shape) != 2 or t.shape[-1] != self.num_labels or \
                (None not in (*t.shape, *p.shape) and tuple(t.shape) != tuple(p.shape)):
            raise ValueError(f"{self.name}: y_true has shape {tuple(t.shape)} and y_pred "
                             f"{tuple(p.shape)}; expected two (n, {self.num_labels})")
        keep = ops.ones_like(t[:, :1])
        if self.nan_policy == "omit":
            missing = ops.any(ops.logical_or(ops.isnan(t), ops.isnan(p)), axis=-1,
                              keepdims=True)
            keep = ops.cast(ops.logical_not(missing), t.dtype)
            t = ops.where(ops.isnan(t), 0.0, t)
            p = ops.where(ops.isnan(p), 0.0, p)
        ok = ops.logical_and(ops.all(ops.logical_or(t == 0, t == 1)),
                             ops.all(ops.isfinite(p)))
        predicted = ops.cast(p > self.threshold, t.dtype) * keep
        t = t * keep
        tp = ops.sum(t * predicted, axis=0)
        pos_true, pos_pred = ops.sum(t, axis=0), ops.sum(predicted, axis=0)
        n = ops.sum(keep)
        cells = ops.stack([n - pos_true - pos_pred + tp, pos_pred - tp, pos_true - tp, tp],
                          axis=-1)
        return ops.reshape(cells, (self.num_labels, 2, 2)), ok

    def _undefined(self) -> float | np.ndarray:
        return np.full(self.num_labels, np.nan) if self.average is None else np.nan

    def _final(self, counts: np.ndarray) -> float | np.ndarray:
        return _multilabel_f1_from_counts(counts, self.average, self.zero_division)

    def _traced_final(self, counts: Any) -> Any:
        fp = counts[:, 0, 1]
        fn, tp = counts[:, 1, 0], counts[:, 1, 1]
        zero = self.zero_division
        empty = ops.sum(counts[0]) == 0
        if self.average == "micro":
            denom = ops.sum(2.0 * tp + fp + fn)
            value = ops.where(denom > 0, 2.0 * ops.sum(tp) / ops.where(denom > 0, denom, 1.0),
                              zero)
            return ops.where(empty, np.nan, value)
        denom = 2.0 * tp + fp + fn
        per_label = ops.where(denom > 0, 2.0 * tp / ops.where(denom > 0, denom, 1.0), zero)
        if self.average is None:
            return ops.where(empty, np.nan, per_label)
        defined = ops.logical_not(ops.isnan(per_label))
        weights = ops.cast(defined, counts.dtype) if self.average == "macro" \
            else ops.where(defined, tp + fn, 0.0)
        weight_sum = ops.sum(weights)
        value = ops.sum(ops.where(defined, per_label, 0.0) * weights) / ops.where(
            weight_sum > 0, weight_sum, 1.0)
        fallback = ops.where(ops.any(defined), zero, np.nan)
        return ops.where(empty, np.nan, ops.where(weight_sum > 0, value, fallback))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_labels": self.num_labels,
                "threshold": self.threshold, "average": self.average}
