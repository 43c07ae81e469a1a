"""Signed notes, checkpoints and cosignatures against the C2SP documents.

`spec_open` below is a verifier written from the C2SP signed-note, tlog-checkpoint and
tlog-cosignature texts alone (hashlib and an Ed25519 primitive, nothing of ledger/), so
that clubfund's notes are checked by code that does not share its mistakes. External
vectors: golang.org/x/mod/sumdb/note's example (PeterNeumann), and a cosignature by the
public witness remora.n621.de on a checkpoint of the arche2025h1 CT log (published in
tests of the Python `tlog` checkpoint package). The clubfund vectors were derived once
with fixed keys and are committed: a change in any byte format breaks them.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from ledger.checkpoints import (
    Checkpoint,
    InvalidCheckpoint,
    InvalidWitnessRequest,
    WitnessRequest,
    checkpoint_text,
    open_checkpoint,
    parse_checkpoint_text,
    parse_witness_request,
    witness_request_body,
    witness_verdict,
)
from ledger.merkle import consistency_proof, leaf_hash, root_hash
from ledger.signed_notes import (
    COSIGNATURE_TYPE,
    InvalidNoteSignature,
    InvalidVerifierKey,
    MalformedNote,
    UnverifiedNote,
    cosign_note_text,
    note_key_id,
    open_note,
    parse_verifier_key,
    sign_note_text,
    verifier_key_for,
)
from ledger.tree_heads import public_key_raw

EM_DASH = "\u2014"

# ------------------------------------------------------------ the spec verifier


def spec_parse_vkey(vkey: str) -> tuple[str, bytes, int, bytes]:
    """signed-note verifier key: name+hex(key id)+base64(type || key)."""
    name, key_id_hex, material = vkey.split("+", 2)
    raw = base64.b64decode(material)
    key_id = hashlib.sha256(name.encode() + b"\x0a" + raw).digest()[:4]
    assert key_id.hex() == key_id_hex.lower(), "key id is not SHA-256(name||0x0A||type||key)[:4]"
    return name, key_id, raw[0], raw[1:]


def spec_open(note: bytes, vkey: str) -> str:
    """Return the note text if `vkey` signed it, else raise. Written from the specs."""
    name, key_id, key_type, public = spec_parse_vkey(vkey)
    text = note.decode("utf-8")
    assert all(ord(c) >= 0x20 or c == "\n" for c in text)
    split = text.rindex("\n\n")
    body, signatures = text[: split + 1], text[split + 2 :]
    assert signatures.endswith("\n")
    for line in signatures[:-1].split("\n"):
        assert line.startswith(EM_DASH + " ")
        line_name, encoded = line[2:].split(" ", 1)
        raw = base64.b64decode(encoded, validate=True)
        if line_name != name or raw[:4] != key_id:
            continue
        verifier = Ed25519PublicKey.from_public_bytes(public)
        if key_type == 0x01:
            verifier.verify(raw[4:], body.encode())
        elif key_type == 0x04:
            timestamp = int.from_bytes(raw[4:12], "big")
            message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + body.encode()
            verifier.verify(raw[12:], message)
        else:
            raise AssertionError("unknown signature type")
        return body
    raise AssertionError("no signature by the key")


def spec_checkpoint(body: str) -> tuple[str, int, bytes]:
    origin, size, root, *_ = body[:-1].split("\n")
    assert origin and str(int(size)) == size
    decoded = base64.b64decode(root, validate=True)
    assert len(decoded) == 32
    return origin, int(size), decoded


# ------------------------------------------------------------- external vectors

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_NOTE = (
    PETER_TEXT + "\n" + f"{EM_DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
ARCHE_CHECKPOINT = (
    "arche2025h1.staging.ct.transparency.dev\n1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\n"
    f"{EM_DASH} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI"
    "+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n"
)


def test_the_go_reference_note_verifies():
    key = parse_verifier_key(PETER_VKEY)
    assert str(key) == PETER_VKEY
    assert key.key_id.hex() == "c74f20a3"
    opened = open_note(PETER_NOTE, [key])
    assert opened.text == PETER_TEXT
    assert [line.name for line in opened.verified] == ["PeterNeumann"]
    assert spec_open(PETER_NOTE.encode(), PETER_VKEY) == PETER_TEXT


@pytest.mark.parametrize("position", [0, 3, 40, 70])
def test_the_go_reference_note_fails_when_one_letter_changes(position):
    letter = PETER_NOTE[position]
    changed = PETER_NOTE[:position] + ("X" if letter != "X" else "Y") + PETER_NOTE[position + 1:]
    with pytest.raises(InvalidNoteSignature, match="PeterNeumann\\+c74f20a3"):
        open_note(changed, [parse_verifier_key(PETER_VKEY)])
    with pytest.raises(InvalidSignature):
        spec_open(changed.encode(), PETER_VKEY)


def test_a_public_witness_cosignature_verifies_and_fails_when_the_size_changes():
    key = parse_verifier_key(REMORA_VKEY)
    assert key.key_type == COSIGNATURE_TYPE
    checkpoint, opened = open_checkpoint(ARCHE_CHECKPOINT, [key])
    assert checkpoint.tree_size == 1432088532
    assert opened.verified[0].cosignature_timestamp() == 1779573024
    forged = ARCHE_CHECKPOINT.replace("1432088532", "1432088533")
    with pytest.raises(InvalidNoteSignature, match="remora"):
        open_checkpoint(forged, [key])


def test_signatures_of_unknown_keys_are_ignored_but_one_known_signature_is_needed():
    enoch = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
    with pytest.raises(UnverifiedNote, match="PeterNeumann"):
        open_note(PETER_NOTE, [parse_verifier_key(enoch)])
    opened = open_note(PETER_NOTE, [parse_verifier_key(enoch), parse_verifier_key(PETER_VKEY)])
    assert opened.unverified == ()


@pytest.mark.parametrize("mangled", [
    PETER_VKEY.replace("c74f20a3", "c74f20a4"),          # key id not derived from the key
    PETER_VKEY.replace("Peter", "Pe ter"),               # a space in the name
    PETER_VKEY.replace("+ARpc", "+AhpC"),                # another type byte
    PETER_VKEY[:-4],                                     # truncated key
    "PeterNeumann+c74f20a3",                             # no key
    "PeterNeumann+c74f2+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
])
def test_mangled_verifier_keys_are_refused(mangled):
    with pytest.raises(InvalidVerifierKey):
        parse_verifier_key(mangled)


@pytest.mark.parametrize(("note", "fragment"), [
    (PETER_TEXT, "blank line"),                                     # no signatures at all
    (PETER_NOTE[:-1], "newline"),                                   # last newline cut
    (PETER_NOTE[:-20] + "\n", "base64"),                            # signature cut
    (PETER_NOTE.replace(EM_DASH, "-"), "start with"),               # hyphen for em dash
    (PETER_NOTE.replace("problem,", "problem,\r"), "control"),       # control character
])
def test_malformed_notes_are_refused_naming_the_fault(note, fragment):
    with pytest.raises(MalformedNote, match=fragment):
        open_note(note, [parse_verifier_key(PETER_VKEY)])


# --------------------------------------------------------- clubfund's own vectors

LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
LOG_NAME = "clubfund.example/log"
WITNESS_NAME = "finance.quangngai.example/witness"
FUND_ID = "0196a000-0000-7000-8000-000000000001"
ROOT = hashlib.sha256(b"clubfund").digest()

KAT_LOG_VKEY = "clubfund.example/log+8fe357ca+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
KAT_WITNESS_VKEY = (
    "finance.quangngai.example/witness+bb58cf35+BCmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X"
)
KAT_TEXT = (
    "clubfund.example/log/funds/0196a000-0000-7000-8000-000000000001\n3\n"
    "JpulEa25sXm5hfnKoknpi/og7B+djuUK1SMiMlLuqQY=\n"
)
KAT_LOG_LINE = (
    f"{EM_DASH} clubfund.example/log j+NXyl6AarVhuTwBRvKMJOtlKCmwWc9YSFxM3VyFP8zamH2c8j38h+uCxGSU"
    "BqNAyDtUfYwRiSm12MlEwsyJZpx6awY=\n"
)
KAT_COSIGNATURE = (
    f"{EM_DASH} finance.quangngai.example/witness u1jPNQAAAABqGKUAL1ERhEZnFPuFYea9d8kpETvHoFxKG3X4"
    "SxnasBl4sheoKR76ExYRok8AQ71FsIQMSoxV8Wt1WZ8o5kznxcbrBw==\n"
)


def test_clubfund_known_answers():
    log_vkey = verifier_key_for(LOG_NAME, public_key_raw(LOG_KEY))
    witness_vkey = verifier_key_for(WITNESS_NAME, public_key_raw(WITNESS_KEY), COSIGNATURE_TYPE)
    assert str(log_vkey) == KAT_LOG_VKEY
    assert str(witness_vkey) == KAT_WITNESS_VKEY
    text = checkpoint_text(f"{LOG_NAME}/funds/{FUND_ID}", 3, ROOT)
    assert text == KAT_TEXT
    assert sign_note_text(LOG_KEY, LOG_NAME, text) == KAT_LOG_LINE
    assert cosign_note_text(WITNESS_KEY, WITNESS_NAME, text, 1_780_000_000) == KAT_COSIGNATURE
    note = (KAT_TEXT + "\n" + KAT_LOG_LINE + KAT_COSIGNATURE).encode()
    assert spec_open(note, KAT_LOG_VKEY) == KAT_TEXT
    assert spec_open(note, KAT_WITNESS_VKEY) == KAT_TEXT
    assert spec_checkpoint(KAT_TEXT) == (f"{LOG_NAME}/funds/{FUND_ID}", 3, ROOT)


def test_key_ids_follow_the_spec_recipe():
    public = public_key_raw(LOG_KEY)
    expected = hashlib.sha256(LOG_NAME.encode() + b"\n\x01" + public).digest()[:4]
    assert note_key_id(LOG_NAME, 0x01, public) == expected
    assert note_key_id(LOG_NAME, 0x04, public) != expected


@given(size=st.integers(0, 2**53 - 1), root=st.binary(min_size=32, max_size=32),
       origin=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs")), min_size=1,
                      max_size=40).filter(lambda s: "+" not in s and "\n" not in s))
def test_any_checkpoint_signed_here_verifies_with_the_spec_verifier(size, root, origin):
    text = checkpoint_text(origin, size, root)
    vkey = str(verifier_key_for("log.example", public_key_raw(LOG_KEY)))
    note = (text + "\n" + sign_note_text(LOG_KEY, "log.example", text)).encode()
    assert spec_checkpoint(spec_open(note, vkey)) == (origin, size, root)
    assert parse_checkpoint_text(text) == Checkpoint(origin, size, root)


@pytest.mark.parametrize(("text", "fragment"), [
    ("origin\n3\n", "at least 3 lines"),
    ("origin\n03\n" + base64.b64encode(ROOT).decode() + "\n", "size line"),
    ("origin\n3\n" + base64.b64encode(ROOT[:31]).decode() + "\n", "root hash line"),
    ("origin\n3\n" + base64.b64encode(ROOT).decode(), "newline"),
    ("\n3\n" + base64.b64encode(ROOT).decode() + "\n", "origin line is empty"),
])
def test_malformed_checkpoint_texts_are_refused(text, fragment):
    with pytest.raises(InvalidCheckpoint, match=fragment):
        parse_checkpoint_text(text)


# ------------------------------------------------------------------- witness


def _tree(count: int) -> tuple[list[bytes], dict]:
    leaves = [leaf_hash({"n": n}) for n in range(count)]
    nodes = {}
    for level in range(8):
        width = 1 << level
        for index in range(count // width):
            nodes[(level, index)] = root_hash(leaves[index * width:(index + 1) * width])
    return leaves, nodes


def _checkpoint(leaves: list[bytes], size: int) -> Checkpoint:
    return Checkpoint("log.example/funds/x", size, root_hash(leaves[:size]))


def test_witness_requests_round_trip():
    _leaves, nodes = _tree(9)
    proof = consistency_proof(4, 9, nodes)
    note = KAT_TEXT + "\n" + KAT_LOG_LINE
    body = witness_request_body(4, proof, note)
    assert body.startswith("old 4\n")
    assert parse_witness_request(body.encode()) == WitnessRequest(4, proof, note)
    with pytest.raises(InvalidWitnessRequest, match="old <size>"):
        parse_witness_request(b"old 04\n\n" + note.encode())
    with pytest.raises(InvalidWitnessRequest, match="line 2"):
        parse_witness_request(b"old 4\nnot-base64\n\n" + note.encode())


def test_the_witness_verdicts():
    leaves, nodes = _tree(9)
    first, later = _checkpoint(leaves, 4), _checkpoint(leaves, 9)
    good = consistency_proof(4, 9, nodes)
    assert witness_verdict(None, WitnessRequest(0, (), ""), first).status == 200
    assert witness_verdict(None, WitnessRequest(0, good, ""), first).status == 422
    stored = (4, first.root_hash)
    assert witness_verdict(stored, WitnessRequest(4, good, ""), later).status == 200
    behind = witness_verdict(stored, WitnessRequest(0, (), ""), later)
    assert (behind.status, behind.stored_size) == (409, 4)
    assert witness_verdict(stored, WitnessRequest(10, (), ""), later).status == 400
    bad = witness_verdict(stored, WitnessRequest(4, (good[0], good[0]), ""), later)
    assert bad.status == 422 and "does not verify" in bad.reason
    forked = Checkpoint(first.origin, 4, ROOT)
    assert witness_verdict(stored, WitnessRequest(4, (), ""), forked).status == 409
    assert witness_verdict(stored, WitnessRequest(4, (), ""), first).status == 200


def test_the_checkpoint_shown_to_auditors_verifies():
    page = (Path(__file__).parents[2] / "docs" / "auditors.md").read_text()
    start = page.index("```\nclubfund.localhost/log/funds/") + 4
    note = page[start:page.index("```", start)]
    log_vkey = str(verifier_key_for("clubfund.localhost/log", public_key_raw(LOG_KEY)))
    witness_vkey = str(verifier_key_for(WITNESS_NAME, public_key_raw(WITNESS_KEY),
                                        COSIGNATURE_TYPE))
    assert log_vkey in page and witness_vkey in page
    assert spec_open(note.encode(), log_vkey) == spec_open(note.encode(), witness_vkey)
