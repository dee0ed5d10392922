"""Hugging Face ``transformers.Trainer`` evaluation with the affect metrics, batch by batch.

With ``TrainingArguments(batch_eval_metrics=True)``, the ``Trainer`` calls
``compute_metrics(eval_pred, compute_result=...)`` after every evaluation batch instead of
holding every prediction in memory; :class:`TrainerMetrics` feeds each batch to the
torch adapter's accumulating metrics (on the batch's device, without a host copy) and
returns the epoch's values when ``compute_result`` is True.

Requires the ``torch`` extra (``transformers`` itself is the ``transformers`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._optional import _import_optional

torch = _import_optional("torch", "torch", purpose="affectmetrics.transformers")

from .torch import (  # noqa: E402 - after the optional import, for its message
    AUROC,
    CCC,
    RMSE,
    SAGR,
    Accuracy,
    AffectMetrics,
    AveragePrecision,
    CohenKappa,
    F1Score,
    KrippendorffAlpha,
    Pearson,
)
from .torch.multitask import _check_output_names  # noqa: E402

__all__ = ["TrainerMetrics"]

_TASKS = ("expression", "valence_arousal", "both")


class TrainerMetrics:
    """A ``compute_metrics`` for ``transformers.Trainer`` that accumulates batch by batch.

    Parameters
    ----------
    task : {"expression", "valence_arousal", "both"}, default "both"
        What the model predicts. ``"expression"``: ``predictions`` are (n, C) logits or
        probabilities and ``label_ids`` class indices. ``"valence_arousal"``: both are
        (n, num_outputs). ``"both"``: ``predictions = (logits, va_pred)`` and ``label_ids =
        (labels, va_true)``, in the order of the model's outputs and of
        ``TrainingArguments(label_names=[...])``.
    num_classes : int, default 8
    num_outputs : int, default 2
    output_names : sequence of str, default ("valence", "arousal")
    bins : int, optional
        Binned AUC/AP (see :class:`affectmetrics.torch.AUROC`); exact by default.
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    dict of str to float
        From a call with ``compute_result=True`` (the Trainer adds the ``eval_`` prefix):
        ``accuracy``, ``f1``, ``kappa``, ``krippendorff_alpha``, ``auc``, ``auc_pr`` and/or
        ``ccc_<name>``, ``pearson_<name>``, ``rmse_<name>``, ``sagr_<name>``. Other calls
        return an empty dict. The state is reset after each result, ready for the next
        evaluation.

    Raises
    ------
    ValueError
        For an unknown ``task``; for a refused batch (NaN under ``"raise"``, a label out of
        range) when the result is computed; for a batch of the wrong shape or type at once.
        Either error ends the evaluation, as in the Trainer: the state is reset, so that
        the next evaluation starts empty. An evaluation stopped by something else (an
        error in the model, an interrupt) leaves its batches: call :meth:`reset`.

    Notes
    -----
    The Trainer gathers each batch from every process before calling ``compute_metrics``
    (``gather_for_metrics``), so the metrics here never sync across processes themselves
    (``sync_on_compute=False``): each process sees every sample once.

    Examples
    --------
    >>> import torch
    >>> from transformers import EvalPrediction
    >>> from affectmetrics.transformers import TrainerMetrics
    >>> compute_metrics = TrainerMetrics("valence_arousal", num_outputs=1,
    ...                                  output_names=("valence",))
    >>> compute_metrics(EvalPrediction(torch.tensor([[0.5], [0.0]]),
    ...                                torch.tensor([[0.25], [0.0]])), compute_result=False)
    {}
    >>> result = compute_metrics(EvalPrediction(torch.tensor([[-0.5]]), torch.tensor([[-0.25]])),
    ...                          compute_result=True)
    >>> result["sagr_valence"], round(result["rmse_valence"], 6)  # sqrt((1/16 + 0 + 1/16) / 3)
    (1.0, 0.204124)
    """

    def __init__(self, task: str = "both", *, num_classes: int = 8, num_outputs: int = 2,
                 output_names: Sequence[str] = ("valence", "arousal"), bins: int | None = None,
                 nan_policy: str = "raise") -> None:
        if task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {task!r}")
        self.task = task
        self.output_names = (tuple(output_names) if task == "expression"  # unused there
                             else _check_output_names(output_names, num_outputs))
        common = {"nan_policy": nan_policy, "sync_on_compute": False}
        if task == "both":
            self.metrics: dict[str, Any] = {"": AffectMetrics(
                num_classes, num_outputs, output_names=output_names, bins=bins, **common)}
        elif task == "expression":
            ranking = {"bins": bins, **common}
            self.metrics = {
                "accuracy": Accuracy(num_classes, **common),
                "f1": F1Score(num_classes, **common),
                "kappa": CohenKappa(num_classes, **common),
                "krippendorff_alpha": KrippendorffAlpha(num_classes, **common),
                "auc": AUROC(num_classes, **ranking),
                "auc_pr": AveragePrecision(num_classes, **ranking),
            }
        else:
            self.metrics = {name: cls(num_outputs, **common) for name, cls in
                            (("ccc", CCC), ("pearson", Pearson), ("rmse", RMSE),
                             ("sagr", SAGR))}

    def __call__(self, eval_pred: Any, compute_result: bool = True) -> dict[str, float]:
        """Add one evaluation batch; return the metrics when ``compute_result`` is True."""
        preds, labels = eval_pred.predictions, eval_pred.label_ids
        try:
            if self.task == "both":
                if not (isinstance(preds, (tuple, list))
                        and isinstance(labels, (tuple, list))):
                    raise TypeError("task='both' needs predictions (logits, va_pred) and "
                                    "label_ids (labels, va_true): let the model return both "
                                    "heads and set TrainingArguments(label_names=[...]) to "
                                    "both label names")
                preds, labels = (preds[0], preds[1]), (labels[0], labels[1])
            # A batch refused by one metric may have been taken by those before it ((n,)
            # labels suit accuracy, not AUC), and the Trainer ends the evaluation on any
            # error: the batches seen so far must not count in the next one.
            for metric in self.metrics.values():
                metric.update(preds, labels)
            if not compute_result:
                return {}
            results = self._results()
        except BaseException:
            self.reset()
            raise
        self.reset()
        return results

    def reset(self) -> None:
        """Forget the batches of the current evaluation."""
        for metric in self.metrics.values():
            metric.reset()

    def _results(self) -> dict[str, float]:
        results: dict[str, float] = {}
        for key, metric in self.metrics.items():
            value = metric.compute()
            if isinstance(value, dict):
                results.update({k: float(v) for k, v in value.items()})
            elif self.task == "expression":
                results[key] = float(value)
            else:
                results.update({f"{key}_{name}": float(v) for name, v in
                                zip(self.output_names, value.reshape(-1), strict=True)})
        return results
