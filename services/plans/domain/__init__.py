"""The plans domain: aggregates and rules. Imports no adapters, settings or contracts."""
