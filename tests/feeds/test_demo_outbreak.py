"""In the demo, the planted diarrhoea outbreak in 仙霞新村街道 is signalled from school absenteeism before
the case reports signal it; the feed signals enter the signal loop with their origin and department."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from alerting.config import WarnConfig
from alerting.runner import RunReport, collect_alarms, run_all
from demo.feeds import LEAD_DAYS
from demo.outbreaks import OUTBREAKS
from feeds.warning import feed_alarm_source, feed_alarms
from geo.db import session_scope
from store.accounts import Setting
from store.signals import Signal

pytestmark = pytest.mark.slow
OUTBREAK = next(o for o in OUTBREAKS if o.key == "current-diarrhoea-xianxia")
CASE_MODELS = ("count_threshold", "moving_percentile", "cusum")  # models on case reports (not syndromic EARS)


@pytest.fixture(scope="module")
def demo_end(demo_data, services) -> date:  # type: ignore[no-untyped-def]
    """The demo's last day (the seed includes the feeds)."""
    with services.session_factory() as s:
        return date.fromisoformat(s.get(Setting, "demo.seeded").value["end"])


def _first(days: list[date], hit) -> date | None:  # type: ignore[no-untyped-def]
    return next((d for d in days if hit(d)), None)


def test_absenteeism_signals_before_case_reports(services, demo_end):  # type: ignore[no-untyped-def]
    first_onset = demo_end - timedelta(days=OUTBREAK.starts_days_before_end)
    days = [first_onset - timedelta(days=5) + timedelta(days=k) for k in range(16)]
    cfg = WarnConfig()
    with services.session_factory() as s:
        def school_alarm(d: date) -> bool:
            return any(a.source_dept == "education" and a.alarm.region_code == OUTBREAK.street_code
                       and a.alarm.evidence["group"] == "gastrointestinal"
                       for a in feed_alarms(s, as_of=d, district_code="310105", config=cfg))

        def case_alarm(d: date) -> bool:
            report = RunReport(as_of=d, district_code="310105")
            return any(a.region_code == OUTBREAK.street_code and a.disease_code == OUTBREAK.disease_code
                       for a in collect_alarms(s, as_of=d, district_code="310105", cfg=cfg, report=report,
                                               models=CASE_MODELS))

        # Alarms before the outbreak's absences (school) or first cases (case reports) are background noise,
        # whose days depend on the demo's end date; the outbreak's own signals are compared.
        school_day = _first([d for d in days if d >= first_onset - timedelta(days=LEAD_DAYS)], school_alarm)
        case_day = _first([d for d in days if d >= first_onset], case_alarm)
    print(f"\nfirst onset {first_onset}; absenteeism (gastrointestinal) signal {school_day}; "
          f"first case-report signal {case_day}")
    assert school_day is not None and case_day is not None
    assert school_day < case_day


def test_feed_signals_enter_the_loop(services, demo_end):  # type: ignore[no-untyped-def]
    post_day = demo_end - timedelta(days=4)
    raised: list[int] = []
    with session_scope(services.session_factory) as s:
        for back in range(8, 3, -1):  # the week of the outbreak's peak, up to the day of the parents' post
            raised += _feed_run(s, demo_end - timedelta(days=back)).signal_ids
    with services.session_factory() as s:
        signals = s.scalars(select(Signal).where(Signal.id.in_(raised))).all()
    by_dept = {(sig.origin, sig.source_dept) for sig in signals}
    print(f"\n{len(signals)} feed signals up to {post_day}: {sorted(by_dept)}")
    assert ("opinion", "opinion") in by_dept
    opinion = next(sig for sig in signals if sig.origin == "opinion")
    assert opinion.disease_code == "diarrhoea" and opinion.region_code == OUTBREAK.street_code
    assert opinion.evidence["matched_word"] in ("呕吐", "腹泻") and opinion.state == "new"
    assert all(sig.origin in ("department", "opinion") for sig in signals)
    assert any(sig.source_dept == "pharmacy" and sig.region_code == OUTBREAK.street_code for sig in signals)
    # running the same day again changes nothing
    with session_scope(services.session_factory) as s:
        again = _feed_run(s, post_day)
    assert again.unchanged > 0 and again.created == again.refired == 0


def _feed_run(session, day):  # type: ignore[no-untyped-def]
    """Only the feeds' detectors, raised through the warning runner as in the daily run."""
    return run_all(session, as_of=day, district_code="310105", models=(), sources=[feed_alarm_source])
