/*
 * HD44780 instructions, from the Hitachi datasheet (ADE-207-272): the 4-bit initialization by
 * instruction (figure 24), and the DDRAM addresses of a 2-line display: line 1 at 0x00, line 2
 * at 0x40. A 4-row module is two lines folded in half: row 2 continues row 0 (0x00 + cols),
 * row 3 continues row 1 (0x40 + cols), so a 20x4 has 0x00, 0x40, 0x14, 0x54.
 */
#include <avr/pgmspace.h>
#include <util/delay.h>

#include "config.h"
#include "lcd.h"
#include "lcd_bus.h"

#define CMD_CLEAR 0x01
#define CMD_ENTRY_MODE 0x04
#define ENTRY_INCREMENT 0x02
#define CMD_DISPLAY 0x08
#define DISPLAY_ON 0x04
#define DISPLAY_CURSOR 0x02
#define CMD_FUNCTION 0x20
#define FUNCTION_2LINE 0x08
#define CMD_CGRAM 0x40
#define CMD_DDRAM 0x80

/* The common character ROM (A00) has a yen sign at '\\' and an arrow at '~': both are drawn in
   CGRAM characters 0 and 1 instead, since a URL may carry them. */
#define GLYPH_BACKSLASH 0
#define GLYPH_TILDE 1
static const uint8_t glyphs[2][8] PROGMEM = {
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00},
    {0x00, 0x00, 0x00, 0x0D, 0x12, 0x00, 0x00, 0x00},
};

#if LCD_ROWS == 1
#define FUNCTION_LINES 0
#else
#define FUNCTION_LINES FUNCTION_2LINE
#endif

static uint8_t cursor_col, cursor_row, cursor_on;

static void command(uint8_t value) {
  lcd_bus_byte(value, 0);
}

static void move_to(uint8_t col, uint8_t row) {
  uint8_t base = (row & 1) ? 0x40 : 0x00;
  if (row >= 2) base += LCD_COLS;
  command(CMD_DDRAM | (uint8_t)(base + col));
}

/* Writing moves the address counter: put it back under the visible cursor. */
static void restore_cursor(void) {
  if (cursor_on) move_to(cursor_col, cursor_row);
}

uint8_t lcd_init(void) {
  /* Power-on: more than 40 ms after Vcc reaches 2.7 V before the first E pulse (a backpack's
     outputs start high, so its first write is one). The three 8-bit function sets then bring the
     controller to a known state whatever it was in, also after a reset of this chip alone (the
     LCD may be mid-byte in 4-bit mode). */
  _delay_ms(50);
  uint8_t found = lcd_bus_init();
  lcd_bus_nibble(0x3);
  _delay_us(4500); /* more than 4.1 ms */
  lcd_bus_nibble(0x3);
  _delay_us(150); /* more than 100 us */
  lcd_bus_nibble(0x3);
  _delay_us(150);
  lcd_bus_nibble(0x2); /* 4-bit interface from the next write on */
  _delay_us(150);
  command(CMD_FUNCTION | FUNCTION_LINES); /* 4-bit, 5x8 dots */
  command(CMD_DISPLAY);                    /* off while it is cleared */
  command(CMD_CGRAM);
  for (uint8_t i = 0; i < sizeof glyphs; i++) lcd_bus_byte(pgm_read_byte(&glyphs[0][0] + i), 1);
  lcd_clear(); /* also points the address counter back at DDRAM */
  command(CMD_ENTRY_MODE | ENTRY_INCREMENT);
  command(CMD_DISPLAY | DISPLAY_ON);
  lcd_backlight(1);
  return found;
}

void lcd_clear(void) {
  command(CMD_CLEAR);
  _delay_ms(2); /* 1.52 ms at fosc 270 kHz */
  cursor_col = cursor_row = 0;
  restore_cursor();
}

void lcd_write(uint8_t col, uint8_t row, const char *text, uint8_t len, uint8_t pad_to) {
  move_to(col, row);
  if (pad_to > LCD_COLS) pad_to = LCD_COLS;
  for (uint8_t c = col; c < LCD_COLS; c++) {
    uint8_t i = c - col;
    if (i < len) lcd_bus_byte(text[i] == '\\' ? GLYPH_BACKSLASH : text[i] == '~' ? GLYPH_TILDE : (uint8_t)text[i], 1);
    else if (c < pad_to) lcd_bus_byte(' ', 1);
    else break;
  }
  restore_cursor();
}

void lcd_cursor(uint8_t col, uint8_t row) {
  cursor_col = col;
  cursor_row = row;
  cursor_on = 1;
  command(CMD_DISPLAY | DISPLAY_ON | DISPLAY_CURSOR);
  move_to(col, row);
}

void lcd_cursor_off(void) {
  cursor_on = 0;
  command(CMD_DISPLAY | DISPLAY_ON);
}

void lcd_backlight(uint8_t on) {
  lcd_bus_backlight(on);
}
