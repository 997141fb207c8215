package gold

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	govaderdata "github.com/jonreiter/govader/data"
)

// This file is a Go port of VADER (Hutto & Gilbert 2014) as the reference
// Python package vaderSentiment 3.3.2 computes it, quirks included, with
// the lexicon and emoji files that github.com/jonreiter/govader embeds
// (byte-identical to the Python package's). We port rather than call
// govader because govader deviates from the Python reference in ways that
// change scores (see docs/data.md, "VADER"): it splits text on single spaces
// only, tests whether a preceding word is a lexicon word without lower-casing
// it, changes the precedence of the "never so/this" rule, drops the Python
// "but" rule's first-equal-value quirk and lacks three special-case idioms.
//
// The analyzer also has a second, unexported dialect that reproduces the
// JavaScript port npm vader-sentiment 1.1.3 (an older VADER): the tests run
// it against vectors that the JS package computed, which checks the machinery
// both dialects share; each place where the dialects part is marked "js:".

const (
	bIncr        = 0.293 // booster word increment
	bDecr        = -0.293
	cIncr        = 0.733 // ALL-CAPS emphasis increment
	nScalar      = -0.74 // negation factor
	normAlpha    = 15.0  // compound = s / sqrt(s² + alpha)
	epIncr       = 0.292 // per "!" (at most 4)
	qmIncr       = 0.18  // per "?" (2 or 3)
	qmMax        = 0.96  // 4 or more "?"
	asciiPunct   = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	maxExclaimed = 4
)

var negateWords = []string{"aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
	"ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't",
	"dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither",
	"don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't",
	"neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere",
	"oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent",
	"oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't",
	"without", "wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite"}

// boostersJS are the degree adverbs that both dialects know; boostersPy
// adds the ones vaderSentiment 3.3 added.
var boostersJS = map[string]float64{
	"absolutely": bIncr, "amazingly": bIncr, "awfully": bIncr, "completely": bIncr, "considerably": bIncr,
	"decidedly": bIncr, "deeply": bIncr, "effing": bIncr, "enormously": bIncr, "entirely": bIncr,
	"especially": bIncr, "exceptionally": bIncr, "extremely": bIncr, "fabulously": bIncr, "flipping": bIncr,
	"flippin": bIncr, "fricking": bIncr, "frickin": bIncr, "frigging": bIncr, "friggin": bIncr, "fully": bIncr,
	"fucking": bIncr, "greatly": bIncr, "hella": bIncr, "highly": bIncr, "hugely": bIncr, "incredibly": bIncr,
	"intensely": bIncr, "majorly": bIncr, "more": bIncr, "most": bIncr, "particularly": bIncr, "purely": bIncr,
	"quite": bIncr, "really": bIncr, "remarkably": bIncr, "so": bIncr, "substantially": bIncr,
	"thoroughly": bIncr, "totally": bIncr, "tremendously": bIncr, "uber": bIncr, "unbelievably": bIncr,
	"unusually": bIncr, "utterly": bIncr, "very": bIncr,
	"almost": bDecr, "barely": bDecr, "hardly": bDecr, "just enough": bDecr, "kind of": bDecr, "kinda": bDecr,
	"kindof": bDecr, "kind-of": bDecr, "less": bDecr, "little": bDecr, "marginally": bDecr,
	"occasionally": bDecr, "partly": bDecr, "scarcely": bDecr, "slightly": bDecr, "somewhat": bDecr,
	"sort of": bDecr, "sorta": bDecr, "sortof": bDecr, "sort-of": bDecr,
}

var boostersPyExtra = map[string]float64{
	"considerable": bIncr, "enormous": bIncr, "exceptional": bIncr, "extreme": bIncr, "frackin": bIncr,
	"fracking": bIncr, "fuckin": bIncr, "fuggin": bIncr, "fugging": bIncr, "incredible": bIncr,
	"major": bIncr, "total": bIncr, "tremendous": bIncr, "utter": bIncr,
	"marginal": bDecr, "occasional": bDecr, "scarce": bDecr, "slight": bDecr,
}

var specialPy = map[string]float64{"the shit": 3, "the bomb": 3, "bad ass": 1.5, "badass": 1.5, "bus stop": 0.0,
	"yeah right": -2, "kiss of death": -1.5, "to die for": 3, "beating heart": 3.1, "broken heart": -2.9}

