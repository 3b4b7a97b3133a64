/*
 * The update agent's loop (see otakit/agent_loop.h): registration, self-test and confirm, settling
 * an update after a reset, check, commands with consent, update with reports, backoff with jitter.
 * Each step does one bounded piece of work and answers how long to wait before the next.
 */
#include <stdarg.h>
#include <string.h>

#include "otakit/agent_loop.h"

#include "core/buf.h"
#include "core/le.h"
#include "core/text.h"

enum { P_REGISTER, P_SELFTEST, P_SETTLE, P_CHECK, P_COMMANDS, P_UPDATE, P_STOPPED };

/* Report statuses; their index is the bit of ota_agent_t.sent. */
enum { S_DOWNLOADING = 1, S_DOWNLOADED, S_INSTALLING, S_INSTALLED, S_CONFIRMED, S_FAILED, S_ROLLED_BACK };
static const char *const status_name[] = {"",          "downloading", "downloaded", "installing",
                                          "installed", "confirmed",   "failed",     "rolled_back"};

#define STATE_FORMAT 1u

/* ---- logs and events ------------------------------------------------------------------------ */

/* Logs the concatenation of the strings given (NULL ends the list). */
static void say(const ota_agent_t *a, int level, const char *first, ...)
{
    char line[OTA_AGENT_MSG_MAX];
    ota_buf_t b;
    const char *s;
    va_list ap;
    if (!a->cfg.port || !a->cfg.port->log)
        return;
    line[0] = 0;
    ota_buf_text(&b, line, sizeof line);
    va_start(ap, first);
    for (s = first; s; s = va_arg(ap, const char *)) {
        size_t n = strlen(s), room = b.cap - b.n;
        ota_buf_put_n(&b, s, n < room ? n : room); /* a long line is cut, not dropped */
    }
    va_end(ap);
    a->cfg.port->log(a->cfg.port->ctx, level, line);
}

static void emit(const ota_agent_t *a, ota_agent_event_t *ev)
{
    if (!ev->text)
        ev->text = "";
    if (!ev->version)
        ev->version = "";
    if (a->cfg.port && a->cfg.port->event)
        a->cfg.port->event(a->cfg.port->ctx, ev);
}

static void event(const ota_agent_t *a, ota_agent_ev_type_t type, int rc, const char *text, uint32_t delay)
{
    ota_agent_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.rc = rc;
    ev.text = text;
    ev.version = a->chk.version;
    ev.action_id = a->action_id;
    ev.progress = -1;
    ev.delay_ms = delay;
    emit(a, &ev);
}

/* An event about the device's credentials: the error, the HTTP status and the wait that follows. */
static void status_event(const ota_agent_t *a, ota_agent_ev_type_t type, int rc, int status, uint32_t delay)
{
    ota_agent_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.rc = rc;
    ev.status = status;
    ev.progress = -1;
    ev.delay_ms = delay;
    emit(a, &ev);
}

/* ---- persisted state ------------------------------------------------------------------------ */

static int put_str(uint8_t *p, uint32_t *n, const char *s, size_t max)
{
    size_t l = strlen(s);
    if (l >= max || *n + 1 + l > OTA_SETTINGS_MAX)
        return 0;
    p[(*n)++] = (uint8_t)l;
    memcpy(p + *n, s, l);
    *n += (uint32_t)l;
    return 1;
}

static int get_str(const uint8_t *p, uint32_t len, uint32_t *n, char *out, size_t cap)
{
    uint32_t l;
    if (*n >= len || (l = p[*n]) >= cap || *n + 1 + l > len)
        return 0;
    memcpy(out, p + *n + 1, l);
    out[l] = 0;
    *n += 1 + l;
    return 1;
}

