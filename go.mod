module github.com/runnc/runnc

go 1.26.8

require golang.org/x/sys v0.50.0

require (
	github.com/vishvananda/netlink v1.3.1
	golang.org/x/net v0.62.0
)

require github.com/vishvananda/netns v0.0.5 // indirect
