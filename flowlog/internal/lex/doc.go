// Package lex holds the byte-level helpers every flow-log reader shares:
// the strict integer and address rules of FORMATS.md (2.6, 1.2), whitespace
// field splitting and a line scanner that keeps line numbers and tells a clean
// end of input from a damaged one. It allocates nothing per line.
package lex
