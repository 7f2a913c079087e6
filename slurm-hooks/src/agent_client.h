/*
 * The client side of the agent's socket protocol (version 1): one JSON object per line, each
 * request answered by one line carrying "status". See the README's "Agent socket protocol".
 */
#ifndef LIFEBOAT_AGENT_CLIENT_H
#define LIFEBOAT_AGENT_CLIENT_H

#include <stddef.h>

#define LIFEBOAT_PROTOCOL_VERSION 1
/* Longest reply line the plugin reads. The agent answers the plugin's requests with the status
 * alone, or an error's code and a short message, never a job record (whose container manifest
 * grows with the job's argv); the plugin's own requests are far shorter too. */
#define LIFEBOAT_REPLY_MAX 4096
/* Every connect, send and receive gives up after this long: slurmstepd must never hang on us. */
#define LIFEBOAT_IO_TIMEOUT_SECONDS 5

/*
 * Sends one request line (without its newline) to the agent at socket_path and waits for the
 * reply. Returns 0 when the agent answered "status":"ok"; otherwise -1 with a message in error.
 */
int agent_request(const char *socket_path, const char *request, char *error, size_t error_size);

#endif
