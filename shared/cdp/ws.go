package cdp

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// A minimal RFC 6455 WebSocket client: what the DevTools endpoint needs
// (text messages, fragmentation, ping/pong, close), nothing else: no
// extensions, no subprotocols, no TLS (the endpoint is on loopback).

// maxMessage bounds one message; a full-page PNG screenshot in base64 is a
// few MB.
const maxMessage = 64 << 20

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// errClosed is a read after the peer closed the connection.
var errClosed = errors.New("websocket closed by the peer")

type wsConn struct {
	c  net.Conn
	r  *bufio.Reader
	mu sync.Mutex // one writer at a time: frames must not interleave
}

// websocketGUID is the fixed GUID of the opening handshake (RFC 6455 §1.3).
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialWS opens a WebSocket to a ws:// URL on loopback.
func dialWS(ctx context.Context, raw string) (*wsConn, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "ws" || u.Host == "" {
		return nil, fmt.Errorf("not a ws:// URL: %q", raw)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", u.Host, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: HTTP %d", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		c.Close()
		return nil, errors.New("websocket handshake: no Upgrade: websocket")
	}
	_ = c.SetDeadline(time.Time{})
	return &wsConn{c: c, r: br}, nil
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// writeFrame sends one masked frame (a client must mask every frame).
func (w *wsConn) writeFrame(op byte, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	hdr := make([]byte, 0, 14)
	hdr = append(hdr, 0x80|op) // FIN
	n := len(payload)
	switch {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xFFFF:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, n)
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	if _, err := w.c.Write(append(hdr, masked...)); err != nil {
		return fmt.Errorf("websocket write: %w", err)
	}
	return nil
}

// readMessage returns the next text or binary message, answering pings
// on the way.
func (w *wsConn) readMessage() ([]byte, error) {
	return readMessage(w.r, func(op byte, payload []byte) error {
		switch op {
		case opPing:
			return w.writeFrame(opPong, payload)
		case opClose:
			_ = w.writeFrame(opClose, nil)
			return errClosed
		}
		return nil
	})
}

// readMessage reads frames until a whole data message is assembled; control
// frames (which may arrive between fragments) go to control. It is the
// parser of what the peer sends, so it checks every length and rule it
// relies on.
func readMessage(r io.Reader, control func(op byte, payload []byte) error) ([]byte, error) {
	var msg []byte
	inMessage := false
	for {
		fin, op, payload, err := readFrame(r)
		if err != nil {
			return nil, err
		}
		switch {
		case op >= 0x8:
			if err := control(op, payload); err != nil {
				return nil, err
			}
			continue
		case op == opContinuation:
			if !inMessage {
				return nil, errors.New("websocket: continuation frame outside a message")
			}
		case op == opText || op == opBinary:
			if inMessage {
				return nil, errors.New("websocket: new message inside a fragmented one")
			}
			inMessage = true
		default:
			return nil, fmt.Errorf("websocket: reserved opcode %#x", op)
		}
		if len(msg)+len(payload) > maxMessage {
			return nil, fmt.Errorf("websocket: message over %d bytes", maxMessage)
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// readFrame reads one frame. Server frames are unmasked; a masked one is
// unmasked anyway rather than refused (lenient on what does not matter).
func readFrame(r io.Reader) (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return false, 0, nil, fmt.Errorf("websocket read: %w", err)
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	if h[0]&0x70 != 0 {
		return false, 0, nil, errors.New("websocket: reserved bits set without an extension")
	}
	masked := h[1]&0x80 != 0
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return false, 0, nil, fmt.Errorf("websocket read: %w", err)
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return false, 0, nil, fmt.Errorf("websocket read: %w", err)
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if op >= 0x8 && (n > 125 || !fin) {
		return false, 0, nil, errors.New("websocket: control frame too long or fragmented")
	}
	if n > maxMessage {
		return false, 0, nil, fmt.Errorf("websocket: frame of %d bytes, over %d", n, maxMessage)
	}
	var mask [4]byte
	if masked {
		if _, err = io.ReadFull(r, mask[:]); err != nil {
			return false, 0, nil, fmt.Errorf("websocket read: %w", err)
		}
	}
	// Read what arrives rather than allocate what the header claims.
	if payload, err = io.ReadAll(io.LimitReader(r, int64(n))); err != nil {
		return false, 0, nil, fmt.Errorf("websocket read: %w", err)
	}
	if uint64(len(payload)) != n {
		return false, 0, nil, fmt.Errorf("websocket read: frame of %d bytes ended after %d: %w", n, len(payload), io.ErrUnexpectedEOF)
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return fin, op, payload, nil
}

func (w *wsConn) close() error {
	_ = w.writeFrame(opClose, nil)
	return w.c.Close()
}
