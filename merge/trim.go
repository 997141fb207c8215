package merge

import "math"

// topKThreshold returns the magnitude of the k-th largest |v| and the index
// bound for ties at that magnitude: an element is kept when |v| > thr, or
// |v| == thr and its index < tieEnd. Exactly k elements pass (k ≥ 1). mag
// is scratch of len(v) (overwritten).
func topKThreshold(v []float32, k int, mag []float32) (thr float32, tieEnd int) {
	n := len(v)
	if k >= n {
		return -1, 0 // everything passes |v| > -1
	}
	mag = mag[:n]
	for i, x := range v {
		mag[i] = float32(math.Abs(float64(x)))
	}
	// The k-th largest is the (n-k)-th smallest (0-based).
	thr = quickselect(mag, n-k)
	greater := 0
	for _, x := range v {
		if float32(math.Abs(float64(x))) > thr {
			greater++
		}
	}
	need := k - greater // elements equal to thr to keep, first in index order
	for i, x := range v {
		if float32(math.Abs(float64(x))) == thr {
			need--
			if need == 0 {
				return thr, i + 1
			}
		}
	}
	return thr, n
}

// quickselect returns the k-th smallest of a (0-based), reordering a.
// Median-of-three pivots with a three-way partition: linear on average,
// even with many equal values.
func quickselect(a []float32, k int) float32 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		p := median3(a[lo], a[mid], a[hi])
		// Dutch national flag partition: [lo,lt) < p, [lt,gt] == p, (gt,hi] > p.
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case a[i] < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case a[i] > p:
				a[i], a[gt] = a[gt], a[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return p
		}
	}
	return a[k]
}

func median3(a, b, c float32) float32 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	if a > b {
		b = a
	}
	return b
}
