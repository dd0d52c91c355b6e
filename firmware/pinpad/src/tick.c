#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>

#include "config.h"
#include "tick.h"

#define PRESCALE 1024UL
#define TOP ((F_CPU / PRESCALE) * TICK_MS / 1000 - 1)
#if TOP > 255
#error "the tick does not fit Timer2"
#endif

static volatile uint8_t ticks;

void tick_init(void) {
  TCCR2A = _BV(WGM21); /* CTC: count to OCR2A */
  OCR2A = (uint8_t)TOP;
  TIMSK2 = _BV(OCIE2A);
}

ISR(TIMER2_COMPA_vect) {
  if (ticks != 0xFF) ticks++;
}

void tick_start(void) {
  if (TCCR2B) return;
  TCNT2 = 0;
  TCCR2B = _BV(CS22) | _BV(CS21) | _BV(CS20); /* clk/1024 */
}

void tick_stop(void) {
  TCCR2B = 0;
}

uint8_t tick_take(void) {
  uint8_t n;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    n = ticks;
    ticks = 0;
  }
  return n;
}

uint8_t tick_pending(void) {
  return ticks != 0;
}
