# Services the integration tests need. Sourced by .ci/run (as root, with
# `set -euo pipefail`) before the build: any failure here fails CI.
#
# PostgreSQL, for examples/tests/postgres.rs: installed from Debian's
# packages, a throw-away cluster on 127.0.0.1, trust authentication, and
# RETRY_TEST_POSTGRES_URL exported for the test. With CI=true the test fails
# (it does not skip) when that variable is missing or the server is down.
#
# To run the same test on a developer machine: `source .ci/services.sh`
# (as root), then `cargo test -p examples --test postgres`.

retry_ci_postgres() {
  local port=54329
  local root=/tmp/retry-ci-postgres
  local database=retry_test

  if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    echo "installing PostgreSQL"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  echo "PostgreSQL: $("$bin/postgres" --version)"

  # The server refuses to run as root: it runs as the package's `postgres` user.
  retry_ci_as_postgres() { runuser -u postgres -- "$@"; }

  # A fresh cluster each run; stop one a previous run left behind.
  if [ -f "$root/data/postmaster.pid" ]; then
    retry_ci_as_postgres "$bin/pg_ctl" -D "$root/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$root"
  mkdir -p "$root"
  chown postgres:postgres "$root"
  retry_ci_as_postgres "$bin/initdb" -D "$root/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # fsync off: a test database, thrown away after the run.
  retry_ci_as_postgres "$bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off" start >/dev/null \
    || { cat "$root/server.log"; return 1; }
  retry_ci_as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$database"

  export RETRY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/$database"
  echo "RETRY_TEST_POSTGRES_URL=$RETRY_TEST_POSTGRES_URL"
}

retry_ci_postgres
