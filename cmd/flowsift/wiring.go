package main

import (
	"io"

	"github.com/flowsift/flowsift/flowlog"
)

// captureOpener returns the pcap/pcapng reader (wiring_capture.go).
func captureOpener() func(r io.Reader, t *flowlog.Tally, pcapng bool) flowlog.Reader {
	return newCaptureFileReader
}
