package dashboards

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// DatasourceUID is the uid of the provisioned ClickHouse data source
// (provisioning/datasources/flowsift.yaml) the panels refer to.
const DatasourceUID = "flowsift-clickhouse"

// Panel is one panel: its header fields and its query.
type Panel struct {
	File        string // e.g. 01_traffic_by_verdict.sql
	Title       string
	Type        string // timeseries or table
	Width       int    // grid columns of 24
	Description string
	SQL         string // the query, macros unexpanded, exactly as in the JSON
}

// Panels reads every sql/*.sql in file name order. A file starts with
// "-- key: value" header lines (title, panel, width, description); the
// rest is the query.
func Panels() ([]Panel, error) {
	names, err := fs.Glob(sqlFS, "sql/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Panel
	for _, n := range names {
		b, err := sqlFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		p, err := parsePanel(path.Base(n), string(b))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePanel(name, text string) (Panel, error) {
	p := Panel{File: name, Type: "table", Width: 12}
	lines := strings.Split(text, "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "-- ") {
			break
		}
		k, v, ok := strings.Cut(l[3:], ":")
		if !ok {
			return p, fmt.Errorf("%s:%d: header line without key: %q", name, i+1, l)
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "title":
			p.Title = v
		case "panel":
			if v != "timeseries" && v != "table" {
				return p, fmt.Errorf("%s:%d: panel %q (timeseries or table)", name, i+1, v)
			}
			p.Type = v
		case "width":
			w, err := strconv.Atoi(v)
			if err != nil || w < 1 || w > 24 {
				return p, fmt.Errorf("%s:%d: width %q (1-24)", name, i+1, v)
			}
			p.Width = w
		case "description":
			p.Description = v
		default:
			return p, fmt.Errorf("%s:%d: unknown header key %q", name, i+1, k)
		}
	}
	p.SQL = strings.TrimSpace(strings.Join(lines[i:], "\n"))
	if p.Title == "" || p.SQL == "" {
		return p, fmt.Errorf("%s: needs a title and a query", name)
	}
	return p, nil
}

// Build renders the dashboard JSON from the panels.
func Build() ([]byte, error) {
	panels, err := Panels()
	if err != nil {
		return nil, err
	}
	ds := map[string]string{"type": "grafana-clickhouse-datasource", "uid": DatasourceUID}
	var out []any
	x, y, rowH := 0, 0, 0
	for i, p := range panels {
		h := 8
		if p.Type == "table" {
			h = 10
		}
		if x+p.Width > 24 {
			x, y, rowH = 0, y+rowH, 0
		}
		format := 1 // table
		if p.Type == "timeseries" {
			format = 0
		}
		panel := map[string]any{
			"id":          i + 1,
			"type":        p.Type,
			"title":       p.Title,
			"description": p.Description,
			"datasource":  ds,
			"gridPos":     map[string]int{"h": h, "w": p.Width, "x": x, "y": y},
			"targets": []any{map[string]any{
				"refId":      "A",
				"datasource": ds,
				"editorType": "sql",
				"queryType":  p.Type,
				"format":     format,
				"rawSql":     p.SQL,
			}},
		}
		if p.Type == "timeseries" {
			// The rollup is per minute: $__interval_s is never below 60.
			panel["interval"] = "1m"
			panel["fieldConfig"] = map[string]any{"defaults": map[string]any{"custom": map[string]any{"drawStyle": "bars", "stacking": map[string]string{"mode": "normal"}}}}
		}
		out = append(out, panel)
		x += p.Width
		rowH = max(rowH, h)
	}
	dash := map[string]any{
		"uid":           "flowsift",
		"title":         "flowsift: flows against the policy",
		"tags":          []string{"flowsift"},
		"timezone":      "utc",
		"schemaVersion": 39,
		"editable":      true,
		"time":          map[string]string{"from": "now-24h", "to": "now"},
		"panels":        out,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dash); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var (
	macroCall = regexp.MustCompile(`\$__(timeFilter)\(([^)]*)\)`)
	macroWord = regexp.MustCompile(`\$__(fromTime|toTime|interval_s)\b`)
)

// Expand substitutes the macros the queries use the way the
// grafana-clickhouse-datasource plugin (v4, pkg/macros) does:
// $__timeFilter(c) becomes "c >= toDateTime(FROM) AND c <= toDateTime(TO)",
// $__fromTime and $__toTime "toDateTime(UNIX)", $__interval_s the interval
// in whole seconds (at least 1). Other macros are left alone (and fail on
// the server).
func Expand(sql string, from, to time.Time, interval time.Duration) string {
	dt := func(t time.Time) string { return fmt.Sprintf("toDateTime(%d)", t.Unix()) }
	sql = macroCall.ReplaceAllStringFunc(sql, func(m string) string {
		col := strings.TrimSpace(macroCall.FindStringSubmatch(m)[2])
		return col + " >= " + dt(from) + " AND " + col + " <= " + dt(to)
	})
	return macroWord.ReplaceAllStringFunc(sql, func(m string) string {
		switch m {
		case "$__fromTime":
			return dt(from)
		case "$__toTime":
			return dt(to)
		}
		return strconv.Itoa(int(math.Max(interval.Seconds(), 1)))
	})
}
