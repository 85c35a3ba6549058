"""Settings, all from the environment (django-environ), with development defaults.

Production: DJANGO_DEBUG=false and DJANGO_SECRET_KEY set; docs/CONFIGURATION.md has every variable.
"""

import hashlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import botocore.config
import environ
from boto3.s3.transfer import TransferConfig
from csp.constants import NONE, SELF
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# GENERAL
# Debug, and the throwaway key that comes with it, are for development only and must be asked
# for (the Makefile sets DJANGO_DEBUG=true); otherwise DJANGO_SECRET_KEY has no default, so a
# missing key fails at start.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = (
    env("DJANGO_SECRET_KEY", default="django-insecure-development-only-key")
    if DEBUG
    else env("DJANGO_SECRET_KEY")
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_TZ = True
# English is the source language and the default; LocaleMiddleware picks one of LANGUAGES
# from the browser's Accept-Language or the site's selector (set_language, remembered in a
# cookie). The catalogues are in locale/ (docs/LANGUAGES.md says how to update them).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("pt-br", "Português (Brasil)"),
    ("es", "Español"),
    ("pl", "Polski"),
]
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# APPS
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "widget_tweaks",
    "django_ratelimit",
    "axes",
    "django_celery_beat",
    "django_celery_results",
    "users",
    "thumbnailer",
    "ops",
]
AUTH_USER_MODEL = "users.User"

MIDDLEWARE = [
    "image_parroter.middleware.ForwardedHeadersMiddleware",
    "image_parroter.middleware.SiteNotFoundMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "image_parroter.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before CSRF's check, which reads the body: every middleware's request part runs before
    # any view hook (CSRF checks in process_view). After the others, so that a refusal speaks
    # the reader's language, counts by session, has the site's headers, and its page's forms
    # the CSRF cookie they need (CSRF's response part sets it).
    "image_parroter.middleware.LimitsMiddleware",
    "image_parroter.middleware.DatabaseUnavailableMiddleware",
    # Last, as its documentation says: it answers a locked-out login.
    "axes.middleware.AxesMiddleware",
]
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "image_parroter.urls"
WSGI_APPLICATION = "image_parroter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASE
# DATABASE_URL may name a PostgreSQL primary and its standby (`@h1:5432,h2:5432/name` with
# `?target_session_attrs=read-write`, see docs/CONFIGURATION.md): django-environ keeps both in
# HOST and PORT and the query in OPTIONS, and libpq connects to the one that takes writes.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock up front
    # and the timeout waits for it, so web and gevent greenlets do not trip "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# Connections are kept between requests: opening one costs more than most requests do.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# REDIS: broker, result backend and cache
# One Redis, or its Sentinels in kombu's format (`sentinel://h1:26379/0;sentinel://h2:26379/0`):
# then every client (broker, results, cache, the project's own in ops/redis_client.py) asks
# them for the master named REDIS_SENTINEL_MASTER, and asks again when it fails over.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_SENTINEL_MASTER = env("REDIS_SENTINEL_MASTER", default="mymaster")
REDIS_SENTINEL = REDIS_URL.startswith("sentinel://")


def database_tag(database: dict) -> str:
    """A short name for the database this installation works on."""
    name = database["NAME"]
    if database["ENGINE"].endswith("sqlite3"):
        name = str(Path(name).resolve())
    host, port = database.get("HOST") or "", database.get("PORT") or ""
    identity = f"{database['ENGINE']}|{host}|{port}|{name}"
    return hashlib.sha256(identity.encode()).hexdigest()[:8]


