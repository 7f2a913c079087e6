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
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.stream.Collectors;
import org.lifeboat.predictor.config.InvalidPredictorConfigException;

/** Reads {@link AgentConfig} from a YAML file and turns every problem into a one-line message for administrators. */
public final class AgentConfigLoader {

    private final ObjectMapper mapper = YAMLMapper.builder()
            // A misspelt key would otherwise silently fall back to a default.
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            // With a key given twice, the administrator cannot know which value wins.
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    public AgentConfig load(Path file) throws InvalidConfigurationException {
        Objects.requireNonNull(file, "file");
        try (InputStream input = Files.newInputStream(file); JsonParser parser = mapper.createParser(input)) {
            // An empty file, or one holding only comments, has no document at all; it means "all defaults".
            if (parser.nextToken() == null) {
                return AgentConfig.defaults();
            }
            AgentConfig config = mapper.readValue(parser, AgentConfig.class);
            return config == null ? AgentConfig.defaults() : config;
        } catch (NoSuchFileException e) {
            throw new InvalidConfigurationException(file, "file does not exist");
        } catch (AccessDeniedException e) {
            throw new InvalidConfigurationException(file, "permission denied");
        } catch (ValueInstantiationException e) {
            throw new InvalidConfigurationException(file, describeInvalidValue(file, e));
        } catch (UnrecognizedPropertyException e) {
            throw new InvalidConfigurationException(file, describeUnknownKey(file, e));
        } catch (MismatchedInputException e) {
            throw new InvalidConfigurationException(file, describeWrongType(file, e));
        } catch (JsonProcessingException e) {
            throw new InvalidConfigurationException(file, "not valid YAML at line " + e.getLocation().getLineNr()
                    + ": " + withoutSnippets(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new InvalidConfigurationException(file, "cannot read: " + e.getMessage());
        }
    }

    private String describeInvalidValue(Path file, ValueInstantiationException exception) {
        if (exception.getCause() instanceof InvalidConfigValueException) {
            InvalidConfigValueException invalid = (InvalidConfigValueException) exception.getCause();
            return "key '" + invalid.key() + "'" + atLine(file, invalid.key()) + " " + invalid.problem();
        }
        if (exception.getCause() instanceof InvalidPredictorConfigException invalid) {
            return "key '" + invalid.key() + "'" + atLine(file, invalid.key()) + " " + invalid.problem();
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

    private String describeWrongType(Path file, MismatchedInputException exception) {
        String key = keyPath(exception);
        String expected = expectedValue(exception.getTargetType());
        if (key.isEmpty()) {
            return "expected " + expected + " at line " + exception.getLocation().getLineNr();
        }
        String actual = exception instanceof InvalidFormatException
                ? ", got '" + ((InvalidFormatException) exception).getValue() + "'"
                : "";
        return "key '" + key + "'" + atLine(file, key) + " must be " + expected + actual;
    }

    private static String expectedValue(Class<?> type) {
        if (type == Integer.class) {
            return "a whole number";
        }
        if (type == String.class) {
            return "a single value";
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
