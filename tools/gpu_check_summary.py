#!/usr/bin/env python3
"""gpu_check_summary.py OUT BUDGET ELAPSED COMMIT — tools/gpu-check.sh's last step.

Reads OUT/steps.tsv (name, status, seconds, note), OUT/devices.json (`vkbridge info`) and each
bench step's JSON (OUT/bench-*.out), and writes OUT/summary.json (everything, machine-readable)
and OUT/summary.md (the tables a person reads, ready to paste into docs/PERF.md).
Standard library only.
"""
import json
import os
import re
import sys


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ctest_counts(path):
    """'100% tests passed, 0 tests failed out of 8' -> (passed, total)."""
    try:
        text = open(path).read()
    except OSError:
        return None
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", text)
    if not m:
        return None
    failed, total = int(m.group(2)), int(m.group(3))
    return {"passed": total - failed, "failed": failed, "total": total,
            "failed_tests": re.findall(r"^\s*\d+ - (\S+) \(", text, re.M)}


def main():
    out, budget, elapsed, commit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    steps = []
    with open(os.path.join(out, "steps.tsv")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                steps.append({"step": parts[0], "status": parts[1], "seconds": int(parts[2]),
                              "note": parts[3] if len(parts) > 3 else ""})
    info = load_json(os.path.join(out, "devices.json")) or {}
    summary = {"commit": commit, "budget_s": budget, "elapsed_s": elapsed,
               "host": os.uname().nodename, "cpu": cpu_model(),
               "vulkan_loader": info.get("vulkan_loader"), "devices": info.get("devices", []),
               "steps": steps, "tests": {}, "bench": {}}
    for s in steps:
        name = s["step"]
        if name.startswith("tests-"):
            summary["tests"][name] = ctest_counts(os.path.join(out, name + ".out"))
        elif name.startswith("bench-") or name.startswith("llama-"):
            summary["bench"][name] = load_json(os.path.join(out, name + ".out"))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(markdown(summary))


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + " x%d" % os.cpu_count()
    except OSError:
        pass
    return "unknown"


def markdown(s):
    lines = ["# gpu-check at %s: %ds of %ds" % (s["commit"], s["elapsed_s"], s["budget_s"]), "",
             "Host CPU: %s; Vulkan loader %s." % (s["cpu"], s["vulkan_loader"]), ""]
    lines += ["| device | type | driver | API | subgroup (min-max) | shared | invocations |",
              "|---|---|---|---|---|---|---|"]
    for d in s["devices"]:
        lines.append("| %d %s | %s | %s %s | %s | %s (%s-%s) | %s | %s |" % (
            d["index"], d["name"], d["type"], d.get("driver_name", ""), d.get("driver_info", ""),
            d["api_version"], d["subgroup_size"], d.get("min_subgroup_size", "?"),
            d.get("max_subgroup_size", "?"), d["max_shared_memory"],
            d.get("max_invocations", "?")))
    lines += ["", "| step | status | s | note |", "|---|---|---|---|"]
    for st in s["steps"]:
        lines.append("| %s | %s | %d | %s |" % (st["step"], st["status"], st["seconds"],
                                                st["note"].replace("|", "/")))
    for name, t in s["tests"].items():
        if t:
            lines.append("")
            lines.append("%s: %d/%d ctest entries passed%s" % (
                name, t["passed"], t["total"],
                (", failed: " + ", ".join(t["failed_tests"])) if t["failed_tests"] else ""))
    rows = []
    for name, b in s["bench"].items():
        if not b:
            continue
        for r in b.get("results", []):
            if name.startswith("bench-ops"):
                if r["op"] == "matmul":
                    cell = "matmul %sx%sx%s %s" % (r["M"], r["N"], r["K"], r["weights"])
                elif r["op"] == "attention":
                    cell = "attention B=%s H=%s L=%s d=%s" % (r["B"], r["H"], r["L"], r["d"])
                else:
                    cell = "%s %sx%s" % (r["op"], r.get("rows", ""), r.get("cols", ""))
                rate = ("%.1f GFLOP/s" % r["gflops"] if r.get("gflops") else
                        "%.2f GB/s" % r["gbps"] if r.get("gbps") else "")
                rows.append((name, cell, "%.3f ms" % r["ms"], rate))
            elif name.startswith("bench-encode"):
                rows.append((name, "%s B=%s L=%s" % (r["weights"], r["batch"], r["length"]),
                             "%.2f ms" % r["latency_ms"], "%.1f sentences/s, %.1f GFLOP/s" % (
                                 r["sentences_per_s"], r["gflops"])))
            elif name.startswith("bench-bertscore"):
                rows.append((name, "%s %s" % (r["model"], r["weights"]),
                             "%.3f s/request" % r["seconds_per_request"],
                             "%.2f pairs/s" % r["pairs_per_s"]))
            elif name.startswith("llama-"):
                rows.append((name, r.get("what", ""), r.get("time", ""), r.get("rate", "")))
    if rows:
        lines += ["", "| bench | cell | time | rate |", "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % r for r in rows]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
