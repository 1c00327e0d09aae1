"""The audit log's Merkle tree (RFC 9162) and signed checkpoints (C2SP), pure: roots and
proofs against a direct transcription of the RFC's definitions, for every size to 70."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.shared.audit.checkpoint import CheckpointError, sign, verifier_key, verify
from services.shared.audit.merkle import (
    Frontier,
    Levels,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
    root_from_inclusion,
)


def mth(data: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, as written."""
    if len(data) == 1:
        return leaf_hash(data[0])
    k = largest_power_of_two_below(len(data))
    return node_hash(mth(data[:k]), mth(data[k:]))


def test_roots_and_every_inclusion_proof_for_every_size_to_70():
    data = [bytes([n]) for n in range(70)]
    levels = Levels([leaf_hash(d) for d in data])
    frontier = Frontier()
    for size in range(1, 71):
        frontier.append(leaf_hash(data[size - 1]))
        expected = mth(data[:size])
        assert levels.root(size) == frontier.root() == expected
        for index in range(size):
            path = levels.inclusion_path(index, size)
            assert root_from_inclusion(index, size, leaf_hash(data[index]), path) == expected
    wrong = levels.inclusion_path(3, 70)
    assert root_from_inclusion(3, 70, leaf_hash(b"not it"), wrong) != levels.root()


def test_a_checkpoint_verifies_with_its_key_and_not_changed_or_with_another():
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signed = sign("spn/test/plans", 5, b"\x07" * 32, key, "spn/test/plans")
    root = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
    assert signed.note.split("\n")[:4] == ["spn/test/plans", "5", root, ""]
    found = verify(signed.note, verifier_key("spn/test/plans", key))
    assert (found.size, found.root) == (5, b"\x07" * 32)
    with pytest.raises(CheckpointError):
        verify(signed.note.replace("\n5\n", "\n6\n"), verifier_key("spn/test/plans", key))
    with pytest.raises(CheckpointError):
        verify(signed.note, verifier_key("spn/test/plans", other))


def test_a_builder_that_finds_fewer_leaves_than_it_signed_refuses_to_sign():
    """Leaves deleted behind the service: its tree is smaller than a signed checkpoint."""
    from services.shared.audit.builder import AuditBuilder
    from services.shared.audit.checkpoint import AuditError

    class Store:
        def checkpoints(self) -> list[dict]:
            return [{"tree_size": 3, "root_hash": b"\x00" * 32}]

        def leaf_hashes(self) -> list[bytes]:
            return [leaf_hash(b"a"), leaf_hash(b"b")]

    builder = AuditBuilder(Store(), Ed25519PrivateKey.generate(), "spn/test/plans")  # type: ignore[arg-type]
    with pytest.raises(AuditError, match="leaves were removed"):
        builder.sign_now()
