// Command gen writes the merge benchmark's input checkpoints: K HF-style
// directories, each one model.safetensors of ~424 MB F32 in 33 tensors of
// GPT-2-like shapes (d=1024, vocab 40000, 5 layers), with config.json.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/kit/safetensors"
)

func main() {
	dir := flag.String("dir", "work", "output directory")
	k := flag.Int("k", 6, "number of checkpoints")
	d := flag.Int("d", 1024, "model width")
	vocab := flag.Int("vocab", 40000, "vocabulary size")
	layers := flag.Int("layers", 5, "transformer blocks")
	flag.Parse()
	infos := []safetensors.TensorInfo{
		{Name: "transformer.wte.weight", Shape: []int{*vocab, *d}},
		{Name: "transformer.wpe.weight", Shape: []int{2048, *d}},
	}
	for l := 0; l < *layers; l++ {
		h := fmt.Sprintf("transformer.h.%d.", l)
		infos = append(infos,
			safetensors.TensorInfo{Name: h + "ln_1.weight", Shape: []int{*d}},
			safetensors.TensorInfo{Name: h + "attn.c_attn.weight", Shape: []int{*d, 3 * *d}},
			safetensors.TensorInfo{Name: h + "attn.c_attn.bias", Shape: []int{3 * *d}},
			safetensors.TensorInfo{Name: h + "attn.c_proj.weight", Shape: []int{*d, *d}},
			safetensors.TensorInfo{Name: h + "mlp.c_fc.weight", Shape: []int{*d, 4 * *d}},
			safetensors.TensorInfo{Name: h + "mlp.c_proj.weight", Shape: []int{4 * *d, *d}})
	}
	infos = append(infos, safetensors.TensorInfo{Name: "transformer.ln_f.weight", Shape: []int{*d}})
	for i := range infos {
		infos[i].Dtype = safetensors.F32
	}
	cfg := fmt.Sprintf(`{"architectures":["GPT2ForSequenceClassification"],"model_type":"gpt2","n_embd":%d,"n_head":16,"n_layer":%d,"n_positions":2048,"vocab_size":%d,"num_labels":1}`, *d, *layers, *vocab)
	buf := make([]byte, 4<<20)
	for m := 0; m < *k; m++ {
		start := time.Now()
		md := filepath.Join(*dir, fmt.Sprintf("rm%d", m))
		if err := os.MkdirAll(md, 0o755); err != nil {
			fatal(err)
		}
		w, err := safetensors.Create(filepath.Join(md, "model.safetensors"), infos, map[string]string{"format": "pt"})
		if err != nil {
			fatal(err)
		}
		w.NoSync = true
		// xorshift64* normals-ish: cheap, deterministic per model.
		s := uint64(m+1) * 0x9e3779b97f4a7c15
		for rem := w.Total(); rem > 0; {
			n := min(int64(len(buf)), rem)
			for i := int64(0); i < n; i += 4 {
				s ^= s >> 12
				s ^= s << 25
				s ^= s >> 27
				u := float64((s*0x2545f4914f6cdd1d)>>11) / (1 << 53)
				binary.LittleEndian.PutUint32(buf[i:], math.Float32bits(float32((u-0.5)*0.04)))
			}
			if _, err := w.Write(buf[:n]); err != nil {
				fatal(err)
			}
			rem -= n
		}
		if err := w.Close(); err != nil {
			fatal(err)
		}
		os.WriteFile(filepath.Join(md, "config.json"), []byte(cfg), 0o644)
		fmt.Fprintf(os.Stderr, "gen: %s (%.1f MB) in %.1fs\n", md, float64(w.Total())/1e6, time.Since(start).Seconds())
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
