"""A shared cache of layer and indicator answers, keyed by the version of the data.

Every committed change publishes an event on `<ns>:events` after its commit, bumping the versions of
the topics it can affect, and bulk loaders bump `<ns>:events:generation` (see `ingest.events`,
`store.topics`). An answer is stored under (the versions of its question's topics, generation,
today's date, the caller's scope, the request): the versions are read before computing, so a screen
never gets an answer computed before a change it could already have heard of, while changes to other
data (a live feed of team positions) leave it a hit. A question that names no topics (a plain str)
depends on every change (the last event id). Writes that announce nothing are bounded by the TTL.

Many screens ask the same question at once (a video wall, a command room, 50 browsers after a new
signal): one thread per process computes, the others wait for its answer. And at most COMPUTE_SLOTS
answers are computed at once per process, the other questions queue: computing is mostly Python holding
the GIL, and with dozens of threads computing, every thread's database and Redis round trips (the
audit trail's appends among them) waited several GIL switch intervals each; with 2 cores, more at once
is not faster (bench/RESULTS.md, the layer API with every request a new question).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis as redis_lib

from accounts.principal import CITY_CODE, Principal
from ingest.events import topic_versions
from layers.base import LayerFilters, today_cst
from layers.registry import get_layer
from store import topics

log = logging.getLogger(__name__)
DEFAULT_TTL_SECONDS = 60
COMPUTE_SLOTS = 4  # answers computed at once per process (2-4 measured alike on 2 cores; 64 threads: worse)


@dataclass(frozen=True)
class Answer:
    """A JSON answer as bytes, with an ETag that changes whenever the data or the question does."""

    body: bytes
    etag: str
    cached: bool
    # The data version it was computed at: every change announced up to it is in the answer ("" when unknown).
    version: str = ""


def scope_key(principal: Principal) -> str:
    """What an answer may depend on about its caller: role, region, institution, right to unmask."""
    return f"{principal.role}|{principal.region_code}|{principal.institution_id}|{int(principal.can_unmask_pii)}"


class Question(str):
    """A cache question that also names the data its answer reads (store.topics) and its filters.

    It is the question's text for everything else, so callers pass it where a str is expected.
    """

    depends_on: tuple[str, ...]
    filters: LayerFilters

    def __new__(cls, text: str, depends_on: Iterable[str], filters: LayerFilters) -> Question:
        question = super().__new__(cls, text)
        question.depends_on, question.filters = tuple(depends_on), filters
        return question


def layer_question(layer_id: str, filters: LayerFilters) -> str:
    """The cache question of a layer request: the API and the pages share its answers."""
    return reads_layer(f"layer:{layer_id}?{filters.model_dump_json()}", layer_id, filters)


def reads_layer(text: str, layer_id: str, filters: LayerFilters) -> str:
    """The question `text` (e.g. one vector tile's) whose answer reads layer `layer_id` with `filters`."""
    layer = get_layer(layer_id)
    if layer is None or layer.depends_on is None:
        return text  # depends on every change
    return Question(text, layer.depends_on, filters)


def summary_question(filters: LayerFilters) -> str:
    """The cache question of the monitor summary (KPIs, QC, top diseases, epidemic curve)."""
    return Question(f"monitor-summary?{filters.model_dump_json()}", (topics.CASES, topics.SIGNALS), filters)


_DISTRICT_RE = re.compile(r"^\d{6}$")


def districts_in_view(principal: Principal, region: str | None) -> frozenset[str] | None:
    """The districts whose data an answer can contain, or None when it may contain any district's.

    A district's users see only its data (accounts.scope); a city user asking about one district sees
    only that one. Institution users see their institution's records wherever the patient lives, and
    streets, grid cells and institutions are not mapped to districts here: any district.
    """
    if principal.role == "institution_user":
        return None
    if not principal.is_city:
        return frozenset({str(principal.district_code)})
    if region is not None and _DISTRICT_RE.match(region) and region != CITY_CODE:
        return frozenset({region})
    return None


def question_topics(question: str, principal: Principal) -> frozenset[str] | None:
    """The topics whose changes can alter the answer to `question` for `principal` (None: every change)."""
    if not isinstance(question, Question):
        return None
    since, until = question.filters.period()  # the period every layer reading cases by onset counts
    span = (until - since).days + 1
    days = [since + timedelta(days=n) for n in range(span)] if span <= topics.MAX_DAY_TOPICS else None
    return topics.question_topics(question.depends_on, districts_in_view(principal, question.filters.region), days)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the API has always answered (dates are ISO strings); bytes (vector tiles) as given."""
    if isinstance(value, bytes):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _as_bytes(reply: bytes | str | None) -> bytes | None:
    """A Redis GET reply as bytes (the client has no decode_responses, so it already is; typed bytes | str)."""
    return reply.encode() if isinstance(reply, str) else reply


class AnswerCache:
    """Answers in Redis under `<ns>:answer:<digest>`, computed once per data version."""

    def __init__(self, redis: redis_lib.Redis, namespace: str, ttl_seconds: int = DEFAULT_TTL_SECONDS,
                 compute_slots: int = COMPUTE_SLOTS) -> None:
        self.redis, self.namespace, self.ttl = redis, namespace, ttl_seconds
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._slots = threading.BoundedSemaphore(compute_slots)

    def answer(self, question: str, principal: Principal, compute: Callable[[], Any]) -> Answer:
        """The cached answer to `question` for `principal`, computing and storing it when missing.

        `question` must name everything the answer depends on apart from the caller and the data
        (e.g. the path and the validated filters). Redis trouble never fails a request: it computes.
        """
        if self.ttl <= 0:  # cache turned off (ANSWER_CACHE_SECONDS=0)
            body = dumps(compute())
            return Answer(body, _etag(body), cached=False)
        try:
            version, stamp = self._versions(question, principal)
            key = self._key(question, principal, stamp)
            hit = _as_bytes(self.redis.get(key))
        except redis_lib.RedisError as exc:
            log.warning("answer cache unavailable (%s); computing directly", exc)
            body = dumps(compute())
            return Answer(body, _etag(body), cached=False)
        if hit is not None:
            return Answer(hit, _etag_of_key(key), cached=True, version=version)
        with self._lock_for(key) as waited:
            hit = self._get(key) if waited else None  # another thread may have answered while we waited
            if hit is not None:
                return Answer(hit, _etag_of_key(key), cached=True, version=version)
            with self._slots:
                body = dumps(compute())
            self._set(key, body)
        return Answer(body, _etag_of_key(key), cached=False, version=version)

    def _versions(self, question: str, principal: Principal) -> tuple[str, str]:
        """(the data version, "<last event id>/<generation>"; the stamp the answer is stored under).

        The stamp is the generation and the versions of the question's topics, read together with the
        last event id before computing: every change announced up to that id is in them.
        """
        wanted = question_topics(question, principal)
        last_id, gen, versions = topic_versions(self.redis, self.namespace, wanted or ())
        if wanted is None:
            return f"{last_id}/{gen}", f"{last_id}/{gen}"
        return f"{last_id}/{gen}", f"{gen}/" + ",".join(f"{t}={v}" for t, v in sorted(versions.items()))

    def _key(self, question: str, principal: Principal, stamp: str) -> str:
        raw = f"{stamp}\n{today_cst().isoformat()}\n{scope_key(principal)}\n{question}"
        return f"{self.namespace}:answer:{hashlib.sha1(raw.encode()).hexdigest()}"

    def _lock_for(self, key: str) -> _KeyLock:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        return _KeyLock(self, key, lock)

    def _release(self, key: str) -> None:
        with self._guard:
            self._locks.pop(key, None)

    def _get(self, key: str) -> bytes | None:
        try:
            return _as_bytes(self.redis.get(key))
        except redis_lib.RedisError:
            return None

    def _set(self, key: str, body: bytes) -> None:
        try:
            self.redis.set(key, body, ex=self.ttl)
        except redis_lib.RedisError as exc:
            log.warning("answer cache: could not store (%s)", exc)


class _KeyLock:
    """Holds the per-key lock; the last holder removes it so the lock table stays small."""

    def __init__(self, cache: AnswerCache, key: str, lock: threading.Lock) -> None:
        self.cache, self.key, self.lock = cache, key, lock

    def __enter__(self) -> bool:
        """Take the lock; True when another thread held it (and may have stored the answer meanwhile)."""
        if self.lock.acquire(blocking=False):
            return False
        self.lock.acquire()
        return True

    def __exit__(self, *exc: object) -> None:
        self.cache._release(self.key)
        self.lock.release()


def _etag_of_key(key: str) -> str:
    return key.rsplit(":", 1)[-1][:20]


def _etag(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()[:20]
