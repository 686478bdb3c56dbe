"""The bottom layer: what every other package may build on (no framework, no database)."""
