"""Krippendorff's alpha against the published worked example and the krippendorff package."""

import krippendorff
import numpy as np
import pytest

import affectmetrics as am


def test_krippendorffs_two_observer_binary_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section A:
    # two observers, ten units. Confusion (A rows, B columns) = [[5, 3], [1, 1]], so the
    # coincidence matrix is [[10, 4], [4, 2]], n_0 = 14, n_1 = 6, n.. = 20 and
    # alpha = 1 - (20 - 1) * 8 / (2 * 14 * 6) = 1 - 152/168 = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert am.krippendorff_alpha(a, b) == pytest.approx(16 / 168, rel=1e-14)
    assert f"{am.krippendorff_alpha(a, b):.3f}" == "0.095"


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_the_krippendorff_package(level, seed):
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 9))
    t = rng.integers(0, n_classes, 300)
    p = np.where(rng.random(300) < 0.5, t, rng.integers(0, n_classes, 300))
    values = np.arange(1, n_classes + 1)  # ratio needs positive values
    expected = krippendorff.alpha(reliability_data=[values[t], values[p]],
                                  level_of_measurement=level, value_domain=values)
    assert am.krippendorff_alpha(values[t], values[p], level=level) == pytest.approx(
        expected, rel=1e-10)


def test_perfect_agreement_and_score_matrix_input():
    assert am.krippendorff_alpha([0, 1, 2, 2], [0, 1, 2, 2]) == 1.0
    scores = np.eye(3)[[0, 1, 2, 2]]
    assert am.krippendorff_alpha([0, 1, 2, 2], scores) == 1.0


def test_undefined_when_one_value_is_used_throughout():
    with pytest.warns(am.UndefinedMetricWarning, match="expected disagreement is 0"):
        assert np.isnan(am.krippendorff_alpha([3, 3, 3], [3, 3, 3]))


def test_bad_level_is_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        am.krippendorff_alpha([0, 1], [0, 1], level="cardinal")
