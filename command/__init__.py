"""Emergency command: decision support, coverage, stock and duty roster (framework-free)."""
