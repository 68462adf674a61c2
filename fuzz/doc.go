// Package fuzz holds the libFuzzer targets for the C that parses hostile
// input (kv's RESP parser, httpd's request parser, the ISO9660 reader, the
// TCP SACK option walk), built by fuzz/fuzz.mk from the guests' own
// sources with AddressSanitizer and UBSan. Its test runs every target over
// its seed corpus; `make fuzz` (fuzz/run.sh) fuzzes them.
package fuzz
