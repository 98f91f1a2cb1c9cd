#!/bin/sh
# Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d):
# one role and one database per city of $CARTO_CITIES, each owned by its role, closed to
# the others. A city's app and worker sign in as that role: Calais's password opens
# nothing of Paris.
set -eu
for city in $CARTO_CITIES; do
    var="$(echo "$city" | tr '[:lower:]-' '[:upper:]_')_DB_PASSWORD"
    password="$(printenv "$var" || true)"
    if [ -z "$password" ]; then
        echo "initdb: $var is empty (deploy/env/db.env)" >&2
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v city="$city" -v password="$password" <<'SQL'
CREATE ROLE :"city" LOGIN PASSWORD :'password';
CREATE DATABASE :"city" OWNER :"city";
REVOKE ALL ON DATABASE :"city" FROM PUBLIC;
SQL
done
