"""The result table. A row is a dict: label, unit, q (quorumfs figure or
None), a (anchor figure or None), anchor (its name), better ('lower',
'higher' or None: no ratio), target (text), ok (True/False/None = not judged).

The ratio column always reads "how many times better quorumfs is than the
anchor": anchor/quorumfs for times and bytes, quorumfs/anchor for rates.
"""


def fmt(v):
    if v is None:
        return "-"
    if v != v:  # NaN
        return "nan"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 0.1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def ratio(r):
    q, a = r["q"], r["a"]
    if q is None or a is None or q != q or a != a or r["better"] is None:
        return None
    if r["better"] == "lower":
        return a / q if q > 0 else float("inf")
    return q / a if a > 0 else float("inf")


COLS = ("benchmark", "unit", "quorumfs", "anchor", "value", "ratio", "target", "verdict")


def render(rows):
    cells = [COLS]
    for r in rows:
        x = ratio(r)
        verdict = {True: "ok", False: "MISS", None: ""}[r["ok"]]
        cells.append((r["label"], r["unit"], fmt(r["q"]), r["anchor"], fmt(r["a"]),
                      "-" if x is None else ("inf" if x == float("inf") else fmt(x) + "x"), r["target"], verdict))
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLS))]
    right = {2, 4, 5}
    lines = []
    for c in cells:
        lines.append("  ".join(s.rjust(w) if i in right else s.ljust(w)
                               for i, (s, w) in enumerate(zip(c, widths))).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
