"""Classification metrics of the torch adapter, from an on-device confusion matrix.

States on the metric's device: the (C, C) int64 confusion matrix (counted with
``index_add``, which unlike ``bincount`` does not synchronise on CUDA), and for the ranking
metrics either every accepted ``[label, C scores]`` record (exact; concatenated across
ranks) or per-class histograms of positives' and negatives' scores (``bins=N``; summed).
``compute()`` calls the core's final step of the one metric computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import array_api_compat.torch as _xp
import numpy as np
import torch
from torch import Tensor

from .._scores import (
    _SCORE_KINDS,
    _SUM_TOLERANCE,
    _check_score_kind,
    _normalised_scores,
    _probability_rows,
)
from .._validation import _NAN_POLICIES, _check_nan_policy, _fmt_value
from ..accumulators import _check_positive_int, _check_score_options, _histogram_counts
from ..agreement import _alpha_from_cm
from ..classification import (
    _AVERAGES,
    _accuracy_from_cm,
    _check_zero_division,
    _f1_from_cm,
    _kappa_from_cm,
    _kappa_weight_matrix,
    _uar_from_cm,
)
from ..ranking import _check_average, _class_counts, _micro_counts, _score_from_counts
from . import _steps
from ._base import _as_tensor, _check_length, _DeviceMetric, _pieces
from .continuous import _check_loaded_moments, _check_pieces, _Checked

__all__ = ["AUROC", "Accuracy", "AveragePrecision", "CohenKappa", "F1Score",
           "KrippendorffAlpha"]

_F64 = torch.float64
_dim_zero_cat = __import__("torchmetrics").utilities.dim_zero_cat


def _classification_piece(preds: Any, target: Any, num_classes: int, scores_only: bool,
                          device: torch.device, names: tuple[str, str] = ("target", "preds")
                          ) -> tuple[str, Tensor]:
    """Shape checks and the batch as one float64 copy: ("scores", (n, 1 + C)) for a score
    matrix, ("labels", (n, 2)) for predicted labels."""
    t = _as_tensor(target, names[0], device)
    p = _as_tensor(preds, names[1], device)
    if t.ndim != 1:
        raise ValueError(f"{names[0]} must be 1-D class labels (n,); got a {t.ndim}-D tensor "
                         f"of shape {tuple(t.shape)}")
    if p.ndim not in (1, 2) or (scores_only and p.ndim != 2):
        raise ValueError(f"{names[1]} must be an (n, {num_classes}) matrix of scores or logits"
                         f"{'' if scores_only else ' or (n,) labels'}; got shape "
                         f"{tuple(p.shape)}")
    _check_length(t.shape[0], p.shape[0], names)
    if p.ndim == 2 and p.shape[1] != num_classes:
        raise ValueError(f"{names[1]} has {p.shape[1]} columns but num_classes is "
                         f"{num_classes}; they must match (one column per class)")
    if p.ndim == 1:
        return "labels", torch.stack((t.to(_F64), p.to(_F64)), 1)
    return "scores", torch.cat((t[:, None].to(_F64), p.to(_F64)), 1)


def _label_problems(values: Tensor, num_classes: int, skip: Tensor) -> Tensor:
    """Entries that are finite but not one of the codes 0..C-1 (rows in ``skip`` aside)."""
    bad = (values != torch.floor(values)) | (values < 0) | (values >= num_classes)
    return bad & torch.isfinite(values) & ~skip[:, None]


class _ClassificationBase(_DeviceMetric):
    """Shared by the classification metrics and :class:`AffectMetrics`."""

    num_classes: int
    nan_policy: str
    scores: str
    bins: int | None
    score_range: tuple[float, float]
    _keep_scores = False

    def _add_classification_states(self) -> None:
        c = self.num_classes
        self.add_state("confusion", default=torch.zeros(c, c, dtype=torch.int64),
                       dist_reduce_fx="sum")
        self.add_state("n_omitted_classification", default=torch.tensor(0, dtype=torch.int64),
                       dist_reduce_fx="sum")
        self.add_state("pending_scores", default=[], dist_reduce_fx="cat")
        self.add_state("pending_labels", default=[], dist_reduce_fx="cat")
        options = [_NAN_POLICIES.index(self.nan_policy)]
        if self._keep_scores:
            options += [_SCORE_KINDS.index(self.scores), *self.score_range]
        self._add_options_state(options)
        if not self._keep_scores:
            return
        if self.bins is None:
            # One flat float64 tensor per flush, [label, C scores] per row (label -1: not
            # counted): 1-D so that a rank without data (an empty 1-D tensor) gathers too.
            self.add_state("records", default=[], dist_reduce_fx="cat")
        else:
            for name in ("pos_hist", "neg_hist"):
                self.add_state(name, default=torch.zeros(c, self.bins, dtype=torch.int64),
                               dist_reduce_fx="sum")

    def _append_classification(self, kind: str, piece: Tensor) -> None:
        getattr(self, f"pending_{kind}").append(piece)

    def _check_classification(self, pieces: list[Tensor], labels: bool) -> _Checked:
        checked = _check_pieces(pieces, self.nan_policy, (1, 1 if labels else self.num_classes),
                                (False, not labels))
        t, s = checked.x[:, :1], checked.x[:, 1:]
        checks, refuse = list(checked.checks), checked.refuse
        extra = [(0, t)] + ([(1, s)] if labels else [])  # arguments: 1-D target, 1-D preds
        for argument, values in extra:
            bad = _label_problems(values, self.num_classes, checked.omit)
            checks.append(_steps.Check(_steps.LABEL, argument, bad, values))
            refuse = refuse | bad.any(1)
        ranked = None
        if self._keep_scores and not labels:
            # The core's score rule, row by row on the device (_scores.py); rows that will
            # not count (NaN, inf) are zeroed first so that nothing spills into others.
            usable = torch.where(torch.isfinite(s).all(1, keepdim=True), s, 0.0)
            ranked = _normalised_scores(_xp, usable, self.scores)
            if self.scores == "probabilities":
                bad = (~_probability_rows(_xp, usable) & ~checked.omit)[:, None]
                checks.append(_steps.Check(_steps.NOT_PROBABILITY, 1, bad,
                                           usable.sum(1, keepdim=True)))
                refuse = refuse | bad[:, 0]
            if self.bins is not None:
                lo, hi = self.score_range
                bad = ((ranked < lo) | (ranked > hi)) & ~checked.omit[:, None]
                checks.append(_steps.Check(_steps.OUT_OF_RANGE, 3, bad, ranked))
                refuse = refuse | bad.any(1)
        return checked._replace(checks=checks, refuse=refuse, ranked=ranked)

    def _add_classification(self, checked: _Checked, weight: Tensor, labels: bool) -> None:
        c = self.num_classes
        t, s = checked.x[:, 0], checked.x[:, 1:]
        codes_t = torch.where(weight, t, 0.0).to(torch.int64)
        if labels:
            codes_p = torch.where(weight, s[:, 0], 0.0).to(torch.int64)
        else:
            codes_p = torch.argmax(torch.where(weight[:, None], s, 0.0), 1)
        flat = torch.zeros(c * c, dtype=torch.int64, device=t.device)
        flat.index_add_(0, codes_t * c + codes_p, weight.to(torch.int64))
        self.confusion = self.confusion + flat.view(c, c)
        if not self._keep_scores or labels:
            return
        s = checked.ranked
        if self.bins is None:
            record = torch.cat((torch.where(weight, t, -1.0)[:, None], s), 1)
            self.records.append(record.reshape(-1))
            return
        lo, hi = self.score_range
        scaled = (torch.where(weight[:, None], s, lo) - lo) * (self.bins / (hi - lo))
        index = scaled.to(torch.int64).clamp(max=self.bins - 1)
        index = index + (torch.arange(c, device=t.device) * self.bins)[None, :]
        positive = codes_t[:, None] == torch.arange(c, device=t.device)[None, :]
        for name, mask in (("pos_hist", positive), ("neg_hist", ~positive)):
            counts = torch.zeros(c * self.bins, dtype=torch.int64, device=t.device)
            counts.index_add_(0, index.reshape(-1), (mask & weight[:, None]).reshape(-1)
                              .to(torch.int64))
            setattr(self, name, getattr(self, name) + counts.view(c, self.bins))

    def _settle(self, checked: _Checked, batch_bad: Tensor, labels: bool) -> None:
        """Record the first refusal and add the accepted rows to the states."""
        self._record_refusal(checked.checks, batch_bad, checked.ids)
        weight = ~batch_bad[checked.ids] & ~checked.omit
        self.n_omitted_classification = (self.n_omitted_classification
                                         + (checked.omit & ~batch_bad[checked.ids]).sum())
        self._add_classification(checked, weight, labels)

    def _describe(self, code: int, argument: int, value: float) -> str:
        if code == _steps.NOT_PROBABILITY:
            return (f"{{name}} row {{pos}} is not a probability vector (entries in [0, 1] "
                    f"summing to 1 within {_SUM_TOLERANCE}; its sum is {value:.6g}); "
                    "scores='probabilities' needs one per row (pass scores='logits' or 'auto' "
                    "for logits)")
        if code == _steps.LABEL:
            c = self.num_classes
            shown = ", ".join(str(i) for i in range(min(c, 10))) + (", ..." if c > 10 else "")
            return (f"{{name}} contains the label {_fmt_value(value)} at index {{pos}}, which "
                    f"is not among the classes [{shown}] (0..{c - 1} given by num_classes)")
        return (f"{{name}} has the value {_fmt_value(value)} at position {{pos}}, outside "
                f"score_range {self.score_range}; binned mode needs scores in that range "
                "(e.g. probabilities), or bins=None")

    def _check_loaded(self, key: str, value: Tensor) -> None:
        if key.endswith(("confusion", "pos_hist", "neg_hist", "omitted_classification")) \
                and bool((value < 0).any()):
            raise ValueError(f"state_dict entry {key!r} holds a negative count")
        _check_loaded_moments(key, value)  # AffectMetrics

    # -- compute -------------------------------------------------------------------------------

    def _confusion_of(self) -> np.ndarray:
        return self.confusion.detach().cpu().numpy()

    def _rank_counts_of(self, micro: bool = False) -> list:
        c = self.num_classes
        if self.bins is not None:
            pos = self.pos_hist.detach().cpu().numpy()
            neg = self.neg_hist.detach().cpu().numpy()
            if micro:
                pos, neg = pos.sum(axis=0, keepdims=True), neg.sum(axis=0, keepdims=True)
            return _histogram_counts(pos, neg)
        records = self.records
        flat = (_dim_zero_cat(records).detach().cpu().numpy()
                if not isinstance(records, list) or records else np.zeros(0))
        table = flat.reshape(-1, c + 1)
        table = table[table[:, 0] >= 0]
        codes, scores = table[:, 0].astype(np.intp), table[:, 1:]
        if micro:
            return [_micro_counts(codes, scores)]
        return _class_counts(codes, scores)


class _ClassificationMetric(_ClassificationBase):
    higher_is_better = True
    plot_lower_bound = 0.0
    plot_upper_bound = 1.0
    _pending_names = ("pending_scores", "pending_labels")

    def __init__(self, num_classes: int, *, bins: int | None = None,
                 score_range: Sequence[float] = (0.0, 1.0), scores: str = "auto",
                 nan_policy: str = "raise", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = _check_positive_int(num_classes, "num_classes")
        self.bins, self.score_range = _check_score_options(bins, score_range)
        self.scores = _check_score_kind(scores)
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        self._add_classification_states()

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``preds`` (n, C) scores or logits (or (n,) labels where no ranking is
        needed) and ``target`` (n,) class indices 0..C-1."""
        kind, piece = _classification_piece(preds, target, self.num_classes,
                                            self._keep_scores, self._state_device())
        if _pieces(getattr(self, "pending_labels" if kind == "scores" else "pending_scores")):
            # Scores and labels wait in two lists; summarised in the order given, the first
            # refused batch is the one reported.
            self._flush()
        self._append_classification(kind, piece)
        self._maybe_flush()

    def _consume(self, pieces: dict[str, list[Tensor]]) -> None:
        for kind in ("scores", "labels"):
            batches = pieces[f"pending_{kind}"]
            if batches:
                labels = kind == "labels"
                checked = self._check_classification(batches, labels)
                batch_bad = _steps.per_batch_any(checked.refuse, checked.ids,
                                                 checked.n_batches)
                self._settle(checked, batch_bad, labels)

    def _scalar(self, value: float | np.ndarray) -> Tensor:
        return torch.as_tensor(value, dtype=_F64).to(self.confusion.device)

    def _checked_confusion(self) -> np.ndarray:
        self._flush()
        self._raise_if_refused()
        return self._confusion_of()


