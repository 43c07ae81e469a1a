"""The production image starts, without Docker on the machine: the test performs the
Dockerfile's own steps against a fresh PostgreSQL of its own.

- the package is built as a wheel and installed into a root-owned, read-only folder
  (the image's /opt/clubfund), the final stage's COPYs land in a read-only working
  directory (the image's /app), and the data volume is a folder only the service's
  user may write;
- the database is empty but for its two login roles, made as compose.yaml makes them
  (the owner is the database's owner; `deploy/create-service-role.sh` gives
  `clubfund_app` its login);
- the environment is the Dockerfile's `ENV` plus the documented variables only;
- the Dockerfile's `CMD` runs as it is written (`clubfund migrate`, then `clubfund
  serve`) as an unprivileged user (when the test runs as root: the system user the
  embedded PostgreSQL runs as, the only one besides root that may open its socket,
  which lives in its 0700 data directory); then the
  `HEALTHCHECK` command answers, and an authenticated write succeeds.

Whatever happens, the service and the PostgreSQL are stopped and the folder removed.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from service.embedded import start_embedded
from service.settings import Settings
from tests.test_readme_commands import (
    free_port,
    stop_postmaster,
    stop_service,
    wait_until_ready,
    world_readable_folder,
)

ROOT = Path(__file__).resolve().parent.parent.parent
READY_SECONDS_MAX = 180
# Variables of Python itself and the PostgreSQL image's: documented by them, not by us.
FOREIGN_VARIABLES = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, arguments = line.partition(" ")
            instructions.append((name.upper(), arguments.strip()))
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from + 1:]


def image_environment() -> dict[str, str]:
    environment: dict[str, str] = {}
    for name, arguments in final_stage():
        if name == "ENV":
            for pair in arguments.split():
                key, _, value = pair.partition("=")
                environment[key] = value
    return environment


def instruction(name: str) -> str:
    found = [arguments for n, arguments in final_stage() if n == name]
    assert len(found) == 1, f"the final stage needs exactly one {name}"
    return found[0]


def exec_form(arguments: str) -> list[str]:
    command = json.loads(arguments)
    assert isinstance(command, list) and all(isinstance(a, str) for a in command)
    return command


def healthcheck_command() -> list[str]:
    arguments = instruction("HEALTHCHECK")
    return exec_form(arguments[arguments.index("CMD") + len("CMD"):].strip())


def compose_variables() -> set[str]:
    text = (ROOT / "compose.yaml").read_text()
    referenced = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    keys = set(re.findall(r"^\s+([A-Z_][A-Z0-9_]*):", text, re.MULTILINE))
    return referenced | keys


def dockerfile_variables() -> set[str]:
    text = (ROOT / "Dockerfile").read_text()
    return set(image_environment()) | set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", text)) | {
        name for name in re.findall(r"\b(CLUBFUND_[A-Z0-9_]+|DATABASE_URL)\b", text)
    }


def settings_variables() -> set[str]:
    names = {"CLUBFUND_" + name.upper() for name in Settings.model_fields}
    return names | {"DATABASE_URL", "CLUBFUND_DATABASE_URL"}


def test_the_image_and_compose_use_only_documented_variables():
    operators = (ROOT / "docs" / "operators.md").read_text()
    used = dockerfile_variables() | compose_variables()
    assert {"DATABASE_URL", "CLUBFUND_MIGRATE_DATABASE_URL", "CLUBFUND_DATA_DIR"} <= used
    undocumented = {v for v in used - FOREIGN_VARIABLES if f"`{v}`" not in operators}
    assert not undocumented, f"not in docs/operators.md: {sorted(undocumented)}"
    service_variables = {v for v in used if v.startswith("CLUBFUND_") or v == "DATABASE_URL"}
    compose_only = {"CLUBFUND_OWNER_PASSWORD", "CLUBFUND_APP_PASSWORD"}
    unknown = service_variables - compose_only - settings_variables()
    assert not unknown, f"the service reads no such variable: {sorted(unknown)}"


def test_the_image_installs_the_runtime_lock_without_test_tools():
    runtime = (ROOT / "requirements-runtime.lock").read_text()
    full = (ROOT / "requirements.lock").read_text()
    pins = re.compile(r"^([a-z0-9._-]+)==(\S+)", re.MULTILINE)
    runtime_pins, full_pins = dict(pins.findall(runtime)), dict(pins.findall(full))
    assert runtime_pins and all(full_pins.get(n) == v for n, v in runtime_pins.items()), (
        "requirements-runtime.lock pins a version requirements.lock does not"
    )
    for tool in ("pytest", "pytest-asyncio", "hypothesis", "ruff", "mypy"):
        assert tool in full_pins and tool not in runtime_pins
    for dependency in ("fastapi", "asyncpg", "uvicorn", "alembic", "cryptography"):
        assert dependency in runtime_pins
    run_steps = " ".join(a for n, a in final_stage() if n == "RUN")
    assert "requirements.lock" not in run_steps
    assert "--require-hashes -r requirements-runtime.lock" in (ROOT / "Dockerfile").read_text()
    assert "/readyz" in instruction("HEALTHCHECK")


def as_user(uid: int, gid: int) -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]


def make_read_only(folder: Path) -> None:
    for path in (folder, *folder.rglob("*")):
        if os.geteuid() == 0:
            os.chown(path, 0, 0, follow_symlinks=False)
        if not path.is_symlink():
            path.chmod(0o555 if path.is_dir() else (path.stat().st_mode & 0o555) | 0o444)


def install_package(code_dir: Path, wheels: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    str(ROOT)], check=True, cwd=ROOT)
    [wheel] = wheels.glob("clubfund-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--no-compile", "--target", str(code_dir),
                    str(wheel)], check=True)


def copy_working_directory(app_dir: Path) -> None:
    """The final stage's plain COPYs (those not from the build stage)."""
    app_dir.mkdir()
    for name, arguments in final_stage():
        if name == "COPY" and not arguments.startswith("--"):
            source, target = arguments.split()
            destination = app_dir / target if target not in ("./", ".") else app_dir
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, destination, ignore=shutil.ignore_patterns(
                    "__pycache__"))
            else:
                shutil.copy(ROOT / source, destination)


