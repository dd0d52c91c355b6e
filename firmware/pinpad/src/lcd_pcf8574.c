/*
 * The HD44780 behind a PCF8574 backpack, the usual pin map: P0 RS, P1 RW, P2 E, P3 backlight,
 * P4-P7 D4-D7. Each nibble is a few port writes in one I2C transfer; an I2C byte (90 us) is
 * longer than any instruction but clear and home (lcd.c waits for those).
 */
#include "config.h"
#if LCD_I2C

#include "lcd_bus.h"
#include "twi.h"

#define P_RS 0x01
#define P_E 0x04
#define P_BACKLIGHT 0x08

static uint8_t backlight = P_BACKLIGHT;

/* Writes the port values in one transfer; a missing backpack just drops them. */
static void send(const uint8_t *values, uint8_t count) {
  if (twi_begin_write(LCD_I2C_ADDR)) {
    for (uint8_t i = 0; i < count && twi_write(values[i]); i++) {
    }
  }
  twi_stop();
}

uint8_t lcd_bus_init(void) {
  twi_init();
  /* The outputs start high, E with them: E falls first on its own, RS and RW held (tAH), so the
     LCD sees a harmless read; then everything goes low. */
  uint8_t found = twi_begin_write(LCD_I2C_ADDR) && twi_write((uint8_t)~P_E) && twi_write(backlight);
  twi_stop();
  return found;
}

void lcd_bus_nibble(uint8_t nibble) {
  uint8_t port = (uint8_t)(nibble << 4) | backlight;
  uint8_t values[3] = {port, port | P_E, port};
  send(values, 3);
}

/* RS settles with E low before the first pulse (tAS); the second nibble's data changes while E is low. */
void lcd_bus_byte(uint8_t value, uint8_t rs) {
  uint8_t base = backlight | (rs ? P_RS : 0);
  uint8_t high = (value & 0xF0) | base;
  uint8_t low = (uint8_t)(value << 4) | base;
  uint8_t values[5] = {high, high | P_E, high, low | P_E, low};
  send(values, 5);
}

void lcd_bus_backlight(uint8_t on) {
  backlight = on ? P_BACKLIGHT : 0;
  send(&backlight, 1);
}

#endif
