#!/usr/bin/env bash
# PostgreSQL for the store's PostgreSQL tests (and for trying a team store locally): start the Debian
# cluster (installed by scripts/setup-system.sh), then create a login role and a database owned by it.
# The database uses the C locale, so ORDER BY on text sorts by bytes, as SQLite does.
# Idempotent: a running cluster, an existing role or database is left as it is.
# Prints one line on stdout, the URL for RRA_TEST_PG_URL / RRA_DB_URL; everything else goes to stderr.
#   RRA_PG_ROLE (rra), RRA_PG_PASSWORD (rra), RRA_PG_DB (rra_test): what to create.
set -euo pipefail
ROLE="${RRA_PG_ROLE:-rra}"
PASSWORD="${RRA_PG_PASSWORD:-rra}"
DB="${RRA_PG_DB:-rra_test}"
log() { echo "[setup-postgres] $*" >&2; }
for v in ROLE DB; do
  [[ "${!v}" =~ ^[a-z_][a-z0-9_]*$ ]] || { log "RRA_PG_$v must be a plain lower-case SQL name, got '${!v}'"; exit 2; }
done
[[ "$PASSWORD" != *"'"* ]] || { log "RRA_PG_PASSWORD must not contain a single quote"; exit 2; }
command -v pg_lsclusters >/dev/null || { log "PostgreSQL is not installed (apt-get install postgresql; scripts/setup-system.sh does it)"; exit 1; }

AS_PG=(runuser -u postgres --)
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "need root or sudo to start the cluster and create the role"; exit 1; }
  AS_PG=(sudo -u postgres)
  SUDO=sudo
fi

# The newest installed cluster; Debian's postinst creates <version>/main, but not where that was skipped.
cluster=$(pg_lsclusters -h | awk '{print $1, $2}' | sort -V | tail -1)
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  log "no cluster found; creating $version/main"
  ${SUDO:-} pg_createcluster "$version" main >&2
  cluster="$version main"
fi
read -r version name <<<"$cluster"
status=$(pg_lsclusters -h | awk -v v="$version" -v n="$name" '$1 == v && $2 == n {print $4}')
port=$(pg_lsclusters -h | awk -v v="$version" -v n="$name" '$1 == v && $2 == n {print $3}')
if [ "$status" = online ]; then
  log "cluster $version/$name already running on port $port"
else
  # pg_ctlcluster, not service/systemctl: containers often have neither an init system nor invoke-rc.d rights
  log "starting cluster $version/$name (port $port)"
  ${SUDO:-} pg_ctlcluster "$version" "$name" start >&2
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { log "the server does not accept connections on 127.0.0.1:$port; see /var/log/postgresql/postgresql-$version-$name.log"; exit 1; }

psql_pg() { "${AS_PG[@]}" psql -X -q -p "$port" -v ON_ERROR_STOP=1 "$@"; }
if [ "$(psql_pg -tAc "select 1 from pg_roles where rolname = '$ROLE'")" = 1 ]; then
  log "role $ROLE exists"
else
  log "creating role $ROLE"
  psql_pg -c "create role $ROLE login password '$PASSWORD'" >&2
fi
if [ "$(psql_pg -tAc "select 1 from pg_database where datname = '$DB'")" = 1 ]; then
  log "database $DB exists"
else
  log "creating database $DB (owner $ROLE, locale C)"
  "${AS_PG[@]}" createdb -p "$port" -O "$ROLE" -T template0 -E UTF8 --locale=C "$DB" >&2
fi
echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$port/$DB"
