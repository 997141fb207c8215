package report

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// lmcSeries is what warm eval plots: accuracy along the interpolation
// path for two ladder rungs, with a standard-error band on one.
func lmcSeries() []Series {
	var lam, a, b, e []float64
	for i := range 11 {
		l := float64(i) / 10
		lam = append(lam, l)
		a = append(a, 0.70+0.04*math.Sin(math.Pi*l))
		b = append(b, 0.68+0.02*l+0.06*math.Sin(math.Pi*l))
		e = append(e, 0.01)
	}
	return []Series{{Name: "same run", X: lam, Y: a}, {Name: "Baklava", X: lam, Y: b, Err: e}}
}

// outDir is a fresh temp dir, or $REPORT_KEEP when set, so that the
// plots can be looked at: REPORT_KEEP=/tmp/look go test ./report
func outDir(t *testing.T) string {
	if d := os.Getenv("REPORT_KEEP"); d != "" {
		d = filepath.Join(d, t.Name())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	img := decodePNGAny(t, path)
	if b := img.Bounds(); b.Dx() != WidthPx || b.Dy() != HeightPx {
		t.Fatalf("%s: %dx%d, want %dx%d", path, b.Dx(), b.Dy(), WidthPx, HeightPx)
	}
	return img
}

// countColor counts pixels close to c: a drawn series must leave a mark.
func countColor(img image.Image, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if absDiff(r, r0) < 0x800 && absDiff(g, g0) < 0x800 && absDiff(bb, b0) < 0x800 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestLinePlot(t *testing.T) {
	dir := outDir(t)
	path := filepath.Join(dir, "lmc.png")
	if err := LinePlot(path, "Linear mode connectivity", "λ", "accuracy", lmcSeries()); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	// Both series colours appear (lines, markers, legend), the background is white.
	for i := range 2 {
		if n := countColor(img, seriesColor(i)); n < 200 {
			t.Errorf("series %d colour: %d pixels, want a visible line", i, n)
		}
	}
	if n := countColor(img, color.White); n < WidthPx*HeightPx/2 {
		t.Errorf("white pixels %d: plot not on a white background?", n)
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only lmc.png", len(ents))
	}
}

func TestLinePlotBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.png")
	for name, s := range map[string][]Series{
		"none":     nil,
		"mismatch": {{Name: "a", X: []float64{1, 2}, Y: []float64{1}}},
		"nan":      {{Name: "a", X: []float64{1, 2}, Y: []float64{1, math.NaN()}}},
		"err len":  {{Name: "a", X: []float64{1, 2}, Y: []float64{1, 2}, Err: []float64{1}}},
	} {
		err := LinePlot(path, "t", "x", "y", s)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want an error naming %s", name, err, path)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("bad input left a file behind: %v", err)
	}
}

func TestBarPlot(t *testing.T) {
	path := filepath.Join(outDir(t), "acc.png")
	groups := []string{"train (clean)", "train (corrupt)", "ID val", "OOD"}
	series := []BarSeries{
		{Name: "single (mean)", Values: []float64{0.9, 0.4, 0.7, 0.6}, Err: []float64{0.02, 0.05, 0.01, 0.02}},
		{Name: "best single", Values: []float64{0.92, 0.45, 0.72, 0.62}},
		{Name: "ENS", Values: []float64{0.93, 0.3, 0.74, 0.64}},
		{Name: "WA M=2", Values: []float64{0.93, 0.25, 0.74, 0.65}},
		{Name: "WA M=6", Values: []float64{0.94, 0.2, 0.75, 0.66}},
	}
	if err := BarPlot(path, "Accuracy per split", "accuracy", groups, series); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	for i := range series {
		if n := countColor(img, seriesColor(i)); n < 500 {
			t.Errorf("series %d colour: %d pixels, want filled bars", i, n)
		}
	}
	if err := BarPlot(path, "t", "y", groups, []BarSeries{{Name: "x", Values: []float64{1}}}); err == nil {
		t.Error("values/groups mismatch: no error")
	}
}

func TestMarkdown(t *testing.T) {
	var d Doc
	d.Heading(1, "WARM study")
	d.Para("Reward models: *6*.")
	d.Table([]string{"method", "acc", "note"}, [][]string{
		{"ENS", "0.74", "a|b"},
		{"WA", "0.75"}, // short row: padded
		{"single", "71.5%", "two\nlines"},
	})
	d.Image("LMC (λ)", "plots/lmc.png")
	d.Code("warm eval --rm a b\n```nested```")
	d.Claims([]Claim{
		{Name: "WA ≥ ENS (OOD)", Quantity: "WA − ENS (pts)", Estimate: "+0.4 [−0.3, +1.1]", Test: "d > −1", N: "2500 pairs", Verdict: VerdictHolds, Paper: "yes"},
		{Name: "M=6 > M=2", Quantity: "M6 − M2", Estimate: "−1.0 [−2.1, −0.2]", Test: "d > 0", N: "2 seeds", Verdict: VerdictFails, Paper: "yes", Note: "1 <b>seed</b>"},
		{Name: "RL win rate", Paper: "79.4%"},
	})
	got := string(d.Markdown())
	want := `# WARM study

Reward models: *6*.

| method | acc | note |
|---|---:|---|
| ENS | 0.74 | a\|b |
| WA | 0.75 |  |
| single | 71.5% | two<br>lines |

![LMC (λ)](<plots/lmc.png>)

` + "````\nwarm eval --rm a b\n```nested```\n````" + `

| Claim | Quantity d | Estimate [95% CI] | Test | n | Verdict | Paper | Note |
|---|---|---|---|---|---|---|---|
| WA ≥ ENS (OOD) | WA − ENS (pts) | +0.4 [−0.3, +1.1] | d > −1 | 2500 pairs | holds | yes |  |
| M=6 > M=2 | M6 − M2 | −1.0 [−2.1, −0.2] | d > 0 | 2 seeds | fails | yes | 1 &lt;b>seed&lt;/b> |
| RL win rate |  | — |  |  | not tested | 79.4% |  |
`
	// The image path has no spaces or parentheses, so no angle brackets.
	want = strings.Replace(want, "(<plots/lmc.png>)", "(plots/lmc.png)", 1)
	if got != want {
		t.Errorf("markdown:\n%s\nwant:\n%s", got, want)
	}
	path := filepath.Join(t.TempDir(), "report.md")
	if err := d.WriteMarkdown(path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Error("WriteMarkdown wrote something else than Markdown()")
	}
}

func TestHTML(t *testing.T) {
	dir := outDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := LinePlot(filepath.Join(dir, "plots", "lmc.png"), "LMC", "λ", "acc", lmcSeries()); err != nil {
		t.Fatal(err)
	}
	var d Doc
	d.Heading(1, "Study <1> & co")
	d.Para("scores \"a\" < b & c **bold** `tiny`")
	d.Table([]string{"k", "v"}, [][]string{{"<script>", "0.5"}})
	d.Claims([]Claim{{Name: "x", Verdict: VerdictHolds}})
	d.Image(`plot "one"`, "plots/lmc.png")
	d.Code("if a < b {}")
	path := filepath.Join(dir, "report.html")
	if err := d.WriteHTML(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, s := range []string{
		"<title>Study &lt;1&gt; &amp; co</title>",
		"<h1>Study &lt;1&gt; &amp; co</h1>",
		"<p>scores &quot;a&quot; &lt; b &amp; c <strong>bold</strong> <code>tiny</code></p>",
		"<td>&lt;script&gt;</td>\n<td style=\"text-align:right\">0.5</td>",
		`alt="plot &quot;one&quot;"`,
		"<pre><code>if a &lt; b {}\n</code></pre>",
		`<td class="verdict holds">holds</td>`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("unescaped <script> in HTML")
	}
	// The image is inlined and decodes back to the PNG on disk.
	const pre = `src="data:image/png;base64,`
	i := strings.Index(page, pre)
	if i < 0 {
		t.Fatal("no inlined PNG")
	}
	enc := page[i+len(pre):]
	enc = enc[:strings.IndexByte(enc, '"')]
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, _ := os.ReadFile(filepath.Join(dir, "plots", "lmc.png"))
	if !bytes.Equal(raw, onDisk) {
		t.Error("inlined image differs from the file")
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Error(err)
	}

	// A missing image: error naming it, and no HTML file written.
	var bad Doc
	bad.Image("gone", "missing.png")
	badPath := filepath.Join(dir, "bad.html")
	err = bad.WriteHTML(badPath)
	if err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing image: err = %v", err)
	}
	if _, err := os.Stat(badPath); !os.IsNotExist(err) {
		t.Error("partial HTML written despite the error")
	}
}

func TestNiceTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var l []string
		for _, tk := range (niceTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				l = append(l, tk.Label)
			}
		}
		return l
	}
	// Checked properties rather than exact strings: 4–11 labels, evenly
	// spaced, all within range, sorted.
	for _, r := range [][2]float64{{0, 1}, {0.68, 0.76}, {-3, 12}, {0.001, 0.0013}, {-250, 4000}, {5, 5.5}} {
		ticks := (niceTicks{}).Ticks(r[0], r[1])
		var vals []float64
		for _, tk := range ticks {
			if tk.Value < r[0]-1e-12 || tk.Value > r[1]+1e-12 {
				t.Errorf("%v: tick %v outside range", r, tk.Value)
			}
			if tk.Label != "" {
				vals = append(vals, tk.Value)
			}
		}
		if len(vals) < 4 || len(vals) > 11 {
			t.Errorf("%v: %d labelled ticks", r, len(vals))
			continue
		}
		for i := 2; i < len(vals); i++ {
			if d0, d := vals[1]-vals[0], vals[i]-vals[i-1]; math.Abs(d-d0) > 1e-9*math.Abs(d0) {
				t.Errorf("%v: uneven spacing %v", r, vals)
			}
		}
	}
	if got := strings.Join(labels(0.68, 0.76), " "); got != "0.68 0.69 0.70 0.71 0.72 0.73 0.74 0.75 0.76" {
		t.Errorf("labels(0.68, 0.76) = %s", got)
	}
	if got := strings.Join(labels(0, 1), " "); got != "0.0 0.2 0.4 0.6 0.8 1.0" {
		t.Errorf("labels(0, 1) = %s", got)
	}
	if got := strings.Join(labels(-3, 12), " "); got != "-2 0 2 4 6 8 10 12" {
		t.Errorf("labels(-3, 12) = %s", got)
	}
}

