"""The transmission chain of a warning event (case → contact → case), as nodes and edges for a graph view.

Pure: built from `ChainFacts` (loaded by fieldwork.chain_facts). Nodes are the event, its index cases (the
cases its investigations are about and the cases in its evidence), the contacts of its investigations and the
secondary cases (the case reports contacts became, `contact.became_case_id`). Edges: event → index case
(evidence), case → contact (the investigation of that case; a contact of an investigation of the event itself
hangs off the event), contact → case (became the case). A case that a contact became is a secondary case even
when it is also the subject of an investigation (its own contacts then chain on from it).

Contacts are labelled 密接1, 次密接1 … (numbered by degree in listing order) unless a name is given (only for
callers allowed to see identities in clear); cases are labelled by id and onset, never by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fieldwork.states import CONTACT_STATE_ZH

KIND_ZH = {"event": "预警事件", "index_case": "指示病例", "contact": "密切接触者", "secondary_case": "续发病例"}
DEGREE_ZH = {"close": "密接", "secondary": "次密接"}
EDGE_ZH = {"evidence": "事件证据", "exposure": "接触", "became_case": "转为病例"}


@dataclass(frozen=True)
class CaseFact:
    id: int
    onset_date: date | None = None
    disease_name: str | None = None


@dataclass(frozen=True)
class ContactFact:
    id: int
    investigation_id: int
    degree: str
    state: str
    became_case_id: int | None = None
    name: str | None = None  # only when the caller may see it in clear


@dataclass(frozen=True)
class ChainFacts:
    event_id: int
    title: str
    evidence_case_ids: tuple[int, ...] = ()
    investigation_cases: dict[int, int | None] = field(default_factory=dict)  # investigation id → its case id
    contacts: tuple[ContactFact, ...] = ()
    cases: dict[int, CaseFact] = field(default_factory=dict)  # every case named above that exists


def _case_node(case: CaseFact, kind: str) -> dict[str, Any]:
    onset = f"（发病 {case.onset_date.isoformat()}）" if case.onset_date else ""
    return {"id": f"case-{case.id}", "kind": kind, "kind_zh": KIND_ZH[kind], "label": f"病例{case.id}{onset}",
            "case_id": case.id, "contact_id": None, "degree": None, "state": None, "state_zh": None,
            "onset_date": case.onset_date, "disease": case.disease_name}


def _contact_nodes(contacts: tuple[ContactFact, ...]) -> list[dict[str, Any]]:
    numbers: dict[str, int] = {}
    nodes = []
    for c in sorted(contacts, key=lambda c: c.id):
        numbers[c.degree] = numbers.get(c.degree, 0) + 1
        label = c.name or f"{DEGREE_ZH.get(c.degree, '密接')}{numbers[c.degree]}"
        nodes.append({"id": f"contact-{c.id}", "kind": "contact", "kind_zh": KIND_ZH["contact"], "label": label,
                      "case_id": None, "contact_id": c.id, "degree": c.degree, "state": c.state,
                      "state_zh": CONTACT_STATE_ZH.get(c.state, c.state), "onset_date": None, "disease": None})
    return nodes


def _edge(source: str, target: str, kind: str, investigation_id: int | None = None) -> dict[str, Any]:
    return {"source": source, "target": target, "kind": kind, "kind_zh": EDGE_ZH[kind],
            "investigation_id": investigation_id}


def _case_ids(facts: ChainFacts) -> tuple[list[int], list[int]]:
    """(index case ids, secondary case ids) in order of first mention, among the cases that exist."""
    secondary = list(dict.fromkeys(c.became_case_id for c in facts.contacts
                                   if c.became_case_id is not None and c.became_case_id in facts.cases))
    named = [*facts.investigation_cases.values(), *facts.evidence_case_ids]
    index = [i for i in dict.fromkeys(named) if i is not None and i in facts.cases and i not in secondary]
    return index, secondary


def _edges(facts: ChainFacts, index: list[int], root: str) -> list[dict[str, Any]]:
    edges = [_edge(root, f"case-{i}", "evidence") for i in index]
    for c in sorted(facts.contacts, key=lambda c: c.id):
        subject = facts.investigation_cases.get(c.investigation_id)
        source = f"case-{subject}" if subject is not None and subject in facts.cases else root
        edges.append(_edge(source, f"contact-{c.id}", "exposure", c.investigation_id))
        if c.became_case_id is not None and c.became_case_id in facts.cases:
            edges.append(_edge(f"contact-{c.id}", f"case-{c.became_case_id}", "became_case", c.investigation_id))
    return edges


def build_chain(facts: ChainFacts) -> dict[str, Any]:
    """Nodes and edges of the event's transmission chain, with counts per node kind."""
    root = f"event-{facts.event_id}"
    index, secondary = _case_ids(facts)
    nodes = [{"id": root, "kind": "event", "kind_zh": KIND_ZH["event"], "label": facts.title, "case_id": None,
              "contact_id": None, "degree": None, "state": None, "state_zh": None, "onset_date": None,
              "disease": None},
             *(_case_node(facts.cases[i], "index_case") for i in index),
             *_contact_nodes(facts.contacts),
             *(_case_node(facts.cases[i], "secondary_case") for i in secondary)]
    counts = {"index_cases": len(index), "contacts": len(facts.contacts), "secondary_cases": len(secondary)}
    return {"event_id": facts.event_id, "title": facts.title, "nodes": nodes,
            "edges": _edges(facts, index, root), "counts": counts}
