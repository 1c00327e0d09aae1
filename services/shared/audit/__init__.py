"""Tamper evidence: a Merkle tree over each service's event log, signed checkpoints."""