# Every key this installation keeps in Redis (queues, results, cache, heartbeat, counters)
# starts with this, so a Redis can be shared with other apps and with other copies of this
# one. By default it names the database too: a worker must only ever take jobs whose rows are
# in its own database, and the web, workers and beat of one installation share a database.
REDIS_KEY_PREFIX = env(
    "REDIS_KEY_PREFIX", default=f"image_parroter:{database_tag(DATABASES['default'])}:"
)
# For every Redis client (broker, results, cache, heartbeat): connecting gives up after
# 0.5 s (a Redis that is down refuses at once; one that is unreachable must not hold a
# request), and a Redis that answers nothing frees the socket after 2 s (more than the 1 s a
# worker's BRPOP waits for a message).
REDIS_SOCKET_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 2}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # A list, which RedisCache does not split at `;` as it does a string of servers.
        "LOCATION": [REDIS_URL],
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}cache",
        "OPTIONS": {
            # JSON, never pickles: what is read from a shared Redis cannot run code.
            "serializer": "ops.redis_client.JSONSerializer",
            **REDIS_SOCKET_TIMEOUTS,
            **({"pool_class": "ops.redis_client.SentinelPool"} if REDIS_SENTINEL else {}),
        },
    }
}

# STATIC AND MEDIA
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    # Any Django storage works (django-storages' S3 backend for several hosts, below): the code
    # reads and writes media through the storage API only.
    "default": {
        "BACKEND": env("MEDIA_STORAGE", default="django.core.files.storage.FileSystemStorage")
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# OBJECT STORAGE (MEDIA_STORAGE=storages.backends.s3.S3Storage)
# django-storages' own setting names, from the environment; each default is django-storages'
# own, so disk mode needs none of them (nor does boto3, which finds credentials itself when
# AWS_ACCESS_KEY_ID is not set).
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default=None)
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default=None)
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default=None)
AWS_S3_ADDRESSING_STYLE = env("AWS_S3_ADDRESSING_STYLE", default=None)
# Seconds a presigned download or preview link stays valid.
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=3600)
# A storage that is down or unreachable answers within seconds, as a full disk does, and not
# after boto3's default five tries of a minute each: an upload gets its 503, a task its retries.
# Presigned URLs are signed with SigV4 (boto3 would use SigV2, which newer regions refuse).
AWS_S3_CLIENT_CONFIG = botocore.config.Config(
    s3={"addressing_style": AWS_S3_ADDRESSING_STYLE},
    signature_version="s3v4",
    connect_timeout=2,
    read_timeout=10,
    retries={"mode": "standard", "total_max_attempts": 2},
)
# Uploads in the calling thread: a gevent worker's storage work already runs on a real thread
# of its own (image_parroter/pools.py), and media files are small.
AWS_S3_TRANSFER_CONFIG = TransferConfig(use_threads=False)

# PRODUCT LIMITS
THUMBNAIL_SIZES = env.list("THUMBNAIL_SIZES", cast=int, default=[128, 256, 512])
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=25 * 1024 * 1024)
MAX_IMAGE_PIXELS = env.int("MAX_IMAGE_PIXELS", default=50_000_000)
MAX_FILES_PER_JOB = env.int("MAX_FILES_PER_JOB", default=20)
JOB_RETENTION_HOURS = env.int("JOB_RETENTION_HOURS", default=24)
USERS_GENERATE_MIN = env.int("USERS_GENERATE_MIN", default=50)
USERS_GENERATE_MAX = env.int("USERS_GENERATE_MAX", default=500)
# Users made per transaction: small enough that progress moves often (about 50 ms of work
# each), large enough that the per-transaction cost stays small (100,000 users take about
# 12 s on SQLite).
USERS_GENERATE_CHUNK_SIZE = env.int("USERS_GENERATE_CHUNK_SIZE", default=500)
# Django refuses request bodies larger than this before a view sees them.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Larger uploads go to a temporary file that stops growing past MAX_UPLOAD_BYTES.
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "thumbnailer.uploads.SizeLimitedUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FILES = MAX_FILES_PER_JOB + 5

