package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestPositionalArgsTakesLateFlags: flags after the first positional argument still count.
func TestPositionalArgsTakesLateFlags(t *testing.T) {
	var gotArgs []string
	var gotImage string
	var gotKeep bool
	app := &cli.App{Name: "cloonix-labd", Commands: []*cli.Command{{
		Name: "demo",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "keep"},
			&cli.StringFlag{Name: "image"},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			gotArgs, gotImage, gotKeep = args, c.String("image"), c.Bool("keep")
			return err
		},
	}}}
	cases := []struct {
		argv    []string
		args    string
		image   string
		keep    bool
		wantErr string
	}{
		{[]string{"demo", "cisco-ospf", "--image", "/x.qcow2"}, "cisco-ospf", "/x.qcow2", false, ""},
		{[]string{"demo", "--keep", "ospf"}, "ospf", "", true, ""},
		{[]string{"demo", "ospf", "--keep", "--image=/y"}, "ospf", "/y", true, ""},
		{[]string{"demo", "ospf", "--", "--keep"}, "ospf --keep", "", false, ""},
		{[]string{"demo", "ospf", "--bogus"}, "", "", false, "unknown flag --bogus"},
		{[]string{"demo", "ospf", "--image"}, "", "", false, "needs a value"},
	}
	for _, c := range cases {
		gotArgs, gotImage, gotKeep = nil, "", false
		err := app.Run(append([]string{"cloonix-labd"}, c.argv...))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%v: err %v, want %q", c.argv, err, c.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(gotArgs, " ") != c.args || gotImage != c.image || gotKeep != c.keep {
			t.Errorf("%v: args %q image %q keep %v err %v", c.argv, gotArgs, gotImage, gotKeep, err)
		}
	}
}
