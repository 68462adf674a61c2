// Package manifest reads and writes a guest's device manifest: the list of
// devices (name and kind) a unikernel expects the tender to attach.
//
// A manifest is written by hand as JSON,
//
//	{"type":"solo5.manifest","version":1,
//	 "devices":[{"name":"service0","type":"NET_BASIC"}]}
//
// compiled into the guest as an ELF note (name "RUNNC", type
// RUNNC_NOTE_MANIFEST, desc struct runnc_manifest_note of
// solo5/include/runnc/abi.h) and read back from that note by the tender.
// Both directions are strict: anything the tender would not accept is
// refused when the guest is built.
package manifest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Mirrors of solo5/include/runnc/abi.h.
const (
	// NoteName is the ELF note name (without its NUL) of every runnc note.
	NoteName = "RUNNC"
	// NoteType is RUNNC_NOTE_MANIFEST, the type of the manifest note.
	NoteType = 2
	// Version is RUNNC_MANIFEST_VERSION, the only version understood.
	Version = 1
	// NameMax is RUNNC_NAME_MAX: a device name's field size, NUL included.
	NameMax = 68
	// MaxDevices is RUNNC_MAX_DEVICES.
	MaxDevices = 63

	headerSize = 8           // struct runnc_manifest_note without entries
	entrySize  = NameMax + 4 // struct runnc_manifest_entry

	jsonType = "solo5.manifest"
)

// DeviceType is the kind of a device, RUNNC_DEV_* in abi.h.
type DeviceType uint32

// Device kinds.
const (
	NetBasic   DeviceType = 1 // RUNNC_DEV_NET_BASIC: an Ethernet interface (tap)
	BlockBasic DeviceType = 2 // RUNNC_DEV_BLOCK_BASIC: a block device (file)
)

var typeNames = map[DeviceType]string{
	NetBasic:   "NET_BASIC",
	BlockBasic: "BLOCK_BASIC",
}

// String returns the manifest spelling of t, "NET_BASIC" or "BLOCK_BASIC",
// or "DeviceType(N)" for an unknown kind.
func (t DeviceType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("DeviceType(%d)", uint32(t))
}

func parseType(s string) (DeviceType, bool) {
	for t, name := range typeNames {
		if name == s {
			return t, true
		}
	}
	return 0, false
}

// Device is one entry of a manifest.
type Device struct {
	Name string
	Type DeviceType
}

// Manifest is the ordered list of a guest's devices. The order is the
// order of the boot info's device table.
type Manifest struct {
	Devices []Device
}

