#!/usr/bin/env bash
# Makes the files the compose stack reads as secrets, in deploy/secrets/ (git and the image build ignore
# that folder): the cluster's certificate authority and one certificate per node (peerdistill certs
# init / issue, run in the image so that nothing needs installing here), PostgreSQL's password, the
# password file the coordinator and workers connect with (Npgsql's Passfile), and Grafana's admin
# password. Existing files are kept: run it again after deleting one to make it anew.
#
#   docker build -f deploy/Dockerfile.cpu -t peerdistill:cpu .
#   deploy/make-secrets.sh            # or PEERDISTILL_IMAGE=other:tag deploy/make-secrets.sh
#
# Ownership: the containers run as UID 10001 (peerdistill) and 472 (Grafana), and a compose secret is the
# file itself, bind-mounted with its owner and mode; so each file is owned by the user that reads it and
# readable by it alone. ca.key stays here and is mounted nowhere (whoever holds it can make nodes).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/deploy/secrets"
image="${PEERDISTILL_IMAGE:-peerdistill:cpu}"
mkdir -p "$dir"
docker run --rm --user 0:0 --network none --entrypoint /bin/bash -v "$dir:/secrets" "$image" -c '
set -euo pipefail
cd /secrets
password() { head -c 32 /dev/urandom | base64 | tr -d "/+=\n" | head -c 32; }
[ -f ca.crt ] || peerdistill certs init --dir /secrets
# The names each node is dialled by in the stack (service name, fixed address) and from this machine
# (localhost and 127.0.0.1 are in every certificate).
issue() { [ -f "$1.crt" ] || peerdistill certs issue "$1" --dir /secrets --dns "$1" --ip "$2"; }
issue coordinator 172.28.0.10
issue worker-1 172.28.0.11
issue worker-2 172.28.0.12
if [ ! -f postgres_password ]; then password > postgres_password; fi
if [ ! -f pgpass ]; then printf "postgres:5432:peerdistill:peerdistill:%s\n" "$(cat postgres_password)" > pgpass; fi
if [ ! -f grafana_admin_password ]; then password > grafana_admin_password; fi
[ -f admin_token ] || peerdistill tokens mint /secrets/admin_token
chown 10001:10001 ca.crt ca.key coordinator.* worker-1.* worker-2.* postgres_password pgpass admin_token
chmod 0444 ca.crt coordinator.crt worker-1.crt worker-2.crt
chmod 0400 ca.key coordinator.key worker-1.key worker-2.key postgres_password pgpass admin_token
chown 472:0 grafana_admin_password && chmod 0400 grafana_admin_password
'
echo "secrets in $dir:"
ls -ln "$dir"
