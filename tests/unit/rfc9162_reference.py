"""An independent, deliberately naive reference of RFC 9162 §2.1.

Written straight from the RFC's recursive definitions over the full list of
data entries D[n] — no node store, no frontier, no iteration tricks — so that
`ledger.merkle` can be checked against it. It must not import `ledger`.

Functions take and return raw bytes; verifiers return booleans (the RFC's
"fail" is False).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def HASH(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(entry: bytes) -> bytes:
    """MTH({d(0)}) = HASH(0x00 || d(0))."""
    return HASH(b"\x00" + entry)


def node(left: bytes, right: bytes) -> bytes:
    return HASH(b"\x01" + left + right)


def split_point(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1), i.e. k < n <= 2k."""
    k = 1
    while k * 2 < n:
        k *= 2
    assert k < n <= 2 * k
    return k


# §2.1.1 -----------------------------------------------------------------


def MTH(D: Sequence[bytes]) -> bytes:
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return leaf(D[0])
    k = split_point(n)
    return node(MTH(D[0:k]), MTH(D[k:n]))


# §2.1.3.1 ---------------------------------------------------------------


def PATH(m: int, D: Sequence[bytes]) -> list[bytes]:
    n = len(D)
    assert 0 <= m < n
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*PATH(m, D[0:k]), MTH(D[k:n])]
    return [*PATH(m - k, D[k:n]), MTH(D[0:k])]


# §2.1.4.1 ---------------------------------------------------------------


def PROOF(m: int, D: Sequence[bytes]) -> list[bytes]:
    assert 0 < m <= len(D)
    return SUBPROOF(m, D, True)


def SUBPROOF(m: int, D: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = split_point(n)
    if m <= k:
        return [*SUBPROOF(m, D[0:k], b), MTH(D[k:n])]
    return [*SUBPROOF(m - k, D[k:n], False), MTH(D[0:k])]


# §2.1.3.2 ---------------------------------------------------------------


def LSB(x: int) -> bool:
    return x % 2 == 1


def verify_inclusion(
    leaf_index: int, tree_size: int, hash_: bytes, inclusion_path: Sequence[bytes], root: bytes
) -> bool:
    # 1.
    if leaf_index >= tree_size:
        return False
    # 2.
    fn = leaf_index
    sn = tree_size - 1
    # 3.
    r = hash_
    # 4.
    for p in inclusion_path:
        # a.
        if sn == 0:
            return False
        # b.
        if LSB(fn) or fn == sn:
            # i.
            r = HASH(b"\x01" + p + r)
            # ii.
            if not LSB(fn):
                while not (LSB(fn) or fn == 0):
                    fn = fn // 2
                    sn = sn // 2
        else:
            r = HASH(b"\x01" + r + p)
        # c.
        fn = fn // 2
        sn = sn // 2
    # 5.
    return sn == 0 and r == root


# §2.1.4.2 ---------------------------------------------------------------


def verify_consistency(
    first: int,
    second: int,
    first_hash: bytes,
    second_hash: bytes,
    consistency_path: Sequence[bytes],
) -> bool:
    """The RFC's algorithm verbatim. It has no special case for first == second
    (the RFC's proofs are defined for 0 < m < n); callers handle that case.
    Outside 0 < first <= second the RFC's steps are meaningless (step 4 would not
    terminate for first = 0), so that is a failure here."""
    if not 0 < first <= second:
        return False
    path = list(consistency_path)
    # 1.
    if not path:
        return False
    # 2.
    if (first & (first - 1)) == 0:
        path = [first_hash, *path]
    # 3.
    fn = first - 1
    sn = second - 1
    # 4.
    while LSB(fn):
        fn = fn // 2
        sn = sn // 2
    # 5.
    fr = path[0]
    sr = path[0]
    # 6.
    for c in path[1:]:
        # a.
        if sn == 0:
            return False
        # b.
        if LSB(fn) or fn == sn:
            fr = HASH(b"\x01" + c + fr)
            sr = HASH(b"\x01" + c + sr)
            if not LSB(fn):
                while not (LSB(fn) or fn == 0):
                    fn = fn // 2
                    sn = sn // 2
        else:
            sr = HASH(b"\x01" + sr + c)
        # c.
        fn = fn // 2
        sn = sn // 2
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0
