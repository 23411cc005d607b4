"""boto3 calls off the event loop, and which AWS errors are worth a retry.

The hub is one asyncio loop: a blocking boto3 call there stalls every user, so
every call goes through `call()` into a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServerException",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


async def call(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Run one blocking boto3 call in the default thread pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, **kwargs))


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """Throttling, server-side and network errors: try again later, never conclude anything."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
        return error_code(exc) in THROTTLING_CODES or status >= 500 or status == 429
    return isinstance(exc, (BotoConnectionError, BotoCoreError, TimeoutError))


def is_task_not_found(exc: BaseException) -> bool:
    """StopTask on a task ECS no longer knows: for stop(), the job is done."""
    if not isinstance(exc, ClientError):
        return False
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) in ("InvalidParameterException", "ClientException") and (
        "not found" in message or "could not find" in message or "does not exist" in message
    )


async def with_retries(fn: Callable[..., Any], /, *, attempts: int, backoff: float, **kwargs: Any) -> Any:
    """`call()` with retries on transient errors (exponential backoff); other errors go up at once."""
    return await call(functools.partial(retry_sync, fn, attempts=attempts, backoff=backoff), **kwargs)


def retry_sync(fn: Callable[..., Any], /, *, attempts: int, backoff: float, **kwargs: Any) -> Any:
    """Retry `fn` on transient errors, sleeping in the (worker) thread it runs in."""
    for attempt in range(attempts):
        try:
            return fn(**kwargs)
        except Exception as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            time.sleep(backoff * (2**attempt))
    raise AssertionError("unreachable")