static int save(ota_agent_t *a)
{
    uint8_t p[OTA_SETTINGS_MAX];
    uint32_t n = 7;
    int rc;
    p[0] = STATE_FORMAT;
    ota_put_le16(p + 1, a->sent);
    ota_put_le32(p + 3, a->action_id);
    if (!put_str(p, &n, a->token, sizeof a->token) || !put_str(p, &n, a->target, sizeof a->target))
        return OTA_ERR_NO_SPACE;
    if (a->has_delta_ck && n + OTA_DELTA_CKPT_SIZE <= sizeof p) { /* the delta checkpoint, last */
        ota_delta_ckpt_put(&a->delta_ck, p + n);
        n += OTA_DELTA_CKPT_SIZE;
    }
    if ((rc = a->cfg.settings->save(a->cfg.settings->ctx, p, n)) != OTA_OK)
        say(a, 0, "cannot save the settings: ", ota_errname(rc), NULL);
    return rc;
}

static void load(ota_agent_t *a)
{
    uint8_t p[OTA_SETTINGS_MAX];
    uint32_t n = 7;
    int len = a->cfg.settings->load(a->cfg.settings->ctx, p, sizeof p);
    if (len < 0)
        say(a, 0, "cannot read the settings: ", ota_errname(len), NULL);
    if (len < 7 || p[0] != STATE_FORMAT || !get_str(p, (uint32_t)len, &n, a->token, sizeof a->token) ||
        !get_str(p, (uint32_t)len, &n, a->target, sizeof a->target)) {
        a->token[0] = a->target[0] = 0;
        return;
    }
    a->sent = ota_get_le16(p + 1);
    a->action_id = ota_get_le32(p + 3);
    a->has_delta_ck = (uint32_t)len == n + OTA_DELTA_CKPT_SIZE && ota_delta_ckpt_get(p + n, &a->delta_ck) == OTA_OK;
}

static void forget_action(ota_agent_t *a)
{
    a->action_id = 0;
    a->target[0] = 0;
    a->sent = 0;
    a->has_delta_ck = 0;
    save(a);
}

/* ---- timing --------------------------------------------------------------------------------- */

static uint32_t now(const ota_agent_t *a)
{
    const ota_platform_ops_t *p = a->cfg.platform;
    return p && p->now_ms ? p->now_ms(p->ctx) : 0;
}

static uint32_t rnd(ota_agent_t *a) /* xorshift32 */
{
    uint32_t x = a->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return a->rng = x;
}

/* The wait after one more failure in a row: min doubling up to max, drawn in [d/2, d]. */
static uint32_t backoff(ota_agent_t *a, int rc)
{
    uint32_t d = a->cfg.retry_min_ms;
    unsigned i;
    a->last_error = rc;
    for (i = 0; i < a->failures && d < a->cfg.retry_max_ms; i++)
        d = d > a->cfg.retry_max_ms / 2 ? a->cfg.retry_max_ms : d * 2;
    if (d > a->cfg.retry_max_ms)
        d = a->cfg.retry_max_ms;
    if (a->failures < 255)
        a->failures++;
    return d / 2 + rnd(a) % (d - d / 2 + 1);
}

/* ---- requests ------------------------------------------------------------------------------- */

/* Sends one report of the action in flight over http; marks it sent when the server answered it
 * (2xx, or a 4xx: the server will never take it, so it is not retried). Returns the error of a
 * report that should be tried again (network, 5xx), else OTA_OK. */
static int report(ota_agent_t *a, ota_http_t *http, int s, int progress, const char *message)
{
    char id[11], st[11], pc[11];
    ota_agent_event_t ev;
    int status, rc = ota_agent_report(http, a->cfg.server_url, a->token, a->action_id, status_name[s], a->version,
                                      progress, message, a->body, sizeof a->body, &status);
    say(a, rc == OTA_OK ? 1 : 0, "report ", status_name[s], progress >= 0 ? " " : "",
        progress >= 0 ? ota_u32_str(pc, (uint32_t)progress) : "", progress >= 0 ? "%" : "", " action=",
        ota_u32_str(id, a->action_id), " -> ", status ? ota_u32_str(st, (uint32_t)status) : ota_errname(rc), NULL);
    if (rc != OTA_OK && !(status >= 400 && status < 500))
        return rc;
    a->sent |= (uint16_t)(1u << s);
    memset(&ev, 0, sizeof ev);
    ev.type = OTA_AGENT_EV_REPORT;
    ev.rc = rc;
    ev.status = status;
    ev.action_id = a->action_id;
    ev.text = status_name[s];
    ev.progress = progress;
    emit(a, &ev);
    return OTA_OK;
}

