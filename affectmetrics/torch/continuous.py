"""Continuous metrics of the torch adapter: CCC, Pearson's r, RMSE and SAGR per output.

The state is the core's packed moments, one float64 tensor of shape (13, num_outputs) on
the metric's device (``affectmetrics._moments._pack``'s layout), merged with Chan's formulas
in torch operations, across batches, ``forward`` and ranks alike. ``compute()`` reads those
13 x k numbers on the host and calls the core's final step of the one metric it computes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from .._moments import (
    _ccc_from_moments,
    _checked_moments,
    _empty_moments,
    _pack,
    _pearson_from_moments,
    _rmse_from_moments,
    _sagr_from_moments,
    _unpack,
)
from .._validation import _NAN_POLICIES, _check_nan_policy
from ..accumulators import _check_positive_int
from . import _steps
from ._base import _as_tensor, _check_length, _DeviceMetric

__all__ = ["CCC", "RMSE", "SAGR", "Pearson"]

_F64 = torch.float64


def _continuous_piece(preds: Any, target: Any, num_outputs: int, device: torch.device,
                      names: tuple[str, str] = ("target", "preds")) -> Tensor:
    """The checks Python can make (shapes) and the batch as one (n, 2k) copy [t, p]."""
    t = _as_tensor(target, names[0], device)
    p = _as_tensor(preds, names[1], device)
    for name, x in zip(names, (t, p), strict=True):
        if x.ndim not in (1, 2):
            raise ValueError(f"{name} must be 1-D (n,) or 2-D (n, k); got a {x.ndim}-D "
                             f"tensor of shape {tuple(x.shape)}")
    _check_length(t.shape[0], p.shape[0], names)
    if t.shape != p.shape:
        raise ValueError(f"{names[0]} has shape {tuple(t.shape)} but {names[1]} has shape "
                         f"{tuple(p.shape)}; they must have the same shape")
    if t.ndim == 1 and num_outputs != 1:
        raise ValueError(f"{names[0]} is 1-D but num_outputs={num_outputs}; pass "
                         f"(n, {num_outputs}) tensors")
    if t.ndim == 2 and t.shape[1] != num_outputs:
        raise ValueError(f"{names[0]} has {t.shape[1]} columns (shape {tuple(t.shape)}) but "
                         f"num_outputs={num_outputs}")
    n = t.shape[0]
    if t.dtype != p.dtype:  # torch does not promote every pair (uint16 with int8): float64
        t, p = t.to(torch.float64), p.to(torch.float64)
    return torch.cat((t.reshape(n, num_outputs), p.reshape(n, num_outputs)), 1)


class _Checked(NamedTuple):
    x: Tensor  # (N, width) float64
    ids: Tensor  # (N,) batch of each row
    n_batches: int
    refuse: Tensor  # (N,) rows that refuse their batch
    omit: Tensor  # (N,) rows dropped under nan_policy="omit"
    checks: list[_steps.Check]
    ranked: Tensor | None = None  # scores after the score rule (classification)


def _check_pieces(pieces: list[Tensor], nan_policy: str, widths: tuple[int, int],
                  two_d: tuple[bool, bool], head: int = 0) -> _Checked:
    """Value checks of pending (target | preds) batches, in the core's order.

    A check's argument is 0/1 (target/preds) plus 2 where that argument is 2-D, so that
    the message writes its position as the core does (an index, or (row, column)), plus
    4 for the second head of a two-part input (``AffectMetrics``' valence/arousal), so
    that the message names that part.
    """
    device = pieces[0].device
    ids = _steps.batch_ids([piece.shape[0] for piece in pieces], device)
    # Each batch to float64 before they are joined: torch.cat promotes mixed batches to
    # their common type, which can be narrower than one of them (int64 with float16 is
    # float16, where 70000 is inf).
    x = torch.cat([piece.to(_F64) for piece in pieces])
    wt = widths[0]
    checks = []
    nan, inf = torch.isnan(x), torch.isinf(x)
    nan_rows = nan.any(1)
    refuse = inf.any(1)
    for argument, columns in enumerate((slice(0, wt), slice(wt, None))):
        part = x[:, columns]
        argument += 2 * two_d[argument] + 4 * head
        checks.append(_steps.Check(_steps.INF, argument, inf[:, columns], part))
        if nan_policy == "raise":
            checks.append(_steps.Check(_steps.NAN, argument, nan[:, columns], part))
    if nan_policy == "raise":
        refuse = refuse | nan_rows
        omit = torch.zeros_like(refuse)
    else:
        omit = nan_rows
    return _Checked(x, ids, len(pieces), refuse, omit, checks)


def _accept(checked: _Checked, batch_bad: Tensor) -> Tensor:
    """Row weights: rows of accepted batches that are not omitted."""
    return ~batch_bad[checked.ids] & ~checked.omit


def _omitted(checked: _Checked, batch_bad: Tensor) -> Tensor:
    return (checked.omit & ~batch_bad[checked.ids]).sum()


def _add_moments(metric: _DeviceMetric, checked: _Checked, weight: Tensor, k: int) -> None:
    batch = _steps.batch_moments(checked.x[:, :k], checked.x[:, k:], weight)
    merged = _steps.merge_moments(torch.stack((metric.moments, batch)))
    # Nothing accepted: the state stays exactly as it was (a merge with n = 0 would round).
    metric.moments = torch.where(batch[0] > 0, merged, metric.moments)


def _add_moment_states(metric: _DeviceMetric, num_outputs: int) -> None:
    default = torch.from_numpy(_pack(_empty_moments(num_outputs)))
    metric.add_state("moments", default=default, dist_reduce_fx=_steps.merge_moments)
    metric.add_state("n_omitted_continuous", default=torch.tensor(0, dtype=torch.int64),
                     dist_reduce_fx="sum")
    metric.add_state("pending_continuous", default=[], dist_reduce_fx="cat")


def _check_loaded_moments(key: str, value: Tensor) -> None:
    """The core's invariants of a summary (``_checked_moments``) for a loaded state."""
    if key.endswith("moments"):
        try:
            _checked_moments(_unpack(value.cpu().numpy()).to_dict())
        except ValueError as exc:
            raise ValueError(f"state_dict entry {key!r} is not a summary of data: {exc}") \
                from None


def _moments_of(metric: _DeviceMetric) -> Any:
    return _unpack(metric.moments.detach().cpu().numpy())


class _ContinuousMetric(_DeviceMetric):
    _final: Callable[[Any], np.ndarray]
    _pending_names = ("pending_continuous",)

    def __init__(self, num_outputs: int = 1, *, nan_policy: str = "raise",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_outputs = _check_positive_int(num_outputs, "num_outputs")
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        _add_moment_states(self, self.num_outputs)
        self._add_options_state([_NAN_POLICIES.index(nan_policy)])

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``(n,)`` (one output) or ``(n, num_outputs)`` tensors."""
        piece = _continuous_piece(preds, target, self.num_outputs, self._state_device())
        self.pending_continuous.append(piece)
        self._maybe_flush()

    def _consume(self, pieces: dict[str, list[Tensor]]) -> None:
        k = self.num_outputs
        checked = _check_pieces(pieces["pending_continuous"], self.nan_policy, (k, k),
                                (k > 1, k > 1))
        batch_bad = _steps.per_batch_any(checked.refuse, checked.ids, checked.n_batches)
        self._record_refusal(checked.checks, batch_bad, checked.ids)
        self.n_omitted_continuous = self.n_omitted_continuous + _omitted(checked, batch_bad)
        _add_moments(self, checked, _accept(checked, batch_bad), k)

    def _check_loaded(self, key: str, value: Tensor) -> None:
        _check_loaded_moments(key, value)

    def compute(self) -> Tensor:
        """The metric over every sample seen (and every rank): a scalar, or one per output."""
        self._flush()
        self._raise_if_refused()
        value = torch.from_numpy(type(self)._final(_moments_of(self))).to(self.moments.device)
        return value[0] if self.num_outputs == 1 else value


class CCC(_ContinuousMetric):
    """Lin's concordance correlation coefficient (population moments), per output.

    .. math::

        \\rho_c = \\frac{2 s_{xy}}{s_x^2 + s_y^2 + (\\bar x - \\bar y)^2}

    Same value as :func:`affectmetrics.ccc`; torchmetrics' ``ConcordanceCorrCoef`` uses
    sample (n-1) moments instead. ``num_outputs=2`` scores valence and arousal at once.

    Parameters
    ----------
    num_outputs : int, default 1
        Columns of ``preds`` and ``target``.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops rows with a NaN (counted in ``n_omitted_continuous``).
    **kwargs
        torchmetrics' ``Metric`` options (``dist_sync_on_step``, ...).

    Raises
    ------
    ValueError
        At ``update`` for shapes; at ``compute`` for a batch refused for its values
        (NaN under ``"raise"``, inf), which is left out of the state.

    Warns
    -----
    UndefinedMetricWarning
        "ccc is undefined" where truth and prediction are both constant and equal.

    Notes
    -----
    References: Lin (1989), see docs/refs.bib (``lin1989concordance``).

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
    _final = _ccc_from_moments


class Pearson(_ContinuousMetric):
    """Pearson's correlation coefficient per output (see :func:`affectmetrics.pearson`).

    .. math::

        r = \\frac{s_{xy}}{s_x s_y}

    Parameters, errors and the deferred value checks are :class:`CCC`'s. Warns
    "pearson is undefined" where either side is constant (decided exactly: max == min).

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import Pearson
    >>> metric = Pearson()
    >>> metric.update(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0]))
    >>> metric.compute().item()
    1.0
    """

    higher_is_better = True
    plot_lower_bound = -1.0
    plot_upper_bound = 1.0
    _final = _pearson_from_moments


class RMSE(_ContinuousMetric):
    """Root mean squared error per output (see :func:`affectmetrics.rmse`).

    .. math::

        \\mathrm{RMSE} = \\sqrt{\\tfrac{1}{n} \\textstyle\\sum_i (x_i - y_i)^2}

    Parameters and errors are :class:`CCC`'s.

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import RMSE
    >>> metric = RMSE()
    >>> metric.update(torch.tensor([1.0, 1.0]), torch.tensor([0.0, 2.0]))
    >>> metric.compute().item()
    1.0
    """

    higher_is_better = False
    plot_lower_bound = 0.0
    _final = _rmse_from_moments


class SAGR(_ContinuousMetric):
    """Sign agreement per output (see :func:`affectmetrics.sagr`).

    .. math::

        \\mathrm{SAGR} = \\tfrac{1}{n} \\textstyle\\sum_i [\\operatorname{sign} x_i =
        \\operatorname{sign} y_i]

    Parameters and errors are :class:`CCC`'s.

    Examples
    --------
    >>> import torch
    >>> from affectmetrics.torch import SAGR
    >>> metric = SAGR()
    >>> metric.update(torch.tensor([0.5, -0.2, 0.1, 0.3]), torch.tensor([0.4, 0.1, 0.2, 0.6]))
    >>> metric.compute().item()  # 3 of 4 signs agree
    0.75
    """

    higher_is_better = True
    plot_lower_bound = 0.0
    plot_upper_bound = 1.0
    _final = _sagr_from_moments
