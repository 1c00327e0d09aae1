"""Alerts service: the events that someone must know about become alerts, stored before
any delivery, grouped per recipient and delivered by email exactly once per message id."""
