"""PyTorch adapter: affectmetrics as ``torchmetrics.Metric`` subclasses.

Each metric keeps the core accumulator's state in ``add_state`` tensors and calls the core's
statistics and final steps, so its values are the NumPy core's:

* continuous metrics (``CCC``, ``Pearson``, ``RMSE``, ``SAGR``) keep the packed moments, one
  float64 tensor of shape (13, num_outputs), whose reduction merges whole states with Chan's
  formulas (never an average of per-process values);
* classification metrics keep the confusion matrix (summed) and, for ``AUROC`` and
  ``AveragePrecision``, either every (label, scores) record (concatenated, exact) or per-class
  histograms (``bins=N``, summed).

Under ``torch.distributed`` torchmetrics gathers these states and applies the reductions, so
``compute()`` on every rank equals the core on the union of the shards, whatever their sizes
(an empty shard included).

The metrics accept CPU or CUDA tensors, tensors that require grad and inference tensors;
inputs are detached and read on the CPU (the core is NumPy), so they are not differentiable.
For training, use :func:`ccc_loss`.

Requires the ``torch`` extra: ``pip install 'affectmetrics[torch]'``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._optional import _import_optional

torch = _import_optional("torch", "torch", purpose="affectmetrics.torch")
torchmetrics = _import_optional("torchmetrics", "torch", purpose="affectmetrics.torch")

from ._moments import (  # noqa: E402 - after the optional imports, for their error message
    _empty_moments,
    _merge_moments,
    _merge_packed,
    _pack,
    _unpack,
)
from ._validation import (  # noqa: E402
    _as_numeric,
    _check_classification,
    _check_nan_policy,
)
from .accumulators import (  # noqa: E402
    _check_positive_int,
    _check_score_options,
    _classification_results,
    _continuous_batch,
    _continuous_results,
    _empty_counts,
    _histogram_counts,
    _histograms,
)
from .agreement import _alpha_from_cm  # noqa: E402
from .classification import (  # noqa: E402
    _AVERAGES,
    _check_zero_division,
    _confusion,
    _f1_from_cm,
    _kappa_from_cm,
    _kappa_weight_matrix,
)
from .ranking import (  # noqa: E402
    _check_average,
    _class_counts,
    _micro_counts,
    _score_from_counts,
)

__all__ = [
    "AUROC",
    "CCC",
    "RMSE",
    "SAGR",
    "Accuracy",
    "AffectMetrics",
    "AveragePrecision",
    "CohenKappa",
    "F1Score",
    "KrippendorffAlpha",
    "Pearson",
    "ccc_loss",
]

Tensor = torch.Tensor
_Metric = torchmetrics.Metric
_dim_zero_cat = torchmetrics.utilities.dim_zero_cat


def _to_numpy(x: Any) -> Any:
    """A detached CPU NumPy view of a tensor (other inputs pass through to validation)."""
    if not isinstance(x, Tensor):
        return x
    x = x.detach()
    if x.dtype in (torch.bfloat16, torch.float16):
        x = x.to(torch.float32)
    return x.cpu().numpy()


def _reduce_moments(stacked: Tensor) -> Tensor:
    """Reduction of the packed moments: Chan's merge of the stacked (parts, 13, k) states."""
    merged = _merge_packed(stacked.detach().cpu().numpy())
    return torch.from_numpy(merged).to(stacked.device)


# -- shared state handling ---------------------------------------------------------------


def _add_moment_states(metric: _Metric, num_outputs: int) -> None:
    default = torch.from_numpy(_pack(_empty_moments(num_outputs)))
    metric.add_state("moments", default=default, dist_reduce_fx=_reduce_moments)
    metric.add_state("n_omitted_continuous", default=torch.tensor(0, dtype=torch.int64),
                     dist_reduce_fx="sum")


def _moments_step(metric: _Metric, preds: Any, target: Any) -> Callable[[], None]:
    """Validate and summarise a batch; return the step that adds it to the state.

    Nothing changes until the returned step is called, so a caller with several parts
    (``AffectMetrics``) can check every part before changing any.
    """
    batch, omitted = _continuous_batch(_to_numpy(target), _to_numpy(preds), metric.num_outputs,
                                       metric.nan_policy, names=("target", "preds"))
    merged = None if batch is None else _merge_moments(
        _unpack(metric.moments.cpu().numpy()), batch)

    def apply() -> None:
        metric.n_omitted_continuous += omitted
        if merged is not None:
            metric.moments = torch.from_numpy(_pack(merged)).to(metric.moments.device)

    return apply


