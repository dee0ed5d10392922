"""Mergeable moments of (truth, prediction) pairs: the statistics step of the continuous metrics.

Each column of the data is summarised by 13 numbers, the rows of the packed state
(:func:`_pack`, shape ``(13, k)``):

=====  ============  ==========================================================================
row    name          meaning
=====  ============  ==========================================================================
0      n             the number of samples (shared by all columns; exact to 2**53)
1, 2   mean_true,    the means of truth and prediction
       mean_pred
3      mean_diff     the mean of ``t - p``, in units of ``S_d`` (below); the CCC's bias term:
                     exact for data far from zero, where ``mean(t) - mean(p)`` loses the
                     digits the offset takes
4, 5   m2_true,      the centred sums of squares ``sum((t - mean_t)**2)``, in units of
       m2_pred       ``S_t**2`` and ``S_p**2``
6      cross         the centred cross product ``sum((t - mean_t) * (p - mean_p))``, in units
                     of ``S_t * S_p``
7      sse           ``sum((t - p)**2)``, in units of ``S_d**2``, ``S_d`` the scale of both
                     sides' extremes together (kept apart: deriving it from the others
                     cancels when predictions are good)
8      agree         the number of sign agreements (``numpy.sign``: 0 agrees only with 0)
9-12   min_true,     the extremes of each side (+inf / -inf when empty): "constant" is decided
       max_true,     exactly as ``min == max``, never by comparing a rounded variance with 0
       min_pred,
       max_pred
=====  ============  ==========================================================================

**Scales.** ``S`` is a power of two decided by the column's largest magnitude
``a = max(|min|, |max|)`` alone (:func:`_scale`): 1 for ``2**-300 <= a <= 2**300`` and for
``a = 0`` (every affect data set: the state is then in the data's own units), ``2**-600``
below and ``2**600`` above. Second-order sums are formed from values divided by ``S``
(exact: a power of two), so nothing overflows or underflows for any representable data:
the squares of the scaled values and of their deviations stay within
``2**-1000 .. 2**1000``. Pearson's r and the CCC are ratios in which the scales cancel;
RMSE is ``S_d * sqrt(sse / n)``, infinite only when the true RMSE overflows.

**Merging** uses the multi-way form of Chan, Golub & LeVeque's update (the law of total
variance), each part's sums first brought to the merged scale:

.. math::

    M_2 = \\sum_b M_{2,b} + \\sum_b n_b (\\bar x_b - \\bar x)^2, \\qquad
    C = \\sum_b C_b + \\sum_b n_b (\\bar x_b - \\bar x)(\\bar y_b - \\bar y),

exact in exact arithmetic, associative and commutative, and stable far from zero because only
deviations from means are ever squared.

**Two statistics steps, one state.** :func:`_moments` is the fast NumPy pass (blocked, for
in-memory arrays). :func:`_batch_packed` and :func:`_merge_packed_xp` are the same step and
merge written against the array API standard (``xp`` is the namespace): they run on NumPy
and on ``array_api_compat.torch`` (any device, float64, no host copy, no data-dependent
Python branch, so nothing synchronises a GPU) and give the same packed state, which
:func:`_merge_packed` also merges (it is :func:`_merge_packed_xp` with NumPy). The final steps
(``_ccc_from_moments``...) run in NumPy on the small state and are shared by every path.

How the torch adapter calls it, keeping the state a ``(13, k)`` float64 tensor on the
metric's device::

    from array_api_compat import array_namespace
    xp = array_namespace(moments)                         # array_api_compat.torch
    batch = _batch_packed(target64, preds64, xp)          # (n, k) float64 tensors, n >= 1
    moments = _merge_packed_xp(xp.stack([moments, batch]), xp)
    # dist_reduce_fx: lambda stacked: _merge_packed_xp(stacked, xp)  (parts, 13, k)
    # compute():      _continuous_results(_unpack(moments.cpu().numpy()))

References: T. F. Chan, G. H. Golub, R. J. LeVeque, "Algorithms for computing the sample
variance: analysis and recommendations", The American Statistician 37(3), 1983.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .exceptions import _warn_undefined

__all__: list[str] = []

# Rows per block: the (6k, rows) float64 buffer is 768 kB for two columns, so the working
# set stays in cache and extra memory is bounded independently of n.
_BLOCK_ROWS = 1 << 13
# Magnitudes in [_SMALL, _LARGE] are summed in their own units; others are scaled by
# 2**600 or 2**-600 first (see the module docstring).
_SMALL = 2.0**-300
_LARGE = 2.0**300


@dataclass(frozen=True)
class _Moments:
    n: Any  # int for one state; an int/float array (..., 1) for a stack of states
    mean_true: np.ndarray
    mean_pred: np.ndarray
    mean_diff: np.ndarray  # units S_d (the scale of both sides together)
    m2_true: np.ndarray  # units S_t**2
    m2_pred: np.ndarray  # units S_p**2
    cross: np.ndarray  # units S_t * S_p
    sse: np.ndarray  # units S_d**2
    agree: np.ndarray  # count of sign agreements
    min_true: np.ndarray
    max_true: np.ndarray
    min_pred: np.ndarray
    max_pred: np.ndarray

    @property
    def num_outputs(self) -> int:
        return self.mean_true.shape[-1]

    def to_dict(self) -> dict[str, np.ndarray]:
        return {f.name: np.array(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, state: dict[str, np.ndarray]) -> _Moments:
        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in state]
        if missing:
            raise ValueError(f"state is missing the entries {missing}")
        k = np.asarray(state["mean_true"]).reshape(-1).shape[0]
        values = {}
        for name in names:
            if name == "n":
                values[name] = int(np.asarray(state[name]))
                continue
            dtype = np.int64 if name == "agree" else np.float64
            arr = np.asarray(state[name], dtype=dtype).reshape(-1)
            if arr.shape[0] != k:
                raise ValueError(
                    f"state entry {name!r} has {arr.shape[0]} values, expected {k}"
                )
            values[name] = arr
        return cls(**values)


def _checked_moments(state: dict[str, np.ndarray]) -> _Moments:
    """:meth:`_Moments.from_dict` plus every invariant of a real summary, naming the entry.

    ``n`` and ``agree`` are integers with ``0 <= agree <= n``; every other value is finite,
    except ``min_*``/``max_*``, which are the data's finite extremes ``min <= max`` with the
    means between them or, when ``n == 0``, ``+inf, -inf``; the sums of squares are >= 0; an
    empty summary is all zeros. Refuses with a ``ValueError`` naming the first bad entry.
    """
    for name in ("n", "agree"):
        raw = np.asarray(state.get(name, 0))
        fractional = raw.dtype.kind == "f" and not (
            np.isfinite(raw).all() and (raw == np.round(raw)).all())
        if raw.dtype.kind not in "iuf" or fractional:
            raise ValueError(f"state entry {name!r} must hold integers, got {raw.tolist()!r}")
    m = _Moments.from_dict(state)
    if m.n < 0:
        raise ValueError(f"state entry 'n' must be >= 0, got {m.n}")
    bad_agree = (m.agree < 0) | (m.agree > m.n)
    if bad_agree.any():
        raise ValueError(f"state entry 'agree' must lie in [0, n = {m.n}], got "
                         f"{m.agree.tolist()}")
    for f in fields(_Moments)[1:]:
        value = getattr(m, f.name)
        if f.name.startswith(("min_", "max_")):
            if np.isnan(value).any():
                raise ValueError(f"state entry {f.name!r} holds NaN")
            continue
        if not np.isfinite(value).all():
            raise ValueError(f"state entry {f.name!r} must be finite, got {value.tolist()}")
        if f.name in ("m2_true", "m2_pred", "sse") and (value < 0).any():
            raise ValueError(f"state entry {f.name!r} must be >= 0, got {value.tolist()}")
        if m.n == 0 and (value != 0).any():
            raise ValueError(f"state entry {f.name!r} must be 0 when n is 0, got "
                             f"{value.tolist()}")
    for side in ("true", "pred"):
        lo, hi = getattr(m, f"min_{side}"), getattr(m, f"max_{side}")
        mean = getattr(m, f"mean_{side}")
        if m.n == 0:
            ok = (lo == np.inf) & (hi == -np.inf)
        else:
            # The mean is rounded: it may pass an extreme by an ulp.
            slack = 4 * np.finfo(np.float64).eps * np.maximum(np.abs(lo), np.abs(hi))
            ok = (np.isfinite(lo) & np.isfinite(hi) & (lo <= hi) & (lo - slack <= mean)
                  & (mean <= hi + slack))
        if not ok.all():
            raise ValueError(
                f"state entries 'min_{side}' and 'max_{side}' must be the data's extremes "
                f"(finite, min <= mean <= max; +inf and -inf when n is 0); got "
                f"{lo.tolist()} and {hi.tolist()}"
            )
    if m.n > 0:
        _check_moment_bounds(m)
    return m


def _check_moment_bounds(m: _Moments) -> None:
    """The relations every real summary satisfies, with room for rounding (n >= 1).

    ``m2`` is 0 exactly when the side is constant (``min == max``: the statistics step
    sets it so, and any spread gives a positive sum of squares); Cauchy-Schwarz,
    ``cross**2 <= m2_true * m2_pred``; ``mean_diff`` is ``mean_true - mean_pred``; and
    ``n mean_diff**2 <= sse <= n d**2`` with ``d`` the largest ``|t - p|`` the extremes
    allow. Rounding moves the inequalities by far less than the relative 1e-6 allowed
    here; a state outside them is refused, naming the entry.
    """
    s_d = _scales(m)[2]
    tol = 1e-6
    for side in ("true", "pred"):
        constant = getattr(m, f"min_{side}") == getattr(m, f"max_{side}")
        m2 = getattr(m, f"m2_{side}")
        if ((m2 == 0) != constant).any():
            raise ValueError(
                f"state entry 'm2_{side}' ({m2.tolist()}) must be 0 exactly where "
                f"'min_{side}' equals 'max_{side}' (a constant column) and positive elsewhere")
    bound = np.sqrt(m.m2_true) * np.sqrt(m.m2_pred) * (1 + tol)
    if (np.abs(m.cross) > bound).any():
        raise ValueError(
            f"state entry 'cross' ({m.cross.tolist()}) exceeds sqrt(m2_true * m2_pred) "
            f"({(bound / (1 + tol)).tolist()}), which no data can do (Cauchy-Schwarz)")
    amax = (np.maximum(np.abs(m.min_true), np.abs(m.max_true)) / s_d
            + np.maximum(np.abs(m.min_pred), np.abs(m.max_pred)) / s_d)
    if (np.abs(m.mean_diff - (m.mean_true / s_d - m.mean_pred / s_d)) > tol * amax).any():
        raise ValueError(
            f"state entry 'mean_diff' ({m.mean_diff.tolist()}) must be mean_true - mean_pred "
            f"(in the units of the state)")
    d = np.maximum(np.abs(m.max_true / s_d - m.min_pred / s_d),
                   np.abs(m.max_pred / s_d - m.min_true / s_d))
    with np.errstate(over="ignore"):
        low, high = m.n * m.mean_diff ** 2 * (1 - tol), m.n * d ** 2 * (1 + tol)
    if ((m.sse < low) | (m.sse > high)).any():
        raise ValueError(
            f"state entry 'sse' ({m.sse.tolist()}) must lie between n * mean_diff**2 and "
            f"n * (the largest |t - p| the extremes allow)**2")


def _empty_moments(num_outputs: int) -> _Moments:
    zeros = np.zeros(num_outputs)
    inf = np.full(num_outputs, np.inf)
    return _Moments(
        0, zeros, zeros, zeros, zeros, zeros, zeros, zeros, np.zeros(num_outputs, np.int64),
        inf, -inf, inf, -inf,
    )


_N_STATS = len(fields(_Moments))


def _power_of_two_below(value: float) -> float:
    """The largest power of two <= ``value`` (> 0, finite): dividing by it is exact."""
    return float(np.ldexp(1.0, int(np.frexp(value)[1]) - 1))


def _std(values: np.ndarray, ddof: int = 0) -> float:
    """The standard deviation of finite ``values`` (1-D), without under- or overflow.

    ``np.std`` squares the deviations: values near 1e300 overflow (inf and a RuntimeWarning)
    and values near 1e-170 underflow to 0. The values are divided by a power of two near
    their largest magnitude first (exact), and the result multiplied back.
    """
    if values.shape[0] <= ddof:
        return float("nan")
    top = float(np.max(np.abs(values)))
    if top == 0.0:
        return 0.0
    scale = _power_of_two_below(top)
    with np.errstate(over="ignore"):
        return float(np.std(values / scale, ddof=ddof) * scale)


# -- the array-API statistics step and merge (NumPy, torch, any device) --------------------


def _scale(low: Any, high: Any, xp: Any) -> Any:
    """The power-of-two scale of columns with extremes ``low``/``high`` (1 when empty)."""
    amax = xp.maximum(xp.abs(low), xp.abs(high))
    amax = xp.where(xp.isfinite(amax), amax, xp.zeros_like(amax))
    one = xp.ones_like(amax)
    tiny = (amax < _SMALL) & (amax > 0)  # all zeros (or empty) keep the scale 1
    return xp.where(tiny, one * 2.0**-600, xp.where(amax > _LARGE, one * 2.0**600, one))


def _diff_scale(lo_t: Any, hi_t: Any, lo_p: Any, hi_p: Any, xp: Any) -> Any:
    """The scale ``S_d`` of ``t - p`` (``mean_diff``, ``sse``): that of both sides together.

    Not ``max(S_t, S_p)``: an all-zero side has the scale 1, which would leave the
    differences from a tiny other side (``rmse([1e-170, 0], [0, 0])``) to underflow.
    """
    return _scale(xp.minimum(lo_t, lo_p), xp.maximum(hi_t, hi_p), xp)


def _batch_packed(t: Any, p: Any, xp: Any, weight: Any = None) -> Any:
    """The packed state ``(13, k)`` of one batch of float64 arrays ``(n, k)``, ``n >= 1``.

    Array-API generic: the corrected two-pass algorithm on scaled values (the mean, then
    ``M2 = sum(d**2) - sum(d)**2 / n`` of the deviations ``d``), with the extremes taken on the
    raw data. Every operation is a whole-array reduction, so the arrays stay on their device.

    ``weight``, a boolean array ``(n,)``, counts only the rows where it is True (the others
    may hold anything, NaN included; none gives the empty state): a device drops rows this
    way, without an array whose shape depends on the data (the torch adapter's refused
    batches and ``nan_policy="omit"`` rows).
    """
    keep = None if weight is None else weight[:, None]
    if keep is None:
        n: Any = float(t.shape[0])
        lo_t, hi_t = xp.min(t, axis=0), xp.max(t, axis=0)
        lo_p, hi_p = xp.min(p, axis=0), xp.max(p, axis=0)
    else:
        zero = xp.zeros_like(t)
        t, p = xp.where(keep, t, zero), xp.where(keep, p, zero)
        w = xp.astype(keep, t.dtype)  # 0/1: deviations of the rows not counted become 0
        n = xp.sum(w)
        inf = xp.full_like(t, xp.inf)
        lo_t, hi_t = xp.min(xp.where(keep, t, inf), axis=0), xp.max(xp.where(keep, t, -inf), axis=0)
        lo_p, hi_p = xp.min(xp.where(keep, p, inf), axis=0), xp.max(xp.where(keep, p, -inf), axis=0)
    safe_n = n if keep is None else xp.where(n > 0, n, xp.ones_like(n))
    s_t, s_p = _scale(lo_t, hi_t, xp), _scale(lo_p, hi_p, xp)
    s_d = _diff_scale(lo_t, hi_t, lo_p, hi_p, xp)
    ts, ps = t / s_t, p / s_p
    ds = t / s_d - p / s_d
    stats = []
    for z in (ts, ps, ds):
        mean = xp.mean(z, axis=0) if keep is None else xp.sum(z, axis=0) / safe_n
        dev = z - mean if keep is None else (z - mean) * w
        correction = xp.sum(dev, axis=0)
        stats.append((mean + correction / safe_n, correction, dev))
    (mt, ct, dt), (mp, cp, dp), (md, _, _) = stats
    m2_t = xp.sum(dt * dt, axis=0) - ct * ct / safe_n
    m2_p = xp.sum(dp * dp, axis=0) - cp * cp / safe_n
    cross = xp.sum(dt * dp, axis=0) - ct * cp / safe_n
    sse = xp.sum(ds * ds, axis=0)
    same = xp.sign(t) == xp.sign(p)
    agree = xp.sum(xp.astype(same if keep is None else same & keep, t.dtype), axis=0)
    count = xp.full_like(mt, float(n)) if keep is None else xp.zeros_like(mt) + n
    mean_t, mean_p, m2_t, m2_p, cross = _exact_constants(mt * s_t, mp * s_p, m2_t, m2_p,
                                                         cross, lo_t, hi_t, lo_p, hi_p, xp)
    return xp.stack([count, mean_t, mean_p, md, m2_t, m2_p, cross, sse,
                     agree, lo_t, hi_t, lo_p, hi_p])


def _exact_constants(mean_t: Any, mean_p: Any, m2_t: Any, m2_p: Any, cross: Any, lo_t: Any,
                     hi_t: Any, lo_p: Any, hi_p: Any, xp: Any) -> tuple[Any, ...]:
    """A constant side (min == max) has its value as mean and exactly zero centred sums."""
    const_t, const_p = lo_t == hi_t, lo_p == hi_p
    zero = xp.zeros_like(m2_t)
    return (xp.where(const_t, lo_t, mean_t), xp.where(const_p, lo_p, mean_p),
            xp.where(const_t, zero, xp.maximum(m2_t, zero)),
            xp.where(const_p, zero, xp.maximum(m2_p, zero)),
            xp.where(const_t | const_p, zero, cross))


def _merge_packed_xp(stacked: Any, xp: Any) -> Any:
    """Chan's multi-way merge of packed states stacked along axis 0: ``(parts, 13, k)``.

    Array-API generic and branch-free (empty parts, with n = 0, weigh nothing).
    """
    n_b = stacked[:, 0, :]
    total = xp.sum(n_b, axis=0)
    safe_total = xp.where(total > 0, total, xp.ones_like(total))
    frac = n_b / safe_total
    lo_t, hi_t = xp.min(stacked[:, 9, :], axis=0), xp.max(stacked[:, 10, :], axis=0)
    lo_p, hi_p = xp.min(stacked[:, 11, :], axis=0), xp.max(stacked[:, 12, :], axis=0)
    s_t, s_p = _scale(lo_t, hi_t, xp), _scale(lo_p, hi_p, xp)
    s_d = _diff_scale(lo_t, hi_t, lo_p, hi_p, xp)
    s_tb = _scale(stacked[:, 9, :], stacked[:, 10, :], xp)
    s_pb = _scale(stacked[:, 11, :], stacked[:, 12, :], xp)
    # Powers of two: exact rescaling (above 1 only for an all-zero part, whose sums are 0).
    r_t, r_p = s_tb / s_t, s_pb / s_p
    r_d = _diff_scale(stacked[:, 9, :], stacked[:, 10, :], stacked[:, 11, :],
                      stacked[:, 12, :], xp) / s_d
    mean_t = xp.sum(frac * stacked[:, 1, :], axis=0)
    mean_p = xp.sum(frac * stacked[:, 2, :], axis=0)
    dev_t = stacked[:, 1, :] / s_t - mean_t / s_t
    dev_p = stacked[:, 2, :] / s_p - mean_p / s_p
    mean_t, mean_p, m2_t, m2_p, cross = _exact_constants(
        mean_t, mean_p,
        xp.sum(stacked[:, 4, :] * r_t * r_t + n_b * dev_t * dev_t, axis=0),
        xp.sum(stacked[:, 5, :] * r_p * r_p + n_b * dev_p * dev_p, axis=0),
        xp.sum(stacked[:, 6, :] * r_t * r_p + n_b * dev_t * dev_p, axis=0),
        lo_t, hi_t, lo_p, hi_p, xp)
    return xp.stack([
        total, mean_t, mean_p,
        xp.sum(frac * stacked[:, 3, :] * r_d, axis=0),
        m2_t, m2_p, cross,
        xp.sum(stacked[:, 7, :] * r_d * r_d, axis=0),
        xp.sum(stacked[:, 8, :], axis=0),
        lo_t, hi_t, lo_p, hi_p,
    ])


# -- the NumPy statistics step ---------------------------------------------------------------


def _moments(t: np.ndarray, p: np.ndarray) -> _Moments:
    """Moments of validated 2-D arrays ``(n, k)``, ``n >= 1``, in one blocked pass.

    Every column is shifted by a pivot that is one of its own values (the median of the
    first block), so that all blocks' sums add up directly. For each block a cache-sized
    buffer ``Z`` of shape ``(3k, rows)`` receives, one contiguous row per quantity, the
    truth and prediction (whose extremes and signs are taken there), then their shifted
    values and the shifted difference; row sums and row dot products give the sums, sums of
    squares and cross products, and the sign agreements are counted from the signs' rows.
    Rows (not columns) keep NumPy's inner loops long even for k = 2, which is what makes
    this several times faster than whole-array NumPy.

    The shift keeps the data near zero, so the final centring ``M2 = Σz² - (Σz)² / n``
    cancels only a factor ``((mean - pivot) / std)²``; the difference is shifted and squared
    on its own, so the SSE never comes from a difference of large sums. Data with a
    magnitude outside ``[2**-300, 2**300]`` (where squares could under- or overflow) go
    through the scaled array-API step instead.
    """
    if t.dtype.kind == "b":
        t = t.view(np.uint8)
    if p.dtype.kind == "b":
        p = p.view(np.uint8)
    n, k = t.shape
    middle = min(n, _BLOCK_ROWS) // 2
    pivot_t = np.partition(t[:_BLOCK_ROWS], middle, axis=0)[middle].astype(np.float64)
    pivot_p = np.partition(p[:_BLOCK_ROWS], middle, axis=0)[middle].astype(np.float64)
    sums, squares, cross, agree, low, high = _blocked_sums(t, p, pivot_t, pivot_p, None)
    s_t, s_p = _scale(low[:k], high[:k], np), _scale(low[k:], high[k:], np)
    s_d = _diff_scale(low[:k], high[:k], low[k:], high[k:], np)
    scaled = not ((s_t == 1) & (s_p == 1) & (s_d == 1)).all()
    if scaled:  # rare: magnitudes outside [2**-300, 2**300]; sum again, scaled
        sums, squares, cross, *_ = _blocked_sums(t, p, pivot_t, pivot_p, (s_t, s_p, s_d))
    # The pivots in the units of each sum (exact: powers of two).
    piv_t, piv_p = pivot_t / s_t, pivot_p / s_p
    piv_d = pivot_t / s_d - pivot_p / s_d
    zt, zp, zd = (slice(i * k, (i + 1) * k) for i in range(3))
    sum_t, sum_p, sum_d = sums[zt], sums[zp], sums[zd]
    q_t, q_p, q_d = squares[zt], squares[zp], squares[zd]
    mean_d = piv_d + sum_d / n
    mean_t, mean_p, m2_t, m2_p, cross = _exact_constants(
        (piv_t + sum_t / n) * s_t, (piv_p + sum_p / n) * s_p, q_t - sum_t * sum_t / n,
        q_p - sum_p * sum_p / n, cross - sum_t * sum_p / n, low[:k], high[:k], low[k:],
        high[k:], np)
    return _Moments(
        n, mean_t, mean_p, mean_d, m2_t, m2_p, cross,
        np.maximum(q_d - sum_d * sum_d / n, 0.0) + n * mean_d * mean_d,
        agree, low[:k], high[:k], low[k:], high[k:],
    )


def _blocked_sums(t: np.ndarray, p: np.ndarray, pivot_t: np.ndarray, pivot_p: np.ndarray,
                  scales: tuple[np.ndarray, np.ndarray, np.ndarray] | None
                  ) -> tuple[np.ndarray, ...]:
    """The blocked pass of :func:`_moments`: shifted (and, given ``scales``, scaled) sums.

    Returns the row sums and sums of squares of the shifted truth, prediction and difference
    ``(3k,)``, the cross products ``(k,)``, the sign agreements and the extremes ``(2k,)``.
    """
    n, k = t.shape
    zt, zp, zd = (slice(i * k, (i + 1) * k) for i in range(3))
    raw = slice(0, 2 * k)
    rows = min(n, _BLOCK_ROWS)
    if scales is None:
        pivots = np.concatenate([pivot_t, pivot_p])[:, None]
        with np.errstate(over="ignore"):  # a first pass on huge data is redone scaled
            pivot_d = pivot_t[:, None] - pivot_p[:, None]
    else:
        inv = 1.0 / np.concatenate(scales[:2])[:, None]
        inv_d = 1.0 / scales[2][:, None]
        pivots = np.concatenate([pivot_t, pivot_p])[:, None] * inv
        pivot_d = pivot_t[:, None] * inv_d - pivot_p[:, None] * inv_d
    buffer = np.empty((3 * k, rows))
    signs = np.empty((2 * k, rows))
    same = np.empty((k, rows), dtype=bool)
    sums = np.zeros(3 * k)
    squares = np.zeros(3 * k)
    cross = np.zeros(k)
    agree = np.zeros(k, dtype=np.int64)
    low = np.full(2 * k, np.inf)
    high = np.full(2 * k, -np.inf)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for start in range(0, n, _BLOCK_ROWS):
            tb, pb = t[start:start + _BLOCK_ROWS].T, p[start:start + _BLOCK_ROWS].T
            size = tb.shape[1]
            z, sign, equal = buffer[:, :size], signs[:, :size], same[:, :size]
            z[zt] = tb
            z[zp] = pb
            np.minimum(low, z[raw].min(axis=1), out=low)
            np.maximum(high, z[raw].max(axis=1), out=high)
            np.sign(z[raw], out=sign)
            np.equal(sign[:k], sign[k:], out=equal)
            agree += np.count_nonzero(equal, axis=1)
            if scales is None:
                # The difference of the raw values (rounded once), then shifted: differencing
                # the shifted values would round t - pivot_t first, which loses the digits of
                # a small difference between large values when the pivot is far from them.
                np.subtract(z[zt], z[zp], out=z[zd])
                z[zd] -= pivot_d
                np.subtract(z[raw], pivots, out=z[raw])
            else:
                np.multiply(z[zt], inv_d, out=z[zd])
                z[zd] -= z[zp] * inv_d
                z[zd] -= pivot_d
                z[raw] *= inv
                z[raw] -= pivots
            sums += z.sum(axis=1)
            squares += np.einsum("ij,ij->i", z, z)
            cross += np.einsum("ij,ij->i", z[zt], z[zp])
    return sums, squares, cross, agree, low, high


def _pack(m: _Moments) -> np.ndarray:
    """The moments as one float64 array of shape (13, k) (row 0: n; counts stay exact to 2**53).

    Framework adapters keep this array in a single state tensor, so that one reduction
    function (:func:`_merge_packed`) can merge whole states.
    """
    rows = [np.full(m.num_outputs, float(m.n))]
    rows += [np.asarray(getattr(m, f.name), dtype=np.float64) for f in fields(_Moments)[1:]]
    return np.stack(rows)


def _unpack(packed: np.ndarray) -> _Moments:
    packed = np.asarray(packed, dtype=np.float64)
    if packed.ndim != 2 or packed.shape[0] != _N_STATS:
        raise ValueError(f"packed moments must have shape ({_N_STATS}, k), got {packed.shape}")
    values = dict(zip((f.name for f in fields(_Moments)), packed, strict=True))
    values["n"] = int(packed[0, 0])
    values["agree"] = values["agree"].astype(np.int64)
    return _Moments(**values)


def _merge_packed(stacked: np.ndarray) -> np.ndarray:
    """Merge packed states stacked along axis 0, shape (parts, 13, k) -> (13, k)."""
    return _merge_packed_xp(np.asarray(stacked, dtype=np.float64), np)


def _merge_moments(*parts: _Moments) -> _Moments:
    """Merge any number of moment summaries (associative and commutative)."""
    k = parts[0].num_outputs
    for part in parts[1:]:
        if part.num_outputs != k:
            raise ValueError(
                f"cannot merge states with {k} and {part.num_outputs} outputs"
            )
    return _unpack(_merge_packed(np.stack([_pack(part) for part in parts])))


def _scales(m: _Moments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scales ``S_t``, ``S_p``, ``S_d`` in which the state's second-order sums are held."""
    s_t = _scale(m.min_true, m.max_true, np)
    s_p = _scale(m.min_pred, m.max_pred, np)
    return s_t, s_p, _diff_scale(m.min_true, m.max_true, m.min_pred, m.max_pred, np)


