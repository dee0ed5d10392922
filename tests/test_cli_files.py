"""Issue 11: researchers' own files, read as they are, never scored wrongly, never lost.

Each example of the issue is a test with its right value; references are the core
functions on the arrays the file was written from (scikit-learn-checked elsewhere) and
hand-checked values.
"""

import gzip
import json
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_cli import run

import affectmetrics as am
from affectmetrics.cli import read_predictions
from affectmetrics.examples import AFFECTNET_CLASSES


def table_text(columns, delimiter=","):
    names = list(columns)
    rows = zip(*(columns[n] for n in names), strict=True)
    return (delimiter.join(names) + "\n"
            + "\n".join(delimiter.join(map(str, r)) for r in rows) + "\n")


def perfect_affectnet(n_per_class=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(8), n_per_class)
    scores = rng.random((labels.shape[0], 8)) * 0.5
    scores[np.arange(labels.shape[0]), labels] = 1.0
    return labels, scores


def alphabetical_columns(labels, scores):
    order = sorted(range(8), key=lambda i: AFFECTNET_CLASSES[i])
    return {"expression": labels, **{f"score_{AFFECTNET_CLASSES[i]}": scores[:, i]
                                     for i in order}}


def metric(stdout, label):
    line = next(row for row in stdout.splitlines() if row.startswith(f"| {label} "))
    return float(line.split("|")[2].split()[0])


# -- 1. score columns by name ------------------------------------------------------------

def test_alphabetical_score_columns_are_matched_by_name(tmp_path):
    labels, scores = perfect_affectnet()
    path = tmp_path / "m.csv"
    path.write_text(table_text(alphabetical_columns(labels, scores)))
    assert list(alphabetical_columns(labels, scores))[1:4] == ["score_Anger", "score_Contempt",
                                                               "score_Disgust"]
    result = run("evaluate", path)
    assert result.returncode == 0, result.stderr
    assert metric(result.stdout, "Accuracy") == 1.0
    assert am.accuracy(labels, scores) == 1.0  # the model is perfect in code order


def test_class_names_flag_orders_scores_and_names_a_labels_only_file(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": ["happy", "SAD", "Happy", "neutral"],
                                "expression_pred": ["Happy", "sad", "neutral", "neutral"]}))
    result = run("evaluate", path, "--class-names", "Neutral", "Happy", "Sad")
    assert result.returncode == 0, result.stderr
    assert metric(result.stdout, "Accuracy") == 0.75
    truth, pred = [1, 2, 1, 0], [1, 2, 0, 0]
    assert metric(result.stdout, "F1 Score") == round(am.f1_score(truth, pred), 4)
    assert "| Happy " in result.stdout and "| 0.0 " not in result.stdout


