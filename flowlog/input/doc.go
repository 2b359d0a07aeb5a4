// Package input turns command-line input arguments into flow records: it
// expands directories and globs, reads standard input, undoes gzip, detects
// each input's format by content (FORMATS.md 2.2) and hands it to the
// matching reader. It owns the per-file tallies and the run summary; it does
// not print records (storage does) or judge them (analyze does).
//
// Capture files (pcap, pcapng) are detected here but decoded by the capture
// package, which the command wires in through Options.Capture, so that the
// flow-log side does not depend on packet decoding.
package input
