"""``AffectMetrics``: expression and valence/arousal metrics of a multi-task model at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._scores import _check_score_kind
from .._validation import _check_nan_policy
from ..accumulators import (
    _check_positive_int,
    _check_score_options,
    _classification_results,
    _continuous_results,
)
from . import _steps
from ._base import _check_length
from .classification import _classification_piece, _ClassificationBase
from .continuous import (
    _accept,
    _add_moment_states,
    _add_moments,
    _check_pieces,
    _continuous_piece,
    _moments_of,
    _omitted,
)

__all__ = ["AffectMetrics"]


def _check_output_names(output_names: Sequence[str], num_outputs: int) -> tuple[str, ...]:
    """``output_names`` as a tuple of ``num_outputs`` distinct strings (the keys' suffixes)."""
    if isinstance(output_names, str):  # "va" would name the outputs "v" and "a"
        raise TypeError(f"output_names must be a sequence of names, one per output, got the "
                        f"string {output_names!r}")
    names = tuple(output_names)
    if len(names) != num_outputs:
        raise ValueError(f"output_names has {len(names)} names but num_outputs is "
                         f"{num_outputs}")
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        raise ValueError(f"output_names must be distinct strings (they suffix the result "
                         f"keys), got {names!r}")
    return names


class AffectMetrics(_ClassificationBase):
    """Every metric of the affect report for a multi-task model, in one ``update``.

    Parameters
    ----------
    num_classes : int, default 8
        Expression classes (AffectNet's eight).
    num_outputs : int, default 2
        Continuous outputs (valence and arousal).
    output_names : sequence of str, default ("valence", "arousal")
        Suffixes of the continuous metrics' keys.
    bins, score_range, scores : optional
        As for :class:`AUROC`.
    nan_policy : {"raise", "omit"}, default "raise"

    ``update(preds, target)`` takes ``preds = (expression_scores, va_pred)`` and
    ``target = (expression_labels, va_true)`` (tuples, or dicts with keys ``"expression"``
    and ``"valence_arousal"``). A batch is accepted or refused as a whole: a problem in
    either part leaves both parts out (the error is raised by ``compute()``, or at once
    for shapes; it names the part: ``preds[1] (valence/arousal)``, ``target[0]
    (expression labels)``, ...). ``compute()`` returns a dict of scalar tensors:
    ``accuracy``, ``uar``, ``f1``, ``kappa``, ``krippendorff_alpha``, ``auc``, ``auc_pr``
    and ``ccc_valence``, ``pearson_valence``, ``rmse_valence``, ``sagr_valence``,
    ``icc_valence`` (and the same for arousal).

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import AffectMetrics
    >>> metric = AffectMetrics(num_classes=2, num_outputs=1, output_names=("valence",))
    >>> metric.update((torch.tensor([[0.8, 0.2], [0.3, 0.7]]), torch.tensor([0.25, 0.5])),
    ...               (torch.tensor([0, 1]), torch.tensor([0.5, 0.25])))
    >>> result = metric.compute()
    >>> result["accuracy"].item(), result["rmse_valence"].item()
    (1.0, 0.25)
    """

    full_state_update = False
    higher_is_better = None  # mixed: RMSE is lower-is-better
    _keep_scores = True
    _pending_names = ("pending_scores", "pending_continuous")
    _names = ("target[0] (expression labels)", "preds[0] (expression scores)",
              "target[1] (valence/arousal)", "preds[1] (valence/arousal)")

    def __init__(self, num_classes: int = 8, num_outputs: int = 2, *,
                 output_names: Sequence[str] = ("valence", "arousal"),
                 bins: int | None = None, score_range: Sequence[float] = (0.0, 1.0),
                 scores: str = "auto", nan_policy: str = "raise", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = _check_positive_int(num_classes, "num_classes")
        self.num_outputs = _check_positive_int(num_outputs, "num_outputs")
        self.output_names = _check_output_names(output_names, self.num_outputs)
        self.bins, self.score_range = _check_score_options(bins, score_range)
        self.scores = _check_score_kind(scores)
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        self._add_classification_states()
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
        device = self._state_device()
        # Both parts are checked before either is kept.
        _, expression = _classification_piece(expr_pred, expr_true, self.num_classes, True,
                                              device, self._names[:2])
        va = _continuous_piece(va_pred, va_true, self.num_outputs, device, self._names[2:])
        _check_length(expression.shape[0], va.shape[0], ("the expression target",
                                                          "the valence/arousal target"))
        self.pending_scores.append(expression)
        self.pending_continuous.append(va)
        self._maybe_flush()

    def _consume(self, pieces: dict[str, list[Tensor]]) -> None:
        k = self.num_outputs
        expression = self._check_classification(pieces["pending_scores"], False)
        va = _check_pieces(pieces["pending_continuous"], self.nan_policy, (k, k),
                           (k > 1, k > 1), head=1)
        # One verdict per batch for both parts: a problem in either refuses the whole batch.
        batch_bad = _steps.per_batch_any(expression.refuse | va.refuse, expression.ids,
                                         expression.n_batches)
        checks = expression.checks + va.checks
        self._settle(expression._replace(checks=checks), batch_bad, False)
        self.n_omitted_continuous = self.n_omitted_continuous + _omitted(va, batch_bad)
        _add_moments(self, va, _accept(va, batch_bad), k)

    def compute(self) -> dict[str, Tensor]:
        """Every metric over every sample seen (and every rank)."""
        self._flush()
        self._raise_if_refused()
        values = _classification_results(self._confusion_of(), self._rank_counts_of(),
                                         np.arange(self.num_classes))
        device = self.confusion.device
        results = {key: torch.as_tensor(value, dtype=torch.float64).to(device)
                   for key, value in values.items()}
        for key, per_output in _continuous_results(_moments_of(self)).items():
            for name, value in zip(self.output_names, per_output, strict=True):
                results[f"{key}_{name}"] = torch.as_tensor(value, dtype=torch.float64).to(device)
        return results
