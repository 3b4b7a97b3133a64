/*
 * TLS transport on mbedTLS (2.28 and 3.x): an ota_net_t over another ota_net_t. See otakit/tls.h.
 *
 * mbedTLS does its I/O through two callbacks (bio_send, bio_recv) that call the lower transport
 * with the timeout of the operation in progress. When the lower transport fails, its error is kept
 * in t->lower_err so the caller sees OTA_ERR_NET or OTA_ERR_TIMEOUT rather than a TLS error: only
 * failures of TLS itself (untrusted certificate, wrong name, protocol alert) are OTA_ERR_TLS.
 */
#include <string.h>

#include <mbedtls/version.h>

#include "otakit/tls.h"

#define BIO_LOWER_FAILED (-0x004C) /* any negative value mbedTLS passes through unchanged */

/* ---- mbedTLS I/O callbacks ---------------------------------------------------------------- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ota_tls_t *t = (ota_tls_t *)ctx;
    int rc = t->cfg.lower->ops->send(t->cfg.lower->ctx, t->lower_h, buf, len, t->timeout_ms);
    if (rc > 0)
        return rc;
    t->lower_err = rc == OTA_ERR_TIMEOUT ? OTA_ERR_TIMEOUT : OTA_ERR_NET;
    return rc == OTA_ERR_TIMEOUT ? MBEDTLS_ERR_SSL_TIMEOUT : BIO_LOWER_FAILED;
}

/* mbedTLS passes its configured read timeout (left at 0); the operation's own timeout is used. */
static int bio_recv(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
    ota_tls_t *t = (ota_tls_t *)ctx;
    int rc = t->cfg.lower->ops->recv(t->cfg.lower->ctx, t->lower_h, buf, len, t->timeout_ms);
    (void)timeout;
    if (rc >= 0)
        return rc; /* 0: the peer closed the TCP connection */
    t->lower_err = rc == OTA_ERR_TIMEOUT ? OTA_ERR_TIMEOUT : OTA_ERR_NET;
    return rc == OTA_ERR_TIMEOUT ? MBEDTLS_ERR_SSL_TIMEOUT : BIO_LOWER_FAILED;
}

/* The otakit code for a failed mbedTLS call: the lower transport's error if it caused it. */
static int tls_err(const ota_tls_t *t, int rc)
{
    if (t->lower_err)
        return t->lower_err;
    if (rc == MBEDTLS_ERR_SSL_ALLOC_FAILED)
        return OTA_ERR_NO_MEM;
    if (rc == MBEDTLS_ERR_SSL_CONN_EOF)
        return OTA_ERR_NET; /* TCP closed without a TLS close_notify: possibly truncated */
    return OTA_ERR_TLS;
}

static int retry(int rc)
{
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
    if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
        return 1;
#endif
    return rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE;
}

/* ---- the transport ------------------------------------------------------------------------ */

static void tls_close(void *ctx, int h)
{
    ota_tls_t *t = (ota_tls_t *)ctx;
    (void)h;
    if (t->lower_h < 0)
        return;
    t->timeout_ms = 1000; /* best effort: tell the server, but do not wait long */
    t->lower_err = 0;
    (void)mbedtls_ssl_close_notify(&t->ssl);
    t->cfg.lower->ops->close(t->cfg.lower->ctx, t->lower_h);
    t->lower_h = -1;
    (void)mbedtls_ssl_session_reset(&t->ssl);
}

static int tls_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    ota_tls_t *t = (ota_tls_t *)ctx;
    int rc, h;
    if (t->lower_h >= 0)
        tls_close(t, 0); /* one connection at a time */
    if ((rc = mbedtls_ssl_set_hostname(&t->ssl, t->cfg.server_name ? t->cfg.server_name : host)) != 0)
        return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? OTA_ERR_NO_MEM : OTA_ERR_ARG;
    h = t->cfg.lower->ops->connect(t->cfg.lower->ctx, host, port, timeout_ms);
    if (h < 0)
        return h;
    t->lower_h = h;
    t->lower_err = 0;
    t->timeout_ms = timeout_ms;
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, NULL, bio_recv);
    while ((rc = mbedtls_ssl_handshake(&t->ssl)) != 0) {
        if (!retry(rc)) {
            int err = tls_err(t, rc);
            tls_close(t, 0);
            return err;
        }
    }
    return 0;
}

/* Starts a send or receive on connection h: OTA_OK, or OTA_ERR_ARG when h is not the open one. */
static int io_start(ota_tls_t *t, int h, uint32_t timeout_ms)
{
    if (h != 0 || t->lower_h < 0)
        return OTA_ERR_ARG;
    t->timeout_ms = timeout_ms;
    t->lower_err = 0;
    return OTA_OK;
}

static int tls_send(void *ctx, int h, const void *buf, size_t len, uint32_t timeout_ms)
{
    ota_tls_t *t = (ota_tls_t *)ctx;
    int rc;
    if ((rc = io_start(t, h, timeout_ms)) != OTA_OK)
        return rc;
    while ((rc = mbedtls_ssl_write(&t->ssl, (const unsigned char *)buf, len)) < 0)
        if (!retry(rc))
            return tls_err(t, rc);
    return rc;
}

static int tls_recv(void *ctx, int h, void *buf, size_t len, uint32_t timeout_ms)
{
    ota_tls_t *t = (ota_tls_t *)ctx;
    int rc;
    if ((rc = io_start(t, h, timeout_ms)) != OTA_OK)
        return rc;
    while ((rc = mbedtls_ssl_read(&t->ssl, (unsigned char *)buf, len)) < 0) {
        if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            return 0; /* a clean TLS close */
        if (!retry(rc))
            return tls_err(t, rc);
    }
    return rc;
}

static const ota_net_ops_t tls_ops = {tls_connect, tls_send, tls_recv, tls_close};

/* ---- setup -------------------------------------------------------------------------------- */

int ota_tls_init(ota_tls_t *t, const ota_tls_cfg_t *cfg)
{
    static const unsigned char pers[] = "otakit-tls";
    size_t ca_len;
    int rc;
    if (!t || !cfg || !cfg->lower || !cfg->lower->ops || !cfg->ca || !cfg->platform ||
        !cfg->platform->entropy)
        return OTA_ERR_ARG;
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->lower_h = -1;
    t->net.ops = &tls_ops;
    t->net.ctx = t;
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_ctr_drbg_init(&t->drbg);

    ca_len = cfg->ca_len ? cfg->ca_len : strlen((const char *)cfg->ca) + 1;
    rc = mbedtls_x509_crt_parse(&t->ca, cfg->ca, ca_len);
    if (rc != 0) {
        ota_tls_free(t);
        return rc == MBEDTLS_ERR_X509_ALLOC_FAILED ? OTA_ERR_NO_MEM : OTA_ERR_TLS;
    }
    if (mbedtls_ctr_drbg_seed(&t->drbg, cfg->platform->entropy, cfg->platform->ctx, pers, sizeof pers - 1) != 0) {
        ota_tls_free(t);
        return OTA_ERR_CRYPTO;
    }
    if (mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        ota_tls_free(t);
        return OTA_ERR_TLS;
    }
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    if ((rc = mbedtls_ssl_setup(&t->ssl, &t->conf)) != 0) {
        ota_tls_free(t);
        return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? OTA_ERR_NO_MEM : OTA_ERR_TLS;
    }
    return OTA_OK;
}

void ota_tls_free(ota_tls_t *t)
{
    if (!t)
        return;
    if (t->lower_h >= 0 && t->cfg.lower)
        tls_close(t, 0);
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_ctr_drbg_free(&t->drbg);
    t->net.ops = NULL;
}
