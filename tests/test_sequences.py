"""Time-continuous CCC: concatenated vs mean of sequences, annotation delay, lag search."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import affectmetrics as am


def lin_ccc(x, y):
    return 2 * np.cov(x, y, bias=True)[0, 1] / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def recordings(seed, n_seq=6, length=120, lag=0):
    """Interleaved sequences whose annotations trail the signal by ``lag`` frames."""
    rng = np.random.default_rng(seed)
    truth, pred, ids = [], [], []
    for s in range(n_seq):
        signal = np.cumsum(rng.normal(0, 0.1, length + lag)) + rng.normal(0, 1)
        pred.append(signal[lag:] + rng.normal(0, 0.05, length))
        truth.append(signal[:length])
        ids.append(np.full(length, f"video{s}"))
    return np.concatenate(truth), np.concatenate(pred), np.concatenate(ids)


def test_concatenated_and_mean_of_sequences_against_definitions():
    t, p, ids = recordings(0)
    scores = am.sequence_ccc(t, p, ids)
    assert scores.concatenated == pytest.approx(lin_ccc(t, p), rel=1e-12)
    per = [lin_ccc(t[ids == s], p[ids == s]) for s in np.unique(ids)]
    np.testing.assert_allclose(scores.per_sequence, per, rtol=1e-12)
    assert scores.mean_of_sequences == pytest.approx(np.mean(per), rel=1e-12)
    assert scores.sequences.tolist() == sorted(set(ids.tolist()))
    assert scores.n_frames == t.shape[0] and scores.delay == 0


def test_delay_drops_first_truth_and_last_prediction_frames_per_sequence():
    truth = np.array([0, 1, 2, 3, 100, 101, 102, 200.0])
    pred = np.array([10, 11, 12, 13, 110, 111, 112, 210.0])
    ids = np.array(["a", "a", "a", "a", "b", "b", "b", "c"])
    # interleave the rows: frames keep their order within each sequence
    shuffle = np.array([0, 4, 1, 7, 5, 2, 6, 3])
    t, p, s = am.apply_delay(truth[shuffle], pred[shuffle], ids[shuffle], 2)
    assert t.tolist() == [2, 3, 102]
    assert p.tolist() == [10, 11, 110]
    assert s.tolist() == ["a", "a", "b"]
    t, p, s = am.apply_delay(truth, pred, ids, -1)
    # negative: truth i - 1 with prediction i; the last truth and first prediction frames go
    assert t.tolist() == [0, 1, 2, 100, 101] and p.tolist() == [11, 12, 13, 111, 112]
    t, p, _ = am.apply_delay(truth, pred, ids, 0)
    np.testing.assert_array_equal(t, truth)
    with pytest.raises(ValueError, match="leaves no frame"):
        am.apply_delay(truth, pred, ids, 4)
    with pytest.raises(TypeError, match="delay must be an integer"):
        am.apply_delay(truth, pred, ids, 1.5)


def test_delay_by_hand_against_shifted_arrays():
    t, p, ids = recordings(1, lag=0)
    d = 7
    scores = am.sequence_ccc(t, p, ids, delay=d)
    shifted_t = np.concatenate([t[ids == s][d:] for s in np.unique(ids)])
    shifted_p = np.concatenate([p[ids == s][:-d] for s in np.unique(ids)])
    assert scores.concatenated == pytest.approx(lin_ccc(shifted_t, shifted_p), rel=1e-12)
    assert scores.n_frames == t.shape[0] - d * 6


@pytest.mark.parametrize("pooling", ["concatenated", "mean_of_sequences"])
def test_lag_search_finds_the_annotation_delay(pooling):
    t, p, ids = recordings(2, lag=12)
    result = am.lag_search(t, p, ids, delays=range(0, 25, 2), pooling=pooling)
    assert result.best_delay == 12
    expected = (am.sequence_ccc(t, p, ids, delay=12).concatenated if pooling == "concatenated"
                else am.sequence_ccc(t, p, ids, delay=12).mean_of_sequences)
    assert result.best_ccc == pytest.approx(expected, rel=1e-12)
    assert result.ccc.shape == (13,)
    two = am.lag_search(np.c_[t, t], np.c_[p, p], ids, delays=[0, 12], pooling=pooling)
    assert two.best_delay.tolist() == [12, 12]
    with pytest.raises(ValueError, match="pooling"):
        am.lag_search(t, p, ids, pooling="median")


def test_sequence_is_the_bootstrap_group():
    t, p, ids = recordings(3, n_seq=8)
    scores = am.sequence_ccc(np.c_[t, -t], np.c_[p, -p], ids, ci=0.9, n_resamples=200, seed=0)
    assert scores.intervals.grouped
    low, high = scores.intervals.low["ccc_0"], scores.intervals.high["ccc_0"]
    assert low <= scores.concatenated[0] <= high
    direct = am.bootstrap_ci(va=np.c_[t, -t], va_pred=np.c_[p, -p], output_names=("0", "1"),
                             confidence_level=0.9, n_resamples=200, seed=0, groups=ids)
    assert (low, high) == (direct.low["ccc_0"], direct.high["ccc_0"])


def test_undefined_sequence_is_reported_once_and_left_out():
    t = np.array([1.0, 2.0, 3.0, 5.0, 5.0])
    p = np.array([1.0, 2.0, 3.0, 5.0, 5.0])
    with pytest.warns(am.UndefinedMetricWarning, match="^ccc_per_group"):
        scores = am.sequence_ccc(t, p, [0, 0, 0, 1, 1])
    assert scores.mean_of_sequences == 1.0
    assert scores.per_sequence[0] == 1.0 and np.isnan(scores.per_sequence[1])


@given(st.integers(0, 5), st.integers(1, 4))
def test_property_delay_keeps_pairs_aligned(delay, n_seq):
    length = 8
    ids = np.repeat(np.arange(n_seq), length)
    frame = np.tile(np.arange(length), n_seq).astype(float)
    t, p, _ = am.apply_delay(frame + 100 * ids, frame + 100 * ids, ids, delay)
    np.testing.assert_array_equal(t - p, np.full(t.shape[0], float(delay)))
    assert t.shape[0] == n_seq * (length - delay)


def test_sequence_ids_of_any_hashable_type_and_missing_ids():
    t = np.array([0.0, 1.0, 2.0, 5.0, 4.0, 6.0])
    p = np.array([0.5, 1.0, 2.5, 5.0, 4.5, 6.5])
    ids = np.array([3, 3, 3, "3b", "3b", "3b"], dtype=object)
    scores = am.sequence_ccc(t, p, ids)
    assert scores.sequences.tolist() == [3, "3b"]
    assert scores.per_sequence[1] == pytest.approx(lin_ccc(t[3:], p[3:]), rel=1e-12)
    with pytest.raises(ValueError, match="sequences has a missing id"):
        am.sequence_ccc(t, p, np.array([1, 1, None, 2, 2, 2], dtype=object))


def test_delays_beyond_int64_and_delays_that_are_not_a_sequence():
    # A delay of 10**20 frames raised OverflowError ("Python int too large to convert to C
    # long") instead of the ValueError of any delay longer than every sequence; a scalar
    # delays= raised "'int' object is not iterable".
    t, p, s = np.arange(10.0), np.arange(10.0) ** 2, [0] * 6 + [1] * 4
    for delay in (10**20, -(10**20), np.uint64(2**63 + 5), 6):
        with pytest.raises(ValueError, match=rf"^delay={delay} leaves no frame: the longest "
                                             r"sequence has 6 frames$"):
            am.apply_delay(t, p, s, delay)
    with pytest.raises(ValueError, match="leaves no frame"):
        am.lag_search(t, p, s, delays=[0, 10**30])
    # 5 frames: truth 1..5 with predictions 0..4 in sequence 0, 7..9 with 6..8 in 1
    shifted = am.apply_delay(t, p, s, 1)
    assert shifted[0].tolist() == [1, 2, 3, 4, 5, 7, 8, 9]
    assert shifted[1].tolist() == [0, 1, 4, 9, 16, 36, 49, 64]
    for bad in (3, "0", None, np.array(2)):
        with pytest.raises(TypeError, match=r"^delays must be a sequence of integer delays"):
            am.lag_search(t, p, s, delays=bad)


def test_nan_frames_are_dropped_after_pairing_under_omit():
    # A NaN raised "pass nan_policy='omit'" though the functions took no such option, and
    # dropping NaN frames beforehand would pair frames that are not `delay` apart.
    t = np.array([0.0, 1.0, np.nan, 3.0, 10.0, 12.0, 11.0, 15.0])
    p = np.array([0.5, 1.5, 2.0, 2.5, 10.0, 11.0, np.nan, 14.0])
    s = [0] * 4 + [1] * 4
    with pytest.raises(ValueError, match="pass nan_policy='omit'"):
        am.sequence_ccc(t, p, s)
    # delay 1, pairs (truth i+1, prediction i): sequence 0 (1, .5), (nan, 1.5), (3, 2);
    # sequence 1 (12, 10), (11, 11), (15, nan): the two pairs with a NaN go
    aligned = am.apply_delay(t, p, s, 1, nan_policy="omit")
    assert aligned[0].tolist() == [1.0, 3.0, 12.0, 11.0]
    assert aligned[1].tolist() == [0.5, 2.0, 10.0, 11.0]
    assert aligned[2].tolist() == [0, 0, 1, 1]
    scores = am.sequence_ccc(t, p, s, delay=1, nan_policy="omit")
    assert scores.concatenated == pytest.approx(am.ccc(aligned[0], aligned[1]), rel=1e-15)
    # per sequence: CCC((1, 3), (.5, 2)) = 2*0.75 / (1 + 0.5625 + 0.75**2) = 12/17;
    # CCC((12, 11), (10, 11)) = 2*(-0.25) / (0.25 + 0.25 + 1) = -1/3
    np.testing.assert_allclose(scores.per_sequence, [12 / 17, -1 / 3], rtol=1e-14)
    search = am.lag_search(t, p, s, delays=[0, 1], nan_policy="omit")
    assert search.ccc[1] == scores.concatenated
    with pytest.raises(ValueError, match="every pair of frames left by delay=0 has a NaN"):
        am.apply_delay([np.nan, 1.0], [1.0, np.nan], [0, 0], 0, nan_policy="omit")
    with pytest.raises(ValueError, match="infinite"):
        am.apply_delay([np.inf, 1.0], [1.0, 2.0], [0, 0], 0, nan_policy="omit")


def test_intervals_need_two_sequences_and_say_so():
    # One sequence gave "groups must contain at least two distinct groups", naming an
    # argument sequence_ccc does not have.
    t = np.arange(10.0)
    with pytest.raises(ValueError, match=r"^ci resamples whole sequences and needs at least "
                                         r"two; after delay=0 there is 1$"):
        am.sequence_ccc(t, t ** 2, [3] * 10, ci=0.9, n_resamples=20)
    # a delay that empties the shorter sequence leaves one
    with pytest.raises(ValueError, match="after delay=2 there is 1"):
        am.sequence_ccc(t, t ** 2, [0] * 8 + [1] * 2, delay=2, ci=0.9, n_resamples=20)
