"""baselines/: loaders, split, models, preprocessing, feature cache, a tiny end-to-end run."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from baselines.data import (
    DataError,
    generate_synthetic,
    load_affectnet_csv,
    load_affectnet_folder,
    read_image,
    stratified_split,
)
from baselines.models import (
    ParameterCounts,
    build_backbone,
    build_head,
    build_model,
    parameter_counts,
    preprocessing,
)
from baselines.pipeline import extract_features

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """48 synthetic faces (6 per class) in AffectNet's per-image layout."""
    return generate_synthetic(tmp_path_factory.mktemp("faces"), seed=3, size=40,
                              counts=(6,) * 8)


def test_synthetic_set_is_deterministic_and_in_affectnet_layout(tmp_path, tiny):
    again = generate_synthetic(tmp_path / "again", seed=3, size=40, counts=(6,) * 8)
    for name in ("images/0.jpg", "images/47.jpg", "annotations/5_val.npy"):
        assert (tiny / name).read_bytes() == (again / name).read_bytes()
    other = generate_synthetic(tmp_path / "other", seed=4, size=40, counts=(6,) * 8)
    assert (tiny / "images/0.jpg").read_bytes() != (other / "images/0.jpg").read_bytes()
    # Annotations are strings, as in AffectNet.
    assert np.load(tiny / "annotations/0_exp.npy").dtype.kind == "U"
    samples = load_affectnet_folder(tiny)
    assert len(samples) == 48 and np.bincount(samples.labels).tolist() == [6] * 8
    # Valence/arousal follow the circumplex: Happy is positive, Sad negative in valence.
    assert samples.va[samples.labels == 1, 0].mean() > 0.3
    assert samples.va[samples.labels == 2, 0].mean() < -0.3
    assert np.abs(samples.va).max() <= 1.0


def test_folder_loader_errors_name_the_file(tmp_path, tiny):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(tiny, root)
    np.save(root / "annotations/3_val.npy", np.array("-2"))
    samples = load_affectnet_folder(root)
    assert np.isnan(samples.va[samples.paths.index(str(root / "images/3.jpg")), 0])
    (root / "annotations/7_aro.npy").unlink()
    with pytest.raises(DataError, match=r"7_aro\.npy: annotation file is missing"):
        load_affectnet_folder(root)
    (root / "images/9.jpg").write_bytes(b"not a jpeg")
    np.save(root / "annotations/11_exp.npy", np.array("9"))
    skipped = load_affectnet_folder(root, skip_bad=True)
    assert len(skipped) == 45
    assert skipped.skipped == {"missing_or_unreadable": 2, "bad_code": 1}
    (root / "annotations/7_aro.npy").write_text("x")
    with pytest.raises(DataError, match=r"7_aro\.npy: not a readable \.npy file"):
        load_affectnet_folder(root)
    np.save(root / "annotations/7_aro.npy", np.array("0.1"))
    with pytest.raises(DataError, match=r"9\.jpg: unreadable image"):
        load_affectnet_folder(root)
    with pytest.raises(DataError, match="no such folder"):
        load_affectnet_folder(tmp_path / "nowhere")


