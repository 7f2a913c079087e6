package org.lifeboat.agent.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.NetworkInterface;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import org.lifeboat.predictor.config.InvalidPredictorConfigException;

/**
 * Reads {@link AgentConfig} from a YAML file and turns every problem into a one-line message for administrators.
 * Keys renamed in this release are still read under their old names, with a warning ({@link RenamedKeys}).
 */
public final class AgentConfigLoader {

    private static final Logger LOG = Logger.getLogger(AgentConfigLoader.class.getName());

    /** The names of this node's network interfaces. */
    @FunctionalInterface
    public interface NetworkInterfaces {

        Set<String> names() throws IOException;

        /** The interfaces of the network namespace this process runs in, as the agent sees them. */
        static NetworkInterfaces ofThisNode() {
            return () -> NetworkInterface.networkInterfaces().map(NetworkInterface::getName)
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private final ObjectMapper mapper = YAMLMapper.builder()
            // A misspelt key would otherwise silently fall back to a default.
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            // With a key given twice, the administrator cannot know which value wins.
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private final NetworkInterfaces networkInterfaces;

    public AgentConfigLoader() {
        this(NetworkInterfaces.ofThisNode());
    }

    /** @param networkInterfaces this node's interfaces, for {@link #loadForThisNode} */
    public AgentConfigLoader(NetworkInterfaces networkInterfaces) {
        this.networkInterfaces = Objects.requireNonNull(networkInterfaces, "networkInterfaces");
    }

    /** Reads and checks the file; a renamed key read under its old name is logged as a warning. */
    public AgentConfig load(Path file) throws InvalidConfigurationException {
        return load(file, LOG::warning);
    }

    /**
     * Reads and checks the file, and nothing beyond it: what it says can be checked on any host.
     *
     * @param warnings gets one line per renamed key read under its old name, naming the file, the key, its line
     *                 and what to write instead
     */
    public AgentConfig load(Path file, Consumer<String> warnings) throws InvalidConfigurationException {
        Objects.requireNonNull(file, "file");
        ObjectNode document = read(file);
        if (document == null) {
            return AgentConfig.defaults();
        }
        Map<String, String> oldNames = new HashMap<>();
        try {
            for (RenamedKeys.Use use : RenamedKeys.apply(document)) {
                String oldKey = use.key().oldKey();
                oldNames.put(use.key().newKey(), oldKey);
                warnings.accept(InvalidConfigurationException.message(file, "key '" + oldKey + "'" + atLine(file, oldKey)
                        + " is deprecated and read as '" + use.replacement() + "': write that instead, the next release"
                        + " will not know " + oldKey));
            }
        } catch (InvalidConfigValueException e) {
            throw new InvalidConfigurationException(file, "key '" + e.key() + "'" + atLine(file, e.key()) + " " + e.problem());
        }
        try {
            return mapper.treeToValue(document, AgentConfig.class);
        } catch (ValueInstantiationException e) {
            throw new InvalidConfigurationException(file, describeInvalidValue(file, e, oldNames));
        } catch (UnrecognizedPropertyException e) {
            throw new InvalidConfigurationException(file, describeUnknownKey(file, e));
        } catch (MismatchedInputException e) {
            throw new InvalidConfigurationException(file, describeWrongType(file, e, oldNames));
        } catch (JsonProcessingException e) {
            throw new InvalidConfigurationException(file, withoutSnippets(e.getOriginalMessage()));
        }
    }

    /**
     * Reads and checks the file as {@link #load(Path, Consumer)} does, and then what only the node the agent
     * runs on can tell: that the uplink interface exists. One the file names is an error when missing; eth0,
     * assumed when the file names none, only a warning, since a node without jobs of their own address never needs it.
     */
    public AgentConfig loadForThisNode(Path file, Consumer<String> warnings) throws InvalidConfigurationException {
        AgentConfig config = load(file, warnings);
        Set<String> interfaces;
        try {
            interfaces = networkInterfaces.names();
        } catch (IOException e) {
            warnings.accept(InvalidConfigurationException.message(file, "cannot list this node's network interfaces to check"
                    + " uplink-interface " + config.uplinkInterface() + ": " + e.getMessage()));
            return config;
        }
        if (interfaces.contains(config.uplinkInterface())) {
            return config;
        }
        String missing = "this node has no network interface " + config.uplinkInterface()
                + " (it has " + String.join(", ", interfaces) + ")";
        if (config.uplinkInterfaceGiven()) {
            throw new InvalidConfigurationException(file, "key 'uplink-interface'" + atLine(file, "uplink-interface") + ": "
                    + missing + "; name the interface jobs' own addresses are reachable through");
        }
        warnings.accept(InvalidConfigurationException.message(file, "uplink-interface is not set and " + missing
                + ": a job with an address of its own cannot be restored here until uplink-interface names the interface"
                + " its address is reachable through"));
        return config;
    }

    /** The file's document; null when it has none (empty, comments only, or a lone null), which means all defaults. */
    private ObjectNode read(Path file) throws InvalidConfigurationException {
        try (InputStream input = Files.newInputStream(file); JsonParser parser = mapper.createParser(input)) {
            JsonToken first = parser.nextToken();
            if (first == null || first == JsonToken.VALUE_NULL) {
                return null;
            }
            if (first != JsonToken.START_OBJECT) {
                throw new InvalidConfigurationException(file, "expected a section of 'key: value' lines at line "
                        + parser.currentTokenLocation().getLineNr());
            }
            return mapper.readTree(parser);
        } catch (NoSuchFileException e) {
            throw new InvalidConfigurationException(file, "file does not exist");
        } catch (AccessDeniedException e) {
            throw new InvalidConfigurationException(file, "permission denied");
        } catch (JsonProcessingException e) {
            throw new InvalidConfigurationException(file, "not valid YAML at line " + e.getLocation().getLineNr()
                    + ": " + withoutSnippets(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new InvalidConfigurationException(file, "cannot read: " + e.getMessage());
        }
    }

    private String describeInvalidValue(Path file, ValueInstantiationException exception, Map<String, String> oldNames) {
        if (exception.getCause() instanceof InvalidConfigValueException invalid) {
            return located(file, invalid.key(), oldNames) + " " + invalid.problem();
        }
        if (exception.getCause() instanceof InvalidPredictorConfigException invalid) {
            return located(file, invalid.key(), oldNames) + " " + invalid.problem();
        }
        return exception.getOriginalMessage();
    }

    private String describeUnknownKey(Path file, UnrecognizedPropertyException exception) {
        String key = keyPath(exception);
        String knownKeys = exception.getKnownPropertyIds().stream()
                .map(Object::toString)
                .sorted()
                .collect(Collectors.joining(", "));
        return "unknown key '" + key + "'" + atLine(file, key) + " (known keys: " + knownKeys + ")";
    }

    private String describeWrongType(Path file, MismatchedInputException exception, Map<String, String> oldNames) {
        String key = keyPath(exception);
        String actual = exception instanceof InvalidFormatException invalid ? ", got '" + invalid.getValue() + "'" : "";
        return located(file, key, oldNames) + " must be " + expectedValue(exception.getTargetType()) + actual;
    }

    /** The key as the file writes it, with its line; a key read under its old name is named by that. */
    private String located(Path file, String key, Map<String, String> oldNames) {
        String oldKey = oldNames.get(key);
        if (oldKey != null) {
            return "key '" + oldKey + "'" + atLine(file, oldKey) + " (read as " + key + ")";
        }
        return "key '" + key + "'" + atLine(file, key);
    }

    private static String expectedValue(Class<?> type) {
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        }
        if (type == Double.class || type == double.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a single value";
        }
        if (type != null && Collection.class.isAssignableFrom(type)) {
            return "a list such as [a, b]";
        }
        return "a section of 'key: value' lines";
    }

    private static String keyPath(JsonMappingException exception) {
        return exception.getPath().stream()
                .map(JsonMappingException.Reference::getFieldName)
                .filter(Objects::nonNull)
                .collect(Collectors.joining("."));
    }

    /**
     * Jackson reports where its parser stood when it gave up, which for keys read through a constructor is
     * past the offending line; a second pass finds the line where the key itself is written.
     */
    private String atLine(Path file, String dottedKey) {
        OptionalInt line = lineOfKey(file, JsonPointer.compile("/" + dottedKey.replace('.', '/')));
        return line.isPresent() ? " at line " + line.getAsInt() : "";
    }

    private OptionalInt lineOfKey(Path file, JsonPointer key) {
        try (InputStream input = Files.newInputStream(file); JsonParser parser = mapper.createParser(input)) {
            for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
                if (token == JsonToken.FIELD_NAME && parser.getParsingContext().pathAsPointer().equals(key)) {
                    return OptionalInt.of(parser.currentTokenLocation().getLineNr());
                }
            }
        } catch (IOException e) {
            // The file parsed a moment ago; should it fail now, the message is still useful without a line.
        }
        return OptionalInt.empty();
    }

    /** The YAML parser's messages quote the offending text on indented lines; one line needs only the prose. */
    private static String withoutSnippets(String message) {
        return message.lines()
                .filter(line -> !line.isBlank() && !Character.isWhitespace(line.charAt(0)))
                .collect(Collectors.joining("; "));
    }
}
