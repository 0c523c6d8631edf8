#!/usr/bin/env python3
"""Lint, render, validate and assert on the Helm chart helm/entra-exporter, with Helm's own Go SDK.

    python3 scripts/deploy/check_chart.py --exporter target/release/entra-exporter

1. Lints the chart (strict: warnings fail) with each value set of helm/entra-exporter/ci/.
2. Renders it for each value set, offline, with the Prometheus Operator's API advertised, and
   the defaults once more without it.
3. Validates every rendered manifest against the Kubernetes schemas (kubernetes-validate, strict)
   for the oldest Kubernetes the StatefulSet mode supports and the newest the package knows;
   checks the required fields of the ServiceMonitor and PrometheusRule, which it has no schema for.
4. Asserts on the output: the dashboards are byte-identical to grafana/dashboards, the
   PrometheusRule is the shipped rules file (or, for other settings, what
   monitoring/generate_rules.py renders from them), the exporter's config passes
   `entra-exporter --config.check` in a copy of the pod's environment, and the wiring of each set.
5. Checks that bad values fail at install time (values.schema.json) or rendering (template checks).

Helm's SDK comes from PyPI's helm-python-sdk (libhelm_c, a C ABI over Helm's Go SDK, with ctypes).
Exits 1 with a list of every failure.
"""

import argparse
import base64
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml
from helm_python import _native

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "entra-exporter"
CI = CHART / "ci"
RELEASE = "entra-exporter"
NAMESPACE = "monitoring"
OPERATOR_API = "monitoring.coreos.com/v1"
# The oldest Kubernetes the StatefulSet mode runs on (pod-index label) and the newest the
# schemas know.
KUBE_VERSIONS = ["1.28.0", kubernetes_validate.utils.latest_version()]
SETS = ["defaults", "workload-identity", "sharded", "existing-secret-certificate", "everything",
        "custom-thresholds"]

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")
    print(f"  FAIL {where}: {message}")


def ok(where, message):
    print(f"  ok   {where}: {message}")


def render(chart, values, *, api_versions=(), kube_version=KUBE_VERSIONS[-1]):
    """Renders offline as `helm template --kube-version --api-versions` would.

    helm-python-sdk's Chart.render() does not pass kube_version and api_versions through, but the
    C ABI's helm_render accepts them in its options (see the decodeOptions struct in libhelm_c),
    so this calls it directly. Returns {template path: text}; raises HelmError on failure.
    """
    opts = {"name": RELEASE, "namespace": NAMESPACE, "is_install": True,
            "kube_version": f"v{kube_version}", "api_versions": list(api_versions)}
    return json.loads(_native.call_string("helm_render", chart._raw(), json.dumps(values),
                                          json.dumps(opts)))


def manifests(rendered):
    """Every object rendered, in a stable order, with the template it came from."""
    out = []
    for path in sorted(rendered):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(rendered[path]):
            if doc:
                doc["__template"] = path
                out.append(doc)
    return out


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def clean(obj):
    return {k: v for k, v in obj.items() if k != "__template"}


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_rules",
                                                  ROOT / "monitoring" / "generate_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- 1. lint ---------------------------------------------------------------------------------

def lint(values_sets):
    print("\n== helm lint (strict) ==")
    for name, values in values_sets.items():
        report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE,
                           kube_version=f"v{KUBE_VERSIONS[-1]}")
        problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
        problems += [{"error": e} for e in report.get("errors", []) or []]
        if problems:
            for p in problems:
                fail(f"lint {name}", f"{p.get('path', '')} {p['error']}")
        else:
            ok(f"lint {name}", f"{report.get('total_charts_linted')} chart, no warnings")


# --- 3. validation -------------------------------------------------------------------------

