// Package mix holds the project's one seed-mixing hash: splitmix64
// (Steele, Lea & Flood 2014, with Vigna's constants) and a uniform number
// from a (seed, string) pair. Outputs are bit-identical to the copies it
// replaces, so runs reproduce across the change.
package mix

import "hash/fnv"

// Golden is 2⁶⁴/φ, splitmix64's increment; XORed into seeds it separates
// streams.
const Golden = 0x9e3779b97f4a7c15

// Finalize is splitmix64's output function: a bijection on uint64 whose
// every output bit depends on every input bit.
func Finalize(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// SplitMix64 is one splitmix64 output from state x: Finalize(x + Golden).
func SplitMix64(x uint64) uint64 { return Finalize(x + Golden) }

// Unit maps (seed, s) to a uniform number in [0, 1): FNV-1a over the
// seed's 8 little-endian bytes and s, then Finalize, because FNV's bits mix
// poorly on short input. It decides train/val splits by document or
// prompt, independent of order.
func Unit(seed uint64, s string) float64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(seed >> (8 * i))
	}
	h.Write(b[:])
	h.Write([]byte(s))
	return float64(Finalize(h.Sum64())>>11) / (1 << 53)
}
