"""The end-to-end hub's spawner: ECSSpawner whose servers are reached on 127.0.0.1, never on a task's 10.x address.

moto gives every task a private address in its fake VPC. A real hub would connect
there; this one must not leave the machine's loopback. start() runs the real
ECSSpawner.start() against moto's ECS, then hands JupyterHub the stand-in
single-user server, and writes one line per spawn (the task's address and what
the hub was given) to $E2E_RECORD for the test to check.
"""

from __future__ import annotations

import json
import os

from ecsspawner import ECSSpawner


class LoopbackECSSpawner(ECSSpawner):
    async def start(self):
        task_ip, task_port = await super().start()
        returned = ("127.0.0.1", int(os.environ["E2E_STANDIN_PORT"]))
        with open(os.environ["E2E_RECORD"], "a", encoding="utf-8") as out:
            record = {"user": self.user.name, "server": self.name, "task": [task_ip, task_port], "hub": returned}
            out.write(json.dumps(record) + "\n")
        return returned
