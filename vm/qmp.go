package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// This is a small QMP client of our own rather than github.com/digitalocean/go-qemu/qmp's
// SocketMonitor, because SocketMonitor (as of v0.0.0-20250212) takes no context (a command to a
// hung qemu blocks forever, and so does the greeting read), delivers events on an unbuffered
// channel that, once subscribed, stalls command replies whenever the subscriber is slow, and
// matches replies to commands by order rather than by id. Here every call takes a context,
// replies are matched by "id", and events go to a bounded buffer that drops (and counts) when
// nobody reads.

// Event is an asynchronous QMP event such as SHUTDOWN or NETDEV_STREAM_CONNECTED.
type Event struct {
	Name string          `json:"event"`
	Data json.RawMessage `json:"data,omitempty"`
	Time time.Time       `json:"-"`
}

// QMPError is an error answer from qemu.
type QMPError struct {
	Command string
	Class   string
	Desc    string
}

// Error returns "qmp COMMAND: CLASS: DESCRIPTION".
func (e *QMPError) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}

// ErrQMPClosed is returned for commands on a closed or broken QMP connection.
var ErrQMPClosed = errors.New("qmp connection closed")

// QMP is a connection to one qemu's QMP socket. It is safe for concurrent use.
type QMP struct {
	conn    net.Conn
	version string

	wmu     sync.Mutex
	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan qmpReply
	closed  bool
	err     error

	events  chan Event
	dropped atomic.Uint64
	done    chan struct{}
}

type qmpReply struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

type qmpMessage struct {
	qmpReply
	ID        *uint64         `json:"id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp"`
}

// eventBuffer is how many events wait for a reader before new ones are dropped.
const eventBuffer = 256

// DialQMP connects to the QMP socket at path, reads the greeting and negotiates capabilities.
// Without a deadline in ctx the handshake is bounded by 5 seconds.
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("qmp dial %s: %w", path, err)
	}
	dl, _ := ctx.Deadline()
	_ = conn.SetReadDeadline(dl)
	dec := json.NewDecoder(conn)
	var greeting struct {
		QMP *struct {
			Version struct {
				QEMU struct{ Major, Minor, Micro int } `json:"qemu"`
			} `json:"version"`
		} `json:"QMP"`
	}
	if err := dec.Decode(&greeting); err != nil {
		conn.Close()
		return nil, fmt.Errorf("qmp %s: read greeting: %w", path, err)
	}
	if greeting.QMP == nil {
		conn.Close()
		return nil, fmt.Errorf("qmp %s: no QMP greeting; is this a QMP socket?", path)
	}
	_ = conn.SetReadDeadline(time.Time{})
	v := greeting.QMP.Version.QEMU
	q := &QMP{
		conn:    conn,
		version: fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro),
		pending: map[uint64]chan qmpReply{},
		events:  make(chan Event, eventBuffer),
		done:    make(chan struct{}),
	}
	go q.read(dec)
	if _, err := q.Execute(ctx, "qmp_capabilities", nil); err != nil {
		q.Close()
		return nil, fmt.Errorf("qmp %s: %w", path, err)
	}
	return q, nil
}

// Version is qemu's version from the QMP greeting, e.g. "7.2.22".
func (q *QMP) Version() string { return q.version }

func (q *QMP) read(dec *json.Decoder) {
	var err error
	for {
		var m qmpMessage
		if err = dec.Decode(&m); err != nil {
			break
		}
		if m.Event != "" {
			ev := Event{Name: m.Event, Data: m.Data,
				Time: time.Unix(m.Timestamp.Seconds, m.Timestamp.Microseconds*1000)}
			select {
			case q.events <- ev:
			default:
				q.dropped.Add(1)
			}
			continue
		}
		if m.ID == nil {
			continue // a reply we did not ask for; ignore it
		}
		q.mu.Lock()
		ch := q.pending[*m.ID]
		delete(q.pending, *m.ID)
		q.mu.Unlock()
		if ch != nil {
			ch <- m.qmpReply
		}
	}
	q.mu.Lock()
	q.closed = true
	q.err = err
	q.mu.Unlock()
	close(q.done)
	close(q.events)
}

// Execute runs a QMP command with optional arguments and returns its "return" value.
func (q *QMP) Execute(ctx context.Context, cmd string, args any) (json.RawMessage, error) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, fmt.Errorf("qmp %s: %w", cmd, ErrQMPClosed)
	}
	q.nextID++
	id := q.nextID
	ch := make(chan qmpReply, 1)
	q.pending[id] = ch
	q.mu.Unlock()
	forget := func() {
		q.mu.Lock()
		delete(q.pending, id)
		q.mu.Unlock()
	}

	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
		ID        uint64 `json:"id"`
	}{cmd, args, id}
	b, err := json.Marshal(req)
	if err != nil {
		forget()
		return nil, fmt.Errorf("qmp %s: encode arguments: %w", cmd, err)
	}
	q.wmu.Lock()
	dl, _ := ctx.Deadline()
	_ = q.conn.SetWriteDeadline(dl)
	_, err = q.conn.Write(append(b, '\n'))
	q.wmu.Unlock()
	if err != nil {
		forget()
		return nil, fmt.Errorf("qmp %s: send: %w", cmd, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return nil, &QMPError{Command: cmd, Class: r.Error.Class, Desc: r.Error.Desc}
		}
		return r.Return, nil
	case <-q.done:
		forget()
		return nil, fmt.Errorf("qmp %s: %w", cmd, ErrQMPClosed)
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("qmp %s: %w", cmd, ctx.Err())
	}
}

// Status returns the run state from query-status, e.g. "running", "paused", "shutdown".
func (q *QMP) Status(ctx context.Context) (string, error) {
	raw, err := q.Execute(ctx, "query-status", nil)
	if err != nil {
		return "", err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return "", fmt.Errorf("qmp query-status: %w", err)
	}
	return st.Status, nil
}

// SetLink sets the link of NIC netdevID up or down, as the guest sees it.
func (q *QMP) SetLink(ctx context.Context, netdevID string, up bool) error {
	_, err := q.Execute(ctx, "set_link", map[string]any{"name": netdevID, "up": up})
	return err
}

// Powerdown asks the guest to power off (ACPI power button). The guest may ignore it.
func (q *QMP) Powerdown(ctx context.Context) error {
	_, err := q.Execute(ctx, "system_powerdown", nil)
	return err
}

// Quit makes qemu exit at once. A connection closed by the exiting qemu counts as success.
func (q *QMP) Quit(ctx context.Context) error {
	_, err := q.Execute(ctx, "quit", nil)
	if errors.Is(err, ErrQMPClosed) {
		return nil
	}
	return err
}

// Events returns the event channel. It is closed when the connection ends. Events that arrive
// while the buffer is full are dropped and counted (see Dropped).
func (q *QMP) Events() <-chan Event { return q.events }

// Dropped is how many events were dropped because nobody read Events.
func (q *QMP) Dropped() uint64 { return q.dropped.Load() }

// Done is closed when the connection ends (qemu exited or Close was called).
func (q *QMP) Done() <-chan struct{} { return q.done }

// Close closes the connection.
func (q *QMP) Close() error {
	err := q.conn.Close()
	<-q.done
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("qmp close: %w", err)
	}
	return nil
}
