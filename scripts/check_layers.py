#!/usr/bin/env python3
"""Checks the crate layers from `cargo metadata` (not by eye); part of `make lint`.

* `cmp-core` (shared/core) is the pure domain: nothing in its dependency closure may be an AWS SDK
  or runtime crate, tokio, or a Lambda crate.
* `cmp-lab` (shared/lab, the identity-resolution lab) is linked by no function.
* No function links a crate of another function, `cmpctl` or the tests.

Exit status 1 with one line per violation, 0 with a summary otherwise.
"""
import json
import subprocess
import sys

FORBIDDEN_IN_CORE = ("aws-", "aws_", "tokio", "lambda_runtime", "lambda_http", "aws_lambda_events", "hyper")


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
    core = closure(graph, "cmp-core")
    for dep in sorted(core):
        if dep.startswith(FORBIDDEN_IN_CORE):
            problems.append(f"cmp-core depends on {dep} (the domain layer links no AWS, tokio or Lambda crate)")

    functions = sorted(
        p["name"]
        for p in meta["packages"]
        if p["name"] in members and p["manifest_path"].split("/")[-3] == "functions"
    )
    if not functions:
        problems.append("no function crates found under functions/")
    for f in functions:
        linked = closure(graph, f)
        for banned in ["cmp-lab", "cmpctl", "cmp-tests", *[g for g in functions if g != f]]:
            if banned in linked:
                problems.append(f"function {f} links {banned}")

    if problems:
        print("\n".join(problems))
        return 1
    print(
        f"layers: cmp-core links {len(core)} crates, none of them AWS, tokio or Lambda; "
        f"{len(functions)} functions link neither cmp-lab nor cmpctl"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