def test_csv_loader_crops_drops_non_expressions_and_marks_missing_va(tmp_path):
    folder = tmp_path / "Manually_Annotated_Images" / "1"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "a.png")
    rows = [("1/a.png", 10, 5, 30, 40, "", 3, 0.5, -2), ("1/a.png", 0, 0, 80, 60, "", 9, 0, 0),
            ("1/a.png", 0, 0, 80, 60, "", 10, 0, 0), ("1/a.png", 20, 10, 40, 40, "", 1, -0.2,
                                                       0.4)]
    path = tmp_path / "validation.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subDirectory_filePath", "face_x", "face_y", "face_width",
                         "face_height", "facial_landmarks", "expression", "valence", "arousal"])
        writer.writerows(rows)
    samples = load_affectnet_csv(path, tmp_path / "Manually_Annotated_Images")
    assert samples.labels.tolist() == [3, 1] and samples.skipped["non_expression"] == 2
    assert np.isnan(samples.va[0, 1]) and samples.va[1].tolist() == [-0.2, 0.4]
    crop = read_image(samples.paths[0], 30, samples.boxes[0])
    expected = np.asarray(Image.fromarray(pixels).crop((10, 5, 40, 45)).resize(
        (30, 30), Image.Resampling.BILINEAR), dtype=np.float32)
    np.testing.assert_array_equal(crop, expected)
    with path.open("a", newline="") as handle:
        csv.writer(handle).writerow(["1/missing.png", 0, 0, 5, 5, "", 2, 0, 0])
    with pytest.raises(DataError, match=r"missing\.png: image file is missing"):
        load_affectnet_csv(path, tmp_path / "Manually_Annotated_Images")
    assert len(load_affectnet_csv(path, tmp_path / "Manually_Annotated_Images",
                                  skip_bad=True)) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("subDirectory_filePath,expression\n1/a.png,3\n")
    with pytest.raises(DataError, match="missing column"):
        load_affectnet_csv(bad)


def test_study_split_is_stratified_exact_and_reproducible():
    labels = np.repeat(np.arange(8), [500] * 7 + [499])
    split = stratified_split(labels, (2559, 640, 800), seed=0)
    assert [len(split[k]) for k in ("train", "val", "test")] == [2559, 640, 800]
    assert np.bincount(labels[split["test"]]).tolist() == [100] * 8
    assert np.bincount(labels[split["val"]]).tolist() == [80] * 8
    everything = np.concatenate(list(split.values()))
    assert np.array_equal(np.sort(everything), np.arange(3999))
    again = stratified_split(labels, (2559, 640, 800), seed=0)
    assert all(np.array_equal(split[k], again[k]) for k in split)
    other = stratified_split(labels, (2559, 640, 800), seed=1)
    assert not np.array_equal(split["test"], other["test"])
    with pytest.raises(ValueError, match="add up to"):
        stratified_split(labels, (10, 10, 10), seed=0)


@pytest.mark.parametrize(("name", "study"), [
    ("resnet50", ("24.8M (94.7 MB)", "1.25M (4.76 MB)", "23.6M (90 MB)")),
    ("vgg16", ("15.2M (57.9 MB)", "0.462M (1.76 MB)", "14.7M (56.1 MB)")),
])
def test_parameter_counts_equal_the_study(name, study):
    backbone = build_backbone(name, None, 32)
    model = build_model(backbone, build_head(backbone.output_shape[-1]))
    counts = parameter_counts(model)
    expected = {"resnet50": ParameterCounts(24_836_106, 1_248_394, 23_587_712),
                "vgg16": ParameterCounts(15_176_650, 461_962, 14_714_688)}[name]
    assert counts == expected
    assert tuple(counts.describe(c) for c in (counts.total, counts.trainable,
                                               counts.non_trainable)) == study


def test_each_backbone_gets_its_own_preprocessing():
    pixel = np.array([[[[255.0, 0.0, 10.0]]]], dtype=np.float32)  # RGB
    for name in ("resnet50", "vgg16"):
        # caffe: RGB -> BGR, minus the ImageNet means in BGR order
        np.testing.assert_allclose(preprocessing(name)(pixel)[0, 0, 0],
                                   [10 - 103.939, 0 - 116.779, 255 - 123.68], rtol=1e-6)
    np.testing.assert_array_equal(preprocessing("efficientnetb0")(pixel), pixel)
    for name in ("resnet50", "vgg16", "efficientnetb0"):
        np.testing.assert_allclose(preprocessing(name, "study")(pixel), pixel / 255)
    original = pixel.copy()
    preprocessing("vgg16")(pixel)
    np.testing.assert_array_equal(pixel, original)  # the input is not modified in place
    with pytest.raises(ValueError, match="unknown backbone"):
        preprocessing("alexnet")