def _exact_moments(m: _Moments) -> tuple[np.ndarray, ...]:
    """Constancy, and the second-order sums in the common units ``S_d**2``.

    Returns ``const_t, const_p, m2_t, m2_p, cross, bias`` where ``bias = n * gap**2`` is the
    CCC's bias term; a constant column (max == min, decided exactly) has its centred sums set
    to exactly 0 and, when both sides are constant, the gap is the exact difference of the
    two values: rounding would otherwise leave tiny non-zero deviations (the variance of
    ``[0.3] * n`` is not 0 in floating point).
    """
    const_t = m.min_true == m.max_true
    const_p = m.min_pred == m.max_pred
    both = const_t & const_p
    s_t, s_p, s_d = _scales(m)
    r_t, r_p = s_t / s_d, s_p / s_d
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        gap = np.where(both, np.where(both, m.min_true, 0.0) / s_d
                       - np.where(both, m.min_pred, 0.0) / s_d, m.mean_diff)
        m2_t = np.where(const_t, 0.0, m.m2_true * r_t * r_t)
        m2_p = np.where(const_p, 0.0, m.m2_pred * r_p * r_p)
        cross = np.where(const_t | const_p, 0.0, m.cross * r_t * r_p)
        bias = m.n * gap * gap
    return const_t, const_p, m2_t, m2_p, cross, bias


