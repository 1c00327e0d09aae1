"""Rollup service: interlaced read models, waning progress, support cases (issue 4; empty)."""
