#!/usr/bin/env bash
# Makes sure the local PostgreSQL image the ledger's container tests use exists (nothing is pulled):
# a minimal Debian bookworm with Debian's postgresql-15, made with debootstrap and `docker import`,
# like the JRE base image of scripts/ensure-docker.sh (run that first: it starts Docker).
# Idempotent: when the image exists, nothing is done.
#
#   scripts/ensure-postgres-image.sh            # image all-cds/postgres15:bookworm
#
# The image's /usr/local/bin/start-postgres: on first start, initdb into /var/lib/postgresql/data
# (user POSTGRES_USER, password POSTGRES_PASSWORD, database POSTGRES_DB: the official image's variables,
# so Testcontainers' PostgreSQLContainer can drive it), listen on all addresses with md5 passwords, then
# run postgres in the foreground as the postgres user. It prints "database system is ready to accept
# connections" once (the official image prints it twice).
set -euo pipefail

IMAGE="${ALLCDS_POSTGRES_IMAGE:-all-cds/postgres15:bookworm}"
SUITE=bookworm
APT_LOG=/tmp/ensure-postgres-image.apt.log
DEBOOTSTRAP_LOG=/tmp/ensure-postgres-image.debootstrap.log

say() { echo "ensure-postgres-image: $*"; }
die() { echo "ensure-postgres-image: ERROR: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

docker info >/dev/null 2>&1 || die "docker does not answer (run scripts/ensure-docker.sh first)"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

# The Debian mirror apt already uses (first deb822 or one-line source naming bookworm main).
MIRROR="$( (grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
            awk '$1 == "deb" && $3 == "bookworm" {print $2}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null) \
          | grep -v security | head -n 1 || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap (log: $APT_LOG)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$APT_LOG" 2>&1 || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >>"$APT_LOG" 2>&1 \
    || die "apt-get install debootstrap failed (see $APT_LOG)"
fi

ROOTFS="$(mktemp -d /var/tmp/allcds-pgrootfs.XXXXXX)"
cleanup() { as_root rm -rf --one-file-system "$ROOTFS"; }
trap cleanup EXIT

say "building $IMAGE: debootstrap $SUITE + postgresql-15 from $MIRROR (log: $DEBOOTSTRAP_LOG)"
as_root debootstrap --variant=minbase --include=postgresql-15 "$SUITE" "$ROOTFS" "$MIRROR" >"$DEBOOTSTRAP_LOG" 2>&1 \
  || { tail -n 20 "$DEBOOTSTRAP_LOG" >&2; die "debootstrap failed (see $DEBOOTSTRAP_LOG)"; }
[ -x "$ROOTFS/usr/lib/postgresql/15/bin/postgres" ] || die "no postgres 15 in the new root file system"

as_root rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/lib/apt/lists/* \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*

as_root tee "$ROOTFS/usr/local/bin/start-postgres" >/dev/null <<'START'
#!/bin/sh
# First start: a cluster in $PGDATA with the official image's variables; then postgres in the foreground.
set -e
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
PGBIN=/usr/lib/postgresql/15/bin
USER_NAME="${POSTGRES_USER:-postgres}"
DB_NAME="${POSTGRES_DB:-$USER_NAME}"
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "${POSTGRES_PASSWORD:-postgres}" > /tmp/pwfile
  chown postgres /tmp/pwfile
  su postgres -s /bin/sh -c "$PGBIN/initdb -D '$PGDATA' -U '$USER_NAME' --pwfile=/tmp/pwfile -A md5 -E UTF8 --locale=C" >/dev/null
  rm -f /tmp/pwfile
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all 0.0.0.0/0 md5" >> "$PGDATA/pg_hba.conf"
  echo "host all all ::/0 md5" >> "$PGDATA/pg_hba.conf"
  if [ "$DB_NAME" != "postgres" ]; then
    su postgres -s /bin/sh -c "$PGBIN/postgres --single -D '$PGDATA' postgres" >/dev/null <<SQL
CREATE DATABASE "$DB_NAME" OWNER "$USER_NAME";
SQL
  fi
fi
exec su postgres -s /bin/sh -c "exec $PGBIN/postgres -D '$PGDATA'"
START
as_root chmod 755 "$ROOTFS/usr/local/bin/start-postgres"

as_root tar -C "$ROOTFS" --numeric-owner -c . | docker import \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'EXPOSE 5432' \
  --change 'CMD ["/usr/local/bin/start-postgres"]' \
  --message "debootstrap --variant=minbase --include=postgresql-15 $SUITE" \
  - "$IMAGE" >/dev/null
say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
