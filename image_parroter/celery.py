"""The Celery app, made in the four steps of Celery's own Django example; then every Celery
signal handler of the project, connected here and nowhere else."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "image_parroter.settings")

app = Celery("image_parroter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The handlers, and what they are connected to. Imported after the app is configured: they
# read Django's settings.
from celery import signals  # noqa: E402
from celery.worker import control  # noqa: E402

from ops import heartbeat, history, inspection, liveness, metrics  # noqa: E402

from . import pools  # noqa: E402

# A worker starting: green pools sized and kept from stalling (pools.py).
signals.celeryd_init.connect(pools.size_green_pool)
signals.worker_init.connect(pools.widen_green_prefetch)
# ...and its log handlers safe to use from its CPU threads (pools.py).
signals.celeryd_init.connect(pools.native_logging_locks)
# Each task message: when it was sent, for the age of a queue's oldest (ops/metrics.py).
signals.before_task_publish.connect(metrics.stamp_sent_at)
# Each worker's heartbeat (every 2 s): that it is there, for /metrics (ops/heartbeat.py).
signals.heartbeat_sent.connect(heartbeat.worker_seen)
# Each task: the lease on its job that tells the sweep it is alive (ops/liveness.py).
signals.task_prerun.connect(liveness.take_lease)
signals.task_postrun.connect(liveness.put_down)
# Each periodic run: its outcome in the run history the admin shows (ops/history.py).
signals.task_prerun.connect(history.record_start)
signals.task_success.connect(history.record_success)
signals.task_retry.connect(history.record_retry)
signals.task_failure.connect(history.record_failure)
# Not a signal, but wired the same way: a worker's answer to `inspect conf` (Flower's worker
# pages) in place of Celery's own, with every URL's password masked (ops/inspection.py).
control.inspect_command(signature="[include_defaults=False]", alias="dump_conf")(inspection.conf)
