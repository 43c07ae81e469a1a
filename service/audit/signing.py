"""The key that signs audit tree heads, and the public keys published for verifiers.

Configuration (service/settings.py): `CLUBFUND_AUDIT_SIGNING_KEY` (base64 of the
32 raw Ed25519 private bytes) or `CLUBFUND_AUDIT_KEY_FILE` (a file holding that
base64); `CLUBFUND_AUDIT_PREVIOUS_PUBLIC_KEYS` lists the public keys of earlier
signing keys (base64, comma separated) so heads signed before a rotation stay
verifiable. `clubfund serve` without a key keeps one in the data directory.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from ledger.signed_notes import VerifierKey, is_valid_key_name, verifier_key_for
from ledger.tree_heads import key_id_for, public_key_raw
from service.errors import AuditKeyMissing
from service.language import Text
from service.settings import Settings

KEY_FILE_NAME = "audit-signing.key"
KEY_SIZE = 32


@dataclass(frozen=True)
class AuditSigner:
    private_key: Ed25519PrivateKey
    key_id: str
    # Every key a verifier may meet, current first: {key_id: raw public key}.
    public_keys: dict[str, bytes]
    # The log's name (CLUBFUND_LOG_ORIGIN): the checkpoint key's name and origin prefix.
    log_name: str = "clubfund.localhost/log"

    @property
    def verifier_keys(self) -> list[VerifierKey]:
        """Each public key as a signed-note verifier key (type 0x01) named `log_name`."""
        return [verifier_key_for(self.log_name, raw) for raw in self.public_keys.values()]

    def origin(self, fund_id: object) -> str:
        """The checkpoint origin of a fund's log."""
        return f"{self.log_name}/funds/{fund_id}"


def private_key_from_base64(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("the audit signing key is not base64") from error
    if len(raw) != KEY_SIZE:
        raise ValueError(f"the audit signing key must be {KEY_SIZE} raw bytes, got {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def private_key_to_base64(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def public_keys_from_text(text: str) -> list[bytes]:
    """Base64 public keys separated by commas or whitespace."""
    keys = []
    for item in text.replace(",", " ").split():
        raw = base64.b64decode(item, validate=True)
        if len(raw) != KEY_SIZE:
            raise ValueError(f"a previous audit public key must be {KEY_SIZE} raw bytes")
        keys.append(raw)
    return keys


def ensure_key_file(path: Path) -> Path:
    """Create a new signing key file (owner-only) unless one exists; return its path."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(private_key_to_base64(Ed25519PrivateKey.generate()) + "\n")
    return path


def default_key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def load_signer(settings: Settings) -> AuditSigner:
    """The configured signer; `AuditKeyMissing` when no key is configured."""
    if settings.audit_signing_key is not None:
        key = private_key_from_base64(settings.audit_signing_key.get_secret_value())
    elif settings.audit_key_file is not None:
        key = private_key_from_base64(Path(settings.audit_key_file).read_text())
    else:
        raise AuditKeyMissing(Text(
            "no audit signing key: set CLUBFUND_AUDIT_SIGNING_KEY or CLUBFUND_AUDIT_KEY_FILE",
            "chưa có khóa ký nhật ký kiểm toán: hãy đặt CLUBFUND_AUDIT_SIGNING_KEY hoặc"
            " CLUBFUND_AUDIT_KEY_FILE"))
    if not is_valid_key_name(settings.log_origin):
        raise ValueError(
            f"CLUBFUND_LOG_ORIGIN {settings.log_origin!r} must be non-empty, without spaces or '+'"
        )
    current = public_key_raw(key)
    public_keys = {key_id_for(current): current}
    for raw in public_keys_from_text(settings.audit_previous_public_keys):
        public_keys.setdefault(key_id_for(raw), raw)
    return AuditSigner(private_key=key, key_id=key_id_for(current), public_keys=public_keys,
                       log_name=settings.log_origin)


def with_audit_key(settings: Settings) -> Settings:
    """Settings that name a signing key: the configured one, or the data directory's
    (created on first start). Back that file up: heads it signed need its public half."""
    if settings.audit_signing_key is not None or settings.audit_key_file is not None:
        return settings
    path = ensure_key_file(default_key_file(settings))
    return settings.model_copy(update={"audit_key_file": path})
