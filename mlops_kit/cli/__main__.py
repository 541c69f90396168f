"""``python -m mlops_kit.cli``."""

from mlops_kit.cli import run

run()