var specialJS = map[string]float64{"the shit": 3, "the bomb": 3, "bad ass": 1.5, "yeah right": -2,
	"cut the mustard": 2, "kiss of death": -1.5, "hand to mouth": -2}

// VADER is the VADER sentiment analyzer. It is immutable after New and
// safe for concurrent use.
type VADER struct {
	lexicon  map[string]float64
	emoji    map[rune]string
	minEmoji rune // smallest emoji code point: a fast test for plain text
	boosters map[string]float64
	special  map[string]float64
	negate   map[string]bool
	js       bool // js: reproduce npm vader-sentiment 1.1.3
}

var (
	defaultOnce sync.Once
	defaultV    *VADER
)

// NewVADER returns the shared VADER analyzer (the lexicons are parsed once).
func NewVADER() *VADER {
	defaultOnce.Do(func() {
		v, err := newVADER(false)
		if err != nil {
			panic(err) // the lexicons are compiled in: cannot happen
		}
		defaultV = v
	})
	return defaultV
}

func newVADER(js bool) (*VADER, error) {
	v := &VADER{js: js, negate: map[string]bool{}}
	for _, w := range negateWords {
		v.negate[w] = true
	}
	lex, err := govaderdata.Asset("rawdata/vaderLexicon.txt")
	if err != nil {
		return nil, fmt.Errorf("gold: VADER lexicon: %v", err)
	}
	v.lexicon = make(map[string]float64, 7600)
	sc := bufio.NewScanner(bytes.NewReader(lex))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			return nil, fmt.Errorf("gold: VADER lexicon line %d: no tab", n)
		}
		x, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("gold: VADER lexicon line %d: %v", n, err)
		}
		v.lexicon[f[0]] = x
	}
	emo, err := govaderdata.Asset("rawdata/emojiUTF8Lexicon.txt")
	if err != nil {
		return nil, fmt.Errorf("gold: VADER emoji lexicon: %v", err)
	}
	v.emoji = map[rune]string{}
	for _, line := range strings.Split(strings.TrimRight(string(emo), "\n"), "\n") {
		f := strings.Split(strings.TrimSpace(line), "\t")
		// Python tests `chr in emojis` one code point at a time, so only
		// single-code-point entries can ever match.
		if len(f) >= 2 && utf8.RuneCountInString(f[0]) == 1 {
			r, _ := utf8.DecodeRuneInString(f[0])
			v.emoji[r] = f[1]
			if v.minEmoji == 0 || r < v.minEmoji {
				v.minEmoji = r
			}
		}
	}
	v.boosters = map[string]float64{}
	for k, x := range boostersJS {
		v.boosters[k] = x
	}
	if js {
		// js: the older lexicon rated these two words differently.
		v.lexicon["badass"] = -0.6
		delete(v.lexicon, "flawed")
		v.special = specialJS
	} else {
		for k, x := range boostersPyExtra {
			v.boosters[k] = x
		}
		v.special = specialPy
	}
	return v, nil
}

// Score is the compound sentiment of the response, in [-1, 1]; the prompt
// is ignored (the study rewards a positive continuation). It is not rounded
// (VADER prints compound rounded to 4 decimals).
func (v *VADER) Score(prompt, response string) float64 { return v.Compound(response) }

// Compound returns VADER's compound score of text, unrounded.
func (v *VADER) Compound(text string) float64 {
	s := v.sentiments(text)
	if len(s) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	amp := v.punctEmphasis(text)
	if sum > 0 {
		sum += amp
	} else if sum < 0 {
		sum -= amp
	}
	c := sum / math.Sqrt(sum*sum+normAlpha)
	return math.Max(-1, math.Min(1, c))
}

// Polarity is VADER's full output, rounded as vaderSentiment rounds it.
type Polarity struct {
	Neg, Neu, Pos, Compound float64
}

// PolarityScores returns VADER's polarity_scores: negative, neutral and
// positive proportions (3 decimals) and the compound score (4 decimals).
func (v *VADER) PolarityScores(text string) Polarity {
	p := v.polarity(text)
	return Polarity{Neg: round(p.Neg, 3), Neu: round(p.Neu, 3), Pos: round(p.Pos, 3), Compound: round(p.Compound, 4)}
}

