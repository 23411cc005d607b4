"""What a spawner persists in the hub's database (`orm_spawner.state`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TaskState:
    """The task a server runs on. `launched_at` (epoch seconds) dates the MISSING grace."""

    task_arn: str = ""
    cluster: str = ""
    spawn_id: str = ""
    launched_at: float = 0.0

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}

    @classmethod
    def from_dict(cls, state: dict | None) -> TaskState:
        state = state or {}
        return cls(
            task_arn=str(state.get("task_arn") or ""),
            cluster=str(state.get("cluster") or ""),
            spawn_id=str(state.get("spawn_id") or ""),
            launched_at=float(state.get("launched_at") or 0.0),
        )

    @property
    def empty(self) -> bool:
        return not (self.task_arn or self.spawn_id)
