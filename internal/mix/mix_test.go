package mix

import (
	"hash/fnv"
	"testing"
)

// The first outputs of splitmix64 seeded with 0, from Vigna's reference
// implementation (prng.di.unimi.it/splitmix64.c): state += Golden, then
// the finaliser.
func TestSplitMix64Reference(t *testing.T) {
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	var state uint64
	for i, w := range want {
		if got := SplitMix64(state); got != w {
			t.Errorf("output %d: %#x, want %#x", i, got, w)
		}
		state += Golden
	}
}

// unitHashBefore is the copy Unit replaces (corpus and prefdata held it):
// Unit must give the same bits, or the study's splits would move.
func unitHashBefore(seed uint64, s string) float64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(seed >> (8 * i))
	}
	h.Write(b[:])
	h.Write([]byte(s))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func TestUnitMatchesFormerHash(t *testing.T) {
	for _, c := range []struct {
		seed uint64
		s    string
	}{{0, ""}, {1, "a"}, {42, "sotu/1790-01-08"}, {1 << 63, "The people of the United States"}} {
		t.Run(c.s, func(t *testing.T) {
			got, want := Unit(c.seed, c.s), unitHashBefore(c.seed, c.s)
			if got != want || got < 0 || got >= 1 {
				t.Fatalf("Unit(%d, %q) = %v, want %v in [0, 1)", c.seed, c.s, got, want)
			}
		})
	}
}
