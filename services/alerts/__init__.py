"""Alerts service: routes and delivers alerts to liaisons (a later issue; empty for now)."""
