from pathlib import Path

import pandas as pd
import pytest

from leadml.data.clean import DataError, clean_tables
from leadml.data.contract import LeadTables
from leadml.data.sources import DuckDBSource, redact_location, write_database


@pytest.mark.parametrize("kind", ["db.duckdb", "parquet_folder", "csv_folder"])
def test_every_source_kind_reads_the_same_clean_tables(tmp_path: Path, tiny_tables, kind: str) -> None:
    out = tmp_path / kind
    write_database([tiny_tables], out, "csv" if kind == "csv_folder" else "parquet")
    with DuckDBSource(out) as source:
        clean, rejects, _ = clean_tables(source.read_all())
    expected, _, _ = clean_tables(tiny_tables)
    for name in ("leads", "activities", "opportunities"):
        got = clean.table(name).sort_values(list(clean.table(name).columns)).reset_index(drop=True)
        want = expected.table(name).sort_values(list(expected.table(name).columns)).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert rejects.empty


def test_chunks_hold_every_lead_once_with_its_whole_history(tiny_db: Path) -> None:
    with DuckDBSource(tiny_db) as source:
        whole = source.read_all()
        chunks = list(source.chunks(700))
    assert len(chunks) >= 5
    ids = [set(c.leads["lead_id"]) for c in chunks]
    assert sum(len(i) for i in ids) == whole.leads["lead_id"].nunique()
    for chunk, chunk_ids in zip(chunks, ids, strict=True):
        assert set(chunk.activities["lead_id"]) <= chunk_ids
    assert sum(len(c.activities) for c in chunks) == len(whole.activities)


@pytest.mark.parametrize("location, shown", [
    ("postgresql://me:hunter2@db:5432/crm", "postgresql://***@db:5432/crm"),
    ("postgresql://db/crm?password=hunter2&sslmode=require", "postgresql://db/crm?password=***&sslmode=require"),
    ("host=db password=hunter2 dbname=crm", "host=db password=*** dbname=crm"),
])
def test_locations_are_shown_without_credentials(location: str, shown: str) -> None:
    assert redact_location(location) == shown
    with pytest.raises(DataError) as info:
        DuckDBSource(location.replace("postgresql://", "nosuch://"))
    assert "hunter2" not in str(info.value)


def test_missing_sources_and_tables_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        DuckDBSource(tmp_path / "nope.duckdb")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="table leads: no leads.parquet or leads.csv"):
        DuckDBSource(tmp_path / "folder")


def test_database_write_replaces_atomically(tmp_path: Path, tiny_tables) -> None:
    out = tmp_path / "db.duckdb"
    write_database([tiny_tables], out)

    def broken():
        yield tiny_tables
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_database(broken(), out)
    with DuckDBSource(out) as source:
        assert source.table_rows("leads") == len(tiny_tables.leads)
    assert [p.name for p in tmp_path.iterdir()] == ["db.duckdb"]


@pytest.mark.parametrize("padded", [False, True])
def test_buckets_are_those_of_the_stripped_id_whether_or_not_an_id_is_padded(tmp_path: Path, padded: bool) -> None:
    """Ids without surrounding whitespace skip the stripping regex; a padded id anywhere brings it back.
    Either way a lead's bucket is the hash of its stripped id (Spark buckets leads the same way)."""
    ids = [f"L{i:04d}" for i in range(200)] + [None]
    written = [f" {i}\t" if padded and n % 7 == 0 and i else i for n, i in enumerate(ids)]
    when = pd.Timestamp("2026-01-01", tz="UTC")
    leads = pd.DataFrame({"lead_id": pd.array(written, dtype="str"), "created_at": when})
    acts = pd.DataFrame({"lead_id": pd.array(ids, dtype="str"), "occurred_at": when, "activity_type": "web_visit"})
    opps = pd.DataFrame({"lead_id": pd.array(ids[:3], dtype="str"), "created_at": when})
    write_database([LeadTables(leads, acts, opps)], tmp_path / "padded.duckdb")
    with DuckDBSource(tmp_path / "padded.duckdb") as source:
        chunks = list(source.chunks(40))
        assert source._padded_ids() is padded
        expected = dict(source._con.execute(
            "SELECT id, hash(id) % ? FROM (SELECT coalesce(regexp_replace(lead_id, '^\\s+|\\s+$', '', 'g'), '') "
            "AS id FROM src_leads)", [len(chunks)]).fetchall())
    for bucket, chunk in enumerate(chunks):
        stripped = {i.strip() for i in chunk.leads["lead_id"].fillna("")}
        assert stripped == {i for i, b in expected.items() if b == bucket}
        assert set(chunk.activities["lead_id"].fillna("")) == stripped  # every lead meets its history
    assert sum(len(c.leads) for c in chunks) == len(ids)
