"""The per-fund audit log's Merkle tree: RFC 9162 §2.1 (Certificate Transparency v2).

Byte-level contract (docs/design.md, "Audit log"):

- ``leaf_hash(record) = SHA-256(0x00 || JCS(record))``, JCS = RFC 8785 (``rfc8785``).
- ``node_hash(left, right) = SHA-256(0x01 || left || right)``.
- The tree over ``n`` leaves is RFC 9162 §2.1.1's MTH: the left subtree holds the
  largest power of two strictly smaller than ``n`` leaves. The empty tree's root
  is ``SHA-256(b"")`` (``EMPTY_ROOT``).
- Every hash is 32 bytes here and travels as 64 lowercase hex characters.

Storage model. A store never needs the whole log to answer a proof: it keeps the
hashes of *perfect* subtrees, each named by a `NodeId` ``(level, index)``; node
``(level, index)`` covers the leaves ``[index·2^level, (index+1)·2^level)``, level 0
being the leaves themselves. `append_leaf` returns the nodes each append completes
(the leaf and every perfect subtree it closes, O(log n) of them) and the new
*frontier* (the "compact range"): the roots of the perfect subtrees that tile
``[0, tree_size)``, largest (leftmost) first, one per set bit of ``tree_size``.

Proofs are produced in two steps: ``*_nodes(...)`` says which stored perfect
nodes are needed, and the assembling function builds the RFC 9162 proof from
a mapping holding (at least) those nodes. A needed subtree that is not perfect
(the tree's right edge) is hashed from its perfect pieces, which gives exactly
the MTH of the RFC's recursive definition.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step and raises
`InvalidProof` on any failure; it never returns a boolean. A consistency proof
with ``first == 0`` is rejected (an empty tree proves nothing, and a server that
answers ``first = 0`` is not answering the question asked).

Pure functions of their arguments: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import rfc8785

from ledger.errors import LedgerError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "AppendResult",
    "InvalidProof",
    "InvalidRecord",
    "InvalidTreeArgument",
    "MissingNode",
    "Node",
    "NodeId",
    "append_leaf",
    "consistency_proof",
    "consistency_proof_nodes",
    "frontier_nodes",
    "hash_from_hex",
    "hash_to_hex",
    "hashes_from_hex",
    "hashes_to_hex",
    "inclusion_proof",
    "inclusion_proof_nodes",
    "leaf_hash",
    "node_hash",
    "root_from_frontier",
    "root_hash",
    "subtree_hash",
    "subtree_hash_nodes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final[bytes] = hashlib.sha256(b"").digest()
# Tree sizes travel in signed JSON (JCS), whose integers stop at 2^53 - 1.
MAX_TREE_SIZE: Final = 2**53 - 1

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_HEX_HASH: Final = re.compile(r"[0-9a-f]{64}")

NodeId = tuple[int, int]
"""``(level, index)`` of a perfect subtree: leaves ``[index·2^level, (index+1)·2^level)``."""


class InvalidProof(LedgerError):
    """A proof, root or hash does not verify, or is malformed (bad hex, wrong size)."""

    code = "invalid_proof"


class InvalidTreeArgument(LedgerError):
    """Bad input to tree building or proof generation: index or size out of range,
    a frontier that does not match its tree size, a hash that is not 32 bytes."""

    code = "invalid_tree_argument"


class MissingNode(LedgerError):
    """The node mapping handed to proof assembly lacks a needed node (or holds junk)."""

    code = "missing_node"


class InvalidRecord(LedgerError):
    """An audit record that RFC 8785 cannot canonicalize (non-string key, float NaN,
    integer beyond ±(2^53 − 1), unsupported type, lone surrogate, ...)."""

    code = "invalid_record"


@dataclass(frozen=True, slots=True)
class Node:
    """A stored perfect subtree: covers leaves ``[index·2^level, (index+1)·2^level)``."""

    level: int
    index: int
    hash: bytes

    @property
    def id(self) -> NodeId:
        return (self.level, self.index)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """The tree after one append: its frontier and size, and the nodes to store."""

    frontier: tuple[bytes, ...]
    tree_size: int
    new_nodes: tuple[Node, ...]

    @property
    def root(self) -> bytes:
        return root_from_frontier(self.frontier, self.tree_size)


# --------------------------------------------------------------------- hashing


def _to_jcs_value(value: Any) -> Any:
    """Turn any Mapping into a dict and any list/tuple into a list, recursively,
    because `rfc8785` only accepts plain dicts and lists. Scalars pass through."""
    if isinstance(value, Mapping):
        return {key: _to_jcs_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jcs_value(item) for item in value]
    return value


def leaf_hash(record: Mapping[str, Any]) -> bytes:
    """``SHA-256(0x00 || JCS(record))`` for one audit record (a JSON object)."""
    if not isinstance(record, Mapping):
        raise InvalidRecord(f"an audit record is a JSON object, got {type(record).__name__}")
    try:
        canonical = rfc8785.dumps(_to_jcs_value(record))
    except rfc8785.CanonicalizationError as exc:
        raise InvalidRecord(f"audit record cannot be canonicalized (RFC 8785): {exc}") from exc
    return canonical_leaf_hash(canonical)


def canonical_leaf_hash(canonical: bytes) -> bytes:
    """``SHA-256(0x00 || canonical)``: the leaf hash of a record already in its RFC 8785
    bytes."""
    return hashlib.sha256(_LEAF_PREFIX + canonical).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    _check_hash(left, "left")
    _check_hash(right, "right")
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _hash_children(left: bytes, right: bytes) -> bytes:
    # Unchecked variant for internal loops whose inputs are already validated.
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """``H(h0, H(h1, ... H(h_{k-2}, h_{k-1})))`` — the MTH of consecutive perfect pieces
    of strictly decreasing size."""
    result = hashes[-1]
    for piece in reversed(hashes[:-1]):
        result = _hash_children(piece, result)
    return result


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over the given leaf hashes (not over raw data)."""
    for position, leaf in enumerate(leaf_hashes):
        _check_hash(leaf, f"leaf_hashes[{position}]")
    if not leaf_hashes:
        return EMPTY_ROOT
    return _mth(list(leaf_hashes))


