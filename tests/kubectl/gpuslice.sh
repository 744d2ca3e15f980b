#!/bin/sh
# kubectl against `gpuslice demo --keep`, the whole system with the webhook
# in the path, as a user sees it (issue 18): a denial printed word for word,
# `kubectl logs` of emulated containers (their MIG devices, -f, --tail,
# --timestamps, --previous, the refusals), `get gpunodes` with every model,
# `get gpuslices -o wide`, and `describe` of a pod that waits. Skips (exit
# 77) without kubectl 1.28 or newer.
#
# usage: gpuslice.sh GPUSLICE_BINARY
set -u

GPUSLICE=$1
. "$(dirname "$0")/lib.sh"

mkdir "$tmp/samples"
cat >"$tmp/samples/01-namespace.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels: {gpuslice.dev/enabled: "true"}
YAML
cat >"$tmp/samples/02-vectoradd.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: cuda-vectoradd
  namespace: demo
  annotations: {gpuslice.dev/run-seconds: "0.5"}
spec:
  restartPolicy: Never
  containers:
  - name: vectoradd
    image: nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0
    resources:
      limits: {nvidia.com/mig-1g.5gb: 1}
YAML

"$GPUSLICE" demo --keep --kubeconfig "$tmp/kubeconfig" -s "$tmp/samples" >"$tmp/demo.log" 2>&1 &
server=$!
for _ in $(seq 600); do
    grep -q "The cluster is still up" "$tmp/demo.log" && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "The cluster is still up" "$tmp/demo.log"; then
    echo "FAIL: gpuslice demo --keep did not come up:"
    cat "$tmp/demo.log"
    exit 1
fi
export KUBECONFIG="$tmp/kubeconfig" KUBECACHEDIR="$tmp/cache"

# A pod of the demo's namespace: NAME, annotations, restartPolicy, limits.
pod() {
    cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: demo, annotations: {$2}}
spec:
  restartPolicy: $3
  containers:
  - name: c
    image: cuda
    resources: {limits: {$4}}
YAML
}

# Waits until jsonpath PATH of pod NAME prints something matching PATTERN.
wait_for() {
    for _ in $(seq 300); do
        k get pod -n demo "$1" -o "jsonpath=$2" 2>/dev/null | grep -Eq -- "$3" && return 0
        sleep 0.1
    done
    return 1
}

# UUIDs differ from run to run.
no_uuids() {
    "$@" 2>&1 | sed -E 's/(GPU|MIG)-[0-9a-f-]{36}/\1-X/g'
}

create() {
    k create -f - <"$1"
}

pod bad "" Never "nvidia.com/mig-9g.99gb: 1" >"$tmp/bad.yaml"
expect_text "a denial reaches kubectl word for word" \
    "The request is invalid: error when creating \"STDIN\": admission webhook \"pods.gpuslice.dev\" denied the request: spec.containers[0].resources.limits[nvidia.com/mig-9g.99gb]: unknown MIG profile \"9g.99gb\": no catalogued GPU model has it (see 'gpuslice profiles')" \
    create "$tmp/bad.yaml"

expect_text "kubectl logs: the devices the container saw, then its end" \
"GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-X)
  MIG 1g.5gb Device 0: (UUID: MIG-X)
[gpuslice] emulated container vectoradd started; runs 0.5 s
[gpuslice] emulated container vectoradd exited with code 0 (Completed)" \
    no_uuids k logs -n demo cuda-vectoradd
expect_text "kubectl logs --tail" \
    "[gpuslice] emulated container vectoradd exited with code 0 (Completed)" \
    k logs -n demo cuda-vectoradd --tail=1
expect "kubectl logs --timestamps" \
    '^20[0-9-]{8}T[0-9:]{8}(\.[0-9]+)?Z GPU 0: NVIDIA A100' \
    k logs -n demo cuda-vectoradd --timestamps
expect_text "kubectl logs --previous without a previous run" \
    'Error from server (BadRequest): previous terminated container "vectoradd" in pod "cuda-vectoradd" not found' \
    k logs -n demo cuda-vectoradd --previous

pod follow "gpuslice.dev/run-seconds: '3'" Never "nvidia.com/mig-1g.10gb: 1" >"$tmp/follow.yaml"
create "$tmp/follow.yaml" >/dev/null
wait_for follow '{.status.phase}' Running
expect "kubectl logs -f follows until the container ends" \
    'runs 3 s.*exited with code 0' \
    sh -c "timeout 60 \"$KUBECTL\" logs -n demo follow -f | tr '\n' ' '"

pod again "gpuslice.dev/run-seconds: '1', gpuslice.dev/exit-code: '3'" OnFailure \
    "nvidia.com/mig-1g.10gb: 1" >"$tmp/again.yaml"
create "$tmp/again.yaml" >/dev/null
wait_for again '{.status.containerStatuses[0].restartCount}' '^[1-9]'
expect "kubectl logs --previous: the run before the restart" \
    'exited with code 3 \(Error\)' k logs -n demo again --previous

cat >"$tmp/two.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: two, namespace: demo}
spec:
  containers:
  - {name: a, image: i}
  - {name: b, image: i}
YAML
create "$tmp/two.yaml" >/dev/null
wait_for two '{.spec.nodeName}' node
expect_fail "pods/log without a container of two is a 400 naming them" \
    'a container name must be specified for pod two, choose one of: \[a b\]' \
    k get --raw /api/v1/namespaces/demo/pods/two/log

expect "get gpunodes lists every model of a node" \
    '^gpu-node-1 +A100-40GB,H100-80GB +Enabled +mig ' k get gpunodes
expect "get gpuslices -o wide: the asked profile beside the given one, and the pod" \
    'NAME +NODE +GPU +PROFILE +REQUESTED +MEMORY +PHASE +POD +CONTAINER +AGE.*again-c-0 +gpu-node-[12] +GPU-[0-9a-f-]+ +1g.10gb +1g.10gb +[A-Za-z]+ +again +c ' \
    sh -c "\"$KUBECTL\" get gpuslices -n demo -o wide | tr '\n' ' '"

pod big "" Never "nvidia.com/mig-7g.80gb: 3" >"$tmp/big.yaml"
create "$tmp/big.yaml" >/dev/null
wait_for big '{.status.conditions[*].reason}' NoPlacement
expect "describe of a waiting pod: the controller's condition and Event" \
    'gpuslice.dev/SlicesPlaced +False.*Warning +NoPlacement +.* gpuslice-controller +no node can hold all 3 slices' \
    sh -c "\"$KUBECTL\" describe pod -n demo big | tr '\n' ' '"

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
