"""Plans service: organizations and their improvement plans, on an event store."""