// A BoN-style plot with six rewards and long names, and a bar chart whose
// group names must be slanted.
func TestManySeries(t *testing.T) {
	dir := outDir(t)
	var ss []Series
	names := []string{"single RM", "ENS M=2", "ENS M=6", "WARM M=2", "WARM M=6", "gold (oracle upper bound)"}
	for i, n := range names {
		var x, y []float64
		for k := 1; k <= 64; k *= 2 {
			x = append(x, math.Log(float64(k))-float64(k-1)/float64(k))
			y = append(y, 0.1*float64(i+1)*math.Log(float64(k)))
		}
		ss = append(ss, Series{Name: n, X: x, Y: y})
	}
	path := filepath.Join(dir, "bon.png")
	if err := LinePlot(path, "Best-of-N", "KL(BoN ‖ SFT) [nats]", "gold reward", ss); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	for i := range ss {
		if n := countColor(img, seriesColor(i)); n < 100 {
			t.Errorf("series %d colour: %d pixels", i, n)
		}
	}
	groups := []string{"train clean labels", "train corrupted labels", "ID validation", "OOD higher temperature", "OOD other prompts"}
	bars := []BarSeries{{Name: "ENS", Values: []float64{0.9, 0.3, 0.7, 0.6, 0.55}}, {Name: "WA", Values: []float64{0.91, 0.2, 0.72, 0.62, 0.57}}}
	path = filepath.Join(dir, "bars.png")
	if err := BarPlot(path, "Slanted groups", "accuracy", groups, bars); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, path)
}

// Every series of a plot with up to 8 lines has its own colour, and up to
// 24 lines no two share colour, dash pattern and marker all at once.
func TestSeriesStylesDistinct(t *testing.T) {
	type style struct{ c, d, m int }
	seen := map[style]int{}
	for i := range 24 {
		s := style{i % len(palette), i % len(dashes), i % 8}
		if j, ok := seen[s]; ok {
			t.Errorf("series %d and %d look the same", j, i)
		}
		seen[s] = i
	}
	for i := range palette {
		for j := range i {
			if palette[i] == palette[j] {
				t.Errorf("colours %d and %d equal", i, j)
			}
		}
	}
}

// Output files are world-readable (0644 under the usual umask 022), not
// the 0600 of a bare os.CreateTemp.
func TestFileMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	var d Doc
	d.Heading(1, "x")
	png := filepath.Join(dir, "a.png")
	if err := LinePlot(png, "t", "x", "y", lmcSeries()); err != nil {
		t.Fatal(err)
	}
	d.Image("a", "a.png")
	if err := d.WriteMarkdown(filepath.Join(dir, "r.md")); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteHTML(filepath.Join(dir, "r.html")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.png", "r.md", "r.html"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f, st.Mode().Perm())
		}
	}
}