static uint32_t do_reset(ota_agent_t *a)
{
    say(a, 1, "resetting", NULL);
    event(a, OTA_AGENT_EV_RESET, OTA_OK, NULL, 0);
    a->phase = P_STOPPED;
    if (a->cfg.port && a->cfg.port->reset)
        a->cfg.port->reset(a->cfg.port->ctx);
    return OTA_AGENT_STOPPED;
}

/* A check; may_wait: it may be held at the server (long_poll_s), never the self-test's, which
 * must answer within the commit window. */
static int do_check(ota_agent_t *a, int may_wait)
{
    ota_http_t *h = a->cfg.http;
    uint32_t rt = h->cfg.read_timeout_ms, t0 = now(a);
    unsigned wait_s = may_wait ? a->cfg.long_poll_s : 0;
    int rc;
    if (wait_s) /* the server holds the answer up to wait_s */
        h->cfg.read_timeout_ms = (rt ? rt : 15000u) + wait_s * 1000u;
    rc = ota_check_request_opts(h, a->cfg.server_url, a->token, a->version, a->cfg.boot->slot,
                                a->cfg.boot->security_counter, a->buf, sizeof a->buf, &a->chk, a->cfg.delta != NULL,
                                wait_s);
    h->cfg.read_timeout_ms = rt;
    ota_http_close(h);
    /* Held for (most of) the wait: nothing happened, ask again at once. Answered sooner with
     * nothing for us (news for another device of the product, a server without long-polling,
     * no clock): the usual poll interval. */
    a->held = wait_s && rc == OTA_OK && a->cfg.platform && a->cfg.platform->now_ms &&
              now(a) - t0 >= wait_s * 500u;
    return rc;
}

/* ---- the phases ----------------------------------------------------------------------------- */

static uint32_t trial_end(ota_agent_t *a, int rc, int refusal);

/* The server refused the device token (401): the device was deleted there or its token revoked.
 * Registers again once with the enrollment token (until a check passes); else, or when that was
 * refused (status: its HTTP status), says so and checks again only after about retry_max_ms. */
static uint32_t refused(ota_agent_t *a, int status)
{
    char st[11], ms[11];
    uint32_t d, max = a->cfg.retry_max_ms;
    a->last_error = OTA_ERR_AUTH;
    if (a->cfg.enroll_token && !a->reregistered) {
        say(a, 0, "device token refused (401: deleted on the server or revoked): registering again", NULL);
        a->reregistered = 1;
        a->failures = 0;
        a->phase = P_REGISTER;
        return 0;
    }
    a->phase = P_CHECK;
    d = max / 2 + rnd(a) % (max - max / 2 + 1);
    say(a, 0, "device token refused (401: deleted on the server or revoked), ",
        a->cfg.enroll_token ? "registering again failed (" : "no enrollment token to register again",
        a->cfg.enroll_token ? ota_u32_str(st, (uint32_t)status) : "", a->cfg.enroll_token ? ")" : "",
        ": next check in ", ota_u32_str(ms, d), " ms", NULL);
    status_event(a, OTA_AGENT_EV_REFUSED, OTA_ERR_AUTH, status, d);
    return d;
}

static uint32_t step_register(ota_agent_t *a)
{
    char st[11], ms[11];
    int status = 0, rc;
    uint32_t d;
    rc = ota_agent_register(a->cfg.http, a->cfg.server_url, a->cfg.enroll_token, a->cfg.device_id, a->cfg.hw_rev,
                            a->version, a->cfg.boot->slot, a->cfg.boot->security_counter, a->token,
                            sizeof a->token, a->body, sizeof a->body, &status);
    if (rc == OTA_OK && (rc = save(a)) == OTA_OK) {
        a->failures = 0;
        say(a, 1, "registered", NULL);
        event(a, OTA_AGENT_EV_REGISTERED, OTA_OK, NULL, 0);
        a->phase = a->on_trial ? P_SELFTEST : P_SETTLE;
        return 0;
    }
    a->token[0] = 0;
    if (a->reregistered && (a->on_trial || (status >= 400 && status < 500)))
        load(a); /* the saved token again: a server restored from a backup may take it */
    if (a->reregistered && status >= 400 && status < 500)
        return a->on_trial ? trial_end(a, OTA_OK, status) : refused(a, status);
    d = backoff(a, rc);
    if (a->reregistered && a->on_trial)
        a->phase = P_SELFTEST; /* its next check tells an outage (counted) from the 401 again */
    say(a, 0, "register failed: ", status ? ota_u32_str(st, (uint32_t)status) : ota_errname(rc), ", retry in ",
        ota_u32_str(ms, d), " ms", NULL);
    status_event(a, OTA_AGENT_EV_REGISTER_FAILED, rc, status, d);
    return d;
}

