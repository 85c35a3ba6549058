#!/bin/sh
# Debian's redis-server as the official image runs it with no config file: it answers the
# other containers (protected mode would refuse them) and keeps its files in /data.
cd /data
exec "$@" --protected-mode no
