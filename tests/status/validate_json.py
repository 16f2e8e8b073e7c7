#!/usr/bin/env python3
"""validate_json.py SCHEMA [COMMAND]: validates the JSON document on stdin
against docs/qfs-status.schema.json (and, if given, that its "command" is
COMMAND). Prints the document's verdict-ish fields on success; exit 1 with the
validation error otherwise."""
import json
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("validate_json: python3 module jsonschema missing (Debian: python3-jsonschema)")

schema = json.load(open(sys.argv[1]))
doc = json.load(sys.stdin)
jsonschema.Draft7Validator.check_schema(schema)
try:
    jsonschema.Draft7Validator(schema).validate(doc)
except jsonschema.ValidationError as e:
    sys.exit("validate_json: %s at %s" % (e.message, "/".join(map(str, e.absolute_path))))
if len(sys.argv) > 2 and doc.get("command") != sys.argv[2]:
    sys.exit("validate_json: command is %r, not %r" % (doc.get("command"), sys.argv[2]))
print(json.dumps({k: doc[k] for k in ("command", "verdict", "exit_code", "in_sync") if k in doc}))
