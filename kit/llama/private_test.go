package llama

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/warm-rm/warm/kit/safetensors"
)

// copyFixture copies a fixture's files (real copies: the tests truncate
// and poison them) into a temporary directory.
func copyFixture(t *testing.T, fixture string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join("testdata", fixture, name))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A private load gives bit-for-bit the mapped model's rewards and
// log-probs, holds BF16 as BF16 and F32 as F32 in its own memory, and keeps
// no file open.
func TestPrivateMatchesMapped(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			e := readExpected(t, dir)
			mapped, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer mapped.Close()
			priv, err := LoadWith(dir, Options{Private: true, Finite: true})
			if err != nil {
				t.Fatal(err)
			}
			defer priv.Close()
			if priv.ckpt != nil {
				t.Error("the private model keeps its checkpoint open")
			}
			pairs := [][2]*matrix{{&mapped.embed, &priv.embed}}
			for i := range mapped.layers {
				a, b := &mapped.layers[i], &priv.layers[i]
				pairs = append(pairs, [2]*matrix{&a.q, &b.q}, [2]*matrix{&a.up, &b.up}, [2]*matrix{&a.down, &b.down})
			}
			for i, p := range pairs {
				a, b := p[0], p[1]
				if (a.bf16 == nil) != (b.bf16 == nil) || (a.f32 == nil) != (b.f32 == nil) {
					t.Fatalf("matrix %d: dtype differs (mapped bf16 %v f32 %v, private bf16 %v f32 %v)", i, a.bf16 != nil, a.f32 != nil, b.bf16 != nil, b.f32 != nil)
				}
				if a.bf16 != nil && unsafe.SliceData(a.bf16) == unsafe.SliceData(b.bf16) ||
					a.f32 != nil && unsafe.SliceData(a.f32) == unsafe.SliceData(b.f32) {
					t.Fatalf("matrix %d: the private model aliases the mapping", i)
				}
			}
			if e.Rewards != nil {
				want, err := mapped.Rewards(e.Seqs)
				if err != nil {
					t.Fatal(err)
				}
				got, err := priv.Rewards(e.Seqs)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("reward %d: private %v, mapped %v", i, got[i], want[i])
					}
				}
			}
			if e.LogProbs != nil {
				want, err := mapped.TokenLogProbs(e.Seqs)
				if err != nil {
					t.Fatal(err)
				}
				got, err := priv.TokenLogProbs(e.Seqs)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					for j := range want[i] {
						if got[i][j] != want[i][j] {
							t.Fatalf("log-prob %d/%d: private %v, mapped %v", i, j, got[i][j], want[i][j])
						}
					}
				}
			}
		})
	}
}

// A private model does not care what happens to its file: truncated to
// 1000 bytes, then to nothing, after the load, it scores as before (a
// mapped model would die of SIGBUS on the first request).
func TestPrivateSurvivesTruncation(t *testing.T) {
	for _, fixture := range []string{"qwen3_rm_bf16", "qwen3_rm_f32"} {
		t.Run(fixture, func(t *testing.T) {
			e := readExpected(t, filepath.Join("testdata", fixture))
			dir := copyFixture(t, fixture)
			m, err := LoadWith(dir, Options{Private: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			want, err := m.Rewards(e.Seqs)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int64{1000, 0} {
				if err := os.Truncate(filepath.Join(dir, "model.safetensors"), size); err != nil {
					t.Fatal(err)
				}
				got, err := m.Rewards(e.Seqs)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("file truncated to %d: reward %d = %v, was %v", size, i, got[i], want[i])
					}
				}
			}
			// And a load of the truncated file is an error naming it.
			if _, err := LoadWith(dir, Options{Private: true}); err == nil || !strings.Contains(err.Error(), dir) {
				t.Errorf("loading the truncated file: %v, want an error naming it", err)
			}
		})
	}
}

