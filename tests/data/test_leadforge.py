"""configs/leadforge.yaml on a bundle of leadforge (MIT, PyPI), a generator leadml did not design.

The bundle is generated here as its config's header says (research_instructor mode, the one that keeps
the dated outcome), smaller. Every expectation is computed from the bundle's own files with pandas,
never from leadml: rows read, what each mapped activity type must count, which values the map leaves
out, and which leads converted by leadforge's own label.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from leadml.config import CORE_ACTIVITY_TYPES, ActivityTable, Config, load_config
from leadml.data.clean import clean_tables
from leadml.data.sources import open_source
from leadml.features.engagement import CORE_TYPES

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "leadforge.yaml"
LEADS = 1000  # ~1.5 s to generate and save; the config's command writes 3000
EARLY = "dated before their lead's creation (kept: history before T all the same)"
# Columns written after the fact or holding the outcome: none may feed a lead or an activity.
LEAKS = {"current_stage", "is_sql", "converted_within_90_days", "conversion_timestamp", "stage", "close_outcome",
         "closed_at"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A leadforge bundle, as `leadforge generate --recipe b2b_saas_procurement_v1 --seed 42
    --mode research_instructor --n-leads 1000` writes it."""
    try:
        from leadforge.api import Generator
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"leadforge is not importable ({exc}): CI installs it with the dev extra")
        pytest.skip(f"leadforge is not importable ({exc}): pip install -e '.[dev]' (or pip install leadforge)")
    folder = tmp_path_factory.mktemp("leadforge")
    generator = Generator.from_recipe("b2b_saas_procurement_v1", seed=42, exposure_mode="research_instructor",
                                      n_leads=LEADS)
    generator.generate().save(str(folder))
    return folder


@pytest.fixture(scope="module")
def config(bundle: Path) -> Config:
    loaded = load_config(CONFIG, env={})
    return loaded.model_copy(update={"data": loaded.data.model_copy(update={"source": str(bundle)})})


def _table(bundle: Path, file: str) -> pd.DataFrame:
    return pd.read_parquet(bundle / file)


def _expected_types(frame: pd.DataFrame, spec: ActivityTable) -> tuple[Counter, dict[str, int]]:
    """What the mapping must make of one activity table's types, worked out here: counts per contract type,
    and the values outside the map (kept as written, as the config sets no ``other``)."""
    mapping = spec.activity_type
    if mapping.value is not None:
        return Counter({mapping.value: len(frame)}), {}
    written = frame[mapping.column].astype("str").str.strip()
    lookup = {k.lower(): v for k, v in mapping.map.items()}
    mapped = written.str.lower().map(lookup)
    unmapped = written[mapped.isna()].value_counts()
    return Counter(mapped.fillna(written).value_counts().to_dict()), {str(k): int(n) for k, n in unmapped.items()}


def _early(bundle: Path, frame: pd.DataFrame, time: str) -> int:
    created = _table(bundle, "tables/leads.parquet").set_index("lead_id")["lead_created_at"]
    return int((pd.to_datetime(frame[time]) < pd.to_datetime(frame["lead_id"].map(created))).sum())


def test_the_config_maps_no_column_written_after_the_outcome_and_only_core_types() -> None:
    mapping = load_config(CONFIG, env={}).mapping
    assert mapping is not None and mapping.layout == "tables"
    read_as_history = {*mapping.leads.columns.values(), mapping.leads.id}
    for spec in mapping.activities:
        read_as_history |= {*spec.columns.values(), spec.id, spec.activity_type.column}
        targets = set(spec.activity_type.map.values())
        assert targets <= set(CORE_TYPES), f"{spec.file}: not core types: {targets - set(CORE_TYPES)}"
    assert not read_as_history & LEAKS
    assert mapping.opportunities is not None and set(mapping.opportunities.where) == {"close_outcome"}


