#!/usr/bin/env python3
"""Post-copy against diskless: frozen time, time until every page crossed, and the job's progress.

Run through bench/post-copy-benchmark.sh, which brings the testbed up. It reuses bench/link_benchmark.py (imported:
link shaping, the checkpoint tmpfs's size, the link's goodput, starting and stopping the job, the warm-up of this
VM's memory). For each link in LINKS (default "unlimited 10gbit 1gbit"; node1's and node2's eth0 shaped with tc tbf),
each size in SIZES (MiB, default "256 1024 4096") and each memory contents in CONTENTS (default "random half-zero"),
it starts a fresh --migratable job on node1 and moves it to node2 with

    lifeboat migrate JOB --to node2 --mode MODE --json

for each mode/workload pair in COMBINATIONS (default "diskless/small post-copy/small post-copy/touch-all"), RUNS
times (default 1):

  small      launcher/tests/lifeboat-workload's default loop: it appends a counter to its sequence file every
             100 ms and touches no other memory (a small working set; ~10 lines/s);
  touch-all  lifeboat-workload ... touch-all: each loop reads every page of its memory and checks their checksum
             (CORRUPT in its output on a mismatch) before the next line: lines/s = full scans of its memory per
             second, a job that needs all its memory at once.

Per run, from the JSON report: outcome (and cause), downtime-millis (frozen: from the freeze at the dump's start
until the job runs on node2), total-millis (the whole command: Slurm's placement, ~5 s, and CLEANUP included),
phase-millis, split-millis, page-bytes and page-wire-bytes; and:

  all pages crossed: the time from the migration's start (the report's "started", when the source agent began
      PREPARE_TARGET) until the source's last page had crossed. The phases run one after the other, so
          post-copy:  sum of phase-millis from prepare-target up to and including resume  +  split-millis
      (split-millis is the agent's own measure from the end of RESUME until the source's CRIU ended, which it does
      once the target's lazy-pages daemon has every page; the pages keep crossing during PLACE, which is why
      fetch-pages, what is left of them after PLACE, is often ~0 ms);
          diskless:   sum of phase-millis up to and including resume
      (its pages cross during DUMP, through the target's page server; at RESUME's end the job has all its memory).
      It leaves out the CLI's own start (a JVM: 0.6-1.1 s before "started" on the testbed).
  runs (on node2): the phases up to and including RESUME, from the migration's start until the job runs on node2
      (the "job-path-ms" the JSON also holds is link_benchmark's total: total-millis less PLACE and CLEANUP, which
      for post-copy still counts FETCH_PAGES).
  progress: a thread counts the lines of the job's sequence file every 100 ms (wall clock, the agents' clock too),
      from BEFORE seconds (default 3) before the command until AFTER seconds (default 4) after it returned. Rates
      (lines/s) are taken over three windows: before = [first sample, report's started]; during = [end of resume,
      end of resume + split-millis] (post-copy only: the job runs on node2 while its pages still cross); after =
      [all pages crossed, last sample]. "stall" is the longest time the count did not grow between the command's
      start and the end of the during window: what the job itself saw of the freeze (for the small workload it
      includes its own 100 ms tick; for touch-all, one scan's time).

Printed: one row per combination (medians over RUNS of the runs that migrated): frozen (downtime-millis), stall,
crossed (all pages crossed), runs, total (total-millis), split (split-millis), fetch (fetch-pages ms), before / during
/ after (lines/s), outcome, with CORRUPT when the workload reported damaged memory and NOT-LAZY when a post-copy move's
memory crossed in the image tar while the job was frozen instead of lazily (page-bytes < image-bytes); written: OUT.json (every run, its samples included) and
OUT.png (frozen time and time until every page crossed, against size, per link). bench/post_copy.py --report
OUT.json prints the table and draws the plot again. A failed move (rolled-back or lost) is recorded with its cause
and the agents' log lines about it, and the benchmark goes on.
"""
import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import link_benchmark as lb  # noqa: E402