// poison overwrites element idx of tensor name in dir's model.safetensors
// with a non-finite value in the tensor's dtype.
func poison(t *testing.T, dir, name string, idx int) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ti, _ := f.Info(name)
	off := f.DataOffset() + ti.Begin + int64(idx*ti.Dtype.Size())
	f.Close()
	var val []byte
	switch ti.Dtype {
	case safetensors.BF16:
		val = binary.LittleEndian.AppendUint16(nil, 0x7fc0) // NaN
	case safetensors.F32:
		val = binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.Inf(-1))))
	default:
		t.Fatalf("%s: dtype %s", name, ti.Dtype)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err == nil {
		_, err = fh.WriteAt(val, off)
		fh.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Options.Finite refuses a NaN or Inf weight anywhere, naming the tensor
// and element, in both modes; without it the model loads.
func TestFiniteOption(t *testing.T) {
	for _, tc := range []struct{ fixture, tensor string }{
		{"qwen3_rm_bf16", "model.layers.1.mlp.down_proj.weight"},
		{"qwen3_rm_f32", "model.embed_tokens.weight"},
		{"qwen2_rm_bf16", "model.layers.0.self_attn.q_proj.bias"},
		{"qwen3_rm_f32", "score.weight"},
	} {
		t.Run(tc.fixture+"/"+tc.tensor, func(t *testing.T) {
			dir := copyFixture(t, tc.fixture)
			poison(t, dir, tc.tensor, 3)
			for _, private := range []bool{false, true} {
				_, err := LoadWith(dir, Options{Private: private, Finite: true})
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q element 3", tc.tensor)) {
					t.Errorf("private %v: %v, want an error naming %s element 3", private, err, tc.tensor)
				}
				m, err := LoadWith(dir, Options{Private: private})
				if err != nil {
					t.Errorf("private %v without Finite: %v", private, err)
				} else {
					m.Close()
				}
			}
		})
	}
}

// A closed model refuses calls instead of reading released memory.
func TestClosedModel(t *testing.T) {
	for _, private := range []bool{false, true} {
		m, err := LoadWith("testdata/qwen3_rm_bf16", Options{Private: private})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Rewards([][]int{{1, 2}}); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := m.Rewards([][]int{{1, 2}}); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("private %v: Rewards after Close = %v, want a closed error", private, err)
		}
	}
}

// rssChildEnv names the model directory the child process of
// TestPrivatePeakRSS loads.
const rssChildEnv = "WARM_LLAMA_RSS_CHILD"

// TestPrivatePeakRSS: a private load of a ~157 MB BF16 Qwen3-shaped model
// (vocab 32768, hidden 1024, 4 layers, GQA 16/8, intermediate 2816) and
// a scored batch of 4 × 64 tokens peak (VmHWM of a fresh process, Go
// runtime included) at ≤ 1.3 × the weight file: the bytes are read
// straight into the model's slices, with no staging copy and no mapping.
func TestPrivatePeakRSS(t *testing.T) {
	if dir := os.Getenv(rssChildEnv); dir != "" {
		rssChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("writes a 157 MB model")
	}
	dir := t.TempDir()
	size := writeBigModel(t, dir)
	for _, private := range []bool{true, false} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPrivatePeakRSS$", "-test.v")
		cmd.Env = append(os.Environ(), rssChildEnv+"="+dir, "WARM_LLAMA_RSS_PRIVATE="+strconv.FormatBool(private))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var load, scored float64
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "VmHWM" {
				load, _ = strconv.ParseFloat(f[1], 64)
				scored, _ = strconv.ParseFloat(f[2], 64)
			}
		}
		if scored == 0 {
			t.Fatalf("child printed no VmHWM:\n%s", out)
		}
		mb := float64(size) / 1e6
		t.Logf("private %v: weights %.0f MB; peak RSS after load %.0f MB (%.2f×), after scoring %.0f MB (%.2f×)",
			private, mb, load/1e6, load/float64(size), scored/1e6, scored/float64(size))
		if private && scored > 1.3*float64(size) {
			t.Errorf("private load peaks at %.2f × the weight file, want ≤ 1.3", scored/float64(size))
		}
	}
}

