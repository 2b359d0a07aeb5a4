// Package verdict owns judging flow records against a loaded policy.Set:
// reply detection over a batch of records (reference/POLICY.md 3), layer
// evaluation (4–7, including unknown reasons and the both-branches rule of
// 4.3), verdict combination (4.1) and findings (8). It leaves loading
// policies to analyze/policy and its loaders, and printing to cmd and
// storage.
//
// Two chain evaluators share the model: Reference follows POLICY.md rule by
// rule (a linear first-match walk) and is the oracle; Compiled answers the
// same questions from per-chain indexes over remote prefixes and port ranges,
// without allocating. NewEngine picks Compiled; NewReferenceEngine the oracle.
package verdict
