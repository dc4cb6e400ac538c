"""The Spark engine: the same pandas pipeline, run per hash bucket of leads on a Spark cluster.

Nothing here re-implements a feature. Spark only moves rows: it reads the contract tables,
groups every lead's whole history into a bucket by a hash of its id, hands each bucket to the
pandas code the local engine runs chunk by chunk, and writes what comes back. PySpark is an
optional dependency (``pip install 'leadml[spark]'``), imported only when this engine is used.
"""

from __future__ import annotations

from leadml.config import ConfigError


def require_pyspark() -> None:
    """Fail with an actionable message where the optional PySpark dependency is not installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError("the Spark engine needs PySpark: pip install 'leadml[spark]'") from None
