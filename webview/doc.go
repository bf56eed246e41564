// Package webview is `cloonix-labd web`: a local web page that draws a running lab (package topology's
// graph) and keeps it live from the daemon's event stream and switch counters, with actions (link down/up,
// impairments, captures, VM stop/start) and a VM's serial console in the page over a websocket. It is a
// client of the labs' APIs like the CLI; every request needs the token the server was started with, and the
// server answers only requests addressed to a loopback name (no DNS rebinding). The page is the front-end
// that scripts/setup.sh builds from webview/ui into webview/dist, embedded here.
package webview
