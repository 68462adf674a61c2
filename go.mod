module github.com/runnc/runnc

go 1.26.8

require golang.org/x/sys v0.50.0

require golang.org/x/net v0.62.0
