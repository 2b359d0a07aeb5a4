package flowlog

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFixedKeysOrder: FixedKeys names exactly the keys AppendJSON writes
// first, in its order.
func TestFixedKeysOrder(t *testing.T) {
	r := Record{}
	r.SetStr(AttrRegion, "r")
	js := string(AppendJSON(nil, &r))
	if !json.Valid([]byte(js)) {
		t.Fatalf("invalid JSON %s", js)
	}
	pos := -1
	for _, k := range FixedKeys {
		i := strings.Index(js, `"`+k+`":`)
		if i <= pos {
			t.Fatalf("key %q at %d, not after the previous key (%d): %s", k, i, pos, js)
		}
		pos = i
	}
	if i := strings.Index(js, `"region":`); i <= pos {
		t.Fatalf("optional key not after the fixed keys: %s", js)
	}
}
