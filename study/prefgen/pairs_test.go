package prefgen

import (
	"fmt"
	"strings"
	"testing"
)

func testPrompts(n int) []Prompt {
	var open []string
	for i := range n {
		open = append(open, fmt.Sprintf("prompt number %d says", i))
	}
	return MakePrompts(byteTok{}, open, 8, 24, 1, map[string]bool{})
}

func TestMakePrompts(t *testing.T) {
	skip := map[string]bool{"taken already here": true}
	open := []string{"short", "taken already here", "a sentence opening that is much longer than twenty-four bytes",
		"a sentence opening that is much longer than twenty-four bytes and more", "exactly eight", "  spaced out prompt  "}
	ps := MakePrompts(byteTok{}, open, 8, 24, 3, skip)
	got := map[string]bool{}
	for _, p := range ps {
		if len(p.IDs) < 8 || len(p.IDs) > 24 {
			t.Errorf("prompt %q has %d tokens", p.Text, len(p.IDs))
		}
		if p.Text != (byteTok{}).Decode(p.IDs) {
			t.Errorf("text %q is not the decoded ids", p.Text)
		}
		if got[p.Text] {
			t.Errorf("duplicate prompt %q", p.Text)
		}
		got[p.Text] = true
	}
	// "short" dropped, "taken..." skipped, the two long ones cut to the same
	// 24 bytes (kept once), "exactly eight" (13), "spaced out prompt".
	if len(ps) != 3 {
		t.Errorf("got %d prompts %v, want 3", len(ps), got)
	}
	if !skip["a sentence opening that"] || !skip["exactly eight"] {
		t.Error("kept prompts not added to skip")
	}
	// Cut at the last word boundary within 24 tokens ("…that| is"), or at
	// 24 when there is none.
	if !got["a sentence opening that"] {
		t.Errorf("long opening not cut before a word: %v", got)
	}
	ps = MakePrompts(byteTok{}, []string{"abcdefghijklmnopqrstuvwxyz0123456789"}, 8, 24, 3, map[string]bool{})
	if len(ps) != 1 || ps[0].Text != "abcdefghijklmnopqrstuvwx" {
		t.Errorf("no word boundary: %+v", ps)
	}
}

