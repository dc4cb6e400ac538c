"""`make mlflow-ui`: the MLflow UI serves the project's tracking store, its runs' artifacts and the registry."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Trained


def stop_group(process: subprocess.Popen) -> None:
    """Stop a server started in its own session, with every worker it spawned."""
    for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 30)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, data: dict | None = None) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data else None,
                                     headers={"Content-Type": "application/json"})
    with opener.open(request, timeout=10) as response:
        return response.read()


@pytest.mark.slow
def test_mlflow_ui_serves_the_project_store(trained: Trained) -> None:
    """`make mlflow-ui` runs this command: the UI shows the training run, its artifacts and the registry."""
    make = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    assert "mlflow ui --backend-store-uri $(MLFLOW_URI) --port $(MLFLOW_PORT) --workers 1" in make
    port, folder = free_port(), trained.folder
    server = subprocess.Popen([str(Path(sys.executable).with_name("mlflow")), "ui", "--backend-store-uri",
                               f"sqlite:///{folder / 'mlflow.db'}", "--port", str(port), "--workers", "1"],
                              cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                page = fetch(base + "/")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the MLflow UI did not start"
                time.sleep(1)
        assert b"MLflow" in page
        run_id = trained.summary["run_id"]  # the run that evaluated the champion (the report's evaluation source)
        table = fetch(f"{base}/get-artifact?path=tables/grade_outcomes.csv&run_uuid={run_id}").decode()
        assert table.splitlines()[0] == ",grade,bound,rows,converted,conversion_rate,mean_probability"
        assert fetch(f"{base}/get-artifact?path=plots/gain.png&run_uuid={run_id}").startswith(b"\x89PNG")
        models = json.loads(fetch(base + "/ajax-api/2.0/mlflow/registered-models/search?max_results=10"))
        assert [m["name"] for m in models["registered_models"]] == ["leadml-lead-scoring"]
    finally:
        stop_group(server)
