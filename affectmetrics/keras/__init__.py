"""Keras 3 adapter: exact epoch metrics on every backend, and a callback that scores the report.

* :class:`CCC`, :class:`Pearson`, :class:`RMSE` and :class:`SAGR` are ``keras.metrics.Metric``
  subclasses written with ``keras.ops``. Their state is summable, so that ``tf.distribute``
  (which sums metric variables across replicas) combines it exactly: per column, the weighted
  Gram matrix of ``(1, t - c, p - c, t - p, [sign t = sign p])`` about a fixed pivot ``c``,
  plus the running minimum and maximum of truth and prediction, which decide constancy
  exactly (``max == min``), as the core does. The variables are float64 where the backend
  has it (TensorFlow, PyTorch, JAX with ``jax_enable_x64``).
* An eager ``update_state`` validates the batch with the core's own checks before it
  changes anything, so a refused batch leaves the state as it was. A compiled one
  (``tf.function``, ``jax.jit``) checks shapes when it is traced and finiteness on device: a
  batch with NaN or inf is not added, is counted, and makes ``result()`` nan with a warning.
* ``result()`` converts the state into the core's moments and applies the core's final
  step (same values, same :class:`~affectmetrics.UndefinedMetricWarning`); inside a compiled
  function it evaluates the same formulas with ``keras.ops`` (tested equal to the core).
* :meth:`CCC.per_output` and friends give one metric per output column (``ccc_valence``,
  ``ccc_arousal``) sharing one state, for ``ReduceLROnPlateau``/``EarlyStopping`` monitors.
* :class:`UAR` and :class:`MultilabelF1` (in ``keras/_labels.py``) keep confusion counts
  and share the core's validation and final steps in the same way.
* :class:`AffectMetricsCallback` predicts the validation data at the end of each epoch,
  scores the full report with the NumPy core and writes ``val_``-prefixed keys into
  ``logs``, where ``ReduceLROnPlateau``, ``EarlyStopping``, ``ModelCheckpoint`` and
  ``CSVLogger`` see them.
* :func:`ccc_loss`: a differentiable ``1 - CCC`` for training valence/arousal heads.

Requires the ``keras`` extra and one Keras backend: ``pip install 'affectmetrics[keras]'``
plus ``tensorflow-cpu``, ``torch`` or ``jax``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from .._moments import (
    _ccc_from_moments,
    _empty_moments,
    _Moments,
    _pearson_from_moments,
    _rmse_from_moments,
    _sagr_from_moments,
    _scale,
)
from .._validation import _check_continuous, _check_nan_policy
from ..exceptions import DiagnosticWarning, UndefinedMetricWarning, _warn_undefined
from ..report import CLASSIFICATION_ROWS, CONTINUOUS_ROWS, Report, evaluate
from ._backend import (
    _float64_available,
    _host,
    _in_keras_step,
    _is_concrete,
    _numpy,
    _on_host,
    _positive_int,
    _same_rank,
    in_stateless_scope,
    keras,
    ops,
)

__all__ = ["CCC", "RMSE", "SAGR", "UAR", "AffectMetricsCallback", "MultilabelF1", "Pearson",
           "ccc_loss"]

# Rows and columns of the per-column Gram matrix kept as state.
_ONE, _TRUE, _PRED, _DIFF, _AGREE = range(5)
_WIDTH = 5


def _host_statistics(t: np.ndarray, p: np.ndarray, w: np.ndarray | None, pivot: float,
                     name: str) -> tuple[np.ndarray, np.ndarray]:
    """A validated float64 batch's Gram matrix (width, 5, 5) and extremes (2, width, 5).

    Rows per column: ``(1, t - c, p - c, t - p, [sign t = sign p])``, written into one
    buffer; the extremes are the maxima of the unshifted rows and of their negatives (so
    constancy is exact), the Gram matrix one batched product. Magnitudes outside the
    supported range are refused (ValueError naming the metric) before the product.
    """
    n, width = t.shape
    rows = np.empty((width, _WIDTH, n))
    rows[:, _ONE] = 1.0
    rows[:, _TRUE] = t.T
    rows[:, _PRED] = p.T
    np.subtract(rows[:, _TRUE], rows[:, _PRED], out=rows[:, _DIFF])
    np.equal(np.sign(rows[:, _TRUE]), np.sign(rows[:, _PRED]), out=rows[:, _AGREE],
             casting="unsafe")
    extremes = np.stack([rows.max(axis=2), -rows.min(axis=2)])
    _check_range(extremes, name)
    if pivot:
        rows[:, _TRUE:_PRED + 1] -= pivot
    return np.matmul(rows if w is None else rows * w, rows.transpose(0, 2, 1)), extremes


# Magnitudes the unscaled state supports: squares and their sums stay normal floats.
_RANGE = (1e-140, 1e140)


def _out_of_range(amax: Any) -> Any:
    """Where a largest magnitude is outside the range (0, all zeros, is inside)."""
    return (amax > _RANGE[1]) | ((amax > 0) & (amax < _RANGE[0]))


def _check_range(extremes: np.ndarray, name: str) -> None:
    """Refuse a batch with a side (truth or prediction) of a column whose largest magnitude
    is outside the range: each side of each column has its own sums of squares, so a tiny
    column next to a normal one would underflow (a varying column read as variance 0)."""
    amax = np.abs(extremes[:, :, _TRUE:_PRED + 1]).max(axis=0)  # (width, 2)
    bad = _out_of_range(amax)
    if bad.any():
        amax = float(amax[bad].max() if (amax[bad] > 1).any() else amax[bad].min())
        raise ValueError(
            f"{name}: y_true/y_pred reach the magnitude {amax:.3g}, outside the range "
            f"[{_RANGE[0]:g}, {_RANGE[1]:g}] that the Keras metric state supports (its sums "
            "of squares would under- or overflow); rescale the data, or score them with "
            "the affectmetrics functions, which scale any representable data")


def _state_moments(gram: np.ndarray, maxima: np.ndarray, minima: np.ndarray,
                   pivot: float) -> _Moments:
    """The core's moments from the Keras state (float64 NumPy arrays).

    ``gram`` is (k, 5, 5), ``maxima``/``minima`` (k, 5) over the rows
    ``(1, t, p, t - p, agree)``; sums of squares are centred here,
    ``M2 = Σ(t-c)² - (Σ(t-c))² / n``, and brought to the core's units (its power-of-two
    scales, 1 for every magnitude in ``[2**-300, 2**300]``).
    """
    n = float(gram[0, _ONE, _ONE])
    k = gram.shape[0]
    if n == 0:
        return _empty_moments(k)
    s_t, s_p, s_d = gram[:, _ONE, _TRUE], gram[:, _ONE, _PRED], gram[:, _ONE, _DIFF]
    agree = gram[:, _ONE, _AGREE]
    if n.is_integer() and np.all(agree == np.rint(agree)):
        n, agree = int(n), agree.astype(np.int64)
    low_t, high_t = minima[:, _TRUE], maxima[:, _TRUE]
    low_p, high_p = minima[:, _PRED], maxima[:, _PRED]
    unit_t, unit_p = _scale(low_t, high_t, np), _scale(low_p, high_p, np)
    unit_d = np.maximum(unit_t, unit_p)
    return _Moments(
        n,
        pivot + s_t / n,
        pivot + s_p / n,
        s_d / n / unit_d,
        np.maximum(gram[:, _TRUE, _TRUE] - s_t * s_t / n, 0.0) / unit_t / unit_t,
        np.maximum(gram[:, _PRED, _PRED] - s_p * s_p / n, 0.0) / unit_p / unit_p,
        (gram[:, _TRUE, _PRED] - s_t * s_p / n) / unit_t / unit_p,
        gram[:, _DIFF, _DIFF] / unit_d / unit_d,
        agree,
        low_t, high_t, low_p, high_p,
    )


class _MomentMetric(keras.metrics.Metric):
    """Shared state, update and result of the continuous metrics."""

    _default_name: ClassVar[str]
    _final: ClassVar[Callable[[_Moments], np.ndarray]]
    _direction = "up"

    def __init__(self, name: str | None = None, *, num_outputs: int = 1,
                 column: int | None = None, pivot: float = 0.0, nan_policy: str = "raise",
                 dtype: Any = None) -> None:
        state_dtype = "float64" if _float64_available() else "float32"
        super().__init__(name=name or self._default_name, dtype=dtype or state_dtype)
        num_outputs = _positive_int(num_outputs, "num_outputs")
        if column is not None and (isinstance(column, (bool, np.bool_))
                                   or not isinstance(column, (int, np.integer))
                                   or not 0 <= column < num_outputs):
            raise ValueError(f"column must be in 0..{num_outputs - 1}, got {column!r}")
        if isinstance(pivot, (bool, np.bool_)) or not np.isfinite(float(pivot)):
            raise ValueError(f"pivot must be a finite number, got {pivot!r}")
        _check_nan_policy(nan_policy)
        self.num_outputs = num_outputs
        self.column = None if column is None else int(column)
        self.pivot = float(pivot)
        self.nan_policy = nan_policy
        self._state_dtype = state_dtype
        self._compensated = state_dtype == "float32"
        # Input columns kept in the state (all, or the one ``column``), and which state
        # column result() reports (None: the mean over all).
        self._keep = None if column is None else self.column
        self._report: int | None = None if column is None else 0
        self._owner: Callable[[], _MomentMetric] | None = None
        width = num_outputs if column is None else 1
        self._gram = self.add_variable(shape=(width, _WIDTH, _WIDTH), initializer="zeros",
                                       dtype=state_dtype, aggregation="sum", name="gram")
        # Running maxima of the rows and of their negatives: [max, -min] (2, width, 5).
        self._extremes = self.add_variable(
            shape=(2, width, _WIDTH), initializer=keras.initializers.Constant(-np.inf),
            dtype=state_dtype, aggregation="only_first_replica", name="extremes")
        self._refused = self.add_variable(shape=(), initializer="zeros", dtype=state_dtype,
                                          aggregation="sum", name="refused")
        if self._compensated:
            self._carry = self.add_variable(shape=(width, _WIDTH, _WIDTH),
                                            initializer="zeros", dtype=state_dtype,
                                            aggregation="sum", name="gram_compensation")

    # - shared state for per-output views -
    @classmethod
    def per_output(cls, output_names: Sequence[str] = ("valence", "arousal"), *,
                   prefix: str | None = None, **kwargs: Any) -> list[_MomentMetric]:
        """One metric per output column, named ``<prefix>_<output>``, sharing one state.

        The first metric of the list adds each batch (every column in one update); the
        others read its state. In a single-output model the log keys are ``ccc_valence``
        and ``val_ccc_valence``; in a multi-output model Keras prefixes the output's name
        (``val_valence_arousal_ccc_valence``).

        Parameters
        ----------
        output_names : sequence of str, default ("valence", "arousal")
            One name per column of ``y_true``/``y_pred``.
        prefix : str, optional
            Defaults to the metric's name (``"ccc"``, ``"pearson"``, ...).
        **kwargs
            ``pivot``, ``nan_policy``, ``dtype``, as for the metric.

        Returns
        -------
        list of metrics
            Pass them all to ``compile(metrics=...)``; the first must be among them.

        Examples
        --------
        >>> from affectmetrics.keras import CCC
        >>> [m.name for m in CCC.per_output(("valence", "arousal"))]
        ['ccc_valence', 'ccc_arousal']
        """
        names = [str(name) for name in output_names]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"output_names must be distinct names, got {output_names!r}")
        stem = prefix or cls._default_name
        k = len(names)
        owner = cls(name=f"{stem}_{names[0]}", num_outputs=k, **kwargs)
        owner.column, owner._report = 0, 0
        metrics = [owner]
        for j, output in enumerate(names[1:], start=1):
            view = cls(name=f"{stem}_{output}", num_outputs=k, column=j, **kwargs)
            view._owner, view._report = (lambda: owner), j
            metrics.append(view)
        return metrics

    # - update -
    def _host_batch(self, y_true: Any, y_pred: Any, sample_weight: Any
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Validate a batch with the core's checks (NumPy); raises before any change."""
        t_raw, p_raw = _same_rank(_host(y_true), _host(y_pred))
        w = None
        if sample_weight is not None:
            w = np.asarray(_host(sample_weight), dtype=np.float64)
            rows = np.shape(t_raw)[0] if np.ndim(t_raw) else 0
            if w.ndim == 2 and w.shape[1] == 1:
                w = w[:, 0]
            elif w.ndim == 0:  # one weight for every sample, as Keras' metrics and the
                w = np.full(rows, w)  # compiled update take it
            if w.shape != (rows,):
                raise ValueError(f"{self.name}: sample_weight has shape {w.shape}; expected "
                                 f"({rows},), one weight per sample of y_true")
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError(f"{self.name}: sample_weight must be finite and "
                                 "non-negative")
        t, p, omitted = _check_continuous(t_raw, p_raw, nan_policy=self.nan_policy,
                                          allow_empty=True)
        if omitted and w is not None:
            t_all = np.asarray(t_raw, dtype=np.float64).reshape(len(w), -1)
            p_all = np.asarray(p_raw, dtype=np.float64).reshape(len(w), -1)
            w = w[~(np.isnan(t_all).any(axis=1) | np.isnan(p_all).any(axis=1))]
        if t.ndim == 1:
            t, p = t[:, None], p[:, None]
        if t.shape[1] != self.num_outputs:
            raise ValueError(f"{self.name}: y_true and y_pred have {t.shape[1]} column(s) "
                             f"(shape {t.shape}), expected num_outputs={self.num_outputs}")
        if self._keep is not None:
            t, p = t[:, self._keep:self._keep + 1], p[:, self._keep:self._keep + 1]
        return t, p, w  # converted to float64 where the statistics are formed

    def _traced_columns(self, values: Any, name: str) -> Any:
        values = ops.cast(ops.convert_to_tensor(values), self._state_dtype)
        if len(values.shape) == 1:
            values = ops.expand_dims(values, -1)
        if len(values.shape) != 2 or values.shape[-1] != self.num_outputs:
            raise ValueError(f"{self.name}: {name} has shape {tuple(values.shape)}; expected "
                             f"(n,) or (n, {self.num_outputs})")
        if self._keep is not None:
            values = values[:, self._keep:self._keep + 1]
        return values

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch of ``(n,)`` or ``(n, num_outputs)`` values, optionally weighted.

        Raises
        ------
        ValueError
            (Eager.) The core's checks: shapes differ, NaN under ``nan_policy="raise"``,
            inf; a column count other than ``num_outputs``; negative or non-finite
            ``sample_weight``. The state is unchanged.
        TypeError
            Non-numeric input.
        """
        if self._owner is not None:
            return  # a per-output view: the first metric of the list adds the batch
        if _is_concrete(y_pred) and _on_host(y_true) and _on_host(y_pred):
            t, p, w = self._host_batch(y_true, y_pred, sample_weight)
            if t.shape[0]:
                self._accumulate(*_host_statistics(t, p, w, self.pivot, self.name))
            return
        t = self._traced_columns(y_true, "y_true")
        p = self._traced_columns(y_pred, "y_pred")
        if tuple(t.shape) != tuple(p.shape) and None not in (*t.shape, *p.shape):
            raise ValueError(f"{self.name}: y_true has shape {tuple(t.shape)} but y_pred has "
                             f"shape {tuple(p.shape)}; they must have the same shape")
        w = None if sample_weight is None else ops.reshape(
            ops.cast(ops.convert_to_tensor(sample_weight), self._state_dtype), (-1,))
        mask = None
        if self.nan_policy == "omit":
            mask = ops.any(ops.logical_or(ops.isnan(t), ops.isnan(p)), axis=1)
            keep = ops.cast(ops.logical_not(mask), self._state_dtype)
            w = keep if w is None else w * keep
            t = ops.where(ops.isnan(t), 0.0, t)
            p = ops.where(ops.isnan(p), 0.0, p)
        if _is_concrete(t) and not self._device_batch_ok(t, p, w):
            # Eager, on an accelerator, a batch that fails the device check (finiteness,
            # weights, magnitude range): the host path raises the core's error, or (a
            # false alarm, such as a huge value in a row that "omit" drops) adds it.
            batch = self._host_batch(y_true, y_pred, sample_weight)
            if batch[0].shape[0]:
                self._accumulate(*_host_statistics(*batch, self.pivot, self.name))
            return
        self._accumulate(*self._traced_statistics(t, p, w, mask, gate=not _is_concrete(t)))

    def _device_batch_ok(self, t: Any, p: Any, w: Any) -> bool:
        """The eager checks of the host path that a device batch can fail, in one
        synchronisation: one weight per sample, finite values and non-negative weights,
        magnitudes within the range the state supports (per side and column)."""
        if w is not None and tuple(w.shape) != (t.shape[0],):
            return False
        amax = ops.stack([ops.max(ops.abs(t), axis=0, initial=0.0),
                          ops.max(ops.abs(p), axis=0, initial=0.0)])  # per side and column
        in_range = ops.logical_not(ops.any(_out_of_range(amax)))
        return bool(_numpy(ops.logical_and(self._finite(t, p, w), in_range)))

    def _finite(self, t: Any, p: Any, w: Any) -> Any:
        ok = ops.logical_and(ops.all(ops.isfinite(t)), ops.all(ops.isfinite(p)))
        if w is not None:
            ok = ops.logical_and(ok, ops.all(ops.logical_and(ops.isfinite(w), w >= 0)))
        return ok

    def _traced_statistics(self, t: Any, p: Any, w: Any, mask: Any, gate: bool
                           ) -> tuple[Any, Any]:
        """:func:`_host_statistics` in ``keras.ops``, for traced or on-device batches."""
        t, p = ops.transpose(t), ops.transpose(p)  # (width, n): rows stay contiguous
        agree = ops.cast(ops.equal(ops.sign(t), ops.sign(p)), t.dtype)
        raw = ops.stack([ops.ones_like(t), t, p, t - p, agree], axis=1)  # (width, 5, n)
        rows = raw
        if self.pivot:
            shift = np.array([0.0, self.pivot, self.pivot, 0.0, 0.0])[:, None]
            rows = raw - ops.convert_to_tensor(shift, t.dtype)
        weighted = rows if w is None else rows * ops.reshape(w, (1, 1, -1))
        # A broadcast product and one sum: torch's float64 batched matmul of these thin
        # matrices is slower by orders of magnitude on a loaded CPU.
        gram = ops.sum(weighted[:, :, None, :] * rows[:, None, :, :], axis=-1)
        if mask is not None:
            omitted = ops.reshape(mask, (1, 1, -1))
            extremes = ops.stack([ops.max(ops.where(omitted, -np.inf, raw), axis=2),
                                  ops.max(ops.where(omitted, -np.inf, -raw), axis=2)])
        else:
            extremes = ops.stack([ops.max(raw, axis=2), -ops.min(raw, axis=2)])
        if gate:
            # Traced: a batch with NaN or inf (after omission) or a negative weight is not
            # added; it is counted, and result() is nan.
            ok = self._finite(t, p, w)
            gram = ops.where(ok, gram, 0.0)
            extremes = ops.where(ok, extremes, -np.inf)
            self._refused.assign_add(1.0 - ops.cast(ok, self._state_dtype))
        return gram, extremes

    def _accumulate(self, gram: Any, extremes: Any) -> None:
        """Add a batch's Gram matrix and fold in its extremes (three variable ops)."""
        if isinstance(gram, np.ndarray) and not self._compensated \
                and keras.backend.backend() == "torch" and not in_stateless_scope():
            # Eager torch: two in-place ops on the variables' tensors; Keras' generic
            # assign costs about ten tensor conversions per call.
            import torch

            with torch.no_grad():
                total, folded = self._gram.value, self._extremes.value
                total.add_(torch.from_numpy(gram).to(total.device))
                torch.maximum(folded, torch.from_numpy(extremes).to(folded.device), out=folded)
            return
        self._extremes.assign(_larger(self._extremes.value,
                                      ops.convert_to_tensor(extremes, self._state_dtype)))
        gram = ops.convert_to_tensor(gram, self._state_dtype)
        if not self._compensated:
            self._gram.assign_add(gram)
            return
        # float32 (JAX without x64): Kahan summation carries the bits each addition loses.
        corrected = gram - self._carry
        total = self._gram + corrected
        self._carry.assign((total - self._gram) - corrected)
        self._gram.assign(total)

    # - result -
    def _source(self) -> _MomentMetric:
        return self._owner() if self._owner is not None else self

    def _columns_of(self, values: Any) -> Any:
        return values if self._report is None else values[self._report:self._report + 1]

    def _read(self) -> tuple[Any, Any, Any, Any]:
        source = self._source()
        gram = source._gram.value
        if source._compensated:
            gram = gram - source._carry.value
        extremes = _read_extremes(source._extremes)
        return (self._columns_of(gram), self._columns_of(extremes[0]),
                self._columns_of(-extremes[1]),
                source._refused.value)

    def result(self) -> Any:
        """The metric over every sample so far; the mean over columns if several.

        Eagerly, the core's final step on the state (with its warnings); traced, the same
        formulas in ``keras.ops``.
        """
        gram, maxima, minima, refused = self._read()
        if not _is_concrete(gram):
            return ops.cast(ops.mean(self._traced_values(gram, maxima, minima, refused)),
                            self.dtype)
        with warnings.catch_warnings():
            if _in_keras_step():  # a running value: the epoch-end read warns
                warnings.simplefilter("ignore", UndefinedMetricWarning)
            value = float(np.mean(self._core_values(
                *(_numpy(a).astype(np.float64) for a in (gram, maxima, minima, refused)))))
        return ops.convert_to_tensor(value, self.dtype)

    def _core_values(self, gram: np.ndarray, maxima: np.ndarray, minima: np.ndarray,
                     refused: np.ndarray) -> np.ndarray:
        if refused > 0:
            _warn_undefined(f"{self._default_name} is undefined: {int(refused)} batch(es) "
                            "with NaN, inf or a negative sample_weight were refused by a "
                            "compiled update_state; returning nan")
            return np.full(gram.shape[0], np.nan)
        return type(self)._final(_state_moments(gram, maxima, minima, self.pivot))

    def _traced_values(self, gram: Any, maxima: Any, minima: Any, refused: Any) -> Any:
        """The core's final step in ``keras.ops`` (no warnings: they need eager values)."""
        n = gram[:, _ONE, _ONE]
        safe_n = ops.where(n > 0, n, 1.0)
        s_t, s_p = gram[:, _ONE, _TRUE], gram[:, _ONE, _PRED]
        const_t = ops.equal(maxima[:, _TRUE], minima[:, _TRUE])
        const_p = ops.equal(maxima[:, _PRED], minima[:, _PRED])
        stats = {
            "n": n,
            "m2_t": _nonnegative(const_t, gram[:, _TRUE, _TRUE] - s_t * s_t / safe_n),
            "m2_p": _nonnegative(const_p, gram[:, _PRED, _PRED] - s_p * s_p / safe_n),
            "cross": ops.where(ops.logical_or(const_t, const_p), 0.0,
                               gram[:, _TRUE, _PRED] - s_t * s_p / safe_n),
            "gap": ops.where(ops.logical_and(const_t, const_p),
                             maxima[:, _TRUE] - maxima[:, _PRED],
                             gram[:, _ONE, _DIFF] / safe_n),
            "sse": gram[:, _DIFF, _DIFF], "agree": gram[:, _ONE, _AGREE],
            "const_t": const_t, "const_p": const_p, "safe_n": safe_n,
        }
        values = self._traced_final(stats)
        undefined = ops.logical_or(n <= 0, refused > 0)
        return ops.where(undefined, np.nan, values)

    def _traced_final(self, s: dict[str, Any]) -> Any:
        raise NotImplementedError

    def reset_state(self) -> None:
        if self._owner is not None:
            return
        for var in self.variables:
            fill = -np.inf if var is self._extremes else 0.0
            var.assign(ops.full(var.shape, fill, dtype=var.dtype))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "num_outputs": self.num_outputs, "column": self.column,
                "pivot": self.pivot, "nan_policy": self.nan_policy, "dtype": self.dtype}


