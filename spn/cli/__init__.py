"""The ``spn`` command line."""
