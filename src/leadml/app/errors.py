"""The errors a user can cause, which the command line reports as one line (exit 1) instead of a traceback.

Gathered only when a command fails, so that ``--help`` and the commands that never touch a database
or the tracking store import neither the database drivers nor MLflow.
"""

from __future__ import annotations

import os


def user_errors() -> tuple[type[BaseException], ...]:
    """Return the exception types that mean bad input, config, data or environment, not a bug."""
    from leadml.config import ConfigError
    from leadml.data.clean import DataError
    from leadml.data.sources import source_errors
    from leadml.modeling.lead_model import ModelError
    from leadml.modeling.leakage import LeakageError
    from leadml.modeling.training import InsufficientDataError
    from leadml.reporting.publish_lock import BusyError
    from leadml.scoring.population import CoverageError
    from leadml.tracking.runs import TrackingError

    return (ConfigError, DataError, LeakageError, ModelError, CoverageError, InsufficientDataError, BusyError,
            TrackingError, ValueError, OSError, *source_errors())


def one_line(exc: BaseException) -> str:
    """Return the error as one line, with any credential removed (a driver may quote the connection)."""
    from leadml.data.sources import redact_location

    text = " ".join(str(exc).split()) or type(exc).__name__
    secret = os.environ.get("PGPASSWORD")
    return redact_location(text.replace(secret, "***") if secret else text)
