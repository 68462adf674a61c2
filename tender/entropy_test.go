package tender

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// builtGuest returns the absolute path of a guest under build/, or skips.
func builtGuest(t *testing.T, rel string) string {
	t.Helper()
	p, _ := filepath.Abs(filepath.Join("../build", rel))
	if _, err := os.Stat(p); err != nil {
		t.Skip("guests not built: run make")
	}
	return p
}

// The guest's RNG seed is an addition within the ABI version: under a
// tender from before it (flag and field zero, as the helper's
// no-rng-seed break lays out), the bindings' runnc_rng_seed() says there
// is none, and libos keys its generator from the clock, says so once on
// the console and runs on. With the seed libos says nothing, and two
// boots draw different numbers.
func TestRNGSeedFallback(t *testing.T) {
	libctest := builtGuest(t, "libos/tests/libctest.spt")
	ssp := builtGuest(t, "unikernels/tests/ssp.spt")
	const notice = "libos: the tender gave no random seed"
	random := regexp.MustCompile(`(?m)^random ([0-9a-f]{128})$`)

	var draws []string
	for i := 0; i < 2; i++ {
		status, out, errs := runHelper(t, libctest, "", "random")
		m := random.FindStringSubmatch(out)
		if status != 0 || m == nil || strings.Contains(out, notice) {
			t.Fatalf("with the seed: status %d, stdout %q, stderr %q; want 0, a random line and no notice", status, out, errs)
		}
		draws = append(draws, m[1])
	}
	if draws[0] == draws[1] {
		t.Errorf("two boots drew the same bytes %s", draws[0])
	}

	status, out, errs := runHelper(t, libctest, "no-rng-seed", "random")
	if status != 0 || !random.MatchString(out) || strings.Count(out, notice) != 1 {
		t.Errorf("without the seed: status %d, stdout %q, stderr %q; want 0, a random line and the notice once", status, out, errs)
	}
	status, out, _ = runHelper(t, ssp, "no-rng-seed", "seed")
	if status != 1 || !strings.Contains(out, "FAILURE") || !strings.Contains(out, "runnc_rng_seed") {
		t.Errorf("ssp seed without the seed: status %d, stdout %q; want runnc_rng_seed() to say there is none", status, out)
	}
}
