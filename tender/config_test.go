package tender

import (
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
)

// A Config built in Go renders to runnc-spt arguments that parse back to
// the same Config, and so does every command line below.
func TestConfigArgv(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:aa:bb:cc")
	cfg := &Config{
		MemMB:       64,
		MemPrefault: true,
		Kernel:      "/guests/kv.spt",
		Args:        []string{"--ipv4=10.0.0.2/24", "--", "x"},
		Net: []NetSpec{
			{Name: "service0", Iface: "tap0", MAC: mac, Offload: true},
			{Name: "service1", FD: 5},
		},
		Block: []BlockSpec{
			{Name: "rootfs", Path: "/images/root.iso", ReadOnly: true},
			{Name: "data", Path: "/images/data=1:ro.img", SectorSize: 4096},
		},
	}
	argv := cfg.Argv()
	want := []string{"--mem=64", "--mem-prefault", "--net:service0=tap0", "--net-mac:service0=02:00:00:aa:bb:cc", "--net-offload:service0",
		"--net:service1=@5", "--block-ro:rootfs=/images/root.iso", "--block:data=/images/data=1:ro.img",
		"--block-sector-size:data=4096", "--", "/guests/kv.spt", "--ipv4=10.0.0.2/24", "--", "x"}
	if !reflect.DeepEqual(argv, want) {
		t.Errorf("Argv:\n got %q\nwant %q", argv, want)
	}
	back, _, err := ParseArgs(argv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Errorf("ParseArgs(Argv()) = %+v, want %+v", back, cfg)
	}

	for _, line := range []string{
		"g.spt",
		"--mem=2 --block:storage=/tmp/a.img g.spt a b",
		"--mem-prefault --mem=8 g.spt --mem-prefault",
		"--block:s=/x --block-sector-size:s=512 --net:n=@7 --net-mac:n=02:11:22:33:44:55 -- g.spt --mem=3",
	} {
		c1, _, err := ParseArgs(strings.Fields(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		c2, _, err := ParseArgs(c1.Argv())
		if err != nil {
			t.Fatalf("%s: Argv %q: %v", line, c1.Argv(), err)
		}
		if !reflect.DeepEqual(c1, c2) {
			t.Errorf("%s: round trip through %q gave %+v, want %+v", line, c1.Argv(), c2, c1)
		}
	}
}

// Configs a Go caller builds are checked like command lines.
func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Kernel: "g", MemMB: maxMemMB + 1}, "--mem=65537"},
		{Config{Kernel: "g", MemMB: 1}, "--mem=1"},
		{Config{}, "no KERNEL"},
		{Config{Kernel: "g", Net: []NetSpec{{Name: "a", Iface: "tap0", FD: 4}}}, "not both"},
		{Config{Kernel: "g", Net: []NetSpec{{Name: "a", FD: 2}}}, "3 or more"},
		{Config{Kernel: "g", Net: []NetSpec{{Name: "a", Iface: strings.Repeat("t", 16)}}}, "not an interface name"},
		{Config{Kernel: "g", Net: []NetSpec{{Name: "a", Iface: "t", MAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}}}}, "multicast"},
		{Config{Kernel: "g", Net: []NetSpec{{Name: "a", Iface: "t", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0, 0, 1}}}}, "48-bit"},
		{Config{Kernel: "g", Net: []NetSpec{{Name: "a", FD: 4}, {Name: "b", FD: 4}}}, "fd 4 is already device a's tap"},
		{Config{Kernel: "g", Net: []NetSpec{{Name: "a", Iface: "t"}, {Name: "b", Iface: "t"}}}, "tap t is already device a's"},
		{Config{Kernel: "g", Net: []NetSpec{{Name: "a", Iface: "t"}, {Name: "a", Iface: "u"}}}, "--net:a given twice"},
		{Config{Kernel: "g", Block: []BlockSpec{{Name: "b", Path: "p", SectorSize: 1000}}}, "power of two"},
		{Config{Kernel: "g", Block: []BlockSpec{{Name: "b", Path: "p"}, {Name: "b", Path: "q"}}}, "given twice"},
	} {
		err := c.cfg.validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error containing %q", c.cfg, err, c.want)
		}
		if _, perr := Prepare(&c.cfg); perr == nil || perr.Error() != err.Error() {
			t.Errorf("%+v: Prepare says %v, validate %v", c.cfg, perr, err)
		}
	}
	if err := (&Config{Kernel: "g", MemMB: maxMemMB}).validate(); err != nil {
		t.Errorf("--mem=%d: %v", maxMemMB, err)
	}
}

// --mem takes 2 MiB to 64 GiB, the most that stays clear of the loader stub.
func TestMemBounds(t *testing.T) {
	for arg, ok := range map[string]bool{
		"--mem=2": true, "--mem=65536": true, "--mem=65537": false, "--mem=1": false,
		"--mem=0": false, "--mem=-1": false, "--mem=1G": false, "--mem=": false,
		"--mem=99999999999999999999": false,
	} {
		cfg, _, err := ParseArgs([]string{arg, "g.spt"})
		if (err == nil) != ok {
			t.Errorf("%s: %v, want accepted=%v", arg, err, ok)
		}
		if err != nil && (!strings.Contains(err.Error(), arg) || !strings.Contains(err.Error(), "65536")) {
			t.Errorf("%s: %q does not name the option and the bound", arg, err)
		}
		if ok && cfg.MemMB<<20 > 0x6f0000000000 {
			t.Errorf("%s: guest memory would reach the stub", arg)
		}
	}
}

