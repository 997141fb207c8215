package merge

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDocsYAML runs every yaml block of docs/merge.md on synthetic
// Llama-shaped models at the paths it names; a block whose first line is
// "# error: TEXT" must fail with TEXT.
func TestDocsYAML(t *testing.T) {
	raw, err := os.ReadFile("../../docs/merge.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(raw), "```yaml\n")[1:] {
		end := strings.Index(part, "```")
		if end < 0 {
			t.Fatal("unterminated yaml block")
		}
		blocks = append(blocks, part[:end])
	}
	if len(blocks) < 8 {
		t.Fatalf("%d yaml blocks in docs/merge.md", len(blocks))
	}
	root := t.TempDir()
	t.Chdir(root)
	made := map[string]bool{}
	for i, block := range blocks {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			for _, p := range docPaths(t, block) {
				if !made[p] {
					llamaDir(t, p, uint64(len(made)+1))
					made[p] = true
				}
			}
			cfg := filepath.Join(root, fmt.Sprintf("doc%d.yml", i))
			os.WriteFile(cfg, []byte(block), 0o644)
			_, err := Run(fmt.Sprintf("out%d", i), cfg, Overrides{}, Defaults())
			if want, ok := strings.CutPrefix(strings.SplitN(block, "\n", 2)[0], "# error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("block %d: got %v, want an error with %q:\n%s", i, err, want, block)
				}
				return
			}
			if err != nil {
				t.Errorf("block %d: %v\n%s", i, err, block)
			}
		})
	}
}

// docPaths lists the model paths a config names.
func docPaths(t *testing.T, block string) []string {
	var c struct {
		BaseModel string `yaml:"base_model"`
		Models    []struct {
			Model string `yaml:"model"`
		} `yaml:"models"`
		Slices []struct {
			Sources []struct {
				Model string `yaml:"model"`
			} `yaml:"sources"`
		} `yaml:"slices"`
	}
	if err := yaml.Unmarshal([]byte(block), &c); err != nil {
		t.Fatalf("%v:\n%s", err, block)
	}
	var out []string
	if c.BaseModel != "" {
		out = append(out, c.BaseModel)
	}
	for _, m := range c.Models {
		out = append(out, m.Model)
	}
	for _, s := range c.Slices {
		for _, m := range s.Sources {
			out = append(out, m.Model)
		}
	}
	return out
}
