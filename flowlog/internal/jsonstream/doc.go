// Package jsonstream owns the byte-level splitting of JSON inputs: it finds
// the boundaries of top-level values and of the elements of big arrays in a
// byte stream (string- and escape-aware, with line numbers and a bounded
// buffer), so that a document of any size is read element by element and a
// document cut short keeps every complete element. It leaves parsing the
// elements to fastjson and their meaning to the format packages.
//
// scan.go adds byte-level helpers for the format packages' hand-written
// fast paths (SkipWS, StringEnd, Unescape, NumberEnd, Skip): each accepts
// a strict subset of what fastjson accepts and yields the bytes fastjson
// would yield, which FuzzScan checks against fastjson itself.
package jsonstream