LOGS = os.path.join(lb.RUN, "log")
# Phases in the order the source agent runs them; everything up to RESUME is on the job's path.
BEFORE_PLACE = ("prepare-target", "dump", "send-images", "restore", "confirm", "requeue", "resume")
DEFAULT_COMBINATIONS = "diskless/small post-copy/small post-copy/touch-all"


class Progress:
    """The job's sequence file's line count, sampled every 100 ms with the wall-clock time (the agents' clock)."""

    def __init__(self, directory):
        self.directory = directory
        self.samples = []
        self.running = True

    def sample(self):
        while self.running:
            self.samples.append((time.time(), lb.sequence_length(self.directory)))
            time.sleep(0.1)

    def start(self):
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        self.thread.join()

    def count_at(self, moment):
        """The count of the last sample at or before the moment (the first sample's before it)."""
        count = self.samples[0][1]
        for at, value in self.samples:
            if at > moment:
                break
            count = value
        return count

    def rate(self, start, end):
        """Lines per second over [start, end]; None for a window shorter than 0.3 s or outside the samples."""
        start = max(start, self.samples[0][0])
        end = min(end, self.samples[-1][0])
        if end - start < 0.3:
            return None
        return round((self.count_at(end) - self.count_at(start)) / (end - start), 2)

    def longest_stall(self, start, end):
        """The longest time in [start, end] between two samples whose counts differ (seconds, at 0.1 s grain)."""
        changes = [self.samples[0][0]]
        for (_, before), (at, value) in zip(self.samples, self.samples[1:]):
            if value != before:
                changes.append(at)
        longest = 0.0
        for earlier, later in zip(changes, changes[1:]):
            # The part of the stall inside the window.
            overlap = min(later, end) - max(earlier, start)
            longest = max(longest, overlap)
        return round(longest * 1000)


