package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
)

// Wire types. /v1/score is this project's API; /get_reward follows
// OpenRLHF's remote reward model (openrlhf/cli/serve_rm.py and
// utils/remote_rm_utils.py): the client posts {"query": [...], "prompts":
// [...], "labels": [...]} and reads "rewards" (newer servers also send
// "scores"; some forks read "uncertainties").

// ScoreItem is one text to score: Prompt + Response, concatenated and
// scored as given (plain text), or Messages: a conversation rendered with
// the model's chat template (as transformers' apply_chat_template does,
// without a generation prompt) and scored at its last token.
type ScoreItem struct {
	Prompt   string    `json:"prompt"`
	Response *string   `json:"response"` // required without messages: a missing response is usually a client bug
	Messages []Message `json:"messages,omitempty"`
}

// Message is one chat turn of ScoreItem.Messages.
type Message = prefdata.Message

// text is one item to score: a plain text, or (chat non-nil) a
// conversation for the chat template.
type text struct {
	s    string
	chat []Message
}

// size is the bytes the item carries, for the per-item byte limit.
func (t text) size() int {
	n := len(t.s)
	for _, m := range t.chat {
		n += len(m.Role) + len(m.Content)
	}
	return n
}

// ScoreRequest is the body of POST /v1/score.
type ScoreRequest struct {
	Items []ScoreItem `json:"items"`
}

// ScoreResponse is the answer of POST /v1/score. Std is present when the
// server has ensemble members.
type ScoreResponse struct {
	Rewards []float32 `json:"rewards"`
	Std     []float32 `json:"std,omitempty"`
}

// GetRewardRequest is the body of POST /get_reward. Query is a list of
// texts (a single string is accepted too); prompts and labels are accepted
// and ignored, since the queries already hold prompt+response.
type GetRewardRequest struct {
	Query   QueryList `json:"query"`
	Prompts Ignored   `json:"prompts,omitempty"`
	Labels  Ignored   `json:"labels,omitempty"`
}

// QueryList is /get_reward's "query": a list of strings or one string.
// Decoding it in place (not through json.RawMessage) keeps one copy of a
// large body's texts in memory instead of two.
type QueryList []string

// UnmarshalJSON accepts ["a", "b"], "a" and null (left nil: "missing").
func (q *QueryList) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case string(data) == "null":
		return nil
	case len(data) > 0 && data[0] == '"':
		var one string
		if err := json.Unmarshal(data, &one); err != nil {
			return fmt.Errorf(`bad "query": %v`, err)
		}
		*q = QueryList{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf(`bad "query": want a list of strings: %v`, err)
	}
	if list == nil {
		list = []string{}
	}
	*q = list
	return nil
}

// Ignored accepts any JSON value and keeps none of it (OpenRLHF's
// "prompts" and "labels" repeat what the queries hold).
type Ignored struct{}

// UnmarshalJSON discards the value.
func (*Ignored) UnmarshalJSON([]byte) error { return nil }

// GetRewardResponse is the answer of POST /get_reward.
type GetRewardResponse struct {
	Rewards       []float32            `json:"rewards"`
	Scores        []float32            `json:"scores"`
	Uncertainties []float32            `json:"uncertainties,omitempty"`
	ExtraLogs     map[string][]float32 `json:"extra_logs,omitempty"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

// httpError is an error with the status code it should be answered with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) *httpError {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// knownPaths bounds the "path" label of the metrics.
var knownPaths = map[string]bool{
	"/v1/score": true, "/get_reward": true, "/healthz": true, "/metrics": true, "/admin/reload": true,
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/score", s.method(http.MethodPost, s.handleScore))
	mux.HandleFunc("/get_reward", s.method(http.MethodPost, s.handleGetReward))
	mux.HandleFunc("/healthz", s.method(http.MethodGet, s.handleHealth))
	mux.HandleFunc("/metrics", s.method(http.MethodGet, s.handleMetrics))
	mux.HandleFunc("/admin/reload", s.method(http.MethodPost, s.handleReload))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, "no such endpoint %s (have POST /v1/score, POST /get_reward, GET /healthz, GET /metrics, POST /admin/reload)", r.URL.Path))
	})
	return s.instrument(mux)
}

// statusWriter remembers the status code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (per-request
// read deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// instrument counts and times every request, checks auth, and turns a panic
// in a handler (a tokenizer bug, say) into a 500 instead of a dropped
// connection.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		path := r.URL.Path
		if !knownPaths[path] {
			path = "other"
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logf("panic serving %s: %v", r.URL.Path, v)
				if sw.code == 0 {
					writeError(sw, errorf(http.StatusInternalServerError, "internal error"))
				}
			}
			code := sw.code
			if code == 0 {
				code = statusClientClosed
			}
			s.m.request(path, code, time.Since(start).Seconds())
		}()
		if path != "/healthz" && !s.authorized(r) {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="warm"`)
			writeError(sw, errorf(http.StatusUnauthorized, "missing or wrong bearer token"))
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// statusClientClosed is recorded (never sent) when the client went away
// before an answer was written; nginx's 499.
const statusClientClosed = 499

