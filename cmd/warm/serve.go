package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/serve"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "serve a reward model over HTTP for RL loops (/v1/score, OpenRLHF /get_reward)",
		run: func(args []string) error {
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			return runServe(args, sigs, nil)
		},
	})
}

// listFlag collects a repeatable, comma-separable flag (--members a,b --members c).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// runServe is the verb with its signals and readiness passed in, so tests
// can drive it. ready, if not nil, gets the address actually listened on.
func runServe(args []string, sigs <-chan os.Signal, ready func(addr string)) error {
	fs := newFlagSet("serve", "--model DIR [--members DIR ...] [--addr 127.0.0.1:8080] [--token T | --insecure]")
	o := serveOptions{}
	o.bind(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		if len(o.Members) == 0 {
			return fmt.Errorf("%w: unexpected arguments %q (member directories go after --members)", errUsage, pos)
		}
		o.Members = append(o.Members, pos...)
	}
	if o.Model == "" {
		return fmt.Errorf("%w: --model DIR is required", errUsage)
	}
	return o.run(sigs, ready)
}

// serveOptions is what `warm serve` is asked to do: the server's limits
// (serve.Config, bound straight to the flags) plus where to listen.
type serveOptions struct {
	Model    string
	Members  listFlag
	Addr     string
	Insecure bool
	Grace    time.Duration
	Cfg      serve.Config
}

func (o *serveOptions) bind(fs *flag.FlagSet) {
	c := &o.Cfg
	fs.StringVar(&o.Model, "model", "", "reward model directory (HF GPT-2, Llama 3.x, Qwen2/2.5/3 or Mistral *ForSequenceClassification: config.json, safetensors, tokenizer files); its rewards are returned")
	fs.Var(&o.Members, "members", "ensemble member directories (repeat or comma-separate; trailing arguments count too); adds \"std\", their disagreement, to every answer")
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	fs.StringVar(&c.Token, "token", "", "bearer token required on every endpoint but /healthz (default $WARM_SERVE_TOKEN)")
	fs.BoolVar(&o.Insecure, "insecure", false, "allow a non-loopback --addr without a token")
	fs.IntVar(&c.MaxBatch, "max-batch", 64, "items per forward pass")
	fs.IntVar(&c.MaxBatchTokens, "max-batch-tokens", 2048, "tokens per forward pass (bigger passes gained no throughput on 2 cores, only latency; see docs/serve.md)")
	fs.DurationVar(&c.MaxWait, "max-wait", time.Millisecond, "longest a batch waits for more requests")
	fs.IntVar(&c.QueueSize, "queue", 256, "requests waiting for a batch before answering 429")
	fs.IntVar(&c.MaxItems, "max-items", 256, "items per request")
	fs.IntVar(&c.MaxTokens, "max-tokens", 0, "tokens per item (default and ceiling: the model's n_positions)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body", 8<<20, "request body bytes")
	fs.DurationVar(&c.RequestTimeout, "timeout", 30*time.Second, "per-request time limit: body, tokenizing, queueing and scoring")
	fs.IntVar(&c.MaxItemBytes, "max-item-bytes", 0, "bytes per item, refused before tokenizing (default 32 × the token limit)")
	fs.IntVar(&c.MaxInFlight, "max-inflight", 4, "requests reading, decoding or tokenizing their body at once (bounds body memory; see docs/serve.md)")
	fs.IntVar(&c.MaxConns, "max-conns", 256, "open connections; more wait in the listen backlog")
	fs.DurationVar(&c.BodyTimeout, "body-timeout", 10*time.Second, "time to receive one request body; slower bodies get 408")
	fs.Int64Var(&c.PendingTokens, "pending-tokens", 1<<20, "tokens accepted but not yet answered before 429 (8 bytes each)")
	fs.DurationVar(&o.Grace, "grace", 30*time.Second, "on SIGINT/SIGTERM, how long in-flight requests may take to finish")
}

// run loads the models, starts the server and serves until a stop signal.
func (o *serveOptions) run(sigs <-chan os.Signal, ready func(addr string)) error {
	cfg := o.Cfg
	cfg.Token = cmp.Or(cfg.Token, os.Getenv("WARM_SERVE_TOKEN"))
	// Refuse an unsafe address before spending time loading models.
	if err := serve.CheckAddr(o.Addr, cfg.Token != "", o.Insecure); err != nil {
		return err
	}
	cfg.Load = func() (*serve.Backend, error) { return loadBackend(o.Model, o.Members) }
	b, err := cfg.Load()
	if err != nil {
		return err
	}
	// The same check a reload gets: a model with NaN weights, or one the
	// engine cannot run, does not start serving.
	if err := serve.Canary(b); err != nil {
		b.Close()
		return err
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = -1 // flag value 0 means "do not wait", not "default"
	}
	// One batch worker: model.Model reuses its activation buffers across
	// calls (not safe concurrently) and already spreads a batch over every core.
	cfg.Workers = 1
	s, err := serve.New(cfg, b)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		s.Close()
		return err
	}
	auth := "no auth"
	if cfg.Token != "" {
		auth = "bearer token required"
	}
	fmt.Fprintf(os.Stderr, "warm serve: listening on http://%s (%s; %d member(s); max batch %d, max %d tokens/item); SIGHUP reloads, SIGINT/SIGTERM stops\n",
		ln.Addr(), auth, len(b.Members), cfg.MaxBatch, b.MaxTokens)
	if ready != nil {
		ready(ln.Addr().String())
	}
	return serveUntilStopped(s, ln, sigs, o.Grace)
}

