package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warm-rm/warm/kit/reward"
)

// Config holds the server's batching, limits and security settings. Zero
// fields take the defaults noted.
type Config struct {
	MaxBatch       int           // items per forward pass (64)
	MaxBatchTokens int           // tokens per forward pass (2048; see docs/serve.md)
	MaxWait        time.Duration // longest a batch waits to fill (1ms); < 0: never wait
	Workers        int           // batches computed at once (1; the engine already uses every core)
	QueueSize      int           // requests waiting for a batch before 429 (256)
	MaxItems       int           // items per request (256)
	MaxTokens      int           // tokens per item (the backend's n_positions); must not exceed it
	MaxBodyBytes   int64         // request body size (8 MiB)
	RequestTimeout time.Duration // per request: body, tokenizing, queueing and scoring (30s)

	// Resource bounds (docs/serve.md derives the worst-case memory from them).
	MaxItemBytes  int           // bytes per item, checked before tokenizing (0: 32 × the token limit)
	MaxInFlight   int           // requests reading, decoding or tokenizing their body at once (4)
	MaxConns      int           // open connections; more wait in the listen backlog (256)
	BodyTimeout   time.Duration // reading one request body; slower bodies get 408 (10s)
	PendingTokens int64         // tokens accepted but not yet answered before 429 (1<<20)

	// Token, when set, requires "Authorization: Bearer <Token>" on every
	// endpoint but /healthz.
	Token string

	// Load builds a fresh backend for hot reload (SIGHUP, POST /admin/reload).
	// Nil disables reload.
	Load func() (*Backend, error)

	// Logf logs server events (reloads, model failures). Nil: log.Printf to stderr.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.MaxBatchTokens <= 0 {
		c.MaxBatchTokens = 2048
	}
	if c.MaxWait == 0 {
		c.MaxWait = time.Millisecond
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if c.MaxItems <= 0 {
		c.MaxItems = 256
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 8 << 20
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 4
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 256
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = 10 * time.Second
	}
	if c.PendingTokens <= 0 {
		c.PendingTokens = 1 << 20
	}
	if c.Logf == nil {
		l := log.New(os.Stderr, "warm serve: ", log.LstdFlags)
		c.Logf = l.Printf
	}
}

// Server is a reward-model HTTP server. Create it with New, then either
// Serve a listener or mount Handler in your own http.Server.
type Server struct {
	cfg       Config
	current   atomic.Pointer[lease] // the backend new requests get
	bt        *batcher
	m         *metrics
	handler   http.Handler
	tokenHash [32]byte
	reloadMu  sync.Mutex
	inflight  chan struct{} // a slot per request reading/decoding/tokenizing

	srvMu sync.Mutex
	srv   *http.Server
}

// lease is a backend shared by the requests scoring on it. refs counts one
// for being the server's current backend plus one per request holding it;
// when it drops to zero (replaced, and the last request answered) the
// backend is closed. Zero is final: a lease at zero is never taken again,
// so nothing scores on a closed backend.
type lease struct {
	b     *Backend
	refs  atomic.Int64
	owned atomic.Bool // the server's own hold, given up once (disown)
	s     *Server
}

