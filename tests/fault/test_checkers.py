#!/usr/bin/env python3
"""Hand-made histories for the Python checkers: each property is shown to
hold on a correct history and to fail on a history that breaks it."""
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_converge  # noqa: E402
import check_cto  # noqa: E402
import check_lost  # noqa: E402
import check_nohang  # noqa: E402
import check_ocreat  # noqa: E402
import fault_history  # noqa: E402
import fault_content as content  # noqa: E402
import hist2lin  # noqa: E402
import sabotage  # noqa: E402

MS = 1000000


class History:
    """Builds a history file: op(...) adds an invoke and its outcome."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "h.jsonl")
        self.lines = [{"format": "qfs-fault-history", "version": 1, "nodes": 2,
                       "clients_per_node": 1, "timeout_ns": 1000 * MS, "ns_init": {}}]
        self.next = 1

    def op(self, op, path, t0, t1, status="ok", node=0, path2=None, errno=None,
           result=None, args=None, late=None, after_open=False):
        i = self.next
        self.next += 1
        inv = {"ev": "invoke", "id": i, "node": node, "client": node, "t": t0 * MS,
               "op": op, "path": path}
        if path2:
            inv["path2"] = path2
        if args:
            inv["args"] = args
        self.lines.append(inv)
        if status == "ok":
            self.lines.append({"ev": "ok", "id": i, "t": t1 * MS, "result": result})
        elif status == "fail":
            ev = {"ev": "fail", "id": i, "t": t1 * MS, "errno": errno}
            if after_open:
                ev["after_open"] = True
            self.lines.append(ev)
        elif status == "unknown":
            self.lines.append({"ev": "unknown", "id": i, "t": t1 * MS, "why": "timeout"})
        if late:  # (time, outcome, errno or result): the answer after the bound
            t, outcome, what = late
            ev = {"ev": "late", "id": i, "t": t * MS, "outcome": outcome}
            ev["errno" if outcome == "fail" else "result"] = what
            self.lines.append(ev)
        return i

    def write(self, path, t0, t1, length=8, **kw):
        return self.op("write", path, t0, t1, args={"len": length}, **kw)

    def read(self, path, t0, t1, data=None, **kw):
        if data is None:
            return self.op("read", path, t0, t1, status="fail", errno="ENOENT", **kw)
        return self.op("read", path, t0, t1, result=content.parse(data), **kw)

    def save(self):
        with open(self.path, "w") as f:
            f.writelines(json.dumps(x) + "\n" for x in self.lines)
        return self.path


def quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.h = History(self.tmp)

    def tearDown(self):
        self.tmpdir.cleanup()


class CloseToOpen(Base):
    def cto(self):
        return quiet(check_cto.main, self.h.save())

    def test_read_after_close_sees_it(self):
        w = self.h.write("d0/f0", 0, 10)
        self.h.read("d0/f0", 20, 30, content.write_bytes(w, 8))
        self.assertEqual(self.cto(), 0)

    def test_stale_read_is_a_violation(self):
        w1 = self.h.write("d0/f0", 0, 10)
        self.h.write("d0/f0", 20, 30)
        self.h.read("d0/f0", 40, 50, content.write_bytes(w1, 8))
        self.assertEqual(self.cto(), 1)

    def test_write_not_yet_closed_need_not_be_seen(self):
        w1 = self.h.write("d0/f0", 0, 10)
        self.h.write("d0/f0", 20, 60)
        self.h.read("d0/f0", 40, 50, content.write_bytes(w1, 8))
        self.assertEqual(self.cto(), 0)

    def test_missing_file_is_a_violation_unless_removed(self):
        self.h.write("d0/f0", 0, 10)
        self.h.read("d0/f0", 20, 30)
        self.assertEqual(self.cto(), 1)
        self.h.op("unlink", "d0/f0", 12, 14)
        self.assertEqual(self.cto(), 0)

    def test_read_on_a_dead_node_is_not_judged(self):
        self.h.write("d0/f0", 0, 10)
        self.h.op("read", "d0/f0", 20, 30, status="fail", errno="ENOTMOUNTED")
        self.h.op("read", "d0/f0", 40, 50, status="fail", errno="ENOTCONN")
        self.assertEqual(self.cto(), 0)
        self.h.op("read", "d0/f0", 60, 70, status="fail", errno="EIO")
        self.assertEqual(self.cto(), 1)

    def test_acknowledged_append_must_be_seen(self):
        w = self.h.write("d0/f0", 0, 10)
        a = self.h.op("append", "d0/f0", 12, 14)
        self.h.read("d0/f0", 20, 30, content.write_bytes(w, 8))
        self.assertEqual(self.cto(), 1)
        self.h.read("d0/f0", 20, 30, content.write_bytes(w, 8) + content.append_bytes(a))
        self.h.lines = [x for x in self.h.lines if x.get("id") != 3]
        self.assertEqual(self.cto(), 0)

    def test_append_that_lost_a_conflict_need_not_be_seen(self):
        w = self.h.write("d0/f0", 0, 10)
        self.h.op("append", "d0/f0", 12, 20)
        a2 = self.h.op("append", "d0/f0", 14, 22, node=1)
        self.h.read("d0/f0", 30, 40, content.write_bytes(w, 8) + content.append_bytes(a2))
        self.assertEqual(self.cto(), 0, "the node-0 append may be in a conflict copy")
        for x in self.h.lines:
            if x.get("id") == a2 and x["ev"] == "invoke":
                x["node"] = 0  # the same node: no conflict, both must be seen
        self.assertEqual(self.cto(), 1)

    def test_torn_content_needs_a_concurrent_writer(self):
        w = self.h.write("d0/f0", 0, 10)
        self.h.read("d0/f0", 20, 30, content.write_bytes(w, 8)[:5])
        self.assertEqual(self.cto(), 1)
        self.h.write("d0/f0", 25, 40)
        self.assertEqual(self.cto(), 0)

    def test_torn_appends_need_two_nodes(self):
        # a1 and a2 overlap: on two nodes the later commit's line goes over
        # the other's version, cut where the later writer's file ended; on
        # one node O_APPEND keeps both whole.
        w = self.h.write("d0/f0", 0, 10)
        a1 = self.h.op("append", "d0/f0", 12, 20)
        a2 = self.h.op("append", "d0/f0", 14, 22, node=1)
        torn = content.write_bytes(w, 8) + content.append_bytes(a1)[:2] + content.append_bytes(a2)
        self.h.read("d0/f0", 30, 40, torn)
        self.assertEqual(self.cto(), 0)
        for x in self.h.lines:
            if x.get("id") == a2 and x["ev"] == "invoke":
                x["node"] = 0
        self.assertEqual(self.cto(), 1, "one node's appends never tear")

    def test_write_carried_by_a_concurrent_rename(self):
        # w's open file was renamed to d1/f1 while w wrote it: a later read
        # of d1/f1 may return w's bytes even after d1/f1's own write v.
        w = self.h.write("d0/f0", 0, 20)
        self.h.op("rename", "d0/f0", 5, 10, path2="d1/f1")
        self.h.write("d1/f1", 11, 19)
        self.h.read("d1/f1", 30, 40, content.write_bytes(w, 8))
        self.assertEqual(self.cto(), 0)
        self.h.lines = [x for x in self.h.lines if x.get("id") != 2]
        self.assertEqual(self.cto(), 1, "no rename: w never wrote d1/f1")


class LostWrites(Base):
    def put(self, root, path, data):
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "wb") as f:
            f.write(data)

    def lost(self, *roots):
        return quiet(check_lost.main, self.h.save(), list(roots))

    def test_latest_write_must_be_on_every_node(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        self.h.write("d0/f0", 0, 10)
        w2 = self.h.write("d0/f0", 20, 30)
        self.put(a, "d0/f0", content.write_bytes(w2, 8))
        self.put(b, "d0/f0", content.write_bytes(w2, 8))
        self.assertEqual(self.lost(a, b), 0)
        self.put(b, "d0/f0", content.write_bytes(1, 8))  # b rolled back to w1
        self.assertEqual(self.lost(a, b), 1)
        os.unlink(os.path.join(b, "d0/f0"))
        self.assertEqual(self.lost(a, b), 1)

    def test_concurrent_unknown_unlink_excuses_it(self):
        a = os.path.join(self.tmp, "a")
        os.makedirs(os.path.join(a, "d0"))
        self.h.write("d0/f0", 0, 10)
        self.h.op("unlink", "d0/f0", 5, 2000, status="unknown")
        self.assertEqual(self.lost(a), 0)

    def test_failed_lookup_does_not_excuse_it(self):
        a = os.path.join(self.tmp, "a")
        os.makedirs(os.path.join(a, "d0"))
        self.h.write("d0/f0", 0, 10)
        self.h.op("unlink", "d0/f0", 5, 20, status="fail", errno="ENOENT")
        self.assertEqual(self.lost(a), 1)

    def test_acknowledged_append_must_survive(self):
        a = os.path.join(self.tmp, "a")
        w = self.h.write("d0/f0", 0, 10)
        ap = self.h.op("append", "d0/f0", 20, 30)
        self.put(a, "d0/f0", content.write_bytes(w, 8))
        self.assertEqual(self.lost(a), 1)
        self.put(a, "d0/f0", content.write_bytes(w, 8) + content.append_bytes(ap))
        self.assertEqual(self.lost(a), 0)

    def test_sabotage_loses_an_append_when_no_write_is_required(self):
        # The self-test's "lossy" stand-in once ended with only appends still
        # required; the sabotage lost nothing and the checker rightly passed.
        a = os.path.join(self.tmp, "a")
        w = self.h.write("d0/f0", 0, 10)
        self.h.write("d0/f0", 5, 40)  # concurrent: neither write is required
        ap = self.h.op("append", "d0/f0", 50, 60)
        self.put(a, "d0/f0", content.write_bytes(w, 8) + content.append_bytes(ap))
        self.assertEqual(self.lost(a), 0)
        self.assertEqual(quiet(sabotage.lose, self.h.save(), a, 3), 0)
        self.assertEqual(self.lost(a), 1)


class EffectEnds(Base):
    """When a failed op's effect may have happened at the latest (end())."""

    def ends(self):
        _, ops = fault_history.load(self.h.save())
        return [o.end() for o in ops]

    def test_settled_failures_end_at_their_answer(self):
        self.h.op("mkdir", "s0", 0, 10, status="fail", errno="ENOSPC")  # not proposed, or decided
        self.h.write("d0/f0", 20, 30, status="fail", errno="ENOSPC")  # at its open
        self.assertEqual(self.ends(), [10 * MS, 30 * MS])

    def test_unsettled_failures_may_take_effect_later(self):
        self.h.op("mkdir", "s0", 0, 10, status="fail", errno="ETIMEDOUT")  # proposed, not seen
        self.h.write("d0/f0", 20, 30, status="fail", errno="EIO", after_open=True)
        self.h.write("d0/f1", 40, 50, status="unknown")
        # emptied by its O_TRUNC open: that state lasts until replaced
        self.h.write("d0/f2", 60, 70, status="fail", errno="ENOSPC", after_open=True)
        self.h.write("d0/f3", 80, 90, status="fail", errno="ENOENT", after_open=True)
        self.assertEqual(self.ends(), [float("inf")] * 5)

    def test_read_of_a_file_emptied_by_a_failed_write_is_no_violation(self):
        # CI's short disk-full run: a write failed ENOSPC after its O_TRUNC
        # open; later reads found the file empty.
        self.h.write("d0/f0", 0, 10)
        self.h.write("d0/f0", 20, 30, status="fail", errno="ENOSPC", after_open=True)
        self.h.read("d0/f0", 40, 50, data=b"")
        self.assertEqual(quiet(check_cto.main, self.h.save()), 0)


