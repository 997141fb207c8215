package serve

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// closable is a scorer whose backend can be closed: a call that starts or
// ends on a closed scorer, or a second Close, is a lifetime violation.
type closable struct {
	hashScorer
	closed     atomic.Bool
	violations *atomic.Int64
}

func (c *closable) Rewards(seqs [][]int) ([]float32, error) {
	if c.closed.Load() {
		c.violations.Add(1)
		return nil, fmt.Errorf("scored on a closed backend")
	}
	r := c.rewards(seqs)
	if c.closed.Load() { // closed while this batch ran
		c.violations.Add(1)
	}
	return r, nil
}

// lifetimeRig builds backends numbered by their reward offset (0, 100,
// 200, ...), every third one after the first with NaN rewards (its canary
// fails: a refused reload), and records closes.
type lifetimeRig struct {
	mu         sync.Mutex
	made       []*closable
	closes     atomic.Int64
	violations atomic.Int64
}

func (r *lifetimeRig) backend() *Backend {
	r.mu.Lock()
	n := len(r.made)
	sc := &closable{hashScorer: hashScorer{offset: float32(100 * n), delay: 200 * time.Microsecond, nan: n > 0 && n%3 == 0}, violations: &r.violations}
	r.made = append(r.made, sc)
	r.mu.Unlock()
	b := testBackend(sc)
	b.Name = fmt.Sprintf("backend %d", n)
	b.Close = func() error {
		if sc.closed.Swap(true) {
			r.violations.Add(1) // closed twice
		}
		r.closes.Add(1)
		return nil
	}
	return b
}

// TestCloseOnSwap: under concurrent requests and back-to-back reloads (one
// in three refused by the canary), every replaced or refused backend is
// closed exactly once, never while a batch runs on it or after (no call
// on a closed backend), every request is answered 200 by exactly one
// backend, and shutdown closes the last one. Run with -race.
func TestCloseOnSwap(t *testing.T) {
	rig := &lifetimeRig{}
	s, ts := newTestServer(t, Config{MaxBatch: 8, Load: func() (*Backend, error) { return rig.backend(), nil }}, rig.backend())
	stop := make(chan struct{})
	reloadsDone := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				reloadsDone <- n
				return
			default:
			}
			s.Reload() // the refused ones return an error: counted below
			n++
			time.Sleep(time.Millisecond)
		}
	}()
	loadTest(t, ts.URL, 8, 40, func(texts []string, got ScoreResponse) error {
		// One backend answered the whole request: the same offset, a
		// multiple of 100, for every item.
		var off float32
		for i, tx := range texts {
			ids := byteTok{}.Encode(tx)
			d := got.Rewards[i] - refReward(ids)
			if i == 0 {
				off = d
			}
			if d != off || int(d+0.5)%100 != 0 {
				return fmt.Errorf("item %d: reward %v is not the reference plus one backend's offset (%v)", i, got.Rewards[i], d)
			}
		}
		return nil
	})
	close(stop)
	reloads := <-reloadsDone
	ok, bad := s.m.reloadsOK.Load(), s.m.reloadsErr.Load()
	if ok+bad != uint64(reloads) || ok == 0 || bad == 0 {
		t.Errorf("%d reloads: %d ok, %d refused; want both kinds, all counted", reloads, ok, bad)
	}
	// Every backend but the current one is closed once no request holds it;
	// the last request has been answered, so that is now.
	waitFor(t, func() bool { return rig.closes.Load() == int64(1+reloads-1) })
	if open := s.m.backendsOpen.Load(); open != 1 {
		t.Errorf("backends open at rest: %d, want 1", open)
	}
	s.Close()
	if got, want := rig.closes.Load(), int64(1+reloads); got != want {
		t.Errorf("after shutdown %d backends closed, want all %d", got, want)
	}
	if v := rig.violations.Load(); v != 0 {
		t.Errorf("%d lifetime violations (a call on a closed backend, or a double close)", v)
	}
	t.Logf("%d reloads (%d ok, %d refused), %d backends closed, 0 violations", reloads, ok, bad, rig.closes.Load())
}

// A request holding the old backend keeps it open across a reload; the
// backend closes when that request is answered, not before.
func TestCloseWaitsForRequest(t *testing.T) {
	rig := &lifetimeRig{}
	first := rig.backend()
	block := make(chan struct{})
	var unblock sync.Once
	release := func() { unblock.Do(func() { close(block) }) }
	defer release() // a failure below must not leave the batch worker stuck
	first.Main.(*closable).block = block
	s, ts := newTestServer(t, Config{Load: func() (*Backend, error) { return rig.backend(), nil }}, first)
	answered := make(chan int, 1)
	go func() {
		code, _ := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["held"]}`)
		answered <- code
	}()
	waitFor(t, func() bool { return first.Main.(*closable).calls.Load() == 1 }) // the batch is running
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if rig.closes.Load() != 0 {
		t.Fatal("the old backend was closed while a batch ran on it")
	}
	release()
	if code := <-answered; code != 200 {
		t.Fatalf("held request: %d", code)
	}
	waitFor(t, func() bool { return rig.closes.Load() == 1 })
	if !first.Main.(*closable).closed.Load() {
		t.Error("the closed backend is not the replaced one")
	}
	if code, _ := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["after"]}`); code != 200 {
		t.Errorf("after the reload: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Shutdown(ctx)
	if rig.closes.Load() != 2 || rig.violations.Load() != 0 {
		t.Errorf("after shutdown: %d closes, %d violations; want 2, 0", rig.closes.Load(), rig.violations.Load())
	}
	if code, _ := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["late"]}`); code != 503 {
		t.Errorf("after shutdown: %d, want 503", code)
	}
}