// take adds a holder unless the lease has already reached zero.
func (l *lease) take() bool {
	for {
		n := l.refs.Load()
		if n <= 0 {
			return false
		}
		if l.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// drop removes a holder, closing the backend when it was the last.
func (l *lease) drop() {
	if l.refs.Add(-1) == 0 {
		l.s.m.backendsOpen.Add(-1)
		l.s.closeBackend(l.b)
	}
}

// disown gives up the server's hold (replaced, or shut down); only the
// first call counts, so a reload racing shutdown cannot drop a request's
// hold by mistake.
func (l *lease) disown() {
	if l.owned.Swap(false) {
		l.drop()
	}
}

func (s *Server) newLease(b *Backend) *lease {
	l := &lease{b: b, s: s}
	l.refs.Store(1)
	l.owned.Store(true)
	s.m.backendsOpen.Add(1)
	return l
}

// acquire takes the current backend for one request; the caller must drop
// it once the backend is no longer used for that request. Nil: the server
// has shut down.
func (s *Server) acquire() *lease {
	for {
		l := s.current.Load()
		if l.take() {
			return l
		}
		if s.current.Load() == l {
			return nil // retired by shutdown, nothing replaced it
		}
		// Replaced and drained between the Load and take: the new one.
	}
}

// closeBackend runs b.Close, logging a failure or a panic (it runs on
// request and batch goroutines, which must survive it).
func (s *Server) closeBackend(b *Backend) {
	if b == nil || b.Close == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logf("closing %s panicked: %v", b.Name, r)
		}
	}()
	if err := b.Close(); err != nil {
		s.cfg.Logf("closing %s: %v", b.Name, err)
	}
}

// retireCurrent drops the server's hold on its current backend (at
// shutdown, after the batch workers have answered every job).
func (s *Server) retireCurrent() { s.current.Load().disown() }

// ErrNoReload is returned by Reload when Config.Load is nil.
var ErrNoReload = errors.New("reload is not configured (no loader)")

// New checks b and cfg and starts the batch workers.
func New(cfg Config, b *Backend) (*Server, error) {
	cfg.setDefaults()
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxTokens > b.MaxTokens {
		return nil, fmt.Errorf("serve: max tokens per item %d exceeds the model's n_positions %d", cfg.MaxTokens, b.MaxTokens)
	}
	s := &Server{cfg: cfg, m: newMetrics(), inflight: make(chan struct{}, cfg.MaxInFlight)}
	if cfg.Token != "" {
		s.tokenHash = sha256.Sum256([]byte(cfg.Token))
	}
	s.current.Store(s.newLease(b))
	s.bt = newBatcher(cfg.QueueSize, cfg.MaxBatch, cfg.MaxBatchTokens, cfg.Workers, cfg.MaxWait, cfg.PendingTokens, s.m, cfg.Logf)
	s.handler = s.routes()
	return s, nil
}

// Backend returns the backend new requests are scored with. It is for
// inspection (name, members): a reload may close it at any time after.
func (s *Server) Backend() *Backend { return s.current.Load().b }

// Swap installs b for new requests. Requests already tokenized keep the
// backend they were tokenized with and finish on it; the replaced backend
// is closed (Backend.Close) once the last of them is answered.
func (s *Server) Swap(b *Backend) error {
	if err := b.Validate(); err != nil {
		return err
	}
	s.current.Swap(s.newLease(b)).disown()
	return nil
}

// Reload builds a new backend with Config.Load, checks it with Canary and
// swaps it in. The old backend keeps serving until the new one is fully
// loaded and checked; if anything fails, a panic in the loader included,
// the old one stays, the reason is logged and reloads_total{result="error"}
// counts it. Concurrent reloads run one after the other.
func (s *Server) Reload() error {
	if s.cfg.Load == nil {
		return ErrNoReload
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	start := time.Now()
	b, err := s.loadChecked()
	if err == nil {
		if err = s.Swap(b); err != nil {
			s.closeBackend(b)
		}
	}
	if err != nil {
		s.m.reloadsErr.Add(1)
		s.cfg.Logf("reload failed, still serving %s: %v", s.Backend().Name, err)
		return err
	}
	s.m.reloadsOK.Add(1)
	s.cfg.Logf("reloaded %s in %s", b.Name, time.Since(start).Round(time.Millisecond))
	return nil
}

// loadChecked runs the loader and the canary, turning a panic in either
// into an error. A backend that was loaded but fails is closed here.
func (s *Server) loadChecked() (_ *Backend, err error) {
	var b *Backend
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logf("reload panicked: %v\n%s", r, debug.Stack())
			err = fmt.Errorf("loading the new model panicked: %v", r)
		}
		if err != nil {
			s.closeBackend(b)
		}
	}()
	b, err = s.cfg.Load()
	if err != nil {
		return nil, err
	}
	if err = b.Validate(); err != nil {
		return nil, err
	}
	if err = Canary(b); err != nil {
		return nil, err
	}
	return b, nil
}

