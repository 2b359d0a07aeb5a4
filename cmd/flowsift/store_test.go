package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/storage/clickhouse/chtest"
)

// chsrv is the package's private ClickHouse server (started by TestMain;
// the package fails, not skips, when it cannot start).
var chsrv *chtest.Server

func TestMain(m *testing.M) { os.Exit(chtest.Main(m, &chsrv)) }

var storePolicy = []string{
	"--policy", "../../examples/policy/aws/describe-security-groups.json",
	"--policy", "../../examples/policy/aws/describe-network-acls.json",
	"--policy", "../../examples/policy/aws/describe-network-interfaces.json",
}

var storeInputs = []string{"../../examples/flowlogs/aws-s3", "../../examples/flowlogs/cloudwatch"}

// TestAnalyzeStore: `analyze --store` on the bundled examples stores every
// record once — counts, packets and bytes in flows, in both traffic rollups
// and in flow_keys equal the input's, offenders_1h holds the records with a
// finding, and every row carries the policy snapshot id.
func TestAnalyzeStore(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the spool directory
	t.Setenv("CLICKHOUSE_PASSWORD", "")
	db := chsrv.NewDatabase(t)
	args := append(append([]string{"analyze", "-q", "--store", chsrv.URL(db)}, storePolicy...), storeInputs...)
	code, _, errs := flowsCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("analyze --store: exit %d\n%s", code, errs)
	}
	// The input's totals, from flowsift's own JSONL.
	_, out, _ := flowsCLI(t, "", append([]string{"flows", "-q"}, storeInputs...)...)
	var n, packets, bytes uint64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct{ Packets, Bytes uint64 }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		n, packets, bytes = n+1, packets+r.Packets, bytes+r.Bytes
	}
	conn, err := chsrv.Conn(db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	policyID, _ := policySnapshotID([]string{storePolicy[1], storePolicy[3], storePolicy[5]})
	var gotN, gotP, gotB, withPolicy uint64
	row := conn.QueryRow(context.Background(), "SELECT count(), sum(packets), sum(bytes), countIf(policy = ?) FROM flows", policyID)
	if err := row.Scan(&gotN, &gotP, &gotB, &withPolicy); err != nil {
		t.Fatal(err)
	}
	if gotN != n || gotP != packets || gotB != bytes || withPolicy != n {
		t.Errorf("flows: %d rows, %d packets, %d bytes, %d with policy %s; input %d, %d, %d", gotN, gotP, gotB, withPolicy, policyID, n, packets, bytes)
	}
	for _, rollup := range []string{"flows_1m", "flows_1h"} {
		var p, b int64
		if err := conn.QueryRow(context.Background(), "SELECT sum(packets), sum(bytes) FROM "+rollup).Scan(&p, &b); err != nil {
			t.Fatalf("%s: %v", rollup, err)
		}
		if uint64(p) != packets || uint64(b) != bytes {
			t.Errorf("%s: %d packets, %d bytes; input %d, %d", rollup, p, b, packets, bytes)
		}
	}
	// flow_keys (what whatif --from reads) keeps every flow's totals too.
	var kp, kb uint64
	if err := conn.QueryRow(context.Background(), "SELECT toUInt64(sumMerge(packets)), toUInt64(sumMerge(bytes)) FROM flow_keys").Scan(&kp, &kb); err != nil {
		t.Fatalf("flow_keys: %v", err)
	}
	if kp != packets || kb != bytes {
		t.Errorf("flow_keys: %d packets, %d bytes; input %d, %d", kp, kb, packets, bytes)
	}
	// offenders_1h holds exactly the records with a finding, by analyze's
	// own per-flow judgment.
	_, judged, _ := flowsCLI(t, "", append(append([]string{"analyze", "-q", "--per-flow", "--format", "jsonl"}, storePolicy...), storeInputs...)...)
	var fp, fb uint64
	for _, line := range strings.Split(strings.TrimSpace(judged), "\n") {
		var r struct {
			Packets, Bytes uint64
			Finding        string
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.Finding != "" {
			fp, fb = fp+r.Packets, fb+r.Bytes
		}
	}
	var op, ob int64
	if err := conn.QueryRow(context.Background(), "SELECT sum(packets), sum(bytes) FROM offenders_1h").Scan(&op, &ob); err != nil {
		t.Fatalf("offenders_1h: %v", err)
	}
	if fp == 0 || uint64(op) != fp || uint64(ob) != fb {
		t.Errorf("offenders_1h: %d packets, %d bytes; records with a finding: %d, %d", op, ob, fp, fb)
	}
	// db migrate afterwards changes nothing and succeeds.
	if code, _, errs := flowsCLI(t, "", "db", "migrate", "--store", chsrv.URL(db)); code != exitOK {
		t.Errorf("db migrate: exit %d %s", code, errs)
	}
}

func TestStorePasswordNeverInURL(t *testing.T) {
	args := append(append([]string{"analyze", "-q", "--store", "clickhouse://default:secret@127.0.0.1:1/x"}, storePolicy...), storeInputs...)
	code, out, errs := flowsCLI(t, "", args...)
	if code == exitOK || strings.Contains(errs+out, "secret") {
		t.Errorf("exit %d; output mentions the password: %s", code, errs)
	}
}
