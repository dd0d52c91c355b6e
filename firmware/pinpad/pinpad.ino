/*
 * pinpad reference firmware: open this folder in the Arduino IDE, choose Tools > Board
 * "Arduino Uno" or "Arduino Nano" (Processor "ATmega328P (Old Bootloader)" for most clones),
 * set the options at the top of src/config.h (LCD size, I2C or parallel, keypad), and Upload.
 *
 * The firmware is plain C in src/ (the IDE compiles a sketch's src folder with it) with its
 * own main(): it does not use the Arduino core, so setup() and loop() are not needed here, and
 * the same sources build with `make` in firmware/ from Debian's gcc-avr and avr-libc.
 * Wiring, flashing and the protocol: docs/hardware.md and docs/protocol.md.
 */
