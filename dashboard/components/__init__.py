"""Reusable pieces of the Dash screens (the video-wall shell, panels)."""
