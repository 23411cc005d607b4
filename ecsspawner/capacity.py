"""Which Fargate capacity a server runs on: on-demand FARGATE, or FARGATE_SPOT.

The administrator sets a capacity provider strategy per service, per service and size, or as a
default (`c.ECSSpawner.capacity_provider_strategy`); users do not choose. RunTask takes either a
`launchType` or a `capacityProviderStrategy`, never both: without a strategy the spawner sends
`launchType="FARGATE"` as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROVIDERS = ("FARGATE", "FARGATE_SPOT")
DEFAULT_KEY = "*"
SPOT_INTERRUPTION = "SpotInterruption"  # the stopCode of a task whose Spot capacity AWS reclaimed
_ITEM_KEYS = {"capacityProvider", "weight", "base"}


def check_strategies(value: Mapping[str, Any]) -> list[str]:
    """Problems with a `{key: [item, ...]}` setting, one message each (empty: fine)."""
    problems: list[str] = []
    for key, items in value.items():
        where = f"capacity_provider_strategy[{key!r}]"
        if not isinstance(items, list) or not items:
            problems.append(f"{where} is {items!r}; expected a non-empty list of strategy items")
            continue
        for i, item in enumerate(items):
            at = f"{where}[{i}]"
            if not isinstance(item, dict):
                problems.append(f"{at} is {item!r}; expected a mapping such as {{'capacityProvider': 'FARGATE_SPOT'}}")
                continue
            if unknown := sorted(set(item) - _ITEM_KEYS):
                problems.append(f"{at}: unknown key(s) {', '.join(unknown)}; allowed: base, capacityProvider, weight")
            if item.get("capacityProvider") not in PROVIDERS:
                problems.append(
                    f"{at}.capacityProvider is {item.get('capacityProvider')!r}; allowed: FARGATE, FARGATE_SPOT"
                )
            for field, high in (("weight", 1000), ("base", 100000)):
                number = item.get(field, 0)
                if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= high:
                    problems.append(f"{at}.{field} is {number!r}; allowed: an integer 0-{high}")
        if isinstance(items, list) and all(isinstance(i, dict) and not i.get("weight", 0) for i in items):
            problems.append(f"{where}: every weight is 0; at least one provider needs a weight above 0")
    return problems


def strategy_for(strategies: Mapping[str, list[dict]], service: str, size: str) -> list[dict] | None:
    """The most specific entry: `service:size`, then `service`, then `*`; None means plain FARGATE."""
    for key in (f"{service}:{size}", service, DEFAULT_KEY):
        if key in strategies:
            return [dict(item) for item in strategies[key]]
    return None


def launch_arguments(strategy: list[dict] | None) -> dict[str, Any]:
    """RunTask's launch arguments: `launchType` or `capacityProviderStrategy` (RunTask refuses both)."""
    if strategy is None:
        return {"launchType": "FARGATE"}
    return {"capacityProviderStrategy": strategy}


# Servers (by their startedBy key) whose last task a Spot interruption stopped, until they start again.
# In memory: JupyterHub drops a stopped server's spawner object and clears its state, and a restarted
# hub has no user waiting for the news.
SPOT_NOTICES: dict[str, str] = {}


def is_spot_interruption(task: Mapping[str, Any]) -> bool:
    return task.get("stopCode") == SPOT_INTERRUPTION


SPOT_MESSAGE = (
    "AWS reclaimed the Fargate Spot capacity your server ran on (a Spot interruption, with two minutes' "
    "notice): this is not a fault of your server. Start it again; work not saved to disk was lost"
)
