package gold

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/jonreiter/govader"
	"github.com/warm-rm/warm/study/corpus"
)

type vector struct {
	Text          string
	Compound      float64
	Neg, Neu, Pos float64
}

func loadVectors(t testing.TB) []vector {
	b, err := os.ReadFile("testdata/vader_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []vector }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 200 {
		t.Fatalf("%d vectors, want >= 200", len(f.Vectors))
	}
	return f.Vectors
}

// TestJSDialectMatchesReference: in its JS dialect the analyzer must give
// what npm vader-sentiment 1.1.3 computed (testdata/gen/gen.js) on every
// vector. The JS port rounds compound to 4 decimals and the proportions to
// 3, so the tolerance is half a unit in that place (+1e-9); we compare our
// unrounded values because JS's toFixed rounds exact ties up and Python's
// round() to even ("It's ok.": neu = 0.3125).
func TestJSDialectMatchesReference(t *testing.T) {
	js, err := newVADER(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range loadVectors(t) {
		p := js.polarity(v.Text)
		if math.Abs(p.Compound-v.Compound) > 0.5e-4+1e-9 || math.Abs(p.Neg-v.Neg) > 0.5e-3+1e-9 ||
			math.Abs(p.Neu-v.Neu) > 0.5e-3+1e-9 || math.Abs(p.Pos-v.Pos) > 0.5e-3+1e-9 {
			t.Errorf("%q: compound %.6f (js %.4f), neg/neu/pos %.4f/%.4f/%.4f (js %.3f/%.3f/%.3f)",
				v.Text, p.Compound, v.Compound, p.Neg, p.Neu, p.Pos, v.Neg, v.Neu, v.Pos)
		}
	}
}

// govaderDeviations are the vectors where govader departs from the Python
// reference that the default dialect follows, each with the rule involved.
// Everywhere else the two must agree to 1e-12.
var govaderDeviations = map[string]string{
	"He left with a broken heart.":    "special case 'broken heart' missing in govader",
	"I could hear her beating heart.": "special case 'beating heart' missing in govader",
	"I waited at the bus stop.":       "special case 'bus stop' missing in govader",
	"I  really  love it":              "govader splits on single spaces: empty tokens shift distances",
	"Nice work.  Really  nice.":       "govader splits on single spaces: empty tokens shift distances",
	"This is SO good!":                "Python's `never and (so|this) or (so|this)` precedence, 3 words back",
	"This movie is so awesome!":       "Python's `never and (so|this) or (so|this)` precedence, 3 words back",
	"\"Do you pretend to say, landlord, that this harpooneer is actually engaged this blessed Saturday night, or rather Sunday morning, in peddling his head around this town?\"":                                                                                                                                   "precedence rule ('this blessed')",
	"I am so pleased to know such a modern day genius is out there , letting is passion for Art drive him and taking us as an audience with him.":                                                                                                                                                                   "precedence rule ('so pleased')",
	"The bravery exhibited by our citizens on that element will, I trust, be a testimony to the world that it is not the want of that virtue which makes us seek their peace, but a conscientious desire to direct the energies of our nation to the multiplication of the human race, and not to its destruction.": "Python's 'but' rule rescales the first equal value (list.index)",
}

func TestPythonDialectVsGovader(t *testing.T) {
	v := NewVADER()
	g := govader.NewSentimentIntensityAnalyzer()
	seen := map[string]bool{}
	for _, x := range loadVectors(t) {
		a, b := v.Compound(x.Text), g.PolarityScores(x.Text).Compound
		_, known := govaderDeviations[x.Text]
		if known {
			seen[x.Text] = true
			if a == b {
				t.Errorf("expected a deviation from govader (%s) on %q; both give %.4f", govaderDeviations[x.Text], x.Text, a)
			}
		} else if math.Abs(a-b) > 1e-12 {
			t.Errorf("%q: ours %.6f, govader %.6f (no known reason)", x.Text, a, b)
		}
	}
	for s := range govaderDeviations {
		if !seen[s] {
			t.Errorf("deviation %q is not among the vectors", s)
		}
	}
}

// TestPythonRulesByHand checks rules that only the default dialect has on
// values worked out by hand from the Python source.
func TestPythonRulesByHand(t *testing.T) {
	v := NewVADER()
	norm := func(s float64) float64 { return s / math.Sqrt(s*s+15) }
	cases := []struct {
		text string
		want float64
		why  string
	}{
		// "No" before a lexicon word counts 0 and negates it: problem −1.7 × −0.74.
		{"No problem at all.", norm(-1.7 * -0.74), "no-rule"},
		// awesome 3.1 + "so" 0.293, then ×1.25 by the precedence quirk, + one "!" 0.292.
		{"This movie is so awesome!", norm((3.1+0.293)*1.25 + 0.292), "precedence quirk"},
		{"Good.", norm(1.9), "single word"},
		// Special case "bus stop" sets stop's valence (−1.2) to 0 (checked 3 words back: i ≥ 3).
		{"I waited at the bus stop.", 0, "special case"},
		{"", 0, "empty"},
		{"   ", 0, "blank"},
	}
	for _, c := range cases {
		if got := v.Compound(c.text); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Compound(%q) = %.6f, want %.6f", c.why, c.text, got, c.want)
		}
	}
	p := v.PolarityScores("VADER is smart, handsome, and funny.")
	if p != (Polarity{Neg: 0, Neu: 0.254, Pos: 0.746, Compound: 0.8316}) {
		t.Errorf("PolarityScores = %+v, want vaderSentiment's {0 0.254 0.746 0.8316}", p)
	}
	// Emoji become their descriptions: 😁 "beaming face with smiling eyes".
	if a, b := v.Compound("so 😁"), v.Compound("so beaming face with smiling eyes"); a != b || a <= 0 {
		t.Errorf("emoji: %v vs %v", a, b)
	}
}

