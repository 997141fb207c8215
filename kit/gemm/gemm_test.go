package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// testKernels returns every kernel this machine runs, each twice: with its
// production blocking, and with tiny blocks so that small matrices cross
// every mc, kc and nc boundary (and the edge-tile paths) of the driver.
func testKernels() []*kernel {
	var ks []*kernel
	for _, kn := range kernels() {
		ks = append(ks, kn, &kernel{
			name: kn.name + "-tinyblocks", mr: kn.mr, nr: kn.nr,
			mc: 2 * kn.mr, kc: 5, nc: 3 * kn.nr,
			micro: kn.micro,
		})
	}
	return ks
}

type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra floats per row beyond the stored width
}

// operand builds a rows×cols matrix with row stride cols+pad; the padding
// holds NaN so that reading it poisons the result.
func operand(r *rand.Rand, rows, cols, pad int) ([]float32, int) {
	ld := cols + pad
	if ld == 0 {
		ld = 1
	}
	x := make([]float32, rows*ld)
	for i := range rows {
		for j := range ld {
			if j < cols {
				x[i*ld+j] = float32(r.NormFloat64())
			} else {
				x[i*ld+j] = float32(math.NaN())
			}
		}
	}
	return x, ld
}

// check runs one problem through kn (with procs goroutines allowed) and
// compares every element of C with a float64 evaluation, within the
// standard forward error bound of a float32 dot product:
// |err| ≤ γ·(|alpha|·Σ|a·b| + |beta·c|), γ = (k+2)·2⁻²⁴, doubled for slack.
// A wrong, missing or duplicated term costs about |a·b|, far above it.
func check(t *testing.T, kn *kernel, procs int, pr problem, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	ar, ac := pr.m, pr.k
	if pr.transA {
		ar, ac = pr.k, pr.m
	}
	br, bc := pr.k, pr.n
	if pr.transB {
		br, bc = pr.n, pr.k
	}
	a, lda := operand(r, ar, ac, pr.pad)
	b, ldb := operand(r, br, bc, pr.pad)
	c, ldc := operand(r, pr.m, pr.n, pr.pad)
	if pr.beta == 0 {
		// beta == 0 must ignore C entirely, NaN included.
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	// Guard: C's slice is followed by sentinel memory; the assembly
	// kernels write through pointers, so a tile stored past C's last row
	// would go unnoticed by bounds checks.
	const guard = 64
	cg := append(c, make([]float32, guard)...)
	for i := range guard {
		cg[len(c)+i] = -7.5
	}
	c = cg[:len(c):len(c)]
	c0 := append([]float32(nil), c...)
	at := func(i, p int) float64 {
		if pr.transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	bt := func(p, j int) float64 {
		if pr.transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}

	sgemm(kn, procs, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.alpha, a, lda, b, ldb, pr.beta, c, ldc)

	for i := range guard {
		if v := cg[len(c)+i]; v != -7.5 {
			t.Fatalf("%s %+v: wrote %v past the end of C (+%d)", kn.name, pr, v, i)
		}
	}
	gamma := 2 * float64(pr.k+2) * 0x1p-24
	bad := 0
	for i := range pr.m {
		for j := range ldc {
			got := c[i*ldc+j]
			if j >= pr.n {
				if !same(got, c0[i*ldc+j]) {
					t.Fatalf("%s %+v: C padding (%d,%d) changed: %v", kn.name, pr, i, j, got)
				}
				continue
			}
			var want, mag float64
			for p := range pr.k {
				ab := at(i, p) * bt(p, j)
				want += ab
				mag += math.Abs(ab)
			}
			want *= float64(pr.alpha)
			mag *= math.Abs(float64(pr.alpha))
			if pr.beta != 0 {
				bc := float64(pr.beta) * float64(c0[i*ldc+j])
				want += bc
				mag += math.Abs(bc)
			}
			if d := math.Abs(float64(got) - want); !(d <= gamma*mag+1e-30) {
				if bad++; bad <= 3 {
					t.Errorf("%s procs=%d %+v: C[%d,%d] = %v, want %v (|diff| %.3g > %.3g)",
						kn.name, procs, pr, i, j, got, want, d, gamma*mag)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s %+v: %d wrong elements", kn.name, pr, bad)
	}
}

func same(x, y float32) bool {
	return x == y || (x != x && y != y)
}

// TestMain sends every shape through the packed kernels; TestSmallPath
// covers the direct loop for tiny products.
func TestMain(m *testing.M) {
	smallMNK = 0
	os.Exit(m.Run())
}

func TestSmallPath(t *testing.T) {
	defer func(v int) { smallMNK = v }(smallMNK)
	smallMNK = 512
	i := 0
	for _, beta := range []float32{0, 1, -0.5} {
		for tr := range 4 {
			for _, sz := range [][3]int{{1, 1, 1}, {4, 4, 4}, {3, 7, 5}, {8, 8, 8}, {1, 33, 2}} {
				i++
				pr := problem{transA: tr&1 != 0, transB: tr&2 != 0, m: sz[0], n: sz[1], k: sz[2], alpha: 1.5, beta: beta, pad: i % 3}
				check(t, portable, 1, pr, uint64(i))
			}
		}
	}
}

func TestTransposesOddSizes(t *testing.T) {
	sizes := []int{1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 15, 16, 17, 29, 31, 32, 33, 37, 47, 64, 70}
	r := rand.New(rand.NewPCG(1, 2))
	for _, kn := range testKernels() {
		t.Run(kn.name, func(t *testing.T) {
			for trial := range 120 {
				pr := problem{
					transA: trial&1 != 0, transB: trial&2 != 0,
					m: sizes[r.IntN(len(sizes))], n: sizes[r.IntN(len(sizes))], k: sizes[r.IntN(len(sizes))],
					alpha: 1, beta: 0, pad: []int{0, 0, 1, 5}[r.IntN(4)],
				}
				check(t, kn, 1, pr, uint64(trial))
			}
		})
	}
}

func TestAllSmallShapes(t *testing.T) {
	// Every m, n ≤ 18 crosses the edges of the 2×4, 6×16 and 14×32 tiles.
	for _, kn := range testKernels() {
		t.Run(kn.name, func(t *testing.T) {
			for m := 1; m <= 18; m++ {
				for n := 1; n <= 18; n++ {
					tr := (m + n) % 4
					pr := problem{transA: tr&1 != 0, transB: tr&2 != 0, m: m, n: n, k: 1 + (m*n)%11, alpha: 1, beta: 0}
					check(t, kn, 1, pr, uint64(m*100+n))
				}
			}
		})
	}
}

func TestAlphaBeta(t *testing.T) {
	for _, kn := range testKernels() {
		t.Run(kn.name, func(t *testing.T) {
			i := 0
			for _, alpha := range []float32{1, -1, 0.5, 2.75} {
				for _, beta := range []float32{0, 1, -1, 0.25} {
					for tr := range 4 {
						i++
						pr := problem{transA: tr&1 != 0, transB: tr&2 != 0, m: 37, n: 45, k: 23, alpha: alpha, beta: beta, pad: 3}
						check(t, kn, 1, pr, uint64(i))
					}
				}
			}
		})
	}
}

func TestDegenerate(t *testing.T) {
	for _, kn := range kernels() {
		// k == 0 or alpha == 0: C = beta*C and A, B are not read.
		c := []float32{1, 2, float32(math.NaN()), 4}
		sgemm(kn, 1, false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0.5, c, 2)
		if c[0] != 0.5 || c[1] != 1 || c[3] != 2 {
			t.Errorf("%s k=0 beta=0.5: C = %v", kn.name, c)
		}
		a := []float32{float32(math.NaN()), 1, 1, 1}
		sgemm(kn, 1, false, false, 2, 2, 2, 0, a, 2, a, 2, 0, c, 2)
		for _, v := range c {
			if v != 0 {
				t.Errorf("%s alpha=0 beta=0: C = %v, want zeros", kn.name, c)
				break
			}
		}
		// m == 0 or n == 0: nothing touched.
		sgemm(kn, 1, false, false, 0, 5, 5, 1, nil, 5, nil, 5, 0, nil, 5)
	}
}

func TestParallelMatchesSerial(t *testing.T) {
	// Large enough to cross minParallelFlops; both split directions
	// (n ≤ m splits rows, n > m splits columns), odd remainders, and the
	// result must be bit-identical to one goroutine's. The tiny-block
	// kernels give the shared, prepacked operand many kc slices.
	shapes := []problem{
		{m: 301, n: 97, k: 150, alpha: 1, beta: 0},
		{m: 97, n: 301, k: 150, alpha: 1, beta: 0.5, transA: true},
		{m: 64, n: 530, k: 129, alpha: -1, beta: 1, transB: true, pad: 2},
		{m: 250, n: 250, k: 70, alpha: 1, beta: 0, transA: true, transB: true},
	}
	for _, kn := range testKernels() {
		for _, pr := range shapes {
			for _, procs := range []int{2, 3, 7} {
				check(t, kn, procs, pr, 11)
			}
			r := rand.New(rand.NewPCG(3, 3))
			ar, ac, br, bc := pr.m, pr.k, pr.k, pr.n
			if pr.transA {
				ar, ac = ac, ar
			}
			if pr.transB {
				br, bc = bc, br
			}
			a, lda := operand(r, ar, ac, 0)
			b, ldb := operand(r, br, bc, 0)
			c1, ldc := operand(r, pr.m, pr.n, 0)
			c2 := append([]float32(nil), c1...)
			sgemm(kn, 1, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.alpha, a, lda, b, ldb, pr.beta, c1, ldc)
			sgemm(kn, 4, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.alpha, a, lda, b, ldb, pr.beta, c2, ldc)
			for i := range c1 {
				if !same(c1[i], c2[i]) {
					t.Fatalf("%s %+v: parallel C[%d] = %v, serial %v", kn.name, pr, i, c2[i], c1[i])
				}
			}
		}
	}
}

func TestSgemmMatchesRef(t *testing.T) {
	// The public entry point, through whatever kernel this CPU picked,
	// against the package's reference implementation.
	r := rand.New(rand.NewPCG(5, 5))
	for tr := range 4 {
		ta, tb := tr&1 != 0, tr&2 != 0
		m, n, k := 130, 200, 300
		ar, ac, br, bc := m, k, k, n
		if ta {
			ar, ac = ac, ar
		}
		if tb {
			br, bc = bc, br
		}
		a, lda := operand(r, ar, ac, 1)
		b, ldb := operand(r, br, bc, 1)
		c, ldc := operand(r, m, n, 1)
		want := append([]float32(nil), c...)
		Sgemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, -2, c, ldc)
		sgemmRef(ta, tb, m, n, k, 0.5, a, lda, b, ldb, -2, want, ldc)
		for i := range c {
			if d := math.Abs(float64(c[i] - want[i])); !(d <= 1e-3) && !(c[i] != c[i] && want[i] != want[i]) {
				t.Fatalf("Sgemm(%v,%v) [%s]: C[%d] = %v, ref %v", ta, tb, Kernel(), i, c[i], want[i])
			}
		}
	}
}

func TestBadArgsPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"short c", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}},
		{"short a", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"small ldb", func() {
			Sgemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 6), 1, 0, make([]float32, 6), 3)
		}},
		{"negative", func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}

func TestKernelChoice(t *testing.T) {
	ks := kernels()
	if ks[len(ks)-1] != portable {
		t.Errorf("portable kernel missing from %v", ks)
	}
	if Kernel() != ks[0].name {
		t.Errorf("Kernel() = %q, want fastest %q", Kernel(), ks[0].name)
	}
	t.Logf("kernels on this machine: %v", func() (s []string) {
		for _, k := range ks {
			s = append(s, fmt.Sprintf("%s(%d×%d)", k.name, k.mr, k.nr))
		}
		return
	}())
}
