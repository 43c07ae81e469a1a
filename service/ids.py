"""Identifiers: UUIDv7 (time-ordered, so keyset order follows creation order)."""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> uuid.UUID:
    """RFC 9562 UUIDv7: 48 bits of Unix milliseconds, version, 74 random bits."""
    unix_ms = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")  # 80 bits, 74 used
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((random_bits >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= random_bits & ((1 << 62) - 1)
    return uuid.UUID(int=value)
