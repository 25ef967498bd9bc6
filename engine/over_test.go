package engine

import (
	"context"
	"testing"
	"time"
)

// A worker that waits for a slot only in the hope of splitting must stop
// waiting once its job has nothing left, even while other jobs hold every
// slot: otherwise a finished file waits for unrelated downloads.
func TestIdleWorkerLeavesWhenJobIsOver(t *testing.T) {
	e := New(Config{Connections: 1})
	e.slots <- struct{}{} // another job holds the only slot
	defer e.release()

	js := &jobState{e: e, j: &Job{Name: "f"}, over: make(chan struct{})}
	p := &piece{start: 0, pos: 0, end: 1 << 20}
	js.running = []*piece{p}

	done := make(chan error, 1)
	go func() { done <- js.work(context.Background()) }()

	select {
	case err := <-done:
		t.Fatalf("worker left while a piece still ran: %v", err)
	case <-time.After(50 * time.Millisecond):
	}

	p.pos = p.end
	js.finish(p) // the job's last piece ends on another worker

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("work: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker still waits for a slot after its job ended")
	}
}