/* A new image on trial: the port's self-test, then the server must answer a check. A 401 is an
 * answer too (the device was deleted there or its token revoked; the older image holds the same
 * token, in the settings, so a rollback would not bring it back): with an enrollment token the
 * device registers again and the self-test goes on here with the new token; without one, or when
 * that registration is refused, the answer is the proof (trial_end() with its status). */
static uint32_t step_selftest(ota_agent_t *a)
{
    int rc = OTA_OK;
    if (a->cfg.port && a->cfg.port->self_test && a->cfg.port->self_test(a->cfg.port->ctx) != 0)
        rc = OTA_ERR_STATE;
    else if ((rc = do_check(a, 0)) == OTA_ERR_HTTP_STATUS && a->cfg.http->status == 401)
        return a->cfg.enroll_token && !a->reregistered ? refused(a, 401) : trial_end(a, OTA_OK, 401);
    else if (rc != OTA_OK && ++a->self_test_tries < a->cfg.self_test_tries)
        return backoff(a, rc);
    if (rc == OTA_OK)
        a->reregistered = 0; /* a check passed */
    return trial_end(a, rc, 0);
}

/* Ends the trial of a new image: rc OTA_OK, the self-test passed (refusal: the HTTP status with
 * which the server refused the device's credentials, 0 if it took them), then ota_confirm(); else
 * ota_rollback() and reset(). */
static uint32_t trial_end(ota_agent_t *a, int rc, int refusal)
{
    uint32_t d;
    if (rc == OTA_OK && (rc = ota_confirm(a->cfg.ota)) == OTA_OK) {
        char st[11];
        a->failures = 0;
        a->on_trial = 0;
        say(a, 1, "self-test passed: confirmed ", a->version, refusal ? " (the server answered " : "",
            refusal ? ota_u32_str(st, (uint32_t)refusal) : "", refusal ? ": reachable, credentials refused)" : "",
            NULL);
        event(a, OTA_AGENT_EV_CONFIRMED, OTA_OK, NULL, 0);
        a->phase = P_SETTLE;
        if (!refusal)
            return 0;
        d = refused(a, refusal); /* the usual refusal: one line, OTA_AGENT_EV_REFUSED, retry_max */
        a->phase = P_SETTLE;     /* then the reports of the update, to a server that may take them */
        return d;
    }
    a->last_error = rc;
    say(a, 0, "self-test failed (", ota_errname(rc), "): rolling back", NULL);
    event(a, OTA_AGENT_EV_SELF_TEST_FAILED, rc, NULL, 0);
    ota_rollback(a->cfg.ota);
    return do_reset(a);
}

