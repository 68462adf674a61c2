package echo

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnc/runnc/netns"
)

// The receive windows libos advertises (libos/net/tcp.c): every
// connection starts with 16 segments, one uploader alone grows to 192,
// and what all windows have above 16 segments adds up to at most 576, so
// 20 uploaders (20 x 16 + 576 segments) cannot overflow the tap's queue
// of 1000 frames.
const (
	mss         = 1460
	initialWnd  = 16 * mss
	maxWnd      = 192 * mss
	tapQueueLen = 1000
)

// TestReceiveWindowShared reads the windows the guest advertises, as the
// clients' kernels see them (ss's snd_wnd), while one and then 20
// clients upload through the echo service, with and without offload.
func TestReceiveWindowShared(t *testing.T) {
	needRoot(t)
	for _, opts := range [][]string{nil, {offload}} {
		t.Run(strings.Join(append([]string{"plain"}, opts...)[len(opts):], ""), func(t *testing.T) {
			n := newNet(t)
			startEcho(t, n, opts...)

			one := sampleWindows(t, n, 10, func() {
				if err := echoOne(n, guestIP+":7", 1, 16<<20, time.Now().Add(60*time.Second)); err != nil {
					t.Errorf("one uploader: %v", err)
				}
			})
			t.Logf("one uploader: %d samples, largest window %d bytes (%d segments)", one.samples, one.max, one.max/mss)
			if one.max <= initialWnd || one.max > maxWnd {
				t.Errorf("one uploader's window peaked at %d bytes: want above the initial %d, at most %d", one.max, initialWnd, maxWnd)
			}

			before := tapDropped(t, n)
			many := sampleWindows(t, n, 10, func() { echoMany(t, n, 20, 1<<20, 120*time.Second) })
			dropped := tapDropped(t, n) - before
			t.Logf("20 uploaders: %d samples, largest sum of windows %d bytes (%d segments); tap drops towards the guest: %d",
				many.samples, many.maxSum, many.maxSum/mss, dropped)
			if many.maxSum > tapQueueLen*mss {
				t.Errorf("20 uploaders had windows of %d bytes together (%d segments): more than the tap's queue of %d frames holds",
					many.maxSum, many.maxSum/mss, tapQueueLen)
			}
			if many.samples == 0 || many.maxSum == 0 {
				t.Errorf("no window seen while 20 clients uploaded")
			}
		})
	}
}

type windowSamples struct {
	samples     int
	max, maxSum int // largest single window, largest sum in one sample
}

var sndWnd = regexp.MustCompile(`snd_wnd:(\d+)`)

// sampleWindows runs work while reading, as often as ss answers, the
// send windows of the namespace's connections to the guest's echo port;
// work runs again (up to 10 times) until ss saw connections at least
// want times.
func sampleWindows(t *testing.T, n *testNet, want int, work func()) windowSamples {
	t.Helper()
	var s windowSamples
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			out, err := n.exec("ss", "-tin", "state", "established", "dst", guestIP+":7").Output()
			if err != nil {
				t.Errorf("ss: %v", err)
				return
			}
			sum := 0
			mu.Lock()
			for _, m := range sndWnd.FindAllStringSubmatch(string(out), -1) {
				w, _ := strconv.Atoi(m[1])
				sum += w
				s.max = max(s.max, w)
			}
			if sum > 0 {
				s.samples++
			}
			s.maxSum = max(s.maxSum, sum)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for i := 0; i < 10; i++ {
		work()
		mu.Lock()
		enough := s.samples >= want
		mu.Unlock()
		if enough || t.Failed() {
			break
		}
	}
	close(stop)
	wg.Wait()
	return s
}

// tapDropped is what n's tap dropped on its way to the guest (its queue
// was full).
func tapDropped(t *testing.T, n *testNet) uint64 {
	t.Helper()
	var v uint64
	err := n.do(func() (err error) {
		v, err = netns.TxDropped(n.tap)
		return err
	})
	if err != nil {
		t.Fatalf("read the tap's drops: %v", err)
	}
	return v
}
