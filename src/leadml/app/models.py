"""leadml models: list the registered versions, promote one by hand, roll the champion back."""

from __future__ import annotations

from typing import Any

from leadml.config import Config
from leadml.tracking.registry import list_versions, promote, rollback
from leadml.tracking.store import configure


def list_models(config: Config) -> dict[str, Any]:
    """Return the registered versions with their aliases and held-out metrics."""
    configure(config.tracking)
    return {"model_name": config.tracking.registered_model,
            "versions": list_versions(config.tracking.registered_model)}


def promote_version(config: Config, version: str) -> dict[str, Any]:
    """Point the champion alias at ``version``, by hand, past the gate."""
    configure(config.tracking)
    name = config.tracking.registered_model
    promote(name, version, "promoted by hand")
    return {"model_name": name, "champion_version": version}


def roll_back(config: Config) -> dict[str, Any]:
    """Point the champion alias back at the previous champion."""
    configure(config.tracking)
    name = config.tracking.registered_model
    previous, current = rollback(name)
    return {"model_name": name, "rolled_back_from": previous, "champion_version": current}
