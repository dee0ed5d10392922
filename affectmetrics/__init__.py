"""affectmetrics: exact, fast metrics for facial-expression and valence/arousal models.

The core needs only NumPy and SciPy; ``affectmetrics.torch`` and ``affectmetrics.keras``
import their frameworks lazily, when they are imported themselves.

Naming follows scikit-learn: ``(y_true, y_pred)`` or ``(y_true, y_score)`` first, options
keyword-only. Undefined values are returned as nan with an :class:`UndefinedMetricWarning`.
"""

from . import annotations
from .accumulators import ClassificationAccumulator, ContinuousAccumulator
from .agreement import krippendorff_alpha
from .bootstrap import BootstrapResult, PairedComparison, bootstrap_ci, paired_comparison
from .classification import (
    accuracy,
    classification_scores,
    cohen_kappa,
    confusion_matrix,
    f1_score,
    uar,
)
from .continuous import ccc, icc, mae, pearson, rmse, sagr
from .examples import AFFECTNET_CLASSES
from .exceptions import DiagnosticWarning, UndefinedMetricWarning
from .multilabel import (
    MultilabelAccumulator,
    multilabel_f1,
    multilabel_pr_auc,
    multilabel_roc_auc,
)
from .presets import (
    ABAW_AUS,
    FERA2017_INTENSITY_AUS,
    FERA2017_OCCURRENCE_AUS,
    abaw_scores,
    ccc_per_group,
    fera_scores,
)
from .ranking import pr_auc, roc_auc
from .report import Diagnostic, Report, diagnose, evaluate, side_by_side
from .sequences import LagSearch, SequenceScores, apply_delay, lag_search, sequence_ccc

__version__ = "0.1.0"

__all__ = [
    "ABAW_AUS",
    "AFFECTNET_CLASSES",
    "FERA2017_INTENSITY_AUS",
    "FERA2017_OCCURRENCE_AUS",
    "BootstrapResult",
    "ClassificationAccumulator",
    "ContinuousAccumulator",
    "Diagnostic",
    "DiagnosticWarning",
    "LagSearch",
    "MultilabelAccumulator",
    "PairedComparison",
    "Report",
    "SequenceScores",
    "UndefinedMetricWarning",
    "__version__",
    "abaw_scores",
    "accuracy",
    "annotations",
    "apply_delay",
    "bootstrap_ci",
    "ccc",
    "ccc_per_group",
    "classification_scores",
    "cohen_kappa",
    "confusion_matrix",
    "diagnose",
    "evaluate",
    "f1_score",
    "fera_scores",
    "icc",
    "krippendorff_alpha",
    "lag_search",
    "mae",
    "multilabel_f1",
    "multilabel_pr_auc",
    "multilabel_roc_auc",
    "paired_comparison",
    "pearson",
    "pr_auc",
    "rmse",
    "roc_auc",
    "sagr",
    "sequence_ccc",
    "side_by_side",
    "uar",
]