func TestParseMAC(t *testing.T) {
	for in, want := range map[string]string{
		"02:00:00:00:00:01": "02:00:00:00:00:01",
		"0A:1b:2C:3d:4E:5f": "0a:1b:2c:3d:4e:5f",
		"ff:ff:ff:ff:ff:ff": "ff:ff:ff:ff:ff:ff",
	} {
		mac, err := parseMAC(in)
		if err != nil || net.HardwareAddr(mac[:]).String() != want {
			t.Errorf("parseMAC(%q) = %v, %v; want %s", in, net.HardwareAddr(mac[:]), err, want)
		}
	}
	for _, in := range []string{
		"", "02:00:00:00:00", "02:00:00:00:00:01:02", "2:0:0:0:0:1", "002:00:00:00:00:01",
		"02-00-00-00-00-01", "0g:00:00:00:00:01", "02:00:00:00:00:", ":02:00:00:00:00", "+2:00:00:00:00:01",
		"0x:00:00:00:00:01", "02:00:00:00:00:01 ",
	} {
		if mac, err := parseMAC(in); err == nil {
			t.Errorf("parseMAC(%q) = %v, want an error", in, net.HardwareAddr(mac[:]))
		}
	}
	// A multicast (or broadcast) address cannot be a guest's: refused in
	// one line naming the option; a unicast one is taken.
	for arg, refused := range map[string]bool{
		"--net-mac:service0=01:00:5e:00:00:01": true,
		"--net-mac:service0=ff:ff:ff:ff:ff:ff": true,
		"--net-mac:service0=03:00:00:00:00:00": true,
		"--net-mac:service0=02:00:00:00:00:00": false,
		"--net-mac:service0=fe:ff:ff:ff:ff:ff": false,
	} {
		_, _, err := ParseArgs([]string{"--net:service0=tap0", arg, "g.spt"})
		if refused && (err == nil || !strings.Contains(err.Error(), "multicast") || !strings.Contains(err.Error(), arg[2:])) {
			t.Errorf("%s: %v, want a refusal naming it and saying multicast", arg, err)
		}
		if !refused && err != nil {
			t.Errorf("%s: %v", arg, err)
		}
	}
	if _, _, err := ParseArgs([]string{"--net:service0=tap0", "--net-mac:service0=02:00:00:00:00", "g.spt"}); err == nil || !strings.Contains(err.Error(), "not a MAC address") {
		t.Errorf("a short MAC: %v", err)
	}
}

// --args-file: its options are parsed where it stands, its words after
// "--" follow the guest's arguments, and anything else in it is refused.
func TestArgsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := write("args", "--net:service0=runnc0\n--net-mac:service0=02:00:00:aa:bb:cc\n--\n--ipv4=10.0.0.2/24\n--ipv4-gateway=10.0.0.1\n")
	cfg, _, err := ParseArgs([]string{"--mem=8", "--args-file=" + f, "--", "/kv.spt", "--env=A=b", "x"})
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := net.ParseMAC("02:00:00:aa:bb:cc")
	if len(cfg.Net) != 1 || cfg.Net[0].Iface != "runnc0" || cfg.Net[0].MAC.String() != mac.String() {
		t.Errorf("net from the file: %+v", cfg.Net)
	}
	if want := []string{"--env=A=b", "x", "--ipv4=10.0.0.2/24", "--ipv4-gateway=10.0.0.1"}; !reflect.DeepEqual(cfg.Args, want) {
		t.Errorf("guest args %q, want %q", cfg.Args, want)
	}
	// An empty file (no network) changes nothing.
	cfg, _, err = ParseArgs([]string{"--args-file=" + write("empty", "\n"), "/hello.spt", "a"})
	if err != nil || !reflect.DeepEqual(cfg.Args, []string{"a"}) || len(cfg.Net) != 0 {
		t.Errorf("empty args file: %+v %v", cfg, err)
	}
	for _, bad := range []struct{ body, want string }{
		{"/etc/passwd\n", "is not a tender option"},
		{"--args-file=/x\n", "is not a tender option"},
		{"--bogus:x=y\n", "unknown option"},
	} {
		if _, _, err := ParseArgs([]string{"--args-file=" + write("bad", bad.body), "/k"}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("args file %q: %v, want %q", bad.body, err, bad.want)
		}
	}
	if _, _, err := ParseArgs([]string{"--args-file=" + dir + "/none", "/k"}); err == nil {
		t.Error("a missing args file is accepted")
	}
	if _, _, err := ParseArgs([]string{"--args-file=" + f, "--args-file=" + f, "/k"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("two args files: %v", err)
	}
}
