/* otakit-device: the push endpoints and ArduinoOTA, served while the firmware idles between
 * check-ins (see docs/device-sim.md). */
#ifndef OTAKIT_SIM_LISTEN_H
#define OTAKIT_SIM_LISTEN_H

#include "otakit/arduino_ota.h"
#include "otakit/net.h"
#include "otakit/ota.h"
#include "otakit/push.h"

typedef struct {
    int tcp, udp;            /* listening sockets, -1 when off */
    ota_push_cfg_t push;
    ota_aota_t aota;
    int pull_wanted;         /* the update page asked for a pull (set by its start hook) */
} sim_listen_t;

/* Opens what the options ask for on addr ("127.0.0.1", "0.0.0.0"): the push server on TCP
 * push_port and ArduinoOTA on UDP aota_port (-1: off). Returns 0, or -1 with errno (bind). */
int sim_listen_open(sim_listen_t *l, const char *addr, int push_port, int aota_port);

/* Serves push requests and ArduinoOTA invitations for up to ms milliseconds. log(arg, line)
 * reports each. Returns 1 when a served request left an image pending or asked for a rollback
 * (reset now), SIM_LISTEN_PULL when the update page asked for a pull (pull_wanted), else 0 once
 * the time is up. */
#define SIM_LISTEN_PULL 2
int sim_listen_wait(sim_listen_t *l, ota_ctx_t *ctx, const ota_net_t *net, unsigned ms,
                    void (*log)(void *arg, const char *line), void *arg);

/* Serves the push requests already waiting, without waiting for more (the update page's progress
 * while a pull runs; cfg.push.busy refuses uploads meanwhile). */
void sim_listen_pending(sim_listen_t *l, ota_ctx_t *ctx, const ota_net_t *net,
                        void (*log)(void *arg, const char *line), void *arg);

void sim_listen_close(sim_listen_t *l);

#endif