class Accuracy(_ClassificationMetric):
    """Accuracy of the arg-max predictions (see :func:`affectmetrics.accuracy`).

    .. math::

        \\mathrm{accuracy} = \\frac{\\operatorname{tr} M}{\\sum_{ij} M_{ij}}

    for the confusion matrix :math:`M`, counted on the metric's device.

    Parameters
    ----------
    num_classes : int
        Classes; ``target`` holds indices 0..num_classes-1.
    nan_policy : {"raise", "omit"}, default "raise"
    **kwargs
        torchmetrics' ``Metric`` options.

    Raises
    ------
    ValueError
        At ``update`` for shapes; at ``compute`` for a batch refused for its values (a
        label out of range, NaN under ``"raise"``, inf), which is left out of the state.

    Warns
    -----
    UndefinedMetricWarning
        "accuracy is undefined" when no samples were seen.

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import Accuracy
    >>> metric = Accuracy(num_classes=3)
    >>> metric.update(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]]), torch.tensor([0, 1]))
    >>> metric.compute().item()  # one of two right
    0.5
    """

    def compute(self) -> Tensor:
        """Accuracy over every sample seen."""
        return self._scalar(_accuracy_from_cm(self._checked_confusion()))


class F1Score(_ClassificationMetric):
    """F1 score, ``average`` in {"macro", "micro", "weighted", None} (see
    :func:`affectmetrics.f1_score`).

    .. math::

        F_1 = \\frac{2\\,TP}{2\\,TP + FP + FN}

    per class from the on-device confusion matrix, then averaged.

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import F1Score
    >>> metric = F1Score(num_classes=2)
    >>> metric.update(torch.tensor([0, 1, 1, 1]), torch.tensor([0, 0, 1, 1]))
    >>> round(metric.compute().item(), 6)  # (2/3 + 4/5) / 2
    0.733333
    """

    def __init__(self, num_classes: int, *, average: str | None = "macro",
                 zero_division: float = 0.0, **kwargs: Any) -> None:
        super().__init__(num_classes, **kwargs)
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
        self.average, self.zero_division = average, _check_zero_division(zero_division)

    def compute(self) -> Tensor:
        """F1 over every sample seen."""
        return self._scalar(_f1_from_cm(self._checked_confusion(), self.average,
                                        self.zero_division))


