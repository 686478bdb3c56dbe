"""Deterministic demo data: Changning in detail, the other 15 districts at district level."""
