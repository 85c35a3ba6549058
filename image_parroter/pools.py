"""How the workers' pools are sized, and how CPU work leaves a gevent worker's event loop.

A green pool (`-P gevent`, `-P eventlet`) runs every task in one OS thread. Celery sizes it
like a prefork pool, one slot per core, with a prefetch window of the same size, and that
stalls its consumer: while every slot is taken, the consumer stops asking Redis for messages
and waits in `drain_events(timeout=2.0)` on the control channel alone. A task that ends frees a
slot, but nothing wakes that wait, so the next ready task sits in Redis for up to two seconds.
Prefork has no such wait (its event loop re-arms the fetch on every ack).

So a green worker started without `-c` gets GREEN_POOL_CONCURRENCY slots (its tasks mostly
wait on the database, Redis, storage and the CPU threads below, not on the CPU), and always a
prefetch window larger than its pool: with a message in hand and no free slot, the consumer
blocks on the pool itself (gevent's `Pool.spawn`), which wakes it the moment a task ends.
A green pool never holds more than one message beyond its running tasks, however wide the
window.

Work that would hold a green worker's event loop runs in real threads, one per core: Pillow
releases the GIL while it decodes, resizes and encodes, so every core works, and SQLite
releases it while it writes or waits for its lock, so the loop goes on serving the broker,
control commands and the other tasks. Where code runs is the tasks' decision (tasks.py), never
a service's: a task decorated with `off_loop` runs its whole body in a thread; one that
publishes, or whose service works in steps, runs each blocking call with `run_off_loop`.
The handlers here are connected to Celery's signals in celery.py.
"""

import logging
import os
import sys
from collections.abc import Callable
from functools import cache, wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


def is_green(pool_cls) -> bool:
    return bool(getattr(pool_cls, "is_green", False))


def size_green_pool(conf, options, **_) -> None:
    """Give a green worker started without `-c` (or worker_concurrency) its green size."""
    # The command line hands the pool over as `pool`, WorkController(pool_cls=...) as `pool_cls`.
    if not is_green(options.get("pool") or options.get("pool_cls")):
        return
    if not options.get("concurrency"):
        conf.worker_concurrency = settings.GREEN_POOL_CONCURRENCY
    # Celery keeps a result backend per thread, which under gevent means per greenlet: a new
    # backend, and a new Redis connection, for every task that stores a result.
    conf.result_backend_thread_safe = True


def widen_green_prefetch(sender, **_) -> None:
    """A green pool's prefetch window must exceed its pool (see above); 2x does. Its slots
    ack on broker connections of their own, all at once when many tasks end together, so
    kombu's pool (10 by default: "Too many connections") grows with the pool too."""
    if is_green(sender.pool_cls):
        sender.prefetch_multiplier = max(sender.prefetch_multiplier, 2)
        options = sender.app.conf.broker_transport_options
        sender.app.conf.broker_transport_options = {
            **options,
            "max_connections": max(options.get("max_connections", 10), 2 * sender.concurrency),
        }


@cache
def _threads():
    from gevent.threadpool import ThreadPool

    return ThreadPool(maxsize=settings.CPU_THREADS or os.cpu_count() or 1)


def _in_thread(function, args, kwargs):
    # A thread's database connection outlives the call: check it as Django does between
    # requests (too old, or broken by an error), before and after.
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


def native_logging_locks(**_) -> None:
    """In a gevent worker, give every log handler a real thread lock, those made already and
    those made later. A handler made after gevent patched `threading` (all of them: Celery
    patches first) gets a green lock, and a CPU thread that waits on it while the loop's
    thread holds it may never be woken: that thread, and the task in it, then hang in a log
    line (seen with every SQL statement logged: a chord's image task that never ended). The
    loop never yields while it holds a handler's lock (a write to a stream), so a real lock
    costs it nothing."""
    if not _in_gevent_worker() or logging.Handler.createLock is _native_create_lock:
        return
    logging.Handler.createLock = _native_create_lock
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):  # PlaceHolders have none
            if handler.lock is not None:
                handler.lock = _native_rlock()


def _native_rlock():
    from gevent.monkey import get_original

    return get_original("_thread", "RLock")()


_green_create_lock = logging.Handler.createLock


def _native_create_lock(handler: logging.Handler) -> None:
    _green_create_lock(handler)  # also registers the handler to be reset after a fork
    handler.lock = _native_rlock()


def _in_gevent_worker() -> bool:
    gevent_monkey = sys.modules.get("gevent.monkey")
    return bool(gevent_monkey and gevent_monkey.is_module_patched("threading"))


def run_off_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`function(*args, **kwargs)`, in a real thread when this is a gevent worker (the calling
    greenlet waits, the others run); directly anywhere else (prefork, threads, the web)."""
    if _in_gevent_worker():
        return _threads().apply(_in_thread, (function, args, kwargs))
    return function(*args, **kwargs)


def off_loop(function: Callable[P, R]) -> Callable[P, R]:
    """A task function whose whole body runs with run_off_loop: its database work, files and
    CPU. The body must not publish tasks or use Redis: in a gevent worker their connections
    belong to the event loop's thread."""

    @wraps(function)
    def body(*args: P.args, **kwargs: P.kwargs) -> R:
        return run_off_loop(function, *args, **kwargs)

    return body
