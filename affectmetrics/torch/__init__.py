"""PyTorch adapter: affectmetrics as ``torchmetrics.Metric`` subclasses, on the device.

Each metric keeps the core accumulator's statistics in ``add_state`` tensors on the
metric's device and computes them there in torch operations; ``compute()`` reads the small
state on the host and calls the core's final step, so its values are the NumPy core's:

* continuous metrics (``CCC``, ``Pearson``, ``RMSE``, ``SAGR``) keep the packed moments, one
  float64 tensor of shape (13, num_outputs), merged with Chan's formulas (never an average
  of per-process values);
* classification metrics keep the confusion matrix (summed) and, for ``AUROC`` and
  ``AveragePrecision``, either every accepted (label, scores) record (concatenated, exact)
  or per-class histograms (``bins=N``, summed).

``update`` never copies to the host and never synchronises the device: shapes are checked
at once, values (NaN, inf, labels, score range) on the device, and a batch that fails them
is left out of the state and reported by ``compute()`` (see ``_base.py``). Under
``torch.distributed`` torchmetrics gathers the states and applies the reductions, so
``compute()`` on every rank equals the core on the union of the shards.

The metrics are not differentiable; for training, use :func:`ccc_loss`.

Requires the ``torch`` extra: ``pip install 'affectmetrics[torch]'``.
"""

from __future__ import annotations

from .._optional import _import_optional

_import_optional("torch", "torch", purpose="affectmetrics.torch")
_import_optional("torchmetrics", "torch", purpose="affectmetrics.torch")

from .classification import (  # noqa: E402 - after the optional imports, for their message
    AUROC,
    UAR,
    Accuracy,
    AveragePrecision,
    CohenKappa,
    F1Score,
    KrippendorffAlpha,
)
from .continuous import CCC, RMSE, SAGR, Pearson  # noqa: E402
from .loss import ccc_loss  # noqa: E402
from .multilabel import MultilabelF1  # noqa: E402
from .multitask import AffectMetrics  # noqa: E402

__all__ = [
    "AUROC",
    "CCC",
    "RMSE",
    "SAGR",
    "UAR",
    "Accuracy",
    "AffectMetrics",
    "AveragePrecision",
    "CohenKappa",
    "F1Score",
    "KrippendorffAlpha",
    "MultilabelF1",
    "Pearson",
    "ccc_loss",
]
