"""Challenge presets (ABAW, FERA) against scikit-learn, pingouin and hand-checked values."""

import numpy as np
import pytest
from sklearn import metrics as skm
from test_icc import pingouin_icc

import affectmetrics as am
from affectmetrics.presets import FERA2017_INTENSITY_AUS, FERA2017_OCCURRENCE_AUS


def lin_ccc(x, y):
    return 2 * np.cov(x, y, bias=True)[0, 1] / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def abaw_data(seed, n=600):
    rng = np.random.default_rng(seed)
    expr = rng.integers(0, 8, n)
    expr_scores = rng.random((n, 8)) + 0.5 * np.eye(8)[expr]
    va = rng.uniform(-1, 1, (n, 2))
    va_pred = np.clip(va * 0.6 + rng.normal(0, 0.3, (n, 2)), -1, 1)
    au = (rng.random((n, 12)) < 0.3).astype(int)
    au_scores = np.clip(0.4 * au + 0.7 * rng.random((n, 12)), 0, 1)
    return expr, expr_scores, va, va_pred, au, au_scores


@pytest.mark.parametrize("seed", range(4))
def test_abaw_scores_are_the_published_definitions(seed):
    expr, expr_scores, va, va_pred, au, au_scores = abaw_data(seed)
    scores = am.abaw_scores(expression=expr, expression_pred=expr_scores, va=va, va_pred=va_pred,
                            au=au, au_pred=au_scores)
    p_va = (lin_ccc(va[:, 0], va_pred[:, 0]) + lin_ccc(va[:, 1], va_pred[:, 1])) / 2
    p_expr = skm.f1_score(expr, expr_scores.argmax(1), average="macro", labels=range(8))
    per_au = [skm.f1_score(au[:, j], au_scores[:, j] > 0.5) for j in range(12)]
    p_au = float(np.mean(per_au))
    assert scores["abaw_va"] == pytest.approx(p_va, rel=1e-10)
    assert scores["abaw_expr"] == pytest.approx(p_expr, rel=1e-12)
    assert scores["abaw_au"] == pytest.approx(p_au, rel=1e-12)
    assert scores["abaw_mtl"] == pytest.approx(p_va + p_expr + p_au, rel=1e-10)
    only_au = am.abaw_scores(au=au, au_pred=au_scores)
    assert only_au == {"abaw_au": scores["abaw_au"]}
    assert len(am.ABAW_AUS) == 12


def test_abaw_refuses_wrong_au_shapes():
    with pytest.raises(ValueError, match="au must have 12 columns"):
        am.abaw_scores(au=np.zeros((4, 10)), au_pred=np.zeros((4, 10)))
    with pytest.raises(ValueError, match="give expression"):
        am.abaw_scores()


@pytest.mark.parametrize("seed", range(3))
def test_fera_scores_against_references(seed):
    rng = np.random.default_rng(seed)
    occ = (rng.random((500, 10)) < 0.25).astype(int)
    occ_scores = np.clip(0.4 * occ + 0.7 * rng.random(occ.shape), 0, 1)
    inten = rng.integers(0, 6, (500, 7)).astype(float)
    inten_pred = np.clip(inten + rng.normal(0.2, 1.0, inten.shape), 0, 5)
    occ_scores_fera = am.fera_scores(occurrence=occ, occurrence_pred=occ_scores,
                                     au_names=FERA2017_OCCURRENCE_AUS)
    f1 = [skm.f1_score(occ[:, j], occ_scores[:, j] > 0.5) for j in range(10)]
    assert occ_scores_fera["fera_occurrence_f1"] == pytest.approx(np.mean(f1), rel=1e-12)
    assert occ_scores_fera["f1_AU14"] == pytest.approx(f1[6], rel=1e-12)
    scores = am.fera_scores(intensity=inten, intensity_pred=inten_pred,
                            au_names=FERA2017_INTENSITY_AUS)
    icc = [pingouin_icc(inten[:, j], inten_pred[:, j])["ICC(C,1)"] for j in range(7)]
    mae = [skm.mean_absolute_error(inten[:, j], inten_pred[:, j]) for j in range(7)]
    rmse = [skm.root_mean_squared_error(inten[:, j], inten_pred[:, j]) for j in range(7)]
    assert scores["fera_intensity_icc"] == pytest.approx(np.mean(icc), rel=1e-10)
    assert scores["icc_AU17"] == pytest.approx(icc[6], rel=1e-10)
    assert scores["fera_intensity_mae"] == pytest.approx(np.mean(mae), rel=1e-12)
    assert scores["mae_AU1"] == pytest.approx(mae[0], rel=1e-12)
    assert scores["fera_intensity_rmse"] == pytest.approx(np.mean(rmse), rel=1e-12)