def _larger(a: Any, b: Any) -> Any:
    """The elementwise maximum in the inputs' dtype: ``ops.maximum`` returns float32 for
    float64 tensors on the PyTorch backend, which rounded the running extremes and made a
    prediction that varies below float32 resolution "constant"."""
    return ops.where(a >= b, a, b)


def _nonnegative(constant: Any, m2: Any) -> Any:
    """0 for a constant column, else ``max(m2, 0)`` (``where``, not ``ops.maximum(m2, 0.0)``,
    which returns float32 on the PyTorch backend)."""
    return ops.where(ops.logical_or(constant, m2 < 0), 0.0, m2)


def _read_extremes(variable: Any) -> Any:
    """The running extremes, reduced over the replicas of a ``tf.distribute`` strategy."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        value = variable.value
        # A mirrored metric variable keeps one copy per replica; read outside a replica
        # function (with or without the strategy's scope), all copies are reduced.
        strategy = getattr(value, "_distribute_strategy", None)
        outside_replicas = not tf.distribute.has_strategy() \
            or tf.distribute.in_cross_replica_context()
        if strategy is not None and outside_replicas:
            parts = strategy.experimental_local_results(value)
            return ops.max(ops.stack([ops.convert_to_tensor(part) for part in parts]), axis=0)
    return variable.value


@keras.saving.register_keras_serializable(package="affectmetrics")
class CCC(_MomentMetric):
    """Lin's concordance correlation coefficient over the epoch (population moments).

    .. math::

        \\mathrm{CCC} = \\frac{2 s_{xy}}{s_x^2 + s_y^2 + (\\bar x - \\bar y)^2}

    Parameters
    ----------
    name : str, default "ccc"
    num_outputs : int, default 1
        Columns of ``y_true``/``y_pred`` (2 for valence and arousal).
    column : int, optional
        Score this column only; by default the result is the mean over the columns
        (see :meth:`per_output` for one metric per column).
    pivot : float, default 0.0
        The state is sums about this value. In float64, data within about 100 standard
        deviations of it give the core's value to 1e-9 relative (docs/keras.md).
    nan_policy : {"raise", "omit"}, default "raise"
        As for :func:`affectmetrics.ccc`.
    dtype : optional
        Of ``result()``; the state's (float64 where available) by default.

    Warns
    -----
    UndefinedMetricWarning
        From ``result()``, as :func:`affectmetrics.ccc` (both sides constant and equal, no
        samples), or when a compiled update refused a batch.

    Notes
    -----
    A constant prediction gives exactly 0 when the truth varies; constancy is decided
    from the running minimum and maximum, never from a rounded variance.

    References
    ----------
    L. I.-K. Lin, "A concordance correlation coefficient to evaluate reproducibility",
    Biometrics 45(1), 255-268, 1989.

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
    _final = staticmethod(_ccc_from_moments)

    def _traced_final(self, s: dict[str, Any]) -> Any:
        denom = s["m2_t"] + s["m2_p"] + s["n"] * s["gap"] * s["gap"]
        zero = ops.equal(denom, 0.0)
        return ops.where(zero, np.nan, 2.0 * s["cross"] / ops.where(zero, 1.0, denom))


