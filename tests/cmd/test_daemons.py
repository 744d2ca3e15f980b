#!/usr/bin/env python3
"""The long-running commands stop cleanly on SIGTERM and SIGINT: `gpuslice
cluster` serves, `gpuslice controller` and `gpuslice agent` (over emulated
GPUs) run against it, and each, sent a stop signal, exits 0 after saying so
(the cluster also removes its kubeconfig). Each runs from an empty folder.

Waits are bounded polls on outcomes; nothing here asserts a timing.

Usage: test_daemons.py GPUSLICE
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

GPUSLICE = None
WAIT_S = 60


class Daemons(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.cwd = self._tmp.name
        self.addCleanup(self._tmp.cleanup)
        self.kubeconfig = os.path.join(self.cwd, "k.kubeconfig")

    def start(self, name, *args):
        log = os.path.join(self.cwd, name + ".out")
        with open(log, "w", encoding="utf-8") as out:
            proc = subprocess.Popen([GPUSLICE, *args], cwd=self.cwd, stdout=out,
                                    stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc, log

    @staticmethod
    def read(log):
        with open(log, encoding="utf-8") as f:
            return f.read()

    def wait_for(self, proc, log, text):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if text in self.read(log):
                return
            time.sleep(0.1)
        self.fail(f"never printed {text!r} (exit {proc.poll()}):\n{self.read(log)}")

    def stop(self, proc, sig):
        proc.send_signal(sig)
        return proc.wait(timeout=WAIT_S)

    def start_cluster(self):
        proc, log = self.start("cluster", "cluster", "--kubeconfig", self.kubeconfig)
        self.wait_for(proc, log, "Stop with Ctrl-C.")
        return proc, log

    def test_controller_and_agent_stop_on_a_signal_and_the_cluster_after_them(self):
        cluster, cluster_log = self.start_cluster()
        ctl, ctl_log = self.start("controller", "controller", "--kubeconfig", self.kubeconfig)
        agent, agent_log = self.start("agent", "agent", "--node", "n1", "--device",
                                      "emulated:model=A100-40GB,count=1", "--kubeconfig",
                                      self.kubeconfig)
        self.wait_for(ctl, ctl_log, "gpuslice controller: running against")
        self.wait_for(agent, agent_log, "gpuslice agent: node n1")
        self.assertEqual(self.stop(ctl, signal.SIGTERM), 0, self.read(ctl_log))
        self.assertEqual(self.stop(agent, signal.SIGINT), 0, self.read(agent_log))
        self.assertEqual(self.stop(cluster, signal.SIGTERM), 0, self.read(cluster_log))
        self.assertIn("stopping (SIGTERM)", self.read(cluster_log))
        self.assertFalse(os.path.exists(self.kubeconfig), "the cluster left its kubeconfig")


if __name__ == "__main__":
    GPUSLICE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
