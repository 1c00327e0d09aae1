"""Grafana boards as code, and proving their queries against a Prometheus."""
