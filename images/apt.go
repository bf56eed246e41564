package images

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// sbinDirs hold system tools (mkfs.ext4) that an ordinary user's PATH on Debian lacks.
var sbinDirs = []string{"/usr/sbin", "/sbin"}

// lookTool finds an external tool on PATH, else in the sbin directories.
func lookTool(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if fi, serr := os.Stat(p); serr == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", err
}

// runTool runs an external tool and folds its stderr into the error.
func runTool(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	path, err := lookTool(name)
	if err != nil {
		return nil, fmt.Errorf("%s not found in PATH or %s (install it: apt-get install %s): %w", name, strings.Join(sbinDirs, ", "), toolPackage(name), err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 600 {
			msg = msg[len(msg)-600:]
		}
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return out, nil
}

func toolPackage(tool string) string {
	switch tool {
	case "apt-get", "apt-cache":
		return "apt"
	case "dpkg-deb":
		return "dpkg"
	case "mkfs.ext4":
		return "e2fsprogs"
	case "qemu-img":
		return "qemu-utils"
	}
	return tool
}

// parsePolicy reads `apt-cache policy P...` output into package → candidate version.
func parsePolicy(out []byte) map[string]string {
	res := map[string]string{}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line != "" && line[0] != ' ' && strings.HasSuffix(line, ":") {
			cur = strings.TrimSuffix(line, ":")
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok && cur != "" {
			res[cur] = strings.TrimSpace(v)
		}
	}
	return res
}

// candidates resolves the candidate version of each package.
func candidates(ctx context.Context, pkgs []string) (map[string]string, error) {
	out, err := runTool(ctx, "", "apt-cache", append([]string{"policy"}, pkgs...)...)
	if err != nil {
		return nil, fmt.Errorf("resolve package versions: %w", err)
	}
	pol := parsePolicy(out)
	var missing []string
	for _, p := range pkgs {
		if v := pol[p]; v == "" || v == "(none)" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("package(s) %s not found by apt-cache policy; check the apt sources and run apt-get update", strings.Join(missing, ", "))
	}
	return pol, nil
}

// kernelPackage follows a kernel metapackage (linux-image-cloud-amd64) at a
// version to the linux-image-* package it depends on, and that package's
// version (from an "= VERSION" constraint, else apt-cache policy).
func kernelPackage(ctx context.Context, meta, version string) (pkg, pkgVersion string, err error) {
	out, err := runTool(ctx, "", "apt-cache", "show", meta+"="+version)
	if err != nil {
		return "", "", fmt.Errorf("kernel package %s: %w", meta, err)
	}
	dep, depVersion := parseKernelDepends(out)
	if dep == "" {
		return meta, version, nil // already a real kernel package
	}
	if depVersion == "" {
		v, err := candidates(ctx, []string{dep})
		if err != nil {
			return "", "", fmt.Errorf("kernel package %s: %w", meta, err)
		}
		depVersion = v[dep]
	}
	return dep, depVersion, nil
}

// parseKernelDepends finds the first linux-image-* dependency in apt-cache
// show output, with its version if it is pinned by "(= VERSION)".
func parseKernelDepends(out []byte) (pkg, version string) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		deps, ok := strings.CutPrefix(sc.Text(), "Depends:")
		if !ok {
			continue
		}
		for _, d := range strings.Split(deps, ",") {
			for _, alt := range strings.Split(d, "|") {
				f := strings.Fields(strings.NewReplacer("(", " ( ", ")", " ) ").Replace(alt))
				if len(f) == 0 || !strings.HasPrefix(f[0], "linux-image-") {
					continue
				}
				if len(f) >= 5 && f[1] == "(" && f[2] == "=" && f[4] == ")" {
					return f[0], f[3]
				}
				return f[0], ""
			}
		}
		return "", ""
	}
	return "", ""
}

// debFile finds an already downloaded .deb of pkg at version in dir.
func debFile(dir, pkg, version string) string {
	esc := strings.ReplaceAll(version, ":", "%3a")
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_"+esc+"_*.deb"))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// download fetches each pkg=version into dir (skipping ones already there) and
// returns package → .deb path.
func download(ctx context.Context, dir string, versions map[string]string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("deb cache: %w", err)
	}
	var want []string
	for p, v := range versions {
		if debFile(dir, p, v) == "" {
			want = append(want, p+"="+v)
		}
	}
	if len(want) > 0 {
		args := []string{"download", "-q"}
		if os.Getuid() == 0 {
			// apt would warn that its _apt user cannot write here, then run as root anyway.
			args = append(args, "-o", "APT::Sandbox::User=root")
		}
		if _, err := runTool(ctx, dir, "apt-get", append(args, want...)...); err != nil {
			return nil, fmt.Errorf("download packages: %w", err)
		}
	}
	res := map[string]string{}
	for p, v := range versions {
		f := debFile(dir, p, v)
		if f == "" {
			return nil, errors.New("apt-get download did not leave " + p + "_" + v + "_*.deb in " + dir)
		}
		res[p] = f
	}
	return res, nil
}

// extract unpacks a .deb into dir with dpkg-deb -x.
func extract(ctx context.Context, deb, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("extract %s: %w", filepath.Base(deb), err)
	}
	if _, err := runTool(ctx, "", "dpkg-deb", "-x", deb, dir); err != nil {
		return fmt.Errorf("extract %s: %w", filepath.Base(deb), err)
	}
	return nil
}
