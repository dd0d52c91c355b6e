#ifndef PINPAD_PROTOCOL_H
#define PINPAD_PROTOCOL_H

#include <stdint.h>

/* docs/protocol.md, version 1, the device side. */
void protocol_hello(void);
/* One byte from the host (or UART_LOST); a line is executed when its LF arrives. */
void protocol_byte(uint8_t byte);
void protocol_key(char key);

#endif
