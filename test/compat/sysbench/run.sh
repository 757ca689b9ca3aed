#!/usr/bin/env bash
# sysbench through mysqlda: the scenario (`compat` command), a short benchmark (`run`, 2 threads, every thread
# routed with `select library` in thread_init), then `verify`, which prints the benchmark check.
set -u
cd "$(dirname "$0")"
EVENTS=1000
options=(--db-driver=mysql "--mysql-host=$COMPAT_HOST" "--mysql-port=$COMPAT_PORT" "--mysql-user=$COMPAT_USER"
  "--mysql-password=$COMPAT_PASSWORD" "--mysql-db=$COMPAT_DATABASE")

printf '{"client":"%s","version":"%s"}\n' "$COMPAT_CLIENT" "$(sysbench --version)"
sysbench compat.lua "${options[@]}" compat
# The benchmark's report goes to stderr, so stdout keeps only JSON lines.
sysbench compat.lua "${options[@]}" --threads=2 --events=$EVENTS --time=0 run >&2
COMPAT_BENCH_STATUS=$? COMPAT_BENCH_EVENTS=$EVENTS sysbench compat.lua "${options[@]}" verify
