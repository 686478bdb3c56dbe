"""Dash screens: each module exposes `PATH`, `TITLE`, `layout(query)` and `register(dash_app)`."""
from dashboard.embed import EMBED_PAGES
from dashboard.pages import assists, command, exchange, monitor, signals, tasks

PAGES = {module.PATH: module for module in (monitor, command, tasks, signals, exchange, assists, *EMBED_PAGES)}
