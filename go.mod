module github.com/runnc/runnc

go 1.26.8

require golang.org/x/sys v0.50.0

require (
	github.com/urfave/cli v1.22.17
	golang.org/x/net v0.62.0
)

require (
	github.com/cpuguy83/go-md2man/v2 v2.0.7 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
)
