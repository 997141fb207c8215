package stats

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestClusterIDs(t *testing.T) {
	if got := ClusterIDs([]string{"a", "b", "c"}); got != nil {
		t.Fatalf("distinct keys: %v, want nil (independent units)", got)
	}
	got := ClusterIDs([]string{"p", "q", "p", "r", "q"})
	want := []int{0, 1, 0, 2, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ClusterIDs = %v, want %v", got, want)
		}
	}
	if n := NumClusters(got, 5); n != 3 {
		t.Fatalf("NumClusters = %d, want 3", n)
	}
	if n := NumClusters(nil, 5); n != 5 {
		t.Fatalf("NumClusters(nil, 5) = %d", n)
	}
}

// Without clusters the functions are exactly the plain ones; with one unit
// per cluster the cluster bootstrap is the bootstrap over units (same
// draws), and the estimate is always the mean over all units.
func TestClusterBootstrapReducesToPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := pairedSample(rng, 400, 0.1, 0.05)
	if x, y := ClusterPairedAccuracyDiff(a, b, nil, 500, 7), PairedAccuracyDiff(a, b, 500, 7); x != y {
		t.Fatalf("nil clusters: %+v, plain %+v", x, y)
	}
	own := make([]int, len(a))
	for i := range own {
		own[i] = i
	}
	x, y := ClusterPairedDiff(a, b, own, 500, 7), PairedDiff(a, b, 500, 7)
	if math.Abs(x.Est-y.Est) > 1e-12 || math.Abs(x.Lo-y.Lo) > 1e-12 || math.Abs(x.Hi-y.Hi) > 1e-12 {
		t.Fatalf("one unit per cluster: %+v, plain %+v", x, y)
	}
	// Unequal clusters: the estimate is the mean over units, not over
	// cluster means.
	v := []float64{1, 1, 1, 0}
	iv := ClusterBootstrapMean(v, []int{0, 0, 0, 1}, 200, 1)
	if iv.Est != 0.75 || !strings.Contains(iv.Method, "2 clusters of 4 units") {
		t.Fatalf("estimate %+v, want 0.75 over 2 clusters of 4 units", iv)
	}
	if iv := ClusterBootstrapMean(v, []int{3, 3, 3, 3}, 200, 1); iv.Valid() || iv.Est != 0.75 {
		t.Fatalf("one cluster: %+v, want the mean without an interval", iv)
	}
}

// Correlated units: 300 prompts of 6 pairs whose correctness shares the
// prompt's difficulty (intra-cluster correlation 1/3, design effect 2.7).
// The cluster bootstrap covers the true accuracy about 95% of the time;
// the bootstrap over pairs, treating them as independent, covers it far
// less often (≈ 77% in theory) — which is why grouped splits carry their
// clusters.
func TestClusterBootstrapCoverage(t *testing.T) {
	const reps, clusters, size, truth = 200, 300, 6, 0.6
	rng := rand.New(rand.NewPCG(11, 12))
	beta := func() float64 { // Beta(1.2, 0.8) by two gammas: mean 0.6
		x, y := gamma(rng, 1.2), gamma(rng, 0.8)
		return x / (x + y)
	}
	var hitC, hitP int
	for r := range reps {
		x := make([]float64, 0, clusters*size)
		cl := make([]int, 0, clusters*size)
		for c := range clusters {
			p := beta()
			for range size {
				v := 0.0
				if rng.Float64() < p {
					v = 1
				}
				x, cl = append(x, v), append(cl, c)
			}
		}
		ivC := ClusterBootstrapMean(x, cl, 500, uint64(r))
		ivP := BootstrapMean(x, 500, uint64(r))
		if ivC.Lo <= truth && truth <= ivC.Hi {
			hitC++
		}
		if ivP.Lo <= truth && truth <= ivP.Hi {
			hitP++
		}
	}
	t.Logf("coverage: cluster bootstrap %d/%d, bootstrap over pairs %d/%d", hitC, reps, hitP, reps)
	if hitC < 180 { // 95% of 200 = 190; 180 is 3 binomial SDs below
		t.Fatalf("cluster bootstrap covered %d/%d, want ≥ 180", hitC, reps)
	}
	if hitP > 172 { // ≈ 154 expected; 172 would be 86%
		t.Fatalf("bootstrap over pairs covered %d/%d: the test data are not clustered enough to tell", hitP, reps)
	}
}

// gamma draws Gamma(k, 1) by Marsaglia–Tsang (k ≥ 1) with the k < 1 boost.
func gamma(rng *rand.Rand, k float64) float64 {
	if k < 1 {
		return gamma(rng, k+1) * math.Pow(rng.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}
