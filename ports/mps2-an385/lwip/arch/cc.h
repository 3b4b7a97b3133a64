/* lwIP's compiler and platform glue for the MPS2 AN385 port (arm-none-eabi-gcc, newlib-nano). */
#ifndef OTAKIT_MPS2_LWIP_CC_H
#define OTAKIT_MPS2_LWIP_CC_H

#include <stdint.h>

/* lwIP's diagnostics are compiled out (LWIP_DEBUG is off); a failed assertion resets the board. */
void app_lwip_assert(const char *msg);
uint32_t app_rand(void);

#define LWIP_PLATFORM_DIAG(x) \
    do {                      \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) app_lwip_assert(x)
#define LWIP_RAND() app_rand()

#endif
