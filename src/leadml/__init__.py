"""leadml: honest, explainable machine-learning lead scoring."""

__version__ = "0.1.0"
