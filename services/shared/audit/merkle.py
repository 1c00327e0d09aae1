"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0, section 2.1) over a
service's event log: leaves are SHA-256(0x00 || canonical event), nodes SHA-256(0x01 ||
left || right); a tree of n leaves splits at the largest power of two below n. Pure
functions; ``Levels`` holds every perfect subtree's hash so a proof costs O(log² n)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any


def canonical(notification_id: int, originator_id: str, version: int, topic: str,
              state: bytes) -> bytes:  # fmt: skip
    """One stored event as the bytes its leaf hashes: sorted-key JSON, no spaces, the
    state base64 (so an auditor can rebuild it from an export)."""
    return json.dumps({"id": notification_id, "originator_id": originator_id,
                       "originator_version": version, "topic": topic,
                       "state": base64.b64encode(state).decode()},
                      sort_keys=True, separators=(",", ":")).encode()  # fmt: skip


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


class Levels:
    """Every perfect subtree's hash: ``levels[h][i]`` covers leaves i·2^h to (i+1)·2^h - 1."""

    def __init__(self, leaves: Sequence[bytes]):
        self.size = len(leaves)
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1])
                                for i in range(0, len(below) - 1, 2)])  # fmt: skip

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end) (RFC 9162 2.1.1), from the perfect parts."""
        n = end - start
        if n == 1:
            return self.levels[0][start]
        height = n.bit_length() - 1
        if n == 1 << height and start % n == 0:
            return self.levels[height][start >> height]
        k = largest_power_of_two_below(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if size == 0:
            return hashlib.sha256(b"").digest()
        return self.subtree(0, size)

    def inclusion_path(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 2.1.3.1: the siblings, leaf to root."""
        size = self.size if size is None else size
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        return self._path(index, 0, size)

    def _path(self, index: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if index < start + k:
            return [*self._path(index, start, start + k), self.subtree(start + k, end)]
        return [*self._path(index, start + k, end), self.subtree(start, start + k)]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root a leaf and its path give (RFC 9162 2.1.3.2); compare with a checkpoint."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("the path is longer than the tree")
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the path is shorter than the tree")
    return r


def proof_json(index: int, size: int, path: Sequence[bytes]) -> dict[str, Any]:
    return {"leaf_index": index, "tree_size": size,
            "path": [base64.b64encode(p).decode() for p in path]}  # fmt: skip


class Frontier:
    """The right edge of a growing tree: the perfect subtrees of its binary decomposition
    (at most 64), enough to append a leaf and give the root, in O(log n)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (height, hash), tallest first

    def append(self, leaf: bytes) -> None:
        height, node = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            node = node_hash(self._stack.pop()[1], node)
            height += 1
        self._stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        found = self._stack[-1][1]
        for _, subtree in reversed(self._stack[:-1]):
            found = node_hash(subtree, found)
        return found
