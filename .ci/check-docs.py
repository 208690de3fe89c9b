#!/usr/bin/env python3
"""Docs that stay true: fails when a Markdown file links to a file or heading that does not
exist, when ARCHITECTURE.md's code map names a path that does not exist, or when any
tracked text file names a Markdown file (`docs/x.md`, `README.md#section`) that is gone.
Run from anywhere; checks the git checkout this script lives in. Python stdlib only."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Code from elsewhere keeps its own docs as published.
FOREIGN = ("vendor/", "fixtures/kernel-4/")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REF_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)
MD_MENTION = re.compile(r"(?<![\w./-])((?:\.\./|[\w.-]+/)*[\w.-]+\.md)(#[\w-]+)?")


def tracked():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [p for p in out.splitlines() if os.path.isfile(os.path.join(ROOT, p))]


def prose(text):
    """Markdown without fenced code blocks and inline code, where links are not links."""
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    heading = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"^(```|~~~).*?^\1", "", f.read(), flags=re.M | re.S)
        seen, found = {}, set()
        for h in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, flags=re.M):
            s = slug(h)
            n = seen.get(s, 0)
            seen[s] = n + 1
            found.add(s if n == 0 else f"{s}-{n}")
        cache[path] = found
    return cache[path]


def check_target(source, target, problems, base=None):
    """A relative link or path in `source` (repo-relative) exists, with its #anchor;
    relative to `base` (repo-relative) if given, else to the source's folder."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
        return  # http:, https:, mailto: …
    path, _, anchor = target.partition("#")
    folder = os.path.join(ROOT, base if base is not None else os.path.dirname(source))
    full = os.path.normpath(os.path.join(folder, path)) if path else os.path.join(ROOT, source)
    outside = os.path.relpath(full, ROOT).startswith("..")
    if not os.path.exists(full):
        # Files beside the repository (the workplace's ../shared/) are not in a clone;
        # checked where they are present, not required where they are not.
        if not outside:
            problems.append(f"{source}: {target}: no such file")
    elif anchor and full.endswith(".md") and anchor.lower() not in anchors(full):
        problems.append(f"{source}: {target}: no heading #{anchor}")


def check_links(files, problems):
    for md in (f for f in files if f.endswith(".md") and not f.startswith(FOREIGN)):
        with open(os.path.join(ROOT, md), encoding="utf-8") as f:
            text = prose(f.read())
        for target in LINK.findall(text) + REF_DEF.findall(text):
            check_target(md, target.strip("<>"), problems)


def check_code_map(problems):
    """Every path in the code map's first column, and every repo path (`dir/file`) its
    second column names, exists."""
    with open(os.path.join(ROOT, "ARCHITECTURE.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Code map", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| `")]
    if not rows:
        problems.append("ARCHITECTURE.md: no code map rows found")
    top = set(os.listdir(ROOT))
    for row in rows:
        cells = row.split("|")
        for path in re.findall(r"`([^`]+)`", cells[1]):
            if not os.path.exists(os.path.join(ROOT, path)):
                problems.append(f"ARCHITECTURE.md code map: {path}: no such path")
        for path in re.findall(r"`([^`\s]+/[^`\s]*)`", "|".join(cells[2:])):
            if path.split("/")[0] in top and not os.path.exists(os.path.join(ROOT, path)):
                problems.append(f"ARCHITECTURE.md code map: {path}: no such path")


def check_mentions(files, problems):
    """Names of Markdown files (with their #anchor) in any of our text files, relative to
    the repository root or to the file naming them; a bare name such as `PATCHED.md`
    (no folder, no anchor) needs only to be some file's name."""
    basenames = {os.path.basename(f) for f in files}
    for name in files:
        if name.startswith(FOREIGN) or name == ".ci/check-docs.py":
            continue  # this file's own examples are no references
        try:
            with open(os.path.join(ROOT, name), encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            continue
        for path, anchor in MD_MENTION.findall(text):
            if "/" not in path and not anchor and path in basenames:
                continue
            here = os.path.dirname(name)
            if not os.path.exists(os.path.join(ROOT, here, path)):
                here = ""
            check_target(name, path + anchor, problems, base=here)


def main():
    files = tracked()
    problems = []
    check_links(files, problems)
    check_code_map(problems)
    check_mentions(files, problems)
    for p in sorted(set(problems)):
        print(p)
    if problems:
        sys.exit(f"{len(set(problems))} stale references in the docs")
    print("docs: every relative link, code-map path and named Markdown file exists")


if __name__ == "__main__":
    main()