func (s *Server) method(m string, h func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m {
			w.Header().Set("Allow", m)
			writeError(w, errorf(http.StatusMethodNotAllowed, "%s %s: use %s", r.Method, r.URL.Path, m))
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = errorf(http.StatusInternalServerError, "%v", err)
	}
	if he.code == http.StatusTooManyRequests || he.code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, he.code, ErrorResponse{Error: he.msg})
}

// admit starts a scoring request: its deadline (RequestTimeout, covering
// the body, tokenizing, queueing and scoring) and one of MaxInFlight slots
// for reading, decoding and tokenizing the body, waited for until the
// deadline. The slot bounds the memory of bodies in flight; release frees
// it (idempotent) once the request holds only its token ids.
func (s *Server) admit(r *http.Request) (ctx context.Context, cancel context.CancelFunc, release func(), err error) {
	ctx, cancel = context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	select {
	case s.inflight <- struct{}{}:
	case <-ctx.Done():
		cancel()
		if r.Context().Err() != nil {
			return nil, nil, nil, errorf(statusClientClosed, "client closed the request")
		}
		return nil, nil, nil, errorf(http.StatusServiceUnavailable, "server busy: %d requests already being read, retry later", s.cfg.MaxInFlight)
	}
	var once sync.Once
	return ctx, cancel, func() { once.Do(func() { <-s.inflight }) }, nil
}

// readBody decodes one JSON value from the body into v, with nothing but
// white space after it, reading at most MaxBodyBytes within BodyTimeout.
// It decodes straight from the connection: the decoder's buffer is the one
// copy of the body held (the decoded strings are the other).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any, strict bool) error {
	// A per-request read deadline: a slow body holds a slot for at most
	// BodyTimeout, then gets 408. Not every ResponseWriter supports it
	// (httptest's recorder does not); the server's ReadTimeout still applies.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			if readFailed(terr) {
				return s.bodyError(terr)
			}
			return errorf(http.StatusBadRequest, "bad JSON body: extra data after the JSON object")
		}
		return nil
	}
	switch {
	case readFailed(err):
		return s.bodyError(err)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "empty request body: want a JSON object")
	}
	return errorf(http.StatusBadRequest, "bad JSON body: %v", err)
}

// readFailed tells errors of reading the body (size, deadline, broken
// connection) from errors in its JSON.
func readFailed(err error) bool {
	var mbe *http.MaxBytesError
	var ne net.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	// io.ErrUnexpectedEOF: the body ended inside the JSON value (a
	// truncated body, or a client that left): said as a JSON error.
	case err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &se) || errors.As(err, &te):
		return false
	case errors.As(err, &mbe), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne):
		return true
	}
	return false
}

func (s *Server) bodyError(err error) error {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", s.cfg.MaxBodyBytes)
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return errorf(http.StatusRequestTimeout, "request body not received within %s", s.cfg.BodyTimeout)
	}
	// The error text holds socket addresses: keep it out of the answer.
	return errorf(http.StatusBadRequest, "reading the request body failed (connection closed or malformed chunked encoding)")
}

