"""Keras 3 adapter: exact epoch metrics on every backend, and a callback that scores the report.

* :class:`CCC`, :class:`Pearson`, :class:`RMSE` and :class:`SAGR` are ``keras.metrics.Metric``
  subclasses written with ``keras.ops`` only. Their state is weighted sums of deviations from
  a fixed pivot (``n``, ``Σ(t-c)``, ``Σ(p-c)``, ``Σ(t-c)²``, ``Σ(p-c)²``, ``Σ(t-c)(p-c)``,
  ``Σ(t-p)²``, sign agreements), which add up exactly across batches and across replicas:
  ``tf.distribute`` combines metric variables by summing them, so the state must be sums,
  not means or centred M2 values. The variables are float64 where the backend allows it
  (TensorFlow, PyTorch, JAX with ``jax_enable_x64``), else float32 with Kahan compensation.
  The result is exact over the epoch, not an average of per-batch values.
* :class:`AffectMetricsCallback` predicts the validation data at the end of each epoch,
  scores the full report with the NumPy core and writes ``val_``-prefixed keys into
  ``logs``, where ``ReduceLROnPlateau``, ``EarlyStopping``, ``ModelCheckpoint`` and
  ``CSVLogger`` see them.
* :func:`ccc_loss`: a differentiable ``1 - CCC`` for training valence/arousal heads.

Requires the ``keras`` extra: ``pip install 'affectmetrics[keras]'`` (and a backend).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._optional import _import_optional

keras = _import_optional("keras", "keras", purpose="affectmetrics.keras")
ops = keras.ops

from .exceptions import DiagnosticWarning  # noqa: E402 - after the optional import
from .report import Report, evaluate  # noqa: E402

__all__ = ["CCC", "RMSE", "SAGR", "AffectMetricsCallback", "Pearson", "ccc_loss"]

_SUMS = ("weight", "true", "pred", "true_sq", "pred_sq", "cross", "sq_error", "agree")


def _float64_available() -> bool:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return bool(jax.config.read("jax_enable_x64"))
    return backend in ("tensorflow", "torch", "numpy")


class _MomentMetric(keras.metrics.Metric):
    """Shared state and update of the continuous metrics."""

    _direction = "up"

    def __init__(self, name: str | None = None, *, num_outputs: int = 1,
                 column: int | None = None, pivot: float = 0.0, dtype: Any = None) -> None:
        super().__init__(name=name or self._default_name, dtype=dtype)
        if isinstance(num_outputs, bool) or not isinstance(num_outputs, int) or num_outputs < 1:
            raise ValueError(f"num_outputs must be a positive integer, got {num_outputs!r}")
        if column is not None and not 0 <= int(column) < num_outputs:
            raise ValueError(f"column must be in 0..{num_outputs - 1}, got {column!r}")
        self.num_outputs = num_outputs
        self.column = None if column is None else int(column)
        self.pivot = float(pivot)
        self._state_dtype = "float64" if _float64_available() else "float32"
        self._compensated = self._state_dtype == "float32"
        width = 1 if self.column is not None else num_outputs
        self._sums = {}
        self._compensation = {}
        for key in _SUMS:
            self._sums[key] = self.add_variable(shape=(width,), initializer="zeros",
                                                dtype=self._state_dtype, aggregation="sum",
                                                name=key)
            if self._compensated:
                self._compensation[key] = self.add_variable(
                    shape=(width,), initializer="zeros", dtype=self._state_dtype,
                    aggregation="sum", name=f"{key}_compensation")

    def _columns(self, values: Any) -> Any:
        values = ops.cast(values, self._state_dtype)
        if len(values.shape) == 1:
            values = ops.expand_dims(values, -1)
        if values.shape[-1] is not None and values.shape[-1] != self.num_outputs:
            raise ValueError(f"{self.name}: expected {self.num_outputs} output column(s), got "
                             f"shape {tuple(values.shape)}")
        if self.column is not None:
            values = values[:, self.column:self.column + 1]
        return values

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch of ``(n,)`` or ``(n, num_outputs)`` values, optionally weighted."""
        t_raw, p_raw = self._columns(y_true), self._columns(y_pred)
        agree = ops.cast(ops.equal(ops.sign(t_raw), ops.sign(p_raw)), self._state_dtype)
        t, p = t_raw - self.pivot, p_raw - self.pivot
        if sample_weight is None:
            w = ops.ones_like(t[:, :1])
        else:
            w = ops.reshape(ops.cast(sample_weight, self._state_dtype), (-1, 1))
        diff = t_raw - p_raw
        batch = {
            "weight": ops.sum(w * ops.ones_like(t), axis=0),
            "true": ops.sum(w * t, axis=0),
            "pred": ops.sum(w * p, axis=0),
            "true_sq": ops.sum(w * t * t, axis=0),
            "pred_sq": ops.sum(w * p * p, axis=0),
            "cross": ops.sum(w * t * p, axis=0),
            "sq_error": ops.sum(w * diff * diff, axis=0),
            "agree": ops.sum(w * agree, axis=0),
        }
        for key, value in batch.items():
            total = self._sums[key]
            if not self._compensated:
                total.assign_add(value)
                continue
            # Kahan: carry the low-order bits lost by each float32 addition.
            carry = self._compensation[key]
            corrected = value - carry
            new_total = total + corrected
            carry.assign((new_total - total) - corrected)
            total.assign(new_total)

    def _moments(self) -> dict[str, Any]:
        sums = {key: ops.convert_to_tensor(var) - (
            ops.convert_to_tensor(self._compensation[key]) if self._compensated else 0.0)
            for key, var in self._sums.items()}
        n = sums["weight"]
        mean_t, mean_p = sums["true"] / n, sums["pred"] / n
        return {
            "n": n,
            "var_t": ops.maximum(sums["true_sq"] / n - mean_t * mean_t, 0.0),
            "var_p": ops.maximum(sums["pred_sq"] / n - mean_p * mean_p, 0.0),
            "cov": sums["cross"] / n - mean_t * mean_p,
            "gap": mean_t - mean_p,
            "mse": sums["sq_error"] / n,
            "sagr": sums["agree"] / n,
        }

    def result(self) -> Any:
        """The metric over every sample so far; the mean over columns if several."""
        return ops.cast(ops.mean(self._value(self._moments())), self.dtype)

    def reset_state(self) -> None:
        for var in (*self._sums.values(), *self._compensation.values()):
            var.assign(ops.zeros(var.shape, dtype=var.dtype))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "num_outputs": self.num_outputs, "column": self.column,
                "pivot": self.pivot, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="affectmetrics")