def test_efficientnetb0_stem_and_weight_round_trip(tmp_path):
    backbone = build_backbone("efficientnetb0", None, 64)
    stem = backbone.get_layer("stem_conv")
    assert tuple(stem.kernel.shape) == (3, 3, 3, 32)  # keras 3.11.0-3.11.3 built (3, 3, 1, 32)
    path = tmp_path / "efficientnetb0.weights.h5"
    backbone.save_weights(path)
    loaded = build_backbone("efficientnetb0", str(path), 64)
    for a, b in zip(backbone.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                      keras.ops.convert_to_numpy(b))
    assert keras.__version__ >= "3.12"


def test_cached_features_train_the_same_head_as_end_to_end(tmp_path, tiny):
    samples = load_affectnet_folder(tiny).subset(np.arange(24))
    keras.utils.set_random_seed(0)
    backbone = build_backbone("vgg16", None, 32)
    features = extract_features(backbone, "vgg16", None, "backbone", 32, samples,
                                tmp_path / "cache", batch_size=8)
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1
    again = extract_features(backbone, "vgg16", None, "backbone", 32, samples,
                             tmp_path / "cache", batch_size=8)
    np.testing.assert_array_equal(features, again)
    targets = {"expression": samples.labels, "valence_arousal": samples.va.astype("float32")}
    head_a = build_head(features.shape[1], seed=5)
    head_b = build_head(features.shape[1], seed=5)
    full = build_model(backbone, head_b)
    for model in (head_a, full):
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss={"expression": "sparse_categorical_crossentropy",
                            "valence_arousal": "mse"})
    head_a.fit(features, targets, batch_size=8, epochs=2, shuffle=False, verbose=0)
    from baselines.data import ImageBatches

    images = np.concatenate([ImageBatches(samples, 32, preprocessing("vgg16"), 8)[i]
                             for i in range(3)])
    full.fit(images, targets, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(head_a.weights, head_b.weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a),
                                   keras.ops.convert_to_numpy(b), rtol=1e-4, atol=1e-5)
    other = extract_features(backbone, "vgg16", None, "study", 32, samples,
                             tmp_path / "cache", batch_size=8)
    assert len(list((tmp_path / "cache").iterdir())) == 2  # preprocessing is in the key
    assert not np.allclose(other, features)


def test_one_epoch_end_to_end_run(tmp_path, tiny):
    from baselines.cli import main

    workdir = tmp_path / "run"
    status = main(["--data", str(tiny), "--models", "vgg16", "efficientnetb0",
                   "--image-size", "32", "--epochs", "1", "--weights", "none",
                   "--n-resamples", "50", "--workdir", str(workdir),
                   "--cache-dir", str(tmp_path / "cache"), "--standardize-features"])
    assert status == 0
    report = (workdir / "report.md").read_text()
    assert "| Metric (Classification) | VGG16" in report and "EfficientNetB0" in report
    assert "weights: random initialisation" in report
    assert "| VGG16          | 15.2M (57.9 MB) [15,176,650]" in report
    assert "Paired comparison: EfficientNetB0 - VGG16" in report
    split = json.loads((workdir / "split.json").read_text())
    assert len(split["test"]["indices"]) == round(0.2 * 48)
    for model in ("vgg16", "efficientnetb0"):
        folder = workdir / model
        for name in ("config.json", "log.csv", "predictions.csv", "training_curves.png",
                     "confusion_matrix.png", "feature_scaler.npz"):
            assert (folder / name).is_file(), (model, name)
        header = (folder / "predictions.csv").read_text().splitlines()[0]
        assert header.startswith("file,expression,valence,arousal,valence_pred")
    # The predictions CSV is what `affectmetrics compare` reads.
    from affectmetrics.cli import main as affectmetrics_main

    assert affectmetrics_main(["compare", str(workdir / "vgg16/predictions.csv"),
                               str(workdir / "efficientnetb0/predictions.csv"),
                               "--n-resamples", "50"]) == 0