// scoring runs what every scoring endpoint shares: admission (deadline and
// body slot), the endpoint's parsing of its body into texts, scoring, and
// the endpoint's answer. parse's request value dies when it returns, so the
// decoded body is garbage by the time the texts are tokenized.
func (s *Server) scoring(w http.ResponseWriter, r *http.Request, parse func() ([]text, error), answer func(rewards, std []float32) any) {
	ctx, cancel, release, err := s.admit(r)
	if err != nil {
		writeError(w, err)
		return
	}
	defer cancel()
	defer release()
	texts, err := parse()
	if err != nil {
		writeError(w, err)
		return
	}
	rewards, std, err := s.score(ctx, texts, release)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, answer(rewards, std))
}

func (s *Server) handleScore(w http.ResponseWriter, r *http.Request) {
	s.scoring(w, r, func() ([]text, error) {
		var req ScoreRequest
		if err := s.readBody(w, r, &req, true); err != nil {
			return nil, err
		}
		if req.Items == nil {
			return nil, errorf(http.StatusBadRequest, `missing "items": want {"items":[{"prompt":"...","response":"..."}]}`)
		}
		texts := make([]text, len(req.Items))
		for i, it := range req.Items {
			switch {
			case it.Messages != nil && (it.Response != nil || it.Prompt != ""):
				return nil, errorf(http.StatusBadRequest, `item %d: give "messages" or "prompt"/"response", not both`, i)
			case it.Messages != nil:
				if len(it.Messages) == 0 {
					return nil, errorf(http.StatusBadRequest, `item %d: "messages" is empty`, i)
				}
				texts[i] = text{chat: it.Messages}
			case it.Response == nil:
				return nil, errorf(http.StatusBadRequest, `item %d: missing "response"`, i)
			default:
				texts[i] = text{s: it.Prompt + *it.Response}
			}
		}
		return texts, nil
	}, func(rewards, std []float32) any {
		return ScoreResponse{Rewards: rewards, Std: std}
	})
}

func (s *Server) handleGetReward(w http.ResponseWriter, r *http.Request) {
	s.scoring(w, r, func() ([]text, error) {
		var req GetRewardRequest
		if err := s.readBody(w, r, &req, false); err != nil {
			return nil, err
		}
		if req.Query == nil {
			return nil, errorf(http.StatusBadRequest, `missing "query": want {"query":["prompt+response", ...]}`)
		}
		texts := make([]text, len(req.Query))
		for i, q := range req.Query {
			texts[i] = text{s: q}
		}
		return texts, nil
	}, func(rewards, std []float32) any {
		resp := GetRewardResponse{Rewards: rewards, Scores: rewards}
		if std != nil {
			resp.Uncertainties = std
			resp.ExtraLogs = map[string][]float32{"ens_std": std}
		}
		return resp
	})
}

// encode tokenizes one item, refusing one longer than maxTok: plain text
// as the tokenizer encodes it, a conversation through its chat template.
func encode(tok Tokenizer, t text, maxTok int) ([]int, error) {
	if t.chat == nil {
		return reward.EncodeText(tok, t.s, maxTok, reward.Refuse)
	}
	ct, ok := tok.(ChatTokenizer)
	if !ok {
		return nil, errors.New(`this model has no chat template: send "prompt" and "response" strings`)
	}
	ids, err := ct.EncodeChat(t.chat)
	if err != nil {
		return nil, err
	}
	return reward.Fit(ids, maxTok, reward.Refuse)
}

// deadlineError maps a context error to its answer.
func (s *Server) deadlineError(err error) *httpError {
	if errors.Is(err, context.Canceled) {
		return errorf(statusClientClosed, "client closed the request")
	}
	return errorf(http.StatusGatewayTimeout, "request timed out after %s", s.cfg.RequestTimeout)
}

