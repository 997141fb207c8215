//go:build !(goexperiment.simd && amd64)

package model

// geluVec has no vector path without GOEXPERIMENT=simd on amd64.
func geluVec(out, grad, x []float32) int { return 0 }

// expSumVec has no vector path without GOEXPERIMENT=simd on amd64.
func expSumVec(x []float32, shift float32) (float32, bool) { return 0, false }

// maxVec has no vector path without GOEXPERIMENT=simd on amd64.
func maxVec(x []float32) (float32, bool) { return 0, false }

// scaleVec has no vector path without GOEXPERIMENT=simd on amd64.
func scaleVec(x []float32, s float32) bool { return false }

// addVec has no vector path without GOEXPERIMENT=simd on amd64.
func addVec(dst, src []float32) bool { return false }

// axpyVec has no vector path without GOEXPERIMENT=simd on amd64.
func axpyVec(dst, src []float32, a float32) bool { return false }

// scoresVec has no vector path without GOEXPERIMENT=simd on amd64.
func scoresVec(s, q, k []float32, ld int) bool { return false }

// mixVec has no vector path without GOEXPERIMENT=simd on amd64.
func mixVec(y, p, v []float32, ld int) bool { return false }
