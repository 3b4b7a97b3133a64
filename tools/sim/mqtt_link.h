/* otakit-device: the device's broker connection (--mqtt): Mongoose's OTA over MQTT on its request
 * topic, and the server's rollout notices (see docs/device-sim.md). */
#ifndef OTAKIT_SIM_MQTT_LINK_H
#define OTAKIT_SIM_MQTT_LINK_H

#include "otakit/mqtt.h"
#include "otakit/mqtt_ota.h"

typedef struct {
    char host[128];
    uint16_t port;
    char rx[160], tx[160];   /* request and response topics ("<prefix>/rx", "<prefix>/tx") */
    char notice[160];        /* where rollout notices arrive ("" none) */
    char client_id[64];
    const ota_net_t *net;
    const ota_platform_ops_t *plat;
    ota_mqtt_t m;
    ota_mqtt_ota_t ota;      /* the transfer in flight: survives reconnects */
    uint32_t next_try;       /* now_ms of the next connection attempt */
    int up;
} sim_mqtt_t;

/* Sets the link up for broker "host:port" (not yet connected). Returns 0, or -1 (bad address). */
int sim_mqtt_init(sim_mqtt_t *l, const char *broker, const char *prefix, const char *notice, const char *id,
                  const ota_net_t *net, const ota_platform_ops_t *plat, ota_ctx_t *ota);

/* Serves the broker connection for up to ms milliseconds, connecting (again) when it is down.
 * Returns SIM_MQTT_RESET when an image was verified and marked pending, SIM_MQTT_NOTICE when a
 * rollout notice arrived (check now), or 0 once the time is up. */
enum { SIM_MQTT_RESET = 1, SIM_MQTT_NOTICE = 2 };
int sim_mqtt_serve(sim_mqtt_t *l, unsigned ms, void (*log)(void *arg, const char *line), void *arg);

/* Disconnects cleanly (the broker drops the will). */
void sim_mqtt_close(sim_mqtt_t *l);

#endif
