"""Case 10: reruns, signals at random moments, two runs at once, and outputs that cannot be written."""

from __future__ import annotations

import fcntl
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import invoke, write_config
from tests.robustness.conftest import AS_OF, Tables, Workspace

pytestmark = pytest.mark.slow
LEADML = str(Path(sys.executable).with_name("leadml"))


@pytest.mark.parametrize("workspace", ["duckdb", "postgres"], indirect=True)
def test_a_rerun_of_the_same_as_of_changes_nothing(workspace: Workspace, base_tables: Tables) -> None:
    workspace.score()
    first_export, first_scores = pd.read_csv(workspace.out, dtype={"lead_id": "str"}), workspace.read_scores()
    workspace.score()
    second_export, second_scores = pd.read_csv(workspace.out, dtype={"lead_id": "str"}), workspace.read_scores()
    assert first_export.drop(columns="scored_at").equals(second_export.drop(columns="scored_at"))
    assert first_scores.drop(columns="scored_at").equals(second_scores.drop(columns="scored_at"))


@pytest.fixture(scope="module")
def big_job(tmp_path_factory: pytest.TempPathFactory, tiny_db: Path, model_dir: Path) -> tuple[Path, Path]:
    """A config and 4,000-lead database whose scoring takes a few seconds: time for signals to land."""
    folder = tmp_path_factory.mktemp("signals")
    config = write_config(folder, export={"path": str(folder / "s.csv"), "explainer": "treeshap"})
    shutil.copy(tiny_db, folder / "leads.duckdb")
    return config, folder / "leads.duckdb"


@pytest.fixture(scope="module")
def scored_october(big_job, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous outputs each signal case starts from, made once: the big job's database scored and written back
    as of 1 October by the command line, beside its export, rejects, manifest and drift summary."""
    config, source = big_job
    folder = tmp_path_factory.mktemp("october")
    shutil.copy(source, folder / "leads.duckdb")
    subprocess.run(score_command(config, folder / "leads.duckdb", folder / "scores.csv", model_dir, "2026-10-01"),
                   check=True, capture_output=True)
    return folder


def score_command(config: Path, db: Path, out: Path, model: Path, as_of: str = AS_OF) -> list[str]:
    return [LEADML, "score", "--config", str(config), "--data", str(db), "--as-of", as_of, "--out", str(out),
            "--model", str(model), "--write-back"]


def lead_scores(db: Path) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * FROM lead_scores ORDER BY lead_id").df()
    finally:
        con.close()


MOMENTS = random.Random(20261129).sample([x / 10 for x in range(15, 120)], 6)


@pytest.mark.parametrize("sig, delay", [(s, d) for s, d in zip([signal.SIGTERM, signal.SIGKILL] * 3, MOMENTS,
                                                                strict=True)])
def test_a_signal_at_a_random_moment_leaves_the_previous_outputs(big_job, scored_october: Path, model_dir: Path,
                                                                 tmp_path: Path, sig: signal.Signals,
                                                                 delay: float) -> None:
    config, _ = big_job
    db, out = tmp_path / "leads.duckdb", tmp_path / "scores.csv"
    for path in scored_october.iterdir():  # the previous run's database and outputs, as that run left them
        if not path.name.startswith("."):
            shutil.copy(path, tmp_path / path.name)
    before = (out.read_bytes(), lead_scores(db))
    process = subprocess.Popen(score_command(config, db, out, model_dir), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(delay)
    landed = process.poll() is None
    if landed:
        process.send_signal(sig)
    process.wait()
    now = (out.read_bytes(), lead_scores(db))
    if landed and process.returncode != 0:
        assert process.returncode == -sig
        # the export and the table are each the previous one or the new one complete, never a part
        assert now[0] == before[0] or pd.read_csv(out)["as_of"].str.startswith(AS_OF).all()
        assert now[1].equals(before[1]) or (now[1]["as_of"].astype(str).str.startswith(AS_OF)).all()
    left = [p.name for p in tmp_path.iterdir() if ".tmp." in p.name]
    assert not left or sig == signal.SIGKILL, f"a temporary file was left behind: {left}"  # SIGKILL: no cleanup
    rerun = subprocess.run(score_command(config, db, out, model_dir), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert not [p.name for p in tmp_path.iterdir() if ".tmp." in p.name], "the next run removes what a kill left"


def test_two_runs_at_once_the_second_fails_clearly(big_job, model_dir: Path, tmp_path: Path) -> None:
    config, source = big_job
    db, out = tmp_path / "leads.duckdb", tmp_path / "scores.csv"
    shutil.copy(source, db)
    first = subprocess.Popen(score_command(config, db, out, model_dir), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    lock = tmp_path / ".scores.csv.lock"
    deadline = time.time() + 60
    while time.time() < deadline and not _held(lock):
        time.sleep(0.05)
    assert _held(lock), "the first run never took the lock"
    second = invoke(*score_command(config, db, out, model_dir)[1:])
    assert second.exit_code == 1 and "another leadml run is publishing" in second.stderr
    assert first.wait(timeout=600) == 0, first.stderr.read()[-2000:]
    export = pd.read_csv(out, dtype={"lead_id": "str"})
    assert export["lead_id"].is_unique and export["as_of"].str.startswith(AS_OF).all()


def _held(lock: Path) -> bool:
    if not lock.exists():
        return False
    with open(lock) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@pytest.mark.parametrize("workspace", ["duckdb"], indirect=True)
def test_a_read_only_output_folder_is_a_clear_error(workspace: Workspace, base_tables: Tables) -> None:
    readonly = workspace.folder / "out"
    readonly.mkdir(mode=0o555)
    command = [LEADML, *workspace.args(out=readonly / "scores.csv")]
    if os.geteuid() == 0:  # root writes anywhere: drop the capability that lets it, as a cron user lacks it
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Permission denied" in result.stderr and str(readonly) in result.stderr
    assert "Traceback" not in result.stderr, result.stderr and list(readonly.iterdir()) == []


@pytest.mark.parametrize("workspace", ["duckdb"], indirect=True)
def test_a_full_output_folder_is_a_clear_error(workspace: Workspace, base_tables: Tables) -> None:
    workspace.score()
    before = workspace.out.read_bytes()

    def small_disk() -> None:  # writes past 4 KB fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    args = workspace.args()
    args.remove("--write-back")
    result = subprocess.run([LEADML, *args], capture_output=True, text=True, preexec_fn=small_disk)
    assert result.returncode == 1, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("leadml: error:")]
    assert len(errors) == 1 and ("File too large" in errors[0] or "full" in errors[0]), result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr
    assert workspace.out.read_bytes() == before
    assert not [p.name for p in workspace.folder.iterdir() if ".tmp." in p.name]
