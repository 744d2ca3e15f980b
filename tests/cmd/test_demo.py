#!/usr/bin/env python3
"""The real `gpuslice demo` (and `gpuslice cluster`), run as a user would
from an empty folder, with nothing beside the binary: the built-in samples
and CRDs, the --samples and --crds overrides and their errors, --keep's
kubeconfig, removed on SIGTERM, and the daemons stopping on a signal.

Waits are bounded polls on outcomes; nothing here asserts a timing.

Usage: test_demo.py GPUSLICE SOURCE_ROOT
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

GPUSLICE = None
SOURCE_ROOT = None
WAIT_S = 120

NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: small
  labels:
    gpuslice.dev/enabled: "true"
"""
POD = """apiVersion: v1
kind: Pod
metadata:
  name: one
  namespace: small
  annotations:
    gpuslice.dev/run-seconds: "1"
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: busybox
      resources:
        limits:
          nvidia.com/mig-1g.10gb: 1
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: not-a-crd}\n"
# One node: GPU 0 holds a slice gpuslice did not make (3g.20gb at 4: four
# 1g.5gb placements left, 0 to 3), GPU 1 is held back by the admin.
CLUSTER = """nodes:
  - name: node-a
    labels: {zone: a}
    gpus:
      - model: A100-40GB
        slices:
          - {profile: 3g.20gb, start: 4}
      - model: A100-40GB
        heldBack: true
"""
JOB = """apiVersion: batch/v1
kind: Job
metadata:
  name: small
  namespace: small
spec:
  completions: %(n)d
  parallelism: %(n)d
  template:
    metadata:
      annotations:
        gpuslice.dev/run-seconds: "1"
    spec:
      restartPolicy: Never
      nodeSelector: {zone: a}
      containers:
        - name: main
          image: busybox
          resources:
            limits:
              nvidia.com/mig-1g.5gb: 1
