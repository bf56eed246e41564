// Command cloonix-vsock-bridge runs in the project's guest images: it listens on a vsock port (22) and
// copies each stream to a TCP port of the guest itself (127.0.0.1:22, sshd), so the host reaches the guest's
// sshd over virtio-vsock even when the guest's network is down (`cloonix-proxy LAB vsock VM`). It is built
// static (CGO_ENABLED=0) and copied into the image by the image builder.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/mdlayher/vsock"

	"github.com/cloonix-go/cloonix/relay"
)

func main() {
	port := flag.Uint("port", 22, "the vsock port to listen on")
	to := flag.String("to", "127.0.0.1:22", "the TCP address in the guest each stream goes to")
	flag.Parse()
	l, err := listen(uint32(*port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cloonix-vsock-bridge:", err)
		os.Exit(1)
	}
	log.Printf("cloonix-vsock-bridge: vsock port %d -> %s", *port, *to)
	for {
		c, err := l.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go func() {
			t, err := net.DialTimeout("tcp", *to, 10*time.Second)
			if err != nil {
				log.Printf("dial %s: %v", *to, err)
				c.Close()
				return
			}
			relay.Both(c, t)
		}()
	}
}

// listen listens on the vsock port, waiting for the transport (the virtio driver loads at boot).
func listen(port uint32) (net.Listener, error) {
	var err error
	for i := 0; i < 100; i++ {
		var l net.Listener
		if l, err = vsock.Listen(port, nil); err == nil {
			return l, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("listen on vsock port %d: %w", port, err)
}
