//go:build !(goexperiment.simd && amd64)

package merge

// linear64Vec has no vector body in this build: the scalar loop does all.
func linear64Vec(mode int, res []float32, acc []float64, x *[4][]float32, c *[4]float64) int {
	return 0
}
