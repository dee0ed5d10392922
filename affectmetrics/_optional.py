"""Lazy imports of optional dependencies, failing with the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__: list[str] = []


def _import_optional(module: str, extra: str, *, purpose: str) -> ModuleType:
    """Import ``module`` or raise an ImportError naming the extra that provides it.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"torchmetrics"``.
    extra : str
        The affectmetrics extra that installs it, e.g. ``"torch"``.
    purpose : str
        What needs it, for the message (e.g. ``"affectmetrics.torch"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs the optional dependency {module!r}, which is not installed; "
            f"install it with: pip install 'affectmetrics[{extra}]'"
        ) from exc
