package manifest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const twoDevices = `{"type":"solo5.manifest","version":1,"devices":[
	{"name":"service0","type":"NET_BASIC"},
	{"name":"rootfs","type":"BLOCK_BASIC"}]}`

func TestParseJSON(t *testing.T) {
	m, err := ParseJSON([]byte(twoDevices))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{Devices: []Device{{"service0", NetBasic}, {"rootfs", BlockBasic}}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v, want %+v", m, want)
	}
	// The canonical form parses back to the same manifest.
	again, err := ParseJSON(m.JSON())
	if err != nil {
		t.Fatalf("ParseJSON(JSON()): %v\n%s", err, m.JSON())
	}
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("round trip: got %+v, want %+v", again, want)
	}

	empty, err := ParseJSON([]byte(`{"type":"solo5.manifest","version":1,"devices":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Devices) != 0 {
		t.Fatalf("empty manifest: got %d devices", len(empty.Devices))
	}
	if got := string(empty.JSON()); !strings.Contains(got, `"devices": []`) {
		t.Fatalf("empty manifest JSON: want \"devices\": [], got %s", got)
	}
}

func devicesJSON(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf(`{"name":"d%d","type":"NET_BASIC"}`, i))
	}
	return `{"type":"solo5.manifest","version":1,"devices":[` + strings.Join(parts, ",") + `]}`
}

func TestParseJSONRefuses(t *testing.T) {
	dev := func(name, typ string) string {
		return `{"type":"solo5.manifest","version":1,"devices":[{"name":"` + name + `","type":"` + typ + `"}]}`
	}
	for _, tc := range []struct {
		name, in, errWant string
	}{
		{"not json", `{`, "manifest"},
		{"not an object", `[]`, "want a JSON object"},
		{"trailing data", `{"type":"solo5.manifest","version":1,"devices":[]} {}`, "trailing"},
		{"unknown top field", `{"type":"solo5.manifest","version":1,"devices":[],"x":1}`, `unknown field "x"`},
		{"key in other case", `{"type":"solo5.manifest","version":1,"Devices":[]}`, `unknown field "Devices"`},
		{"duplicate key", `{"type":"solo5.manifest","version":1,"version":1,"devices":[]}`, "version: given twice"},
		{"missing devices", `{"type":"solo5.manifest","version":1}`, "devices: missing"},
		{"missing version", `{"type":"solo5.manifest","devices":[]}`, "version: missing"},
		{"wrong type", `{"type":"solo5.other","version":1,"devices":[]}`, "type:"},
		{"wrong version", `{"type":"solo5.manifest","version":2,"devices":[]}`, "version:"},
		{"version as string", `{"type":"solo5.manifest","version":"1","devices":[]}`, "version:"},
		{"devices null", `{"type":"solo5.manifest","version":1,"devices":null}`, "devices:"},
		{"devices object", `{"type":"solo5.manifest","version":1,"devices":{}}`, "devices:"},
		{"device not object", `{"type":"solo5.manifest","version":1,"devices":[1]}`, "devices[0]"},
		{"unknown device field", `{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"NET_BASIC","mac":"x"}]}`, `devices[0]: unknown field "mac"`},
		{"device missing type", `{"type":"solo5.manifest","version":1,"devices":[{"name":"a"}]}`, "devices[0].type: missing"},
		{"name not string", `{"type":"solo5.manifest","version":1,"devices":[{"name":1,"type":"NET_BASIC"}]}`, "devices[0].name"},
		{"unknown type", dev("a", "NET_FANCY"), `devices[0].type: unknown device type "NET_FANCY"`},
		{"type lower case", dev("a", "net_basic"), "devices[0].type"},
		{"empty name", dev("", "NET_BASIC"), "devices[0].name"},
		{"name with dash", dev("a-b", "NET_BASIC"), "devices[0].name"},
		{"name with space", dev("a b", "NET_BASIC"), "devices[0].name"},
		{"name with NUL", dev(`a\u0000`, "NET_BASIC"), "devices[0].name"},
		{"name non-ASCII", dev("é", "NET_BASIC"), "devices[0].name"},
		{"name 68 chars", dev(strings.Repeat("a", 68), "NET_BASIC"), "devices[0].name"},
		{"duplicate name", `{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"NET_BASIC"},{"name":"a","type":"BLOCK_BASIC"}]}`, `devices[1].name "a": already used by devices[0]`},
		{"64 devices", devicesJSON(64), "at most 63"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseJSON([]byte(tc.in))
			if err == nil {
				t.Fatalf("accepted %s as %+v", tc.in, m)
			}
			if !strings.Contains(err.Error(), tc.errWant) {
				t.Fatalf("error %q does not mention %q", err, tc.errWant)
			}
		})
	}
}

func TestParseJSONLimits(t *testing.T) {
	if _, err := ParseJSON([]byte(devicesJSON(63))); err != nil {
		t.Fatalf("63 devices: %v", err)
	}
	long := strings.Repeat("Z", 67)
	in := `{"type":"solo5.manifest","version":1,"devices":[{"name":"` + long + `","type":"BLOCK_BASIC"}]}`
	m, err := ParseJSON([]byte(in))
	if err != nil {
		t.Fatalf("67-character name: %v", err)
	}
	back, err := UnmarshalNote(m.MarshalNote())
	if err != nil || back.Devices[0].Name != long {
		t.Fatalf("67-character name through the note: %+v, %v", back, err)
	}
}

func TestDeviceTypeString(t *testing.T) {
	for typ, want := range map[DeviceType]string{NetBasic: "NET_BASIC", BlockBasic: "BLOCK_BASIC", 7: "DeviceType(7)"} {
		if got := typ.String(); got != want {
			t.Errorf("DeviceType(%d).String() = %q, want %q", uint32(typ), got, want)
		}
	}
}

// TestMarshalNoteLayout checks the bytes against struct runnc_manifest_note
// of abi.h written out by hand.
func TestMarshalNoteLayout(t *testing.T) {
	m := &Manifest{Devices: []Device{{"service0", NetBasic}, {"rootfs", BlockBasic}}}
	got := m.MarshalNote()
	want := make([]byte, 8+2*72)
	want[0] = 1 // version
	want[4] = 2 // entries
	copy(want[8:], "service0")
	want[8+68] = 1
	copy(want[8+72:], "rootfs")
	want[8+72+68] = 2
	if !bytes.Equal(got, want) {
		t.Fatalf("MarshalNote:\n got %x\nwant %x", got, want)
	}
	back, err := UnmarshalNote(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("UnmarshalNote(MarshalNote(m)) = %+v, want %+v", back, m)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		m       Manifest
		errWant string
	}{
		{Manifest{Devices: []Device{{"a", 3}}}, "devices[0].type: unknown device type 3"},
		{Manifest{Devices: []Device{{"a", 0}}}, "devices[0].type"},
		{Manifest{Devices: []Device{{"a", NetBasic}, {"b!", NetBasic}}}, "devices[1].name"},
		{Manifest{Devices: []Device{{"a", NetBasic}, {"a", BlockBasic}}}, "devices[1].name"},
		{Manifest{Devices: make([]Device, 64)}, "at most 63"},
	} {
		err := tc.m.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.errWant) {
			t.Errorf("Validate(%+v) = %v, want an error mentioning %q", tc.m, err, tc.errWant)
		}
	}
	if err := (&Manifest{}).Validate(); err != nil {
		t.Errorf("empty manifest: %v", err)
	}
}

// note builds a desc by hand: version, count, then entries.
func note(version, count uint32, entries ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, version)
	b = binary.LittleEndian.AppendUint32(b, count)
	for _, e := range entries {
		b = append(b, e...)
	}
	return b
}

// entry builds one 72-byte entry whose name field is exactly name (padded
// with NULs when shorter than 68 bytes).
func entry(name string, typ uint32) []byte {
	e := make([]byte, 72)
	copy(e, name)
	binary.LittleEndian.PutUint32(e[68:], typ)
	return e
}

func TestUnmarshalNoteRefuses(t *testing.T) {
	good := entry("net0", 1)
	afterNUL := entry("net0", 1)
	afterNUL[10] = 'x'
	for _, tc := range []struct {
		name, errWant string
		desc          []byte
	}{
		{"empty", "shorter than", nil},
		{"short header", "shorter than", []byte{1, 0, 0, 0, 0}},
		{"version 0", "version 0", note(0, 0)},
		{"version 2", "version 2", note(2, 1, good)},
		{"count too big", "at most 63", note(1, 64)},
		{"count huge", "at most 63", note(1, 0xffffffff)},
		{"count more than entries", "need 152 bytes", note(1, 2, good)},
		{"count fewer than entries", "need 8 bytes", note(1, 0, good)},
		{"partial entry", "need 80 bytes", note(1, 1, good[:40])},
		{"trailing bytes", "need 80 bytes", append(note(1, 1, good), 0, 0, 0, 0)},
		{"unterminated name", "not NUL-terminated", note(1, 1, entry(strings.Repeat("a", 68), 1))},
		{"bytes after NUL", "after the name's NUL", note(1, 1, afterNUL)},
		{"empty name", "devices[0].name", note(1, 1, entry("", 1))},
		{"bad character", "devices[0].name", note(1, 1, entry("a/b", 1))},
		{"high byte", "devices[0].name", note(1, 1, entry("a\xff", 1))},
		{"duplicate", "devices[1].name", note(1, 2, good, entry("net0", 2))},
		{"type 0", "devices[0].type", note(1, 1, entry("x", 0))},
		{"type 3", "devices[0].type", note(1, 1, entry("x", 3))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := UnmarshalNote(tc.desc)
			if err == nil {
				t.Fatalf("accepted %x as %+v", tc.desc, m)
			}
			if !strings.Contains(err.Error(), tc.errWant) {
				t.Fatalf("error %q does not mention %q", err, tc.errWant)
			}
		})
	}
}

func FuzzUnmarshalNote(f *testing.F) {
	f.Add(note(1, 0))
	f.Add(note(1, 1, entry("service0", 1)))
	f.Add(note(1, 2, entry("service0", 1), entry("rootfs", 2)))
	f.Add(note(1, 1, entry(strings.Repeat("a", 67), 2)))
	f.Add(note(1, 2, entry("a", 1)))
	f.Add(note(1, 2, entry("a", 1), entry("a", 1)))
	f.Add(note(1, 1, entry(strings.Repeat("a", 68), 1)))
	f.Add(note(2, 0))
	f.Add(note(1, 0xffffffff))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, desc []byte) {
		m, err := UnmarshalNote(desc)
		if err != nil {
			return
		}
		// Whatever is accepted is valid and is exactly what MarshalNote
		// writes for it, and survives the JSON form too.
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid manifest %+v: %v", m, err)
		}
		if again := m.MarshalNote(); !bytes.Equal(again, desc) {
			t.Fatalf("MarshalNote(UnmarshalNote(%x)) = %x", desc, again)
		}
		j, err := ParseJSON(m.JSON())
		if err != nil {
			t.Fatalf("ParseJSON(JSON()) of an accepted note: %v\n%s", err, m.JSON())
		}
		if !reflect.DeepEqual(j.Devices, m.Devices) {
			t.Fatalf("JSON round trip: %+v, want %+v", j, m)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(twoDevices))
	f.Add([]byte(`{"type":"solo5.manifest","version":1,"devices":[]}`))
	f.Add([]byte(`{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"BLOCK_BASIC"}]} `))
	f.Add([]byte(`{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"NET_BASIC","x":1}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseJSON(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid manifest: %v", err)
		}
		again, err := ParseJSON(m.JSON())
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("canonical JSON does not round-trip: %+v, %v", again, err)
		}
		if back, err := UnmarshalNote(m.MarshalNote()); err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("note does not round-trip: %+v, %v", back, err)
		}
	})
}
