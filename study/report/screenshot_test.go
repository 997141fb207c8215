package report

import (
	"context"
	"html"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleReport writes a report shaped like the study's (banner, claims
// table with verdicts, a table with **bold** and `code`, plots, a code
// block, bullets) into dir and returns the HTML path.
func sampleReport(t *testing.T, dir string) string {
	t.Helper()
	if err := LinePlot(filepath.Join(dir, "lmc.png"), "Linear mode connectivity (val)", "λ", "accuracy (%)", lmcSeries()); err != nil {
		t.Fatal(err)
	}
	var d Doc
	d.Heading(1, "WARM study report")
	d.Para("Preset `tiny`, warm dev. Weight Averaged Reward Models reproduced at *laptop* scale.")
	d.Para("> **Smoke test — verdicts mean nothing.** The `tiny` preset only checks that every stage runs.")
	d.Heading(2, "Claims of the paper, tested on this run")
	d.Claims([]Claim{
		{Name: "WA ≥ ENS on ID validation", Quantity: "WA M=6 − ENS M=6, accuracy on val (pts)", Estimate: "+0.4 [-0.3, +1.1]", Test: "d > -1.0", N: "2500 pairs", Verdict: VerdictHolds, Paper: "holds [Fig 4–5]"},
		{Name: "WA ≈ ENS on OOD pairs", Quantity: "WA M=6 − ENS M=6, accuracy on ood (pts)", Estimate: "-1.8 [-2.6, -1.1]", Test: "|d| < 1.0", N: "2500 pairs", Verdict: VerdictFails, Paper: "WA ≈ ENS [Fig 3–4]"},
		{Name: "RL with a single RM: gold rises then falls (hacking)", Quantity: "peak − end of the smoothed gold curve", Estimate: "+0.120 (no interval)", Test: "d > 0", N: "1 seeds", Verdict: VerdictInconclusive, Paper: "holds [Fig 8]", Note: "needs ≥ 2 seeds"},
		{Name: "The warm6 policy beats the single policy head to head", Verdict: VerdictNotTested, Paper: "79.4% [Fig 9]"},
	})
	d.Heading(2, "Stages and time")
	d.Table([]string{"stage", "time"}, [][]string{{"pretrain", "1m2s"}, {"eval", "12s"}, {"**total**", "1m14s"}})
	d.Heading(2, "5. Linear mode connectivity")
	d.Image("LMC val", "lmc.png")
	d.Code("warm repro --preset tiny --out runs/tiny\n# a comment, not a heading")
	d.Bullets([]string{"`train_corrupted`: accuracy against swapped labels", "**lower** is better"})
	path := filepath.Join(dir, "report.html")
	if err := d.WriteHTML(path); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	styleOrScript = regexp.MustCompile(`(?is)<(style|script)\b.*?</(style|script)>`)
	preBlock      = regexp.MustCompile(`(?is)<pre\b.*?</pre>`)
	tag           = regexp.MustCompile(`(?s)<[^>]*>`)
	// Markdown syntax that a renderer would have consumed: bold/italic
	// marks, inline code ticks, a table delimiter row, a heading mark at
	// the start of a line, image or link syntax.
	rawMarkdown = []*regexp.Regexp{
		regexp.MustCompile(`\*\*`),
		regexp.MustCompile("`"),
		regexp.MustCompile(`\|\s*:?-{3,}`),
		regexp.MustCompile(`(?m)^\s*#{1,6}\s`),
		regexp.MustCompile(`!\[`),
		regexp.MustCompile(`\]\(`),
	}
)

// rawMarkdownIn returns, for each kind of Markdown syntax found in the
// visible text of an HTML page (outside <pre> blocks, where literal text
// is the point), the first place it occurs.
func rawMarkdownIn(page string) []string {
	s := styleOrScript.ReplaceAllString(page, "")
	s = preBlock.ReplaceAllString(s, "")
	s = html.UnescapeString(tag.ReplaceAllString(s, "\n"))
	var found []string
	for _, re := range rawMarkdown {
		if loc := re.FindStringIndex(s); loc != nil {
			lo, hi := max(0, loc[0]-30), min(len(s), loc[1]+30)
			found = append(found, strings.ReplaceAll(s[lo:hi], "\n", " "))
		}
	}
	return found
}

// The page as written: no Markdown syntax survives rendering.
func TestHTMLHasNoRawMarkdown(t *testing.T) {
	page, err := os.ReadFile(sampleReport(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if raw := rawMarkdownIn(string(page)); len(raw) > 0 {
		t.Errorf("raw Markdown in report.html: %q", raw)
	}
	for _, want := range []string{"<strong>total</strong>", "<code>tiny</code>", "<blockquote>", `<td class="verdict fails">fails</td>`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	// The check itself finds what it is meant to find.
	if raw := rawMarkdownIn("<p>Preset `tiny`, **total**</p><td>|---|</td>\n<p>\n## Title</p>"); len(raw) != 4 {
		t.Errorf("the raw-Markdown check found %d of 4 planted marks: %q", len(raw), raw)
	}
}

// chromium finds Debian's chromium. Without it the test is skipped with a
// loud message, except under CI (CI set), where .ci/run installs it and
// its absence is a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found: .ci/run installs Debian's chromium for this test")
	}
	t.Skip("SKIPPED: the report screenshot test needs Debian's chromium (apt-get install chromium; scripts/setup installs it)")
	return ""
}

func headless(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// The report as a browser shows it: the DOM chromium builds holds no raw
// Markdown, and the screenshot is a real page (text and the plot's
// colours on white). To look at it: REPORT_KEEP=/tmp/look go test
// ./report -run Screenshot, then open /tmp/look/TestReportScreenshot.
func TestReportScreenshot(t *testing.T) {
	bin := chromium(t)
	dir := outDir(t)
	page := sampleReport(t, dir)
	url := "file://" + filepath.ToSlash(page)

	dom := string(headless(t, bin, "--dump-dom", url))
	if !strings.Contains(dom, "WARM study report") {
		t.Fatalf("chromium's DOM lacks the title:\n%.500s", dom)
	}
	if raw := rawMarkdownIn(dom); len(raw) > 0 {
		t.Errorf("raw Markdown in the rendered page: %q", raw)
	}

	shot := filepath.Join(dir, "report.png")
	headless(t, bin, "--window-size=1200,2200", "--screenshot="+shot, url)
	img := decodePNGAny(t, shot)
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 2200 {
		t.Errorf("screenshot %dx%d, want 1200x2200", b.Dx(), b.Dy())
	}
	if n := countColor(img, color.White); n < img.Bounds().Dx()*img.Bounds().Dy()/3 {
		t.Errorf("only %d white pixels: the page did not render on a white background", n)
	}
	// The first series colour of the inlined plot appears: the data: URI
	// image decoded and drew.
	if n := countColor(img, seriesColor(0)); n < 100 {
		t.Errorf("plot colour: %d pixels, want the inlined plot visible", n)
	}
	// The fails verdict is coloured red (#c62828) by the stylesheet.
	if n := countColor(img, color.RGBA{0xc6, 0x28, 0x28, 0xff}); n < 10 {
		t.Errorf("red verdict text: %d pixels", n)
	}
}

func decodePNGAny(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
