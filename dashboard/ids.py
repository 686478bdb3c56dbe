"""Component ids shared by layouts and callbacks."""
URL = "url"
PAGE = "page-content"
