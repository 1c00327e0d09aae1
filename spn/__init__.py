"""The ``spn`` command line and the local stack (NATS, PostgreSQL, services)."""
