"""The affectmetrics command line: its main() in-process (fast), and once through
``python -m affectmetrics`` in a subprocess (the entry point the console script calls)."""

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

import affectmetrics as am
from affectmetrics.cli import main
from affectmetrics.examples import load_example


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(*args, cwd=None):
    """Run ``affectmetrics *args`` in-process, as the console script would."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: --help, --version, bad flags
                code = exc.code
    finally:
        os.chdir(here)
    return Result(code, out.getvalue(), err.getvalue())


def write_csv(path, columns):
    names = list(columns)
    rows = zip(*(columns[n] for n in names), strict=True)
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(map(str, r)) for r in rows)
                    + "\n")
    return path


def test_module_entry_point_runs_in_a_subprocess():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-m", "affectmetrics", "evaluate", "--no-plots"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    data = load_example()
    assert f"| Accuracy                | {am.accuracy(data['expression'], data['scores']):.4f}" \
        in result.stdout


def test_evaluate_the_shipped_example_with_intervals_and_outputs(tmp_path):
    result = run("evaluate", "--ci", "0.95", "--n-resamples", "200", "--output", tmp_path,
                 "--svg")
    assert result.returncode == 0, result.stderr
    data = load_example()
    accuracy = am.accuracy(data["expression"], data["scores"])
    assert f"| Accuracy                | {accuracy:.4f} [" in result.stdout
    assert "Intervals: 95% percentile bootstrap, 200 resamples, seed 0." in result.stdout
    written = {p.name for p in tmp_path.iterdir()}
    assert {"report.md", "report.json", "report.csv", "confusion_matrix.png",
            "confusion_matrix.svg", "roc_pr_curves.png", "valence_arousal.png"} <= written
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["metrics"]["accuracy"] == accuracy
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_no_command_prints_the_example_report():
    result = run()
    assert result.returncode == 0 and "| Metric (Classification) |" in result.stdout


def test_custom_columns_labels_only_and_abaw(tmp_path):
    path = write_csv(tmp_path / "m.csv", {"label": [0, 1, 2, 2, 1, 0],
                                          "pred": [0, 1, 2, 1, 1, 0],
                                          "v": [0.1, -0.2, 0.3, 0.5, -0.4, 0.0],
                                          "v_hat": [0.2, -0.1, 0.2, 0.4, -0.3, 0.1]})
    result = run("evaluate", path, "--expression-column", "label", "--expression-pred-column",
                 "pred", "--va-columns", "v", "--va-pred-columns", "v_hat", "--model-name", "M")
    assert result.returncode == 0, result.stderr
    f1 = am.f1_score([0, 1, 2, 2, 1, 0], [0, 1, 2, 1, 1, 0])
    assert f"| F1 Score                | {f1:.4f}" in result.stdout
    assert "| Metric (V Regression) | M " in result.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, ["evaluate", "missing.csv"], "missing.csv: no such file"),
        ("", ["evaluate", "{path}"], "the file is empty"),
        ("expression,score_a\n", ["evaluate", "{path}"], "has a header but no rows"),
        ("expression,score_a,score_b\n0,0.1\n", ["evaluate", "{path}"],
         "bad.csv:2: 2 field(s) where the header has 3"),
        ("expression,score_a,score_b\n0,x,0.2\n", ["evaluate", "{path}"],
         "bad.csv:2: column 'score_a': 'x' is not a number"),
        ("foo,bar\n1,2\n", ["evaluate", "{path}"], "found neither 'expression' nor"),
        ("expression\n1\n", ["evaluate", "{path}"], "no predictions"),
        ("valence,arousal,valence_pred\n0.1,0.2,0.3\n", ["evaluate", "{path}"],
         "missing column(s) arousal_pred"),
        ("expression,score_a,score_b\n0,0.1,0.9\n5,0.2,0.8\n", ["evaluate", "{path}"],
         "bad.csv:3: column 'expression': 5 is not a class code 0..1"),
        ("expression,score_a,score_b\n0,0.1,0.9\n1,,0.8\n", ["evaluate", "{path}"],
         "bad.csv:3: column 'score_a' is empty (NaN); pass --nan-policy omit"),
    ],
)
def test_bad_files_give_one_line_and_status_2(tmp_path, content, args, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    result = run(*(a.format(path=path) for a in args), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("affectmetrics: error: ") and message in result.stderr


def test_nan_policy_omit_flag(tmp_path):
    path = write_csv(tmp_path / "m.csv", {"expression": [0, 1, 1, 0, 1],
                                          "score_a": [0.9, 0.2, "", 0.6, 0.4],
                                          "score_b": [0.1, 0.8, 0.5, 0.4, 0.6]})
    result = run("evaluate", path, "--nan-policy", "omit")
    assert result.returncode == 0, result.stderr
    assert "| Accuracy                | 1.0000" in result.stdout


def test_compare_two_models(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    labels = rng.integers(0, 3, n)
    truth = rng.normal(0, 0.4, (n, 2))
    common = {"expression": labels, "valence": truth[:, 0], "arousal": truth[:, 1]}
    paths = []
    for name, noise, signal in (("weak", 0.6, 0.2), ("strong", 0.1, 1.5)):
        scores = rng.random((n, 3)) + signal * np.eye(3)[labels]
        pred = truth + rng.normal(0, noise, (n, 2))
        paths.append(write_csv(tmp_path / f"{name}.csv", {
            **common, "score_x": scores[:, 0], "score_y": scores[:, 1], "score_z": scores[:, 2],
            "valence_pred": pred[:, 0], "arousal_pred": pred[:, 1]}))
    result = run("compare", *paths, "--n-resamples", "300", "--output", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "| Metric (Classification) | weak" in result.stdout and "strong" in result.stdout
    assert "Paired bootstrap (300 resamples): difference strong - weak" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("| accuracy |"))
    assert float(row.split("|")[-2]) < 0.05
    out = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"report.md", "report_weak.json", "report_strong.json",
            "weak_confusion_matrix.png", "strong_valence_arousal.png"} <= out


def test_compare_refuses_different_test_sets(tmp_path):
    a = write_csv(tmp_path / "a.csv", {"valence": [0.1, 0.2, 0.3], "arousal": [0, 0.1, 0.2],
                                       "valence_pred": [0.1, 0.2, 0.2],
                                       "arousal_pred": [0, 0.2, 0.2]})
    b = write_csv(tmp_path / "b.csv", {"valence": [0.1, 0.25, 0.3], "arousal": [0, 0.1, 0.2],
                                       "valence_pred": [0.1, 0.2, 0.2],
                                       "arousal_pred": [0, 0.2, 0.2]})
    result = run("compare", a, b)
    assert result.returncode == 2 and "different ground truth (va differs at data row 2)" \
        in result.stderr


def test_help_is_complete():
    top = run("--help").stdout
    assert "evaluate" in top and "compare" in top and "score_<Class>" in top
    evaluate = run("evaluate", "--help").stdout
    for flag in ("--ci", "--n-resamples", "--seed", "--preset", "--output", "--svg",
                 "--score-prefix", "--va-columns", "--group-column", "--nan-policy",
                 "--ci-method", "--progress", "--class-names", "--delimiter", "--overwrite",
                 "--bins", "--score-range"):
        assert flag in evaluate, flag
    compare = run("compare", "--help").stdout
    for flag in ("--names", "--nan-policy", "--group-column", "--class-names", "--overwrite",
                 "--preset"):
        assert flag in compare, flag


def test_progress_bar_on_request():
    result = run("evaluate", "--ci", "0.95", "--n-resamples", "300", "--progress")
    assert result.returncode == 0
    assert "bootstrap" in result.stderr and "resample" in result.stderr
