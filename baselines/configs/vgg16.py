"""vgg16 with a frozen ImageNet backbone and the study's multi-task head."""

from __future__ import annotations

from typing import Any

from baselines.configs import common


def get_config() -> dict[str, Any]:
    config = common.get_config()
    config["model"] = "vgg16"
    return config
