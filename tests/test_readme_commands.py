"""The README's first command, run in a fresh clone with a fresh virtual environment,
installs and serves. (The second command is what CI itself runs in a fresh clone.)"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_readme_serve_command_in_a_fresh_clone():
    readme = (ROOT / "README.md").read_text()
    assert "python3 dev.py serve" in readme and "python3 dev.py test" in readme
    # The embedded PostgreSQL runs as its own OS user and reads its binaries and data in
    # the clone: not under pytest's tmp_path (mode 0700 on a fresh machine).
    tmp_path = Path(tempfile.mkdtemp(prefix="clubfund-readme-"))
    os.chmod(tmp_path, 0o755)
    try:
        serve_in_a_fresh_clone(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def serve_in_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    port = free_port()
    python = shutil.which("python3") or sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "CLUBFUND_"))}
    env.pop("DATABASE_URL", None)
    env.update({"CLUBFUND_PORT": str(port), "CLUBFUND_DATA_DIR": str(tmp_path / "var"),
                "PYTHONDONTWRITEBYTECODE": "1"})
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([python, "dev.py", "serve"], cwd=clone, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                assert ready.status_code in (200, 503), ready.text
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(1)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base}/docs").status_code == 200
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "clubfund"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
