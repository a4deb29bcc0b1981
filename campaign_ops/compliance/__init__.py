"""Compliance evidence."""
