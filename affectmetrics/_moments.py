"""Mergeable moments of (truth, prediction) pairs: the statistics step of the continuous metrics.

Each column of the data is summarised by

* ``n`` (shared by all columns), the means of truth and prediction, and the mean of their
  difference (the CCC's bias term: ``mean(t - p)`` is exact for data far from zero, where
  ``mean(t) - mean(p)`` loses the digits the offset takes),
* the centred sums of squares ``m2_true = sum((t - mean_t)**2)`` and ``m2_pred``,
* the centred cross product ``cross = sum((t - mean_t) * (p - mean_p))``,
* ``sse = sum((t - p)**2)`` (kept apart because deriving it from the others cancels
  catastrophically when the predictions are good),
* the number of sign agreements, and for each side its value if it is constant (so that
  "constant" is decided exactly, never by comparing a rounded variance with zero).

Blocks are summarised with the two-pass algorithm in float64 and combined with the
multi-way form of Chan, Golub & LeVeque's update (the law of total variance):

.. math::

    M_2 = \\sum_b M_{2,b} + \\sum_b n_b (\\bar x_b - \\bar x)^2, \\qquad
    C = \\sum_b C_b + \\sum_b n_b (\\bar x_b - \\bar x)(\\bar y_b - \\bar y),

which is exact in exact arithmetic, associative and commutative, and stable for data far from
zero because only deviations from means are ever squared. No one-pass sum of squares is used.

References: T. F. Chan, G. H. Golub, R. J. LeVeque, "Algorithms for computing the sample
variance: analysis and recommendations", The American Statistician 37(3), 1983.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .exceptions import _warn_undefined

__all__: list[str] = []

# Rows per block: the (6k, rows) float64 buffer is 768 kB for two columns, so the working
# set stays in cache and extra memory is bounded independently of n.
_BLOCK_ROWS = 1 << 13


@dataclass(frozen=True)
class _Moments:
    n: int
    mean_true: np.ndarray
    mean_pred: np.ndarray
    mean_diff: np.ndarray
    m2_true: np.ndarray
    m2_pred: np.ndarray
    cross: np.ndarray
    sse: np.ndarray
    agree: np.ndarray  # int64 count of sign agreements
    # The column's value if it is constant, else -inf / +inf: "constant" is min == max.
    min_true: np.ndarray
    max_true: np.ndarray
    min_pred: np.ndarray
    max_pred: np.ndarray

    @property
    def num_outputs(self) -> int:
        return self.mean_true.shape[0]

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
    except ``min_*``/``max_*``, which are the column's value twice (constant), ``-inf, +inf``
    (varying) or, when ``n == 0``, ``+inf, -inf``; the sums of squares are >= 0; an empty
    summary is all zeros. Refuses with a ``ValueError`` naming the first bad entry.
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
        if m.n == 0:
            ok = (lo == np.inf) & (hi == -np.inf)
        else:
            ok = ((lo == hi) & np.isfinite(lo)) | ((lo == -np.inf) & (hi == np.inf))
        if not ok.all():
            raise ValueError(
                f"state entries 'min_{side}' and 'max_{side}' must be a constant column's "
                f"value twice, or -inf and inf (+inf and -inf when n is 0); got "
                f"{lo.tolist()} and {hi.tolist()}"
            )
    return m


def _empty_moments(num_outputs: int) -> _Moments:
    zeros = np.zeros(num_outputs)
    inf = np.full(num_outputs, np.inf)
    return _Moments(
        0, zeros, zeros, zeros, zeros, zeros, zeros, zeros, np.zeros(num_outputs, np.int64),
        inf, -inf, inf, -inf,
    )


def _combine(
    counts: np.ndarray,
    mean_true: np.ndarray,
    mean_pred: np.ndarray,
    mean_diff: np.ndarray,
    m2_true: np.ndarray,
    m2_pred: np.ndarray,
    cross: np.ndarray,
    sse: np.ndarray,
    agree: np.ndarray,
    min_true: np.ndarray,
    max_true: np.ndarray,
    min_pred: np.ndarray,
    max_pred: np.ndarray,
) -> _Moments:
    """Multi-way Chan merge of per-part statistics stacked along axis 0 (parts, k)."""
    nonempty = counts > 0
    if not nonempty.all():
        parts = (mean_true, mean_pred, mean_diff, m2_true, m2_pred, cross, sse, agree,
                 min_true, max_true, min_pred, max_pred)
        counts = counts[nonempty]
        (mean_true, mean_pred, mean_diff, m2_true, m2_pred, cross, sse, agree,
         min_true, max_true, min_pred, max_pred) = (a[nonempty] for a in parts)
    if counts.shape[0] == 0:
        return _empty_moments(mean_true.shape[1])
    n = int(counts.sum())
    w = counts.astype(np.float64)[:, None]
    mt = (w * mean_true).sum(axis=0) / n
    mp = (w * mean_pred).sum(axis=0) / n
    dt = mean_true - mt
    dp = mean_pred - mp
    return _Moments(
        n,
        mt,
        mp,
        (w * mean_diff).sum(axis=0) / n,
        m2_true.sum(axis=0) + (w * dt * dt).sum(axis=0),
        m2_pred.sum(axis=0) + (w * dp * dp).sum(axis=0),
        cross.sum(axis=0) + (w * dt * dp).sum(axis=0),
        sse.sum(axis=0),
        agree.sum(axis=0, dtype=np.int64),
        min_true.min(axis=0),
        max_true.max(axis=0),
        min_pred.min(axis=0),
        max_pred.max(axis=0),
    )


def _moments(t: np.ndarray, p: np.ndarray) -> _Moments:
    """Moments of validated 2-D arrays ``(n, k)`` in one blocked pass.

    Every column is shifted by a pivot that is one of its own values (the median of the
    first block), so that all blocks' sums add up directly. For each block a cache-sized
    buffer ``Z`` of shape ``(6k, rows)`` receives, one contiguous row per quantity, the
    shifted truth, prediction and difference, the signs of truth and prediction and their
    product; row sums and row dot products then give every statistic: the sums, sums of
    squares and cross products, and the sign counts from which agreement follows by
    inclusion-exclusion (``same = (Σ s_t s_p + Σ (s_t s_p)²) / 2``,
    ``both zero = n - Σ s_t² - Σ s_p² + Σ (s_t s_p)²``, exact integers in float64).
    Rows (not columns) keep NumPy's inner loops long even for k = 2, which is what makes
    this several times faster than whole-array NumPy.

    The shift keeps the data near zero, so the final centring ``M2 = Σz² - (Σz)² / n``
    cancels only a factor ``((mean - pivot) / std)²``; the difference is shifted and squared
    on its own, so the SSE never comes from a difference of large sums. Because the pivot is
    a data value, a column is constant exactly when its shifted sum of squares is 0;
    ``min_*``/``max_*`` then hold that value, and -inf/+inf otherwise (only whether they are
    equal matters when states are merged).
    """
    if t.dtype.kind == "b":
        t = t.view(np.uint8)
    if p.dtype.kind == "b":
        p = p.view(np.uint8)
    n, k = t.shape
    middle = min(n, _BLOCK_ROWS) // 2
    pivot_t = np.partition(t[:_BLOCK_ROWS], middle, axis=0)[middle].astype(np.float64)
    pivot_p = np.partition(p[:_BLOCK_ROWS], middle, axis=0)[middle].astype(np.float64)
    zt, zp, zd, st, sp, ss = (slice(i * k, (i + 1) * k) for i in range(6))
    buffer = np.empty((6 * k, min(n, _BLOCK_ROWS)))
    sums = np.zeros(3 * k)
    squares = np.zeros(6 * k)
    cross = np.zeros(k)
    same_sign = np.zeros(k)
    for start in range(0, n, _BLOCK_ROWS):
        tb, pb = t[start:start + _BLOCK_ROWS].T, p[start:start + _BLOCK_ROWS].T
        z = buffer[:, : tb.shape[1]]
        np.subtract(tb, pivot_t[:, None], out=z[zt])
        np.subtract(pb, pivot_p[:, None], out=z[zp])
        np.subtract(z[zt], z[zp], out=z[zd])
        np.sign(tb, out=z[st])
        np.sign(pb, out=z[sp])
        np.multiply(z[st], z[sp], out=z[ss])
        sums += z[: 3 * k].sum(axis=1)
        squares += np.einsum("ij,ij->i", z, z)
        cross += np.einsum("ij,ij->i", z[zt], z[zp])
        same_sign += z[ss].sum(axis=1)
    s_t, s_p, s_d = sums[zt], sums[zp], sums[zd]
    q_t, q_p, q_d = squares[zt], squares[zp], squares[zd]
    both_nonzero = squares[ss]
    agree = (same_sign + both_nonzero) / 2 + (n - squares[st] - squares[sp] + both_nonzero)
    mean_d = (pivot_t - pivot_p) + s_d / n
    const_t, const_p = q_t == 0, q_p == 0
    return _Moments(
        n,
        pivot_t + s_t / n,
        pivot_p + s_p / n,
        mean_d,
        np.maximum(q_t - s_t * s_t / n, 0.0),
        np.maximum(q_p - s_p * s_p / n, 0.0),
        cross - s_t * s_p / n,
        np.maximum(q_d - s_d * s_d / n, 0.0) + n * mean_d * mean_d,
        np.rint(agree).astype(np.int64),
        np.where(const_t, pivot_t, -np.inf),
        np.where(const_t, pivot_t, np.inf),
        np.where(const_p, pivot_p, -np.inf),
        np.where(const_p, pivot_p, np.inf),
    )


def _merge_moments(*parts: _Moments) -> _Moments:
    """Merge any number of moment summaries (associative and commutative)."""
    k = parts[0].num_outputs
    for part in parts[1:]:
        if part.num_outputs != k:
            raise ValueError(
                f"cannot merge states with {k} and {part.num_outputs} outputs"
            )
    counts = np.array([part.n for part in parts], dtype=np.int64)
    stacked = [np.stack([getattr(part, f.name) for part in parts]) for f in fields(_Moments)[1:]]
    return _combine(counts, *stacked)


_N_STATS = len(fields(_Moments))


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
    stacked = np.asarray(stacked, dtype=np.float64)
    return _pack(_merge_moments(*(_unpack(part) for part in stacked)))


def _exact_moments(m: _Moments) -> tuple[np.ndarray, ...]:
    """Mean difference and centred sums with exact zeros for constant columns.

    A constant column (max == min, decided exactly) has its mean set to that value and its
    centred sums to 0: rounding in the mean would otherwise leave tiny non-zero deviations
    (the variance of ``[0.3] * n`` is not 0 in floating point).
    """
    const_t = m.min_true == m.max_true
    const_p = m.min_pred == m.max_pred
    both = const_t & const_p
    gap = np.where(both, np.where(both, m.min_true, 0.0) - np.where(both, m.min_pred, 0.0),
                   m.mean_diff)
    m2_t = np.where(const_t, 0.0, m.m2_true)
    m2_p = np.where(const_p, 0.0, m.m2_pred)
    cross = np.where(const_t | const_p, 0.0, m.cross)
    return const_t, const_p, gap, m2_t, m2_p, cross


def _warn_columns(metric: str, mask: np.ndarray, reason: str) -> None:
    if not mask.any():
        return
    where = (
        "" if mask.shape[0] == 1
        else f" for column(s) {np.flatnonzero(mask).tolist()}"
    )
    _warn_undefined(f"{metric} is undefined{where}: {reason}; returning nan")


def _check_nonempty(m: _Moments, metric: str) -> bool:
    if m.n == 0:
        _warn_columns(metric, np.ones(m.num_outputs, bool), "no samples were seen")
        return False
    return True


def _ccc_from_moments(m: _Moments) -> np.ndarray:
    """Lin's CCC with population moments: 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2)."""
    if not _check_nonempty(m, "ccc"):
        return np.full(m.num_outputs, np.nan)
    _, _, gap, m2_t, m2_p, cross = _exact_moments(m)
    denom = m2_t + m2_p + m.n * gap * gap
    undefined = denom == 0
    _warn_columns(
        "ccc", undefined,
        "y_true and y_pred are both constant and equal, so the denominator is 0",
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(undefined, np.nan, 2.0 * cross / np.where(undefined, 1.0, denom))


def _pearson_from_moments(m: _Moments) -> np.ndarray:
    """Pearson's r: s_xy / (s_x s_y), clipped to [-1, 1] against rounding."""
    if not _check_nonempty(m, "pearson"):
        return np.full(m.num_outputs, np.nan)
    const_t, const_p, _, m2_t, m2_p, cross = _exact_moments(m)
    undefined = const_t | const_p
    _warn_columns("pearson", const_t & const_p, "y_true and y_pred are constant")
    _warn_columns("pearson", const_t & ~const_p, "y_true is constant")
    _warn_columns("pearson", ~const_t & const_p, "y_pred is constant")
    m2_t = np.where(undefined, 1.0, m2_t)
    m2_p = np.where(undefined, 1.0, m2_p)
    # sqrt of the product is correctly rounded (r = 1 exactly for y = 2x + 1); the product of
    # square roots is the fallback where the product would overflow or underflow.
    with np.errstate(over="ignore", under="ignore"):
        product = m2_t * m2_p
    safe = np.isfinite(product) & (product > np.finfo(np.float64).tiny)
    scale = np.where(safe, np.sqrt(product), np.sqrt(m2_t) * np.sqrt(m2_p))
    return np.where(undefined, np.nan, np.clip(cross / scale, -1.0, 1.0))


def _rmse_from_moments(m: _Moments) -> np.ndarray:
    if not _check_nonempty(m, "rmse"):
        return np.full(m.num_outputs, np.nan)
    return np.sqrt(m.sse / m.n)


def _sagr_from_moments(m: _Moments) -> np.ndarray:
    if not _check_nonempty(m, "sagr"):
        return np.full(m.num_outputs, np.nan)
    return m.agree / m.n
