// What llhttp (strict mode) makes of a byte stream of requests, for FuzzDifferential.
// llhttp's own sources are not committed: Fuzz/run.sh copies them from Debian's node-llhttp
// package into Fuzz/Sources/CLLHTTP/llhttp/ before building.
#ifndef CLLHTTP_FRAME_H
#define CLLHTTP_FRAME_H
#include <stddef.h>
#include <stdint.h>

#define DFZ_MAX_MESSAGES 64

typedef struct {
    size_t end;          // offset just past the message (head, body and trailers)
    size_t body;         // body bytes, chunk framing removed
    int keep_alive;      // llhttp_should_keep_alive at the end of the message
    int http_major;
    int http_minor;
} dfz_message;

typedef struct {
    int count;
    dfz_message messages[DFZ_MAX_MESSAGES];
    int error;           // llhttp_errno_t; 0 when none
    size_t error_pos;    // offset of the byte llhttp rejected
    const char *reason;  // llhttp's reason (static string)
    int in_message;      // input ended inside a message
    int upgrade;         // stopped at an upgrade or CONNECT (the rest is not HTTP)
    int closed;          // stopped after a message that ends the connection
} dfz_result;

/// Runs llhttp over `data` in one call per message (pausing after each), as a server would:
/// it stops after a message that ends the connection, at an upgrade, or at an error.
void dfz_llhttp_frame(const uint8_t *data, size_t length, dfz_result *out);

#endif
