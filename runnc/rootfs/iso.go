package rootfs

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The image is ISO 9660 (ECMA-119) with SUSP and Rock Ridge (RRIP 1.09,
// "RRIP_1991A") entries in every directory record: NM for the real name,
// PX for mode and owner, TF for the mtime, SL for symlinks. Layout:
//
//	sectors 0-15    system area (zero)
//	16, 17          primary volume descriptor, set terminator
//	18...           type L path table, type M path table
//	then            directories, breadth first (the path table's order)
//	then            SUSP continuation areas (names and links too long for
//	                their directory record)
//	then            file data, one extent a file
//
// Directories deeper than ISO 9660's eight levels are written where they
// are, not relocated (Rock Ridge CL/RE): the readers this image is for
// (the library OS, Linux isofs, isoinfo) do not enforce the limit.
const (
	sector      = 2048
	maxFileSize = 1<<32 - 1
	maxRecord   = 255
	ceEntryLen  = 28
)

// area is a run of SUSP entries: the tail of a directory record, or a
// continuation area, with a CE entry to the next area when one is needed.
type area struct {
	entries [][]byte
	next    *area
	offset  uint32 // continuation areas: byte offset in the continuation region
}

func (a *area) len() int {
	n := 0
	for _, e := range a.entries {
		n += len(e)
	}
	if a.next != nil {
		n += ceEntryLen
	}
	return n
}

// record is one directory record before the layout gives it addresses.
type record struct {
	n    *node // the node described (its extent for "." and "..")
	id   []byte
	dir  bool
	su   *area
	size int // bytes of the record
}

type image struct {
	root     *node
	dirs     []*node // breadth first
	records  map[*node][]*record
	cont     []*area // continuation areas, in region order
	contSize uint32
	files    []*node // nodes owning a data extent, in extent order

	pathTableSize uint32
	pathTableLBA  uint32 // L; M follows
	contLBA       uint32
	totalSectors  uint32
	date          time.Time
}

// layout assigns ISO names, builds every record and gives every
// directory, continuation area and file its sectors.
func layout(root *node) (*image, error) {
	img := &image{root: root, records: map[*node][]*record{}, date: root.mtime}
	walk(root, func(n *node) {
		if n.isDir() {
			assignISONames(n)
		}
	})
	// Breadth first, each directory's children in ISO order: the path
	// table's required order.
	queue := []*node{root}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		img.dirs = append(img.dirs, d)
		for _, c := range d.children {
			if c.isDir() {
				queue = append(queue, c)
			}
		}
	}
	if len(img.dirs) > 0xffff {
		return nil, fmt.Errorf("%d directories: the ISO 9660 path table holds at most 65535", len(img.dirs))
	}
	for i, d := range img.dirs {
		d.number = uint16(i + 1)
		img.pathTableSize += uint32(pathRecordLen(d))
	}

	for _, d := range img.dirs {
		recs := []*record{
			{n: d, id: []byte{0}, dir: true, su: img.pack(dotEntries(d, d == root))},
			{n: parentOf(d), id: []byte{1}, dir: true, su: img.pack(dotEntries(parentOf(d), false))},
		}
		for _, c := range d.children {
			recs = append(recs, &record{n: c, id: c.isoID, dir: c.isDir(), su: img.pack(entries(c))})
		}
		var size uint32
		for _, r := range recs {
			r.size = 33 + len(r.id) + 1 - len(r.id)%2 + r.su.len()
			r.size += r.size % 2
			if size%sector+uint32(r.size) > sector {
				size += sector - size%sector // records never cross sectors
			}
			size += uint32(r.size)
		}
		d.dirSize = roundUp(size)
		img.records[d] = recs
	}
	img.placeContinuations()

	ptSectors := roundUp(img.pathTableSize) / sector
	img.pathTableLBA = 18
	lba := img.pathTableLBA + 2*ptSectors
	for _, d := range img.dirs {
		d.lba = lba
		lba += d.dirSize / sector
	}
	img.contLBA = lba
	lba += roundUp(img.contSize) / sector
	// Owners of data extents, found through every name of them: an extra
	// file may have replaced the first name of a hard-linked file.
	owned := map[*node]bool{}
	walk(root, func(n *node) {
		if e := n.extent(); n.isFile() && e.size > 0 && !owned[e] {
			owned[e] = true
			img.files = append(img.files, e)
		}
	})
	for _, f := range img.files {
		if uint64(lba)+uint64(roundUp64(f.size)/sector) > 0xffffffff {
			return nil, fmt.Errorf("the image would be larger than ISO 9660's 8 TiB")
		}
		f.lba = lba
		lba += uint32(roundUp64(f.size) / sector)
	}
	img.totalSectors = lba
	return img, nil
}

