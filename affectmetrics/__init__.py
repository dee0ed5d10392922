"""affectmetrics: exact, fast metrics for facial-expression and valence/arousal models.

The core needs only NumPy and SciPy; ``affectmetrics.torch`` and ``affectmetrics.keras``
import their frameworks lazily, when they are imported themselves.

Naming follows scikit-learn: ``(y_true, y_pred)`` or ``(y_true, y_score)`` first, options
keyword-only. Undefined values are returned as nan with an :class:`UndefinedMetricWarning`.
"""

from .accumulators import ClassificationAccumulator, ContinuousAccumulator
from .agreement import krippendorff_alpha
from .classification import accuracy, cohen_kappa, confusion_matrix, f1_score
from .continuous import ccc, pearson, rmse, sagr
from .exceptions import UndefinedMetricWarning
from .ranking import pr_auc, roc_auc

__version__ = "0.1.0"

__all__ = [
    "ClassificationAccumulator",
    "ContinuousAccumulator",
    "UndefinedMetricWarning",
    "__version__",
    "accuracy",
    "ccc",
    "cohen_kappa",
    "confusion_matrix",
    "f1_score",
    "krippendorff_alpha",
    "pearson",
    "pr_auc",
    "rmse",
    "roc_auc",
    "sagr",
]
