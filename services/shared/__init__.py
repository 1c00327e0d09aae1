"""Infrastructure every service shares: settings base, event store config, relay, HTTP."""