def test_fera_undefined_au_is_left_out_of_the_mean():
    truth = np.array([[0.0, 2.0], [1.0, 2.0], [3.0, 2.0]])
    pred = np.array([[0.0, 2.0], [1.0, 2.0], [3.0, 2.0]])
    with pytest.warns(am.UndefinedMetricWarning, match=r"^icc is undefined for column\(s\) \[1\]"):
        scores = am.fera_scores(intensity=truth, intensity_pred=pred, au_names=["AU4", "AU9"])
    assert scores["icc_AU4"] == 1.0 and np.isnan(scores["icc_AU9"])
    assert scores["fera_intensity_icc"] == 1.0
    with pytest.raises(ValueError, match="au_names has 1 names but intensity has 2"):
        am.fera_scores(intensity=truth, intensity_pred=pred, au_names=["AU4"])


def test_repeated_au_names_are_refused():
    # The names key the results (icc_AU1, f1_AU1): a repeated one kept only the last AU.
    data = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 3.0]])
    with pytest.raises(ValueError, match="au_names must be distinct names: 'AU1' \\(at 0\\)"):
        am.fera_scores(intensity=data, intensity_pred=data, au_names=["AU1", "AU1"])
    with pytest.raises(ValueError, match="au_names must be distinct"):
        am.fera_scores(occurrence=[[0, 1]], occurrence_pred=[[0, 1]], au_names=["AU1", "AU1"])
    with pytest.raises(ValueError, match="au_names must be distinct"):
        am.evaluate(au=[[0, 1]], au_pred=[[0, 1]], au_names=["AU1", "AU1"])
    with pytest.raises(TypeError, match="au_names must be a sequence of names, got the string"):
        am.evaluate(au=[[0, 1, 1]], au_pred=[[0, 1, 1]], au_names="AU1")