func TestJudge(t *testing.T) {
	var j Judge = NewVADER()
	if j.Score("ignored prompt", "What a wonderful day!") <= 0.5 || j.Score("", "This is terrible.") >= -0.3 {
		t.Error("VADER judge has the wrong sign")
	}
	if j.Score("I love it", " ok") != j.Score("I hate it", " ok") {
		t.Error("the prompt must not change the score")
	}
	var f Judge = Func(func(p, r string) float64 { return float64(len(p) + len(r)) })
	if f.Score("ab", "c") != 3 {
		t.Error("Func adapter")
	}
}

func TestBatchMatchesSequential(t *testing.T) {
	v := NewVADER()
	var prompts, responses []string
	for _, d := range corpus.LoadSample() {
		for _, s := range corpus.Sentences(d.Text) {
			prompts = append(prompts, "")
			responses = append(responses, s)
		}
	}
	got := Batch(v, prompts, responses)
	if len(got) != len(responses) {
		t.Fatal("length")
	}
	for i, r := range responses {
		if got[i] != v.Compound(r) {
			t.Fatalf("Batch[%d] = %v, sequential %v", i, got[i], v.Compound(r))
		}
	}
	if len(Batch(v, nil, nil)) != 0 {
		t.Error("empty batch")
	}
}

func BenchmarkVADERSentence(b *testing.B) {
	v := NewVADER()
	var sents []string
	for _, d := range corpus.LoadSample()[:3] {
		sents = append(sents, corpus.Sentences(d.Text)...)
	}
	n := 0
	for _, s := range sents {
		n += len(s)
	}
	b.SetBytes(int64(n / len(sents)))
	i := 0
	for b.Loop() {
		v.Compound(sents[i%len(sents)])
		i++
	}
}

func BenchmarkGovaderSentence(b *testing.B) {
	g := govader.NewSentimentIntensityAnalyzer()
	var sents []string
	for _, d := range corpus.LoadSample()[:3] {
		sents = append(sents, corpus.Sentences(d.Text)...)
	}
	n := 0
	for _, s := range sents {
		n += len(s)
	}
	b.SetBytes(int64(n / len(sents)))
	i := 0
	for b.Loop() {
		g.PolarityScores(sents[i%len(sents)])
		i++
	}
}

func BenchmarkBatch(b *testing.B) {
	v := NewVADER()
	var prompts, responses []string
	for _, d := range corpus.LoadSample() {
		for _, s := range corpus.Sentences(d.Text) {
			prompts = append(prompts, "")
			responses = append(responses, s)
		}
	}
	for b.Loop() {
		Batch(v, prompts, responses)
	}
	b.ReportMetric(float64(len(responses))*float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkVADERVectors scores the test sentences, the same work as
// testdata/gen/bench.js does with the JS port.
func BenchmarkVADERVectors(b *testing.B) {
	v := NewVADER()
	vs := loadVectors(b)
	i := 0
	for b.Loop() {
		v.Compound(vs[i%len(vs)].Text)
		i++
	}
}
