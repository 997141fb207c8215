package merge

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// TestForceKeepsUserOld: --force replaces OUT but never touches a user's
// OUT.old (the old OUT goes aside under a hidden stage name), for a
// directory and for a single file.
func TestForceKeepsUserOld(t *testing.T) {
	root, paths, _ := models(t, 2)
	for _, out := range []string{filepath.Join(root, "out"), filepath.Join(root, "out.safetensors")} {
		old := out + ".old"
		os.WriteFile(old, []byte("user data"), 0o644)
		o := opts("linear", paths...)
		if _, err := Merge(out, o); err != nil {
			t.Fatal(err)
		}
		o.Overwrite = true
		if _, err := Merge(out, o); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(old); err != nil || string(b) != "user data" {
			t.Errorf("%s: %q, %v", old, b, err)
		}
		if _, err := safetensors.OpenCheckpoint(out); err != nil {
			t.Error(err)
		}
	}
	assertClean(t, root, map[string]bool{"rm0": true, "rm1": true, "out": true, "out.old": true, "out.safetensors": true, "out.safetensors.old": true})
}

// TestStaleStageRemoved: the stage a SIGKILLed merge left (its pid no
// longer running) is removed by the next merge to the same output.
func TestStaleStageRemoved(t *testing.T) {
	root, paths, _ := models(t, 2)
	const deadPID = 2147483646 // above any pid_max
	stale := filepath.Join(root, ".out.tmp-2147483646-0badc0de")
	if err := syscall.Kill(deadPID, 0); err == nil {
		t.Skip("pid in use")
	}
	os.MkdirAll(filepath.Join(stale, "sub"), 0o755)
	os.WriteFile(filepath.Join(stale, "model.safetensors"), make([]byte, 1000), 0o644)
	if _, err := Merge(filepath.Join(root, "out"), opts("linear", paths...)); err != nil {
		t.Fatal(err)
	}
	assertClean(t, root, map[string]bool{"rm0": true, "rm1": true, "out": true})
}

// TestOutputModes: every output file is 0644 under the umask (0640 with
// umask 027).
func TestOutputModes(t *testing.T) {
	root, paths, _ := models(t, 2)
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	o := opts("linear", paths...)
	o.ShardSize = 4096
	out := filepath.Join(root, "out")
	if _, err := Merge(out, o); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) < 5 {
		t.Fatalf("%d files", len(ents))
	}
	for _, e := range ents {
		st, _ := os.Stat(filepath.Join(out, e.Name()))
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s: %v, want 0640", e.Name(), st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o750 {
		t.Errorf("dir: %v", st.Mode().Perm())
	}
}

// TestDuplicateAndBase: a path given twice is an error; the base model
// listed among the models (as mergekit configs do) is the base only.
func TestDuplicateAndBase(t *testing.T) {
	root, paths, _ := models(t, 3)
	_, err := Merge(filepath.Join(root, "x"), opts("linear", paths[0], paths[1], paths[0]+"/"))
	if err == nil || !strings.Contains(err.Error(), "listed twice (models 1 and 3)") {
		t.Errorf("duplicate: %v", err)
	}
	o := opts("task_arithmetic", paths...)
	o.Base = paths[0]
	res, err := Merge(filepath.Join(root, "ta"), o)
	if err != nil || res.Models != 2 {
		t.Errorf("base among models: %v %+v", err, res)
	}
}

// TestF16MatchesTorch: float32 values written as F16 are bit-identical to
// torch 1.13's .to(torch.float16) (safetensors/testdata/torch_casts.json);
// a value beyond float16's range is an error, not an Inf weight.
func TestF16MatchesTorch(t *testing.T) {
	raw, err := os.ReadFile("../safetensors/testdata/torch_casts.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct{ F32, F16 []uint32 }
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	var in []float32
	var want []uint16
	for i, b := range fx.F32 {
		v := math.Float32frombits(b)
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || fx.F16[i]&0x7c00 == 0x7c00 {
			continue // non-finite inputs are refused; overflow is tested below
		}
		in, want = append(in, v), append(want, uint16(fx.F16[i]))
	}
	if len(in) < 40 {
		t.Fatalf("only %d usable values", len(in))
	}
	dir := t.TempDir()
	a, b := writeVec(t, dir, "a", in), writeVec(t, dir, "b", in)
	o := opts("linear", a, b) // (x + x)/2 = x exactly
	o.Dtype = "float16"
	out := filepath.Join(dir, "out.safetensors")
	if _, err := Merge(out, o); err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.Open(out)
	got, _ := f.Bytes("w")
	defer f.Close() // got is mapped from f
	for i, w := range want {
		if h := binary.LittleEndian.Uint16(got[2*i:]); h != w {
			t.Errorf("%g: %#04x, torch %#04x", in[i], h, w)
		}
	}
	big := writeVec(t, dir, "big", []float32{1, 70000})
	o = opts("linear", big, a[:len(a)-len("a.safetensors")]+"big2.safetensors")
	copyTree(t, big, o.Models[1])
	o.Dtype = "F16"
	_, err = Merge(filepath.Join(dir, "big.out.safetensors"), o)
	if err == nil || !strings.Contains(err.Error(), "overflows float16") || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("overflow: %v", err)
	}
}

