/* The buzzer plays a pattern of on/off steps counted in ticks: OK one short beep, ERR two long. */
#include <avr/io.h>
#include <avr/pgmspace.h>

#include "config.h"
#include "signal.h"
#include "tick.h"

#define STEPS(ms) ((ms) / TICK_MS)

/* Step lengths, alternately on and off, ending with 0. */
static const uint8_t beep_ok[] PROGMEM = {STEPS(80), 0};
static const uint8_t beep_err[] PROGMEM = {STEPS(150), STEPS(100), STEPS(150), 0};

static const uint8_t *step;
static uint8_t left, on;

static void buzzer(uint8_t sound) {
#if HAVE_BUZZER
  if (sound) BUZZER_PORT |= _BV(BUZZER_BIT);
  else BUZZER_PORT &= ~_BV(BUZZER_BIT);
#else
  (void)sound;
#endif
}

void signal_init(void) {
#if HAVE_BUZZER
  BUZZER_DDR |= _BV(BUZZER_BIT);
#endif
#if HAVE_LED
  LED_DDR |= _BV(LED_GREEN_BIT) | _BV(LED_RED_BIT);
#endif
}

void signal_beep(uint8_t error) {
  step = error ? beep_err : beep_ok;
  left = pgm_read_byte(step);
  on = 1;
  buzzer(1);
  tick_start();
}

uint8_t signal_busy(void) {
  return step != 0;
}

void signal_tick(uint8_t ticks) {
  while (step && ticks) {
    uint8_t used = ticks < left ? ticks : left;
    left -= used;
    ticks -= used;
    if (left) break;
    step++;
    left = pgm_read_byte(step);
    if (!left) {
      step = 0;
      on = 0;
    } else {
      on = !on;
    }
    buzzer(on);
  }
}

void signal_led(uint8_t colour) {
#if HAVE_LED
  LED_PORT = (uint8_t)((LED_PORT & ~(_BV(LED_GREEN_BIT) | _BV(LED_RED_BIT))) | (colour == 1 ? _BV(LED_GREEN_BIT) : 0) |
                       (colour == 2 ? _BV(LED_RED_BIT) : 0));
#else
  (void)colour;
#endif
}