# LIMITS (ops/limits.py, README "Limits")
# Every anonymous write is counted per client address and per browser session, in Redis by
# django-ratelimit ("count/period"), before its body is read; over either: 429 with
# Retry-After. With Redis away nothing is counted and nobody is refused (RATELIMIT_FAIL_OPEN):
# the site stays usable, and what is made meanwhile waits for the sweep. The address is
# REMOTE_ADDR, which only a trusted proxy's header sets (PROXIES below); an IPv6 one counts by
# its /64, for these limits and the login's.
UPLOAD_RATE = env("UPLOAD_RATE", default="60/m")
UPLOAD_SESSION_RATE = env("UPLOAD_SESSION_RATE", default="20/m")
# The web decodes each upload once to check it (a PNG costs about 9 ms of CPU a megapixel):
# megapixels (width x height, from the headers) one address may send a minute. 1200 lets a
# person send 20 photos of 12 MP five times a minute, and keeps a client sending giant PNGs
# to under a fifth of a core; the first upload of a minute always passes, whatever its size.
UPLOAD_MEGAPIXELS_PER_MINUTE = env.int("UPLOAD_MEGAPIXELS_PER_MINUTE", default=1200)
USER_BATCH_RATE = env("USER_BATCH_RATE", default="10/m")
USER_BATCH_SESSION_RATE = env("USER_BATCH_SESSION_RATE", default="3/m")
# Batches being made at once for one address, or one session; one more is refused.
USER_BATCHES_UNFINISHED = env.int("USER_BATCHES_UNFINISHED", default=3)
# Generated accounts kept: the oldest past it are deleted after a batch, at most once a minute.
GENERATED_USERS_MAX = env.int("GENERATED_USERS_MAX", default=1_000_000)
# Cancel, retry, share and revoke, of jobs and batches.
JOB_ACTION_RATE = env("JOB_ACTION_RATE", default="30/m")
JOB_ACTION_SESSION_RATE = env("JOB_ACTION_SESSION_RATE", default="10/m")
RATELIMIT_FAIL_OPEN = True
RATELIMIT_IP_META_KEY = "ops.clients.client_address"
# django-ratelimit lists the cache backends it has tested; Django's own RedisCache is not on
# the list, but it counts with Redis's atomic INCR, which is all the library asks for.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
# A body over its cap is refused (413) by its Content-Length before it is read: an upload's is
# every file at its largest plus room for the form, any other Django's own cap on form data.
UPLOAD_BODY_MAX_BYTES = MAX_FILES_PER_JOB * MAX_UPLOAD_BYTES + 1024 * 1024
BODY_MAX_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
# The admin login (django-axes): LOGIN_FAILURE_LIMIT wrong passwords from one address, or for
# one username from one address, lock that out for LOGIN_COOLOFF_SECONDS, counted again from
# each attempt made meanwhile; never a username alone, so nobody can lock the real admin out
# from everywhere. `manage.py axes_reset` lifts every lockout (README "Limits").
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_COOLOFF_SECONDS = env.int("LOGIN_COOLOFF_SECONDS", default=900)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_COOLOFF_SECONDS)
AXES_LOCKOUT_PARAMETERS = ["ip_address", ["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "ops.limits.client_network"
AXES_LOCKOUT_CALLABLE = "ops.limits.login_locked_out"
# What a failed login leaves for staff (admin: access attempts) and the logs holds no CSRF
# token; no banner at every start.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
AXES_VERBOSE = False

# CELERY
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = 24 * 3600
# A queue per workload: thumbnails (CPU-bound) on `thumbnails`, everything else (user
# batches, periodic work) on `default`. A worker started without -Q consumes both, taking
# from each in turn, so a flood of thumbnails never holds the heartbeat or the sweep back;
# CPU hosts run `-Q thumbnails -P prefork` (docs/SCALING.md). A chord's members and its
# callback are routed by name too, wherever they are sent from. Each queue is bound to the
# direct exchange with its own routing key: left without one, both would get the default
# key, and a message sent to the exchange with it would land in both queues and run twice.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (
    Queue("default", routing_key="default"),
    Queue("thumbnails", routing_key="thumbnails"),
)
CELERY_TASK_ROUTES = {
    name: {"queue": "thumbnails"}
    for name in (
        "thumbnailer.job_run",
        "thumbnailer.image_thumbnails_make",
        "thumbnailer.job_archive_build",
    )
}
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged when it ends, and given back to the queue if its worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# A green worker (`-P gevent`) started without -c gets this many slots, and its CPU work runs
# in CPU_THREADS real threads (default: one per core); image_parroter/pools.py says why.
GREEN_POOL_CONCURRENCY = env.int("GREEN_POOL_CONCURRENCY", default=32)
CPU_THREADS = env.int("CPU_THREADS", default=0)
# When Redis is away, a publish that fails is tried once more, 0.1 s later; then the web
# leaves the job a queued row for the sweep (ops.dispatch.send) and answers at once.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.1,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
# Redis has no acknowledgements: kombu keeps a message a worker took in its "unacked" hash
# and gives it back to the queue when it is not acknowledged within the visibility timeout.
# So it must outlast the longest task (the hard time limit), or a task still running would be
# run a second time beside the first; twice the limit leaves room for a task that waited in a
# worker's prefetch window first. The result backend gets the same options, so that every
# Redis client of the project agrees on them (Celery's docs set both).
REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT,
    "global_keyprefix": REDIS_KEY_PREFIX,
    **REDIS_SOCKET_TIMEOUTS,
}
if REDIS_SENTINEL:
    # The master to ask the Sentinels for, and the same timeouts with the Sentinels (kombu's
    # broker would use its own socket_* options; Celery's result backend, none).
    REDIS_TRANSPORT_OPTIONS |= {
        "master_name": REDIS_SENTINEL_MASTER,
        "sentinel_kwargs": REDIS_SOCKET_TIMEOUTS,
    }
CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_TRANSPORT_OPTIONS
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = REDIS_TRANSPORT_OPTIONS
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_TIMEOUTS["socket_connect_timeout"]
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUTS["socket_timeout"]
# A worker that loses Redis keeps its running tasks going: their acks still reach Redis
# afterwards (kombu keys unacknowledged messages by delivery tag, not by connection), so
# cancelling them would only make them run twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# A prefork child whose memory grew past this (KiB; a PNG at the pixel limit decodes to about
# 190 MiB, and the heap keeps some of it) is replaced once its task ends. Green pools ignore it.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=800_000)
# On SIGTERM (a deploy, `docker compose stop`) running tasks get 10 s to finish; then the
# worker stops and their messages go back to the queue for the next worker.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 10
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Task events, for Flower (flowerconfig.py, which needs them): the web's "sent" as it queues a
# task (what Flower shows of waiting work) and the workers' received, started, succeeded...
# They cost publishes on every task (docs/MONITORING.md says how many), so they are off
# unless asked for with CELERY_TASK_EVENTS=true, as compose's `flower` profile is used.
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_TASK_EVENTS", default=False)
CELERY_TASK_SEND_SENT_EVENT = CELERY_WORKER_SEND_TASK_EVENTS
# The DatabaseScheduler, sending only while it holds the beat lock, less the schedule it adds
# by itself (ops/schedulers.py).
CELERY_BEAT_SCHEDULER = "ops.schedulers:Scheduler"
# Exactly one beat sends: the holder of a lock in Redis that lapses BEAT_LOCK_SECONDS after
# its last renewal (it renews every third of that, and stops sending when a renewal fails).
# Another beat tries every BEAT_LOCK_RETRY_SECONDS, so it takes over within about
# BEAT_LOCK_SECONDS + 1 s of the holder's death, and at once after a clean shutdown.
BEAT_LOCK_SECONDS = env.int("BEAT_LOCK_SECONDS", default=15)
BEAT_LOCK_RETRY_SECONDS = 1

