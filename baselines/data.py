"""AffectNet loaders (per-image folder and official CSV), the synthetic face set, the split.

Samples are kept as file paths plus labels; images are read, cropped and resized batch by
batch (:class:`ImageBatches`), so 3,999 images at 224x224 never sit in memory at once.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from affectmetrics import AFFECTNET_CLASSES

__all__ = [
    "DataError",
    "ImageBatches",
    "Samples",
    "generate_synthetic",
    "load_affectnet_csv",
    "load_affectnet_folder",
    "read_image",
    "stratified_split",
]

#: AffectNet codes 8, 9, 10: None, Uncertain, No-Face (not expressions; dropped).
NON_EXPRESSION_CODES = (8, 9, 10)
MISSING_VA = -2.0


class DataError(ValueError):
    """A data set problem, named with the file it concerns.

    ``reason`` is the ``Samples.skipped`` counter it increments under ``skip_bad``.
    """

    def __init__(self, message: str, reason: str = "missing_or_unreadable") -> None:
        super().__init__(message)
        self.reason = reason


def _skip_or_raise(error: DataError, skip_bad: bool, skipped: dict[str, int]) -> None:
    if not skip_bad:
        raise error
    skipped[error.reason] += 1


def _va(valence: float, arousal: float) -> list[float]:
    return [np.nan if v == MISSING_VA else v for v in (valence, arousal)]


@dataclass
class Samples:
    """Image paths with their labels. ``boxes`` are (x, y, width, height) face crops."""

    paths: list[str]
    labels: np.ndarray
    va: np.ndarray  # (n, 2) valence, arousal; NaN where missing
    boxes: np.ndarray | None = None
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, indices: np.ndarray) -> Samples:
        return Samples([self.paths[i] for i in indices], self.labels[indices],
                       self.va[indices], None if self.boxes is None else self.boxes[indices],
                       dict(self.skipped))


def _scalar(path: Path) -> float:
    """One value from an AffectNet annotation file (stored as a string or a number)."""
    try:
        value = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: annotation file is missing") from None
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None
    try:
        return float(np.asarray(value).reshape(-1)[0])
    except (ValueError, IndexError):
        raise DataError(f"{path}: holds {value!r}, not a number") from None


def _check_image(path: Path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except FileNotFoundError:
        raise DataError(f"{path}: image file is missing") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(f"{path}: unreadable image ({exc})") from None


def load_affectnet_folder(root: str | Path, *, skip_bad: bool = False) -> Samples:
    """The per-image layout of AffectNet's 8-class validation set.

    ``root/images/N.jpg`` with ``root/annotations/N_exp.npy``, ``N_val.npy``, ``N_aro.npy``
    (and ``N_lnd.npy``, landmarks, not needed here). Expression codes must be 0..7;
    valence/arousal of -2 mean "missing" and become NaN.

    Parameters
    ----------
    skip_bad : bool, default False
        Skip samples with a missing or unreadable file or a bad code, counting them in
        ``Samples.skipped``, instead of raising :class:`DataError` naming the file.
    """
    root = Path(root)
    images = root / "images"
    annotations = root / "annotations"
    for folder in (images, annotations):
        if not folder.is_dir():
            raise DataError(f"{folder}: no such folder (expected AffectNet's images/ and "
                            "annotations/ layout)")
    files = sorted((p for p in images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg",
                                                                         ".png")),
                   key=lambda p: (len(p.stem), p.stem))
    if not files:
        raise DataError(f"{images}: no images")
    paths, labels, va = [], [], []
    skipped = {"missing_or_unreadable": 0, "bad_code": 0}
    for image in files:
        try:
            _check_image(image)
            code = _scalar(annotations / f"{image.stem}_exp.npy")
            if code not in range(8):
                raise DataError(f"{annotations / f'{image.stem}_exp.npy'}: expression code "
                                f"{code:g} is not one of 0..7 (the eight expressions)",
                                "bad_code")
            valence = _scalar(annotations / f"{image.stem}_val.npy")
            arousal = _scalar(annotations / f"{image.stem}_aro.npy")
        except DataError as error:
            _skip_or_raise(error, skip_bad, skipped)
            continue
        paths.append(str(image))
        labels.append(int(code))
        va.append(_va(valence, arousal))
    if not paths:
        raise DataError(f"{root}: every sample was skipped")
    return Samples(paths, np.array(labels), np.array(va, dtype=np.float64), None, skipped)


_CSV_COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
                "expression", "valence", "arousal")


def load_affectnet_csv(csv_path: str | Path, image_root: str | Path | None = None, *,
                       skip_bad: bool = False) -> Samples:
    """AffectNet's official CSV (``training.csv`` / ``validation.csv``).

    Columns ``subDirectory_filePath, face_x, face_y, face_width, face_height,
    facial_landmarks, expression, valence, arousal``. Faces are cropped by the box when read;
    codes 8-10 (None, Uncertain, No-Face) are dropped and counted in
    ``Samples.skipped["non_expression"]``; valence/arousal of -2 become NaN. Image paths are
    relative to ``image_root`` (default: the CSV's folder).
    """
    csv_path = Path(csv_path)
    root = Path(image_root) if image_root is not None else csv_path.parent
    if not csv_path.is_file():
        raise DataError(f"{csv_path}: no such file")
    paths, labels, va, boxes = [], [], [], []
    skipped = {"non_expression": 0, "missing_or_unreadable": 0, "bad_code": 0}
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{csv_path}: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                code = int(float(row["expression"]))
                box = [float(row[k]) for k in ("face_x", "face_y", "face_width", "face_height")]
                valence, arousal = float(row["valence"]), float(row["arousal"])
            except ValueError:
                raise DataError(f"{csv_path}, line {line}: a number field is not a number") \
                    from None
            if code in NON_EXPRESSION_CODES:
                skipped["non_expression"] += 1
                continue
            image = root / row["subDirectory_filePath"]
            try:
                if code not in range(8):
                    raise DataError(f"{csv_path}, line {line}: expression code {code} is not "
                                    "one of 0..10", "bad_code")
                _check_image(image)
            except DataError as error:
                _skip_or_raise(error, skip_bad, skipped)
                continue
            paths.append(str(image))
            labels.append(code)
            va.append(_va(valence, arousal))
            boxes.append(box)
    if not paths:
        raise DataError(f"{csv_path}: no usable rows")
    return Samples(paths, np.array(labels), np.array(va, dtype=np.float64),
                   np.array(boxes, dtype=np.float64), skipped)


def read_image(path: str, size: int, box: np.ndarray | None = None) -> np.ndarray:
    """RGB float32 pixels in 0..255, cropped to ``box`` if given, resized to size x size."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if box is not None:
            x, y, w, h = (round(float(v)) for v in box)
            image = image.crop((x, y, x + w, y + h))
        image = image.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.float32)


