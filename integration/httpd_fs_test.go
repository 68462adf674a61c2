package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// withSymlinks adds symlinks of every kind to a site, and a file just
// outside it (secret.txt, next to the site's directory) that a link
// climbing out of the root would reach on the host.
func withSymlinks(tb testing.TB, s *httpdSite) {
	if err := os.WriteFile(filepath.Join(s.dir, "..", "secret.txt"), []byte("outside the site\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	for link, target := range map[string]string{
		"link-file.bin":         "1k.bin",
		"sub/up.css":            "../style.css",
		"linkdir":               "sub",
		"chain":                 "link-file.bin",
		"sub/deeper/index.html": "../../index.html", // a directory's index through a link
		"loop1":                 "loop2",
		"loop2":                 "loop1",
		"dangling":              "nowhere.txt",
		"sub/escape.txt":        "../../secret.txt",
		"updir":                 "..",
		"abs.html":              "/sub/index.html",
		"abs-out.html":          "/../secret.txt",
	} {
		if err := os.Symlink(target, filepath.Join(s.dir, link)); err != nil {
			tb.Fatal(err)
		}
	}
}

// Symlinks in the image (issue 11: one got 200 and an empty body): the
// guest follows those that stay inside the image and refuses the others,
// with images written by genisoimage and by runnc/rootfs (as the runtime
// makes them). nginx serves the same tree from the host: where a link
// stays inside the site both answer alike; nginx follows links out of its
// root (its default, disable_symlinks off) and resolves absolute targets
// on the host, which the guest must not do.
func TestHostileHTTPDSymlinks(t *testing.T) {
	cases := []struct {
		path   string
		status int
		file   string // the file whose bytes a 200 carries
		nginx  bool   // nginx answers the same
	}{
		{"/link-file.bin", 200, "/1k.bin", true},
		{"/sub/up.css", 200, "/style.css", true},
		{"/linkdir", 301, "", true},
		{"/linkdir/", 200, "/sub/index.html", true},
		{"/linkdir/deeper/data.json", 200, "/sub/deeper/data.json", true},
		{"/chain", 200, "/1k.bin", true},
		{"/sub/deeper/", 200, "/index.html", true},
		{"/loop1", 403, "", true},
		{"/loop2/x", 403, "", true},
		{"/dangling", 404, "", true},
		{"/sub/escape.txt", 403, "", false}, // nginx: 200, the file outside its root
		{"/updir/secret.txt", 403, "", false},
		{"/abs.html", 200, "/sub/index.html", false}, // nginx: the host's /sub/index.html
		{"/abs-out.html", 403, "", false},
	}
	for _, writer := range []string{"genisoimage", "runnc"} {
		t.Run(writer, func(t *testing.T) {
			site := makeHTTPDSite(t, withSymlinks, func(tb testing.TB, s *httpdSite) { s.runncImage = writer == "runnc" })
			e := startHTTPDSite(t, site)
			servers := []struct{ name, base string }{{"guest", e.base}}
			if writer == "genisoimage" {
				startNginx(t, e.net, site.dir)
				servers = append(servers, struct{ name, base string }{"nginx", "http://" + e.net.HostIP})
			}
			for _, c := range cases {
				for _, s := range servers {
					r := e.curl(t, s.base+c.path)
					if s.name == "nginx" && !c.nginx {
						t.Logf("nginx %s: %d (the guest must answer %d)", c.path, r.status, c.status)
						continue
					}
					if r.status != c.status {
						t.Errorf("%s %s: %d, want %d", s.name, c.path, r.status, c.status)
						continue
					}
					sum := sha256.Sum256(r.body)
					if c.file != "" && (r.header.Get("Content-Length") != strconv.Itoa(site.sizes[c.file]) || hex.EncodeToString(sum[:]) != site.sums[c.file]) {
						t.Errorf("%s %s: Content-Length %q and %d bytes, want the %d bytes of %s",
							s.name, c.path, r.header.Get("Content-Length"), len(r.body), site.sizes[c.file], c.file)
					}
				}
			}
			// A range of a file through a link, validators of the file.
			r := e.curl(t, e.base+"/chain", "-H", "Range: bytes=0-9")
			direct := e.curl(t, e.base+"/1k.bin")
			if r.status != 206 || r.header.Get("ETag") != direct.header.Get("ETag") || string(r.body) != string(direct.body[:10]) {
				t.Errorf("guest /chain Range 0-9: %d, ETag %q (file's %q), %d bytes", r.status, r.header.Get("ETag"), direct.header.Get("ETag"), len(r.body))
			}
			e.get(t, "/index.html")
		})
	}
}
