#!/usr/bin/env python3
"""Checks that the eventIDs of EPCIS query documents (files written by
the epcis-query benchmark, or any GET /epcis/events answer) equal the hashes
GS1's reference implementation computes for the same events (through
scripts/epcis-reference-hashes.py). Exits 1 on any difference."""
import json, subprocess, sys, tempfile
ok = True
for f in sys.argv[1:]:
    doc = json.load(open(f))
    events = doc['epcisBody']['queryResults']['resultsBody']['eventList']
    ids = [e['eventID'] for e in events]
    # GS1's tool reads EPCIS documents, not query documents: the same events, rewrapped.
    wrapped = {"@context": doc.get("@context"), "type": "EPCISDocument", "schemaVersion": "2.0",
               "creationDate": doc.get("creationDate"), "epcisBody": {"eventList": events}}
    with tempfile.NamedTemporaryFile('w', suffix='.jsonld', delete=False) as t:
        json.dump(wrapped, t)
    out = subprocess.run(['python3', 'scripts/epcis-reference-hashes.py', t.name], capture_output=True, text=True)
    if out.returncode != 0:
        print(f, 'reference tool failed:', out.stderr[-300:]); ok = False; continue
    ref = json.loads(out.stdout)['hashes']
    same = ids == ref
    print(f"{f}: {len(ids)} events, eventIDs equal GS1 reference hashes in order: {same}")
    ok = ok and same and len(ids) > 0
sys.exit(0 if ok else 1)
