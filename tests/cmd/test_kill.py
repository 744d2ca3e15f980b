#!/usr/bin/env python3
"""Kill anything, anywhere (issue 19): the real processes of a cluster,
SIGKILLed at random moments and restarted, and the lifecycle's promise
checked at the end.

Processes: `gpuslice cluster -f CLUSTER --webhook` (API server, kubelets,
scheduler, workload controllers, webhook), two `gpuslice controller`
replicas (leader election), one `gpuslice agent --device
emulated:...,state=FILE` per node (fenced by its node's Lease). Work: Jobs
and Deployments with MIG requests, applied over the rounds. Each round
waits a random moment, SIGKILLs one process (the API server too, rarely),
and starts it again. The agents' devices take time (create 150 ms, destroy
80 ms) and hang on some calls (a create hung after its GPU instance, a
destroy hung after its compute instance), so kills land between GI and CI
creation, during a destroy, between a slice made and its GPUSlice written.

The API server keeps its store in memory: killing it loses every object.
What a cluster of gpuslice promises then, and what this asserts: the
components recover by themselves (they relist; the agents write their
GPUNodes again; slices that no GPUSlice of the new store holds are
destroyed after the orphan grace, nothing a live GPUSlice holds is), and
the work is applied again, as a user would re-apply manifests: Jobs seen
complete before the loss count as done, the others run again from the
start. "Ran exactly once" is checked within the last store (a pod that ran
in a lost store is not known to the new one).

At the end, with the killing over, every Job must complete and every
Deployment be ready; then:
  - ran once: every Job's pods that started are exactly its completions,
    all Succeeded, each with the MIG devices it asked for;
  - own slice: no MIG device was handed to two pods (MIG UUIDs are never
    reused by the emulated GPUs, across restarts too);
  - double: no two live GPUSlices ever overlapped on one GPU (sampled
    throughout);
  - stuck: no pod gated without an Event that names it, nor gated with a
    GPUSlice Creating for over a minute (its agent never acted);
  - after the Deployments scale to 0: leaked (slices on the GPUs, per the
    state files, that no live GPUSlice holds) and dangling (live GPUSlices
    whose slice is not on the GPU) are 0;
  - capacity: each Node's accelerator memory (capacity and allocatable, the
    agent's report of its GPUs) never drifts from what it first said.

With --keep-warm DURATION the namespace keeps released slices warm
(issue 14): a Warm GPUSlice holds its slice (counted held, not leaked; its
slice must be on the GPU), the next pod of the namespace asking its profile
takes it over, and the warm GPUSlice released after it (Deleting, with
status.warmUntil) names the same slice as its heir: that pair is a
hand-over, not a double placement. A MIG device then serves pods one after
another: it counts as shared only when two pods used it at once (their
containers' run times overlap). No GPUSlice is seen Warm a minute past its
status.warmUntil, and at the end warm slices expire, so nothing is left.

Seeded: the same seed replays the same kills at the same points of the
schedule (process timing still varies). A failure prints the seed.

Usage: test_kill.py GPUSLICE [--seed N] [--rounds N] [--nodes N] [--jobs-per-round N]
                    [--completions N] [--api-kills N] [--settle-s S] [--keep]
                    [--keep-warm DURATION] [--warm-max-percent N]
"""
import argparse
import calendar
import json
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

MODELS = ["A100-40GB", "H100-80GB"]
NODES = []  # n1..nN, set from --nodes
# Profiles each node offers (both models take 1g.10gb).
PROFILES = ["1g.10gb", "1g.5gb", "2g.20gb", "1g.10gb"]
DEVICE = ("create-ms=150,destroy-ms=80,query-ms=1,discover-ms=1,hang-ms=400,"
          "hang-create=3:ci,hang-destroy=4:ci,fail-create=6:ci")
