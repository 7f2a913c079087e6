package org.lifeboat.agent.peer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;

/**
 * Authenticates agents with MUNGE, which every Slurm node already runs and shares a key for: no
 * certificates to issue. A credential carries the uid of its maker, munged refuses it once expired
 * (5 minutes by default) or decoded before on the same node, and its payload here is the SHA-256
 * of the one message it vouches for.
 */
public final class MungeAuthenticator implements PeerAuthenticator {

    static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Pattern CREDENTIAL = Pattern.compile("MUNGE:[A-Za-z0-9+/=]+:");
    // unmunge prints "KEY: text (number)" lines, a blank line, then the payload.
    private static final Pattern STATUS = Pattern.compile("^STATUS:\\s+(.*?)\\s*\\((\\d+)\\)$", Pattern.MULTILINE);
    private static final Pattern UID = Pattern.compile("^UID:\\s+.*?\\((\\d+)\\)$", Pattern.MULTILINE);
    private static final String ROOT_UID = "0";

    private final CommandRunner commands;
    private final Path mungeSocket;

    public MungeAuthenticator(CommandRunner commands, Path mungeSocket) {
        this.commands = Objects.requireNonNull(commands, "commands");
        this.mungeSocket = Objects.requireNonNull(mungeSocket, "mungeSocket");
    }

    @Override
    public String seal(byte[] message) throws PeerAuthenticationException {
        // --restrict-uid 0: only root may decode it, so a user who copies it off the network cannot
        // use it up in munged's replay cache before the agent it was meant for sees it.
        CommandResult result = run(List.of("munge", "--socket", mungeSocket.toString(), "--restrict-uid", ROOT_UID,
                "--string", WireFormat.sha256Hex(message)), new byte[0]);
        String credential = result.stdout().strip();
        if (!result.succeeded() || !CREDENTIAL.matcher(credential).matches()) {
            throw new PeerAuthenticationException("munge could not make a credential (exit " + result.exitCode() + "): "
                    + (result.stderr().isBlank() ? result.stdout() : result.stderr()).strip());
        }
        return credential;
    }

    @Override
    public void verify(String credential, byte[] message) throws PeerAuthenticationException {
        if (!CREDENTIAL.matcher(credential).matches()) {
            throw new PeerAuthenticationException("not a MUNGE credential");
        }
        CommandResult result = run(List.of("unmunge", "--socket", mungeSocket.toString(), "--keys", "STATUS,UID"),
                (credential + "\n").getBytes(StandardCharsets.US_ASCII));
        String output = result.stdout();
        int blankLine = output.indexOf("\n\n");
        String metadata = blankLine < 0 ? output : output.substring(0, blankLine);
        Matcher status = STATUS.matcher(metadata);
        boolean hasStatus = status.find();
        if (!result.succeeded() || !hasStatus || !status.group(2).equals("0")) {
            String reason = hasStatus ? status.group(1)
                    : "exit " + result.exitCode() + ", " + (result.stderr().isBlank() ? output : result.stderr()).strip();
            throw new PeerAuthenticationException("munge refused the credential: " + reason);
        }
        Matcher uid = UID.matcher(metadata);
        if (blankLine < 0 || !uid.find()) {
            throw new PeerAuthenticationException("unmunge printed no uid or no payload: " + output.strip());
        }
        if (!uid.group(1).equals(ROOT_UID)) {
            throw new PeerAuthenticationException("the credential was made by uid " + uid.group(1) + ", not by root");
        }
        if (!output.substring(blankLine + 2).equals(WireFormat.sha256Hex(message))) {
            throw new PeerAuthenticationException("the credential was made for another message");
        }
    }

    private CommandResult run(List<String> command, byte[] standardInput) throws PeerAuthenticationException {
        try {
            return commands.run(command, TIMEOUT, standardInput);
        } catch (CommandException e) {
            throw new PeerAuthenticationException(e.getMessage(), e);
        }
    }
}