// serveUntilStopped serves on ln; SIGHUP reloads, any other signal shuts
// down gracefully within grace.
func serveUntilStopped(s *serve.Server, ln net.Listener, sigs <-chan os.Signal, grace time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	for {
		select {
		case err := <-served:
			s.Close()
			return err
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				go s.Reload() // logs its own outcome; requests keep flowing meanwhile
				continue
			}
			fmt.Fprintf(os.Stderr, "warm serve: %v: finishing in-flight requests (up to %s)\n", sig, grace)
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			err := s.Shutdown(ctx)
			cancel()
			if serr := <-served; err == nil {
				err = serr
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("shutdown: in-flight requests still running after %s", grace)
			}
			fmt.Fprintln(os.Stderr, "warm serve: stopped")
			return err
		}
	}
}

// serveLoad is how serve loads every model, at start and at each reload:
// weights in private memory (pread, never a mapping: a checkpoint
// truncated or rewritten in place while it loads, or afterwards while it
// serves, is an error or nothing, never SIGBUS) and no NaN/Inf weight.
// score and eval keep the default mapping: they own their inputs for the
// run, and mapped pages load lazily and are shared with the page cache.
var serveLoad = reward.LoadOptions{Private: true, Finite: true}

// loadBackend loads the tokenizer and main model from dir and the members.
// Everything is loaded before anything is returned, so a reload either
// yields a complete backend or an error that names the bad directory; on
// an error the models loaded so far are closed. The backend's Close
// releases them all (the server calls it once the backend is replaced and
// its last request answered).
func loadBackend(dir string, members []string) (_ *serve.Backend, err error) {
	start := time.Now()
	var loaded []model.RewardModel // main first, then members
	closeAll := func() error {
		var first error
		for _, m := range loaded {
			if cerr := reward.Close(m); cerr != nil && first == nil {
				first = cerr
			}
		}
		return first
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	main, tok, err := serveLoad.LoadWithTokenizer(dir)
	if err != nil {
		return nil, err
	}
	loaded = append(loaded, main)
	b := &serve.Backend{Tok: tok, Main: main, MaxTokens: main.MaxLen(), Name: dir, Close: closeAll}
	for _, md := range members {
		m, err := serveLoad.Load(md)
		if err != nil {
			return nil, err
		}
		loaded = append(loaded, m)
		// Members must read the main model's token ids: WARM members share
		// one pretrained model, hence one tokenizer and vocabulary.
		if v, w := reward.VocabSize(m), reward.VocabSize(main); v != w {
			return nil, fmt.Errorf("%s: vocab_size %d differs from the main model's %d (%s)", md, v, w, dir)
		}
		b.MaxTokens = min(b.MaxTokens, m.MaxLen())
		b.Members = append(b.Members, m)
	}
	if len(members) > 0 {
		b.Name = fmt.Sprintf("%s + %d members", dir, len(members))
		warnMembers(os.Stderr, members, loaded[1:])
	}
	params := ""
	if g, ok := main.(*model.Model); ok {
		params = fmt.Sprintf(" (%d params per model)", g.NumParams())
	}
	fmt.Fprintf(os.Stderr, "warm serve: loaded %s%s in %s\n", b.Name, params, time.Since(start).Round(time.Millisecond))
	return b, nil
}

// warnMembers says on stderr when --members cannot give a meaningful
// disagreement: one member (std is always 0), or two members that are the
// same directory or hold identical weights (compared after loading, which
// costs no extra read and equals comparing the weights' digests).
func warnMembers(w io.Writer, dirs []string, models []model.RewardModel) {
	if len(dirs) == 1 {
		fmt.Fprintf(w, "warm serve: warning: --members has one model (%s): its std is always 0; pass two or more members for an ensemble disagreement\n", dirs[0])
		return
	}
	canon := func(d string) string {
		if abs, err := filepath.Abs(d); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				return real
			}
			return abs
		}
		return filepath.Clean(d)
	}
	for i := range dirs {
		for j := range i {
			what := ""
			switch {
			case canon(dirs[i]) == canon(dirs[j]):
				what = "is the same directory as"
			case sameWeights(models[i], models[j]):
				what = "has weights identical to"
			default:
				continue
			}
			fmt.Fprintf(w, "warm serve: warning: member %s %s member %s: their disagreement is always 0, which shrinks std\n", dirs[i], what, dirs[j])
			break
		}
	}
}

// sameWeights reports whether two GPT-2 models hold identical weights
// (other families are not compared: false).
func sameWeights(a, b model.RewardModel) bool {
	ga, ok1 := a.(*model.Model)
	gb, ok2 := b.(*model.Model)
	return ok1 && ok2 && slices.Equal(ga.Weights(), gb.Weights())
}
