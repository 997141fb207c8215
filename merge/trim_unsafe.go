package merge

import "unsafe"

// f32bits views a float32 slice's memory as uint32 (same size and
// alignment) so topKThreshold needs no second buffer.
func f32bits(f []float32) []uint32 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&f[0])), len(f))
}