/* After a reset with an update in flight: the reports it missed, one per step, then forget it. */
static uint32_t step_settle(ota_agent_t *a)
{
    static const uint8_t done[] = {S_DOWNLOADED, S_INSTALLING, S_INSTALLED, S_CONFIRMED, 0};
    static const uint8_t back[] = {S_DOWNLOADED, S_INSTALLING, S_ROLLED_BACK, 0};
    const ota_boot_result_t *b = a->cfg.boot;
    ota_version_t tv;
    const uint8_t *seq;
    int at_target, rc;
    if (!a->action_id) {
        a->phase = P_CHECK;
        return 0;
    }
    at_target = ota_version_parse(a->target, &tv) == OTA_OK && ota_version_cmp(&tv, &b->version) == 0;
    if (!at_target && !b->rolled_back && b->state != OTA_STATE_FAILED) {
        a->phase = P_CHECK; /* not installed yet: the check offers the action again */
        return 0;
    }
    for (seq = at_target ? done : back; *seq; seq++) {
        const char *msg = NULL;
        if (a->sent & (1u << *seq))
            continue;
        if (*seq == S_CONFIRMED)
            msg = "self-test passed";
        if (*seq == S_ROLLED_BACK) {
            ota_buf_t w;
            a->msg[0] = 0;
            ota_buf_text(&w, a->msg, sizeof a->msg);
            ota_buf_put(&w, "rolled back to ");
            ota_buf_put(&w, a->version);
            msg = a->msg;
        }
        if ((rc = report(a, a->cfg.http, *seq, -1, msg)) != OTA_OK)
            return backoff(a, rc);
        a->failures = 0;
        if (seq[1]) {
            save(a);
            return 0;
        }
    }
    say(a, 1, "update ", a->target, at_target ? " confirmed" : " rolled back", NULL);
    event(a, OTA_AGENT_EV_SETTLED, OTA_OK, at_target ? "confirmed" : "rolled_back", 0);
    forget_action(a);
    a->phase = P_CHECK;
    return 0;
}

static uint32_t step_check(ota_agent_t *a)
{
    int rc = do_check(a, 1);
    uint32_t d;
    if (rc == OTA_ERR_HTTP_STATUS && a->cfg.http->status == 401)
        return refused(a, 401);
    if (rc != OTA_OK) {
        char ms[11];
        d = backoff(a, rc);
        say(a, 0, "check failed: ", ota_errname(rc), ", retry in ", ota_u32_str(ms, d), " ms", NULL);
        event(a, OTA_AGENT_EV_CHECK_FAILED, rc, NULL, d);
        return d;
    }
    a->failures = 0;
    a->reregistered = 0;
    a->poll_ms = a->chk.poll_interval ? a->chk.poll_interval * 1000u : a->cfg.poll_ms;
    if (a->chk.poll_interval > 0xffffffffu / 1000u)
        a->poll_ms = 0xffffffffu - 1u;
    if (a->cfg.poll_max_ms && a->poll_ms > a->cfg.poll_max_ms)
        a->poll_ms = a->cfg.poll_max_ms;
    a->cmd_next = 0;
    a->phase = P_COMMANDS;
    return 0;
}

/* Carries out the next command of the last check: ack first, then act. */
static uint32_t step_commands(ota_agent_t *a)
{
    const ota_command_t *c;
    const ota_agent_port_t *p = a->cfg.port;
    ota_agent_event_t ev;
    const char *ack, *why;
    char id[11];
    int accept, rc, status, reboot, upgrade;
    if (a->cmd_next >= a->chk.n_commands) {
        a->phase = P_UPDATE;
        return 0;
    }
    c = &a->chk.commands[a->cmd_next];
    reboot = !strcmp(c->type, "reboot");
    upgrade = !strcmp(c->type, "upgrade");
    if (!(reboot || upgrade) || (reboot && !(p && p->reset))) {
        accept = 0;
        ack = "failed";
        why = reboot ? "this device cannot reset itself (no reset hook)" : "unsupported command";
    } else {
        accept = p && p->consent ? p->consent(p->ctx, c) != 0 : !a->cfg.decline_commands;
        ack = accept ? "done" : "declined";
        why = accept ? NULL : "declined on the device";
    }
    rc = ota_agent_ack(a->cfg.http, a->cfg.server_url, a->token, c->id, ack, why, a->body, sizeof a->body, &status);
    say(a, rc == OTA_OK ? 1 : 0, "command ", c->type, " ", ota_u32_str(id, c->id), ": ", ack,
        rc == OTA_OK ? "" : ", ack failed: ", rc == OTA_OK ? "" : ota_errname(rc), NULL);
    if (rc != OTA_OK && !(status >= 400 && status < 500))
        return backoff(a, rc); /* the ack again, later */
    a->failures = 0;
    a->cmd_next++;
    memset(&ev, 0, sizeof ev);
    ev.type = OTA_AGENT_EV_COMMAND;
    ev.rc = rc;
    ev.status = status;
    ev.action_id = c->action_id;
    ev.text = c->type;
    ev.version = c->version;
    ev.accepted = (uint8_t)accept;
    ev.progress = -1;
    emit(a, &ev);
    if (upgrade && !accept)
        a->declined_action = c->action_id;
    if (reboot && accept) {
        /* A downloaded update waiting for this reboot: it installs now. */
        if (a->action_id && (a->sent & (1u << S_DOWNLOADED)) && a->cfg.ota->rec.state == OTA_STATE_NEW &&
            !(a->sent & (1u << S_INSTALLING))) {
            report(a, a->cfg.http, S_INSTALLING, -1, NULL);
            save(a);
        }
        return do_reset(a);
    }
    return 0;
}

