// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header, then the raw tensor data.
//
// Opening a multi-gigabyte checkpoint reads only its header. Tensors are
// copied out with pread (safe if the file is truncated meanwhile) or, for
// tools that own their inputs, viewed zero-copy through mmap (File.Bytes).
// Writing streams: the header is computed up front from the declared
// tensors, then the data follows in order, so no tensor needs to be held in
// memory twice.
package safetensors

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Dtype is a safetensors element type, spelled as in the header ("F32").
type Dtype string

// The dtypes of the safetensors spec.
const (
	BOOL   Dtype = "BOOL"
	U8     Dtype = "U8"
	I8     Dtype = "I8"
	I16    Dtype = "I16"
	U16    Dtype = "U16"
	F16    Dtype = "F16"
	BF16   Dtype = "BF16"
	I32    Dtype = "I32"
	U32    Dtype = "U32"
	F32    Dtype = "F32"
	F64    Dtype = "F64"
	I64    Dtype = "I64"
	U64    Dtype = "U64"
	F8E4M3 Dtype = "F8_E4M3"
	F8E5M2 Dtype = "F8_E5M2"
)

var dtypeSizes = map[Dtype]int{
	BOOL: 1, U8: 1, I8: 1, F8E4M3: 1, F8E5M2: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	I64: 8, U64: 8, F64: 8,
}

// Size returns the bytes per element, or 0 for an unknown dtype.
func (d Dtype) Size() int { return dtypeSizes[d] }

// Valid reports whether d is a dtype of the spec.
func (d Dtype) Valid() bool { return dtypeSizes[d] != 0 }

// IsFloat reports whether d is a floating-point type that Float32 can
// convert (F32, F16, BF16, F64).
func (d Dtype) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// BF16FromFloat32 rounds f to bfloat16, to nearest with ties to even (as
// torch does). NaN stays NaN (quiet, sign kept); ±Inf and overflow to ±Inf
// follow IEEE rounding.
func BF16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: truncating could make it Inf
		return uint16(b>>16) | 0x0040
	}
	// Add 0x7fff plus the lowest kept bit: rounds half to even, and carries
	// into the exponent correctly (up to Inf).
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// F16FromFloat32 rounds f to an IEEE half, to nearest with ties to even.
// Overflow gives ±Inf, NaN stays NaN (quiet, sign kept).
func F16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	switch {
	case abs > 0x7f800000: // NaN
		return sign | 0x7e00 | uint16(abs>>13)&0x3ff
	case abs >= 0x477ff000: // ≥ 65520 rounds to Inf (65504 is the largest half)
		return sign | 0x7c00
	case abs >= 0x38800000: // normal half (≥ 2^-14): rebias, round 23 → 10 bits
		abs -= 112 << 23
		abs += 0xfff + (abs>>13)&1
		return sign | uint16(abs>>13)
	case abs <= 0x33000000: // ≤ 2^-25 rounds (ties to even) to zero
		return sign
	}
	// Subnormal half: value in units of 2^-24 is m·2^(e-126).
	e := abs >> 23
	m := abs&0x7fffff | 0x800000
	shift := 126 - e
	q := m >> shift
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return sign | uint16(q)
}

// Float32FromBF16 widens a bfloat16 exactly.
func Float32FromBF16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32FromF16 widens an IEEE half exactly (subnormals, Inf, NaN included).
func Float32FromF16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN; keep the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: normalise into a float32.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// littleEndian is true when float32 slices can alias the file's bytes.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// AsFloat32 reinterprets little-endian F32 bytes as []float32 without a copy
// when the host is little-endian and b is 4-byte aligned (mmap'd tensors
// are, when their offsets are); otherwise it returns a converted copy.
func AsFloat32(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// DecodeFloat32 converts src (little-endian elements of dtype d) into dst,
// len(dst) elements. d must satisfy IsFloat.
func DecodeFloat32(dst []float32, src []byte, d Dtype) {
	switch d {
	case F32:
		if littleEndian {
			copy(dst, AsFloat32(src[:4*len(dst)]))
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case BF16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case F16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = Float32FromF16(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case F64:
		src = src[:8*len(dst)]
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	default:
		panic("safetensors: DecodeFloat32 of " + string(d))
	}
}

// EncodeFloat32 appends src encoded as dtype d (F32, BF16, F16 or F64) to dst.
func EncodeFloat32(dst []byte, src []float32, d Dtype) []byte {
	switch d {
	case F32:
		for _, v := range src {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	case BF16:
		for _, v := range src {
			dst = binary.LittleEndian.AppendUint16(dst, BF16FromFloat32(v))
		}
	case F16:
		for _, v := range src {
			dst = binary.LittleEndian.AppendUint16(dst, F16FromFloat32(v))
		}
	case F64:
		for _, v := range src {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(float64(v)))
		}
	default:
		panic("safetensors: EncodeFloat32 to " + string(d))
	}
	return dst
}
