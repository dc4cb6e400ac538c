"""Every key of the config's ``mapping:`` section, documented once, generated from the schema itself
(``leadml map --reference``, ``make docs`` writes docs/mapping.md; a test fails when the page is stale)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

from leadml.config import MappingConfig, TablesMapping

LAYOUTS = (("tables", TablesMapping, "your CRM's own tables: leads, one or more activity tables, the conversion"),
           ("flat", MappingConfig, "one row per lead, engagement aggregated, a conversion flag or file"))


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The config models an annotation holds (itself, inside a list, a tuple, an optional or a dict value)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _type_words(annotation: Any) -> str:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return text.replace("typing.", "").replace("leadml.config.", "").replace(" | ", " or ")


def _step(annotation: Any) -> str:
    """How a key goes on below a field: ``[]`` for a list of tables, ``.<column>`` for a map per column."""
    origins = {typing.get_origin(a) for a in (annotation, *typing.get_args(annotation))}
    return "[]." if origins & {tuple, list} else ".<column>." if dict in origins else "."


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key, nested = f"{prefix}{name}", _models(field.annotation)
        default = "" if nested else "required" if field.is_required() else repr(
            field.get_default(call_default_factory=True))
        meaning = field.description or (nested[0].__doc__ or "").strip().split(". ")[0] if nested else \
            field.description or ""
        rows.append(f"| `{key}` | {_type_words(field.annotation)} | {default} | {meaning.replace('|', '/')} |")
        for sub in nested:
            rows += _rows(sub, f"{key}{_step(field.annotation)}")
    return rows


def mapping_reference() -> str:
    """The Markdown page: one table per layout, every key with its type, default and meaning."""
    lines = ["# The `mapping:` section of the config", "",
             "Generated from `src/leadml/config.py` by `leadml map --reference` (`make docs`). An unknown key is",
             "an error naming the nearest valid one. See the README, \"Use your own data\", for worked configs.", ""]
    for layout, model, what in LAYOUTS:
        lines += [f"## `layout: {layout}`: {what}", "", (model.__doc__ or "").strip().replace("\n", " "), "",
                  "| key | type | default | meaning |", "|---|---|---|---|", *_rows(model, "mapping."), ""]
    return "\n".join(lines)
