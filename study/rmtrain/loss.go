package rmtrain

import (
	"math"

	"github.com/warm-rm/warm/kit/stats"
)

// BTLoss is the Bradley-Terry reward-model loss of a batch of pairs, as TRL's
// RewardTrainer computes it:
//
//	L = mean_i [ -log σ(r_c,i − r_r,i − m_i) ] + c · mean_i (r_c,i + r_r,i)²
//
// m is the optional margin (nil: zero) and c the reward-centering
// coefficient (Eisenstein et al. 2023; 0 disables it). It returns the loss,
// dL/dr for the chosen and rejected rewards, and the pairwise accuracy (a tie
// counts half).
func BTLoss(rc, rr, margin []float32, center float64) (loss float64, dc, dr []float32, acc float64) {
	n := len(rc)
	dc = make([]float32, n)
	dr = make([]float32, n)
	inv := 1 / float64(n)
	for i := range rc {
		d := float64(rc[i]) - float64(rr[i])
		if margin != nil {
			d -= float64(margin[i])
		}
		loss -= stats.LogSigmoid(d) * inv
		g := -stats.Sigmoid(-d) * inv // dL/dd
		s := float64(rc[i]) + float64(rr[i])
		loss += center * s * s * inv
		gc := 2 * center * s * inv
		dc[i] = float32(g + gc)
		dr[i] = float32(-g + gc)
		switch {
		case rc[i] > rr[i]:
			acc += inv
		case rc[i] == rr[i]:
			acc += inv / 2
		}
	}
	return loss, dc, dr, acc
}

func pow(x float64, n int) float64 { return math.Pow(x, float64(n)) }
func sqrt(x float64) float64       { return math.Sqrt(x) }
