/* Unit tests of the agent client against a fake agent on a real Unix socket: run by `make check`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "../src/agent_client.h"

/* Serves one connection at path: reads the request line, answers with reply and closes. Returns the child's pid. */
static pid_t fake_agent(const char *path, const char *reply)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int listener = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	unlink(path);
	if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0 || listen(listener, 1) < 0) {
		perror("fake agent");
		exit(2);
	}
	pid_t pid = fork();
	if (pid == 0) {
		char byte;
		int connection = accept(listener, NULL, NULL);
		while (read(connection, &byte, 1) == 1 && byte != '\n')
			;
		for (size_t sent = 0; sent < strlen(reply);) {
			ssize_t written = write(connection, reply + sent, strlen(reply) - sent);
			if (written <= 0)
				break;
			sent += (size_t)written;
		}
		close(connection);
		_exit(0);
	}
	close(listener);
	return pid;
}

static int request(const char *path, const char *reply, char *error, size_t error_size)
{
	pid_t agent = fake_agent(path, reply);
	int result = agent_request(path, "{\"version\":1,\"request\":\"job-end\",\"job\":7}", error, error_size);
	waitpid(agent, NULL, 0);
	return result;
}

int main(void)
{
	char directory[] = "/tmp/lifeboat-client-test.XXXXXX";
	char path[64], error[512];
	if (mkdtemp(directory) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/agent.sock", directory);

	CHECK(request(path, "{\"version\":1,\"status\":\"ok\"}\n", error, sizeof(error)) == 0);

	CHECK(request(path, "{\"version\":1,\"status\":\"error\",\"error\":{\"code\":\"busy\"}}\n", error, sizeof(error)) == -1);
	CHECK(strstr(error, "the lifeboat agent refused: ") != NULL && strstr(error, "busy") != NULL);

	/* A reply longer than the plugin reads is refused whole, never taken for its "ok" prefix. */
	size_t long_length = LIFEBOAT_REPLY_MAX + 100;
	char *long_reply = malloc(long_length + 1);
	snprintf(long_reply, long_length + 1, "{\"version\":1,\"status\":\"ok\",\"pad\":\"%0*d\"}\n", (int)long_length - 40, 0);
	CHECK(request(path, long_reply, error, sizeof(error)) == -1);
	CHECK(strstr(error, strerror(EMSGSIZE)) != NULL);
	free(long_reply);

	CHECK(request(path, "", error, sizeof(error)) == -1);
	CHECK(strstr(error, "no reply from the lifeboat agent") != NULL);

	unlink(path);
	rmdir(directory);
	printf("agent_client_test: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
