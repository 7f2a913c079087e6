package org.lifeboat.agent.cli;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Iterator;
import org.lifeboat.agent.migration.TransferMode;
import org.lifeboat.predictor.Durations;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Option values checked while the command line is read, so that a typo ends with exit code 2 and a
 * message naming the option, before anything reaches the agent or Slurm.
 */
final class OptionValues {

    private OptionValues() {}

    /** A Slurm job id: a whole number from 1. */
    static final class JobId implements ITypeConverter<Long> {
        @Override
        public Long convert(String text) {
            long job;
            try {
                job = Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + text + "' is not a job id");
            }
            if (job < 1) {
                throw new TypeConversionException("'" + text + "' is not a job id: Slurm's start at 1");
            }
            return job;
        }
    }

    /** A time from now, as the agent's prediction intake reads it: 90s, 5m, 1h30m. */
    static final class Lead implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String text) {
            try {
                return Durations.parse(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** A confidence: a number from 0 to 1. */
    static final class Confidence implements ITypeConverter<Double> {
        @Override
        public Double convert(String text) {
            double confidence;
            try {
                confidence = Double.parseDouble(text);
            } catch (NumberFormatException e) {
                confidence = Double.NaN;
            }
            if (!(confidence >= 0 && confidence <= 1)) {
                throw new TypeConversionException("'" + text + "' is not a number from 0 to 1");
            }
            return confidence;
        }
    }

    /** A transfer mode by its wire name: diskless or shared-fs. */
    static final class Mode implements ITypeConverter<TransferMode> {
        @Override
        public TransferMode convert(String text) {
            try {
                return TransferMode.fromWireName(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** The modes, for --help and shell completion. */
    static final class Modes implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(TransferMode.values()).map(TransferMode::wireName).iterator();
        }
    }

    /** The agent's HTTP address: an http or https URL with a host. */
    static final class HttpUrl implements ITypeConverter<URI> {
        @Override
        public URI convert(String text) {
            URI url;
            try {
                url = new URI(text);
            } catch (URISyntaxException e) {
                url = null;
            }
            if (url == null || !("http".equals(url.getScheme()) || "https".equals(url.getScheme())) || url.getHost() == null) {
                throw new TypeConversionException("'" + text + "' is not an http:// or https:// URL with a host, such as"
                        + " http://127.0.0.1:9464");
            }
            return url;
        }
    }
}
