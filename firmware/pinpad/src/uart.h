#ifndef PINPAD_UART_H
#define PINPAD_UART_H

#include <stdint.h>

void uart_init(void);
/* Stands where received bytes were lost to a full buffer; a received NUL arrives as 0x01. */
#define UART_LOST 0x00

/* The next received byte, or -1 when none is waiting. */
int16_t uart_getc(void);
uint8_t uart_rx_pending(void);
void uart_putc(char c);
void uart_puts(const char *s);
/* A string in flash (PSTR). */
void uart_puts_P(const char *s);

#endif
