package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Knobs are the simulator settings of a benchmark scenario.
type Knobs struct {
	Size      int64         // bytes per file
	Files     int           // how many files (default 1)
	ConnRate  int64         // bytes/s cap per connection (0 = none)
	TotalRate int64         // bytes/s cap of the server (0 = none)
	Latency   time.Duration // first-byte delay of every answer
	DropEvery int64         // cut a connection every N bytes served of a file
	DropReset bool          // cut with a TCP reset instead of a FIN
}

// SimArgs returns the arguments of "provision sim" that serve k.
func (k Knobs) SimArgs() []string {
	a := []string{"sim", "--size=" + strconv.FormatInt(k.Size, 10),
		"--files=" + strconv.Itoa(max(k.Files, 1))}
	if k.ConnRate > 0 {
		a = append(a, "--conn-rate="+strconv.FormatInt(k.ConnRate, 10))
	}
	if k.TotalRate > 0 {
		a = append(a, "--total-rate="+strconv.FormatInt(k.TotalRate, 10))
	}
	if k.Latency > 0 {
		a = append(a, "--latency="+k.Latency.String())
	}
	if k.DropEvery > 0 {
		a = append(a, "--drop-every="+strconv.FormatInt(k.DropEvery, 10))
	}
	if k.DropReset {
		a = append(a, "--drop-reset")
	}
	return a
}

// Ideal returns the shortest time the caps allow for the files of k over
// conns connections, and false when nothing caps the rate (the limit is
// then the cost of copying bytes on this machine).
func (k Knobs) Ideal(conns int) (time.Duration, bool) {
	rate := float64(0)
	if k.ConnRate > 0 {
		rate = float64(k.ConnRate) * float64(conns)
	}
	if k.TotalRate > 0 && (rate == 0 || float64(k.TotalRate) < rate) {
		rate = float64(k.TotalRate)
	}
	if rate == 0 {
		return 0, false
	}
	bytes := float64(k.Size) * float64(max(k.Files, 1))
	return time.Duration(bytes / rate * float64(time.Second)), true
}

// Server is a simulator running in a child process, so that its CPU and
// memory are not counted with the client's.
type Server struct {
	Files []File // the served files; SHA256 left empty
	cmd   *exec.Cmd
	done  chan struct{} // closed once the process has exited
	err   error         // its exit status, once done
}

// StartServer runs exe with args (a "provision sim" command line) and
// waits until it lists its files ("# file URL SIZE" lines) and says it
// is serving. Stop ends it.
func StartServer(ctx context.Context, exe string, args []string) (*Server, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server %s: %w", exe, err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if f, ok := parseFileLine(line); ok {
				s.Files = append(s.Files, f)
			}
			if !sent && strings.HasPrefix(line, "# serving") {
				ready <- nil
				sent = true
			}
		}
		if !sent {
			ready <- errors.New("server ended before serving")
		}
		io.Copy(io.Discard, out)
		s.err = cmd.Wait()
		close(s.done)
	}()
	select {
	case err := <-ready:
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("start server: %w", err)
		}
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, errors.New("start server: not serving after 30 s")
	}
	return s, nil
}

// parseFileLine reads "# file URL SIZE [SHA256]".
func parseFileLine(line string) (File, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f) > 5 || f[0] != "#" || f[1] != "file" {
		return File{}, false
	}
	n, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return File{}, false
	}
	file := File{URL: f[2], Size: n}
	if len(f) == 5 {
		file.SHA256 = f[4]
	}
	return file, true
}

// Stop interrupts the server and waits for it to exit (killing it after
// five seconds).
func (s *Server) Stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}