def _update_moments(metric: _Metric, preds: Any, target: Any) -> None:
    _moments_step(metric, preds, target)()


def _continuous_values(metric: _Metric) -> dict[str, Tensor]:
    results = _continuous_results(_unpack(metric.moments.cpu().numpy()))
    return {key: torch.from_numpy(value).to(metric.device) for key, value in results.items()}


def _add_classification_states(metric: _Metric, num_classes: int, keep_scores: bool,
                               bins: int | None) -> None:
    metric._labels = np.arange(num_classes)
    metric.add_state("confusion", default=torch.zeros(num_classes, num_classes,
                                                      dtype=torch.int64), dist_reduce_fx="sum")
    metric.add_state("n_omitted_classification", default=torch.tensor(0, dtype=torch.int64),
                     dist_reduce_fx="sum")
    if not keep_scores:
        return
    if bins is None:
        # One flat float64 tensor per batch, [label, C scores] per sample: 1-D so that a rank
        # without data (torchmetrics sends an empty 1-D tensor) gathers with the others.
        metric.add_state("records", default=[], dist_reduce_fx="cat")
    else:
        for name in ("pos_hist", "neg_hist"):
            metric.add_state(name, default=torch.zeros(num_classes, bins, dtype=torch.int64),
                             dist_reduce_fx="sum")


def _classification_step(metric: _Metric, preds: Any, target: Any) -> Callable[[], None]:
    """Validate a batch and summarise it completely; return the step that adds it.

    Nothing changes until the returned step is called: a refused batch (including a score
    outside ``score_range``) leaves every state as it was.
    """
    p = _as_numeric(_to_numpy(preds), "preds")
    c = metric.num_classes
    if metric._keep_scores and p.ndim != 2:
        raise ValueError(f"preds must be an (n, {c}) matrix of scores or logits; got shape "
                         f"{p.shape}")
    data = _check_classification(
        _to_numpy(target), p, labels=metric._labels, nan_policy=metric.nan_policy,
        scores=p.ndim == 2, pred_name="preds", true_name="target", allow_empty=True,
        labels_checked=True,
    )
    if data.y_true.shape[0] == 0:
        def apply_omitted() -> None:
            metric.n_omitted_classification += data.n_omitted

        return apply_omitted
    device = metric.confusion.device
    hists = record = None
    if metric._keep_scores:
        if metric.bins is not None:  # may refuse a score outside score_range
            hists = _histograms(data.y_true, data.y_score, metric.bins, metric.score_range,
                                name="preds", rows=data.rows)
        else:
            record = np.column_stack([data.y_true, data.y_score]).astype(np.float64)
    cm = _confusion(data.y_true, data.predicted, c)

    def apply() -> None:
        metric.n_omitted_classification += data.n_omitted
        if hists is not None:
            metric.pos_hist += torch.from_numpy(hists[0]).to(device)
            metric.neg_hist += torch.from_numpy(hists[1]).to(device)
        if record is not None:
            metric.records.append(torch.from_numpy(record.reshape(-1)).to(device))
        metric.confusion += torch.from_numpy(cm).to(device)

    return apply


def _update_classification(metric: _Metric, preds: Any, target: Any) -> None:
    _classification_step(metric, preds, target)()


def _confusion_of(metric: _Metric) -> np.ndarray:
    return metric.confusion.cpu().numpy()


def _rank_counts_of(metric: _Metric, micro: bool = False) -> list:
    c = metric.num_classes
    if metric.bins is not None:
        pos, neg = metric.pos_hist.cpu().numpy(), metric.neg_hist.cpu().numpy()
        if micro:
            pos, neg = pos.sum(axis=0, keepdims=True), neg.sum(axis=0, keepdims=True)
        return _histogram_counts(pos, neg)
    records = metric.records
    if isinstance(records, list) and not records:
        return _empty_counts(1 if micro else c)
    table = _dim_zero_cat(records).cpu().numpy().reshape(-1, c + 1)
    codes, scores = table[:, 0].astype(np.intp), table[:, 1:]
    if micro:
        return [_micro_counts(codes, scores)]
    return _class_counts(codes, scores)


