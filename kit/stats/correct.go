package stats

import "fmt"

// PairCorrect returns per-pair correctness of a reward model's scores:
// 1 when the chosen response scores above the rejected one, 0 below, ½
// on an exact tie — the values whose mean is PairAccuracy and which
// PairedDiff and AccuracyInterval take.
func PairCorrect(chosen, rejected []float64) []float64 {
	checkLen("PairCorrect", chosen, rejected)
	out := make([]float64, len(chosen))
	for i := range chosen {
		switch {
		case chosen[i] > rejected[i]:
			out[i] = 1
		case chosen[i] == rejected[i]:
			out[i] = 0.5
		}
	}
	return out
}

// EncodeCorrect writes per-pair correctness compactly, one character per
// pair: '1' right, '0' wrong, '=' a tie (½). This is the format of the
// "per_pair" fields the study's JSON files carry (docs/report.md): 2 500
// pairs take 2.5 kB, against ~10 kB as a JSON number array. Values other
// than 0, ½ and 1 panic (programmer error).
func EncodeCorrect(correct []float64) string {
	b := make([]byte, len(correct))
	for i, v := range correct {
		switch v {
		case 1:
			b[i] = '1'
		case 0:
			b[i] = '0'
		case 0.5:
			b[i] = '='
		default:
			panic(fmt.Sprintf("stats.EncodeCorrect: value %d is %v, want 0, 0.5 or 1", i, v))
		}
	}
	return string(b)
}

// DecodeCorrect reads EncodeCorrect's format; any other character is an
// error naming its position (input comes from files).
func DecodeCorrect(s string) ([]float64, error) {
	out := make([]float64, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '1':
			out[i] = 1
		case '0':
		case '=':
			out[i] = 0.5
		default:
			return nil, fmt.Errorf("pair %d: %q is not 1, 0 or = (right, wrong, tie)", i, s[i])
		}
	}
	return out, nil
}
