#!/bin/sh
# kubectl against `gpuslice cluster`: every verb the embedded API server
# promises to support, with the kubectl on this machine. Skips (exit 77,
# meson's "skipped") when there is no kubectl 1.28 or newer.
#
# usage: run.sh GPUSLICE_BINARY CRD_DIR
set -u

GPUSLICE=$1
CRDS=$2
. "$(dirname "$0")/lib.sh"

"$GPUSLICE" cluster --kubeconfig "$tmp/kubeconfig" --crds "$CRDS" >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    [ -s "$tmp/kubeconfig" ] && break
    sleep 0.1
done
if [ ! -s "$tmp/kubeconfig" ]; then
    echo "FAIL: gpuslice cluster did not start:"
    cat "$tmp/server.log"
    exit 1
fi
export KUBECONFIG="$tmp/kubeconfig" KUBECACHEDIR="$tmp/cache"

cat >"$tmp/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c
    image: nginx:1.27
YAML
cat >"$tmp/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team-a}
data: {mode: fast}
YAML
cat >"$tmp/slices.yaml" <<'YAML'
apiVersion: gpuslice.dev/v1alpha1
kind: GPUSlice
metadata: {name: web-0, namespace: team-a}
spec: {nodeName: node-1, gpuUUID: GPU-1234, profile: 1g.10gb}
YAML

expect "api-resources lists built-ins and gpuslice's kinds" 'gpuslices +gsl +gpuslice.dev/v1alpha1 +true +GPUSlice' \
    k api-resources
expect "get namespaces (table)" '^kube-system +Active +[0-9]+s' k get namespaces
expect "create namespace" 'namespace/team-a created' k create namespace team-a
expect "namespace carries its name label" 'kubernetes.io/metadata.name=team-a' \
    k get namespace team-a --show-labels
expect "apply -f (client-side) creates" 'pod/web created' k apply -f "$tmp/pod.yaml"
expect "apply -f again is unchanged" 'pod/web unchanged' k apply -f "$tmp/pod.yaml"
sed 's/nginx:1.27/nginx:1.28/' "$tmp/pod.yaml" >"$tmp/pod2.yaml"
expect "apply -f with a change configures" 'pod/web configured' k apply -f "$tmp/pod2.yaml"
expect "get pods (table)" '^web +0/1 +Pending +0 +[0-9]+s' k get pods
expect "get pods -A" '^default +web +0/1 +Pending' k get pods -A
expect "create configmap (a protobuf body)" 'configmap/flags created' \
    k create configmap flags -n team-a --from-literal=debug=1
expect "get -o wide" 'NOMINATED NODE' k get pods -o wide
expect "get -o yaml" 'image: nginx:1.28' k get pod web -o yaml
expect "get -o json" '"kind": "Pod"' k get pod web -o json
expect "apply --server-side" 'configmap/settings serverside-applied' \
    k apply --server-side -f "$tmp/cm.yaml"
sed 's/fast/slow/' "$tmp/cm.yaml" >"$tmp/cm2.yaml"
expect "apply --server-side updates" 'configmap/settings serverside-applied' \
    k apply --server-side -f "$tmp/cm2.yaml"
expect "server-side apply took the change" '^slow$' \
    k get configmap settings -n team-a -o 'jsonpath={.data.mode}'
expect "label" 'pod/web labeled' k label pod web tier=front
expect "annotate" 'pod/web annotated' k annotate pod web note=hello
expect "label and annotation stored" '"tier":"front"\} hello' \
    k get pod web -o 'jsonpath={.metadata.labels} {.metadata.annotations.note}'
expect "patch --type merge" 'pod/web patched' \
    k patch pod web --type merge -p '{"metadata":{"labels":{"merge":"yes"}}}'
expect "patch --type json" 'pod/web patched' \
    k patch pod web --type json -p '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]'
expect "patch --type strategic (containers by name)" 'pod/web patched' \
    k patch pod web --type strategic -p '{"spec":{"containers":[{"name":"c","image":"nginx:2"}]}}'
expect "patches took effect" '"json":"yes","merge":"yes".*nginx:2' \
    k get pod web -o 'jsonpath={.metadata.labels} {.spec.containers[*].image}'
expect_fail "patch of a missing pod is NotFound" 'NotFound|not found' \
    k patch pod ghost --type merge -p '{}'
sed 's/name: web$/name: badlimit/; s/image: nginx:1.27/image: i\n    resources: {limits: {nvidia.com\/a\/b: 1}}/' \
    "$tmp/pod.yaml" >"$tmp/badlimit.yaml"
expect_text "the API server's own Invalid reaches kubectl whole" \
    "The Pod \"badlimit\" is invalid: spec.containers[0].resources.limits: Invalid value: \"nvidia.com/a/b\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')" \
    k create -f "$tmp/badlimit.yaml"
expect "describe pod" 'Labels: +app=web' k describe pod web
expect "CRD table columns for GPUSlice" 'NAME +NODE +GPU +PROFILE +PHASE +AGE' \
    sh -c "\"$KUBECTL\" apply -f \"$tmp/slices.yaml\" >/dev/null && \"$KUBECTL\" get gpuslices -n team-a"
expect "GPUSlice row" '^web-0 +node-1 +GPU-1234 +1g.10gb ' k get gsl -n team-a

# get -w: the current state first, then changes as they happen.
k get pods -w >"$tmp/watch.out" 2>&1 &
watcher=$!
sleep 1
sed 's/name: web$/name: web2/' "$tmp/pod.yaml" | k apply -f - >/dev/null 2>&1
sleep 1
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
expect "get -w shows the existing pod then the new one" 'web2' \
    sh -c "grep -q '^web ' \"$tmp/watch.out\" && cat \"$tmp/watch.out\""
expect "get NAME -w with a timeout" '^web +0/1 +Pending' \
    sh -c "timeout 2 \"$KUBECTL\" get pod web -w; true"

expect "delete (waits for the object to go)" 'pod "web2" deleted' k delete pod web2
expect_fail "deleted pod is gone" 'NotFound' k get pod web2
expect "delete namespace (emptied, then removed)" 'namespace "team-a" deleted' \
    k delete namespace team-a --wait=true
expect_fail "its objects went with it" 'NotFound' k get configmap settings -n team-a
expect "version" 'Server Version: v1\.' k version

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
