/* The HD44780 on port pins: RS, E and D4-D7 (config.h); RW tied to GND, so never read. */
#include "config.h"
#if !LCD_I2C

#include <util/delay.h>

#include "lcd_bus.h"

#define DATA_MASK (0x0F << LCD_DATA_SHIFT)

uint8_t lcd_bus_init(void) {
  LCD_DDR |= _BV(LCD_RS_BIT) | _BV(LCD_E_BIT) | DATA_MASK;
  LCD_PORT &= ~(_BV(LCD_RS_BIT) | _BV(LCD_E_BIT) | DATA_MASK);
  BACKLIGHT_DDR |= _BV(BACKLIGHT_BIT);
  return 1;
}

/* RS and the data are set up while E is low (tAS 40 ns); E stays high 1 us (PWEH 450 ns). */
static void pulse(uint8_t nibble) {
  LCD_PORT = (LCD_PORT & ~DATA_MASK) | (uint8_t)((nibble & 0x0F) << LCD_DATA_SHIFT);
  LCD_PORT |= _BV(LCD_E_BIT);
  _delay_us(1);
  LCD_PORT &= ~_BV(LCD_E_BIT);
}

void lcd_bus_nibble(uint8_t nibble) {
  LCD_PORT &= ~_BV(LCD_RS_BIT);
  pulse(nibble);
}

void lcd_bus_byte(uint8_t value, uint8_t rs) {
  if (rs) LCD_PORT |= _BV(LCD_RS_BIT);
  else LCD_PORT &= ~_BV(LCD_RS_BIT);
  pulse(value >> 4);
  _delay_us(1); /* enable cycle time tcycE 1000 ns */
  pulse(value);
  /* 37 us per instruction at fosc 270 kHz; slow clones run at 190 kHz. */
  _delay_us(60);
}

void lcd_bus_backlight(uint8_t on) {
  if (on) BACKLIGHT_PORT |= _BV(BACKLIGHT_BIT);
  else BACKLIGHT_PORT &= ~_BV(BACKLIGHT_BIT);
}

#endif
