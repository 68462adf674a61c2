package hap

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ContainerPid returns the pid of a container's init from the state the
// runtime keeps in ROOT/ID/state.json (libcontainer's layout, which runnc
// and runc share: "init_process_pid"). With root /run/runc it finds runc's
// containers too.
func ContainerPid(root, id string) (int, error) {
	if id == "" || filepath.Base(id) != id {
		return 0, fmt.Errorf("container id %q: not a plain name", id)
	}
	path := filepath.Join(root, id, "state.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("container %s: %w", id, err)
	}
	var st struct {
		Pid int `json:"init_process_pid"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return 0, fmt.Errorf("container %s: %s: %w", id, path, err)
	}
	if st.Pid <= 0 {
		return 0, fmt.Errorf("container %s: no init pid in %s (not started?)", id, path)
	}
	return st.Pid, nil
}
