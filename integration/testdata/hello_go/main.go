// Command hello_go is the second floor of the hello benchmark: the start
// cost of any Go program, which runnc-spt pays before its own work.
package main

import "os"

func main() { os.Stdout.WriteString("Hello, World\n") }