// validName reports whether s is a valid device name: [A-Za-z0-9_]{1,67}.
func validName(s string) bool {
	if len(s) == 0 || len(s) > NameMax-1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Validate reports the first problem that would make m unusable: too many
// devices, a name that is empty, too long or not [A-Za-z0-9_], a name used
// twice, or an unknown device type.
func (m *Manifest) Validate() error {
	if len(m.Devices) > MaxDevices {
		return fmt.Errorf("manifest: devices: %d devices, at most %d allowed", len(m.Devices), MaxDevices)
	}
	seen := make(map[string]int, len(m.Devices))
	for i, d := range m.Devices {
		if !validName(d.Name) {
			return fmt.Errorf("manifest: devices[%d].name %q: want 1 to %d characters of [A-Za-z0-9_]", i, d.Name, NameMax-1)
		}
		if j, dup := seen[d.Name]; dup {
			return fmt.Errorf("manifest: devices[%d].name %q: already used by devices[%d]", i, d.Name, j)
		}
		seen[d.Name] = i
		if _, ok := typeNames[d.Type]; !ok {
			return fmt.Errorf("manifest: devices[%d].type: unknown device type %d (want NET_BASIC or BLOCK_BASIC)", i, uint32(d.Type))
		}
	}
	return nil
}

// jsonDevice is a device as spelt in JSON.
type jsonDevice struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// jsonManifest is the canonical JSON form.
type jsonManifest struct {
	Type    string       `json:"type"`
	Version int          `json:"version"`
	Devices []jsonDevice `json:"devices"`
}

// object decodes one JSON object into its members, refusing members other
// than (and missing any of) want. Keys are compared exactly, unlike
// encoding/json's case-insensitive matching, and duplicate keys are
// refused: a manifest should mean one thing.
func object(data []byte, field string, want ...string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("manifest: %s: %w", field, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("manifest: %s: want a JSON object", field)
	}
	members := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("manifest: %s: %w", field, err)
		}
		key := tok.(string) // object keys are always strings
		known := false
		for _, w := range want {
			known = known || w == key
		}
		if !known {
			return nil, fmt.Errorf("manifest: %s: unknown field %q (want %s)", field, key, strings.Join(want, ", "))
		}
		if _, dup := members[key]; dup {
			return nil, fmt.Errorf("manifest: %s.%s: given twice", field, key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("manifest: %s.%s: %w", field, key, err)
		}
		members[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("manifest: %s: %w", field, err)
	}
	for _, w := range want {
		if _, ok := members[w]; !ok {
			return nil, fmt.Errorf("manifest: %s.%s: missing", field, w)
		}
	}
	return members, nil
}

// ParseJSON parses and validates a manifest in its JSON form. Unknown or
// missing fields, unknown device types and invalid or duplicate names are
// refused; the error names the offending field.
func ParseJSON(data []byte) (*Manifest, error) {
	// Nothing may follow the object.
	dec := json.NewDecoder(bytes.NewReader(data))
	var whole json.RawMessage
	if err := dec.Decode(&whole); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("manifest: trailing data after the JSON object")
	}

	top, err := object(whole, "manifest", "type", "version", "devices")
	if err != nil {
		return nil, err
	}
	var typ string
	if err := json.Unmarshal(top["type"], &typ); err != nil || typ != jsonType {
		return nil, fmt.Errorf("manifest: type: got %s, want %q", top["type"], jsonType)
	}
	var version int
	if err := json.Unmarshal(top["version"], &version); err != nil || version != Version {
		return nil, fmt.Errorf("manifest: version: got %s, want %d", top["version"], Version)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(top["devices"], &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("manifest: devices: want an array of devices")
	}
	m := &Manifest{Devices: make([]Device, 0, len(raw))}
	for i, r := range raw {
		field := fmt.Sprintf("devices[%d]", i)
		dev, err := object(r, field, "name", "type")
		if err != nil {
			return nil, err
		}
		var name, typ string
		if err := json.Unmarshal(dev["name"], &name); err != nil {
			return nil, fmt.Errorf("manifest: %s.name: want a string, got %s", field, dev["name"])
		}
		if err := json.Unmarshal(dev["type"], &typ); err != nil {
			return nil, fmt.Errorf("manifest: %s.type: want a string, got %s", field, dev["type"])
		}
		t, ok := parseType(typ)
		if !ok {
			return nil, fmt.Errorf("manifest: %s.type: unknown device type %q (want NET_BASIC or BLOCK_BASIC)", field, typ)
		}
		m.Devices = append(m.Devices, Device{Name: name, Type: t})
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// JSON returns the canonical JSON form of m, indented, with a final newline.
func (m *Manifest) JSON() []byte {
	j := jsonManifest{Type: jsonType, Version: Version, Devices: []jsonDevice{}}
	for _, d := range m.Devices {
		j.Devices = append(j.Devices, jsonDevice{Name: d.Name, Type: d.Type.String()})
	}
	out, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		panic(err) // plain strings and ints always marshal
	}
	return append(out, '\n')
}

// MarshalNote returns the note's desc: a struct runnc_manifest_note
// followed by its entries, little endian. m should be valid (Validate);
// names longer than the field are cut.
func (m *Manifest) MarshalNote() []byte {
	b := make([]byte, headerSize+entrySize*len(m.Devices))
	binary.LittleEndian.PutUint32(b[0:], Version)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(m.Devices)))
	for i, d := range m.Devices {
		e := b[headerSize+i*entrySize:]
		copy(e[:NameMax-1], d.Name) // the rest stays NUL
		binary.LittleEndian.PutUint32(e[NameMax:], uint32(d.Type))
	}
	return b
}

