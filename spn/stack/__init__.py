"""Running the stack on this machine: embedded NATS and PostgreSQL, service processes."""