@keras.saving.register_keras_serializable(package="affectmetrics")
class Pearson(_MomentMetric):
    """Pearson's correlation coefficient over the epoch (not a mean of per-batch values).

    .. math::

        r = \\frac{s_{xy}}{s_x s_y}

    Parameters as for :class:`CCC` (default name ``"pearson"``).

    Warns
    -----
    UndefinedMetricWarning
        From ``result()`` when either side is constant (decided exactly), as
        :func:`affectmetrics.pearson`; the value is nan.

    Examples
    --------
    >>> import numpy as np
    >>> from affectmetrics.keras import Pearson
    >>> metric = Pearson()
    >>> metric.update_state(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 5.0, 7.0, 9.0]))
    >>> float(metric.result())  # y = 2x + 1
    1.0
    """

    _default_name = "pearson"
    _final = staticmethod(_pearson_from_moments)

    def _traced_final(self, s: dict[str, Any]) -> Any:
        undefined = ops.logical_or(s["const_t"], s["const_p"])
        scale = ops.sqrt(ops.where(undefined, 1.0, s["m2_t"] * s["m2_p"]))
        return ops.where(undefined, np.nan, ops.clip(s["cross"] / scale, -1.0, 1.0))


@keras.saving.register_keras_serializable(package="affectmetrics")
class RMSE(_MomentMetric):
    """Root mean squared error over the epoch.

    .. math::

        \\mathrm{RMSE} = \\sqrt{\\tfrac{1}{n} \\sum_i (x_i - y_i)^2}

    Parameters as for :class:`CCC` (default name ``"rmse"``); lower is better.

    Examples
    --------
    >>> import numpy as np
    >>> from affectmetrics.keras import RMSE
    >>> metric = RMSE()
    >>> metric.update_state(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 4.0]))
    >>> round(float(metric.result()), 6)  # sqrt(4 / 3)
    1.154701
    """

    _default_name = "rmse"
    _direction = "down"
    _final = staticmethod(_rmse_from_moments)

    def _traced_final(self, s: dict[str, Any]) -> Any:
        return ops.sqrt(s["sse"] / s["safe_n"])


