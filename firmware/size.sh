#!/bin/sh
# Flash and RAM use of a built variant. Usage: size.sh NAME ELF
# The ATmega328P has 32 KiB of flash, of which an old Nano's bootloader takes 2 KiB (Optiboot on
# an Uno or a new Nano 0.5 KiB), and 2 KiB of SRAM, shared by .data, .bss and the stack.
set -eu
name=$1
elf=$2
# avr-size -A lists the sections in bytes: flash holds .text and .data's initial values.
avr-size -A "$elf" | awk -v name="$name" '
  $1 == ".text" { text = $2 } $1 == ".data" { data = $2 } $1 == ".bss" { bss = $2 }
  END {
    flash = text + data; ram = data + bss
    printf "%-28s flash %5d B (%4.1f%% of 30720 B)   RAM %4d B (%4.1f%% of 2048 B; %d B left for the stack)\n",
      name, flash, 100 * flash / 30720, ram, 100 * ram / 2048, 2048 - ram
  }'