// UnmarshalNote parses a manifest note's desc, the inverse of MarshalNote.
// It refuses anything MarshalNote of a valid manifest would not produce:
// another version, an entry count that does not match the length,
// unterminated or invalid names, bytes after a name's NUL, duplicates and
// unknown types.
func UnmarshalNote(desc []byte) (*Manifest, error) {
	if len(desc) < headerSize {
		return nil, fmt.Errorf("manifest note: %d bytes, shorter than its %d-byte header", len(desc), headerSize)
	}
	if v := binary.LittleEndian.Uint32(desc[0:]); v != Version {
		return nil, fmt.Errorf("manifest note: version %d, want %d", v, Version)
	}
	n := binary.LittleEndian.Uint32(desc[4:])
	if n > MaxDevices {
		return nil, fmt.Errorf("manifest note: %d entries, at most %d allowed", n, MaxDevices)
	}
	if want := headerSize + entrySize*int(n); len(desc) != want {
		return nil, fmt.Errorf("manifest note: %d entries need %d bytes, note has %d", n, want, len(desc))
	}
	m := &Manifest{Devices: make([]Device, 0, n)}
	for i := 0; i < int(n); i++ {
		e := desc[headerSize+i*entrySize : headerSize+(i+1)*entrySize]
		field := e[:NameMax]
		end := bytes.IndexByte(field, 0)
		if end < 0 {
			return nil, fmt.Errorf("manifest note: entry %d: name not NUL-terminated", i)
		}
		for _, c := range field[end:] {
			if c != 0 {
				return nil, fmt.Errorf("manifest note: entry %d: bytes after the name's NUL", i)
			}
		}
		m.Devices = append(m.Devices, Device{
			Name: string(field[:end]),
			Type: DeviceType(binary.LittleEndian.Uint32(e[NameMax:])),
		})
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("manifest note: %w", err)
	}
	return m, nil
}

// CSource returns a C file that defines the manifest as an ELF note in
// section ".note.runnc.manifest", for linking into the guest. The section
// name's ".note" prefix makes the assembler give it type SHT_NOTE; the
// guest linker script gathers it into a PT_NOTE segment.
func (m *Manifest) CSource() []byte {
	desc := m.MarshalNote()
	var b bytes.Buffer
	b.WriteString("/* Generated by runnc-manifest; do not edit. The guest's device manifest\n")
	b.WriteString(" * as an ELF note (solo5/include/runnc/abi.h, RUNNC_NOTE_MANIFEST). Devices:\n")
	if len(m.Devices) == 0 {
		b.WriteString(" *   (none)\n")
	}
	for _, d := range m.Devices {
		fmt.Fprintf(&b, " *   %s %s\n", d.Name, d.Type)
	}
	b.WriteString(" */\n\n")
	b.WriteString("struct runnc_manifest_elf_note {\n")
	b.WriteString("    unsigned int namesz;\n")
	b.WriteString("    unsigned int descsz;\n")
	b.WriteString("    unsigned int type;\n")
	b.WriteString("    char name[8];                   /* \"RUNNC\", NUL, padded to 4 */\n")
	fmt.Fprintf(&b, "    unsigned char desc[%d];         /* struct runnc_manifest_note, LE */\n", len(desc))
	b.WriteString("};\n\n")
	b.WriteString("__attribute__((section(\".note.runnc.manifest\"), aligned(4), used))\n")
	b.WriteString("static const struct runnc_manifest_elf_note runnc_manifest_note = {\n")
	fmt.Fprintf(&b, "    .namesz = %d,\n", len(NoteName)+1)
	fmt.Fprintf(&b, "    .descsz = %d,\n", len(desc))
	fmt.Fprintf(&b, "    .type = %d,\n", NoteType)
	fmt.Fprintf(&b, "    .name = %q,\n", NoteName)
	b.WriteString("    .desc = {")
	for i, c := range desc {
		if i%12 == 0 {
			b.WriteString("\n       ")
		}
		fmt.Fprintf(&b, " 0x%02x,", c)
	}
	b.WriteString("\n    },\n};\n")
	return b.Bytes()
}
