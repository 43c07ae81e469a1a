#!/usr/bin/env python3
"""clubfund's two commands, for a machine that has only Python 3.11+.

    python3 dev.py serve   install into .venv, start the service (embedded PostgreSQL, demo data)
    python3 dev.py test    install into .venv (and Debian's chromium for the pages' browser
                           tests, when missing), run lint, types and the whole test suite

Both create .venv on first use and reinstall only when requirements.lock or
pyproject.toml changed. Extra arguments after `test` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".clubfund-installed"


def run(*args: str | Path, **kwargs: object) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def install() -> None:
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256(
        (ROOT / "requirements.lock").read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    pip = [BIN / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "install", "--require-hashes", "-r", "requirements.lock")
    run(*pip, "install", "--no-deps", "--no-build-isolation", "-e", ".")
    STAMP.write_text(digest)


CHROMIUM = Path("/usr/bin/chromium")


def install_chromium() -> None:
    """The pages' browser tests drive Debian's chromium: install it when it is missing
    (apt only; no browser is downloaded from anywhere else)."""
    if CHROMIUM.exists() or sys.platform != "linux":
        return
    apt = ["apt-get", "install", "-y", "-q", "chromium"]
    if os.geteuid() != 0:
        apt = ["sudo", "-n", *apt]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(apt, env=env)
    if result.returncode != 0:
        update = [*apt[: apt.index("install")], "update", "-q"]
        subprocess.run(update, env=env, check=True)
        run(*apt, env=env)


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    rest = sys.argv[2:]
    if command == "serve":
        install()
        os.execv(BIN / "clubfund", [str(BIN / "clubfund"), "serve", "--demo", *rest])
    if command == "test":
        install()
        install_chromium()
        run(BIN / "ruff", "check", ".")
        run(BIN / "mypy")
        run(BIN / "clubfund", "openapi", "--check")
        # One process (with its own PostgreSQL) per core, up to 4; a test file's tests stay
        # in one process, which starts the servers and browser they share once.
        workers = str(min(os.cpu_count() or 1, 4))
        result = subprocess.run([str(BIN / "python"), "-m", "pytest", "-n", workers,
                                 "--dist", "loadfile", *rest], cwd=ROOT)
        if result.returncode == 5:
            print("pytest collected no tests: that is a failure", file=sys.stderr)
            return 1
        return result.returncode
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
