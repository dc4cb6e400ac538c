"""The notebooks run end to end on a small generated database, and are stored without outputs."""

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_two_notebooks_exist_and_are_stored_without_outputs() -> None:
    assert [n.name for n in NOTEBOOKS] == ["01-explore-features.ipynb", "02-train-and-compare.ipynb"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        code = [cell for cell in book.cells if cell.cell_type == "code"]
        assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code), path.name
        source = "\n".join(cell.source for cell in code)
        assert "from leadml" in source and "def " not in source and "class " not in source  # no logic in cells


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path: Path, tmp_path: Path, tiny_db: Path, monkeypatch: pytest.MonkeyPatch
                                  ) -> None:
    shutil.copy(tiny_db, tmp_path / "small.duckdb")
    config = write_config(tmp_path)
    monkeypatch.setenv("LEADML_ROOT", str(ROOT))
    monkeypatch.setenv("LEADML_CONFIG", str(config))
    monkeypatch.setenv("LEADML_DATABASE_URL", str(tmp_path / "small.duckdb"))  # the database, as a user sets it
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in book.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert f"database: {tmp_path / 'small.duckdb'}" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    if path.stem.startswith("01"):
        assert "conversion_rate" in text and "share_nonzero" in text and len(images) == 4
    else:
        assert "leadml (LightGBM, calibrated)" in text and "points score (rules)" in text
        assert "plots/gain.png" in text and len(images) == 3 and "version 1" in text
        assert (tmp_path / "mlflow.db").exists()  # the run went to the test's own tracking store
