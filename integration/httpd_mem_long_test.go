//go:build hostile

package integration

import (
	"testing"
	"time"
)

// The run of issue 11 (make hostile-test): at --mem=32, 300 clients
// download a 50 MiB file, each leaving it unread for 10 s first. Before,
// about 200 of them got a 200 cut short mid-body. Each must get the
// whole file, or a 503 before any of it; and the guest serves a normal
// client afterwards. TestHostileHTTPDMemory is the short version.
func TestHostileHTTPDMemoryLong(t *testing.T) {
	site := makeHTTPDSite(t, withFile("/50m.bin", 50<<20))
	e := startHTTPDSite(t, site, "--mem=32")
	start := time.Now()
	checkReaders(t, e, "300 slow readers of 50 MiB", slowReaders(t, e, "/50m.bin", 300, 10*time.Second))
	t.Logf("in %v", time.Since(start))
	e.get(t, "/16m.bin")
	t.Logf("guest console:\n%s", lastLines(e.guest.Output(), 20))
}
