package lab

import "github.com/cloonix-go/cloonix/tomlfile"

// Problem is one thing wrong with a lab file, at the position of the offending key or value; it prints as
// "lab.toml:LINE:COL: what is wrong; how to fix it". It is package tomlfile's.
type Problem = tomlfile.Problem

// ValidationError holds every problem found in a lab file, in file order. It is package tomlfile's.
type ValidationError = tomlfile.ValidationError
