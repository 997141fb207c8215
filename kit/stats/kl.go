package stats

import (
	"fmt"
	"math"
)

// ExactCategoricalKL returns KL(p‖q) = Σ_i p_i log(p_i/q_i) in nats for
// two probability vectors over the same outcomes. Terms with p_i = 0
// contribute 0; p_i > 0 with q_i = 0 gives +Inf. The inputs are used as
// given (not renormalised).
func ExactCategoricalKL(p, q []float64) float64 {
	checkLen("ExactCategoricalKL", p, q)
	var kl float64
	for i := range p {
		if p[i] == 0 {
			continue
		}
		if q[i] == 0 {
			return math.Inf(1)
		}
		kl += p[i] * math.Log(p[i]/q[i])
	}
	return kl
}

// LogitsKL returns KL(softmax(a)‖softmax(b)), computed from log-softmax
// so that large logits do not overflow: with la, lb the log-probabilities,
// KL = Σ_i e^{la_i} (la_i − lb_i). This is the exact per-token KL between
// a policy's and a reference model's next-token distributions.
func LogitsKL(a, b []float64) float64 {
	checkLen("LogitsKL", a, b)
	if len(a) == 0 {
		return 0
	}
	za, zb := logSumExp(a), logSumExp(b)
	var kl float64
	for i := range a {
		la := a[i] - za
		kl += math.Exp(la) * (la - (b[i] - zb))
	}
	return kl
}

func logSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// KLEstimator selects a Monte-Carlo estimator of KL(π‖π_ref) from samples
// drawn from π.
type KLEstimator int

const (
	// K1 is the naive estimator log π(y) − log π_ref(y): unbiased, but a
	// single sample can be negative and its variance is high.
	K1 KLEstimator = iota
	// K3 (Schulman, "Approximating KL divergence", 2020) is
	// (r − 1) − log r with r = π_ref(y)/π(y): unbiased, never negative,
	// lower variance when π and π_ref are close. At the sequence level r
	// can be tiny or huge once the policy has drifted far, and then k3's
	// variance explodes; prefer K1 there.
	K3
)

func (e KLEstimator) String() string {
	switch e {
	case K1:
		return "k1"
	case K3:
		return "k3"
	}
	return fmt.Sprintf("KLEstimator(%d)", int(e))
}

// KLEstimate returns the Monte-Carlo estimate of the sequence-level
// KL(π‖π_ref) with the k1 estimator. logpPolicy[i] and logpRef[i] are the
// log-probabilities of sample i (a sequence drawn from the policy) under
// the policy and the reference, each already summed over the tokens t of
// the sample: log π(y_i) = Σ_t log π(y_t | y_<t). The estimate is
// (1/n) Σ_i (logpPolicy[i] − logpRef[i]).
func KLEstimate(logpPolicy, logpRef []float64) float64 {
	return KLEstimateWith(K1, logpPolicy, logpRef)
}

// KLEstimateWith is KLEstimate with a choice of estimator; see
// KLSamples for the per-sample terms.
func KLEstimateWith(est KLEstimator, logpPolicy, logpRef []float64) float64 {
	if len(logpPolicy) == 0 {
		checkLen("KLEstimate", logpPolicy, logpRef)
		return math.NaN()
	}
	s := KLSamples(est, logpPolicy, logpRef)
	m, _ := MeanStd(s)
	return m
}

// KLSamples returns the per-sample KL terms whose mean is the estimate;
// pass them to StdErr for an error bar.
func KLSamples(est KLEstimator, logpPolicy, logpRef []float64) []float64 {
	checkLen("KLSamples", logpPolicy, logpRef)
	out := make([]float64, len(logpPolicy))
	for i := range logpPolicy {
		d := logpPolicy[i] - logpRef[i] // log π − log π_ref = −log r
		switch est {
		case K1:
			out[i] = d
		case K3:
			// (r − 1) − log r with log r = −d; expm1 keeps precision for small d.
			out[i] = math.Expm1(-d) + d
		default:
			panic(fmt.Sprintf("stats.KLSamples: unknown estimator %d", int(est)))
		}
	}
	return out
}
