"""`onemap exchange send|kpis` with the city stand-in that `onemap city-standin` runs."""
from __future__ import annotations

import json
import uuid

from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import text

from cli.city import start_city_standin
from cli.context import CliContext
from cli.main import cli
from exchange.standin import EXCHANGE_PATH
from tests.factories.dispatch import World


def test_send_needs_configuration(settings) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["exchange", "send", "--once"], obj=CliContext(settings=settings))
    assert result.exit_code != 0 and "CITY_EXCHANGE_URL" in result.output


def test_a_new_case_report_reaches_the_standin_city(settings, world: World, live_url: str,
                                                   services) -> None:  # type: ignore[no-untyped-def]
    configured = settings.model_copy(update={"district_signing_key": SecretStr(world.district_private),
                                             "city_key_id": world.city_key_id})
    city = start_city_standin(configured, city_private_key_hex=world.city_private, district_url=live_url,
                              city_key_id=world.city_key_id)
    code = f"X{uuid.uuid4().hex[:6]}"
    with services.session_factory() as s, s.begin():
        s.execute(text("INSERT INTO disease (code, name, name_en, klass, single_case, category) "
                       "VALUES (:c, '测试病', 'test', '乙', false, 'respiratory')"), {"c": code})
        s.execute(text("DELETE FROM exchange_outbox"))
        s.execute(text("""INSERT INTO case_report (source_id, disease_code, onset_date, diagnosis_time, report_time,
                                                   district_code, outcome, case_type, source_version)
                          VALUES (:s, :c, current_date - 1, now() - interval '2 hours', now() - interval '1 hour',
                                  :d, 'under_treatment', 'confirmed', 1)"""),
                  {"s": f"T:{code}", "c": code, "d": configured.district_code})
    try:
        ctx = CliContext(settings=configured.model_copy(update={"city_exchange_url": city.url + EXCHANGE_PATH}))
        ctx._services = services
        result = CliRunner().invoke(cli, ["exchange", "send", "--once"], obj=ctx)
        assert result.exit_code == 0 and "delivered 1," in result.output, result.output
        receiver = city.routes[EXCHANGE_PATH].__self__  # type: ignore[attr-defined]
        assert [h.record["disease_code"] for h in receiver.held.values()] == [code]
        result = CliRunner().invoke(cli, ["exchange", "kpis", "--days", "1"], obj=ctx)
        assert result.exit_code == 0, result.output
        figures = json.loads(result.output)
        assert figures["totals"]["success"] == 1.0 and figures["stale"] is False
    finally:
        city.stop()
