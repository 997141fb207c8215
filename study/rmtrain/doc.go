// Package rmtrain trains the study's reward models as WARM does: a linear
// probe fits one shared scalar head on the shared init's frozen features,
// then M members are fine-tuned from it with the Bradley-Terry loss, each
// with its own learning rate, dropout, data order and Baklava body (a
// balanced design, plan.go), so their weights can be averaged. Runs are
// resumable after kill -9 (member checkpoints are staged and swapped in
// atomically), and a run directory is read back with ReadSummary and
// MemberDirs.
package rmtrain
