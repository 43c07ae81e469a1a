"""Every problem a person can meet reads in Vietnamese under `Accept-Language: vi`:
the titles are checked in tests/api/test_api_conventions.py; here every place the
core or the service makes an error with a detail is walked in the source, and each
must give that detail in Vietnamese too (a new one without fails here)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import ledger
import service
from ledger.errors import LedgerError
from service import errors

ROOT = Path(__file__).resolve().parents[2]
# The verification tooling's errors (proofs, signed notes, checkpoints, receipts, log
# replay): read by auditors' programs and the command line, worded in English only;
# in Vietnamese their detail is the Vietnamese title with the English in brackets.
ENGLISH_ONLY_MODULES = frozenset({
    "ledger/merkle.py", "ledger/signed_notes.py", "ledger/receipts.py",
    "ledger/checkpoints.py", "ledger/tree_heads.py", "ledger/log_replay.py",
    "ledger/audit_records.py", "service/audit/api_verification.py",
    "service/audit/verification.py", "service/audit/commands.py",
    "service/witness/commands.py", "service/witness/server.py",
    "service/archive/export.py", "service/archive/restore.py",
})


def subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def import_everything() -> None:
    for package in (ledger, service):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)


def error_names() -> tuple[set[str], set[str]]:
    """The core errors a client can cause (the others are bugs: a 500 whose Vietnamese
    says only "internal error"), and every service error."""
    import_everything()
    return ({c.__name__ for c in subclasses(LedgerError) if c in errors.LEDGER_STATUS},
            {c.__name__ for c in subclasses(errors.ClubfundError)})


def raises_without_vietnamese() -> list[str]:
    """Every `E(<text>)` of an error class (raised, or returned by a mapping) whose
    detail has no Vietnamese: one plain text argument, where a core error takes its
    Vietnamese as the second and a service error takes a bilingual `Text`."""
    ledger_names, service_names = error_names()
    names = ledger_names | service_names
    found = []
    for path in sorted([*ROOT.glob("ledger/**/*.py"), *ROOT.glob("service/**/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        if relative in ENGLISH_ONLY_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in names and node.args):
                continue
            first = node.args[0]
            textual = isinstance(first, ast.JoinedStr) or (
                isinstance(first, ast.Constant) and isinstance(first.value, str))
            if textual and len(node.args) < 2:
                found.append(f"{relative}:{node.lineno} {node.func.id}")
    return found


def test_every_raised_detail_has_its_vietnamese_wording():
    assert raises_without_vietnamese() == []
