package merge

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// TestMergekitFixtures compares against testdata/expected_*.safetensors,
// computed by testdata/gen_mergekit.py: mergekit's formulas re-typed in
// torch 1.13 (float32 for ties as mergekit runs it, float64 for the rest).
// Tolerances: 1e-6 absolute for ties (torch sums in float32, we in
// float64; values are O(1)), 1 ulp for the float64 references.
func TestMergekitFixtures(t *testing.T) {
	td := func(n string) string { return filepath.Join("testdata", n+".safetensors") }
	models := []string{td("a"), td("b"), td("c")}
	cases := []struct {
		name string
		opt  func() Options
		tol  float64 // absolute; 0 means 1 ulp
	}{
		{"ties", func() Options {
			o := opts("ties", models...)
			o.Base = td("base")
			o.Set("density", 0.4)
			for i, w := range []float64{1, 0.5, 2} {
				o.SetModel(i, "weight", w)
			}
			return o
		}, 1e-6},
		{"ta", func() Options {
			o := opts("task_arithmetic", models...)
			o.Base = td("base")
			o.Set("lambda", 0.7)
			return o
		}, 0},
		{"slerp", func() Options {
			o := opts("slerp", models[0], models[1])
			o.Set("t", 0.3)
			return o
		}, 0},
		{"linear", func() Options { return opts("linear", models...) }, 0},
	}
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "out.safetensors")
		if _, err := Merge(out, c.opt()); err != nil {
			t.Fatal(c.name, err)
		}
		got, err := safetensors.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := safetensors.Open(td("expected_" + c.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range want.Names() {
			g, _ := got.Float32(n)
			w, _ := want.Float32(n)
			if len(g) != len(w) || len(w) == 0 {
				t.Fatalf("%s %s: %d vs %d elements", c.name, n, len(g), len(w))
			}
			for i := range w {
				tol := c.tol
				if tol == 0 {
					tol = float64(math.Nextafter32(float32(math.Abs(float64(w[i]))), float32(math.Inf(1))) - float32(math.Abs(float64(w[i]))))
				}
				if d := math.Abs(float64(g[i] - w[i])); d > tol {
					t.Errorf("%s %s[%d] = %v, mergekit formula %v (diff %g)", c.name, n, i, g[i], w[i], d)
					break
				}
			}
		}
		got.Close()
		want.Close()
	}
}
