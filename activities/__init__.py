"""Temporal activities: one class per external system or concern, clients injected."""
