package flowlog

// Attr is one optional key with its value: Str for string keys, Int for
// integer keys (AttrKey.IsInt).
type Attr struct {
	Key AttrKey
	Str string
	Int int64
}

// Name is the key's JSONL name, e.g. "pkt_srcaddr".
func (k AttrKey) Name() string {
	if k >= numAttrKeys {
		return ""
	}
	return attrNames[k]
}

// IsInt reports whether the key's value is a JSON integer.
func (k AttrKey) IsInt() bool { return k < numAttrKeys && attrIsInt[k] }

func (k AttrKey) String() string { return k.Name() }

var attrByName = func() map[string]AttrKey {
	m := make(map[string]AttrKey, numAttrKeys)
	for k := AttrKey(1); k < numAttrKeys; k++ {
		m[attrNames[k]] = k
	}
	return m
}()

// LookupAttr returns the key with the given JSONL name.
func LookupAttr(name string) (AttrKey, bool) {
	k, ok := attrByName[name]
	return k, ok
}

// AttrKeys lists every optional key in output order.
func AttrKeys() []AttrKey {
	ks := make([]AttrKey, 0, numAttrKeys-1)
	for k := AttrKey(1); k < numAttrKeys; k++ {
		ks = append(ks, k)
	}
	return ks
}
