/*
 * The matrix keypad. While no key is down, all columns are driven low and a press pulls its row
 * low: a pin-change interrupt wakes the chip and the 5 ms tick starts. Each tick scans one column
 * at a time (the others floating, so two keys held together cannot short two outputs); a reading
 * counts once it has held for DEBOUNCE_MS. When every key has been up that long, the columns go
 * back to low and the chip back to sleep until the next press.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <util/delay.h>

#include "config.h"
#include "keypad.h"
#include "tick.h"

#define DEBOUNCE_MS 20
#define ROW_MASK (0x0F << ROW_SHIFT)
#define COL_MASK ((1 << KEYPAD_COLS) - 1)
#define NONE 0
#define SEVERAL 0xFF

#if KEYPAD_COLS == 4
static const char keymap[] PROGMEM = "123A456B789C*0#D";
#else
static const char keymap[] PROGMEM = "123456789*0#";
#endif

static volatile uint8_t busy;
static uint8_t stable, candidate, held_ms, last_key;

static void columns_low(void) {
  COL_PORT &= ~COL_MASK;
  COL_DDR |= COL_MASK;
}

static void arm_wake(void) {
  PCIFR = _BV(PCIF2);
  PCICR |= _BV(PCIE2);
}

void keypad_init(void) {
  ROW_DDR &= ~ROW_MASK;
  ROW_PORT |= ROW_MASK; /* pull-ups */
  columns_low();
  PCMSK2 |= ROW_MASK;
  arm_wake();
}

ISR(PCINT2_vect) {
  PCICR &= ~_BV(PCIE2); /* the tick scans from here on */
  busy = 1;
  tick_start();
}

uint8_t keypad_busy(void) {
  return busy;
}

/* NONE, SEVERAL, or 1 + the key's index in keymap. */
static uint8_t scan(void) {
  uint8_t found = NONE;
  COL_DDR &= ~COL_MASK;
  for (uint8_t col = 0; col < KEYPAD_COLS; col++) {
    COL_DDR |= (uint8_t)(1 << col);
    _delay_us(5); /* let the row lines settle */
    uint8_t rows = (uint8_t)(~ROW_PIN & ROW_MASK) >> ROW_SHIFT;
    COL_DDR &= (uint8_t)~(1 << col);
    for (uint8_t row = 0; row < 4; row++) {
      if (rows & (1 << row)) found = found == NONE ? (uint8_t)(1 + row * KEYPAD_COLS + col) : SEVERAL;
    }
  }
  columns_low();
  return found;
}

char keypad_tick(uint8_t ticks) {
  if (!busy) return 0;
  uint8_t now = scan();
  if (now != candidate) {
    candidate = now;
    held_ms = 0;
    return 0;
  }
  if (held_ms < DEBOUNCE_MS) {
    /* A late scan (the main loop was busy) counts for the ticks it missed, within bounds. */
    held_ms += (ticks < DEBOUNCE_MS / TICK_MS ? ticks : DEBOUNCE_MS / TICK_MS) * TICK_MS;
    if (held_ms < DEBOUNCE_MS) return 0;
  }
  if (now == stable) {
    if (now == NONE) {
      /* Everything is up and settled: sleep until the next press. A press that came in since
         the scan sets the flag again as soon as the interrupt is armed. */
      busy = 0;
      arm_wake();
      if ((ROW_PIN & ROW_MASK) != ROW_MASK) busy = 1;
    }
    return 0;
  }
  uint8_t previous = stable;
  stable = now;
  if (now == NONE) {
    last_key = NONE;
    return 0;
  }
  if (now == SEVERAL) return 0;
  /* Rolling over from two keys to one of them reports it only if it is not the one already sent. */
  if (previous == SEVERAL && now == last_key) return 0;
  last_key = now;
  return (char)pgm_read_byte(&keymap[now - 1]);
}
