#!/usr/bin/env python3
"""Checks of the chart that need no cluster: helm lint --strict and helm template with the default
values and each examples/*.yaml, then the rendered objects themselves:

- the kinds and names expected, and every Service, StatefulSet and PodDisruptionBudget selector matching
  the labels of pods the release makes;
- every probe on a port its container declares; the coordinator probed over HTTP(S) on /api/v1/health,
  workers by gRPC health (TCP with TLS);
- GPU requests and limits exactly when gpu.enabled, and one cuda slot per GPU in the workers' settings;
- non-root pods, read-only root filesystems, every capability dropped;
- no Secret's value (nor a password) in a ConfigMap;
- every settings key in the ConfigMap and every PEERDISTILL_* variable is a property of the options
  classes under src/ (the processes refuse unknown keys);
- the ServiceMonitor only when monitoring.coreos.com/v1 is served;
- every value of values.yaml in values.schema.json and the reverse, and every .Values path a template
  uses in the schema.

Run from anywhere: python3 helm/peerdistill/check-rendered.py [--helm PATH]. Needs python3-yaml.
Exit 0 when every check passes; each failure is printed.
"""
import argparse, base64, glob, json, os, re, subprocess, sys
import yaml

CHART = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(CHART))
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def helm(args, helm_path):
    result = subprocess.run([helm_path, *args], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def render(helm_path, values_file=None, extra=()):
    args = ["template", "pd", CHART, "--namespace", "ns"] + (["-f", values_file] if values_file else []) + list(extra)
    code, out = helm(args, helm_path)
    if not check(code == 0, f"helm template {values_file or '(defaults)'} failed:\n{out}"):
        return []
    return [d for d in yaml.safe_load_all(out) if d]


def merged_values(values_file):
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    if values_file:
        deep_merge(values, yaml.safe_load(open(values_file)) or {})
    return values


def deep_merge(base, over):
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value


def option_properties():
    """Property names of the classes under src/ (the options classes bind the settings by these names)."""
    names = set()
    for path in glob.glob(os.path.join(REPO, "src", "**", "*.cs"), recursive=True):
        names.update(re.findall(r"public\s+[\w.<>?,\s\[\]]+?\s+(\w+)\s*\{\s*get;", open(path, encoding="utf-8").read()))
    return names


def settings_keys(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from settings_keys(value, prefix + (key,))
    else:
        yield prefix


def pod_specs(objects):
    for o in objects:
        if o["kind"] in ("StatefulSet", "Deployment"):
            yield o, o["spec"]["template"]


def check_objects(name, objects, values, properties):
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    gpu = values["gpu"]["enabled"]
    tls = values["tls"]["enabled"]
    expected = {"ConfigMap", "Service", "StatefulSet", "PersistentVolumeClaim" if not values["runs"]["existingClaim"] else None}
    expected.discard(None)
    for kind in expected:
        check(kind in by_kind, f"{name}: no {kind} rendered")
    statefulsets = {o["metadata"]["name"] for o in by_kind.get("StatefulSet", [])}
    check("pd-peerdistill-coordinator" in statefulsets and "pd-peerdistill-worker" in statefulsets, f"{name}: StatefulSets {sorted(statefulsets)}")
    check(("pd-peerdistill-postgresql" in statefulsets) == values["postgresql"]["enabled"], f"{name}: the in-chart PostgreSQL rendered or missing against postgresql.enabled")
    check(("PodDisruptionBudget" in by_kind) == values["worker"]["pdb"]["enabled"], f"{name}: PodDisruptionBudget against worker.pdb.enabled")
    check("ServiceMonitor" not in by_kind, f"{name}: a ServiceMonitor without the monitoring.coreos.com/v1 API")

    pods = [(o, t["metadata"]["labels"]) for o, t in pod_specs(objects)]
    for o, template in pod_specs(objects):
        selector = o["spec"]["selector"]["matchLabels"]
        check(all(template["metadata"]["labels"].get(k) == v for k, v in selector.items()), f"{name}: {o['metadata']['name']}'s selector {selector} does not match its pod labels")
        service = o["spec"].get("serviceName")
        check(service in {s["metadata"]["name"] for s in by_kind["Service"]}, f"{name}: {o['metadata']['name']}'s serviceName {service} is no Service")
    for s in by_kind.get("Service", []) + by_kind.get("PodDisruptionBudget", []):
        selector = s["spec"]["selector"]
        selector = selector.get("matchLabels", selector) if s["kind"] == "PodDisruptionBudget" else selector
        check(any(all(labels.get(k) == v for k, v in selector.items()) for _, labels in pods), f"{name}: {s['kind']} {s['metadata']['name']} selects no pod ({selector})")

    for o, template in pod_specs(objects):
        spec = template["spec"]
        component = template["metadata"]["labels"].get("app.kubernetes.io/component")
        pod_security = spec.get("securityContext", {})
        check(pod_security.get("runAsNonRoot") is True, f"{name}: {o['metadata']['name']} may run as root")
        for c in spec["containers"]:
            where = f"{name}: {o['metadata']['name']}/{c['name']}"
            security = c.get("securityContext", {})
            check(security.get("readOnlyRootFilesystem") is True, f"{where}: root filesystem not read-only")
            check(security.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed")
            check("ALL" in security.get("capabilities", {}).get("drop", []), f"{where}: capabilities not all dropped")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = c.get(kind)
                if component in ("coordinator", "worker"):
                    check(probe is not None, f"{where}: no {kind}")
                if not probe:
                    continue
                for handler in ("httpGet", "grpc", "tcpSocket"):
                    if handler in probe:
                        port = probe[handler]["port"]
                        check(port in ports or port in ports.values(), f"{where}: {kind} on port {port}, which the container does not declare ({ports})")
                if component == "coordinator" and kind != "livenessProbe":
                    check(probe.get("httpGet", {}).get("path") == "/api/v1/health" and probe["httpGet"]["scheme"] == ("HTTPS" if tls else "HTTP"), f"{where}: {kind} is not GET /api/v1/health over {'HTTPS' if tls else 'HTTP'}")
                if component == "worker":
                    check(("tcpSocket" if tls else "grpc") in probe, f"{where}: {kind} is not {'TCP' if tls else 'gRPC health'}")
            limits = c.get("resources", {}).get("limits", {})
            requests = c.get("resources", {}).get("requests", {})
            resource = values["gpu"]["resourceName"]
            if component == "worker":
                if gpu:
                    check(limits.get(resource) == values["gpu"]["perWorker"] == requests.get(resource), f"{where}: {resource} requests/limits {requests.get(resource)}/{limits.get(resource)}, not {values['gpu']['perWorker']}")
                    check(c["image"].endswith("-cuda") or bool(values["gpu"]["image"]["tag"]), f"{where}: a GPU worker on image {c['image']}")
                else:
                    check(resource not in limits and resource not in requests, f"{where}: GPU requested without gpu.enabled")
                check(spec["terminationGracePeriodSeconds"] == values["worker"]["terminationGracePeriodSeconds"], f"{where}: terminationGracePeriodSeconds")
                envs = {e["name"] for e in c["env"]}
                check({"POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID", "PEERDISTILL_WORKER__ID", "PEERDISTILL_WORKER__HOST", "PEERDISTILL_WORKER__DATABASE"} <= envs, f"{where}: missing variables among {sorted(envs)}")
            for e in c.get("env", []):
                if e["name"].startswith("PEERDISTILL_"):
                    keys = e["name"][len("PEERDISTILL_"):].split("__")
                    check(all(any(k.lower() == p.lower() for p in properties) for k in keys[1:]) and keys[0] in ("COORDINATOR", "WORKER"), f"{where}: {e['name']} names no setting of the options classes")
            if component in ("coordinator", "worker"):
                check(template["metadata"]["labels"].get("orleans/clusterId") == values["clusterId"] and template["metadata"]["labels"].get("orleans/serviceId") == "peerdistill", f"{where}: Orleans' pod labels")

    secret_values = set()
    for s in by_kind.get("Secret", []):
        for v in (s.get("data") or {}).values():
            secret_values.add(base64.b64decode(v).decode())
    for cm in by_kind.get("ConfigMap", []):
        for key, text in cm["data"].items():
            check(not any(v and v in text for v in secret_values), f"{name}: ConfigMap {cm['metadata']['name']}/{key} holds a Secret's value")
            check("password" not in text.lower(), f"{name}: ConfigMap {cm['metadata']['name']}/{key} mentions a password")
            settings = json.loads(text)
            for path in settings_keys(settings):
                check(path[0] in ("Coordinator", "Worker") and all(any(k == p for p in properties) for k in path[1:]), f"{name}: setting {':'.join(path)} is no property of the options classes")
            if key == "worker.json":
                devices = settings["Worker"]["Devices"].split(",")
                want = [f"cuda:{i}" for i in range(values["gpu"]["perWorker"])] if gpu else ["cpu"] * values["worker"]["slots"]
                check(devices == want, f"{name}: worker devices {devices}, not {want}")
            if tls:
                check("Tls" in settings[next(iter(settings))] and "Insecure" not in settings[next(iter(settings))], f"{name}: {key} without Tls or with Insecure")


def schema_paths(schema, prefix=""):
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        yield path, sub
        if sub.get("type") == "object" and "properties" in sub:
            yield from schema_paths(sub, path)


def values_paths(node, prefix=""):
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        yield path
        if isinstance(value, dict) and value:
            yield from values_paths(value, path)


def check_schema():
    schema = json.load(open(os.path.join(CHART, "values.schema.json")))
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    in_schema = dict(schema_paths(schema))
    free = {p for p, s in in_schema.items() if s.get("type") == "object" and "properties" not in s}
    for path in values_paths(values):
        if any(path.startswith(f + ".") for f in free):
            continue
        check(path in in_schema, f"values.yaml: {path} is not in values.schema.json")
        if path in in_schema:
            check(bool(in_schema[path].get("description")), f"values.schema.json: {path} has no description")
    known = set(values_paths(values))
    for path in in_schema:
        check(path in known, f"values.schema.json: {path} is not in values.yaml")
    for template in glob.glob(os.path.join(CHART, "templates", "*")):
        for path in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", open(template).read()):
            check(path in in_schema, f"{os.path.basename(template)}: .Values.{path} is not in values.schema.json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--helm", default=os.environ.get("HELM", "helm"))
    helm_path = parser.parse_args().helm
    properties = option_properties()
    check_schema()
    files = [None] + sorted(glob.glob(os.path.join(CHART, "examples", "*.yaml")))
    for f in files:
        name = os.path.basename(f) if f else "defaults"
        code, out = helm(["lint", "--strict", CHART] + (["-f", f] if f else []), helm_path)
        check(code == 0, f"helm lint --strict {name}:\n{out}")
        objects = render(helm_path, f)
        if objects:
            check_objects(name, objects, merged_values(f), properties)
        with_operator = render(helm_path, f, ["--api-versions", "monitoring.coreos.com/v1"])
        monitors = [o for o in with_operator if o["kind"] == "ServiceMonitor"]
        values = merged_values(f)
        want = values["telemetry"]["metrics"]["enabled"] and values["telemetry"]["serviceMonitor"]["enabled"]
        check(len(monitors) == (1 if want else 0), f"{name}: {len(monitors)} ServiceMonitor(s) with the operator's API")
        for m in monitors:
            services = [o for o in with_operator if o["kind"] == "Service" and all(o["metadata"]["labels"].get(k) == v for k, v in m["spec"]["selector"]["matchLabels"].items())]
            check(sorted(s["metadata"]["labels"]["peerdistill.io/job"] for s in services) == ["peerdistill-coordinator", "peerdistill-worker"], f"{name}: the ServiceMonitor selects {[s['metadata']['name'] for s in services]}")
            check(all(any(p["name"] == "metrics" for p in s["spec"]["ports"]) for s in services), f"{name}: a scraped Service without a metrics port")
        print(f"{name}: {len(objects)} objects checked")
    # Values that must be refused.
    for bad, why in [({"tls": {"enabled": True}}, "TLS without a Secret"), ({"insecure": False}, "cleartext without insecure"),
                     ({"postgresql": {"enabled": False}}, "no database"), ({"worker": {"slots": 0}}, "0 slots"),
                     ({"unknown": 1}, "an unknown value"),
                     ({"coordinator": {"ports": {"http": 7070}}}, "two coordinator endpoints on one port"),
                     ({"gpu": {"enabled": True, "perWorker": 0}}, "0 GPUs per worker")]:
        path = os.path.join("/tmp", "peerdistill-bad-values.yaml")
        with open(path, "w") as handle:
            yaml.safe_dump(bad, handle)
        code, _ = helm(["template", "pd", CHART, "-f", path], helm_path)
        check(code != 0, f"values with {why} were not refused")
    for f in failures:
        print("FAIL", f)
    print(f"{'ok' if not failures else str(len(failures)) + ' failure(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
