#ifndef PINPAD_TICK_H
#define PINPAD_TICK_H

#include <stdint.h>

#define TICK_MS 5

/* Timer2 ticks every 5 ms, only while something needs time (a key down, a beep). */
void tick_init(void);
void tick_start(void);
void tick_stop(void);
/* Ticks since the last call (0 if none). */
uint8_t tick_take(void);
uint8_t tick_pending(void);

#endif
