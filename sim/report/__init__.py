"""Reporting: one figure style, figure functions over tidy tables, the report command."""
