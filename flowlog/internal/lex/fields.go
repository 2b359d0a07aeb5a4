package lex

// Fields splits line at runs of spaces and tabs, ignoring leading and
// trailing ones (as awk does), appending the fields to dst[:0]. It returns
// the fields and the true count, which may exceed cap(dst): then only the
// first cap(dst) fields are returned.
func Fields(line []byte, dst [][]byte) ([][]byte, int) {
	dst = dst[:0]
	n := 0
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			return dst, n
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if len(dst) < cap(dst) {
			dst = append(dst, line[i:j])
		}
		n++
		i = j
	}
}

// IsBlank reports whether line holds only spaces and tabs.
func IsBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}
