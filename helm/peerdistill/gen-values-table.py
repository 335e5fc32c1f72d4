#!/usr/bin/env python3
"""Writes the table of values in README.md from values.schema.json and the defaults of values.yaml,
between the markers <!-- values-table:start --> and <!-- values-table:end -->.

  python3 helm/peerdistill/gen-values-table.py           # rewrite README.md
  python3 helm/peerdistill/gen-values-table.py --check   # exit 1 when README.md's table is stale
Needs python3-yaml.
"""
import json, os, sys
import yaml

CHART = os.path.dirname(os.path.abspath(__file__))
START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"


def rows(schema, defaults, prefix=""):
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        value = defaults.get(key) if isinstance(defaults, dict) else None
        if sub.get("type") == "object" and "properties" in sub:
            yield from rows(sub, value or {}, path)
            continue
        kind = sub.get("type") or "/".join(o.get("type", "?") for o in sub.get("oneOf", []))
        if "enum" in sub:
            kind += " (" + ", ".join(str(e) for e in sub["enum"]) + ")"
        default = json.dumps(value, separators=(", ", ": ")) if value not in (None, "") else ('""' if value == "" else "")
        description = sub.get("description", "").replace("|", "\\|")
        cell = f"`{default}`" if default else ""
        yield f"| `{path}` | {kind} | {cell} | {description} |"


def table():
    schema = json.load(open(os.path.join(CHART, "values.schema.json")))
    defaults = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    return "\n".join(["| value | type | default | what it does |", "|---|---|---|---|", *rows(schema, defaults)])


def main():
    readme = os.path.join(CHART, "README.md")
    text = open(readme).read()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table()}\n{END}{tail}"
    if "--check" in sys.argv:
        if new != text:
            print("README.md's table of values is stale: run python3 helm/peerdistill/gen-values-table.py")
            return 1
        print("README.md's table of values is up to date")
        return 0
    open(readme, "w").write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
