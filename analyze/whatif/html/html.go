// Package html owns the HTML form of a what-if report: one self-contained
// file (inline CSS and SVG charts, no script, no external resource or font)
// that also prints well (@media print). It leaves building the report to
// analyze/whatif and choosing the output to the CLI.
package html

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/flowsift/flowsift/analyze/whatif"
)

// Write renders r as one HTML document.
func Write(w io.Writer, r *whatif.Report) error {
	return page.Execute(w, view{R: r, Timeline: timeline(r), Bars: changeBars(r), Generated: time.Now().UTC().Format("2006-01-02 15:04 UTC")})
}

type view struct {
	R         *whatif.Report
	Timeline  template.HTML
	Bars      template.HTML
	Generated string
}

// group formats n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func bytesText(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	}
	return strconv.Itoa(int(p))
}

var esc = template.HTMLEscapeString

// timeline draws the changed traffic per time bucket: newly denied flows
// above the axis (red), newly allowed below (amber).
func timeline(r *whatif.Report) template.HTML {
	tl := r.Timeline
	const W, H, pad = 900.0, 220.0, 40.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="timeline of affected traffic" viewBox="0 0 %.0f %.0f" width="100%%" xmlns="http://www.w3.org/2000/svg">`, W, H)
	if len(tl) == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle" class="muted">no observed flow changes its verdict</text></svg>`, W/2, H/2)
		return template.HTML(b.String())
	}
	lo, hi := tl[0].Start, tl[len(tl)-1].Start
	width := int64(whatif.BucketWidth)
	if len(tl) > 1 {
		width = tl[1].Start - tl[0].Start
		for i := 2; i < len(tl); i++ {
			width = min(width, tl[i].Start-tl[i-1].Start)
		}
	}
	n := (hi-lo)/width + 1
	var maxD, maxA int64
	for _, p := range tl {
		maxD, maxA = max(maxD, p.DeniedFlows), max(maxA, p.AllowedFlows)
	}
	mid := pad + (H-2*pad)*float64(maxD)/float64(max(maxD+maxA, 1))
	bw := (W - 2*pad) / float64(n)
	scale := (H - 2*pad) / float64(max(maxD+maxA, 1))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" class="axis"/>`, pad, mid, W-pad, mid)
	for _, p := range tl {
		x := pad + float64((p.Start-lo)/width)*bw
		t := time.Unix(p.Start, 0).UTC().Format("2006-01-02 15:04")
		if p.DeniedFlows > 0 {
			h := float64(p.DeniedFlows) * scale
			fmt.Fprintf(&b, `<rect class="denied" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s newly denied flow(s), %s</title></rect>`,
				x, mid-h, max(bw-1, 1), h, t, group(p.DeniedFlows), bytesText(p.DeniedBytes))
		}
		if p.AllowedFlows > 0 {
			h := float64(p.AllowedFlows) * scale
			fmt.Fprintf(&b, `<rect class="allowed" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s newly allowed flow(s), %s</title></rect>`,
				x, mid, max(bw-1, 1), h, t, group(p.AllowedFlows), bytesText(p.AllowedBytes))
		}
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="tick">%s</text>`, pad, H-10, esc(time.Unix(lo, 0).UTC().Format("2006-01-02 15:04")))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="tick" text-anchor="end">%s</text>`, W-pad, H-10, esc(time.Unix(hi+width, 0).UTC().Format("2006-01-02 15:04")))
	fmt.Fprintf(&b, `<text x="%.0f" y="20" class="tick">▲ newly denied (max %s flows per bucket)</text>`, pad, group(maxD))
	fmt.Fprintf(&b, `<text x="%.0f" y="20" class="tick" text-anchor="end">▼ newly allowed (max %s)</text>`, W-pad, group(maxA))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// changeBars: one horizontal bar per rule change, flows newly denied and