def _warn_columns(metric: str, mask: np.ndarray, reason: str) -> None:
    if not mask.any():
        return
    where = (
        "" if mask.shape[-1] == 1
        else f" for column(s) {np.flatnonzero(mask.any(axis=tuple(range(mask.ndim - 1)))).tolist()}"
    )
    _warn_undefined(f"{metric} is undefined{where}: {reason}; returning nan")


def _empty(m: _Moments, metric: str) -> np.ndarray:
    """Where no samples were seen (warned about): the metric is nan there."""
    empty = np.broadcast_to(np.asarray(m.n) == 0, np.shape(m.mean_true))
    _warn_columns(metric, empty, "no samples were seen")
    return empty


def _ccc_from_moments(m: _Moments) -> np.ndarray:
    """Lin's CCC with population moments: 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2)."""
    empty = _empty(m, "ccc")
    _, _, m2_t, m2_p, cross, bias = _exact_moments(m)
    denom = m2_t + m2_p + bias
    undefined = (denom == 0) & ~empty
    _warn_columns(
        "ccc", undefined,
        "y_true and y_pred are both constant and equal, so the denominator is 0",
    )
    bad = undefined | empty
    with np.errstate(invalid="ignore", divide="ignore"):
        # Clipped to [-1, 1] against rounding, as Pearson's r (|2 s_xy| <= s_x^2 + s_y^2).
        return np.where(bad, np.nan, np.clip(2.0 * cross / np.where(bad, 1.0, denom),
                                             -1.0, 1.0))


