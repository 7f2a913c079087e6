# Shared by the benchmarks run through Python: sourced from the repository's root, after
# testbed/lib.sh and rerun_as_root. Installs matplotlib for the plots, builds what the testbed
# runs, brings the testbed up and exports what the scripts need (SLURM_CONF, TESTBED_RUN).
prepare_benchmark() {
    /usr/bin/python3 -c 'import matplotlib' 2>/dev/null || apt-get install -y -q python3-matplotlib >/dev/null
    make -s -C slurm-hooks
    make -s -C launcher all tests/lifeboat-workload
    [ -f agent/target/lifeboat-agent.jar ] || mvn -q package -DskipTests
    testbed/cluster.sh up >/dev/null
    export SLURM_CONF=$TESTBED_RUN/etc/slurm.conf TESTBED_RUN
}
