//go:build !linux || !cgo

package live

import "errors"

// InterfaceSupported reports whether this build can read interfaces.
const InterfaceSupported = false

// OpenInterface needs Linux and cgo (AF_PACKET through gopacket/afpacket,
// filters through libpcap).
func OpenInterface(iface string, o Options) ([]Source, error) {
	return nil, errors.New("reading an interface needs a Linux build with cgo (AF_PACKET, libpcap); use --listen for mirror sessions")
}

// IfaceName names a kernel interface index; without AF_PACKET there are none.
func IfaceName(index uint32) string { return "" }
