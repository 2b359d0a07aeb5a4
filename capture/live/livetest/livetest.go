// Package livetest owns the test fixtures of flowsift's live-capture tests:
// two network namespaces joined by a veth pair with unique names per run,
// torn down by t.Cleanup even when the test fails. It leaves sending and
// capturing traffic to the tests (tcpreplay, flowsift capture).
//
// It needs root and iproute2; a missing ip binary fails the test (make
// test installs it), it never skips.
package livetest

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

var counter atomic.Int32

// Pair is a veth pair whose ends live in two namespaces: A (NSA) and B
// (NSB). Addr4/Addr6 hold the addresses configured on A and B.
type Pair struct {
	NSA, NSB string
	A, B     string
	Addr4    [2]netip.Addr
	Addr6    [2]netip.Addr
	MAC      [2]string // the ends' MAC addresses
}

// Need fails the test when a command is missing.
func Need(t testing.TB, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s not found (make test installs iproute2 and tcpreplay): %v", c, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatalf("live capture tests need root (network namespaces, AF_PACKET); running as uid %d", os.Geteuid())
	}
}

// Run runs a command and fails the test with its output on error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// NewPair creates the namespaces and the veth pair, configures addresses
// (IPv4 /30 and IPv6 /64 without duplicate-address detection, no
// link-local addresses, so the kernel sends as little as possible on its
// own) and registers the teardown.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	Need(t, "ip")
	n := counter.Add(1)
	id := fmt.Sprintf("%d%02d", os.Getpid()%100000, n%100)
	p := &Pair{NSA: "fsift-" + id + "-a", NSB: "fsift-" + id + "-b", A: "fsa" + id, B: "fsb" + id}
	// addresses from the pid, so parallel runs differ even in logs
	third := byte(os.Getpid()%250 + 1)
	p.Addr4 = [2]netip.Addr{netip.AddrFrom4([4]byte{10, 213, third, byte(4*(n%60) + 1)}), netip.AddrFrom4([4]byte{10, 213, third, byte(4*(n%60) + 2)})}
	p.Addr6 = [2]netip.Addr{netip.MustParseAddr(fmt.Sprintf("fd00:213:%x:%x::1", third, n)), netip.MustParseAddr(fmt.Sprintf("fd00:213:%x:%x::2", third, n))}
	t.Cleanup(func() {
		// deleting a namespace deletes the veth end in it (and its peer)
		exec.Command("ip", "netns", "del", p.NSA).Run()
		exec.Command("ip", "netns", "del", p.NSB).Run()
		exec.Command("ip", "link", "del", p.A).Run()
	})
	Run(t, "ip", "netns", "add", p.NSA)
	Run(t, "ip", "netns", "add", p.NSB)
	Run(t, "ip", "link", "add", p.A, "type", "veth", "peer", "name", p.B)
	Run(t, "ip", "link", "set", p.A, "netns", p.NSA)
	Run(t, "ip", "link", "set", p.B, "netns", p.NSB)
	for i, end := range []struct{ ns, dev string }{{p.NSA, p.A}, {p.NSB, p.B}} {
		ipn := func(args ...string) string {
			return Run(t, "ip", append([]string{"-n", end.ns}, args...)...)
		}
		ipn("link", "set", "dev", end.dev, "addrgenmode", "none")
		ipn("addr", "add", p.Addr4[i].String()+"/30", "dev", end.dev)
		ipn("addr", "add", p.Addr6[i].String()+"/64", "dev", end.dev, "nodad")
		ipn("link", "set", "dev", end.dev, "up")
		ipn("link", "set", "dev", "lo", "up")
		out := ipn("-br", "link", "show", "dev", end.dev)
		if f := strings.Fields(out); len(f) >= 3 {
			p.MAC[i] = f[2]
		}
	}
	return p
}

// Exec returns a command that runs in namespace ns (ip netns exec).
func Exec(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// InNS runs fn on an OS thread switched to namespace ns. Sockets fn opens
// stay in ns; the thread is discarded afterwards.
func InNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
