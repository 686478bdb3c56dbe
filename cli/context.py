"""Lazily built services shared by the commands of one CLI invocation."""
from __future__ import annotations

from dataclasses import dataclass, field

import click

from config import Settings, load_settings
from config.runtime import Services, build_services
from config.settings import MissingSecretError


@dataclass
class CliContext:
    settings: Settings = field(default_factory=load_settings)
    _services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            try:
                self._services = build_services(self.settings, pool_size=4)
            except MissingSecretError as exc:
                raise click.ClickException(str(exc)) from None
        return self._services

    def announce_bulk_change(self) -> None:
        """Tell every web process that cached answers predate this load (seed, imports)."""
        from ingest.events import announce_bulk_change

        try:
            announce_bulk_change(self.services.redis, self.settings.redis_namespace)
        except Exception as exc:  # noqa: BLE001 - the load itself succeeded; cached answers expire anyway
            click.echo(f"warning: could not announce the change to web processes ({exc})", err=True)


pass_ctx = click.make_pass_decorator(CliContext, ensure=True)