// writeBigModel writes the RSS test's model (small random BF16 values)
// and returns its file size.
func writeBigModel(t *testing.T, dir string) int64 {
	t.Helper()
	const vocab, h, layers, heads, kv, hd, inter = 32768, 1024, 4, 16, 8, 64, 2816
	cfg := fmt.Sprintf(`{"model_type":"qwen3","architectures":["Qwen3ForSequenceClassification"],"vocab_size":%d,
"hidden_size":%d,"num_hidden_layers":%d,"num_attention_heads":%d,"num_key_value_heads":%d,"head_dim":%d,
"intermediate_size":%d,"max_position_embeddings":4096,"rms_norm_eps":1e-6,"rope_theta":1e6,"hidden_act":"silu",
"tie_word_embeddings":false,"torch_dtype":"bfloat16","num_labels":1,"pad_token_id":0}`, vocab, h, layers, heads, kv, hd, inter)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	bf := func(name string, shape ...int) safetensors.TensorInfo {
		return safetensors.TensorInfo{Name: name, Dtype: safetensors.BF16, Shape: shape}
	}
	ts := []safetensors.TensorInfo{bf("model.embed_tokens.weight", vocab, h)}
	for i := range layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts, bf(p+"input_layernorm.weight", h), bf(p+"post_attention_layernorm.weight", h),
			bf(p+"self_attn.q_proj.weight", heads*hd, h), bf(p+"self_attn.k_proj.weight", kv*hd, h),
			bf(p+"self_attn.v_proj.weight", kv*hd, h), bf(p+"self_attn.o_proj.weight", h, heads*hd),
			bf(p+"self_attn.q_norm.weight", hd), bf(p+"self_attn.k_norm.weight", hd),
			bf(p+"mlp.gate_proj.weight", inter, h), bf(p+"mlp.up_proj.weight", inter, h), bf(p+"mlp.down_proj.weight", h, inter))
	}
	ts = append(ts, bf("model.norm.weight", h), bf("score.weight", 1, h))
	path := filepath.Join(dir, "model.safetensors")
	w, err := safetensors.Create(path, ts, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	w.NoSync = true
	// Values in ±0.03 (norm weights near 1): finite, and activations stay
	// in range through 4 layers.
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for _, ti := range ts {
		n := int(ti.NumElements())
		norm := strings.HasSuffix(ti.Name, "norm.weight")
		for n > 0 {
			k := min(n, len(buf)/2)
			for i := range k {
				v := float32(r.Float64()*0.06 - 0.03)
				if norm {
					v += 1
				}
				binary.LittleEndian.PutUint16(buf[2*i:], safetensors.BF16FromFloat32(v))
			}
			if _, err := w.Write(buf[:2*k]); err != nil {
				t.Fatal(err)
			}
			n -= k
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// rssChild is the child side: load, report VmHWM, score, report again.
func rssChild(t *testing.T, dir string) {
	private := os.Getenv("WARM_LLAMA_RSS_PRIVATE") == "true"
	m, err := LoadWith(dir, Options{Private: private, Finite: private})
	if err != nil {
		t.Fatal(err)
	}
	load := vmHWM(t)
	seqs := make([][]int, 4)
	for i := range seqs {
		seqs[i] = make([]int, 64)
		for j := range seqs[i] {
			seqs[i][j] = 1 + (i*977+j*131)%32000
		}
	}
	r, err := m.Rewards(seqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range r {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("reward %d = %v", i, v)
		}
	}
	fmt.Printf("VmHWM %d %d\n", load, vmHWM(t))
	m.Close()
}

// vmHWM is this process's peak resident set in bytes.
func vmHWM(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}
