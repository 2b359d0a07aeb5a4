package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/storage/clickhouse"
)

const dbHelp = `Usage: flowsift db migrate --store clickhouse://USER@HOST:PORT/DB [FLAGS]

Create or upgrade flowsift's ClickHouse schema: the raw table flows; the
rollups flows_1m and flows_1h (traffic by interface, port, verdict, finding
and deciding rule), offenders_1h (what flowsift report lists as worst
offenders) and flow_keys (what flowsift whatif --from judges), each a
SummingMergeTree fed by a materialized view; and the batches ledger. Steps are versioned and idempotent: running it again
changes nothing. analyze --store runs it on first use as well.

Upgrading a database made before schema version 11 rewrites flows once,
sorted by day, interface, direction, verdict, finding, port and source (about
15 % fewer bytes on disk). Only this command does it: stop every flowsift
writing to the database, then run it (analyze --store, report and whatif
--from refuse such a database until then). A crash in the middle is
harmless: run it again (dropping the lock table migrate_lock first if the
error says it is held and no other migration runs).

The server version is detected: Debian's clickhouse-server 18.16 gets plain
types (FixedString(16) addresses, String, no codecs, no TTL); current
servers get IPv6, LowCardinality, column codecs and, with --retention-days,
a TTL.

The password comes from $CLICKHOUSE_PASSWORD or --password-file, never from
the command line or the URL.

Examples:
  flowsift db migrate --store clickhouse://default@127.0.0.1:9000/flowsift
  CLICKHOUSE_PASSWORD=... flowsift db migrate --store clickhouse://flowsift@ch.internal/flows

Flags:
`

func runDB(e *env, args []string) int {
	if len(args) == 0 || args[0] != "migrate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(e.stdout, dbHelp)
			return exitOK
		}
		return usageError(e, "db", "want a subcommand: migrate")
	}
	fs := pflag.NewFlagSet("db", pflag.ContinueOnError)
	fs.SortFlags = false
	store := fs.String("store", "", "ClickHouse store `URL` (clickhouse://USER@HOST:PORT/DB)")
	pwFile := fs.String("password-file", "", "read the password from `FILE` (default: $CLICKHOUSE_PASSWORD)")
	retention := fs.Int("retention-days", 0, "TTL in `DAYS` on servers that support it (not 18.16; there, drop old daily partitions)")
	timeout := fs.Duration("timeout", time.Minute, "give up after `DURATION`")
	if done, st := parseFlags(e, fs, dbHelp, args[1:]); done {
		return st
	}
	if *store == "" {
		return usageError(e, "db", "no --store given")
	}
	if fs.NArg() > 0 {
		return usageError(e, "db", "unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := clickhouse.MigrateURL(ctx, *store, clickhouse.Options{PasswordFile: *pwFile, RetentionDays: *retention})
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift db migrate: %v\n", err)
		return exitFailure
	}
	profile := "18.16-compatible types"
	if res.Features.Current {
		profile = "current types (IPv6, LowCardinality, codecs)"
	}
	fmt.Fprintf(e.stdout, "server %s: %s\n", res.Features.Version, profile)
	for _, m := range res.Applied {
		fmt.Fprintf(e.stdout, "applied %d: %s\n", m.Version, m.Name)
	}
	fmt.Fprintf(e.stdout, "schema at version %d (%d step(s) applied now)\n", res.Version, len(res.Applied))
	return exitOK
}