static void on_progress(void *arg, uint32_t done, uint32_t total)
{
    ota_agent_t *a = arg;
    ota_agent_event_t ev;
    /* percent without 64-bit division (no __aeabi_uldivmod on a Cortex-M) */
    unsigned pct = !total ? 0u : total > 0xffffffffu / 100u ? done / (total / 100u) : done * 100u / total;
    uint32_t t = now(a);
    memset(&ev, 0, sizeof ev);
    ev.type = OTA_AGENT_EV_PROGRESS;
    ev.action_id = a->action_id;
    ev.version = a->chk.version;
    ev.size = total;
    ev.done = done;
    ev.progress = (int)pct;
    emit(a, &ev);
    if (pct < a->last_pct) /* the download started over */
        a->last_pct = 0;
    if (!a->cfg.report_http || pct >= 100 || pct < (unsigned)a->last_pct + a->cfg.progress_pct ||
        (a->cfg.progress_min_ms && (uint32_t)(t - a->last_progress_ms) < a->cfg.progress_min_ms))
        return;
    a->last_pct = (uint8_t)pct;
    a->last_progress_ms = t;
    report(a, a->cfg.report_http, S_DOWNLOADING, (int)pct, NULL);
}

/* Ends the update in flight as failed: reports why, forgets it. */
static uint32_t fail(ota_agent_t *a, const char *what, int rc)
{
    ota_buf_t w;
    a->last_error = rc;
    a->msg[0] = 0;
    ota_buf_text(&w, a->msg, sizeof a->msg);
    ota_buf_put(&w, what);
    ota_buf_put(&w, ota_strerror(rc));
    say(a, 0, a->msg, NULL);
    report(a, a->cfg.http, S_FAILED, -1, a->msg);
    event(a, OTA_AGENT_EV_FAILED, rc, a->msg, a->poll_ms);
    forget_action(a);
    return a->poll_ms;
}

/* An error of the link, not of the image. */
static int transient(int rc)
{
    return rc == OTA_ERR_NET || rc == OTA_ERR_TIMEOUT || rc == OTA_ERR_TLS;
}

/* The network broke the update off: the partial download stays resumable and the server keeps
 * offering the action, so the next check continues it. */
static uint32_t interrupted(ota_agent_t *a, int rc)
{
    char ms[11];
    uint32_t d = backoff(a, rc);
    say(a, 0, "download interrupted: ", ota_errname(rc), ", resumes after the next check in ", ota_u32_str(ms, d),
        " ms", NULL);
    return d;
}

/* The image of the action in flight is pending: tell the server, then install or wait. */
static uint32_t pending(ota_agent_t *a)
{
    int rc;
    if (!(a->sent & (1u << S_DOWNLOADED))) {
        if ((rc = report(a, a->cfg.http, S_DOWNLOADED, -1, NULL)) != OTA_OK)
            return backoff(a, rc);
        save(a);
    }
    if (a->chk.reboot_on_command) {
        say(a, 1, "downloaded ", a->target, ": waiting for the reboot command", NULL);
        return a->poll_ms; /* the server queues it once the user consents */
    }
    if (!(a->sent & (1u << S_INSTALLING)))
        report(a, a->cfg.http, S_INSTALLING, -1, NULL); /* if lost: sent after the boot */
    save(a);
    say(a, 1, "rebooting into ", a->target, NULL);
    return do_reset(a);
}