def _keras() -> Any:
    import keras

    return keras


class ImageBatches(_keras().utils.PyDataset):
    """Batches of preprocessed images (and targets), read from disk on demand.

    Yields ``x`` or ``(x, {"expression": labels, "valence_arousal": va})`` with
    ``with_targets=True``. Order is fixed (no shuffling), so features line up with labels.
    """

    def __init__(self, samples: Samples, image_size: int, preprocess: Any,
                 batch_size: int = 32, with_targets: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.samples, self.image_size, self.preprocess = samples, image_size, preprocess
        self.batch_size, self.with_targets = batch_size, with_targets

    def __len__(self) -> int:
        return -(-len(self.samples) // self.batch_size)

    def __getitem__(self, index: int) -> Any:
        lo = index * self.batch_size
        hi = min(lo + self.batch_size, len(self.samples))
        boxes = self.samples.boxes
        pixels = np.stack([read_image(self.samples.paths[i], self.image_size,
                                      None if boxes is None else boxes[i])
                           for i in range(lo, hi)])
        x = self.preprocess(pixels)
        if not self.with_targets:
            return x
        return x, {"expression": self.samples.labels[lo:hi],
                   "valence_arousal": self.samples.va[lo:hi].astype(np.float32)}


def stratified_split(labels: np.ndarray, sizes: tuple[int, int, int], seed: int
                     ) -> dict[str, np.ndarray]:
    """Stratified train/val/test indices with exactly ``sizes`` samples.

    Each class gets a share of the val and test sizes proportional to its frequency
    (largest remainder), the rest goes to train; within a class the order is a seeded
    permutation. For AffectNet's 3,999 validation images and (2559, 640, 800) this is 100
    test and 80 validation images per class.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if sum(sizes) != n:
        raise ValueError(f"split sizes {sizes} add up to {sum(sizes)}, not {n} samples")
    classes, counts = np.unique(labels, return_counts=True)
    rng = np.random.default_rng(seed)

    def allocate(total: int, available: np.ndarray) -> np.ndarray:
        exact = total * counts / n
        share = np.minimum(np.floor(exact).astype(int), available)
        order = np.argsort(-(exact - share), kind="stable")
        for i in order[: total - share.sum()]:
            share[i] += 1
        return share

    test = allocate(sizes[2], counts)
    val = allocate(sizes[1], counts - test)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for k, c in enumerate(classes):
        members = rng.permutation(np.flatnonzero(labels == c))
        parts["test"].append(members[: test[k]])
        parts["val"].append(members[test[k]: test[k] + val[k]])
        parts["train"].append(members[test[k] + val[k]:])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def save_split(path: Path, split: dict[str, np.ndarray], samples: Samples, seed: int) -> None:
    path.write_text(json.dumps({
        "seed": seed,
        **{name: {"indices": idx.tolist(), "files": [Path(samples.paths[i]).name for i in idx]}
           for name, idx in split.items()},
    }, indent=1) + "\n")


# -- the synthetic face set ----------------------------------------------------------------

# Circumplex positions (valence, arousal) of the eight expressions, AffectNet order.
_CIRCUMPLEX = np.array([[0.0, 0.0], [0.8, 0.35], [-0.7, -0.35], [0.25, 0.8],
                        [-0.6, 0.75], [-0.65, 0.3], [-0.55, 0.65], [-0.45, 0.15]])
# Face-part deformations at full intensity: mouth curvature (smile > 0), mouth opening,
# mouth width, mouth asymmetry, brow raise, brow inner slant (inner end up > 0), eye opening.
_EXPRESSION_SHAPES = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],     # Neutral
    [0.9, 0.35, 0.35, 0.0, 0.1, 0.0, -0.35],  # Happy
    [-0.8, 0.0, -0.1, 0.0, 0.0, 0.8, -0.2],  # Sad
    [0.0, 1.0, -0.35, 0.0, 0.9, 0.1, 0.8],   # Surprise
    [-0.3, 0.7, 0.25, 0.0, 0.6, 0.7, 0.7],   # Fear
    [-0.5, 0.2, 0.0, 0.3, -0.5, -0.3, -0.5],  # Disgust
    [-0.4, 0.1, -0.2, 0.0, -0.7, -0.9, -0.1],  # Anger
    [0.3, 0.0, 0.0, 1.0, 0.0, 0.0, -0.15],   # Contempt (one-sided smile)
])
_SKIN = np.array([[255, 224, 196], [234, 192, 160], [198, 145, 110], [160, 110, 80],
                  [120, 80, 56], [90, 60, 42]], dtype=np.float64)


def _draw_face(rng: np.random.Generator, label: int, intensity: float, size: int
               ) -> np.ndarray:
    """One face as an (size, size, 3) uint8 image, drawn with implicit shapes."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) * 2.0 - 1.0  # [-1, 1]
    background = rng.uniform(20, 235, 3)
    gradient = rng.uniform(-40, 40, 3)
    image = background + gradient * yy[..., None] + rng.normal(0, 6, (size, size, 3))
    # Pose: rotation, offset, scale; lighting from a random direction.
    angle = rng.normal(0, 0.15)
    cx, cy = rng.normal(0, 0.06, 2)
    scale = rng.uniform(0.85, 1.05)
    c, s = np.cos(angle), np.sin(angle)
    u = (c * (xx - cx) + s * (yy - cy)) / scale
    v = (-s * (xx - cx) + c * (yy - cy)) / scale
    yaw = rng.normal(0, 0.08)  # turns the features sideways
    skin = _SKIN[rng.integers(0, len(_SKIN))] * rng.uniform(0.9, 1.05)
    light = rng.normal(0, 1, 2)
    light /= np.linalg.norm(light)
    face = (u / 0.62) ** 2 + (v / 0.8) ** 2 <= 1.0
    shading = 1.0 + 0.25 * (light[0] * u + light[1] * v) * rng.uniform(0.3, 1.0)
    image = np.where(face[..., None], skin * shading[..., None], image)
    mc, mo, mw, ma, br, bs, eo = _EXPRESSION_SHAPES[label] * intensity
    dark = np.array([40.0, 25.0, 25.0])
    fu = u - yaw
    # Eyes: ellipses whose height follows the eye opening.
    for side in (-1, 1):
        ex = side * 0.25
        eye = ((fu - ex) / 0.12) ** 2 + ((v + 0.18) / (0.055 * (1 + eo) + 0.01)) ** 2 <= 1
        image[eye] = [245, 245, 245]
        iris = ((fu - ex) / 0.045) ** 2 + ((v + 0.18) / 0.045) ** 2 <= 1
        image[iris & eye] = dark
        # Brows: thick segments, raised and slanted (inner end = towards the centre).
        t = (fu - ex) / 0.16
        inner = -side * t  # +1 at the inner end
        brow_y = -0.36 - 0.1 * br - 0.08 * bs * inner
        brow = (np.abs(t) <= 1) & (np.abs(v - brow_y) <= 0.03)
        image[brow] = dark * 1.5
    # Nose: a short darker line; disgust wrinkles it.
    nose = (np.abs(fu) <= 0.02 + 0.03 * max(0.0, -mc) * (ma > 0.1)) & (v > -0.1) & (v < 0.12)
    image[nose] = skin * 0.7
    # Mouth: a band around a parabola; curvature = smile/frown, opening = band height,
    # asymmetry lifts one corner.
    half_width = 0.24 * (1 + mw)
    t = fu / half_width
    centre = 0.42 - 0.12 * mc * (t ** 2) - 0.1 * ma * np.clip(t, 0, 1) ** 2
    thickness = 0.03 + 0.09 * max(mo, 0.0)
    mouth = (np.abs(t) <= 1) & (np.abs(v - centre) <= thickness * (1 - 0.5 * t ** 2))
    image[mouth] = [150, 40, 50] if mo < 0.3 else [60, 15, 20]
    return np.clip(image, 0, 255).astype(np.uint8)


def _valence_arousal(rng: np.random.Generator, label: int, intensity: float) -> np.ndarray:
    va = _CIRCUMPLEX[label] * intensity + rng.normal(0, 0.08, 2)
    return np.clip(va, -1.0, 1.0)


def generate_synthetic(root: str | Path, *, seed: int = 0, size: int = 96,
                       counts: tuple[int, ...] = (500,) * 7 + (499,)) -> Path:
    """Write the synthetic face set in AffectNet's per-image layout (deterministic).

    Eight expressions in AffectNet order, 500 images each and 499 Contempt (3,999, as in
    the study), drawn procedurally at random intensity, pose, skin tone, lighting and
    background; valence/arousal are the expression's circumplex position scaled by the
    intensity, plus noise. Annotations are stored as strings, as in AffectNet.
    Takes a few seconds; nothing is downloaded.
    """
    from PIL import Image

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    labels = labels[rng.permutation(labels.shape[0])]
    for index, label in enumerate(labels):
        intensity = 0.0 if label == 0 else rng.uniform(0.35, 1.0)
        pixels = _draw_face(rng, int(label), intensity, size)
        Image.fromarray(pixels).save(root / "images" / f"{index}.jpg", quality=90)
        valence, arousal = _valence_arousal(rng, int(label), intensity if label else 1.0)
        for suffix, value in (("exp", str(int(label))), ("val", f"{valence:.6f}"),
                              ("aro", f"{arousal:.6f}")):
            np.save(root / "annotations" / f"{index}_{suffix}.npy", np.array(value))
        np.save(root / "annotations" / f"{index}_lnd.npy", np.zeros(136, dtype=np.float32))
    (root / "SYNTHETIC.txt").write_text(
        f"Synthetic faces written by baselines.data.generate_synthetic(seed={seed}, "
        f"size={size}); classes: {', '.join(AFFECTNET_CLASSES)}.\n")
    return root