def _pearson_from_moments(m: _Moments) -> np.ndarray:
    """Pearson's r: s_xy / (s_x s_y), clipped to [-1, 1] against rounding."""
    empty = _empty(m, "pearson")
    const_t = (m.min_true == m.max_true) & ~empty
    const_p = (m.min_pred == m.max_pred) & ~empty
    undefined = const_t | const_p | empty
    _warn_columns("pearson", const_t & const_p, "y_true and y_pred are constant")
    _warn_columns("pearson", const_t & ~const_p, "y_true is constant")
    _warn_columns("pearson", ~const_t & const_p, "y_pred is constant")
    # In the common units the scales cancel; the sums themselves are scaled into range.
    m2_t = np.where(undefined, 1.0, m.m2_true)
    m2_p = np.where(undefined, 1.0, m.m2_pred)
    # sqrt of the product is correctly rounded (r = 1 exactly for y = 2x + 1); the product of
    # square roots is the fallback where the product would overflow or underflow.
    with np.errstate(over="ignore", under="ignore"):
        product = m2_t * m2_p
    safe = np.isfinite(product) & (product > np.finfo(np.float64).tiny)
    scale = np.where(safe, np.sqrt(product), np.sqrt(m2_t) * np.sqrt(m2_p))
    return np.where(undefined, np.nan, np.clip(m.cross / scale, -1.0, 1.0))