def validate_crd(where, obj):
    """The fields the Prometheus Operator's CRDs require, and the values they constrain."""
    spec = obj.get("spec") or {}
    duration = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")
    problems = []
    if not obj.get("metadata", {}).get("name"):
        problems.append("metadata.name missing")
    if obj["kind"] == "ServiceMonitor":
        if "selector" not in spec:
            problems.append("spec.selector is required")
        if not spec.get("endpoints"):
            problems.append("spec.endpoints is empty")
        for i, ep in enumerate(spec.get("endpoints", [])):
            if not (ep.get("port") or ep.get("targetPort")):
                problems.append(f"endpoints[{i}] names no port")
            for key in ("interval", "scrapeTimeout"):
                if key in ep and not duration.match(str(ep[key])):
                    problems.append(f"endpoints[{i}].{key} {ep[key]!r} is not a Prometheus duration")
            for j, r in enumerate(ep.get("relabelings", [])):
                if r.get("action", "replace") == "replace" and "targetLabel" not in r:
                    problems.append(f"endpoints[{i}].relabelings[{j}]: replace needs targetLabel")
    elif obj["kind"] == "PrometheusRule":
        groups = spec.get("groups")
        if not groups:
            problems.append("spec.groups is empty")
        for g in groups or []:
            if not g.get("name"):
                problems.append("a group has no name")
            for r in g.get("rules", []):
                if ("record" in r) == ("alert" in r):
                    problems.append(f"rule {r} needs exactly one of record and alert")
                if not isinstance(r.get("expr"), str) or not r["expr"]:
                    problems.append(f"rule {r.get('record') or r.get('alert')} has no expr")
                if "for" in r and not duration.match(r["for"]):
                    problems.append(f"rule {r.get('alert')}: for {r['for']!r} is not a duration")
                for k, v in {**r.get("labels", {}), **r.get("annotations", {})}.items():
                    if not isinstance(v, str):
                        problems.append(f"rule {r.get('alert')}: {k} is not a string")
    for p in problems:
        fail(where, p)
    return not problems


def validate_all(name, objs):
    for version in KUBE_VERSIONS:
        count = 0
        for obj in objs:
            where = f"validate {name} k8s {version} {obj['kind']}/{obj['metadata'].get('name')}"
            if obj["apiVersion"].startswith("monitoring.coreos.com/"):
                count += validate_crd(where, obj)
                continue
            try:
                kubernetes_validate.validate(clean(obj), version, strict=True)
                count += 1
            except kubernetes_validate.utils.ValidationError as e:
                fail(where, f"{'.'.join(map(str, e.path))}: {e.message}")
            except kubernetes_validate.utils.SchemaNotFoundError as e:
                fail(where, e.message)
        ok(f"validate {name}", f"{count}/{len(objs)} manifests valid for Kubernetes {version}")


# --- 4. assertions -------------------------------------------------------------------------

def pod_of(objs):
    workloads = by_kind(objs, "Deployment") + by_kind(objs, "StatefulSet")
    assert len(workloads) == 1, f"expected one workload, got {[w['kind'] for w in workloads]}"
    return workloads[0], workloads[0]["spec"]["template"]


def container_of(pod):
    return next(c for c in pod["spec"]["containers"] if c["name"] == "entra-exporter")


