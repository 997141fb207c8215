//go:build unix

package merge

import (
	"io"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// benchModels writes k single-tensor F32 files of n elements.
func benchModels(b *testing.B, k, n int) []string {
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(1, 1))
	var paths []string
	for i := 0; i < k; i++ {
		v := make([]float32, n)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		p := filepath.Join(dir, "m"+string(rune('0'+i))+".safetensors")
		if err := safetensors.WriteFloat32(p, []safetensors.Tensor{{Name: "w", Shape: []int{n}, Data: v}}, safetensors.F32, nil); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// benchKernel runs the streaming tensor loop on mapped, page-cached inputs
// and discards the output: the merge's compute and memory traffic without
// the file system. Bytes/s counts bytes read + written.
func benchKernel(b *testing.B, method string, accum string, outDt safetensors.Dtype, workers int) {
	const k, n = 6, 8 << 20
	paths := benchModels(b, k, n)
	o := Defaults()
	o.Method, o.Models, o.Accum, o.Workers = method, paths, accum, workers
	if method == "ties" || method == "dare_linear" {
		o.Set("density", 0.5) // the figures in docs/merge.md are at density 0.5
	}
	if method != "linear" {
		o.Models, o.Base = paths[1:], paths[0]
	}
	var cps []*safetensors.Checkpoint
	for _, p := range append(append([]string(nil), o.Models...), o.Base) {
		if p == "" {
			continue
		}
		c, err := safetensors.OpenCheckpoint(p)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cps = append(cps, c)
	}
	if err := o.Validate(); err != nil {
		b.Fatal(err)
	}
	meth, _ := lookupMethod(o.Method)
	m := newMerger(&o, meth, cps, 0, 0, 1)
	info, _ := cps[0].Info("w")
	b.SetBytes(int64(len(cps))*4*n + int64(outDt.Size())*n)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := m.tensor(info, outDt, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time is what the machine's other users cannot steal: on a loaded
	// machine it is the better measure of the kernel's cost. GB/cpu-s is
	// bytes per second of one core.
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)*float64(int64(len(cps))*4*n+int64(outDt.Size())*n)/cpu/1e9, "GB/cpu-s")
}

func cpuTime() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func BenchmarkLinearF64(b *testing.B)          { benchKernel(b, "linear", "f64", safetensors.F32, 2) }
func BenchmarkLinearF32(b *testing.B)          { benchKernel(b, "linear", "f32", safetensors.F32, 2) }
func BenchmarkLinearF64OneWorker(b *testing.B) { benchKernel(b, "linear", "f64", safetensors.F32, 1) }
func BenchmarkLinearBF16Out(b *testing.B)      { benchKernel(b, "linear", "f64", safetensors.BF16, 2) }
func BenchmarkTaskArithmetic(b *testing.B) {
	benchKernel(b, "task_arithmetic", "f64", safetensors.F32, 2)
}
func BenchmarkTIES(b *testing.B) { benchKernel(b, "ties", "f64", safetensors.F32, 2) }
func BenchmarkDARE(b *testing.B) { benchKernel(b, "dare_linear", "f64", safetensors.F32, 2) }
