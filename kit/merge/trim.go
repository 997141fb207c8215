package merge

import "math"

// magBits writes the bit patterns of |x − b| (float32) into bits.
// Non-negative float32 values order like their bit patterns as uint32, so
// selecting on the bits selects on the magnitudes.
func magBits(bits []uint32, x, b []float32) {
	b = b[:len(x)]
	bits = bits[:len(x)]
	for i := range x {
		bits[i] = math.Float32bits(x[i]-b[i]) &^ (1 << 31)
	}
}

// topKThreshold returns the k-th largest of the magnitudes whose bits are
// given, and the index bound for ties at that magnitude: an element is kept
// when |v| > thr, or |v| == thr and its index < tieEnd. Exactly k elements
// pass (k ≥ 1).
//
// It is a radix select on the bits: three histogram passes of 11, 11 and
// 10 bits, linear and branch-light; the count of strictly greater elements
// falls out of the histograms, and one partial pass finds the tie bound.
func topKThreshold(bits []uint32, k int) (thr float32, tieEnd int) {
	n := len(bits)
	if k >= n {
		return -1, 0 // everything passes |v| > -1
	}
	// The (n-k)-th smallest (0-based) is the k-th largest.
	t, greater := radixSelect(bits, n-k)
	need := k - greater // elements equal to t to keep, first in index order
	for i, x := range bits {
		if x == t {
			need--
			if need == 0 {
				return math.Float32frombits(t), i + 1
			}
		}
	}
	return math.Float32frombits(t), n
}

// radixSelect returns the k-th smallest (0-based) of a and how many
// elements are strictly greater than it; a is not modified.
func radixSelect(a []uint32, k int) (v uint32, greater int) {
	var prefix, mask uint32
	for _, p := range [...]struct{ shift, width uint }{{21, 11}, {10, 11}, {0, 10}} {
		var hist [2048]int
		nb := uint32(1)<<p.width - 1
		if mask == 0 {
			for _, x := range a {
				hist[x>>p.shift&nb]++
			}
		} else {
			for _, x := range a {
				if x&mask == prefix {
					hist[x>>p.shift&nb]++
				}
			}
		}
		b := 0
		for ; b < len(hist); b++ {
			if k < hist[b] {
				break
			}
			k -= hist[b]
		}
		for _, c := range hist[b+1:] {
			greater += c // above the chosen bucket at this level: strictly greater
		}
		prefix |= uint32(b) << p.shift
		mask |= nb << p.shift
	}
	return prefix, greater
}
