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
	memoryRun(t, "/50m.bin", 50<<20, 300, 10*time.Second, 1)
}
