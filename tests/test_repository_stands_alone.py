"""The repository stands alone: no file points at a file outside it, every relative
link in the docs reaches a file inside it, and the docs link to no other web host."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
WEB_LINK = re.compile(r"https?://([^/\s)\"'`>]+)")
# Hosts that name this machine or are reserved for examples and tests (RFC 2606).
LOCAL_HOSTS = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$|\.(example|test)$|\$")
OUTSIDE_FILES = ("../shared", "DESIGN.md")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.split()
    files = []
    for name in names:
        path = ROOT / name
        if name.endswith(".lock") or not path.is_file():
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def test_no_file_points_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in tracked_text_files()
        if path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(outside in line for outside in OUTSIDE_FILES)
    ]
    assert offenders == []


def test_every_relative_link_in_the_docs_reaches_a_file_inside():
    broken = []
    for path in tracked_text_files():
        if path.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(path.read_text(encoding="utf-8")):
            if target.startswith(("#", "http://", "https://", "mailto:")):
                continue
            resolved = (path.parent / target.split("#", 1)[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == []


def test_the_docs_link_to_no_other_host():
    foreign = [
        f"{path.relative_to(ROOT)}: {host}"
        for path in tracked_text_files()
        if path.suffix == ".md"
        for host in WEB_LINK.findall(path.read_text(encoding="utf-8"))
        if not LOCAL_HOSTS.search(host)
    ]
    assert foreign == []
