#!/usr/bin/env bash
# The device benchmark of PeerDistill, for a machine with PyTorch (and its libtorch) but no .NET SDK:
#   1. finds a python3 with torch and builds the native shim with CMake against that torch's libtorch
#      (CMAKE_PREFIX_PATH = torch.utils.cmake_prefix_path), with CUDA when that torch has it;
#   2. runs the engine's benchmark (bench/PeerDistill.GpuBench, peerdistill-gpubench) with that shim: first a
#      checkpoint carried from the device to the CPU and back, then a 2-peer embedded
#      DML cohort (cnn + resnet20) on synthetic 3x32x32 / 10-class data, at batch 128 and 512;
#   3. runs bench/gpu/torch_anchor.py, the same steps in PyTorch on the same device;
#   4. writes engine.json, torch.json, summary.json and summary.md into OUTDIR.
#
# Usage: bench/gpu/run.sh OUTDIR [--dry-run] [--engine PATH] [--python PY] [--device DEV]
#                         [--warmup N] [--steps N] [--batches B1,B2] [--threads N] [--jobs N] [--work DIR]
#   --engine   the benchmark's engine: the .tar.gz of ./build.sh publish-gpu-bench (self-contained, for a
#              machine without .NET; unpacked into the work folder), its folder, its peerdistill-gpubench
#              executable, or a peerdistill-gpubench.dll (run with `dotnet`). Its libpeerdistill_native.so
#              is replaced by the one built here. Default: artifacts/publish/gpu-bench.tar.gz when it
#              exists, else the Release build in bench/PeerDistill.GpuBench.
#   --direct   build the shim on the torch package's include/ and lib/ without find_package(Torch)
#              (done anyway when find_package fails, e.g. a CUDA torch without the CUDA toolkit).
#   --dry-run  device cpu, 1 warm-up + 2 timed steps, so that a CPU machine checks every step here.
#   --work     where the shim is built and the engine copied (default OUTDIR/../.gpubench-work-NAME;
#              reused, so a second run only rebuilds what changed).
set -euo pipefail

die() { echo "run.sh: error: $*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ $# -ge 1 && $1 != --* ]] || die "usage: bench/gpu/run.sh OUTDIR [--dry-run] [--engine PATH] [--python PY] [--device DEV] [--warmup N] [--steps N] [--batches B1,B2] [--threads N] [--jobs N] [--work DIR] [--direct]"
out=$1; shift
dry=0; engine="$repo/artifacts/publish/gpu-bench.tar.gz"
[[ -f $engine ]] || engine="$repo/bench/PeerDistill.GpuBench/bin/Release/net10.0/peerdistill-gpubench.dll"
direct=0; python=""; device=""; warmup=""; steps=""; batches="128,512"; threads=1; jobs=$(nproc); work=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --dry-run) dry=1; shift ;;
    --direct) direct=1; shift ;;
    --engine|--python|--device|--warmup|--steps|--batches|--threads|--jobs|--work)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      declare "${1#--}=$2"; shift 2 ;;
    *) die "unknown option '$1'" ;;
  esac
done
if [[ $dry == 1 ]]; then device=${device:-cpu}; warmup=${warmup:-1}; steps=${steps:-2}
else device=${device:-cuda:0}; warmup=${warmup:-20}; steps=${steps:-100}; fi
mkdir -p "$out"; out=$(cd "$out" && pwd)
work=${work:-$(dirname "$out")/.gpubench-work-$(basename "$out")}
mkdir -p "$work"; work=$(cd "$work" && pwd)
log="$out/run.log"; : > "$log"
say() { echo "$*" | tee -a "$log"; }
started=$(date +%s)

# 1. A python3 with torch, and its libtorch's CMake files.
if [[ -z $python ]]; then
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then python=$(command -v "$p"); break; fi
  done
