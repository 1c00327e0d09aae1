"""The status domain: each plan's progress from its action reports; Tool A figures."""
