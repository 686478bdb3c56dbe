"""Lazily built services shared by the commands of one CLI invocation."""
from __future__ import annotations

from dataclasses import dataclass, field

import click

from config import Settings, load_settings
from config.runtime import Services, build_services


@dataclass
class CliContext:
    settings: Settings = field(default_factory=load_settings)
    _services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = build_services(self.settings, pool_size=4)
        return self._services


pass_ctx = click.make_pass_decorator(CliContext, ensure=True)
