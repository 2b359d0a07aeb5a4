// Package flowlog owns the normalized flow record that every flowsift source
// produces and every stage downstream consumes: one direction of traffic
// between two endpoints during one window, as a cloud VPC flow log describes
// it (reference: shared/reference/FORMATS.md, section 1).
//
// It defines Record, its optional attributes, the canonical JSONL text
// (AppendJSON), the malformed-input report kinds and per-file tallies. It does
// not open files or detect formats: the readers live in the sub-packages
// (flowlog/aws, flowlog/gcp, flowlog/azure, flowlog/alibaba, flowlog/native)
// and flowlog/input chooses among them by content.
package flowlog
