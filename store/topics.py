"""What a committed change can affect, as topics: an answer is recomputed only when one of its topics changed.

Each change event bumps the version of its topics (ingest.events keeps them in Redis); each cached
question names the kinds of data it reads (layers.base.Layer.depends_on, the monitor summary) and
reads the versions of their topics before it computes. Case answers are split by district, since
they are scoped and filtered by district: a new case in district A leaves district B's answers alone;
layers that count cases by onset date within the question's period (CASES_BY_ONSET) are split by
onset day as well, so a new case of today leaves a playback of last month alone.

Safe defaults: an event of a kind not listed here bumps ANY, which every question depends on; a
question that declares nothing depends on every change (its version is the last event id).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date

from store.changes import ChangeEvent

ANY = "*"  # bumped by events of unknown kinds; every question reads it
CASES = "cases"
CASES_BY_ONSET = "cases@onset"  # case reports whose onset date lies in the question's period
SIGNALS = "signals"
TEAMS = "teams"
TASKS = "tasks"
INCIDENTS = "incidents"
RESOURCES = "resources"
LABS = "labs"
SYNDROMIC = "syndromic"
ASSIST = "assist"  # 跨地区协查 requests (assist.live)
FIELDWORK = "fieldwork"  # 流调: investigations, exposure places, contacts (the fieldwork API)
INSTITUTIONS = "institutions"  # institutions, regions, diseases: bulk-loaded only (the generation bump)


def feed(kind: str) -> str:
    """The topic of another department's feed, e.g. feeds:school_absence."""
    return f"feeds:{kind}"


# Change event kind → the topic of the data it changes (publishers: ingest.writers, feeds.writers,
# alerting.service, dispatch.service, command.actions, the command API and page).
EVENT_TOPICS: dict[str, str] = {
    "case_report": CASES,
    "lab_result": LABS,
    "syndromic_count": SYNDROMIC,
    "team_position": TEAMS,
    "team": TEAMS,
    "stock": RESOURCES,
    "task": TASKS,
    "incident": INCIDENTS,
    "signal": SIGNALS,
    "assist": ASSIST,
    "investigation": FIELDWORK,
    **{k: feed(k) for k in ("school_absence", "drug_sales", "weather_daily", "opinion_item")},
}
# Topics whose answers are split by district (a question narrowed to districts reads only theirs).
BY_DISTRICT = frozenset({CASES})
MAX_DAY_TOPICS = 62  # a question over more (districts × days) reads the district topics instead


def _all_districts(topic: str) -> str:
    """Bumped by a change whose district is unknown or may have moved: every district's answers."""
    return f"{topic}:{ANY}"


def _onset(event: ChangeEvent) -> str | None:
    value = event.fields.get("onset_date")
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) else None
    except ValueError:
        return None


def event_topics(event: ChangeEvent) -> frozenset[str]:
    """The topics `event` can affect.

    A district-split topic gets its district's (and onset day's) topics only for a created record
    with a district and an onset date; an update or deletion may have moved the record from another
    district or day, so it reaches all of them.
    """
    topic = EVENT_TOPICS.get(event.kind)
    if topic is None:
        return frozenset({ANY})
    if topic not in BY_DISTRICT:
        return frozenset({topic})
    onset = _onset(event)
    if event.action != "created" or not event.district_code or onset is None:
        return frozenset({topic, _all_districts(topic)})
    district = event.district_code[:6]
    return frozenset({topic, f"{topic}:{district}", f"{topic}@{onset}", f"{topic}:{district}@{onset}"})


def question_topics(depends_on: Iterable[str], districts: Collection[str] | None,
                    days: Collection[date] | None = None) -> frozenset[str]:
    """The topics of a question reading `depends_on`, narrowed to `districts` (None: every district)
    and, for topics read by onset date (`<topic>@onset`), to the onset `days` of its period."""
    out = {ANY}
    for declared in depends_on:
        topic, _, basis = declared.partition("@")
        if topic not in BY_DISTRICT:
            out.add(declared)
            continue
        by_day = sorted(d.isoformat() for d in days) if basis and days is not None else None
        if by_day is not None and len(by_day) * (len(districts) if districts is not None else 1) > MAX_DAY_TOPICS:
            by_day = None
        if districts is None and by_day is None:
            out.add(topic)  # every event of the topic bumps it
            continue
        out.add(_all_districts(topic))
        if by_day is None:
            out.update(f"{topic}:{d}" for d in districts or ())
        elif districts is None:
            out.update(f"{topic}@{day}" for day in by_day)
        else:
            out.update(f"{topic}:{d}@{day}" for d in districts for day in by_day)
    return frozenset(out)