class Convergence(Base):
    def test_trees_compared_by_mode_and_content(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        for r in (a, b):
            os.makedirs(os.path.join(r, "d"))
            with open(os.path.join(r, "d", "f"), "w") as f:
                f.write("same")
        sys.argv = ["check_converge.py", a, b]
        self.assertEqual(quiet(check_converge.main), 0)
        os.chmod(os.path.join(b, "d", "f"), 0o600)
        self.assertEqual(quiet(check_converge.main), 1)
        os.chmod(os.path.join(b, "d", "f"), os.stat(os.path.join(a, "d", "f")).st_mode)
        with open(os.path.join(b, "d", "f"), "w") as f:
            f.write("diff")
        self.assertEqual(quiet(check_converge.main), 1)

    def test_xattrs_compared(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        for r in (a, b):
            os.makedirs(r)
        try:
            os.setxattr(a, "user.k", b"1")
        except OSError:
            self.skipTest("no user xattrs here")
        sys.argv = ["check_converge.py", a, b]
        self.assertEqual(quiet(check_converge.main), 1)
        os.setxattr(b, "user.k", b"1")
        self.assertEqual(quiet(check_converge.main), 0)


class NoHang(Base):
    def test_unknown_op_is_a_hang_unless_node_was_frozen(self):
        self.h.op("lookup", "ns/n0", 0, 10, result="file")
        self.h.op("lookup", "ns/n0", 100, 1200, status="unknown", node=1)
        path = self.h.save()
        self.assertEqual(quiet(check_nohang.main, path, None), 1)
        ex = os.path.join(self.tmp, "exempt")
        with open(ex, "w") as f:
            f.write(f"1 {50 * MS} {2000 * MS}\n")
        self.assertEqual(quiet(check_nohang.main, path, ex), 0)
        with open(ex, "w") as f:
            f.write(f"0 {50 * MS} {2000 * MS}\n")  # another node was frozen
        self.assertEqual(quiet(check_nohang.main, path, ex), 1)


class OCreat(Base):
    def test_open_enoent_fails_later_enoent_does_not(self):
        self.h.write("d0/f0", 0, 10, status="fail", errno="ESTALE")
        i = self.h.write("d0/f1", 20, 30, status="fail", errno="ENOENT")
        next(x for x in self.h.lines if x.get("id") == i and x["ev"] == "fail")["after_open"] = True
        self.assertEqual(quiet(check_ocreat.main, self.h.save()), 0)
        self.h.write("d0/f2", 40, 50, status="fail", errno="ENOENT")
        self.assertEqual(quiet(check_ocreat.main, self.h.save()), 1)


class Hist2Lin(Base):
    def test_outcomes_mapped(self):
        self.h.op("create", "ns/n0", 0, 10)
        self.h.op("mkdir", "ns/n1", 0, 10, status="fail", errno="EROFS")
        self.h.op("rename", "ns/n0", 20, 30, path2="ns/n2", status="fail", errno="ENOTCONN")
        self.h.op("lookup", "ns/n2", 40, 2000, status="unknown")
        self.h.op("lookup", "ns/n0", 40, 50, status="fail", errno="ENOENT")
        self.h.op("write", "d0/f0", 0, 10, args={"len": 1})
        out = os.path.join(self.tmp, "lin.txt")
        quiet(hist2lin.main, self.h.save(), out)
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines, ["# lincheck-history v1",
                                 f"1 0 {10 * MS} create n0 - ok",
                                 f"3 {20 * MS} - rename n0 n2 ?",
                                 f"5 {40 * MS} {50 * MS} lookup n0 - ENOENT"])
        lincheck = os.path.join(os.environ.get("QFS_FAULT_BUILD", ""), "lincheck")
        if os.access(lincheck, os.X_OK):  # the rename may have happened: n0 gone is fine
            self.assertEqual(subprocess.run([lincheck, out], capture_output=True).returncode, 0)


class CutOff(Base):
    """Reads of a node cut off from the leader are not judged, only while
    its window lasts."""

    def window(self, node, t0, t1):
        path = os.path.join(self.tmp, "cutoff")
        with open(path, "w") as f:
            f.write(f"{node} {t0 * MS} {t1 * MS}\n")
        return path

    def test_stale_read_exempt_only_inside_the_window(self):
        w1 = self.h.write("d0/f0", 0, 10)
        self.h.write("d0/f0", 20, 30)
        self.h.read("d0/f0", 40, 50, content.write_bytes(w1, 8), node=1)
        path = self.h.save()
        self.assertEqual(quiet(check_cto.main, path, self.window(1, 15, 45)), 0)
        self.assertEqual(quiet(check_cto.main, path, self.window(0, 15, 45)), 1)
        self.assertEqual(quiet(check_cto.main, path, self.window(1, 60, 70)), 1)

    def test_lin_drops_lookups_and_derived_failures_not_mutations(self):
        self.h.op("mkdir", "ns/n0", 0, 10)
        self.h.op("lookup", "ns/n0", 20, 30, result="file", node=1)
        self.h.op("rmdir", "ns/n0", 31, 32, status="fail", errno="ENOTDIR", node=1)
        self.h.op("create", "ns/n1", 33, 40, node=1)
        out = os.path.join(self.tmp, "lin.txt")
        quiet(hist2lin.main, self.h.save(), out, None, self.window(1, 15, 35))
        with open(out) as f:
            ids = [x.split()[0] for x in f.read().splitlines()[1:]]
        self.assertEqual(ids, ["1", "4"])

    def test_lin_rename_on_cut_off_node_is_unknown(self):
        """Node 0 renamed n4 to n3; node 1, catching up, found the one inode
        under both names and its kernel answered its own rename n4 n3."""
        self.h.op("create", "ns/n4", 0, 10)
        self.h.op("rename", "ns/n4", 20, 30, path2="ns/n3")
        self.h.op("rename", "ns/n4", 40, 50, path2="ns/n3", node=1)
        path = self.h.save()
        out = os.path.join(self.tmp, "lin.txt")
        lincheck = os.path.join(os.environ.get("QFS_FAULT_BUILD", ""), "lincheck")
        for (t0, t1), last, verdict in (((35, 45), "?", 0), ((60, 70), "ok", 1)):
            quiet(hist2lin.main, path, out, None, self.window(1, t0, t1))
            with open(out) as f:
                self.assertEqual(f.read().splitlines()[-1].split()[-1], last)
            if os.access(lincheck, os.X_OK):
                self.assertEqual(subprocess.run([lincheck, out], capture_output=True).returncode,
                                 verdict)


class TwinRenames(Base):
    def test_overlapping_identical_renames_become_unknown(self):
        self.h.op("mkdir", "ns/n4", 0, 10)
        self.h.op("rename", "ns/n4", 20, 50, path2="ns/n5")
        self.h.op("rename", "ns/n4", 22, 40, path2="ns/n5", node=1)
        self.h.op("rename", "ns/n4", 60, 70, path2="ns/n5")  # alone: kept
        out = os.path.join(self.tmp, "lin.txt")
        quiet(hist2lin.main, self.h.save(), out)
        with open(out) as f:
            lines = f.read().splitlines()[1:]
        self.assertEqual([x.split()[-1] for x in lines], ["ok", "?", "?", "ok"])


class RenameTypeErrors(Base):
    def test_rename_type_error_is_two_lookups(self):
        """The long leader-isolated run: on node 1, rename n4 n5 -> ENOTDIR
        while node 0 renamed the directory n4 away and then created the
        file n5; no single moment had both, but the kernel's lookup of n4
        came before the rename and its lookup of n5 after the create."""
        self.h.op("mkdir", "ns/n4", 0, 10)
        self.h.op("rename", "ns/n4", 20, 200, path2="ns/n5", status="fail", errno="ENOTDIR",
                  node=1)
        self.h.op("rename", "ns/n4", 30, 40, path2="ns/n0")
        self.h.op("create", "ns/n5", 50, 60)
        self.h.op("rename", "ns/n5", 210, 220, path2="ns/n0", status="fail", errno="EISDIR")
        out = os.path.join(self.tmp, "lin.txt")
        quiet(hist2lin.main, self.h.save(), out)
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[2:4], [f"2s {20 * MS} {200 * MS} lookup n4 - dir",
                                      f"2t {20 * MS} {200 * MS} lookup n5 - file"])
        self.assertEqual([x.split()[-1] for x in lines[6:]], ["file", "dir"])
        lincheck = os.path.join(os.environ.get("QFS_FAULT_BUILD", ""), "lincheck")
        if not os.access(lincheck, os.X_OK):
            return
        self.assertEqual(subprocess.run([lincheck, out], capture_output=True).returncode, 0)
        atomic = lines[:2] + [f"2 {20 * MS} {200 * MS} rename n4 n5 ENOTDIR"] + lines[4:]
        with open(out, "w") as f:
            f.write("\n".join(atomic) + "\n")
        self.assertEqual(subprocess.run([lincheck, out], capture_output=True).returncode, 1)

    def test_rename_onto_itself_type_error_is_two_lookups(self):
        """The long minority-isolated run: rename n4 n4 -> ENOTDIR on node
        2 while node 0 renamed the directory n4 away and created a file n4:
        the kernel's two lookups of n4 saw the directory and then the file."""
        self.h.op("mkdir", "ns/n4", 0, 10)
        self.h.op("rename", "ns/n4", 20, 200, path2="ns/n4", status="fail", errno="ENOTDIR",
                  node=2)
        self.h.op("rename", "ns/n4", 30, 40, path2="ns/n0")
        self.h.op("create", "ns/n4", 50, 60)
        out = os.path.join(self.tmp, "lin.txt")
        quiet(hist2lin.main, self.h.save(), out)
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertEqual([x.split()[-1] for x in lines[2:4]], ["dir", "file"])
        lincheck = os.path.join(os.environ.get("QFS_FAULT_BUILD", ""), "lincheck")
        if os.access(lincheck, os.X_OK):
            self.assertEqual(subprocess.run([lincheck, out], capture_output=True).returncode, 0)


