"""boto3 calls off the event loop, and how they are retried.

The hub is one asyncio loop: a blocking boto3 call there stalls every user, so
every call goes through `call()` into a worker thread of this module's pool, and
clients are made there too (`make_client`).

Retries come in two layers, neither of them a list of error codes kept here:

1. botocore's own retry mode on every client the spawner makes (`client_config`):
   "standard" (exponential backoff with full jitter, at most `max_attempts`
   attempts, and botocore's per-client retry quota that stops retrying when most
   calls fail) or "adaptive" (the same, plus a client-side token bucket that
   slows every call of the client once ECS throttles). Which errors count as
   throttling or transient is botocore's decision; the sleeps happen in the
   worker thread, never on the event loop.
2. `retry_transient()`: for a call that must outlast what botocore gives up on
   (RunTask while a spawn still has time), JupyterHub's `exponential_backoff`
   (random waits, growing up to `max_wait`) on the event loop, asking botocore's
   own checkers whether the error is worth another try. Between attempts the
   loop sleeps: no worker thread is held.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard
from jupyterhub.utils import exponential_backoff

THREADS = 32  # worker threads for boto3 calls; also each client's HTTP connection pool
RETRY_MODES = ("standard", "adaptive")

THREAD_PREFIX = "ecsspawner-aws"
_executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix=THREAD_PREFIX)
_client_lock = threading.Lock()
# botocore's own classification: throttling codes, transient codes and 5xx, connection errors.
_retryable = standard.OrRetryChecker([standard.ThrottledRetryableChecker(), standard.TransientRetryableChecker()])


async def call(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Run one blocking boto3 call (its botocore retries included) in a worker thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(fn, **kwargs))


def client_config(*, max_attempts: int, mode: str = "standard") -> Config:
    """The botocore config of every client the spawner makes: retry mode and attempts, a pool per thread."""
    if mode not in RETRY_MODES:
        raise ValueError(f"retry mode {mode!r} is not one of {', '.join(RETRY_MODES)}")
    return Config(retries={"mode": mode, "max_attempts": max(1, max_attempts)}, max_pool_connections=THREADS)


def make_client(region: str | None, *, max_attempts: int, mode: str = "standard", service: str = "ecs") -> Any:
    """A new ECS (or `service`: "efs") client with `client_config`. Blocking (it loads botocore's service model): call it in a thread.

    boto3's default session is not safe to use from several threads at once, so each client gets its own
    session, made under a lock.
    """
    with _client_lock:
        session = boto3.session.Session(region_name=region)
        return session.client(service, config=client_config(max_attempts=max_attempts, mode=mode))


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


class _Status:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def is_transient(exc: BaseException) -> bool:
    """What botocore's retry modes would retry: throttling, transient codes, 5xx, connection errors."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
        context = standard.RetryContext(attempt_number=1, parsed_response=exc.response, http_response=_Status(status))
    else:
        context = standard.RetryContext(attempt_number=1, caught_exception=exc)
    return bool(_retryable.is_retryable(context))


def is_task_not_found(exc: BaseException) -> bool:
    """StopTask on a task ECS no longer knows: for stop(), the job is done."""
    if not isinstance(exc, ClientError):
        return False
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) in ("InvalidParameterException", "ClientException") and (
        "not found" in message or "could not find" in message or "does not exist" in message
    )


async def retry_transient(
    fn: Callable[..., Any], /, *, timeout: float, start_wait: float, max_wait: float = 5.0, **kwargs: Any
) -> Any:
    """`call()` again, with JupyterHub's exponential_backoff, while botocore's retries end in a transient error.

    `fn` is called with the same `kwargs` every time (RunTask's clientToken makes a repeat start nothing
    new). A non-transient error goes up at once; after `timeout` seconds the last transient error goes up.
    """
    last: list[BaseException] = []

    async def attempt() -> tuple[Any] | None:
        try:
            return (await call(fn, **kwargs),)  # a 1-tuple: truthy even for an empty reply
        except Exception as exc:
            if not is_transient(exc):
                raise
            last[:] = [exc]
            return None

    try:
        done = await exponential_backoff(
            attempt,
            "retries ran out",
            start_wait=start_wait,
            max_wait=max_wait,
            timeout=max(0.0, timeout),
            timeout_tolerance=0,
        )
    except TimeoutError:
        if last:
            raise last[0] from None
        raise
    return done[0]
