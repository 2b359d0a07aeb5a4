package clickhouse

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Options configure a Sink. The zero value of a field means its default
// (DefaultOptions).
type Options struct {
	// PasswordFile names a file whose first line is the password. Without
	// it the password comes from $CLICKHOUSE_PASSWORD (empty if unset).
	// The URL must not carry one: it would show in process lists.
	PasswordFile string
	// Policy is the policy snapshot id stored with every row (e.g. a hash
	// of the policy files), "" when no policy was applied.
	Policy string

	// BatchRows bounds a batch by size; BatchDelay bounds how long a record
	// waits in a batch before it is sent.
	BatchRows  int
	BatchDelay time.Duration
	// QueueBatches is how many full batches may wait for the sender before
	// Write blocks (backpressure to the source).
	QueueBatches int
	// Parallel is how many batches are inserted at once while the server
	// answers (each INSERT and its materialized views run on one server
	// core); 1 inserts one at a time. After a failure everything goes one
	// at a time until the spool is empty again.
	Parallel int

	// Retries and RetryBackoff: a failed insert is retried Retries times,
	// waiting RetryBackoff, then twice that, … (at most MaxBackoff) before
	// the batch goes to the spool and the server is considered down.
	Retries      int
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// InsertTimeout bounds one insert or query.
	InsertTimeout time.Duration

	// SpoolDir holds batches while the server is down (default: the user
	// cache directory, flowsift/spool/HOST_PORT_DB). SpoolMaxBytes bounds
	// it; when it is full Write blocks until the server is back, for at
	// most SpoolFullWait (0: until Close's deadline), and then fails with
	// ErrSpoolFull.
	SpoolDir      string
	SpoolMaxBytes int64
	SpoolFullWait time.Duration
	// CloseTimeout bounds how long Close keeps trying to reach the server
	// for what remains; batches still unsent are then left in the spool
	// for the next run.
	CloseTimeout time.Duration

	// RetentionDays > 0 adds a TTL on servers that have it (not 18.16).
	RetentionDays int
	// Compression: "none", "lz4" or "zstd"; default none on loopback
	// (compression costs CPU that client and server share) and lz4 else.
	Compression string
	// Logf receives progress and problems (server down, spooled, replayed);
	// nil discards them. Messages never include the password.
	Logf func(format string, args ...any)
}

// DefaultOptions are the defaults applied to zero fields.
func DefaultOptions() Options {
	return Options{
		BatchRows:     100_000,
		BatchDelay:    5 * time.Second,
		QueueBatches:  2,
		Parallel:      2,
		Retries:       4,
		RetryBackoff:  200 * time.Millisecond,
		MaxBackoff:    5 * time.Second,
		InsertTimeout: 60 * time.Second,
		SpoolMaxBytes: 1 << 30,
		CloseTimeout:  30 * time.Second,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.BatchRows <= 0 {
		o.BatchRows = d.BatchRows
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = d.BatchDelay
	}
	if o.QueueBatches <= 0 {
		o.QueueBatches = d.QueueBatches
	}
	if o.Parallel <= 0 {
		o.Parallel = d.Parallel
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = d.Retries
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = d.RetryBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = d.MaxBackoff
	}
	if o.InsertTimeout <= 0 {
		o.InsertTimeout = d.InsertTimeout
	}
	if o.SpoolMaxBytes == 0 {
		o.SpoolMaxBytes = d.SpoolMaxBytes
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = d.CloseTimeout
	}
	return o
}

// Target is a parsed clickhouse://USER@HOST:PORT/DB URL.
type Target struct {
	User     string
	Host     string // host:port
	Database string
	Query    url.Values
}

func (t Target) String() string { return "clickhouse://" + t.User + "@" + t.Host + "/" + t.Database }

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseURL parses a store URL. The port defaults to 9000 (native protocol),
// the user to "default", the database to "flowsift". A password in the URL
// is refused, without echoing it.
func ParseURL(s string) (Target, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url's error would quote the input, password included.
		return Target{}, errors.New("clickhouse: malformed store URL (want clickhouse://USER@HOST:PORT/DB)")
	}
	if u.Scheme != "clickhouse" {
		return Target{}, fmt.Errorf("clickhouse: store URL scheme %q, want clickhouse://USER@HOST:PORT/DB", u.Scheme)
	}
	t := Target{User: "default", Database: "flowsift", Query: u.Query()}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return Target{}, errors.New("clickhouse: the store URL must not contain a password; use $CLICKHOUSE_PASSWORD or --password-file")
		}
		if n := u.User.Username(); n != "" {
			t.User = n
		}
	}
	host := u.Host
	if host == "" {
		return Target{}, errors.New("clickhouse: store URL has no host (want clickhouse://USER@HOST:PORT/DB)")
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "9000")
	}
	t.Host = host
	if db := strings.Trim(u.Path, "/"); db != "" {
		if !dbName.MatchString(db) {
			return Target{}, fmt.Errorf("clickhouse: database name %q: use letters, digits and _", db)
		}
		t.Database = db
	}
	for k := range t.Query {
		if k != "compress" {
			return Target{}, fmt.Errorf("clickhouse: unknown store URL parameter %q (known: compress)", k)
		}
	}
	return t, nil
}

// password returns the password from the file or the environment.
func password(file string) (string, error) {
	if file == "" {
		return os.Getenv("CLICKHOUSE_PASSWORD"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("clickhouse: password file: %w", err)
	}
	s := string(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s, nil
}

func isLoopback(hostport string) bool {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
