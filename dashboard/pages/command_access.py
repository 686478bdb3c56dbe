"""Who the command page's callbacks answer: a user of a role that may read the command data, else nobody."""
from __future__ import annotations

from dash.exceptions import PreventUpdate

from accounts.principal import Principal
from dashboard.api.command import READ_ROLES
from dashboard.auth import current_principal


def reader() -> Principal:
    """The signed-in user, if their role may read the command page; otherwise the callback does nothing."""
    principal = current_principal()
    if principal is None or principal.role not in READ_ROLES:
        raise PreventUpdate
    return principal
