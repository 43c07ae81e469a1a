#!/bin/sh
# The service's login role on a new PostgreSQL (compose.yaml runs it once, as the
# postgres image's first user, from /docker-entrypoint-initdb.d). It can be run again:
# it only sets the login and the password. The first migration grants the role
# what it may do (INSERT and SELECT on the journal).
#   needs POSTGRES_USER, POSTGRES_DB (the postgres image's) and CLUBFUND_APP_PASSWORD
set -eu
psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v password="$CLUBFUND_APP_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE clubfund_app'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clubfund_app') \gexec
ALTER ROLE clubfund_app LOGIN PASSWORD :'password'
      NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
SQL
