"""Each speed benchmark still runs end to end, at a size of a few seconds: its table is
printed. Nothing here looks at a time (speed is measured by running bench/ in full)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_readme_commands import stop_postmaster, world_readable_folder

ROOT = Path(__file__).resolve().parent.parent
RUN_SECONDS_MAX = 600

SMOKES = {
    "posting": (["bench/posting.py", "--seconds", "1", "--clients", "2", "--workers", "1"],
                "| POST entries, uvicorn x1 |"),
    "batches": (["bench/batches.py", "--seconds", "1", "--clients", "1", "--pgbench-clients",
                 "2", "--meetings", "2", "--batch-size", "20"],
                "| atomic batches of 20 two-posting entries"),
    "import_books": (["bench/import_books.py", "--loans", "20", "--seconds", "1",
                      "--clients", "2"], "| clubfund import (CSV) | 440 |"),
    "round_trips": (["bench/round_trips.py", "--postings", "3", "--batches", "1",
                     "--batch-size", "5"], "| posting | 5.0 |"),
    "reports": (["bench/reports.py", "--big-entries", "4000", "--funds", "20", "--samples", "2",
                 "--portfolio-samples", "1", "--pgbench-seconds", "1", "--shared-buffers",
                 "128MB"], "| programme, 2025, as the committee's XLSX (HTTP) |"),
    "xlsx_export": (["bench/xlsx_export.py", "--rows", "300", "--clubs", "200", "--samples",
                     "1", "--compare"], "every cell's value and number format the same: True"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMOKES))
def test_the_benchmark_runs_and_prints_its_table(name):
    arguments, expected = SMOKES[name]
    with world_readable_folder() as folder:
        process = subprocess.Popen(
            [sys.executable, *arguments], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, "TMPDIR": str(folder)},
        )
        try:
            output, _ = process.communicate(timeout=RUN_SECONDS_MAX)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            for pid_file in folder.glob("*/pgdata/postmaster.pid"):
                stop_postmaster(pid_file.parent)
    assert process.returncode == 0, output[-3000:]
    assert expected in output, output[-3000:]
