package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code job-network:} section: the addresses this node gives to jobs that ask for a network of
 * their own ({@code --migratable=net}). Each node has its own range: ranges of different nodes must
 * not overlap, since an address moves with its job to other nodes and stays leased by the node that
 * gave it until Slurm says the job is over. Without {@code addresses} no job gets one here.
 */
public final class JobNetworkConfig {

    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final int DEFAULT_PREFIX_LENGTH = 24;
    // A site's share per node; more would be a typo (a /16 written as a node's range), not a plan.
    private static final long MAX_RANGE_SIZE = 65_536;

    private final Long firstAddress;
    private final Long lastAddress;
    private final int prefixLength;
    private final Long gateway;

    /** Null arguments take the defaults, so a missing key in the file and a missing argument mean the same. */
    @JsonCreator
    public JobNetworkConfig(@JsonProperty("addresses") String addresses,
                            @JsonProperty("prefix-length") Integer prefixLength,
                            @JsonProperty("gateway") String gateway) {
        this.prefixLength = prefixLength == null ? DEFAULT_PREFIX_LENGTH
                : (int) ConfigValues.requireAtLeast("job-network.prefix-length", prefixLength, 8);
        if (this.prefixLength > 30) {
            throw new InvalidConfigValueException("job-network.prefix-length", "must be at most 30, got " + prefixLength);
        }
        if (addresses == null) {
            firstAddress = null;
            lastAddress = null;
        } else {
            String[] ends = addresses.strip().split("\\s*-\\s*", -1);
            if (ends.length != 2) {
                throw new InvalidConfigValueException("job-network.addresses", "must be a range FIRST-LAST of IPv4 addresses, got '"
                        + addresses + "'");
            }
            firstAddress = parse("job-network.addresses", ends[0]);
            lastAddress = parse("job-network.addresses", ends[1]);
            if (lastAddress < firstAddress || lastAddress - firstAddress >= MAX_RANGE_SIZE) {
                throw new InvalidConfigValueException("job-network.addresses", "must run from a lower to a higher address, at most "
                        + MAX_RANGE_SIZE + " of them, got '" + addresses + "'");
            }
            if (network(firstAddress) != network(lastAddress)) {
                throw new InvalidConfigValueException("job-network.addresses", "'" + addresses + "' spans more than one /"
                        + this.prefixLength + " network (job-network.prefix-length)");
            }
        }
        this.gateway = gateway == null ? null : parse("job-network.gateway", gateway);
        if (this.gateway != null && firstAddress != null && network(this.gateway) != network(firstAddress)) {
            throw new InvalidConfigValueException("job-network.gateway", gateway + " is not in the addresses' /" + this.prefixLength
                    + " network");
        }
    }

    public static JobNetworkConfig defaults() {
        return new JobNetworkConfig(null, null, null);
    }

    /** Whether this node gives jobs addresses at all. */
    public boolean enabled() {
        return firstAddress != null;
    }

    /** The range's first address as a number (network byte order read as an unsigned int). */
    public long firstAddress() {
        return requireEnabled(firstAddress);
    }

    /** The range's last address, included. */
    public long lastAddress() {
        return requireEnabled(lastAddress);
    }

    public int prefixLength() {
        return prefixLength;
    }

    /** The default route's gateway for the jobs' interfaces, if the site names one. */
    public Optional<String> gateway() {
        return Optional.ofNullable(gateway).map(JobNetworkConfig::format);
    }

    /** An address number as dotted text. */
    public static String format(long address) {
        return (address >>> 24 & 0xff) + "." + (address >>> 16 & 0xff) + "." + (address >>> 8 & 0xff) + "." + (address & 0xff);
    }

    private long requireEnabled(Long value) {
        if (value == null) {
            throw new IllegalStateException("job-network.addresses is not set");
        }
        return value;
    }

    private long network(long address) {
        return address >>> (32 - prefixLength);
    }

    private static long parse(String key, String text) {
        return parseAddress(text.strip()).orElseThrow(() ->
                new InvalidConfigValueException(key, "must be an IPv4 address, got '" + text + "'"));
    }

    /** A dotted IPv4 address as a number (see {@link #format}), if the text is exactly one. */
    public static OptionalLong parseAddress(String text) {
        Matcher matcher = IPV4.matcher(text);
        if (!matcher.matches()) {
            return OptionalLong.empty();
        }
        long address = 0;
        for (int i = 1; i <= 4; i++) {
            int part = Integer.parseInt(matcher.group(i));
            if (part > 255) {
                return OptionalLong.empty();
            }
            address = address << 8 | part;
        }
        return OptionalLong.of(address);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof JobNetworkConfig that
                && Objects.equals(firstAddress, that.firstAddress)
                && Objects.equals(lastAddress, that.lastAddress)
                && prefixLength == that.prefixLength
                && Objects.equals(gateway, that.gateway);
    }

    @Override
    public int hashCode() {
        return Objects.hash(firstAddress, lastAddress, prefixLength, gateway);
    }

    @Override
    public String toString() {
        return "JobNetworkConfig[" + (enabled() ? format(firstAddress) + "-" + format(lastAddress) : "no addresses")
                + "/" + prefixLength + gateway().map(g -> " via " + g).orElse("") + "]";
    }
}