// polarity is PolarityScores unrounded.
func (v *VADER) polarity(text string) Polarity {
	s := v.sentiments(text)
	if len(s) == 0 {
		return Polarity{}
	}
	amp := v.punctEmphasis(text)
	var pos, neg float64
	neu := 0
	for _, x := range s {
		switch {
		case x > 0:
			pos += x + 1
		case x < 0:
			neg += x - 1
		default:
			neu++
		}
	}
	if pos > math.Abs(neg) {
		pos += amp
	} else if pos < math.Abs(neg) {
		neg -= amp
	}
	total := pos + math.Abs(neg) + float64(neu)
	return Polarity{
		Neg:      math.Abs(neg / total),
		Neu:      math.Abs(float64(neu) / total),
		Pos:      math.Abs(pos / total),
		Compound: v.Compound(text),
	}
}

func round(x float64, digits int) float64 {
	// Python's round() rounds the exact binary value; formatting with
	// strconv does the same (round half to even on exact ties).
	y, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return y
}

// punctEmphasis is the boost from "!" and "?". Python counts them after
// the emoji replacement, js in the raw text: the same count, as no emoji
// description holds either.
func (v *VADER) punctEmphasis(text string) float64 {
	ep := min(strings.Count(text, "!"), maxExclaimed)
	amp := float64(ep) * epIncr
	qm := strings.Count(text, "?")
	if qm > 1 {
		if qm <= 3 {
			amp += float64(qm) * qmIncr
		} else {
			amp += qmMax
		}
	}
	return amp
}

// sentiments returns the valence of each token after all rules, before
// punctuation emphasis: the list polarity_scores sums.
func (v *VADER) sentiments(text string) []float64 {
	var words []string
	if v.js {
		words = jsTokens(text)
	} else {
		words = pyTokens(v.replaceEmoji(text))
	}
	lower := make([]string, len(words))
	for i, w := range words {
		lower[i] = strings.ToLower(w)
	}
	capDiff := v.capDifferential(words)
	s := make([]float64, 0, len(words))
	for i, w := range words {
		lw := lower[i]
		if _, ok := v.boosters[lw]; ok {
			s = append(s, 0)
			continue
		}
		if i < len(words)-1 && lw == "kind" && lower[i+1] == "of" {
			s = append(s, 0)
			continue
		}
		s = append(s, v.valence(words, lower, i, w, capDiff))
	}
	v.butCheck(lower, words, s)
	return s
}

// replaceEmoji swaps each emoji code point for its description, with a
// space before it unless one is there, as polarity_scores does; then strips.
// Text with no emoji (the usual case) is returned without copying.
func (v *VADER) replaceEmoji(text string) string {
	first := -1
	for i, r := range text {
		if r >= v.minEmoji {
			if _, ok := v.emoji[r]; ok {
				first = i
				break
			}
		}
	}
	if first < 0 {
		return strings.TrimFunc(text, pySpace)
	}
	var b strings.Builder
	b.Grow(len(text) + 64)
	b.WriteString(text[:first])
	prevSpace := first == 0 || text[first-1] == ' '
	for _, r := range text[first:] {
		if d, ok := v.emoji[r]; ok && r >= v.minEmoji {
			if !prevSpace {
				b.WriteByte(' ')
			}
			b.WriteString(d)
			prevSpace = false
		} else {
			b.WriteRune(r)
			prevSpace = r == ' '
		}
	}
	return strings.TrimFunc(b.String(), pySpace)
}

// pyTokens is SentiText._words_and_emoticons: split on whitespace, strip
// ASCII punctuation from both ends unless that leaves two characters or
// fewer (then the token is likely an emoticon and stays whole).
func pyTokens(text string) []string {
	f := strings.FieldsFunc(text, pySpace)
	for i, t := range f {
		st := trimPunct(t)
		if utf8.RuneCountInString(st) > 2 {
			f[i] = st
		}
	}
	return f
}

// isPunct marks the ASCII punctuation bytes (Python's string.punctuation).
var isPunct = func() (t [256]bool) {
	for i := 0; i < len(asciiPunct); i++ {
		t[asciiPunct[i]] = true
	}
	return t
}()

// trimPunct is strings.Trim(s, asciiPunct) without building the set on
// every call.
func trimPunct(s string) string {
	i, j := 0, len(s)
	for i < j && isPunct[s[i]] {
		i++
	}
	for j > i && isPunct[s[j-1]] {
		j--
	}
	return s[i:j]
}