def _mth(leaves: list[bytes]) -> bytes:
    # Bottom-up over levels; the odd node at a level's right end moves up unchanged,
    # which is exactly the "largest power of two on the left" split.
    level = leaves
    while len(level) > 1:
        paired = [_hash_children(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


# ------------------------------------------------------------ argument checks


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise InvalidTreeArgument(f"{what} must be {HASH_SIZE} bytes")


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TREE_SIZE


def _check_size(value: object, what: str) -> int:
    if not _is_size(value):
        raise InvalidTreeArgument(f"{what} must be an integer in [0, {MAX_TREE_SIZE}]")
    assert isinstance(value, int)
    return value


# -------------------------------------------------------- incremental append


def frontier_nodes(tree_size: int) -> tuple[NodeId, ...]:
    """The perfect nodes tiling ``[0, tree_size)``, largest first: the frontier's ids."""
    _check_size(tree_size, "tree_size")
    if tree_size == 0:
        return ()
    return subtree_hash_nodes(0, tree_size)


def append_leaf(frontier: tuple[bytes, ...], tree_size: int, leaf: bytes) -> AppendResult:
    """Append one leaf hash in O(log n).

    ``frontier`` holds the hashes of `frontier_nodes(tree_size)`, in that order.
    The result's ``new_nodes`` are the leaf ``(0, tree_size)`` followed by every
    perfect subtree this leaf completes, lowest level first.
    """
    _check_size(tree_size, "tree_size")
    if tree_size >= MAX_TREE_SIZE:
        raise InvalidTreeArgument(f"tree is full at {MAX_TREE_SIZE} leaves")
    if not isinstance(frontier, tuple) or len(frontier) != tree_size.bit_count():
        raise InvalidTreeArgument(
            f"a frontier for tree_size {tree_size} holds {tree_size.bit_count()} hashes"
        )
    for position, piece in enumerate(frontier):
        _check_hash(piece, f"frontier[{position}]")
    _check_hash(leaf, "leaf")

    stack = list(frontier)
    carry = leaf
    level = 0
    index = tree_size
    new_nodes = [Node(0, index, leaf)]
    # Each set low bit of tree_size is a perfect subtree of that level waiting for
    # a right sibling of the same size: merge while the carry has one.
    while (tree_size >> level) & 1:
        carry = _hash_children(stack.pop(), carry)
        level += 1
        index >>= 1
        new_nodes.append(Node(level, index, carry))
    stack.append(carry)
    return AppendResult(tuple(stack), tree_size + 1, tuple(new_nodes))


def root_from_frontier(frontier: tuple[bytes, ...], tree_size: int) -> bytes:
    """The MTH of a tree of ``tree_size`` leaves given its frontier."""
    _check_size(tree_size, "tree_size")
    if len(frontier) != tree_size.bit_count():
        raise InvalidTreeArgument(
            f"a frontier for tree_size {tree_size} holds {tree_size.bit_count()} hashes"
        )
    for position, piece in enumerate(frontier):
        _check_hash(piece, f"frontier[{position}]")
    if tree_size == 0:
        return EMPTY_ROOT
    return _fold_right(frontier)


# ------------------------------------------------- proofs from stored nodes


def subtree_hash_nodes(start: int, end: int) -> tuple[NodeId, ...]:
    """The perfect nodes whose hashes give MTH(D[start:end]), largest first.

    Defined when ``start`` is a multiple of the largest power of two not above
    ``end - start`` — true of every subtree RFC 9162's recursion ever names.
    """
    _check_size(start, "start")
    _check_size(end, "end")
    size = end - start
    if size <= 0:
        raise InvalidTreeArgument(f"empty or reversed range [{start}, {end})")
    top = size.bit_length() - 1
    if start % (1 << top):
        raise InvalidTreeArgument(f"[{start}, {end}) is not a subtree of an RFC 9162 tree")
    ids: list[NodeId] = []
    position = start
    for level in range(top, -1, -1):
        if (size >> level) & 1:
            ids.append((level, position >> level))
            position += 1 << level
    return tuple(ids)


def _lookup(nodes: Mapping[NodeId, bytes], node_id: NodeId) -> bytes:
    try:
        value = nodes[node_id]
    except KeyError:
        raise MissingNode(f"node (level={node_id[0]}, index={node_id[1]}) is missing") from None
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise MissingNode(f"node (level={node_id[0]}, index={node_id[1]}) is not 32 bytes")
    return value


def subtree_hash(start: int, end: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    """MTH(D[start:end]) from stored perfect nodes (see `subtree_hash_nodes`)."""
    return _fold_right([_lookup(nodes, node_id) for node_id in subtree_hash_nodes(start, end)])


def _inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PATH(index, D[0:tree_size]), in proof order."""
    _check_size(index, "index")
    _check_size(tree_size, "tree_size")
    if index >= tree_size:
        raise InvalidTreeArgument(f"leaf index {index} is not below tree_size {tree_size}")
    siblings: list[tuple[int, int]] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index - start < k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            siblings.append((start + k, end))
            end = start + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            siblings.append((start, start + k))
            start += k
    siblings.reverse()  # the RFC lists the deepest sibling first
    return siblings


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PROOF(first, D[0:second]), in proof order."""
    _check_size(first, "first")
    _check_size(second, "second")
    if first == 0:
        raise InvalidTreeArgument("no consistency proof from the empty tree (first = 0)")
    if first > second:
        raise InvalidTreeArgument(f"first ({first}) is larger than second ({second})")
    # SUBPROOF(m, D[start:end], b) with absolute m = first, unrolled.
    siblings: list[tuple[int, int]] = []
    start, end = 0, second
    complete = True  # the RFC's flag b
    while first != end:
        k = _largest_power_of_two_below(end - start)
        if first - start <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            siblings.append((start + k, end))
            end = start + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            siblings.append((start, start + k))
            start += k
            complete = False
    siblings.reverse()
    # m == n: [] when b is true, [MTH(D[start:end])] otherwise.
    return siblings if complete else [(start, end), *siblings]


def inclusion_proof_nodes(index: int, tree_size: int) -> tuple[NodeId, ...]:
    """The stored perfect nodes `inclusion_proof` reads (O(log n) of them)."""
    return tuple(
        node_id
        for start, end in _inclusion_ranges(index, tree_size)
        for node_id in subtree_hash_nodes(start, end)
    )


def inclusion_proof(index: int, tree_size: int, nodes: Mapping[NodeId, bytes]) -> tuple[bytes, ...]:
    """RFC 9162 §2.1.3.1 audit path PATH(index, D[0:tree_size]) from stored nodes."""
    return tuple(
        subtree_hash(start, end, nodes) for start, end in _inclusion_ranges(index, tree_size)
    )


def consistency_proof_nodes(first: int, second: int) -> tuple[NodeId, ...]:
    """The stored perfect nodes `consistency_proof` reads (O(log n) of them)."""
    return tuple(
        node_id
        for start, end in _consistency_ranges(first, second)
        for node_id in subtree_hash_nodes(start, end)
    )


def consistency_proof(first: int, second: int, nodes: Mapping[NodeId, bytes]) -> tuple[bytes, ...]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[0:second]) from stored nodes.

    ``first == second`` gives the empty proof; ``first == 0`` or ``first > second``
    raise `InvalidTreeArgument`.
    """
    return tuple(
        subtree_hash(start, end, nodes) for start, end in _consistency_ranges(first, second)
    )


# ----------------------------------------------------------------- verifying


def _require_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise InvalidProof(f"{what} must be {HASH_SIZE} bytes")
    return value


def _require_size(value: object, what: str) -> int:
    if not _is_size(value):
        raise InvalidProof(f"{what} must be an integer in [0, {MAX_TREE_SIZE}]")
    assert isinstance(value, int)
    return value


def _require_path(path: object, what: str) -> list[bytes]:
    if isinstance(path, str | bytes) or not isinstance(path, Sequence):
        raise InvalidProof(f"{what} must be a sequence of hashes")
    # Longer than any valid proof for a tree of MAX_TREE_SIZE: refuse before hashing.
    if len(path) > 2 * MAX_TREE_SIZE.bit_length():
        raise InvalidProof(f"{what} is too long")
    return [_require_hash(item, f"{what}[{position}]") for position, item in enumerate(path)]


def verify_inclusion(
    leaf_hash: bytes,
    index: int,
    tree_size: int,
    audit_path: Sequence[bytes],
    root_hash: bytes,
) -> None:
    """RFC 9162 §2.1.3.2: that ``leaf_hash`` is leaf ``index`` of the tree of
    ``tree_size`` leaves whose root is ``root_hash``. Raises `InvalidProof`."""
    leaf = _require_hash(leaf_hash, "leaf_hash")
    root = _require_hash(root_hash, "root_hash")
    index = _require_size(index, "leaf index")
    tree_size = _require_size(tree_size, "tree_size")
    path = _require_path(audit_path, "audit_path")
    # 1. leaf_index must be below tree_size.
    if index >= tree_size:
        raise InvalidProof(f"leaf index {index} is not below tree_size {tree_size}")
    # 2.-3.
    fn, sn = index, tree_size - 1
    r = leaf
    # 4.
    for p in path:
        if sn == 0:  # a.
            raise InvalidProof("audit path is too long")
        if fn & 1 or fn == sn:  # b.
            r = _hash_children(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = _hash_children(r, p)
        fn >>= 1  # c.
        sn >>= 1
    # 5.
    if sn != 0:
        raise InvalidProof("audit path is too short")
    if not hmac.compare_digest(r, root):
        raise InvalidProof("audit path does not lead to the root hash")


def verify_consistency(
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """RFC 9162 §2.1.4.2: that the tree of ``second`` leaves with root ``second_root``
    only appended to the tree of ``first`` leaves with root ``first_root``.

    ``first == second`` is valid only with an empty proof and equal roots;
    ``first == 0`` and ``second < first`` are rejected. Raises `InvalidProof`.
    """
    first = _require_size(first, "first")
    second = _require_size(second, "second")
    first_hash = _require_hash(first_root, "first root hash")
    second_hash = _require_hash(second_root, "second root hash")
    path = _require_path(proof, "consistency proof")
    if first == 0:
        raise InvalidProof("first = 0: the empty tree proves nothing")
    if second < first:
        raise InvalidProof(f"second ({second}) is smaller than first ({first})")
    if first == second:
        if path:
            raise InvalidProof("a proof between equal tree sizes must be empty")
        if not hmac.compare_digest(first_hash, second_hash):
            raise InvalidProof("equal tree sizes with different root hashes")
        return
    # 1.
    if not path:
        raise InvalidProof("consistency proof is empty")
    # 2.
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:  # a.
            raise InvalidProof("consistency proof is too long")
        if fn & 1 or fn == sn:  # b.
            fr = _hash_children(c, fr)
            sr = _hash_children(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _hash_children(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    if sn != 0:
        raise InvalidProof("consistency proof is too short")
    if not hmac.compare_digest(fr, first_hash):
        raise InvalidProof("consistency proof does not lead to the first root hash")
    if not hmac.compare_digest(sr, second_hash):
        raise InvalidProof("consistency proof does not lead to the second root hash")


# ----------------------------------------------------------------------- hex


def hash_to_hex(value: bytes) -> str:
    """32 bytes → 64 lowercase hex characters."""
    return _require_hash(value, "hash").hex()


def hash_from_hex(value: object, what: str = "hash") -> bytes:
    """64 lowercase hex characters → 32 bytes. Anything else raises `InvalidProof`
    (uppercase, odd length, whitespace, ``0x`` prefix, non-string, wrong length)."""
    if not isinstance(value, str) or _HEX_HASH.fullmatch(value) is None:
        raise InvalidProof(f"{what} must be {2 * HASH_SIZE} lowercase hex characters")
    return bytes.fromhex(value)


def hashes_to_hex(values: Sequence[bytes]) -> list[str]:
    """A proof as the JSON list of lowercase hex strings the API sends."""
    return [hash_to_hex(value) for value in values]


def hashes_from_hex(values: object, what: str = "proof") -> tuple[bytes, ...]:
    """A JSON list of lowercase hex strings → hashes; `InvalidProof` if malformed."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidProof(f"{what} must be a list of hex strings")
    if len(values) > 2 * MAX_TREE_SIZE.bit_length():
        raise InvalidProof(f"{what} is too long")
    return tuple(hash_from_hex(value, f"{what}[{i}]") for i, value in enumerate(values))
