package stats

import (
	"fmt"
	"math"
	"sort"
)

// Sigmoid returns σ(x) = 1/(1+e^−x) without overflow for large |x|:
// for x < 0 it uses e^x/(1+e^x), which never exponentiates a large
// positive number.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// LogSigmoid returns log σ(x) = −log(1+e^−x), stable for all x:
// for x ≥ 0 it is −log1p(e^−x); for x < 0 it is x − log1p(e^x).
// The Bradley-Terry loss of a pair is −LogSigmoid(r_c − r_r).
func LogSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// MeanStd returns the mean and the sample standard deviation
// (denominator n−1) of x, computed in two passes for accuracy.
// For one value the std is 0; for none both are NaN.
func MeanStd(x []float64) (mean, std float64) {
	n := len(x)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	if n == 1 {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		d := v - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(n-1))
}

// StdErr returns the standard error of the mean, s/√n with s the sample
// standard deviation. NaN for an empty slice, 0 for one value.
func StdErr(x []float64) float64 {
	_, s := MeanStd(x)
	if len(x) == 0 {
		return math.NaN()
	}
	return s / math.Sqrt(float64(len(x)))
}

// Quantile returns the q-quantile of x (0 ≤ q ≤ 1) by linear
// interpolation between order statistics — "type 7" of Hyndman & Fan,
// the default of R and NumPy: with x sorted and h = (n−1)q,
// Q = x[⌊h⌋] + (h−⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]). x is not modified.
func Quantile(x []float64, q float64) float64 {
	if q < 0 || q > 1 || math.IsNaN(q) {
		panic(fmt.Sprintf("stats.Quantile: q = %v outside [0, 1]", q))
	}
	if len(x) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	h := float64(len(s)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

func checkLen(fn string, a, b []float64) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("stats.%s: slices differ in length (%d and %d)", fn, len(a), len(b)))
	}
}

// Float64s widens float32 values (model rewards) to the float64 this
// package computes with.
func Float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
