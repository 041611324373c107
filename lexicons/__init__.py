"""Bundled rule lexicons (data only)."""
