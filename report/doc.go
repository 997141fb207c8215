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

	"github.com/warm-rm/warm/runlog"
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

// Claim is one row of a claims table: a statement from the paper, what
// our run measured, what the paper reports, and whether it held
// (nil = not tested in this run).
type Claim struct {
	Name, Ours, Paper string
	Holds             *bool
	Note              string
}

// ClaimTable returns the header and rows of a claims table, with a
// ✅ (holds), ❌ (does not hold) or — (not tested) column.
func ClaimTable(claims []Claim) (header []string, rows [][]string) {
	header = []string{"Claim", "Ours", "Paper", "Holds", "Note"}
	for _, c := range claims {
		mark := "—"
		if c.Holds != nil {
			mark = "❌"
			if *c.Holds {
				mark = "✅"
			}
		}
		rows = append(rows, []string{c.Name, c.Ours, c.Paper, mark, c.Note})
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

// Markdown returns the document as GitHub-flavoured Markdown.
func (d *Doc) Markdown() []byte {
	var b bytes.Buffer
	for i, bl := range d.blocks {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch bl.kind {
		case heading:
			fmt.Fprintf(&b, "%s %s\n", strings.Repeat("#", bl.level), oneLine(bl.text))
		case para:
			fmt.Fprintf(&b, "%s\n", strings.TrimRight(bl.text, "\n"))
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
				fmt.Fprintf(&b, "- %s\n", oneLine(it))
			}
		}
	}
	return b.Bytes()
}

// WriteMarkdown writes the Markdown to path atomically.
func (d *Doc) WriteMarkdown(path string) error {
	return runlog.WriteFile(path, d.Markdown())
}

func writeMDRow(b *bytes.Buffer, cells []string) {
	b.WriteByte('|')
	for _, c := range cells {
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
	return strings.NewReplacer("[", `\[`, "]", `\]`).Replace(oneLine(s))
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

const css = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:960px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto}pre{background:#f6f6f6;padding:.8em;overflow-x:auto}
h1,h2,h3{line-height:1.2}`

// HTML returns the document as one self-contained HTML page: images are
// read from dir (the directory the page is meant for, against which
// image paths are resolved) and inlined as base64 data: URIs. A missing
// or unreadable image is an error naming the file.
func (d *Doc) HTML(dir string) ([]byte, error) {
	var b bytes.Buffer
	title := "report"
	for _, bl := range d.blocks {
		if bl.kind == heading {
			title = oneLine(bl.text)
			break
		}
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n",
		html.EscapeString(title), css)
	for _, bl := range d.blocks {
		switch bl.kind {
		case heading:
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", bl.level, html.EscapeString(oneLine(bl.text)), bl.level)
		case para:
			fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(strings.TrimRight(bl.text, "\n")))
		case table:
			b.WriteString("<table>\n<thead><tr>")
			for _, h := range bl.header {
				fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(h))
			}
			b.WriteString("</tr></thead>\n<tbody>\n")
			num := make([]bool, len(bl.header))
			for c := range num {
				num[c] = numericColumn(bl.rows, c)
			}
			for _, r := range bl.rows {
				b.WriteString("<tr>")
				for c, cell := range r {
					cls := ""
					if num[c] {
						cls = ` class="num"`
					}
					cell = strings.ReplaceAll(html.EscapeString(cell), "\n", "<br>")
					fmt.Fprintf(&b, "<td%s>%s</td>", cls, cell)
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</tbody>\n</table>\n")
		case img:
			uri, err := dataURI(dir, bl.items[0])
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "<p><img alt=\"%s\" src=\"%s\"></p>\n", html.EscapeString(bl.text), uri)
		case code:
			fmt.Fprintf(&b, "<pre><code>%s</code></pre>\n", html.EscapeString(strings.TrimRight(bl.text, "\n")))
		case bullets:
			b.WriteString("<ul>\n")
			for _, it := range bl.items {
				fmt.Fprintf(&b, "<li>%s</li>\n", html.EscapeString(it))
			}
			b.WriteString("</ul>\n")
		}
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes(), nil
}

// WriteHTML writes the self-contained HTML page to path atomically;
// image paths are resolved against path's directory. Nothing is written
// if an image cannot be read.
func (d *Doc) WriteHTML(path string) error {
	page, err := d.HTML(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return runlog.WriteFile(path, page)
}

func dataURI(dir, rel string) (string, error) {
	p := rel
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, rel)
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