def test_labels_only_file_without_names_prints_integer_classes(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": [0, 1, 2, 1], "expression_pred": [0, 1, 1, 1]}))
    result = run("evaluate", path)
    assert result.returncode == 0, result.stderr
    assert "| 0     " in result.stdout and "0.0" not in result.stdout.split("Class")[1][:40]


def test_string_labels_need_class_names(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": [0, "happy"], "expression_pred": [0, 1]}))
    result = run("evaluate", path)
    assert result.returncode == 2
    assert "m.csv:3: column 'expression': 'happy' is not a number; give --class-names" \
        in result.stderr


def test_unknown_class_name_names_line(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": ["a", "b", "c"], "expression_pred": ["a", "b", "b"]}))
    result = run("evaluate", path, "--class-names", "A", "B")
    assert result.returncode == 2
    assert "m.csv:4: column 'expression': 'c' is neither a number nor a class name (A, B)" \
        in result.stderr


@pytest.mark.parametrize("flag", [["--score-prefix", ""], ["--score-prefix", "v"]])
def test_score_prefix_that_captures_truth_columns_is_refused(tmp_path, flag):
    labels, scores = perfect_affectnet()
    columns = {**alphabetical_columns(labels, scores), "valence": np.zeros(24) + 0.1,
               "arousal": np.linspace(0, 1, 24), "valence_pred": np.zeros(24),
               "arousal_pred": np.linspace(0, 1, 24)}
    path = tmp_path / "m.csv"
    path.write_text(table_text(columns))
    result = run("evaluate", path, *flag)
    assert result.returncode == 2 and result.stdout == ""
    assert f"--score-prefix {flag[1]!r} would read the column(s)" in result.stderr
    assert "'valence'" in result.stderr


def test_score_columns_that_are_not_the_class_names_are_refused(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": [0, 1], "score_a": [0.9, 0.1],
                                "score_b": [0.1, 0.9]}))
    result = run("evaluate", path, "--class-names", "a", "c")
    assert result.returncode == 2
    assert "the score columns (a, b) are not the class names (a, c, from --class-names)" \
        in result.stderr


def test_one_column_given_two_roles_is_refused(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": [0, 1], "expression_pred": [0, 1]}))
    result = run("evaluate", path, "--group-column", "expression")
    assert result.returncode == 2
    assert "--expression-column and --group-column both name the column 'expression'" \
        in result.stderr


# -- reading: BOM, delimiters, quoting, compression, Parquet ------------------------------

def example_columns(n=60, seed=1):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    scores = rng.random((n, 3)) + np.eye(3)[labels] * 0.6
    va = rng.uniform(-1, 1, (n, 2))
    pred = va * 0.7 + rng.normal(0, 0.2, (n, 2))
    columns = {"expression": labels, "score_a": scores[:, 0], "score_b": scores[:, 1],
               "score_c": scores[:, 2], "valence": va[:, 0], "arousal": va[:, 1],
               "valence_pred": pred[:, 0], "arousal_pred": pred[:, 1]}
    return columns, labels, scores, va, pred


def test_byte_order_mark_keeps_the_expression_tables(tmp_path):
    columns, labels, scores, va, pred = example_columns()
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + table_text(columns).encode())
    result = run("evaluate", path)
    assert result.returncode == 0, result.stderr
    assert metric(result.stdout, "Accuracy") == round(am.accuracy(labels, scores), 4)
    assert metric(result.stdout, "CCC") == round(float(am.ccc(va[:, 0], pred[:, 0])), 4)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    columns, labels, scores, *_ = example_columns()
    path = tmp_path / "m.csv"
    path.write_text(table_text(columns, delimiter))
    data = read_predictions(path)
    np.testing.assert_array_equal(data["expression"], labels)
    np.testing.assert_allclose(data["expression_pred"], scores, rtol=1e-15)


def test_delimiter_flag_and_quoted_fields(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text('"expression";"expression_pred";"note"\n'
                    '"1";"1";"a; quoted, note"\n"0";"1";"b"\n"1";"1";""\n')
    result = run("evaluate", path, "--delimiter", ";")
    assert result.returncode == 0, result.stderr
    assert metric(result.stdout, "Accuracy") == round(2 / 3, 4)


@pytest.mark.parametrize("kind", ["gz", "zip", "parquet"])
def test_compressed_and_parquet_files_read_alike(tmp_path, kind):
    columns, labels, scores, _va, pred = example_columns()
    text = table_text(columns)
    if kind == "gz":
        path = tmp_path / "m.csv.gz"
        path.write_bytes(gzip.compress(text.encode()))
    elif kind == "zip":
        path = tmp_path / "m.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("m.csv", text)
    else:
        path = tmp_path / "m.parquet"
        pq.write_table(pa.table({k: np.asarray(v) for k, v in columns.items()}), path)
    data = read_predictions(path)
    np.testing.assert_array_equal(data["expression"], labels)
    np.testing.assert_allclose(data["expression_pred"], scores, rtol=1e-15)
    np.testing.assert_allclose(data["va_pred"], pred, rtol=1e-15)


def test_bad_number_in_parquet_strings_names_row(tmp_path):
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table({"valence": ["0.1", "0.2", "abc"], "arousal": ["0", "1", "2"],
                             "valence_pred": [0.1, 0.2, 0.3],
                             "arousal_pred": [0.0, 1.0, 2.0]}), path)
    result = run("evaluate", path)
    assert result.returncode == 2
    assert "m.parquet: row 3: column 'valence': 'abc' is not a number" in result.stderr


# -- 7. one error style ------------------------------------------------------------------

def va_file(tmp_path, valence, name="m.csv"):
    path = tmp_path / name
    n = len(valence)
    path.write_text(table_text({"valence": valence, "arousal": np.linspace(0, 1, n),
                                "valence_pred": np.linspace(-1, 1, n),
                                "arousal_pred": np.linspace(0, 1, n)}))
    return path


def test_not_a_number_names_file_line_and_column(tmp_path):
    path = va_file(tmp_path, [0.1, 0.2, "abc", 0.4])
    result = run("evaluate", path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == (f"affectmetrics: error: {path}:4: column 'valence': 'abc' is not "
                             "a number\n")


def test_nan_error_names_line_column_and_flag(tmp_path):
    path = va_file(tmp_path, [0.1, 0.2, 0.3, ""])
    result = run("evaluate", path)
    assert result.returncode == 2
    assert (f"{path}:5: column 'valence' is empty (NaN); pass --nan-policy omit to leave such "
            "rows out") in result.stderr


def test_directory_is_named_as_such(tmp_path):
    result = run("evaluate", tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path}: is a directory, not a predictions file" in result.stderr


def test_unknown_flag_is_named_as_typed(tmp_path):
    result = run("evaluate", "--score-p", "x")
    assert result.returncode == 2 and "unrecognized arguments: --score-p" in result.stderr


# -- 3. presets that know their data set -------------------------------------------------

def test_affectnet_preset_leaves_out_its_markers_and_counts_them(tmp_path):
    rng = np.random.default_rng(3)
    n = 40
    labels = rng.integers(0, 8, n)
    scores = rng.random((n, 8)) + np.eye(8)[labels]
    valence = rng.uniform(-1, 1, n)
    pred = valence + rng.normal(0, 0.3, n)
    arousal = rng.uniform(0, 1, n)
    marked_labels, marked_valence = labels.copy(), valence.copy()
    marked_labels[[3, 7]] = [9, 8]
    marked_valence[[11, 12, 13]] = -2.0
    columns = {"expression": marked_labels,
               **{f"score_{c}": scores[:, i] for i, c in enumerate(AFFECTNET_CLASSES)},
               "valence": marked_valence, "arousal": arousal, "valence_pred": pred,
               "arousal_pred": arousal}
    path = tmp_path / "affectnet.csv"
    path.write_text(table_text(columns))
    out = tmp_path / "out"
    result = run("evaluate", path, "--preset", "affectnet", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    keep = np.ones(n, dtype=bool)
    keep[[3, 7, 11, 12, 13]] = False
    expected = float(am.rmse(valence[keep], pred[keep]))
    assert metric(result.stdout, "RMSE") == round(expected, 4)
    scored_as_data = float(am.rmse(marked_valence[marked_labels < 8],
                                   pred[marked_labels < 8]))
    assert abs(scored_as_data - expected) > 0.05  # what the issue saw: markers as data
    report = json.loads((out / "report.json").read_text())
    assert report["dropped"] == {"expression code 9 (Uncertain)": 1,
                                 "expression code 8 (None)": 1,
                                 "valence/arousal -2 (not annotated)": 3}
    assert report["n_samples"] == n - 5
    assert report["metrics"]["accuracy"] == am.accuracy(labels[keep], scores[keep])
    assert ("rows left out before scoring: 1 with expression code 8 (None), 1 with expression "
            "code 9 (Uncertain), 3 with valence/arousal -2 (not annotated)"
            ) in (out / "report.md").read_text().replace(
                "1 with expression code 9 (Uncertain), 1 with expression code 8 (None)",
                "1 with expression code 8 (None), 1 with expression code 9 (Uncertain)")


def test_without_preset_marker_codes_are_refused_not_scored(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": [0, 1, 9], "score_a": [0.9, 0.1, 0.5],
                                "score_b": [0.1, 0.9, 0.5]}))
    result = run("evaluate", path)
    assert result.returncode == 2
    assert "m.csv:4: column 'expression': 9 is not a class code 0..1" in result.stderr


def test_abaw_preset_markers_and_class_order(tmp_path):
    names = ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other")
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, -1, 4])
    pred = np.array([0, 1, 2, 3, 4, 5, 6, 0, 3, 4])
    va = np.column_stack([np.linspace(-0.9, 0.9, 10), np.linspace(0.9, -0.9, 10)])
    va[5, 1] = -5
    va_pred = va * 0.5
    path = tmp_path / "abaw.csv"
    path.write_text(table_text({"expression": labels,
                                "expression_pred": [names[i] for i in pred],
                                "valence": va[:, 0], "arousal": va[:, 1],
                                "valence_pred": va_pred[:, 0], "arousal_pred": va_pred[:, 1]}))
    out = tmp_path / "out"
    result = run("evaluate", path, "--preset", "abaw", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["class_names"] == list(names)
    assert report["dropped"] == {"expression code -1 (not annotated)": 1,
                                 "valence/arousal -5 (not annotated)": 1}
    keep = np.ones(10, dtype=bool)
    keep[[5, 8]] = False
    expected = am.abaw_scores(expression=labels[keep], expression_pred=pred[keep],
                              va=va[keep], va_pred=va_pred[keep])
    assert report["metrics"]["abaw_expr"] == pytest.approx(expected["abaw_expr"], rel=1e-12)
    assert report["metrics"]["abaw_va"] == pytest.approx(expected["abaw_va"], rel=1e-12)


# -- 4. group ids of any kind ------------------------------------------------------------

@pytest.mark.parametrize("ids", [["clip_a", "clip_b", "clip_c", "clip_d"], [10, 20, 30, 40]])
def test_group_column_with_ci_string_and_integer_ids(tmp_path, ids):
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(4), 15)
    truth = rng.normal(0, 0.5, 60) + groups * 0.2
    pred = truth + rng.normal(0, 0.3, 60)
    path = tmp_path / "m.csv"
    path.write_text(table_text({"video": [ids[g] for g in groups], "valence": truth,
                                "arousal": -truth, "valence_pred": pred, "arousal_pred": -pred}))
    out = tmp_path / "out"
    result = run("evaluate", path, "--group-column", "video", "--ci", "0.9",
                 "--n-resamples", "200", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["intervals"]["grouped"] is True
    api = am.evaluate(va=np.column_stack([truth, -truth]), va_pred=np.column_stack([pred, -pred]),
                      groups=groups, ci=0.9, n_resamples=200, seed=0, warn=False)
    assert report["intervals"]["low"]["ccc_valence"] == api.intervals.low["ccc_valence"]
    assert report["metrics"]["ccc_valence_per_group"] == pytest.approx(
        am.ccc_per_group(truth, pred, groups), rel=1e-12)


# -- 5. compare --------------------------------------------------------------------------

def two_models(tmp_path, folder_names=("resnet50", "vgg16"), empty=None):
    rng = np.random.default_rng(7)
    n = 80
    labels = rng.integers(0, 3, n)
    truth = rng.normal(0, 0.4, (n, 2))
    videos = [f"v{i // 8}" for i in range(n)]
    paths = []
    for folder, signal in zip(folder_names, (0.3, 1.2), strict=True):
        scores = rng.random((n, 3)) + signal * np.eye(3)[labels]
        pred = truth + rng.normal(0, 1 / (1 + signal), (n, 2))
        columns = {"video": videos, "expression": labels, "score_x": scores[:, 0],
                   "score_y": scores[:, 1], "score_z": scores[:, 2], "valence": truth[:, 0],
                   "arousal": truth[:, 1], "valence_pred": pred[:, 0],
                   "arousal_pred": pred[:, 1]}
        if empty is not None and folder == folder_names[1]:
            columns["valence_pred"] = ["" if i == empty else v
                                       for i, v in enumerate(pred[:, 0])]
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "predictions.csv"
        path.write_text(table_text(columns))
        paths.append(path)
    return paths


def test_compare_same_file_names_in_different_folders(tmp_path):
    paths = two_models(tmp_path)
    out = tmp_path / "out"
    result = run("compare", *paths, "--n-resamples", "200", "--output", out, "--no-plots",
                 "--group-column", "video")
    assert result.returncode == 0, result.stderr
    written = {p.name for p in out.iterdir()}
    assert {"report_resnet50_predictions.json", "report_vgg16_predictions.json",
            "comparison.json", "comparison.csv", "report.md"} <= written
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["names"] == ["resnet50/predictions", "vgg16/predictions"]
    a = json.loads((out / "report_resnet50_predictions.json").read_text())
    b = json.loads((out / "report_vgg16_predictions.json").read_text())
    assert comparison["metrics"]["accuracy"]["difference"] == pytest.approx(
        b["metrics"]["accuracy"] - a["metrics"]["accuracy"], abs=1e-15)
    rows = (out / "comparison.csv").read_text().splitlines()
    assert rows[0] == "metric,value_a,value_b,difference,low,high,p_value"
    assert any(r.startswith("accuracy,") for r in rows)


def test_compare_refuses_names_that_clean_to_one_file_name(tmp_path):
    paths = two_models(tmp_path)
    result = run("compare", *paths, "--names", "model a", "model/a")
    assert result.returncode == 2
    assert "--names 'model a' 'model/a': the two names give the same file name 'model_a'" \
        in result.stderr


def test_compare_nan_policy_omit_drops_the_row_in_both(tmp_path):
    paths = two_models(tmp_path, empty=4)
    refused = run("compare", *paths, "--n-resamples", "100")
    assert refused.returncode == 2 and "--nan-policy omit" in refused.stderr
    out = tmp_path / "out"
    result = run("compare", *paths, "--n-resamples", "100", "--nan-policy", "omit",
                 "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    a = json.loads((out / "report_resnet50_predictions.json").read_text())
    assert a["n_samples"] == 79
    assert a["dropped"] == {"an empty cell in either file (--nan-policy omit)": 1}


def test_compare_refuses_different_classes_printing_both(tmp_path):
    a, b = two_models(tmp_path)
    b.write_text(b.read_text().replace("score_z", "score_w"))
    result = run("compare", a, b)
    assert result.returncode == 2
    assert "have different classes: x, y, z and x, y, w" in result.stderr


# -- 6. outputs never lose data ----------------------------------------------------------

def small_file(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": [0, 1, 1, 0], "score_a": [0.9, 0.2, 0.4, 0.7],
                                "score_b": [0.1, 0.8, 0.6, 0.3],
                                "valence": [0.1, 0.5, -0.2, 0.3], "arousal": [0, 0.2, 0.1, 0.4],
                                "valence_pred": [0.2, 0.4, -0.1, 0.3],
                                "arousal_pred": [0.1, 0.1, 0.2, 0.3]}))
    return path