fi
[[ -n $python ]] || die "no python3 with torch found (tried python3 and /usr/bin/python3; give one with --python)"
"$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch"
command -v cmake >/dev/null || die "cmake not found on PATH (needed to build the native shim)"
read -r torch_version torch_cuda cuda_ok prefix < <("$python" -c 'import torch; print(torch.__version__, torch.version.cuda or "none", int(torch.cuda.is_available()), torch.utils.cmake_prefix_path)') || die "$python could not report torch's version and cmake path"
say "torch $torch_version (CUDA $torch_cuda, device available: $cuda_ok) at $python; cmake prefix $prefix"
if [[ $device == cuda* ]]; then
  [[ $torch_cuda != none ]] || die "device $device asked, but torch $torch_version at $python is built without CUDA"
  [[ $cuda_ok == 1 ]] || die "device $device asked, but torch $torch_version at $python sees no CUDA device"
fi
if [[ ! -f $prefix/Torch/TorchConfig.cmake ]]; then
  # Debian's python3-torch reports a cmake path it does not ship; its libtorch-dev has the files.
  debian=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/cmake
  if [[ -f $debian/Torch/TorchConfig.cmake ]]; then
    say "no TorchConfig.cmake under $prefix; using the system libtorch's at $debian (Debian libtorch-dev)"
    prefix=$debian
  else
    die "torch's cmake path $prefix has no Torch/TorchConfig.cmake, and no system libtorch (libtorch-dev) was found"
  fi
fi

build="$work/native"
cmake_args=(-S "$repo/src/PeerDistill.Torch.Native" -B "$build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix")
if [[ $torch_cuda != none ]]; then
  # PyTorch's CUDA libtorch asks CMake for the CUDA toolkit; H200 is sm_90.
  cmake_args+=("-DTORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}")
  [[ -d ${CUDA_HOME:-/usr/local/cuda} ]] && cmake_args+=("-DCUDAToolkit_ROOT=${CUDA_HOME:-/usr/local/cuda}")
fi
# Without find_package: the torch package's own include/ and lib/ (no CUDA toolkit needed).
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
abi=$("$python" -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
direct_args=(-S "$repo/src/PeerDistill.Torch.Native" -B "$build-direct" -DCMAKE_BUILD_TYPE=Release "-DPD_TORCH_DIR=$torch_dir" "-DPD_TORCH_CXX11_ABI=$abi")
[[ $torch_cuda != none ]] && direct_args+=(-DPD_TORCH_CUDA=ON)
if [[ $direct == 1 ]]; then
  say "configuring the shim on the torch package directly: cmake ${direct_args[*]}"
  cmake "${direct_args[@]}" >>"$log" 2>&1 || die "cmake could not configure the shim on $torch_dir (see $log)"
  build="$build-direct"
else
  say "configuring the shim: cmake ${cmake_args[*]}"
  if ! cmake "${cmake_args[@]}" >>"$log" 2>&1; then
    # A CUDA libtorch's TorchConfig.cmake wants the CUDA toolkit; the shim itself does not.
    say "find_package(Torch) failed against $prefix (see $log); configuring on the torch package directly: cmake ${direct_args[*]}"
    cmake "${direct_args[@]}" >>"$log" 2>&1 || die "cmake could not configure the shim, neither through find_package(Torch) at $prefix nor on $torch_dir (see $log)"
    build="$build-direct"
  fi
fi
say "building the shim (-j $jobs)"
if ! cmake --build "$build" -j "$jobs" >>"$log" 2>&1; then
  # The C++ standard is chosen from the libtorch version (CMakeLists.txt); try the other one once.
  chosen=$(sed -n 's/^PD_CXX_STANDARD:STRING=//p' "$build/CMakeCache.txt")
  other=$([[ $chosen == 20 ]] && echo 17 || echo 20)
  say "the shim did not build as C++$chosen (see $log); trying C++$other"
  cmake "$build" "-DPD_CXX_STANDARD=$other" >>"$log" 2>&1 && cmake --build "$build" -j "$jobs" >>"$log" 2>&1 \
    || die "the shim did not build as C++$chosen nor as C++$other (see $log)"
fi
shim="$build/libpeerdistill_native.so"
[[ -f $shim ]] || die "the build made no $shim"
if [[ $device == cuda* ]] && ! ldd "$shim" | grep -q 'torch_cuda'; then
  say "warning: ldd shows no libtorch_cuda for $shim; the engine will say so if it sees no CUDA device"
fi
built=$(date +%s)
say "shim built in $((built - started)) s: $(ldd "$shim" | grep -E 'libtorch(_cuda)?\.so|libc10(_cuda)?\.so' | awk '{print $1 " -> " $3}' | tr '\n' ' ')"

# 2. The engine, with this shim next to it.
[[ -e $engine ]] || die "engine $engine not found (./build.sh publish-gpu-bench makes artifacts/publish/gpu-bench.tar.gz; or give one with --engine)"
engine_dir="$work/engine"
rm -rf "$engine_dir"; mkdir -p "$engine_dir"
case $engine in
  *.tar.gz|*.tgz)
    tar -xzf "$engine" -C "$engine_dir" || die "could not unpack $engine"
    found=$(find "$engine_dir" -maxdepth 2 -name peerdistill-gpubench -type f | head -1)
    [[ -n $found ]] || die "$engine holds no peerdistill-gpubench"
    engine_bin=$found ;;
  *)
    if [[ -d $engine ]]; then src_dir=$engine; name=peerdistill-gpubench; else src_dir=$(dirname "$engine"); name=$(basename "$engine"); fi
    cp -a "$src_dir"/. "$engine_dir"/
    engine_bin="$engine_dir/$name" ;;
