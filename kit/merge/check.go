package merge

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/warm-rm/warm/kit/safetensors"
)

// archKeys are the config.json fields that fix the tensor layout and the
// maths; two checkpoints that differ in any of them cannot be averaged.
// Bookkeeping fields (_name_or_path, transformers_version, torch_dtype,
// id2label, ...) may differ.
var archKeys = []string{
	"model_type", "architectures",
	"vocab_size", "n_embd", "n_layer", "n_head", "n_positions", "n_ctx", "n_inner",
	"hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
	"intermediate_size", "max_position_embeddings", "head_dim",
	"activation_function", "hidden_act", "layer_norm_epsilon", "rms_norm_eps",
	"scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn",
	"tie_word_embeddings", "num_labels", "rope_theta", "rope_scaling",
}

// configOf returns the config.json next to a checkpoint (nil when the
// checkpoint is a bare file or has none).
func configOf(path string) (map[string]any, string, error) {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return nil, "", nil
	}
	p := filepath.Join(path, "config.json")
	raw, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, p, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, p, fmt.Errorf("%s: %v", p, err)
	}
	// num_labels is implied by id2label in HF configs.
	if _, ok := m["num_labels"]; !ok {
		if l, ok := m["id2label"].(map[string]any); ok {
			m["num_labels"] = float64(len(l))
		}
	}
	return m, p, nil
}

// checkConfigs compares the architecture fields of all configs present.
func checkConfigs(paths []string) error {
	var ref map[string]any
	var refPath string
	for _, p := range paths {
		c, cp, err := configOf(p)
		if err != nil {
			return err
		}
		if c == nil {
			continue
		}
		if ref == nil {
			ref, refPath = c, cp
			continue
		}
		for _, k := range archKeys {
			a, inA := ref[k]
			b, inB := c[k]
			if inA != inB || !reflect.DeepEqual(a, b) {
				return fmt.Errorf("incompatible configs: %q is %s in %s but %s in %s", k, show(a, inA), refPath, show(b, inB), cp)
			}
		}
	}
	return nil
}

func show(v any, ok bool) string {
	if !ok {
		return "absent"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// isBuffer reports whether name is one of the non-parameter buffers older
// HF GPT-2 checkpoints carry (the causal mask and its fill value).
func isBuffer(name string) bool {
	return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias") ||
		name == "attn.bias" || name == "attn.masked_bias"
}

// planTensors returns the output tensors in the first checkpoint's data
// order, after checking every input has the same names and shapes. GPT-2's
// attn.bias/attn.masked_bias buffers are merged like any tensor when all
// inputs have them and dropped when only some do.
func planTensors(cps []*safetensors.Checkpoint) ([]safetensors.TensorInfo, []string, error) {
	first := cps[0]
	var order []safetensors.TensorInfo
	for _, f := range first.Shards() {
		order = append(order, f.Tensors()...)
	}
	var dropped []string
	keep := order[:0]
	for _, t := range order {
		all := true
		for _, c := range cps[1:] {
			if _, ok := c.Info(t.Name); !ok {
				all = false
			}
		}
		if !all && isBuffer(t.Name) {
			dropped = append(dropped, t.Name)
			continue
		}
		keep = append(keep, t)
	}
	order = keep
	inOrder := map[string]bool{}
	for _, t := range order {
		inOrder[t.Name] = true
	}
	for _, c := range cps[1:] {
		// Name the first (sorted) mismatching tensor, with both files.
		var missing []string
		for _, t := range order {
			if _, ok := c.Info(t.Name); !ok {
				missing = append(missing, t.Name)
			}
		}
		var extra []string
		for _, n := range c.Names() {
			if !inOrder[n] && !isBuffer(n) {
				extra = append(extra, n)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 && (len(extra) == 0 || missing[0] < extra[0]) {
			return nil, nil, fmt.Errorf("tensor %q is in %s but not in %s", missing[0], first.FileOf(missing[0]).Path(), c.Path())
		}
		if len(extra) > 0 {
			return nil, nil, fmt.Errorf("tensor %q is in %s but not in %s", extra[0], c.FileOf(extra[0]).Path(), first.Path())
		}
		for _, t := range order {
			u, _ := c.Info(t.Name)
			if !reflect.DeepEqual(t.Shape, u.Shape) && !(len(t.Shape) == 0 && len(u.Shape) == 0) {
				return nil, nil, fmt.Errorf("tensor %q: shape %v in %s but %v in %s", t.Name, t.Shape, first.FileOf(t.Name).Path(), u.Shape, c.FileOf(t.Name).Path())
			}
			if t.Dtype.IsFloat() != u.Dtype.IsFloat() || !t.Dtype.IsFloat() && t.Dtype != u.Dtype {
				return nil, nil, fmt.Errorf("tensor %q: dtype %s in %s but %s in %s", t.Name, t.Dtype, first.FileOf(t.Name).Path(), u.Dtype, c.FileOf(t.Name).Path())
			}
		}
	}
	sort.Strings(dropped)
	return order, dropped, nil
}
