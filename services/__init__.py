"""The SPN services: plans, status, rollup and alerts, each its own process."""