// newly allowed.
func changeBars(r *whatif.Report) template.HTML {
	ims := r.ByChange
	if len(ims) > 15 {
		ims = ims[:15]
	}
	if len(ims) == 0 {
		return ""
	}
	const W, row, label = 900.0, 26.0, 380.0
	H := row*float64(len(ims)) + 10
	var maxF int64 = 1
	for _, im := range ims {
		maxF = max(maxF, im.Denied.Flows+im.Allowed.Flows+im.Unknown.Flows)
	}
	scale := (W - label - 80) / float64(maxF)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="flows by rule change" viewBox="0 0 %.0f %.0f" width="100%%" xmlns="http://www.w3.org/2000/svg">`, W, H)
	for i, im := range ims {
		y := 5 + float64(i)*row
		id := im.ID
		if len(id) > 52 {
			id = id[:24] + "…" + id[len(id)-27:]
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="lbl" text-anchor="end">%s</text>`, label-8, y+16, esc(id))
		x := label
		for _, part := range []struct {
			cls string
			n   int64
		}{{"denied", im.Denied.Flows}, {"allowed", im.Allowed.Flows}, {"unknown", im.Unknown.Flows}} {
			if part.n == 0 {
				continue
			}
			wd := max(float64(part.n)*scale, 2)
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.0f"><title>%s: %s flow(s)</title></rect>`,
				part.cls, x, y+3, wd, row-8, esc(im.ID), group(part.n))
			x += wd
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="lbl">%s</text>`, x+6, y+16, group(im.Denied.Flows+im.Allowed.Flows+im.Unknown.Flows))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var funcs = template.FuncMap{
	"group": group,
	"g":     func(n int) string { return group(int64(n)) },
	"bytes": bytesText,
	"proto": protoName,
	"dash": func(s string) string {
		if s == "" {
			return "–"
		}
		return s
	},
	"join": strings.Join,
	"plural": func(n int, s string) string {
		if n == 1 {
			return s
		}
		return s + "s"
	},
}

var page = template.Must(template.New("whatif").Funcs(funcs).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flowsift what-if report</title>
<style>
:root { --deny: #c62828; --allow: #e08a00; --unk: #7b7b7b; --ink: #1d2330; --muted: #5f6b7a; --line: #d8dde4; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.meta, .muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 16px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--bg); }
.card .k { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .v { font-size: 28px; font-weight: 700; }
.card .s { font-size: 12.5px; color: var(--muted); }
.card.deny { border-left: 5px solid var(--deny); }
.card.allow { border-left: 5px solid var(--allow); }
.card.unk { border-left: 5px solid var(--unk); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 11.5px; font-weight: 600; color: #fff; background: var(--unk); }
.badge.newly-denied, .badge.removed { background: var(--deny); }
.badge.newly-allowed, .badge.added { background: var(--allow); }
.badge.modified, .badge.binding { background: #3b6fb6; }
.badge.safe { background: #2e7d32; }
svg.chart { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
svg .denied { fill: var(--deny); } svg .allowed { fill: var(--allow); } svg .unknown { fill: var(--unk); }
svg .axis { stroke: #888; stroke-width: 1; } svg .tick, svg .lbl { font: 12px system-ui, sans-serif; fill: #444; }
svg .muted { font: 14px system-ui, sans-serif; fill: #777; }
.legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
.impact { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; margin: 10px 0; page-break-inside: avoid; }
.impact .txt { margin: 2px 0 6px; }
@media (max-width: 800px) { .cards { grid-template-columns: repeat(2, 1fr); } }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 10.5pt; color: #000; }
  main { max-width: none; padding: 0; }
  h2 { page-break-after: avoid; }
  table, .impact, svg.chart, .cards { page-break-inside: avoid; }
  .card, th { background: #fff !important; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
</head>
<body>
<main>
<h1>What-if report</h1>
<p class="meta">Current policy: <code>{{join .R.Before.Files ", "}}</code> ({{g .R.Before.Rules}} written rules)<br>
Proposed policy: <code>{{join .R.After.Files ", "}}</code> ({{g .R.After.Rules}} written rules)<br>
Traffic: {{with .R.Source}}<code>{{.}}</code>, {{end}}<span id="total-flows">{{group .R.Totals.Flows}}</span> flow records ({{group .R.Totals.Rows}} distinct), {{bytes .R.Totals.Bytes}}, {{dash .R.Totals.FirstText}} to {{dash .R.Totals.LastText}} UTC. Generated {{.Generated}} by flowsift.</p>

<section class="cards" aria-label="headline numbers">
 <div class="card deny"><div class="k">Newly denied — would break</div><div class="v" id="denied-flows">{{group .R.NewlyDenied.Flows}}</div>
  <div class="s">flows · <span id="denied-connections">{{g .R.NewlyDenied.Connections}}</span> connections · {{bytes .R.NewlyDenied.Bytes}}</div></div>
 <div class="card deny"><div class="k">Peers cut off</div><div class="v" id="denied-peers">{{g .R.NewlyDenied.Peers}}</div>
  <div class="s">last seen {{dash .R.NewlyDenied.LastText}}</div></div>
 <div class="card allow"><div class="k">Newly allowed — newly exposed</div><div class="v" id="allowed-flows">{{group .R.NewlyAllowed.Flows}}</div>
  <div class="s">flows · <span id="allowed-connections">{{g .R.NewlyAllowed.Connections}}</span> connections · {{g .R.NewlyAllowed.Peers}} sources</div></div>
 <div class="card unk"><div class="k">To or from unknown</div><div class="v" id="unknown-flows">{{group .R.Unknown.Flows}}</div>
  <div class="s">flows · {{g .R.Unknown.Connections}} connections</div></div>
</section>

<h2>Affected traffic over time</h2>
<p class="legend"><span><i style="background:var(--deny)"></i>newly denied flows</span><span><i style="background:var(--allow)"></i>newly allowed flows</span></p>
{{.Timeline}}

<h2>By rule change</h2>
{{if .R.ByChange}}{{.Bars}}
{{range .R.ByChange}}<div class="impact">
 <h3><code>{{.ID}}</code> {{with .Status}}<span class="badge {{.}}">{{.}}</span>{{end}}</h3>
 {{if or .Before .After}}<p class="txt mono">{{with .Before}}before: {{.}}{{end}}{{if and .Before .After}}<br>{{end}}{{with .After}}after: {{.}}{{end}}</p>{{end}}
 <table><tr><th></th><th class="n">connections</th><th class="n">flows</th><th class="n">bytes</th><th class="n">distinct peers</th><th>last seen</th></tr>
 {{with .Denied}}{{if .Flows}}<tr><td><span class="badge newly-denied">newly denied</span></td><td class="n">{{g .Connections}}</td><td class="n">{{group .Flows}}</td><td class="n">{{bytes .Bytes}}</td><td class="n">{{g .Peers}}</td><td>{{.LastText}}</td></tr>{{end}}{{end}}
 {{with .Allowed}}{{if .Flows}}<tr><td><span class="badge newly-allowed">newly allowed</span></td><td class="n">{{g .Connections}}</td><td class="n">{{group .Flows}}</td><td class="n">{{bytes .Bytes}}</td><td class="n">{{g .Peers}}</td><td>{{.LastText}}</td></tr>{{end}}{{end}}
 {{with .Unknown}}{{if .Flows}}<tr><td><span class="badge">to/from unknown</span></td><td class="n">{{g .Connections}}</td><td class="n">{{group .Flows}}</td><td class="n">{{bytes .Bytes}}</td><td class="n">{{g .Peers}}</td><td>{{.LastText}}</td></tr>{{end}}{{end}}
 </table>
 <table><tr><th>change</th><th>source</th><th>destination</th><th class="n">port</th><th>iface</th><th class="n">flows</th><th class="n">bytes</th><th>last seen</th></tr>
 {{range .Examples}}<tr><td><span class="badge {{.Change}}">{{.Transition}}</span></td><td class="mono">{{.Src}}</td><td class="mono">{{.Dst}}</td><td class="n">{{.DstPort}}/{{proto .Proto}}</td><td class="mono">{{dash .Iface}}</td><td class="n">{{group .Flows}}</td><td class="n">{{bytes .Bytes}}</td><td>{{.LastText}}</td></tr>
 {{end}}</table>
</div>
{{end}}{{else}}<p class="muted">No observed flow changes its verdict.</p>{{end}}

<h2>Newly denied connections (would break)</h2>
{{if .R.Denied}}<table id="denied-table"><tr><th>source</th><th>destination</th><th class="n">port</th><th>iface / dir</th><th class="n">flows</th><th class="n">bytes</th><th>last seen</th><th>rules now → proposed</th><th>attributed to</th></tr>
{{range .R.Denied}}<tr><td class="mono">{{.Src}}</td><td class="mono">{{.Dst}}</td><td class="n">{{.DstPort}}/{{proto .Proto}}</td><td class="mono">{{dash .Iface}} {{.Direction}}</td><td class="n">{{group .Flows}}</td><td class="n">{{bytes .Bytes}}</td><td>{{.LastText}}</td><td class="mono">{{join .RulesBefore " "}} → {{join .RulesAfter " "}}</td><td class="mono">{{.AttributedTo}}</td></tr>
{{end}}</table>{{else}}<p class="muted">None.</p>{{end}}

<h2>Newly allowed: which sources reach which ports</h2>
{{if .R.Exposed}}<table id="exposed-table"><tr><th>destination</th><th class="n">port</th><th>iface</th><th>sources</th><th class="n">flows</th><th>attributed to</th></tr>
{{range .R.Exposed}}<tr><td class="mono">{{.Dst}}</td><td class="n">{{.Port}}/{{proto .Proto}}</td><td class="mono">{{dash .Iface}}</td><td class="mono">{{join .Sources " "}}{{if gt .SourceCount (len .Sources)}} … ({{g .SourceCount}} in all){{end}}</td><td class="n">{{group .Flows}}</td><td class="mono">{{.AttributedTo}}</td></tr>
{{end}}</table>{{else}}<p class="muted">None.</p>{{end}}

<h2>Rule-level diff</h2>
{{if .R.Diff}}<table id="diff-table"><tr><th>id</th><th>status</th><th>before</th><th>after</th><th class="n">hits before</th><th class="n">hits after</th><th class="n">changed flows</th><th>traffic</th></tr>
{{range .R.Diff}}<tr><td class="mono">{{.ID}}</td><td><span class="badge {{.Status}}">{{.Status}}</span></td><td class="mono">{{dash .Before}}</td><td class="mono">{{dash .After}}</td><td class="n">{{group .HitsBefore}}</td><td class="n">{{group .HitsAfter}}</td><td class="n">{{group .Changed}}</td><td>{{if .Safe}}<span class="badge safe">unobserved: safe</span>{{else if not .Observed}}unobserved{{else}}observed{{end}}</td></tr>
{{end}}</table>{{else}}<p class="muted">The two policies have the same rules and bindings.</p>{{end}}

<h2>What the change could affect that was not observed</h2>
<p class="muted">Allowed space for new connections per scope and direction (protocol, port, remote address), whether or not traffic was seen.</p>
{{if .R.Space}}<table id="space-table"><tr><th>scope</th><th>dir</th><th>opens</th><th>closes</th></tr>
{{range .R.Space}}<tr><td class="mono">{{.Scope}}</td><td>{{.Dir}}</td><td class="mono">{{range .NewlyAllowed}}{{.}}<br>{{end}}</td><td class="mono">{{range .NewlyDenied}}{{.}}<br>{{end}}{{if .Truncated}}…{{end}}{{with .Note}} <span class="muted">({{.}})</span>{{end}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No change of allowed space.</p>{{end}}
</main>
</body>
</html>
`
