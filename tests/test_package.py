"""Packaging: import isolation, public names, optional extras, the example file and the CLI."""

import ast
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import tomllib

import affectmetrics as am
from affectmetrics._optional import _import_optional
from affectmetrics.examples import _write_example, load_example, simulate_predictions

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_NAMES = [
    "ccc", "pearson", "rmse", "sagr", "accuracy", "f1_score", "cohen_kappa", "roc_auc",
    "pr_auc", "krippendorff_alpha", "ContinuousAccumulator", "ClassificationAccumulator",
    "UndefinedMetricWarning",
]


def _third_party_modules_after(statement):
    code = (
        f"import sys\n{statement}\n"
        "stdlib = set(sys.stdlib_module_names)\n"
        "tops = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(t for t in tops if t not in stdlib and not t.startswith('_')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(ast.literal_eval(out))


def test_import_pulls_in_numpy_and_scipy_only():
    # Whatever numpy and scipy.special import themselves (cython_runtime, and in some
    # environments optional helpers such as charset_normalizer via numpy.f2py) is allowed;
    # affectmetrics must add nothing else.
    baseline = _third_party_modules_after("import numpy, scipy.special")
    added = _third_party_modules_after("import affectmetrics") - baseline
    assert added == {"affectmetrics"}, added
    heavy = {"torch", "torchmetrics", "tensorflow", "keras", "jax", "sklearn", "pandas",
             "matplotlib", "tqdm"}
    assert not _third_party_modules_after("import affectmetrics") & heavy


def test_contract_names_are_public():
    for name in CONTRACT_NAMES:
        assert name in am.__all__ and hasattr(am, name)
    assert issubclass(am.UndefinedMetricWarning, UserWarning)
    for name in am.__all__:
        assert hasattr(am, name)


def test_version_matches_pyproject_and_package_is_typed():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["version"] == am.__version__
    assert meta["project"]["dependencies"] == ["numpy>=1.23", "scipy>=1.9"]
    assert (resources.files("affectmetrics") / "py.typed").is_file()


@pytest.mark.parametrize(
    ("hidden", "statement", "extra"),
    [
        ("torchmetrics", "import affectmetrics.torch", "torch"),
        ("torch", "import affectmetrics.torch", "torch"),
        ("keras", "import affectmetrics.keras", "keras"),
        ("matplotlib", "from affectmetrics.plots import plot_confusion_matrix as p; p([[1]])",
         "plots"),
        ("pandas", "import affectmetrics as am; am.evaluate(va=[1., 2.], va_pred=[1., 3.], "
                   "output_names=['v']).to_dataframe()", "pandas"),
        ("dask", "import affectmetrics.dask", "dask"),
    ],
)
def test_a_missing_framework_names_the_extra_to_install(hidden, statement, extra):
    code = (f"import sys; sys.modules[{hidden!r}] = None\n"
            f"try:\n    {statement}\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert f"needs the optional dependency {hidden!r}" in out
    assert f"pip install 'affectmetrics[{extra}]'" in out


def test_missing_extra_names_the_extra_to_install():
    with pytest.raises(ImportError, match=r"pip install 'affectmetrics\[torch\]'") as info:
        _import_optional("affectmetrics_no_such_module", "torch", purpose="affectmetrics.torch")
    assert "affectmetrics.torch needs the optional dependency" in str(info.value)
    assert _import_optional("json", "none", purpose="x").dumps([1]) == "[1]"


def test_shipped_example_is_the_generators_output(tmp_path):
    path = tmp_path / "example.csv"
    _write_example(path, simulate_predictions())
    shipped = resources.files("affectmetrics") / "data" / "example_predictions.csv"
    assert path.read_text() == shipped.read_text()
    data = load_example()
    assert np.bincount(data["expression"]).tolist() == [100] * 8
    np.testing.assert_allclose(data["scores"].sum(axis=1), 1.0, atol=1e-5)


def test_main_job_prints_the_report():
    out = subprocess.run([sys.executable, "-m", "affectmetrics"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    data = load_example()
    accuracy = am.accuracy(data["expression"], data["scores"])
    ccc = am.ccc(data["valence_arousal"], data["valence_arousal_pred"])
    assert f"| Accuracy                | {accuracy:.4f}" in out
    assert "| Metric (Valence Regression) |" in out and "| Metric (Arousal Regression) |" in out
    assert f"| CCC                         | {ccc[0]:.4f}" in out
    assert f"| CCC                         | {ccc[1]:.4f}" in out
    assert "Confusion matrix" in out and "| Contempt |" in out


def test_main_job_help():
    result = subprocess.run([sys.executable, "-m", "affectmetrics", "--help"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and "usage: affectmetrics" in result.stdout


def test_undefined_warnings_point_at_the_callers_line():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        am.pearson([1, 2, 3], [0.5, 0.5, 0.5])
        acc = am.ContinuousAccumulator()
        acc.compute()
    # one from pearson ("y_pred is constant"), five from compute() on no samples
    assert "pearson is undefined: y_pred is constant" in str(caught[0].message)
    assert [w.filename for w in caught] == [__file__] * 6
