"""The instant the seeded data was read: no seeded time is later.

Real platforms never report a creation, modification or start time after their own clock, and
incremental connectors rely on it (rows "from the future" are dropped and the sync stops
early). The seeds are deterministic, so they cannot follow the wall clock; instead every seeded
create, modify and start time lies at or before ``SEED_CLOCK``, a fixed instant in the past of
any machine running the sandboxes. End times may lie after it (schedules run on).
"""

from __future__ import annotations

from datetime import UTC, datetime

SEED_CLOCK = datetime(2026, 6, 1, tzinfo=UTC)
#: ``SEED_CLOCK`` as a naive UTC time, for seeds that work in naive UTC.
SEED_CLOCK_NAIVE = SEED_CLOCK.replace(tzinfo=None)
