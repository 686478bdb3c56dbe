"""Core geodata: SRID policy, CRS conversion, database session factory."""
