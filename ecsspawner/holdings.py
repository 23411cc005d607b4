"""Which tasks this hub holds: the reaper's "is anyone using this?" view.

Three sources, because each misses something:
- every `orm_spawner.state` row in the database: servers that are not loaded;
- every loaded spawner's in-memory state: the hub saves state only after
  `start()` returns, so a starting server is in memory only;
- the in-flight registry: a spawn whose RunTask has not answered yet, or whose
  spawner was dropped while RunTask was still running.
`user.spawners` is iterated, never indexed: indexing creates spawners.

The database read is synchronous SQLAlchemy and grows with the number of
servers, so `read_hub_holdings` runs it in a worker thread with a session of its
own (the hub's session belongs to the event loop's thread). The in-memory parts
are read on the loop, first: a spawner's state is in memory before it is in the
database, so a server moving from one to the other is seen in one of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ecsspawner.state import TaskState


@dataclass(frozen=True)
class Holdings:
    arns: frozenset[str] = frozenset()
    spawn_ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, states: Iterable[TaskState]) -> Holdings:
        states = list(states)
        return cls(
            arns=frozenset(s.task_arn for s in states if s.task_arn),
            spawn_ids=frozenset(s.spawn_id for s in states if s.spawn_id),
        )

    def __or__(self, other: Holdings) -> Holdings:
        return Holdings(self.arns | other.arns, self.spawn_ids | other.spawn_ids)


@dataclass
class InFlight:
    """Spawns between "spawn id chosen" and "ARN recorded in a spawner that the hub will keep"."""

    _spawns: dict[str, str] = field(default_factory=dict)

    def begin(self, spawn_id: str) -> None:
        self._spawns[spawn_id] = ""

    def record(self, spawn_id: str, arn: str) -> None:
        if spawn_id in self._spawns:
            self._spawns[spawn_id] = arn

    def end(self, spawn_id: str) -> None:
        self._spawns.pop(spawn_id, None)

    def __contains__(self, spawn_id: str) -> bool:
        return spawn_id in self._spawns

    def holdings(self) -> Holdings:
        return Holdings(frozenset(a for a in self._spawns.values() if a), frozenset(self._spawns))


def loaded_states(users: Any) -> list[TaskState]:
    """States of spawners in memory. `users` is the hub's UserDict (a dict of loaded users)."""
    states = []
    for user in list(dict.values(users)):
        for spawner in list(dict.values(user.spawners)):
            state = getattr(spawner, "task_state", None)
            if isinstance(state, TaskState):
                states.append(state)
    return states


def database_states(db: Any) -> list[TaskState]:
    """Every server's saved state, loaded or not (`orm_spawner.state`, the JSON the hub saved)."""
    from jupyterhub import orm

    return [TaskState.from_dict(row.state) for row in db.query(orm.Spawner).all() if row.state]


def hub_holdings(*, users: Any, db: Any, in_flight: InFlight) -> Holdings:
    """All three sources, read here and now (blocking on the database): `read_hub_holdings` for the loop."""
    return Holdings.of(loaded_states(users)) | Holdings.of(database_states(db)) | in_flight.holdings()


def shares_one_connection(engine: Any) -> bool:
    """One DBAPI connection for the whole process (in-memory SQLite): a second session would share it."""
    from sqlalchemy.pool import SingletonThreadPool, StaticPool

    return isinstance(getattr(engine, "pool", None), (StaticPool, SingletonThreadPool))


def database_states_in_own_session(engine: Any) -> list[TaskState]:
    """`database_states` through a new session of `engine`: safe in a worker thread."""
    from sqlalchemy.orm import Session

    with Session(bind=engine) as session:
        return database_states(session)


async def read_hub_holdings(*, users: Any, db: Any, in_flight: InFlight) -> Holdings:
    """`hub_holdings` without blocking the event loop: the database is read in a worker thread.

    Except on a database with one shared connection (in-memory SQLite, used by test hubs), where a
    second session would share, and on closing roll back, the hub session's connection: there the
    read stays on the loop, as JupyterHub's own reads do.
    """
    memory = Holdings.of(loaded_states(users)) | in_flight.holdings()
    engine = db.get_bind()
    if shares_one_connection(engine):
        saved = database_states(db)
    else:
        saved = await asyncio.to_thread(database_states_in_own_session, engine)
    return memory | Holdings.of(saved)
