package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	RequestTimeout time.Duration // per request, queueing and scoring included (30s)

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
	if c.Logf == nil {
		l := log.New(os.Stderr, "warm serve: ", log.LstdFlags)
		c.Logf = l.Printf
	}
}

// Server is a reward-model HTTP server. Create it with New, then either
// Serve a listener or mount Handler in your own http.Server.
type Server struct {
	cfg       Config
	backend   atomic.Pointer[Backend]
	bt        *batcher
	m         *metrics
	handler   http.Handler
	tokenHash [32]byte
	reloadMu  sync.Mutex

	srvMu sync.Mutex
	srv   *http.Server
}

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
	s := &Server{cfg: cfg, m: newMetrics()}
	if cfg.Token != "" {
		s.tokenHash = sha256.Sum256([]byte(cfg.Token))
	}
	s.backend.Store(b)
	s.bt = newBatcher(cfg.QueueSize, cfg.MaxBatch, cfg.MaxBatchTokens, cfg.Workers, cfg.MaxWait, s.m, cfg.Logf)
	s.handler = s.routes()
	return s, nil
}

// Backend returns the backend new requests are scored with.
func (s *Server) Backend() *Backend { return s.backend.Load() }

// Swap installs b for new requests. Requests already tokenized keep the
// backend they were tokenized with and finish on it.
func (s *Server) Swap(b *Backend) error {
	if err := b.Validate(); err != nil {
		return err
	}
	s.backend.Store(b)
	return nil
}

// Reload builds a new backend with Config.Load and swaps it in. The old
// backend keeps serving until the new one is fully loaded; if loading fails
// the old one stays. Concurrent reloads run one after the other.
func (s *Server) Reload() error {
	if s.cfg.Load == nil {
		return ErrNoReload
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	start := time.Now()
	b, err := s.cfg.Load()
	if err == nil {
		err = s.Swap(b)
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
	err := srv.Serve(ln)
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
	return err
}

// Close stops the batch workers; for servers used only through Handler.
func (s *Server) Close() { s.bt.stop() }

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