def check_hardening(name, objs):
    where = f"hardening {name}"
    workload, pod = pod_of(objs)
    c = container_of(pod)
    psc, sc = pod["spec"].get("securityContext", {}), c.get("securityContext", {})
    checks = {
        "runAsNonRoot": psc.get("runAsNonRoot") is True and sc.get("runAsNonRoot") is True,
        "readOnlyRootFilesystem": sc.get("readOnlyRootFilesystem") is True,
        "capabilities drop ALL": sc.get("capabilities", {}).get("drop") == ["ALL"],
        "seccomp RuntimeDefault": (psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
                                   and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"),
        "no privilege escalation": sc.get("allowPrivilegeEscalation") is False,
        "liveness on /healthz": c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz",
        "readiness on /readyz": c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz",
        "resources": bool(c.get("resources", {}).get("requests")) and bool(c.get("resources", {}).get("limits")),
        "PodDisruptionBudget": len(by_kind(objs, "PodDisruptionBudget")) == 1,
        "Service on the container port": any(
            p.get("targetPort") == "http" for s in by_kind(objs, "Service") for p in s["spec"]["ports"]),
        "ConfigMap mounted as --config.file": "--config.file=/etc/entra-exporter/config.yaml" in c["args"],
    }
    bad = [k for k, v in checks.items() if not v]
    for k in bad:
        fail(where, f"{workload['kind']}: {k} not set")
    if not bad:
        ok(where, ", ".join(checks))


def check_dashboards(name, objs):
    where = f"dashboards {name}"
    sources = {p.name: p.read_bytes() for p in sorted((ROOT / "grafana" / "dashboards").glob("*.json"))}
    maps = [cm for cm in by_kind(objs, "ConfigMap") if cm["__template"].endswith("dashboards.yaml")]
    seen = {}
    for cm in maps:
        labels = cm["metadata"].get("labels", {})
        if labels.get("grafana_dashboard") != "1":
            fail(where, f"{cm['metadata']['name']} lacks the sidecar label grafana_dashboard=\"1\"")
        if cm["metadata"].get("annotations", {}).get("grafana_folder") != "Entra ID":
            fail(where, f"{cm['metadata']['name']} lacks the grafana_folder annotation of the values")
        for key, text in cm["data"].items():
            seen[key] = text.encode()
    if sorted(seen) != sorted(sources):
        fail(where, f"ConfigMaps carry {sorted(seen)}, grafana/dashboards has {sorted(sources)}")
    differing = [k for k in sources if k in seen and seen[k] != sources[k]]
    for k in differing:
        fail(where, f"{k} in the ConfigMap is not byte-identical to grafana/dashboards/{k}")
    if sorted(seen) == sorted(sources) and not differing:
        ok(where, f"{len(seen)} ConfigMaps, each byte-identical to grafana/dashboards/")


def check_rules(name, objs, chart, values):
    where = f"rules {name}"
    rules = by_kind(objs, "PrometheusRule")
    if len(rules) != 1:
        fail(where, f"expected one PrometheusRule, got {len(rules)}")
        return
    groups = rules[0]["spec"]["groups"]
    settings = chart.merge_values(values)["prometheusRule"]["settings"]
    if "settings" not in values.get("prometheusRule", {}):
        # The chart's defaults: exactly the shipped file, whatever values.yaml says.
        expected = yaml.safe_load((ROOT / "prometheus" / "rules" / "entra-exporter.rules.yaml").read_text())
        source = "prometheus/rules/entra-exporter.rules.yaml"
    else:
        expected = load_generator().render(settings)
        source = "monitoring/generate_rules.py's rendering of the same settings"
    if groups != expected["groups"]:
        for g, e in zip(groups, expected["groups"]):
            for r, x in zip(g["rules"], e["rules"]):
                if r != x:
                    fail(where, f"rule {r.get('record') or r.get('alert')} differs from {source}:\n"
                                f"      chart:    {r}\n      expected: {x}")
                    break
        if [len(g["rules"]) for g in groups] != [len(g["rules"]) for g in expected["groups"]]:
            fail(where, f"group sizes differ from {source}")
        if not failures or not failures[-1].startswith(where):
            fail(where, f"groups differ from {source}")
    else:
        count = sum(len(g["rules"]) for g in groups)
        ok(where, f"{count} rules in {len(groups)} groups identical to {source}")
    # The scrape job the rules select is the one the ServiceMonitor sets.
    monitors = by_kind(objs, "ServiceMonitor")
    if monitors:
        job = next(r["replacement"] for r in monitors[0]["spec"]["endpoints"][0]["relabelings"]
                   if r.get("targetLabel") == "job")
        if f'job="{job}"' not in settings["selector"]:
            fail(where, f"the ServiceMonitor sets job={job!r} but the rules select {settings['selector']}")
        else:
            ok(where, f"ServiceMonitor job={job!r} matches the rules' selector {settings['selector']}")


def check_servicemonitor(name, objs, values):
    where = f"servicemonitor {name}"
    monitors = by_kind(objs, "ServiceMonitor")
    if len(monitors) != 1:
        fail(where, f"expected one ServiceMonitor, got {len(monitors)}")
        return
    ep = monitors[0]["spec"]["endpoints"][0]
    expected = {"interval": "60s", "scrapeTimeout": "10s", "port": "http", "path": "/metrics"}
    got = {k: ep.get(k) for k in expected}
    if got != expected:
        fail(where, f"endpoint {got}, expected {expected}")
    selector = monitors[0]["spec"]["selector"]["matchLabels"]
    services = [s for s in by_kind(objs, "Service")
                if s["spec"].get("clusterIP") != "None"
                and all(s["metadata"]["labels"].get(k) == v for k, v in selector.items())]
    if len(services) != 1:
        fail(where, f"the ServiceMonitor's selector matches {len(services)} Services, expected 1")
    if monitors[0]["metadata"]["labels"].get("release") != values["serviceMonitor"]["labels"]["release"]:
        fail(where, "serviceMonitor.labels not applied")
    if got == expected and len(services) == 1:
        ok(where, f"scrapes {services[0]['metadata']['name']}:http/metrics every 60s, timeout 10s")


def check_operator_gate(chart):
    where = "operator gate"
    without = manifests(render(chart, {}, api_versions=()))
    with_api = manifests(render(chart, {}, api_versions=[OPERATOR_API]))
    kinds = lambda objs: sorted(o["kind"] for o in objs if o["apiVersion"] == OPERATOR_API)
    if kinds(without):
        fail(where, f"rendered {kinds(without)} without {OPERATOR_API}")
    if kinds(with_api) != ["PrometheusRule", "ServiceMonitor"]:
        fail(where, f"with {OPERATOR_API} the defaults render {kinds(with_api)}")
    if not kinds(without) and kinds(with_api) == ["PrometheusRule", "ServiceMonitor"]:
        ok(where, f"ServiceMonitor and PrometheusRule only when the cluster serves {OPERATOR_API}")


def check_set_specifics(name, objs, values):
    """The wiring each value set exists to show."""
    where = f"wiring {name}"
    workload, pod = pod_of(objs)
    c = container_of(pod)
    secrets = by_kind(objs, "Secret")
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    sa = by_kind(objs, "ServiceAccount")
    problems = []
    if name == "defaults":
        if workload["kind"] != "Deployment" or workload["spec"]["replicas"] != 1:
            problems.append("the default workload is not a Deployment of 1")
        if secrets or "credentials" in volumes:
            problems.append("managed identity must need no Secret, but one is rendered or mounted")
        if any(a.startswith("--shard") for a in c["args"]):
            problems.append("a Deployment must not shard")
    if name == "workload-identity":
        ann = sa[0]["metadata"].get("annotations", {}) if sa else {}
        if ann.get("azure.workload.identity/client-id") != values["workloadIdentity"]["clientId"]:
            problems.append("ServiceAccount lacks azure.workload.identity/client-id")
        if pod["metadata"]["labels"].get("azure.workload.identity/use") != "true":
            problems.append('pod lacks the label azure.workload.identity/use: "true"')
        if pod["spec"]["serviceAccountName"] != sa[0]["metadata"]["name"]:
            problems.append("pod does not run as the annotated ServiceAccount")
        if secrets:
            problems.append("workload identity must need no Secret")
        if not by_kind(objs, "NetworkPolicy"):
            problems.append("networkPolicy.enabled rendered no NetworkPolicy")
    if name == "sharded":
        if workload["kind"] != "StatefulSet" or workload["spec"]["replicas"] != 3:
            problems.append("sharding must be a StatefulSet of 3")
        if "--shard.count=3" not in c["args"] or "--shard.index=$(SHARD_INDEX)" not in c["args"]:
            problems.append(f"args lack --shard.index=$(SHARD_INDEX) --shard.count=3: {c['args']}")
        env = {e["name"]: e for e in c.get("env", [])}
        ref = env.get("SHARD_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if ref != "metadata.labels['apps.kubernetes.io/pod-index']":
            problems.append(f"SHARD_INDEX does not come from the pod-index label: {ref}")
        headless = [s for s in by_kind(objs, "Service") if s["spec"].get("clusterIP") == "None"]
        if not headless or workload["spec"]["serviceName"] != headless[0]["metadata"]["name"]:
            problems.append("the StatefulSet's serviceName is not its headless Service")
        if [t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])] != ["state"]:
            problems.append("no volume claim for the activity-log state")
    if name == "existing-secret-certificate":
        if secrets:
            problems.append("existingSecret must not render a Secret")
        if volumes.get("credentials", {}).get("secret", {}).get("secretName") != values["credentials"]["existingSecret"]:
            problems.append("the existing Secret is not mounted")
    if name == "everything":
        kinds = sorted({o["kind"] for o in objs})
        for k in ["ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "PrometheusRule",
                  "Secret", "Service", "ServiceAccount", "ServiceMonitor"]:
            if k not in kinds:
                problems.append(f"no {k}")
        if volumes.get("state", {}).get("emptyDir") is None:
            problems.append("the activity-log state directory has no emptyDir")
        policy = by_kind(objs, "NetworkPolicy")[0]["spec"]
        ports = sorted({(p.get("port"), p.get("protocol")) for r in policy["egress"] for p in r.get("ports", [])})
        if ports != [(53, "TCP"), (53, "UDP"), (443, "TCP"), (3128, "TCP")]:
            problems.append(f"egress ports {ports}: expected DNS, HTTPS and the extra proxy rule only")
    for p in problems:
        fail(where, p)
    if not problems:
        ok(where, "as intended")


