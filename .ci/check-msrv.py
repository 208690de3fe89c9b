#!/usr/bin/env python3
"""Keeps Cargo.toml's rust-version true: no locked dependency the binary builds with
(normal and build dependencies, all platforms) may declare a newer rust-version. Clippy's
incompatible_msrv lint checks our own code against the same number."""
import json
import subprocess
import sys


def version(text):
    """"1.89" and "1.89.0" are the same version."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True, capture_output=True, text=True).stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    ours = packages[root].get("rust_version")
    if not ours:
        sys.exit("Cargo.toml has no rust-version")
    # Walk what building the package needs: normal and build edges, never dev ones.
    seen, todo = set(), [root]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds & {None, "build"} and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    newer = sorted(
        (packages[p]["rust_version"], packages[p]["name"], packages[p]["version"])
        for p in seen
        if packages[p].get("rust_version")
        and version(packages[p]["rust_version"]) > version(ours))
    for need, name, ver in newer:
        print(f"{name} {ver} needs Rust {need}, newer than rust-version {ours}")
    if newer:
        sys.exit(1)
    top = max((version(packages[p]["rust_version"]), packages[p]["name"])
              for p in seen if packages[p].get("rust_version"))
    print(f"rust-version {ours}: every dependency builds with it (highest: {top[1]})")


if __name__ == "__main__":
    main()
