package llama

import "github.com/warm-rm/warm/kit/model"

// A loaded Llama/Qwen model is a reward model and a causal LM in the sense
// the reward and policy code depend on.
var (
	_ model.RewardModel = (*Model)(nil)
	_ model.CausalLM    = (*Model)(nil)
)