// TestBreadcrumbs against a direct computation: per task vector, drop the
// gamma·n largest magnitudes and keep the next density·n, then sum
// (breadcrumbs) or elect signs (breadcrumbs_ties).
func TestBreadcrumbs(t *testing.T) {
	dir := t.TempDir()
	base := writeVec(t, dir, "base", []float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	a := writeVec(t, dir, "a", []float32{9, -1, 2, 0.5, -3, 4, 0.1, -6, 0.2, 5})
	b := writeVec(t, dir, "b", []float32{-2, 8, -1.5, 3, 0.3, -0.4, 7, 1, -5, 0.6})
	o := opts("breadcrumbs", a, b)
	o.Base = base
	o.Set("density", 0.4)
	o.Set("gamma", 0.2)
	// n = 10: drop the top 2, keep ranks 3..6 by magnitude.
	//   a: |9|,|-6| dropped; keep 5, 4, -3, 2   → (0,0,2,0,-3,4,0,0,0,5)
	//   b: 8, 7 dropped; keep -5, 3, -2, -1.5   → (-2,0,-1.5,3,0,0,0,0,-5,0)
	want := []float32{-2, 0, 0.5, 3, -3, 4, 0, 0, -5, 5}
	if got := mergeVec(t, o); !slices.Equal(got, want) {
		t.Errorf("breadcrumbs %v, want %v", got, want)
	}
	o.Method = "breadcrumbs_ties"
	// Element 2 has two contributors, 2 and −1.5: + is elected and only a's
	// 2 counts (normalize off: a sum, not a mean); the others have one.
	want[2] = 2
	if got := mergeVec(t, o); !slices.Equal(got, want) {
		t.Errorf("breadcrumbs_ties %v, want %v", got, want)
	}
	c := writeVec(t, dir, "c", []float32{-9, 1, -2, -0.5, 3, -4, -0.1, 6, -0.2, -5})
	o = opts("breadcrumbs_ties", a, c) // c = −a: every kept pair cancels in the sum, + wins
	o.Base = base
	o.Set("density", 0.4)
	o.Set("gamma", 0.2)
	// a keeps (0,0,2,0,-3,4,0,0,0,5), c keeps (0,0,-2,0,3,-4,0,0,0,-5): sums 0 → +.
	want = []float32{0, 0, 2, 0, 3, 4, 0, 0, 0, 5}
	if got := mergeVec(t, o); !slices.Equal(got, want) {
		t.Errorf("breadcrumbs_ties opposite %v, want %v", got, want)
	}
}

// TestDARERescaleOff: with rescale false the kept task-vector entries are
// not divided by the density.
func TestDARERescaleOff(t *testing.T) {
	dir := t.TempDir()
	n := 2048
	bv, av := make([]float32, n), make([]float32, n)
	for i := range av {
		av[i] = float32(i%9) + 1
	}
	base, a := writeVec(t, dir, "base", bv), writeVec(t, dir, "a", av)
	o := opts("dare_linear", a)
	o.Base, o.Seed = base, 3
	o.Set("density", 0.5)
	o.Set("rescale", 0)
	got := mergeVec(t, o)
	key := fnvKey("w")
	for i := range got {
		want := float32(0)
		if mix(3, 0, key, uint64(i)) < uint64(0.5*(1<<64)) {
			want = av[i]
		}
		if got[i] != want {
			t.Fatalf("[%d] = %v, want %v", i, got[i], want)
		}
	}
}
