#!/usr/bin/env python3
"""Every component's /metrics, /healthz and /readyz, scraped from the real
binary and read with a Prometheus text-format (0.0.4) parser of this
test's own, not a grep: `gpuslice demo` (its controller, agents and webhook
in one registry) and `gpuslice controller`, `gpuslice agent` and
`gpuslice webhook` run as processes against `gpuslice cluster -f`, each on
its --metrics-address.

The parser checks what a Prometheus server would refuse or misread: metric
and label names, label values with their escapes, values, one HELP and one
TYPE per family before its samples, samples of a family together, no
series twice, and for histograms buckets in increasing `le` order with
counts that never fall and a +Inf bucket equal to _count. It also checks
gpuslice's own conventions (docs/metrics.md): every name starts with
gpuslice_, counters end in _total, durations are in _seconds histograms.

Waits are bounded polls on outcomes; nothing here asserts a timing.

Usage: test_metrics.py GPUSLICE
"""
import json
import math
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

GPUSLICE = None
WAIT_S = 120

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class FormatError(Exception):
    pass


def unescape(text, allowed, where):
    """text with its backslash escapes (\\\\, \\n and those in allowed) read."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "\\n" + allowed:
                raise FormatError(f"{where}: bad escape in {text!r}")
            out.append("\n" if text[i + 1] == "n" else text[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_value(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise FormatError(f"{where}: bad value {text!r}")
    return float(text)


def parse_labels(text, where):
    """'{a="x",b="y"}' body (without braces) -> tuple of (name, value)."""
    labels, i = [], 0
    while i < len(text):
        m = LABEL.match(text, i)
        if not m:
            raise FormatError(f"{where}: bad label name at {text[i:]!r}")
        name = m.group(0)
        i = m.end()
        if text[i:i + 2] != '="':
            raise FormatError(f"{where}: label {name} has no =\"value\"")
        i += 2
        start = i
        while i < len(text) and text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        if i >= len(text):
            raise FormatError(f"{where}: label {name}'s value is not closed")
        value = unescape(text[start:i], '"', where)
        i += 1
        if any(n == name for n, _ in labels):
            raise FormatError(f"{where}: label {name} twice")
        labels.append((name, value))
        if i < len(text):
            if text[i] != ",":
                raise FormatError(f"{where}: expected ',' at {text[i:]!r}")
            i += 1
    return tuple(labels)


def parse_sample(line, where):
    m = NAME.match(line)
    if not m:
        raise FormatError(f"{where}: bad metric name in {line!r}")
    name, rest = m.group(0), line[m.end():]
    labels = ()
    if rest.startswith("{"):
        depth_end = None
        i, quoted = 1, False
        while i < len(rest):
            if quoted and rest[i] == "\\":
                i += 2
                continue
            if rest[i] == '"':
                quoted = not quoted
            elif rest[i] == "}" and not quoted:
                depth_end = i
                break
            i += 1
        if depth_end is None:
            raise FormatError(f"{where}: labels not closed in {line!r}")
        labels = parse_labels(rest[1:depth_end], where)
        rest = rest[depth_end + 1:]
    parts = rest.split(" ")
    if len(parts) not in (2, 3) or parts[0] != "":
        raise FormatError(f"{where}: expected ' VALUE [TIMESTAMP]' in {line!r}")
    value = parse_value(parts[1], where)
    if len(parts) == 3 and not re.fullmatch(r"-?\d+", parts[2]):
        raise FormatError(f"{where}: bad timestamp {parts[2]!r}")
    return name, labels, value


def family_of(sample_name, families):
    """The family a sample name belongs to (histogram and summary suffixes)."""
    if sample_name in families:
        return sample_name
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample_name[:-len(suffix)]
        if sample_name.endswith(suffix) and families.get(base, {}).get("type") in (
                "histogram", "summary"):
            return base
    return None


def check_histogram(name, fam):
    series = {}
    for sample, labels, value in fam["samples"]:
        key = tuple(kv for kv in labels if kv[0] != "le")
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sample == name + "_bucket":
            le = dict(labels).get("le")
            if le is None:
                raise FormatError(f"{name}: a bucket without le")
            s["buckets"].append((parse_value(le, name), value))
        elif sample == name + "_sum":
            s["sum"] = value
        elif sample == name + "_count":
            s["count"] = value
        else:
            raise FormatError(f"{name}: sample {sample} in a histogram")
    for key, s in series.items():
        bounds = [b for b, _ in s["buckets"]]
        if not bounds or bounds[-1] != math.inf:
            raise FormatError(f"{name}{key}: no +Inf bucket")
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise FormatError(f"{name}{key}: buckets not in increasing le order")
        counts = [c for _, c in s["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise FormatError(f"{name}{key}: bucket counts fall: {counts}")
        if s["count"] is None or s["sum"] is None:
            raise FormatError(f"{name}{key}: _sum or _count missing")
        if counts[-1] != s["count"]:
            raise FormatError(f"{name}{key}: +Inf bucket {counts[-1]} != _count {s['count']}")


def parse_exposition(text):
    """The families of a scrape: name -> {type, help, samples}; FormatError
    on anything a Prometheus server would refuse or misread."""
    families, seen_series, current = {}, set(), None
    if text and not text.endswith("\n"):
        raise FormatError("the text does not end with a newline")
    for n, line in enumerate(text.splitlines(), 1):
        where = f"line {n}"
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise FormatError(f"{where}: bad name {name!r}")
                fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                if fam["samples"]:
                    raise FormatError(f"{where}: {parts[1]} of {name} after its samples")
                if parts[1] == "HELP":
                    if fam["help"] is not None:
                        raise FormatError(f"{where}: second HELP for {name}")
                    fam["help"] = unescape(parts[3] if len(parts) > 3 else "", "", where)
                else:
                    if fam["type"] is not None:
                        raise FormatError(f"{where}: second TYPE for {name}")
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise FormatError(f"{where}: bad TYPE line {line!r}")
                    fam["type"] = parts[3]
                current = name
            continue
        sample, labels, value = parse_sample(line, where)
        fam_name = family_of(sample, families)
        if fam_name is None:
            raise FormatError(f"{where}: {sample} has no TYPE line before it")
        if fam_name != current:
            raise FormatError(f"{where}: {sample} is not beside the rest of {fam_name}")
        series = (sample, tuple(sorted(labels)))
        if series in seen_series:
            raise FormatError(f"{where}: series {series} twice")
        seen_series.add(series)
        families[fam_name]["samples"].append((sample, labels, value))
    for name, fam in families.items():
        if fam["type"] is None:
            raise FormatError(f"{name}: HELP without TYPE")
        if fam["type"] == "histogram":
            check_histogram(name, fam)
    return families


def check_conventions(families):
    """gpuslice's naming rules (docs/metrics.md)."""
    for name, fam in families.items():
        if not name.startswith("gpuslice_"):
            raise FormatError(f"{name}: not under gpuslice_")
        if not fam["help"]:
            raise FormatError(f"{name}: no HELP text")
        if (fam["type"] == "counter") != name.endswith("_total"):
            raise FormatError(f"{name}: counters, and only they, end in _total")
        if name.endswith("_seconds") and fam["type"] != "histogram":
            raise FormatError(f"{name}: a duration that is not a histogram")
        for sample, labels, value in fam["samples"]:
            if fam["type"] == "counter" and value < 0:
                raise FormatError(f"{sample}: a negative counter")