class FrozenNode(Base):
    """Ops invoked on a stopped daemon, answered after it woke: judged by
    their late answers, from the thaw on."""

    def lin(self, frozen=None):
        out = os.path.join(self.tmp, "lin.txt")
        path = None
        if frozen:
            path = os.path.join(self.tmp, "frozen")
            with open(path, "w") as f:
                f.write(" ".join(str(x) for x in frozen) + "\n")
        quiet(hist2lin.main, self.h.save(), out, None, None, path)
        with open(out) as f:
            return f.read().splitlines()[1:]

    def test_late_answer_and_start_at_thaw(self):
        # node 1 stopped from 100 to 5000 ms; its create, invoked at 200,
        # was declared unknown at 1200 and answered at 5010
        self.h.op("create", "ns/n0", 200, 1200, status="unknown", node=1,
                  late=(5010, "ok", None))
        self.h.op("lookup", "ns/n1", 300, 1300, status="unknown", node=1,
                  late=(5020, "fail", "ENOENT"))
        self.assertEqual(self.lin(), [f"1 {200 * MS} {5010 * MS} create n0 - ok",
                                      f"2 {300 * MS} {5020 * MS} lookup n1 - ENOENT"])
        self.assertEqual(self.lin((1, 100 * MS, 5000 * MS)),
                         [f"1 {5000 * MS} {5010 * MS} create n0 - ok",
                          f"2 {5000 * MS} {5020 * MS} lookup n1 - ENOENT"])

    def test_frozen_window_is_per_node_and_bounded(self):
        self.h.op("create", "ns/n0", 50, 60, node=1)     # before the freeze
        self.h.op("create", "ns/n1", 200, 210, node=0)   # another node
        self.h.op("create", "ns/n2", 6000, 6010, node=1)  # after the thaw
        starts = [x.split()[1] for x in self.lin((1, 100 * MS, 5000 * MS))]
        self.assertEqual(starts, [str(50 * MS), str(200 * MS), str(6000 * MS)])

    def test_unfrozen_create_seen_before_thaw_is_caught(self):
        """The start at the thaw can fail: another node saw n0 before it."""
        self.h.op("create", "ns/n0", 200, 1200, status="unknown", node=1,
                  late=(5010, "ok", None))
        self.h.op("lookup", "ns/n0", 3000, 3010, result="file")
        lines = self.lin((1, 100 * MS, 5000 * MS))
        lincheck = os.path.join(os.environ.get("QFS_FAULT_BUILD", ""), "lincheck")
        if os.access(lincheck, os.X_OK):
            out = os.path.join(self.tmp, "lin.txt")
            self.assertEqual(subprocess.run([lincheck, out], capture_output=True).returncode, 1)
            self.lin()  # without the window the create may have come first
            self.assertEqual(subprocess.run([lincheck, out], capture_output=True).returncode, 0)
        self.assertEqual(len(lines), 2)


class DeadMount(Base):
    def lin_lines(self, starts):
        out = os.path.join(self.tmp, "lin.txt")
        quiet(hist2lin.main, self.h.save(), out, starts)
        with open(out) as f:
            return [x.split()[0] for x in f.read().splitlines()[1:]]

    def test_enotconn_after_a_dead_mount_is_dropped_until_a_restart(self):
        self.h.op("create", "ns/n0", 0, 10, status="fail", errno="ENOTCONN")
        self.h.op("create", "ns/n1", 20, 21, status="fail", errno="ENOTCONN")
        self.h.op("create", "ns/n2", 30, 31, status="fail", errno="ENOTCONN", node=1)
        starts = os.path.join(self.tmp, "starts")
        with open(starts, "w") as f:
            f.write("")
        self.assertEqual(self.lin_lines(None), ["1", "2", "3"])  # no start list: all unknown
        self.assertEqual(self.lin_lines(starts), ["1", "3"])
        with open(starts, "w") as f:
            f.write(f"0 {15 * MS}\n")  # node 0 restarted before op 2
        self.assertEqual(self.lin_lines(starts), ["1", "2", "3"])


if __name__ == "__main__":
    unittest.main(verbosity=1)
