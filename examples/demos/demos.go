// Package demos embeds the built-in demos (one directory each: steps.toml, the lab file and the files it
// pushes), so that `cloonix-labd demo` works from a binary installed anywhere. Package demo plays them.
package demos

import "embed"

// FS holds every demo directory.
//
//go:embed */*
var FS embed.FS
