package rmtrain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/safetensors"
)

// mkModelDir makes a directory that passes for a model (a config.json).
func mkModelDir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMemberDirs(t *testing.T) {
	t.Run("ranked by summary", func(t *testing.T) {
		run := t.TempDir()
		for _, n := range []string{"member-00", "member-01", "member-02", "ladder-lr"} {
			mkModelDir(t, filepath.Join(run, n))
		}
		sum := Summary{Members: []*MemberResult{
			{Member: Member{Name: "member-00"}, ValAcc: 0.6},
			{Member: Member{Name: "member-01"}, ValAcc: 0.8},
			{Member: Member{Name: "member-02"}, ValAcc: 0.6},
			{Member: Member{Name: "ladder-lr"}, ValAcc: 0.9},
		}}
		if err := atomicfile.WriteJSON(filepath.Join(run, "summary.json"), sum); err != nil {
			t.Fatal(err)
		}
		got, err := MemberDirs(run)
		want := []string{filepath.Join(run, "member-01"), filepath.Join(run, "member-00"), filepath.Join(run, "member-02")}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("%v %v, want %v (best first, ties in plan order, ladder left out)", got, err, want)
		}
	})
	t.Run("by name without summary", func(t *testing.T) {
		run := t.TempDir()
		mkModelDir(t, filepath.Join(run, "member-01"))
		mkModelDir(t, filepath.Join(run, "member-00"))
		os.MkdirAll(filepath.Join(run, "member-02"), 0o755) // no config.json: unfinished
		got, err := MemberDirs(run)
		if err != nil || !slices.Equal(got, []string{filepath.Join(run, "member-00"), filepath.Join(run, "member-01")}) {
			t.Fatalf("%v %v", got, err)
		}
	})
	t.Run("summary names a missing member", func(t *testing.T) {
		run := t.TempDir()
		atomicfile.WriteJSON(filepath.Join(run, "summary.json"), Summary{Members: []*MemberResult{{Member: Member{Name: "member-00"}}}})
		if _, err := MemberDirs(run); err == nil || !strings.Contains(err.Error(), "not a model directory") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("empty run", func(t *testing.T) {
		if _, err := MemberDirs(t.TempDir()); err == nil || !strings.Contains(err.Error(), "run warm train first") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestResolveInits(t *testing.T) {
	pre := t.TempDir()
	atomicfile.WriteJSON(filepath.Join(pre, "summary.json"), map[string]any{"checkpoints": []string{"ckpt-10", "final"}})
	for _, c := range []struct {
		name, init string
		baklava    []string
		wantInit   string
		wantBodies []string
	}{
		{"from the run", "", nil, filepath.Join(pre, "final"), []string{filepath.Join(pre, "ckpt-10"), filepath.Join(pre, "final")}},
		{"init given", "/x", nil, "/x", []string{filepath.Join(pre, "ckpt-10"), filepath.Join(pre, "final")}},
		{"both given", "/x", []string{"/a", "/b"}, "/x", []string{"/a", "/b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			init, bodies, err := ResolveInits(pre, c.init, c.baklava)
			if err != nil || init != c.wantInit || !slices.Equal(bodies, c.wantBodies) {
				t.Fatalf("%q %v %v, want %q %v", init, bodies, err, c.wantInit, c.wantBodies)
			}
		})
	}
	if _, _, err := ResolveInits(t.TempDir(), "", nil); err == nil || !strings.Contains(err.Error(), "no --init given") {
		t.Fatalf("no run: %v", err)
	}
}

func TestParseDiversityAndDtype(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Diversity
		bad  bool
	}{
		{"none", Diversity{}, false},
		{"order, lr", Diversity{Order: true, LR: true}, false},
		{"order,lr,dropout,baklava", Diversity{Order: true, LR: true, Dropout: true, Baklava: true}, false},
		{"order,colour", Diversity{}, true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseDiversity(c.in)
			if (err != nil) != c.bad || (!c.bad && got != c.want) {
				t.Fatalf("%+v %v", got, err)
			}
		})
	}
	for in, want := range map[string]safetensors.Dtype{"f32": safetensors.F32, "BF16": safetensors.BF16} {
		if got, err := ParseDtype(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := ParseDtype("f16"); err == nil {
		t.Error("f16 accepted for saving")
	}
}
