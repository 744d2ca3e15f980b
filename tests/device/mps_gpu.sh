#!/bin/sh
# The MPS control daemon on a real GPU, started as the gpuslice agent starts
# it (device/mps.c): CUDA_VISIBLE_DEVICES=<GPU UUID>, its own pipe and log
# folders ROOT/<GPU UUID>/pipe and /log (ROOT a temporary folder here),
# `nvidia-cuda-mps-control -d`, `get_server_list` to see it answer, `quit`
# to stop it. A tiny CUDA client (mps_client.cu, compiled here with nvcc)
# then shows, with the environment the agent gives a container:
#   - under CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=2G, 1 GiB can be allocated
#     and 3 GiB cannot;
#   - CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=10 makes a kernel that fills every
#     SM clearly slower than 100.
# It never changes MIG mode, compute mode, clocks or power: it picks a GPU
# with MIG disabled and skips when there is none or its compute mode
# forbids CUDA. The daemon is always quit (trap), and the folder removed.
# Exit 77 (meson's SKIP) without nvidia-smi, nvcc, the control program or
# a usable GPU. Usage: mps_gpu.sh [mps_client.cu] (default: beside it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$here/mps_client.cu}
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

command -v nvidia-smi >/dev/null 2>&1 || skip "no nvidia-smi"
command -v nvidia-cuda-mps-control >/dev/null 2>&1 || skip "no nvidia-cuda-mps-control"
nvcc=$(command -v nvcc || true)
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
[ -n "$nvcc" ] || skip "no nvcc (the CUDA toolkit)"
nvidia-smi -L >/dev/null 2>&1 || skip "nvidia-smi sees no GPU"

gpu=${GPUSLICE_MPS_GPU:-$(nvidia-smi --query-gpu=uuid,mig.mode.current,compute_mode \
    --format=csv,noheader 2>/dev/null |
    awk -F', *' '$2 != "Enabled" && $3 != "Prohibited" { print $1; exit }')}
[ -n "$gpu" ] || skip "every GPU has MIG enabled or forbids CUDA (this test changes neither)"
echo "GPU $gpu: $(nvidia-smi -i "$gpu" --query-gpu=name,driver_version,mig.mode.current,compute_mode --format=csv,noheader)"

root=$(mktemp -d /tmp/gpuslice-mps.XXXXXX) || fail "no temporary folder"
export CUDA_VISIBLE_DEVICES="$gpu"
export CUDA_MPS_PIPE_DIRECTORY="$root/$gpu/pipe"
export CUDA_MPS_LOG_DIRECTORY="$root/$gpu/log"
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY" || fail "cannot make the folders"
chmod 0755 "$root/$gpu/pipe" "$root/$gpu/log"

alive() { echo get_server_list | nvidia-cuda-mps-control >/dev/null 2>&1; }
cleanup() {
    if alive; then
        echo quit | nvidia-cuda-mps-control >/dev/null 2>&1
        i=0
        while alive && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
        alive && echo "WARNING: the MPS daemon on $CUDA_MPS_PIPE_DIRECTORY still answers"
    fi
    echo "--- the daemon's log"
    cat "$CUDA_MPS_LOG_DIRECTORY/control.log" 2>/dev/null | tail -n 20
    rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

"$nvcc" -O2 -o "$root/mps_client" "$src" || fail "nvcc could not compile $src"

alive && fail "a daemon answers on a fresh pipe folder"
nvidia-cuda-mps-control -d || fail "nvidia-cuda-mps-control -d refused"
i=0
while ! alive && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done
alive || fail "the daemon started but does not answer get_server_list"
echo "daemon up on $CUDA_MPS_PIPE_DIRECTORY"

client() { # ENV... -- ARGS: runs the client with the agent's variables
    env NVIDIA_VISIBLE_DEVICES="$gpu" "$@"
}
status=0
out=$(client CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=2G CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=100 \
    "$root/mps_client" alloc 1024)
echo "limit 0=2G, 1024 MiB: $out"
case "$out" in *ok*) ;; *) echo "FAIL: 1 GiB under a 2 GiB limit was refused"; status=1 ;; esac
out=$(client CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=2G CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=100 \
    "$root/mps_client" alloc 3072)
echo "limit 0=2G, 3072 MiB: $out"
case "$out" in *failed*) ;; *) echo "FAIL: 3 GiB over a 2 GiB limit was allowed"; status=1 ;; esac
echo "servers: $(echo get_server_list | nvidia-cuda-mps-control | tr '\n' ' ')"

ms() { sed -n 's/^bench \([0-9.]*\).*/\1/p'; }
full=$(client CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=100 "$root/mps_client" bench)
tenth=$(client CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=10 "$root/mps_client" bench)
echo "100% of the SMs: $full"
echo " 10% of the SMs: $tenth"
a=$(echo "$full" | ms)
b=$(echo "$tenth" | ms)
if [ -z "$a" ] || [ -z "$b" ]; then
    echo "FAIL: the benchmark did not run"; status=1
elif awk -v a="$a" -v b="$b" 'BEGIN { exit !(b > 2 * a) }'; then
    echo "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=10 is $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b / a }')x slower"
else
    echo "FAIL: 10% of the SMs ($b ms) is not clearly slower than 100% ($a ms)"; status=1
fi
exit $status
