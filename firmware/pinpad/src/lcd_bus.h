/*
 * How the HD44780 is wired: 4-bit parallel on port pins (lcd_parallel.c) or a PCF8574 I2C
 * backpack (lcd_pcf8574.c). Exactly one is compiled in, chosen by LCD_I2C.
 */
#ifndef PINPAD_LCD_BUS_H
#define PINPAD_LCD_BUS_H

#include <stdint.h>

/* Set up the pins or the I2C bus; returns 0 if the LCD did not answer (I2C only). */
uint8_t lcd_bus_init(void);
/* One E pulse with RS low and `nibble` on D4-D7: only for the init sequence in 8-bit mode. */
void lcd_bus_nibble(uint8_t nibble);
/* A byte in 4-bit mode: high nibble first. rs 0: instruction, 1: data. */
void lcd_bus_byte(uint8_t value, uint8_t rs);
void lcd_bus_backlight(uint8_t on);

#endif
