"""The audit log's Merkle core against an independent RFC 9162 reference.

`tests.unit.rfc9162_reference` is the RFC's recursive definitions over the full
data list; here the ledger's proofs are built only from the perfect-subtree
nodes that `append_leaf` handed to the store, restricted to exactly the nodes
the ``*_nodes`` functions asked for and that existed at the proof's tree size.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    InvalidProof,
    InvalidRecord,
    InvalidTreeArgument,
    MissingNode,
    Node,
    NodeId,
    append_leaf,
    consistency_proof,
    consistency_proof_nodes,
    frontier_nodes,
    hash_from_hex,
    hash_to_hex,
    hashes_from_hex,
    hashes_to_hex,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    root_from_frontier,
    root_hash,
    subtree_hash,
    subtree_hash_nodes,
    verify_consistency,
    verify_inclusion,
)
from ledger.receipts import (
    InvalidReceipt,
    check_consistency_against_saved_head,
    check_receipt,
)
from ledger.tree_heads import (
    InvalidKeyDocument,
    InvalidSignature,
    InvalidTreeHead,
    UnknownKey,
    audit_keys_document,
    key_id_for,
    parse_audit_keys,
    public_key_raw,
    sign_tree_head,
    tree_head_message,
    verify_tree_head,
)
from tests.unit import rfc9162_reference as ref

SMALL = 70
LARGE = 3000


# ------------------------------------------------------------------ fixtures


@dataclass(frozen=True)
class Log:
    """A log built only through `append_leaf`, as a store would see it."""

    data: tuple[bytes, ...]  # the RFC's D[n]
    leaves: tuple[bytes, ...]  # leaf hashes
    frontiers: tuple[tuple[bytes, ...], ...]  # frontiers[n] after n appends
    store: Mapping[NodeId, bytes]  # every node new_nodes ever listed
    born: Mapping[NodeId, int]  # tree size at which each node was stored

    def nodes_at(self, ids: Sequence[NodeId], tree_size: int) -> dict[NodeId, bytes]:
        """Exactly the requested nodes, each of which must exist at ``tree_size``."""
        for node_id in ids:
            assert self.born[node_id] <= tree_size, (node_id, tree_size)
        return {node_id: self.store[node_id] for node_id in ids}


def _entry(i: int) -> bytes:
    # Varied lengths, including the empty entry.
    return hashlib.sha256(i.to_bytes(4, "big")).digest()[: i % 37]


@functools.cache
def _log(size: int) -> Log:
    data = tuple(_entry(i) for i in range(size))
    leaves = tuple(ref.leaf(d) for d in data)
    frontier: tuple[bytes, ...] = ()
    frontiers = [frontier]
    store: dict[NodeId, bytes] = {}
    born: dict[NodeId, int] = {}
    for n, leaf in enumerate(leaves):
        result = append_leaf(frontier, n, leaf)
        assert result.tree_size == n + 1
        for new in result.new_nodes:
            assert new.id not in store
            store[new.id] = new.hash
            born[new.id] = n + 1
        frontier = result.frontier
        frontiers.append(frontier)
    return Log(data, leaves, tuple(frontiers), MappingProxyType(store), MappingProxyType(born))


@functools.cache
def _ref_root(size: int) -> bytes:
    return ref.MTH(_log(SMALL).data[:size])


@functools.cache
def _ref_path_length(index: int, size: int) -> int:
    return len(ref.PATH(index, _log(SMALL).data[:size]))


def _flip(value: bytes, bit: int) -> bytes:
    mutated = bytearray(value)
    mutated[bit // 8] ^= 1 << (bit % 8)
    return bytes(mutated)


def _raises(error: type[Exception], call: Callable[[], object]) -> None:
    with pytest.raises(error):
        call()


RNG_SEED = 9162


# --------------------------------------------------------- known answers


def test_leaf_hash_known_answer() -> None:
    record: dict[str, Any] = {
        "fund_id": "f-1",
        "sequence": 1,
        "recorded_at": "2026-03-05T08:15:00Z",
        "actor": "thu-quy",
        "action": "entry.created",
        "data": {
            "memo": "Góp vốn",
            "amount": 5000000,
            "rate": "0.01",
            "ok": True,
            "none": None,
            "tags": ["a", "ộ"],
        },
    }
    # RFC 8785 by hand: keys sorted, no whitespace, UTF-8, literal non-ASCII.
    jcs = (
        '{"action":"entry.created","actor":"thu-quy","data":{"amount":5000000,'
        '"memo":"Góp vốn","none":null,"ok":true,"rate":"0.01","tags":["a","ộ"]},'
        '"fund_id":"f-1","recorded_at":"2026-03-05T08:15:00Z","sequence":1}'
    ).encode()
    assert rfc8785.dumps(record) == jcs
    direct = hashlib.sha256(b"\x00" + rfc8785.dumps(record)).hexdigest()
    assert leaf_hash(record).hex() == direct
    assert direct == "5056a72018a9f77597696281214a3b8413758ce038a56b3fa0bbd7e53579bd48"
    # Any Mapping / tuple spelling of the same JSON hashes the same.
    frozen = MappingProxyType(
        {**record, "data": MappingProxyType({**record["data"], "tags": ("a", "ộ")})}
    )
    assert leaf_hash(frozen) == leaf_hash(record)
    assert leaf_hash(json.loads(json.dumps(record))) == leaf_hash(record)


def test_leaf_hash_rejects_what_jcs_cannot_encode() -> None:
    bad_records: list[Any] = [
        {"x": float("nan")},
        {"x": 2**53},
        {1: "x"},
        {"x": object()},
        {"x": "\ud800"},
        {"x": {"y": [float("inf")]}},
    ]
    for bad in bad_records:
        with pytest.raises(InvalidRecord):
            leaf_hash(bad)
    _raises(InvalidRecord, lambda: leaf_hash(["not", "an", "object"]))  # type: ignore[arg-type]


def test_hash_primitives() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_hash([]) == EMPTY_ROOT == ref.MTH([])
    a, b = hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    _raises(InvalidTreeArgument, lambda: node_hash(a, b[:31]))
    _raises(InvalidTreeArgument, lambda: root_hash([a, b"short"]))


# Certificate Transparency's published test vectors (RFC 6962 leaves, same tree).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (1, 1): [],
    (1, 8): CT_PATHS[(0, 8)],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def test_certificate_transparency_vectors() -> None:
    leaves = [hashlib.sha256(b"\x00" + d).digest() for d in CT_LEAVES]
    frontier: tuple[bytes, ...] = ()
    store: dict[NodeId, bytes] = {}
    for n, leaf in enumerate(leaves):
        result = append_leaf(frontier, n, leaf)
        frontier = result.frontier
        store.update((node.id, node.hash) for node in result.new_nodes)
        assert result.root.hex() == CT_ROOTS[n]
        assert root_hash(leaves[: n + 1]).hex() == CT_ROOTS[n]
        assert ref.MTH(CT_LEAVES[: n + 1]).hex() == CT_ROOTS[n]
    for (index, size), path in CT_PATHS.items():
        assert hashes_to_hex(inclusion_proof(index, size, store)) == path
        verify_inclusion(
            leaves[index], index, size, hashes_from_hex(path), bytes.fromhex(CT_ROOTS[-1])
        )
    for (first, second), proof in CT_CONSISTENCY.items():
        assert hashes_to_hex(consistency_proof(first, second, store)) == proof
        assert [h.hex() for h in ref.PROOF(first, CT_LEAVES[:second])] == proof
        verify_consistency(
            first,
            second,
            bytes.fromhex(CT_ROOTS[first - 1]),
            bytes.fromhex(CT_ROOTS[second - 1]),
            hashes_from_hex(proof),
        )


# ------------------------------------------------- append and root hashes


def test_append_matches_reference_at_every_size() -> None:
    log = _log(SMALL)
    assert log.frontiers[0] == ()
    assert root_from_frontier((), 0) == EMPTY_ROOT
    for n in range(1, SMALL + 1):
        expected = _ref_root(n)
        assert root_from_frontier(log.frontiers[n], n) == expected
        assert root_hash(log.leaves[:n]) == expected
        assert subtree_hash(0, n, log.store) == expected
        # The frontier is exactly the stored nodes tiling [0, n).
        assert log.frontiers[n] == tuple(log.store[i] for i in frontier_nodes(n))
    # Every stored node is the MTH of the leaves it names, stored when completed.
    for (level, index), value in log.store.items():
        start, end = index << level, (index + 1) << level
        assert value == ref.MTH(log.data[start:end])
        assert log.born[(level, index)] == end


def test_append_lists_the_leaf_and_each_completed_subtree() -> None:
    log = _log(SMALL)
    frontier: tuple[bytes, ...] = ()
    for n in range(SMALL):
        result = append_leaf(frontier, n, log.leaves[n])
        completed = [
            (level, ((n + 1) >> level) - 1) for level in range(7) if (n + 1) % (1 << level) == 0
        ]
        assert [node.id for node in result.new_nodes] == completed
        assert result.new_nodes[0] == Node(0, n, log.leaves[n])
        frontier = result.frontier


def test_append_rejects_bad_state() -> None:
    leaf = hashlib.sha256(b"x").digest()
    _raises(InvalidTreeArgument, lambda: append_leaf((), 1, leaf))  # frontier too short
    _raises(InvalidTreeArgument, lambda: append_leaf((leaf,), 0, leaf))  # too long
    _raises(InvalidTreeArgument, lambda: append_leaf((leaf, leaf), 2, leaf))  # 2 = 0b10
    _raises(InvalidTreeArgument, lambda: append_leaf((), 0, b"short"))
    _raises(InvalidTreeArgument, lambda: append_leaf((b"short",), 1, leaf))
    _raises(InvalidTreeArgument, lambda: append_leaf((), -1, leaf))
    _raises(InvalidTreeArgument, lambda: append_leaf((), True, leaf))
    _raises(InvalidTreeArgument, lambda: root_from_frontier((leaf,), 3))
    _raises(InvalidTreeArgument, lambda: root_from_frontier((leaf, b"short"), 3))


# ---------------------------------------------------------- inclusion proofs


def test_inclusion_proofs_for_every_size_and_index() -> None:
    log = _log(SMALL)
    for n in range(1, SMALL + 1):
        root = _ref_root(n)
        for i in range(n):
            ids = inclusion_proof_nodes(i, n)
            proof = inclusion_proof(i, n, log.nodes_at(ids, n))
            expected = ref.PATH(i, log.data[:n])
            assert list(proof) == expected, (i, n)
            assert ref.verify_inclusion(i, n, log.leaves[i], proof, root)
            verify_inclusion(log.leaves[i], i, n, proof, root)


def test_inclusion_proof_generation_arguments() -> None:
    log = _log(SMALL)
    for index, size in ((0, 0), (5, 5), (6, 5), (-1, 5)):
        with pytest.raises(InvalidTreeArgument):
            inclusion_proof_nodes(index, size)
    _raises(InvalidTreeArgument, lambda: inclusion_proof(3, 3, log.store))
    needed = inclusion_proof_nodes(2, 11)
    partial = log.nodes_at(needed[1:], 11)
    _raises(MissingNode, lambda: inclusion_proof(2, 11, partial))
    junk = {**log.nodes_at(needed, 11), needed[0]: b"junk"}
    _raises(MissingNode, lambda: inclusion_proof(2, 11, junk))
    _raises(InvalidTreeArgument, lambda: subtree_hash_nodes(3, 7))  # not an RFC subtree
    _raises(InvalidTreeArgument, lambda: subtree_hash_nodes(4, 4))
    assert subtree_hash_nodes(8, 15) == ((2, 2), (1, 6), (0, 14))


# -------------------------------------------------------- consistency proofs


def test_consistency_proofs_for_every_pair() -> None:
    log = _log(SMALL)
    for n in range(1, SMALL + 1):
        for m in range(1, n + 1):
            ids = consistency_proof_nodes(m, n)
            proof = consistency_proof(m, n, log.nodes_at(ids, n))
            assert list(proof) == ref.PROOF(m, log.data[:n]), (m, n)
            if m < n:
                assert ref.verify_consistency(m, n, _ref_root(m), _ref_root(n), proof)
            else:
                assert proof == ()
            verify_consistency(m, n, _ref_root(m), _ref_root(n), proof)


def test_consistency_proof_generation_arguments() -> None:
    log = _log(SMALL)
    for first, second in ((0, 5), (0, 0), (6, 5), (-1, 3)):
        with pytest.raises(InvalidTreeArgument):
            consistency_proof_nodes(first, second)
    _raises(InvalidTreeArgument, lambda: consistency_proof(0, 5, log.store))
    needed = consistency_proof_nodes(3, 7)
    _raises(MissingNode, lambda: consistency_proof(3, 7, log.nodes_at(needed[:-1], 7)))


# ------------------------------------------------ larger trees (hypothesis)


@st.composite
def _size_index_first(draw: st.DrawFn) -> tuple[int, int, int]:
    size = draw(st.integers(1, LARGE) | st.sampled_from([1024, 1025, 2047, 2048, 2049, LARGE]))
    index = draw(st.integers(0, size - 1) | st.sampled_from([0, size - 1]))
    first = draw(st.integers(1, size) | st.sampled_from([1, size]))
    return size, index, first


@settings(max_examples=60, deadline=None)
@given(_size_index_first())
def test_large_trees_match_reference(case: tuple[int, int, int]) -> None:
    size, index, first = case
    log = _log(LARGE)
    data = log.data[:size]
    root = ref.MTH(data)
    assert root_from_frontier(log.frontiers[size], size) == root
    assert root_hash(log.leaves[:size]) == root

    proof = inclusion_proof(index, size, log.nodes_at(inclusion_proof_nodes(index, size), size))
    assert list(proof) == ref.PATH(index, data)
    assert len(proof) <= size.bit_length()
    verify_inclusion(log.leaves[index], index, size, proof, root)

    ids = consistency_proof_nodes(first, size)
    cproof = consistency_proof(first, size, log.nodes_at(ids, size))
    assert list(cproof) == ref.PROOF(first, data)
    assert len(ids) <= 2 * size.bit_length()
    first_root = ref.MTH(log.data[:first])
    verify_consistency(first, size, first_root, root, cproof)
    if first < size:
        assert ref.verify_consistency(first, size, first_root, root, cproof)


# ---------------------------------------------- malicious inclusion proofs


def _inclusion_rejected(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    try:
        verify_inclusion(leaf, index, size, path, root)
    except InvalidProof:
        return True
    return False


def test_inclusion_rejects_mutated_hashes() -> None:
    log = _log(SMALL)
    rng = random.Random(RNG_SEED)
    for n in range(1, SMALL + 1):
        root = _ref_root(n)
        for i in range(n):
            path = ref.PATH(i, log.data[:n])
            leaf = log.leaves[i]
            # One random bit flipped in each position of the path.
            for position in range(len(path)):
                bad = list(path)
                bad[position] = _flip(bad[position], rng.randrange(256))
                assert _inclusion_rejected(leaf, i, n, bad, root)
            assert _inclusion_rejected(_flip(leaf, rng.randrange(256)), i, n, path, root)
            assert _inclusion_rejected(leaf, i, n, path, _flip(root, rng.randrange(256)))
    # Every single bit of every position, on a few trees.
    for i, n in ((0, 1), (5, 8), (6, 7), (12, 13), (40, 70)):
        path = ref.PATH(i, log.data[:n])
        for position in range(len(path)):
            for bit in range(256):
                bad = list(path)
                bad[position] = _flip(bad[position], bit)
                assert _inclusion_rejected(log.leaves[i], i, n, bad, _ref_root(n))


def test_inclusion_rejects_wrong_path_lengths() -> None:
    log = _log(SMALL)
    extra = hashlib.sha256(b"extra").digest()
    for n in range(1, SMALL + 1):
        root = _ref_root(n)
        for i in range(n):
            path = ref.PATH(i, log.data[:n])
            leaf = log.leaves[i]
            if path:
                assert _inclusion_rejected(leaf, i, n, path[:-1], root)
                assert _inclusion_rejected(leaf, i, n, path[1:], root)
            with pytest.raises(InvalidProof, match="too long"):
                verify_inclusion(leaf, i, n, [*path, extra], root)
            for longer in (
                [*path, extra],
                [extra, *path],
                [*path, root],
                [*path, path[-1]] if path else [leaf],
            ):
                assert _inclusion_rejected(leaf, i, n, longer, root)


def test_inclusion_rejects_wrong_index() -> None:
    log = _log(SMALL)
    for n in range(1, SMALL + 1):
        root = _ref_root(n)
        for i in range(n):
            path = ref.PATH(i, log.data[:n])
            wrong = range(n) if n <= 40 else (i - 1, i + 1, n - 1 - i, n, n + 5)
            for j in wrong:
                if j != i and j >= 0:
                    assert _inclusion_rejected(log.leaves[i], j, n, path, root), (i, j, n)
            assert _inclusion_rejected(log.leaves[i], -1, n, path, root)


def test_inclusion_with_wrong_tree_size() -> None:
    """An audit path does not name its tree size: a path for (i, n) can also be a
    well-formed path for (i, n') with the same root (e.g. n = 3, n' = 4). Nothing
    can reject that; the defence is that the size is signed in the tree head next
    to the root, and receipts insist on it (see test_receipt_*). The ledger must
    agree with the RFC exactly, and reject every size whose path shape differs."""
    log = _log(SMALL)
    for n in range(1, SMALL + 1):
        root = _ref_root(n)
        for i in range(n):
            path = ref.PATH(i, log.data[:n])
            for other in range(SMALL + 2):
                if other == n:
                    continue
                rejected = _inclusion_rejected(log.leaves[i], i, other, path, root)
                assert rejected == (not ref.verify_inclusion(i, other, log.leaves[i], path, root))
                if other <= i or _ref_path_length(i, other) != len(path):
                    assert rejected, (i, n, other)


def test_inclusion_rejects_malformed_inputs() -> None:
    log = _log(SMALL)
    path = ref.PATH(3, log.data[:9])
    root, leaf = _ref_root(9), log.leaves[3]
    verify_inclusion(leaf, 3, 9, tuple(path), root)
    bad_calls: list[Callable[[], object]] = [
        lambda: verify_inclusion(leaf, 9, 9, path, root),  # index == tree_size
        lambda: verify_inclusion(leaf, 10, 9, path, root),
        lambda: verify_inclusion(leaf, 0, 0, [], EMPTY_ROOT),
        lambda: verify_inclusion(leaf, True, 9, path, root),
        lambda: verify_inclusion(leaf, 3, 9.0, path, root),  # type: ignore[arg-type]
        lambda: verify_inclusion(leaf[:31], 3, 9, path, root),
        lambda: verify_inclusion(leaf, 3, 9, path, root + b"\x00"),
        lambda: verify_inclusion(leaf, 3, 9, [*path[:-1], path[-1].hex()], root),  # type: ignore[list-item]
        lambda: verify_inclusion(leaf, 3, 9, b"".join(path), root),  # type: ignore[arg-type]
        lambda: verify_inclusion(leaf, 3, 9, [path[0]] * 200, root),
    ]
    for call in bad_calls:
        _raises(InvalidProof, call)


# -------------------------------------------- malicious consistency proofs


def _consistency_rejected(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    try:
        verify_consistency(first, second, first_root, second_root, proof)
    except InvalidProof:
        return True
    return False


def test_consistency_rejects_mutations_and_wrong_lengths() -> None:
    log = _log(SMALL)
    rng = random.Random(RNG_SEED)
    extra = hashlib.sha256(b"extra").digest()
    for n in range(2, SMALL + 1):
        for m in range(1, n):
            proof = ref.PROOF(m, log.data[:n])
            r1, r2 = _ref_root(m), _ref_root(n)
            for position in range(len(proof)):
                bad = list(proof)
                bad[position] = _flip(bad[position], rng.randrange(256))
                assert _consistency_rejected(m, n, r1, r2, bad), (m, n, position)
            assert _consistency_rejected(m, n, _flip(r1, rng.randrange(256)), r2, proof)
            assert _consistency_rejected(m, n, r1, _flip(r2, rng.randrange(256)), proof)
            assert _consistency_rejected(m, n, r2, r1, proof)
            assert _consistency_rejected(m, n, r1, r2, proof[:-1])
            assert _consistency_rejected(m, n, r1, r2, proof[1:])
            assert _consistency_rejected(m, n, r1, r2, [*proof, extra])
            with pytest.raises(InvalidProof, match="too long"):
                verify_consistency(m, n, r1, r2, [*proof, extra])
            assert _consistency_rejected(m, n, r1, r2, [extra, *proof])
            assert _consistency_rejected(m, n, r1, r2, [])
    for m, n in ((1, 2), (3, 7), (4, 8), (6, 8), (33, 70)):
        proof = ref.PROOF(m, log.data[:n])
        for position in range(len(proof)):
            for bit in range(256):
                bad = list(proof)
                bad[position] = _flip(bad[position], bit)
                assert _consistency_rejected(m, n, _ref_root(m), _ref_root(n), bad)


def test_consistency_with_wrong_sizes_agrees_with_rfc() -> None:
    """Like audit paths, a consistency proof does not name its sizes; sizes are
    bound to roots only by signed heads. The ledger must agree with the RFC."""
    log = _log(SMALL)
    for n in range(2, 40):
        for m in range(1, n):
            proof = ref.PROOF(m, log.data[:n])
            r1, r2 = _ref_root(m), _ref_root(n)
            for m2, n2 in ((m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1), (m + 1, n + 1)):
                if (m2, n2) == (m, n):
                    continue
                rejected = _consistency_rejected(m2, n2, r1, r2, proof)
                expected = m2 == n2 or not ref.verify_consistency(m2, n2, r1, r2, proof)
                assert rejected == expected, (m, n, m2, n2)


def test_consistency_special_cases() -> None:
    log = _log(SMALL)
    r5, r9 = _ref_root(5), _ref_root(9)
    proof = ref.PROOF(5, log.data[:9])
    verify_consistency(5, 9, r5, r9, proof)
    verify_consistency(9, 9, r9, r9, [])  # same tree: empty proof, equal roots
    verify_consistency(9, 9, r9, r9, ())
    bad_calls: list[Callable[[], object]] = [
        lambda: verify_consistency(9, 9, r9, r5, []),  # same size, different roots
        lambda: verify_consistency(9, 9, r9, r9, [r9]),  # same size, non-empty proof
        lambda: verify_consistency(0, 9, EMPTY_ROOT, r9, []),  # first = 0
        lambda: verify_consistency(0, 9, EMPTY_ROOT, r9, proof),
        lambda: verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []),
        lambda: verify_consistency(9, 5, r9, r5, proof),  # second < first
        lambda: verify_consistency(9, 5, r5, r9, proof),
        lambda: verify_consistency(-1, 9, r5, r9, proof),
        lambda: verify_consistency(5, 9, r5, r9, []),
        lambda: verify_consistency(5, 9, r5.hex(), r9, proof),  # type: ignore[arg-type]
        lambda: verify_consistency(5, 9, r5, r9, [*proof[:-1], b"short"]),
        lambda: verify_consistency(5, 2**53, r5, r9, proof),
    ]
    for call in bad_calls:
        _raises(InvalidProof, call)


# ----------------------------------------------------------------------- hex


def test_hex_helpers() -> None:
    value = hashlib.sha256(b"x").digest()
    text = value.hex()
    assert hash_to_hex(value) == text
    assert hash_from_hex(text) == value
    assert hashes_from_hex([text, text]) == (value, value)
    assert hashes_to_hex([value]) == [text]
    for bad in (
        text.upper(),
        text[:-1] + "A",
        text[:-1],  # odd length
        text[:-2],  # 31 bytes
        text + "00",  # 33 bytes
        text[:-1] + "g",
        " " + text[1:],
        text + "\n",
        "0x" + text[2:],
        text[:-1] + "٣",  # a Unicode digit
        "",
        None,
        value,
        int(text, 16),
    ):
        with pytest.raises(InvalidProof):
            hash_from_hex(bad)
    _raises(InvalidProof, lambda: hashes_from_hex(text))
    _raises(InvalidProof, lambda: hashes_from_hex([text, text.upper()]))
    _raises(InvalidProof, lambda: hashes_from_hex({"0": text}))
    _raises(InvalidProof, lambda: hash_to_hex(value[:31]))


# ---------------------------------------------------------------- tree heads

FUND = "6f1c8c1e-4b7a-4bd2-9d3e-2a1f0c9b7e55"
STAMP = "2026-03-05T08:15:00Z"
KEY_A = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEY_B = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
RAW_A, RAW_B = public_key_raw(KEY_A), public_key_raw(KEY_B)
ID_A, ID_B = key_id_for(RAW_A), key_id_for(RAW_B)
KEYS: Mapping[str, bytes] = MappingProxyType({ID_A: RAW_A, ID_B: RAW_B})


def _head(
    size: int, root: bytes, key: Ed25519PrivateKey = KEY_A, fund: str = FUND
) -> dict[str, Any]:
    return sign_tree_head(key, key_id_for(public_key_raw(key)), fund, size, root.hex(), STAMP)


def test_tree_head_message_and_key_id_known_answers() -> None:
    root = "ab" * 32
    assert tree_head_message("f-1", 3, root, STAMP) == (
        b'{"fund_id":"f-1","root_hash":"'
        + root.encode()
        + b'","timestamp":"2026-03-05T08:15:00Z","tree_size":3}'
    )
    assert ID_A == hashlib.sha256(RAW_A).hexdigest()[:16]
    assert len(ID_A) == 16 and ID_A == ID_A.lower()
    for args in (
        ("", 3, root, STAMP),
        ("f", -1, root, STAMP),
        ("f", True, root, STAMP),
        ("f", "3", root, STAMP),
        ("f", 2**53, root, STAMP),
        ("f", 3, root.upper(), STAMP),
        ("f", 3, root[:-2], STAMP),
        ("f", 3, root, "2026-03-05T08:15:00+00:00"),
        ("f", 3, root, "2026-03-05 08:15:00Z"),
        ("f", 3, root, "2026-02-30T08:15:00Z"),
        ("f", 3, root, "2026-03-05T08:15:00z"),
        ("\ud800", 3, root, STAMP),
    ):
        with pytest.raises(InvalidTreeHead):
            tree_head_message(*args)
    assert tree_head_message("f", 0, EMPTY_ROOT.hex(), "2026-03-05T08:15:00.123456Z")


def test_sign_and_verify_tree_head() -> None:
    root = _ref_root(7)
    head = _head(7, root)
    assert set(head) == {"fund_id", "tree_size", "root_hash", "timestamp", "key_id", "signature"}
    assert head["root_hash"] == root.hex() and head["tree_size"] == 7 and head["key_id"] == ID_A
    signature = base64.b64decode(head["signature"], validate=True)
    assert len(signature) == 64 and base64.b64encode(signature).decode() == head["signature"]
    # Anyone can check it with the raw public key and JCS, nothing of ours.
    Ed25519PublicKey.from_public_bytes(RAW_A).verify(
        signature,
        rfc8785.dumps({k: head[k] for k in ("fund_id", "tree_size", "root_hash", "timestamp")}),
    )
    verify_tree_head(head, KEYS)
    verify_tree_head(json.loads(json.dumps(head)), {ID_A: RAW_A})
    verify_tree_head({**head, "extra": "ignored, unsigned"}, KEYS)
    _raises(InvalidTreeHead, lambda: sign_tree_head(KEY_A, ID_B, FUND, 7, root.hex(), STAMP))


def _non_canonical_b64(text: str) -> str:
    """The same bytes with non-zero padding bits: decodes, but is not canonical."""
    assert text.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(text[-3])
    other = text[:-3] + alphabet[last ^ 0b0001] + "=="
    assert base64.b64decode(other) == base64.b64decode(text) and other != text
    return other


def test_verify_tree_head_rejects_tampering_and_unknown_keys() -> None:
    head = _head(7, _ref_root(7))
    _raises(UnknownKey, lambda: verify_tree_head(head, {ID_B: RAW_B}))
    _raises(UnknownKey, lambda: verify_tree_head(head, {}))
    _raises(UnknownKey, lambda: verify_tree_head(head, {ID_A: RAW_B}))  # map entry lies
    _raises(UnknownKey, lambda: verify_tree_head(head, {ID_A: RAW_A[:31]}))
    stranger = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
    _raises(UnknownKey, lambda: verify_tree_head(_head(7, _ref_root(7), stranger), KEYS))
    tampered: list[dict[str, Any]] = [
        {**head, "fund_id": FUND[:-1] + "6"},
        {**head, "tree_size": 8},
        {**head, "tree_size": 6},
        {**head, "root_hash": _ref_root(8).hex()},
        {**head, "root_hash": _flip(_ref_root(7), 0).hex()},
        {**head, "timestamp": "2026-03-05T08:15:01Z"},
        {**head, "key_id": ID_B},  # claims the other known key
    ]
    signature = base64.b64decode(head["signature"])
    for bit in (0, 7, 255, 256, 511):
        tampered.append({**head, "signature": base64.b64encode(_flip(signature, bit)).decode()})
    for bad in tampered:
        with pytest.raises(InvalidSignature):
            verify_tree_head(bad, KEYS)
    malformed: list[Any] = [
        {**head, "tree_size": "7"},
        {**head, "tree_size": 7.0},
        {**head, "tree_size": True},
        {**head, "tree_size": -7},
        {**head, "root_hash": head["root_hash"].upper()},
        {**head, "timestamp": "2026-03-05T08:15:00+00:00"},
        {**head, "key_id": ID_A.upper()},
        {**head, "key_id": 7},
        {**head, "signature": head["signature"].rstrip("=")},
        {**head, "signature": base64.urlsafe_b64encode(signature).decode().replace("=", "")},
        {**head, "signature": "!" * 88},
        {**head, "signature": _non_canonical_b64(head["signature"])},
        {**head, "signature": base64.b64encode(signature[:63]).decode()},
        {**head, "signature": signature},
        {k: v for k, v in head.items() if k != "timestamp"},
        {k: v for k, v in head.items() if k != "signature"},
        [head],
        None,
    ]
    for bad in malformed:
        with pytest.raises(InvalidSignature):
            verify_tree_head(bad, KEYS)
    head_b = _head(7, _ref_root(7), KEY_B)
    verify_tree_head(head_b, KEYS)
    _raises(
        InvalidSignature, lambda: verify_tree_head({**head_b, "signature": head["signature"]}, KEYS)
    )


def test_audit_keys_document() -> None:
    document = audit_keys_document([RAW_A, RAW_B])
    assert document == {
        "keys": [
            {
                "key_id": ID_A,
                "algorithm": "ed25519",
                "public_key": base64.b64encode(RAW_A).decode(),
            },
            {
                "key_id": ID_B,
                "algorithm": "ed25519",
                "public_key": base64.b64encode(RAW_B).decode(),
            },
        ]
    }
    assert dict(parse_audit_keys(json.loads(json.dumps(document)))) == dict(KEYS)
    entry = document["keys"][0]
    for bad in (
        {},
        {"keys": "x"},
        {"keys": [{**entry, "algorithm": "ecdsa"}]},
        {"keys": [{**entry, "key_id": ID_B}]},
        {"keys": [{**entry, "public_key": entry["public_key"].rstrip("=")}]},
        {"keys": [{**entry, "public_key": base64.b64encode(RAW_A[:31]).decode()}]},
        {"keys": ["x"]},
    ):
        with pytest.raises(InvalidKeyDocument):
            parse_audit_keys(bad)


# ------------------------------------------------------------------ receipts


def _records(count: int, fund: str = FUND) -> list[dict[str, Any]]:
    return [
        {
            "fund_id": fund,
            "sequence": s,
            "recorded_at": f"2026-03-05T08:{s % 60:02d}:00Z",
            "actor": "thu-quy",
            "action": "entry.created",
            "data": {"amount": 100000 * s, "memo": "Trả nợ kỳ " + str(s), "postings": [{"a": 1}]},
        }
        for s in range(1, count + 1)
    ]


@dataclass(frozen=True)
class FundLog:
    records: list[dict[str, Any]]
    store: dict[NodeId, bytes]
    roots: list[bytes]  # roots[n] = root at size n

    def receipt(self, sequence: int, size: int, key: Ed25519PrivateKey = KEY_A) -> dict[str, Any]:
        record = self.records[sequence - 1]
        leaf = leaf_hash(record).hex()
        path = inclusion_proof(sequence - 1, size, self.store)
        return {
            "record": copy.deepcopy(record),
            "leaf_hash": leaf,
            "proof": {
                "sequence": sequence,
                "tree_size": size,
                "leaf_hash": leaf,
                "audit_path": hashes_to_hex(path),
            },
            "head": _head(size, self.roots[size], key, record["fund_id"]),
        }


def _fund_log(count: int, fund: str = FUND) -> FundLog:
    return _fund_log_of(_records(count, fund))


def _fund_log_of(records: list[dict[str, Any]]) -> FundLog:
    frontier: tuple[bytes, ...] = ()
    store: dict[NodeId, bytes] = {}
    roots = [EMPTY_ROOT]
    for n, record in enumerate(records):
        result = append_leaf(frontier, n, leaf_hash(record))
        frontier = result.frontier
        store.update((node.id, node.hash) for node in result.new_nodes)
        roots.append(result.root)
    return FundLog(records, store, roots)


def test_receipts_verify_offline() -> None:
    log = _fund_log(13)
    for size in (1, 5, 8, 13):
        for sequence in range(1, size + 1):
            receipt = json.loads(json.dumps(log.receipt(sequence, size)))
            result = check_receipt(receipt, KEYS)
            assert (result.fund_id, result.sequence, result.tree_size) == (FUND, sequence, size)
            assert result.root_hash == log.roots[size].hex() and result.key_id == ID_A
            assert result.leaf_hash == receipt["leaf_hash"] and result.timestamp == STAMP
    assert check_receipt(log.receipt(3, 13, KEY_B), KEYS).key_id == ID_B


def _receipt_fails(error: type[Exception], receipt: Any, keys: Mapping[str, bytes] = KEYS) -> None:
    with pytest.raises(error):
        check_receipt(receipt, keys)


def test_receipt_rejects_an_altered_record() -> None:
    log = _fund_log(13)
    base = log.receipt(6, 13)
    for path, value in (
        (("data", "amount"), 1),
        (("data", "memo"), "Trả nợ kỳ 7"),
        (("actor",), "chu-nhiem"),
        (("recorded_at",), "2026-03-05T08:07:00Z"),
        (("extra",), True),
    ):
        receipt = copy.deepcopy(base)
        target = receipt["record"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        _receipt_fails(InvalidReceipt, receipt)
        # Recomputing the leaf hashes to match does not help: the proof fails.
        leaf = leaf_hash(receipt["record"]).hex()
        receipt["leaf_hash"] = receipt["proof"]["leaf_hash"] = leaf
        _receipt_fails(InvalidProof, receipt)
    receipt = copy.deepcopy(base)
    del receipt["record"]["actor"]
    _receipt_fails(InvalidReceipt, receipt)


def test_receipt_rejects_inconsistent_parts() -> None:
    log = _fund_log(13)
    other_fund = _fund_log(13, "another-fund")
    base = log.receipt(6, 13)

    def changed(**edits: Any) -> dict[str, Any]:
        receipt = copy.deepcopy(base)
        for dotted, value in edits.items():
            *parents, last = dotted.split("__")
            target = receipt
            for key in parents:
                target = target[key]
            target[last] = value
        return receipt

    other_leaf = leaf_hash(log.records[6]).hex()
    _receipt_fails(InvalidReceipt, changed(leaf_hash=other_leaf))
    _receipt_fails(InvalidReceipt, changed(proof__leaf_hash=other_leaf))
    _receipt_fails(InvalidReceipt, changed(proof__sequence=7))
    _receipt_fails(InvalidReceipt, changed(proof__tree_size=12))
    _receipt_fails(InvalidReceipt, changed(proof__tree_size=0))
    _receipt_fails(InvalidReceipt, changed(leaf_hash=base["leaf_hash"].upper()))
    _receipt_fails(InvalidReceipt, changed(record__sequence=0))
    _receipt_fails(InvalidReceipt, changed(record__sequence="6"))
    _receipt_fails(InvalidReceipt, changed(record__fund_id=""))
    # A head over the right tree size but for another fund.
    _receipt_fails(InvalidReceipt, changed(head=other_fund.receipt(6, 13)["head"]))
    # A head for a different tree size than the proof.
    _receipt_fails(InvalidReceipt, changed(head=log.receipt(6, 12)["head"]))
    # Sizes agree but the proof is for another size (path for 12, head for 13).
    _receipt_fails(
        InvalidProof, changed(proof__audit_path=log.receipt(6, 12)["proof"]["audit_path"])
    )
    # The wrong leaf's proof, relabelled.
    _receipt_fails(
        InvalidProof, changed(proof__audit_path=log.receipt(7, 13)["proof"]["audit_path"])
    )
    path = base["proof"]["audit_path"]
    for position in range(len(path)):
        bad = list(path)
        bad[position] = _flip(bytes.fromhex(bad[position]), 3).hex()
        _receipt_fails(InvalidProof, changed(proof__audit_path=bad))
    _receipt_fails(InvalidProof, changed(proof__audit_path=path[:-1]))
    _receipt_fails(InvalidProof, changed(proof__audit_path=[*path, path[0]]))
    _receipt_fails(InvalidProof, changed(proof__audit_path=[p.upper() for p in path]))
    # A sequence beyond the signed tree: record 13 against a head of size 12.
    late = log.receipt(13, 13)
    late["proof"]["tree_size"] = 12
    late["head"] = log.receipt(1, 12)["head"]
    _receipt_fails(InvalidProof, late)
    # Head problems.
    _receipt_fails(UnknownKey, base, {ID_B: RAW_B})
    _receipt_fails(InvalidSignature, changed(head__root_hash=log.roots[12].hex()))
    _receipt_fails(InvalidSignature, changed(head__tree_size=12, proof__tree_size=12))
    _receipt_fails(InvalidSignature, changed(head__timestamp="2027-01-01T00:00:00Z"))
    # Missing or malformed parts.
    for key in ("record", "leaf_hash", "proof", "head"):
        _receipt_fails(InvalidReceipt, {k: v for k, v in base.items() if k != key})
    _receipt_fails(InvalidReceipt, changed(proof={"sequence": 6}))
    _receipt_fails(InvalidReceipt, changed(record=[1]))
    _receipt_fails(InvalidReceipt, [base])


def test_consistency_against_saved_head() -> None:
    log = _fund_log(13)
    fork_records = _records(13)
    fork_records[2]["data"]["amount"] = 1  # history rewritten at sequence 3
    fork = _fund_log_of(fork_records)

    def answer(first: int, second: int, store: Mapping[NodeId, bytes]) -> dict[str, Any]:
        return {
            "first": first,
            "second": second,
            "proof": hashes_to_hex(consistency_proof(first, second, store)),
        }

    saved = _head(5, log.roots[5])
    new = _head(13, log.roots[13], KEY_B)
    result = check_consistency_against_saved_head(saved, new, answer(5, 13, log.store), KEYS)
    assert (result.fund_id, result.first_size, result.second_size) == (FUND, 5, 13)
    assert (result.first_root, result.second_root) == (log.roots[5].hex(), log.roots[13].hex())
    check_consistency_against_saved_head(new, new, {"first": 13, "second": 13, "proof": []}, KEYS)

    def fails(error: type[Exception], saved_head: Any, new_head: Any, proof: Any) -> None:
        with pytest.raises(error):
            check_consistency_against_saved_head(saved_head, new_head, proof, KEYS)

    # The server rewrote record 3 after the auditor saved the size-5 head.
    forked = _head(13, fork.roots[13])
    fails(InvalidProof, saved, forked, answer(5, 13, fork.store))
    fails(InvalidProof, saved, forked, answer(5, 13, log.store))
    # Sizes in the answer must be the heads' sizes.
    fails(InvalidProof, saved, new, answer(4, 13, log.store))
    fails(InvalidProof, saved, new, {**answer(5, 13, log.store), "first": 0})
    fails(InvalidProof, saved, new, {**answer(5, 13, log.store), "second": 12})
    fails(InvalidProof, saved, new, {**answer(5, 13, log.store), "first": 5.0})
    fails(InvalidProof, saved, new, {**answer(5, 13, log.store), "first": True})
    # A saved empty head proves nothing; a shrinking log is a rollback.
    empty = _head(0, EMPTY_ROOT)
    fails(InvalidProof, empty, new, {"first": 0, "second": 13, "proof": []})
    fails(
        InvalidProof,
        new,
        saved,
        {"first": 13, "second": 5, "proof": answer(5, 13, log.store)["proof"]},
    )
    fails(InvalidProof, saved, _head(13, log.roots[13], fund="other"), answer(5, 13, log.store))
    tampered = answer(5, 13, log.store)
    tampered["proof"][0] = _flip(bytes.fromhex(tampered["proof"][0]), 9).hex()
    fails(InvalidProof, saved, new, tampered)
    fails(InvalidProof, saved, new, {**answer(5, 13, log.store), "proof": []})
    fails(InvalidSignature, {**saved, "tree_size": 6}, new, answer(6, 13, log.store))
    fails(
        InvalidSignature,
        saved,
        {**new, "root_hash": fork.roots[13].hex()},
        answer(5, 13, fork.store),
    )
    fails(
        UnknownKey,
        saved,
        _head(13, log.roots[13], Ed25519PrivateKey.from_private_bytes(b"\x09" * 32)),
        answer(5, 13, log.store),
    )
    fails(InvalidReceipt, saved, new, {"first": 5, "second": 13})