func TestGeneratePairs(t *testing.T) {
	prompts := testPrompts(400)
	opt := GenOptions{Split: "train", Count: 100, MinNew: 8, MaxNew: 16, Temperature: 1, DropTies: true, Batch: 16, Seed: 5}
	pairs, rest, st, err := GeneratePairs(byteTok{}, wordPolicy(0.05), countJudge{}, prompts, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 100 {
		t.Fatalf("got %d pairs", len(pairs))
	}
	if st.PromptsUsed+len(rest) != len(prompts) || st.Generated != st.PromptsUsed || st.Sequences != 2*st.Generated {
		t.Errorf("bookkeeping: %+v, %d left of %d", st, len(rest), len(prompts))
	}
	if st.Ties == 0 || st.DroppedShort == 0 || st.DroppedTies != st.Ties {
		t.Errorf("expected some ties and short samples dropped: %+v", st)
	}
	kept := st.Generated - st.DroppedShort - st.DroppedTies
	if kept < 100 || kept >= 100+2*16 {
		t.Errorf("kept %d valid pairs, want 100..%d (one batch of overshoot)", kept, 100+2*16)
	}
	for _, p := range pairs {
		if p.GoldA == p.GoldB {
			t.Fatal("tie kept with DropTies")
		}
		for _, r := range []string{p.A, p.B} {
			if len(r) < 8 || len(r) > 16 || strings.ContainsRune(r, 0) {
				t.Fatalf("response %q outside 8..16 tokens", r)
			}
		}
		if p.GoldA != (countJudge{}).Score(p.Prompt.Text, p.A) {
			t.Fatal("gold score is not the judge's")
		}
	}
	// Deterministic under the seed.
	again, _, _, _ := GeneratePairs(byteTok{}, wordPolicy(0.05), countJudge{}, prompts, opt)
	for i := range pairs {
		if pairs[i].A != again[i].A || pairs[i].B != again[i].B || pairs[i].Prompt.Text != again[i].Prompt.Text {
			t.Fatalf("pair %d differs between identical runs", i)
		}
	}
	// Too few prompts: a clear error, not a short split.
	_, _, _, err = GeneratePairs(byteTok{}, wordPolicy(0.05), countJudge{}, prompts[:20], opt)
	if err == nil || !strings.Contains(err.Error(), "ran out of prompts") {
		t.Errorf("want out-of-prompts error, got %v", err)
	}
	// Ties kept when asked.
	opt.DropTies = false
	pairs, _, st, _ = GeneratePairs(byteTok{}, wordPolicy(0.05), countJudge{}, prompts, opt)
	ties := 0
	for _, p := range pairs {
		if p.GoldA == p.GoldB {
			ties++
		}
	}
	if ties == 0 || st.DroppedTies != 0 {
		t.Errorf("DropTies=false: %d ties kept, %d dropped", ties, st.DroppedTies)
	}
}

func TestGeneratePairsRounds(t *testing.T) {
	prompts := testPrompts(40)
	opt := GenOptions{Split: "val", Count: 90, MinNew: 8, MaxNew: 16, Temperature: 1, DropTies: true, Batch: 16, Seed: 5, MaxRounds: 6}
	pairs, _, st, err := GeneratePairs(byteTok{}, wordPolicy(0.05), countJudge{}, prompts, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 90 || st.Rounds < 3 || st.Rounds > 6 {
		t.Fatalf("%d pairs in %d passes over 40 prompts", len(pairs), st.Rounds)
	}
	// A prompt seen again gets fresh samples.
	seen := map[string]bool{}
	for _, p := range pairs {
		k := p.Prompt.Text + "\x00" + p.A + "\x00" + p.B
		if seen[k] {
			t.Fatalf("pair repeated for prompt %q", p.Prompt.Text)
		}
		seen[k] = true
	}
	opt.MaxRounds = 2
	if _, _, _, err := GeneratePairs(byteTok{}, wordPolicy(0.05), countJudge{}, prompts, opt); err == nil || !strings.Contains(err.Error(), "2 pass(es)") {
		t.Errorf("2 passes over 40 prompts for 90 pairs: %v", err)
	}
}

// A grouped split: k responses per prompt, every pair among the valid ones
// (no pair across prompts), whole prompts kept, ties dropped; the same
// options give the same pairs.
func TestGeneratePairsGrouped(t *testing.T) {
	prompts := testPrompts(400)
	opt := GenOptions{Split: "val", Count: 200, MinNew: 8, MaxNew: 16, Temperature: 1, DropTies: true, Batch: 16, Seed: 5, Responses: 5}
	pairs, _, st, err := GeneratePairs(byteTok{}, wordPolicy(0.05), countJudge{}, prompts, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) < opt.Count || len(pairs) >= opt.Count+10 {
		t.Fatalf("%d pairs for Count %d (whole prompts of ≤ 10 pairs)", len(pairs), opt.Count)
	}
	if st.Responses != 5 || st.Sequences != 5*st.PromptsUsed {
		t.Fatalf("stats %+v: want 5 responses per prompt", st)
	}
	// Per prompt: its responses, and which of their pairs are present.
	type key struct{ p, a, b string }
	seen := map[key]bool{}
	texts := map[string]map[string]float64{}
	order := []string{}
	for _, p := range pairs {
		if p.GoldA == p.GoldB {
			t.Fatalf("tied pair kept: %+v", p)
		}
		if texts[p.Prompt.Text] == nil {
			texts[p.Prompt.Text] = map[string]float64{}
			order = append(order, p.Prompt.Text)
		} else if order[len(order)-1] != p.Prompt.Text {
			t.Fatalf("prompt %q's pairs are not consecutive", p.Prompt.Text)
		}
		texts[p.Prompt.Text][p.A], texts[p.Prompt.Text][p.B] = p.GoldA, p.GoldB
		seen[key{p.Prompt.Text, p.A, p.B}], seen[key{p.Prompt.Text, p.B, p.A}] = true, true
	}
	many := 0
	for pr, ts := range texts {
		if len(ts) > 5 {
			t.Fatalf("prompt %q has %d distinct responses, at most 5", pr, len(ts))
		}
		if len(ts) >= 4 {
			many++
		}
		// Every pair of distinct gold among the prompt's responses is there.
		for a, ga := range ts {
			for b, gb := range ts {
				if a != b && ga != gb && !seen[key{pr, a, b}] {
					t.Fatalf("prompt %q: pair %q / %q missing", pr, a, b)
				}
			}
		}
	}
	if many < len(texts)/2 {
		t.Fatalf("only %d of %d prompts have ≥ 4 responses", many, len(texts))
	}
	again, _, _, err := GeneratePairs(byteTok{}, wordPolicy(0.05), countJudge{}, prompts, opt)
	if err != nil || len(again) != len(pairs) || again[7].A != pairs[7].A || again[7].B != pairs[7].B {
		t.Fatalf("not deterministic: %d vs %d pairs (%v)", len(again), len(pairs), err)
	}
}
