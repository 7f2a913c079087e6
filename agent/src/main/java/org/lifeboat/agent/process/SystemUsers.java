package org.lifeboat.agent.process;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/** Looks users up the way the node's C library does (getent), so LDAP and sssd users resolve too. */
public final class SystemUsers {

    private static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(10);

    private final CommandRunner commands;

    public SystemUsers(CommandRunner commands) {
        this.commands = Objects.requireNonNull(commands, "commands");
    }

    /** The uid of a user given by name or by number. */
    public int uidOf(String user) throws CommandException {
        if (user.matches("[0-9]{1,10}")) {
            return uid(user, "user " + user);
        }
        CommandResult result = commands.run(List.of("getent", "passwd", user), LOOKUP_TIMEOUT);
        if (result.exitCode() == 2) {
            throw new CommandException("there is no user '" + user + "' on this node");
        }
        String[] fields = result.requireSuccess().stdout().strip().split(":");
        if (fields.length < 3 || !fields[2].matches("[0-9]{1,10}")) {
            throw new CommandException("getent passwd " + user + " printed an entry without a uid: " + result.stdout().strip());
        }
        return uid(fields[2], "getent passwd " + user);
    }

    /** The account of a uid: its name, primary group and home directory. */
    public Account account(int uid) throws CommandException {
        CommandResult result = commands.run(List.of("getent", "passwd", Integer.toString(uid)), LOOKUP_TIMEOUT);
        if (result.exitCode() == 2) {
            throw new CommandException("there is no user with uid " + uid + " on this node");
        }
        String[] fields = result.requireSuccess().stdout().strip().split(":");
        if (fields.length < 6 || !fields[3].matches("[0-9]{1,10}") || !fields[5].startsWith("/")) {
            throw new CommandException("getent passwd " + uid + " printed an entry without a gid or home: " + result.stdout().strip());
        }
        return new Account(fields[0], uid(fields[3], "getent passwd " + uid), fields[5]);
    }

    /** A user as passwd knows them. */
    public record Account(String name, int gid, String home) {}

    private static int uid(String digits, String source) throws CommandException {
        try {
            return Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw new CommandException(source + ": uid " + digits + " is beyond the largest uid the agent supports ("
                    + Integer.MAX_VALUE + ")");
        }
    }
}
