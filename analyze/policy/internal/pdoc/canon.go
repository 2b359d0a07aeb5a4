package pdoc

import "encoding/json"

// Canon returns a canonical text of n's value (object keys sorted), used to
// tell whether two files describe the same object identically.
func (n Node) Canon() string {
	b, err := json.Marshal(n.v)
	if err != nil {
		return ""
	}
	return string(b)
}

// Seen tracks objects by id across files: the same id with different
// content is an error naming both places.
type Seen map[string]seenAt

type seenAt struct {
	canon string
	where string
}

// Add records the object n with id; it reports whether it was new, and
// records an error on n when the id was seen with different content.
func (s Seen) Add(id string, n Node) bool {
	c := n.Canon()
	if prev, ok := s[id]; ok {
		if prev.canon != c {
			n.Failf("%s is also in %s with different content", id, prev.where)
		}
		return false
	}
	s[id] = seenAt{c, n.Where()}
	return true
}
