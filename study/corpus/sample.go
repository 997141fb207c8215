package corpus

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
)

// sample is a small public-domain extract of the corpus (see
// testdata/README.md) so that tests across the project have real text
// without scripts/setup.
//
//go:embed testdata/sample.txt
var sample string

// sampleHeader starts each document in sample.txt: "### <source> <id>".
const sampleHeader = "### "

// LoadSample returns the committed sample documents.
func LoadSample() []Doc {
	docs, err := ParseSample(sample)
	if err != nil {
		panic("corpus: embedded sample: " + err.Error())
	}
	return docs
}

// ParseSample reads the sample format: each document is a line
// "### <source> <id>" followed by its text.
func ParseSample(s string) ([]Doc, error) {
	var docs []Doc
	var cur *Doc
	var body []string
	flush := func() {
		if cur != nil {
			cur.Text = strings.TrimSpace(strings.Join(body, "\n"))
			docs = append(docs, *cur)
		}
		body = body[:0]
	}
	for n, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, sampleHeader) {
			flush()
			f := strings.Fields(line[len(sampleHeader):])
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: header %q, want \"### <source> <id>\"", n+1, line)
			}
			cur = &Doc{Source: f[0], ID: f[1]}
			continue
		}
		if cur == nil {
			if strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("line %d: text before the first \"### \" header", n+1)
			}
			continue
		}
		body = append(body, line)
	}
	flush()
	return docs, nil
}

// WriteSample writes docs in the format ParseSample reads.
func WriteSample(w io.Writer, docs []Doc) error {
	for _, d := range docs {
		if strings.Contains(d.Text, "\n"+sampleHeader) || strings.HasPrefix(d.Text, sampleHeader) {
			return fmt.Errorf("corpus: doc %s has a line starting with %q", d.ID, sampleHeader)
		}
		if _, err := fmt.Fprintf(w, "%s%s %s\n%s\n\n", sampleHeader, d.Source, d.ID, d.Text); err != nil {
			return err
		}
	}
	return nil
}
