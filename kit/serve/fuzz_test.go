package serve

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzRequestBody posts arbitrary bytes to both scoring endpoints. The
// server must answer every body with a status from the documented set and a
// JSON body, never panic, and on 200 give exactly one finite reward per item.
// Run longer with: go test ./serve -run '^$' -fuzz FuzzRequestBody -fuzztime 1m
func FuzzRequestBody(f *testing.F) {
	for _, seed := range []string{
		`{"items":[{"prompt":"a","response":"b"}]}`,
		`{"items":[{"prompt":"","response":"x"},{"prompt":"p","response":"q"}]}`,
		`{"items":[]}`,
		`{"items":null}`,
		`{"items":[{"prompt":"a"}]}`,
		`{"items":[{"prompt":"\u0000\ud800","response":"é"}]}`,
		`{"query":["hello world"],"prompts":["hello"],"labels":[null]}`,
		`{"query":"one"}`,
		`{"query":[1]}`,
		`[]`, `null`, `""`, `{`, `{"items":[{"response":"` + string(bytes.Repeat([]byte("a"), 100)) + `"}]}`,
		"\xff\xfe{}",
	} {
		f.Add([]byte(seed))
	}
	s, err := New(Config{Logf: quiet, MaxItems: 8, MaxBodyBytes: 1 << 12, MaxWait: -1},
		testBackend(&hashScorer{}, &hashScorer{offset: 1}))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	h := s.Handler()
	allowed := map[int]bool{200: true, 400: true, 413: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v1/score", "/get_reward"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
			if !allowed[rec.Code] {
				t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body)
			}
			if rec.Code != 200 {
				var e ErrorResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Fatalf("%s %q: %d with non-JSON error body %q", path, body, rec.Code, rec.Body)
				}
				continue
			}
			var got struct {
				Rewards []float32 `json:"rewards"`
				Std     []float32 `json:"std"`
				Unc     []float32 `json:"uncertainties"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Rewards) == 0 {
				t.Fatalf("%s %q: 200 with bad body %q", path, body, rec.Body)
			}
			if len(got.Std)+len(got.Unc) != len(got.Rewards) {
				t.Fatalf("%s %q: %d rewards, %d std", path, body, len(got.Rewards), len(got.Std)+len(got.Unc))
			}
		}
	})
}