def instant(text):
    """Seconds since the epoch of a Java Instant as JSON has it (2026-12-07T04:55:48.139806058Z; nanoseconds)."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (fraction or "0"))


def log_offsets():
    return {name: os.path.getsize(os.path.join(LOGS, name)) for name in ("agent-node1.log", "agent-node2.log")}


def log_lines(offsets, migration, job):
    """The agents' log lines written since offsets that name the migration or job, or warn: a failure's evidence."""
    lines = []
    for name, offset in offsets.items():
        with open(os.path.join(LOGS, name), errors="replace") as log:
            log.seek(offset)
            for line in log:
                if (migration and migration in line) or " job %s " % job in line or " WARNING " in line \
                        or " SEVERE " in line:
                    lines.append("%s: %s" % (name, line.rstrip()[:1500]))
    return lines[-60:]


def wait_gone(job):
    """Until Slurm no longer lists the job (its memory is free before the next run's job fills its own)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not lb.run(["squeue", "-h", "-j", job], check=False).stdout.strip():
            return
        time.sleep(0.5)


def migrate(job, directory, mode, before, after):
    """One move node1 -> node2 of a running job, with its progress sampled around it; the run's figures."""
    progress = Progress(directory)
    progress.start()
    time.sleep(before)
    offsets = log_offsets()
    command_started = time.time()
    result = lb.run(["java", "-jar", lb.AGENT_JAR, "migrate", job, "--to", "node2", "--mode", mode, "--json",
                     "--socket", lb.socket_of("node1")], check=False)
    command_ended = time.time()
    time.sleep(after)
    progress.stop()
    figures = {"exit-status": result.returncode, "command-ms": round((command_ended - command_started) * 1000)}
    try:
        report = json.loads(result.stdout)
    except ValueError:
        figures.update({"outcome": "no-report", "cause": (result.stdout + result.stderr)[-2000:],
                        "agent-log": log_lines(offsets, None, job)})
        return figures
    phases = report.get("phase-millis", {})
    started = instant(report["started"]) if "started" in report else command_started
    to_resume = sum(phases.get(phase, 0) for phase in BEFORE_PLACE)
    split = report.get("split-millis", 0)
    resumed = started + to_resume / 1000
    crossed = resumed + split / 1000
    figures.update({
        "outcome": report.get("outcome"), "cause": report.get("cause"), "reported-mode": report.get("mode"),
        "migration": report.get("migration"),
        "downtime-ms": report.get("downtime-millis"), "total-ms": report.get("total-millis"),
        "job-path-ms": lb.job_path_millis(report.get("total-millis", 0), phases),
        "phases-ms": phases, "split-ms": split, "all-pages-crossed-ms": to_resume + split,
        "page-bytes": report.get("page-bytes"), "page-wire-bytes": report.get("page-wire-bytes"),
        "image-bytes": report.get("image-bytes"),
        "criu-dump-ms": report.get("criu-dump-millis"), "criu-restore-ms": report.get("criu-restore-millis"),
        "criu-restore": report.get("criu-restore"),
        "cli-start-ms": round((started - command_started) * 1000),
        "rate-before": progress.rate(progress.samples[0][0], started),
        "rate-during": progress.rate(resumed, crossed) if split > 0 else None,
        "rate-after": progress.rate(crossed, progress.samples[-1][0]),
        "stall-ms": progress.longest_stall(command_started, max(crossed, resumed + 0.5)),
        # Seconds from the migration's start, and the count then: the job's progress around the move.
        "samples": [[round(at - started, 2), count] for at, count in progress.samples],
    })
    if report.get("outcome") != "migrated":
        figures["agent-log"] = log_lines(offsets, report.get("migration"), job)
    output = open(os.path.join(directory, "out"), errors="replace").read() if os.path.exists(
        os.path.join(directory, "out")) else ""
    figures["corrupt"] = "CORRUPT" in output
    return figures


def warm_up():
    """Agents are long-running daemons: unrecorded moves each way in both modes first, so that no recorded run pays
    for a JVM's first migration of either kind (class loading, JIT)."""
    job, directory = lb.start_job(64, "random")
    try:
        for source, target, mode in (("node1", "node2", "diskless"), ("node2", "node1", "post-copy"),
                                     ("node1", "node2", "post-copy"), ("node2", "node1", "diskless")):
            lb.lifeboat_migration(job, source, target, mode)
            time.sleep(1)
    finally:
        lb.stop_job(job, directory)
        wait_gone(job)
    print("warm-up: a 64 MiB job moved node1 -> node2 -> node1 twice, diskless and post-copy (not recorded)",
          flush=True)


def main():
    links = os.environ.get("LINKS", "unlimited 10gbit 1gbit").split()
    sizes = [int(size) for size in os.environ.get("SIZES", "256 1024 4096").split()]
    contents_kinds = os.environ.get("CONTENTS", "random half-zero").split()
    combinations = [tuple(pair.split("/")) for pair in os.environ.get("COMBINATIONS", DEFAULT_COMBINATIONS).split()]
    runs = int(os.environ.get("RUNS", "1"))
    before = float(os.environ.get("BEFORE", "3"))
    after = float(os.environ.get("AFTER", "4"))
    out = os.environ.get("OUT", os.path.join(lb.REPO, "bench", "results", "post-copy-benchmark"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    results = []
    # Diskless: every page once in the target's tmpfs (freed page by page as CRIU restores it), plus the rest.
    tmpfs_mib = max(3072, max(sizes) + max(sizes) // 4 + 256)
    try:
        lb.size_checkpoint_tmpfs(tmpfs_mib)
        # The job, the target's images and the restored copy: three copies of the largest job at most.
        lb.touch_memory(3 * max(sizes) + 1024)
        warm_up()
        for link in links:
            lb.shape(link)
            rate = lb.goodput()
            print("link %s: TCP goodput node1 -> node2 %.0f MB/s" % (link, rate / 1e6), flush=True)
            for mib in sizes:
                for contents in contents_kinds:
                    for mode, workload in combinations:
                        figures = []
                        for _ in range(runs):
                            job, directory = lb.start_job(mib, contents, touch_all=workload == "touch-all")
                            try:
                                figures.append(migrate(job, directory, mode, before, after))
                            finally:
                                lb.stop_job(job, directory)
                                wait_gone(job)
                        results.append({"link": link, "goodput-bytes-per-second": round(rate), "mib": mib,
                                        "contents": contents, "mode": mode, "workload": workload, "runs": figures})
                        print_row(results[-1])
                        # Written as it goes: a benchmark stopped half-way keeps what it measured.
                        with open(out + ".json", "w") as output:
                            json.dump(results, output, indent=None, separators=(",", ":"))
    finally:
        lb.shape("unlimited")
        lb.size_checkpoint_tmpfs(3072)
    with open(out + ".json", "w") as output:
        json.dump(results, output, indent=None, separators=(",", ":"))
    print_failures(results)
    plot(results, out + ".png")
    print("figures of every run: %s.json; plot: %s.png" % (out, out))


HEADER = "%-9s %-9s %-9s %5s %-9s %7s %7s %9s %7s %7s %7s %9s %7s %7s %7s  %s" % (
    "mode", "workload", "link", "MiB", "contents", "frozen", "stall", "crossed", "runs", "total", "split",
    "fetch", "before", "during", "after", "outcome")
UNITS = "%-9s %-9s %-9s %5s %-9s %7s %7s %9s %7s %7s %7s %9s %7s %7s %7s" % (
    "", "", "", "", "", "ms", "ms", "s", "s", "s", "s", "ms", "l/s", "l/s", "l/s")


def median(runs, key):
    values = [run_[key] for run_ in runs if run_.get(key) is not None]
    return statistics.median(values) if values else None


def runs_there(runs):
    """Median seconds from the migration's start until the job runs on node2: its phases up to RESUME."""
    values = [sum(run_["phases-ms"].get(phase, 0) for phase in BEFORE_PLACE) for run_ in runs]
    return statistics.median(values) / 1000 if values else None


def cell(value, form):
    return "-" if value is None else form % value


def print_row(result):
    if not getattr(print_row, "printed", False):
        print(HEADER)
        print(UNITS)
        print_row.printed = True
    runs = result["runs"]
    good = [run_ for run_ in runs if run_.get("outcome") == "migrated"]
    outcomes = ",".join(sorted(set(run_.get("outcome", "?") for run_ in runs)))
    seconds = lambda key: None if median(good, key) is None else median(good, key) / 1000
    fetch = [run_["phases-ms"].get("fetch-pages") for run_ in good if "fetch-pages" in run_.get("phases-ms", {})]
    print("%-9s %-9s %-9s %5d %-9s %7s %7s %9s %7s %7s %7s %9s %7s %7s %7s  %s%s%s" % (
        result["mode"], result["workload"], result["link"], result["mib"], result["contents"],
        cell(median(good, "downtime-ms"), "%.0f"), cell(median(good, "stall-ms"), "%.0f"),
        cell(seconds("all-pages-crossed-ms"), "%.2f"), cell(runs_there(good), "%.2f"),
        cell(seconds("total-ms"), "%.2f"), cell(seconds("split-ms"), "%.2f"),
        cell(statistics.median(fetch) if fetch else None, "%.0f"),
        cell(median(good, "rate-before"), "%.1f"), cell(median(good, "rate-during"), "%.1f"),
        cell(median(good, "rate-after"), "%.1f"), outcomes,
        " CORRUPT" if any(run_.get("corrupt") for run_ in runs) else "",
        " NOT-LAZY" if any(not_lazy(result, run_) for run_ in runs) else ""), flush=True)


def not_lazy(result, run_):
    """A post-copy move whose memory crossed in the image tar while the job was frozen, not lazily after: CRIU
    dumped its pages as ordinary pages (seen once: the workload's pagemap with no lazy page, nr_lazy 0)."""
    return result["mode"] == "post-copy" and (run_.get("image-bytes") or 0) > (run_.get("page-bytes") or 0)


def print_failures(results):
    """Every move that did not simply migrate (or whose memory came back CORRUPT, or crossed NOT-LAZY), with its cause
    and the agents' log lines."""
    for result in results:
        for run_ in result["runs"]:
            if run_.get("outcome") != "migrated" or run_.get("corrupt") or not_lazy(result, run_):
                failed = run_.get("outcome") != "migrated" or run_.get("corrupt")
                print("\n%s: %s %s %s %d MiB %s: %s (exit %s)%s%s: %s" % (
                    "FAILED" if failed else "ANOMALY", result["mode"], result["workload"], result["link"], result["mib"], result["contents"],
                    run_.get("outcome"), run_.get("exit-status"), ", memory CORRUPT" if run_.get("corrupt") else "",
                    ", NOT-LAZY: %d page bytes crossed lazily, %d in the image tar (frozen %s ms)" % (
                        run_.get("page-bytes") or 0, run_.get("image-bytes") or 0, run_.get("downtime-ms"))
                    if not_lazy(result, run_) else "", run_.get("cause") or "no cause reported"))
                for line in run_.get("agent-log", []):
                    print("  " + line)


def plot(results, path):
    """Two rows (frozen time, log scale with the 1 s goal dotted; time until every page crossed) by one column per
    link: a colour per mode/workload, solid for random memory, dashed for half-zero."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    links = [link for link in ("unlimited", "10gbit", "1gbit") if any(r["link"] == link for r in results)]
    colours = {("diskless", "small"): "tab:blue", ("diskless", "touch-all"): "tab:cyan",
               ("post-copy", "small"): "tab:red", ("post-copy", "touch-all"): "tab:orange"}
    figure, panels = pyplot.subplots(2, len(links), figsize=(4.4 * len(links), 8), sharey="row", squeeze=False)
    for column, link in enumerate(links):
        for row, (key, scale, label) in enumerate((("downtime-ms", 1, "frozen (ms)"),
                                                   ("all-pages-crossed-ms", 1000, "until every page crossed (s)"))):
            axes = panels[row][column]
            for (mode, workload), colour in colours.items():
                for contents, style in (("random", "-"), ("half-zero", "--")):
                    points = sorted((r["mib"], median([x for x in r["runs"] if x.get("outcome") == "migrated"], key))
                                    for r in results if r["link"] == link and r["mode"] == mode
                                    and r["workload"] == workload and r["contents"] == contents)
                    points = [(mib, value / scale) for mib, value in points if value is not None]
                    if points:
                        axes.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", color=colour,
                                  label="%s, %s, %s" % (mode, workload, contents))
            if row == 0:
                # Post-copy's frozen time is two orders below diskless's: a log scale, and the goal's 1 s.
                axes.set_yscale("log")
                axes.axhline(1000, color="grey", linestyle=":", linewidth=1)
            axes.set_xscale("log", base=2)
            axes.set_xlabel("job memory (MiB)")
            axes.grid(True, alpha=0.3)
            if column == 0:
                axes.set_ylabel(label)
            if row == 0:
                goodput = next(r["goodput-bytes-per-second"] for r in results if r["link"] == link)
                axes.set_title("%s link (goodput %.0f MB/s)" % (link, goodput / 1e6), fontsize=10)
    panels[0][0].legend(fontsize=6)
    figure.suptitle("Post-copy against diskless, node1 -> node2 (testbed, 2 cores)", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def report(paths):
    """The table and the plot again (bench/post_copy.py --report OUT.json [MORE.json ...]); the plot is OUT.png."""
    results = lb.load_results(paths)
    for result in results:
        print_row(result)
    print_failures(results)
    plot(results, paths[0][:-len(".json")] + ".png")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--report":
        report(sys.argv[2:])
    else:
        main()
