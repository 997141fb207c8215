package bon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/warm-rm/warm/internal/atomicfile"
)

// sampleRow is one line of samples.jsonl: one response with every score it
// has so far, so that a rerun with other rewards reuses the samples.
type sampleRow struct {
	Prompt     int                `json:"prompt_index"`
	Sample     int                `json:"sample_index"`
	PromptText string             `json:"prompt"`
	Response   string             `json:"response"`
	Length     int                `json:"length"`
	Scores     map[string]float64 `json:"scores"`
}

// WriteSamples writes the pool and its scores as JSONL, atomically.
func WriteSamples(path string, pool *Pool, scores map[string][][]float64) error {
	names := make([]string, 0, len(scores))
	for n := range scores {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for p, rs := range pool.Responses {
		for i, r := range rs {
			row := sampleRow{Prompt: p, Sample: i, PromptText: pool.Prompts[p], Response: r, Length: pool.Lengths[p][i], Scores: map[string]float64{}}
			for _, n := range names {
				row.Scores[n] = scores[n][p][i]
			}
			if err := enc.Encode(row); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return atomicfile.WriteFile(path, b.Bytes())
}

// ReadSamples reads what WriteSamples wrote. Rows must form a full grid of
// prompts × samples, and a score name is kept only when every row has it.
func ReadSamples(path string) (*Pool, map[string][][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var rows []sampleRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r sampleRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if r.Prompt < 0 || r.Sample < 0 {
			return nil, nil, fmt.Errorf("%s:%d: negative index", path, line)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("%s: no samples", path)
	}
	np, ns := 0, 0
	for _, r := range rows {
		np, ns = max(np, r.Prompt+1), max(ns, r.Sample+1)
	}
	if np*ns != len(rows) {
		return nil, nil, fmt.Errorf("%s: %d rows do not form a %d prompts × %d samples grid", path, len(rows), np, ns)
	}
	pool := &Pool{Prompts: make([]string, np), Responses: make([][]string, np), Lengths: make([][]int, np)}
	seen := make([][]bool, np)
	for p := range np {
		pool.Responses[p] = make([]string, ns)
		pool.Lengths[p] = make([]int, ns)
		seen[p] = make([]bool, ns)
	}
	count := map[string]int{}
	for _, r := range rows {
		if seen[r.Prompt][r.Sample] {
			return nil, nil, fmt.Errorf("%s: prompt %d sample %d appears twice", path, r.Prompt, r.Sample)
		}
		seen[r.Prompt][r.Sample] = true
		pool.Prompts[r.Prompt] = r.PromptText
		pool.Responses[r.Prompt][r.Sample] = r.Response
		pool.Lengths[r.Prompt][r.Sample] = r.Length
		for n := range r.Scores {
			count[n]++
		}
	}
	scores := map[string][][]float64{}
	for n, c := range count {
		if c != len(rows) {
			continue
		}
		t := make([][]float64, np)
		for p := range t {
			t[p] = make([]float64, ns)
		}
		scores[n] = t
	}
	for _, r := range rows {
		for n, v := range r.Scores {
			if t := scores[n]; t != nil {
				t[r.Prompt][r.Sample] = v
			}
		}
	}
	return pool, scores, nil
}