# -- continuous metrics ------------------------------------------------------------------


class _ContinuousMetric(_Metric):
    full_state_update = False
    is_differentiable = False
    _key: str

    def __init__(self, num_outputs: int = 1, *, nan_policy: str = "raise",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_outputs = _check_positive_int(num_outputs, "num_outputs")
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        _add_moment_states(self, self.num_outputs)

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``(n,)`` (one output) or ``(n, num_outputs)`` tensors."""
        _update_moments(self, preds, target)

    def compute(self) -> Tensor:
        """The metric over every sample seen (and every rank): a scalar, or one per output."""
        value = _continuous_values(self)[self._key]
        return value[0] if self.num_outputs == 1 else value

    def plot(self, val: Any = None, ax: Any = None) -> Any:
        """Plot a single or multiple values from the metric (torchmetrics' convention)."""
        return self._plot(val, ax)


class CCC(_ContinuousMetric):
    """Lin's concordance correlation coefficient (population moments), per output.

    Same value as :func:`affectmetrics.ccc`; torchmetrics' ``ConcordanceCorrCoef`` uses sample
    (n-1) moments instead. ``num_outputs=2`` scores valence and arousal at once.

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import CCC
    >>> metric = CCC()
    >>> metric.update(torch.tensor([2.0, 3.0]), torch.tensor([1.0, 2.0]))
    >>> metric.update(torch.tensor([4.0]), torch.tensor([3.0]))
    >>> round(metric.compute().item(), 6)  # 2 (2/3) / (4/3 + 1) = 4/7
    0.571429
    """

    higher_is_better = True
    plot_lower_bound = -1.0
    plot_upper_bound = 1.0
    _key = "ccc"


class Pearson(_ContinuousMetric):
    """Pearson's correlation coefficient per output (see :func:`affectmetrics.pearson`)."""

    higher_is_better = True
    plot_lower_bound = -1.0
    plot_upper_bound = 1.0
    _key = "pearson"


class RMSE(_ContinuousMetric):
    """Root mean squared error per output (see :func:`affectmetrics.rmse`)."""

    higher_is_better = False
    plot_lower_bound = 0.0
    _key = "rmse"


class SAGR(_ContinuousMetric):
    """Sign agreement per output (see :func:`affectmetrics.sagr`)."""

    higher_is_better = True
    plot_lower_bound = 0.0
    plot_upper_bound = 1.0
    _key = "sagr"


# -- classification metrics --------------------------------------------------------------


class _Float64StateMixin:
    """The states are float64 whatever torch's default dtype.

    torchmetrics stands in ``torch.tensor([], dtype=self.dtype)`` for the list state of a rank
    that saw no data; it must have the records' dtype, or gloo/NCCL gather mismatched bytes.
    """

    @property
    def dtype(self) -> torch.dtype:
        return torch.float64


class _ClassificationMetric(_Float64StateMixin, _Metric):
    full_state_update = False
    is_differentiable = False
    higher_is_better = True
    plot_lower_bound = 0.0
    plot_upper_bound = 1.0
    _keep_scores = False

    def __init__(self, num_classes: int, *, bins: int | None = None,
                 score_range: Sequence[float] = (0.0, 1.0), nan_policy: str = "raise",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = _check_positive_int(num_classes, "num_classes")
        self.bins, self.score_range = _check_score_options(bins, score_range)
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        _add_classification_states(self, self.num_classes, self._keep_scores, self.bins)

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``preds`` (n, C) scores/logits (or (n,) labels where no ranking is
        needed) and ``target`` (n,) class indices 0..C-1."""
        _update_classification(self, preds, target)

    def plot(self, val: Any = None, ax: Any = None) -> Any:
        """Plot a single or multiple values from the metric (torchmetrics' convention)."""
        return self._plot(val, ax)

    def _scalar(self, value: float | np.ndarray) -> Tensor:
        return torch.as_tensor(value, dtype=torch.float64, device=self.device)


class Accuracy(_ClassificationMetric):
    """Accuracy of the arg-max predictions (see :func:`affectmetrics.accuracy`)."""

    def compute(self) -> Tensor:
        """Accuracy over every sample seen."""
        return self._scalar(_classification_results(_confusion_of(self), None,
                                                    np.arange(self.num_classes))["accuracy"])


class F1Score(_ClassificationMetric):
    """F1 score, ``average`` in {"macro", "micro", "weighted", None} (see
    :func:`affectmetrics.f1_score`)."""

    def __init__(self, num_classes: int, *, average: str | None = "macro",
                 zero_division: float = 0.0, **kwargs: Any) -> None:
        super().__init__(num_classes, **kwargs)
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
        self.average, self.zero_division = average, _check_zero_division(zero_division)

    def compute(self) -> Tensor:
        """F1 over every sample seen."""
        return self._scalar(_f1_from_cm(_confusion_of(self), self.average, self.zero_division))


class CohenKappa(_ClassificationMetric):
    """Cohen's kappa, ``weights`` in {None, "linear", "quadratic"} (see
    :func:`affectmetrics.cohen_kappa`)."""

    plot_lower_bound = -1.0

    def __init__(self, num_classes: int, *, weights: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(num_classes, **kwargs)
        _kappa_weight_matrix(1, weights)  # validate the option now, not at compute()
        self.weights = weights

    def compute(self) -> Tensor:
        """Kappa over every sample seen."""
        return self._scalar(_kappa_from_cm(_confusion_of(self), self.weights))


class KrippendorffAlpha(_ClassificationMetric):
    """Krippendorff's alpha (nominal) between target and arg-max prediction."""

    plot_lower_bound = -1.0

    def compute(self) -> Tensor:
        """Alpha over every sample seen."""
        return self._scalar(_alpha_from_cm(_confusion_of(self), np.arange(self.num_classes),
                                           "nominal"))


class _RankingMetric(_ClassificationMetric):
    _keep_scores = True
    _which: str

    def __init__(self, num_classes: int, *, average: str | None = "macro",
                 **kwargs: Any) -> None:
        super().__init__(num_classes, **kwargs)
        _check_average(average)
        self.average = average

    def compute(self) -> Tensor:
        """The exact (or, with ``bins``, binned) value over every sample seen."""
        if self.average == "micro":
            value = _score_from_counts(self._which, _rank_counts_of(self, micro=True),
                                       np.arange(1), "single")
        else:
            value = _score_from_counts(self._which, _rank_counts_of(self),
                                       np.arange(self.num_classes), self.average)
        return self._scalar(value)


class AUROC(_RankingMetric):
    """One-vs-rest ROC AUC, exact by default (see :func:`affectmetrics.roc_auc`).

    ``bins=N`` keeps per-class histograms over ``score_range`` instead of the scores (memory
    O(C·bins)); the error bound is in :class:`affectmetrics.ClassificationAccumulator`.
    """

    _which = "roc_auc"


class AveragePrecision(_RankingMetric):
    """One-vs-rest average precision (step-wise), exact by default (see
    :func:`affectmetrics.pr_auc`)."""

    _which = "pr_auc"


# -- multi-task --------------------------------------------------------------------------


class AffectMetrics(_Float64StateMixin, _Metric):
    """Every metric of the affect report for a multi-task model, in one ``update``.

    Parameters
    ----------
    num_classes : int, default 8
        Expression classes (AffectNet's eight).
    num_outputs : int, default 2
        Continuous outputs (valence and arousal).
    output_names : sequence of str, default ("valence", "arousal")
        Suffixes of the continuous metrics' keys.
    bins, score_range : optional
        As for :class:`AUROC`.
    nan_policy : {"raise", "omit"}, default "raise"

    ``update(preds, target)`` takes ``preds = (expression_scores, va_pred)`` and
    ``target = (expression_labels, va_true)`` (tuples, or dicts with keys ``"expression"``
    and ``"valence_arousal"``). ``compute()`` returns a dict of scalar tensors: ``accuracy``,
    ``f1``, ``kappa``, ``krippendorff_alpha``, ``auc``, ``auc_pr`` and ``ccc_valence``,
    ``pearson_valence``, ``rmse_valence``, ``sagr_valence`` (and the same for arousal).
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = None  # mixed: RMSE is lower-is-better
    _keep_scores = True

    def __init__(self, num_classes: int = 8, num_outputs: int = 2, *,
                 output_names: Sequence[str] = ("valence", "arousal"),
                 bins: int | None = None, score_range: Sequence[float] = (0.0, 1.0),
                 nan_policy: str = "raise", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = _check_positive_int(num_classes, "num_classes")
        self.num_outputs = _check_positive_int(num_outputs, "num_outputs")
        self.output_names = tuple(output_names)
        if len(self.output_names) != self.num_outputs:
            raise ValueError(f"output_names has {len(self.output_names)} names but "
                             f"num_outputs is {self.num_outputs}")
        self.bins, self.score_range = _check_score_options(bins, score_range)
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        _add_classification_states(self, self.num_classes, True, self.bins)
        _add_moment_states(self, self.num_outputs)

    @staticmethod
    def _split(value: Any, name: str) -> tuple[Any, Any]:
        if isinstance(value, dict):
            missing = {"expression", "valence_arousal"} - set(value)
            if missing:
                raise ValueError(f"{name} is missing the keys {sorted(missing)}")
            return value["expression"], value["valence_arousal"]
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return value[0], value[1]
        raise TypeError(f"{name} must be a pair (expression, valence_arousal) or a dict with "
                        f"those keys, got {type(value).__name__}")

    def update(self, preds: Any, target: Any) -> None:
        """Add a batch of expression scores and valence/arousal predictions."""
        expr_pred, va_pred = self._split(preds, "preds")
        expr_true, va_true = self._split(target, "target")
        # Both parts are checked before either changes: a refused batch changes nothing.
        add_expression = _classification_step(self, expr_pred, expr_true)
        add_valence_arousal = _moments_step(self, va_pred, va_true)
        add_expression()
        add_valence_arousal()

    def compute(self) -> dict[str, Tensor]:
        """Every metric over every sample seen (and every rank)."""
        labels = np.arange(self.num_classes)
        results = {
            key: torch.tensor(value, dtype=torch.float64, device=self.device)
            for key, value in _classification_results(_confusion_of(self),
                                                      _rank_counts_of(self), labels).items()
        }
        for key, values in _continuous_values(self).items():
            for name, value in zip(self.output_names, values, strict=True):
                results[f"{key}_{name}"] = value
        return results


# -- loss --------------------------------------------------------------------------------


def ccc_loss(preds: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Differentiable CCC loss, ``1 - CCC`` per output (population moments).

    .. math::

        \\mathcal{L} = 1 - \\frac{2 s_{xy}}{s_x^2 + s_y^2 + (\\bar x - \\bar y)^2}

    the loss most valence/arousal papers train with. Centred (two-pass) moments keep it
    accurate for data far from zero.

    Parameters
    ----------
    preds, target : Tensor of shape (n,) or (n, k)
        Predictions and ground truth (floating point, same shape, n >= 2).
    reduction : {"mean", "sum", "none"}, default "mean"
        How the k per-output losses are combined.

    Returns
    -------
    Tensor
        A scalar, or shape (k,) with ``reduction="none"`` (a scalar for 1-D input).
        In [0, 2]; nan when both sides are constant and equal (undefined CCC).

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import ccc_loss
    >>> pred = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> loss = ccc_loss(pred, torch.tensor([2.0, 3.0, 4.0]))  # 1 - 4/7
    >>> round(loss.item(), 6)
    0.428571
    >>> loss.backward()
    """
    if not isinstance(preds, Tensor) or not isinstance(target, Tensor):
        raise TypeError("preds and target must be torch tensors")
    if preds.shape != target.shape:
        raise ValueError(f"preds has shape {tuple(preds.shape)} but target has shape "
                         f"{tuple(target.shape)}; they must have the same shape")
    if preds.ndim not in (1, 2) or preds.shape[0] < 2:
        raise ValueError(f"preds and target must be (n,) or (n, k) with n >= 2, got shape "
                         f"{tuple(preds.shape)}")
    if not (preds.is_floating_point() and target.is_floating_point()):
        raise TypeError("preds and target must be floating-point tensors")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    dp = preds - preds.mean(dim=0)
    dt = target - target.mean(dim=0)
    covariance = (dp * dt).mean(dim=0)
    gap = (preds - target).mean(dim=0)
    denominator = (dp * dp).mean(dim=0) + (dt * dt).mean(dim=0) + gap * gap
    loss = 1.0 - 2.0 * covariance / denominator
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
