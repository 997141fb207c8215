package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"

	"github.com/warm-rm/warm/internal/atomicfile"
)

// Doc is a report built block by block and written as Markdown (with the
// PNGs beside it) or as one self-contained HTML file. Image paths are
// relative to the directory the report is written to.
type Doc struct {
	blocks []block
}

type blockKind int

const (
	heading blockKind = iota
	para
	table
	img
	code
	bullets
)

type block struct {
	kind   blockKind
	level  int
	text   string
	header []string
	rows   [][]string
	items  []string
}

// Heading adds a section heading; level 1 is the title (clamped to 1–6).
func (d *Doc) Heading(level int, text string) {
	d.blocks = append(d.blocks, block{kind: heading, level: min(max(level, 1), 6), text: text})
}

// Para adds a paragraph of plain text (Markdown inline syntax passes
// through to the .md file; in HTML the text is escaped verbatim).
func (d *Doc) Para(text string) { d.blocks = append(d.blocks, block{kind: para, text: text}) }

// Table adds a table. Rows shorter than the header are padded with empty
// cells; longer rows extend the header with empty names. A column whose
// cells all parse as numbers is right-aligned.
func (d *Doc) Table(header []string, rows [][]string) {
	n := len(header)
	for _, r := range rows {
		n = max(n, len(r))
	}
	h := pad(header, n)
	rs := make([][]string, len(rows))
	for i, r := range rows {
		rs[i] = pad(r, n)
	}
	d.blocks = append(d.blocks, block{kind: table, header: h, rows: rs})
}

// Image adds a picture; relPath is relative to the report's directory.
func (d *Doc) Image(alt, relPath string) {
	d.blocks = append(d.blocks, block{kind: img, text: alt, items: []string{relPath}})
}

// Code adds a preformatted block (a command line, a config).
func (d *Doc) Code(text string) { d.blocks = append(d.blocks, block{kind: code, text: text}) }

// Bullets adds an unordered list.
func (d *Doc) Bullets(items []string) {
	d.blocks = append(d.blocks, block{kind: bullets, items: append([]string(nil), items...)})
}

// Verdict words of a claims table. A claim is decided by a stated test on
// a 95% interval (see stats.Decide); "not tested" means the stage that
// measures it did not run.
const (
	VerdictHolds        = "holds"
	VerdictFails        = "fails"
	VerdictInconclusive = "inconclusive"
	VerdictNotTested    = "not tested"
)

// Claim is one row of a claims table: a statement from the paper, the
// quantity our run measured, its estimate with a 95% interval, the test
// that decides it (direction and margin), the number of units behind
// the interval, and the verdict in words.
type Claim struct {
	Name     string // the claim, in words
	Quantity string // what d is, with units
	Estimate string // d with its 95% interval, e.g. "−0.4 [−1.1, +0.3]"
	Test     string // the decision rule on d, e.g. "d > −1.0"
	N        string // units behind the interval: "2500 pairs", "2 seeds"
	Verdict  string // VerdictHolds, VerdictFails, VerdictInconclusive or VerdictNotTested
	Paper    string // what the paper reports
	Note     string
}

// ClaimTable returns the header and rows of a claims table. The Note
// column appears only when some claim has a note.
func ClaimTable(claims []Claim) (header []string, rows [][]string) {
	notes := false
	for _, c := range claims {
		notes = notes || c.Note != ""
	}
	header = []string{"Claim", "Quantity d", "Estimate [95% CI]", "Test", "n", "Verdict", "Paper"}
	if notes {
		header = append(header, "Note")
	}
	for _, c := range claims {
		v := c.Verdict
		if v == "" {
			v = VerdictNotTested
		}
		est := c.Estimate
		if est == "" {
			est = "—"
		}
		r := []string{c.Name, c.Quantity, est, c.Test, c.N, v, c.Paper}
		if notes {
			r = append(r, c.Note)
		}
		rows = append(rows, r)
	}
	return header, rows
}

// Claims adds a claims table (see ClaimTable).
func (d *Doc) Claims(claims []Claim) { d.Table(ClaimTable(claims)) }

func pad(r []string, n int) []string {
	out := make([]string, n)
	copy(out, r)
	return out
}

// Markdown returns the document as GitHub-flavoured Markdown. Text is
// Markdown inline syntax (`code`, **bold**, *emphasis*) but never raw
// HTML: a '<' that could open a tag is written as &lt;, so text from a
// model or a data file cannot inject markup, and the only HTML in the
// output is the <br> this package writes for a line break in a cell.
func (d *Doc) Markdown() []byte {
	var b bytes.Buffer
	for i, bl := range d.blocks {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch bl.kind {
		case heading:
			fmt.Fprintf(&b, "%s %s\n", strings.Repeat("#", bl.level), noRawHTML(oneLine(bl.text)))
		case para:
			fmt.Fprintf(&b, "%s\n", noRawHTML(strings.TrimRight(bl.text, "\n")))
		case table:
			writeMDRow(&b, bl.header)
			b.WriteByte('|')
			for c := range bl.header {
				if numericColumn(bl.rows, c) {
					b.WriteString("---:|")
				} else {
					b.WriteString("---|")
				}
			}
			b.WriteByte('\n')
			for _, r := range bl.rows {
				writeMDRow(&b, r)
			}
		case img:
			fmt.Fprintf(&b, "![%s](%s)\n", mdEscapeAlt(bl.text), mdPath(bl.items[0]))
		case code:
			// A fence longer than any backtick run inside the text.
			fence := "```"
			for strings.Contains(bl.text, fence) {
				fence += "`"
			}
			fmt.Fprintf(&b, "%s\n%s\n%s\n", fence, strings.TrimRight(bl.text, "\n"), fence)
		case bullets:
			for _, it := range bl.items {
				fmt.Fprintf(&b, "- %s\n", noRawHTML(oneLine(it)))
			}
		}
	}
	return b.Bytes()
}