# --- the exporter's own check, in a copy of the pod ----------------------------------------

def make_certificate(directory, password):
    """A self-signed certificate with its password-encrypted PKCS#8 key, as one PEM file."""
    d = Path(directory)
    (d / "pass").write_text(password)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=entra-exporter-chart-check", "-keyout", d / "key.pem",
                    "-out", d / "cert.pem"], check=True, capture_output=True)
    subprocess.run(["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", d / "key.pem",
                    "-out", d / "key.enc.pem", "-passout", f"file:{d / 'pass'}"],
                   check=True, capture_output=True)
    return (d / "cert.pem").read_text() + (d / "key.enc.pem").read_text()


def fake_file(path_in_config, config_text, scratch):
    """Content for a file of an existing Secret, judged by the config key that names it."""
    key = next((m.group(1) for m in re.finditer(r"^\s*([a-z_]+):\s*(\S+)\s*$", config_text, re.M)
                if m.group(2) == path_in_config), "")
    if key == "certificate_file":
        return make_certificate(scratch, "chart-check-password")
    if key == "certificate_password_file":
        return "chart-check-password\n"
    return "a-client-secret-value\n"


def config_check(name, objs, exporter, shard=None):
    """Runs `entra-exporter --config.check` as the pod would run: its args and env, its
    ConfigMap and Secret files (paths moved under a scratch root), and, for a pod labelled for
    workload identity, the variables and token file the Azure webhook injects."""
    _, pod = pod_of(objs)
    c = container_of(pod)
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objs, "ConfigMap")}
    secrets = {o["metadata"]["name"]: o for o in by_kind(objs, "Secret")}
    with tempfile.TemporaryDirectory(prefix="entra-chart-") as root:
        mounts = sorted(((m["mountPath"], m["name"]) for m in c.get("volumeMounts", [])),
                        key=lambda m: -len(m[0]))
        config_map = volumes["config"]["configMap"]["name"]
        config_text = configmaps[config_map]["data"]["config.yaml"]

        def moved(text):
            for mount, _ in mounts:
                text = text.replace(mount, root + mount)
            return text

        for mount, vol_name in mounts:
            target = Path(root + mount)
            target.mkdir(parents=True, exist_ok=True)
            vol = volumes.get(vol_name)
            if vol is None:  # a volumeClaimTemplate
                continue
            if "configMap" in vol:
                for key, text in configmaps[vol["configMap"]["name"]]["data"].items():
                    (target / key).write_text(moved(text))
            elif "secret" in vol:
                secret = secrets.get(vol["secret"]["secretName"])
                if secret:
                    for key, text in (secret.get("stringData") or {}).items():
                        (target / key).write_text(text)
                    for key, b64 in (secret.get("data") or {}).items():
                        (target / key).write_bytes(base64.b64decode(b64))
                else:
                    # An existing Secret: the files the config names under this mount.
                    for path in sorted(set(re.findall(re.escape(mount) + r"/[^\s\"']+", config_text))):
                        Path(root + path).write_text(fake_file(path, config_text, root))

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for e in c.get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
            elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == \
                    "metadata.labels['apps.kubernetes.io/pod-index']":
                env[e["name"]] = str(shard if shard is not None else 0)
        if pod["metadata"]["labels"].get("azure.workload.identity/use") == "true":
            sa = next(s for s in by_kind(objs, "ServiceAccount")
                      if s["metadata"]["name"] == pod["spec"]["serviceAccountName"])
            ann = sa["metadata"]["annotations"]
            token = Path(root, "var/run/secrets/azure/tokens/azure-identity-token")
            token.parent.mkdir(parents=True)
            token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaGVjayJ9.c2ln\n")
            env.update({"AZURE_CLIENT_ID": ann["azure.workload.identity/client-id"],
                        "AZURE_TENANT_ID": ann.get("azure.workload.identity/tenant-id", "contoso.onmicrosoft.com"),
                        "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
                        "AZURE_FEDERATED_TOKEN_FILE": str(token)})
        # Kubernetes expands $(VAR) in args from the container's env.
        args = [moved(re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), a))
                for a in c["args"]]
        cmd = [str(exporter), *args, "--config.check"]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        where = f"config.check {name}" + (f" shard {shard}" if shard is not None else "")
        if run.returncode != 0 or "configuration is valid" not in run.stdout:
            fail(where, f"exit {run.returncode}: {run.stdout.strip()} {run.stderr.strip()}\n"
                        f"      command: {' '.join(cmd)}")
            return None
        summary = run.stdout.strip().replace(root, "")
        ok(where, summary.splitlines()[0] + "; " + "; ".join(l.strip()[:100] for l in summary.splitlines()[1:]))
        return [l.strip().split(":")[0] for l in summary.splitlines()[1:]]


