// Command ferretdb runs FerretDB 1.24 (the MongoDB wire protocol on SQLite) for Huying's local stack.
//
// It embeds FerretDB's library instead of building cmd/ferretdb: the upstream command refuses to
// start unless it was built from a git checkout with generated version files, and the embedded
// server never starts FerretDB's telemetry reporter (government networks must see no such traffic).
//
// FerretDB 1.24's SQLite backend applies an update as a read followed by a separate write, without
// a transaction, so two updates of one document from different connections can overwrite each
// other (measured: 400 concurrent $inc on one document left 177). The hub relies on single-document
// atomic updates, as MongoDB gives them. So clients connect to a small proxy in front of FerretDB
// that lets only one write command (insert, update, delete, findAndModify …) run at a time; reads
// pass freely. SQLite admits one writer at a time anyway, so little throughput is lost. The proxy
// also keeps conditional writes such as {_id, version} from scanning the collection (pushdown.go),
// and gives every collection the _id index its queries can use (idindex.go).
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteURL := flag.String("sqlite-url", "file:.data/ferretdb/", "SQLite URI of the data directory (must end with a slash)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("bad -log-level %q: %v", *logLevel, err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// FerretDB itself listens on a private Unix socket; only the proxy is reachable over TCP.
	socketDir, err := os.MkdirTemp("", "huying-ferretdb-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(socketDir)
	socket := filepath.Join(socketDir, "ferretdb.sock")

	server, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		<-ctx.Done()
		listener.Close()
	}()

	done := make(chan error, 1)
	go func() { done <- server.Run(ctx) }()

	logger.Info("ferretdb listening", "addr", *listen, "sqlite", *sqliteURL)
	p := &proxy{backend: socket, logger: logger}
	dir, err := dataDir(*sqliteURL)
	if err != nil {
		log.Fatal(err)
	}
	go p.keepIndexed(dir, 2*time.Second)
	for {
		client, err := listener.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			logger.Error("accept failed", "error", err)
			continue
		}
		go p.serve(client)
	}
	if err := <-done; err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

type proxy struct {
	backend string
	logger  *slog.Logger
	// writes lets one write command at a time reach FerretDB.
	writes sync.Mutex
	// lookup is the proxy's own connection for conditional writes (pushdown.go); used under writes.
	lookup net.Conn
}

const (
	opMsg        = 2013
	moreToCome   = 1 << 1
	headerLength = 16
	maxMessage   = 48 * 1024 * 1024
)

// Commands that change documents: each runs alone.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true, "findandmodify": true,
}

// readMessage reads one wire-protocol message: its full bytes.
func readMessage(r io.Reader) ([]byte, error) {
	var header [headerLength]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	length := int(int32(binary.LittleEndian.Uint32(header[0:4])))
	if length < headerLength || length > maxMessage {
		return nil, fmt.Errorf("bad message length %d", length)
	}
	msg := make([]byte, length)
	copy(msg, header[:])
	if _, err := io.ReadFull(r, msg[headerLength:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func opCode(msg []byte) int32 { return int32(binary.LittleEndian.Uint32(msg[12:16])) }

func flags(msg []byte) uint32 {
	if opCode(msg) != opMsg || len(msg) < headerLength+4 {
		return 0
	}
	return binary.LittleEndian.Uint32(msg[16:20])
}

// commandName is the first key of an OP_MSG body (section kind 0): the command.
func commandName(msg []byte) string {
	if opCode(msg) != opMsg || len(msg) < headerLength+4+1+4+2 {
		return ""
	}
	body := msg[headerLength+4:]
	if body[0] != 0 { // section kind 0 comes first in every command the drivers send
		return ""
	}
	doc := body[1:]
	// int32 document length, then the first element: type byte, then a NUL-terminated name.
	name := doc[5:]
	for i, b := range name {
		if b == 0 {
			return string(name[:i])
		}
	}
	return ""
}

func (p *proxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("unix", p.backend)
	if err != nil {
		p.logger.Error("cannot reach ferretdb", "error", err)
		return
	}
	defer server.Close()
	for {
		request, err := readMessage(client)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.logger.Debug("client read", "error", err)
			}
			return
		}
		name := commandName(request)
		started := time.Now()
		var waited time.Duration
		if refusal := tooManyStatements(request, name); refusal != nil {
			_, err = client.Write(refusal)
		} else if writeCommands[name] {
			waited, err = p.write(request, client, server)
		} else {
			err = p.roundTrip(request, client, server)
		}
		p.logIfSlow(request, name, started, waited)
		if err != nil {
			p.logger.Debug("round trip", "error", err)
			return
		}
	}
}

// write runs a write command alone, checking plain-value conditions itself where it can
// (pushdown.go); it returns how long the command waited for its turn.
func (p *proxy) write(request []byte, client, server net.Conn) (time.Duration, error) {
	queued := time.Now()
	p.writes.Lock()
	defer p.writes.Unlock()
	waited := time.Since(queued)
	reply, rewritten, err := p.conditionalWrite(request)
	switch {
	case err != nil:
		p.logger.Warn("conditional write check failed; passing the write through", "error", err)
		return waited, p.roundTrip(request, client, server)
	case reply != nil:
		_, err := client.Write(reply)
		return waited, err
	case rewritten != nil:
		return waited, p.roundTrip(rewritten, client, server)
	default:
		return waited, p.roundTrip(request, client, server)
	}
}

// roundTrip forwards a request and the replies it gets: none when the client said moreToCome, and
// every reply while the server says moreToCome (exhaust cursors, streaming hello).
func (p *proxy) roundTrip(request []byte, client, server net.Conn) error {
	if _, err := server.Write(request); err != nil {
		return err
	}
	if flags(request)&moreToCome != 0 {
		return nil
	}
	for {
		reply, err := readMessage(server)
		if err != nil {
			return err
		}
		if _, err := client.Write(reply); err != nil {
			return err
		}
		if flags(reply)&moreToCome == 0 {
			return nil
		}
	}
}