"""


def write(folder, name, text):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        f.write(text)


class Demo(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="gpuslice-demo-test-")
        self.cwd = self._tmp.name  # empty: nothing for the binary to find

    def tearDown(self):
        self._tmp.cleanup()

    def run_gpuslice(self, *args):
        return subprocess.run([GPUSLICE, *args], cwd=self.cwd, capture_output=True, text=True,
                              timeout=WAIT_S)

    def start(self, *args, name="output"):
        """Starts gpuslice in the background, its output into the file name."""
        log = os.path.join(self.cwd, name)
        with open(log, "w", encoding="utf-8") as out:
            proc = subprocess.Popen([GPUSLICE, *args], cwd=self.cwd, stdout=out,
                                    stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc, log

    @staticmethod
    def read(log):
        with open(log, encoding="utf-8") as f:
            return f.read()

    def wait_for(self, proc, log, path, text):
        """Until path exists and the output holds text, or fail."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(path) and text in self.read(log):
                return
            time.sleep(0.1)
        self.fail(f"{path} never appeared (exit {proc.poll()}):\n{self.read(log)}")

    def stop(self, proc, log):
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=WAIT_S)
        return rc, self.read(log)

    def test_daemons_stop_on_a_signal(self):
        """`gpuslice controller` and `gpuslice agent` (emulated GPUs) against
        `gpuslice cluster`: each exits 0 on SIGTERM or SIGINT, and the
        cluster removes its kubeconfig."""
        kubeconfig = os.path.join(self.cwd, "k.kubeconfig")
        cluster, cluster_log = self.start("cluster", "--kubeconfig", kubeconfig, name="cluster")
        self.wait_for(cluster, cluster_log, kubeconfig, "Stop with Ctrl-C.")
        ctl, ctl_log = self.start("controller", "--kubeconfig", kubeconfig, name="controller")
        agent, agent_log = self.start("agent", "--node", "n1", "--device",
                                      "emulated:model=A100-40GB,count=1", "--kubeconfig",
                                      kubeconfig, "--state-dir", self.cwd, name="agent")
        self.wait_for(ctl, ctl_log, ctl_log, "gpuslice controller: running against")
        self.wait_for(agent, agent_log, agent_log, "gpuslice agent: node n1")
        ctl.send_signal(signal.SIGTERM)
        self.assertEqual(ctl.wait(timeout=WAIT_S), 0, self.read(ctl_log))
        agent.send_signal(signal.SIGINT)
        self.assertEqual(agent.wait(timeout=WAIT_S), 0, self.read(agent_log))
        rc, out = self.stop(cluster, cluster_log)
        self.assertEqual(rc, 0, out)
        self.assertIn("stopping (SIGTERM)", out)
        self.assertFalse(os.path.exists(kubeconfig), "the cluster left its kubeconfig")

    def test_cluster_file_runs_the_parts_and_gpuslice_runs_apart(self):
        """The four commands of docs/cluster.md: `gpuslice cluster -f
        --webhook`, then the controller and an agent as processes of their
        own; a gated pod is placed, runs and its slice is destroyed."""
        write(self.cwd, "cluster.yaml", "nodes:\n  - name: n1\n    gpus:\n"
                                        "      - model: A100-40GB\n")
        kubeconfig = os.path.join(self.cwd, "k.kubeconfig")
        cluster, cluster_log = self.start("cluster", "-f", "cluster.yaml", "--webhook",
                                          "--kubeconfig", kubeconfig, name="cluster")
        self.wait_for(cluster, cluster_log, kubeconfig, "Stop with Ctrl-C.")
        out = self.read(cluster_log)
        self.assertIn("admission webhook on https://127.0.0.1:", out)
        agent_line = next(line for line in out.splitlines() if "gpuslice agent" in line)
        self.assertIn("--node n1 --device emulated:model=A100-40GB,seed=1", agent_line)
        self.start("controller", "--kubeconfig", kubeconfig, name="controller")
        self.start("agent", "--node", "n1", "--device",
                   "emulated:model=A100-40GB,seed=1,latency=none", "--kubeconfig", kubeconfig,
                   "--state-dir", self.cwd, name="agent")
        url = next(line.split(": ", 1)[1] for line in out.splitlines()
                   if line.startswith("API server listening"))

        def call(method, path, body=None):
            req = urllib.request.Request(url + path, method=method,
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)

        call("POST", "/api/v1/namespaces", {"metadata": {
            "name": "small", "labels": {"gpuslice.dev/enabled": "true"}}})
        pod = {"metadata": {"name": "one", "annotations": {"gpuslice.dev/run-seconds": "1"}},
               "spec": {"restartPolicy": "Never", "containers": [{
                   "name": "main", "image": "busybox",
                   "resources": {"limits": {"nvidia.com/mig-1g.5gb": 1}}}]}}
        made = call("POST", "/api/v1/namespaces/small/pods", pod)
        self.assertEqual(made["spec"]["schedulingGates"], [{"name": "gpuslice.dev/slice"}])
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            pod = call("GET", "/api/v1/namespaces/small/pods/one")
            slices = call("GET", "/apis/gpuslice.dev/v1alpha1/namespaces/small/gpuslices")
            if pod["status"].get("phase") == "Succeeded" and not slices["items"]:
                break
            time.sleep(0.2)
        self.assertEqual(pod["status"].get("phase"), "Succeeded", pod)
        self.assertEqual(pod["spec"]["nodeName"], "n1")
        with open(os.path.join(self.cwd, "emulated-n1.json"), encoding="utf-8") as f:
            state = json.load(f)
        self.assertEqual(state["gpus"][0]["slices"], [])  # destroyed with the pod
        self.assertEqual(state["migDevicesMade"], 1)
        rc, text = self.stop(cluster, cluster_log)
        self.assertEqual(rc, 0, text)

    def test_cluster_file_slices_need_the_gpus_in_process(self):
        write(self.cwd, "cluster.yaml", CLUSTER)
        self.assert_fails("node node-a lists slices already on its GPUs", "cluster", "-f",
                          "cluster.yaml")

    def test_demo_runs_from_an_empty_folder_on_the_built_in_files(self):
        r = self.run_gpuslice("demo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("gpuslice demo: 5 objects applied to the embedded cluster", r.stdout)
        self.assertIn("\ndone after ", r.stdout)
        self.assertIn("0 failed; 0 never ran", r.stdout)
        self.assertIn("0 GPUSlices left", r.stdout)
        self.assertIn("  leaks:     none (every slice on the GPUs matches a GPUSlice)",
                      r.stdout)
        self.assertEqual(os.listdir(self.cwd), [])  # wrote nothing where it ran

    def test_keep_writes_the_kubeconfig_where_asked_and_removes_it_on_sigterm(self):
        samples = os.path.join(self.cwd, "samples")
        os.mkdir(samples)
        write(samples, "1-namespace.yaml", NAMESPACE)
        write(samples, "2-pod.yml", POD)
        write(samples, "notes.txt", "not a manifest")
        kubeconfig = os.path.join(self.cwd, "kc", "demo.kubeconfig")
        os.mkdir(os.path.dirname(kubeconfig))
        proc, log = self.start("demo", "--samples", samples, "--crds",
                               os.path.join(SOURCE_ROOT, "deploy", "crds"), "--keep",
                               "--kubeconfig", kubeconfig)
        self.wait_for(proc, log, kubeconfig, "Press Ctrl-C")
        rc, text = self.stop(proc, log)
        self.assertEqual(rc, 0, text)
        self.assertIn("gpuslice demo: 2 objects applied", text)
        self.assertIn("leaks:     none", text)
        self.assertIn(f"kubectl --kubeconfig {kubeconfig} get", text)
        self.assertFalse(os.path.exists(kubeconfig))
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "gpuslice-demo.kubeconfig")))

    def assert_fails(self, message, *args):
        """gpuslice ARGS exits 1 and says message."""
        r = self.run_gpuslice(*args)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(message, r.stderr)

    def demo_on_cluster_file(self, pods, device="latency=none"):
        """The demo on CLUSTER with a Job of `pods` 1g.5gb pods; its stdout."""
        write(self.cwd, "cluster.yaml", CLUSTER)
        write(self.cwd, "trace.yaml", NAMESPACE + "---\n" + JOB % {"n": pods})
        r = self.run_gpuslice("demo", "-f", "cluster.yaml", "--trace", "trace.yaml",
                              "--device", device, "--timeout", str(WAIT_S - 20))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"{pods} seen, {pods} ran: {pods} succeeded", r.stdout)
        self.assertIn("  leaks:     none", r.stdout)
        return r.stdout

    def test_cluster_file_slices_stay_and_gpuslice_places_around_them(self):
        out = self.demo_on_cluster_file(4)
        self.assertIn("slices:    4 created, 4 destroyed on the GPUs", out)
        self.assertIn("node-a GPU 0: 4 creates, 4 destroys, 0 failed", out)
        self.assertNotIn("node-a GPU 1:", out)  # held back: nothing placed there
        for start in range(4):
            self.assertIn(f"1g.5gb@node-a/0:{start}", out)
        self.assertNotIn("1g.5gb@node-a/0:4", out)
        # The admin's slice is still on the GPU at the end.
        gpu0 = next(line for line in out.splitlines()
                    if line.split()[:3] == ["node-a", "GPU", "0"])
        self.assertIn("3g.20gb", gpu0)
        self.assertIn("makespan:  ", out)

    def test_slices_left_by_hung_creates_are_counted_made_and_destroyed(self):
        # issue 19: a create that hung after its GI (or after the whole
        # slice) left it on the GPU; the agent destroyed it, and the summary
        # counted the destroy but not the making ("14 created, 16
        # destroyed") and then gave its alarm line with zeros.
        for step in ("ci", "done"):
            out = self.demo_on_cluster_file(
                2, f"latency=none,hang-ms=50,hang-create=1:{step}")
            self.assertIn("slices:    3 created, 3 destroyed on the GPUs "
                          "(1 left by a create that failed)", out)
            self.assertIn("node-a GPU 0: 3 creates, 3 destroys, 1 failed", out)

    def test_past_a_screenful_of_pods_the_view_counts_them(self):
        out = self.demo_on_cluster_file(60)
        self.assertIn(" 60/60 ended  gated 0", out)
        counted = out[out.index("ended  gated"):]
        self.assertNotIn("small/small-", counted)  # no more lines per pod
        self.assertIn("node-a GPU 0: 60 creates, 60 destroys", out)

    def test_cluster_file_errors_name_file_line_and_column(self):
        write(self.cwd, "bad.yaml", CLUSTER.replace("3g.20gb, start: 4", "3g.20gb, start: 3"))
        self.assert_fails("bad.yaml:7:13: 3g.20gb cannot start at memory slice 3", "demo", "-f", "bad.yaml")
        self.assert_fails("No such file", "demo", "-f", "missing.yaml")
        r = self.run_gpuslice("demo", "-f", "bad.yaml", "--nodes", "2")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no --nodes or --gpus with it", r.stderr)

    def test_cluster_address_must_be_an_ip_literal(self):
        # issue 19: "localhost" was refused as "not loopback".
        self.assert_fails('"localhost" is not an IP address; write 127.0.0.1', "cluster",
                          "--address", "localhost")

    def test_missing_or_empty_folders_are_errors_naming_them(self):
        missing = os.path.join(self.cwd, "no-such-folder")
        gone = f"{missing}: No such file or directory"
        self.assert_fails(gone, "demo", "--samples", missing)
        self.assert_fails(gone, "demo", "--crds", missing)
        self.assert_fails(f"gpuslice cluster: {gone}", "cluster", "--crds", missing)
        empty = os.path.join(self.cwd, "empty")
        os.mkdir(empty)
        self.assert_fails(f"gpuslice demo: {empty}: no *.yaml or *.yml files",
                          "demo", "--samples", empty)

    def test_crds_folder_is_read_instead_of_the_built_in_ones(self):
        crds = os.path.join(self.cwd, "crds")
        os.mkdir(crds)
        write(crds, "bad.yaml", CONFIGMAP)
        not_a_crd = f"{crds}/bad.yaml: document 1: a ConfigMap"
        self.assert_fails(not_a_crd, "demo", "--crds", crds)
        self.assert_fails(not_a_crd, "cluster", "--crds", crds)

    def test_cluster_serves_the_built_in_crds_from_an_empty_folder(self):
        kubeconfig = os.path.join(self.cwd, "gpuslice.kubeconfig")
        proc, log = self.start("cluster")
        self.wait_for(proc, log, kubeconfig, "Stop with Ctrl-C")
        rc, text = self.stop(proc, log)
        self.assertEqual(rc, 0, text)
        self.assertIn("loaded 2 built-in CustomResourceDefinitions", text)
        self.assertFalse(os.path.exists(kubeconfig))


if __name__ == "__main__":
    GPUSLICE, SOURCE_ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1], verbosity=2)
