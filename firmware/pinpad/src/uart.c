/*
 * USART0 with interrupt-driven rings, so the CPU can sleep while bytes come and go. The receive
 * ring holds a full frame burst at 115200 baud while the LCD is still being written.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>

#include "config.h"
#include "uart.h"

#define UBRR_VALUE ((F_CPU + 4UL * BAUD) / (8UL * BAUD) - 1) /* double speed, rounded */

/* Both sizes are powers of two; the receive ring's indexes wrap as uint8_t. */
static volatile uint8_t rx_ring[256];
static volatile uint8_t rx_head, rx_tail, rx_lost;
#define TX_SIZE 64
static volatile uint8_t tx_ring[TX_SIZE];
static volatile uint8_t tx_head, tx_tail;

void uart_init(void) {
  UBRR0 = UBRR_VALUE;
  UCSR0A = _BV(U2X0);
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00); /* 8-N-1 */
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

/* A full ring drops bytes; UART_LOST takes their place once there is room again. */
ISR(USART_RX_vect) {
  uint8_t byte = UDR0;
  if (byte == UART_LOST) byte = 0x01; /* still a control byte to the parser, but not a gap */
  uint8_t free = (uint8_t)(rx_tail - rx_head - 1);
  if (rx_lost) {
    if (free < 2) return;
    rx_ring[rx_head++] = UART_LOST;
    rx_lost = 0;
    free--;
  }
  if (free == 0) {
    rx_lost = 1;
    return;
  }
  rx_ring[rx_head++] = byte;
}

ISR(USART_UDRE_vect) {
  if (tx_head == tx_tail) {
    UCSR0B &= ~_BV(UDRIE0);
    return;
  }
  UDR0 = tx_ring[tx_tail];
  tx_tail = (tx_tail + 1) & (TX_SIZE - 1);
}

int16_t uart_getc(void) {
  if (rx_head == rx_tail) return -1;
  uint8_t byte = rx_ring[rx_tail];
  rx_tail++;
  return byte;
}

uint8_t uart_rx_pending(void) {
  return rx_head != rx_tail;
}

void uart_putc(char c) {
  uint8_t next = (tx_head + 1) & (TX_SIZE - 1);
  while (next == tx_tail) {
    /* full: the UDRE interrupt drains it */
  }
  tx_ring[tx_head] = (uint8_t)c;
  tx_head = next;
  UCSR0B |= _BV(UDRIE0);
}

void uart_puts(const char *s) {
  while (*s) uart_putc(*s++);
}

void uart_puts_P(const char *s) {
  char c;
  while ((c = (char)pgm_read_byte(s++)) != 0) uart_putc(c);
}
