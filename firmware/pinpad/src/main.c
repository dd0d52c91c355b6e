/*
 * pinpad reference firmware for the ATmega328P (Arduino Uno/Nano, 16 MHz): docs/protocol.md on
 * the UART, an HD44780 LCD, a matrix keypad, a buzzer and two LEDs. Everything happens in
 * interrupts or right after one: between them the CPU sleeps in idle mode, woken by a received
 * byte, the transmitter, a key's pin change or the 5 ms tick (which runs only while a key is
 * down or a beep plays).
 */
#include <avr/interrupt.h>
#include <avr/pgmspace.h>
#include <avr/io.h>
#include <avr/power.h>
#include <avr/sleep.h>

#include "config.h"
#include "keypad.h"
#include "lcd.h"
#include "protocol.h"
#include "signal.h"
#include "tick.h"
#include "uart.h"

static void power_down_unused(void) {
  ADCSRA = 0; /* the ADC must be off before its clock is stopped */
  ACSR = _BV(ACD);
  power_adc_disable();
  power_spi_disable();
  power_timer0_disable();
  power_timer1_disable();
#if !LCD_I2C
  power_twi_disable();
#endif
}

int main(void) {
  power_down_unused();
  signal_init();
  uart_init();
  tick_init();
  keypad_init();
  sei();
  uint8_t lcd_found = lcd_init();
  protocol_hello(); /* at power-on and reset; the host may also ask with '?' */
  if (!lcd_found) uart_puts_P(PSTR("ERR no LCD on I2C\n"));
  set_sleep_mode(SLEEP_MODE_IDLE);

  for (;;) {
    int16_t byte;
    while ((byte = uart_getc()) >= 0) protocol_byte((uint8_t)byte);

    uint8_t ticks = tick_take();
    if (ticks) {
      signal_tick(ticks);
      char key = keypad_tick(ticks);
      if (key) protocol_key(key);
    }

    cli();
    if (!keypad_busy() && !signal_busy()) tick_stop();
    if (!uart_rx_pending() && !tick_pending()) {
      sleep_enable();
      sei(); /* the instruction after SEI runs first: no wake-up is lost before SLEEP */
      sleep_cpu();
      sleep_disable();
    }
    sei();
  }
}
