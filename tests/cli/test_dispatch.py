"""`onemap dispatch deliver|check-overdue` and `onemap city-standin` wiring."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from pydantic import SecretStr

from cli.city import issue_demo_tasks, start_city_standin
from cli.context import CliContext
from cli.main import cli
from tests.factories.dispatch import World


def test_deliver_needs_configuration(settings) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["dispatch", "deliver", "--once"], obj=CliContext(settings=settings))
    assert result.exit_code != 0 and "CITY_CALLBACK_URL" in result.output


def test_standin_issues_tasks_and_worker_delivers_them(settings, world: World, live_url: str,
                                                       services) -> None:  # type: ignore[no-untyped-def]
    configured = settings.model_copy(update={"district_signing_key": SecretStr(world.district_private)})
    city = start_city_standin(configured, city_private_key_hex=world.city_private, district_url=live_url,
                              city_key_id=world.city_key_id)
    try:
        answers = issue_demo_tasks(city, count=2)
        assert [status for status, _ in answers] == [201, 201]
        ctx = CliContext(settings=configured.model_copy(update={"city_callback_url": city.callback_url}))
        ctx._services = services
        result = CliRunner().invoke(cli, ["dispatch", "deliver", "--once"], obj=ctx)
        assert result.exit_code == 0, result.output
        for _, body in answers:
            got = city.received_for(body["task"]["city_task_id"])
            assert [p["state"] for p in got] == ["issued"]
        assert city.rejected == []
        result = CliRunner().invoke(cli, ["dispatch", "check-overdue", "--once"], obj=ctx)
        assert result.exit_code == 0, result.output
    finally:
        city.stop()


def test_check_overdue_command_reminds(settings, world: World, services, client) -> None:  # type: ignore[no-untyped-def]
    title = f"超期-{uuid.uuid4().hex[:6]}"
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    task = client.post("/api/v1/dispatch/tasks", json={"title": title, "type": "other", "deadline": past},
                       headers=world.auth("commander")).get_json()["task"]
    ctx = CliContext(settings=settings)
    ctx._services = services
    result = CliRunner().invoke(cli, ["dispatch", "check-overdue", "--once"], obj=ctx)
    assert result.exit_code == 0 and "reminded" in result.output
    events = client.get(f"/api/v1/dispatch/tasks/{task['id']}/events", headers=world.auth("commander")).get_json()
    assert [e["kind"] for e in events["items"]] == ["created", "reminder"]
