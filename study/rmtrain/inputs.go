package rmtrain

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/study/pretrain"
)

// ResolveInits finds the shared init and the Baklava bodies: explicit
// values win; otherwise the pretraining run's summary.json lists its
// checkpoints (the last is the final one).
func ResolveInits(pretrainDir, initDir string, baklava []string) (string, []string, error) {
	if initDir != "" && baklava != nil {
		return initDir, baklava, nil
	}
	var sum pretrain.Summary
	if err := runlog.ReadJSON(filepath.Join(pretrainDir, "summary.json"), &sum); err != nil {
		if initDir != "" {
			return initDir, baklava, nil
		}
		return "", nil, fmt.Errorf("no --init given and no pretraining run at %s: %w", pretrainDir, err)
	}
	for i, c := range sum.Checkpoints {
		if _, err := os.Stat(c); !filepath.IsAbs(c) && err != nil {
			sum.Checkpoints[i] = filepath.Join(pretrainDir, c)
		}
	}
	if initDir == "" {
		if len(sum.Checkpoints) == 0 {
			return "", nil, fmt.Errorf("%s/summary.json lists no checkpoints", pretrainDir)
		}
		initDir = sum.Checkpoints[len(sum.Checkpoints)-1]
	}
	if baklava == nil {
		baklava = sum.Checkpoints
	}
	return initDir, baklava, nil
}

// ParseDiversity reads a comma list of order, lr, dropout, baklava, or
// "none" (or "") for identical runs.
func ParseDiversity(s string) (Diversity, error) {
	var d Diversity
	if s == "none" || s == "" {
		return d, nil
	}
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "order":
			d.Order = true
		case "lr":
			d.LR = true
		case "dropout":
			d.Dropout = true
		case "baklava":
			d.Baklava = true
		default:
			return d, fmt.Errorf("--diversity: unknown source %q (want order, lr, dropout, baklava or none)", f)
		}
	}
	return d, nil
}

// ParseDtype reads the saved weights' dtype: f32 or bf16.
func ParseDtype(s string) (safetensors.Dtype, error) {
	switch s {
	case "f32", "F32":
		return safetensors.F32, nil
	case "bf16", "BF16":
		return safetensors.BF16, nil
	}
	return "", fmt.Errorf("--dtype %q: want f32 or bf16", s)
}
