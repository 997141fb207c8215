package stats

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

// Clustered units. When a split holds several pairs per prompt (every
// pair among k responses to one prompt: prefgen's grouped splits), pairs
// of one prompt share texts and are not independent: a bootstrap over
// pairs would give too narrow an interval. The functions here resample
// whole clusters instead (the cluster bootstrap): the estimate is the mean
// over all units, each resample draws as many clusters as there are, with
// replacement, and takes the mean over the units of the drawn clusters
// (a ratio estimator, since clusters differ in size). With every unit its
// own cluster it is the ordinary bootstrap over units.

// ClusterIDs numbers keys by first appearance: units with equal keys get
// the same cluster id (0, 1, …). It returns nil when every key is
// distinct — independent units, the plain bootstrap's case — so that a
// split without repeated prompts carries no cluster list at all.
func ClusterIDs(keys []string) []int {
	ids := make([]int, len(keys))
	seen := make(map[string]int, len(keys))
	repeated := false
	for i, k := range keys {
		id, ok := seen[k]
		if !ok {
			id = len(seen)
			seen[k] = id
		} else {
			repeated = true
		}
		ids[i] = id
	}
	if !repeated {
		return nil
	}
	return ids
}

// NumClusters is the number of distinct ids in cluster (len(cluster) ids
// for a nil list: n independent units).
func NumClusters(cluster []int, n int) int {
	if cluster == nil {
		return n
	}
	seen := map[int]bool{}
	for _, c := range cluster {
		seen[c] = true
	}
	return len(seen)
}

// checkClusters panics when cluster is non-nil and not one id per unit
// (programmer error: the caller pairs values with their split's list).
func checkClusters(fn string, x []float64, cluster []int) {
	if cluster != nil && len(cluster) != len(x) {
		panic(fmt.Sprintf("stats.%s: %d values, %d cluster ids", fn, len(x), len(cluster)))
	}
}

// ClusterBootstrapMean is BootstrapMean resampling whole clusters:
// cluster[i] is unit i's cluster (nil: independent units, exactly
// BootstrapMean). Fewer than 2 clusters give no interval.
func ClusterBootstrapMean(x []float64, cluster []int, resamples int, seed uint64) Interval {
	checkClusters("ClusterBootstrapMean", x, cluster)
	if cluster == nil {
		return BootstrapMean(x, resamples, seed)
	}
	const method = "cluster bootstrap"
	if resamples < 1 {
		panic(fmt.Sprintf("stats.ClusterBootstrapMean: resamples = %d, want ≥ 1", resamples))
	}
	n := len(x)
	if n == 0 {
		return none(0, method)
	}
	// Per-cluster sums and sizes, in order of first appearance.
	index := map[int]int{}
	var sums []float64
	var sizes []int
	for i, c := range cluster {
		k, ok := index[c]
		if !ok {
			k = len(sums)
			index[c] = k
			sums, sizes = append(sums, 0), append(sizes, 0)
		}
		sums[k] += x[i]
		sizes[k]++
	}
	mean, _ := MeanStd(x)
	g := len(sums)
	if g < 2 {
		iv := none(n, method)
		iv.Est = mean
		return iv
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	means := make([]float64, resamples)
	for b := range means {
		var s float64
		var m int
		for range g {
			k := rng.IntN(g)
			s += sums[k]
			m += sizes[k]
		}
		means[b] = s / float64(m)
	}
	sort.Float64s(means)
	return Interval{Est: mean, Lo: quantileSorted(means, 0.025), Hi: quantileSorted(means, 0.975), N: n,
		Method: fmt.Sprintf("%s over %d clusters of %d units, %d resamples", method, g, n, resamples)}
}

// ClusterPairedDiff is PairedDiff resampling whole clusters (nil:
// independent units, PairedDiff itself).
func ClusterPairedDiff(a, b []float64, cluster []int, resamples int, seed uint64) Interval {
	iv := ClusterBootstrapMean(diffs("PairedDiff", a, b), cluster, resamples, seed)
	iv.Method = "paired " + iv.Method
	return iv
}

// ClusterPairedAccuracyDiff is PairedAccuracyDiff resampling whole
// clusters (nil: PairedAccuracyDiff itself). The Agresti–Min floor
// treats units as independent, so with clusters it only ever widens an
// interval that the bootstrap collapsed (few discordant pairs).
func ClusterPairedAccuracyDiff(a, b []float64, cluster []int, resamples int, seed uint64) Interval {
	iv := ClusterPairedDiff(a, b, cluster, resamples, seed)
	if len(a) == 0 {
		return iv
	}
	lo, hi := agrestiMin(diffs("PairedAccuracyDiff", a, b))
	if lo < iv.Lo || hi > iv.Hi {
		iv.Lo, iv.Hi = min(iv.Lo, lo), max(iv.Hi, hi)
		iv.Method += ", widened to the Agresti–Min interval"
	}
	return iv
}

// ClusterAccuracyInterval is the accuracy of per-pair correctness with a
// 95% interval: Wilson's (AccuracyInterval) for independent pairs (nil
// cluster), the cluster bootstrap (Resamples, BootstrapSeed) when pairs
// share prompts — Wilson would treat every pair as independent and be
// too narrow.
func ClusterAccuracyInterval(correct []float64, cluster []int) Interval {
	checkClusters("ClusterAccuracyInterval", correct, cluster)
	if cluster == nil {
		return AccuracyInterval(correct)
	}
	return ClusterBootstrapMean(correct, cluster, Resamples, BootstrapSeed)
}