// jsTokens is vader-sentiment 1.1.3's get_words_and_emoticons: split on
// single whitespace characters, drop tokens of one UTF-16 unit or none, and
// map a token that is a word with one punctuation mark (from a fixed list)
// before or after it to the word.
func jsTokens(text string) []string {
	punc := []string{".", "!", "?", ",", ";", ":", "-", "'", "\"", "!!", "!!!", "??", "???", "?!?", "!?!", "?!?!", "!?!?"}
	noPunc := strings.Map(func(r rune) rune {
		if r < 128 && strings.ContainsRune(asciiPunct, r) {
			return -1
		}
		return r
	}, text)
	dict := map[string]string{}
	for _, w := range strings.FieldsFunc(noPunc, isJSSpace) {
		if utf16Len(w) > 1 {
			for _, p := range punc {
				dict[p+w] = w
				dict[w+p] = w
			}
		}
	}
	var out []string
	for _, t := range strings.FieldsFunc(text, isJSSpace) {
		if utf16Len(t) <= 1 {
			continue
		}
		if w, ok := dict[t]; ok {
			t = w
		}
		out = append(out, t)
	}
	return out
}

// pySpace is Python's str.isspace: Go's unicode.IsSpace plus the ASCII
// information separators 0x1c–0x1f.
func pySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

