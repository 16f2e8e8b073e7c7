#!/usr/bin/env python3
"""leader.py ID... < status.json - prints the index (0 for the first) of the
given node ID that `qfs status --json` names leader; exit 1 when it names none.
Tolerant of the schema's shape (issue 6): a "leader"/"leader_id" string, a
member object, or an index into a list of members that carry "id"."""
import json
import sys


def members(d):
    for k in ("members", "peers", "nodes"):
        if isinstance(d.get(k), list):
            return d[k]
    for v in d.values():
        if isinstance(v, dict):
            m = members(v)
            if m:
                return m
    return None


def leader_value(d):
    for k in ("leader_id", "leader", "leader_index"):
        if k in d and d[k] not in (None, -1, ""):
            return d[k]
    for v in d.values():
        if isinstance(v, dict):
            r = leader_value(v)
            if r is not None:
                return r
    return None


def main():
    ids = sys.argv[1:]
    d = json.load(sys.stdin)
    v = leader_value(d)
    if isinstance(v, dict):
        v = v.get("id")
    if isinstance(v, int) and not isinstance(v, bool):
        m = members(d)
        if not m or v < 0 or v >= len(m):
            sys.exit(1)
        v = m[v].get("id") if isinstance(m[v], dict) else m[v]
    if isinstance(v, dict):
        v = v.get("id")
    if not isinstance(v, str) or not v:
        m = members(d) or []
        for x in m:  # a member flagged as leader
            if isinstance(x, dict) and (x.get("leader") is True or x.get("role") == "leader"):
                v = x.get("id")
    for i, nid in enumerate(ids):
        if isinstance(v, str) and v and (nid.startswith(v) or v.startswith(nid)):
            print(i)
            return
    sys.exit(1)


main()