def test_fine_tuning_path_trains_end_to_end(tmp_path, tiny):
    from baselines.cli import main

    status = main(["--data", str(tiny), "--models", "efficientnetb0", "--image-size", "32",
                   "--epochs", "1", "--weights", "none", "--unfreeze", "3",
                   "--n-resamples", "20", "--workdir", str(tmp_path / "ft")])
    assert status == 0
    assert (tmp_path / "ft/efficientnetb0/log.csv").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "/nonexistent/affectnet"], "/nonexistent/affectnet: no such file or folder"),
    (["--data", "{empty}"], "images: no such folder"),
    (["--data", "{tiny}", "--weights", "missing.h5"], "missing.h5: weights file not found"),
    (["--data", "{tiny}", "--image-size", "32"], "ImageNet weights for resnet50"),
])
def test_cli_errors_are_one_line_and_exit_2(tmp_path, tiny, args, message):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", tiny=tiny) for a in args]
    result = subprocess.run([sys.executable, "-m", "baselines", *args, "--workdir",
                             str(tmp_path / "w")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("baselines:")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-1500:]
    assert "Traceback" not in result.stderr


def test_help_and_single_model_entry_point():
    result = subprocess.run([sys.executable, "-m", "baselines", "--help"], capture_output=True,
                            text=True, cwd=ROOT)
    for flag in ("--data", "--image-size", "--weights", "--allow-random-weights",
                 "--preprocess", "--unfreeze", "--epochs", "--workdir", "--skip-bad"):
        assert flag in result.stdout
    bad = subprocess.run([sys.executable, "-m", "baselines.train", "--config",
                          "baselines/configs/common.py", "--workdir", "x"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "not a model configuration" in bad.stderr


def test_batchnorm_calibration_sets_the_moving_statistics(tiny):
    from baselines.data import ImageBatches
    from baselines.explain import calibrate_batchnorm

    samples = load_affectnet_folder(tiny)
    backbone = build_backbone("efficientnetb0", None, 32)
    images = ImageBatches(samples, 32, preprocessing("efficientnetb0"), 48)[0]
    assert calibrate_batchnorm(backbone, images) > 10
    stem_bn = backbone.get_layer("stem_bn")
    probe = keras.Model(backbone.input, backbone.get_layer("stem_conv").output)
    activations = keras.ops.convert_to_numpy(probe(images))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(stem_bn.moving_mean),
                               activations.mean(axis=(0, 1, 2)), rtol=1e-3, atol=1e-4)
    assert not backbone.trainable and stem_bn.momentum == 0.99


def test_loader_counts_reach_the_report(tmp_path, tiny, capsys):
    """The official-CSV loader's dropped (codes 8-10) and skipped rows are in report.md and
    report.json, not only in a log; the weights are announced before the run."""
    from baselines.cli import main

    samples = load_affectnet_folder(tiny)
    images = Path(samples.paths[0]).parent
    path = tmp_path / "validation.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subDirectory_filePath", "face_x", "face_y", "face_width",
                         "face_height", "facial_landmarks", "expression", "valence", "arousal"])
        for file, label, (valence, arousal) in zip(samples.paths, samples.labels, samples.va,
                                                   strict=True):
            writer.writerow([Path(file).name, 0, 0, 40, 40, "", label, valence, arousal])
        writer.writerows([[Path(samples.paths[0]).name, 0, 0, 40, 40, "", code, 0, 0]
                          for code in (8, 9, 9)])
        writer.writerow(["gone.png", 0, 0, 40, 40, "", 2, 0, 0])
    workdir = tmp_path / "run"
    status = main(["--data", str(path), "--image-root", str(images), "--skip-bad",
                   "--models", "efficientnetb0", "--image-size", "32", "--epochs", "1",
                   "--weights", "none", "--n-resamples", "20", "--workdir", str(workdir),
                   "--cache-dir", str(tmp_path / "cache")])
    assert status == 0
    err = capsys.readouterr().err
    assert "Weights: random initialisation for every backbone (--weights none)." in err
    report = (workdir / "report.md").read_text()
    assert ("Left out while loading: 3 with expression codes 8-10 (None, Uncertain, No-Face); "
            "1 with a missing or unreadable image or annotation.") in report
    assert json.loads((workdir / "report.json").read_text())["left_out_while_loading"] == {
        "non_expression": 3, "missing_or_unreadable": 1}


