package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandlerOverhead measures what the server adds per request around
// the model: JSON decoding, tokenizing (byte tokenizer), queueing, batching,
// answering. The scorer is a hash, so this is the serving overhead alone;
// compare with the model's own cost per item (bench/serve).
func BenchmarkHandlerOverhead(b *testing.B) {
	for _, items := range []int{1, 16} {
		b.Run(fmt.Sprintf("items=%d", items), func(b *testing.B) {
			s, err := New(Config{Logf: quiet, MaxWait: -1}, &Backend{Tok: byteTok{}, Main: &hashScorer{}, MaxTokens: 1024})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			h := s.Handler()
			text := strings.Repeat("word ", 100) // ~128 tokens of a real tokenizer
			var body bytes.Buffer
			body.WriteString(`{"items":[`)
			for i := range items {
				if i > 0 {
					body.WriteByte(',')
				}
				fmt.Fprintf(&body, `{"prompt":%q,"response":%q}`, text[:200], text[200:])
			}
			body.WriteString(`]}`)
			data := body.Bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/score", bytes.NewReader(data)))
					if rec.Code != 200 {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
