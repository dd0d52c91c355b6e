/*
 * The TWI (I2C) master, polled: a byte takes 90 us at 100 kHz, less than it would cost to sleep
 * and wake. Every wait is bounded, so a bus held low by a loose wire stalls nothing for long.
 */
#include "config.h"
#if LCD_I2C

#include <util/twi.h>

#include "twi.h"

#define TWI_HZ 100000UL /* the PCF8574's rated clock */
/* Several byte times at 100 kHz, counted in loop turns of at least 4 cycles. */
#define WAIT_TURNS 2000

static uint8_t wait_status(void) {
  for (uint16_t turns = 0; turns < WAIT_TURNS; turns++) {
    if (TWCR & _BV(TWINT)) return TW_STATUS;
  }
  return 0xFF;
}

void twi_init(void) {
  PORTC |= _BV(PC4) | _BV(PC5); /* weak pull-ups; backpacks carry their own 4.7k */
  TWSR = 0;
  TWBR = (uint8_t)((F_CPU / TWI_HZ - 16) / 2);
  TWCR = _BV(TWEN);
}

uint8_t twi_begin_write(uint8_t address) {
  TWCR = _BV(TWINT) | _BV(TWSTA) | _BV(TWEN);
  uint8_t status = wait_status();
  if (status != TW_START && status != TW_REP_START) return 0;
  TWDR = (uint8_t)(address << 1) | TW_WRITE;
  TWCR = _BV(TWINT) | _BV(TWEN);
  return wait_status() == TW_MT_SLA_ACK;
}

uint8_t twi_write(uint8_t byte) {
  TWDR = byte;
  TWCR = _BV(TWINT) | _BV(TWEN);
  return wait_status() == TW_MT_DATA_ACK;
}

void twi_stop(void) {
  TWCR = _BV(TWINT) | _BV(TWSTO) | _BV(TWEN);
  for (uint16_t turns = 0; turns < WAIT_TURNS && (TWCR & _BV(TWSTO)); turns++) {
  }
}

#endif
