"""The steps the flat-export commands share: reading the export (and the opportunities file a label may
use), the flat model to score with, and the words of its reasons."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from leadml.app.steps import load_model
from leadml.config import ROW_ID, Config, MappingConfig
from leadml.data.clean import DataError
from leadml.data.files import DateFormat, parse_dates, read_user_table, row_numbers
from leadml.features import Feature
from leadml.features.flat_catalog import flat_catalog
from leadml.modeling.lead_model import LeadModel, ModelError
from leadml.reasons.words import localise
from leadml.scoring.flat import model_catalog


def read_file(path: Path, mapping: MappingConfig) -> pd.DataFrame:
    """Read a flat export as text (cleaning decides the types): the separator and encoding as set or sniffed,
    or Parquet; a ``@row`` lead id becomes the row number and the creation date is parsed as configured."""
    options = mapping.csv
    raw = read_user_table(path, sep=options.sep, encoding=options.encoding, quote=options.quote)[0]
    if mapping.columns["lead_id"] == ROW_ID:
        raw[ROW_ID] = row_numbers(raw)
    created = mapping.columns.get("created_at")
    if created is not None and created in raw.columns:  # a missing one is named by the mapping's column check
        how = DateFormat(mapping.dates.get(created), mapping.dayfirst)
        raw[created] = parse_dates(raw[created], how, table=path.name, column=created, key="mapping.dates")
    return raw


def leads_path(location: str, mapping: MappingConfig) -> Path:
    """The leads file: ``location`` itself, or ``mapping.leads`` in the folder ``location``."""
    root = Path(location)
    if not root.is_dir():
        return root
    if mapping.leads is None:
        raise DataError(f"{location} is a folder: name the leads file in mapping.leads")
    return root / mapping.leads


def read_flat(location: str, mapping: MappingConfig) -> tuple[pd.DataFrame, pd.Series | None, str]:
    """Return the leads file, the converted lead ids of the opportunities file (if the label uses one)
    and the leads file's name."""
    path = leads_path(location, mapping)
    raw = read_file(path, mapping)
    converted = None
    if mapping.label.opportunities is not None:
        root = Path(location)  # the opportunities file lives in data.source, like the leads file
        options = mapping.csv
        opportunities = read_user_table((root if root.is_dir() else root.parent) / mapping.label.opportunities,
                                        sep=options.sep, encoding=options.encoding, quote=options.quote)[0]
        column = mapping.label.lead_id or mapping.columns["lead_id"]
        if column not in opportunities.columns:
            raise DataError(f"table {mapping.label.opportunities}: lead id column {column!r} not found "
                            "(set mapping.label.lead_id)")
        converted = opportunities[column]
    return raw, converted, path.name


def flat_mapping(config: Config) -> MappingConfig:
    """The config's flat mapping, or a one-line error."""
    if not isinstance(config.mapping, MappingConfig):
        raise ValueError("the flat path needs a mapping section with layout: flat")
    return config.mapping


def flat_model(config: Config, model_ref: str | None) -> tuple[LeadModel, str]:
    """The model ``model_ref`` names (default the champion), refused unless it was trained on a flat export."""
    model, version = load_model(config, model_ref)
    if model.info.get("layout") != "flat":
        raise ModelError(f"model {version} was trained on the contract's tables, not on a flat export: train one "
                         "with this config (`leadml train`) or name it with --model")
    return model, version


def reasons_catalog(config: Config, model: LeadModel, lang: str) -> tuple[Feature, ...]:
    """The words of the model's features in ``lang``: the contract's catalog and the mapped columns' names."""
    return model_catalog(model, localise(flat_catalog(flat_mapping(config), config.features), lang))
