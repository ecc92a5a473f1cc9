"""headwater's uuids are the standard's: v7 by time, v5 as uuid.uuid5 gives."""

import random
import time
import uuid

from headwater.uuids import uuid5, uuid7


def test_uuid7_is_version_7_with_the_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(made)
    assert str(parsed) == made
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert before <= parsed.int >> 80 <= after


def test_uuid7s_are_unique_and_sort_by_millisecond() -> None:
    made = [uuid7() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    millis = [uuid.UUID(u).int >> 80 for u in made]
    assert millis == sorted(millis)


def test_seeding_random_does_not_repeat_uuid7s() -> None:
    random.seed(7)
    first = uuid7()
    random.seed(7)
    assert uuid7()[14:] != first[14:]


def test_uuid5_equals_the_standard_librarys() -> None:
    namespace = "5d6c1bb6-4f0e-4b83-9d43-7a5b1e0c2f41"
    for name in ("", "hub/1", "ü" * 1000):
        assert uuid5(namespace, name) == str(uuid.uuid5(uuid.UUID(namespace), name))