class CCC(_MomentMetric):
    """Lin's concordance correlation coefficient over the epoch (population moments).

    Parameters
    ----------
    name : str, default "ccc"
    num_outputs : int, default 1
        Columns of ``y_true``/``y_pred`` (2 for valence and arousal).
    column : int, optional
        Score this column only; by default the result is the mean over the columns.
    pivot : float, default 0.0
        The state is sums of deviations from this value. In float64 (TensorFlow, PyTorch)
        0 is accurate to about 1e-10 for data within 1e3 of it; with the float32 fallback,
        set it near the data's mean.

    Examples
    --------
    >>> import numpy as np
    >>> from affectmetrics.keras import CCC
    >>> metric = CCC()
    >>> metric.update_state(np.array([1.0, 2.0]), np.array([2.0, 3.0]))
    >>> metric.update_state(np.array([3.0]), np.array([4.0]))
    >>> round(float(metric.result()), 6)  # 2 (2/3) / (4/3 + 1) = 4/7
    0.571429
    """

    _default_name = "ccc"

    def _value(self, m: dict[str, Any]) -> Any:
        return 2.0 * m["cov"] / (m["var_t"] + m["var_p"] + m["gap"] * m["gap"])


@keras.saving.register_keras_serializable(package="affectmetrics")
class Pearson(_MomentMetric):
    """Pearson's correlation coefficient over the epoch (not a mean of per-batch values)."""

    _default_name = "pearson"

    def _value(self, m: dict[str, Any]) -> Any:
        return ops.clip(m["cov"] / ops.sqrt(m["var_t"] * m["var_p"]), -1.0, 1.0)


@keras.saving.register_keras_serializable(package="affectmetrics")
class RMSE(_MomentMetric):
    """Root mean squared error over the epoch."""

    _default_name = "rmse"
    _direction = "down"

    def _value(self, m: dict[str, Any]) -> Any:
        return ops.sqrt(m["mse"])


@keras.saving.register_keras_serializable(package="affectmetrics")
class SAGR(_MomentMetric):
    """Sign agreement over the epoch (0 agrees only with 0)."""

    _default_name = "sagr"

    def _value(self, m: dict[str, Any]) -> Any:
        return m["sagr"]


