#!/usr/bin/env python3
"""`gpuslice status` and `kubectl gpuslice status` against the embedded
cluster (`gpuslice cluster -f --webhook`, the controller and an agent as
processes): the picture shows each placed slice with its owner tag and the
owner's line, a warm slice marked "~" after its pod ended in a namespace
that keeps slices warm, and a pod that cannot be placed among the waiting
with the controller's reason; -n and --node filter; -w draws again when a
pod comes and stops on SIGINT. The kubectl plugin runs through kubectl with
a PATH holding a kubectl-gpuslice link to the binary (skipped without
kubectl).

Waits are bounded polls on outcomes; nothing here asserts a timing.

Usage: test_status.py GPUSLICE
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

import test_metrics
from test_metrics import Processes, WAIT_S

CLUSTER = """nodes:
  - name: n1
    gpus:
      - model: H100-80GB
  - name: n2
    gpus:
      - model: A100-40GB
"""
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")


def pod(name, profile, count=1, seconds=600):
    return {"metadata": {"name": name,
                         "annotations": {"gpuslice.dev/run-seconds": str(seconds)}},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "main", "image": "busybox",
                "resources": {"limits": {"nvidia.com/mig-" + profile: count}}}]}}


class Status(Processes):
    def setUp(self):
        super().setUp()
        self.kubeconfig, self.url, _ = self.start_cluster(CLUSTER, webhook=True)
        self.api(self.url, "POST", "/api/v1/namespaces", {"metadata": {
            "name": "team-a", "labels": {"gpuslice.dev/enabled": "true"},
            "annotations": {"gpuslice.dev/keep-warm": "10m"}}})
        self.api(self.url, "POST", "/api/v1/namespaces", {"metadata": {
            "name": "team-b", "labels": {"gpuslice.dev/enabled": "true"}}})
        for ns, p in (("team-a", pod("train", "3g.40gb")), ("team-a", pod("short", "1g.10gb",
                                                                            seconds=1)),
                      ("team-b", pod("notebook", "1g.5gb", count=2)),
                      ("team-b", pod("huge", "7g.80gb", count=2))):
            self.api(self.url, "POST", f"/api/v1/namespaces/{ns}/pods", p)

    def status(self, *args, cmd=None, env=None):
        out = subprocess.run(cmd or [test_metrics.GPUSLICE, "status", "--kubeconfig",
                                     self.kubeconfig, *args],
                             capture_output=True, text=True, timeout=WAIT_S, env=env,
                             cwd=self.cwd)
        self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        return out.stdout

    def wait_for_status(self, pattern, *args):
        deadline = time.monotonic() + WAIT_S
        while True:
            text = self.status(*args)
            if re.search(pattern, text, re.M) or time.monotonic() > deadline:
                return text
            time.sleep(0.3)

    @staticmethod
    def owner_tag(text, pod, phase):
        """The tag of pod's slice in phase, from the owner lines."""
        m = re.search(r"^\s+#(\d+)\s+" + re.escape(pod) + r"\s+main\s+\S+\s+" + phase, text,
                      re.M)
        return m and m.group(1)

    def test_picture_owners_warm_and_waiting(self):
        text = self.wait_for_status(r"~1g #\d+")
        self.assertRegex(text, r"(?m)^n1$")
        self.assertRegex(text, r"(?m)^n2$")
        train = self.owner_tag(text, "team-a/train", "Ungated")
        short = self.owner_tag(text, "team-a/short", "Warm until")
        self.assertTrue(train and short, text)
        gpu = re.search(r"(?m)^  GPU 0\s+H100-80GB\s+mig\s+(\[.*\])$", text).group(1)
        self.assertIn(f"3g.40gb #{train}", gpu)
        self.assertIn(f"~1g #{short}", gpu)  # warm, marked
        self.assertEqual(len(gpu), 57, gpu)  # one cell per memory slice, as place draws
        self.assertIn("~ warm", text)
        self.assertRegex(text, r"(?m)^  team-b/notebook\s|#\d+\s+team-b/notebook")
        self.assertRegex(text, r"Pods waiting at gpuslice's gate: 1\n"
                               r"  team-b/huge\s+7g\.80gb x2\s+NoPlacement: ")
        # -n: only that namespace's owners and waiting pods.
        only_a = self.status("-n", "team-a")
        self.assertNotIn("team-b/", only_a)
        self.assertIn("Pods waiting at gpuslice's gate: 0", only_a)
        self.assertIn("team-a/train", only_a)
        # --node: only that node.
        n2 = self.status("--node", "n2")
        self.assertNotRegex(n2, r"(?m)^n1$")
        self.assertRegex(n2, r"(?m)^n2$")

    def test_kubectl_plugin(self):
        if not os.access(KUBECTL, os.X_OK):
            self.skipTest(f"no kubectl at {KUBECTL}")
        plugins = os.path.join(self.cwd, "plugins")
        os.mkdir(plugins)
        os.symlink(os.path.abspath(test_metrics.GPUSLICE),
                   os.path.join(plugins, "kubectl-gpuslice"))
        env = dict(os.environ, PATH=plugins + os.pathsep + os.environ.get("PATH", ""),
                   KUBECACHEDIR=os.path.join(self.cwd, "cache"))
        self.wait_for_status(r"~1g #\d+")
        direct = self.status()
        via = self.status(cmd=[KUBECTL, "gpuslice", "status", "--kubeconfig", self.kubeconfig],
                          env=env)
        self.assertEqual(via, direct)
        # The plugin with no command is status; KUBECONFIG and -n as kubectl's.
        bare = self.status(cmd=[KUBECTL, "gpuslice", "-n", "team-a"],
                           env=dict(env, KUBECONFIG=self.kubeconfig))
        self.assertIn("team-a/train", bare)
        self.assertNotIn("team-b/", bare)
        listed = subprocess.run([KUBECTL, "plugin", "list"], capture_output=True, text=True,
                                env=env, timeout=WAIT_S)
        self.assertIn("kubectl-gpuslice", listed.stdout + listed.stderr)

    def test_watch_draws_again_on_change(self):
        self.wait_for_status(r"team-a/train")
        proc, log = self.start("status", "-w", "--kubeconfig", self.kubeconfig, "-n", "team-a",
                               name="watch")
        self.wait_for_match(proc, log, r"team-a/train")
        self.assertNotIn("team-a/late", self.read(log))
        self.api(self.url, "POST", "/api/v1/namespaces/team-a/pods", pod("late", "1g.5gb"))
        self.wait_for_match(proc, log, r"#\d+\s+team-a/late\s+main")
        self.assertGreaterEqual(self.read(log).count("\n--- "), 2)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=WAIT_S), 0, self.read(log))

    def test_errors(self):
        out = subprocess.run([test_metrics.GPUSLICE, "status", "--kubeconfig",
                              os.path.join(self.cwd, "missing")], capture_output=True, text=True,
                             timeout=WAIT_S)
        self.assertEqual(out.returncode, 1)
        self.assertIn("gpuslice status: ", out.stderr)
        out = subprocess.run([test_metrics.GPUSLICE, "status", "extra"], capture_output=True,
                             text=True, timeout=WAIT_S)
        self.assertEqual(out.returncode, 2)


if __name__ == "__main__":
    test_metrics.GPUSLICE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