def test_non_empty_output_folder_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = run("evaluate", small_file(tmp_path), "--output", out)
    assert result.returncode == 2 and "the output folder is not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_overwrite_removes_our_stale_outputs_only(tmp_path):
    path = small_file(tmp_path)
    out = tmp_path / "out"
    assert run("evaluate", path, "--output", out).returncode == 0
    assert (out / "roc_pr_curves.png").is_file()
    (out / "notes.txt").write_text("mine")
    result = run("evaluate", path, "--output", out, "--overwrite", "--no-plots")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        ".affectmetrics-manifest.json", "notes.txt", "report.csv", "report.json", "report.md"]


def test_symlink_in_output_folder_is_not_written_through(tmp_path):
    path = small_file(tmp_path)
    outside = tmp_path / "precious.json"
    outside.write_text("keep me")
    out = tmp_path / "out"
    assert run("evaluate", path, "--output", out, "--no-plots").returncode == 0
    (out / "report.json").unlink()
    (out / "report.json").symlink_to(outside)
    result = run("evaluate", path, "--output", out, "--no-plots", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert outside.read_text() == "keep me"
    assert not (out / "report.json").is_symlink()


def test_foreign_file_with_an_output_name_is_never_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "precious.json"
    outside.write_text("keep me")
    (out / "report.json").symlink_to(outside)
    result = run("evaluate", small_file(tmp_path), "--output", out, "--overwrite", "--no-plots")
    assert result.returncode == 2 and "was not written by affectmetrics" in result.stderr
    assert outside.read_text() == "keep me" and [p.name for p in out.iterdir()] == ["report.json"]


def test_csv_cells_are_escaped_against_formulas(tmp_path):
    out = tmp_path / "out"
    result = run("evaluate", small_file(tmp_path), "--model-name", "=HYPERLINK(\"x\")",
                 "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    rows = (out / "report.csv").read_text().splitlines()
    assert rows[1].startswith("\"'=HYPERLINK(\"\"x\"\")\",accuracy,")
    kappa = next(r for r in rows if ",kappa," in r)
    assert float(kappa.split(",")[-3]) == pytest.approx(
        am.cohen_kappa([0, 1, 1, 0], [0, 1, 1, 0]))

@pytest.mark.parametrize(("cell", "written"), [
    ("-0.25", "-0.25"), ("+1e-3", "+1e-3"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"), ("\r1", "'\r1"), ("plain", "plain"), ("", "")])
def test_formula_escape_keeps_numbers(cell, written):
    from affectmetrics._csv import _escape_cell

    assert _escape_cell(cell) == written


# -- 1. streaming through the accumulators -----------------------------------------------

def streamed_and_whole(path, monkeypatch, *flags):
    """The report streamed (no --ci, no plots) and the report of the whole arrays."""
    import affectmetrics.cli._reader as reader

    monkeypatch.setattr(reader, "_BLOCK_BYTES", 1 << 10)  # many batches
    streamed = run("evaluate", path, "--output", path.parent / "s", "--no-plots", *flags)
    whole = run("evaluate", path, "--output", path.parent / "w", *flags)
    assert streamed.returncode == 0, streamed.stderr
    assert whole.returncode == 0, whole.stderr
    return (json.loads((path.parent / "s" / "report.json").read_text()),
            json.loads((path.parent / "w" / "report.json").read_text()))


def assert_same_report(a, b):
    assert a.keys() == b.keys()
    assert list(a["metrics"]) == list(b["metrics"])
    for key, value in a["metrics"].items():
        assert value == pytest.approx(b["metrics"][key], rel=1e-12, abs=1e-15), key
    def floats(values):
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    for key, values in a["per_class"].items():
        np.testing.assert_allclose(floats(values), floats(b["per_class"][key]), rtol=1e-12,
                                   err_msg=key)
    assert a["confusion_matrix"] == b["confusion_matrix"]
    assert a["diagnostics"] == b["diagnostics"]
    for key in ("n_samples", "n_omitted", "dropped", "class_names", "output_names"):
        assert a[key] == b[key], key


def test_streamed_report_equals_the_whole_file_report(tmp_path, monkeypatch):
    rng = np.random.default_rng(11)
    n = 600
    labels = rng.integers(0, 8, n)
    labels[labels == 7] = 6  # Contempt absent: an undefined AUC and a diagnostic
    scores = rng.random((n, 8)) + 0.8 * np.eye(8)[labels]
    va = rng.uniform(-0.5, 0.5, (n, 2))
    pred = 0.3 * va + rng.normal(0, 0.05, (n, 2))
    pred[:20, 0] = 0.9  # outside the truth's range: the out_of_range diagnostic
    columns = {"expression": labels,
               **{f"score_{c}": scores[:, i] for i, c in enumerate(AFFECTNET_CLASSES)},
               "valence": va[:, 0], "arousal": va[:, 1], "valence_pred": pred[:, 0],
               "arousal_pred": pred[:, 1]}
    columns["valence"] = [("" if i % 97 == 5 else v) for i, v in enumerate(va[:, 0])]
    columns["expression"] = [(9 if i % 89 == 3 else v) for i, v in enumerate(labels)]
    path = tmp_path / "m.csv"
    path.write_text(table_text(columns))
    streamed, whole = streamed_and_whole(path, monkeypatch, "--nan-policy", "omit",
                                         "--preset", "affectnet")
    assert_same_report(streamed, whole)
    codes = {d["code"] for d in streamed["diagnostics"]}
    assert {"absent_classes", "out_of_range"} <= codes
    assert streamed["n_omitted"] == 7 and streamed["dropped"] == {
        "expression code 9 (Uncertain)": 7}


def test_binned_auc_streams_in_fixed_memory(tmp_path):
    rng = np.random.default_rng(12)
    labels = rng.integers(0, 3, 300)
    scores = rng.dirichlet(np.ones(3), 300)
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": labels, "score_a": scores[:, 0],
                                "score_b": scores[:, 1], "score_c": scores[:, 2]}))
    out = tmp_path / "out"
    result = run("evaluate", path, "--bins", "16", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    reference = am.ClassificationAccumulator(3, bins=16)
    reference.update(labels, scores)
    expected = reference.compute()
    metrics = json.loads((out / "report.json").read_text())["metrics"]
    assert metrics["auc"] == pytest.approx(expected["auc"], rel=1e-12)
    assert metrics["auc"] != pytest.approx(am.roc_auc(labels, scores), rel=1e-6)
    refused = run("evaluate", path, "--bins", "16", "--ci", "0.95")
    assert refused.returncode == 2
    assert "--bins streams the file, which --ci (the bootstrap resamples every row) does " \
        "not allow" in refused.stderr


def test_undefined_values_are_nan_in_the_report_and_a_note(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"valence": [0.1, 0.4, -0.2], "arousal": [0.2, 0.1, 0.3],
                                "valence_pred": [0.3, 0.3, 0.3], "arousal_pred": [0.2, 0.0, 0.3]}))
    result = run("evaluate", path)
    assert result.returncode == 0
    assert "| Correlation                 | nan" in result.stdout
    with pytest.warns(am.UndefinedMetricWarning, match="^pearson is undefined") as caught:
        am.pearson([[0.1, 0.2], [0.4, 0.1], [-0.2, 0.3]], [[0.3, 0.2], [0.3, 0.0], [0.3, 0.3]])
    assert f"affectmetrics: note: {caught[0].message}" in result.stderr.splitlines()


def test_a_late_cell_pyarrow_cannot_parse_restarts_on_the_text_path(tmp_path, monkeypatch):
    """Numbers are parsed by pyarrow as float64; a cell it refuses (' 0.5', or 'abc') far
    into the file sends the whole file through the text path, counted once."""
    import affectmetrics.cli._reader as reader

    monkeypatch.setattr(reader, "_BLOCK_BYTES", 1 << 10)
    columns, labels, scores, va, _pred = example_columns(n=400)
    columns["expression"] = [9 if i == 7 else v for i, v in enumerate(labels)]
    clean = tmp_path / "clean.csv"
    clean.write_text(table_text(columns))
    spaced = tmp_path / "spaced.csv"
    spaced.write_text(table_text({**columns, "valence": [f" {v}" if i == 390 else v
                                                         for i, v in enumerate(va[:, 0])]}))
    outputs = []
    for path in (clean, spaced):
        out = tmp_path / f"out-{path.stem}"
        result = run("evaluate", path, "--class-names", "a", "b", "c", "--preset", "affectnet",
                     "--output", out, "--no-plots", "--model-name", "m")
        assert result.returncode == 0, result.stderr
        outputs.append(json.loads((out / "report.json").read_text()))
    assert outputs[0] == outputs[1]
    assert outputs[0]["dropped"] == {"expression code 9 (Uncertain)": 1}
    keep = np.arange(400) != 7
    assert outputs[0]["metrics"]["accuracy"] == am.accuracy(labels[keep], scores[keep])
    bad = tmp_path / "bad.csv"
    bad.write_text(table_text({**columns, "arousal": ["abc" if i == 390 else v
                                                      for i, v in enumerate(va[:, 1])]}))
    result = run("evaluate", bad, "--class-names", "a", "b", "c", "--preset", "affectnet")
    assert result.returncode == 2
    assert f"{bad}:392: column 'arousal': 'abc' is not a number" in result.stderr


def test_unreadable_file_is_named_as_such(tmp_path, monkeypatch):
    import affectmetrics.cli._reader as reader

    path = small_file(tmp_path)
    monkeypatch.setattr(reader.os, "access", lambda p, mode: False)
    result = run("evaluate", path)
    assert result.returncode == 2
    assert result.stderr == f"affectmetrics: error: {path}: cannot be read (permission denied)\n"


def test_missing_cli_extra_names_the_install_command(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = run("evaluate", small_file(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pip install 'affectmetrics[cli]'" in result.stderr


def test_compare_a_file_with_itself_keeps_names_distinct(tmp_path):
    path = small_file(tmp_path)
    out = tmp_path / "out"
    result = run("compare", path, path, "--n-resamples", "50", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    names = json.loads((out / "comparison.json").read_text())["names"]
    assert names[0] != names[1] and len(list(out.glob("report_*.json"))) == 2
    metrics = json.loads((out / "comparison.json").read_text())["metrics"]
    assert metrics["accuracy"]["difference"] == 0.0 and metrics["accuracy"]["p_value"] == 1.0


def test_quoted_line_breaks_across_blocks(tmp_path, monkeypatch):
    import affectmetrics.cli._reader as reader

    monkeypatch.setattr(reader, "_BLOCK_BYTES", 64)
    rows = [f'{i % 2},{i % 2},"note {i}\nsecond line, with ""quotes"""' for i in range(40)]
    path = tmp_path / "m.csv"
    path.write_text("expression,expression_pred,note\n" + "\n".join(rows) + "\n")
    data = read_predictions(path)
    np.testing.assert_array_equal(data["expression"], np.arange(40) % 2)
    assert metric(run("evaluate", path).stdout, "Accuracy") == 1.0


def test_infinite_value_names_line_and_column(tmp_path):
    path = va_file(tmp_path, [0.1, "inf", 0.3, 0.2])
    result = run("evaluate", path, "--nan-policy", "omit")
    assert result.returncode == 2
    assert f"{path}:3: column 'valence': inf is not a finite number" in result.stderr
    with pytest.raises(ValueError, match="infinite"):
        am.ccc([0.1, np.inf, 0.3, 0.2], [0.0, 0.1, 0.2, 0.3])


# -- error lines are the file's lines ----------------------------------------------------

def test_error_line_counts_blank_lines_and_quoted_line_breaks(tmp_path):
    # Record 5 starts on line 10: every note before it spans two lines.
    rows = [f'"img {i}, ""a""\nx{i}.jpg",{i % 2},{0.1 * i:.1f},0.2,0.1' for i in range(8)]
    rows[4] = rows[4].replace(",0.4,", ",abc,")
    path = tmp_path / "quoted.csv"
    path.write_text("path,arousal,valence,valence_pred,arousal_pred\n" + "\n".join(rows) + "\n")
    result = run("evaluate", path)
    assert result.returncode == 2
    assert result.stderr == (f"affectmetrics: error: {path}:10: column 'valence': 'abc' is "
                             "not a number\n")
    assert path.read_text().splitlines()[9] == '"img 4, ""a""'  # the record's first line


def test_error_line_counts_blank_lines(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("valence,valence_pred\n0.1,0.2\n\n\n0.3,0.1\n\r\nabc,0.5\n0.2,0.2\n")
    result = run("evaluate", path, "--va-columns", "valence", "--va-pred-columns",
                 "valence_pred")
    assert result.returncode == 2
    assert result.stderr == (f"affectmetrics: error: {path}:7: column 'valence': 'abc' is "
                             "not a number\n")
    assert path.read_text().splitlines()[6] == "abc,0.5"


def test_ragged_row_names_its_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("expression,expression_pred\n0,1\n\n1,1\n2,2,3\n0,0\n")
    result = run("evaluate", path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == (f"affectmetrics: error: {path}:5: 3 field(s) where the header "
                             "has 2 (delimiter ',')\n")


# -- a known data set's class names put in its code order ----------------------------------

@pytest.mark.parametrize("classes", [AFFECTNET_CLASSES[:7],
                                     ("Neutral", "Anger", "Disgust", "Fear", "Happiness",
                                      "Sadness", "Surprise", "Other")])
def test_seven_affectnet_and_eight_abaw_names_in_alphabetical_columns(tmp_path, classes):
    # AffectNet's 7-class protocol (no Contempt, codes 0-6) and ABAW's eight, the columns
    # sorted as pandas or a dict writes them: a perfect model was scored 0.165 in file order.
    k = len(classes)
    labels = np.repeat(np.arange(k), 3)
    scores = np.random.default_rng(0).random((labels.shape[0], k)) * 0.5
    scores[np.arange(labels.shape[0]), labels] = 1.0
    columns = {"expression": labels, **{f"score_{classes[i]}": scores[:, i]
                                        for i in sorted(range(k), key=lambda i: classes[i])}}
    path = tmp_path / "m.csv"
    path.write_text(table_text(columns))
    out = tmp_path / "out"
    result = run("evaluate", path, "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["class_names"] == list(classes)
    assert report["metrics"]["accuracy"] == 1.0
    assert report["metrics"]["auc"] == am.roc_auc(labels, scores) == 1.0


# -- group ids coded as the API codes them ---------------------------------------------------

@pytest.mark.parametrize("ids", [[f"clip {i}" for i in (7, 3, 11, 0, 5, 9)],
                                 [9, 100, 10, 2, 1000, 31]])
def test_group_bootstrap_equals_the_api_on_the_same_ids(tmp_path, ids):
    # The grouped bootstrap draws groups by code; ids coded by first appearance (or numbers
    # sorted as text) gave other intervals than evaluate() on the same ids and seed.
    rng = np.random.default_rng(3)
    groups = np.array(ids, dtype=object)[rng.integers(0, len(ids), 60)]
    va = rng.uniform(-1, 1, (60, 2))
    va_pred = va + 0.3 * rng.normal(size=(60, 2))
    path = tmp_path / "m.csv"
    path.write_text(table_text({"video": groups, "valence": va[:, 0], "arousal": va[:, 1],
                                "valence_pred": va_pred[:, 0],
                                "arousal_pred": va_pred[:, 1]}))
    out = tmp_path / "out"
    result = run("evaluate", path, "--group-column", "video", "--ci", "0.9", "--n-resamples",
                 "200", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    intervals = json.loads((out / "report.json").read_text())["intervals"]
    # The same ids as the API gets them from pandas: ints as ints, text as text.
    api = am.evaluate(va=va, va_pred=va_pred, groups=np.array(list(groups)), ci=0.9,
                      n_resamples=200, seed=0).intervals
    for key in ("ccc_valence", "rmse_arousal"):
        assert intervals["low"][key] == api.low[key]
        assert intervals["high"][key] == api.high[key]


# -- output names distinct on case-insensitive folders (macOS, Windows) ----------------------

def test_names_differing_only_in_case_are_refused(tmp_path):
    path = small_file(tmp_path)
    out = tmp_path / "out"
    result = run("compare", path, path, "--names", "vgg", "VGG", "--n-resamples", "20",
                 "--output", out, "--no-plots")
    assert result.returncode == 2 and not out.exists()
    assert "--names 'vgg' 'VGG': the two names give the same file name 'vgg'" in result.stderr


def test_files_named_alike_but_for_case_write_distinct_reports(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "Model.csv", tmp_path / "b" / "model.csv"
    first.write_text(small_file(tmp_path).read_text())
    second.write_text(small_file(tmp_path).read_text())
    out = tmp_path / "out"
    result = run("compare", first, second, "--n-resamples", "20", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    reports = sorted(p.name.casefold() for p in out.glob("report_*.json"))
    assert reports == ["report_a_model.json", "report_b_model.json"]


# -- Parquet as pandas writes it -------------------------------------------------------------

def test_parquet_category_labels_are_read_as_their_values(tmp_path):
    # pandas' "category" dtype is a dictionary-encoded Parquet column; it was refused as
    # "holds dictionary<values=string, ...>, not numbers".
    labels, scores = perfect_affectnet()
    scores[0] = scores[0][::-1]  # one mistake: accuracy 23/24
    names = [AFFECTNET_CLASSES[i].lower() for i in labels]
    table = pa.table({"expression": pa.array(names).dictionary_encode(),
                      "video": pa.array([f"v{i % 4}" for i in range(len(names))])
                      .dictionary_encode(),
                      **{f"score_{c}": scores[:, i] for i, c in enumerate(AFFECTNET_CLASSES)}})
    path = tmp_path / "m.parquet"
    pq.write_table(table, path)
    out = tmp_path / "out"
    result = run("evaluate", path, "--group-column", "video", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "report.json").read_text())["metrics"]
    assert metrics["accuracy"] == am.accuracy(labels, scores) == 23 / 24
    assert metrics["auc"] == am.roc_auc(labels, scores)


# -- a reader that stops early -----------------------------------------------------------------

def test_output_piped_to_a_reader_that_stops_early_is_no_traceback(tmp_path):
    # `affectmetrics evaluate preds.csv | head` printed a BrokenPipeError traceback.
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(am.__file__).parent.parent)}
    process = subprocess.Popen([sys.executable, "-m", "affectmetrics", "evaluate",
                                small_file(tmp_path), "--no-plots"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # the reader is gone before the report is printed
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


# -- rounded probabilities -------------------------------------------------------------------

def rounded_probabilities(n=400, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 8, n)
    logits = rng.normal(size=(n, 8))
    logits[np.arange(n), labels] += 1.0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, logits, np.round(probabilities, 2)


def test_rounded_probabilities_are_refused_unless_scores_flag_says_what_they_are(tmp_path):
    # Eight probabilities written with two decimals: about half the rows miss a sum of 1 by
    # more than 0.01, and the per-row rule gave those a softmax and kept the others (AUC
    # 0.758 instead of 0.783 on 2,000 rows, exit 0).
    from sklearn.metrics import roc_auc_score

    labels, _, rounded = rounded_probabilities()
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": labels,
                                **{f"score_{c}": [f"{v:.2f}" for v in rounded[:, i]]
                                   for i, c in enumerate(AFFECTNET_CLASSES)}}))
    result = run("evaluate", path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"affectmetrics: error: {path}:")
    assert "looks like probabilities: rounded ones? " in result.stderr
    assert "pass --scores probabilities" in result.stderr
    out = tmp_path / "out"
    result = run("evaluate", path, "--scores", "probabilities", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "report.json").read_text())["metrics"]
    exact = rounded / rounded.sum(axis=1, keepdims=True)
    assert metrics["auc"] == pytest.approx(roc_auc_score(labels, exact, multi_class="ovr"),
                                           abs=1e-12)


def test_scores_logits_flag_is_the_softmax(tmp_path):
    labels, logits, _ = rounded_probabilities()
    path = tmp_path / "m.csv"
    path.write_text(table_text({"expression": labels,
                                **{f"score_{c}": logits[:, i]
                                   for i, c in enumerate(AFFECTNET_CLASSES)}}))
    out = tmp_path / "out"
    result = run("evaluate", path, "--scores", "logits", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "report.json").read_text())["metrics"]
    assert metrics["auc"] == pytest.approx(am.roc_auc(labels, logits), abs=1e-12)
    assert metrics["accuracy"] == am.accuracy(labels, logits)


# -- flags refused in their own words ----------------------------------------------------------

@pytest.mark.parametrize(("flags", "message"), [
    (["--ci", "95"], "argument --ci: a level between 0 and 1 such as 0.95, got 95 (for 95%, "
                     "give 0.95)"),
    (["--n-resamples", "0"], "argument --n-resamples: must be at least 2, got 0"),
    (["--bins", "0"], "argument --bins: must be at least 2, got 0"),  # was the exact AUC
    (["--seed", "-1"], "argument --seed: must be at least 0, got -1"),
])
def test_bad_flag_values_name_the_flag(tmp_path, flags, message):
    # They said "confidence_level must be in (0, 1), got 95.0" (the API's argument), or
    # were taken silently (--bins 0, --n-resamples 0 without --ci).
    result = run("evaluate", small_file(tmp_path), *flags)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr


def test_quote_inside_an_unquoted_field_across_blocks(tmp_path, monkeypatch):
    # `5" screen` is one field to pyarrow and the csv module (a quote opens a field only at
    # its start), but it upset the quote-parity cut between blocks: a file over one block
    # was refused as "not a valid CSV file".
    import affectmetrics.cli._reader as reader

    monkeypatch.setattr(reader, "_BLOCK_BYTES", 64)
    rows = ['0,0,5" screen'] + [f'{i % 2},{i % 2},"note {i}\nsecond"' for i in range(1, 40)]
    path = tmp_path / "m.csv"
    path.write_text("expression,expression_pred,note\n" + "\n".join(rows) + "\n")
    data = read_predictions(path)
    np.testing.assert_array_equal(data["expression"], np.arange(40) % 2)
    assert metric(run("evaluate", path).stdout, "Accuracy") == 1.0


# -- column names ignoring case ----------------------------------------------------------------

def test_capitalised_headers_are_matched_ignoring_case(tmp_path):
    # "Expression" (or "Valence", "Arousal") was not found, and the report silently lost that
    # part, exit 0, as the byte-order mark once made it.
    labels, scores = perfect_affectnet()
    scores[0] = scores[0][::-1]
    rng = np.random.default_rng(1)
    va = rng.uniform(-1, 1, (labels.shape[0], 2))
    va_pred = va + 0.2 * rng.normal(size=va.shape)
    path = tmp_path / "m.csv"
    path.write_text(table_text({"Expression": labels, "Valence": va[:, 0], "AROUSAL": va[:, 1],
                                "Valence_Pred": va_pred[:, 0], "arousal_pred": va_pred[:, 1],
                                **{f"Score_{c}": scores[:, i]
                                   for i, c in enumerate(AFFECTNET_CLASSES)}}))
    out = tmp_path / "out"
    result = run("evaluate", path, "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "report.json").read_text())["metrics"]
    assert metrics["accuracy"] == am.accuracy(labels, scores) == 23 / 24
    assert metrics["ccc_valence"] == pytest.approx(am.ccc(va[:, 0], va_pred[:, 0]), abs=1e-12)
    assert metrics["rmse_arousal"] == pytest.approx(am.rmse(va[:, 1], va_pred[:, 1]),
                                                    abs=1e-12)


def test_columns_equal_ignoring_case_are_refused_unless_one_is_exact(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(table_text({"Valence": [0.1, 0.2, 0.4], "VALENCE": [0.3, 0.1, 0.2],
                                "valence_pred": [0.1, 0.2, 0.3]}))
    result = run("evaluate", path, "--va-columns", "valence", "--va-pred-columns",
                 "valence_pred")
    assert result.returncode == 2
    assert "the columns 'Valence', 'VALENCE' all match 'valence' (--va-columns)" in result.stderr
    path.write_text(table_text({"Valence": [0.1, 0.2, 0.4], "valence": [0.3, 0.1, 0.2],
                                "valence_pred": [0.1, 0.2, 0.3]}))
    result = run("evaluate", path, "--va-columns", "valence", "--va-pred-columns",
                 "valence_pred", "--model-name", "m")
    assert result.returncode == 0, result.stderr
    assert metric(result.stdout, "RMSE") == round(am.rmse([0.3, 0.1, 0.2], [0.1, 0.2, 0.3]), 4)


def test_compare_scores_file_with_a_labels_only_file_of_codes(tmp_path):
    # The labels-only file names no class: it was refused as "different classes: Neutral,
    # ... and (codes)" though its codes are the other file's, as its ground truth shows.
    labels, scores = perfect_affectnet(n_per_class=5)
    guess = (labels + (np.arange(labels.shape[0]) % 4 == 0)) % 8
    first, second = tmp_path / "scores.csv", tmp_path / "labels.csv"
    first.write_text(table_text(alphabetical_columns(labels, scores)))
    second.write_text(table_text({"expression": labels, "expression_pred": guess}))
    out = tmp_path / "out"
    result = run("compare", first, second, "--n-resamples", "50", "--output", out,
                 "--no-plots")
    assert result.returncode == 0, result.stderr
    comparison = json.loads((out / "comparison.json").read_text())["metrics"]["accuracy"]
    assert comparison["value_a"] == 1.0
    assert comparison["value_b"] == am.accuracy(labels, guess) == 0.75
    report = json.loads((out / "report_labels.json").read_text())
    assert report["class_names"] == list(AFFECTNET_CLASSES)


# -- a run that cannot write every file writes none ------------------------------------------

def test_long_model_names_fit_a_file_name(tmp_path):
    # A 245-character file name gave report_<name>.json over 255 bytes: "File name too long"
    # after report.md was written, and the folder was then refused even with --overwrite.
    long = tmp_path / ("m" * 245 + ".csv")
    long.write_text(small_file(tmp_path).read_text())
    out = tmp_path / "out"
    result = run("compare", long, small_file(tmp_path), "--n-resamples", "20", "--output", out,
                 "--no-plots")
    assert result.returncode == 0, result.stderr
    assert all(len(p.name.encode()) <= 255 for p in out.iterdir())
    assert len(list(out.glob("report_*.json"))) == 2


def test_failed_write_leaves_no_partial_outputs(tmp_path, monkeypatch):
    import affectmetrics.cli._outputs as outputs

    real = outputs._create

    def failing(path, content):
        if path.name == "report.json":
            raise OSError(28, "No space left on device")
        real(path, content)

    monkeypatch.setattr(outputs, "_create", failing)
    out = tmp_path / "out"
    result = run("evaluate", small_file(tmp_path), "--output", out, "--no-plots")
    assert result.returncode == 2 and "No space left on device" in result.stderr
    assert not out.exists()  # a folder it made is removed with the files
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = run("evaluate", small_file(tmp_path), "--output", out, "--no-plots", "--overwrite")
    assert result.returncode == 2
    assert [p.name for p in out.iterdir()] == ["notes.txt"]  # report.md was taken back
    monkeypatch.setattr(outputs, "_create", real)
    result = run("evaluate", small_file(tmp_path), "--output", out, "--no-plots", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / "report.json").exists()


def test_codes_read_in_file_order_are_noted(tmp_path):
    # FER2013's names sorted alphabetically, codes in FER2013's order: the file cannot say
    # which column code 6 means, so the classes are the file's order, and stderr says so.
    names = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]
    labels = np.arange(7).repeat(2)
    scores = np.eye(7)[labels]
    columns = {"expression": labels, **{f"score_{names[i]}": scores[:, i]
                                        for i in sorted(range(7), key=lambda i: names[i])}}
    path = tmp_path / "m.csv"
    path.write_text(table_text(columns))
    result = run("evaluate", path, "--no-plots")
    assert result.returncode == 0, result.stderr
    assert (f"affectmetrics: note: {path}: the labels are codes and the classes come from the "
            "score columns in file order (0 = Angry, 1 = Disgust, 2 = Fear, 3 = Happy, "
            "4 = Neutral, 5 = Sad, 6 = Surprise); if the codes follow another order, give "
            "--class-names in code order") in result.stderr
    result = run("evaluate", path, "--class-names", *names)
    assert result.returncode == 0 and "note" not in result.stderr
    assert metric(result.stdout, "Accuracy") == 1.0
    path.write_text(table_text({**columns, "expression": [names[i] for i in labels]}))
    result = run("evaluate", path)
    assert result.returncode == 0 and "note" not in result.stderr
    assert metric(result.stdout, "Accuracy") == 1.0


def test_utf16_file_and_typed_tab_delimiter(tmp_path):
    # Excel's "Unicode Text" is UTF-16 with tabs: it was "not a UTF-8 text file (byte 1)".
    # A tab typed as --delimiter '\t' reaches the program as backslash-t: it was refused.
    text = "valence\tarousal\tvalence_pred\tarousal_pred\n0.1\t0.2\t0.2\t0.1\n0.5\t0.3\t0.4\t0.4\n"
    path = tmp_path / "m.txt"
    path.write_bytes(text.encode("utf-16"))
    result = run("evaluate", path)
    assert result.returncode == 2
    assert result.stderr == (f"affectmetrics: error: {path}: a UTF-16 text file (Excel's "
                             "'Unicode Text'); save it as 'CSV UTF-8' or convert it to UTF-8\n")
    path.write_text(text)
    for typed in ("\\t", "tab"):
        result = run("evaluate", path, "--delimiter", typed, "--model-name", "m")
        assert result.returncode == 0, result.stderr
        assert metric(result.stdout, "RMSE") == round(am.rmse([0.1, 0.5], [0.2, 0.4]), 4)


def test_quote_never_closed_is_refused_naming_its_line(tmp_path):
    # pyarrow reads an unclosed quote as a cell running to the end of the file: the rows
    # after it vanished into one note, and the file was scored on 1 row of 3, exit 0.
    path = tmp_path / "m.csv"
    path.write_text('expression,expression_pred,note\n0,0,ok\n1,1,"open\n1,0,x\n0,1,y\n')
    result = run("evaluate", path)
    assert result.returncode == 2
    assert result.stderr == (f"affectmetrics: error: {path}:3: a quoted field opened on this "
                             "line is never closed; every line after it would be read as part "
                             "of one cell\n")
    path.write_text('expression,expression_pred,note\n0,0,5" screen\n1,1,"two\nlines"\n')
    result = run("evaluate", path)  # a literal quote inside a field is no error
    assert result.returncode == 0, result.stderr
    assert metric(result.stdout, "Accuracy") == 1.0


# -- 6. action units and subgroups (issue 13) ---------------------------------------------

def au_file(tmp_path, n=90, seed=11):
    rng = np.random.default_rng(seed)
    au = (rng.random((n, 3)) < 0.4).astype(np.int64)
    scores = np.round(np.clip(au * 0.45 + rng.random((n, 3)) * 0.6, 0, 1), 4)
    gender = rng.choice(["female", "male"], n)
    age = rng.integers(0, 3, n)
    columns = {"AU1": au[:, 0], "AU2": au[:, 1], "AU4": au[:, 2], "gender": gender,
               "age": age, "AU4_pred": scores[:, 2], "AU1_pred": scores[:, 0],
               "AU2_pred": scores[:, 1]}
    path = tmp_path / "au.csv"
    path.write_text(table_text(columns))
    return path, au, scores, gender, age


def test_au_and_subgroup_columns_equal_the_api(tmp_path):
    from sklearn.metrics import f1_score

    path, au, scores, gender, age = au_file(tmp_path)
    out = tmp_path / "out"
    result = run("evaluate", path, "--au-columns", "AU1,AU2,AU4", "--subgroup-columns",
                 "gender,age", "--au-threshold", "0.4", "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    api = am.evaluate(au=au, au_pred=scores, au_names=["AU1", "AU2", "AU4"], au_threshold=0.4,
                      subgroups={"gender": gender, "age": age}, warn=False)
    expected = json.loads(api.to_json())
    assert report["metrics"] == expected["metrics"]
    assert report["subgroups"] == expected["subgroups"]
    assert report["au_names"] == ["AU1", "AU2", "AU4"]
    assert report["metrics"]["au_f1"] == pytest.approx(
        f1_score(au, (scores > 0.4).astype(int), average="macro"), rel=1e-12)


def test_au_and_subgroups_with_ci_equal_the_api(tmp_path):
    path, au, scores, gender, age = au_file(tmp_path)
    out = tmp_path / "out"
    result = run("evaluate", path, "--au-columns", "AU1,AU2,AU4", "--subgroup-columns",
                 "gender,age", "--ci", "0.9", "--n-resamples", "50", "--seed", "3",
                 "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    api = am.evaluate(au=au, au_pred=scores, au_names=["AU1", "AU2", "AU4"],
                      subgroups={"gender": gender, "age": age}, ci=0.9, n_resamples=50,
                      seed=3, warn=False)
    expected = json.loads(api.to_json())
    assert report["intervals"] == expected["intervals"]
    assert report["subgroups"] == expected["subgroups"]
    assert "low" in json.dumps(report["subgroups"])


def test_abaw_au_marker_is_left_out_and_counted(tmp_path):
    rng = np.random.default_rng(2)
    au = (rng.random((20, 12)) < 0.5).astype(np.int64)
    scores = np.round(rng.random((20, 12)), 3)
    marked = au.copy()
    marked[[3, 7], 5] = -1
    columns = {**{name: marked[:, j] for j, name in enumerate(am.ABAW_AUS)},
               **{f"{name}_pred": scores[:, j] for j, name in enumerate(am.ABAW_AUS)}}
    path = tmp_path / "abaw.csv"
    path.write_text(table_text(columns))
    out = tmp_path / "out"
    result = run("evaluate", path, "--au-columns", ",".join(am.ABAW_AUS), "--preset", "abaw",
                 "--output", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["dropped"] == {"AU -1 (not annotated)": 2}
    keep = np.ones(20, dtype=bool)
    keep[[3, 7]] = False
    api = am.evaluate(au=au[keep], au_pred=scores[keep], preset="abaw", warn=False)
    assert report["metrics"] == json.loads(api.to_json())["metrics"]


def test_au_nan_policy(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("AU1,AU1_pred\n1,0.9\n,0.2\n0,0.1\n1,0.7\n")
    result = run("evaluate", path, "--au-columns", "AU1")
    assert result.returncode == 2
    assert f"{path}:3: column 'AU1' is empty (NaN)" in result.stderr
    result = run("evaluate", path, "--au-columns", "AU1", "--nan-policy", "omit")
    assert result.returncode == 0, result.stderr
    assert "| au_f1 " in result.stdout


def test_au_and_subgroup_column_errors(tmp_path):
    path, *_ = au_file(tmp_path)
    result = run("evaluate", path, "--au-columns", "AU1,AU6")
    assert result.returncode == 2
    assert f"{path}: missing column(s) AU6, AU6_pred" in result.stderr
    path.write_text(path.read_text().replace("_pred", "_score"))
    result = run("evaluate", path, "--au-columns", "AU1,AU2")
    assert result.returncode == 2
    assert "missing column(s) AU1_pred, AU2_pred" in result.stderr
    assert run("evaluate", path, "--au-columns", "AU1,AU2", "--au-pred-suffix",
               "_score").returncode == 0
    result = run("evaluate", path, "--au-columns", "AU1", "--au-pred-suffix", "_score",
                 "--subgroup-columns", "ethnicity")
    assert result.returncode == 2
    assert f"{path}: no column(s) 'ethnicity' (--subgroup-columns)" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("AU4,AU4_pred\n1,0.9\n0,0.2\n2,0.1\n")
    result = run("evaluate", bad, "--au-columns", "AU4")
    assert result.returncode == 2
    assert f"{bad}:4: column 'AU4': '2' is not 0/1" in result.stderr
