"""The statistics steps of the torch adapter, in torch operations on the state's device.

Everything here runs without a host copy or a device synchronisation: no ``.item()``, no
``.cpu()``, no Python branching on data, no operation whose output shape depends on data
(``bincount``, boolean indexing and ``unique`` synchronise on CUDA; ``index_add`` and
``torch.where`` do not). Rows that must not count (refused batches, NaN rows under
``nan_policy="omit"``) are given weight 0 instead of being dropped.
"""

from __future__ import annotations

from typing import NamedTuple

import array_api_compat.torch as _xp
import torch
from torch import Tensor

from .._moments import _batch_packed, _merge_packed_xp

__all__: list[str] = []

_F64 = torch.float64

# Refusal codes (the first entry of a refusal record); their messages are in ``_base.py``.
INF, NAN, LABEL, OUT_OF_RANGE, NOT_PROBABILITY = 1, 2, 3, 4, 5
# A refusal record: [code, argument (0 target, 1 preds), row, column, value, count, batch].
RECORD = 7


def batch_ids(lengths: list[int], device: torch.device) -> Tensor:
    """Batch index of every row of the concatenated batches (built without a sync)."""
    total = sum(lengths)
    if len(set(lengths)) == 1:
        return torch.arange(total, device=device) // lengths[0]
    repeats = torch.tensor(lengths).to(device, non_blocking=True)
    return torch.repeat_interleave(torch.arange(len(lengths), device=device), repeats,
                                   output_size=total)


def per_batch_any(rows: Tensor, ids: Tensor, n_batches: int) -> Tensor:
    """(n_batches,) bool: whether any row of each batch is set in ``rows``."""
    counts = torch.zeros(n_batches, dtype=torch.int64, device=rows.device)
    return counts.index_add_(0, ids, rows.to(torch.int64)) > 0


def _pick(values: Tensor, index: Tensor) -> Tensor:
    """``values[index]`` for a 0-d index tensor, as a gather: indexing with a 0-d integer
    tensor reads it on the host (a synchronisation on CUDA)."""
    return values.index_select(0, index.reshape(1))[0]


class Check(NamedTuple):
    """One kind of refusal: its element mask (rows, columns) over one argument."""

    code: int
    argument: int  # 0 target, 1 preds
    mask: Tensor  # (N, w) bool
    values: Tensor  # (N, w) the values, for the message


def _constants(values: list[float], device: torch.device) -> Tensor:
    """A small float64 tensor of Python numbers on ``device`` (an asynchronous copy)."""
    return torch.tensor(values, dtype=_F64).to(device, non_blocking=True)


def first_refusal(checks: list[Check], batch_bad: Tensor, ids: Tensor) -> Tensor:
    """The record of the first refused batch's first problem (all zeros when none).

    The batch is the earliest one refused; within it, the checks are taken in the order
    given (the core's validation order) and the first position in row-major order. The
    checks' masks are laid side by side, so the work is a fixed number of operations.
    """
    device = ids.device
    widths = [check.mask.shape[1] for check in checks]
    first_batch = torch.argmax(batch_bad.to(torch.uint8))
    in_batch = ids == first_batch
    start = torch.argmax(in_batch.to(torch.uint8))
    masks = torch.cat([check.mask for check in checks], 1) & in_batch[:, None]  # (N, W)
    owner = torch.cat([torch.full((w,), i, device=device) for i, w in enumerate(widths)])
    per_check = torch.zeros(masks.shape[0], len(checks), dtype=torch.int64, device=device)
    per_check.index_add_(1, owner, masks.to(torch.int64))  # (N, K) problems per row
    hit = per_check > 0
    chosen = torch.argmax(hit.any(0).to(torch.uint8))
    row = torch.argmax(hit.index_select(1, chosen.reshape(1))[:, 0].to(torch.uint8))
    mine = owner == chosen
    column = torch.argmax((_pick(masks, row) & mine).to(torch.uint8))
    values = _pick(torch.cat([check.values.to(_F64) for check in checks], 1), row)
    codes = _constants([float(check.code) for check in checks], device)
    arguments = _constants([float(check.argument) for check in checks], device)
    record = torch.stack([
        _pick(codes, chosen), _pick(arguments, chosen), (row - start).to(_F64),
        (column - torch.argmax(mine.to(torch.uint8))).to(_F64), _pick(values, column),
        _pick(per_check.sum(0), chosen).to(_F64), first_batch.to(_F64),
    ])
    return torch.where(batch_bad.any(), record, torch.zeros(RECORD, dtype=_F64, device=device))


def keep_first_refusal(old: Tensor, new: Tensor) -> Tensor:
    """The earlier of two refusal records (``old`` unless it is empty)."""
    return torch.where(old[0] != 0, old, new)


def reduce_refusals(stacked: Tensor) -> Tensor:
    """Reduction of stacked refusal records (ranks or forward's parts): the first one set."""
    first = torch.argmax((stacked[:, 0] != 0).to(torch.uint8))
    return _pick(stacked, first)


def first_of(stacked: Tensor) -> Tensor:
    """Reduction of a state that is the same on every rank and part: the first one."""
    return stacked[0]


# -- continuous: the core's statistics step and merge, on torch tensors ----------------------


def batch_moments(t: Tensor, p: Tensor, weight: Tensor) -> Tensor:
    """Packed moments (13, k) of the rows of float64 ``t``, ``p`` (N, k) where ``weight``.

    The core's array-API step (``affectmetrics._moments._batch_packed``) on the device.
    """
    return _batch_packed(t, p, _xp, weight)


def merge_moments(stacked: Tensor) -> Tensor:
    """The core's Chan merge of packed states stacked along axis 0, (parts, 13, k)."""
    return _merge_packed_xp(stacked, _xp)
