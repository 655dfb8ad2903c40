"""The story stage over the store: every stored article without a story gets one. The index is
seeded with the articles of the last weeks that have theirs, so a new article joins an old story
or starts one (its own id becomes the story's id); nothing assigned is re-clustered. Run after a
feed pass (the CLI, the daemon) or as a job (the distributed deployment, one at a time).

Where translation is on, an article waiting for its translation waits for its story too, up to
``TRANSLATION_WAIT`` after its fetch: the English title (and text, where translated) join its
evidence, so a name the name table lacks, or a Swedish article with no Latin-script name but its
English words, can still find the story it belongs to. Past the wait it is placed without."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection

from .settings import TranslationSettings
from .storage import Store, storyrows
from .stories import StoryIndex, StorySettings
from .storyevidence import evidence

__all__ = ["TRANSLATION_WAIT", "StoryRun", "StoryStage", "assign_stories", "story_time", "translation_wait"]

log = logging.getLogger(__name__)

BATCH = 500
TRANSLATION_WAIT = timedelta(hours=2)  # a translation run takes minutes; a backlog no longer holds stories back
SEED_DAYS = 21  # the window, widened for late arrivals
SKEW = timedelta(days=1)  # a published date this far past the fetch is the feed's error
SEED_MARGIN = 100  # ids below the cursor read again: a lower id may commit after a higher one


def story_time(row: storyrows.StoryRow) -> datetime:
    """When an article happened, for its story: published, unless that is after it was fetched
    (a feed's wrong date: 2099, another time zone's midnight), then fetched. One article dated
    years ahead would otherwise push every other out of the index's window."""
    if row.fetched is not None and row.when > row.fetched + SKEW:
        return row.fetched
    return row.when


def translation_wait(settings: TranslationSettings) -> timedelta:
    """How long an article waits for its translation before its story: none where translation is off."""
    return TRANSLATION_WAIT if settings.enabled else timedelta(0)


@dataclass(frozen=True, slots=True)
class StoryRun:
    assigned: int
    joined: int  # of those, how many joined a story that had other articles
    waiting: int = 0  # articles left without a story until their translation comes


class StoryStage:
    """The story stage of one process: its index lives as long as the process, so each run reads
    only what is new (articles given a story since, by this process or another; then those
    without one). One stage at a time places stories (each batch is one transaction under the
    store's story lock), and it first takes in what the others placed: where the store gave an
    article another story than this index did (another process was first, or this one's write was
    lost), the store's story stands. Not shared between threads."""

    def __init__(self, settings: StorySettings | None = None) -> None:
        self.index = StoryIndex(settings or StorySettings())
        self._seen = 0  # every article up to this id that has a story is held (or too old to matter)
        self._held: dict[int, int] = {}  # articles above it held (less a margin), and the story each has

    def run(self, store: Store, now: datetime, wait: timedelta = timedelta(0)) -> StoryRun:
        """Give every article without a story its story; one waiting for its translation, fetched
        less than ``wait`` ago, waits (see :func:`translation_wait`)."""
        since = now - timedelta(days=SEED_DAYS)
        waiting_since = now - wait if wait > timedelta(0) else None
        assigned = joined = 0
        while True:
            placed, joining = store.run(partial(self._batch, since=since, waiting_since=waiting_since), write=True)
            assigned, joined = assigned + placed, joined + joining
            if placed < BATCH:
                break
        left = 0 if waiting_since is None else store.run(lambda c: storyrows.waiting(c, waiting_since))
        if assigned or left:
            log.info("stories: %d article(s) placed, %d joining a story already told; %d wait for their translation",
                     assigned, joined, left)
        return StoryRun(assigned, joined, left)

    def _batch(self, conn: Connection, since: datetime, waiting_since: datetime | None) -> tuple[int, int]:
        """One transaction: what the others placed taken in, then up to ``BATCH`` articles placed.
        Run again whole after a lost connection: what it held stays held, with its story."""
        storyrows.lock(conn)
        # read first: every article below it has its story, so the seeds read next include it
        first_open = storyrows.first_unassigned(conn)
        seeds = storyrows.seeds(conn, since, self._seen - SEED_MARGIN)
        for row in sorted(seeds, key=lambda r: (story_time(r), r.id)):
            if row.story is not None and self._held.get(row.id, row.story) != row.story:
                self.index.move(row.id, row.story)  # the store's story stands
                self._held[row.id] = row.story
            elif row.id not in self._held and story_time(row) >= since:
                self._hold(row, row.story)  # (a feed's wrong date in the future is no reason to seed it forever)
        # an article waiting for its translation, held back here, may be placed by another process:
        # the seeds go on from below it (less a margin: PostgreSQL may commit a lower id later)
        self._seen = max(self._seen, first_open - 1)
        self._held = {k: v for k, v in self._held.items() if k > self._seen - SEED_MARGIN}
        stories: dict[int, int] = {}
        joined = 0
        for row in sorted(storyrows.unassigned(conn, BATCH, waiting_since), key=lambda r: (story_time(r), r.id)):
            stories[row.id] = self._hold(row, None)
            joined += stories[row.id] != row.id
        storyrows.assign(conn, stories)
        return len(stories), joined

    def _hold(self, row: storyrows.StoryRow, story: int | None) -> int:
        """The story of an article, held in the index once (an assignment whose write failed is
        written again by the next run, with the story it was given, unless another took it first)."""
        if row.id in self._held:
            return self._held[row.id]
        english = (row.title_en or "", row.text_en or "") if row.title_en or row.text_en else None
        found = evidence(row.title, row.text, row.url, language=row.language, english=english)
        self._held[row.id] = self.index.add(row.id, story_time(row), found, known_story=story, new_story=row.id)
        return self._held[row.id]


def assign_stories(store: Store, now: datetime, settings: StorySettings | None = None,
                   wait: timedelta = timedelta(0)) -> StoryRun:
    """One run of a fresh :class:`StoryStage` (a command that runs once)."""
    return StoryStage(settings).run(store, now, wait)