/* Persists where a reset resumes the patch being applied. */
static void on_delta_ckpt(void *arg, const ota_delta_ckpt_t *c)
{
    ota_agent_t *a = (ota_agent_t *)arg;
    a->delta_ck = *c;
    a->has_delta_ck = 1;
    save(a);
}

/* The offered delta patch, applied against the running image (otakit/delta.h). */
static int pull_delta(ota_agent_t *a, ota_pull_stats_t *ps)
{
    const ota_check_t *c = &a->chk;
    ota_delta_pull_opts_t o;
    uint8_t sha[32];
    char n[11];
    int i;
    for (i = 0; i < 64; i++)
        sha[i / 2] = (uint8_t)(i % 2 ? sha[i / 2] | ota_hexval(c->sha256[i]) : ota_hexval(c->sha256[i]) << 4);
    memset(&o, 0, sizeof o);
    o.token = a->token;
    o.size = c->delta_size;
    o.sha256 = c->delta_sha256;
    o.target_sha = sha;
    o.target_size = c->size;
    o.resume = a->has_delta_ck && a->cfg.ota->rec.state == OTA_STATE_DOWNLOADING ? &a->delta_ck : NULL;
    o.deadline_ms = a->cfg.pull_deadline_ms;
    a->cfg.delta->checkpoint = on_delta_ckpt;
    a->cfg.delta->checkpoint_arg = a;
    say(a, 1, "applying the delta patch (", ota_u32_str(n, c->delta_size), " bytes)", NULL);
    return ota_delta_pull(a->cfg.delta, a->cfg.ota, a->cfg.http, c->delta_url, &o, ps);
}

static uint32_t step_update(ota_agent_t *a)
{
    const ota_check_t *c = &a->chk;
    ota_pull_opts_t po;
    ota_pull_stats_t ps;
    ota_agent_event_t ev;
    char n1[11], n2[11];
    int rc;
    a->phase = P_CHECK;
    if (!c->has_update || c->action_id == a->declined_action) {
        say(a, 2, "up to date (", a->version, ")", NULL);
        event(a, OTA_AGENT_EV_UP_TO_DATE, OTA_OK, NULL, a->held ? 0 : a->poll_ms);
        return a->held ? 0 : a->poll_ms;
    }
    if (c->action_id == a->action_id && a->cfg.ota->rec.state == OTA_STATE_NEW)
        return pending(a);
    if (c->action_id != a->action_id) {
        a->action_id = c->action_id;
        a->sent = 0;
        a->has_delta_ck = 0;
        memcpy(a->target, c->version, sizeof a->target);
        if ((rc = save(a)) != OTA_OK)
            return backoff(a, rc);
    }
    say(a, 1, "update ", a->version, " -> ", c->version, " (", ota_u32_str(n1, c->size), " bytes, action ",
        ota_u32_str(n2, c->action_id), ")", NULL);
    memset(&ev, 0, sizeof ev);
    ev.type = OTA_AGENT_EV_UPDATE;
    ev.action_id = c->action_id;
    ev.version = c->version;
    ev.text = "";
    ev.size = c->size;
    ev.progress = -1;
    emit(a, &ev);
    if (!a->cfg.no_precheck) {
        /* Product, hardware and counter from the image's TLVs before a byte is written; ota_end()
         * checks them again, signed, from flash. */
        ota_precheck_t pc;
        rc = ota_pull_precheck(a->cfg.ota, a->cfg.http, c->url, a->token, c->size, NULL, &pc);
        ota_http_close(a->cfg.http);
        if (transient(rc))
            return interrupted(a, rc);
        if (rc != OTA_OK)
            return fail(a, "refused before download: ", rc);
    }
    if (!(a->sent & (1u << S_DOWNLOADING)) && report(a, a->cfg.http, S_DOWNLOADING, 0, NULL) == OTA_OK)
        save(a);
    memset(&po, 0, sizeof po);
    po.token = a->token;
    po.size = c->size;
    po.sha256 = c->sha256;
    po.deadline_ms = a->cfg.pull_deadline_ms;
    po.retry_delay_ms = a->cfg.pull_retry_delay_ms;
    po.progress = on_progress;
    po.progress_arg = a;
    a->last_pct = 0;
    a->last_progress_ms = now(a);
    rc = !c->has_delta || !a->cfg.delta ? OTA_ERR_DELTA : pull_delta(a, &ps);
    if (rc != OTA_OK && !transient(rc)) {
        if (c->has_delta && a->cfg.delta)
            say(a, 1, "delta patch not used (", ota_errname(rc), "): downloading the full image", NULL);
        if (a->has_delta_ck) {
            a->has_delta_ck = 0;
            save(a);
        }
        rc = ota_pull_image(a->cfg.ota, a->cfg.http, c->url, &po, &ps);
    }
    ota_http_close(a->cfg.http);
    if (transient(rc))
        return interrupted(a, rc);
    if (rc != OTA_OK)
        return fail(a, "download failed: ", rc);
    say(a, 1, "downloaded and verified (", ota_u32_str(n1, ps.requests), " requests, ", ota_u32_str(n2, ps.resumes),
        " resumes)", NULL);
    event(a, OTA_AGENT_EV_DOWNLOADED, OTA_OK, NULL, 0);
    return pending(a);
}