class UAR(_ClassificationMetric):
    """Unweighted average recall of the arg-max predictions (see :func:`affectmetrics.uar`).

    .. math::

        \\mathrm{UAR} = \\frac{1}{C} \\sum_{c=1}^{C} \\frac{M_{cc}}{\\sum_j M_{cj}}

    from the on-device confusion matrix :math:`M`; a class without true samples has recall
    ``zero_division`` (nan leaves it out of the mean, as scikit-learn's balanced accuracy).

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import UAR
    >>> metric = UAR(num_classes=2)
    >>> metric.update(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1]))
    >>> metric.compute().item()  # recalls 1 and 1/2
    0.75
    """

    def __init__(self, num_classes: int, *, zero_division: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(num_classes, **kwargs)
        self.zero_division = _check_zero_division(zero_division)

    def compute(self) -> Tensor:
        """UAR over every sample seen."""
        return self._scalar(_uar_from_cm(self._checked_confusion(), self.zero_division))


class CohenKappa(_ClassificationMetric):
    """Cohen's kappa, ``weights`` in {None, "linear", "quadratic"} (see
    :func:`affectmetrics.cohen_kappa`).

    .. math::

        \\kappa = 1 - \\frac{\\sum_{ij} w_{ij} M_{ij}}{\\sum_{ij} w_{ij} E_{ij}}

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import CohenKappa
    >>> metric = CohenKappa(num_classes=2)
    >>> metric.update(torch.tensor([0, 1, 1, 1]), torch.tensor([0, 0, 1, 1]))
    >>> metric.compute().item()  # (3/4 - 1/2) / (1 - 1/2)
    0.5
    """

    plot_lower_bound = -1.0

    def __init__(self, num_classes: int, *, weights: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(num_classes, **kwargs)
        _kappa_weight_matrix(1, weights)  # validate the option now, not at compute()
        self.weights = weights

    def compute(self) -> Tensor:
        """Kappa over every sample seen."""
        return self._scalar(_kappa_from_cm(self._checked_confusion(), self.weights))


class KrippendorffAlpha(_ClassificationMetric):
    """Krippendorff's alpha (nominal) between target and arg-max prediction.

    .. math::

        \\alpha = 1 - \\frac{D_o}{D_e}

    (observed and expected disagreement, from the confusion matrix; see
    :func:`affectmetrics.krippendorff_alpha`).

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import KrippendorffAlpha
    >>> metric = KrippendorffAlpha(num_classes=2)
    >>> metric.update(torch.tensor([0, 1, 0, 1]), torch.tensor([0, 1, 0, 1]))
    >>> metric.compute().item()
    1.0
    """

    plot_lower_bound = -1.0

    def compute(self) -> Tensor:
        """Alpha over every sample seen."""
        return self._scalar(_alpha_from_cm(self._checked_confusion(),
                                           np.arange(self.num_classes), "nominal"))


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
        self._flush()
        self._raise_if_refused()
        if self.average == "micro":
            value = _score_from_counts(self._which, self._rank_counts_of(micro=True),
                                       np.arange(1), "single")
        else:
            value = _score_from_counts(self._which, self._rank_counts_of(),
                                       np.arange(self.num_classes), self.average)
        return self._scalar(value)


class AUROC(_RankingMetric):
    """One-vs-rest ROC AUC, exact by default (see :func:`affectmetrics.roc_auc`).

    .. math::

        \\mathrm{AUC}_c = P(s_c(\\text{positive}) > s_c(\\text{negative}))
        + \\tfrac12 P(=)

    ``bins=N`` keeps per-class histograms over ``score_range`` instead of the scores (memory
    O(C·bins)); the error bound is in :class:`affectmetrics.ClassificationAccumulator`.
    ``scores`` is the core's score rule (``"auto"``: each row that is a probability vector is
    ranked as given, any other row is taken as logits and softmaxed, on the device), so
    logits and their probabilities give the same AUC however the batches fall.

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import AUROC
    >>> metric = AUROC(num_classes=2)
    >>> metric.update(torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]]),
    ...               torch.tensor([0, 1, 0]))
    >>> metric.compute().item()  # each class: 1 of 2 positive-negative pairs ranked right
    0.5
    """

    _which = "roc_auc"


class AveragePrecision(_RankingMetric):
    """One-vs-rest average precision (step-wise), exact by default (see
    :func:`affectmetrics.pr_auc`).

    .. math::

        \\mathrm{AP} = \\textstyle\\sum_k (R_k - R_{k-1}) P_k

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import AveragePrecision
    >>> metric = AveragePrecision(num_classes=2)
    >>> metric.update(torch.tensor([[0.9, 0.1], [0.2, 0.8]]), torch.tensor([0, 1]))
    >>> metric.compute().item()
    1.0
    """

    _which = "pr_auc"