def test_weights_are_announced_and_a_failed_download_is_not_retried(tmp_path, monkeypatch,
                                                                    capsys):
    import argparse

    import baselines.cli as cli

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / cli._IMAGENET_FILES["vgg16"]).write_bytes(b"")
    args = argparse.Namespace(weights="imagenet", allow_random_weights=True)
    plan = cli._weights_plan(["resnet50", "vgg16", "efficientnetb0"], args)
    assert plan == (f"Weights: ImageNet from Keras' cache ({tmp_path / 'models'}) for VGG16; "
                    "not cached for ResNet50, EfficientNetB0: one download attempt, then "
                    "random initialisation if that fails (--allow-random-weights).")
    attempts = []

    def offline(name, weights, image_size):
        attempts.append(name)
        raise Exception("URL fetch failure: no network")  # what keras raises

    monkeypatch.setattr(cli, "build_backbone", offline)
    failed: list[str] = []
    for name in ("resnet50", "efficientnetb0"):
        config = {"weights": "imagenet", "model": name, "image_size": 32,
                  "allow_random_weights": True}
        weights, label, backbone = cli._weights(config, failed)
        assert weights is None and backbone is None and label.startswith("random")
    assert attempts == ["resnet50"]
    err = capsys.readouterr().err
    assert "EfficientNetB0: ImageNet weights unavailable (not in Keras' cache, and an " \
        "earlier download failed: URL fetch failure: no network)" in err


def test_demo_table_in_the_docs_is_generated_by_make_demo(tmp_path):
    """docs/baselines.md's demo block is written by `make demo` (--markdown), in the current
    rendering of the reports; the block cannot be edited into something the code does not
    print without the next `make demo` replacing it."""
    from affectmetrics import evaluate, side_by_side
    from baselines.cli import DEMO_BEGIN, DEMO_END, _write_demo_block

    makefile = (ROOT / "Makefile").read_text()
    assert "-m baselines --allow-random-weights --standardize-features --markdown " \
        "docs/baselines.md" in makefile
    page = (ROOT / "docs" / "baselines.md").read_text()
    block = page[page.index(DEMO_BEGIN) + len(DEMO_BEGIN):page.index(DEMO_END)]
    reports = [evaluate(expression=[0, 1], expression_pred=[[0.6, 0.4], [0.3, 0.7]],
                        va=[[0.1, 0.2], [0.3, 0.1]], va_pred=[[0.1, 0.3], [0.2, 0.1]],
                        model=name, ci=0.95, n_resamples=1000, seed=0, warn=False)
               for name in ("ResNet50", "VGG16", "EfficientNetB0")]
    rendered = side_by_side(reports)
    for line in rendered.splitlines():
        if line.startswith("| Metric") or line.startswith("Intervals:"):
            assert line in block, line
    assert "### Paired comparison: VGG16 - ResNet50" in block
    assert "weights: random initialisation" in block
    copy = tmp_path / "page.md"
    copy.write_text(f"intro\n{DEMO_BEGIN}\nold\n{DEMO_END}\noutro\n")
    _write_demo_block(copy, "new table")
    assert copy.read_text() == f"intro\n{DEMO_BEGIN}\n\nnew table\n\n{DEMO_END}\noutro\n"
    copy.write_text("no markers\n")
    with pytest.raises(DataError, match="no demo markers"):
        _write_demo_block(copy, "x")
