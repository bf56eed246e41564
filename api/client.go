package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api/tunnel"

	"github.com/cloonix-go/cloonix/unixsock"
)

// Client talks to a lab daemon's API over its UNIX socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the daemon listening on socketPath.
func NewClient(socketPath string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return unixsock.Dial(ctx, socketPath) // our directory, our uid at the other end
		},
		MaxIdleConns:       2,
		DisableCompression: true,
	}
	return &Client{socket: socketPath, hc: &http.Client{Transport: tr}}
}

// Lab describes the lab.
func (c *Client) Lab(ctx context.Context) (LabInfo, error) {
	var v LabInfo
	err := c.do(ctx, http.MethodGet, "lab", &v)
	return v, err
}

// VMs lists the lab's VMs.
func (c *Client) VMs(ctx context.Context) ([]VMStatus, error) {
	var v []VMStatus
	err := c.do(ctx, http.MethodGet, "vms", &v)
	return v, err
}

// Leases lists the current DHCP leases.
func (c *Client) Leases(ctx context.Context) ([]Lease, error) {
	var v []Lease
	err := c.do(ctx, http.MethodGet, "leases", &v)
	return v, err
}

// Keys returns the lab's SSH key pairs.
func (c *Client) Keys(ctx context.Context) (LabKeys, error) {
	var v LabKeys
	err := c.do(ctx, http.MethodGet, "keys", &v)
	return v, err
}

// Down asks the daemon to stop the lab. It returns once the daemon has
// accepted; the socket goes away when the daemon has stopped.
func (c *Client) Down(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "down", nil)
}

// SetLink takes a VM's NIC link down or up (both the guest's carrier and the LAN port).
func (c *Client) SetLink(ctx context.Context, vm, nic string, up bool) error {
	return c.doBody(ctx, http.MethodPost, "link", LinkRequest{VM: vm, NIC: nic, Up: up}, nil)
}

// VMAction stops (VMStop) or starts (VMStart) one VM of the lab and returns its status after the action: a
// started VM is booting, and VMs follows it to running.
func (c *Client) VMAction(ctx context.Context, vm, action string) (VMStatus, error) {
	var v VMStatus
	err := c.doBody(ctx, http.MethodPost, "vm", VMRequest{VM: vm, Action: action}, &v)
	return v, err
}

// Impair sets or clears impairments on a VM's NIC and returns its link as it is now.
func (c *Client) Impair(ctx context.Context, req ImpairRequest) (LinkStatus, error) {
	var v LinkStatus
	err := c.doBody(ctx, http.MethodPost, "impair", req, &v)
	return v, err
}

// Links lists every VM NIC's link: state, impairments, counters.
func (c *Client) Links(ctx context.Context) ([]LinkStatus, error) {
	var v []LinkStatus
	err := c.do(ctx, http.MethodGet, "links", &v)
	return v, err
}

// Fault adds or clears scheduled faults and returns those scheduled after it.
func (c *Client) Fault(ctx context.Context, req FaultRequest) ([]FaultStatus, error) {
	var v []FaultStatus
	err := c.doBody(ctx, http.MethodPost, "fault", req, &v)
	return v, err
}

// Faults lists the scheduled faults.
func (c *Client) Faults(ctx context.Context) ([]FaultStatus, error) {
	var v []FaultStatus
	err := c.do(ctx, http.MethodGet, "faults", &v)
	return v, err
}

// Connect opens a tunnel to host:port through entity (see package tunnel).
// A refusal is a *tunnel.Error carrying the status and reason.
func (c *Client) Connect(ctx context.Context, entity, host string, port uint16) (net.Conn, error) {
	conn, err := tunnel.Connect(ctx, c.socket, entity, host, port)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// Stream opens a streamed answer (path with its query, e.g. "/v1/capture?target=lan12"); read it until EOF
// and close it to stop. A refusal is a *tunnel.Error; ctx bounds the request, not the stream.
func (c *Client) Stream(ctx context.Context, path string) (net.Conn, error) {
	conn, err := tunnel.Get(ctx, c.socket, path)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// CapturePath is the API path of a capture of targets (LANs, VM:NIC), starting last ago (0: now).
func CapturePath(targets []string, last time.Duration) string {
	q := url.Values{"target": targets}
	if last > 0 {
		q.Set("last", last.String())
	}
	return "/" + Version + "/capture?" + q.Encode()
}

// Capture streams pcapng of the targets, from last ago (0: from now): read it until EOF, close it to stop.
func (c *Client) Capture(ctx context.Context, targets []string, last time.Duration) (net.Conn, error) {
	return c.Stream(ctx, CapturePath(targets, last))
}

// do performs one request; an error status becomes a *tunnel.Error with the
// daemon's one-line reason.
func (c *Client) do(ctx context.Context, method, endpoint string, out any) error {
	return c.doBody(ctx, method, endpoint, nil, out)
}

// doBody is do with a JSON request body (none if in is nil).
func (c *Client) doBody(ctx context.Context, method, endpoint string, in, out any) error {
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("api: encode request: %w", err)
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://cloonix/"+Version+"/"+endpoint, reqBody)
	if err != nil {
		return fmt.Errorf("api: build request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("api: %s %s on %s: %w", method, endpoint, c.socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("api: read %s response: %w", endpoint, err)
	}
	if resp.StatusCode >= 300 {
		reason := strings.TrimSpace(string(body))
		if reason == "" {
			reason = resp.Status
		}
		return &tunnel.Error{Status: resp.StatusCode, Reason: oneLine(reason)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("api: decode %s response: %w", endpoint, err)
	}
	return nil
}
