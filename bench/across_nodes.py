#!/usr/bin/env python3
"""Across-nodes benchmark (a benchmark, not a test: it prints figures and asserts nothing).

    bench/across-nodes-benchmark.sh [NODES] [MIB]     NODES 2 (node1,node2) or 3 (node1..node3, partition
                                                      wide), MIB of random memory in each part (default 64)

On the testbed (brought up by the .sh): a --migratable=net job whose parts, one per node, each in
lifeboat-run --network=job with MIB of random memory, exchange messages over TCP as fast as they
can (part 0 answers every client part's numbers). Then node1 is drained: its part moves to the node
Slurm chooses, the others are checkpointed in place around the requeue. Printed: the frozen time of
the moved part and of each staying part (from each agent's report), the move's total time until
the job runs again, and the message rate of part 1 in 100 ms buckets before, during and after the
move; bench/results/across-nodes-NODESn.svg plots that rate against time.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RUN = os.environ.get("TESTBED_RUN", "/var/lib/lifeboat-testbed")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = 0.1

WORKLOAD = r"""
import os, socket, sys, threading, time
part = int(os.environ['SLURM_NODEID'])
parts = int(os.environ['SLURM_JOB_NUM_NODES'])
ballast = bytearray(os.urandom(int(sys.argv[1]) << 20))
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
probe.connect(('10.241.0.254', 9))
me = probe.getsockname()[0]
def serve(connection):
    for line in connection.makefile():
        connection.sendall(line.encode())
if part == 0:
    listener = socket.socket()
    listener.bind((me, 7300))
    listener.listen(parts)
    open('address.tmp', 'w').write(me)
    os.rename('address.tmp', 'address')
    for _ in range(parts - 1):
        threading.Thread(target=serve, args=(listener.accept()[0],)).start()
    threading.Event().wait()
else:
    while not os.path.exists('address'):
        time.sleep(0.05)
    connection = socket.create_connection((open('address').read(), 7300))
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    replies = connection.makefile()
    log = open('rate%d.log' % part, 'a', buffering=1)
    number, bucket, count = 0, int(time.time() / 0.1), 0
    while True:
        number += 1
        connection.sendall(b'%d\n' % number)
        replies.readline()
        now = int(time.time() / 0.1)
        if now != bucket:
            print('%d %d' % (bucket, count), file=log)
            bucket, count = now, 0
        count += 1