esac
[[ -e $engine_bin ]] || die "no $(basename "$engine_bin") in $engine"
cp "$shim" "$(dirname "$engine_bin")/libpeerdistill_native.so"
if [[ $engine_bin == *.dll ]]; then
  command -v dotnet >/dev/null || die "$engine is a .dll and there is no dotnet on PATH; give the self-contained publish with --engine"
  run_engine=(dotnet "$engine_bin")
else
  [[ -x $engine_bin ]] || die "$engine_bin is neither a .dll nor an executable"
  run_engine=("$engine_bin")
fi
say "engine: $engine_bin ($(du -sh "$(dirname "$engine_bin")" | cut -f1))"

gpu_mem_pid=""
sample_memory() {  # device-wide used memory (MiB) every 100 ms into $1, on CUDA with nvidia-smi only
  if [[ $device == cuda* ]] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i "${device#cuda:}" -lms 100 > "$1" 2>/dev/null &
    gpu_mem_pid=$!
  fi
}
stop_sampling() { if [[ -n $gpu_mem_pid ]]; then kill "$gpu_mem_pid" 2>/dev/null || true; wait "$gpu_mem_pid" 2>/dev/null || true; gpu_mem_pid=""; fi; }
trap stop_sampling EXIT

common=(--device "$device" --batches "$batches" --warmup "$warmup" --steps "$steps" --threads "$threads" --temperature 4)
say "engine: ${run_engine[*]} ${common[*]}"
sample_memory "$out/engine-device-memory.txt"
"${run_engine[@]}" "${common[@]}" --report "$out/engine.json" 2>&1 | tee -a "$log" || die "the engine benchmark failed (see $log)"
stop_sampling

# 3. The PyTorch anchor.
say "anchor: $python $repo/bench/gpu/torch_anchor.py ${common[*]}"
sample_memory "$out/torch-device-memory.txt"
"$python" "$repo/bench/gpu/torch_anchor.py" "${common[@]}" --report "$out/torch.json" 2>&1 | tee -a "$log" || die "the PyTorch anchor failed (see $log)"
stop_sampling