func parentOf(d *node) *node {
	if d.parent == nil {
		return d
	}
	return d.parent
}

func roundUp(n uint32) uint32 { return (n + sector - 1) / sector * sector }
func roundUp64(n int64) int64 { return (n + sector - 1) / sector * sector }

// pack puts entries into a record's system use area, moving what does
// not fit into continuation areas. A record holds 255 bytes; ISO names
// here are at most 12 bytes, so a record keeps about 200 bytes for SUSP.
func (img *image) pack(entries [][]byte) *area {
	// The header, the longest identifier ("NAMENAME.EXT;1") and its pad;
	// what is left, less one byte to keep the record's length even.
	const idRoom = 33 + 15
	first := &area{}
	a, room := first, maxRecord-1-idRoom
	for len(entries) > 0 {
		total := 0
		for _, e := range entries {
			total += len(e)
		}
		if total <= room {
			a.entries = append(a.entries, entries...)
			break
		}
		used := 0
		for len(entries) > 0 && used+len(entries[0]) <= room-ceEntryLen {
			a.entries = append(a.entries, entries[0])
			used += len(entries[0])
			entries = entries[1:]
		}
		next := &area{}
		a.next = next
		a, room = next, sector
		img.cont = append(img.cont, next)
	}
	return first
}

// placeContinuations gives the continuation areas their offsets, none
// crossing a sector. Called once all records are packed.
func (img *image) placeContinuations() {
	var off uint32
	for _, a := range img.cont {
		n := uint32(a.len())
		if off%sector+n > sector {
			off += sector - off%sector
		}
		a.offset = off
		off += n
	}
	img.contSize = off
}

// --- SUSP and Rock Ridge entries -------------------------------------------

func entry(sig string, body ...[]byte) []byte {
	e := []byte{sig[0], sig[1], 0, 1}
	for _, b := range body {
		e = append(e, b...)
	}
	e[2] = byte(len(e))
	return e
}

func both32(v uint32) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
	return b
}

func both16(v uint16) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint16(b, v)
	binary.BigEndian.PutUint16(b[2:], v)
	return b
}

func px(n *node) []byte {
	nlink := uint32(1)
	if n.isDir() {
		nlink = 2
		for _, c := range n.children {
			if c.isDir() {
				nlink++
			}
		}
	}
	return entry("PX", both32(n.mode), both32(nlink), both32(n.uid), both32(n.gid))
}

func tf(n *node) []byte {
	return entry("TF", []byte{0x02}, recordDate(n.mtime)) // MODIFY only
}

const (
	erID  = "RRIP_1991A"
	erDes = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS"
	erSrc = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION."
)

// dotEntries are the entries of a "." or ".." record; the root's "."
// starts with SP (SUSP is in use) and carries the ER naming Rock Ridge.
func dotEntries(d *node, rootDot bool) [][]byte {
	if !rootDot {
		return [][]byte{px(d), tf(d)}
	}
	sp := entry("SP", []byte{0xBE, 0xEF, 0})
	er := entry("ER", []byte{byte(len(erID)), byte(len(erDes)), byte(len(erSrc)), 1}, []byte(erID), []byte(erDes), []byte(erSrc))
	return [][]byte{sp, px(d), tf(d), er}
}

// entries are the Rock Ridge entries of a child's record.
func entries(n *node) [][]byte {
	es := [][]byte{px(n), tf(n)}
	es = append(es, nm(n.name)...)
	if n.isSymlink() {
		es = append(es, sl(n.link)...)
	}
	return es
}

// nm splits a name into NM entries of at most 255 bytes.
func nm(name string) [][]byte {
	var es [][]byte
	for {
		chunk, flags := name, byte(0)
		if len(chunk) > maxRecord-5 {
			chunk, flags = chunk[:maxRecord-5], 1 // CONTINUE
		}
		es = append(es, entry("NM", []byte{flags}, []byte(chunk)))
		name = name[len(chunk):]
		if name == "" {
			return es
		}
	}
}

// sl encodes a symlink target as SL entries: components of ROOT, CURRENT,
// PARENT or a name (long names split with the component CONTINUE flag),
// spread over as many entries as needed (the entry CONTINUE flag).
func sl(target string) [][]byte {
	var comps [][]byte
	if strings.HasPrefix(target, "/") {
		comps = append(comps, []byte{0x08, 0})
	}
	for _, p := range strings.Split(target, "/") {
		switch p {
		case "":
		case ".":
			comps = append(comps, []byte{0x02, 0})
		case "..":
			comps = append(comps, []byte{0x04, 0})
		default:
			for len(p) > 0 {
				c, flags := p, byte(0)
				if len(c) > maxRecord-5-2 {
					c, flags = c[:maxRecord-5-2], 1
				}
				comps = append(comps, append([]byte{flags, byte(len(c))}, c...))
				p = p[len(c):]
			}
		}
	}
	var es [][]byte
	var cur []byte
	for _, c := range comps {
		if len(cur) > 0 && 5+len(cur)+len(c) > maxRecord {
			es = append(es, entry("SL", []byte{1}, cur)) // CONTINUE
			cur = nil
		}
		cur = append(cur, c...)
	}
	return append(es, entry("SL", []byte{0}, cur))
}

