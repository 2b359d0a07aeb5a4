// Package flowtext writes flow records as text: JSONL in the fixed key order
// scripts depend on (FORMATS.md 1.1), CSV with a header row, and an aligned
// table for people. It buffers its output and never allocates per record for
// JSONL or CSV; callers own the io.Writer and close it.
package flowtext
