#!/usr/bin/env python3
"""Prints, as JSON, the CBV 2.0 event hashes and pre-hash strings that GS1's
reference implementation (PyPI `epcis-event-hash-generator`) computes for the
events of an EPCIS 2.0 JSON-LD file. The Rust tests compare ours with these."""
import json
import sys

from epcis_event_hash_generator.events_from_file_reader import event_list_from_file
from epcis_event_hash_generator.hash_generator import (
    calculate_hashes_from_pre_hashes,
    derive_prehashes_from_events,
)

events = event_list_from_file(sys.argv[1])
pre = derive_prehashes_from_events(events)
if len(pre) != len(events[2]):
    sys.exit(f"the reference skipped {len(events[2]) - len(pre)} events of {sys.argv[1]}")
print(json.dumps({"prehashes": pre, "hashes": calculate_hashes_from_pre_hashes(pre)}))
