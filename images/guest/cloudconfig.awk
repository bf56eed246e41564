# cloudconfig.awk: reads a NoCloud meta-data (-v mode=meta) or a #cloud-config
# user-data (-v mode=user) file and prints one command a line for day0:
#   meta-KEY VALUE            meta-data scalars (instance-id, local-hostname)
#   hostname NAME | fqdn NAME
#   rootkey KEY               top-level ssh_authorized_keys (for root)
#   user NAME | ushell NAME SHELL | ugroups NAME G1,G2 | ukey NAME KEY
#   runcmd SHELL-LINE
#   wbegin PERM PATH, then wline TEXT (a line) or wtext TEXT (no newline), wend
#   note TEXT                 what was ignored
# Supported YAML subset: top-level "key: value" scalars ('..' and ".." quotes
# stripped); block lists ("- item") and flow lists ([a, b]) of scalars; list
# items that are mappings (users, write_files) with scalar keys, a nested
# ssh_authorized_keys list, and "|" block scalars for write_files content.
# Anchors, multi-documents, folded ">" scalars and nested flow maps are not.
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function unq(s) {
	s = trim(s)
	if (s ~ /^".*"$/ || s ~ /^'.*'$/) s = substr(s, 2, length(s) - 2)
	return s
}
function indent(s) { match(s, /^ */); return RLENGTH }
# flow list "[a, b]" -> n items in FL[]
function flow(s,   n, i, parts) {
	s = trim(s); sub(/^\[/, "", s); sub(/\]$/, "", s)
	n = split(s, parts, ",")
	for (i = 1; i <= n; i++) FL[i] = unq(parts[i])
	return n
}
function flush_item(   i) {
	if (item == "users") {
		if (U["name"] == "") { if (U["any"]) print "note users item without name ignored" }
		else {
			print "user " U["name"]
			if (U["shell"] != "") print "ushell " U["name"] " " U["shell"]
			if (U["groups"] != "") print "ugroups " U["name"] " " U["groups"]
			for (i = 1; i <= nuk; i++) print "ukey " U["name"] " " UK[i]
		}
	} else if (item == "write_files") {
		if (W["path"] == "") print "note write_files item without path ignored"
		else {
			print "wbegin " (W["permissions"] == "" ? "-" : W["permissions"]) " " W["path"]
			if (W["block"]) for (i = 1; i <= nwl; i++) print "wline " WL[i]
			else if (W["content"] != "") print "wtext " W["content"]
			print "wend"
		}
	}
	item = ""; split("", U); split("", UK); nuk = 0; split("", W); split("", WL); nwl = 0
	sub_ = ""; blk = 0
}
function item_key(k, v,   n, i) {
	if (section == "users") {
		U["any"] = 1
		if (k == "name" || k == "shell") U[k] = unq(v)
		else if (k == "groups") {
			if (trim(v) ~ /^\[/) { n = flow(v); v = ""; for (i = 1; i <= n; i++) v = v (i > 1 ? "," : "") FL[i] }
			v = unq(v); gsub(/[ \t]/, "", v); U["groups"] = v
		} else if (k == "ssh_authorized_keys" || k == "ssh-authorized-keys") {
			if (trim(v) ~ /^\[/) { n = flow(v); for (i = 1; i <= n; i++) UK[++nuk] = FL[i] }
			else sub_ = "keys"
		} else print "note users: key " k " ignored"
	} else if (section == "write_files") {
		if (k == "path" || k == "permissions") W[k] = unq(v)
		else if (k == "content") {
			v = trim(v)
			if (v ~ /^\|/) { W["block"] = 1; blk = 1; blkind = -1 }
			else W["content"] = unq(v)
		} else print "note write_files: key " k " ignored"
	}
}
BEGIN { section = ""; item = ""; blk = 0; nuk = 0; nwl = 0 }
{ sub(/\r$/, "") }
# block scalar content (write_files content: |)
blk {
	if ($0 ~ /^[ \t]*$/) { WL[++nwl] = ""; next }
	ind = indent($0)
	if (blkind < 0) blkind = ind
	if (ind >= blkind && ind > itemind) { WL[++nwl] = substr($0, blkind + 1); next }
	# strip trailing blank lines kept while scanning
	while (nwl > 0 && WL[nwl] == "") nwl--
	blk = 0
}
/^[ \t]*#/ || /^[ \t]*$/ { next }
mode == "meta" {
	if (match($0, /^[A-Za-z0-9_-]+:/)) {
		k = substr($0, 1, RLENGTH - 1); v = unq(substr($0, RLENGTH + 1))
		if (v != "") print "meta-" k " " v
	}
	next
}
indent($0) == 0 && !(section != "" && $0 ~ /^-( |$)/) {
	flush_item()
	section = ""
	if (!match($0, /^[A-Za-z0-9_-]+:/)) { print "note unparsed line ignored"; next }
	k = substr($0, 1, RLENGTH - 1); v = trim(substr($0, RLENGTH + 1))
	if (k == "hostname" || k == "fqdn") { if (unq(v) != "") print k " " unq(v); next }
	if (k == "ssh_authorized_keys" || k == "runcmd" || k == "users" || k == "write_files") {
		if (v ~ /^\[/) {
			n = flow(v)
			for (i = 1; i <= n; i++) {
				if (k == "ssh_authorized_keys") print "rootkey " FL[i]
				else if (k == "runcmd") print "runcmd " FL[i]
				else print "note " k ": flow items ignored"
			}
		} else if (v == "") section = k
		else print "note " k ": not a list, ignored"
		next
	}
	print "note unknown key " k " ignored"
	next
}
section == "" { next }
{
	ind = indent($0); line = trim($0)
	if (line ~ /^- / || line == "-") {
		rest = trim(substr(line, 2))
		if (sub_ == "keys" && ind > itemind) { UK[++nuk] = unq(rest); next }
		if (section == "ssh_authorized_keys") { print "rootkey " unq(rest); next }
		if (section == "runcmd") {
			if (rest ~ /^\[/) { print "note runcmd: list-form command ignored (use a string)"; next }
			print "runcmd " unq(rest); next
		}
		flush_item(); item = section; itemind = ind
		if (rest == "") next
		if (match(rest, /^[A-Za-z0-9_-]+:/)) {
			item_key(substr(rest, 1, RLENGTH - 1), substr(rest, RLENGTH + 1))
		} else if (section == "users" && unq(rest) == "default") {
			# cloud-init's default user: nothing to do here
		} else print "note " section ": item " unq(rest) " ignored"
		next
	}
	if (item != "" && match(line, /^[A-Za-z0-9_-]+:/)) {
		sub_ = ""
		item_key(substr(line, 1, RLENGTH - 1), substr(line, RLENGTH + 1))
		next
	}
	print "note unparsed line in " section " ignored"
}
END { if (blk) while (nwl > 0 && WL[nwl] == "") nwl--; flush_item() }
