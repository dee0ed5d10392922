"""The statistics steps of the torch adapter, in torch operations on the state's device.

Everything here runs without a host copy or a device synchronisation: no ``.item()``, no
``.cpu()``, no Python branching on data, no operation whose output shape depends on data
(``bincount``, boolean indexing and ``unique`` synchronise on CUDA; ``index_add`` and
``torch.where`` do not). Rows that must not count (refused batches, NaN rows under
``nan_policy="omit"``) are given weight 0 instead of being dropped.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

__all__: list[str] = []

_F64 = torch.float64

# Refusal codes (the first entry of a refusal record); their messages are in ``_base.py``.
INF, NAN, LABEL, OUT_OF_RANGE = 1, 2, 3, 4
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


class Check(NamedTuple):
    """One kind of refusal: its element mask (rows, columns) over one argument."""

    code: int
    argument: int  # 0 target, 1 preds
    mask: Tensor  # (N, w) bool
    values: Tensor  # (N, w) the values, for the message


def first_refusal(checks: list[Check], batch_bad: Tensor, ids: Tensor) -> Tensor:
    """The record of the first refused batch's first problem (all zeros when none).

    The batch is the earliest one refused; within it, the checks are taken in the order
    given (the core's validation order) and the first position in row-major order.
    """
    device = ids.device
    first_batch = torch.argmax(batch_bad.to(torch.uint8))
    in_batch = (ids == first_batch)[:, None]
    start = torch.argmax(in_batch[:, 0].to(torch.uint8))
    rows = []
    present = []
    for check in checks:
        mask = check.mask & in_batch
        flat = mask.reshape(-1)
        width = mask.shape[1]
        where = torch.argmax(flat.to(torch.uint8))
        row, col = where // width, where % width
        value = check.values.reshape(-1)[where].to(_F64)
        count = flat.sum().to(_F64)
        rows.append(torch.stack([
            torch.full((), float(check.code), dtype=_F64, device=device),
            torch.full((), float(check.argument), dtype=_F64, device=device),
            (row - start).to(_F64), col.to(_F64), value, count, first_batch.to(_F64),
        ]))
        present.append(flat.any())
    table = torch.stack(rows)
    chosen = torch.argmax(torch.stack(present).to(torch.uint8))
    return torch.where(batch_bad.any(), table[chosen], torch.zeros(RECORD, dtype=_F64,
                                                                    device=device))


def keep_first_refusal(old: Tensor, new: Tensor) -> Tensor:
    """The earlier of two refusal records (``old`` unless it is empty)."""
    return torch.where(old[0] != 0, old, new)


def reduce_refusals(stacked: Tensor) -> Tensor:
    """Reduction of stacked refusal records (ranks or forward's parts): the first one set."""
    first = torch.argmax((stacked[:, 0] != 0).to(torch.uint8))
    return stacked[first]


# -- continuous: the packed (13, k) moments of affectmetrics._moments ------------------------


def batch_moments(t: Tensor, p: Tensor, weight: Tensor) -> Tensor:
    """Packed moments (13, k) of the rows of float64 ``t``, ``p`` (N, k) with ``weight`` True.

    Rows with weight False may hold anything (NaN included): they are zeroed first. The
    layout is ``affectmetrics._moments._pack``'s: n, means of truth, prediction and
    difference, centred sums of squares and cross products (two-pass), SSE, sign agreements,
    and min/max that record exact constancy (the value where max == min, else -inf/+inf;
    +inf/-inf for no rows).
    """
    k = t.shape[1]
    w = weight[:, None]
    x = torch.where(w, torch.cat((t, p, t - p), 1), 0.0)
    n = w.sum(dtype=_F64)
    mean = x.sum(0) / n.clamp(min=1.0)
    d = torch.where(w, x - mean, 0.0)
    m2 = (d * d).sum(0)
    cross = (d[:, :k] * d[:, k:2 * k]).sum(0)
    sse = m2[2 * k:] + n * mean[2 * k:] * mean[2 * k:]
    signs = torch.sign(x[:, :2 * k])
    agree = ((signs[:, :k] == signs[:, k:]) & w).sum(0, dtype=_F64)
    lo = torch.where(w, x[:, :2 * k], torch.inf).amin(0)
    hi = torch.where(w, x[:, :2 * k], -torch.inf).amax(0)
    exact = (lo == hi) | (n == 0)  # constant: the value; no rows: +inf / -inf (neutral)
    low = torch.where(exact, lo, -torch.inf)
    high = torch.where(exact, hi, torch.inf)
    return torch.stack([
        n.expand(k), mean[:k], mean[k:2 * k], mean[2 * k:], m2[:k], m2[k:2 * k], cross, sse,
        agree, low[:k], high[:k], low[k:], high[k:],
    ])


def merge_moments(stacked: Tensor) -> Tensor:
    """Chan's multi-way merge of packed states stacked along axis 0, (parts, 13, k).

    The same formulas as ``affectmetrics._moments._combine``; empty parts weigh 0.
    """
    counts = stacked[:, 0]
    n = counts.sum(0)
    safe = n.clamp(min=1.0)
    means = (counts[:, None] * stacked[:, 1:4]).sum(0) / safe
    dt = stacked[:, 1] - means[0]
    dp = stacked[:, 2] - means[1]
    return torch.stack([
        n, means[0], means[1], means[2],
        stacked[:, 4].sum(0) + (counts * dt * dt).sum(0),
        stacked[:, 5].sum(0) + (counts * dp * dp).sum(0),
        stacked[:, 6].sum(0) + (counts * dt * dp).sum(0),
        stacked[:, 7].sum(0), stacked[:, 8].sum(0),
        stacked[:, 9].amin(0), stacked[:, 10].amax(0),
        stacked[:, 11].amin(0), stacked[:, 12].amax(0),
    ])
