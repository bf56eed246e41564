// Package images embeds the built-in guest image definitions: one directory per image, its image.toml and
// the files it names (hooks, configuration), so that `cloonix-labd image build NAME` works from a binary
// installed anywhere. Package images (github.com/cloonix-go/cloonix/images) reads and builds them.
package images

import "embed"

// FS holds every image directory.
//
//go:embed */*
var FS embed.FS