// score tokenizes texts within ctx's deadline, calls release (the body is
// no longer needed), queues the token ids for a batch and waits for the
// rewards.
func (s *Server) score(ctx context.Context, texts []text, release func()) (rewards, std []float32, err error) {
	if len(texts) == 0 {
		return nil, nil, errorf(http.StatusBadRequest, "no items to score")
	}
	if len(texts) > s.cfg.MaxItems {
		return nil, nil, errorf(http.StatusRequestEntityTooLarge, "%d items in one request, limit %d", len(texts), s.cfg.MaxItems)
	}
	l := s.acquire()
	if l == nil {
		return nil, nil, errorf(http.StatusServiceUnavailable, "%v", errStopped)
	}
	held := true // until the batcher takes the job (and the hold) over
	defer func() {
		if held {
			l.drop()
		}
	}()
	b := l.b
	maxTok := b.MaxTokens
	if s.cfg.MaxTokens > 0 && s.cfg.MaxTokens < maxTok {
		maxTok = s.cfg.MaxTokens
	}
	maxBytes := s.cfg.MaxItemBytes
	if maxBytes <= 0 {
		maxBytes = 32 * maxTok
	}
	// Byte limits first: tokenizing costs CPU and memory in proportion to
	// the text, so an oversized item is refused before any of it is spent.
	for i, t := range texts {
		if n := t.size(); n > maxBytes {
			return nil, nil, errorf(http.StatusRequestEntityTooLarge, "item %d: %d bytes, limit %d per item (--max-item-bytes)", i, n, maxBytes)
		}
	}
	seqs := make([][]int, len(texts))
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, nil, s.deadlineError(err)
		}
		ids, err := encode(b.Tok, t, maxTok)
		var tooLong *reward.TooLongError
		switch {
		case errors.Is(err, reward.ErrEmptyText):
			return nil, nil, errorf(http.StatusBadRequest, "item %d: empty text, nothing to score", i)
		case errors.As(err, &tooLong):
			return nil, nil, errorf(http.StatusRequestEntityTooLarge, "item %d: %d tokens, limit %d per item", i, tooLong.N, tooLong.Max)
		case err != nil:
			return nil, nil, errorf(http.StatusBadRequest, "item %d: %v", i, err)
		}
		seqs[i] = ids
	}
	release()
	j := &job{ctx: ctx, b: b, seqs: seqs, done: make(chan jobResult, 1), release: l.drop}
	switch err := s.bt.submit(j); {
	case errors.Is(err, errQueueFull):
		return nil, nil, errorf(http.StatusTooManyRequests, "%v", err)
	case err != nil:
		return nil, nil, errorf(http.StatusServiceUnavailable, "%v", err)
	}
	held = false
	var res jobResult
	select {
	case res = <-j.done:
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	if res.err != nil {
		if errors.Is(res.err, context.DeadlineExceeded) || errors.Is(res.err, context.Canceled) {
			return nil, nil, s.deadlineError(res.err)
		}
		return nil, nil, errorf(http.StatusInternalServerError, "%v", res.err)
	}
	for i, v := range res.rewards {
		if !finite(v) {
			return nil, nil, errorf(http.StatusInternalServerError, "item %d: the model produced a non-finite reward (%v)", i, v)
		}
	}
	for i, v := range res.std {
		if !finite(v) {
			return nil, nil, errorf(http.StatusInternalServerError, "item %d: the members produced a non-finite std (%v)", i, v)
		}
	}
	return res.rewards, res.std, nil
}

// handleHealth answers without auth, so it names the model by its base
// name only: the full path (which may reveal user names and layout) is
// shown to requests carrying the configured token.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	b := s.Backend()
	name := b.Name
	if s.cfg.Token == "" || !s.authorized(r) {
		name = publicName(name)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "model": name, "members": len(b.Members), "max_tokens": b.MaxTokens,
	})
}

// publicName strips directories from every path-looking word of a backend
// name ("/home/u/rm + 3 members" → "rm + 3 members").
func publicName(name string) string {
	words := strings.Fields(name)
	for i, w := range words {
		if strings.ContainsAny(w, `/\`) {
			words[i] = filepath.Base(strings.TrimRight(w, `/\`))
		}
	}
	return strings.Join(words, " ")
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	s.m.write(&buf, len(s.bt.queue), cap(s.bt.queue), len(s.Backend().Members))
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(buf.Bytes())
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if err := s.Reload(); err != nil {
		if errors.Is(err, ErrNoReload) {
			writeError(w, errorf(http.StatusNotImplemented, "%v", err))
			return
		}
		writeError(w, errorf(http.StatusInternalServerError, "reload failed, still serving the old model: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "model": s.Backend().Name})
}
