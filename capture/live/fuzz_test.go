package live

import "testing"

// FuzzParseListen: no panic; an accepted address prints in a form that
// parses back to the same value.
func FuzzParseListen(f *testing.F) {
	for _, s := range []string{"vxlan://127.0.0.1:4789", "geneve://[::1]:6081", "vxlan://", "geneve://:0",
		"vxlan://::1", "vxlan://[fe80::1%eth0]:1", "udp://x", "vxlan://1.2.3.4:99999", "vxlan://[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseListen(s)
		if err != nil {
			return
		}
		back, err := ParseListen(l.String())
		if err != nil || back != l {
			t.Fatalf("%q -> %s -> %+v, %v", s, l, back, err)
		}
	})
}
