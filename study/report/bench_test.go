package report

import (
	"path/filepath"
	"testing"
)

func BenchmarkLinePlot(b *testing.B) {
	path := filepath.Join(b.TempDir(), "lmc.png")
	s := lmcSeries()
	for b.Loop() {
		if err := LinePlot(path, "LMC", "λ", "accuracy", s); err != nil {
			b.Fatal(err)
		}
	}
}