func isJSSpace(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' }

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// isUpper is Python's str.isupper (at least one cased character, none lower
// case); js: the ASCII-only regexp /^[^a-z]*[A-Z]+[^a-z]*$/.
func (v *VADER) isUpper(w string) bool {
	upper := false
	for _, r := range w {
		if v.js {
			if r >= 'a' && r <= 'z' {
				return false
			}
			if r >= 'A' && r <= 'Z' {
				upper = true
			}
			continue
		}
		if unicode.IsLower(r) || unicode.IsTitle(r) {
			return false
		}
		if unicode.IsUpper(r) {
			upper = true
		}
	}
	return upper
}

// capDifferential: some, but not all, words are ALL CAPS.
func (v *VADER) capDifferential(words []string) bool {
	n := 0
	for _, w := range words {
		if v.isUpper(w) {
			n++
		}
	}
	d := len(words) - n
	return d > 0 && d < len(words)
}

// negated reports whether word is a negation (Python lower-cases it; js
// does not).
func (v *VADER) negated(word, lowerWord string) bool {
	if !v.js {
		word = lowerWord
	}
	return v.negate[word] || strings.Contains(word, "n't")
}

func (v *VADER) scalarIncDec(word, lowerWord string, valence float64, capDiff bool) float64 {
	scalar, ok := v.boosters[lowerWord]
	if !ok {
		return 0
	}
	if valence < 0 {
		scalar = -scalar
	}
	if capDiff && v.isUpper(word) {
		if valence > 0 {
			scalar += cIncr
		} else {
			scalar -= cIncr
		}
	}
	return scalar
}

// valence is sentiment_valence for the lexicon word at i (0 otherwise).
func (v *VADER) valence(words, lower []string, i int, item string, capDiff bool) float64 {
	lw := lower[i]
	val, ok := v.lexicon[lw]
	if !ok {
		return 0
	}
	if !v.js { // js: no "no" rules in the older VADER
		if lw == "no" && i != len(words)-1 {
			if _, ok := v.lexicon[lower[i+1]]; ok {
				val = 0
			}
		}
		if (i > 0 && lower[i-1] == "no") || (i > 1 && lower[i-2] == "no") ||
			(i > 2 && lower[i-3] == "no" && (lower[i-1] == "or" || lower[i-1] == "nor")) {
			val = v.lexicon[lw] * nScalar
		}
	}
	if capDiff && v.isUpper(item) {
		if val > 0 {
			val += cIncr
		} else {
			val -= cIncr
		}
	}
	for start := 0; start < 3; start++ {
		j := i - (start + 1)
		if i <= start {
			break
		}
		if _, inLex := v.lexicon[lower[j]]; inLex {
			continue
		}
		s := v.scalarIncDec(words[j], lower[j], val, capDiff)
		if start == 1 && s != 0 {
			s *= 0.95
		}
		if start == 2 && s != 0 {
			s *= 0.9
		}
		val += s
		val = v.negationCheck(val, words, lower, start, i)
		if start == 2 {
			val = v.idiomsCheck(val, words, lower, i)
		}
	}
	return v.leastCheck(val, lower, i)
}

// negationCheck is _negation_check (js: never_check), including Python's
// `A and B or C` precedence in the three-words-back rule.
func (v *VADER) negationCheck(val float64, words, lower []string, start, i int) float64 {
	w := lower
	if v.js {
		w = words // js compares the words as written
	}
	switch start {
	case 0:
		if v.negated(words[i-1], lower[i-1]) {
			val *= nScalar
		}
	case 1:
		neverSo := 1.25
		if v.js {
			neverSo = 1.5
		}
		switch {
		case w[i-2] == "never" && (w[i-1] == "so" || w[i-1] == "this"):
			val *= neverSo
		case !v.js && w[i-2] == "without" && w[i-1] == "doubt":
		case v.negated(words[i-2], lower[i-2]):
			val *= nScalar
		}
	case 2:
		switch {
		case (w[i-3] == "never" && (w[i-2] == "so" || w[i-2] == "this")) || (w[i-1] == "so" || w[i-1] == "this"):
			val *= 1.25
		case !v.js && w[i-3] == "without" && (w[i-2] == "doubt" || w[i-1] == "doubt"):
		case v.negated(words[i-3], lower[i-3]):
			val *= nScalar
		}
	}
	return val
}

// idiomsCheck is _special_idioms_check, called when i >= 3.
func (v *VADER) idiomsCheck(val float64, words, lower []string, i int) float64 {
	w := lower
	if v.js {
		w = words
	}
	onezero := w[i-1] + " " + w[i]
	twoonezero := w[i-2] + " " + w[i-1] + " " + w[i]
	twoone := w[i-2] + " " + w[i-1]
	threetwoone := w[i-3] + " " + w[i-2] + " " + w[i-1]
	threetwo := w[i-3] + " " + w[i-2]
	for _, seq := range []string{onezero, twoonezero, twoone, threetwoone, threetwo} {
		if x, ok := v.special[seq]; ok {
			val = x
			break
		}
	}
	if len(w)-1 > i {
		if x, ok := v.special[w[i]+" "+w[i+1]]; ok {
			val = x
		}
	}
	if len(w)-1 > i+1 {
		if x, ok := v.special[w[i]+" "+w[i+1]+" "+w[i+2]]; ok {
			val = x
		}
	}
	if v.js {
		// js: one fixed decrement if a two-word dampener precedes.
		_, a := v.boosters[threetwo]
		_, b := v.boosters[twoone]
		if a || b {
			val += bDecr
		}
		return val
	}
	for _, g := range []string{threetwoone, threetwo, twoone} {
		if x, ok := v.boosters[g]; ok {
			val += x
		}
	}
	return val
}

// leastCheck: "least" before a word negates it, except "at least" and
// "very least".
func (v *VADER) leastCheck(val float64, lower []string, i int) float64 {
	if i > 1 && lower[i-1] == "least" {
		if _, ok := v.lexicon["least"]; !ok && lower[i-2] != "at" && lower[i-2] != "very" {
			val *= nScalar
		}
	} else if i > 0 && lower[i-1] == "least" {
		if _, ok := v.lexicon["least"]; !ok {
			val *= nScalar
		}
	}
	return val
}

// butCheck halves the valences before the first "but" and multiplies those
// after it by 1.5. Python finds each value's position with list.index(),
// i.e. the first position holding an equal value, and rescales that one;
// with repeated values this rescales a different (or the same) element
// again. We reproduce it because it is what VADER computes.
func (v *VADER) butCheck(lower, words []string, s []float64) {
	bi := -1
	if v.js {
		// js: exact "but", else exact "BUT"; positions taken as they are.
		bi = indexOf(words, "but")
		if bi < 0 {
			bi = indexOf(words, "BUT")
		}
		if bi < 0 {
			return
		}
		for k := range s {
			if k < bi {
				s[k] *= 0.5
			} else if k > bi {
				s[k] *= 1.5
			}
		}
		return
	}
	bi = indexOf(lower, "but")
	if bi < 0 {
		return
	}
	for k := range s {
		x := s[k]
		si := 0
		for s[si] != x {
			si++
		}
		if si < bi {
			s[si] = x * 0.5
		} else if si > bi {
			s[si] = x * 1.5
		}
	}
}

func indexOf(ws []string, w string) int {
	for i, x := range ws {
		if x == w {
			return i
		}
	}
	return -1
}