def _rmse_from_moments(m: _Moments) -> np.ndarray:
    empty = _empty(m, "rmse")
    s_d = _scales(m)[2]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.where(empty, np.nan, s_d * np.sqrt(m.sse / np.where(empty, 1, m.n)))


def _sagr_from_moments(m: _Moments) -> np.ndarray:
    empty = _empty(m, "sagr")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(empty, np.nan, m.agree / np.where(empty, 1, m.n))


_ICC_FORMS = ("1,1", "2,1", "3,1", "1,k", "2,k", "3,k")


def _check_icc_form(form: str) -> str:
    if form not in _ICC_FORMS:
        raise ValueError(f"form must be one of {_ICC_FORMS}, got {form!r}")
    return form


def _icc_batch(n: np.ndarray, m2_t: np.ndarray, m2_p: np.ndarray, cross: np.ndarray,
               bias: np.ndarray, sse: np.ndarray, form: str) -> np.ndarray:
    """ICC of two raters (truth, prediction) from centred sums, any shape; nan if undefined.

    ``n`` samples, centred sums of squares ``m2_t``, ``m2_p``, centred cross product
    ``cross``, ``bias = n * mean(t - p)**2`` and raw ``sse = sum((t - p)**2)``, all in one
    unit (the ICC is a ratio, so the state's common scale cancels). The two-way ANOVA sums of
    squares of the (n, 2) table follow from them (see :func:`affectmetrics.icc`); the
    residual one is taken from whichever of its two expressions cancels less.
    """
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        df = n - 1.0
        spread = m2_t + m2_p
        ms_rows = (spread + 2.0 * cross) / (2.0 * df)
        residual = np.where(spread <= sse, spread - 2.0 * cross, sse - bias)
        ms_error = np.maximum(residual, 0.0) / (2.0 * df)
        ms_cols = bias / 2.0
        ms_within = sse / (2.0 * n)
        if form == "3,1":
            num, den = 2.0 * cross / df, spread / df
        elif form == "3,k":
            num, den = 2.0 * cross / df, ms_rows
        elif form == "2,1":
            num = 2.0 * cross / df
            den = ms_rows + ms_error + 2.0 * (ms_cols - ms_error) / n
        elif form == "2,k":
            num, den = 2.0 * cross / df, ms_rows + (ms_cols - ms_error) / n
        elif form == "1,1":
            num, den = ms_rows - ms_within, ms_rows + ms_within
        else:
            num, den = ms_rows - ms_within, ms_rows
        defined = (n >= 2) & (den != 0) & np.isfinite(den)
        return np.where(defined, num / np.where(defined, den, 1.0), np.nan)


