package atomicfile

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFileReplacesAndHonoursUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	if err := WriteFile(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(p, map[string]int{"x": 1}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "{\n  \"x\": 1\n}\n" {
		t.Fatalf("content %q", b)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("left %d entries, want 1", len(ents))
	}
}

func TestWriteErrorKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("boom")
	})
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error %v should name the file and the cause", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "old" {
		t.Fatalf("content %q, want old", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("stage left behind: %d entries", len(ents))
	}
}

func TestDirCommitReplaceAndRefuse(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "out")
	// A user's own directory named like a backup must survive.
	os.Mkdir(dst+".old", 0o755)
	os.WriteFile(filepath.Join(dst+".old", "keep"), []byte("mine"), 0o644)

	for i, want := range []string{"v1", "v2"} {
		d, err := NewDir(dst)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d.Path, "f"), []byte(want), 0o644)
		if err := d.Commit(i > 0); err != nil {
			t.Fatal(err)
		}
		d.Abort() // no-op after commit
		b, _ := os.ReadFile(filepath.Join(dst, "f"))
		if string(b) != want {
			t.Fatalf("got %q want %q", b, want)
		}
	}
	d, _ := NewDir(dst)
	os.WriteFile(filepath.Join(d.Path, "f"), []byte("v3"), 0o644)
	if err := d.Commit(false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("commit without replace over an existing dir: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dst, "f"))
	if string(b) != "v2" {
		t.Fatalf("refused commit changed content to %q", b)
	}
	if b, err := os.ReadFile(filepath.Join(dst+".old", "keep")); err != nil || string(b) != "mine" {
		t.Fatalf("user's OUT.old was touched: %v", err)
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("entries %v, want out and out.old only", names)
	}
}

func TestRemoveStaleOnlyDeadWriters(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "model")
	// A pid that has exited: run a short process and take its pid.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	dead := cmd.Process.Pid
	deadStage := filepath.Join(root, ".model.tmp-"+strconv.Itoa(dead)+"-deadbeef")
	liveStage := filepath.Join(root, ".model.tmp-"+strconv.Itoa(os.Getpid())+"-cafef00d")
	other := filepath.Join(root, ".other.tmp-"+strconv.Itoa(dead)+"-00000000")
	for _, p := range []string{deadStage, liveStage, other} {
		os.Mkdir(p, 0o755)
	}
	RemoveStale(dst)
	if _, err := os.Stat(deadStage); !os.IsNotExist(err) {
		t.Fatal("dead writer's stage kept")
	}
	for _, p := range []string{liveStage, other} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed", p)
		}
	}
}

func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.safetensors")
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("streamed"))
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("destination visible before Commit")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // no-op after Commit
	if b, _ := os.ReadFile(p); string(b) != "streamed" {
		t.Fatalf("content %q", b)
	}
	g, _ := Create(p)
	g.Write([]byte("discarded"))
	g.Abort()
	if b, _ := os.ReadFile(p); string(b) != "streamed" {
		t.Fatalf("abort changed content to %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d entries left, want 1", len(ents))
	}
}

// An error from the stage's file names the destination, not the hidden
// temporary file.
func TestErrorNamesDestinationNotStage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "report.html")
	err := Write(p, func(w io.Writer) error {
		return &os.PathError{Op: "write", Path: stageName(p), Err: syscall.ENOSPC}
	})
	if err == nil || err.Error() != p+": write: no space left on device" || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error %q", err)
	}
}
