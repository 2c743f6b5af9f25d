#!/usr/bin/env bash
# A throwaway PostgreSQL 15 + PostGIS 3 server for the tests: nothing mocked, nothing shared
# with the system's clusters.
#
#   tests/testing/pg_server.sh start STATE_DIR   initdb into a fresh temp dir, start postgres on a
#                                                free port of 127.0.0.1 (and a unix socket in the
#                                                temp dir), create the database `qiancun_test`
#                                                with CREATE EXTENSION postgis, write
#                                                STATE_DIR/env (PG* variables, QIANCUN_PG_URI)
#   tests/testing/pg_server.sh stop STATE_DIR    stop that server, remove its temp dir and STATE_DIR
#
# initdb refuses to run as root, so as root (CI) the server runs as the `postgres` system user;
# otherwise as the caller. Authentication is `trust` on 127.0.0.1 and the private socket only:
# the tests connect as the superuser `postgres` and as the login roles they create.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
action=$1
state=$2

pg_bin=${QIANCUN_PG_BIN:-$(pg_config --bindir 2>/dev/null || true)}
if [ ! -x "$pg_bin/initdb" ]; then
    pg_bin=/usr/lib/postgresql/15/bin
fi
[ -x "$pg_bin/initdb" ] || { echo "pg_server: no initdb in $pg_bin (postgresql-15)" >&2; exit 1; }

# Runs a server program as the user that owns the cluster.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

stop_server() {
    [ -f "$state/env" ] || return 0
    local data
    data=$(sed -n 's/^QIANCUN_PG_DATA=//p' "$state/env")
    if [ -n "$data" ] && [ -d "$data" ]; then
        as_owner "$pg_bin/pg_ctl" -D "$data/cluster" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf -- "$data"
    fi
    rm -f -- "$state/env"
}

case "$action" in
start)
    mkdir -p "$state"
    stop_server # a server left over by an interrupted run
    data=$(mktemp -d "${TMPDIR:-/tmp}/qiancun-pg.XXXXXX")
    chmod 0755 "$data"
    mkdir "$data/sock"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 ||
            { echo "pg_server: running as root needs the postgres system user" >&2; exit 1; }
        chown postgres: "$data" "$data/sock"
    fi
    as_owner "$pg_bin/initdb" -D "$data/cluster" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >"$data/initdb.log" 2>&1 || { cat "$data/initdb.log" >&2; rm -rf -- "$data"; exit 1; }
    # A port chosen free can be taken before postgres binds it: try again with another.
    started=""
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        if as_owner "$pg_bin/pg_ctl" -D "$data/cluster" -l "$data/server.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data/sock \
                -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                -c max_connections=200" start >/dev/null 2>&1; then
            started=1
            break
        fi
    done
    if [ -z "$started" ]; then
        echo "pg_server: postgres did not start:" >&2
        tail -n 20 "$data/server.log" >&2 || true
        rm -rf -- "$data"
        exit 1
    fi
    cat >"$state/env" <<EOF
PGHOST=127.0.0.1
PGPORT=$port
PGUSER=postgres
PGDATABASE=qiancun_test
QIANCUN_PG_URI=postgresql://postgres@127.0.0.1:$port/qiancun_test
QIANCUN_PG_SOCKET=$data/sock
QIANCUN_PG_DATA=$data
EOF
    psql_run() {
        "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
    }
    if ! psql_run -d postgres -c 'CREATE DATABASE qiancun_test' ||
        ! psql_run -d qiancun_test -c 'CREATE EXTENSION postgis'; then
        echo "pg_server: cannot create the test database with PostGIS" >&2
        stop_server
        exit 1
    fi
    echo "postgresql://postgres@127.0.0.1:$port/qiancun_test"
    ;;
stop)
    stop_server
    rmdir -- "$state" 2>/dev/null || true
    ;;
*)
    usage
    ;;
esac
