"""Status service: monthly action status reports in, slips out (built in issue 3; empty for now)."""
