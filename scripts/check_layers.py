#!/usr/bin/env python3
"""Checks the crate layers from `cargo metadata` (not by eye); part of `make lint`.

* `cmp-core` (shared/core) is the pure domain: nothing in its dependency closure may be an AWS SDK
  or runtime crate, tokio, or a Lambda crate.
* `cmp-app` (shared/app, use cases and ports) links no AWS crate and no Lambda crate.
* `cmp-aws` (shared/aws, the adapters) links no Lambda crate.
* `cmp-lab` (shared/lab, the identity-resolution lab) is linked by no function.
* No function links a crate of another function, `cmpctl` or the tests.

Exit status 1 with one line per violation, 0 with a summary otherwise.
"""
import json
import subprocess
import sys

AWS = ("aws-", "aws_")
LAMBDA = ("lambda_runtime", "lambda_http", "aws_lambda_events")
RULES = {
    "cmp-core": (AWS + LAMBDA + ("tokio", "hyper"), "the domain layer links no AWS, tokio or Lambda crate"),
    "cmp-app": (AWS + LAMBDA, "the use cases link no AWS or Lambda crate"),
    "cmp-aws": (LAMBDA, "the adapters link no Lambda crate"),
}


def closure(graph, start):
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for dep in graph.get(node, ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"], check=True, capture_output=True, text=True
        ).stdout
    )
    names = {p["id"]: p["name"] for p in meta["packages"]}
    members = {names[m] for m in meta["workspace_members"]}
    # normal and build dependencies only: what a crate links (dev-dependencies are its tests')
    graph = {}
    for node in meta["resolve"]["nodes"]:
        deps = set()
        for d in node["deps"]:
            if any(k["kind"] in (None, "build") for k in d["dep_kinds"]):
                deps.add(names[d["pkg"]])
        graph.setdefault(names[node["id"]], set()).update(deps)

    problems = []
    sizes = {}
    for crate, (forbidden, why) in RULES.items():
        linked = closure(graph, crate)
        sizes[crate] = len(linked)
        for dep in sorted(linked):
            if dep.startswith(forbidden):
                problems.append(f"{crate} depends on {dep} ({why})")

    functions = sorted(
        p["name"]
        for p in meta["packages"]
        if p["name"] in members and p["manifest_path"].split("/")[-3] == "functions"
    )
    if not functions:
        problems.append("no function crates found under functions/")
    for f in functions:
        linked = closure(graph, f)
        for banned in ["cmp-lab", "cmpctl", "cmp-tests", "hello-lambda", *[g for g in functions if g != f]]:
            if banned in linked:
                problems.append(f"function {f} links {banned}")

    if problems:
        print("\n".join(problems))
        return 1
    print(
        "layers: "
        + "; ".join(f"{c} links {n} crates, none forbidden" for c, n in sizes.items())
        + f"; {len(functions)} functions link neither cmp-lab nor cmpctl"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