// --- ISO 9660 names ----------------------------------------------------------

// assignISONames gives d's children unique ISO 9660 level 1 identifiers
// (8.3, d-characters, ";1" for files) and sorts them by identifier, the
// order ISO 9660 wants. Rock Ridge readers never show them.
func assignISONames(d *node) {
	used := map[string]bool{}
	for _, c := range d.children { // already sorted by Rock Ridge name
		stem, ext := c.name, ""
		if i := strings.LastIndexByte(c.name, '.'); i > 0 && !c.isDir() {
			stem, ext = c.name[:i], c.name[i+1:]
		}
		stem, ext = dchars(stem, 8), dchars(ext, 3)
		if stem == "" {
			stem = "_"
		}
		id := isoID(stem, ext, c.isDir())
		for i := 1; used[id]; i++ {
			suffix := "~" + strconv.Itoa(i)
			s := stem
			if len(s)+len(suffix) > 8 {
				s = s[:8-len(suffix)]
			}
			id = isoID(s+suffix, ext, c.isDir())
		}
		used[id] = true
		c.isoID = []byte(id)
	}
	sort.Slice(d.children, func(i, j int) bool { return string(d.children[i].isoID) < string(d.children[j].isoID) })
}

func isoID(stem, ext string, dir bool) string {
	if dir {
		return stem
	}
	return stem + "." + ext + ";1"
}

