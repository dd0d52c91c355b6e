#ifndef PINPAD_SIGNAL_H
#define PINPAD_SIGNAL_H

#include <stdint.h>

/* The buzzer and the status LEDs. */
void signal_init(void);
void signal_beep(uint8_t error);
/* True while a beep pattern is playing (it needs the tick). */
uint8_t signal_busy(void);
void signal_tick(uint8_t ticks);
/* 0 off, 1 green (OK), 2 red (ERR). */
void signal_led(uint8_t colour);

#endif
