"""The transmission chain (case → contact → case) built from facts: nodes, edges, masking (pure, no database)."""
from __future__ import annotations

from datetime import date

from fieldwork.chain import CaseFact, ChainFacts, ContactFact, build_chain

# Event 7: evidence cases 1 and 2; investigation 10 is about case 1, investigation 11 about the event itself.
# Contact 100 (close, of case 1) became case 3; contact 101 (secondary, of case 1) is observing; contact 102
# (close, event's investigation) became case 4, which is investigated too (investigation 12) with contact 103.
CASES = {i: CaseFact(i, date(2026, 3, i)) for i in (1, 2, 3, 4)}
FACTS = ChainFacts(
    event_id=7, title="某幼儿园聚集", evidence_case_ids=(1, 2, 99), investigation_cases={10: 1, 11: None, 12: 4},
    contacts=(ContactFact(100, 10, "close", "became_case", 3), ContactFact(101, 10, "secondary", "observing"),
              ContactFact(102, 11, "close", "became_case", 4), ContactFact(103, 12, "close", "pending")),
    cases=CASES)


def _by_id(chain: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {n["id"]: n for n in chain["nodes"]}


def test_nodes_are_the_event_index_cases_contacts_and_secondary_cases() -> None:
    chain = build_chain(FACTS)
    kinds = {n["id"]: n["kind"] for n in chain["nodes"]}
    assert kinds == {"event-7": "event", "case-1": "index_case", "case-2": "index_case", "contact-100": "contact",
                     "contact-101": "contact", "contact-102": "contact", "contact-103": "contact",
                     "case-3": "secondary_case", "case-4": "secondary_case"}  # case 99 does not exist: left out
    assert chain["counts"] == {"index_cases": 2, "contacts": 4, "secondary_cases": 2}
    assert _by_id(chain)["case-1"]["label"] == "病例1（发病 2026-03-01）"


def test_edges_run_case_to_contact_to_case() -> None:
    edges = {(e["source"], e["target"], e["kind"]) for e in build_chain(FACTS)["edges"]}
    assert edges == {
        ("event-7", "case-1", "evidence"), ("event-7", "case-2", "evidence"),
        ("case-1", "contact-100", "exposure"), ("case-1", "contact-101", "exposure"),
        ("event-7", "contact-102", "exposure"),  # the event's own investigation hangs off the event
        ("contact-100", "case-3", "became_case"), ("contact-102", "case-4", "became_case"),
        ("case-4", "contact-103", "exposure"),  # the secondary case's own contacts chain on
    }


def test_contacts_are_numbered_by_degree_unless_named() -> None:
    nodes = _by_id(build_chain(FACTS))
    labels = [nodes[f"contact-{i}"]["label"] for i in (100, 101, 102, 103)]
    assert labels == ["密接1", "次密接1", "密接2", "密接3"]
    assert nodes["contact-101"]["state_zh"] == "医学观察"
    named = ChainFacts(event_id=7, title="t", investigation_cases={10: 1}, cases=CASES,
                       contacts=(ContactFact(100, 10, "close", "traced", name="张三"),))
    assert _by_id(build_chain(named))["contact-100"]["label"] == "张三"


def test_an_event_without_investigations_is_its_evidence_only() -> None:
    chain = build_chain(ChainFacts(event_id=8, title="t", evidence_case_ids=(2,), cases=CASES))
    assert [n["id"] for n in chain["nodes"]] == ["event-8", "case-2"]
    assert chain["counts"] == {"index_cases": 1, "contacts": 0, "secondary_cases": 0}