def test_preset_errors_name_the_preset_arguments():
    # A task given without its predictions raised "y_pred must be 1-D ...; got a 0-D
    # array of shape ()", and bad input named y_true/y_pred, not the preset's arguments.
    t = np.array([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match=r"^give both va and va_pred, or neither$"):
        am.abaw_scores(va=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^give both expression and expression_pred"):
        am.abaw_scores(expression_pred=[0, 1])
    with pytest.raises(ValueError, match=r"^give both occurrence and occurrence_pred"):
        am.fera_scores(occurrence=t)
    with pytest.raises(ValueError, match=r"^give both intensity and intensity_pred"):
        am.fera_scores(intensity=t.astype(float))
    with pytest.raises(ValueError, match=r"^expression contains the label 9 at index 1"):
        am.abaw_scores(expression=[0, 9], expression_pred=[0, 1])
    scores = np.zeros((2, 12))
    scores[1, 3] = np.nan
    with pytest.raises(ValueError, match=r"^au_pred contains 1 NaN"):
        am.abaw_scores(au=np.zeros((2, 12)), au_pred=scores)
    with pytest.raises(ValueError, match=r"^occurrence must hold 0/1 labels"):
        am.fera_scores(occurrence=[[0, 2]], occurrence_pred=[[0, 1]])
    with pytest.raises(ValueError, match=r"^intensity has 2 samples, intensity_pred has 1"):
        am.fera_scores(intensity=[[0.0], [1.0]], intensity_pred=[[0.0]])
    with pytest.raises(TypeError, match=r"^au_threshold must be a finite number"):
        am.abaw_scores(au=np.zeros((2, 12)), au_pred=np.zeros((2, 12)), au_threshold="0.5")
    with pytest.raises(ValueError, match=r"^n_classes must be a positive integer"):
        am.abaw_scores(expression=[0, 1], expression_pred=[0, 1], n_classes=0)


def test_fera_2017_names_both_tasks_in_one_call():
    # One au_names list had to fit both tasks, so FERA 2017's ten occurrence and seven
    # intensity AUs could not be named in one call.
    rng = np.random.default_rng(3)
    occurrence = (rng.random((50, 10)) < 0.4).astype(int)
    occurrence_pred = rng.random((50, 10))
    intensity = rng.integers(0, 6, (50, 7)).astype(float)
    intensity_pred = np.clip(intensity + rng.normal(0, 1, (50, 7)), 0, 5)
    names = {"occurrence": FERA2017_OCCURRENCE_AUS, "intensity": FERA2017_INTENSITY_AUS}
    scores = am.fera_scores(occurrence=occurrence, occurrence_pred=occurrence_pred,
                            intensity=intensity, intensity_pred=intensity_pred, au_names=names)
    per_au = skm.f1_score(occurrence, (occurrence_pred > 0.5).astype(int), average=None)
    assert scores["f1_AU23"] == pytest.approx(per_au[9], rel=1e-12)
    assert scores["icc_AU17"] == pytest.approx(pingouin_icc(intensity[:, 6],
                                                            intensity_pred[:, 6])["ICC(C,1)"],
                                               rel=1e-10)
    assert "icc_AU7" not in scores and "f1_AU7" in scores
    only = am.fera_scores(intensity=intensity, intensity_pred=intensity_pred,
                          au_names={"intensity": FERA2017_INTENSITY_AUS})
    assert only["icc_AU17"] == scores["icc_AU17"]
    with pytest.raises(ValueError, match=r"au_names\['intensity'\] has 10 names but intensity"):
        am.fera_scores(intensity=intensity, intensity_pred=intensity_pred,
                       au_names={"intensity": FERA2017_OCCURRENCE_AUS})
    with pytest.raises(ValueError, match="got the keys \\['occurence'\\]"):
        am.fera_scores(occurrence=occurrence, occurrence_pred=occurrence_pred,
                       au_names={"occurence": FERA2017_OCCURRENCE_AUS})


def test_fera_au_lists_are_public_like_abaw_aus():
    # The docstrings point to FERA2017_OCCURRENCE_AUS and FERA2017_INTENSITY_AUS as to
    # ABAW_AUS, but only am.ABAW_AUS existed.
    assert am.FERA2017_OCCURRENCE_AUS == FERA2017_OCCURRENCE_AUS
    assert am.FERA2017_INTENSITY_AUS == FERA2017_INTENSITY_AUS
    assert {"FERA2017_OCCURRENCE_AUS", "FERA2017_INTENSITY_AUS"} <= set(am.__all__)


def test_presets_omit_unannotated_frames_per_task():
    # A NaN raised "... pass nan_policy='omit'", an option the presets did not take. ABAW
    # frames are annotated per task: a frame without a VA label still counts for AUs.
    rng = np.random.default_rng(8)
    n = 40
    va = rng.uniform(-1, 1, (n, 2))
    va_pred = np.clip(va + rng.normal(0, 0.3, (n, 2)), -1, 1)
    au = (rng.random((n, 12)) < 0.4).astype(float)
    au_pred = rng.random((n, 12))
    expression = rng.integers(0, 8, n).astype(float)
    expression_pred = rng.random((n, 8))
    va[3, 0] = np.nan
    au[[5, 6], 2] = np.nan
    expression[7] = np.nan
    with pytest.raises(ValueError, match="va contains 1 NaN"):
        am.abaw_scores(va=va, va_pred=va_pred)
    scores = am.abaw_scores(expression=expression, expression_pred=expression_pred, va=va,
                            va_pred=va_pred, au=au, au_pred=au_pred, nan_policy="omit")
    keep_va, keep_au, keep_expr = (np.arange(n) != i for i in (3, 5, 7))
    keep_au &= np.arange(n) != 6
    assert scores["abaw_va"] == pytest.approx(
        np.mean(am.ccc(va[keep_va], va_pred[keep_va])), rel=1e-14)
    assert scores["abaw_au"] == pytest.approx(skm.f1_score(
        au[keep_au].astype(int), (au_pred[keep_au] > 0.5).astype(int), average="macro",
        zero_division=0.0), rel=1e-12)
    assert scores["abaw_expr"] == pytest.approx(skm.f1_score(
        expression[keep_expr].astype(int), expression_pred[keep_expr].argmax(1),
        average="macro", labels=range(8), zero_division=0.0), rel=1e-12)
    intensity = rng.integers(0, 6, (n, 3)).astype(float)
    intensity_pred = np.clip(intensity + rng.normal(0, 1, (n, 3)), 0, 5)
    intensity_pred[0, 1] = np.nan
    fera = am.fera_scores(intensity=intensity, intensity_pred=intensity_pred,
                          occurrence=au[:, :3], occurrence_pred=au_pred[:, :3],
                          nan_policy="omit")
    assert fera["icc_AU0"] == pytest.approx(am.icc(intensity[1:, 0], intensity_pred[1:, 0]),
                                            rel=1e-14)
    assert fera["f1_AU2"] == pytest.approx(skm.f1_score(
        au[keep_au, 2].astype(int), (au_pred[keep_au, 2] > 0.5).astype(int)), rel=1e-12)


def test_ccc_per_group_omits_nan_rows_with_their_group_ids():
    # A NaN raised "... pass nan_policy='omit'", which ccc_per_group did not take.
    t = np.array([0.0, 1.0, np.nan, 2.0, 10.0, 11.0, 12.0, 13.0])
    p = np.array([0.0, 1.5, 1.0, 2.0, 10.0, 12.0, np.nan, 13.0])
    groups = ["a"] * 4 + ["b"] * 4
    with pytest.raises(ValueError, match="y_true contains 1 NaN"):
        am.ccc_per_group(t, p, groups)
    keep = ~(np.isnan(t) | np.isnan(p))
    expected = np.mean([am.ccc(t[keep][:3], p[keep][:3]), am.ccc(t[keep][3:], p[keep][3:])])
    assert am.ccc_per_group(t, p, groups, nan_policy="omit") == pytest.approx(expected,
                                                                               rel=1e-15)
    with pytest.raises(ValueError, match="nothing is left to score"):
        am.ccc_per_group([np.nan, 1.0], [1.0, np.nan], ["a", "b"], nan_policy="omit")
    with pytest.raises(ValueError, match="nan_policy must be"):
        am.ccc_per_group([0.0, 1.0], [1.0, 0.0], ["a", "a"], nan_policy="drop")
