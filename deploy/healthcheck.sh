#!/bin/bash
# peerdistill-healthcheck: the image's HEALTHCHECK, with nothing but bash (no curl, no grpc probe).
#
# It reads what the container runs from PID 1's arguments (the image's ENTRYPOINT is the peerdistill
# binary itself) and the same settings the process reads (flags first, then PEERDISTILL_<SECTION>__<KEY>
# variables; a --config file is not read: give the ports as flags or variables, or set the
# PD_HEALTHCHECK_* overrides below), then:
#   coordinator, cleartext:  GET /api/v1/health on the REST port (--http-port, 7080) must answer 200
#                            (503 while the cluster does not answer);
#   coordinator, with TLS:   bash speaks no TLS: GET /metrics on --metrics-port must answer 200 when one
#                            is set, and the REST port must accept a connection;
#   worker:                  GET /metrics on --metrics-port (cleartext HTTP/1.1 even with TLS) must answer
#                            200, else its exchange port (--port; gRPC health needs HTTP/2) must accept a
#                            connection;
#   anything else (run, train, info, ...): healthy while it runs.
# The address probed is the process's --host (0.0.0.0 and :: mean 127.0.0.1).
# Overrides: PD_HEALTHCHECK_HOST, PD_HEALTHCHECK_PORT (with PD_HEALTHCHECK_PATH: an HTTP GET that must
# answer 200; without it: a TCP connection), PD_HEALTHCHECK_ROLE (coordinator, worker or none).
# Exit 0 healthy, 1 unhealthy (Docker's convention), with one line saying what was probed.
set -u

# PID 1's arguments (PD_HEALTHCHECK_CMDLINE: another file of NUL-separated arguments, for tests).
args=()
cmdline=${PD_HEALTHCHECK_CMDLINE:-/proc/1/cmdline}
if [[ -r $cmdline ]]; then
  mapfile -d '' args < "$cmdline"
fi

# The value of flag $1 among PID 1's arguments (the last one given wins), or nothing.
flag() {
  local name=$1 value="" i
  for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      "$name") value=${args[i + 1]:-} ;;
      "$name"=*) value=${args[i]#*=} ;;
    esac
  done
  printf '%s' "$value"
}

# setting FLAG VARIABLE DEFAULT: the flag's value, else the variable's, else the default.
setting() {
  local value
  value=$(flag "$1")
  [[ -n $value ]] || value=${!2:-}
  printf '%s' "${value:-$3}"
}

# http_status HOST PORT PATH: the status code of GET PATH over HTTP/1.1, or nothing.
http_status() {
  local line
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: peerdistill-healthcheck\r\nConnection: close\r\n\r\n' "$3" "$1" "$2" >&3
  IFS= read -r -t 5 line <&3
  exec 3<&- 3>&-
  [[ ${line%$'\r'} =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] && printf '%s' "${BASH_REMATCH[1]}"
}

# tcp_open HOST PORT: whether a connection is accepted.
tcp_open() {
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  exec 3<&- 3>&-
}

healthy() { echo "healthy: $*"; exit 0; }
unhealthy() { echo "unhealthy: $*"; exit 1; }

role=${PD_HEALTHCHECK_ROLE:-}
if [[ -z $role ]]; then
  role=none
  for a in "${args[@]}"; do
    case $a in coordinator | worker) role=$a; break ;; esac
  done
fi
case $role in
  coordinator) section=COORDINATOR ;;
  worker) section=WORKER ;;
  *) section="" ;;
esac

host=${PD_HEALTHCHECK_HOST:-}
if [[ -z $host && -n $section ]]; then
  host=$(setting --host "PEERDISTILL_${section}__HOST" 127.0.0.1)
fi
case ${host:-127.0.0.1} in 0.0.0.0 | :: | "") host=127.0.0.1 ;; esac

if [[ -n ${PD_HEALTHCHECK_PORT:-} ]]; then
  if [[ -n ${PD_HEALTHCHECK_PATH:-} ]]; then
    code=$(http_status "$host" "$PD_HEALTHCHECK_PORT" "$PD_HEALTHCHECK_PATH")
    [[ $code == 200 ]] && healthy "GET http://$host:$PD_HEALTHCHECK_PORT$PD_HEALTHCHECK_PATH answered 200"
    unhealthy "GET http://$host:$PD_HEALTHCHECK_PORT$PD_HEALTHCHECK_PATH answered ${code:-nothing}"
  fi
  tcp_open "$host" "$PD_HEALTHCHECK_PORT" && healthy "$host:$PD_HEALTHCHECK_PORT accepts connections"
  unhealthy "$host:$PD_HEALTHCHECK_PORT accepts no connection"
fi

[[ -n $section ]] || healthy "not a coordinator or worker: nothing to probe"

metrics=$(setting --metrics-port "PEERDISTILL_${section}__TELEMETRY__METRICSPORT" "")
tls=$(setting --tls-cert "PEERDISTILL_${section}__TLS__CERTIFICATE" "")
[[ $metrics == 0 ]] && metrics=""  # a free port chosen at start: not known here

if [[ $role == coordinator ]]; then
  rest=$(setting --http-port PEERDISTILL_COORDINATOR__HTTPPORT 7080)
  if [[ -z $tls ]]; then
    code=$(http_status "$host" "$rest" /api/v1/health)
    [[ $code == 200 ]] && healthy "GET http://$host:$rest/api/v1/health answered 200"
    unhealthy "GET http://$host:$rest/api/v1/health answered ${code:-nothing}"
  fi
  if [[ -n $metrics ]]; then
    code=$(http_status "$host" "$metrics" /metrics)
    [[ $code == 200 ]] || unhealthy "GET http://$host:$metrics/metrics answered ${code:-nothing}"
  fi
  tcp_open "$host" "$rest" || unhealthy "the REST port $host:$rest (TLS) accepts no connection"
  healthy "the REST port $host:$rest (TLS) accepts connections${metrics:+, /metrics on $metrics answered 200}"
fi

if [[ -n $metrics ]]; then
  code=$(http_status "$host" "$metrics" /metrics)
  [[ $code == 200 ]] && healthy "GET http://$host:$metrics/metrics answered 200"
  unhealthy "GET http://$host:$metrics/metrics answered ${code:-nothing}"
fi
exchange=$(setting --port PEERDISTILL_WORKER__PORT 0)
[[ $exchange == 0 ]] && healthy "no metrics port and a free exchange port: nothing to probe (give --port or --metrics-port)"
tcp_open "$host" "$exchange" && healthy "the exchange port $host:$exchange accepts connections"
unhealthy "the exchange port $host:$exchange accepts no connection"
