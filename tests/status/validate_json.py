#!/usr/bin/env python3
"""validate_json.py SCHEMA MANIFEST: checks every JSON document a status test
saved. Each MANIFEST line is tab-separated: FILE, COMMAND, and optionally a
Python expression on the document d and the value its str() must equal.
Every document must match docs/qfs-status.schema.json and name COMMAND.
One process for all documents: Python's start-up dominates otherwise.
Exit 1 with every failure listed."""
import json
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("validate_json: python3 module jsonschema missing (Debian: python3-jsonschema)")

schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
failures = []
count = 0
for line in open(sys.argv[2]):
    fields = line.rstrip("\n").split("\t")
    path, command = fields[0], fields[1]
    try:
        d = json.load(open(path))
    except ValueError as e:
        failures.append("%s: not JSON: %s" % (path, e))
        continue
    count += 1
    for e in validator.iter_errors(d):
        failures.append("%s (%s): %s at /%s" % (path, command, e.message,
                                                "/".join(map(str, e.absolute_path))))
    if d.get("command") != command:
        failures.append("%s: command %r, not %r" % (path, d.get("command"), command))
    if len(fields) == 4:
        got = str(eval(fields[2], {}, {"d": d}))
        if got != fields[3]:
            failures.append("%s: %s is %r, not %r" % (path, fields[2], got, fields[3]))
for f in failures:
    print("FAIL:", f)
print("%d JSON documents checked against the schema, %d failures" % (count, len(failures)))
sys.exit(1 if failures else 0)