# 4. The summary.
finished=$(date +%s)
"$python" - "$out" "$dry" "$((built - started))" "$((finished - started))" "$(uptime)" <<'EOF' | tee -a "$log"
import json, os, sys
out, dry, build_s, total_s, load = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
engine = json.load(open(os.path.join(out, "engine.json")))
torch_ = json.load(open(os.path.join(out, "torch.json")))
def peak(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return None
    values = [int(v) for v in open(p).read().split() if v.strip().isdigit()]
    return max(values) if values else None
rows = []
for e in engine["results"]:
    t = next(r for r in torch_["results"] if r["batch"] == e["batch"])
    rows.append({
        "batch": e["batch"],
        "engine_samples_per_second": e["cohort_samples_per_second"],
        "engine_ms_per_step": e["ms_per_cohort_step"],
        "engine_peer_samples_per_second": {p["model"]: p["samples_per_second"] for p in e["peers"]},
        "engine_exchange_share": {p["model"]: p["exchange_share"] for p in e["peers"]},
        "torch_samples_per_second": t["cohort_samples_per_second"],
        "torch_ms_per_step": t["ms_per_cohort_step"],
        "engine_max_memory_allocated_bytes": e["max_memory_allocated_bytes"],
        "engine_max_memory_reserved_bytes": e["max_memory_reserved_bytes"],
        "torch_max_memory_allocated_bytes": t["max_memory_allocated_bytes"],
        "torch_max_memory_reserved_bytes": t.get("max_memory_reserved_bytes"),
        "engine_over_torch": e["cohort_samples_per_second"] / t["cohort_samples_per_second"],
    })
summary = {
    "dry_run": dry, "device": engine["device"], "torch": torch_["torch"], "cuda": torch_["cuda"],
    "device_name": torch_["device_name"], "libtorch": engine["libtorch"], "warmup": engine["warmup"], "steps": engine["steps"],
    "build_seconds": build_s, "total_seconds": total_s, "load": load,
    "engine_device_memory_peak_mib": peak("engine-device-memory.txt"),
    "torch_device_memory_peak_mib": peak("torch-device-memory.txt"),
    "checkpoint_across_devices": engine["checkpoint_across_devices"],
    "rows": rows,
}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
mem = lambda v: "n/a" if v is None else f"{v / 2**20:.0f} MiB"
lines = [
    f"# PeerDistill device benchmark{' (CPU dry run)' if dry else ''}",
    "",
    f"device {engine['device']} ({torch_['device_name']}), torch {torch_['torch']} (CUDA {torch_['cuda']}), engine on {engine['libtorch']}",
    f"2-peer DML ({' + '.join(engine['models'])}), synthetic 3x32x32 / 10 classes, T=4, SGD; {engine['warmup']} warm-up + {engine['steps']} timed steps; build {build_s} s, all {total_s} s",
    f"load: {load.strip()}",
    "",
    "| batch | engine samples/s | PyTorch samples/s | engine / PyTorch | engine ms/step | PyTorch ms/step | exchange share (per peer) | max allocated, engine / PyTorch | max reserved, engine / PyTorch |",
    "|---:|---:|---:|---:|---:|---:|---|---:|---:|",
]
for r in rows:
    share = ", ".join(f"{m} {s * 100:.1f}%" for m, s in r["engine_exchange_share"].items())
    lines.append(f"| {r['batch']} | {r['engine_samples_per_second']:.0f} | {r['torch_samples_per_second']:.0f} | {r['engine_over_torch']:.3f} | {r['engine_ms_per_step']:.1f} | {r['torch_ms_per_step']:.1f} | {share} | {mem(r['engine_max_memory_allocated_bytes'])} / {mem(r['torch_max_memory_allocated_bytes'])} | {mem(r['engine_max_memory_reserved_bytes'])} / {mem(r['torch_max_memory_reserved_bytes'])} |")
c = engine["checkpoint_across_devices"]
lines += ["", f"checkpoint written on {c['from']}: loaded on the cpu (max logit difference {c['loaded_on_cpu_max_logit_difference']:.2g}), restored with its optimizer on the cpu ({c['restored_on_cpu_max_logit_difference']:.2g}), and back on {c['from']} ({c['restored_back_max_logit_difference']:.2g})"]
lines += ["", f"device memory used, peak over each run (nvidia-smi, whole device): engine {summary['engine_device_memory_peak_mib'] or 'n/a'} MiB, PyTorch {summary['torch_device_memory_peak_mib'] or 'n/a'} MiB"]
open(os.path.join(out, "summary.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
say "reports in $out (engine.json, torch.json, summary.json, summary.md, run.log)"
