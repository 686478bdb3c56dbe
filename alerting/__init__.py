"""Early-warning models, forecasts and their signals (framework-free domain code)."""
