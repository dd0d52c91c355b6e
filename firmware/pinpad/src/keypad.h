#ifndef PINPAD_KEYPAD_H
#define PINPAD_KEYPAD_H

#include <stdint.h>

void keypad_init(void);
/* True from the first pin change until every key has been released and has settled. */
uint8_t keypad_busy(void);
/* Scans after `ticks` ticks; returns the key just pressed ('0'-'9', '*', '#', 'A'-'D') or 0. */
char keypad_tick(uint8_t ticks);

#endif
