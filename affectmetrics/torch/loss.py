"""``ccc_loss``: a differentiable CCC for training valence/arousal heads."""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["ccc_loss"]


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
        In [0, 2]; nan when both sides are constant and equal (undefined CCC). Computed
        and returned in float32 for float16/bfloat16 inputs, else in the inputs' dtype.

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
    # At least float32: in float16/bfloat16 the sums themselves round (a bfloat16 loss was 4 %
    # off the CCC of the same numbers).
    dtype = torch.promote_types(torch.promote_types(preds.dtype, target.dtype), torch.float32)
    preds, target = preds.to(dtype), target.to(dtype)
    # The CCC is invariant to a common scale and shift; with both detached the gradient is
    # still exact. A power of two per output keeps every value representable (squares of
    # 1e160 overflow, of 1e-170 underflow) and rounds nothing; the first target row as
    # origin keeps the means exact for data far from zero (float32 around 1e6).
    # (torch.ldexp is not used on the inputs: its gradient is 0 for negative exponents.)
    with torch.no_grad():
        largest = torch.maximum(preds.abs().amax(dim=0), target.abs().amax(dim=0))
        exponent = torch.frexp(torch.where(torch.isfinite(largest), largest, 1.0)).exponent
        top = int(math.log2(torch.finfo(dtype).max))  # subnormal inputs: largest finite 2**k
        scale = torch.ldexp(torch.ones_like(largest), (-exponent).clamp(max=top))
        origin = target[0] * scale
    preds = preds * scale - origin
    target = target * scale - origin
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