/* ---- the API -------------------------------------------------------------------------------- */

int ota_agent_init(ota_agent_t *a, const ota_agent_cfg_t *cfg)
{
    const ota_platform_ops_t *p;
    uint32_t seed = 0;
    const char *s;
    if (!a || !cfg || !cfg->server_url || !cfg->device_id || !cfg->hw_rev || !cfg->ota || !cfg->boot ||
        !cfg->http || !cfg->settings || !cfg->settings->load || !cfg->settings->save || cfg->long_poll_s > 300)
        return OTA_ERR_ARG;
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    if (!a->cfg.poll_ms)
        a->cfg.poll_ms = 60000;
    if (!a->cfg.retry_min_ms)
        a->cfg.retry_min_ms = 1000;
    if (!a->cfg.retry_max_ms)
        a->cfg.retry_max_ms = 300000;
    if (a->cfg.retry_max_ms < a->cfg.retry_min_ms)
        a->cfg.retry_max_ms = a->cfg.retry_min_ms;
    if (!a->cfg.progress_pct)
        a->cfg.progress_pct = 10;
    if (!a->cfg.self_test_tries)
        a->cfg.self_test_tries = 3;
    a->poll_ms = a->cfg.poll_max_ms && a->cfg.poll_max_ms < a->cfg.poll_ms ? a->cfg.poll_max_ms : a->cfg.poll_ms;
    if (ota_version_format(&cfg->boot->version, a->version, sizeof a->version) < 0)
        return OTA_ERR_ARG;
    p = cfg->platform;
    if (!p || !p->entropy || p->entropy(p->ctx, (unsigned char *)&seed, sizeof seed) != 0)
        for (seed = now(a), s = cfg->device_id; *s; s++) /* no RNG: at least differ per device */
            seed = seed * 31u + (unsigned char)*s;
    a->rng = seed ? seed : 0x9e3779b9u;
    load(a);
    a->on_trial = cfg->boot->state == OTA_STATE_TESTING;
    if (!a->token[0])
        a->phase = P_REGISTER;
    else
        a->phase = a->on_trial ? P_SELFTEST : P_SETTLE;
    return OTA_OK;
}

uint32_t ota_agent_step(ota_agent_t *a)
{
    if (!a)
        return OTA_AGENT_STOPPED;
    switch (a->phase) {
    case P_REGISTER:
        if (!a->cfg.enroll_token) {
            say(a, 0, "not registered and no enrollment token", NULL);
            a->last_error = OTA_ERR_ARG;
            a->phase = P_STOPPED;
            return OTA_AGENT_STOPPED;
        }
        return step_register(a);
    case P_SELFTEST:
        return step_selftest(a);
    case P_SETTLE:
        return step_settle(a);
    case P_CHECK:
        return step_check(a);
    case P_COMMANDS:
        return step_commands(a);
    case P_UPDATE:
        return step_update(a);
    default:
        return OTA_AGENT_STOPPED;
    }
}
