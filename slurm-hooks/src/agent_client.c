#include "agent_client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int set_timeouts(int fd)
{
	struct timeval timeout = { .tv_sec = LIFEBOAT_IO_TIMEOUT_SECONDS, .tv_usec = 0 };
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0)
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
}

static int write_all(int fd, const char *data, size_t length)
{
	while (length > 0) {
		ssize_t written = send(fd, data, length, MSG_NOSIGNAL);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += written;
		length -= (size_t)written;
	}
	return 0;
}

/* Reads up to the first newline; returns the line length, or -1 (errno set: EMSGSIZE if too long, EPROTO if closed). */
static ssize_t read_line(int fd, char *line, size_t size)
{
	size_t length = 0;
	while (length + 1 < size) {
		ssize_t got = recv(fd, line + length, 1, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0 || line[length] == '\n')
			break;
		length++;
	}
	if (length + 1 >= size || length == 0) {
		errno = length + 1 >= size ? EMSGSIZE : EPROTO;
		return -1;
	}
	line[length] = '\0';
	return (ssize_t)length;
}

int agent_request(const char *socket_path, const char *request, char *error, size_t error_size)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	char reply[LIFEBOAT_REPLY_MAX];
	int fd = -1;

	if (strlen(socket_path) >= sizeof(address.sun_path)) {
		snprintf(error, error_size, "socket path %s is too long", socket_path);
		goto fail;
	}
	memcpy(address.sun_path, socket_path, strlen(socket_path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || set_timeouts(fd) < 0) {
		snprintf(error, error_size, "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		snprintf(error, error_size, "cannot connect to the lifeboat agent at %s: %s", socket_path, strerror(errno));
		goto fail;
	}
	if (write_all(fd, request, strlen(request)) < 0 || write_all(fd, "\n", 1) < 0) {
		snprintf(error, error_size, "cannot send to the lifeboat agent at %s: %s", socket_path, strerror(errno));
		goto fail;
	}
	if (read_line(fd, reply, sizeof(reply)) < 0) {
		snprintf(error, error_size, "no reply from the lifeboat agent at %s: %s", socket_path, strerror(errno));
		goto fail;
	}
	if (strstr(reply, "\"status\":\"ok\"") == NULL) {
		snprintf(error, error_size, "the lifeboat agent refused: %s", reply);
		goto fail;
	}
	close(fd);
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	return -1;
}
