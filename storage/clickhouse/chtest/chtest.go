// Package chtest owns the throwaway clickhouse-server that integration tests
// run against: free local ports, a temporary config and data directory, and
// a random database per test, dropped afterwards. It leaves the schema to
// storage/clickhouse and is imported only by _test.go files.
//
// A missing server binary is installed with Debian's package through
// scripts/install-deps.sh (the machines are root; PID 1 is not systemd, so
// the server is started by hand). Tests fail, never skip, when the server
// cannot start.
package chtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Server is one private clickhouse-server process.
type Server struct {
	Port     int    // native protocol
	HTTPPort int    // HTTP (unused by flowsift, but the server wants one)
	Dir      string // config, data and logs
	Version  string // e.g. "18.16.1"

	bin    string
	cmd    *exec.Cmd
	out    *os.File
	waitCh chan error
}

// Addr is host:port of the native protocol.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is a clickhouse:// store URL for database db.
func (s *Server) URL(db string) string { return "clickhouse://default@" + s.Addr() + "/" + db }

const configXML = `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{{DIR}}/server.log</log><errorlog>{{DIR}}/server.err.log</errorlog><size>100M</size><count>1</count></logger>
  <tcp_port>{{PORT}}</tcp_port>
  <http_port>{{HTTP}}</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{{DIR}}/data/</path>
  <tmp_path>{{DIR}}/data/tmp/</tmp_path>
  <user_files_path>{{DIR}}/data/user_files/</user_files_path>
  <format_schema_path>{{DIR}}/data/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>{{COMPRESSION}}
</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`

// findServer returns the server binary, installing Debian's package when
// it is missing.
func findServer() (string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "install-deps.sh"), "clickhouse-server", "clickhouse-client")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("installing clickhouse-server: %v\n%s", err, tail(out, 2000))
	}
	return exec.LookPath("clickhouse-server")
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("repository root (go.mod) not found above " + wd)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a new server on free ports with a fresh directory.
func Start() (*Server, error) {
	bin, err := findServer()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "flowsift-ch-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin}
	if s.Port, err = freePort(); err == nil {
		s.HTTPPort, err = freePort()
	}
	if err == nil && s.Port == s.HTTPPort {
		s.HTTPPort, err = freePort()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg := bytes.ReplaceAll([]byte(configXML), []byte("{{DIR}}"), []byte(dir))
	cfg = bytes.ReplaceAll(cfg, []byte("{{PORT}}"), []byte(strconv.Itoa(s.Port)))
	cfg = bytes.ReplaceAll(cfg, []byte("{{HTTP}}"), []byte(strconv.Itoa(s.HTTPPort)))
	comp := ""
	if m := os.Getenv("FLOWSIFT_CH_COMPRESSION"); m != "" {
		comp = "\n  <compression><case><method>" + m + "</method></case></compression>"
	}
	cfg = bytes.ReplaceAll(cfg, []byte("{{COMPRESSION}}"), []byte(comp))
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), cfg, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersXML), 0o600); err != nil {
		return nil, err
	}
	if err := s.Restart(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Restart starts the server process again (after Kill) on the same ports
// and data, and waits until it answers.
func (s *Server) Restart() error {
	if s.cmd != nil {
		return errors.New("chtest: server already running")
	}
	out, err := os.OpenFile(filepath.Join(s.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "--config-file="+filepath.Join(s.Dir, "config.xml"))
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, and killed if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	s.cmd, s.out = cmd, out
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			s.cmd = nil
			out.Close()
			return fmt.Errorf("clickhouse-server exited at start (%v); %s", err, s.logTail())
		default:
		}
		if v, err := s.ping(); err == nil {
			s.Version = v
			// The waiter goroutine owns cmd.Wait; Kill/Stop wait on it.
			s.waitCh = exited
			return nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("clickhouse-server did not answer on %s within 60 s; %s", s.Addr(), s.logTail())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	var b []byte
	for _, n := range []string{"server.err.log", "stdout.log"} {
		if c, err := os.ReadFile(filepath.Join(s.Dir, n)); err == nil && len(c) > 0 {
			b = append(b, n+":\n"...)
			b = append(b, tail(c, 1500)...)
		}
	}
	if len(b) == 0 {
		return "no server log"
	}
	return string(b)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (s *Server) ping() (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
	if err != nil {
		return "", err
	}
	c.Close()
	conn, err := s.Conn("default")
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", err
	}
	return v, nil
}

// Conn opens a native connection to database db.
func (s *Server) Conn(db string) (driver.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr:        []string{s.Addr()},
		Auth:        clickhouse.Auth{Database: db, Username: "default"},
		DialTimeout: 2 * time.Second,
		ReadTimeout: 120 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// CPUTime is the CPU time (user + system) the running server process has
// used so far, read from /proc: benchmarks charge the server's share of an
// insert with it (wall clock is noisy on a shared machine).
func (s *Server) CPUTime() (time.Duration, error) {
	if s.cmd == nil {
		return 0, errors.New("chtest: server not running")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesized command name; utime and stime are
	// fields 14 and 15 (1-based), in clock ticks (100 per second on Linux).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("chtest: malformed /proc stat")
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, errors.New("chtest: malformed /proc stat")
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("chtest: malformed /proc stat")
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// Kill sends SIGKILL to the server and waits for it to exit.
func (s *Server) Kill() error {
	return s.signal(syscall.SIGKILL)
}

func (s *Server) signal(sig syscall.Signal) error {
	if s.cmd == nil {
		return nil
	}
	err := syscall.Kill(s.cmd.Process.Pid, sig)
	if s.waitCh != nil {
		select {
		case <-s.waitCh:
		case <-time.After(30 * time.Second):
			syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.waitCh
		}
	}
	s.cmd, s.waitCh = nil, nil
	if s.out != nil {
		s.out.Close()
		s.out = nil
	}
	return err
}

// Stop terminates the server and removes its directory.
func (s *Server) Stop() {
	s.signal(syscall.SIGTERM)
	if os.Getenv("FLOWSIFT_KEEP_CH") == "" {
		os.RemoveAll(s.Dir)
	}
}

// NewDatabase creates a database with a random name, dropped when the test
// ends, and returns its name.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	db := "test_" + hex.EncodeToString(b[:])
	conn, err := s.Conn("default")
	if err != nil {
		t.Fatalf("chtest: %v", err)
	}
	defer conn.Close()
	if err := conn.Exec(context.Background(), "CREATE DATABASE "+db); err != nil {
		t.Fatalf("chtest: create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := s.Conn("default")
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
	})
	return db
}

// Main runs a test package against a private server: it starts one, stores
// it in *srv, runs the tests and stops it. A server that cannot start fails
// the package (exit status 1), it does not skip it.
//
// Fuzz workers (-test.fuzzworker) run without a server: fuzz targets must
// not need one, and a server per worker would starve the machine.
func Main(m *testing.M, srv **Server) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run()
	}
	s, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: chtest: cannot start clickhouse-server: %v\n", err)
		return 1
	}
	*srv = s
	code := m.Run()
	s.Stop()
	return code
}
