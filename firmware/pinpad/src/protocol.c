/*
 * The host's lines (docs/protocol.md): at most 128 bytes with the LF, words separated by one
 * space, the text argument the rest of the line. Anything the firmware cannot carry out is
 * answered with an ERR line and changes nothing; the messages match firmware-sim's.
 */
#include <avr/pgmspace.h>
#include <string.h>

#include "config.h"
#include "lcd.h"
#include "protocol.h"
#include "signal.h"
#include "uart.h"

#define LINE_MAX 128 /* with the LF */

#define STR_(x) #x
#define STR(x) STR_(x)
#if HAVE_BUZZER
#define CAP_BEEP ",beep"
#else
#define CAP_BEEP ""
#endif
#if HAVE_LED
#define CAP_LED ",led"
#else
#define CAP_LED ""
#endif
#if LCD_I2C
#define FW_BUS "i2c"
#else
#define FW_BUS "par"
#endif

static const char hello[] PROGMEM = "HELLO pinpad/1 kind=lcd cols=" STR(LCD_COLS) " rows=" STR(LCD_ROWS)
                                    " caps=backlight,cursor" CAP_BEEP CAP_LED " keys=keys fw=pinpad-avr-" FW_VERSION "-" FW_BUS "\n";

static char line[LINE_MAX];
static uint8_t length;
static uint8_t dropping; /* 1: too long, 2: bytes lost */

/* A parse failure: the PSTR message of the ERR line. */
typedef const char *error_t;

void protocol_hello(void) {
  uart_puts_P(hello);
}

void protocol_key(char key) {
  uart_putc(key);
  uart_putc('\n');
}

static void reply_error(error_t message) {
  uart_puts_P(PSTR("ERR "));
  uart_puts_P(message);
  uart_putc('\n');
}

/* The next word (NUL-terminated in place); *rest moves past it and its space, or to NULL. */
static char *next_word(char **rest) {
  char *word = *rest;
  if (!word) return NULL;
  char *space = strchr(word, ' ');
  if (space) {
    *space = '\0';
    *rest = space + 1;
  } else {
    *rest = NULL;
  }
  return word;
}

/* Strict decimal, 1-3 digits, below `limit`. */
static error_t number(const char *word, uint8_t limit, uint8_t *out, error_t bad, error_t range) {
  if (!word || !*word || strlen(word) > 3) return bad;
  uint16_t value = 0;
  for (const char *p = word; *p; p++) {
    if (*p < '0' || *p > '9') return bad;
    value = (uint16_t)(value * 10 + (uint16_t)(*p - '0'));
  }
  if (value >= limit) return range;
  *out = (uint8_t)value;
  return NULL;
}

static error_t col_row(char **rest, uint8_t *col, uint8_t *row) {
  error_t e = number(next_word(rest), LCD_COLS, col, PSTR("bad col"), PSTR("col out of range"));
  return e ? e : number(next_word(rest), LCD_ROWS, row, PSTR("bad row"), PSTR("row out of range"));
}

/* One word from `choices` (a NUL-separated PSTR list, ending with an empty string) and nothing after it. */
static error_t choice(char **rest, const char *choices, uint8_t *index) {
  char *word = next_word(rest);
  if (*rest) return PSTR("too many arguments");
  if (!word) return PSTR("bad argument");
  for (uint8_t i = 0; pgm_read_byte(choices); i++) {
    if (strcmp_P(word, choices) == 0) {
      *index = i;
      return NULL;
    }
    choices += strlen_P(choices) + 1;
  }
  return PSTR("bad argument");
}

static uint8_t text_length(const char *text) {
  return text ? (uint8_t)strlen(text) : 0;
}

static error_t execute(char *rest) {
  char *name = next_word(&rest);
  uint8_t col, row, which;
  error_t e;
  if (strcmp_P(name, PSTR("?")) == 0) {
    if (rest) return PSTR("too many arguments");
    protocol_hello();
  } else if (strcmp_P(name, PSTR("CLR")) == 0) {
    if (rest) return PSTR("too many arguments");
    lcd_clear();
  } else if (strcmp_P(name, PSTR("ROW")) == 0) {
    if ((e = number(next_word(&rest), LCD_ROWS, &row, PSTR("bad row"), PSTR("row out of range")))) return e;
    lcd_write(0, row, rest, text_length(rest), LCD_COLS);
  } else if (strcmp_P(name, PSTR("AT")) == 0) {
    if ((e = col_row(&rest, &col, &row))) return e;
    lcd_write(col, row, rest, text_length(rest), 0);
  } else if (strcmp_P(name, PSTR("CUR")) == 0) {
    if (rest && strncmp_P(rest, PSTR("OFF"), 3) == 0 && (rest[3] == '\0' || rest[3] == ' ')) {
      next_word(&rest);
      if (rest) return PSTR("too many arguments");
      lcd_cursor_off();
    } else {
      if ((e = col_row(&rest, &col, &row))) return e;
      if (rest) return PSTR("too many arguments");
      lcd_cursor(col, row);
    }
  } else if (strcmp_P(name, PSTR("BL")) == 0) {
    if ((e = choice(&rest, PSTR("ON\0OFF\0"), &which))) return e;
    lcd_backlight(which == 0);
  } else if (strcmp_P(name, PSTR("BEEP")) == 0) {
#if HAVE_BUZZER
    if ((e = choice(&rest, PSTR("OK\0ERR\0"), &which))) return e;
    signal_beep(which);
#else
    return PSTR("no beep");
#endif
  } else if (strcmp_P(name, PSTR("LED")) == 0) {
#if HAVE_LED
    if ((e = choice(&rest, PSTR("OFF\0OK\0ERR\0"), &which))) return e;
    signal_led(which);
#else
    return PSTR("no led");
#endif
  } else if (strcmp_P(name, PSTR("BMP")) == 0) {
    return PSTR("no bitmap");
  } else {
    return PSTR("unknown command");
  }
  return NULL;
}

static void end_line(void) {
  uint8_t dropped = dropping;
  uint8_t n = length;
  dropping = 0;
  length = 0;
  if (dropped) {
    reply_error(dropped == 1 ? PSTR("line too long") : PSTR("bytes lost"));
    return;
  }
  if (n > 0 && line[n - 1] == '\r') n--; /* a CRLF host, though the spec says LF */
  if (n == 0) return;
  for (uint8_t i = 0; i < n; i++) {
    if (line[i] < 0x20 || line[i] > 0x7E) {
      reply_error(PSTR("bad byte"));
      return;
    }
  }
  line[n] = '\0';
  error_t e = execute(line);
  if (e) reply_error(e);
}

void protocol_byte(uint8_t byte) {
  if (byte == '\n') {
    end_line();
    return;
  }
  if (byte == UART_LOST) { /* the receive buffer overflowed: this line is incomplete */
    if (!dropping) dropping = 2;
    return;
  }
  if (dropping) return;
  if (length >= LINE_MAX - 1) { /* the LF needs the last byte */
    dropping = 1;
    return;
  }
  line[length++] = (char)byte;
}
