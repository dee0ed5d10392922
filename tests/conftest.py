"""Shared test settings: a fixed hypothesis profile (no deadline on a loaded 2-core CI)."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "affectmetrics", deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("affectmetrics")