# OPERATIONS (periodic work and /health)
# A worker renews a lease on each job it has a task of in hand every third of this; the
# sweep (every 30 s) re-sends a job whose lease lapsed and whose messages are not in Redis,
# so a dead worker's jobs are running again within about this plus 30 s (ops/liveness.py).
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=45)
# Periodic runs recorded in the database (admin: task results) are kept this many days.
RUN_HISTORY_DAYS = env.int("RUN_HISTORY_DAYS", default=7)
# /metrics, and /health's details (workers, beat), answer a direct loopback connection, and
# anyone else only with `Authorization: Bearer <this>`.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# PROXIES
# The proxies whose headers (the client's address, the scheme) are believed: addresses or
# networks, or `unix` for whoever talks to gunicorn over its Unix socket, which is how the
# project's own front reaches it in `make run`, the image and compose. Empty: none; every
# request's headers of that kind are dropped (ops/clients.py).
TRUSTED_PROXIES = env.list("DJANGO_TRUSTED_PROXIES", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None

# FRONT (nginx before gunicorn: `manage.py front` renders ops/nginx.conf, docs/FRONT.md)
# Where it listens: the image listens on every address (FRONT_ADDRESS=0.0.0.0), PORT as honcho
# gives it. WEB_SOCKET is gunicorn's Unix socket (scripts/devstack.py, the Dockerfile and
# compose name it); FRONT_DIR keeps the rendered file and the bodies being received.
FRONT_ADDRESS = env("FRONT_ADDRESS", default="127.0.0.1")
FRONT_PORT = env.int("PORT", default=8000)
WEB_SOCKET = env("WEB_SOCKET", default="")
FRONT_DIR = Path(env("FRONT_DIR", default=str(BASE_DIR / "var" / "front")))
# Seconds a client may take to send its whole request header, and to go quiet in the middle
# of a body or of reading an answer; then the front closes the connection.
FRONT_HEADER_TIMEOUT = env.int("FRONT_HEADER_TIMEOUT", default=10)
FRONT_IDLE_TIMEOUT = env.int("FRONT_IDLE_TIMEOUT", default=30)
# Requests in progress from one client address at once (a browser keeps at most 6 connections
# to a site, and only those in the middle of a request count): room for a few dozen people
# behind one NAT, not for one client that keeps the front's connections.
FRONT_CONNECTIONS_PER_ADDRESS = env.int("FRONT_CONNECTIONS_PER_ADDRESS", default=64)
# The addresses that take an upload's large body (the upload form's); every other one takes 1 MiB.
FRONT_UPLOAD_PATHS = ["/"]
# A load balancer or TLS terminator in front of the front: its addresses or networks, whose
# X-Forwarded-For (the client) and X-Forwarded-Proto the front believes. Empty: none.
FRONT_TRUSTED_PROXIES = env.list("FRONT_TRUSTED_PROXIES", default=[])

# SECURITY (production defaults follow DEBUG; `manage.py check --deploy` passes with DEBUG off)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE  # the selector's choice (set_language)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"


def object_storage_origins(endpoint_url: str, bucket: str) -> list[str]:
    """Where the browser fetches media from in S3 mode (previews redirect to presigned URLs):
    the endpoint, and its bucket-named host, which boto3 uses unless addressing is by path."""
    if not endpoint_url:
        return []
    url = urlsplit(endpoint_url)
    origins = [f"{url.scheme}://{url.netloc}"]
    if bucket:
        origins.append(f"{url.scheme}://{bucket}.{url.netloc}")
    return origins


# Content-Security-Policy on every response (django-csp; it leaves it off Django's own debug
# 404 and 500 pages when DEBUG is on). Scripts only from our own files: no inline code, no
# eval (the admin's data blocks are JSON, which is not run). Styles too only from files, with
# no 'unsafe-inline': no page of ours nor of the admin here has inline style (Django's admin
# has one <style>, for a ModelAdmin that turns both action bars off, which none here does),
# and styles that scripts set through the DOM are not affected. Styles are less critical than
# scripts (they run no code), so if a page ever needs one, its hash would do. Images: our
# own, data: (Pico's icons are SVGs in data: URLs), blob: (upload.js previews the chosen
# files from blob: URLs) and the object storage's origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [
            SELF,
            "data:",
            "blob:",
            *object_storage_origins(AWS_S3_ENDPOINT_URL or "", AWS_STORAGE_BUCKET_NAME or ""),
        ],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
