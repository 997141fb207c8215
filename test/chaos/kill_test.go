//go:build chaos

package chaos

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
)

func init() { reloadRounds = 200 }

// killVerbs are the resumable commands under SIGKILL. Add a verb here to
// put it under the same check. Inputs come from the shared tiny study; the
// settings make each run last long enough for kills to land mid-step and
// mid-save (checkpoints every few steps).
func killVerbs(b string) []verb {
	rm := filepath.Join(b, "corrupt", "rm") // tiny runs one label setting, corrupt, under OUT/corrupt/
	return []verb{
		{"merge", func(w string) []string {
			// --force: a kill after the output was committed leaves a
			// complete output, and rerunning the same command must work.
			return []string{"merge", "--method", "linear", "--quiet", "--force", "-o", filepath.Join(w, "warm-m3"),
				filepath.Join(rm, "member-00"), filepath.Join(rm, "member-01"), filepath.Join(rm, "member-02")}
		}},
		{"pretrain", func(w string) []string {
			return []string{"pretrain", "--preset", "tiny", "--sample", "--out", filepath.Join(w, "pretrain")}
		}},
		{"train", func(w string) []string {
			return []string{"train", "--preset", "tiny", "--pretrain", filepath.Join(b, "pretrain"), "--data", filepath.Join(b, "data"),
				"--epochs", "6", "--ckpt-every", "4", "--out", filepath.Join(w, "rm")}
		}},
		{"rl", func(w string) []string {
			return []string{"rl", "--preset", "tiny", "--policy", filepath.Join(b, "pretrain", "final"), "--data", filepath.Join(b, "data"),
				"--members", rm, "--reward", "warm3", "--steps", "30", "--ckpt-every", "5", "--out", filepath.Join(w, "rl")}
		}},
		{"repro", func(w string) []string {
			return []string{"repro", "--preset", "tiny", "--sample", "--out", filepath.Join(w, "run")}
		}},
	}
}

// TestKillResume: for each verb, WARM_CHAOS_TRIALS trials (default 3) of
// WARM_CHAOS_KILLS SIGKILLs (default 2) at random points, then a rerun that
// must finish with outputs byte-identical to an uninterrupted run (timing
// fields aside) and no stale temporary files. Failures are reported per
// verb; the test fails if any verb fails.
func TestKillResume(t *testing.T) {
	b := base(t)
	trials, kills := envInt("WARM_CHAOS_TRIALS", 3), envInt("WARM_CHAOS_KILLS", 2)
	r := rand.New(rand.NewPCG(uint64(envInt("WARM_CHAOS_SEED", 14)), 0))
	only := map[string]bool{}
	for _, v := range splitEnv("WARM_CHAOS_VERBS") {
		only[v] = true
	}
	for _, v := range killVerbs(b) {
		if len(only) > 0 && !only[v.name] {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			res := killResume(t, v, trials, kills, r)
			t.Logf("FIGURES kill-resume %s: %d kills survived over %d trials, %d/%d reruns byte-identical with no stale temp files",
				v.name, res.kills, res.trials, res.identical, res.trials)
			for _, p := range res.problems {
				t.Errorf("%s: %s", v.name, p)
			}
		})
	}
}
