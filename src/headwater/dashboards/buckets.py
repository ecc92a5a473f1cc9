"""Time buckets for the readings charts: a round width, aligned to the epoch.

A chart of 300 points over a day wants 5-minute buckets, not 288-second ones: round
widths read well on an axis, and buckets aligned to the epoch (a bucket starts at a
multiple of its width) stay the same buckets as the chart's window slides, so a
refreshed chart does not shimmer. Alignment also lets any width of whole minutes be
answered exactly from per-minute sums (``readings_minute``), which is what keeps a
chart over months of readings fast.
"""

from __future__ import annotations

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

ROUND_WIDTHS = (
    *(n * SECOND for n in (1, 2, 5, 10, 15, 30)),
    *(n * MINUTE for n in (1, 2, 5, 10, 15, 30)),
    *(n * HOUR for n in (1, 2, 3, 6, 12)),
    DAY,
    2 * DAY,
    WEEK,
)
"""Candidate widths in milliseconds; past a week, whole weeks."""


def bucket_count(since: int, until: int, width: int) -> int:
    """How many epoch-aligned buckets of ``width`` ms the span ``[since, until]`` touches.

    >>> bucket_count(0, 59_999, MINUTE), bucket_count(59_999, 60_000, MINUTE)
    (1, 2)
    """
    return until // width - since // width + 1


def bucket_width(since: int, until: int, points: int) -> int:
    """The smallest round width (ms) that covers ``[since, until]`` in at most ``points``
    epoch-aligned buckets.

    >>> bucket_width(0, 3_600_000, 300)  # an hour in 300 points: 15 s buckets
    15000
    >>> bucket_width(0, 86_400_000, 300) // MINUTE  # a day: 5 minutes
    5
    >>> bucket_width(0, 400 * WEEK, 10) // WEEK  # past a week, whole weeks
    41
    """
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points}")
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    for width in ROUND_WIDTHS:
        if bucket_count(since, until, width) <= points:
            return width
    weeks = max(1, (until - since) // (WEEK * points))
    while bucket_count(since, until, weeks * WEEK) > points:
        weeks += 1
    return weeks * WEEK


def bucket_start(time: int, width: int) -> int:
    """The start of the epoch-aligned bucket of ``width`` holding ``time`` (ms).

    >>> bucket_start(3_599_999, HOUR), bucket_start(-1, HOUR)
    (0, -3600000)
    """
    return time // width * width
