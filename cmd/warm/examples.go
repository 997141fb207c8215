package main

// examples are the Examples section of each verb's --help (and of
// docs/cli.md, generated from --help). They use the flags as they are
// today: TestHelpExamplesParse checks that each one parses.
var examples = map[string][]string{
	"score": {
		"warm score --model rm/ --data pairs.jsonl                       # JSONL rows to stdout",
		"warm score --model rm/ --data pairs.parquet --format csv -o scores.csv",
		"warm score --model rm/ --data - --with-input < texts.jsonl      # rows on stdin, inputs copied",
	},
	"merge": {
		"warm merge -o warm-rm rm1/ rm2/ rm3/                            # uniform weight average (WARM)",
		"warm merge --method slerp -t 0.3 -o out rm1/ rm2/",
		"warm merge --method ties --base sft/ --density 0.5 -o out rm1/ rm2/ rm3/",
		"warm merge --config merge.yml -o out                            # a mergekit YAML",
	},
	"serve": {
		"warm serve --model warm-rm/                                     # http://127.0.0.1:8080/v1/score",
		"warm serve --model warm-rm/ --members rm1/ rm2/ rm3/            # adds the members' std",
		"WARM_SERVE_TOKEN=secret warm serve --model warm-rm/ --addr 0.0.0.0:8080",
	},
	"eval": {
		"warm eval --data pairs/ rm1/ rm2/ rm3/                          # members, ENS and WA on DIR/{train,val,ood}.jsonl",
		"warm eval --val val.parquet --ood ood.jsonl rm1/ rm2/           # your own files (JSONL or Parquet, TRL rows)",
		"warm eval --data runs/data --members runs/rm --soup -o runs/eval",
		"warm eval --data runs/data --interpolate runs/rm/member-00 runs/rm/member-01",
		"warm eval --data runs/data --ladder runs/rm -o runs/eval",
		"warm eval --policies runs/rl-warm6/final runs/rl-single/final   # same as warm duel",
	},
	"pretrain": {
		"warm pretrain --preset tiny --sample -o /tmp/pt                 # no setup needed",
		"warm pretrain --preset quick --corpus data -o runs/pretrain",
	},
	"data": {
		"warm data --preset tiny --sample --policy /tmp/pt/final -o /tmp/data",
		"warm data --preset quick --corpus data --policy runs/pretrain/final -o runs/data --parquet",
	},
	"train": {
		"warm train --preset quick --pretrain runs/pretrain --data runs/data -o runs/rm",
		"warm train --init sft/ --train pairs.parquet --val val.jsonl --num-members 4 -o rms/",
		"warm train --data runs/data -o runs/rm --member 3                # one member as its own job",
	},
	"bon": {
		"warm bon --policy runs/pretrain/final --data runs/data --members runs/rm -o runs/bon",
		"warm bon --policy sft/ --prompts prompts.jsonl --rm single=rm1/ --rm warm=wa:rm1/,rm2/,rm3/ -o bon/",
	},
	"rl": {
		"warm rl --policy runs/pretrain/final --data runs/data --members runs/rm --reward warm6 -o runs/rl-warm6",
		"warm rl --policy sft/ --prompts prompts.jsonl --rm warm=warm-rm/ -o rl-warm/",
		"warm rl --plot runs/rl-single runs/rl-warm6 --names single,warm6 -o runs/rl-plots",
	},
	"duel": {
		"warm duel runs/rl-warm6/final runs/rl-single/final --data runs/data --split ood",
		"warm duel a/ b/ --prompts prompts.jsonl --num-prompts 100 -o duel.json",
	},
	"completion": {
		"warm completion bash > ~/.local/share/bash-completion/completions/warm",
		"warm completion bash > /etc/bash_completion.d/warm              # every user (as root)",
	},
	"repro": {
		"warm repro --preset tiny --sample                               # minutes, no setup",
		"warm repro --preset quick                                       # after scripts/setup",
		"warm repro --preset quick --from rl                             # rerun from a stage on",
	},
}