def check_config(name, objs, exporter, values):
    workload, _ = pod_of(objs)
    if workload["kind"] != "StatefulSet":
        config_check(name, objs, exporter)
        return
    # Each shard keeps a disjoint part of the tenants, and together they keep all of them.
    shards = [config_check(name, objs, exporter, shard=i) for i in range(workload["spec"]["replicas"])]
    if any(s is None for s in shards):
        return
    kept = [t for s in shards for t in s]
    everyone = [t["name"] for t in values["config"]["tenants"]]
    if sorted(kept) != sorted(everyone):
        fail(f"sharding {name}", f"shards keep {shards}, expected each of {everyone} exactly once")
    else:
        ok(f"sharding {name}", f"shards keep {shards}: every tenant exactly once")


# --- 5. bad values ---------------------------------------------------------------------------

BAD_VALUES = [
    # (what, values, words the error must contain); schema errors first, then template checks.
    ("replica count as a word", {"replicaCount": "three"}, ["replicaCount"]),
    ("negative replica count", {"replicaCount": -1}, ["replicaCount"]),
    ("unknown auth mode", {"config": {"tenants": [{"tenant_id": "contoso.onmicrosoft.com",
                                                   "auth": {"mode": "password"}}]}}, ["mode"]),
    ("unknown workload kind", {"workload": "DaemonSet"}, ["workload"]),
    ("unknown top-level key", {"replicas": 2}, ["replicas"]),
    ("unknown config section", {"config": {"tenant": {}}}, ["tenant"]),
    ("a Deployment of 3", {"replicaCount": 3}, ["replicaCount"]),
    ("a duration without unit", {"serviceMonitor": {"interval": "60"}}, ["interval"]),
    ("a rule threshold as a word", {"prometheusRule": {"settings": {"credentials": {"warning_days": "thirty"}}}},
     ["warning_days"]),
    ("an empty rule selector", {"prometheusRule": {"settings": {"selector": ""}}}, ["selector"]),
    ("an unknown alert", {"prometheusRule": {"settings": {"alerts": {"EntraTypo": {"severity": "x", "for": "1m"}}}}},
     ["EntraTypo"]),
    ("existingSecret and stringData", {"credentials": {"existingSecret": "x", "stringData": {"a": "b"}}},
     ["existingSecret"]),
    ("workload identity without client id", {"workloadIdentity": {"enabled": True}}, ["clientId"]),
    ("scrape timeout above the interval", {"serviceMonitor": {"scrapeTimeout": "2m"}}, ["scrapeTimeout"]),
    ("a claim with a Deployment", {"stateDirectory": {"type": "persistentVolumeClaim"}}, ["StatefulSet"]),
]


