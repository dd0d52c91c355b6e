#ifndef PINPAD_LCD_H
#define PINPAD_LCD_H

#include <stdint.h>

/* Returns 0 if the LCD did not answer (an I2C backpack at another address, or none). */
uint8_t lcd_init(void);
void lcd_clear(void);
/* Writes `len` bytes at col,row, cut at the end of the row; pads with spaces up to `pad_to`. */
void lcd_write(uint8_t col, uint8_t row, const char *text, uint8_t len, uint8_t pad_to);
void lcd_cursor(uint8_t col, uint8_t row);
void lcd_cursor_off(void);
void lcd_backlight(uint8_t on);

#endif
