"""A stand-in city platform (real HTTP server) for tests and the demo."""
from dispatch.standin.city import CityStandin, Received

__all__ = ["CityStandin", "Received"]