@pytest.mark.slow
def test_the_image_starts_against_an_empty_database_as_an_unprivileged_user():
    with world_readable_folder() as folder:
        code_dir, app_dir, data_dir = folder / "opt", folder / "app", folder / "data"
        install_package(code_dir, folder / "wheels")
        copy_working_directory(app_dir)
        assert not (code_dir / "migrations").exists()  # as in the image: found in WORKDIR
        make_read_only(code_dir)
        make_read_only(app_dir)
        data_dir.mkdir(mode=0o700)
        database = start_embedded(folder / "postgres")
        process = None
        try:
            user_id = (folder / "postgres" / "pgdata").stat().st_uid
            unprivileged = pwd.getpwuid(user_id)
            assert user_id == os.geteuid() or user_id not in (0, os.geteuid())
            os.chown(data_dir, unprivileged.pw_uid, unprivileged.pw_gid)
            app_password = "app-secret-1"
            subprocess.run(
                ["sh", str(ROOT / "deploy" / "create-service-role.sh")], check=True,
                env={"PATH": f"{database.bin_path('psql').parent}:/usr/bin:/bin",
                     "PGHOST": database.socket_dir, "POSTGRES_USER": "postgres",
                     "POSTGRES_DB": "clubfund", "CLUBFUND_APP_PASSWORD": app_password},
            )
            port = free_port()
            environment = image_environment()
            environment["PATH"] = environment["PATH"].replace(
                "/opt/clubfund/bin", f"{code_dir / 'bin'}:{Path(sys.executable).parent}"
            ).replace("$PATH", "/usr/bin:/bin")
            environment.update({
                "PYTHONPATH": str(code_dir),  # the image's site-packages
                "CLUBFUND_DATA_DIR": str(data_dir),  # the image's /data volume
                "CLUBFUND_HOST": "127.0.0.1",
                "CLUBFUND_PORT": str(port),
                "DATABASE_URL": database.url(f"clubfund_app:{app_password}"),
                "CLUBFUND_MIGRATE_DATABASE_URL": database.owner_url,
            })
            user = as_user(unprivileged.pw_uid, unprivileged.pw_gid)
            where = subprocess.run(
                [*user, "python", "-c", "import ledger, service; print(service.__file__)"],
                env=environment, cwd=app_dir, check=True, capture_output=True, text=True,
            )
            assert where.stdout.startswith(str(code_dir)), where.stdout

            log_path = folder / "image.log"
            with log_path.open("w") as log:
                process = subprocess.Popen(
                    [*user, *exec_form(instruction("CMD"))], env=environment, cwd=app_dir,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
                base = f"http://127.0.0.1:{port}"
                wait_until_ready(process, base, log_path, READY_SECONDS_MAX)
                health = subprocess.run([*user, *healthcheck_command()], env=environment,
                                        cwd=app_dir, capture_output=True, text=True)
                assert health.returncode == 0, health.stderr
                assert "migrated to head" in log_path.read_text()

                anonymous = httpx.post(f"{base}/v1/funds", json={"name": "Quỹ", "currency": "VND"})
                assert anonymous.status_code == 401
                token = subprocess.run(
                    [*user, "clubfund", "token", "create", "--role", "admin"],
                    env=environment, cwd=app_dir, check=True, capture_output=True, text=True,
                ).stdout.strip().splitlines()[-1]
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "image-1"}
                created = httpx.post(f"{base}/v1/funds", headers=headers,
                                     json={"name": "Quỹ thử", "currency": "VND"})
                assert created.status_code == 201, created.text
                assert created.headers["location"] == f"/v1/funds/{created.json()['id']}"
                head = httpx.get(f"{base}/v1/funds/{created.json()['id']}/audit/head",
                                 headers=headers)
                assert head.status_code == 200, head.text
            key_file = data_dir / "audit-signing.key"
            assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0
            assert key_file.stat().st_uid == unprivileged.pw_uid
            assert not list(code_dir.rglob("__pycache__"))
        finally:
            if process is not None:
                stop_service(process)
            stop_postmaster(folder / "postgres" / "pgdata")

