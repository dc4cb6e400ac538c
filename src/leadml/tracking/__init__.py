"""Tracking: everything that talks to MLflow (runs, registry, the pyfunc)."""
