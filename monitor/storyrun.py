"""The story stage over the store: every stored article without a story gets one. The index is
seeded with the articles of the last weeks that have theirs, so a new article joins an old story
or starts one (its own id becomes the story's id); nothing assigned is re-clustered. Run after a
feed pass (the CLI, the daemon) or as a job (the distributed deployment, one at a time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from .storage import Store, storyrows
from .stories import StoryIndex, StorySettings, evidence

__all__ = ["StoryRun", "assign_stories"]

BATCH = 500
SEED_DAYS = 21  # the window, widened for month-only dates and late arrivals


@dataclass(frozen=True, slots=True)
class StoryRun:
    assigned: int
    joined: int  # of those, how many joined a story that had other articles


def assign_stories(store: Store, now: datetime, settings: StorySettings | None = None) -> StoryRun:
    """Give every article without a story its story; returns how many were assigned."""
    pending = store.run(lambda c: storyrows.unassigned(c, BATCH))
    if not pending:
        return StoryRun(0, 0)
    oldest = min(row.when for row in pending)
    since = min(oldest, now) - timedelta(days=SEED_DAYS)
    index = StoryIndex(settings or StorySettings())
    for row in store.run(lambda c: storyrows.seeds(c, since)):
        index.add(row.id, row.when, evidence(row.title, row.text, row.url), known_story=row.story)
    assigned = joined = 0
    while pending:
        stories: dict[int, int] = {}
        for row in sorted(pending, key=lambda r: (r.when, r.id)):
            story = index.add(row.id, row.when, evidence(row.title, row.text, row.url), known_story=None,
                              new_story=row.id)
            stories[row.id] = story
            joined += story != row.id
        store.run(partial(storyrows.assign, stories=stories), write=True)
        assigned += len(stories)
        pending = store.run(lambda c: storyrows.unassigned(c, BATCH))
    return StoryRun(assigned, joined)
