package hostkit

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ReadmeBlock returns the fenced code block between <!-- NAME:begin -->
// and <!-- NAME:end --> in repo's README.
func ReadmeBlock(repo, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		return "", err
	}
	re := regexp.MustCompile("(?s)<!-- " + regexp.QuoteMeta(name) + ":begin -->\\s*```[a-z]*\\n(.*?)```\\s*<!-- " + regexp.QuoteMeta(name) + ":end -->")
	m := re.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("README has no %s:begin/%s:end block", name, name)
	}
	return string(m[1]), nil
}

// Installed rewrites the README's /usr/local install paths to prefix.
func Installed(s, prefix string) string { return strings.ReplaceAll(s, "/usr/local/", prefix+"/") }

// AddOption inserts line after the line of a TOML snippet that sets key,
// with that line's indentation.
func AddOption(snippet, key, line string) (string, error) {
	re := regexp.MustCompile(`(?m)^([ \t]*)` + key + `\s*=.*$`)
	loc := re.FindStringSubmatchIndex(snippet)
	if loc == nil {
		return "", fmt.Errorf("README containerd snippet sets no %s", key)
	}
	ind := snippet[loc[2]:loc[3]]
	return snippet[:loc[1]] + "\n" + ind + line + snippet[loc[1]:], nil
}

// Indent prefixes every non-empty line of s with by.
func Indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "\n")
}