"""


def slurm(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def job_field(job, key):
    for token in slurm("scontrol", "--oneliner", "show", "job", str(job)).split():
        if token.startswith(key + "="):
            return token.split("=", 1)[1]
    return ""


def await_condition(condition, seconds, what):
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            sys.exit("timed out waiting for " + what)
        time.sleep(0.1)


def rates(directory):
    buckets = {}
    try:
        for line in open(os.path.join(directory, "rate1.log")):
            bucket, count = line.split()
            buckets[int(bucket) * BUCKET] = int(count) / BUCKET
    except FileNotFoundError:
        pass
    return buckets


def last_report(node):
    out = slurm("java", "-jar", os.path.join(ROOT, "agent/target/lifeboat-agent.jar"), "history", "--json", "--limit", "1",
                "--socket", os.path.join(RUN, "nodes", node, "agent.sock"))
    migrations = json.loads(out)["migrations"]
    return migrations[0] if migrations else None


def svg(points, drained, running, title, path):
    """The message rate against time (s from the drain), the drain and the job running again marked."""
    width, height, left, bottom = 720, 320, 60, 40
    xs = [t for t, _ in points]
    x0, x1 = min(xs), max(xs)
    y1 = max(r for _, r in points) * 1.1 or 1

    def x(t):
        return left + (t - x0) / (x1 - x0) * (width - left - 20)

    def y(r):
        return height - bottom - r / y1 * (height - bottom - 30)
    line = " ".join("%.1f,%.1f" % (x(t), y(r)) for t, r in points)
    marks = "".join('<line x1="%.1f" y1="30" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="4"/>'
                    '<text x="%.1f" y="24" font-size="11" fill="%s">%s</text>'
                    % (x(t), x(t), height - bottom, colour, x(t) + 3, colour, label)
                    for t, colour, label in ((0, "red", "drain"), (running, "green", "RUNNING again")))
    ticks = "".join('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%d</text>' % (x(t), height - bottom + 14, t)
                    for t in range(int(x0), int(x1) + 1, 5))
    yticks = "".join('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%d</text>' % (left - 4, y(r) + 3, r)
                     for r in range(0, int(y1), max(1, int(y1 / 5 / 100) * 100)))
    with open(path, "w") as out:
        out.write('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">'
                  '<rect width="100%%" height="100%%" fill="white"/>'
                  '<text x="%d" y="14" font-size="12">%s</text>'
                  '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="30" x2="%d" y2="%d" stroke="black"/>'
                  '%s%s%s<polyline fill="none" stroke="steelblue" points="%s"/>'
                  '<text x="%d" y="%d" font-size="11" text-anchor="middle">seconds from the drain of node1</text>'
                  '<text x="14" y="%d" font-size="11" transform="rotate(-90 14 %d)" text-anchor="middle">messages/s (part 1)</text>'
                  '</svg>\n' % (width, height, left, title, left, height - bottom, width - 20, height - bottom, left, left,
                                height - bottom, ticks, yticks, marks, line, (width + left) / 2, height - 6, height / 2,
                                height / 2))


def main():
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    node_list = ",".join("node%d" % i for i in range(1, nodes + 1))
    directory = tempfile.mkdtemp(prefix="across-bench-", dir=os.path.join(RUN, "shared"))
    os.chmod(directory, 0o755)
    with open(os.path.join(directory, "workload.py"), "w") as out:
        out.write(WORKLOAD)
    partition = ["--partition=wide"] if nodes > 2 else []
    job = int(slurm("sbatch", "--parsable", "--migratable=net", "--nodes=%d" % nodes, "--ntasks-per-node=1",
                    "--nodelist=" + node_list, *partition, "--output=" + os.path.join(directory, "slurm.out"),
                    "--chdir=" + directory, "--wrap",
                    "srun %s/bin/lifeboat-run --network=job --stdout %s/out --stderr %s/err -- /usr/bin/python3 -u %s/workload.py %d"
                    % (RUN, directory, directory, directory, mib)).strip().split(";")[0])
    try:
        await_condition(lambda: len(rates(directory)) > 50, 120, "the parts to exchange")
        time.sleep(3)
        drained = time.time()
        slurm("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-across-benchmark")
        await_condition(lambda: job_field(job, "JobState") == "RUNNING" and "node1" not in slurm(
            "scontrol", "show", "hostnames", job_field(job, "NodeList")), 180, "the job to run again off node1")
        running = time.time() - drained
        new_nodes = job_field(job, "NodeList")
        time.sleep(8)
        buckets = rates(directory)
    finally:
        subprocess.run(["scancel", str(job)])
        subprocess.run(["scontrol", "update", "nodename=node1", "state=resume"], capture_output=True)
    moved = last_report("node1")
    staying = [last_report("node%d" % i) for i in range(2, nodes + 1)]
    known = {round((t - drained) / BUCKET): r for t, r in buckets.items()}
    # Buckets in which part 1 got no answer at all are missing from its log: they count as 0.
    filled = [(i * BUCKET, known.get(i, 0.0)) for i in range(min(known), max(known) + 1)]
    before = [r for t, r in filled if -3 <= t < 0]
    after = [r for t, r in filled if t > running + 2]
    stalled = [t for t, r in filled if r == 0 and 0 <= t <= running + 2]
    print("job %d on %s, %d MiB per part; node1 drained: RUNNING on %s after %.1f s" % (job, node_list, mib, new_nodes, running))
    if moved:
        print("moved part (node1 -> %s): frozen %d ms, total %d ms (Slurm's placement %d ms), %s"
              % (moved["to"], moved["downtime-millis"], moved["total-millis"], moved["phase-millis"].get("place", 0),
                 moved["outcome"]))
    for report in staying:
        if report:
            print("staying part on %s (in place): frozen %d ms, dump %d ms, restore %d ms, %s"
                  % (report["from"], report["downtime-millis"], report["phase-millis"].get("dump", 0),
                     report["phase-millis"].get("restore", 0), report["outcome"]))
    print("message rate of part 1: before %.0f/s (median of 100 ms buckets, 3 s), after %.0f/s; no answer for %.1f s"
          % (statistics.median(before) if before else 0, statistics.median(after) if after else 0, len(stalled) * BUCKET))
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    path = os.path.join(ROOT, "bench/results/across-nodes-%dn.svg" % nodes)
    svg(filled, drained, running, "job on %s, %d MiB per part: node1 drained at 0" % (node_list, mib), path)
    print("plot: " + os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