NS = "work"
# A gated pod whose GPUSlice has been Creating this long at the end is
# stuck, whatever Events it has: its agent never acted (the controller says
# so with SliceNotReady after 60 s as well).
STUCK_CREATING_S = 60
# A GPUSlice still Warm this long after its status.warmUntil was kept past
# its time: the controller ends a warm slice when its time runs out.
OVERDUE_WARM_S = 60
LIVE = ("Creating", "Created", "Ungated", "Deleting", "Warm")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """JSON over HTTP to the embedded API server; None while it is down."""

    def __init__(self, url):
        self.url = url

    def call(self, method, path, body=None, ctype="application/json"):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            if e.code in (404, 409):
                return {"code": e.code}
            return None
        except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout, OSError):
            return None

    def items(self, path):
        got = self.call("GET", path)
        return None if got is None or "items" not in got else got["items"]

    def text(self, path):
        """The body of a GET as text (a pod's log), or None."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as r:
                return r.read().decode("utf-8", "replace")
        except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout, OSError):
            return None


class Proc:
    def __init__(self, name, argv, folder):
        self.name, self.argv, self.folder = name, argv, folder
        self.p, self.starts, self.kills = None, 0, 0

    def start(self):
        self.starts += 1
        log = open(os.path.join(self.folder, self.name + ".log"), "a", encoding="utf-8")
        log.write(f"---- start {self.starts}\n")
        log.flush()
        self.p = subprocess.Popen(self.argv, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def kill(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()
            self.kills += 1

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def job(name, profile, completions, parallelism):
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": 0,
                     "template": {"metadata": {"annotations": {"gpuslice.dev/run-seconds": "1"}},
                                  "spec": {"restartPolicy": "Never", "containers": [{
                                      "name": "main", "image": "busybox",
                                      "resources": {"limits": {f"nvidia.com/mig-{profile}": 1}}}]}}}}


def deployment(name, profile, replicas):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{
                                      "name": "main", "image": "busybox",
                                      "resources": {"limits": {f"nvidia.com/mig-{profile}": 1}}}]}}}}


def overlaps(a, b):
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


def seconds_since(stamp):
    """Seconds from an RFC 3339 UTC time (as the store writes) to now; 0 without one."""
    return time.time() - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) \
        if stamp else 0


def yields(s):
    """A warm GPUSlice, or one released after it was warm: its namespace's
    next pod may hold the very same slice (the agent's one-holder rule)."""
    st = s.get("status", {})
    return st.get("phase") == "Warm" or (st.get("phase") == "Deleting" and "warmUntil" in st)


def run_span(pod):
    """When the pod's containers ran: (first start, last end), microtime
    strings ("~" while one still runs), or None when none started."""
    starts, ends = [], []
    for c in pod.get("status", {}).get("containerStatuses", []):
        state = c.get("state", {})
        run = state.get("running") or state.get("terminated") or {}
        if run.get("startedAt"):
            starts.append(run["startedAt"])
            ends.append(state.get("terminated", {}).get("finishedAt", "~"))
    return (min(starts), max(ends)) if starts else None


def at_once(pods, spans):
    """Whether two of the pods ran at the same time (a pod without a known
    span counts as running throughout)."""
    for i, a in enumerate(pods):
        for b in pods[i + 1:]:
            sa, sb = spans.get(a) or ("", "~"), spans.get(b) or ("", "~")
            if sa[0] < sb[1] and sb[0] < sa[1]:
                return True
    return False


class Harness:
    def __init__(self, gpuslice, args, folder):
        self.args, self.folder = args, folder
        self.rng = random.Random(args.seed)
        self.port = free_port()
        self.api = Api(f"http://127.0.0.1:{self.port}")
        self.kubeconfig = os.path.join(folder, "k.kubeconfig")
        with open(os.path.join(folder, "cluster.yaml"), "w", encoding="utf-8") as f:
            f.write("nodes:\n" + "".join(
                f"  - name: {n}\n    gpus:\n" + "".join(f"      - model: {m}\n" for m in MODELS)
                for n in NODES))
        self.cluster = Proc("cluster", [gpuslice, "cluster", "-f", "cluster.yaml", "--webhook",
                                        "--port", str(self.port), "--kubeconfig", self.kubeconfig],
                            folder)
        lease = ["--lease-duration", "2"]
        warm = ["--warm-max-percent", str(args.warm_max_percent)] if args.keep_warm else []
        self.controllers = [Proc(f"controller-{i}", [
            gpuslice, "controller", "--kubeconfig", self.kubeconfig, "--leader-elect-namespace",
            "kube-system", "--identity", f"controller-{i}", *lease, *warm], folder)
            for i in range(2)]
        self.agents = []
        for i, n in enumerate(NODES):
            spec = ",".join(f"model={m}" for m in MODELS) + f",seed={i + 1},{DEVICE}"
            spec += f",state={folder}/{n}.json"
            self.agents.append(Proc(f"agent-{n}", [
                gpuslice, "agent", "--kubeconfig", self.kubeconfig, "--node", n, "--device",
                "emulated:" + spec, "--identity", f"agent-{n}", "--orphan-grace", "3",
                "--state-dir", folder, *lease],
                folder))
        self.procs = [self.cluster, *self.controllers, *self.agents]
        self.workload = []        # every object applied, in order
        self.done_jobs = set()    # Jobs seen complete, in any store
        self.epoch_uid = None     # the kube-system namespace's uid: which store this is
        self.epochs = 0
        self.double = set()
        self.warm = set()         # GPUSlices seen Warm
        self.handovers = set()    # (warm GPUSlice, heir) seen at one placement
        self.overdue = {}         # GPUSlice seen Warm OVERDUE_WARM_S past warmUntil -> how far
        self.capacity = {}        # node -> the accelerator memory its Node reported first
        self.drift = set()        # (node, first, later) capacity reports that differ
        self.samples = 0
        self.gi_only = 0          # GIs without CI found on a killed agent's GPUs

    # ---- processes --------------------------------------------------------

    def start_cluster(self):
        self.cluster.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.api.call("GET", "/version") is not None and os.path.exists(self.kubeconfig):
                return
            time.sleep(0.1)
        raise AssertionError("gpuslice cluster did not come up; see cluster.log")

    def start_all(self):
        self.start_cluster()
        for p in self.procs[1:]:
            p.start()

    def stop_all(self):
        for p in reversed(self.procs):
            p.stop()

    # ---- the store --------------------------------------------------------

    def store_uid(self):
        ns = self.api.call("GET", "/api/v1/namespaces/kube-system")
        return None if ns is None else ns.get("metadata", {}).get("uid")

    def apply(self, obj):
        kind = obj["kind"]
        path = {"Namespace": "/api/v1/namespaces",
                "Job": f"/apis/batch/v1/namespaces/{NS}/jobs",
                "Deployment": f"/apis/apps/v1/namespaces/{NS}/deployments"}[kind]
        for _ in range(100):
            if self.api.call("POST", path, obj) is not None:
                return
            time.sleep(0.2)
        raise AssertionError(f"could not apply {kind} {obj['metadata']['name']}")

    def reapply_if_new_store(self):
        """After the API server lost its store: apply again what is not done."""
        uid = self.store_uid()
        if uid is None or uid == self.epoch_uid:
            return
        self.epoch_uid = uid
        self.epochs += 1
        meta = {"name": NS, "labels": {"gpuslice.dev/enabled": "true"}}
        if self.args.keep_warm:
            meta["annotations"] = {"gpuslice.dev/keep-warm": self.args.keep_warm}
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
        for obj in self.workload:
            if obj["kind"] != "Job" or obj["metadata"]["name"] not in self.done_jobs:
                self.apply(obj)

    def note_done_jobs(self):
        jobs = self.api.items(f"/apis/batch/v1/namespaces/{NS}/jobs")
        for j in jobs or []:
            if j.get("status", {}).get("succeeded", 0) >= j["spec"]["completions"]:
                self.done_jobs.add(j["metadata"]["name"])
        return jobs

    def sample_placements(self):
        slices = self.api.items("/apis/gpuslice.dev/v1alpha1/gpuslices")
        if slices is None:
            return
        self.samples += 1
        live = [s for s in slices if s.get("status", {}).get("phase", "Creating") in LIVE]
        by_gpu = {}
        for s in live:
            sp = s["spec"]
            st = s.get("status", {})
            if st.get("phase") == "Warm":
                self.warm.add(s["metadata"]["name"])
                late = seconds_since(st.get("warmUntil"))
                if late > OVERDUE_WARM_S:
                    self.overdue[s["metadata"]["name"]] = f"{late:.0f} s"
            deleting = " deleting" if s["metadata"].get("deletionTimestamp") else ""
            by_gpu.setdefault((sp["nodeName"], sp["gpuUUID"]), []).append(
                ((sp["start"], sp["size"]), yields(s),
                 f"{s['metadata']['namespace']}/{s['metadata']['name']} "
                 f"({sp['profile']}@{sp['start']} {st.get('phase', 'Creating')}{deleting} "
                 f"made {s['metadata'].get('creationTimestamp')})"))
        for group in by_gpu.values():
            for i, (a, ya, na) in enumerate(group):
                for b, yb, nb in group[i + 1:]:
                    handed = ya != yb and a == b  # a warm slice and its heir
                    if handed:
                        self.handovers.add(tuple(sorted((na.split()[0], nb.split()[0]))))
                    if overlaps(a, b) and not handed:
                        self.double.add(tuple(sorted((na, nb))))

    def sample_capacity(self):
        """The accelerator memory each Node offers (the agent writes it from
        its GPUs): it must not drift with slices made, destroyed or warm."""
        for n in self.api.items("/api/v1/nodes") or []:
            got = tuple(n.get("status", {}).get(k, {}).get("gpuslice.dev/accelerator-memory")
                        for k in ("capacity", "allocatable"))
            if got[0] is None:
                continue  # not written yet in this store
            first = self.capacity.setdefault(n["metadata"]["name"], got)
            if got != first:
                self.drift.add((n["metadata"]["name"], first, got))

    # ---- the run ----------------------------------------------------------

    def add_work(self, rnd):
        for k in range(self.args.jobs_per_round):
            profile = self.rng.choice(PROFILES)
            c = self.args.completions
            obj = job(f"j{rnd}-{k}", profile, c, max(1, c // 2))
            self.workload.append(obj)
            self.apply(obj)

    def wait_a_moment(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.reapply_if_new_store()
            self.sample_placements()
            if self.samples % 10 == 0:
                self.sample_capacity()
            self.note_done_jobs()
            time.sleep(0.1)

    def note_kill_point(self, p):
        """What the GPUs held when an agent died: a GPU instance without its
        compute instance is a kill between GI and CI creation (or during a
        destroy)."""
        if p in self.agents:
            node = NODES[self.agents.index(p)]
            self.gi_only += sum(1 for n, _, _, _, uuid in self.on_gpus() if n == node and not uuid)

    def victim(self, api_kills):
        if api_kills < self.args.api_kills and self.rng.random() < 0.12:
            return self.cluster
        return self.rng.choice(self.procs[1:])

    def rounds(self):
        api_kills = 0
        for obj in ([deployment(f"d{i}", "1g.10gb", 2) for i in range(2)]):
            self.workload.append(obj)
            self.apply(obj)
        for rnd in range(self.args.rounds):
            self.add_work(rnd)
            self.wait_a_moment(self.rng.uniform(0.2, 1.5))
            p = self.victim(api_kills)
            api_kills += p is self.cluster
            p.kill()
            self.note_kill_point(p)
            self.wait_a_moment(self.rng.uniform(0.0, 0.8))
            if p is self.cluster:
                self.start_cluster()
            else:
                p.start()

    def settle(self, deadline_s):
        """Until every Job is done and every Deployment ready."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            self.wait_a_moment(0.5)
            jobs = self.note_done_jobs()
            deps = self.api.items(f"/apis/apps/v1/namespaces/{NS}/deployments")
            if jobs is None or deps is None:
                continue
            want = {o["metadata"]["name"] for o in self.workload if o["kind"] == "Job"}
            ready = all(d.get("status", {}).get("readyReplicas", 0) == d["spec"]["replicas"]
                        for d in deps)
            if want <= self.done_jobs and ready:
                return True
        return False

    # ---- the checks -------------------------------------------------------

    def pods(self):
        return self.api.items(f"/api/v1/namespaces/{NS}/pods") or []

    def devices_seen(self, pod):
        """The devices container main of pod was given, as its log lists them
        (the kubelet's device listing, nvidia-smi -L's device lines: "MIG
        1g.5gb Device 0: (UUID: MIG-...)", not a GPU's own line); None when
        the log cannot be read."""
        log = self.api.text(f"/api/v1/namespaces/{NS}/pods/{pod}/log?container=main")
        return None if log is None else re.findall(
            r"(?:MIG|GPU)(?: \S+)? Device \d+: \(UUID: ([^)]+)\)", log)

    def check_ran_once(self, pods):
        """Jobs in this store: the pods that started are its completions."""
        bad, ran, devices, spans = [], 0, {}, {}
        started = {}
        for p in pods:
            span = run_span(p)
            if not span:
                continue
            ran += 1
            name = p["metadata"]["name"]
            spans[name] = span
            visible = self.devices_seen(name)
            if not visible or not all(u.startswith("MIG-") for u in visible):
                bad.append(f"{name} ran without its slice ({visible!r})")
            for uuid in visible or []:
                devices.setdefault(uuid, []).append(name)
            owner = (p["metadata"].get("ownerReferences") or [{}])[0]
            if owner.get("kind") == "Job":
                started.setdefault(owner["name"], []).append(p)
        for j in self.api.items(f"/apis/batch/v1/namespaces/{NS}/jobs") or []:
            name, want = j["metadata"]["name"], j["spec"]["completions"]
            got = started.get(name, [])
            phases = sorted(p["status"].get("phase", "") for p in got)
            if len(got) != want or phases != ["Succeeded"] * want:
                bad.append(f"job {name}: {len(got)} pods started for {want} completions "
                           f"({', '.join(phases)})")
        shared = {u: n for u, n in devices.items() if len(n) > 1 and
                  (not self.args.keep_warm or at_once(n, spans))}
        return ran, bad, shared

    def check_stuck(self, pods):
        """Gated pods that no Event names, and gated pods whose GPUSlice has
        been Creating for STUCK_CREATING_S (an Event saying they were placed
        does not make them any less stuck): what is wrong with each."""
        events = self.api.items(f"/api/v1/namespaces/{NS}/events") or []
        told = {e.get("involvedObject", {}).get("name") for e in events}
        creating = {}
        for s in self.api.items("/apis/gpuslice.dev/v1alpha1/gpuslices") or []:
            age = seconds_since(s["metadata"].get("creationTimestamp"))
            # One being deleted is on its way out (the controller releases
            # a slice by deleting it; its status keeps the phase it was in).
            if s.get("status", {}).get("phase", "Creating") == "Creating" and \
                    not s["metadata"].get("deletionTimestamp") and age > STUCK_CREATING_S:
                creating[s["spec"]["podName"]] = f"{s['metadata']['name']} ({age:.0f} s)"
        stuck = []
        for p in pods:
            name = p["metadata"]["name"]
            if not any(g.get("name") == "gpuslice.dev/slice"
                       for g in p["spec"].get("schedulingGates", [])):
                continue
            if name not in told:
                stuck.append(f"pod {name} gated without an Event")
            elif name in creating:
                stuck.append(f"pod {name} gated with GPUSlice {creating[name]} still Creating")
        return stuck

    def on_gpus(self):
        """(node, gpu uuid, start, size, MIG uuid) of every slice in the state files."""
        out = []
        for n in NODES:
            path = os.path.join(self.folder, f"{n}.json")
            if not os.path.exists(path):
                continue  # an agent killed before its device was first opened
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
            for g in state["gpus"]:
                for s in g["slices"]:
                    out.append((n, g["uuid"], s["start"], s["profile"], s.get("uuid", "")))
        return out

    def leaks(self):
        slices = self.api.items("/apis/gpuslice.dev/v1alpha1/gpuslices") or []
        held = {(s["spec"]["nodeName"], s["spec"]["gpuUUID"], s["spec"]["start"]) for s in slices
                if s.get("status", {}).get("phase", "Creating") in LIVE}
        made = {(s["spec"]["nodeName"], s["spec"]["gpuUUID"], s["spec"]["start"]) for s in slices
                if s.get("status", {}).get("phase") in ("Created", "Ungated", "Warm")}
        gpus = {(n, g, start) for n, g, start, _, _ in self.on_gpus()}
        return len(gpus - held), len(made - gpus), len(slices)

    def drain(self, deadline_s):
        for i in range(2):
            self.api.call("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/d{i}",
                          {"spec": {"replicas": 0}}, "application/merge-patch+json")
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            self.sample_placements()
            leaked, dangling, left = self.leaks()
            if leaked == 0 and dangling == 0 and left == 0:
                break
            time.sleep(0.5)
        return self.leaks()

    def dump_store(self):
        """The last store, for a failure's diagnosis (the folder is kept then)."""
        paths = {"gpuslices": "/apis/gpuslice.dev/v1alpha1/gpuslices",
                 "gpunodes": "/apis/gpuslice.dev/v1alpha1/gpunodes",
                 "pods": f"/api/v1/namespaces/{NS}/pods",
                 "events": f"/api/v1/namespaces/{NS}/events",
                 "jobs": f"/apis/batch/v1/namespaces/{NS}/jobs"}
        dump = {k: self.api.items(v) for k, v in paths.items()}
        dump["double"] = sorted(self.double)
        with open(os.path.join(self.folder, "store-dump.json"), "w", encoding="utf-8") as f:
            json.dump(dump, f, indent=1)

    def run(self):
        self.t0 = time.monotonic()
        self.start_all()
        try:
            self.reapply_if_new_store()
            self.rounds()
            settled = self.settle(self.args.settle_s)
            pods = self.pods()
            ran, bad, shared = self.check_ran_once(pods)
            stuck = self.check_stuck(pods)
            nodes_reported = len(self.api.items("/apis/gpuslice.dev/v1alpha1/gpunodes") or [])
            leaked, dangling, left = self.drain(self.args.settle_s)
            self.sample_capacity()
            self.dump_store()
        finally:
            self.stop_all()
        kills = ", ".join(f"{p.name} {p.kills}" for p in self.procs)
        done = sum(o["spec"]["completions"] for o in self.workload
                   if o["kind"] == "Job" and o["metadata"]["name"] in self.done_jobs)
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"kill harness (seed {self.args.seed}): {self.args.rounds} rounds; kills: {kills}; "
              f"{self.epochs} stores; {len(self.done_jobs)} jobs done ({done} pods); pods ran in the last "
              f"store: {ran}; placements sampled {self.samples} times; agents killed with a GI "
              f"without CI on their GPUs: {self.gi_only}"
              + (f"; keep-warm {self.args.keep_warm}: {len(self.warm)} GPUSlices seen Warm, "
                 f"{len(self.handovers)} hand-overs seen, {len(self.overdue)} seen Warm "
                 f"over {OVERDUE_WARM_S} s past warmUntil" if self.args.keep_warm else ""))
        print(f"  {time.monotonic() - self.t0:.0f} s; CPU of the processes "
              f"{cpu.ru_utime + cpu.ru_stime:.1f} s")
        print(f"  leaked {leaked}, dangling {dangling}, double {len(self.double)}, "
              f"stuck {len(stuck)}, shared devices {len(shared)}, GPUSlices left {left}, "
              f"GPUNodes {nodes_reported}/{len(NODES)}, Node capacity drifts {len(self.drift)} "
              f"({', '.join(f'{n} {c[0]}' for n, c in sorted(self.capacity.items()))} GiB)")
        problems = []
        if not settled:
            problems.append("the work did not finish after the kills")
        problems += bad
        problems += [f"device {u} given to {', '.join(n)}" for u, n in shared.items()]
        problems += [f"placements given twice: {a} and {b}" for a, b in sorted(self.double)]
        problems += stuck
        problems += [f"GPUSlice {n} still Warm {late} past its warmUntil"
                     for n, late in sorted(self.overdue.items())]
        if leaked or dangling or left:
            problems.append(f"{leaked} leaked, {dangling} dangling, {left} GPUSlices left")
        problems += [f"Node {n}'s accelerator memory went from {a} to {b}"
                     for n, a, b in sorted(self.drift)]
        if nodes_reported != len(NODES):
            problems.append(f"{nodes_reported} GPUNodes for {len(NODES)} nodes")
        return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gpuslice")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("KILL_SEED", "19")))
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--jobs-per-round", type=int, default=1)
    ap.add_argument("--completions", type=int, default=4)
    ap.add_argument("--api-kills", type=int, default=3)
    ap.add_argument("--settle-s", type=float, default=90)
    ap.add_argument("--keep", action="store_true", help="keep the folder (logs, state files)")
    ap.add_argument("--keep-warm", default=os.environ.get("KILL_KEEP_WARM", ""),
                    help="the namespace's gpuslice.dev/keep-warm (e.g. 3s; default: none)")
    ap.add_argument("--warm-max-percent", type=int, default=50,
                    help="the controllers' cap on warm slices with --keep-warm")
    args = ap.parse_args()
    NODES[:] = [f"n{i + 1}" for i in range(args.nodes)]
    folder = tempfile.mkdtemp(prefix="gpuslice-kill-")
    problems = Harness(os.path.abspath(args.gpuslice), args, folder).run()
    if problems:
        print(f"FAILED (replay with --seed {args.seed}; logs in {folder}):")
        for p in problems[:40]:
            print("  " + p)
        sys.exit(1)
    if not args.keep:
        subprocess.run(["rm", "-rf", folder], check=False)
    print("ok")


if __name__ == "__main__":
    main()
