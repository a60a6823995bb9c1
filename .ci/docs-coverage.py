#!/usr/bin/env python3
"""Fails unless every public symbol declared in a module's sources has a DocC abstract.

Usage: .ci/docs-coverage.py MODULE DOCS_OUTPUT_PATH

Reads what the docs build already wrote: DocC's documentation-coverage.json (from
`generate-documentation --experimental-documentation-coverage`) and the symbol graph the plugin
extracted for it. DocC's coverage also counts symbols no source line declares, which cannot carry a
`///` comment: synthesized ones (`!=`, `hashValue`, `init(rawValue:)`) and protocol default
implementations (`Sequence.map`, `SetAlgebra.union`, `Comparable.>`). The symbol graph tells them
apart: a symbol we can document has a location in Sources/MODULE/. A symbol DocC reports without
an abstract is a failure unless, among the symbols of that name, enough have no such location.
"""
import collections
import glob
import json
import os
import re
import sys


def key(components):
    # DocC's paths spell `<` and `>` as `_` and add `-swift.struct`, `-4jse9`... to tell symbols apart.
    return tuple(re.sub(r"[<>]", "_", c) for c in components)


def docc_components(reference_path):
    components = reference_path.split("/documentation/", 1)[1].split("/")[1:]
    return [re.sub(r"-(swift\.[a-z.]+|[0-9a-z]{4,6})$", "", c) for c in components]


def main():
    module, output = sys.argv[1], sys.argv[2]
    with open(os.path.join(output, "documentation-coverage.json")) as f:
        coverage = [entry for entry in json.load(f) if entry.get("kind", {}).get("isSymbol")]

    directories = glob.glob(os.path.join(".build", "*", "extracted-symbols", "*", module))
    if not directories:
        sys.exit(f"{module}: no symbol graph under .build/*/extracted-symbols/*/{module}")
    directory = max(directories, key=os.path.getmtime)
    ours, others = collections.Counter(), collections.Counter()
    documentable = 0
    for path in glob.glob(os.path.join(directory, "*.symbols.json")):
        with open(path) as f:
            for symbol in json.load(f)["symbols"]:
                uri = symbol.get("location", {}).get("uri", "")
                if f"/Sources/{module}/" in uri:
                    ours[key(symbol["pathComponents"])] += 1
                    documentable += 1
                else:
                    others[key(symbol["pathComponents"])] += 1

    undocumented = collections.defaultdict(list)
    for entry in coverage:
        if entry["kind"]["name"] == "Module" or entry["hasAbstract"]:
            continue
        components = docc_components(entry["referencePath"])
        # An extension of another module's type has that module's name first.
        if key(components) not in ours and key(components) not in others:
            components = components[1:]
        undocumented[key(components)].append(entry["referencePath"])

    missing, candidates, exempt = 0, [], 0
    for name, paths in undocumented.items():
        allowed = others[name]
        exempt += min(allowed, len(paths))
        if len(paths) > allowed:
            # Overloads share a name: all of them are listed, though only the excess lacks a comment.
            missing += len(paths) - allowed
            candidates += sorted(paths)

    documented = documentable - missing
    percent = 100.0 * documented / documentable if documentable else 100.0
    print(f"{module}: {documented}/{documentable} documentable symbols have an abstract ({percent:.1f}%); "
          f"{exempt} synthesized or inherited symbols without a declaration of ours not counted")
    if missing:
        print(f"{module}: {missing} without an abstract (a `///` summary line) among:")
        for path in candidates:
            print("  " + path.split("/documentation/", 1)[1])
        sys.exit(1)


main()
