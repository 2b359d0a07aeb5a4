package clickhouse

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// restartOnCleanup makes sure the shared server runs again after a test
// that kills it, even when the test fails half-way.
func restartOnCleanup(t *testing.T) {
	t.Cleanup(func() {
		if err := srv.Restart(); err != nil && err.Error() != "chtest: server already running" {
			t.Errorf("restart: %v", err)
		}
	})
}

// TestFaultKill: the server is SIGKILLed twice in the middle of a large
// ingest and restarted; the stored totals equal the input's exactly, in
// flows and in each rollup, and every batch is stored once.
func TestFaultKill(t *testing.T) {
	restartOnCleanup(t)
	db := srv.NewDatabase(t)
	const n = 600_000
	recs, res := genRecords(n, 42, 2)
	opts := testOptions(t)
	opts.BatchRows = 25_000
	opts.Retries = 2
	s, err := Open(context.Background(), srv.URL(db), opts)
	if err != nil {
		t.Fatal(err)
	}
	killed := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		for _, after := range []int64{3, 10} {
			for s.Stats().Batches < after {
				time.Sleep(5 * time.Millisecond)
			}
			// Land inside the next insert (they take 100 ms to seconds here).
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
			if err := srv.Kill(); err != nil {
				killed <- err
				return
			}
			t.Logf("server killed after %d stored batches", s.Stats().Batches)
			time.Sleep(1500 * time.Millisecond)
			if err := srv.Restart(); err != nil {
				killed <- err
				return
			}
			t.Logf("server restarted")
		}
		killed <- nil
	}()
	writeAll(t, s, recs, res)
	// Close only after both faults, so the last batches meet them too.
	if err := <-killed; err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("stats %+v", st)
	if st.Retries == 0 {
		t.Error("no insert failed: the faults missed the ingest")
	}
	checkStored(t, db, inputTotals(recs))
	// Each batch once: the ledger and flows agree batch by batch.
	c := conn(t)
	var bad, batches uint64
	q := "SELECT count(), countIf(l.rows != f.rows) FROM (SELECT batch_id, any(rows) AS rows FROM " + db + ".batches GROUP BY batch_id) AS l " +
		"ALL INNER JOIN (SELECT batch_id, count() AS rows FROM " + db + ".flows GROUP BY batch_id) AS f USING batch_id"
	if err := c.QueryRow(context.Background(), q).Scan(&batches, &bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 || int64(batches) != st.Batches {
		t.Errorf("%d batches in ledger and flows, %d disagree; sink stored %d", batches, bad, st.Batches)
	}
}

// TestSpoolAcrossRuns: with the server down, Close leaves the batches in the
// spool (ErrPending); the next run replays them, and nothing is doubled.
func TestSpoolAcrossRuns(t *testing.T) {
	restartOnCleanup(t)
	db := srv.NewDatabase(t)
	recs, res := genRecords(60_000, 5, 2)
	opts := testOptions(t)
	opts.BatchRows = 10_000
	opts.Retries = 1
	opts.CloseTimeout = time.Second
	s, err := Open(context.Background(), srv.URL(db), opts)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, recs[:20_000], res[:20_000])
	s.Flush()
	for s.Stats().Batches < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, recs[20_000:], res[20_000:])
	err = s.Close()
	if !errors.Is(err, ErrPending) {
		t.Fatalf("Close with the server down: %v, want ErrPending", err)
	}
	st := s.Stats()
	t.Logf("first run: %v; %+v", err, st)
	if st.SpoolBatches == 0 || st.SpoolBytes == 0 {
		t.Fatal("nothing spooled")
	}
	st2 := restartAndReplay(t, db, opts)
	if st2.Replayed != int64(st.SpoolBatches) || st2.SpoolBatches != 0 {
		t.Errorf("second run replayed %d of %d spooled batches, %d left", st2.Replayed, st.SpoolBatches, st2.SpoolBatches)
	}
	checkStored(t, db, inputTotals(recs))
}

// restartAndReplay restarts the server, then opens and closes a Sink on db,
// which replays the spool of opts, and returns that Sink's stats.
func restartAndReplay(t *testing.T, db string, opts Options) Stats {
	t.Helper()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), srv.URL(db), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return s.Stats()
}

// TestSpoolBound: the spool never exceeds its bound; when full, Write fails
// with ErrSpoolFull after SpoolFullWait, the loss is counted, and what was
// spooled is replayed exactly.
func TestSpoolBound(t *testing.T) {
	restartOnCleanup(t)
	db := srv.NewDatabase(t)
	recs, res := genRecords(200_000, 9, 1)
	opts := testOptions(t)
	opts.BatchRows = 5_000
	opts.Retries = 1
	opts.SpoolMaxBytes = 2 << 20
	opts.SpoolFullWait = 300 * time.Millisecond
	opts.CloseTimeout = 300 * time.Millisecond
	s, err := Open(context.Background(), srv.URL(db), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	accepted := 0
	var werr error
	for i := range recs {
		if werr = s.Write(&recs[i], &res[i]); werr != nil {
			break
		}
		accepted++
		if st := s.Stats(); st.SpoolBytes > opts.SpoolMaxBytes {
			t.Fatalf("spool at %d bytes, bound %d", st.SpoolBytes, opts.SpoolMaxBytes)
		}
	}
	if !errors.Is(werr, ErrSpoolFull) {
		t.Fatalf("Write with the server down and the spool full: %v, want ErrSpoolFull", werr)
	}
	cerr := s.Close()
	st := s.Stats()
	t.Logf("accepted %d; Write: %v; Close: %v; %+v", accepted, werr, cerr, st)
	if !errors.Is(cerr, ErrSpoolFull) {
		t.Errorf("Close: %v, want ErrSpoolFull", cerr)
	}
	if st.SpoolBytes > opts.SpoolMaxBytes || st.SpoolBytes == 0 {
		t.Errorf("spool %d bytes, bound %d", st.SpoolBytes, opts.SpoolMaxBytes)
	}
	var disk int64
	ents, _ := os.ReadDir(st.SpoolDir)
	for _, e := range ents {
		info, _ := e.Info()
		disk += info.Size()
	}
	if disk != st.SpoolBytes {
		t.Errorf("spool directory holds %d bytes, stats say %d", disk, st.SpoolBytes)
	}
	if st.LostRows == 0 {
		t.Error("no loss reported")
	}
	restartAndReplay(t, db, opts)
	var stored int64
	conn(t).QueryRow(context.Background(), "SELECT toInt64(count()) FROM "+db+".flows").Scan(&stored)
	if stored != int64(accepted)-st.LostRows {
		t.Errorf("stored %d rows, want accepted %d - lost %d", stored, accepted, st.LostRows)
	}
}
