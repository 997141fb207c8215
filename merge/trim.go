package merge

import "math"

// topKThreshold returns the magnitude of the k-th largest |v| and the index
// bound for ties at that magnitude: an element is kept when |v| > thr, or
// |v| == thr and its index < tieEnd. Exactly k elements pass (k ≥ 1). mag
// is scratch of len(v) (overwritten).
//
// Non-negative float32 values order like their bit patterns as uint32, so
// the k-th largest magnitude is found by a radix select on the bits: three
// histogram passes of 11, 11 and 10 bits, linear and branch-light.
func topKThreshold(v []float32, k int, mag []float32) (thr float32, tieEnd int) {
	n := len(v)
	if k >= n {
		return -1, 0 // everything passes |v| > -1
	}
	bits := make([]uint32, 0) // reuse mag's memory as uint32
	if len(mag) >= n {
		bits = f32bits(mag[:n])
	} else {
		bits = make([]uint32, n)
	}
	for i, x := range v {
		bits[i] = math.Float32bits(x) &^ (1 << 31)
	}
	t := radixSelect(bits, n-k) // the (n-k)-th smallest, 0-based
	thr = math.Float32frombits(t)
	greater := 0
	for i := range v {
		if math.Float32bits(v[i])&^(1<<31) > t {
			greater++
		}
	}
	need := k - greater // elements equal to thr to keep, first in index order
	for i := range v {
		if math.Float32bits(v[i])&^(1<<31) == t {
			need--
			if need == 0 {
				return thr, i + 1
			}
		}
	}
	return thr, n
}

// radixSelect returns the k-th smallest (0-based) of a, which it does not
// modify.
func radixSelect(a []uint32, k int) uint32 {
	var prefix, mask uint32
	for _, p := range [...]struct{ shift, width uint }{{21, 11}, {10, 11}, {0, 10}} {
		var hist [2048]int
		nb := uint32(1)<<p.width - 1
		for _, x := range a {
			if x&mask == prefix {
				hist[(x>>p.shift)&nb]++
			}
		}
		for b, c := range hist {
			if k < c {
				prefix |= uint32(b) << p.shift
				break
			}
			k -= c
		}
		mask |= nb << p.shift
	}
	return prefix
}