def check_bad_values(chart):
    print("\n== bad values fail ==")
    for what, values, words in BAD_VALUES:
        try:
            render(chart, values, api_versions=[OPERATOR_API])
        except helm.HelmError as e:
            message = str(e)
            missing = [w for w in words if w not in message]
            if missing:
                fail(f"bad value: {what}", f"failed, but the message does not name {missing}: {message}")
            else:
                ok(f"bad value: {what}", f"{type(e).__name__}: {message.splitlines()[-1][:150]}")
            continue
        fail(f"bad value: {what}", f"{values} rendered without error")
    # StatefulSet mode needs the pod-index label (Kubernetes >= 1.28).
    try:
        render(chart, {"workload": "StatefulSet", "replicaCount": 2}, kube_version="1.27.0")
        fail("bad value: StatefulSet on 1.27", "rendered without error")
    except helm.HelmError as e:
        if "1.28" in str(e):
            ok("bad value: StatefulSet on 1.27", f"{type(e).__name__}: {str(e).splitlines()[-1][:150]}")
        else:
            fail("bad value: StatefulSet on 1.27", f"failed for another reason: {e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exporter", required=True, type=Path,
                        help="the entra-exporter binary whose --config.check judges the rendered config")
    args = parser.parse_args()
    if not args.exporter.is_file():
        sys.exit(f"{args.exporter}: no such binary (scripts/build-release.sh builds it)")
    if not shutil.which("openssl"):
        sys.exit("openssl is needed to make the test certificate (apt-get install openssl)")
    started = time.monotonic()
    print(f"helm-python-sdk {helm.__version__} (libhelm_c {helm.helm_c_version()}, Helm SDK "
          f"{helm.helm_sdk_version()}), kubernetes-validate {kubernetes_validate.__version__}, "
          f"Kubernetes schemas {', '.join(KUBE_VERSIONS)}")
    values_sets = {name: yaml.safe_load((CI / f"{name}-values.yaml").read_text()) or {} for name in SETS}
    extra = sorted(p.name for p in CI.glob("*.yaml") if p.name.removesuffix("-values.yaml") not in SETS)
    if extra:
        fail("ci", f"value sets not checked here: {extra}")
    lint(values_sets)
    with helm.Chart.load(CHART) as chart:
        for name, values in values_sets.items():
            print(f"\n== {name} (ci/{name}-values.yaml) ==")
            try:
                objs = manifests(render(chart, values, api_versions=[OPERATOR_API]))
            except helm.HelmError as e:
                fail(f"render {name}", str(e))
                continue
            ok(f"render {name}", f"{len(objs)} objects: "
                                 f"{', '.join(sorted(o['kind'] for o in objs))}")
            validate_all(name, objs)
            check_hardening(name, objs)
            check_set_specifics(name, objs, values)
            check_config(name, objs, args.exporter, chart.merge_values(values))
            if by_kind(objs, "PrometheusRule"):
                check_rules(name, objs, chart, values)
            if name == "everything":
                check_servicemonitor(name, objs, values)
                check_dashboards(name, objs)
        print("\n== Prometheus Operator gate ==")
        check_operator_gate(chart)
        check_bad_values(chart)
    print(f"\nchart checks took {time.monotonic() - started:.1f} s")
    if failures:
        print(f"\n{len(failures)} chart check(s) FAILED:", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        sys.exit(1)
    print("chart: all checks passed")


if __name__ == "__main__":
    main()
