"""The story stage over the store: every stored article without a story gets one. The index is
seeded with the articles of the last weeks that have theirs, so a new article joins an old story
or starts one (its own id becomes the story's id); nothing assigned is re-clustered. Run after a
feed pass (the CLI, the daemon) or as a job (the distributed deployment, one at a time).

Where translation is on, an article waiting for its translation waits for its story too, up to
``TRANSLATION_WAIT`` after its fetch: the English title (and text, where translated) join its
evidence, so a name the name table lacks, or a Swedish article with no Latin-script name but its
English words, can still find the story it belongs to. Past the wait it is placed without."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from .settings import TranslationSettings
from .storage import Store, storyrows
from .stories import StoryIndex, StorySettings
from .storyevidence import evidence

__all__ = ["TRANSLATION_WAIT", "StoryRun", "StoryStage", "assign_stories", "story_time", "translation_wait"]

BATCH = 500
TRANSLATION_WAIT = timedelta(hours=2)  # a translation run takes minutes; a backlog no longer holds stories back
SEED_DAYS = 21  # the window, widened for late arrivals
SKEW = timedelta(days=1)  # a published date this far past the fetch is the feed's error


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
    without one). Not shared between threads."""

    def __init__(self, settings: StorySettings | None = None) -> None:
        self.index = StoryIndex(settings or StorySettings())
        self._seen = 0  # the highest article id the index holds

    def run(self, store: Store, now: datetime, wait: timedelta = timedelta(0)) -> StoryRun:
        """Give every article without a story its story; one waiting for its translation, fetched
        less than ``wait`` ago, waits (see :func:`translation_wait`)."""
        since = now - timedelta(days=SEED_DAYS)
        waiting_since = now - wait if wait > timedelta(0) else None
        seeds = store.run(lambda c: storyrows.seeds(c, since, self._seen))
        for row in sorted((r for r in seeds if story_time(r) >= since), key=lambda r: (story_time(r), r.id)):
            self._hold(row, row.story)  # (a feed's wrong date in the future is no reason to seed it forever)
        assigned = joined = 0
        while pending := store.run(lambda c: storyrows.unassigned(c, BATCH, waiting_since)):
            stories: dict[int, int] = {}
            for row in sorted(pending, key=lambda r: (story_time(r), r.id)):
                stories[row.id] = self._hold(row, None)
                joined += stories[row.id] != row.id
            store.run(partial(storyrows.assign, stories=stories), write=True)
            assigned += len(stories)
        left = 0 if waiting_since is None else store.run(lambda c: storyrows.waiting(c, waiting_since))
        return StoryRun(assigned, joined, left)

    def _hold(self, row: storyrows.StoryRow, story: int | None) -> int:
        self._seen = max(self._seen, row.id)
        english = (row.title_en or "", row.text_en or "") if row.title_en or row.text_en else None
        found = evidence(row.title, row.text, row.url, language=row.language, english=english)
        return self.index.add(row.id, story_time(row), found, known_story=story, new_story=row.id)


def assign_stories(store: Store, now: datetime, settings: StorySettings | None = None,
                   wait: timedelta = timedelta(0)) -> StoryRun:
    """One run of a fresh :class:`StoryStage` (a command that runs once)."""
    return StoryStage(settings).run(store, now, wait)
