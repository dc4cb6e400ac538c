"""Tracking: everything that talks to MLflow (runs, registry, the pyfunc)."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``leadml.tracking.LeadPyfunc``, which the entry file of models registered before the stage packages
    imports; loaded lazily, so importing this package loads no MLflow."""
    if name == "LeadPyfunc":
        from leadml.tracking.pyfunc import LeadPyfunc

        return LeadPyfunc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
