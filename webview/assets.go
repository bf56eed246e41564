package webview

import (
	"embed"
	"errors"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// ErrNotBuilt is what New returns when the binary was built before the page was (webview/dist is empty).
var ErrNotBuilt = errors.New("this binary was built without its web page; in the cloonix checkout run scripts/setup.sh (it installs the page's npm packages and builds webview/dist), or: cd webview/ui && npm ci && npm run build, then go build again")

// assets returns the built page's files, or ErrNotBuilt.
func assets() (fs.FS, error) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return nil, ErrNotBuilt
	}
	return sub, nil
}
