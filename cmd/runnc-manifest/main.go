// Command runnc-manifest compiles a guest's device manifest into an ELF
// note and reads it back from a built guest.
//
//	runnc-manifest gen MANIFEST.json OUT.c   write a C file defining the note
//	runnc-manifest dump GUEST.spt            print the manifest of a guest as JSON
package main

import (
	"debug/elf"
	"fmt"
	"os"

	"github.com/runnc/runnc/solo5/manifest"
)

const usage = `usage: runnc-manifest gen MANIFEST.json OUT.c
       runnc-manifest dump GUEST.spt`

func main() {
	args := os.Args[1:]
	var err error
	switch {
	case len(args) == 3 && args[0] == "gen":
		err = gen(args[1], args[2])
	case len(args) == 2 && args[0] == "dump":
		err = dump(args[1])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "runnc-manifest: %v\n", err)
		os.Exit(1)
	}
}

func gen(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	m, err := manifest.ParseJSON(data)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	// Write then rename, so make never sees half a file.
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, m.CSource(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func dump(path string) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	f, err := elf.NewFile(file)
	if err != nil {
		return fmt.Errorf("%s: not an ELF file: %w", path, err)
	}
	m, err := manifest.FromELF(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_, err = os.Stdout.Write(m.JSON())
	return err
}