def test_every_table_of_the_bundle_is_read_whole_and_accounted_for(bundle: Path, config: Config) -> None:
    mapping = config.mapping
    with open_source(config.data.source, mapping) as source:
        accounts = {(a.table, a.source): a for a in source.accounts}
    assert all(a.balanced for a in accounts.values()), [a.as_dict() for a in accounts.values() if not a.balanced]
    assert len(accounts) == 2 + len(mapping.activities)  # leads, each activity table, the conversion

    leads = _table(bundle, mapping.leads.file)
    assert leads["lead_id"].is_unique and leads["lead_created_at"].notna().all()
    assert accounts["leads", mapping.leads.file].as_dict() == {
        "table": "leads", "source": mapping.leads.file, "read": LEADS, "kept": LEADS,
        "dropped": {}, "rejected": {}, "notes": {}}

    for spec in mapping.activities:
        frame = _table(bundle, spec.file)
        time = spec.columns["occurred_at"]
        # leadforge writes clean histories: every row has its lead, a date and its own id, so every row is kept
        assert frame["lead_id"].isin(leads["lead_id"]).all() and frame[time].notna().all()
        assert frame[spec.id].is_unique
        _, unmapped = _expected_types(frame, spec)
        notes = {f"activity_type {value!r} not in the map, kept as {value!r}": n for value, n in unmapped.items()}
        if spec.activity_type.value is not None and spec.activity_type.value not in CORE_ACTIVITY_TYPES:
            notes[f"activity_type {spec.activity_type.value!r} is not a type the features count one by one: "
                  "counted as other"] = len(frame)
        if early := _early(bundle, frame, time):
            notes[EARLY] = early
        assert accounts["activities", spec.file].as_dict() == {
            "table": "activities", "source": spec.file, "read": len(frame), "kept": len(frame),
            "dropped": {}, "rejected": {}, "notes": notes}

    deals = mapping.opportunities
    frame = _table(bundle, deals.file)
    won = int(frame["close_outcome"].eq("closed_won").sum())
    assert 0 < won < len(frame)
    assert accounts["opportunities", deals.file].as_dict() == {
        "table": "opportunities", "source": deals.file, "read": len(frame), "kept": won,
        "dropped": {"not a conversion (close_outcome not in closed_won)": len(frame) - won}, "rejected": {},
        "notes": {EARLY: n} if (n := _early(bundle, frame[frame["close_outcome"].eq("closed_won")],
                                            "closed_at")) else {}}


def test_the_mapped_activity_types_are_the_bundles_values_as_the_map_says(bundle: Path, config: Config) -> None:
    mapping = config.mapping
    expected, unmapped = Counter(), {}
    for spec in mapping.activities:
        counts, left_out = _expected_types(_table(bundle, spec.file), spec)
        expected += counts
        unmapped |= left_out
    with open_source(config.data.source, mapping) as source:
        chunks = [clean_tables(raw) for raw in source.chunks(300)]
    assert all(rejects.empty for _, rejects, _ in chunks)
    activities = pd.concat([tables.activities for tables, _, _ in chunks])
    assert Counter(activities["activity_type"].value_counts().to_dict()) == expected
    assert activities["activity_id"].is_unique  # four tables' own ids, none merged
    mapped_core = {t for spec in mapping.activities for t in spec.activity_type.map.values()}
    assert mapped_core <= set(activities["activity_type"])  # each core type mapped to is present
    assert unmapped == {"linkedin_message": expected["linkedin_message"]} and unmapped["linkedin_message"] > 0


def test_the_converted_leads_are_leadforges_own(bundle: Path, config: Config) -> None:
    leads = _table(bundle, "tables/leads.parquet")
    converted = leads[leads["converted_within_90_days"].astype(bool)]
    assert 0 < len(converted) < len(leads)
    with open_source(config.data.source, config.mapping) as source:
        opportunities = pd.concat([raw.opportunities for raw in source.chunks(300)])
    assert opportunities["lead_id"].is_unique
    assert len(opportunities) == len(converted)
    won_at = opportunities.set_index("lead_id")["created_at"].sort_index()
    truth = pd.to_datetime(converted.set_index("lead_id")["conversion_timestamp"], utc=True).sort_index()
    assert won_at.index.equals(pd.Index(truth.index))
    assert (won_at == truth).all()  # the conversion moment is the day it was won, not the day it was opened
