"""A loop-lag sampler: how long the event loop was kept from running a ready callback."""

from __future__ import annotations

import asyncio


class LoopLag:
    """Sleeps `period` over and over and records how late each wake-up was: the loop's stalls."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.worst = 0.0
        self.samples = 0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self.period)
            self.worst = max(self.worst, loop.time() - asked - self.period)
            self.samples += 1

    def start(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        return self.worst
