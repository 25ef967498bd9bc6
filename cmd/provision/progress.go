package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"provision/store"
)

// reporter shows a run's progress. Implementations are safe for concurrent
// use; start and finish are called from the download goroutines.
type reporter interface {
	start(it *item)
	finish(it *item)
	note(msg string) // a line that must stay visible (a failed entry)
	close()
}

func (env *environment) newReporter(cfg *config) reporter {
	if cfg.Quiet {
		return &lineReporter{w: env.stdout, quiet: true}
	}
	if f, ok := env.stdout.(*os.File); ok && isTerminal(f.Fd()) {
		return newBarReporter(f)
	}
	return newLineReporter(env.stdout, 5*time.Second)
}

// lineReporter writes plain lines for container logs: one per file every
// interval while it downloads, and one when it ends.
type lineReporter struct {
	w     io.Writer
	quiet bool

	mu     sync.Mutex
	active map[*item]sample
	stop   chan struct{}
	done   chan struct{}
}

type sample struct {
	at    time.Time
	bytes int64
}

func newLineReporter(w io.Writer, every time.Duration) *lineReporter {
	r := &lineReporter{w: w, active: map[*item]sample{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop(every)
	return r
}

func (r *lineReporter) loop(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.mu.Lock()
			for it, last := range r.active {
				cur := it.prog.Done()
				speed := float64(cur-last.bytes) / now.Sub(last.at).Seconds()
				r.active[it] = sample{now, cur}
				fmt.Fprintf(r.w, "  %-11s %s  %s\n", "downloading", it.label,
					progressText(cur, it.prog.Size(), speed))
			}
			r.mu.Unlock()
		}
	}
}

func (r *lineReporter) start(it *item) {
	if r.quiet {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active[it] = sample{time.Now(), it.prog.Done()}
	fmt.Fprintf(r.w, "  %-11s %s (%s)\n", "start", it.label, sizeText(it.target.Size))
}

func (r *lineReporter) finish(it *item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.active, it)
	st, err, d := it.snapshot()
	switch {
	case st == statusFailed:
		fmt.Fprintf(r.w, "  %-11s %s: %v\n", "FAILED", it.label, err)
	case !r.quiet:
		fmt.Fprintf(r.w, "  %-11s %s  %s in %s (%s)%s\n", "done", it.label,
			store.HumanBytes(it.size), roundDuration(d), speedText(it.fetched, d), verifiedText(it))
	}
}

func (r *lineReporter) note(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "  %s\n", msg)
}

func (r *lineReporter) close() {
	if r.stop != nil {
		close(r.stop)
		<-r.done
	}
}

// barReporter draws mpb bars on a terminal: one per active file and a total.
type barReporter struct {
	p     *mpb.Progress
	mu    sync.Mutex
	bars  map[*item]*mpb.Bar
	stop  chan struct{}
	done  chan struct{}
	total *mpb.Bar
	items []*item
}

func newBarReporter(w io.Writer) *barReporter {
	r := &barReporter{
		p:    mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond)),
		bars: map[*item]*mpb.Bar{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	r.total = r.p.New(0, mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.BarPriority(1<<30),
		mpb.PrependDecorators(decor.Name("total", decor.WCSyncWidthR),
			decor.CountersKibiByte(" % .1f / % .1f", decor.WCSyncWidth)),
		mpb.AppendDecorators(decor.EwmaSpeed(decor.SizeB1024(0), " % .1f", 30),
			decor.Name(" ETA "), decor.EwmaETA(decor.ET_STYLE_GO, 30)))
	go r.loop()
	return r
}

func (r *barReporter) loop() {
	defer close(r.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-r.stop:
			r.update(time.Since(last))
			return
		case now := <-t.C:
			r.update(now.Sub(last))
			last = now
		}
	}
}

func (r *barReporter) update(dt time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var total, done int64
	for _, it := range r.items {
		size := it.prog.Size()
		if size < 0 {
			size = it.prog.Done()
		}
		total += size
		done += it.prog.Done()
	}
	for it, b := range r.bars {
		if size := it.prog.Size(); size > 0 {
			b.SetTotal(size, false)
		}
		b.EwmaSetCurrent(it.prog.Done(), dt)
	}
	r.total.SetTotal(total, false)
	r.total.EwmaSetCurrent(done, dt)
}

func (r *barReporter) start(it *item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, it)
	b := r.p.New(max(it.target.Size, 0), mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.BarFillerClearOnComplete(),
		mpb.PrependDecorators(decor.Name(shorten(it.label, 40), decor.WCSyncWidthR),
			decor.CountersKibiByte(" % .1f / % .1f", decor.WCSyncWidth)),
		mpb.AppendDecorators(
			decor.OnComplete(decor.EwmaSpeed(decor.SizeB1024(0), " % .1f", 30), " verified"),
			decor.OnComplete(decor.Name(" ETA "), ""),
			decor.OnComplete(decor.EwmaETA(decor.ET_STYLE_GO, 30), "")))
	b.SetCurrent(it.prog.Done())
	r.bars[it] = b
}

func (r *barReporter) finish(it *item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err, _ := it.snapshot()
	if b, ok := r.bars[it]; ok {
		delete(r.bars, it)
		if st == statusDone {
			b.SetTotal(-1, true)
		} else {
			b.Abort(false)
		}
	}
	if st == statusFailed {
		fmt.Fprintf(r.p, "FAILED %s: %v\n", it.label, err)
	}
}

func (r *barReporter) note(msg string) {
	fmt.Fprintln(r.p, msg)
}

func (r *barReporter) close() {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	for _, b := range r.bars {
		b.Abort(false)
	}
	r.mu.Unlock()
	r.total.SetTotal(-1, true)
	r.p.Wait()
}

func shorten(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return "…" + string(rs[len(rs)-n+1:])
}

func verifiedText(it *item) string {
	if it.target.SHA256 != "" {
		return ", sha256 verified"
	}
	return ", size verified"
}