@keras.saving.register_keras_serializable(package="affectmetrics")
def ccc_loss(y_true: Any, y_pred: Any) -> Any:
    """Differentiable ``1 - CCC`` (population moments), averaged over output columns.

    Use it as a Keras loss for valence/arousal heads: ``loss={"va": ccc_loss}``. It is a
    batch-level loss (CCC is not a sum over samples), so use batches of a few dozen samples.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    if len(y_pred.shape) == 1:
        y_true, y_pred = ops.expand_dims(y_true, -1), ops.expand_dims(y_pred, -1)
    dt = y_true - ops.mean(y_true, axis=0)
    dp = y_pred - ops.mean(y_pred, axis=0)
    covariance = ops.mean(dt * dp, axis=0)
    gap = ops.mean(y_true - y_pred, axis=0)
    denominator = ops.mean(dt * dt, axis=0) + ops.mean(dp * dp, axis=0) + gap * gap
    return ops.mean(1.0 - 2.0 * covariance / denominator)


# -- the callback ------------------------------------------------------------------------


_LOWER_IS_BETTER = ("rmse",)


def _numpy(value: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(value))


def _as_list(value: Any, names: Sequence[str]) -> list[Any]:
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"validation targets lack the output(s) {missing}; they have "
                             f"{sorted(value)}")
        return [value[n] for n in names]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class AffectMetricsCallback(keras.callbacks.Callback):
    """Score the full affect report on validation data at the end of every epoch.

    At each epoch end the model predicts ``validation_data``; the expression scores and
    the valence/arousal predictions are scored with :func:`affectmetrics.evaluate` (exact,
    NumPy core) and every metric is written into ``logs`` with the prefix ``val_``:
    ``val_accuracy``, ``val_f1``, ``val_kappa``, ``val_krippendorff_alpha``, ``val_auc``,
    ``val_auc_pr``, ``val_ccc_valence``, ``val_rmse_arousal``, ...

    **Order matters.** Keras calls callbacks in list order with the same ``logs`` dict, so
    put this callback *before* ``ReduceLROnPlateau``, ``EarlyStopping``,
    ``ModelCheckpoint`` and ``CSVLogger`` in ``callbacks=[...]``; then they can monitor
    its keys. A callback placed earlier that monitors one of these keys triggers a warning
    at the start of training. A monitoring callback left at ``mode="auto"`` is given the
    key's direction (``"max"``, or ``"min"`` for RMSE), since Keras cannot infer it for keys
    that are not compiled metrics.

    Parameters
    ----------
    validation_data : tuple (x, y), tf.data.Dataset or keras.utils.PyDataset
        ``y`` is a dict keyed by output name, a list in output order, or a single array.
        Datasets yield ``(x, y)`` batches.
    expression_output, va_output : str or int, optional
        The model outputs holding the expression scores (n, C) and the valence/arousal
        predictions (n, 2), by name or position. By default the outputs named
        ``"expression"`` and ``"valence_arousal"``; failing that, a single (n, 2) output is
        taken as valence/arousal and a single wider one as expression.
    class_names, output_names : optional
        As for :func:`affectmetrics.evaluate`.
    prefix : str, default "val_"
    keep_reports : bool, default False
        Keep each epoch's :class:`~affectmetrics.Report` in :attr:`reports` (for plots).
    batch_size : int, default 32
        For ``model.predict`` on an ``(x, y)`` tuple.
    """

    def __init__(self, validation_data: Any, *, expression_output: str | int | None = None,
                 va_output: str | int | None = None,
                 class_names: Sequence[str] | None = None,
                 output_names: Sequence[str] = ("valence", "arousal"), prefix: str = "val_",
                 keep_reports: bool = False, batch_size: int = 32) -> None:
        super().__init__()
        self.validation_data = validation_data
        self.expression_output, self.va_output = expression_output, va_output
        self.class_names = class_names
        self.output_names = tuple(output_names)
        self.prefix = prefix
        self.keep_reports = keep_reports
        self.batch_size = batch_size
        self.reports: list[Report] = []

    # - which outputs are which -
    def _output_names(self) -> list[str]:
        names = getattr(self.model, "output_names", None)
        return list(names) if names else ["output_0"]

    def _resolve(self, chosen: str | int | None, default: str, names: list[str]) -> int | None:
        if chosen is None:
            return names.index(default) if default in names else None
        if isinstance(chosen, int):
            if not 0 <= chosen < len(names):
                raise ValueError(f"output index {chosen} out of range for {len(names)} outputs")
            return chosen
        if chosen not in names:
            raise ValueError(f"the model has no output named {chosen!r}; it has {names}")
        return names.index(chosen)

    def _indices(self, preds: list[np.ndarray], names: list[str]
                 ) -> tuple[int | None, int | None]:
        expr = self._resolve(self.expression_output, "expression", names)
        va = self._resolve(self.va_output, "valence_arousal", names)
        if expr is None and va is None:
            for i, values in enumerate(preds):
                width = values.shape[-1] if values.ndim == 2 else 1
                if width == len(self.output_names) and va is None:
                    va = i
                elif width > 2 and expr is None:
                    expr = i
        if expr is None and va is None:
            raise ValueError("AffectMetricsCallback found neither an expression nor a "
                             "valence/arousal output; pass expression_output= or va_output=")
        return expr, va

    # - prediction over the validation data -
    def _names_of(self, prediction: Any) -> list[str]:
        # A model with dict outputs predicts a dict: its keys are the output names (a
        # nested head can make ``model.output_names`` report the inner model's name).
        return list(prediction) if isinstance(prediction, dict) else self._output_names()

    def _predict(self) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
        data = self.validation_data
        if isinstance(data, tuple) and len(data) >= 2:
            x, y = data[0], data[1]
            prediction = self.model.predict(x, batch_size=self.batch_size, verbose=0)
            names = self._names_of(prediction)
            return ([_numpy(p) for p in _as_list(prediction, names)],
                    [_numpy(t) for t in _as_list(y, names)], names)
        if isinstance(data, keras.utils.PyDataset):
            batches = (data[i] for i in range(len(data)))
        else:
            batches = iter(data)
        pred_parts: list[list[np.ndarray]] = []
        true_parts: list[list[np.ndarray]] = []
        names: list[str] = []
        for batch in batches:
            x, y = batch[0], batch[1]
            prediction = self.model.predict_on_batch(x)
            names = self._names_of(prediction)
            pred_parts.append([_numpy(p) for p in _as_list(prediction, names)])
            true_parts.append([_numpy(t) for t in _as_list(y, names)])
        if not pred_parts:
            raise ValueError("validation_data yielded no batches")
        return ([np.concatenate(parts) for parts in zip(*pred_parts, strict=True)],
                [np.concatenate(parts) for parts in zip(*true_parts, strict=True)], names)

    def score(self) -> Report:
        """Predict the validation data and score it (also usable outside ``fit``)."""
        preds, truths, names = self._predict()
        expr, va = self._indices(preds, names)
        kwargs: dict[str, Any] = {}
        if expr is not None:
            labels = truths[expr]
            if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot targets
                labels = labels.argmax(axis=1)
            kwargs.update(expression=labels.reshape(-1), expression_pred=preds[expr],
                          class_names=self.class_names)
        if va is not None:
            kwargs.update(va=truths[va], va_pred=preds[va], output_names=self.output_names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DiagnosticWarning)
            return evaluate(**kwargs, model=getattr(self.model, "name", "model"), warn=False)

    # - Keras hooks -
    def on_train_begin(self, logs: dict | None = None) -> None:
        siblings = _sibling_callbacks()
        if siblings is None:
            return
        mine = siblings.index(self) if self in siblings else len(siblings)
        for position, callback in enumerate(siblings):
            monitor = getattr(callback, "monitor", None)
            if not isinstance(monitor, str) or not monitor.startswith(self.prefix):
                continue
            key = monitor[len(self.prefix):]
            if not _is_report_key(key):
                continue
            if position < mine:
                warnings.warn(
                    f"{type(callback).__name__} monitors {monitor!r} but comes before "
                    "AffectMetricsCallback in callbacks=[...], so it runs before the value "
                    "is written; put AffectMetricsCallback first",
                    UserWarning, stacklevel=2)
            if getattr(callback, "mode", None) == "auto" \
                    and getattr(callback, "monitor_op", None) is None:
                callback.mode = "min" if key.startswith(_LOWER_IS_BETTER) else "max"

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        report = self.score()
        if logs is not None:
            for key, value in report.metrics.items():
                logs[f"{self.prefix}{key}"] = float(value)
        if self.keep_reports:
            self.reports.append(report)


def _is_report_key(key: str) -> bool:
    stems = ("accuracy", "f1", "kappa", "krippendorff_alpha", "auc", "auc_pr", "rmse_",
             "pearson_", "sagr_", "ccc_", "abaw_")
    return key.startswith(stems)


def _sibling_callbacks() -> list[Any] | None:
    """The callbacks of the running ``fit``, read from the calling CallbackList (best effort).

    Keras gives a callback no handle on its list; the list's ``on_train_begin`` is the
    caller's frame, so its ``self`` is the list.
    """
    frame = sys._getframe(2)
    owner = frame.f_locals.get("self") if frame is not None else None
    if isinstance(owner, keras.callbacks.CallbackList):
        return list(owner.callbacks)
    return None
