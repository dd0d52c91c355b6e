#ifndef PINPAD_TWI_H
#define PINPAD_TWI_H

#include <stdint.h>

void twi_init(void);
/* START and the address for writing; 0 if nothing acknowledged (then call twi_stop). */
uint8_t twi_begin_write(uint8_t address);
/* 0 if the byte was not acknowledged. */
uint8_t twi_write(uint8_t byte);
void twi_stop(void);

#endif