@keras.saving.register_keras_serializable(package="affectmetrics")
class SAGR(_MomentMetric):
    """Sign agreement over the epoch (0 agrees only with 0).

    .. math::

        \\mathrm{SAGR} = \\tfrac{1}{n} \\sum_i [\\mathrm{sign}(x_i) = \\mathrm{sign}(y_i)]

    Parameters as for :class:`CCC` (default name ``"sagr"``).

    Examples
    --------
    >>> import numpy as np
    >>> from affectmetrics.keras import SAGR
    >>> metric = SAGR()
    >>> metric.update_state(np.array([0.5, -0.2, 0.0, -1.0]), np.array([0.1, 0.3, 0.0, -0.4]))
    >>> float(metric.result())
    0.75
    """

    _default_name = "sagr"
    _final = staticmethod(_sagr_from_moments)

    def _traced_final(self, s: dict[str, Any]) -> Any:
        return s["agree"] / s["safe_n"]


@keras.saving.register_keras_serializable(package="affectmetrics")
def ccc_loss(y_true: Any, y_pred: Any) -> Any:
    """Differentiable ``1 - CCC`` (population moments), averaged over output columns.

    Use it as a Keras loss for valence/arousal heads: ``loss={"va": ccc_loss}``. It is a
    batch-level loss (CCC is not a sum over samples), so use batches of a few dozen samples.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    # Keras' convention: a trailing axis of length 1 on one side only is dropped (y (n,)
    # against a Dense(1) output (n, 1)); anything else that differs is refused, never
    # broadcast into an (n, n) product.
    if len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    elif len(y_pred.shape) == len(y_true.shape) + 1 and y_pred.shape[-1] == 1:
        y_pred = ops.squeeze(y_pred, -1)
    if len(y_true.shape) != len(y_pred.shape) or any(
            a is not None and b is not None and a != b
            for a, b in zip(y_true.shape, y_pred.shape, strict=True)):
        raise ValueError(f"ccc_loss: y_true has shape {tuple(y_true.shape)} but y_pred has "
                         f"shape {tuple(y_pred.shape)}; they must have the same shape")
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
            if not isinstance(monitor, str):
                continue
            # Compiled metrics are logged by Keras, under "val_" (whatever this callback's
            # prefix) for validation and without a prefix for training.
            compiled = _compiled_direction(self.model, monitor.removeprefix("val_"))
            if compiled is not None:
                # A compiled affectmetrics metric, under Keras' output-name prefix in a
                # multi-output model, where Keras cannot find its direction by name.
                if getattr(callback, "mode", None) == "auto" \
                        and getattr(callback, "monitor_op", None) is None:
                    callback.mode = compiled
                continue
            if not monitor.startswith(self.prefix):
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
    """True for the keys the callback writes: the report's rows (``uar``, ``icc_valence``
    included), read from the report's own tables so that a new row is covered."""
    exact = {name for name, _ in CLASSIFICATION_ROWS}
    stems = (*(f"{name}_" for name, _ in CONTINUOUS_ROWS), "abaw_")
    return key in exact or key.startswith(stems)


def _compiled_direction(model: Any, key: str) -> str | None:
    """``"max"``/``"min"`` if ``key`` is the log key of a compiled affectmetrics metric.

    Read from the metrics given to ``compile`` (Keras builds its own list only after the
    first step, after ``on_train_begin``).
    """
    candidates: list[Any] = []
    for holder in getattr(model, "metrics", None) or []:
        inner = getattr(holder, "metrics", None)
        candidates += inner if isinstance(inner, list) else [holder]
        for attribute in ("_user_metrics", "_user_weighted_metrics"):
            given = getattr(holder, attribute, None)
            if given is not None:
                candidates += keras.tree.flatten(given)
    for metric in candidates:
        if isinstance(metric, _MomentMetric) and (
                key == metric.name or key.endswith(f"_{metric.name}")):
            return "max" if metric._direction == "up" else "min"
    return None


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


# Metrics on confusion counts (UAR, multi-label F1), in their own module.
from ._labels import UAR, MultilabelF1  # noqa: E402
