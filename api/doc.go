// Package api is the control protocol of one lab: HTTP/1.1 on the lab's UNIX
// socket. Management is JSON under /v1/ (GET /v1/lab, GET /v1/vms,
// GET /v1/leases, POST /v1/down, POST /v1/link). Tunnels are
// "CONNECT vm:port" requests with the entity named in the Cloonix-Via header;
// the server dials first and only then answers 200 and turns the connection
// into raw bytes, or answers an error status whose body is a one-line reason
// meant to be shown as is. The status comes from the error's kind (Errorf,
// StatusOf: one table).
//
// The daemon (package labd) implements Backend; the CLI uses Client; the
// ProxyCommand uses the tiny package api/tunnel, which does not import
// net/http.
package api