#: When each form's denominator is 0, for the warning.
_ICC_ZERO_DENOMINATOR = {
    "3,1": "y_true and y_pred both constant",
    "2,1": "y_true and y_pred constant and equal, or n = 2 perfectly anti-concordant",
    "1,1": "y_true and y_pred constant and equal",
    "3,k": "MSR = 0: y_true + y_pred is constant, every sample has the same mean rating",
    "1,k": "MSR = 0: y_true + y_pred is constant, every sample has the same mean rating",
    "2,k": "MSR + (MSC - MSE)/n = 0",
}


def _icc_from_moments(m: _Moments, form: str = "3,1") -> np.ndarray:
    """ICC(form) of truth and prediction per column (final step shared by every path)."""
    empty = _empty(m, "icc")
    n = np.broadcast_to(np.asarray(m.n, dtype=np.float64), np.shape(m.mean_true))
    short = (n < 2) & ~empty
    _warn_columns("icc", short,
                  "it needs at least 2 samples (the ANOVA has n - 1 degrees of freedom)")
    _, _, m2_t, m2_p, cross, bias = _exact_moments(m)
    # Rounding may step an ulp outside a true bound (ICC(3,1) of x and -x came out
    # -1.0000000000000002): clip to the bounds each form has, as Pearson's r. ICC(3,1) and
    # ICC(1,1) lie in [-1, 1]; ICC(2,1), ICC(3,k), ICC(1,k) are at most 1; ICC(2,1) goes down
    # to -n/(n-2) and ICC(2,k) is unbounded (3 for t = 1, 2, 3 and p = 3, 2, 1; pingouin).
    values = _icc_batch(n, m2_t, m2_p, cross, bias, m.sse, form)
    if form != "2,k":
        values = np.minimum(values, 1.0)
    if form in ("1,1", "3,1"):
        values = np.maximum(values, -1.0)
    undefined = np.isnan(values) & ~empty & ~short
    _warn_columns("icc", undefined,
                  f"the denominator of ICC({form}) is 0 ({_ICC_ZERO_DENOMINATOR[form]})")
    return np.where(empty | short, np.nan, values)
