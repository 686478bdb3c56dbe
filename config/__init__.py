"""Settings read once from the environment (and `*_FILE` for secrets)."""
from config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