// WriteMarkdown writes the Markdown to path atomically (mode 0644 under
// the umask).
func (d *Doc) WriteMarkdown(path string) error {
	return atomicfile.WriteFile(path, d.Markdown())
}

// noRawHTML writes '<' as the entity &lt; where it could start raw HTML or
// an autolink (before a letter, '/', '!' or '?'); Markdown renders the
// entity as '<'. '&' needs nothing: a stray '&' is literal in Markdown.
func noRawHTML(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '<' && i+1 < len(s) {
			if c := s[i+1]; c == '/' || c == '!' || c == '?' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
				b.WriteString("&lt;")
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func writeMDRow(b *bytes.Buffer, cells []string) {
	b.WriteByte('|')
	for _, c := range cells {
		c = noRawHTML(c)
		// A pipe would end the cell and a newline the row.
		c = strings.ReplaceAll(c, "|", `\|`)
		c = strings.ReplaceAll(strings.ReplaceAll(c, "\r\n", "\n"), "\n", "<br>")
		fmt.Fprintf(b, " %s |", c)
	}
	b.WriteByte('\n')
}

func numericColumn(rows [][]string, c int) bool {
	seen := false
	for _, r := range rows {
		s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(r[c]), "%"))
		if s == "" || s == "—" {
			continue
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return false
		}
		seen = true
	}
	return seen
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func mdEscapeAlt(s string) string {
	return strings.NewReplacer("[", `\[`, "]", `\]`).Replace(noRawHTML(oneLine(s)))
}

// mdPath writes a link target; one with spaces or parentheses goes in
// angle brackets, as CommonMark allows.
func mdPath(p string) string {
	p = filepath.ToSlash(p)
	if strings.ContainsAny(p, " ()") {
		return "<" + p + ">"
	}
	return p
}

const css = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td[align=right],td[style*=right]{font-variant-numeric:tabular-nums;white-space:nowrap}
td.verdict{font-weight:600;white-space:nowrap}td.holds{color:#1a7f37}td.fails{color:#c62828}td.inconclusive{color:#8a6d00}
code{background:#f3f3f3;padding:0 .2em;border-radius:3px}
img{max-width:100%;height:auto}pre{background:#f6f6f6;padding:.8em;overflow-x:auto}pre code{background:none;padding:0}
blockquote{border-left:6px solid #c62828;background:#fdecea;margin:1em 0;padding:.5em 1em}
h1,h2,h3{line-height:1.2}`

// markdown is the one renderer the HTML goes through: CommonMark plus the
// GFM table extension. Raw HTML is let through because Markdown() never
// emits any except <br> in table cells (see noRawHTML).
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table),
	goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
)

// HTML returns the document as one self-contained HTML page: the
// Markdown of Markdown() rendered by goldmark (CommonMark + GFM tables),
// with images read from dir (the directory the page is meant for,
// against which image paths are resolved) and inlined as base64 data:
// URIs. A missing or unreadable image is an error naming the file.
// Verdict cells ("holds", "fails", "inconclusive") get a class so that
// the stylesheet can colour them; the word stays the message.
func (d *Doc) HTML(dir string) ([]byte, error) {
	src := d.Markdown()
	root := markdown.Parser().Parse(text.NewReader(src))
	var werr error
	err := ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		im, ok := n.(*ast.Image)
		if !ok || !entering {
			return ast.WalkContinue, nil
		}
		uri, err := dataURI(dir, string(im.Destination))
		if err != nil {
			werr = err
			return ast.WalkStop, nil
		}
		im.Destination = []byte(uri)
		return ast.WalkSkipChildren, nil
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	if err := markdown.Renderer().Render(&body, src, root); err != nil {
		return nil, fmt.Errorf("rendering Markdown: %w", err)
	}
	page := body.String()
	for _, v := range []string{VerdictHolds, VerdictFails, VerdictInconclusive} {
		page = strings.ReplaceAll(page, "<td>"+v+"</td>", `<td class="verdict `+v+`">`+v+"</td>")
	}
	title := "report"
	for _, bl := range d.blocks {
		if bl.kind == heading {
			title = plainTitle(bl.text)
			break
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n%s</body>\n</html>\n",
		html.EscapeString(title), css, page)
	return b.Bytes(), nil
}

// plainTitle drops the inline Markdown marks a heading may carry, for the
// page's <title>, which is plain text.
func plainTitle(s string) string {
	return strings.NewReplacer("`", "", "**", "", "__", "").Replace(oneLine(s))
}

// WriteHTML writes the self-contained HTML page to path atomically (mode
// 0644 under the umask); image paths are resolved against path's
// directory. Nothing is written if an image cannot be read.
func (d *Doc) WriteHTML(path string) error {
	page, err := d.HTML(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteFile(path, page)
}

func dataURI(dir, rel string) (string, error) {
	p := filepath.FromSlash(rel)
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", p, err)
	}
	var mime string
	switch strings.ToLower(filepath.Ext(p)) {
	case ".png":
		mime = "image/png"
	case ".jpg", ".jpeg":
		mime = "image/jpeg"
	case ".gif":
		mime = "image/gif"
	case ".svg":
		mime = "image/svg+xml"
	default:
		return "", fmt.Errorf("image %s: unsupported type %q (want .png, .jpg, .gif or .svg)", p, filepath.Ext(p))
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data), nil
}