def value_of(families, name, **labels):
    """The sum of name's samples whose labels include labels."""
    total = 0.0
    for sample, got, value in families.get(name, {"samples": []})["samples"]:
        if sample == name and all(dict(got).get(k) == v for k, v in labels.items()):
            total += value
    return total


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


class Parser(unittest.TestCase):
    """The parser itself refuses what it should, so a pass means something."""

    GOOD = ("# HELP gpuslice_x_total Xs, with \\\\ and \\n.\n# TYPE gpuslice_x_total counter\n"
            'gpuslice_x_total{a="q\\"\\\\\\n",b=""} 3\n'
            "# HELP gpuslice_y_seconds Y.\n# TYPE gpuslice_y_seconds histogram\n"
            'gpuslice_y_seconds_bucket{le="0.1"} 1\ngpuslice_y_seconds_bucket{le="+Inf"} 2\n'
            "gpuslice_y_seconds_sum 0.5\ngpuslice_y_seconds_count 2\n")

    def test_good_text(self):
        fams = parse_exposition(self.GOOD)
        check_conventions(fams)
        self.assertEqual(fams["gpuslice_x_total"]["help"], "Xs, with \\ and \n.")
        self.assertEqual(fams["gpuslice_x_total"]["samples"][0][1],
                         (("a", 'q"\\\n'), ("b", "")))

    def test_bad_texts(self):
        bad = {
            "no TYPE": "gpuslice_z 1\n",
            "bad escape": '# TYPE a counter\na{x="\\t"} 1\n',
            "bad value": "# TYPE a gauge\na one\n",
            "twice": "# TYPE a gauge\na 1\na 2\n",
            "TYPE twice": "# TYPE a gauge\n# TYPE a gauge\na 1\n",
            "apart": "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"1\"} 2\n",
            "no +Inf": "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
            "falling": ("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                        "h_sum 1\nh_count 1\n"),
            "count": ("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n"),
            "unclosed": "# TYPE a gauge\na{x=\"1} 1\n",
            "no newline": "# TYPE a gauge\na 1",
        }
        for why, text in bad.items():
            with self.subTest(why):
                with self.assertRaises(FormatError):
                    parse_exposition(text)
        with self.assertRaises(FormatError):
            check_conventions(parse_exposition("# HELP a_total A.\n# TYPE a_total gauge\n"))


class Processes(unittest.TestCase):
    """gpuslice commands run in the background from an empty folder, stopped
    (SIGTERM, then SIGKILL) when the test ends; also test_status.py's."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="gpuslice-test-")
        self.addCleanup(tmp.cleanup)  # cleanups run last first: after the processes stop
        self.cwd = tmp.name

    def start(self, *args, name, env=None):
        log = os.path.join(self.cwd, name)
        with open(log, "w", encoding="utf-8") as out:
            proc = subprocess.Popen([GPUSLICE, *args], cwd=self.cwd, stdout=out,
                                    stderr=subprocess.STDOUT, env=env)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.addCleanup(stop)
        return proc, log

    @staticmethod
    def read(log):
        with open(log, encoding="utf-8") as f:
            return f.read()

    def wait_for_match(self, proc, log, pattern):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            m = re.search(pattern, self.read(log))
            if m:
                return m
            time.sleep(0.1)
        self.fail(f"no {pattern!r} (exit {proc.poll()}):\n{self.read(log)}")

    def start_cluster(self, cluster_yaml, webhook=False):
        """`gpuslice cluster -f`, the controller and one agent per node
        (emulated GPUs, no latency) with metrics on free ports. Returns the
        kubeconfig, the API server's URL and {name: metrics base URL}."""
        with open(os.path.join(self.cwd, "cluster.yaml"), "w", encoding="utf-8") as f:
            f.write(cluster_yaml)
        kubeconfig = os.path.join(self.cwd, "k.kubeconfig")
        cluster, cluster_log = self.start("cluster", "-f", "cluster.yaml", "--kubeconfig",
                                          kubeconfig, *(["--webhook"] if webhook else []),
                                          name="cluster")
        url = self.wait_for_match(cluster, cluster_log,
                                  r"API server listening[^:]*: (http://\S+)").group(1)
        out = self.wait_for_match(cluster, cluster_log, "Stop with Ctrl-C.") and \
            self.read(cluster_log)
        any_port = ["--metrics-address", "127.0.0.1:0"]
        port = r"metrics on 127\.0\.0\.1:0 \(port (\d+)\)"
        procs = {"controller": self.start("controller", "--kubeconfig", kubeconfig, *any_port,
                                          name="controller")}
        for m in re.finditer(r"gpuslice agent .*--node (\S+) --device emulated:(\S+)", out):
            procs["agent " + m.group(1)] = self.start(
                "agent", "--node", m.group(1), "--device",
                f"emulated:{m.group(2)},latency=none", "--kubeconfig", kubeconfig,
                "--state-dir", self.cwd, *any_port, name="agent-" + m.group(1))
        bases = {name: "http://127.0.0.1:" + self.wait_for_match(p, log, port).group(1)
                 for name, (p, log) in procs.items()}
        self.logs = {name: log for name, (_, log) in procs.items()}
        self.wait_for_gpus(url, [n.split(" ", 1)[1] for n in procs if n != "controller"],
                           bases["controller"])
        return kubeconfig, url, bases

    def wait_for_gpus(self, url, nodes, controller_base):
        """Until every node's GPUNode reports its GPUs and the controller
        places on all the MIG-enabled ones: a pod made before is placed on
        the nodes that reported first (cmd_status's 1g.10gb pod went to
        n2's A100 when n1's H100 was not reported yet)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            items = self.api(url, "GET", "/apis/gpuslice.dev/v1alpha1/gpunodes")["items"]
            reported = {n["metadata"]["name"]: n.get("status", {}).get("gpus") for n in items}
            mig = sum(1 for gpus in reported.values() for g in gpus or []
                      if g.get("migMode") == "Enabled")
            _, _, text = get(controller_base + "/metrics")
            placed_on = value_of(parse_exposition(text), "gpuslice_gpus")
            if all(reported.get(n) for n in nodes) and placed_on == mig:
                return
            if time.monotonic() > deadline:
                self.fail(f"GPUs not reported: nodes {reported}, controller places on "
                          f"{placed_on} of {mig}")
            time.sleep(0.1)

    def api(self, url, method, path, body=None):
        req = urllib.request.Request(url + path, method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)


class Scrapes(Processes):
    def scrape(self, base, until=None):
        """The parsed families at base/metrics, after checking the format
        and the conventions, once until(families) holds (when given)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            status, ctype, text = get(base + "/metrics")
            self.assertEqual(status, 200, text)
            self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
            try:
                fams = parse_exposition(text)
                check_conventions(fams)
            except FormatError as e:
                self.fail(f"{base}/metrics: {e}\n{text}")
            if until is None or until(fams) or time.monotonic() > deadline:
                return fams
            time.sleep(0.2)

    def probes(self, base):
        self.assertEqual(get(base + "/healthz")[0], 200)
        deadline = time.monotonic() + WAIT_S
        while get(base + "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(get(base + "/readyz")[0], 200)
        self.assertEqual(get(base + "/nothing")[0], 404)

    def test_demo_serves_its_controllers_metrics(self):
        proc, log = self.start("demo", "--timeout", "100", name="demo")
        m = self.wait_for_match(proc, log, r"metrics at (http://127\.0\.0\.1:\d+)/metrics")
        base = m.group(1)
        self.probes(base)
        # every GPU reported too: the second node's agent may report after the
        # first pod is placed on the first node's GPUs
        fams = self.scrape(base, until=lambda f: value_of(
            f, "gpuslice_controller_placement_decisions_total", result="placed") >= 1 and
            value_of(f, "gpuslice_agent_device_operations_total", kind="create") >= 1 and
            value_of(f, "gpuslice_gpus") == 4)
        for name in ("gpuslice_slices", "gpuslice_pods_waiting", "gpuslice_gpus",
                     "gpuslice_leader", "gpuslice_controller_placement_decisions_total",
                     "gpuslice_controller_placement_duration_seconds",
                     "gpuslice_agent_device_operations_total",
                     "gpuslice_agent_device_operation_duration_seconds",
                     "gpuslice_reconcile_queue_depth", "gpuslice_reconcile_retries_total",
                     "gpuslice_webhook_admission_requests_total"):
            self.assertIn(name, fams)
        self.assertGreaterEqual(value_of(fams, "gpuslice_controller_placement_decisions_total",
                                         result="placed"), 1)
        self.assertEqual(value_of(fams, "gpuslice_leader", component="controller"), 1)
        self.assertEqual(value_of(fams, "gpuslice_gpus"), 4)  # 2 nodes x 2 GPUs
        self.assertGreaterEqual(value_of(fams, "gpuslice_webhook_admission_requests_total"), 1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=WAIT_S)

    def test_each_component_serves_its_own(self):
        kubeconfig, url, bases = self.start_cluster(
            "nodes:\n  - name: n1\n    gpus:\n      - model: A100-40GB\n")
        certs = os.path.join(self.cwd, "certs")
        subprocess.run([GPUSLICE, "certs", "--out", certs, "--ip", "127.0.0.1"], check=True,
                       capture_output=True, timeout=WAIT_S)
        hook, hook_log = self.start("webhook", "--tls-cert", os.path.join(certs, "tls.crt"),
                                    "--tls-key", os.path.join(certs, "tls.key"), "--port", "0",
                                    "--metrics-address", "127.0.0.1:0", name="webhook")
        bases["webhook"] = "http://127.0.0.1:" + self.wait_for_match(
            hook, hook_log, r"metrics on 127\.0\.0\.1:0 \(port (\d+)\)").group(1)
        for base in bases.values():
            self.probes(base)
        self.api(url, "POST", "/api/v1/namespaces", {"metadata": {"name": "small"}})
        self.api(url, "POST", "/api/v1/namespaces/small/pods", {
            "metadata": {"name": "one", "annotations": {"gpuslice.dev/slices": json.dumps(
                [{"container": "main", "profile": "1g.5gb", "count": 1}])}},
            "spec": {"schedulingGates": [{"name": "gpuslice.dev/slice"}],
                     # what the webhook would make of nvidia.com/mig-1g.5gb: 1, which the
                     # controller checks the annotation against (no slice without a request)
                     "containers": [{"name": "main", "image": "busybox", "resources": {
                         "requests": {"gpuslice.dev/accelerator-memory": "5"},
                         "limits": {"gpuslice.dev/accelerator-memory": "5"}}}]}})
        ctl_log, agent_log = self.logs["controller"], self.logs["agent n1"]
        fams = self.scrape(bases["controller"], until=lambda f: value_of(
            f, "gpuslice_controller_placement_decisions_total", result="placed") >= 1)
        self.assertGreaterEqual(value_of(fams, "gpuslice_controller_placement_decisions_total",
                                         result="placed"), 1, self.read(ctl_log))
        self.assertEqual(value_of(fams, "gpuslice_gpus", model="A100-40GB", node="n1"), 1)
        self.assertEqual(value_of(fams, "gpuslice_leader", component="controller"), 1)
        fams = self.scrape(bases["agent n1"], until=lambda f: value_of(
            f, "gpuslice_agent_device_operations_total", kind="create", result="success") >= 1)
        self.assertGreaterEqual(value_of(fams, "gpuslice_agent_device_operations_total",
                                         node="n1", kind="create", result="success"), 1,
                                self.read(agent_log))
        self.assertEqual(value_of(fams, "gpuslice_agent_node_lease_held", node="n1"), 1)
        self.assertIn("gpuslice_reconcile_total", fams)
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": {"uid": "u1", "operation": "CREATE", "namespace": "small",
                              "kind": {"group": "", "version": "v1", "kind": "Pod"},
                              "object": {"metadata": {"name": "p"}, "spec": {"containers": [
                                  {"name": "c", "image": "busybox"}]}}}}
        hook_url = "https://127.0.0.1:" + self.wait_for_match(
            hook, hook_log, r"listening on https://127\.0\.0\.1:(\d+)").group(1)
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        req = urllib.request.Request(hook_url + "/mutate-pod", method="POST",
                                     data=json.dumps(review).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10, context=insecure) as r:
            self.assertEqual(r.status, 200)
        fams = self.scrape(bases["webhook"])
        self.assertEqual(value_of(fams, "gpuslice_webhook_admission_requests_total"), 1)
        self.assertEqual(value_of(fams, "gpuslice_webhook_admission_results_total",
                                  result="allowed"), 1)

    def test_a_bad_address_is_refused(self):
        out = subprocess.run([GPUSLICE, "controller", "--metrics-address", "localhost:9090",
                              "--kubeconfig", "/nonexistent"], capture_output=True, text=True,
                             cwd=self.cwd, timeout=WAIT_S)
        self.assertEqual(out.returncode, 1, out)
        self.assertIn("not an IP address", out.stderr)


if __name__ == "__main__":
    GPUSLICE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