// canaryTexts are scored by every model before it serves (Canary).
var canaryTexts = []string{
	"Hello, world.",
	"Question: what is 2+2?\nAnswer: 4, because two and two make four.",
}

// Canary scores a small fixed batch with b (main model and members) and
// fails unless every reward and std is finite: a checkpoint with NaN or
// Inf weights, or one the engine cannot run, is refused before it serves.
// Call it on a freshly loaded backend, before it is shared: it runs the
// models on the calling goroutine.
func Canary(b *Backend) (err error) {
	if err := b.Validate(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: canary batch panicked: %v", b.Name, r)
		}
	}()
	seqs := make([][]int, 0, len(canaryTexts))
	for _, t := range canaryTexts {
		if ids, err := reward.EncodeText(b.Tok, t, b.MaxTokens, reward.KeepFirst); err == nil {
			seqs = append(seqs, ids)
		}
	}
	if len(seqs) == 0 {
		return fmt.Errorf("%s: canary: the tokenizer produced no tokens", b.Name)
	}
	rewards, std, err := b.Score(seqs)
	if err != nil {
		return fmt.Errorf("%s: canary: %v", b.Name, err)
	}
	for i, v := range rewards {
		if !finite(v) {
			return fmt.Errorf("%s: canary item %d: the model gives a non-finite reward (%v): NaN/Inf weights?", b.Name, i, v)
		}
	}
	for i, v := range std {
		if !finite(v) {
			return fmt.Errorf("%s: canary item %d: the members give a non-finite std (%v): NaN/Inf weights?", b.Name, i, v)
		}
	}
	return nil
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// Handler is the server's HTTP handler (all routes, auth and metrics).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until Shutdown. It returns nil after a
// graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.RequestTimeout,
		WriteTimeout:      s.cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(logWriter{s.cfg.Logf}, "", 0),
	}
	s.srvMu.Lock()
	s.srv = srv
	s.srvMu.Unlock()
	err := srv.Serve(newLimitListener(ln, s.cfg.MaxConns))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, waits for in-flight requests to be
// answered (or ctx to expire), then stops the batch workers after they have
// scored every queued job.
func (s *Server) Shutdown(ctx context.Context) error {
	s.srvMu.Lock()
	srv := s.srv
	s.srvMu.Unlock()
	var err error
	if srv != nil {
		err = srv.Shutdown(ctx)
	}
	s.bt.stop()
	s.retireCurrent()
	return err
}

// Close stops the batch workers and closes the backend once the requests
// still holding it are answered; for servers used only through Handler.
func (s *Server) Close() {
	s.bt.stop()
	s.retireCurrent()
}

type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(p []byte) (int, error) {
	w.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// authorized reports whether r carries the bearer token. Both sides are
// hashed first so the comparison takes the same time whatever the length of
// the guess.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(h[len(prefix):])))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// CheckAddr refuses to listen on anything but loopback without a token,
// unless insecure is set. An empty host (":8080") means every interface.
// Host names other than "localhost" are not resolved and count as
// non-loopback.
func CheckAddr(addr string, hasToken, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad address %q: %v", addr, err)
	}
	if hasToken || insecure || isLoopback(host) {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "all interfaces"
	}
	return fmt.Errorf("refusing to listen on %s (%s) without auth: set --token or WARM_SERVE_TOKEN, or pass --insecure", addr, shown)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 { // IPv6 zone
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// limitListener accepts at most n connections at a time; Accept waits for
// one to close, leaving further clients in the kernel's listen backlog. It
// bounds the per-connection memory (goroutine, buffers) under a flood.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func newLimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
