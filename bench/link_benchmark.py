#!/usr/bin/env python3
"""Migration time against memory size, link speed and memory contents (issue 10).

Run through bench/link-benchmark.sh, which brings the testbed up. For each link setting
(node1's and node2's eth0 shaped with tc tbf; "unlimited" leaves the veth alone), it first
measures the link's TCP goodput node1 -> node2 (one stream, 3 s, through Python sockets), then,
for each memory size and contents (random, or every other page zeros), migrates a --migratable
job's lifeboat-run container node1 -> node2 -> node1 ... RUNS times in each mode:

  diskless   Lifeboat: pages through the target's page server (relayed on the peer link), the
             rest as a tar stream
  shared-fs  Lifeboat: images written to the shared directory and read there by the target
  baseline   what an admin would script with CRIU alone: criu dump to node1's tmpfs, copy the
             directory to node2's tmpfs over the same link (tar through one TCP stream), criu
             restore there; the job is not requeued (time up to a restored, running process)
  criu-page-server  CRIU alone with its own page server: criu page-server on node2's address,
             criu dump --page-server from node1 straight to it over the link, the other image
             files copied as above, criu restore: where CRIU's page transfer itself is the limit

Printed: a table of medians (MB/s and of-link: bytes moved over the time they took to cross, CRIU's
dump plus the image stream for Lifeboat, the copy for the baseline, against the goodput), and the figures of every run in JSON (OUT.json); OUT.png plots the
median total time against memory size for each mode and link (like figure 13 of the paper).
For Lifeboat's modes each run also records the CPU seconds per GiB moved that each node's agent and
its CRIU children used, and the peak use of the target's checkpoint tmpfs.
The shared directory is a network file server: for the run, every node mounts it with sshfs from
a namespace of its own behind a link shaped to STORAGE (default 800mbit, i.e. 100 MB/s, both ways;
testbed/cluster.sh storage network); STORAGE=local leaves it on this machine's disk.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.environ.get("TESTBED_RUN", "/var/lib/lifeboat-testbed")  # testbed/lib.sh's
LAUNCHER = os.path.join(REPO, "launcher", "lifeboat-run")
WORKLOAD = os.path.join(REPO, "launcher", "tests", "lifeboat-workload")
CRIU = os.environ.get("CRIU", "criu")
AGENT_JAR = os.path.join(REPO, "agent", "target", "lifeboat-agent.jar")
NODES = {"node1": "10.241.0.1", "node2": "10.241.0.2"}
GOODPUT_PORT = 5201
COPY_PORT = 5202
PAGE_SERVER_PORT = 5203
BASELINES = ("baseline", "criu-page-server")


def run(command, check=True, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError("%s exited %d: %s%s" % (" ".join(command), result.returncode, result.stdout, result.stderr))
    return result


def in_node(node, command, **kwargs):
    return run(["ip", "netns", "exec", "lb-" + node] + command, **kwargs)


def shape(link):
    for node in NODES:
        run([os.path.join(REPO, "testbed", "cluster.sh"), "link", node, link])


def size_checkpoint_tmpfs(mib):
    """The testbed gives each node a 3 GiB checkpoint tmpfs (a limit, not memory taken); a larger job needs room
    for its images (every page) on node1 and node2: remounted larger for the run, and back after it."""
    for node in ("node1", "node2"):
        run(["mount", "-o", "remount,size=%dm" % mib, os.path.join(RUN, "nodes", node, "checkpoints")])


def goodput():
    """Bytes per second one TCP stream carries node1 -> node2 for 3 s (a receiver in node2's namespace)."""
    receiver = subprocess.Popen(["ip", "netns", "exec", "lb-node2", sys.executable, "-c", """
import socket, sys, time
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", %d)); server.listen(1); print("ready", flush=True)
connection, _ = server.accept(); total = 0; started = None
while True:
    data = connection.recv(1 << 20)
    if not data: break
    if started is None: started = time.monotonic()
    total += len(data)
print(total / (time.monotonic() - started), flush=True)
""" % GOODPUT_PORT], stdout=subprocess.PIPE, text=True)
    assert receiver.stdout.readline().strip() == "ready"
    in_node("node1", [sys.executable, "-c", """
import socket, time
connection = socket.create_connection(("%s", %d)); block = bytes(1 << 20); end = time.monotonic() + 3
while time.monotonic() < end: connection.sendall(block)
connection.close()
""" % (NODES["node2"], GOODPUT_PORT)])
    rate = float(receiver.stdout.readline())
    receiver.wait()
    return rate


def lifeboat(*arguments):
    return run(["java", "-jar", AGENT_JAR] + list(arguments))


def socket_of(node):
    return os.path.join(RUN, "nodes", node, "agent.sock")


def start_job(mib, contents, touch_all=False):
    """A --migratable job on node1 running lifeboat-workload (MIB MiB of CONTENTS; with touch_all, a job that reads
    all its memory in a loop instead of sleeping), once it counts and node1's agent knows it."""
    directory = tempfile.mkdtemp(prefix="bench-", dir=os.path.join(RUN, "shared"))
    os.chmod(directory, 0o755)
    fill = (" half-zero" if contents == "half-zero" else "") + (" touch-all" if touch_all else "")
    script = ("exec %s --stdout %s/out --exit-status-file %s/status --bind %s -- %s %s/sequence %s/stop %d%s"
              % (LAUNCHER, directory, directory, os.path.dirname(WORKLOAD), WORKLOAD, directory, directory, mib, fill))
    job = run(["sbatch", "--parsable", "--migratable", "--nodelist=node1", "--open-mode=append",
               "--output=" + directory + "/slurm.out", "--chdir=" + directory, "--wrap", script]).stdout.strip()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if sequence_length(directory) >= 3 and lifeboat("status", "--socket", socket_of("node1"), "--job", job).returncode == 0:
            return job, directory
        time.sleep(0.2)
    raise RuntimeError("job %s never started counting" % job)


def sequence_length(directory):
    try:
        with open(os.path.join(directory, "sequence")) as sequence:
            return sum(1 for _ in sequence)
    except FileNotFoundError:
        return 0


def stop_job(job, directory):
    with open(os.path.join(directory, "stop"), "w") as stop:
        stop.write("0")
    time.sleep(0.5)
    run(["scancel", job], check=False)


def agent_cpu_seconds(node):
    """CPU seconds node's agent and the children it has waited for (CRIU) have used so far."""
    with open(os.path.join(RUN, "nodes", node, "agent.pid")) as pid_file:
        pid = pid_file.read().strip()
    with open("/proc/%s/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the command's ")".
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class TmpfsPeak:
    """The most a node's checkpoint tmpfs held while the block ran (sampled every 20 ms)."""

    def __init__(self, node):
        self.path = os.path.join(RUN, "nodes", node, "checkpoints")
        self.peak = 0
        self.running = True

    def used(self):
        stat = os.statvfs(self.path)
        return (stat.f_blocks - stat.f_bfree) * stat.f_frsize

    def sample(self):
        while self.running:
            self.peak = max(self.peak, self.used() - self.before)
            time.sleep(0.02)

    def __enter__(self):
        self.before = self.used()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.running = False
        self.thread.join()


def job_path_millis(total_millis, phases):
    """A migration's time on the job's path: from its start until the restored job runs on the target (RESUME).
    PLACE (Slurm starting the requeued job, around the already running container) is Slurm's, and CLEANUP (the
    source's images deleted, the target told to commit) comes after the job runs again: both are left out. The agent
    overhead is this less CRIU's dump and restore and the image stream."""
    return total_millis - phases.get("place", 0) - phases.get("cleanup", 0)


def lifeboat_migration(job, source, target, mode):
    cpu_before = {node: agent_cpu_seconds(node) for node in (source, target)}
    with TmpfsPeak(target) as tmpfs:
        report = json.loads(lifeboat("migrate", job, "--to", target, "--mode", mode, "--json", "--socket",
                                     socket_of(source)).stdout)
    gib = (report["page-bytes"] + report["image-bytes"]) / 2 ** 30
    cpu = {node: round((agent_cpu_seconds(node) - cpu_before[node]) / gib, 2) for node in (source, target)}
    if report["outcome"] != "migrated":
        raise RuntimeError("migration %s: %s" % (report["outcome"], report.get("cause")))
    phases = report["phase-millis"]
    total = job_path_millis(report["total-millis"], phases)
    overhead = total - report["criu-dump-millis"] - report["criu-restore-millis"] - phases.get("send-images", 0)
    # Memory crosses the link during CRIU's dump (page server), the other images in send-images.
    transfer = report["criu-dump-millis"] + phases.get("send-images", 0)
    return {"total-ms": total, "downtime-ms": report["downtime-millis"], "phases-ms": phases, "transfer-ms": transfer,
            "bytes": report["page-bytes"] + report["image-bytes"], "overhead-ms": overhead,
            "page-wire-bytes": report["page-wire-bytes"],
            # Agent and CRIU (dump and page server, restore) on each side, per GiB moved.
            "cpu-seconds-per-gib": {"source": cpu[source], "target": cpu[target]},
            "peak-tmpfs-bytes": tmpfs.peak,
            "criu-dump-ms": report["criu-dump-millis"], "criu-restore-ms": report["criu-restore-millis"]}


def container_of(directory):
    """The manifest lifeboat-run wrote for the job's container (found by its sequence file)."""
    containers = "/run/lifeboat/containers"
    for name in os.listdir(containers):
        try:
            with open(os.path.join(containers, name, "manifest.json")) as manifest_file:
                manifest = json.load(manifest_file)
        except (FileNotFoundError, ValueError):
            continue
        if os.path.join(directory, "sequence") in manifest["argv"]:
            return manifest
    raise RuntimeError("no lifeboat-run manifest for " + directory)


def baseline_migration(directory, source, target, page_server):
    """criu dump to the source's tmpfs (or, with page_server, its pages straight into a criu page-server on the
    target), tar over one TCP stream to the target's tmpfs, criu restore there."""
    manifest = container_of(directory)
    source_dir = tempfile.mkdtemp(dir=os.path.join(RUN, "nodes", source, "checkpoints"))
    target_dir = tempfile.mkdtemp(dir=os.path.join(RUN, "nodes", target, "checkpoints"))
    root = tempfile.mkdtemp(dir=os.path.join(RUN, "nodes", target, "checkpoints"))
    externals_dump = sum([["--external", "mnt[%s]:%s" % (m["target"], m["key"])] for m in manifest["mounts"]], [])
    externals_restore = sum([["--external", "mnt[%s]:%s" % (m["key"], m["source"])] for m in manifest["mounts"]], [])
    started = time.monotonic()
    to_page_server = []
    if page_server:
        # --daemon: it returns once it listens; it serves this one dump and exits.
        in_node(target, [CRIU, "page-server", "-D", target_dir, "--address", NODES[target], "--port",
                         str(PAGE_SERVER_PORT), "--daemon", "-o", "page-server.log"])
        to_page_server = ["--page-server", "--address", NODES[target], "--port", str(PAGE_SERVER_PORT)]
    in_node(source, [CRIU, "dump", "-t", str(manifest["init-pid"]), "-D", source_dir, "--file-locks",
                     "--manage-cgroups=ignore", "-o", "dump.log"] + to_page_server + externals_dump)
    dumped = time.monotonic()
    receiver = subprocess.Popen(["ip", "netns", "exec", "lb-" + target, sys.executable, "-c", """
import socket, subprocess, sys
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", %d)); server.listen(1); print("ready", flush=True)
connection, _ = server.accept()
subprocess.run(["tar", "-x", "-C", %r], stdin=connection.makefile("rb"), check=True)
""" % (COPY_PORT, target_dir)], stdout=subprocess.PIPE, text=True)
    assert receiver.stdout.readline().strip() == "ready"
    in_node(source, [sys.executable, "-c", """
import socket, subprocess
connection = socket.create_connection((%r, %d))
subprocess.run(["tar", "-c", "-C", %r, "."], stdout=connection.makefile("wb"), check=True)
""" % (NODES[target], COPY_PORT, source_dir)])
    if receiver.wait() != 0:
        raise RuntimeError("the copy to %s failed" % target)
    copied = time.monotonic()
    # The root as the admin must rebuild it from lifeboat-run's manifest: a tmpfs with its skeleton.
    run(["mount", "-t", "tmpfs", "-o", "mode=0755", "bench-root", root])
    try:
        for entry in manifest["skeleton"]:
            path = os.path.join(root, entry["path"].lstrip("/"))
            if entry["type"] == "directory":
                os.makedirs(path, exist_ok=True)
            elif entry["type"] == "file":
                open(path, "a").close()
            else:
                os.symlink(entry["target"], path)
        in_node(target, [CRIU, "restore", "-D", target_dir, "-d", "--root", root, "--file-locks",
                         "--manage-cgroups=ignore", "--pidfile", os.path.join(target_dir, "pid"), "-o", "restore.log"]
                + externals_restore)
        restored = time.monotonic()
        with open(os.path.join(target_dir, "pid")) as pid_file:
            pid = int(pid_file.read())
    finally:
        run(["umount", root], check=False)
    # What crossed the link: every image the target holds (the page server's pages included).
    moved = sum(os.path.getsize(os.path.join(target_dir, name)) for name in os.listdir(target_dir)
                if name not in ("restore.log", "page-server.log", "pid"))
    for directory in (source_dir, target_dir, root):
        run(["rm", "-rf", directory])
    # Through the page server the pages cross during the dump; otherwise during the copy.
    transfer = (copied - started) if page_server else (copied - dumped)
    return pid, {"total-ms": round((restored - started) * 1000), "downtime-ms": round((restored - started) * 1000),
                 "phases-ms": {"dump": round((dumped - started) * 1000), "copy": round((copied - dumped) * 1000),
                               "restore": round((restored - copied) * 1000)},
                 "transfer-ms": round(transfer * 1000), "bytes": moved, "overhead-ms": 0}


def touch_memory(mib):
    """This machine is a VM: the first touch of guest memory it has not used for a while runs at ~0.5 GB/s
    (host page faults), against ~5 GB/s after. A diskless restore fills fresh memory while the source copy still
    holds its own (never two running copies), a cost a target node with memory of its own does not pay from its
    hypervisor; so that no run pays it, the memory the runs will use is touched once first."""
    available = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemAvailable:"))) // 1024
    mib = min(mib, available - 2048)
    started = time.monotonic()
    block = bytearray(mib * 2 ** 20)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    del block
    print("warm-up: touched %d MiB of memory in %.1f s" % (mib, time.monotonic() - started), flush=True)


def warm_up():
    """Agents are long-running daemons: one unrecorded move each way first, so that no recorded run pays for a
    freshly started JVM's first migration (class loading, JIT)."""
    job, directory = start_job(64, "random")
    try:
        for source, target in (("node1", "node2"), ("node2", "node1")):
            lifeboat_migration(job, source, target, "diskless")
            time.sleep(1)
    finally:
        stop_job(job, directory)
    print("warm-up: a 64 MiB job moved node1 -> node2 -> node1 (not recorded)", flush=True)


def main():
    links = os.environ.get("LINKS", "unlimited 10gbit 1gbit").split()
    sizes = [int(size) for size in os.environ.get("SIZES", "256 1024").split()]
    contents_kinds = os.environ.get("CONTENTS", "random half-zero").split()
    modes = os.environ.get("MODES", "diskless shared-fs baseline criu-page-server").split()
    runs = int(os.environ.get("RUNS", "3"))
    storage = os.environ.get("STORAGE", "800mbit")
    cluster = os.path.join(REPO, "testbed", "cluster.sh")
    out = os.environ.get("OUT", os.path.join(REPO, "bench", "results", "link-benchmark"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    results = []
    if storage != "local" and "shared-fs" in modes:
        run([cluster, "storage", "network", storage])
    tmpfs_mib = max(3072, max(sizes) + max(sizes) // 4 + 256)
    try:
        size_checkpoint_tmpfs(tmpfs_mib)
        # The job, the target's images and the restored copy, and the baseline's source images: four copies.
        touch_memory(4 * max(sizes) + 1024)
        if any(mode not in BASELINES for mode in modes):
            warm_up()
        for link in links:
            shape(link)
            rate = goodput()
            print("link %s: TCP goodput node1 -> node2 %.0f MB/s" % (link, rate / 1e6), flush=True)
            for mib in sizes:
                for contents in contents_kinds:
                    for mode in modes:
                        figures = []
                        if mode in BASELINES:
                            # A baseline moves a process tree, not a job: a fresh job each run, cancelled after.
                            for _ in range(runs):
                                job, directory = start_job(mib, contents)
                                try:
                                    pid, figure = baseline_migration(directory, "node1", "node2",
                                                                     mode == "criu-page-server")
                                    run(["kill", "-KILL", str(pid)], check=False)
                                    figures.append(figure)
                                finally:
                                    stop_job(job, directory)
                        else:
                            job, directory = start_job(mib, contents)
                            try:
                                node, other = "node1", "node2"
                                for _ in range(runs):
                                    figures.append(lifeboat_migration(job, node, other, mode))
                                    node, other = other, node
                                    time.sleep(1)
                            finally:
                                stop_job(job, directory)
                        for figure in figures:
                            figure["throughput-of-goodput"] = round(
                                figure["bytes"] / max(figure["transfer-ms"], 1) * 1000 / rate, 3)
                        results.append({"link": link, "goodput-bytes-per-second": round(rate), "mib": mib,
                                        "contents": contents, "mode": mode, "runs": figures,
                                        **({"storage": storage} if mode == "shared-fs" else {})})
                        print_row(results[-1])
                        # Written as it goes: a run that fails half-way keeps what it measured.
                        with open(out + ".json", "w") as output:
                            json.dump(results, output, indent=1)
    finally:
        shape("unlimited")
        run([cluster, "storage", "local"])
        size_checkpoint_tmpfs(3072)
    with open(out + ".json", "w") as output:
        json.dump(results, output, indent=1)
    plot(results, out + ".png")
    print("figures of every run: %s.json; plot: %s.png" % (out, out))


HEADER = "%-9s %7s %-9s %-16s %8s %8s %8s %7s %9s %13s %9s" % (
    "link", "MiB", "contents", "mode", "total", "downtime", "overhead", "MB/s", "of-link", "cpu-s/GiB", "tmpfs-MiB")


def print_row(result):
    if not getattr(print_row, "printed", False):
        print(HEADER)
        print_row.printed = True
    runs = result["runs"]
    median = lambda key: statistics.median(run_[key] for run_ in runs)
    print("%-9s %7d %-9s %-16s %8.0f %8.0f %8.0f %7.0f %9.2f" % (
        result["link"], result["mib"], result["contents"], result["mode"], median("total-ms"), median("downtime-ms"),
        median("overhead-ms"), statistics.median(r["bytes"] / max(r["transfer-ms"], 1) / 1000 for r in runs),
        median("throughput-of-goodput")) + cpu_and_tmpfs(runs), flush=True)


def cpu_and_tmpfs(runs):
    """Median CPU seconds per GiB (source/target) and peak target tmpfs, for runs that recorded them."""
    if any("cpu-seconds-per-gib" not in run_ for run_ in runs):
        return ""
    cpu = lambda side: statistics.median(run_["cpu-seconds-per-gib"][side] for run_ in runs)
    return " %6.2f/%-6.2f %9.0f" % (cpu("source"), cpu("target"),
                                   statistics.median(run_["peak-tmpfs-bytes"] for run_ in runs) / 2 ** 20)


def plot(results, path):
    """One panel per link; a colour per mode, solid for random memory, dashed for half-zero."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    links = [link for link in ("unlimited", "10gbit", "1gbit") if any(r["link"] == link for r in results)]
    colours = {"diskless": "tab:blue", "shared-fs": "tab:orange", "baseline": "tab:grey", "criu-page-server": "tab:green"}
    figure, panels = pyplot.subplots(1, len(links), figsize=(4.2 * len(links), 4.2), sharey=True, squeeze=False)
    for axes, link in zip(panels[0], links):
        for mode in ("diskless", "shared-fs", "baseline", "criu-page-server"):
            for contents, style in (("random", "-"), ("half-zero", "--")):
                points = sorted((r["mib"], statistics.median(x["total-ms"] for x in r["runs"]) / 1000) for r in results
                                if r["link"] == link and r["mode"] == mode and r["contents"] == contents)
                if points:
                    axes.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", color=colours[mode],
                              label="%s, %s" % (mode, contents))
        goodput = next(r["goodput-bytes-per-second"] for r in results if r["link"] == link)
        axes.set_title("%s link (goodput %.0f MB/s)" % (link, goodput / 1e6), fontsize=10)
        axes.set_xlabel("container memory (MiB)")
        axes.grid(True, alpha=0.3)
    panels[0][0].set_ylabel("migration time, median of runs (s)")
    panels[0][0].legend(fontsize=7)
    figure.suptitle("Lifeboat migration time against memory size (testbed, 2 cores)", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def load_results(paths):
    """The results of every file given to --report, in one list (the benchmarks write a JSON list each)."""
    results = []
    for path in paths:
        with open(path) as results_file:
            results += json.load(results_file)
    return results


def report(paths):
    """The table and the plot again, from runs' JSON (bench/link_benchmark.py --report OUT.json [MORE.json ...]):
    the runs of every file in one table, and one plot, OUT.png (e.g. a 4 GiB run beside the main one)."""
    results = load_results(paths)
    for result in results:
        for figure in result["runs"]:
            if result["mode"] not in BASELINES:
                phases = figure["phases-ms"]
                figure["overhead-ms"] = (figure["total-ms"] - figure["criu-dump-ms"] - figure["criu-restore-ms"]
                                         - phases.get("send-images", 0))
        print_row(result)
    plot(results, paths[0][:-len(".json")] + ".png")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--report":
        report(sys.argv[2:])
    else:
        main()