func dchars(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func pathRecordLen(d *node) int {
	n := len(pathID(d))
	return 8 + n + n%2
}

func pathID(d *node) []byte {
	if d.parent == nil {
		return []byte{0}
	}
	return d.isoID
}

// --- dates -----------------------------------------------------------------

// recordDate is the 7-byte date of directory records and TF, in UTC.
func recordDate(t time.Time) []byte {
	t = t.UTC()
	y := t.Year() - 1900
	if y < 0 {
		return []byte{0, 1, 1, 0, 0, 0, 0}
	}
	if y > 255 {
		return []byte{255, 12, 31, 23, 59, 59, 0}
	}
	return []byte{byte(y), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0}
}

// volumeDate is the 17-byte date of the volume descriptor.
func volumeDate(t time.Time) []byte {
	if t.IsZero() {
		return append([]byte("0000000000000000"), 0)
	}
	t = t.UTC()
	return append([]byte(fmt.Sprintf("%04d%02d%02d%02d%02d%02d00", t.Year()%10000, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second())), 0)
}

// --- writing ---------------------------------------------------------------

// writer writes the image sequentially: the layout only ever moves
// forward, so sectors are padded to, never sought.
type writer struct {
	w   *bufio.Writer
	pos int64
}

func (w *writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.pos += int64(n)
	return err
}

// padTo writes zeros up to byte offset off.
func (w *writer) padTo(off int64) error {
	if off < w.pos {
		return fmt.Errorf("image layout: at byte %d, asked to go back to %d", w.pos, off)
	}
	var zero [sector]byte
	for w.pos < off {
		n := min(off-w.pos, int64(len(zero)))
		if err := w.write(zero[:n]); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) sector(lba uint32) error { return w.padTo(int64(lba) * sector) }

// writeImage writes the ISO 9660 image of root to out.
func writeImage(out io.Writer, root *node) error {
	img, err := layout(root)
	if err != nil {
		return err
	}
	w := &writer{w: bufio.NewWriterSize(out, 1<<20)}
	steps := []func(*writer) error{img.writeDescriptors, img.writePathTables, img.writeDirectories, img.writeContinuations, img.writeFiles}
	for _, step := range steps {
		if err := step(w); err != nil {
			return err
		}
	}
	if err := w.sector(img.totalSectors); err != nil {
		return err
	}
	return w.w.Flush()
}

func (img *image) writeDescriptors(w *writer) error {
	pvd := make([]byte, sector)
	pvd[0] = 1
	copy(pvd[1:], "CD001")
	pvd[6] = 1
	fill := func(off, n int, s string) {
		copy(pvd[off:off+n], strings.Repeat(" ", n))
		copy(pvd[off:off+n], s)
	}
	fill(8, 32, "LINUX")
	fill(40, 32, "RUNNC_ROOTFS")
	copy(pvd[80:], both32(img.totalSectors))
	copy(pvd[120:], both16(1))
	copy(pvd[124:], both16(1))
	copy(pvd[128:], both16(sector))
	copy(pvd[132:], both32(img.pathTableSize))
	ptSectors := roundUp(img.pathTableSize) / sector
	binary.LittleEndian.PutUint32(pvd[140:], img.pathTableLBA)
	binary.BigEndian.PutUint32(pvd[148:], img.pathTableLBA+ptSectors)
	copy(pvd[156:], img.dirRecord(&record{n: img.root, id: []byte{0}, dir: true, su: &area{}, size: 34}))
	fill(190, 128, "")
	fill(318, 128, "")
	fill(446, 128, "")
	fill(574, 128, "RUNNC")
	fill(702, 37, "")
	fill(739, 37, "")
	fill(776, 37, "")
	copy(pvd[813:], volumeDate(img.date))
	copy(pvd[830:], volumeDate(img.date))
	copy(pvd[847:], volumeDate(time.Time{}))
	copy(pvd[864:], volumeDate(time.Time{}))
	pvd[881] = 1
	if err := w.sector(16); err != nil {
		return err
	}
	if err := w.write(pvd); err != nil {
		return err
	}
	term := make([]byte, sector)
	term[0] = 255
	copy(term[1:], "CD001")
	term[6] = 1
	return w.write(term)
}

func (img *image) writePathTables(w *writer) error {
	ptSectors := roundUp(img.pathTableSize) / sector
	for i, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if err := w.sector(img.pathTableLBA + uint32(i)*ptSectors); err != nil {
			return err
		}
		for _, d := range img.dirs {
			id := pathID(d)
			rec := make([]byte, pathRecordLen(d))
			rec[0] = byte(len(id))
			order.PutUint32(rec[2:], d.lba)
			order.PutUint16(rec[6:], parentOf(d).number)
			copy(rec[8:], id)
			if err := w.write(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func (img *image) dirRecord(r *record) []byte {
	b := make([]byte, r.size)
	b[0] = byte(r.size)
	ext := r.n.extent()
	var lba, size uint32
	if r.dir {
		lba, size = ext.lba, ext.dirSize
	} else if ext.size > 0 {
		lba, size = ext.lba, uint32(ext.size)
	}
	copy(b[2:], both32(lba))
	copy(b[10:], both32(size))
	copy(b[18:], recordDate(r.n.mtime))
	if r.dir {
		b[25] = 0x02
	}
	copy(b[28:], both16(1))
	b[32] = byte(len(r.id))
	copy(b[33:], r.id)
	off := 33 + len(r.id) + 1 - len(r.id)%2
	img.putArea(b[off:], r.su)
	return b
}

// putArea writes an area's entries, and the CE entry to the next one.
func (img *image) putArea(b []byte, a *area) {
	off := 0
	for _, e := range a.entries {
		off += copy(b[off:], e)
	}
	if a.next != nil {
		n := a.next
		lba := img.contLBA + n.offset/sector
		copy(b[off:], entry("CE", both32(lba), both32(n.offset%sector), both32(uint32(n.len()))))
	}
}

func (img *image) writeDirectories(w *writer) error {
	for _, d := range img.dirs {
		if err := w.sector(d.lba); err != nil {
			return err
		}
		start := int64(d.lba) * sector
		for _, r := range img.records[d] {
			if (w.pos-start)%sector+int64(r.size) > sector {
				if err := w.padTo(w.pos + sector - (w.pos-start)%sector); err != nil {
					return err
				}
			}
			if err := w.write(img.dirRecord(r)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (img *image) writeContinuations(w *writer) error {
	for _, a := range img.cont {
		if err := w.padTo(int64(img.contLBA)*sector + int64(a.offset)); err != nil {
			return err
		}
		b := make([]byte, a.len())
		img.putArea(b, a)
		if err := w.write(b); err != nil {
			return err
		}
	}
	return nil
}

func (img *image) writeFiles(w *writer) error {
	for _, f := range img.files {
		if err := w.sector(f.lba); err != nil {
			return err
		}
		if f.data != nil {
			if err := w.write(f.data); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(w, f); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies exactly the size the scan saw: a file that changed
// size meanwhile would shift every extent after it.
func copyFile(w *writer, f *node) error {
	in, err := os.Open(f.source)
	if err != nil {
		return fmt.Errorf("open %s: %w", f.source, err)
	}
	defer in.Close()
	n, err := io.CopyN(w.w, in, f.size)
	w.pos += n
	if err == io.EOF {
		return fmt.Errorf("%s: shrank from %d to %d bytes while the image was written", f.source, f.size, n)
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", f.source, err)
	}
	return nil
}
