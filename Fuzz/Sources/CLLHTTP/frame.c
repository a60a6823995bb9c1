// See include/cllhttp_frame.h.
#include "cllhttp_frame.h"
#include "llhttp/llhttp.h"
#include <string.h>

typedef struct {
    dfz_result *out;
    size_t body;
    int started;
} dfz_state;

static int on_message_begin(llhttp_t *p) {
    dfz_state *s = p->data;
    s->body = 0;
    s->started = 1;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t length) {
    (void)at;
    dfz_state *s = p->data;
    s->body += length;
    return 0;
}

static int on_message_complete(llhttp_t *p) {
    dfz_state *s = p->data;
    s->started = 0;
    if (s->out->count < DFZ_MAX_MESSAGES) {
        dfz_message *m = &s->out->messages[s->out->count];
        m->body = s->body;
        m->keep_alive = llhttp_should_keep_alive(p);
        m->http_major = p->http_major;
        m->http_minor = p->http_minor;
    }
    // Pause: llhttp_execute returns HPE_PAUSED with error_pos just past this message.
    return HPE_PAUSED;
}

void dfz_llhttp_frame(const uint8_t *data, size_t length, dfz_result *out) {
    memset(out, 0, sizeof *out);
    llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_message_begin = on_message_begin;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
    llhttp_t parser;
    llhttp_init(&parser, HTTP_REQUEST, &settings);
    dfz_state state = { out, 0, 0 };
    parser.data = &state;
    const char *base = (const char *)data;
    size_t offset = 0;
    for (;;) {
        llhttp_errno_t err = llhttp_execute(&parser, base + offset, length - offset);
        if (err == HPE_OK) {
            out->in_message = state.started;
            return;
        }
        if (err == HPE_PAUSED) {
            size_t end = (size_t)(llhttp_get_error_pos(&parser) - base);
            if (out->count < DFZ_MAX_MESSAGES) {
                out->messages[out->count].end = end;
            }
            int keep_alive = out->count < DFZ_MAX_MESSAGES ? out->messages[out->count].keep_alive : 0;
            out->count += 1;
            if (out->count >= DFZ_MAX_MESSAGES) { out->closed = 1; return; }
            if (parser.upgrade) { out->upgrade = 1; return; }
            if (!keep_alive) { out->closed = 1; return; }
            llhttp_resume(&parser);
            offset = end;
            continue;
        }
        if (err == HPE_PAUSED_UPGRADE) {
            out->upgrade = 1;
            return;
        }
        out->error = err;
        out->error_pos = (size_t)(llhttp_get_error_pos(&parser) - base);
        out->reason = llhttp_get_error_reason(&parser);
        return;
    }
}
