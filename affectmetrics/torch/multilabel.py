"""Action-unit occurrence in the torch adapter: per-label 2 x 2 counts on the device."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._validation import _check_nan_policy, _fmt_value
from ..accumulators import _check_positive_int
from ..classification import _check_zero_division
from ..multilabel import _F1_AVERAGES, _check_threshold, _multilabel_f1_from_counts
from . import _steps
from ._base import _as_tensor, _check_length, _DeviceMetric
from .continuous import _NAN_POLICIES, _accept, _check_pieces, _omitted

__all__ = ["MultilabelF1"]

_F64 = torch.float64


class MultilabelF1(_DeviceMetric):
    """F1 per action unit of multi-label predictions, averaged (see
    :func:`affectmetrics.multilabel_f1`).

    .. math::

        F_1^{(l)} = \\frac{2\\,TP_l}{2\\,TP_l + FP_l + FN_l}, \\qquad
        F_1^{macro} = \\frac{1}{L} \\sum_{l} F_1^{(l)}

    The state is the (L, 2, 2) table of [[TN, FP], [FN, TP]] per label, counted on the
    metric's device (summed across processes); ``compute()`` applies the core's final step,
    so the value is the function's on the concatenated batches.

    Parameters
    ----------
    num_labels : int
        Labels (action units), the columns of ``target`` and ``preds``.
    threshold : float, default 0.5
        A label is predicted present when ``preds > threshold`` (0/1 predictions or scores).
    average : {"macro", "micro", "weighted", None}, default "macro"
        None returns one F1 per label.
    zero_division : float, default 0.0
        F1 of a label never present and never predicted (nan leaves it out of the mean).
    nan_policy : {"raise", "omit"}, default "raise"
    **kwargs
        torchmetrics' ``Metric`` options.

    Raises
    ------
    ValueError
        At ``update`` for shapes; at ``compute`` for a batch refused for its values (a truth
        that is not 0/1, NaN under ``"raise"``, inf), which is left out of the state.

    Warns
    -----
    UndefinedMetricWarning
        "multilabel_f1 is undefined" when no samples were seen.

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import MultilabelF1
    >>> metric = MultilabelF1(num_labels=2)
    >>> metric.update(torch.tensor([[0.9, 0.2], [0.8, 0.7]]), torch.tensor([[1, 0], [1, 0]]))
    >>> metric.compute().item()  # AU 1: F1 = 1; AU 2: one false positive, F1 = 0
    0.5
    """

    higher_is_better = True
    plot_lower_bound = 0.0
    plot_upper_bound = 1.0
    _pending_names = ("pending",)

    def __init__(self, num_labels: int, *, threshold: float = 0.5,
                 average: str | None = "macro", zero_division: float = 0.0,
                 nan_policy: str = "raise", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_labels = _check_positive_int(num_labels, "num_labels")
        self.threshold = _check_threshold(threshold)
        if average not in _F1_AVERAGES:
            raise ValueError(f"average must be one of {_F1_AVERAGES}, got {average!r}")
        self.average, self.zero_division = average, _check_zero_division(zero_division)
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        self.add_state("counts", default=torch.zeros(self.num_labels, 2, 2, dtype=torch.int64),
                       dist_reduce_fx="sum")
        self.add_state("n_omitted", default=torch.tensor(0, dtype=torch.int64),
                       dist_reduce_fx="sum")
        self.add_state("pending", default=[], dist_reduce_fx="cat")
        # The threshold and nan_policy decide what a batch adds to the counts: metrics built
        # otherwise must not share or merge them.
        self._add_options_state([_NAN_POLICIES.index(nan_policy), self.threshold])

    def _check_loaded(self, key: str, value: Tensor) -> None:
        if key.endswith(("counts", "n_omitted")) and bool((value < 0).any()):
            raise ValueError(f"state_dict entry {key!r} holds a negative count")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``preds`` (n, L) 0/1 predictions or scores, ``target`` (n, L) 0/1."""
        device = self._state_device()
        t = _as_tensor(target, "target", device)
        p = _as_tensor(preds, "preds", device)
        for name, x in (("target", t), ("preds", p)):
            if x.ndim != 2 or x.shape[1] != self.num_labels:
                raise ValueError(f"{name} must be an (n, {self.num_labels}) matrix, one column "
                                 f"per label (num_labels={self.num_labels}); got shape "
                                 f"{tuple(x.shape)}")
        _check_length(t.shape[0], p.shape[0], ("target", "preds"))
        self.pending.append(torch.cat((t.to(_F64), p.to(_F64)), 1))
        self._maybe_flush()

    def _consume(self, pieces: dict[str, list[Tensor]]) -> None:
        n_labels = self.num_labels
        checked = _check_pieces(pieces["pending"], self.nan_policy, (n_labels, n_labels),
                                (True, True))
        t, p = checked.x[:, :n_labels], checked.x[:, n_labels:]
        not_binary = (t != 0) & (t != 1) & torch.isfinite(t) & ~checked.omit[:, None]
        # The core checks 0/1 truth after NaN and inf: the label check comes last.
        checks = [*checked.checks, _steps.Check(_steps.LABEL, 2, not_binary, t)]
        batch_bad = _steps.per_batch_any(checked.refuse | not_binary.any(1), checked.ids,
                                         checked.n_batches)
        self._record_refusal(checks, batch_bad, checked.ids)
        weight = _accept(checked, batch_bad)
        self.n_omitted = self.n_omitted + _omitted(checked, batch_bad)
        cell = (t == 1).to(torch.int64) * 2 + (p > self.threshold).to(torch.int64)
        cell = cell + 4 * torch.arange(n_labels, device=t.device)[None, :]
        flat = torch.zeros(4 * n_labels, dtype=torch.int64, device=t.device)
        flat.index_add_(0, cell.reshape(-1),
                        weight[:, None].expand(-1, n_labels).reshape(-1).to(torch.int64))
        self.counts = self.counts + flat.view(n_labels, 2, 2)

    def _describe(self, code: int, argument: int, value: float) -> str:
        return (f"{{name}} must hold 0/1 labels; found {_fmt_value(value)} at position "
                "{pos}")

    def compute(self) -> Tensor:
        """F1 over every sample seen (one per label with ``average=None``)."""
        self._flush()
        self._raise_if_refused()
        value = _multilabel_f1_from_counts(self.counts.detach().cpu().numpy(), self.average,
                                           self.zero_division)
        return torch.as_tensor(np.asarray(value), dtype=_F64).to(self.counts.device)
