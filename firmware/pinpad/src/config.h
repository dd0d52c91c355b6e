/*
 * Build options and the pin map. The Makefile sets the options with -D (see its variants);
 * in the Arduino IDE, edit the defaults below. docs/hardware.md has the wiring table.
 */
#ifndef PINPAD_CONFIG_H
#define PINPAD_CONFIG_H

#include <avr/io.h>

/* The character LCD's grid. An HD44780 drives at most 80 characters: 16x2, 20x2, 16x4, 20x4, 40x2. */
#ifndef LCD_COLS
#define LCD_COLS 20
#endif
#ifndef LCD_ROWS
#define LCD_ROWS 4
#endif

/* 1: the PCF8574 I2C backpack on A4 (SDA) / A5 (SCL); 0: 4-bit parallel on D8-D13. */
#ifndef LCD_I2C
#define LCD_I2C 1
#endif
/* PCF8574T backpacks answer at 0x27, PCF8574AT ones at 0x3F. */
#ifndef LCD_I2C_ADDR
#define LCD_I2C_ADDR 0x27
#endif

/* 4: a 4x4 keypad (A-D on the right); 3: a 3x4 keypad. */
#ifndef KEYPAD_COLS
#define KEYPAD_COLS 4
#endif

/* An active buzzer on D2 (sounds while the pin is high). */
#ifndef HAVE_BUZZER
#define HAVE_BUZZER 1
#endif
/* A green and a red LED (through resistors); pins below. */
#ifndef HAVE_LED
#define HAVE_LED 1
#endif

/* The host's default (docs/protocol.md). */
#ifndef BAUD
#define BAUD 9600
#endif

#define FW_VERSION "1.0"

#if LCD_COLS < 8 || LCD_COLS > 40 || (LCD_ROWS != 1 && LCD_ROWS != 2 && LCD_ROWS != 4) || LCD_COLS * LCD_ROWS > 80
#error "an HD44780 drives 8-40 columns on 1, 2 or 4 rows, at most 80 characters"
#endif
#if KEYPAD_COLS != 3 && KEYPAD_COLS != 4
#error "KEYPAD_COLS must be 3 or 4"
#endif

/*
 * Pins (Arduino Uno/Nano names in brackets). Rows and columns of the keypad share no port with
 * the LCD, so scanning never disturbs a transfer.
 *   keypad rows R1-R4    PD4-PD7 [D4-D7]   inputs with pull-ups, pin-change interrupt
 *   keypad columns C1-C4 PC0-PC3 [A0-A3]   driven low one at a time while scanning
 *   buzzer               PD2 [D2]
 *   parallel LCD         RS PB0 [D8], E PB1 [D9], D4-D7 PB2-PB5 [D10-D13]; RW to GND
 *   parallel backlight   PD3 [D3]          through a transistor
 *   I2C LCD              SDA PC4 [A4], SCL PC5 [A5]
 *   LEDs                 parallel build: green PC4 [A4], red PC5 [A5];
 *                        I2C build: green PB0 [D8], red PB1 [D9]
 */
#define ROW_PORT PORTD
#define ROW_DDR DDRD
#define ROW_PIN PIND
#define ROW_SHIFT 4
#define COL_PORT PORTC
#define COL_DDR DDRC

#define BUZZER_PORT PORTD
#define BUZZER_DDR DDRD
#define BUZZER_BIT PD2

#define LCD_PORT PORTB
#define LCD_DDR DDRB
#define LCD_RS_BIT PB0
#define LCD_E_BIT PB1
#define LCD_DATA_SHIFT 2
#define BACKLIGHT_PORT PORTD
#define BACKLIGHT_DDR DDRD
#define BACKLIGHT_BIT PD3

#if LCD_I2C
#define LED_PORT PORTB
#define LED_DDR DDRB
#define LED_GREEN_BIT PB0
#define LED_RED_BIT PB1
#else
#define LED_PORT PORTC
#define LED_DDR DDRC
#define LED_GREEN_BIT PC4
#define LED_RED_BIT PC5
#endif

#endif
