"""Experiment configurations: ``common.py`` holds the study's protocol, one file per model."""
