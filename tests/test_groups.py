"""Group ids of any hashable type, one encoding for every function that takes groups."""

from __future__ import annotations

import numpy as np
import pytest

import affectmetrics as am
from affectmetrics._validation import _group_codes


def recordings():
    """Three recordings of 30 frames, each with its own offset."""
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(3), 30)
    truth = rng.normal(size=90) + ids
    return ids, truth, truth + rng.normal(scale=0.5, size=90)


ID_KINDS = {
    "int": lambda ids: ids,
    "str": lambda ids: np.array(["a", "bb", "ccc"])[ids],
    "object-str": lambda ids: np.array(["s01", "s2", "subject-3"], dtype=object)[ids],
    "mixed-object": lambda ids: np.array([7, "seven", (7, 1)], dtype=object)[ids],
    "list-of-str": lambda ids: [["x", "y", "z"][i] for i in ids],
    "float": lambda ids: ids.astype(np.float64) / 2,
    # A list of mixed ids: np.asarray would make the strings "0.5", "1", "1" (one group for
    # two); tuples would become a 2-D array.
    "list-mixed": lambda ids: [[0.5, 1, "1"][i] for i in ids],
    "list-of-tuples": lambda ids: [[(1, 2), (1, 3), (2, 1)][i] for i in ids],
}


@pytest.mark.parametrize("kind", sorted(ID_KINDS))
def test_every_id_type_gives_the_integer_ids_results(kind):
    ids, truth, pred = recordings()
    other = ID_KINDS[kind](ids)
    # The per-recording CCC, by hand: the mean of the three recordings' CCCs.
    by_hand = np.mean([am.ccc(truth[ids == g], pred[ids == g]) for g in range(3)])
    assert am.ccc_per_group(truth, pred, other) == pytest.approx(by_hand, rel=1e-12)
    reference = am.bootstrap_ci(va=truth, va_pred=pred, groups=ids, n_resamples=50, seed=3)
    result = am.bootstrap_ci(va=truth, va_pred=pred, groups=other, n_resamples=50, seed=3)
    np.testing.assert_array_equal(np.sort(result.distribution["ccc"]),
                                  np.sort(reference.distribution["ccc"]))
    report = am.evaluate(va=truth[:, None], va_pred=pred[:, None], output_names=["v"],
                         groups=other, warn=False)
    assert report.metrics["ccc_v_per_group"] == pytest.approx(by_hand, rel=1e-12)
    paired = am.paired_comparison(va=truth, pred_a={"va_pred": pred}, pred_b={"va_pred": truth},
                                  groups=other, n_resamples=50, seed=0)
    assert paired.difference["ccc"] == pytest.approx(1 - am.ccc(truth, pred), rel=1e-12)


@pytest.mark.parametrize("bad", [[1, None, 2], [1.0, np.nan, 2.0],
                                 np.array(["a", None, "b"], dtype=object),
                                 np.array([1, float("nan"), "b"], dtype=object)])
def test_missing_group_ids_are_refused_by_name_and_position(bad):
    with pytest.raises(ValueError, match=r"groups has a missing id .* at position 1"):
        _group_codes(bad, 3)
    with pytest.raises(ValueError, match="groups has a missing id"):
        am.ccc_per_group([0.1, 0.2, 0.3], [0.1, 0.3, 0.2], bad)
    with pytest.raises(ValueError, match="groups has a missing id"):
        am.bootstrap_ci(va=[0.1, 0.2, 0.3], va_pred=[0.1, 0.3, 0.2], groups=bad)
    with pytest.raises(ValueError, match="groups has a missing id"):
        am.evaluate(va=[0.1, 0.2, 0.3], va_pred=[0.1, 0.3, 0.2], output_names=["v"],
                    groups=bad, nan_policy="omit", warn=False)


def test_ids_that_print_alike_stay_distinct():
    # 1 and "1" are two recordings: CCC 1 (0, 1, 2 predicted exactly) and -1 (two points in
    # inverted order); their mean is 0. As strings they would be one group, CCC 0.6/0.7...
    truth = [0.0, 1.0, 2.0, 0.0, 1.0]
    pred = [0.0, 1.0, 2.0, 1.0, 0.0]
    assert am.ccc_per_group(truth, pred, [1, 1, 1, "1", "1"]) == 0.0
    codes, count = _group_codes([1, 1, "1", (1,), b"1"], 5)
    assert count == 4 and len(set(codes[[0, 2, 3, 4]].tolist())) == 4
    # As subgroup levels they would be one key of the results (keyed by text): refused.
    with pytest.raises(ValueError, match="levels of subgroups\\['who'\\] must be distinct"):
        am.evaluate(va=truth, va_pred=pred, output_names=["v"], warn=False,
                    subgroups={"who": [1, 1, 1, "1", "1"]})


def test_group_codes_follow_sorted_ids_and_check_the_shape():
    codes, count = _group_codes(np.array(["b", "a", "ccc", "a"]), 4)
    assert codes.tolist() == [1, 0, 2, 0] and count == 3
    with pytest.raises(ValueError, match="groups has 2 entries but there are 3 samples"):
        _group_codes(["a", "b"], 3)
    with pytest.raises(ValueError, match="must be 1-D"):
        _group_codes([[1, 2], [3, 4]], 2)
    with pytest.raises(TypeError, match="one id per sample"):
        _group_codes("abc", 3)
