"""The README's first command, run in a fresh clone with a fresh virtual environment,
installs and serves. (The second command is what CI itself runs in a fresh clone.)

The clone lives in a folder of its own under the system's temporary directory, readable
by every user: the embedded PostgreSQL runs as its own operating-system user and reads
its binaries from the clone's `.venv`, which it could not do under pytest's `tmp_path`
(mode 0700 on a machine where pytest never ran). Whatever happens, the test stops the
service and the PostgreSQL it started, and removes the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVE_READY_SECONDS_MAX = 900
SHUTDOWN_SECONDS_MAX = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def world_readable_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="clubfund-readme-"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_postmaster(pgdata: Path) -> None:
    """Stop a PostgreSQL left running in `pgdata`: SIGQUIT is its immediate shutdown."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().splitlines()[0])
    for signal_number in (signal.SIGQUIT, signal.SIGKILL):
        if not process_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal_number)
        deadline = time.monotonic() + 10
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def stop_service(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_SECONDS_MAX)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_readme_serve_command_in_a_fresh_clone():
    readme = (ROOT / "README.md").read_text()
    assert "python3 dev.py serve" in readme and "python3 dev.py test" in readme
    with world_readable_folder() as folder:
        clone = folder / "clone"
        data_dir = folder / "var"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        port = free_port()
        python = shutil.which("python3") or sys.executable
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("VIRTUAL_ENV", "CLUBFUND_"))}
        env.pop("DATABASE_URL", None)
        env.update({"CLUBFUND_PORT": str(port), "CLUBFUND_DATA_DIR": str(data_dir),
                    "PYTHONDONTWRITEBYTECODE": "1"})
        log_path = folder / "serve.log"
        with log_path.open("w") as log:
            process = subprocess.Popen([python, "dev.py", "serve"], cwd=clone, env=env,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            try:
                assert_serves(process, f"http://127.0.0.1:{port}", log_path)
            finally:
                stop_service(process)
                stop_postmaster(data_dir / "pgdata")
        assert not (data_dir / "pgdata" / "postmaster.pid").exists(), (
            "serve left its PostgreSQL running after SIGTERM"
        )


def wait_until_ready(process: subprocess.Popen[bytes], base: str, log_path: Path,
                     seconds_max: float) -> None:
    """Until `/readyz` answers 200; fails (with the log's end) if the process exits first."""
    deadline = time.monotonic() + seconds_max
    while True:
        assert process.poll() is None, log_path.read_text()[-3000:]
        try:
            ready = httpx.get(f"{base}/readyz", timeout=2)
            assert ready.status_code in (200, 503), ready.text
            if ready.status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log_path.read_text()[-3000:]
        time.sleep(0.5)


def assert_serves(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    wait_until_ready(process, base, log_path, SERVE_READY_SECONDS_MAX)
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/docs").status_code == 200
    assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "clubfund"
