"""Ops users with roles, maker-checker changes and the audit log."""
